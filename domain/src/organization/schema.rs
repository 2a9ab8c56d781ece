//! The stored schema of organization events, every version ever written.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const REGISTERED: &str = "OrganizationRegistered";
pub const RENAMED: &str = "OrganizationRenamed";

/// Version 1 carried no slug.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredV1 {
    pub organization_id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredV2 {
    pub organization_id: Uuid,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamedV1 {
    pub name: String,
}

/// v1 -> v2: the slug is derived from the name, as registration did when v1 was current.
pub fn registered_v1_to_v2(data: serde_json::Value) -> Result<serde_json::Value, String> {
    let v1: RegisteredV1 = serde_json::from_value(data).map_err(|e| e.to_string())?;
    let v2 = RegisteredV2 {
        slug: super::decide::slugify(&v1.name),
        organization_id: v1.organization_id,
        name: v1.name,
    };
    serde_json::to_value(v2).map_err(|e| e.to_string())
}
