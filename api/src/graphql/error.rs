//! The closed set of error codes clients see in `extensions.code`, and the mapping of every
//! lower-layer error onto it. Details go to the log; clients get a short, safe message.

use async_graphql::ErrorExtensions;
use commands::CommandError;
use commands::scan::ScanError;
use domain::DomainError;
use domain::policy::{Denied, DenyReason};
use store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// An error with this code and a client-safe message.
    pub fn error(self, message: impl Into<String>) -> async_graphql::Error {
        let code = self.as_str();
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
    }
}

/// A missing resource, or one of another organization: the same answer for both.
pub fn not_found() -> async_graphql::Error {
    ErrorCode::NotFound.error("not found")
}

/// A bad input, naming the field.
pub fn bad_input(field: &str, reason: impl std::fmt::Display) -> async_graphql::Error {
    let field = field.to_owned();
    async_graphql::Error::new(format!("{field}: {reason}")).extend_with(move |_, e| {
        e.set("code", ErrorCode::BadUserInput.as_str());
        e.set("field", field.as_str());
    })
}

/// An internal failure: logged in full, reported to the client without details.
pub fn internal(context: &str, error: impl std::fmt::Display) -> async_graphql::Error {
    tracing::error!(%error, context, "internal error");
    ErrorCode::Internal.error("internal error")
}

pub fn from_domain(error: DomainError) -> async_graphql::Error {
    match error {
        DomainError::InvalidInput { field, reason } => bad_input(field, reason),
        DomainError::AlreadyExists(what) => {
            ErrorCode::Conflict.error(format!("{what} already exists"))
        }
        DomainError::NotFound(what) => ErrorCode::NotFound.error(format!("{what} not found")),
        DomainError::Forbidden(_) => ErrorCode::Forbidden.error("not allowed"),
        DomainError::InvalidState(reason) => ErrorCode::Conflict.error(reason),
    }
}

pub fn from_store(error: StoreError) -> async_graphql::Error {
    match error {
        StoreError::WrongExpectedVersion { .. } => {
            ErrorCode::Conflict.error("changed concurrently, try again")
        }
        StoreError::EventTooLarge { .. } => bad_input("input", "too large"),
        StoreError::InvalidEvent { field, reason } => bad_input(field, reason),
        other => internal("event store", other),
    }
}

pub fn from_command(error: CommandError) -> async_graphql::Error {
    match error {
        CommandError::Domain(domain) => from_domain(domain),
        CommandError::Conflict { .. } => {
            ErrorCode::Conflict.error("changed concurrently, try again")
        }
        CommandError::Store(store) => from_store(store),
        CommandError::Decode { .. } => internal("decode", error),
    }
}

pub fn identity_error(error: commands::identity::IdentityError) -> async_graphql::Error {
    use commands::identity::IdentityError;
    match error {
        IdentityError::InvalidCredentials => {
            ErrorCode::Unauthenticated.error("invalid credentials")
        }
        IdentityError::Unauthenticated => {
            ErrorCode::Unauthenticated.error("authentication required")
        }
        IdentityError::Forbidden(denied) => denied_error(&denied),
        IdentityError::NotFound => not_found(),
        IdentityError::SignupClosed => ErrorCode::Forbidden.error(error.to_string()),
        IdentityError::EmailUnavailable => ErrorCode::Conflict.error(error.to_string()),
        IdentityError::Throttled => ErrorCode::RateLimited.error(error.to_string()),
        IdentityError::Password(rejected) => bad_input(
            "password",
            rejected.to_string().trim_start_matches("password: "),
        ),
        IdentityError::Command(command) => from_command(command),
        IdentityError::Security(security) => internal("security", security),
    }
}

/// A policy refusal: FORBIDDEN, or NOT_FOUND for another organization's resource.
pub fn denied_error(denied: &Denied) -> async_graphql::Error {
    if denied.reason == DenyReason::OtherOrganization {
        not_found()
    } else {
        ErrorCode::Forbidden.error("not allowed")
    }
}

pub fn scan_error(error: ScanError) -> async_graphql::Error {
    match error {
        ScanError::Invalid { field, reason } => bad_input(&field, reason),
        ScanError::NotFound => not_found(),
        ScanError::Conflict(reason) => ErrorCode::Conflict.error(reason),
        ScanError::Command(command) => from_command(command),
        ScanError::Store(store) => from_store(store),
        ScanError::Decode(reason) => internal("scan decode", reason),
    }
}
