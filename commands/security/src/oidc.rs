//! OpenID Connect login with Mirage as the relying party (security.md item 12): discovery with
//! an exact issuer match, the authorization code flow with PKCE S256, and strict ID token
//! validation. Identities are keyed by `(iss, sub)`; the email is informational and is never a
//! key to link accounts by.
//!
//! The flow: `OidcClient::discover` once per provider; `begin` makes the authorization URL and a
//! `PendingLogin` (state, nonce, PKCE verifier) that the caller keeps server-side, bound to the
//! browser; on the callback the caller takes the pending login out of its store (so it is used
//! once) and calls `complete`, which compares the state in constant time, redeems the code at
//! the token endpoint and validates the ID token: an asymmetric signature (RS*, PS*, ES256,
//! ES384, EdDSA; never `none` or HS*) with the JWKS key named by `kid`, exact `iss`, `aud`
//! containing the client id (and `azp` when present or when there are several audiences),
//! `exp`/`iat`/`nbf` against the caller's `now` with 30 seconds of leeway, and `nonce`.
//! `check_response_issuer` checks the callback's RFC 9207 `iss`. When the ID token carries no
//! `email` and the `email` scope was asked for, the email comes from the userinfo endpoint,
//! whose `sub` must be the ID token's.
//!
//! HTTP: every request has a time-out and every response body a size cap. `http_client` builds
//! the recommended client (no environment proxies, no redirects); a caller passing its own
//! client should configure it the same way. The JWKS is fetched again once when an ID token
//! names a `kid` it does not know, so the provider can rotate keys.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Url, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

use super::token::{constant_time_eq, random_bytes};

/// Time-out of every request to the provider, from connecting to the end of the body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time-out of establishing a connection (`http_client`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read from the provider.
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// ID tokens longer than this are refused before any parsing.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const ID_TOKEN_LEEWAY: Duration = Duration::from_secs(30);
/// How long a pending login may wait for its callback.
pub const PENDING_LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// Random bytes in the state, the nonce and the PKCE verifier (256 bits each).
const RANDOM_BYTES: usize = 32;
/// Signature algorithms accepted on ID tokens: asymmetric only.
const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Header fields that point at keys the token brings itself: never trusted.
const FORBIDDEN_HEADER_FIELDS: [&str; 5] = ["jku", "x5u", "jwk", "x5c", "crit"];

/// One OpenID provider as Mirage's configuration names it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProviderConfig {
    /// The issuer identifier; the discovery document must name exactly this string.
    pub issuer: String,
    pub client_id: String,
    /// `None` for a public client (PKCE only, token endpoint auth method `none`).
    pub client_secret: Option<String>,
    /// Mirage's callback URL, registered at the provider.
    pub redirect_uri: String,
    /// Requested scopes; `openid` is always added.
    pub scopes: Vec<String>,
}

impl fmt::Debug for OidcProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProviderConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuth {
    /// HTTP Basic with the form-encoded client id and secret (`client_secret_basic`).
    ClientSecretBasic,
    /// Client id and secret in the form body (`client_secret_post`).
    ClientSecretPost,
    /// A public client: only the client id in the form body (`none`).
    None,
}

/// What discovery learned about the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    pub userinfo_endpoint: Option<Url>,
    pub token_endpoint_auth: TokenEndpointAuth,
    /// The provider puts `iss` in its authorization responses (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
}

/// Where to send the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub url: Url,
}

/// What the caller keeps between `begin` and `complete`, server-side and bound to the browser
/// that started the login, and hands to `complete` exactly once. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &"<redacted>")
            .field("nonce", &"<redacted>")
            .field("code_verifier", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A verified login. `(issuer, subject)` is the identity; `email` is never a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// True only when the provider says `email_verified: true` for `email`.
    pub email_verified: bool,
}

/// Which ID token check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenCheck {
    #[error("malformed")]
    Malformed,
    #[error("too large")]
    TooLarge,
    #[error("algorithm or header not allowed")]
    Algorithm,
    #[error("signed with an unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("claim {0} missing or malformed")]
    MissingClaim(&'static str),
    #[error("wrong issuer")]
    Issuer,
    #[error("audience does not include this client")]
    Audience,
    #[error("authorized party is not this client")]
    AuthorizedParty,
    #[error("expired")]
    Expired,
    #[error("issued in the future")]
    IssuedInFuture,
    #[error("not valid yet")]
    NotYetValid,
    #[error("nonce does not match the pending login")]
    Nonce,
}

/// Why an OIDC login step failed. Messages never carry secrets, codes or tokens.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("invalid oidc configuration: {0}")]
    InvalidConfig(&'static str),
    #[error("oidc discovery failed: {0}")]
    Discovery(String),
    #[error(
        "oidc issuer mismatch: configured {configured:?}, discovery document says {discovered:?}"
    )]
    IssuerMismatch {
        configured: String,
        discovered: String,
    },
    #[error("oidc state does not match the pending login")]
    StateMismatch,
    #[error("oidc authorization response comes from another issuer")]
    ResponseIssuerMismatch,
    #[error("oidc pending login has expired")]
    LoginExpired,
    #[error(
        "oidc token endpoint refused the code: http status {status}{}",
        .error.as_deref().map(|code| format!(", error {code}")).unwrap_or_default()
    )]
    TokenEndpoint { status: u16, error: Option<String> },
    #[error("oidc token response is malformed: {0}")]
    TokenResponse(&'static str),
    #[error("invalid oidc id token: {0}")]
    InvalidIdToken(IdTokenCheck),
    #[error("oidc userinfo refused: {0}")]
    UserInfo(String),
    #[error("oidc request to the {endpoint} failed: {source}")]
    Network {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the operating system random number generator failed")]
    Random,
}

impl From<IdTokenCheck> for OidcError {
    fn from(check: IdTokenCheck) -> Self {
        Self::InvalidIdToken(check)
    }
}

/// The HTTP client OIDC requests should use: no environment proxies, no redirects (a token
/// request is never replayed elsewhere), connect and request time-outs.
pub fn http_client() -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("mirage/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| OidcError::Network {
            endpoint: "http client",
            source,
        })
}

