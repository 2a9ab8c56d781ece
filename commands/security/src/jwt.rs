//! Access tokens: HS256 JWTs signed with 256-bit keys identified by `kid`, rotated on disk.
//!
//! Keys live as `jwt-<kid>.key` (32 raw bytes, mode 0600) in one directory; `kid` is a
//! decimal sequence number, the highest is the signing key. The newest `LIVE_KEYS` keys verify,
//! so a token signed before a rotation stays valid until it expires; `rotate` deletes older
//! ones. Several processes sharing the directory agree on the keys: they all pick the highest
//! numbers, and two concurrent rotations create the same `kid` only once. A process learns
//! about another one's rotation by loading the directory again (`load_or_create`).
//!
//! Verification is strict (RFC 8725, security.md items 7 and 8): size cap before parsing, a
//! header of only `alg`, `typ` and `kid`, `alg` pinned to HS256, a known `kid`, the
//! signature, exact `iss` and `aud`, `typ` = "access", then `exp` and `nbf` against the `now`
//! the caller passes, with at most 30 seconds of leeway. jsonwebtoken's own clock checks are
//! off (they read the system clock); it checks the signature, iss, aud and claim presence.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SecurityError;
use super::cipher::{KEY_BYTES, create_key_file, create_private_dir, read_key_file};
use super::token::random_bytes;

/// Keys that verify tokens at any time: the signing key and the one before it.
pub const LIVE_KEYS: usize = 2;
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// The largest leeway `JwtConfig` accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);
/// The `typ` claim of access tokens.
pub const ACCESS_TOKEN_TYPE: &str = "access";

const ALGORITHM: Algorithm = Algorithm::HS256;
const ALLOWED_HEADER_FIELDS: [&str; 3] = ["alg", "typ", "kid"];

