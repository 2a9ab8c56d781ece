//! The team aggregate: a named group of users inside one organization; projects belong to teams.
//!
//! That a member belongs to the team's organization is the caller's check (it loads the user and
//! asks the policy), since this aggregate only sees user ids.

mod decide;
mod events;
mod schema;
#[cfg(test)]
mod tests;

pub use decide::TeamCommand;
pub use events::TeamEvent;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;

pub struct Team;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamState {
    pub id: Option<Uuid>,
    pub organization_id: Uuid,
    pub name: String,
    pub members: BTreeSet<Uuid>,
}

impl TeamState {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }
}

impl Aggregate for Team {
    const CATEGORY: &'static str = "team";
    type State = TeamState;
    type Command = TeamCommand;
    type Event = TeamEvent;

    fn decide(
        state: &TeamState,
        command: TeamCommand,
        context: &CommandContext,
    ) -> Result<Vec<TeamEvent>, DomainError> {
        decide::decide(state, command, context)
    }

    fn evolve(mut state: TeamState, event: &TeamEvent) -> TeamState {
        match event {
            TeamEvent::Created {
                id,
                organization_id,
                name,
            } => {
                state.id = Some(*id);
                state.organization_id = *organization_id;
                state.name = name.clone();
            }
            TeamEvent::MemberAdded { user_id } => {
                state.members.insert(*user_id);
            }
            TeamEvent::MemberRemoved { user_id } => {
                state.members.remove(user_id);
            }
            TeamEvent::Renamed { name } => state.name = name.clone(),
        }
        state
    }
}