/// A public key from the provider's JWKS and the algorithms it may verify.
#[derive(Clone)]
struct VerificationKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// A relying party for one provider, ready to start and complete logins.
pub struct OidcClient {
    config: OidcProviderConfig,
    scope: String,
    metadata: ProviderMetadata,
    http: reqwest::Client,
    keys: RwLock<Vec<VerificationKey>>,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("config", &self.config)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// Fetches `{issuer}/.well-known/openid-configuration`, requires its `issuer` to equal the
    /// configured one exactly, and loads the JWKS.
    pub async fn discover(
        config: OidcProviderConfig,
        http: &reqwest::Client,
    ) -> Result<Self, OidcError> {
        // Pin the pure-Rust backend, as jwt.rs does; already installed is fine.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let scope = validate_config(&config)?;
        let url = discovery_url(&config.issuer)?;
        let document = get_json(http, url, "discovery document", None)
            .await?
            .map_err(|reason| OidcError::Discovery(format!("discovery document {reason}")))?;
        let metadata = parse_metadata(&config, &document)?;
        let keys = fetch_keys(http, &metadata.jwks_uri).await?;
        Ok(Self {
            config,
            scope,
            metadata,
            http: http.clone(),
            keys: RwLock::new(keys),
        })
    }

    /// Overrides the token endpoint auth method discovery chose, for a client the provider
    /// registered with a specific one (discovery lists what the provider supports, not what
    /// it registered for this client). A secret method needs a secret; `None` needs none.
    pub fn with_token_endpoint_auth(mut self, auth: TokenEndpointAuth) -> Result<Self, OidcError> {
        let has_secret = self.config.client_secret.is_some();
        if has_secret == (auth == TokenEndpointAuth::None) {
            return Err(OidcError::InvalidConfig(
                "token endpoint auth method does not fit the client secret",
            ));
        }
        self.metadata.token_endpoint_auth = auth;
        Ok(self)
    }

    pub fn config(&self) -> &OidcProviderConfig {
        &self.config
    }

    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// Starts a login now: the authorization URL and the pending login to keep.
    pub fn begin(&self) -> Result<(AuthorizationRequest, PendingLogin), OidcError> {
        self.begin_at(Utc::now())
    }

    /// `begin` with the caller's clock.
    pub fn begin_at(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(AuthorizationRequest, PendingLogin), OidcError> {
        let pending = PendingLogin {
            state: random_token()?,
            nonce: random_token()?,
            code_verifier: random_token()?,
            created_at: now,
        };
        let challenge = pkce_challenge(&pending.code_verifier);
        let mut url = self.metadata.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((AuthorizationRequest { url }, pending))
    }

    /// Checks the callback's `iss` parameter (RFC 9207, mix-up defence when Mirage knows several
    /// providers): when present it must be this issuer exactly, and a provider that announces
    /// the parameter must send it. Call it before `complete` with the callback's `iss`.
    pub fn check_response_issuer(&self, returned_iss: Option<&str>) -> Result<(), OidcError> {
        match returned_iss {
            Some(iss) if iss == self.metadata.issuer => Ok(()),
            None if !self.metadata.authorization_response_iss_parameter_supported => Ok(()),
            _ => Err(OidcError::ResponseIssuerMismatch),
        }
    }

    /// Completes a login from the callback's `state` and `code`: checks the state, redeems the
    /// code with the PKCE verifier and validates the ID token at `now`.
    pub async fn complete(
        &self,
        pending: PendingLogin,
        returned_state: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<OidcIdentity, OidcError> {
        if pending.state.is_empty()
            || !constant_time_eq(pending.state.as_bytes(), returned_state.as_bytes())
        {
            return Err(OidcError::StateMismatch);
        }
        let age = now.signed_duration_since(pending.created_at);
        if age > chrono_duration(PENDING_LOGIN_TTL) || age < -chrono_duration(ID_TOKEN_LEEWAY) {
            return Err(OidcError::LoginExpired);
        }
        let tokens = self.redeem_code(&pending, code).await?;
        let claims = self
            .validate_id_token(&tokens.id_token, &pending.nonce, now)
            .await?;
        let (mut email, mut email_verified) = (claims.email, claims.email_verified);
        let wants_email = self.config.scopes.iter().any(|scope| scope == "email");
        if email.is_none()
            && wants_email
            && let (Some(endpoint), Some(access_token)) = (
                self.metadata.userinfo_endpoint.as_ref(),
                tokens.access_token.as_deref(),
            )
        {
            (email, email_verified) = self
                .fetch_userinfo_email(endpoint, access_token, &claims.subject)
                .await?;
        }
        Ok(OidcIdentity {
            issuer: claims.issuer,
            subject: claims.subject,
            email_verified: email_verified && email.is_some(),
            email,
        })
    }

    async fn redeem_code(
        &self,
        pending: &PendingLogin,
        code: &str,
    ) -> Result<TokenResponse, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.config.redirect_uri),
            ("code_verifier", &pending.code_verifier),
        ];
        let mut request = self
            .http
            .post(self.metadata.token_endpoint.clone())
            .timeout(REQUEST_TIMEOUT)
            .header(header::ACCEPT, "application/json");
        let secret = self.config.client_secret.as_deref().unwrap_or_default();
        match self.metadata.token_endpoint_auth {
            TokenEndpointAuth::ClientSecretBasic => {
                let credentials = format!(
                    "{}:{}",
                    form_urlencode(&self.config.client_id),
                    form_urlencode(secret)
                );
                request = request.header(
                    header::AUTHORIZATION,
                    format!("Basic {}", BASE64.encode(credentials.as_bytes())),
                );
            }
            TokenEndpointAuth::ClientSecretPost => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", secret));
            }
            TokenEndpointAuth::None => form.push(("client_id", &self.config.client_id)),
        }
        let endpoint = "token endpoint";
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|source| OidcError::Network { endpoint, source })?;
        let status = response.status();
        let body = read_capped(response, endpoint).await?;
        let json = body.and_then(|body| {
            serde_json::from_slice::<Map<String, Value>>(&body).map_err(|_| "is not a json object")
        });
        if !status.is_success() {
            let error = json
                .ok()
                .and_then(|json| json.get("error").and_then(Value::as_str).map(str::to_owned))
                .filter(|code| is_oauth_error_code(code));
            return Err(OidcError::TokenEndpoint {
                status: status.as_u16(),
                error,
            });
        }
        let json = json.map_err(OidcError::TokenResponse)?;
        let id_token = json
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or(OidcError::TokenResponse("no id_token"))?
            .to_owned();
        let bearer = json
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("bearer"));
        let access_token = json
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|_| bearer)
            .map(str::to_owned);
        Ok(TokenResponse {
            id_token,
            access_token,
        })
    }

    /// Validates an ID token against the provider's keys, fetching the JWKS again once if the
    /// token names a key id this client does not know.
    async fn validate_id_token(
        &self,
        token: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<IdTokenClaims, OidcError> {
        let header = parse_header(token)?;
        let known = select_key(&self.keys.read().await, &header).cloned();
        let key = match known {
            Some(key) => key,
            None if header.kid.is_some() => {
                let fresh = fetch_keys(&self.http, &self.metadata.jwks_uri).await?;
                let key = select_key(&fresh, &header).cloned();
                *self.keys.write().await = fresh;
                key.ok_or(IdTokenCheck::UnknownKey)?
            }
            None => return Err(IdTokenCheck::UnknownKey.into()),
        };
        Ok(verify_id_token(
            token,
            &header,
            &key,
            &self.expectations(nonce),
            now,
        )?)
    }

    fn expectations<'a>(&'a self, nonce: &'a str) -> Expectations<'a> {
        Expectations {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce,
        }
    }

    async fn fetch_userinfo_email(
        &self,
        endpoint: &Url,
        access_token: &str,
        subject: &str,
    ) -> Result<(Option<String>, bool), OidcError> {
        let json = get_json(
            &self.http,
            endpoint.clone(),
            "userinfo endpoint",
            Some(access_token),
        )
        .await?
        .map_err(|reason| OidcError::UserInfo(format!("response {reason}")))?;
        // OIDC Core 5.3.2: the userinfo `sub` must be the ID token's, or the answer is not
        // about this user.
        if json.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(OidcError::UserInfo(
                "sub does not match the id token".to_owned(),
            ));
        }
        Ok(email_claims(&json))
    }
}

