//! Identifiers that carry their own validation.

use std::fmt;

/// The name of an event stream: `category-id`, e.g. `organization-0190...`.
///
/// Allowed: ASCII letters, digits and `-_.:@`, 1 to 200 characters, not starting with `$`
/// (KurrentDB reserves those for system streams).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamIdError {
    #[error("stream id is empty")]
    Empty,
    #[error("stream id is {0} characters long, the limit is 200")]
    TooLong(usize),
    #[error("stream id contains {0:?}; allowed are letters, digits and -_.:@")]
    InvalidCharacter(char),
}

impl StreamId {
    pub const MAX_LEN: usize = 200;

    pub fn new(text: impl Into<String>) -> Result<Self, StreamIdError> {
        let text = text.into();
        if text.is_empty() {
            return Err(StreamIdError::Empty);
        }
        if text.len() > Self::MAX_LEN {
            return Err(StreamIdError::TooLong(text.len()));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.:@".contains(*c)))
        {
            return Err(StreamIdError::InvalidCharacter(bad));
        }
        Ok(Self(text))
    }

    /// A stream for one aggregate instance: `category-uuid`.
    pub fn for_aggregate(category: &str, id: uuid::Uuid) -> Result<Self, StreamIdError> {
        Self::new(format!("{category}-{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `-`, which names the aggregate type.
    pub fn category(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_stream_ids() {
        assert_eq!(StreamId::new(""), Err(StreamIdError::Empty));
        assert_eq!(
            StreamId::new("$all"),
            Err(StreamIdError::InvalidCharacter('$'))
        );
        assert_eq!(
            StreamId::new("a b"),
            Err(StreamIdError::InvalidCharacter(' '))
        );
        assert_eq!(
            StreamId::new("x".repeat(201)),
            Err(StreamIdError::TooLong(201))
        );
        let id = StreamId::new("organization-1").unwrap();
        assert_eq!(id.category(), "organization");
    }
}
