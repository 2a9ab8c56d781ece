//! Team decisions.

use uuid::Uuid;

use crate::aggregate::CommandContext;
use crate::error::DomainError;
use crate::identity::validate_resource_name;

use super::{TeamEvent, TeamState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamCommand {
    Create {
        id: Uuid,
        organization_id: Uuid,
        name: String,
    },
    /// Adding a member twice changes nothing.
    AddMember {
        user_id: Uuid,
    },
    /// Removing someone who is not a member changes nothing.
    RemoveMember {
        user_id: Uuid,
    },
    Rename {
        name: String,
    },
}

pub fn decide(
    state: &TeamState,
    command: TeamCommand,
    _context: &CommandContext,
) -> Result<Vec<TeamEvent>, DomainError> {
    match command {
        TeamCommand::Create {
            id,
            organization_id,
            name,
        } => {
            if state.exists() {
                return Err(DomainError::AlreadyExists("team"));
            }
            Ok(vec![TeamEvent::Created {
                id,
                organization_id,
                name: validate_resource_name("name", &name)?,
            }])
        }
        _ if !state.exists() => Err(DomainError::NotFound("team")),
        TeamCommand::AddMember { user_id } => Ok(if state.members.contains(&user_id) {
            Vec::new()
        } else {
            vec![TeamEvent::MemberAdded { user_id }]
        }),
        TeamCommand::RemoveMember { user_id } => Ok(if state.members.contains(&user_id) {
            vec![TeamEvent::MemberRemoved { user_id }]
        } else {
            Vec::new()
        }),
        TeamCommand::Rename { name } => {
            let name = validate_resource_name("name", &name)?;
            Ok(if name == state.name {
                Vec::new()
            } else {
                vec![TeamEvent::Renamed { name }]
            })
        }
    }
}
