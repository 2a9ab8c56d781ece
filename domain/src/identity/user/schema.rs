//! The stored schema of user events, every version ever written.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const REGISTERED: &str = "UserRegistered";
pub const ROLE_CHANGED: &str = "UserRoleChanged";
pub const DISABLED: &str = "UserDisabled";
pub const ENABLED: &str = "UserEnabled";
pub const PASSWORD_SET: &str = "UserPasswordSet";
pub const PROFILE_UPDATED: &str = "UserProfileUpdated";
pub const TOTP_ENROLLMENT_STARTED: &str = "UserTotpEnrollmentStarted";
pub const TOTP_CONFIRMED: &str = "UserTotpConfirmed";
pub const TOTP_STEP_ACCEPTED: &str = "UserTotpStepAccepted";
pub const OIDC_LINKED: &str = "UserOidcLinked";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredV1 {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub display_name: String,
    /// An argon2id PHC string; absent for accounts that only sign in through OIDC.
    pub password_hash: Option<String>,
    /// `ADMIN`, `ANALYST`, `USER` or `READ_ONLY`.
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChangedV1 {
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisabledV1 {}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnabledV1 {}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSetV1 {
    pub password_hash: String,
}

/// Only the fields that changed are present (the others are `null`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdatedV1 {
    pub display_name: Option<String>,
    pub preferences: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpEnrollmentStartedV1 {
    /// The TOTP secret, encrypted by the caller; hex.
    #[serde(with = "crate::identity::digest::hex_bytes")]
    pub secret_ciphertext: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmedV1 {
    /// The RFC 6238 time step of the code that confirmed the enrollment.
    pub step: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpStepAcceptedV1 {
    pub step: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcLinkedV1 {
    pub issuer: String,
    pub subject: String,
}
