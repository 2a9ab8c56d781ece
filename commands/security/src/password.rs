//! Password hashing (argon2id, PHC strings), verification with re-hash detection, a dummy
//! verification for unknown accounts, and the rules for new passwords.
//!
//! `hash_password`, `verify_password` and `verify_against_dummy` each cost one argon2id run
//! (about 19 MiB of memory and tens of milliseconds of CPU with the default policy): async
//! callers run them on `tokio::task::spawn_blocking`, never directly on a runtime thread.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::{self, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::SecurityError;
use super::token::{constant_time_eq, random_bytes};

/// Fewest characters (Unicode scalar values) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters a new password may have. Longer ones are refused, never truncated.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Bytes of random salt in every hash.
const SALT_BYTES: usize = 16;
/// Bytes of argon2 output in every hash.
const OUTPUT_BYTES: usize = 32;

/// The argon2id cost parameters new hashes are made with, and below which stored hashes are
/// re-hashed on the next successful login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordPolicy {
    /// Memory cost in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Number of passes (argon2 `t`).
    pub iterations: u32,
    /// Degree of parallelism (argon2 `p`).
    pub parallelism: u32,
}

impl Default for PasswordPolicy {
    /// OWASP's argon2id recommendation: m = 19456 KiB (19 MiB), t = 2, p = 1.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordPolicy {
    fn hasher(&self) -> Result<Argon2<'static>, SecurityError> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|_| SecurityError::InvalidPasswordPolicy("argon2 parameters are out of range"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Whether a stored hash with these parameters is weaker than this policy.
    fn is_weaker(&self, stored: &PasswordHash<'_>) -> bool {
        if stored.algorithm != Algorithm::Argon2id.ident() {
            return true;
        }
        if stored.version != Some(Version::V0x13.into()) {
            return true;
        }
        let Ok(params) = Params::try_from(stored) else {
            return true;
        };
        params.m_cost() < self.memory_kib || params.t_cost() < self.iterations
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matches.
    pub ok: bool,
    /// The password matches and the stored hash is weaker than the policy: hash the password
    /// again with `hash_password` and store the new hash.
    pub needs_rehash: bool,
}

/// Hashes `password` with argon2id under `policy` and a fresh random salt, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`). CPU-heavy: run on `spawn_blocking`.
pub fn hash_password(policy: &PasswordPolicy, password: &str) -> Result<String, SecurityError> {
    let hasher = policy.hasher()?;
    let salt = SaltString::encode_b64(&random_bytes::<SALT_BYTES>()?)
        .map_err(|_| SecurityError::PasswordHashing)?;
    let hash = hasher
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| SecurityError::PasswordHashing)?;
    Ok(hash.to_string())
}

/// Checks `password` against a stored PHC string, using the parameters stored in it, and says
/// whether the hash should be upgraded to `policy`. CPU-heavy: run on `spawn_blocking`.
pub fn verify_password(
    policy: &PasswordPolicy,
    password: &str,
    stored_phc: &str,
) -> Result<Verification, SecurityError> {
    let stored = PasswordHash::new(stored_phc).map_err(|_| SecurityError::MalformedPasswordHash)?;
    if stored.algorithm != Algorithm::Argon2id.ident() {
        return Err(SecurityError::MalformedPasswordHash);
    }
    match Argon2::default().verify_password(password.as_bytes(), &stored) {
        Ok(()) => Ok(Verification {
            ok: true,
            needs_rehash: policy.is_weaker(&stored),
        }),
        Err(password_hash::Error::Password) => Ok(Verification {
            ok: false,
            needs_rehash: false,
        }),
        Err(_) => Err(SecurityError::MalformedPasswordHash),
    }
}

