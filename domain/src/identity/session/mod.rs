//! The session aggregate: one refresh-token family, from login to logout.
//!
//! Refresh tokens rotate on every use and only their SHA-256 digests are kept. Presenting a
//! spent token means it was copied: the whole family is revoked.
//!
//! How the refresh endpoint uses it:
//! 1. If the user's `security_version` differs from the session's `user_security_version` (role
//!    change, disable, password set, TOTP confirmed since login), send
//!    `Revoke { reason: SecurityVersionChanged }` and refuse.
//! 2. Otherwise send `Rotate`. An error refuses the request. `Ok` events must be appended
//!    (the handler does) and then judged with [`RotationOutcome::of`] (or, from the state the
//!    handler returns, [`SessionState::holds`] on the new digest): only
//!    [`RotationOutcome::Rotated`] may hand out the new token. A decision containing
//!    `ReuseDetected` is a *rejection* that still has to be recorded.
//!
//! Two concurrent refreshes with one token: the first appends `Rotated`; the second conflicts,
//! is re-decided on the new state, sees a spent token and revokes the family. At most one wins.

mod decide;
mod events;
mod schema;
#[cfg(test)]
mod tests;

pub use decide::{MAX_LIFETIME, MAX_SPENT_HASHES, SessionCommand};
pub use events::{RevocationReason, SessionEvent};

use std::collections::VecDeque;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;
use crate::identity::{Sha256Digest, digests_equal};

pub struct Session;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    pub id: Option<Uuid>,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    /// Digest of the one refresh token that may be used next.
    pub current_hash: Sha256Digest,
    /// Digests of tokens already used, oldest first, at most [`MAX_SPENT_HASHES`].
    pub spent_hashes: VecDeque<Sha256Digest>,
    /// Absolute end of the family; rotation does not extend it.
    pub expires_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    /// The user's `security_version` when the session started.
    pub user_security_version: u64,
    pub rotations: u64,
    #[serde(with = "events::reason_as_text")]
    pub revoked: Option<RevocationReason>,
}

impl SessionState {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked.is_some()
    }

    /// Started, not revoked, not expired: what a per-request session check asks.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.exists() && !self.is_revoked() && now < self.expires_at
    }

    /// Whether `digest` is the current refresh token of a live family (constant time).
    pub fn holds(&self, digest: &Sha256Digest) -> bool {
        self.exists() && !self.is_revoked() && digests_equal(&self.current_hash, digest)
    }

    fn has_spent(&self, digest: &Sha256Digest) -> bool {
        self.spent_hashes
            .iter()
            .fold(false, |found, spent| found | digests_equal(spent, digest))
    }
}

/// What a refresh request gets, judged from the events its `Rotate` decision produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationOutcome {
    /// Hand out the new token.
    Rotated,
    /// Refuse the request (re-use was detected and the family revoked).
    Rejected,
}

impl RotationOutcome {
    pub fn of(events: &[SessionEvent]) -> RotationOutcome {
        let rotated = events
            .iter()
            .any(|event| matches!(event, SessionEvent::Rotated { .. }));
        let rejected = events.iter().any(|event| {
            matches!(
                event,
                SessionEvent::ReuseDetected { .. } | SessionEvent::Revoked { .. }
            )
        });
        if rotated && !rejected {
            RotationOutcome::Rotated
        } else {
            RotationOutcome::Rejected
        }
    }
}

impl Aggregate for Session {
    const CATEGORY: &'static str = "session";
    type State = SessionState;
    type Command = SessionCommand;
    type Event = SessionEvent;

    fn decide(
        state: &SessionState,
        command: SessionCommand,
        context: &CommandContext,
    ) -> Result<Vec<SessionEvent>, DomainError> {
        decide::decide(state, command, context)
    }

    fn evolve(mut state: SessionState, event: &SessionEvent) -> SessionState {
        match event {
            SessionEvent::Started {
                id,
                user_id,
                organization_id,
                refresh_hash,
                expires_at,
                ip,
                user_security_version,
            } => {
                state.id = Some(*id);
                state.user_id = *user_id;
                state.organization_id = *organization_id;
                state.current_hash = *refresh_hash;
                state.expires_at = *expires_at;
                state.ip = *ip;
                state.user_security_version = *user_security_version;
            }
            SessionEvent::Rotated { refresh_hash } => {
                let spent = std::mem::replace(&mut state.current_hash, *refresh_hash);
                state.spent_hashes.push_back(spent);
                while state.spent_hashes.len() > MAX_SPENT_HASHES {
                    state.spent_hashes.pop_front();
                }
                state.rotations += 1;
            }
            SessionEvent::ReuseDetected { .. } => {}
            SessionEvent::Revoked { reason } => state.revoked = Some(*reason),
        }
        state
    }
}
