//! Identity services: registration, login (password, TOTP, OpenID Connect), refresh-token
//! rotation with re-use detection, logout, per-request authentication of access tokens and API
//! keys, and the account, team, project and API-key commands. Each function checks, decides
//! through the domain, appends, and records security events; nothing here knows HTTP or GraphQL.

pub mod accounts;
mod error;
pub mod oidc_login;
pub mod sessions;
mod throttle;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::identity::{Role, SecurityEvent};
use domain::{Aggregate, CommandContext, EventCodec, StreamId};
use uuid::Uuid;

pub use error::IdentityError;
pub use oidc_login::{NamedOidcProvider, OidcOutcome, OidcPurpose};
pub use throttle::LoginThrottle;

use crate::handler::CommandHandler;
use security::{JwtConfig, JwtKeys, PasswordPolicy, SecretBox};
use store::ExpectedVersion;

/// Settings of the identity services.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Whether anyone may register an organization through the API.
    pub signup_open: bool,
    pub password_policy: PasswordPolicy,
    pub jwt: JwtConfig,
    /// Absolute lifetime of a refresh-token family.
    pub refresh_lifetime: chrono::TimeDelta,
    /// OpenID providers users may log in with, by name; discovered on first use.
    pub oidc: Vec<NamedOidcProvider>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            signup_open: false,
            password_policy: PasswordPolicy::default(),
            jwt: JwtConfig::default(),
            refresh_lifetime: chrono::TimeDelta::days(7),
            oidc: Vec::new(),
        }
    }
}

/// Tokens handed to a client after login, registration or refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user_id: Uuid,
    pub organization_id: Uuid,
}

/// Who a request is, once its token or key checked out against the current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub role: Role,
    /// The refresh-token family of a bearer token; `None` for an API key.
    pub session_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    /// When the credential stops being valid (access-token expiry), if it has one.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Authenticated {
    pub fn actor(&self) -> String {
        match self.api_key_id {
            Some(key) => format!("api-key:{key}"),
            None => format!("user:{}", self.user_id),
        }
    }
}

/// Where a request came from, for throttling and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestOrigin {
    pub ip: Option<IpAddr>,
    pub correlation_id: Option<Uuid>,
}

pub struct IdentityService {
    handler: CommandHandler,
    jwt: RwLock<Arc<JwtKeys>>,
    secrets: SecretBox,
    throttle: LoginThrottle,
    oidc: oidc_login::OidcLogins,
    config: IdentityConfig,
}

impl IdentityService {
    /// Loads (or creates) the signing keys and the secret box under `keys_dir`.
    pub fn open(
        handler: CommandHandler,
        keys_dir: &Path,
        config: IdentityConfig,
    ) -> Result<Self, IdentityError> {
        let jwt = JwtKeys::load_or_create(keys_dir, config.jwt.clone())?;
        let secrets = SecretBox::load_or_create(&keys_dir.join("secrets.key"))?;
        let oidc = oidc_login::OidcLogins::new(&config.oidc)?;
        Ok(Self {
            handler,
            jwt: RwLock::new(Arc::new(jwt)),
            secrets,
            throttle: LoginThrottle::default(),
            oidc,
            config,
        })
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    pub fn handler(&self) -> &CommandHandler {
        &self.handler
    }

    fn keys(&self) -> Result<Arc<JwtKeys>, IdentityError> {
        self.jwt
            .read()
            .map(|keys| keys.clone())
            .map_err(|_| IdentityError::Unauthenticated)
    }

    fn context(
        &self,
        actor: String,
        organization: Option<Uuid>,
        origin: &RequestOrigin,
    ) -> CommandContext {
        CommandContext {
            actor,
            organization,
            now: Utc::now(),
            correlation_id: origin.correlation_id,
            causation_id: None,
        }
    }

    /// Appends a security event to its organization's audit stream. A failure is logged, not
    /// returned: the request's own outcome stands.
    async fn record(
        &self,
        organization: Option<Uuid>,
        event: SecurityEvent,
        context: &CommandContext,
    ) {
        let stream = match SecurityEvent::stream_for(organization) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::error!(%error, "audit stream name");
                return;
            }
        };
        let new_event = crate::handler::new_event(context, event.encode());
        if let Err(error) = self
            .handler
            .store()
            .append(&stream, ExpectedVersion::Any, vec![new_event])
            .await
        {
            tracing::error!(%error, "cannot record security event");
        }
    }
}

impl IdentityService {
    /// Records an administrative change with where it came from.
    async fn audit_admin(
        &self,
        context: &CommandContext,
        change: &str,
        target: Option<Uuid>,
        origin: &RequestOrigin,
    ) {
        let event = SecurityEvent::AdminAction {
            change: change.to_owned(),
            target,
            ip: origin.ip,
        };
        self.record(context.organization, event, context).await;
    }

    /// Records that the policy refused `who` something.
    pub async fn record_denied(
        &self,
        who: &Authenticated,
        denied: &domain::policy::Denied,
        origin: &RequestOrigin,
    ) {
        let context = self.context(who.actor(), Some(who.organization_id), origin);
        let event = SecurityEvent::denied(who.actor(), denied, origin.ip);
        self.record(Some(who.organization_id), event, &context)
            .await;
    }
}

impl IdentityService {
    /// Claims `stream` (an e-mail address, an OIDC identity) for a user: the first claim wins.
    /// `Ok(false)` when the stream was already claimed.
    async fn claim(
        &self,
        stream: &StreamId,
        payload: domain::codec::StoredPayload,
        context: &CommandContext,
    ) -> Result<bool, IdentityError> {
        let claim = crate::handler::new_event(context, payload);
        match self
            .handler
            .store()
            .append(stream, ExpectedVersion::NoStream, vec![claim])
            .await
        {
            Ok(_) => Ok(true),
            Err(store::StoreError::WrongExpectedVersion { .. }) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    /// The user who holds the claim on `stream`, if anyone does.
    async fn claimant<E: EventCodec>(
        &self,
        stream: &StreamId,
        owner: fn(E) -> Uuid,
    ) -> Result<Option<Uuid>, IdentityError> {
        let claims = self
            .handler
            .store()
            .read_stream(stream, 1, store::ReadBound::Version(1), 1)
            .await?;
        Ok(claims
            .first()
            .and_then(|claim| match E::decode(&claim.payload) {
                Ok(event) => Some(owner(event)),
                Err(error) => {
                    tracing::error!(%error, %stream, "unreadable claim");
                    None
                }
            }))
    }
}

/// The stream of aggregate `A` with id `id`.
fn stream_of<A: Aggregate>(id: Uuid) -> Result<StreamId, IdentityError> {
    StreamId::for_aggregate(A::CATEGORY, id)
        .map_err(|e| IdentityError::from(domain::DomainError::invalid("id", e.to_string())))
}

/// Runs CPU-heavy work (argon2) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IdentityError> + Send + 'static,
) -> Result<T, IdentityError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| IdentityError::Security(security::SecurityError::PasswordHashing))?
}

/// Access tokens live this long.
pub fn access_ttl(config: &IdentityConfig) -> Duration {
    config.jwt.access_ttl
}
