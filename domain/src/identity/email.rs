//! E-mail addresses: trimmed, lower-cased and checked once, then carried as a type.

use std::fmt;

use crate::error::DomainError;

/// A normalised e-mail address: trimmed, ASCII, lower-case, `local@domain.tld`.
///
/// Only a deliberately plain subset of RFC 5321 is accepted: an unquoted local part of letters,
/// digits and ``.!#$%&'*+/=?^_`{|}~-`` (no leading, trailing or doubled dot) and a domain of at
/// least two dot-separated labels of letters, digits and inner dashes (internationalised domains
/// in their `xn--` form).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;
const LOCAL_SYMBOLS: &str = ".!#$%&'*+/=?^_`{|}~-";

impl Email {
    /// Normalises and validates; errors name the `email` field.
    pub fn parse(text: &str) -> Result<Email, DomainError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if trimmed.len() > MAX_EMAIL_LEN {
            return Err(invalid(format!(
                "must be at most {MAX_EMAIL_LEN} characters"
            )));
        }
        if !trimmed.is_ascii() {
            return Err(invalid("must be ASCII (use the xn-- form of the domain)"));
        }
        let lower = trimmed.to_ascii_lowercase();
        let Some((local, domain)) = lower.split_once('@') else {
            return Err(invalid("must contain @"));
        };
        if domain.contains('@') {
            return Err(invalid("must contain exactly one @"));
        }
        check_local(local)?;
        check_domain(domain)?;
        Ok(Email(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid(reason: impl Into<String>) -> DomainError {
    DomainError::invalid("email", reason)
}

fn check_local(local: &str) -> Result<(), DomainError> {
    if local.is_empty() {
        return Err(invalid("must have a name before @"));
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(invalid(format!(
            "the part before @ must be at most {MAX_LOCAL_LEN} characters"
        )));
    }
    if let Some(bad) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || LOCAL_SYMBOLS.contains(*c)))
    {
        return Err(invalid(format!("must not contain {bad:?}")));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(invalid("the part before @ has a misplaced dot"));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), DomainError> {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid("the domain must contain a dot"));
    }
    for label in labels {
        let well_formed = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !well_formed {
            return Err(invalid(format!("the domain label {label:?} is not valid")));
        }
    }
    Ok(())
}

/// Writes an address as plain text inside a snapshotted state (`#[serde(with = ...)]`); reading
/// it back validates it again.
pub(crate) mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Email;

    pub fn serialize<S: Serializer>(
        email: &Option<Email>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match email {
            Some(email) => serializer.serialize_some(email.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Email>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| Email::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Alice.Smith+osint@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "alice.smith+osint@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.to_string(), "alice.smith+osint@example.com");
    }

    #[test]
    fn normalising_is_idempotent() {
        for text in [
            "A@B.CO",
            "x_y-z@sub.xn--bcher-kva.example",
            "o'brien@mail.ie",
        ] {
            let once = Email::parse(text).unwrap();
            let twice = Email::parse(once.as_str()).unwrap();
            assert_eq!(once, twice);
        }
    }

    #[test]
    fn bad_addresses_name_the_email_field() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        let long_label = format!("a@{}.com", "b".repeat(64));
        for bad in [
            "",
            "   ",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "alice@@example.com",
            "a@b@example.com",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice@example..com",
            "alice@-example.com",
            "alice@example-.com",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice\u{0}@example.com",
            "alice(x)@example.com",
            "\"alice\"@example.com",
            "alice@exämple.com",
            "ålice@example.com",
            "alice@[127.0.0.1]",
            &long_local,
            &long_total,
            &long_label,
        ] {
            match Email::parse(bad) {
                Err(DomainError::InvalidInput { field, .. }) => assert_eq!(field, "email"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let local = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&local).is_ok());
        let label = format!("a@{}.com", "b".repeat(63));
        assert!(Email::parse(&label).is_ok());
        let exact = format!(
            "a@{}.{}.{}.{}",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(60)
        );
        assert_eq!(exact.len(), MAX_EMAIL_LEN);
        assert!(Email::parse(&exact).is_ok());
        let over = format!("{exact}e");
        assert!(Email::parse(&over).is_err());
    }
}
