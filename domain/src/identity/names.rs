//! Display names and resource names (teams, projects, API keys): trimmed and checked once.

use crate::error::DomainError;

pub const MAX_NAME_CHARS: usize = 100;

/// A person's display name: 1 to 100 characters after trimming, no control characters.
pub fn validate_display_name(text: &str) -> Result<String, DomainError> {
    validate_resource_name("displayName", text)
}

/// The name of a team, project or API key: 1 to 100 characters after trimming, no control
/// characters. Errors name `field`.
pub fn validate_resource_name(field: &'static str, text: &str) -> Result<String, DomainError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            validate_display_name("  Ada Lovelace "),
            Ok("Ada Lovelace".into())
        );
        assert_eq!(
            validate_resource_name("name", "\tRed team\n"),
            Ok("Red team".into())
        );
        let longest = "é".repeat(100);
        assert_eq!(validate_display_name(&longest), Ok(longest.clone()));
    }

    #[test]
    fn bad_names_name_their_field() {
        for bad in ["", "  ", "a\u{7}b", "line\nbreak", &"x".repeat(101)] {
            match validate_display_name(bad) {
                Err(DomainError::InvalidInput { field, .. }) => assert_eq!(field, "displayName"),
                other => panic!("{bad:?} gave {other:?}"),
            }
            match validate_resource_name("teamName", bad) {
                Err(DomainError::InvalidInput { field, .. }) => assert_eq!(field, "teamName"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