/// What access tokens say and how long they last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// `iss`, required to match exactly.
    pub issuer: String,
    /// `aud`, required to match exactly.
    pub audience: String,
    /// From `iat` to `exp`.
    pub access_ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`; at most 30 seconds.
    pub leeway: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            issuer: "mirage".to_owned(),
            audience: "mirage-api".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            leeway: MAX_LEEWAY,
        }
    }
}

impl JwtConfig {
    fn validate(&self) -> Result<(), SecurityError> {
        if self.issuer.is_empty() {
            return Err(SecurityError::InvalidJwtConfig("issuer is empty"));
        }
        if self.audience.is_empty() {
            return Err(SecurityError::InvalidJwtConfig("audience is empty"));
        }
        if self.access_ttl < Duration::from_secs(1) || self.access_ttl > Duration::from_secs(86_400)
        {
            return Err(SecurityError::InvalidJwtConfig(
                "access token lifetime must be between 1 second and 1 day",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(SecurityError::InvalidJwtConfig(
                "leeway must be at most 30 seconds",
            ));
        }
        Ok(())
    }

    fn ttl_seconds(&self) -> i64 {
        i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX)
    }

    fn leeway_seconds(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(0)
    }
}

/// Who an access token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessTokenInput {
    /// `sub`: the user.
    pub user_id: Uuid,
    /// `org`: the organization the token acts in.
    pub organization_id: Uuid,
    /// `sid`: the session (refresh-token family), checked per request for revocation.
    pub session_id: Uuid,
    /// `ver`: the user's security version; bumped on password change, disable, role change.
    pub security_version: u64,
}

/// The claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub org: Uuid,
    pub sid: Uuid,
    pub ver: u64,
    pub typ: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// Why an access token was refused. Messages are safe to log; clients get one generic answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("access token is malformed")]
    Malformed,
    #[error("access token has expired")]
    Expired,
    #[error("access token is not valid yet")]
    NotYetValid,
    #[error("access token has the wrong audience")]
    WrongAudience,
    #[error("access token has the wrong issuer")]
    WrongIssuer,
    #[error("token is not an access token")]
    WrongType,
    #[error("access token is signed with an unknown key")]
    UnknownKey,
    #[error("access token signature is invalid")]
    BadSignature,
    #[error("access token header is not allowed")]
    ForbiddenHeader,
    #[error("access token is too large")]
    TooLarge,
}

struct JwtKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKey {
    fn new(sequence: u64, secret: &[u8; KEY_BYTES]) -> Self {
        Self {
            kid: sequence.to_string(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// The signing key and the verification keys of access tokens, with their configuration.
/// `Debug` shows only the key ids.
pub struct JwtKeys {
    config: JwtConfig,
    validation: Validation,
    /// Newest first; the first signs.
    live: Vec<JwtKey>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("config", &self.config)
            .field("kids", &self.kids())
            .finish()
    }
}

impl JwtKeys {
    /// Loads the newest `LIVE_KEYS` keys of `dir`, creating the directory (mode 0700) and a
    /// first key if there is none.
    pub fn load_or_create(dir: &Path, config: JwtConfig) -> Result<Self, SecurityError> {
        config.validate()?;
        // Pin the pure-Rust backend explicitly: were both backends' features ever enabled in
        // the build, jsonwebtoken could not pick one and would panic. Already installed is fine.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        create_private_dir(dir)?;
        if key_sequences(dir)?.is_empty() {
            create_key_file(&key_path(dir, 1), &random_bytes::<KEY_BYTES>()?)?;
        }
        let live = load_live_keys(dir)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.leeway = 0;
        // exp and nbf are checked against the caller's `now` in `verify`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        Ok(Self {
            config,
            validation,
            live,
        })
    }

    /// Adds a new signing key to `dir`, keeps the previous one for verification, deletes older
    /// key files, and reloads this key set from the directory.
    pub fn rotate(&mut self, dir: &Path) -> Result<(), SecurityError> {
        let newest = key_sequences(dir)?.into_iter().max().unwrap_or(0);
        create_key_file(&key_path(dir, newest + 1), &random_bytes::<KEY_BYTES>()?)?;
        let mut sequences = key_sequences(dir)?;
        sequences.sort_unstable_by(|left, right| right.cmp(left));
        for &old in sequences.iter().skip(LIVE_KEYS) {
            let path = key_path(dir, old);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(SecurityError::KeyFileIo { path, source }),
            }
        }
        self.live = load_live_keys(dir)?;
        Ok(())
    }

    /// The configuration tokens are issued and verified with.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Key ids that verify, newest (the signing key) first.
    pub fn kids(&self) -> Vec<&str> {
        self.live.iter().map(|key| key.kid.as_str()).collect()
    }

    /// Signs an access token for `input`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        input: &AccessTokenInput,
        now: DateTime<Utc>,
    ) -> Result<String, SecurityError> {
        let signing = self.live.first().ok_or(SecurityError::TokenSigning)?;
        let issued_at = now.timestamp();
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: input.user_id,
            org: input.organization_id,
            sid: input.session_id,
            ver: input.security_version,
            typ: ACCESS_TOKEN_TYPE.to_owned(),
            iat: issued_at,
            nbf: issued_at,
            exp: issued_at.saturating_add(self.config.ttl_seconds()),
            jti: uuid::Builder::from_random_bytes(random_bytes::<16>()?).into_uuid(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(signing.kid.clone());
        jsonwebtoken::encode(&header, &claims, &signing.encoding)
            .map_err(|_| SecurityError::TokenSigning)
    }

    /// Verifies an access token at time `now` and returns its claims.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let kid = checked_header_kid(token)?;
        let key = self
            .live
            .iter()
            .find(|key| key.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &self.validation)
            .map_err(|error| map_library_error(error.kind()))?
            .claims;
        if claims.iss != self.config.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.config.audience {
            return Err(TokenError::WrongAudience);
        }
        if claims.typ != ACCESS_TOKEN_TYPE {
            return Err(TokenError::WrongType);
        }
        let now = now.timestamp();
        let leeway = self.config.leeway_seconds();
        // RFC 7519: valid strictly before exp, and from nbf on.
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if now < claims.nbf.saturating_sub(leeway) {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

/// Checks the header before the library sees the token: only `alg`, `typ` and `kid`, `alg`
/// exactly HS256. Returns the `kid`.
fn checked_header_kid(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header = BASE64URL_NOPAD
        .decode(header.as_bytes())
        .map_err(|_| TokenError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
    if header
        .keys()
        .any(|field| !ALLOWED_HEADER_FIELDS.contains(&field.as_str()))
    {
        return Err(TokenError::ForbiddenHeader);
    }
    match header.get("alg") {
        Some(serde_json::Value::String(alg)) if alg == "HS256" => {}
        Some(_) => return Err(TokenError::ForbiddenHeader),
        None => return Err(TokenError::Malformed),
    }
    match header.get("kid") {
        Some(serde_json::Value::String(kid)) => Ok(kid.clone()),
        _ => Err(TokenError::UnknownKey),
    }
}

fn map_library_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => TokenError::ForbiddenHeader,
        _ => TokenError::Malformed,
    }
}

fn key_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("jwt-{sequence}.key"))
}

/// Sequence numbers of the `jwt-<n>.key` files in `dir` (other files are ignored).
fn key_sequences(dir: &Path) -> Result<Vec<u64>, SecurityError> {
    let io_error = |source| SecurityError::KeyFileIo {
        path: dir.to_owned(),
        source,
    };
    let mut sequences = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let name = entry.map_err(io_error)?.file_name();
        let Some(digits) = name
            .to_str()
            .and_then(|name| name.strip_prefix("jwt-"))
            .and_then(|rest| rest.strip_suffix(".key"))
        else {
            continue;
        };
        // Canonical numbers only, so one kid never has two files.
        if let Ok(sequence) = digits.parse::<u64>()
            && sequence.to_string() == digits
        {
            sequences.push(sequence);
        }
    }
    Ok(sequences)
}

fn load_live_keys(dir: &Path) -> Result<Vec<JwtKey>, SecurityError> {
    let mut sequences = key_sequences(dir)?;
    sequences.sort_unstable_by(|left, right| right.cmp(left));
    let mut live = Vec::with_capacity(LIVE_KEYS);
    for sequence in sequences.into_iter().take(LIVE_KEYS) {
        let path = key_path(dir, sequence);
        let secret = read_key_file(&path)?.ok_or_else(|| SecurityError::KeyFileIo {
            path: path.clone(),
            source: io::Error::from(io::ErrorKind::NotFound),
        })?;
        live.push(JwtKey::new(sequence, &secret));
    }
    if live.is_empty() {
        return Err(SecurityError::KeyFileIo {
            path: dir.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "no jwt-<kid>.key file"),
        });
    }
    Ok(live)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    fn input() -> AccessTokenInput {
        AccessTokenInput {
            user_id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(2),
            session_id: Uuid::from_u128(3),
            security_version: 4,
        }
    }

    fn fresh_keys() -> (tempfile::TempDir, JwtKeys) {
        let dir = tempfile::tempdir().unwrap();
        let keys = JwtKeys::load_or_create(&dir.path().join("jwt"), JwtConfig::default()).unwrap();
        (dir, keys)
    }

    fn key_dir(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("jwt")
    }

    fn b64(value: &serde_json::Value) -> String {
        BASE64URL_NOPAD.encode(value.to_string().as_bytes())
    }

    fn valid_claims() -> serde_json::Value {
        json!({
            "iss": "mirage", "aud": "mirage-api",
            "sub": Uuid::from_u128(1), "org": Uuid::from_u128(2), "sid": Uuid::from_u128(3),
            "ver": 4, "typ": "access", "iat": NOW, "nbf": NOW, "exp": NOW + 900,
            "jti": Uuid::from_u128(5),
        })
    }

    /// Signs any header and claims with the key file of `kid` in `dir`.
    fn sign_raw(
        dir: &Path,
        kid: u64,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> String {
        use hmac::{Hmac, Mac};
        let secret = fs::read(key_path(dir, kid)).unwrap();
        let message = format!("{}.{}", b64(header), b64(claims));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(message.as_bytes());
        let signature = BASE64URL_NOPAD.encode(&mac.finalize().into_bytes());
        format!("{message}.{signature}")
    }

    fn header_of(token: &str) -> serde_json::Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&BASE64URL_NOPAD.decode(header.as_bytes()).unwrap()).unwrap()
    }

    fn kids_on_disk(dir: &Path) -> HashSet<u64> {
        key_sequences(dir).unwrap().into_iter().collect()
    }

    fn hs256_header(kid: &str) -> serde_json::Value {
        json!({"alg": "HS256", "typ": "JWT", "kid": kid})
    }

    #[test]
    fn round_trip() {
        let (_dir, keys) = fresh_keys();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        let claims = keys.verify(&token, at(NOW)).unwrap();
        assert_eq!(claims.iss, "mirage");
        assert_eq!(claims.aud, "mirage-api");
        assert_eq!(claims.sub, Uuid::from_u128(1));
        assert_eq!(claims.org, Uuid::from_u128(2));
        assert_eq!(claims.sid, Uuid::from_u128(3));
        assert_eq!(claims.ver, 4);
        assert_eq!(claims.typ, "access");
        assert_eq!((claims.iat, claims.nbf, claims.exp), (NOW, NOW, NOW + 900));
        assert_eq!(claims.jti.get_version_num(), 4);
        let other = keys
            .verify(&keys.issue(&input(), at(NOW)).unwrap(), at(NOW))
            .unwrap();
        assert_ne!(claims.jti, other.jti);
    }

    #[test]
    fn header_is_hs256_with_the_current_kid() {
        let (_dir, keys) = fresh_keys();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        assert_eq!(
            header_of(&token),
            json!({"alg": "HS256", "typ": "JWT", "kid": "1"})
        );
    }

    #[test]
    fn raw_signing_helper_matches_the_library() {
        let (dir, keys) = fresh_keys();
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &valid_claims());
        assert_eq!(
            keys.verify(&token, at(NOW)).unwrap().jti,
            Uuid::from_u128(5)
        );
    }

    #[test]
    fn expiry_uses_the_callers_clock_and_at_most_30_seconds_leeway() {
        let (_dir, keys) = fresh_keys();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        let exp = NOW + 900;
        assert!(keys.verify(&token, at(exp - 1)).is_ok());
        assert!(keys.verify(&token, at(exp + 29)).is_ok(), "within leeway");
        assert_eq!(keys.verify(&token, at(exp + 30)), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, at(exp + 31)), Err(TokenError::Expired));
        // Far in the past by the system clock, still checked against `now` only.
        let old = keys.issue(&input(), at(1_000_000)).unwrap();
        assert!(keys.verify(&old, at(1_000_100)).is_ok());
        assert_eq!(keys.verify(&old, at(NOW)), Err(TokenError::Expired));
    }

    #[test]
    fn not_yet_valid_tokens_are_refused_beyond_leeway() {
        let (_dir, keys) = fresh_keys();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        assert!(keys.verify(&token, at(NOW - 30)).is_ok(), "within leeway");
        assert_eq!(
            keys.verify(&token, at(NOW - 31)),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn zero_leeway_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let config = JwtConfig {
            leeway: Duration::ZERO,
            access_ttl: Duration::from_secs(60),
            ..JwtConfig::default()
        };
        let keys = JwtKeys::load_or_create(dir.path(), config).unwrap();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        assert!(keys.verify(&token, at(NOW + 59)).is_ok());
        assert_eq!(keys.verify(&token, at(NOW + 60)), Err(TokenError::Expired));
        assert_eq!(
            keys.verify(&token, at(NOW - 1)),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn configuration_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        let bad = [
            JwtConfig {
                leeway: Duration::from_secs(31),
                ..JwtConfig::default()
            },
            JwtConfig {
                issuer: String::new(),
                ..JwtConfig::default()
            },
            JwtConfig {
                audience: String::new(),
                ..JwtConfig::default()
            },
            JwtConfig {
                access_ttl: Duration::ZERO,
                ..JwtConfig::default()
            },
        ];
        for config in bad {
            assert!(matches!(
                JwtKeys::load_or_create(dir.path(), config),
                Err(SecurityError::InvalidJwtConfig(_))
            ));
        }
    }

    #[test]
    fn wrong_issuer_and_audience() {
        let (dir, keys) = fresh_keys();
        let foreign_issuer = JwtKeys::load_or_create(
            &key_dir(&dir),
            JwtConfig {
                issuer: "mirage-staging".to_owned(),
                ..JwtConfig::default()
            },
        )
        .unwrap();
        let token = foreign_issuer.issue(&input(), at(NOW)).unwrap();
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::WrongIssuer));
        let foreign_audience = JwtKeys::load_or_create(
            &key_dir(&dir),
            JwtConfig {
                audience: "mirage-admin".to_owned(),
                ..JwtConfig::default()
            },
        )
        .unwrap();
        let token = foreign_audience.issue(&input(), at(NOW)).unwrap();
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::WrongAudience));
        // Prefixes and arrays are not exact matches.
        let mut claims = valid_claims();
        claims["iss"] = json!("mirage2");
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &claims);
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::WrongIssuer));
        let mut claims = valid_claims();
        claims["aud"] = json!(["mirage-api", "other"]);
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &claims);
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::Malformed));
    }

    #[test]
    fn refresh_or_untyped_tokens_are_not_access_tokens() {
        let (dir, keys) = fresh_keys();
        let mut claims = valid_claims();
        claims["typ"] = json!("refresh");
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &claims);
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::WrongType));
        let mut claims = valid_claims();
        claims.as_object_mut().unwrap().remove("typ");
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &claims);
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::Malformed));
    }

    #[test]
    fn required_claims_must_be_present() {
        let (dir, keys) = fresh_keys();
        for claim in ["exp", "nbf", "iss", "aud", "sub"] {
            let mut claims = valid_claims();
            claims.as_object_mut().unwrap().remove(claim);
            let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &claims);
            assert_eq!(
                keys.verify(&token, at(NOW)),
                Err(TokenError::Malformed),
                "{claim}"
            );
        }
    }

    #[test]
    fn alg_none_is_forbidden() {
        let (_dir, keys) = fresh_keys();
        let header = json!({"alg": "none", "typ": "JWT", "kid": "1"});
        let token = format!("{}.{}.", b64(&header), b64(&valid_claims()));
        assert_eq!(
            keys.verify(&token, at(NOW)),
            Err(TokenError::ForbiddenHeader)
        );
        let header = json!({"alg": "None", "kid": "1"});
        let token = format!("{}.{}.", b64(&header), b64(&valid_claims()));
        assert_eq!(
            keys.verify(&token, at(NOW)),
            Err(TokenError::ForbiddenHeader)
        );
    }

    #[test]
    fn other_algorithms_are_forbidden() {
        let (dir, keys) = fresh_keys();
        for alg in ["HS384", "HS512", "RS256", "ES256", "EdDSA", "hs256"] {
            let header = json!({"alg": alg, "typ": "JWT", "kid": "1"});
            let token = sign_raw(&key_dir(&dir), 1, &header, &valid_claims());
            assert_eq!(
                keys.verify(&token, at(NOW)),
                Err(TokenError::ForbiddenHeader),
                "{alg}"
            );
        }
    }

    #[test]
    fn key_reference_headers_are_forbidden() {
        let (dir, keys) = fresh_keys();
        let extras = [
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
            ("jwk", json!({"kty": "oct", "k": "AAAA"})),
            ("x5c", json!(["MIIB"])),
            ("crit", json!(["exp"])),
            ("cty", json!("JWT")),
        ];
        for (field, value) in extras {
            let mut header = hs256_header("1");
            header[field] = value;
            let token = sign_raw(&key_dir(&dir), 1, &header, &valid_claims());
            assert_eq!(
                keys.verify(&token, at(NOW)),
                Err(TokenError::ForbiddenHeader),
                "{field}"
            );
        }
    }

    #[test]
    fn unknown_or_missing_kid() {
        let (dir, keys) = fresh_keys();
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("2"), &valid_claims());
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::UnknownKey));
        let header = json!({"alg": "HS256", "typ": "JWT"});
        let token = sign_raw(&key_dir(&dir), 1, &header, &valid_claims());
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::UnknownKey));
        let header = json!({"alg": "HS256", "kid": 1});
        let token = sign_raw(&key_dir(&dir), 1, &header, &valid_claims());
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_token_signed_with_another_key_has_a_bad_signature() {
        let (_dir, keys) = fresh_keys();
        let (_other_dir, other_keys) = fresh_keys();
        // Same kid ("1"), different secret.
        let token = other_keys.issue(&input(), at(NOW)).unwrap();
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_payloads_and_signatures_are_refused() {
        let (_dir, keys) = fresh_keys();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
        claims["ver"] = json!(5);
        let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(
            keys.verify(&tampered, at(NOW)),
            Err(TokenError::BadSignature)
        );
        let mut signature = BASE64URL_NOPAD.decode(parts[2].as_bytes()).unwrap();
        signature[0] ^= 1;
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            BASE64URL_NOPAD.encode(&signature)
        );
        assert_eq!(
            keys.verify(&tampered, at(NOW)),
            Err(TokenError::BadSignature)
        );
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(
            keys.verify(&unsigned, at(NOW)),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens() {
        let (_dir, keys) = fresh_keys();
        let token = keys.issue(&input(), at(NOW)).unwrap();
        let with_extra_part = format!("{token}.x");
        let padded_header = {
            let (header, rest) = token.split_once('.').unwrap();
            format!("{header}=.{rest}")
        };
        let not_json = format!("{}.e30.sig", BASE64URL_NOPAD.encode(b"not json"));
        let no_alg = format!("{}.e30.sig", b64(&json!({"kid": "1"})));
        for bad in [
            "",
            "abc",
            "a.b",
            &with_extra_part,
            &padded_header,
            &not_json,
            &no_alg,
            "e30.e30.e30",
        ] {
            assert!(
                matches!(
                    keys.verify(bad, at(NOW)),
                    Err(TokenError::Malformed | TokenError::UnknownKey)
                ),
                "{bad}"
            );
        }
        assert_eq!(keys.verify("a.b", at(NOW)), Err(TokenError::Malformed));
        assert_eq!(keys.verify(&not_json, at(NOW)), Err(TokenError::Malformed));
        assert_eq!(keys.verify(&no_alg, at(NOW)), Err(TokenError::Malformed));
    }

    #[test]
    fn oversized_tokens_are_refused_before_parsing() {
        let (dir, keys) = fresh_keys();
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(keys.verify(&huge, at(NOW)), Err(TokenError::TooLarge));
        let mut claims = valid_claims();
        claims["padding"] = json!("x".repeat(MAX_TOKEN_BYTES));
        let token = sign_raw(&key_dir(&dir), 1, &hs256_header("1"), &claims);
        assert_eq!(keys.verify(&token, at(NOW)), Err(TokenError::TooLarge));
    }

    #[test]
    fn rotation_keeps_the_previous_key_and_drops_older_ones() {
        let (dir, mut keys) = fresh_keys();
        let path = key_dir(&dir);
        let first = keys.issue(&input(), at(NOW)).unwrap();
        assert_eq!(keys.kids(), vec!["1"]);

        keys.rotate(&path).unwrap();
        assert_eq!(keys.kids(), vec!["2", "1"]);
        let second = keys.issue(&input(), at(NOW)).unwrap();
        assert_eq!(header_of(&second)["kid"], "2");
        assert!(
            keys.verify(&first, at(NOW)).is_ok(),
            "previous key verifies"
        );
        assert!(keys.verify(&second, at(NOW)).is_ok());

        keys.rotate(&path).unwrap();
        assert_eq!(keys.kids(), vec!["3", "2"]);
        assert_eq!(keys.verify(&first, at(NOW)), Err(TokenError::UnknownKey));
        assert!(keys.verify(&second, at(NOW)).is_ok());
        assert_eq!(kids_on_disk(&path), HashSet::from([2, 3]));

        // Another process loading the directory sees the same keys.
        let reloaded = JwtKeys::load_or_create(&path, JwtConfig::default()).unwrap();
        assert_eq!(reloaded.kids(), vec!["3", "2"]);
        assert!(reloaded.verify(&second, at(NOW)).is_ok());
        let third = reloaded.issue(&input(), at(NOW)).unwrap();
        assert!(keys.verify(&third, at(NOW)).is_ok());
    }

    #[test]
    fn key_files_are_private_and_checked() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, _keys) = fresh_keys();
        let path = key_path(&key_dir(&dir), 1);
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        assert_eq!(metadata.len(), 32);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = JwtKeys::load_or_create(&key_dir(&dir), JwtConfig::default()).unwrap_err();
        assert!(matches!(error, SecurityError::KeyFilePermissions { .. }));
        assert!(error.to_string().contains("jwt-1.key"), "{error}");
    }

    #[test]
    fn unrelated_files_in_the_key_directory_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("README"), "keys").unwrap();
        fs::write(dir.path().join("jwt-01.key"), "not canonical").unwrap();
        fs::write(dir.path().join("jwt-x.key"), "not a number").unwrap();
        let keys = JwtKeys::load_or_create(dir.path(), JwtConfig::default()).unwrap();
        assert_eq!(keys.kids(), vec!["1"]);
    }

    #[test]
    fn debug_shows_kids_only() {
        let (dir, keys) = fresh_keys();
        let secret = fs::read(key_path(&key_dir(&dir), 1)).unwrap();
        let printed = format!("{keys:?}");
        assert!(printed.contains("kids: [\"1\"]"), "{printed}");
        assert!(!printed.contains(&format!("{secret:?}")));
    }
}
