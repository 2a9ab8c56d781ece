//! Organization decisions.

use uuid::Uuid;

use crate::aggregate::CommandContext;
use crate::error::DomainError;

use super::{OrganizationEvent, OrganizationState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationCommand {
    Register { id: Uuid, name: String },
    Rename { name: String },
}

pub const MAX_NAME_CHARS: usize = 100;

/// Trims and checks an organization name; the error names the field.
pub fn validate_name(name: &str) -> Result<String, DomainError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid("name", "must not be empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Lower-case ASCII letters and digits joined by single dashes.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

pub fn decide(
    state: &OrganizationState,
    command: OrganizationCommand,
    _context: &CommandContext,
) -> Result<Vec<OrganizationEvent>, DomainError> {
    match command {
        OrganizationCommand::Register { id, name } => {
            if state.id.is_some() {
                return Err(DomainError::AlreadyExists("organization"));
            }
            let name = validate_name(&name)?;
            Ok(vec![OrganizationEvent::Registered {
                id,
                slug: slugify(&name),
                name,
            }])
        }
        OrganizationCommand::Rename { name } => {
            if state.id.is_none() {
                return Err(DomainError::NotFound("organization"));
            }
            let name = validate_name(&name)?;
            if name == state.name {
                return Ok(Vec::new());
            }
            Ok(vec![OrganizationEvent::Renamed { name }])
        }
    }
}
