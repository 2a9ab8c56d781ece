//! Sessions: login, refresh-token rotation, logout, and checking a credential on every request.

use chrono::Utc;
use domain::CommandContext;
use domain::identity::{
    ApiKey, ApiKeyCommand, Email, EmailClaimEvent, LoginFailure, LoginMethod, RevocationReason,
    RotationOutcome, SecurityEvent, Session, SessionCommand, SessionEvent, User, UserCommand,
    UserState,
};
use uuid::Uuid;

use super::{
    AuthTokens, Authenticated, IdentityError, IdentityService, RequestOrigin, blocking, stream_of,
};
use security::{
    AccessTokenInput, generate_secret, hash_secret, verify_against_dummy, verify_password,
    verify_totp,
};

/// What a login attempt produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    SignedIn(AuthTokens),
    /// The password was right and the account needs a TOTP code: ask again with one.
    MfaRequired,
}

const REFRESH_PREFIX: &str = "mr_";
const API_KEY_PREFIX: &str = "mk_";

/// Refresh tokens carry their family: `mr_<session id>.<secret>`.
fn refresh_token(session_id: Uuid) -> Result<String, IdentityError> {
    let secret = generate_secret("")?;
    Ok(format!(
        "{REFRESH_PREFIX}{}.{}",
        session_id.simple(),
        secret.expose()
    ))
}

