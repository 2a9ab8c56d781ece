//! OpenID Connect login and linking (security.md item 12), on top of the relying party in
//! `security::oidc`.
//!
//! Providers come from `IdentityConfig::oidc`, keyed by a short name; each is discovered on first
//! use and the client is cached (a failed discovery is retried after `DISCOVERY_RETRY_AFTER`).
//! `oidc_begin` keeps a pending login in memory keyed by its `state`: it is taken out exactly
//! once by `oidc_complete`, expires after `PENDING_LOGIN_TTL`, and at most `MAX_PENDING_LOGINS`
//! (`MAX_PENDING_PER_ADDRESS` per client address) wait at a time. Pending logins do not survive
//! a restart and are not shared between processes.
//!
//! Identities are keyed by `(iss, sub)` through `OidcLinkEvent` streams, never by e-mail: there
//! is no auto-provisioning and no linking by address. Linking needs a signed-in user (not an API
//! key) who completes the flow with the same session's user; logging in needs an existing link
//! that the user aggregate agrees with, and an enabled user. A user with TOTP confirmed gets
//! `OidcOutcome::MfaRequired` with a single-use continuation token (`MFA_CONTINUATION_TTL`) to
//! trade for tokens with a TOTP code through `oidc_verify_totp`.
//!
//! Error mapping (no OIDC-specific `IdentityError` exists yet): an unknown provider is invalid
//! input on `provider`; every failed check of the callback (unknown, used or expired state, wrong
//! `iss`, refused code, invalid ID token, unlinked identity, disabled user) is
//! `InvalidCredentials`; a provider that cannot be reached or is misconfigured is the invalid
//! state "oidc provider unavailable" (details in the log); an identity linked to someone else is
//! "oidc link already exists"; too many pending logins is `Throttled`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use domain::identity::{
    Email, LoginFailure, LoginMethod, OidcLinkEvent, SecurityEvent, User, UserCommand, UserState,
};
use domain::{DomainError, EventCodec, StreamId};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::{AuthTokens, Authenticated, IdentityError, IdentityService, RequestOrigin, stream_of};
use security::oidc::{PENDING_LOGIN_TTL, http_client};
use security::{
    OidcClient, OidcError, OidcIdentity, OidcProviderConfig, PendingLogin, SecurityError,
    generate_secret, hash_secret, verify_totp,
};

/// Most pending logins kept at once; `oidc_begin` refuses new ones beyond.
pub const MAX_PENDING_LOGINS: usize = 10_000;
/// Most pending logins one client address may have at once.
pub const MAX_PENDING_PER_ADDRESS: usize = 100;
/// How long an MFA continuation may wait for its TOTP code.
pub const MFA_CONTINUATION_TTL: Duration = Duration::from_secs(5 * 60);
/// Most MFA continuations kept at once.
pub const MAX_MFA_CONTINUATIONS: usize = 10_000;
/// After a failed discovery, requests fail fast for this long before it is tried again.
pub const DISCOVERY_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Longest `state`, `code` and MFA token accepted from a callback; longer ones are refused
/// without a look-up.
const MAX_CALLBACK_PARAMETER_LEN: usize = 4096;
/// Provider names: short, lower-case, usable in environment variable names.
const MAX_PROVIDER_NAME_LEN: usize = 32;

/// One configured provider and the short name clients use for it (`oidcBegin(provider:)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedOidcProvider {
    pub name: String,
    pub config: OidcProviderConfig,
}

/// Whether a provider name is 1 to 32 of `a-z`, `0-9`, `_`, starting with a letter.
pub fn is_valid_provider_name(name: &str) -> bool {
    name.len() <= MAX_PROVIDER_NAME_LEN
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What an OIDC flow is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcPurpose {
    /// Sign in as the user the identity is linked to.
    Login,
    /// Link the identity to this signed-in user.
    Link(Authenticated),
}

/// What completing an OIDC flow produced.
#[derive(Clone, PartialEq, Eq)]
pub enum OidcOutcome {
    SignedIn(AuthTokens),
    /// The identity is now linked to this user (or already was).
    Linked {
        user_id: Uuid,
    },
    /// The user has TOTP confirmed: trade `mfa_token` and a code with `oidc_verify_totp`.
    MfaRequired {
        mfa_token: String,
    },
}

impl std::fmt::Debug for OidcOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OidcOutcome::SignedIn(tokens) => f
                .debug_struct("SignedIn")
                .field("user_id", &tokens.user_id)
                .finish_non_exhaustive(),
            OidcOutcome::Linked { user_id } => {
                f.debug_struct("Linked").field("user_id", user_id).finish()
            }
            OidcOutcome::MfaRequired { .. } => f
                .debug_struct("MfaRequired")
                .field("mfa_token", &"<redacted>")
                .finish(),
        }
    }
}

