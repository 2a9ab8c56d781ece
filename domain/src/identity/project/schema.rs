//! The stored schema of project events, every version ever written.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CREATED: &str = "ProjectCreated";
pub const RENAMED: &str = "ProjectRenamed";
pub const MOVED_TO_TEAM: &str = "ProjectMovedToTeam";
pub const ARCHIVED: &str = "ProjectArchived";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatedV1 {
    pub project_id: Uuid,
    pub organization_id: Uuid,
    pub team_id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamedV1 {
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovedToTeamV1 {
    pub team_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedV1 {}
