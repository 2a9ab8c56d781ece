//! Errors of the scan services.

use domain::DomainError;

use crate::handler::CommandError;
use store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Bad input, naming the field (`targets[2]`, `options.ports[0]`, `modules[1]`).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("malformed stored event: {0}")]
    Decode(String),
}

impl ScanError {
    pub fn invalid(field: impl Into<String>, reason: impl ToString) -> Self {
        ScanError::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// Lifts domain refusals into the service's own kinds.
    pub fn from_command(error: CommandError) -> Self {
        match error {
            CommandError::Domain(DomainError::InvalidInput { field, reason }) => {
                ScanError::invalid(field, reason)
            }
            CommandError::Domain(DomainError::NotFound(_)) => ScanError::NotFound,
            CommandError::Domain(DomainError::InvalidState(reason)) => ScanError::Conflict(reason),
            CommandError::Domain(DomainError::AlreadyExists(what)) => {
                ScanError::Conflict(format!("{what} already exists"))
            }
            other => ScanError::Command(other),
        }
    }
}