struct TokenResponse {
    id_token: String,
    access_token: Option<String>,
}

/// What an ID token must say.
struct Expectations<'a> {
    issuer: &'a str,
    client_id: &'a str,
    nonce: &'a str,
}

/// The claims Mirage uses from a validated ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IdTokenClaims {
    issuer: String,
    subject: String,
    email: Option<String>,
    email_verified: bool,
}

/// The checked JOSE header of an ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct JwsHeader {
    alg: Algorithm,
    kid: Option<String>,
}

fn chrono_duration(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

fn random_token() -> Result<String, OidcError> {
    let bytes = random_bytes::<RANDOM_BYTES>().map_err(|_| OidcError::Random)?;
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

/// RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))).
pub fn pkce_challenge(code_verifier: &str) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(code_verifier.as_bytes()))
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 section 2.3.1 asks for
/// it on the Basic credentials).
fn form_urlencode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                encoded.push(char::from(byte));
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// RFC 6749 `error` values are short printable ASCII without `"` or `\`; anything else is not
/// repeated in an error message.
fn is_oauth_error_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|byte| matches!(byte, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Checks the configuration and returns the scope parameter (`openid` first, no duplicates).
fn validate_config(config: &OidcProviderConfig) -> Result<String, OidcError> {
    let issuer =
        Url::parse(&config.issuer).map_err(|_| OidcError::InvalidConfig("issuer is not a url"))?;
    if issuer.query().is_some() || issuer.fragment().is_some() || !issuer.username().is_empty() {
        return Err(OidcError::InvalidConfig(
            "issuer must not have a query, fragment or user",
        ));
    }
    if !is_secure_url(&issuer) {
        return Err(OidcError::InvalidConfig(
            "issuer must use https (http only on loopback)",
        ));
    }
    if config.client_id.is_empty() {
        return Err(OidcError::InvalidConfig("client_id is empty"));
    }
    if config.client_secret.as_deref() == Some("") {
        return Err(OidcError::InvalidConfig("client_secret is empty"));
    }
    let redirect = Url::parse(&config.redirect_uri)
        .map_err(|_| OidcError::InvalidConfig("redirect_uri is not a url"))?;
    if redirect.fragment().is_some() || !is_secure_url(&redirect) {
        return Err(OidcError::InvalidConfig(
            "redirect_uri must use https (http only on loopback) and have no fragment",
        ));
    }
    let mut scopes = vec!["openid"];
    for scope in &config.scopes {
        let valid = !scope.is_empty()
            && scope
                .bytes()
                .all(|byte| matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        if !valid {
            return Err(OidcError::InvalidConfig("a scope is empty or malformed"));
        }
        if !scopes.contains(&scope.as_str()) {
            scopes.push(scope);
        }
    }
    Ok(scopes.join(" "))
}

/// https, or http to a loopback address (development and tests).
fn is_secure_url(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => url.host_str().is_some_and(|host| {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }),
        _ => false,
    }
}

/// OIDC Discovery 4: the issuer without a trailing `/`, then `/.well-known/openid-configuration`.
fn discovery_url(issuer: &str) -> Result<Url, OidcError> {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    Url::parse(&format!("{base}/.well-known/openid-configuration"))
        .map_err(|_| OidcError::InvalidConfig("issuer is not a url"))
}

fn parse_metadata(
    config: &OidcProviderConfig,
    document: &Map<String, Value>,
) -> Result<ProviderMetadata, OidcError> {
    let discovered = document
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| OidcError::Discovery("discovery document has no issuer".to_owned()))?;
    if discovered != config.issuer {
        return Err(OidcError::IssuerMismatch {
            configured: config.issuer.clone(),
            discovered: discovered.to_owned(),
        });
    }
    let endpoint = |name: &str, required: bool| -> Result<Option<Url>, OidcError> {
        let Some(value) = document.get(name) else {
            return if required {
                Err(OidcError::Discovery(format!(
                    "discovery document has no {name}"
                )))
            } else {
                Ok(None)
            };
        };
        let url = value
            .as_str()
            .and_then(|text| Url::parse(text).ok())
            .filter(is_secure_url)
            .ok_or_else(|| {
                OidcError::Discovery(format!(
                    "{name} is not an https url (http only on loopback)"
                ))
            })?;
        Ok(Some(url))
    };
    let required = |name: &str| -> Result<Url, OidcError> {
        endpoint(name, true)?
            .ok_or_else(|| OidcError::Discovery(format!("discovery document has no {name}")))
    };
    let strings = |name: &str| -> Option<Vec<&str>> {
        document
            .get(name)
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).collect())
    };
    if let Some(types) = strings("response_types_supported")
        && !types.contains(&"code")
    {
        return Err(OidcError::Discovery(
            "provider does not support the code response type".to_owned(),
        ));
    }
    // Absent means unknown for many providers that do support PKCE: the nonce still binds
    // the ID token to this login. Present without S256 is a refusal.
    if let Some(methods) = strings("code_challenge_methods_supported")
        && !methods.contains(&"S256")
    {
        return Err(OidcError::Discovery(
            "provider does not support pkce s256".to_owned(),
        ));
    }
    // OIDC Discovery 3: client_secret_basic when the provider does not say.
    let auth_methods =
        strings("token_endpoint_auth_methods_supported").unwrap_or(vec!["client_secret_basic"]);
    let token_endpoint_auth = match config.client_secret {
        Some(_) if auth_methods.contains(&"client_secret_basic") => {
            TokenEndpointAuth::ClientSecretBasic
        }
        Some(_) if auth_methods.contains(&"client_secret_post") => {
            TokenEndpointAuth::ClientSecretPost
        }
        None if auth_methods.contains(&"none") => TokenEndpointAuth::None,
        _ => {
            return Err(OidcError::Discovery(
                "provider supports none of this client's token endpoint auth methods".to_owned(),
            ));
        }
    };
    Ok(ProviderMetadata {
        issuer: discovered.to_owned(),
        authorization_endpoint: required("authorization_endpoint")?,
        token_endpoint: required("token_endpoint")?,
        jwks_uri: required("jwks_uri")?,
        userinfo_endpoint: endpoint("userinfo_endpoint", false)?,
        token_endpoint_auth,
        authorization_response_iss_parameter_supported: document
            .get("authorization_response_iss_parameter_supported")
            == Some(&Value::Bool(true)),
    })
}

