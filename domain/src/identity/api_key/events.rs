//! API key events, as the domain sees them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};
use crate::identity::{Role, Sha256Digest};

use super::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyEvent {
    Created {
        id: Uuid,
        organization_id: Uuid,
        owner_user_id: Uuid,
        name: String,
        role: Role,
        prefix: String,
        key_hash: Sha256Digest,
        expires_at: Option<DateTime<Utc>>,
    },
    Revoked,
    Used {
        at: DateTime<Utc>,
    },
}

impl ApiKeyEvent {
    /// One event of every kind, for codec and fixture tests.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<ApiKeyEvent> {
        let at = DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap_or_default();
        vec![
            ApiKeyEvent::Created {
                id: Uuid::from_u128(30),
                organization_id: Uuid::from_u128(2),
                owner_user_id: Uuid::from_u128(1),
                name: "CI pipeline".into(),
                role: Role::User,
                prefix: "mk_ab12cd34".into(),
                key_hash: [0x5a; 32],
                expires_at: Some(at),
            },
            ApiKeyEvent::Created {
                id: Uuid::from_u128(31),
                organization_id: Uuid::from_u128(2),
                owner_user_id: Uuid::from_u128(1),
                name: "No expiry".into(),
                role: Role::ReadOnly,
                prefix: "mk_0000ffff".into(),
                key_hash: [0x01; 32],
                expires_at: None,
            },
            ApiKeyEvent::Revoked,
            ApiKeyEvent::Used { at },
        ]
    }
}

impl EventCodec for ApiKeyEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            ApiKeyEvent::Created {
                id,
                organization_id,
                owner_user_id,
                name,
                role,
                prefix,
                key_hash,
                expires_at,
            } => encode_schema(
                schema::CREATED,
                1,
                &schema::CreatedV1 {
                    api_key_id: *id,
                    organization_id: *organization_id,
                    owner_user_id: *owner_user_id,
                    name: name.clone(),
                    role: role.as_str().to_owned(),
                    prefix: prefix.clone(),
                    key_hash: *key_hash,
                    expires_at: *expires_at,
                },
            ),
            ApiKeyEvent::Revoked => encode_schema(schema::REVOKED, 1, &schema::RevokedV1 {}),
            ApiKeyEvent::Used { at } => encode_schema(schema::USED, 1, &schema::UsedV1 { at: *at }),
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        match (event_type, event_version) {
            (schema::CREATED, 1) => {
                let body: schema::CreatedV1 = decode_schema(event_type, event_version, data)?;
                Ok(ApiKeyEvent::Created {
                    id: body.api_key_id,
                    organization_id: body.organization_id,
                    owner_user_id: body.owner_user_id,
                    name: body.name,
                    role: Role::parse(&body.role)
                        .map_err(|e| DecodeError::malformed(event_type, event_version, e))?,
                    prefix: body.prefix,
                    key_hash: body.key_hash,
                    expires_at: body.expires_at,
                })
            }
            (schema::REVOKED, 1) => {
                let schema::RevokedV1 {} = decode_schema(event_type, event_version, data)?;
                Ok(ApiKeyEvent::Revoked)
            }
            (schema::USED, 1) => {
                let body: schema::UsedV1 = decode_schema(event_type, event_version, data)?;
                Ok(ApiKeyEvent::Used { at: body.at })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
