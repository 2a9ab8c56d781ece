//! Team events, as the domain sees them.

use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};

use super::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamEvent {
    Created {
        id: Uuid,
        organization_id: Uuid,
        name: String,
    },
    MemberAdded {
        user_id: Uuid,
    },
    MemberRemoved {
        user_id: Uuid,
    },
    Renamed {
        name: String,
    },
}

impl TeamEvent {
    /// One event of every kind, for codec and fixture tests.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<TeamEvent> {
        vec![
            TeamEvent::Created {
                id: Uuid::from_u128(10),
                organization_id: Uuid::from_u128(2),
                name: "Red team".into(),
            },
            TeamEvent::MemberAdded {
                user_id: Uuid::from_u128(1),
            },
            TeamEvent::MemberRemoved {
                user_id: Uuid::from_u128(1),
            },
            TeamEvent::Renamed {
                name: "Équipe rouge".into(),
            },
        ]
    }
}

impl EventCodec for TeamEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            TeamEvent::Created {
                id,
                organization_id,
                name,
            } => encode_schema(
                schema::CREATED,
                1,
                &schema::CreatedV1 {
                    team_id: *id,
                    organization_id: *organization_id,
                    name: name.clone(),
                },
            ),
            TeamEvent::MemberAdded { user_id } => encode_schema(
                schema::MEMBER_ADDED,
                1,
                &schema::MemberAddedV1 { user_id: *user_id },
            ),
            TeamEvent::MemberRemoved { user_id } => encode_schema(
                schema::MEMBER_REMOVED,
                1,
                &schema::MemberRemovedV1 { user_id: *user_id },
            ),
            TeamEvent::Renamed { name } => encode_schema(
                schema::RENAMED,
                1,
                &schema::RenamedV1 { name: name.clone() },
            ),
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
                Ok(TeamEvent::Created {
                    id: body.team_id,
                    organization_id: body.organization_id,
                    name: body.name,
                })
            }
            (schema::MEMBER_ADDED, 1) => {
                let body: schema::MemberAddedV1 = decode_schema(event_type, event_version, data)?;
                Ok(TeamEvent::MemberAdded {
                    user_id: body.user_id,
                })
            }
            (schema::MEMBER_REMOVED, 1) => {
                let body: schema::MemberRemovedV1 = decode_schema(event_type, event_version, data)?;
                Ok(TeamEvent::MemberRemoved {
                    user_id: body.user_id,
                })
            }
            (schema::RENAMED, 1) => {
                let body: schema::RenamedV1 = decode_schema(event_type, event_version, data)?;
                Ok(TeamEvent::Renamed { name: body.name })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