/// GETs a JSON object. The outer error is the transport; the inner one says what is wrong with
/// an answer that arrived ("answered http 404", "is not a json object").
async fn get_json(
    http: &reqwest::Client,
    url: Url,
    endpoint: &'static str,
    bearer: Option<&str>,
) -> Result<Result<Map<String, Value>, String>, OidcError> {
    let mut request = http
        .get(url)
        .timeout(REQUEST_TIMEOUT)
        .header(header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|source| OidcError::Network { endpoint, source })?;
    let status = response.status();
    let body = read_capped(response, endpoint).await?;
    if !status.is_success() {
        return Ok(Err(format!("answered http status {}", status.as_u16())));
    }
    Ok(body.map_err(str::to_owned).and_then(|body| {
        serde_json::from_slice::<Map<String, Value>>(&body)
            .map_err(|_| "is not a json object".to_owned())
    }))
}

/// Reads a response body of at most `MAX_RESPONSE_BYTES`; the inner error says it was larger.
async fn read_capped(
    mut response: reqwest::Response,
    endpoint: &'static str,
) -> Result<Result<Vec<u8>, &'static str>, OidcError> {
    const TOO_LARGE: &str = "is too large";
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Ok(Err(TOO_LARGE));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| OidcError::Network { endpoint, source })?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Ok(Err(TOO_LARGE));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body))
}

async fn fetch_keys(
    http: &reqwest::Client,
    jwks_uri: &Url,
) -> Result<Vec<VerificationKey>, OidcError> {
    let document = get_json(http, jwks_uri.clone(), "jwks", None)
        .await?
        .map_err(|reason| OidcError::Discovery(format!("jwks {reason}")))?;
    let keys = parse_jwks(&document);
    if keys.is_empty() {
        return Err(OidcError::Discovery(
            "jwks has no usable signing key".to_owned(),
        ));
    }
    Ok(keys)
}

/// The usable signature keys of a JWKS; keys for encryption, symmetric keys, unsupported
/// curves and entries that do not parse are skipped (one odd key must not lock logins out).
fn parse_jwks(document: &Map<String, Value>) -> Vec<VerificationKey> {
    let Some(entries) = document.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter_map(|jwk| verification_key(&jwk))
        .collect()
}

fn verification_key(jwk: &Jwk) -> Option<VerificationKey> {
    let common = &jwk.common;
    if matches!(
        common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    if let Some(operations) = &common.key_operations
        && !operations.contains(&KeyOperations::Verify)
    {
        return None;
    }
    let family: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(params) => match params.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => return None,
        },
        // Symmetric and unknown keys never verify an ID token.
        _ => return None,
    };
    let algorithms: Vec<Algorithm> = match common.key_algorithm {
        None => family.to_vec(),
        Some(declared) => {
            let declared = signature_algorithm(declared)?;
            family.contains(&declared).then(|| vec![declared])?
        }
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerificationKey {
        kid: common.key_id.clone(),
        algorithms,
        key,
    })
}

