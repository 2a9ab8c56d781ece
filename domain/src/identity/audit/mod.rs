//! Security events: logins, refreshes, token re-use, MFA failures and authorization refusals.
//!
//! They belong to no aggregate: nothing is decided from them, so the caller appends them with
//! `ExpectedVersion::Any` to the stream [`SecurityEvent::stream_for`] names
//! (`audit-<organization id>`, or `audit-anonymous` when the organization is unknown). Their
//! stored types are `Security*` (e.g. `SecurityLoginSucceeded`).
//!
//! No secret and no credential ever enters them: no e-mail address, password, TOTP code or
//! token, only ids, the source IP and what happened.

mod codec;
mod schema;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use uuid::Uuid;

use crate::ids::{StreamId, StreamIdError};
use crate::policy::{Action, Denied, DenyReason, Resource};

/// The stream category of security events.
pub const CATEGORY: &str = "audit";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityEvent {
    LoginSucceeded {
        user_id: Uuid,
        ip: Option<IpAddr>,
        method: LoginMethod,
        /// Whether a second factor was checked.
        mfa: bool,
    },
    /// `user_id` is known only when the account exists; an unknown account is recorded as `None`.
    LoginFailed {
        user_id: Option<Uuid>,
        ip: Option<IpAddr>,
        reason: LoginFailure,
    },
    TokenRefreshed {
        user_id: Uuid,
        session_id: Uuid,
    },
    RefreshTokenReused {
        user_id: Uuid,
        session_id: Uuid,
        ip: Option<IpAddr>,
    },
    AuthorizationDenied {
        /// `user:<id>`, `api-key:<id>`, ... as in event metadata.
        actor: String,
        action: Action,
        resource: Resource,
        reason: DenyReason,
        ip: Option<IpAddr>,
    },
    MfaChallengeFailed {
        user_id: Uuid,
        ip: Option<IpAddr>,
    },
    /// An administrative change (user created, role changed, key revoked, ...) and where it
    /// came from; the change itself is the target aggregate's event.
    AdminAction {
        /// What changed, in snake case: `user_created`, `role_changed`, ...
        change: String,
        target: Option<Uuid>,
        ip: Option<IpAddr>,
    },
}

impl SecurityEvent {
    /// The stream an organization's security events go to: `audit-<id>` or `audit-anonymous`.
    pub fn stream_for(organization: Option<Uuid>) -> Result<StreamId, StreamIdError> {
        match organization {
            Some(id) => StreamId::for_aggregate(CATEGORY, id),
            None => StreamId::new(format!("{CATEGORY}-anonymous")),
        }
    }

    /// Records a policy refusal.
    pub fn denied(actor: impl Into<String>, denied: &Denied, ip: Option<IpAddr>) -> SecurityEvent {
        SecurityEvent::AuthorizationDenied {
            actor: actor.into(),
            action: denied.action,
            resource: denied.resource,
            reason: denied.reason,
            ip,
        }
    }
}

/// How a login was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    Password,
    Oidc,
    ApiKey,
}

impl LoginMethod {
    pub const ALL: [LoginMethod; 3] = [
        LoginMethod::Password,
        LoginMethod::Oidc,
        LoginMethod::ApiKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Password => "password",
            LoginMethod::Oidc => "oidc",
            LoginMethod::ApiKey => "api_key",
        }
    }

    pub fn parse(text: &str) -> Option<LoginMethod> {
        LoginMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == text)
    }
}

/// Why a login failed. Clients see one generic message whatever the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Unknown account or wrong password (deliberately not told apart).
    BadCredentials,
    Disabled,
    /// A second factor is needed and none was given.
    MfaRequired,
    /// The second factor was wrong or already used.
    MfaFailed,
    Throttled,
}

impl LoginFailure {
    pub const ALL: [LoginFailure; 5] = [
        LoginFailure::BadCredentials,
        LoginFailure::Disabled,
        LoginFailure::MfaRequired,
        LoginFailure::MfaFailed,
        LoginFailure::Throttled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoginFailure::BadCredentials => "bad_credentials",
            LoginFailure::Disabled => "disabled",
            LoginFailure::MfaRequired => "mfa_required",
            LoginFailure::MfaFailed => "mfa_failed",
            LoginFailure::Throttled => "throttled",
        }
    }

    pub fn parse(text: &str) -> Option<LoginFailure> {
        LoginFailure::ALL
            .into_iter()
            .find(|failure| failure.as_str() == text)
    }
}

impl SecurityEvent {
    /// One event of every kind, for codec and fixture tests.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<SecurityEvent> {
        let user_id = Uuid::from_u128(1);
        let organization_id = Uuid::from_u128(2);
        let ip = Some(IpAddr::from([198, 51, 100, 23]));
        let admin = SecurityEvent::AdminAction {
            change: "role_changed".to_owned(),
            target: Some(user_id),
            ip,
        };
        let mut events: Vec<SecurityEvent> = LoginMethod::ALL
            .into_iter()
            .map(|method| SecurityEvent::LoginSucceeded {
                user_id,
                ip,
                method,
                mfa: method == LoginMethod::Password,
            })
            .collect();
        events.push(admin);
        events.extend(
            LoginFailure::ALL
                .into_iter()
                .map(|reason| SecurityEvent::LoginFailed {
                    user_id: (reason != LoginFailure::BadCredentials).then_some(user_id),
                    ip: None,
                    reason,
                }),
        );
        events.extend([
            SecurityEvent::TokenRefreshed {
                user_id,
                session_id: Uuid::from_u128(40),
            },
            SecurityEvent::RefreshTokenReused {
                user_id,
                session_id: Uuid::from_u128(40),
                ip: Some(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42])),
            },
            SecurityEvent::AuthorizationDenied {
                actor: format!("user:{user_id}"),
                action: Action::CreateScan,
                resource: Resource::Project {
                    organization_id,
                    team_id: Uuid::from_u128(10),
                },
                reason: DenyReason::OutsideOwnScope,
                ip,
            },
            SecurityEvent::AuthorizationDenied {
                actor: "api-key:00000000-0000-0000-0000-00000000001e".into(),
                action: Action::ReadAudit,
                resource: Resource::Organization(Uuid::from_u128(3)),
                reason: DenyReason::OtherOrganization,
                ip: None,
            },
            SecurityEvent::MfaChallengeFailed { user_id, ip },
        ]);
        events
    }
}
