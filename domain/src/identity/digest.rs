//! SHA-256 digests of secrets (refresh tokens, API keys): compared in constant time, stored as hex.

/// A SHA-256 digest, computed by the caller from a secret the domain never sees.
pub type Sha256Digest = [u8; 32];

/// Compares two digests without an early exit, so timing tells nothing about where they differ.
pub fn digests_equal(left: &Sha256Digest, right: &Sha256Digest) -> bool {
    left.iter()
        .zip(right.iter())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// Parses the stored (lower-case hex) form of a digest.
pub(crate) fn digest_from_hex(text: &str) -> Result<Sha256Digest, String> {
    let bytes = hex::decode(text).map_err(|e| e.to_string())?;
    Sha256Digest::try_from(bytes.as_slice())
        .map_err(|_| format!("a digest is 32 bytes, got {}", bytes.len()))
}

/// `#[serde(with = ...)]` for a digest field of a stored schema: a 64-character hex string.
pub(crate) mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Sha256Digest;

    pub fn serialize<S: Serializer>(
        digest: &Sha256Digest,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(digest))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Sha256Digest, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::digest_from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = ...)]` for opaque bytes (ciphertexts) in a stored schema: a hex string.
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_digests_compare_equal_and_any_difference_is_seen() {
        let digest = [7u8; 32];
        assert!(digests_equal(&digest, &digest));
        for index in [0, 15, 31] {
            let mut other = digest;
            other[index] ^= 1;
            assert!(!digests_equal(&digest, &other));
        }
    }

    #[test]
    fn hex_forms_are_checked() {
        let digest = [0xabu8; 32];
        assert_eq!(digest_from_hex(&hex::encode(digest)), Ok(digest));
        assert!(digest_from_hex("abcd").is_err());
        assert!(digest_from_hex("zz").is_err());
        assert!(digest_from_hex(&"ab".repeat(33)).is_err());
    }
}
