//! The user aggregate: an account inside one organization, its credentials, second factor,
//! OIDC links, and the `security_version` that ends old sessions.
//!
//! E-mail and `(issuer, subject)` uniqueness span many users, so they are the caller's (a lookup
//! in a read model before `Register` / `LinkOidc`), not this aggregate's.

mod decide;
mod events;
#[cfg(test)]
mod replay_tests;
mod schema;
#[cfg(test)]
mod tests;

pub use decide::{
    MAX_PREFERENCES_BYTES, UserCommand, validate_password_hash, validate_preferences,
};
pub use events::UserEvent;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;
use crate::identity::{Email, Role};

pub struct User;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub id: Option<Uuid>,
    pub organization_id: Uuid,
    #[serde(with = "crate::identity::email::as_text")]
    pub email: Option<Email>,
    pub display_name: String,
    #[serde(with = "crate::identity::role::as_text")]
    pub role: Role,
    pub disabled: bool,
    /// An argon2id PHC string; `None` for OIDC-only accounts.
    pub password_hash: Option<String>,
    pub preferences: Map<String, Value>,
    pub totp: TotpState,
    /// Linked OIDC accounts: issuer -> subject.
    pub oidc: BTreeMap<String, String>,
    /// Raised by every event that must end existing sessions (role change, disable, password
    /// set, TOTP confirmed). Tokens carry the version they were issued at; a request whose token
    /// carries an older version is refused.
    pub security_version: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpState {
    /// The encrypted secret of an enrollment that has not been confirmed yet.
    pub pending_ciphertext: Option<Vec<u8>>,
    /// The encrypted secret logins are checked against.
    pub confirmed_ciphertext: Option<Vec<u8>>,
    /// The last accepted time step; a code is accepted only for a later step.
    pub last_step: Option<u64>,
}

impl TotpState {
    pub fn is_enabled(&self) -> bool {
        self.confirmed_ciphertext.is_some()
    }
}

impl UserState {
    pub fn is_registered(&self) -> bool {
        self.id.is_some()
    }

    /// Registered and not disabled (credentials are checked elsewhere).
    pub fn may_sign_in(&self) -> bool {
        self.is_registered() && !self.disabled
    }
}

impl Aggregate for User {
    const CATEGORY: &'static str = "user";
    type State = UserState;
    type Command = UserCommand;
    type Event = UserEvent;

    fn decide(
        state: &UserState,
        command: UserCommand,
        context: &CommandContext,
    ) -> Result<Vec<UserEvent>, DomainError> {
        decide::decide(state, command, context)
    }

    fn evolve(mut state: UserState, event: &UserEvent) -> UserState {
        if event.invalidates_sessions() {
            state.security_version += 1;
        }
        match event {
            UserEvent::Registered {
                id,
                organization_id,
                email,
                display_name,
                password_hash,
                role,
            } => {
                state.id = Some(*id);
                state.organization_id = *organization_id;
                state.email = Some(email.clone());
                state.display_name = display_name.clone();
                state.password_hash = password_hash.clone();
                state.role = *role;
            }
            UserEvent::RoleChanged { role } => state.role = *role,
            UserEvent::Disabled => state.disabled = true,
            UserEvent::Enabled => state.disabled = false,
            UserEvent::PasswordSet { password_hash } => {
                state.password_hash = Some(password_hash.clone());
            }
            UserEvent::ProfileUpdated {
                display_name,
                preferences,
            } => {
                if let Some(display_name) = display_name {
                    state.display_name = display_name.clone();
                }
                if let Some(preferences) = preferences {
                    state.preferences = preferences.clone();
                }
            }
            UserEvent::TotpEnrollmentStarted { secret_ciphertext } => {
                state.totp.pending_ciphertext = Some(secret_ciphertext.clone());
            }
            UserEvent::TotpConfirmed { step } => {
                state.totp.confirmed_ciphertext = state.totp.pending_ciphertext.take();
                state.totp.last_step = Some(*step);
            }
            UserEvent::TotpStepAccepted { step } => state.totp.last_step = Some(*step),
            UserEvent::OidcLinked { issuer, subject } => {
                state.oidc.insert(issuer.clone(), subject.clone());
            }
        }
        state
    }
}
