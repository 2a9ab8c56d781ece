//! Errors of the identity services. Messages are safe to show; none reveals whether an account
//! exists.

use domain::DomainError;
use domain::policy::Denied;

use crate::handler::CommandError;
use security::{PasswordRejected, SecurityError};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("authentication required")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden(Box<Denied>),
    #[error("not found")]
    NotFound,
    #[error("sign-up is closed; an operator creates organizations with `mirage admin create-org`")]
    SignupClosed,
    #[error("an account with this e-mail address cannot be created")]
    EmailUnavailable,
    #[error("too many attempts; try again later")]
    Throttled,
    #[error("{0}")]
    Password(PasswordRejected),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("security: {0}")]
    Security(#[from] SecurityError),
}

impl From<DomainError> for IdentityError {
    fn from(error: DomainError) -> Self {
        IdentityError::Command(CommandError::Domain(error))
    }
}

impl From<StoreError> for IdentityError {
    fn from(error: StoreError) -> Self {
        IdentityError::Command(CommandError::from(error))
    }
}

impl From<Denied> for IdentityError {
    fn from(denied: Denied) -> Self {
        IdentityError::Forbidden(Box::new(denied))
    }
}
