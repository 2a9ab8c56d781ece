//! Errors a decision can return. They are values: comparable, cloneable, no I/O inside.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("invalid state: {0}")]
    InvalidState(String),
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}
