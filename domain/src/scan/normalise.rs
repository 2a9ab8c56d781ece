//! One normal form per value, so `Example.COM.` and `example.com` are one finding.

use std::net::IpAddr;

use super::types;

/// Why a value cannot be a finding of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    #[error("unknown finding type {0:?}")]
    UnknownType(String),
    #[error("{kind} value is empty")]
    Empty { kind: &'static str },
    #[error("{kind} value {value:?} is not valid: {reason}")]
    Invalid {
        kind: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// The longest value a finding may carry (web content is capped before it gets here).
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Returns the type's static name and the value in its normal form.
pub fn normalise(kind: &str, value: &str) -> Result<(&'static str, String), NormaliseError> {
    let kind = types::known(kind).ok_or_else(|| NormaliseError::UnknownType(kind.to_owned()))?;
    // PostgreSQL text cannot hold NUL; no finding needs one.
    let cleaned;
    let value = if value.contains('\0') {
        cleaned = value.replace('\0', "");
        cleaned.as_str()
    } else {
        value
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(NormaliseError::Empty { kind });
    }
    let invalid = |reason| NormaliseError::Invalid {
        kind,
        value: trimmed.chars().take(200).collect(),
        reason,
    };
    if trimmed.len() > MAX_VALUE_BYTES {
        return Err(invalid("longer than 1 MiB"));
    }
    let value = if types::HOST_TYPES.contains(&kind) {
        host_name(trimmed).ok_or_else(|| invalid("not a host name"))?
    } else if types::EMAIL_TYPES.contains(&kind) {
        email(trimmed).ok_or_else(|| invalid("not an e-mail address"))?
    } else if kind == types::IP_ADDRESS || kind == types::IPV6_ADDRESS {
        let ip = ip_address(trimmed).ok_or_else(|| invalid("not an IP address"))?;
        match (kind, ip) {
            (types::IP_ADDRESS, IpAddr::V4(_)) | (types::IPV6_ADDRESS, IpAddr::V6(_)) => {
                ip.to_string()
            }
            _ => return Err(invalid("wrong address family")),
        }
    } else if kind == types::PHONE_NUMBER {
        phone(trimmed).ok_or_else(|| invalid("not a phone number"))?
    } else if kind == types::TARGET_WEB_CONTENT
        || kind == types::DOMAIN_WHOIS
        || kind == types::SSL_CERTIFICATE_RAW
    {
        value.to_owned()
    } else {
        trimmed.to_owned()
    };
    Ok((kind, value))
}

/// A lower-case host name without a trailing dot, or `None` when it is not one.
///
/// Labels are 1-63 characters of letters, digits, `-` and `_` (SRV labels), not starting or
/// ending with `-`; the whole name is at most 253 characters and has at least one dot.
pub fn host_name(text: &str) -> Option<String> {
    let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 || !name.contains('.') {
        return None;
    }
    if name.parse::<IpAddr>().is_ok() {
        return None;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    // A top-level label is never all digits.
    let tld_ok = name
        .rsplit('.')
        .next()
        .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    (labels_ok && tld_ok).then_some(name)
}

/// `local@host` with a lower-cased host and local part.
pub fn email(text: &str) -> Option<String> {
    let text = text.trim().trim_start_matches("mailto:");
    let (local, host) = text.rsplit_once('@')?;
    if local.is_empty()
        || local.len() > 64
        || !local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        || local.starts_with('.')
        || local.ends_with('.')
    {
        return None;
    }
    let host = host_name(host)?;
    Some(format!("{}@{host}", local.to_ascii_lowercase()))
}

/// An IP address in canonical text; IPv4-mapped IPv6 addresses become IPv4.
pub fn ip_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = text.parse().ok()?;
    Some(canonical_ip(ip))
}

/// `::ffff:a.b.c.d` is the IPv4 address `a.b.c.d`; everything else is itself.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// E.164: `+` and 8 to 15 digits. Numbers written without a country code are refused,
/// since guessing the country would invent data.
pub fn phone(text: &str) -> Option<String> {
    let text = text.trim();
    let international = text.starts_with('+') || text.starts_with("00");
    if !international {
        return None;
    }
    let mut digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if text.starts_with("00") {
        digits.drain(..2);
    }
    if text
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
    {
        return None;
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    Some(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_lower_case_without_trailing_dot() {
        assert_eq!(
            normalise("INTERNET_NAME", " WWW.Example.COM. ").unwrap(),
            ("INTERNET_NAME", "www.example.com".to_owned())
        );
        assert!(normalise("INTERNET_NAME", "exa mple.com").is_err());
        assert!(normalise("INTERNET_NAME", "-bad.example.com").is_err());
        assert!(normalise("INTERNET_NAME", "localhost").is_err());
        assert!(normalise("INTERNET_NAME", "127.0.0.1").is_err());
        assert!(normalise("INTERNET_NAME", &format!("{}.com", "a".repeat(64))).is_err());
        assert_eq!(
            normalise("INTERNET_NAME", "_sip._tcp.example.com")
                .unwrap()
                .1,
            "_sip._tcp.example.com"
        );
    }

    #[test]
    fn ip_addresses_are_canonical_and_mapped_addresses_are_ipv4() {
        assert_eq!(
            normalise("IPV6_ADDRESS", "2001:DB8:0:0::1").unwrap().1,
            "2001:db8::1"
        );
        assert_eq!(
            normalise("IP_ADDRESS", "::ffff:10.0.0.1").unwrap().1,
            "10.0.0.1"
        );
        assert!(normalise("IP_ADDRESS", "2001:db8::1").is_err());
        assert!(normalise("IP_ADDRESS", "300.1.1.1").is_err());
    }

    #[test]
    fn phone_numbers_are_e164_and_local_numbers_are_refused() {
        assert_eq!(
            phone("+44 (20) 7946-0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(phone("0044 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(phone("020 7946 0958"), None);
        assert_eq!(phone("+1 23"), None);
        assert_eq!(phone("+1 555 abc 1234"), None);
    }

    #[test]
    fn emails_are_lower_case_and_checked() {
        assert_eq!(
            normalise("EMAILADDR", "mailto:Alice@Example.COM")
                .unwrap()
                .1,
            "alice@example.com"
        );
        assert!(normalise("EMAILADDR", "alice@").is_err());
        assert!(normalise("EMAILADDR", "a b@example.com").is_err());
    }

    #[test]
    fn unknown_types_and_empty_values_are_refused() {
        assert_eq!(
            normalise("NOPE", "x"),
            Err(NormaliseError::UnknownType("NOPE".into()))
        );
        assert!(matches!(
            normalise("DNS_TEXT", "  "),
            Err(NormaliseError::Empty { .. })
        ));
    }
}
