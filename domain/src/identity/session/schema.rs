//! The stored schema of session events, every version ever written.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::Sha256Digest;

pub const STARTED: &str = "SessionStarted";
pub const ROTATED: &str = "SessionRotated";
pub const REUSE_DETECTED: &str = "SessionReuseDetected";
pub const REVOKED: &str = "SessionRevoked";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartedV1 {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    /// SHA-256 of the first refresh token, hex.
    #[serde(with = "crate::identity::digest::hex_digest")]
    pub refresh_hash: Sha256Digest,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub user_security_version: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotatedV1 {
    /// SHA-256 of the new refresh token, hex.
    #[serde(with = "crate::identity::digest::hex_digest")]
    pub refresh_hash: Sha256Digest,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReuseDetectedV1 {
    /// SHA-256 of the spent token that was presented again, hex.
    #[serde(with = "crate::identity::digest::hex_digest")]
    pub presented_hash: Sha256Digest,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedV1 {
    /// `logout`, `reuse`, `security_version_changed` or `administrative`.
    pub reason: String,
}
