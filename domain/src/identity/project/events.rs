//! Project events, as the domain sees them.

use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};

use super::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectEvent {
    Created {
        id: Uuid,
        organization_id: Uuid,
        team_id: Uuid,
        name: String,
    },
    Renamed {
        name: String,
    },
    MovedToTeam {
        team_id: Uuid,
    },
    Archived,
}

impl ProjectEvent {
    /// One event of every kind, for codec and fixture tests.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<ProjectEvent> {
        vec![
            ProjectEvent::Created {
                id: Uuid::from_u128(20),
                organization_id: Uuid::from_u128(2),
                team_id: Uuid::from_u128(10),
                name: "Perimeter review".into(),
            },
            ProjectEvent::Renamed {
                name: "Perimeter review 2025".into(),
            },
            ProjectEvent::MovedToTeam {
                team_id: Uuid::from_u128(11),
            },
            ProjectEvent::Archived,
        ]
    }
}

impl EventCodec for ProjectEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            ProjectEvent::Created {
                id,
                organization_id,
                team_id,
                name,
            } => encode_schema(
                schema::CREATED,
                1,
                &schema::CreatedV1 {
                    project_id: *id,
                    organization_id: *organization_id,
                    team_id: *team_id,
                    name: name.clone(),
                },
            ),
            ProjectEvent::Renamed { name } => encode_schema(
                schema::RENAMED,
                1,
                &schema::RenamedV1 { name: name.clone() },
            ),
            ProjectEvent::MovedToTeam { team_id } => encode_schema(
                schema::MOVED_TO_TEAM,
                1,
                &schema::MovedToTeamV1 { team_id: *team_id },
            ),
            ProjectEvent::Archived => encode_schema(schema::ARCHIVED, 1, &schema::ArchivedV1 {}),
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
                Ok(ProjectEvent::Created {
                    id: body.project_id,
                    organization_id: body.organization_id,
                    team_id: body.team_id,
                    name: body.name,
                })
            }
            (schema::RENAMED, 1) => {
                let body: schema::RenamedV1 = decode_schema(event_type, event_version, data)?;
                Ok(ProjectEvent::Renamed { name: body.name })
            }
            (schema::MOVED_TO_TEAM, 1) => {
                let body: schema::MovedToTeamV1 = decode_schema(event_type, event_version, data)?;
                Ok(ProjectEvent::MovedToTeam {
                    team_id: body.team_id,
                })
            }
            (schema::ARCHIVED, 1) => {
                let schema::ArchivedV1 {} = decode_schema(event_type, event_version, data)?;
                Ok(ProjectEvent::Archived)
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