/// Spends the same work as `verify_password` on a hash made under `policy`, and always fails.
///
/// Call it when the account does not exist, so that login answers unknown accounts as slowly
/// as known ones (no account enumeration by timing). CPU-heavy: run on `spawn_blocking`.
pub fn verify_against_dummy(
    policy: &PasswordPolicy,
    password: &str,
) -> Result<Verification, SecurityError> {
    const DUMMY_SALT: [u8; SALT_BYTES] = *b"mirage-dummy-slt";
    let hasher = policy.hasher()?;
    let mut output = [0u8; OUTPUT_BYTES];
    hasher
        .hash_password_into(password.as_bytes(), &DUMMY_SALT, &mut output)
        .map_err(|_| SecurityError::PasswordHashing)?;
    // Compare as a real verification does; the result is discarded.
    let _ = constant_time_eq(&output, &[0u8; OUTPUT_BYTES]);
    Ok(Verification {
        ok: false,
        needs_rehash: false,
    })
}

/// Why a new password was refused. Every message starts with the field name, `password`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    #[error("password: must have at least {min} characters")]
    TooShort { min: usize },
    #[error("password: must have at most {max} characters")]
    TooLong { max: usize },
    #[error("password: too common, choose a less common one")]
    TooCommon,
}

impl PasswordRejected {
    /// The input field the rejection is about.
    pub fn field(&self) -> &'static str {
        "password"
    }
}

/// Checks a new password (registration, change, reset): 8 to 128 characters, counted as
/// Unicode scalar values, not in the common-password list (case-insensitive). No composition
/// rules; the password is never truncated or altered.
pub fn validate_new_password(password: &str) -> Result<(), PasswordRejected> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordRejected::TooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordRejected::TooLong {
            max: MAX_PASSWORD_CHARS,
        });
    }
    if is_common_password(password) {
        return Err(PasswordRejected::TooCommon);
    }
    Ok(())
}

/// Whether `password` (ignoring case and surrounding whitespace) is in the shipped list of
/// common passwords (`common_passwords.txt`, see `COMMON_PASSWORDS_SOURCE.md`).
pub fn is_common_password(password: &str) -> bool {
    common_passwords().contains(password.trim().to_lowercase().as_str())
}

