//! The stored schema of security events, every version ever written.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const LOGIN_SUCCEEDED: &str = "SecurityLoginSucceeded";
pub const LOGIN_FAILED: &str = "SecurityLoginFailed";
pub const TOKEN_REFRESHED: &str = "SecurityTokenRefreshed";
pub const REFRESH_TOKEN_REUSED: &str = "SecurityRefreshTokenReused";
pub const AUTHORIZATION_DENIED: &str = "SecurityAuthorizationDenied";
pub const MFA_CHALLENGE_FAILED: &str = "SecurityMfaChallengeFailed";
pub const ADMIN_ACTION: &str = "SecurityAdminAction";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSucceededV1 {
    pub user_id: Uuid,
    pub ip: Option<IpAddr>,
    /// `password`, `oidc` or `api_key`.
    pub method: String,
    pub mfa: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFailedV1 {
    pub user_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
    /// `bad_credentials`, `disabled`, `mfa_required`, `mfa_failed` or `throttled`.
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRefreshedV1 {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenReusedV1 {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub ip: Option<IpAddr>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationDeniedV1 {
    pub actor: String,
    /// An action's text form, e.g. `create_scan`.
    pub action: String,
    pub resource: ResourceV1,
    /// e.g. `other_organization`, `outside_own_scope`.
    pub reason: String,
    pub ip: Option<IpAddr>,
}

/// A policy resource: `kind` (`organization`, `user`, `api_key`, `team`, `project`, `scan`,
/// `report`), its organization, and the user, key owner or team that owns it (absent for
/// `organization`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceV1 {
    pub kind: String,
    pub organization_id: Uuid,
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaChallengeFailedV1 {
    pub user_id: Uuid,
    pub ip: Option<IpAddr>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminActionV1 {
    pub change: String,
    pub target: Option<Uuid>,
    pub ip: Option<IpAddr>,
}
