//! RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits): secrets, the `otpauth://` enrolment
//! URL, and single-use verification with a window of one step either side.
//!
//! Time is a parameter (`unix_time`), never read here. Callers keep the step returned by
//! `verify_totp` and pass it back as `last_used_step`, so each code is accepted at most once.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::SecurityError;
use super::token::{constant_time_eq, random_bytes};

/// Bytes of a TOTP secret (160 bits, RFC 4226's recommendation).
pub const TOTP_SECRET_BYTES: usize = 20;
/// Length of a time step in seconds.
pub const TOTP_STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const TOTP_DIGITS: u32 = 6;
/// Issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Mirage";

/// A new random TOTP secret (20 bytes from the OS CSPRNG). Store it sealed (`SecretBox`).
pub fn generate_totp_secret() -> Result<Vec<u8>, SecurityError> {
    Ok(random_bytes::<TOTP_SECRET_BYTES>()?.to_vec())
}

/// The secret in base32 without padding, as authenticator apps expect it.
pub fn encode_totp_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// `otpauth://totp/Mirage:{email}?secret=...&issuer=Mirage&algorithm=SHA1&digits=6&period=30`,
/// with the account name percent-encoded, for a QR code.
pub fn otpauth_url(email: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
        issuer = percent_encode(TOTP_ISSUER),
        account = percent_encode(email),
        secret = encode_totp_secret(secret),
    )
}

/// The time step that contains `unix_time`, or `None` before 1970.
pub fn totp_step(unix_time: i64) -> Option<u64> {
    u64::try_from(unix_time.div_euclid(TOTP_STEP_SECONDS)).ok()
}

/// The 6-digit code for `unix_time` (what an authenticator app shows then).
pub fn totp_code(secret: &[u8], unix_time: i64) -> Option<String> {
    let step = totp_step(unix_time)?;
    Some(format_code(hotp(secret, step, TOTP_DIGITS)?))
}

/// Checks `code` against the steps around `unix_time` (one before, the current one, one after)
/// and returns the accepted step, which the caller stores as the next `last_used_step`.
///
/// Refuses anything but exactly six ASCII digits, and any step at or before `last_used_step`
/// (so a code, or an older one, is never accepted twice). Compares in constant time.
pub fn verify_totp(
    secret: &[u8],
    code: &str,
    unix_time: i64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let current = totp_step(unix_time)?;
    let candidates = [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ];
    let mut accepted = None;
    // Every candidate is computed and compared, whichever matches.
    for step in candidates.into_iter().flatten() {
        let expected = format_code(hotp(secret, step, TOTP_DIGITS)?);
        let matches = constant_time_eq(expected.as_bytes(), code.as_bytes());
        let unused = last_used_step.is_none_or(|last| step > last);
        if matches && unused {
            accepted = Some(step);
        }
    }
    accepted
}

/// RFC 4226 HOTP: HMAC-SHA1 of the big-endian counter, dynamic truncation, `digits` digits.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> Option<u32> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last()? & 0x0f);
    let window: [u8; 4] = digest.get(offset..offset + 4)?.try_into().ok()?;
    let binary = u32::from_be_bytes(window) & 0x7fff_ffff;
    Some(binary % 10u32.checked_pow(digits)?)
}

fn format_code(value: u32) -> String {
    format!("{value:0width$}", width = TOTP_DIGITS as usize)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA1 seed is the ASCII string "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// (time, 8-digit TOTP) from RFC 6238 appendix B, SHA1 rows.
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn code8(secret: &[u8], unix_time: i64) -> String {
        format!(
            "{:08}",
            hotp(secret, totp_step(unix_time).unwrap(), 8).unwrap()
        )
    }

    #[test]
    fn rfc6238_sha1_vectors_with_8_digits() {
        for (time, expected) in RFC_VECTORS {
            assert_eq!(code8(RFC_SECRET, time), expected, "time {time}");
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_with_6_digits_are_the_last_six() {
        for (time, expected) in RFC_VECTORS {
            let six = &expected[2..];
            assert_eq!(totp_code(RFC_SECRET, time).unwrap(), six, "time {time}");
            assert_eq!(
                verify_totp(RFC_SECRET, six, time, None),
                totp_step(time),
                "time {time}"
            );
        }
    }

    #[test]
    fn rfc4226_hotp_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), Some(value));
        }
    }

    #[test]
    fn accepts_one_step_either_side_and_no_further() {
        let now = 1_234_567_890;
        let step = totp_step(now).unwrap();
        for offset in [-1i64, 0, 1] {
            let code = totp_code(RFC_SECRET, now + offset * 30).unwrap();
            assert_eq!(
                verify_totp(RFC_SECRET, &code, now, None),
                Some(step.checked_add_signed(offset).unwrap()),
                "offset {offset}"
            );
        }
        for offset in [-2i64, 2] {
            let code = totp_code(RFC_SECRET, now + offset * 30).unwrap();
            assert_eq!(
                verify_totp(RFC_SECRET, &code, now, None),
                None,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_once() {
        let now = 1_111_111_111;
        let code = totp_code(RFC_SECRET, now).unwrap();
        let step = verify_totp(RFC_SECRET, &code, now, None).unwrap();
        assert_eq!(verify_totp(RFC_SECRET, &code, now, Some(step)), None);
        // Still refused a step later, while it is inside the window.
        assert_eq!(verify_totp(RFC_SECRET, &code, now + 30, Some(step)), None);
        // An older code is refused once a newer one was used.
        let previous = totp_code(RFC_SECRET, now - 30).unwrap();
        assert_eq!(verify_totp(RFC_SECRET, &previous, now, Some(step)), None);
        // The next code is accepted.
        let next = totp_code(RFC_SECRET, now + 30).unwrap();
        assert_eq!(
            verify_totp(RFC_SECRET, &next, now + 30, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let now = 1_234_567_890;
        let code = totp_code(RFC_SECRET, now).unwrap();
        let with_space = format!("{} {}", &code[..3], &code[3..]);
        let padded = format!(" {code}");
        let eight = code8(RFC_SECRET, now);
        let full_width: String = code
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap())
            .collect();
        for bad in [
            "",
            "12345",
            "1234567",
            "abcdef",
            "12345a",
            "+12345",
            "-12345",
            &with_space,
            &padded,
            &eight,
            &full_width,
        ] {
            assert_eq!(verify_totp(RFC_SECRET, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn wrong_secret_and_time_before_1970_are_refused() {
        let now = 1_234_567_890;
        let code = totp_code(RFC_SECRET, now).unwrap();
        assert_eq!(verify_totp(b"another secret key!!", &code, now, None), None);
        assert_eq!(verify_totp(RFC_SECRET, &code, -1, None), None);
        assert_eq!(totp_step(-1), None);
    }

    #[test]
    fn secrets_have_160_random_bits() {
        let first = generate_totp_secret().unwrap();
        let second = generate_totp_secret().unwrap();
        assert_eq!(first.len(), 20);
        assert_ne!(first, second);
        assert_eq!(encode_totp_secret(&first).len(), 32);
    }

    #[test]
    fn otpauth_url_encodes_the_label() {
        let url = otpauth_url("alice+ops@example.com", RFC_SECRET);
        assert_eq!(
            url,
            "otpauth://totp/Mirage:alice%2Bops%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Mirage&algorithm=SHA1&digits=6&period=30"
        );
        let odd = otpauth_url("a b/c?d&e#f:é", RFC_SECRET);
        assert!(odd.starts_with("otpauth://totp/Mirage:a%20b%2Fc%3Fd%26e%23f%3A%C3%A9?secret="));
    }
}