fn session_of_refresh_token(token: &str) -> Option<Uuid> {
    let rest = token.strip_prefix(REFRESH_PREFIX)?;
    let (id, secret) = rest.split_once('.')?;
    if secret.len() < 32 || token.len() > 256 {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// API keys carry their id: `mk_<key id>.<secret>`; the visible prefix is `mk_` + 8 id chars.
pub fn api_key_text(key_id: Uuid) -> Result<(String, String), IdentityError> {
    let secret = generate_secret("")?;
    let id = key_id.simple().to_string();
    let full = format!("{API_KEY_PREFIX}{id}.{}", secret.expose());
    let prefix = format!("{API_KEY_PREFIX}{}", &id[..8]);
    Ok((full, prefix))
}

fn api_key_id(key: &str) -> Option<Uuid> {
    let rest = key.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('.')?;
    if secret.len() < 32 || key.len() > 256 {
        return None;
    }
    Uuid::try_parse(id).ok()
}

impl IdentityService {
    /// The user an e-mail address belongs to, through its claim stream.
    pub(super) async fn user_id_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<Uuid>, IdentityError> {
        let stream = EmailClaimEvent::stream_for(email).map_err(|e| {
            IdentityError::from(domain::DomainError::invalid("email", e.to_string()))
        })?;
        self.claimant(&stream, |EmailClaimEvent::Claimed { user_id }| user_id)
            .await
    }

    pub(super) async fn load_user(&self, user_id: Uuid) -> Result<UserState, IdentityError> {
        Ok(self
            .handler
            .load::<User>(&stream_of::<User>(user_id)?)
            .await?
            .state)
    }

    /// Starts a refresh-token family and issues the first pair of tokens.
    pub(super) async fn start_session(
        &self,
        user: &UserState,
        origin: &RequestOrigin,
        context: &CommandContext,
    ) -> Result<AuthTokens, IdentityError> {
        let (Some(user_id), Some(organization_id)) = (user.id, Some(user.organization_id)) else {
            return Err(IdentityError::InvalidCredentials);
        };
        let session_id = Uuid::now_v7();
        let refresh = refresh_token(session_id)?;
        self.handler
            .execute::<Session>(
                &stream_of::<Session>(session_id)?,
                SessionCommand::Start {
                    id: session_id,
                    user_id,
                    organization_id,
                    refresh_hash: hash_secret(&refresh),
                    expires_at: context.now + self.config.refresh_lifetime,
                    ip: origin.ip,
                    user_security_version: user.security_version,
                },
                context,
            )
            .await?;
        self.tokens(
            user_id,
            organization_id,
            session_id,
            user.security_version,
            refresh,
        )
    }

    fn tokens(
        &self,
        user_id: Uuid,
        organization_id: Uuid,
        session_id: Uuid,
        security_version: u64,
        refresh_token: String,
    ) -> Result<AuthTokens, IdentityError> {
        let keys = self.keys()?;
        let access_token = keys.issue(
            &AccessTokenInput {
                user_id,
                organization_id,
                session_id,
                security_version,
            },
            Utc::now(),
        )?;
        Ok(AuthTokens {
            access_token,
            refresh_token,
            expires_in: keys.config().access_ttl.as_secs(),
            user_id,
            organization_id,
        })
    }

    /// Password login, with a TOTP code once the account has one confirmed. Unknown accounts,
    /// wrong passwords and disabled accounts answer alike, after the same argon2 work.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<LoginOutcome, IdentityError> {
        let context = self.context("anonymous".to_owned(), None, origin);
        let address = format!(
            "ip:{}",
            origin.ip.map(|ip| ip.to_string()).unwrap_or_default()
        );
        let parsed = Email::parse(email).ok();
        let account = format!(
            "acct:{}",
            parsed.as_ref().map(|e| e.as_str()).unwrap_or(email.trim())
        );
        if !self.throttle.allows(&account, &address, context.now) {
            self.throttle.failed(&account, &address, context.now);
            self.record(
                None,
                failure(None, LoginFailure::Throttled, origin),
                &context,
            )
            .await;
            return Err(IdentityError::Throttled);
        }
        let user = match &parsed {
            Some(email) => match self.user_id_by_email(email).await? {
                Some(id) => Some(self.load_user(id).await?),
                None => None,
            },
            None => None,
        };
        let policy = self.config.password_policy;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_owned = password.to_owned();
        let verification = blocking(move || match stored {
            Some(hash) => Ok(verify_password(&policy, &password_owned, &hash)?),
            None => Ok(verify_against_dummy(&policy, &password_owned)?),
        })
        .await?;
        let Some(user) = user.filter(|_| verification.ok) else {
            self.throttle.failed(&account, &address, context.now);
            self.record(
                None,
                failure(None, LoginFailure::BadCredentials, origin),
                &context,
            )
            .await;
            return Err(IdentityError::InvalidCredentials);
        };
        let (user_id, organization_id) = (user.id.unwrap_or_default(), user.organization_id);
        let context = self.context(format!("user:{user_id}"), Some(organization_id), origin);
        if user.disabled {
            self.throttle.failed(&account, &address, context.now);
            self.record(
                Some(organization_id),
                failure(Some(user_id), LoginFailure::Disabled, origin),
                &context,
            )
            .await;
            return Err(IdentityError::InvalidCredentials);
        }
        if let Some(ciphertext) = &user.totp.confirmed_ciphertext {
            let Some(code) = totp else {
                return Ok(LoginOutcome::MfaRequired);
            };
            let secret = self.secrets.open(ciphertext, user_id.as_bytes())?;
            let step = verify_totp(&secret, code, context.now.timestamp(), user.totp.last_step);
            let accepted = match step {
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
                self.throttle.failed(&account, &address, context.now);
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
        }
        if verification.needs_rehash {
            self.rehash(user_id, password, &context).await;
        }
        self.throttle.succeeded(&account);
        let tokens = self.start_session(&user, origin, &context).await?;
        self.record(
            Some(organization_id),
            SecurityEvent::LoginSucceeded {
                user_id,
                ip: origin.ip,
                method: LoginMethod::Password,
                mfa: user.totp.confirmed_ciphertext.is_some(),
            },
            &context,
        )
        .await;
        Ok(LoginOutcome::SignedIn(tokens))
    }

    /// Upgrades a hash made under weaker parameters; failure only means it is tried next time.
    async fn rehash(&self, user_id: Uuid, password: &str, context: &CommandContext) {
        let policy = self.config.password_policy;
        let password = password.to_owned();
        let hash = blocking(move || Ok(security::hash_password(&policy, &password)?)).await;
        let Ok(password_hash) = hash else { return };
        if let Ok(stream) = stream_of::<User>(user_id)
            && let Err(error) = self
                .handler
                .execute::<User>(&stream, UserCommand::SetPassword { password_hash }, context)
                .await
        {
            tracing::warn!(%error, "cannot re-hash password");
        }
    }

    /// Rotates a refresh token: the old one is spent, a new pair is issued. Presenting a spent
    /// token revokes the whole family; of two concurrent refreshes at most one succeeds.
    pub async fn refresh(
        &self,
        refresh_token_text: &str,
        origin: &RequestOrigin,
    ) -> Result<AuthTokens, IdentityError> {
        let session_id =
            session_of_refresh_token(refresh_token_text).ok_or(IdentityError::Unauthenticated)?;
        let stream = stream_of::<Session>(session_id)?;
        let loaded = self.handler.load::<Session>(&stream).await?;
        let session = loaded.state.clone();
        if !session.exists() {
            return Err(IdentityError::Unauthenticated);
        }
        let user = self.load_user(session.user_id).await?;
        let context = self.context(
            format!("user:{}", session.user_id),
            Some(session.organization_id),
            origin,
        );
        if user.disabled || user.security_version != session.user_security_version {
            let _ = self
                .handler
                .execute::<Session>(
                    &stream,
                    SessionCommand::Revoke {
                        reason: RevocationReason::SecurityVersionChanged,
                    },
                    &context,
                )
                .await;
            return Err(IdentityError::Unauthenticated);
        }
        let new_token = refresh_token(session_id)?;
        let command = SessionCommand::Rotate {
            presented_hash: hash_secret(refresh_token_text),
            new_hash: hash_secret(&new_token),
            now: context.now,
        };
        // No conflict retries here: of two concurrent rotations only one may win.
        let events = match <Session as domain::Aggregate>::decide(&loaded.state, command, &context)
        {
            Ok(events) => events,
            Err(_) => return Err(IdentityError::Unauthenticated),
        };
        self.handler
            .append_decided::<Session>(&stream, loaded.version, &events, &context)
            .await
            .map_err(|_| IdentityError::Unauthenticated)?;
        if RotationOutcome::of(&events) != RotationOutcome::Rotated {
            if events
                .iter()
                .any(|e| matches!(e, SessionEvent::ReuseDetected { .. }))
            {
                self.record(
                    Some(session.organization_id),
                    SecurityEvent::RefreshTokenReused {
                        user_id: session.user_id,
                        session_id,
                        ip: origin.ip,
                    },
                    &context,
                )
                .await;
            }
            return Err(IdentityError::Unauthenticated);
        }
        self.record(
            Some(session.organization_id),
            SecurityEvent::TokenRefreshed {
                user_id: session.user_id,
                session_id,
            },
            &context,
        )
        .await;
        self.tokens(
            session.user_id,
            session.organization_id,
            session_id,
            user.security_version,
            new_token,
        )
    }

    /// Ends the session of a bearer token; its access token stops working at once.
    pub async fn logout(
        &self,
        who: &Authenticated,
        origin: &RequestOrigin,
    ) -> Result<(), IdentityError> {
        let Some(session_id) = who.session_id else {
            return Err(IdentityError::Unauthenticated);
        };
        let context = self.context(who.actor(), Some(who.organization_id), origin);
        self.handler
            .execute::<Session>(
                &stream_of::<Session>(session_id)?,
                SessionCommand::Revoke {
                    reason: RevocationReason::Logout,
                },
                &context,
            )
            .await?;
        Ok(())
    }

    /// Checks an access token against the current user and session: logout, disable, password
    /// or role change take effect on the next request.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Authenticated, IdentityError> {
        let now = Utc::now();
        let claims = self
            .keys()?
            .verify(token, now)
            .map_err(|_| IdentityError::Unauthenticated)?;
        let user = self.load_user(claims.sub).await?;
        let session = self
            .handler
            .load::<Session>(&stream_of::<Session>(claims.sid)?)
            .await?
            .state;
        let valid = user.id == Some(claims.sub)
            && user.organization_id == claims.org
            && !user.disabled
            && user.security_version == claims.ver
            && session.is_active(now)
            && session.user_id == claims.sub
            && session.user_security_version == user.security_version;
        if !valid {
            return Err(IdentityError::Unauthenticated);
        }
        Ok(Authenticated {
            user_id: claims.sub,
            organization_id: claims.org,
            role: user.role,
            session_id: Some(claims.sid),
            api_key_id: None,
            expires_at: chrono::DateTime::from_timestamp(claims.exp, 0),
        })
    }

    /// Checks an API key: known, not revoked or expired, owner still enabled; its role is capped
    /// by the owner's current role. Use is recorded at most once a minute.
    pub async fn authenticate_api_key(
        &self,
        key: &str,
        origin: &RequestOrigin,
    ) -> Result<Authenticated, IdentityError> {
        let now = Utc::now();
        let key_id = api_key_id(key).ok_or(IdentityError::Unauthenticated)?;
        let stream = stream_of::<ApiKey>(key_id)?;
        let state = self.handler.load::<ApiKey>(&stream).await?.state;
        if !state.is_usable(now) || !state.matches(&hash_secret(key)) {
            return Err(IdentityError::Unauthenticated);
        }
        let owner = self.load_user(state.owner_user_id).await?;
        if owner.disabled || owner.id.is_none() {
            return Err(IdentityError::Unauthenticated);
        }
        let context = self.context(
            format!("api-key:{key_id}"),
            Some(state.organization_id),
            origin,
        );
        if let Err(error) = self
            .handler
            .execute::<ApiKey>(&stream, ApiKeyCommand::RecordUse { at: now }, &context)
            .await
        {
            tracing::debug!(%error, "api key use not recorded");
        }
        Ok(Authenticated {
            user_id: state.owner_user_id,
            organization_id: state.organization_id,
            role: state.role.capped_at(owner.role),
            session_id: None,
            api_key_id: Some(key_id),
            expires_at: state.expires_at,
        })
    }
}

fn failure(user_id: Option<Uuid>, reason: LoginFailure, origin: &RequestOrigin) -> SecurityEvent {
    SecurityEvent::LoginFailed {
        user_id,
        ip: origin.ip,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_family_and_refuse_garbage() {
        let id = Uuid::now_v7();
        let token = refresh_token(id).unwrap();
        assert_eq!(session_of_refresh_token(&token), Some(id));
        for bad in [
            "",
            "mr_",
            "mr_x.y",
            &format!("mr_{}", id.simple()),
            &format!("mk_{}.{}", id.simple(), "a".repeat(43)),
        ] {
            assert_eq!(session_of_refresh_token(bad), None, "{bad}");
        }
        let (key, prefix) = api_key_text(id).unwrap();
        assert_eq!(api_key_id(&key), Some(id));
        assert!(key.starts_with(&prefix));
        assert_eq!(api_key_id(&token), None);
    }
}
