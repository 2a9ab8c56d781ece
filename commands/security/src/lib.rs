//! Security primitives: password hashing and rules, opaque tokens, TOTP, secrets at rest and
//! access tokens (security.md items 1-13).
//!
//! These are building blocks without policy about users or sessions: time arrives as a
//! parameter, randomness comes from the operating system, and the only I/O is key files. The
//! argon2 functions in `password` are CPU-heavy: async callers run them on `spawn_blocking`.

pub mod cipher;
mod error;
pub mod jwt;
pub mod password;
pub mod token;
pub mod totp;

pub use cipher::SecretBox;
pub use error::SecurityError;
pub use jwt::{AccessClaims, AccessTokenInput, JwtConfig, JwtKeys, TokenError};
pub use password::{
    PasswordPolicy, PasswordRejected, Verification, hash_password, validate_new_password,
    verify_against_dummy, verify_password,
};
pub use token::{ApiKeySecret, Secret, constant_time_eq, generate_secret, hash_secret};
pub use totp::{encode_totp_secret, generate_totp_secret, otpauth_url, totp_code, verify_totp};
pub mod oidc;
pub use oidc::{
    AuthorizationRequest, IdTokenCheck, OidcClient, OidcError, OidcIdentity, OidcProviderConfig,
    PendingLogin, ProviderMetadata, TokenEndpointAuth,
};