fn signature_algorithm(declared: KeyAlgorithm) -> Option<Algorithm> {
    Some(match declared {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Checks the header before any key is chosen: compact form, an allowed asymmetric `alg`, no
/// key-carrying fields, a string `kid` if any.
fn parse_header(token: &str) -> Result<JwsHeader, IdTokenCheck> {
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(IdTokenCheck::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenCheck::Malformed);
    };
    let header = BASE64URL_NOPAD
        .decode(header.as_bytes())
        .map_err(|_| IdTokenCheck::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header).map_err(|_| IdTokenCheck::Malformed)?;
    if header
        .keys()
        .any(|field| FORBIDDEN_HEADER_FIELDS.contains(&field.as_str()))
    {
        return Err(IdTokenCheck::Algorithm);
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg
            .parse::<Algorithm>()
            .ok()
            .filter(|alg| ALLOWED_ALGORITHMS.contains(alg))
            .ok_or(IdTokenCheck::Algorithm)?,
        _ => return Err(IdTokenCheck::Malformed),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(IdTokenCheck::Malformed),
    };
    Ok(JwsHeader { alg, kid })
}

/// The key the header names; without a `kid`, the one key for the algorithm if there is
/// exactly one.
fn select_key<'a>(keys: &'a [VerificationKey], header: &JwsHeader) -> Option<&'a VerificationKey> {
    let mut candidates = keys
        .iter()
        .filter(|key| key.algorithms.contains(&header.alg));
    match &header.kid {
        Some(kid) => candidates.find(|key| key.kid.as_deref() == Some(kid.as_str())),
        None => match (candidates.next(), candidates.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        },
    }
}

/// Verifies the signature with `key`, then every claim against `expected` at `now`.
fn verify_id_token(
    token: &str,
    header: &JwsHeader,
    key: &VerificationKey,
    expected: &Expectations<'_>,
    now: DateTime<Utc>,
) -> Result<IdTokenClaims, IdTokenCheck> {
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.leeway = 0;
    // Every claim is checked below against the caller's `now`, exactly.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenCheck::Signature,
            _ => IdTokenCheck::Malformed,
        })?
        .claims;

    let issuer = string_claim(&claims, "iss")?;
    if issuer != expected.issuer {
        return Err(IdTokenCheck::Issuer);
    }
    let subject = string_claim(&claims, "sub")?;
    if subject.is_empty() || subject.len() > 255 {
        return Err(IdTokenCheck::MissingClaim("sub"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(audience)) => vec![audience.as_str()],
        Some(Value::Array(values)) => values
            .iter()
            .map(|value| value.as_str().ok_or(IdTokenCheck::MissingClaim("aud")))
            .collect::<Result<_, _>>()?,
        _ => return Err(IdTokenCheck::MissingClaim("aud")),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenCheck::Audience);
    }
    match claims.get("azp") {
        None if audiences.len() > 1 => return Err(IdTokenCheck::AuthorizedParty),
        None => {}
        Some(Value::String(azp)) if azp == expected.client_id => {}
        Some(_) => return Err(IdTokenCheck::AuthorizedParty),
    }
    let now = now.timestamp();
    let leeway = i64::try_from(ID_TOKEN_LEEWAY.as_secs()).unwrap_or(0);
    let expires = numeric_date(&claims, "exp")?.ok_or(IdTokenCheck::MissingClaim("exp"))?;
    if now >= expires.saturating_add(leeway) {
        return Err(IdTokenCheck::Expired);
    }
    let issued = numeric_date(&claims, "iat")?.ok_or(IdTokenCheck::MissingClaim("iat"))?;
    if issued > now.saturating_add(leeway) {
        return Err(IdTokenCheck::IssuedInFuture);
    }
    if let Some(not_before) = numeric_date(&claims, "nbf")?
        && now < not_before.saturating_sub(leeway)
    {
        return Err(IdTokenCheck::NotYetValid);
    }
    let nonce = string_claim(&claims, "nonce").map_err(|_| IdTokenCheck::Nonce)?;
    if expected.nonce.is_empty() || !constant_time_eq(nonce.as_bytes(), expected.nonce.as_bytes()) {
        return Err(IdTokenCheck::Nonce);
    }
    let (email, email_verified) = email_claims(&claims);
    Ok(IdTokenClaims {
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        email,
        email_verified,
    })
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, IdTokenCheck> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .ok_or(IdTokenCheck::MissingClaim(name))
}

/// A NumericDate claim in whole seconds; `None` when absent, an error when not a number.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, IdTokenCheck> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|seconds| seconds.is_finite() && seconds.abs() < 1e15)
                    .map(|seconds| seconds.floor() as i64)
            })
            .map(Some)
            .ok_or(IdTokenCheck::MissingClaim(name)),
        Some(_) => Err(IdTokenCheck::MissingClaim(name)),
    }
}

