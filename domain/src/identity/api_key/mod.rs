//! The API key aggregate: a long-lived credential of one user, scoped to its organization and to
//! a role no higher than its creator's. Only a SHA-256 digest of the secret is kept.
//!
//! Authenticating with a key (the caller's part): find it by prefix, compare digests with
//! [`ApiKeyState::matches`], require [`ApiKeyState::is_usable`] and an enabled owner, act with
//! `role.capped_at(owner's current role)`, then send `RecordUse`.

mod decide;
mod events;
mod schema;
#[cfg(test)]
mod tests;

pub use decide::{ApiKeyCommand, USE_RECORDING_INTERVAL, validate_prefix};
pub use events::ApiKeyEvent;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;
use crate::identity::{Role, Sha256Digest, digests_equal};

pub struct ApiKey;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyState {
    pub id: Option<Uuid>,
    pub organization_id: Uuid,
    pub owner_user_id: Uuid,
    pub name: String,
    #[serde(with = "crate::identity::role::as_text")]
    pub role: Role,
    /// The visible start of the key (`mk_ab12cd34`), used to find it.
    pub prefix: String,
    /// SHA-256 of the whole secret key.
    pub key_hash: Sha256Digest,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// Recorded at most once a minute (see [`USE_RECORDING_INTERVAL`]).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyState {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// Created, not revoked, and not expired at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.exists() && !self.revoked && self.expires_at.is_none_or(|expiry| now < expiry)
    }

    /// Whether `presented` (SHA-256 of the secret a client sent) is this key, in constant time.
    pub fn matches(&self, presented: &Sha256Digest) -> bool {
        self.exists() && digests_equal(&self.key_hash, presented)
    }
}

impl Aggregate for ApiKey {
    const CATEGORY: &'static str = "apikey";
    type State = ApiKeyState;
    type Command = ApiKeyCommand;
    type Event = ApiKeyEvent;

    fn decide(
        state: &ApiKeyState,
        command: ApiKeyCommand,
        context: &CommandContext,
    ) -> Result<Vec<ApiKeyEvent>, DomainError> {
        decide::decide(state, command, context)
    }

    fn evolve(mut state: ApiKeyState, event: &ApiKeyEvent) -> ApiKeyState {
        match event {
            ApiKeyEvent::Created {
                id,
                organization_id,
                owner_user_id,
                name,
                role,
                prefix,
                key_hash,
                expires_at,
            } => {
                state.id = Some(*id);
                state.organization_id = *organization_id;
                state.owner_user_id = *owner_user_id;
                state.name = name.clone();
                state.role = *role;
                state.prefix = prefix.clone();
                state.key_hash = *key_hash;
                state.expires_at = *expires_at;
            }
            ApiKeyEvent::Revoked => state.revoked = true,
            ApiKeyEvent::Used { at } => state.last_used_at = Some(*at),
        }
        state
    }
}