/// A provider and its client once discovered.
struct ProviderSlot {
    config: OidcProviderConfig,
    client: OnceCell<Arc<OidcClient>>,
    last_failure: Mutex<Option<Instant>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingPurpose {
    Login,
    Link {
        user_id: Uuid,
        organization_id: Uuid,
    },
}

#[derive(Debug, Clone)]
struct Pending {
    provider: String,
    login: PendingLogin,
    purpose: PendingPurpose,
}

/// An OIDC login that still needs a TOTP code.
#[derive(Debug, Clone)]
struct MfaContinuation {
    user_id: Uuid,
    issuer: String,
    subject: String,
}

#[derive(Debug)]
struct Entry<V> {
    expires_at: DateTime<Utc>,
    address: Option<IpAddr>,
    value: V,
}

/// Why `ExpiringMap::insert` refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Full {
    Total,
    Address,
}

/// Values kept in memory for a while and taken out at most once: bounded in total and per client
/// address, expired entries swept on every insert.
#[derive(Debug)]
struct ExpiringMap<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
    ttl: TimeDelta,
    capacity: usize,
    per_address: usize,
}

impl<V> ExpiringMap<V> {
    fn new(ttl: Duration, capacity: usize, per_address: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
            capacity,
            per_address,
        }
    }

    fn insert(
        &self,
        key: String,
        value: V,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), Full> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, entry| entry.expires_at > now);
        if entries.len() >= self.capacity {
            return Err(Full::Total);
        }
        if let Some(ip) = address
            && entries.values().filter(|e| e.address == Some(ip)).count() >= self.per_address
        {
            return Err(Full::Address);
        }
        entries.insert(
            key,
            Entry {
                expires_at: now + self.ttl,
                address,
                value,
            },
        );
        Ok(())
    }

    /// Takes the value out: a second call with the same key finds nothing. An expired value is
    /// removed and not returned.
    fn take(&self, key: &str, now: DateTime<Utc>) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .remove(key)
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The identity service's OIDC state: providers, pending logins and MFA continuations.
pub(super) struct OidcLogins {
    providers: HashMap<String, ProviderSlot>,
    pending: ExpiringMap<Pending>,
    mfa: ExpiringMap<MfaContinuation>,
}

impl std::fmt::Debug for OidcLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogins")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OidcLogins {
    /// Keeps the configured providers; nothing is fetched yet. Names must be valid and unique.
    pub(super) fn new(providers: &[NamedOidcProvider]) -> Result<Self, IdentityError> {
        let mut slots = HashMap::new();
        for provider in providers {
            if !is_valid_provider_name(&provider.name) {
                return Err(DomainError::invalid(
                    "oidc.name",
                    format!(
                        "{:?} must be 1 to {MAX_PROVIDER_NAME_LEN} of a-z, 0-9 and _, starting with a letter",
                        provider.name
                    ),
                )
                .into());
            }
            let slot = ProviderSlot {
                config: provider.config.clone(),
                client: OnceCell::new(),
                last_failure: Mutex::new(None),
            };
            if slots.insert(provider.name.clone(), slot).is_some() {
                return Err(DomainError::invalid(
                    "oidc.name",
                    format!("{:?} is configured twice", provider.name),
                )
                .into());
            }
        }
        Ok(Self {
            providers: slots,
            pending: ExpiringMap::new(
                PENDING_LOGIN_TTL,
                MAX_PENDING_LOGINS,
                MAX_PENDING_PER_ADDRESS,
            ),
            mfa: ExpiringMap::new(
                MFA_CONTINUATION_TTL,
                MAX_MFA_CONTINUATIONS,
                MAX_PENDING_PER_ADDRESS,
            ),
        })
    }

    /// The configured provider names, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.providers.keys().cloned().collect();
        names.sort();
        names
    }
}

