//! The contract every aggregate follows: pure decisions and pure evolution.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::codec::EventCodec;
use crate::error::DomainError;

/// Who is acting, when, and on whose behalf: passed in, never read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: String,
    pub organization: Option<Uuid>,
    pub now: DateTime<Utc>,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
}

impl CommandContext {
    pub fn system(now: DateTime<Utc>) -> Self {
        Self {
            actor: "system".to_owned(),
            organization: None,
            now,
            correlation_id: None,
            causation_id: None,
        }
    }
}

/// An event-sourced aggregate: `decide(&state, command) -> events`, `evolve(state, event)`.
///
/// `State` is serialisable only for snapshots; a snapshot whose `SNAPSHOT_VERSION` differs from
/// the current one is ignored and the stream is replayed instead.
pub trait Aggregate {
    /// The stream category, e.g. `organization`.
    const CATEGORY: &'static str;
    const SNAPSHOT_VERSION: u32 = 1;

    type State: Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static;
    type Command;
    type Event: EventCodec + Send + Sync;

    fn decide(
        state: &Self::State,
        command: Self::Command,
        context: &CommandContext,
    ) -> Result<Vec<Self::Event>, DomainError>;

    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
}

/// Folds a history into the state it produces.
pub fn replay<'a, A: Aggregate>(
    state: A::State,
    events: impl IntoIterator<Item = &'a A::Event>,
) -> A::State
where
    A::Event: 'a,
{
    events.into_iter().fold(state, A::evolve)
}

/// Given/when/then for decisions: `given(history).when(command)` returns what `decide` said.
#[cfg(test)]
pub(crate) mod given {
    use super::*;

    pub fn given<A: Aggregate>(history: Vec<A::Event>) -> A::State {
        replay::<A>(A::State::default(), history.iter())
    }

    pub fn when<A: Aggregate>(
        state: &A::State,
        command: A::Command,
    ) -> Result<Vec<A::Event>, DomainError> {
        let context = CommandContext::system(chrono::DateTime::<Utc>::UNIX_EPOCH);
        A::decide(state, command, &context)
    }
}
