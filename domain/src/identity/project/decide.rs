//! Project decisions.

use uuid::Uuid;

use crate::aggregate::CommandContext;
use crate::error::DomainError;
use crate::identity::validate_resource_name;

use super::{ProjectEvent, ProjectState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCommand {
    Create {
        id: Uuid,
        organization_id: Uuid,
        team_id: Uuid,
        name: String,
    },
    Rename {
        name: String,
    },
    MoveToTeam {
        team_id: Uuid,
    },
    /// Archiving is final; an archived project refuses renames and moves.
    Archive,
}

pub fn decide(
    state: &ProjectState,
    command: ProjectCommand,
    _context: &CommandContext,
) -> Result<Vec<ProjectEvent>, DomainError> {
    match command {
        ProjectCommand::Create {
            id,
            organization_id,
            team_id,
            name,
        } => {
            if state.exists() {
                return Err(DomainError::AlreadyExists("project"));
            }
            Ok(vec![ProjectEvent::Created {
                id,
                organization_id,
                team_id,
                name: validate_resource_name("name", &name)?,
            }])
        }
        _ if !state.exists() => Err(DomainError::NotFound("project")),
        ProjectCommand::Archive => Ok(if state.archived {
            Vec::new()
        } else {
            vec![ProjectEvent::Archived]
        }),
        _ if state.archived => Err(DomainError::InvalidState("project archived".into())),
        ProjectCommand::Rename { name } => {
            let name = validate_resource_name("name", &name)?;
            Ok(if name == state.name {
                Vec::new()
            } else {
                vec![ProjectEvent::Renamed { name }]
            })
        }
        ProjectCommand::MoveToTeam { team_id } => Ok(if team_id == state.team_id {
            Vec::new()
        } else {
            vec![ProjectEvent::MovedToTeam { team_id }]
        }),
    }
}