/// `email` if it is a string, and whether `email_verified` is the boolean `true`.
fn email_claims(claims: &Map<String, Value>) -> (Option<String>, bool) {
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|email| !email.is_empty())
        .map(str::to_owned);
    let verified = email.is_some() && claims.get("email_verified") == Some(&Value::Bool(true));
    (email, verified)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://id.example.test";
    const CLIENT: &str = "mirage";
    const NONCE: &str = "n-0S6_WzA2Mj";
    /// Test-only P-256 keys (PKCS#8 DER), generated for these tests.
    const EC_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNcFdOzNbWyuSTWnpr357faaBB8CqJzzD+VvIErjPWyehRANCAASPvY3rwPJTxkcp5RjRv1aA5g5gDKXQgFKzZF4nba1yua9qpu2v37PIq0kzVeU2xgUkk1XEH6BTmhWYVdtuWjgL";
    const OTHER_EC_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOd28FiBzwqALr7iTFvxtcSPzyKFUZxBFMQxNOrLBiK6hRANCAAS2WAslb/uTK8T952IoUAVqHcKqO5DMKvahrGbDZwDmeyxpDJ76B0TDqs+8zaPYw6iqw78fU4qMeKJYZlWtI8Rv";
    /// Test-only Ed25519 key (PKCS#8 DER).
    const ED_KEY: &str = "MC4CAQAwBQYDK2VwBCIEIHvckckmyx165sC4YYMCoeoLslbxst3dqb8QZXbBtcGL";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    fn install() {
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    }

    fn ec_key(der: &str) -> EncodingKey {
        EncodingKey::from_ec_der(&BASE64.decode(der.as_bytes()).unwrap())
    }

    fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
        install();
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk
    }

    /// The provider's keys: `ec-1` (EC_KEY, ES256) and `ed-1` (ED_KEY, EdDSA).
    fn provider_keys() -> Vec<VerificationKey> {
        let ed = EncodingKey::from_ed_der(&BASE64.decode(ED_KEY.as_bytes()).unwrap());
        parse_jwks(
            json!({"keys": [
                public_jwk(&ec_key(EC_KEY), Algorithm::ES256, "ec-1"),
                public_jwk(&ed, Algorithm::EdDSA, "ed-1"),
            ]})
            .as_object()
            .unwrap(),
        )
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER,
            "sub": "248289761001",
            "aud": CLIENT,
            "exp": NOW + 300,
            "iat": NOW,
            "nonce": NONCE,
            "email": "alice@example.test",
            "email_verified": true,
        })
    }

    fn sign(header: &Value, claims: &Value, key: &EncodingKey) -> String {
        install();
        let header: Header = serde_json::from_value(header.clone()).unwrap();
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn es256(claims: &Value) -> String {
        sign(
            &json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"}),
            claims,
            &ec_key(EC_KEY),
        )
    }

    fn b64(value: &Value) -> String {
        BASE64URL_NOPAD.encode(value.to_string().as_bytes())
    }

    /// Header, key selection (no JWKS refresh) and claims, as `validate_id_token` does them.
    fn validate(token: &str, now: i64) -> Result<IdTokenClaims, IdTokenCheck> {
        let keys = provider_keys();
        let header = parse_header(token)?;
        let key = select_key(&keys, &header).ok_or(IdTokenCheck::UnknownKey)?;
        let expected = Expectations {
            issuer: ISSUER,
            client_id: CLIENT,
            nonce: NONCE,
        };
        verify_id_token(token, &header, key, &expected, at(now))
    }

    #[test]
    fn a_valid_es256_token_gives_issuer_subject_and_email() {
        let claims = validate(&es256(&claims()), NOW).unwrap();
        assert_eq!(
            claims,
            IdTokenClaims {
                issuer: ISSUER.to_owned(),
                subject: "248289761001".to_owned(),
                email: Some("alice@example.test".to_owned()),
                email_verified: true,
            }
        );
    }

    #[test]
    fn eddsa_tokens_verify_and_unverified_email_stays_unverified() {
        let ed = EncodingKey::from_ed_der(&BASE64.decode(ED_KEY.as_bytes()).unwrap());
        let mut body = claims();
        body["email_verified"] = json!("true");
        let token = sign(&json!({"alg": "EdDSA", "kid": "ed-1"}), &body, &ed);
        let claims = validate(&token, NOW).unwrap();
        assert!(!claims.email_verified, "only the boolean true counts");
        body.as_object_mut().unwrap().remove("email");
        let token = sign(&json!({"alg": "EdDSA", "kid": "ed-1"}), &body, &ed);
        assert_eq!(validate(&token, NOW).unwrap().email, None);
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let unsigned = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "ec-1"})),
            b64(&claims())
        );
        assert_eq!(validate(&unsigned, NOW), Err(IdTokenCheck::Algorithm));
        // The classic confusion: HS256 keyed with something public.
        for alg in ["HS256", "HS384", "HS512"] {
            let token = sign(
                &json!({"alg": alg, "kid": "ec-1"}),
                &claims(),
                &EncodingKey::from_secret(b"public key bytes"),
            );
            assert_eq!(validate(&token, NOW), Err(IdTokenCheck::Algorithm), "{alg}");
        }
        let lower = format!(
            "{}.{}.sig",
            b64(&json!({"alg": "es256", "kid": "ec-1"})),
            b64(&claims())
        );
        assert_eq!(validate(&lower, NOW), Err(IdTokenCheck::Algorithm));
    }

    #[test]
    fn key_carrying_headers_are_refused() {
        for (field, value) in [
            ("jku", json!("https://attacker.example/jwks")),
            ("x5u", json!("https://attacker.example/cert")),
            ("jwk", json!({"kty": "EC"})),
            ("x5c", json!(["MIIB"])),
            ("crit", json!(["exp"])),
        ] {
            let mut header = json!({"alg": "ES256", "kid": "ec-1"});
            header[field] = value;
            let token = format!("{}.{}.sig", b64(&header), b64(&claims()));
            assert_eq!(
                validate(&token, NOW),
                Err(IdTokenCheck::Algorithm),
                "{field}"
            );
        }
    }

    #[test]
    fn unknown_kid_wrong_key_and_algorithm_key_mismatch() {
        let token = sign(
            &json!({"alg": "ES256", "kid": "ec-9"}),
            &claims(),
            &ec_key(EC_KEY),
        );
        assert_eq!(validate(&token, NOW), Err(IdTokenCheck::UnknownKey));
        let forged = sign(
            &json!({"alg": "ES256", "kid": "ec-1"}),
            &claims(),
            &ec_key(OTHER_EC_KEY),
        );
        assert_eq!(validate(&forged, NOW), Err(IdTokenCheck::Signature));
        // The EC key cannot verify an RS256 or EdDSA claim under its kid.
        let header = json!({"alg": "RS256", "kid": "ec-1"});
        let token = format!("{}.{}.sig", b64(&header), b64(&claims()));
        assert_eq!(validate(&token, NOW), Err(IdTokenCheck::UnknownKey));
        // Without a kid, one key per algorithm is unambiguous.
        let token = sign(&json!({"alg": "ES256"}), &claims(), &ec_key(EC_KEY));
        assert!(validate(&token, NOW).is_ok());
    }

    #[test]
    fn tampered_claims_break_the_signature() {
        let token = es256(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let mut body = claims();
        body["sub"] = json!("someone-else");
        let tampered = format!("{}.{}.{}", parts[0], b64(&body), parts[2]);
        assert_eq!(validate(&tampered, NOW), Err(IdTokenCheck::Signature));
    }

    #[test]
    fn issuer_must_match_exactly() {
        for issuer in [
            "https://id.example.test/",
            "https://ID.example.test",
            "https://id.example.test.evil",
        ] {
            let mut body = claims();
            body["iss"] = json!(issuer);
            assert_eq!(
                validate(&es256(&body), NOW),
                Err(IdTokenCheck::Issuer),
                "{issuer}"
            );
        }
        let mut body = claims();
        body["iss"] = json!([ISSUER]);
        assert_eq!(
            validate(&es256(&body), NOW),
            Err(IdTokenCheck::MissingClaim("iss"))
        );
    }

    #[test]
    fn audience_and_authorized_party() {
        let mut body = claims();
        body["aud"] = json!("someone-else");
        assert_eq!(validate(&es256(&body), NOW), Err(IdTokenCheck::Audience));
        body["aud"] = json!([CLIENT, "other"]);
        assert_eq!(
            validate(&es256(&body), NOW),
            Err(IdTokenCheck::AuthorizedParty)
        );
        body["azp"] = json!("other");
        assert_eq!(
            validate(&es256(&body), NOW),
            Err(IdTokenCheck::AuthorizedParty)
        );
        body["azp"] = json!(CLIENT);
        assert!(validate(&es256(&body), NOW).is_ok());
        let mut body = claims();
        body["aud"] = json!([CLIENT]);
        assert!(validate(&es256(&body), NOW).is_ok());
        body["azp"] = json!("other");
        assert_eq!(
            validate(&es256(&body), NOW),
            Err(IdTokenCheck::AuthorizedParty)
        );
    }

    #[test]
    fn times_are_checked_against_now_with_30_seconds_leeway() {
        let token = es256(&claims());
        let exp = NOW + 300;
        assert!(validate(&token, exp + 29).is_ok());
        assert_eq!(validate(&token, exp + 30), Err(IdTokenCheck::Expired));
        assert!(validate(&token, NOW - 30).is_ok());
        assert_eq!(
            validate(&token, NOW - 31),
            Err(IdTokenCheck::IssuedInFuture)
        );
        let mut body = claims();
        body["nbf"] = json!(NOW + 100);
        assert_eq!(
            validate(&es256(&body), NOW + 69),
            Err(IdTokenCheck::NotYetValid)
        );
        assert!(validate(&es256(&body), NOW + 70).is_ok());
    }

    #[test]
    fn required_claims() {
        for claim in ["iss", "sub", "aud", "exp", "iat"] {
            let mut body = claims();
            body.as_object_mut().unwrap().remove(claim);
            assert_eq!(
                validate(&es256(&body), NOW),
                Err(IdTokenCheck::MissingClaim(claim)),
                "{claim}"
            );
        }
        let mut body = claims();
        body["exp"] = json!("tomorrow");
        assert_eq!(
            validate(&es256(&body), NOW),
            Err(IdTokenCheck::MissingClaim("exp"))
        );
        body["sub"] = json!("");
        assert_eq!(
            validate(&es256(&body), NOW),
            Err(IdTokenCheck::MissingClaim("sub"))
        );
    }

    #[test]
    fn nonce_must_match() {
        let mut body = claims();
        body["nonce"] = json!("another-login");
        assert_eq!(validate(&es256(&body), NOW), Err(IdTokenCheck::Nonce));
        body.as_object_mut().unwrap().remove("nonce");
        assert_eq!(validate(&es256(&body), NOW), Err(IdTokenCheck::Nonce));
    }

    #[test]
    fn malformed_and_oversized_tokens() {
        for bad in ["", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig"] {
            assert_eq!(validate(bad, NOW), Err(IdTokenCheck::Malformed), "{bad}");
        }
        let huge = "a".repeat(MAX_ID_TOKEN_BYTES + 1);
        assert_eq!(validate(&huge, NOW), Err(IdTokenCheck::TooLarge));
    }

    #[test]
    fn jwks_skips_symmetric_encryption_and_malformed_keys() {
        let document = json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "alg": "RSA-OAEP", "kid": "oaep", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
            {"kty": "EC", "kid": "broken"},
            "not a key",
            public_jwk(&ec_key(EC_KEY), Algorithm::ES256, "ec-1"),
        ]});
        let keys = parse_jwks(document.as_object().unwrap());
        let kids: Vec<_> = keys.iter().map(|key| key.kid.as_deref()).collect();
        assert_eq!(kids, vec![Some("ec-1")]);
        assert_eq!(keys[0].algorithms, vec![Algorithm::ES256]);
        let rsa = json!({"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}]});
        let keys = parse_jwks(rsa.as_object().unwrap());
        assert_eq!(keys[0].algorithms.len(), 6, "RS* and PS*");
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn form_encoding_of_basic_credentials() {
        assert_eq!(form_urlencode("a b+c:d/é"), "a+b%2Bc%3Ad%2F%C3%A9");
        assert_eq!(form_urlencode("Az09-._*"), "Az09-._*");
    }

    fn config() -> OidcProviderConfig {
        OidcProviderConfig {
            issuer: ISSUER.to_owned(),
            client_id: CLIENT.to_owned(),
            client_secret: Some("s3cret".to_owned()),
            redirect_uri: "https://mirage.example.test/auth/oidc/callback".to_owned(),
            scopes: vec!["email".to_owned(), "openid".to_owned(), "email".to_owned()],
        }
    }

    #[test]
    fn configuration_is_validated() {
        assert_eq!(validate_config(&config()).unwrap(), "openid email");
        let bad = [
            ("http://id.example.test", "issuer"),
            ("https://id.example.test?x=1", "issuer"),
            ("https://id.example.test#f", "issuer"),
            ("not a url", "issuer"),
        ];
        for (issuer, _) in bad {
            let config = OidcProviderConfig {
                issuer: issuer.to_owned(),
                ..config()
            };
            assert!(
                matches!(validate_config(&config), Err(OidcError::InvalidConfig(_))),
                "{issuer}"
            );
        }
        for loopback in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:1",
        ] {
            let config = OidcProviderConfig {
                issuer: loopback.to_owned(),
                ..config()
            };
            assert!(validate_config(&config).is_ok(), "{loopback}");
        }
        let insecure_redirect = OidcProviderConfig {
            redirect_uri: "http://mirage.example.test/cb".to_owned(),
            ..config()
        };
        assert!(validate_config(&insecure_redirect).is_err());
        let bad_scope = OidcProviderConfig {
            scopes: vec!["a b".to_owned()],
            ..config()
        };
        assert!(validate_config(&bad_scope).is_err());
    }

    fn metadata_document() -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://id.example.test/auth",
            "token_endpoint": "https://id.example.test/token",
            "jwks_uri": "https://id.example.test/jwks",
            "response_types_supported": ["code", "id_token"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        })
    }

    #[test]
    fn metadata_is_checked() {
        let parse = |document: &Value| parse_metadata(&config(), document.as_object().unwrap());
        let metadata = parse(&metadata_document()).unwrap();
        assert_eq!(
            metadata.token_endpoint_auth,
            TokenEndpointAuth::ClientSecretPost
        );
        assert_eq!(metadata.userinfo_endpoint, None);
        assert!(!metadata.authorization_response_iss_parameter_supported);
        let mut document = metadata_document();
        document["issuer"] = json!("https://id.example.test/");
        assert!(matches!(
            parse(&document),
            Err(OidcError::IssuerMismatch { .. })
        ));
        let mut document = metadata_document();
        document["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(matches!(parse(&document), Err(OidcError::Discovery(_))));
        let mut document = metadata_document();
        document["token_endpoint"] = json!("http://id.example.test/token");
        assert!(matches!(parse(&document), Err(OidcError::Discovery(_))));
        let mut document = metadata_document();
        document.as_object_mut().unwrap().remove("jwks_uri");
        assert!(matches!(parse(&document), Err(OidcError::Discovery(_))));
        let mut document = metadata_document();
        document["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        assert!(matches!(parse(&document), Err(OidcError::Discovery(_))));
        document
            .as_object_mut()
            .unwrap()
            .remove("token_endpoint_auth_methods_supported");
        assert_eq!(
            parse(&document).unwrap().token_endpoint_auth,
            TokenEndpointAuth::ClientSecretBasic
        );
    }

    fn client() -> OidcClient {
        let config = config();
        OidcClient {
            scope: validate_config(&config).unwrap(),
            metadata: parse_metadata(&config, metadata_document().as_object().unwrap()).unwrap(),
            config,
            http: http_client().unwrap(),
            keys: RwLock::new(provider_keys()),
        }
    }

    #[test]
    fn begin_builds_a_pkce_s256_code_request_with_fresh_secrets() {
        let client = client();
        let (request, pending) = client.begin_at(at(NOW)).unwrap();
        let query: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        assert_eq!(request.url.path(), "/auth");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], CLIENT);
        assert_eq!(query["redirect_uri"], client.config.redirect_uri);
        assert_eq!(query["scope"], "openid email");
        assert_eq!(query["state"], pending.state);
        assert_eq!(query["nonce"], pending.nonce);
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(
            query["code_challenge"],
            pkce_challenge(&pending.code_verifier)
        );
        assert!(!query.contains_key("code_verifier"));
        assert_eq!(pending.created_at, at(NOW));
        for secret in [&pending.state, &pending.nonce, &pending.code_verifier] {
            assert_eq!(BASE64URL_NOPAD.decode(secret.as_bytes()).unwrap().len(), 32);
        }
        let (_, again) = client.begin_at(at(NOW)).unwrap();
        assert_ne!(again.state, pending.state);
        assert_ne!(again.nonce, pending.nonce);
        assert_ne!(again.code_verifier, pending.code_verifier);
    }

    #[tokio::test]
    async fn wrong_state_and_stale_logins_are_refused_before_any_request() {
        // The token endpoint is unreachable: reaching it would be a network error.
        let client = client();
        let (_, pending) = client.begin_at(at(NOW)).unwrap();
        let wrong = client
            .complete(pending.clone(), "forged", "code", at(NOW))
            .await;
        assert!(matches!(wrong, Err(OidcError::StateMismatch)), "{wrong:?}");
        let state = pending.state.clone();
        let stale = client
            .complete(pending.clone(), &state, "code", at(NOW + 601))
            .await;
        assert!(matches!(stale, Err(OidcError::LoginExpired)), "{stale:?}");
        let blank = PendingLogin {
            state: String::new(),
            ..pending
        };
        let refused = client.complete(blank, "", "code", at(NOW)).await;
        assert!(
            matches!(refused, Err(OidcError::StateMismatch)),
            "{refused:?}"
        );
        // Without the parameter announced, a missing `iss` is fine and a wrong one is not.
        assert!(client.check_response_issuer(None).is_ok());
        assert!(client.check_response_issuer(Some(ISSUER)).is_ok());
        assert!(matches!(
            client.check_response_issuer(Some("https://id.example.test/")),
            Err(OidcError::ResponseIssuerMismatch)
        ));
    }

    #[test]
    fn discovery_url_drops_one_trailing_slash() {
        assert_eq!(
            discovery_url("https://id.example.test/realms/x/")
                .unwrap()
                .as_str(),
            "https://id.example.test/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://id.example.test").unwrap().as_str(),
            "https://id.example.test/.well-known/openid-configuration"
        );
    }

    #[test]
    fn oauth_error_codes_are_filtered_before_logging() {
        assert!(is_oauth_error_code("invalid_grant"));
        assert!(!is_oauth_error_code("bad\"quote"));
        assert!(!is_oauth_error_code(""));
        assert!(!is_oauth_error_code(&"x".repeat(65)));
        let error = OidcError::TokenEndpoint {
            status: 400,
            error: Some("invalid_grant".to_owned()),
        };
        assert_eq!(
            error.to_string(),
            "oidc token endpoint refused the code: http status 400, error invalid_grant"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let printed = format!("{:?}", config());
        assert!(!printed.contains("s3cret"), "{printed}");
        let pending = PendingLogin {
            state: "state-value".to_owned(),
            nonce: "nonce-value".to_owned(),
            code_verifier: "verifier-value".to_owned(),
            created_at: at(NOW),
        };
        let printed = format!("{pending:?}");
        for secret in ["state-value", "nonce-value", "verifier-value"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
