//! API key decisions.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::aggregate::CommandContext;
use crate::error::DomainError;
use crate::identity::{Role, Sha256Digest, validate_resource_name};

use super::{ApiKeyEvent, ApiKeyState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeyCommand {
    /// `key_hash` is SHA-256 of the secret the caller generated and shows once; `creator_role`
    /// is the role of whoever creates the key, which caps the key's role.
    Create {
        id: Uuid,
        organization_id: Uuid,
        owner_user_id: Uuid,
        name: String,
        role: Role,
        prefix: String,
        key_hash: Sha256Digest,
        expires_at: Option<DateTime<Utc>>,
        creator_role: Role,
    },
    Revoke,
    /// Records that the key authenticated a request at `at`; an event is written only when the
    /// last recorded use is more than [`USE_RECORDING_INTERVAL`] older.
    RecordUse {
        at: DateTime<Utc>,
    },
}

/// Uses closer together than this are not recorded again.
pub const USE_RECORDING_INTERVAL: TimeDelta = TimeDelta::seconds(60);

pub const PREFIX_START: &str = "mk_";
const PREFIX_RANDOM_CHARS: std::ops::RangeInclusive<usize> = 8..=32;

/// `mk_` followed by 8 to 32 ASCII letters or digits, e.g. `mk_ab12cd34`.
pub fn validate_prefix(prefix: &str) -> Result<String, DomainError> {
    let well_formed = prefix.strip_prefix(PREFIX_START).is_some_and(|rest| {
        PREFIX_RANDOM_CHARS.contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !well_formed {
        return Err(DomainError::invalid(
            "prefix",
            "must be mk_ followed by 8 to 32 letters or digits",
        ));
    }
    Ok(prefix.to_owned())
}

pub fn decide(
    state: &ApiKeyState,
    command: ApiKeyCommand,
    context: &CommandContext,
) -> Result<Vec<ApiKeyEvent>, DomainError> {
    match command {
        ApiKeyCommand::Create {
            id,
            organization_id,
            owner_user_id,
            name,
            role,
            prefix,
            key_hash,
            expires_at,
            creator_role,
        } => {
            if state.exists() {
                return Err(DomainError::AlreadyExists("api key"));
            }
            if !creator_role.may_grant(role) {
                return Err(DomainError::Forbidden(format!(
                    "a {} cannot create a {} api key",
                    creator_role.as_str(),
                    role.as_str()
                )));
            }
            let name = validate_resource_name("name", &name)?;
            let prefix = validate_prefix(&prefix)?;
            if expires_at.is_some_and(|expiry| expiry <= context.now) {
                return Err(DomainError::invalid("expiresAt", "must be in the future"));
            }
            Ok(vec![ApiKeyEvent::Created {
                id,
                organization_id,
                owner_user_id,
                name,
                role,
                prefix,
                key_hash,
                expires_at,
            }])
        }
        _ if !state.exists() => Err(DomainError::NotFound("api key")),
        ApiKeyCommand::Revoke => Ok(if state.revoked {
            Vec::new()
        } else {
            vec![ApiKeyEvent::Revoked]
        }),
        ApiKeyCommand::RecordUse { at } => {
            if state.revoked {
                return Err(DomainError::InvalidState("api key revoked".into()));
            }
            if !state.is_usable(at) {
                return Err(DomainError::InvalidState("api key expired".into()));
            }
            let recent = state
                .last_used_at
                .is_some_and(|last| at - last <= USE_RECORDING_INTERVAL);
            Ok(if recent {
                Vec::new()
            } else {
                vec![ApiKeyEvent::Used { at }]
            })
        }
    }
}