fn unavailable() -> IdentityError {
    IdentityError::from(DomainError::InvalidState(
        "oidc provider unavailable; try again later".to_owned(),
    ))
}

/// Maps a failure of `check_response_issuer` or `complete`: the callback's fault is invalid
/// credentials, the provider's or the configuration's is unavailability.
fn callback_failure(provider: &str, error: OidcError) -> IdentityError {
    match error {
        OidcError::Random => IdentityError::Security(SecurityError::Random),
        OidcError::Network { .. } | OidcError::Discovery(_) => {
            tracing::warn!(provider, %error, "oidc provider unreachable");
            unavailable()
        }
        OidcError::TokenEndpoint { status, .. } if status >= 500 => {
            tracing::warn!(provider, %error, "oidc provider failed");
            unavailable()
        }
        OidcError::InvalidConfig(_) | OidcError::IssuerMismatch { .. } => {
            tracing::error!(provider, %error, "oidc provider misconfigured");
            unavailable()
        }
        OidcError::StateMismatch
        | OidcError::ResponseIssuerMismatch
        | OidcError::LoginExpired
        | OidcError::TokenEndpoint { .. }
        | OidcError::TokenResponse(_)
        | OidcError::InvalidIdToken(_)
        | OidcError::UserInfo(_) => {
            tracing::info!(provider, %error, "oidc callback refused");
            IdentityError::InvalidCredentials
        }
    }
}

fn invalid_provider() -> IdentityError {
    DomainError::invalid("provider", "unknown oidc provider").into()
}

fn stream_of_identity(issuer: &str, subject: &str) -> Result<StreamId, IdentityError> {
    OidcLinkEvent::stream_for(issuer, subject)
        .map_err(|e| IdentityError::from(DomainError::invalid("subject", e.to_string())))
}

fn login_failure(user_id: Option<Uuid>, reason: LoginFailure, ip: Option<IpAddr>) -> SecurityEvent {
    SecurityEvent::LoginFailed {
        user_id,
        ip,
        reason,
    }
}

impl IdentityService {
    /// The names of the configured OIDC providers, sorted.
    pub fn oidc_provider_names(&self) -> Vec<String> {
        self.oidc.names()
    }

