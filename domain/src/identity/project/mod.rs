//! The project aggregate: where scans live; owned by one team, which decides who may touch it.
//!
//! That the team exists and belongs to the project's organization is the caller's check (it
//! loads the team and asks the policy).

mod decide;
mod events;
mod schema;
#[cfg(test)]
mod tests;

pub use decide::ProjectCommand;
pub use events::ProjectEvent;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;

pub struct Project;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    pub id: Option<Uuid>,
    pub organization_id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub archived: bool,
}

impl ProjectState {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }
}

impl Aggregate for Project {
    const CATEGORY: &'static str = "project";
    type State = ProjectState;
    type Command = ProjectCommand;
    type Event = ProjectEvent;

    fn decide(
        state: &ProjectState,
        command: ProjectCommand,
        context: &CommandContext,
    ) -> Result<Vec<ProjectEvent>, DomainError> {
        decide::decide(state, command, context)
    }

    fn evolve(mut state: ProjectState, event: &ProjectEvent) -> ProjectState {
        match event {
            ProjectEvent::Created {
                id,
                organization_id,
                team_id,
                name,
            } => {
                state.id = Some(*id);
                state.organization_id = *organization_id;
                state.team_id = *team_id;
                state.name = name.clone();
            }
            ProjectEvent::Renamed { name } => state.name = name.clone(),
            ProjectEvent::MovedToTeam { team_id } => state.team_id = *team_id,
            ProjectEvent::Archived => state.archived = true,
        }
        state
    }
}
