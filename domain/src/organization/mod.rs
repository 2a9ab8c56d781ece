//! The organization (tenant) aggregate: the root every other resource belongs to.

mod decide;
mod events;
mod schema;
#[cfg(test)]
mod tests;

pub use decide::{OrganizationCommand, validate_name};
pub use events::OrganizationEvent;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;

pub struct Organization;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationState {
    pub id: Option<Uuid>,
    pub name: String,
    pub slug: String,
    pub renames: u64,
}

impl Aggregate for Organization {
    const CATEGORY: &'static str = "organization";
    type State = OrganizationState;
    type Command = OrganizationCommand;
    type Event = OrganizationEvent;

    fn decide(
        state: &OrganizationState,
        command: OrganizationCommand,
        context: &CommandContext,
    ) -> Result<Vec<OrganizationEvent>, DomainError> {
        decide::decide(state, command, context)
    }

    fn evolve(mut state: OrganizationState, event: &OrganizationEvent) -> OrganizationState {
        match event {
            OrganizationEvent::Registered { id, name, slug } => {
                state.id = Some(*id);
                state.name = name.clone();
                state.slug = slug.clone();
            }
            OrganizationEvent::Renamed { name } => {
                state.name = name.clone();
                state.renames += 1;
            }
        }
        state
    }
}
