//! Opaque secrets (API keys, refresh, reset and invitation tokens): 256 random bits from the
//! operating system, base64url without padding behind a visible prefix, stored only as SHA-256.
//!
//! A plain SHA-256 is the right hash here (not argon2): the secrets carry 256 bits of entropy,
//! so there is nothing to brute-force, and lookups by hash stay cheap.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::SecurityError;

/// Prefix of API keys (`mk_...`).
pub const API_KEY_PREFIX: &str = "mk_";
/// Prefix of refresh tokens (`mr_...`).
pub const REFRESH_TOKEN_PREFIX: &str = "mr_";
/// Random bytes in every generated secret (256 bits).
pub const SECRET_BYTES: usize = 32;
/// Characters of the random part shown after the type prefix to identify an API key.
pub const VISIBLE_CHARS: usize = 8;

/// Length of the base64url (no padding) encoding of `SECRET_BYTES` bytes.
const ENCODED_LEN: usize = (SECRET_BYTES * 4).div_ceil(3);

/// `N` bytes from the operating system's CSPRNG (`getrandom`), never from a user-space generator.
pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N], SecurityError> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| SecurityError::Random)?;
    Ok(bytes)
}

/// A freshly generated secret: `prefix` followed by 256 random bits in base64url.
///
/// `Debug` does not print it; use `expose` to hand it to the user exactly once.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    full: String,
    prefix_len: usize,
}

impl Secret {
    /// The whole secret, to show to its owner once and never store.
    pub fn expose(&self) -> &str {
        &self.full
    }

    /// The type prefix followed by the first `VISIBLE_CHARS` random characters (e.g.
    /// `mk_AbCdEfGh`): safe to store and display to tell keys apart.
    pub fn visible_prefix(&self) -> &str {
        let end = (self.prefix_len + VISIBLE_CHARS).min(self.full.len());
        self.full.get(..end).unwrap_or(&self.full)
    }

    /// SHA-256 of the whole secret, the only form that is stored.
    pub fn hash(&self) -> [u8; 32] {
        hash_secret(&self.full)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}...)", self.visible_prefix())
    }
}

/// Generates `prefix` + 43 base64url characters encoding 256 bits from the OS CSPRNG.
pub fn generate_secret(prefix: &str) -> Result<Secret, SecurityError> {
    let bytes = random_bytes::<SECRET_BYTES>()?;
    let mut full = String::with_capacity(prefix.len() + ENCODED_LEN);
    full.push_str(prefix);
    full.push_str(&BASE64URL_NOPAD.encode(&bytes));
    Ok(Secret {
        full,
        prefix_len: prefix.len(),
    })
}

/// SHA-256 of a presented secret, to look it up among stored hashes.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.ct_eq(right).into()
}

/// A new API key: the full key for its owner (shown once), the visible prefix and the hash to
/// store. `Debug` does not print `full`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret {
    pub full: String,
    pub prefix: String,
    pub hash: [u8; 32],
}

impl ApiKeySecret {
    /// Generates a new `mk_` key.
    pub fn generate() -> Result<Self, SecurityError> {
        let secret = generate_secret(API_KEY_PREFIX)?;
        Ok(Self {
            prefix: secret.visible_prefix().to_owned(),
            hash: secret.hash(),
            full: secret.full,
        })
    }

    /// The visible prefix of a presented key if it has the shape of an API key (`mk_` and 43
    /// base64url characters), so garbage is refused before any lookup.
    pub fn visible_prefix_of(presented: &str) -> Option<&str> {
        let random = presented.strip_prefix(API_KEY_PREFIX)?;
        let well_formed = random.len() == ENCODED_LEN
            && random
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !well_formed {
            return None;
        }
        presented.get(..API_KEY_PREFIX.len() + VISIBLE_CHARS)
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeySecret")
            .field("full", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("hash", &hex::encode(self.hash))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn secrets_carry_256_bits_behind_their_prefix() {
        let secret = generate_secret(REFRESH_TOKEN_PREFIX).unwrap();
        let random = secret.expose().strip_prefix("mr_").unwrap();
        assert_eq!(random.len(), 43);
        assert_eq!(BASE64URL_NOPAD.decode(random.as_bytes()).unwrap().len(), 32);
        assert_eq!(secret.visible_prefix().len(), 3 + 8);
        assert!(secret.expose().starts_with(secret.visible_prefix()));
    }

    #[test]
    fn secrets_do_not_repeat() {
        let seen: HashSet<String> = (0..1000)
            .map(|_| generate_secret("mk_").unwrap().expose().to_owned())
            .collect();
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let secret = generate_secret("mr_").unwrap();
        let printed = format!("{secret:?}");
        assert!(!printed.contains(secret.expose()));
        let key = ApiKeySecret::generate().unwrap();
        let printed = format!("{key:?}");
        assert!(!printed.contains(&key.full));
        assert!(printed.contains(&key.prefix));
    }

    #[test]
    fn api_keys_are_stored_as_sha256_of_the_full_key() {
        let key = ApiKeySecret::generate().unwrap();
        assert!(key.full.starts_with("mk_"));
        assert_eq!(key.prefix.len(), 11);
        assert_eq!(key.hash, hash_secret(&key.full));
        assert_eq!(
            ApiKeySecret::visible_prefix_of(&key.full),
            Some(key.prefix.as_str())
        );
    }

    #[test]
    fn malformed_api_keys_have_no_prefix() {
        let key = ApiKeySecret::generate().unwrap();
        let wrong_type = key.full.replacen("mk_", "mr_", 1);
        let too_short = &key.full[..key.full.len() - 1];
        let bad_char = format!("{}!", too_short);
        for presented in ["", "mk_", &wrong_type, too_short, &bad_char] {
            assert_eq!(
                ApiKeySecret::visible_prefix_of(presented),
                None,
                "{presented}"
            );
        }
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            hex::encode(hash_secret("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"sane"));
        assert!(!constant_time_eq(b"same", b"same-but-longer"));
        assert!(constant_time_eq(b"", b""));
    }
}
