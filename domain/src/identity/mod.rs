//! Identity: users, teams, projects, API keys, sessions, and the security events recorded
//! outside them.
//!
//! Nothing here hashes, encrypts or generates: password hashes (argon2id), token digests
//! (SHA-256), TOTP ciphertexts, ids and times all arrive with the commands.
//!
//! Event type names start with the aggregate's name, so a prefix names exactly one codec:
//! `User*` -> [`UserEvent`], `Team*` -> [`TeamEvent`], `Project*` -> [`ProjectEvent`],
//! `ApiKey*` -> [`ApiKeyEvent`], `Session*` -> [`SessionEvent`], `Security*` -> [`SecurityEvent`],
//! `Email*` -> [`EmailClaimEvent`], `Oidc*` -> [`OidcLinkEvent`].

pub mod api_key;
pub mod audit;
pub mod digest;
pub mod email;
pub mod email_claim;
pub mod names;
pub mod oidc_link;
pub mod project;
pub mod role;
pub mod session;
pub mod team;
pub mod user;

pub use api_key::{ApiKey, ApiKeyCommand, ApiKeyEvent, ApiKeyState};
pub use audit::{LoginFailure, LoginMethod, SecurityEvent};
pub use digest::{Sha256Digest, digests_equal};
pub use email::Email;
pub use email_claim::EmailClaimEvent;
pub use names::{validate_display_name, validate_resource_name};
pub use oidc_link::OidcLinkEvent;
pub use project::{Project, ProjectCommand, ProjectEvent, ProjectState};
pub use role::Role;
pub use session::{
    RevocationReason, RotationOutcome, Session, SessionCommand, SessionEvent, SessionState,
};
pub use team::{Team, TeamCommand, TeamEvent, TeamState};
pub use user::{TotpState, User, UserCommand, UserEvent, UserState};
