//! Session events, as the domain sees them.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};
use crate::identity::Sha256Digest;

use super::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    Started {
        id: Uuid,
        user_id: Uuid,
        organization_id: Uuid,
        refresh_hash: Sha256Digest,
        expires_at: DateTime<Utc>,
        ip: Option<IpAddr>,
        user_security_version: u64,
    },
    Rotated {
        refresh_hash: Sha256Digest,
    },
    /// A spent refresh token was presented: the family is revoked in the same decision.
    ReuseDetected {
        presented_hash: Sha256Digest,
    },
    Revoked {
        reason: RevocationReason,
    },
}

/// Why a refresh-token family ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Logout,
    /// A spent refresh token was presented again.
    Reuse,
    /// The user's `security_version` moved (role change, disable, password set, TOTP confirmed).
    SecurityVersionChanged,
    /// An administrator ended it.
    Administrative,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 4] = [
        RevocationReason::Logout,
        RevocationReason::Reuse,
        RevocationReason::SecurityVersionChanged,
        RevocationReason::Administrative,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Logout => "logout",
            RevocationReason::Reuse => "reuse",
            RevocationReason::SecurityVersionChanged => "security_version_changed",
            RevocationReason::Administrative => "administrative",
        }
    }

    pub fn parse(text: &str) -> Option<RevocationReason> {
        RevocationReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// `#[serde(with = ...)]` for the revocation in a snapshotted state.
pub(crate) mod reason_as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::RevocationReason;

    pub fn serialize<S: Serializer>(
        reason: &Option<RevocationReason>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match reason {
            Some(reason) => serializer.serialize_some(reason.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<RevocationReason>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                RevocationReason::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown revocation reason {text:?}"))
                })
            })
            .transpose()
    }
}

impl SessionEvent {
    /// One event of every kind, for codec and fixture tests.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<SessionEvent> {
        let expires_at = DateTime::<Utc>::from_timestamp(1_750_604_800, 0).unwrap_or_default();
        let mut events = vec![
            SessionEvent::Started {
                id: Uuid::from_u128(40),
                user_id: Uuid::from_u128(1),
                organization_id: Uuid::from_u128(2),
                refresh_hash: [0x11; 32],
                expires_at,
                ip: Some(IpAddr::from([203, 0, 113, 7])),
                user_security_version: 3,
            },
            SessionEvent::Started {
                id: Uuid::from_u128(41),
                user_id: Uuid::from_u128(1),
                organization_id: Uuid::from_u128(2),
                refresh_hash: [0x12; 32],
                expires_at,
                ip: Some(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])),
                user_security_version: 0,
            },
            SessionEvent::Started {
                id: Uuid::from_u128(42),
                user_id: Uuid::from_u128(1),
                organization_id: Uuid::from_u128(2),
                refresh_hash: [0x13; 32],
                expires_at,
                ip: None,
                user_security_version: 0,
            },
            SessionEvent::Rotated {
                refresh_hash: [0x22; 32],
            },
            SessionEvent::ReuseDetected {
                presented_hash: [0x11; 32],
            },
        ];
        events.extend(
            RevocationReason::ALL
                .into_iter()
                .map(|reason| SessionEvent::Revoked { reason }),
        );
        events
    }
}

impl EventCodec for SessionEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            SessionEvent::Started {
                id,
                user_id,
                organization_id,
                refresh_hash,
                expires_at,
                ip,
                user_security_version,
            } => encode_schema(
                schema::STARTED,
                1,
                &schema::StartedV1 {
                    session_id: *id,
                    user_id: *user_id,
                    organization_id: *organization_id,
                    refresh_hash: *refresh_hash,
                    expires_at: *expires_at,
                    ip: *ip,
                    user_security_version: *user_security_version,
                },
            ),
            SessionEvent::Rotated { refresh_hash } => encode_schema(
                schema::ROTATED,
                1,
                &schema::RotatedV1 {
                    refresh_hash: *refresh_hash,
                },
            ),
            SessionEvent::ReuseDetected { presented_hash } => encode_schema(
                schema::REUSE_DETECTED,
                1,
                &schema::ReuseDetectedV1 {
                    presented_hash: *presented_hash,
                },
            ),
            SessionEvent::Revoked { reason } => encode_schema(
                schema::REVOKED,
                1,
                &schema::RevokedV1 {
                    reason: reason.as_str().to_owned(),
                },
            ),
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        match (event_type, event_version) {
            (schema::STARTED, 1) => {
                let body: schema::StartedV1 = decode_schema(event_type, event_version, data)?;
                Ok(SessionEvent::Started {
                    id: body.session_id,
                    user_id: body.user_id,
                    organization_id: body.organization_id,
                    refresh_hash: body.refresh_hash,
                    expires_at: body.expires_at,
                    ip: body.ip,
                    user_security_version: body.user_security_version,
                })
            }
            (schema::ROTATED, 1) => {
                let body: schema::RotatedV1 = decode_schema(event_type, event_version, data)?;
                Ok(SessionEvent::Rotated {
                    refresh_hash: body.refresh_hash,
                })
            }
            (schema::REUSE_DETECTED, 1) => {
                let body: schema::ReuseDetectedV1 = decode_schema(event_type, event_version, data)?;
                Ok(SessionEvent::ReuseDetected {
                    presented_hash: body.presented_hash,
                })
            }
            (schema::REVOKED, 1) => {
                let body: schema::RevokedV1 = decode_schema(event_type, event_version, data)?;
                let reason = RevocationReason::parse(&body.reason).ok_or_else(|| {
                    DecodeError::malformed(
                        event_type,
                        event_version,
                        format!("unknown revocation reason {:?}", body.reason),
                    )
                })?;
                Ok(SessionEvent::Revoked { reason })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
