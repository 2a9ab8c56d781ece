//! `SecurityError`: what can go wrong in the security primitives. Messages never carry secrets.

use std::io;
use std::path::PathBuf;

/// A failure of a security primitive (hashing, randomness, key files, sealing).
///
/// A wrong password, a wrong TOTP code or a rejected access token is not an error of this
/// type: those are ordinary outcomes (`Verification`, `Option`, `TokenError`).
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed")]
    Random,
    /// The argon2 parameters of a `PasswordPolicy` are out of range.
    #[error("invalid password policy: {0}")]
    InvalidPasswordPolicy(&'static str),
    /// A stored password hash is not a valid argon2 PHC string.
    #[error("stored password hash is malformed")]
    MalformedPasswordHash,
    /// Hashing a password failed for a reason other than its parameters.
    #[error("password hashing failed")]
    PasswordHashing,
    /// A sealed secret is too short or otherwise not in the `SecretBox` format.
    #[error("sealed secret is malformed")]
    MalformedSealed,
    /// A sealed secret has a format version this build does not know.
    #[error("sealed secret has unsupported version {0}")]
    UnsupportedSealedVersion(u8),
    /// Decryption failed: wrong key, wrong associated data, or the ciphertext was altered.
    #[error("sealed secret could not be opened (wrong key, wrong associated data, or altered)")]
    OpenFailed,
    /// Encryption failed (the plaintext is too large for the cipher).
    #[error("secret could not be sealed")]
    SealFailed,
    /// A key file has the wrong size.
    #[error("key file {}: expected {expected} bytes, found {found}", path.display())]
    KeyFileLength {
        path: PathBuf,
        expected: usize,
        found: u64,
    },
    /// A key file is readable or writable by its group or by others.
    #[error(
        "key file {}: permissions {mode:o} allow group or other access, expected 600 (chmod 600 it)",
        path.display()
    )]
    KeyFilePermissions { path: PathBuf, mode: u32 },
    /// A key path exists but is not a regular file.
    #[error("key file {}: not a regular file", path.display())]
    KeyFileNotRegular { path: PathBuf },
    /// Reading or writing a key file or key directory failed.
    #[error("key file {}: {source}", path.display())]
    KeyFileIo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The access-token configuration is invalid.
    #[error("invalid access token configuration: {0}")]
    InvalidJwtConfig(&'static str),
    /// Signing an access token failed.
    #[error("access token signing failed")]
    TokenSigning,
}
