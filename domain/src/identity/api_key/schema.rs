//! The stored schema of API key events, every version ever written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::Sha256Digest;

pub const CREATED: &str = "ApiKeyCreated";
pub const REVOKED: &str = "ApiKeyRevoked";
pub const USED: &str = "ApiKeyUsed";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatedV1 {
    pub api_key_id: Uuid,
    pub organization_id: Uuid,
    pub owner_user_id: Uuid,
    pub name: String,
    /// `ADMIN`, `ANALYST`, `USER` or `READ_ONLY`.
    pub role: String,
    pub prefix: String,
    /// SHA-256 of the secret key, hex; the secret itself is never stored.
    #[serde(with = "crate::identity::digest::hex_digest")]
    pub key_hash: Sha256Digest,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedV1 {}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsedV1 {
    pub at: DateTime<Utc>,
}