    /// The provider's client, discovered on first use and cached.
    async fn oidc_client(&self, name: &str) -> Result<Arc<OidcClient>, IdentityError> {
        let slot = self.oidc.providers.get(name).ok_or_else(invalid_provider)?;
        if let Some(client) = slot.client.get() {
            return Ok(client.clone());
        }
        let recently_failed = slot
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < DISCOVERY_RETRY_AFTER);
        if recently_failed {
            return Err(unavailable());
        }
        let discovered = slot
            .client
            .get_or_try_init(|| async {
                let http = http_client()?;
                OidcClient::discover(slot.config.clone(), &http)
                    .await
                    .map(Arc::new)
            })
            .await;
        match discovered {
            Ok(client) => Ok(client.clone()),
            Err(error) => {
                tracing::error!(provider = name, %error, "oidc discovery failed");
                *slot
                    .last_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                Err(match error {
                    OidcError::Random => IdentityError::Security(SecurityError::Random),
                    _ => unavailable(),
                })
            }
        }
    }

    /// Starts an OIDC flow with `provider`: the authorization URL to send the browser to. For
    /// `Link`, the caller must be a signed-in user (an API key may not link identities).
    pub async fn oidc_begin(
        &self,
        provider: &str,
        purpose: OidcPurpose,
        origin: &RequestOrigin,
    ) -> Result<String, IdentityError> {
        let purpose = match purpose {
            OidcPurpose::Login => PendingPurpose::Login,
            OidcPurpose::Link(who) => {
                if who.api_key_id.is_some() || who.session_id.is_none() {
                    return Err(DomainError::Forbidden(
                        "linking an oidc identity with an api key".to_owned(),
                    )
                    .into());
                }
                PendingPurpose::Link {
                    user_id: who.user_id,
                    organization_id: who.organization_id,
                }
            }
        };
        let client = self.oidc_client(provider).await?;
        let now = Utc::now();
        let (request, login) = client
            .begin_at(now)
            .map_err(|error| callback_failure(provider, error))?;
        let state = login.state.clone();
        let pending = Pending {
            provider: provider.to_owned(),
            login,
            purpose,
        };
        match self.oidc.pending.insert(state, pending, origin.ip, now) {
            Ok(()) => Ok(request.url.to_string()),
            Err(full) => {
                tracing::warn!(?full, ip = ?origin.ip, "too many pending oidc logins");
                Err(IdentityError::Throttled)
            }
        }
    }

    /// Completes an OIDC flow from the callback's `state`, `code` and `iss`. The pending login is
    /// spent whatever the outcome. `caller` is whoever calls now: a link must be completed by
    /// the user who started it.
    pub async fn oidc_complete(
        &self,
        state: &str,
        code: &str,
        iss: Option<&str>,
        caller: Option<&Authenticated>,
        origin: &RequestOrigin,
    ) -> Result<OidcOutcome, IdentityError> {
        let now = Utc::now();
        let anonymous = self.context("anonymous".to_owned(), None, origin);
        let pending = if state.is_empty()
            || state.len() > MAX_CALLBACK_PARAMETER_LEN
            || code.is_empty()
            || code.len() > MAX_CALLBACK_PARAMETER_LEN
        {
            None
        } else {
            self.oidc.pending.take(state, now)
        };
        let Some(pending) = pending else {
            self.record(
                None,
                login_failure(None, LoginFailure::BadCredentials, origin.ip),
                &anonymous,
            )
            .await;
            return Err(IdentityError::InvalidCredentials);
        };
        if let PendingPurpose::Link { user_id, .. } = pending.purpose {
            // Checked before the code is redeemed: nothing is spent at the provider.
            match caller {
                None => return Err(IdentityError::Unauthenticated),
                Some(who) if who.user_id != user_id || who.api_key_id.is_some() => {
                    return Err(DomainError::Forbidden(
                        "completing another user's oidc link".to_owned(),
                    )
                    .into());
                }
                Some(_) => {}
            }
        }
        let provider = pending.provider.as_str();
        let client = self.oidc_client(provider).await?;
        let identity = match client.check_response_issuer(iss) {
            Ok(()) => client.complete(pending.login, state, code, now).await,
            Err(error) => Err(error),
        };
        let identity = match identity {
            Ok(identity) => identity,
            Err(error) => {
                let error = callback_failure(provider, error);
                if pending.purpose == PendingPurpose::Login
                    && matches!(error, IdentityError::InvalidCredentials)
                {
                    self.record(
                        None,
                        login_failure(None, LoginFailure::BadCredentials, origin.ip),
                        &anonymous,
                    )
                    .await;
                }
                return Err(error);
            }
        };
        match pending.purpose {
            PendingPurpose::Link {
                user_id,
                organization_id,
            } => {
                self.link_oidc_identity(user_id, organization_id, &identity, origin)
                    .await?;
                Ok(OidcOutcome::Linked { user_id })
            }
            PendingPurpose::Login => self.login_with_oidc_identity(&identity, origin).await,
        }
    }

    /// The user an OIDC identity is linked to, through its link stream.
    async fn user_id_by_oidc(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Uuid>, IdentityError> {
        let stream = stream_of_identity(issuer, subject)?;
        self.claimant(&stream, |OidcLinkEvent::Linked { user_id }| user_id)
            .await
    }

    /// Links `(iss, sub)` to the user: the link stream first (no stream expected, so an identity
    /// belongs to one user at most), then the user. Re-linking the same identity to the same user
    /// succeeds and repairs a link whose second step failed.
    async fn link_oidc_identity(
        &self,
        user_id: Uuid,
        organization_id: Uuid,
        identity: &OidcIdentity,
        origin: &RequestOrigin,
    ) -> Result<(), IdentityError> {
        let (issuer, subject) = (&identity.issuer, &identity.subject);
        let context = self.context(format!("user:{user_id}"), Some(organization_id), origin);
        let user = self.load_user(user_id).await?;
        if user.id != Some(user_id) || user.disabled {
            return Err(IdentityError::Unauthenticated);
        }
        match user.oidc.get(issuer) {
            Some(linked) if linked == subject => return Ok(()),
            Some(_) => {
                return Err(DomainError::InvalidState(
                    "already linked to another account of this issuer".to_owned(),
                )
                .into());
            }
            None => {}
        }
        let stream = stream_of_identity(issuer, subject)?;
        let payload = OidcLinkEvent::Linked { user_id }.encode();
        if !self.claim(&stream, payload, &context).await?
            && self.user_id_by_oidc(issuer, subject).await? != Some(user_id)
        {
            return Err(DomainError::AlreadyExists("oidc link").into());
        }
        self.handler
            .execute::<User>(
                &stream_of::<User>(user_id)?,
                UserCommand::LinkOidc {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                },
                &context,
            )
            .await?;
        Ok(())
    }

    /// Signs in the user `(iss, sub)` is linked to. Unknown identities are refused: no account
    /// is created and none is found by e-mail.
    async fn login_with_oidc_identity(
        &self,
        identity: &OidcIdentity,
        origin: &RequestOrigin,
    ) -> Result<OidcOutcome, IdentityError> {
        let anonymous = self.context("anonymous".to_owned(), None, origin);
        let user = match self
            .user_id_by_oidc(&identity.issuer, &identity.subject)
            .await?
        {
            Some(user_id) => Some(self.load_user(user_id).await?),
            None => None,
        };
        let Some((user_id, user)) = user
            .and_then(|user| user.id.map(|id| (id, user)))
            .filter(|(_, user)| user.oidc.get(&identity.issuer) == Some(&identity.subject))
        else {
            self.record(
                None,
                login_failure(None, LoginFailure::BadCredentials, origin.ip),
                &anonymous,
            )
            .await;
            return Err(IdentityError::InvalidCredentials);
        };
        let organization_id = user.organization_id;
        let context = self.context(format!("user:{user_id}"), Some(organization_id), origin);
        if user.disabled {
            self.record(
                Some(organization_id),
                login_failure(Some(user_id), LoginFailure::Disabled, origin.ip),
                &context,
            )
            .await;
            return Err(IdentityError::InvalidCredentials);
        }
        if user.totp.confirmed_ciphertext.is_some() {
            let token = generate_secret("")?.expose().to_owned();
            let continuation = MfaContinuation {
                user_id,
                issuer: identity.issuer.clone(),
                subject: identity.subject.clone(),
            };
            if let Err(full) = self.oidc.mfa.insert(
                hex::encode(hash_secret(&token)),
                continuation,
                origin.ip,
                context.now,
            ) {
                tracing::warn!(?full, ip = ?origin.ip, "too many pending oidc mfa challenges");
                return Err(IdentityError::Throttled);
            }
            return Ok(OidcOutcome::MfaRequired { mfa_token: token });
        }
        let tokens = self.start_session(&user, origin, &context).await?;
        self.record(
            Some(organization_id),
            SecurityEvent::LoginSucceeded {
                user_id,
                ip: origin.ip,
                method: LoginMethod::Oidc,
                mfa: false,
            },
            &context,
        )
        .await;
        Ok(OidcOutcome::SignedIn(tokens))
    }

    /// Finishes an OIDC login that asked for a TOTP code. The continuation is spent whatever the
    /// outcome; wrong codes count against the account like password-login ones.
    pub async fn oidc_verify_totp(
        &self,
        mfa_token: &str,
        code: &str,
        origin: &RequestOrigin,
    ) -> Result<AuthTokens, IdentityError> {
        let now = Utc::now();
        let continuation = if mfa_token.len() > MAX_CALLBACK_PARAMETER_LEN {
            None
        } else {
            self.oidc
                .mfa
                .take(&hex::encode(hash_secret(mfa_token)), now)
        };
        let Some(continuation) = continuation else {
            return Err(IdentityError::InvalidCredentials);
        };
        let user_id = continuation.user_id;
        let user: UserState = self.load_user(user_id).await?;
        let still_linked = user.oidc.get(&continuation.issuer) == Some(&continuation.subject)
            && user.may_sign_in();
        let Some(ciphertext) = user
            .totp
            .confirmed_ciphertext
            .clone()
            .filter(|_| still_linked)
        else {
            return Err(IdentityError::InvalidCredentials);
        };
        let organization_id = user.organization_id;
        let context = self.context(format!("user:{user_id}"), Some(organization_id), origin);
        let account = format!(
            "acct:{}",
            user.email.as_ref().map(Email::as_str).unwrap_or_default()
        );
        let address = format!(
            "ip:{}",
            origin.ip.map(|ip| ip.to_string()).unwrap_or_default()
        );
        if !self.throttle.allows(&account, &address, now) {
            self.throttle.failed(&account, &address, now);
            self.record(
                Some(organization_id),
                login_failure(Some(user_id), LoginFailure::Throttled, origin.ip),
                &context,
            )
            .await;
            return Err(IdentityError::Throttled);
        }
        let secret = self.secrets.open(&ciphertext, user_id.as_bytes())?;
        let accepted = match verify_totp(&secret, code, now.timestamp(), user.totp.last_step) {
            Some(step) => self
                .handler
                .execute::<User>(
                    &stream_of::<User>(user_id)?,
                    UserCommand::AcceptTotpStep { step },
                    &context,
                )
                .await
                .is_ok(),
            None => false,
        };
        if !accepted {
            self.throttle.failed(&account, &address, now);
            self.record(
                Some(organization_id),
                SecurityEvent::MfaChallengeFailed {
                    user_id,
                    ip: origin.ip,
                },
                &context,
            )
            .await;
            return Err(IdentityError::InvalidCredentials);
        }
        self.throttle.succeeded(&account);
        let tokens = self.start_session(&user, origin, &context).await?;
        self.record(
            Some(organization_id),
            SecurityEvent::LoginSucceeded {
                user_id,
                ip: origin.ip,
                method: LoginMethod::Oidc,
                mfa: true,
            },
            &context,
        )
        .await;
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000) + TimeDelta::seconds(seconds)
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn entries_are_taken_once_and_expire() {
        let map = ExpiringMap::new(Duration::from_secs(600), 10, 10);
        map.insert("a".into(), 1, ip(1), at(0)).unwrap();
        map.insert("b".into(), 2, ip(1), at(0)).unwrap();
        assert_eq!(map.take("a", at(1)), Some(1));
        assert_eq!(map.take("a", at(1)), None, "single use");
        assert_eq!(map.take("nope", at(1)), None);
        assert_eq!(map.take("b", at(600)), None, "expired at its ttl");
        assert_eq!(map.len(), 0, "an expired entry is removed when looked up");
    }

    #[test]
    fn inserting_sweeps_expired_entries_and_respects_both_bounds() {
        let map = ExpiringMap::new(Duration::from_secs(600), 4, 2);
        map.insert("a".into(), (), ip(1), at(0)).unwrap();
        map.insert("b".into(), (), ip(1), at(0)).unwrap();
        assert_eq!(map.insert("c".into(), (), ip(1), at(0)), Err(Full::Address));
        map.insert("c".into(), (), ip(2), at(0)).unwrap();
        map.insert("d".into(), (), None, at(0)).unwrap();
        assert_eq!(map.insert("e".into(), (), ip(3), at(0)), Err(Full::Total));
        assert_eq!(map.insert("e".into(), (), None, at(0)), Err(Full::Total));
        // Ten minutes later the old ones are gone and there is room again.
        map.insert("e".into(), (), ip(1), at(600)).unwrap();
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn provider_names_are_short_lower_case_identifiers() {
        for good in ["google", "corp_sso", "a", "idp2"] {
            assert!(is_valid_provider_name(good), "{good}");
        }
        for bad in ["", "Google", "2idp", "corp-sso", "x y", &"a".repeat(33)] {
            assert!(!is_valid_provider_name(bad), "{bad}");
        }
    }

    #[test]
    fn duplicate_or_malformed_provider_names_are_refused() {
        let config = OidcProviderConfig {
            issuer: "https://idp.example".to_owned(),
            client_id: "mirage".to_owned(),
            client_secret: None,
            redirect_uri: "https://mirage.example/callback".to_owned(),
            scopes: Vec::new(),
        };
        let named = |name: &str| NamedOidcProvider {
            name: name.to_owned(),
            config: config.clone(),
        };
        let logins = OidcLogins::new(&[named("b"), named("a")]).unwrap();
        assert_eq!(logins.names(), ["a", "b"]);
        assert!(OidcLogins::new(&[named("a"), named("a")]).is_err());
        assert!(OidcLogins::new(&[named("Bad Name")]).is_err());
    }

    #[test]
    fn outcomes_do_not_print_their_secrets() {
        let outcome = OidcOutcome::MfaRequired {
            mfa_token: "very-secret".to_owned(),
        };
        assert!(!format!("{outcome:?}").contains("very-secret"));
    }
}
