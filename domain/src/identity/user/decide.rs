//! User decisions.

use serde_json::Value;
use uuid::Uuid;

use crate::aggregate::CommandContext;
use crate::error::DomainError;
use crate::identity::{Email, Role, validate_display_name};

use super::{UserEvent, UserState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    /// `password_hash` is an argon2id PHC string computed by the caller; `None` for accounts that
    /// only sign in through OIDC.
    Register {
        id: Uuid,
        organization_id: Uuid,
        email: Email,
        display_name: String,
        password_hash: Option<String>,
        role: Role,
    },
    ChangeRole {
        role: Role,
    },
    Disable,
    Enable,
    SetPassword {
        password_hash: String,
    },
    /// `None` leaves a field as it is. Preferences must be a JSON object of at most 16 KiB.
    UpdateProfile {
        display_name: Option<String>,
        preferences: Option<Value>,
    },
    /// Starts (or restarts) an enrollment with a secret the caller generated and encrypted.
    StartTotpEnrollment {
        secret_ciphertext: Vec<u8>,
    },
    /// The caller checked a code against the pending secret; `step` is that code's time step.
    ConfirmTotp {
        step: u64,
    },
    /// The caller checked a login code against the confirmed secret; each step is usable once.
    AcceptTotpStep {
        step: u64,
    },
    LinkOidc {
        issuer: String,
        subject: String,
    },
}

pub const MAX_PREFERENCES_BYTES: usize = 16 * 1024;
pub const MAX_PASSWORD_HASH_LEN: usize = 512;
/// A ciphertext shorter than this cannot hold the 160-bit secret RFC 6238 asks for.
pub const MIN_TOTP_CIPHERTEXT_LEN: usize = 20;
pub const MAX_TOTP_CIPHERTEXT_LEN: usize = 1024;
pub const MAX_ISSUER_LEN: usize = 2048;
/// OpenID Connect Core 1.0 caps `sub` at 255 ASCII characters.
pub const MAX_SUBJECT_LEN: usize = 255;

/// Accepts only an argon2id PHC string, so a plain password can never reach the log by mistake.
pub fn validate_password_hash(text: &str) -> Result<String, DomainError> {
    let looks_like_argon2id = text.starts_with("$argon2id$")
        && text.len() <= MAX_PASSWORD_HASH_LEN
        && text.chars().all(|c| c.is_ascii_graphic());
    if !looks_like_argon2id {
        return Err(DomainError::invalid(
            "passwordHash",
            "must be an argon2id PHC string",
        ));
    }
    Ok(text.to_owned())
}

/// Preferences are a JSON object of at most 16 KiB once serialised.
pub fn validate_preferences(value: Value) -> Result<serde_json::Map<String, Value>, DomainError> {
    let size = serde_json::to_vec(&value)
        .map_err(|e| DomainError::invalid("preferences", e.to_string()))?
        .len();
    if size > MAX_PREFERENCES_BYTES {
        return Err(DomainError::invalid(
            "preferences",
            format!("must be at most {MAX_PREFERENCES_BYTES} bytes"),
        ));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(DomainError::invalid("preferences", "must be a JSON object")),
    }
}

fn validate_oidc_text(field: &'static str, text: &str, max: usize) -> Result<(), DomainError> {
    if text.is_empty() || text.len() > max || !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            field,
            format!("must be 1 to {max} printable ASCII characters"),
        ));
    }
    Ok(())
}

pub fn decide(
    state: &UserState,
    command: UserCommand,
    _context: &CommandContext,
) -> Result<Vec<UserEvent>, DomainError> {
    match command {
        UserCommand::Register {
            id,
            organization_id,
            email,
            display_name,
            password_hash,
            role,
        } => {
            if state.is_registered() {
                return Err(DomainError::AlreadyExists("user"));
            }
            Ok(vec![UserEvent::Registered {
                id,
                organization_id,
                email,
                display_name: validate_display_name(&display_name)?,
                password_hash: password_hash
                    .map(|hash| validate_password_hash(&hash))
                    .transpose()?,
                role,
            }])
        }
        _ if !state.is_registered() => Err(DomainError::NotFound("user")),
        UserCommand::ChangeRole { role } => Ok(if role == state.role {
            Vec::new()
        } else {
            vec![UserEvent::RoleChanged { role }]
        }),
        UserCommand::Disable => Ok(if state.disabled {
            Vec::new()
        } else {
            vec![UserEvent::Disabled]
        }),
        UserCommand::Enable => Ok(if state.disabled {
            vec![UserEvent::Enabled]
        } else {
            Vec::new()
        }),
        UserCommand::SetPassword { password_hash } => Ok(vec![UserEvent::PasswordSet {
            password_hash: validate_password_hash(&password_hash)?,
        }]),
        UserCommand::UpdateProfile {
            display_name,
            preferences,
        } => update_profile(state, display_name, preferences),
        UserCommand::StartTotpEnrollment { secret_ciphertext } => {
            if secret_ciphertext.len() < MIN_TOTP_CIPHERTEXT_LEN
                || secret_ciphertext.len() > MAX_TOTP_CIPHERTEXT_LEN
            {
                return Err(DomainError::invalid(
                    "secretCiphertext",
                    format!("must be {MIN_TOTP_CIPHERTEXT_LEN} to {MAX_TOTP_CIPHERTEXT_LEN} bytes"),
                ));
            }
            Ok(vec![UserEvent::TotpEnrollmentStarted { secret_ciphertext }])
        }
        UserCommand::ConfirmTotp { step } => {
            if state.totp.pending_ciphertext.is_none() {
                return Err(DomainError::InvalidState(
                    "no totp enrollment pending".into(),
                ));
            }
            Ok(vec![UserEvent::TotpConfirmed { step }])
        }
        UserCommand::AcceptTotpStep { step } => {
            if !state.totp.is_enabled() {
                return Err(DomainError::InvalidState("totp not enabled".into()));
            }
            if state.totp.last_step.is_some_and(|last| step <= last) {
                return Err(DomainError::InvalidState("totp code already used".into()));
            }
            Ok(vec![UserEvent::TotpStepAccepted { step }])
        }
        UserCommand::LinkOidc { issuer, subject } => {
            validate_oidc_text("issuer", &issuer, MAX_ISSUER_LEN)?;
            validate_oidc_text("subject", &subject, MAX_SUBJECT_LEN)?;
            match state.oidc.get(&issuer) {
                Some(linked) if *linked == subject => Ok(Vec::new()),
                Some(_) => Err(DomainError::InvalidState(
                    "already linked to another account of this issuer".into(),
                )),
                None => Ok(vec![UserEvent::OidcLinked { issuer, subject }]),
            }
        }
    }
}

fn update_profile(
    state: &UserState,
    display_name: Option<String>,
    preferences: Option<Value>,
) -> Result<Vec<UserEvent>, DomainError> {
    let display_name = display_name
        .map(|name| validate_display_name(&name))
        .transpose()?
        .filter(|name| *name != state.display_name);
    let preferences = preferences
        .map(validate_preferences)
        .transpose()?
        .filter(|map| *map != state.preferences);
    if display_name.is_none() && preferences.is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![UserEvent::ProfileUpdated {
        display_name,
        preferences,
    }])
}
