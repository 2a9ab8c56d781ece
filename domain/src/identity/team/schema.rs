//! The stored schema of team events, every version ever written.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CREATED: &str = "TeamCreated";
pub const MEMBER_ADDED: &str = "TeamMemberAdded";
pub const MEMBER_REMOVED: &str = "TeamMemberRemoved";
pub const RENAMED: &str = "TeamRenamed";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatedV1 {
    pub team_id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAddedV1 {
    pub user_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRemovedV1 {
    pub user_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamedV1 {
    pub name: String,
}
