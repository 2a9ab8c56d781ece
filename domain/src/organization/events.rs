//! Organization events, as the domain sees them.

use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, Upcaster, encode_schema, unknown};

use super::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationEvent {
    Registered {
        id: Uuid,
        name: String,
        slug: String,
    },
    Renamed {
        name: String,
    },
}

impl EventCodec for OrganizationEvent {
    const UPCASTERS: &'static [Upcaster] = &[Upcaster {
        event_type: schema::REGISTERED,
        from_version: 1,
        upcast: schema::registered_v1_to_v2,
    }];

    fn encode(&self) -> StoredPayload {
        match self {
            OrganizationEvent::Registered { id, name, slug } => encode_schema(
                schema::REGISTERED,
                2,
                &schema::RegisteredV2 {
                    organization_id: *id,
                    name: name.clone(),
                    slug: slug.clone(),
                },
            ),
            OrganizationEvent::Renamed { name } => encode_schema(
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
        use crate::codec::decode_schema;
        match (event_type, event_version) {
            (schema::REGISTERED, 2) => {
                let body: schema::RegisteredV2 = decode_schema(event_type, event_version, data)?;
                Ok(OrganizationEvent::Registered {
                    id: body.organization_id,
                    name: body.name,
                    slug: body.slug,
                })
            }
            (schema::RENAMED, 1) => {
                let body: schema::RenamedV1 = decode_schema(event_type, event_version, data)?;
                Ok(OrganizationEvent::Renamed { name: body.name })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
