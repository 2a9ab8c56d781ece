//! `SecretBox`: XChaCha20-Poly1305 encryption of small secrets at rest (TOTP secrets, OIDC
//! client secrets), and the key files it and the JWT keys live in.
//!
//! Sealed format: `[version = 1][24-byte random nonce][ciphertext + 16-byte tag]`. The
//! associated data (e.g. `b"totp:" + user id`) is authenticated but not stored: opening with
//! other associated data fails, so a sealed value cannot be moved to another record.
//!
//! Key files hold exactly 32 raw bytes, mode 0600. A file readable or writable by group or
//! others is refused, never silently used or fixed.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::SecurityError;
use super::token::random_bytes;

/// Bytes of every symmetric key (256 bits).
pub const KEY_BYTES: usize = 32;
/// Version byte of the current sealed format.
const SEALED_VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;

/// Encrypts and decrypts small secrets with one 256-bit key. `Debug` does not print the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    /// A box for `key`.
    pub fn new(key: &[u8; KEY_BYTES]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Loads the key at `path`, or creates it (32 random bytes, mode 0600, parent directories
    /// mode 0700) if there is no file. Refuses a file of the wrong size or with group/other
    /// permissions. Concurrent creators agree on one key.
    pub fn load_or_create(path: &Path) -> Result<Self, SecurityError> {
        if let Some(key) = read_key_file(path)? {
            return Ok(Self::new(&key));
        }
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            create_private_dir(parent)?;
        }
        create_key_file(path, &random_bytes::<KEY_BYTES>()?)?;
        match read_key_file(path)? {
            Some(key) => Ok(Self::new(&key)),
            None => Err(SecurityError::KeyFileIo {
                path: path.to_owned(),
                source: io::Error::from(io::ErrorKind::NotFound),
            }),
        }
    }

    /// Encrypts `plaintext` under a fresh random nonce, binding `associated_data`.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let nonce = random_bytes::<NONCE_BYTES>()?;
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .map_err(|_| SecurityError::SealFailed)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(SEALED_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts what `seal` produced with the same key and associated data.
    pub fn open(&self, sealed: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, SecurityError> {
        let (&version, rest) = sealed.split_first().ok_or(SecurityError::MalformedSealed)?;
        if version != SEALED_VERSION {
            return Err(SecurityError::UnsupportedSealedVersion(version));
        }
        if rest.len() < NONCE_BYTES + TAG_BYTES {
            return Err(SecurityError::MalformedSealed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map_err(|_| SecurityError::OpenFailed)
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SecurityError + '_ {
    move |source| SecurityError::KeyFileIo {
        path: path.to_owned(),
        source,
    }
}

/// Reads a key file: `None` if it does not exist; an error if it is not a regular file, is
/// open to group or others, or does not hold exactly `KEY_BYTES` bytes.
pub(super) fn read_key_file(path: &Path) -> Result<Option<[u8; KEY_BYTES]>, SecurityError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(path)(error)),
    };
    // Checked on the open file, so the checked file is the one read.
    let metadata = file.metadata().map_err(io_error(path))?;
    if !metadata.is_file() {
        return Err(SecurityError::KeyFileNotRegular {
            path: path.to_owned(),
        });
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecurityError::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let length_error = |found: u64| SecurityError::KeyFileLength {
        path: path.to_owned(),
        expected: KEY_BYTES,
        found,
    };
    if metadata.len() != KEY_BYTES as u64 {
        return Err(length_error(metadata.len()));
    }
    let mut contents = Vec::with_capacity(KEY_BYTES + 1);
    Read::take(&mut file, KEY_BYTES as u64 + 1)
        .read_to_end(&mut contents)
        .map_err(io_error(path))?;
    let key: [u8; KEY_BYTES] = contents
        .as_slice()
        .try_into()
        .map_err(|_| length_error(contents.len() as u64))?;
    Ok(Some(key))
}

/// Writes `key` to `path` (mode 0600) unless a file is already there. The key is written to a
/// temporary file, synced, then hard-linked into place, so `path` is never seen half-written
/// and a concurrent creator's key is never overwritten. Returns whether this call created it.
pub(super) fn create_key_file(path: &Path, key: &[u8; KEY_BYTES]) -> Result<bool, SecurityError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_error(path)(io::Error::from(io::ErrorKind::InvalidInput)))?;
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        hex::encode(random_bytes::<8>()?)
    ));
    let written = write_new_file(&temporary, key)
        .and_then(|()| match fs::hard_link(&temporary, path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(error),
        })
        .map_err(io_error(path));
    let _ = fs::remove_file(&temporary);
    let created = written?;
    File::open(&directory)
        .and_then(|directory| directory.sync_all())
        .map_err(io_error(&directory))?;
    Ok(created)
}

