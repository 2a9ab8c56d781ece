//! How security events map to their stored schema.

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};
use crate::policy::{Action, DenyReason, Resource, ResourceKind};

use super::{LoginFailure, LoginMethod, SecurityEvent, schema};

impl EventCodec for SecurityEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            SecurityEvent::LoginSucceeded {
                user_id,
                ip,
                method,
                mfa,
            } => encode_schema(
                schema::LOGIN_SUCCEEDED,
                1,
                &schema::LoginSucceededV1 {
                    user_id: *user_id,
                    ip: *ip,
                    method: method.as_str().to_owned(),
                    mfa: *mfa,
                },
            ),
            SecurityEvent::LoginFailed {
                user_id,
                ip,
                reason,
            } => encode_schema(
                schema::LOGIN_FAILED,
                1,
                &schema::LoginFailedV1 {
                    user_id: *user_id,
                    ip: *ip,
                    reason: reason.as_str().to_owned(),
                },
            ),
            SecurityEvent::TokenRefreshed {
                user_id,
                session_id,
            } => encode_schema(
                schema::TOKEN_REFRESHED,
                1,
                &schema::TokenRefreshedV1 {
                    user_id: *user_id,
                    session_id: *session_id,
                },
            ),
            SecurityEvent::RefreshTokenReused {
                user_id,
                session_id,
                ip,
            } => encode_schema(
                schema::REFRESH_TOKEN_REUSED,
                1,
                &schema::RefreshTokenReusedV1 {
                    user_id: *user_id,
                    session_id: *session_id,
                    ip: *ip,
                },
            ),
            SecurityEvent::AuthorizationDenied {
                actor,
                action,
                resource,
                reason,
                ip,
            } => encode_schema(
                schema::AUTHORIZATION_DENIED,
                1,
                &schema::AuthorizationDeniedV1 {
                    actor: actor.clone(),
                    action: action.as_str().to_owned(),
                    resource: schema::ResourceV1 {
                        kind: resource.kind().as_str().to_owned(),
                        organization_id: resource.organization_id(),
                        owner_id: resource.owner_id(),
                    },
                    reason: reason.as_str().to_owned(),
                    ip: *ip,
                },
            ),
            SecurityEvent::MfaChallengeFailed { user_id, ip } => encode_schema(
                schema::MFA_CHALLENGE_FAILED,
                1,
                &schema::MfaChallengeFailedV1 {
                    user_id: *user_id,
                    ip: *ip,
                },
            ),
            SecurityEvent::AdminAction { change, target, ip } => encode_schema(
                schema::ADMIN_ACTION,
                1,
                &schema::AdminActionV1 {
                    change: change.clone(),
                    target: *target,
                    ip: *ip,
                },
            ),
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        let unknown_value = |what: &str, text: &str| {
            DecodeError::malformed(
                event_type,
                event_version,
                format!("unknown {what} {text:?}"),
            )
        };
        match (event_type, event_version) {
            (schema::LOGIN_SUCCEEDED, 1) => {
                let body: schema::LoginSucceededV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(SecurityEvent::LoginSucceeded {
                    user_id: body.user_id,
                    ip: body.ip,
                    method: LoginMethod::parse(&body.method)
                        .ok_or_else(|| unknown_value("login method", &body.method))?,
                    mfa: body.mfa,
                })
            }
            (schema::LOGIN_FAILED, 1) => {
                let body: schema::LoginFailedV1 = decode_schema(event_type, event_version, data)?;
                Ok(SecurityEvent::LoginFailed {
                    user_id: body.user_id,
                    ip: body.ip,
                    reason: LoginFailure::parse(&body.reason)
                        .ok_or_else(|| unknown_value("login failure", &body.reason))?,
                })
            }
            (schema::TOKEN_REFRESHED, 1) => {
                let body: schema::TokenRefreshedV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(SecurityEvent::TokenRefreshed {
                    user_id: body.user_id,
                    session_id: body.session_id,
                })
            }
            (schema::REFRESH_TOKEN_REUSED, 1) => {
                let body: schema::RefreshTokenReusedV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(SecurityEvent::RefreshTokenReused {
                    user_id: body.user_id,
                    session_id: body.session_id,
                    ip: body.ip,
                })
            }
            (schema::AUTHORIZATION_DENIED, 1) => {
                let body: schema::AuthorizationDeniedV1 =
                    decode_schema(event_type, event_version, data)?;
                let kind = ResourceKind::parse(&body.resource.kind)
                    .ok_or_else(|| unknown_value("resource kind", &body.resource.kind))?;
                let resource = Resource::from_parts(
                    kind,
                    body.resource.organization_id,
                    body.resource.owner_id,
                )
                .ok_or_else(|| {
                    DecodeError::malformed(
                        event_type,
                        event_version,
                        "owner_id must be absent for an organization and present otherwise",
                    )
                })?;
                Ok(SecurityEvent::AuthorizationDenied {
                    actor: body.actor,
                    action: Action::parse(&body.action)
                        .ok_or_else(|| unknown_value("action", &body.action))?,
                    resource,
                    reason: DenyReason::parse(&body.reason)
                        .ok_or_else(|| unknown_value("deny reason", &body.reason))?,
                    ip: body.ip,
                })
            }
            (schema::MFA_CHALLENGE_FAILED, 1) => {
                let body: schema::MfaChallengeFailedV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(SecurityEvent::MfaChallengeFailed {
                    user_id: body.user_id,
                    ip: body.ip,
                })
            }
            (schema::ADMIN_ACTION, 1) => {
                let body: schema::AdminActionV1 = decode_schema(event_type, event_version, data)?;
                Ok(SecurityEvent::AdminAction {
                    change: body.change,
                    target: body.target,
                    ip: body.ip,
                })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
