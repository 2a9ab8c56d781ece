//! Stream versions a single-writer store knows for certain, so loading an unchanged aggregate
//! needs no database round trip.
//!
//! The writer records each stream's new version after its commit and before it acknowledges the
//! append; readers add what they read only when the stream is absent. So a version found here is
//! never older than an acknowledged append. The map is bounded: forgetting only costs a query.

use std::collections::HashMap;
use std::sync::RwLock;

const MAX_STREAMS: usize = 200_000;

#[derive(Debug, Default)]
pub struct KnownVersions {
    versions: RwLock<HashMap<String, u64>>,
}

impl KnownVersions {
    pub fn get(&self, stream: &str) -> Option<u64> {
        self.versions.read().ok()?.get(stream).copied()
    }

    /// The writer's word after a commit: always wins.
    pub fn committed<'a>(&self, heads: impl IntoIterator<Item = (&'a String, u64)>) {
        if let Ok(mut versions) = self.versions.write() {
            if versions.len() > MAX_STREAMS {
                versions.clear();
            }
            for (stream, version) in heads {
                versions.insert(stream.clone(), version);
            }
        }
    }

    /// A reader's observation of a stream's end: only fills a gap, never overrides the writer.
    pub fn observed(&self, stream: &str, version: u64) {
        if version == 0 {
            return;
        }
        if let Ok(mut versions) = self.versions.write()
            && versions.len() < MAX_STREAMS
        {
            versions.entry(stream.to_owned()).or_insert(version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_never_override_the_writer() {
        let known = KnownVersions::default();
        known.observed("s-1", 3);
        assert_eq!(known.get("s-1"), Some(3));
        let stream = "s-1".to_owned();
        known.committed([(&stream, 5)]);
        known.observed("s-1", 4);
        assert_eq!(known.get("s-1"), Some(5));
        known.observed("s-2", 0);
        assert_eq!(known.get("s-2"), None);
    }
}