fn write_new_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Creates `directory` and its missing parents with mode 0700 (an existing one is left as is).
pub(super) fn create_private_dir(directory: &Path) -> Result<(), SecurityError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
        .map_err(io_error(directory))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_box() -> SecretBox {
        SecretBox::new(&[7u8; KEY_BYTES])
    }

    #[test]
    fn round_trip_with_a_version_byte_and_random_nonce() {
        let secret_box = test_box();
        let first = secret_box.seal(b"totp secret", b"totp:user-1").unwrap();
        let second = secret_box.seal(b"totp secret", b"totp:user-1").unwrap();
        assert_eq!(first[0], 1);
        assert_eq!(first.len(), 1 + 24 + b"totp secret".len() + 16);
        assert_ne!(first, second, "nonces must differ");
        assert_eq!(
            secret_box.open(&first, b"totp:user-1").unwrap(),
            b"totp secret"
        );
        assert_eq!(
            secret_box.open(&second, b"totp:user-1").unwrap(),
            b"totp secret"
        );
        let empty = secret_box.seal(b"", b"").unwrap();
        assert_eq!(secret_box.open(&empty, b"").unwrap(), b"");
    }

    #[test]
    fn other_associated_data_key_or_altered_bytes_fail() {
        let secret_box = test_box();
        let sealed = secret_box.seal(b"client secret", b"oidc:google").unwrap();
        assert!(matches!(
            secret_box.open(&sealed, b"oidc:github"),
            Err(SecurityError::OpenFailed)
        ));
        assert!(matches!(
            SecretBox::new(&[8u8; KEY_BYTES]).open(&sealed, b"oidc:google"),
            Err(SecurityError::OpenFailed)
        ));
        for index in 1..sealed.len() {
            let mut altered = sealed.clone();
            altered[index] ^= 0x01;
            assert!(
                matches!(
                    secret_box.open(&altered, b"oidc:google"),
                    Err(SecurityError::OpenFailed)
                ),
                "byte {index}"
            );
        }
    }

    #[test]
    fn malformed_and_unknown_versions_are_refused() {
        let secret_box = test_box();
        assert!(matches!(
            secret_box.open(&[], b""),
            Err(SecurityError::MalformedSealed)
        ));
        assert!(matches!(
            secret_box.open(&[1u8; 40], b""),
            Err(SecurityError::MalformedSealed)
        ));
        let mut sealed = secret_box.seal(b"x", b"").unwrap();
        sealed[0] = 2;
        assert!(matches!(
            secret_box.open(&sealed, b""),
            Err(SecurityError::UnsupportedSealedVersion(2))
        ));
    }

    #[test]
    fn load_or_create_creates_a_private_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/secret-box.key");
        let created = SecretBox::load_or_create(&path).unwrap();
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        assert_eq!(metadata.len(), 32);
        let parent = fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(parent.permissions().mode() & 0o777, 0o700);
        let sealed = created.seal(b"kept", b"ad").unwrap();
        let loaded = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(loaded.open(&sealed, b"ad").unwrap(), b"kept");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret-box.key")]);
    }

    #[test]
    fn loads_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box.key");
        write_new_file(&path, &[7u8; KEY_BYTES]).unwrap();
        let sealed = test_box().seal(b"same key", b"").unwrap();
        let loaded = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(loaded.open(&sealed, b"").unwrap(), b"same key");
    }

    #[test]
    fn refuses_key_files_open_to_group_or_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box.key");
        write_new_file(&path, &[7u8; KEY_BYTES]).unwrap();
        for mode in [0o640, 0o604, 0o660, 0o644, 0o602] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = SecretBox::load_or_create(&path).unwrap_err();
            assert!(
                matches!(error, SecurityError::KeyFilePermissions { mode: found, .. } if found == mode),
                "{error}"
            );
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(SecretBox::load_or_create(&path).is_ok());
    }

    #[test]
    fn refuses_key_files_of_the_wrong_length() {
        let dir = tempfile::tempdir().unwrap();
        for length in [0usize, 16, 31, 33, 64] {
            let path = dir.path().join(format!("box-{length}.key"));
            write_new_file(&path, &vec![1u8; length]).unwrap();
            let error = SecretBox::load_or_create(&path).unwrap_err();
            assert!(
                matches!(error, SecurityError::KeyFileLength { found, .. } if found == length as u64),
                "{error}"
            );
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert_eq!(fs::read(&path).unwrap().len(), length, "left untouched");
        }
    }

    #[test]
    fn refuses_a_directory_as_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box.key");
        DirBuilder::new().mode(0o700).create(&path).unwrap();
        assert!(matches!(
            SecretBox::load_or_create(&path),
            Err(SecurityError::KeyFileNotRegular { .. })
        ));
    }

    #[test]
    fn create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box.key");
        assert!(create_key_file(&path, &[1u8; KEY_BYTES]).unwrap());
        assert!(!create_key_file(&path, &[2u8; KEY_BYTES]).unwrap());
        assert_eq!(read_key_file(&path).unwrap(), Some([1u8; KEY_BYTES]));
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", test_box()), "SecretBox(<key>)");
    }
}