/// The embedded list, parsed once.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so the tests stay fast.
    const CHEAP: PasswordPolicy = PasswordPolicy {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn default_policy_is_owasp_argon2id() {
        let phc = hash_password(&PasswordPolicy::default(), "correct horse battery").unwrap();
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected hash {phc}"
        );
        let verification =
            verify_password(&PasswordPolicy::default(), "correct horse battery", &phc).unwrap();
        assert_eq!(
            verification,
            Verification {
                ok: true,
                needs_rehash: false
            }
        );
    }

    #[test]
    fn verify_accepts_the_password_and_refuses_others() {
        let phc = hash_password(&CHEAP, "correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(
            verify_password(&CHEAP, "correct horse battery", &phc)
                .unwrap()
                .ok
        );
        let wrong = verify_password(&CHEAP, "correct horse battery!", &phc).unwrap();
        assert_eq!(
            wrong,
            Verification {
                ok: false,
                needs_rehash: false
            }
        );
    }

    #[test]
    fn salts_differ_between_hashes() {
        let first = hash_password(&CHEAP, "same password here").unwrap();
        let second = hash_password(&CHEAP, "same password here").unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn weaker_stored_hashes_need_rehash_on_success_only() {
        let weak = PasswordPolicy {
            memory_kib: 32,
            ..CHEAP
        };
        let phc = hash_password(&weak, "correct horse battery").unwrap();
        let verification = verify_password(&CHEAP, "correct horse battery", &phc).unwrap();
        assert_eq!(
            verification,
            Verification {
                ok: true,
                needs_rehash: true
            }
        );
        let fewer_passes = PasswordPolicy {
            iterations: 2,
            ..CHEAP
        };
        assert!(
            verify_password(&fewer_passes, "correct horse battery", &phc)
                .unwrap()
                .needs_rehash
        );
        let wrong = verify_password(&CHEAP, "wrong horse battery", &phc).unwrap();
        assert!(!wrong.ok && !wrong.needs_rehash);
        // A stored hash stronger than the policy is kept.
        let strong = hash_password(&fewer_passes, "correct horse battery").unwrap();
        assert!(
            !verify_password(&CHEAP, "correct horse battery", &strong)
                .unwrap()
                .needs_rehash
        );
    }

    #[test]
    fn other_argon2_variants_need_rehash() {
        let params = Params::new(64, 1, 1, None).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = argon2i
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(matches!(
            verify_password(&CHEAP, "correct horse battery", &phc),
            Err(SecurityError::MalformedPasswordHash)
        ));
        let argon2id_v10 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let old = argon2id_v10
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let verification = verify_password(&CHEAP, "correct horse battery", &old).unwrap();
        assert!(verification.ok && verification.needs_rehash);
    }

    #[test]
    fn malformed_stored_hashes_are_errors_without_the_password() {
        for stored in ["", "plain", "$argon2id$v=19$m=64,t=1,p=1$", "$md5$abc"] {
            let error = verify_password(&CHEAP, "secret password", stored).unwrap_err();
            assert!(matches!(error, SecurityError::MalformedPasswordHash));
            assert!(!error.to_string().contains("secret password"));
        }
    }

    #[test]
    fn dummy_verification_fails_and_costs_a_hash() {
        let verification = verify_against_dummy(&CHEAP, "anything at all").unwrap();
        assert!(!verification.ok && !verification.needs_rehash);
        let invalid = PasswordPolicy {
            memory_kib: 1,
            ..CHEAP
        };
        assert!(matches!(
            verify_against_dummy(&invalid, "anything at all"),
            Err(SecurityError::InvalidPasswordPolicy(_))
        ));
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(
            validate_new_password("seven77"),
            Err(PasswordRejected::TooShort { min: 8 })
        );
        // Seven characters, but 14 bytes.
        assert_eq!(
            validate_new_password("ééééééé"),
            Err(PasswordRejected::TooShort { min: 8 })
        );
        assert_eq!(validate_new_password("éééééééé"), Ok(()));
        assert_eq!(validate_new_password("vK8#pq2!"), Ok(()));
    }

    #[test]
    fn long_passwords_are_allowed_up_to_128_characters() {
        let sixty_four: String = "Zq7".repeat(22).chars().take(64).collect();
        assert_eq!(validate_new_password(&sixty_four), Ok(()));
        let max: String = "ü".repeat(128);
        assert_eq!(validate_new_password(&max), Ok(()));
        let over: String = "ü".repeat(129);
        assert_eq!(
            validate_new_password(&over),
            Err(PasswordRejected::TooLong { max: 128 })
        );
    }

    #[test]
    fn no_composition_rules() {
        for password in ["aaaaaaab", "lowercase only words", "12345678901234567890x"] {
            assert_eq!(validate_new_password(password), Ok(()), "{password}");
        }
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        for password in [
            "password",
            "PassWord",
            "iloveyou",
            "Qwertyuiop",
            " trustno1 ",
        ] {
            let rejected = validate_new_password(password).unwrap_err();
            assert_eq!(rejected, PasswordRejected::TooCommon, "{password}");
            assert_eq!(rejected.field(), "password");
            assert!(rejected.to_string().starts_with("password: "));
        }
    }

    #[test]
    fn the_shipped_list_is_large_and_clean() {
        let list = common_passwords();
        assert!(list.len() >= 10_000, "only {} entries", list.len());
        assert!(list.iter().all(|entry| *entry == entry.to_lowercase()));
        assert!(list.contains("password") && list.contains("12345678"));
    }

    #[test]
    fn hashes_long_passwords_without_truncation() {
        let long = "x".repeat(128);
        let phc = hash_password(&CHEAP, &long).unwrap();
        assert!(verify_password(&CHEAP, &long, &phc).unwrap().ok);
        // Differs only after byte 72 (where bcrypt would truncate).
        let other = format!("{}y", "x".repeat(127));
        assert!(!verify_password(&CHEAP, &other, &phc).unwrap().ok);
    }
}
