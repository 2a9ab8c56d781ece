//! OpenID Connect login fields: `oidcBegin` returns the provider's authorization URL,
//! `oidcComplete` takes the callback's `state`, `code` and `iss` and signs in (or links the
//! identity to the caller), and `oidcVerifyTotp` finishes a login that needs a TOTP code.
//!
//! The client keeps the `state` of the URL it was given and completes only callbacks carrying
//! that state (the server spends each state once, but cannot tell browsers apart).

use async_graphql::{Context, Object, SimpleObject};
use commands::identity::{AuthTokens, OidcOutcome, OidcPurpose};

use super::context::{Anonymous, Caller};
use super::error::identity_error;

#[derive(SimpleObject)]
pub struct OidcBeginPayload {
    /// Where to send the browser: the provider's authorization endpoint with state, nonce and
    /// PKCE challenge.
    pub authorization_url: String,
}

/// What an OIDC callback produced: tokens after a login, `linked` after a link, or
/// `mfaRequired` with an `mfaToken` to pass to `oidcVerifyTotp` with a TOTP code.
#[derive(SimpleObject, Default)]
pub struct OidcCompletePayload {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires.
    pub expires_in: Option<i64>,
    /// The identity is now linked to the caller.
    pub linked: bool,
    pub mfa_required: bool,
    /// Single use, valid for five minutes.
    pub mfa_token: Option<String>,
}

impl OidcCompletePayload {
    fn signed_in(tokens: AuthTokens) -> Self {
        Self {
            access_token: Some(tokens.access_token),
            refresh_token: Some(tokens.refresh_token),
            expires_in: Some(i64::try_from(tokens.expires_in).unwrap_or(i64::MAX)),
            ..Self::default()
        }
    }
}

#[derive(Default)]
pub struct OidcMutation;

#[Object]
impl OidcMutation {
    /// Starts an OIDC login with a configured provider, or with `link` the linking of an OIDC
    /// identity to the signed-in caller.
    #[graphql(complexity = "super::cost::AUTH")]
    async fn oidc_begin(
        &self,
        ctx: &Context<'_>,
        provider: String,
        #[graphql(default = false)] link: bool,
    ) -> async_graphql::Result<OidcBeginPayload> {
        let purpose = if link {
            OidcPurpose::Link(Caller::of(ctx).await?.who)
        } else {
            OidcPurpose::Login
        };
        let anonymous = Anonymous::of(ctx)?;
        let (state, origin) = (anonymous.state, *anonymous.origin());
        let authorization_url = state
            .identity
            .oidc_begin(&provider, purpose, &origin)
            .await
            .map_err(identity_error)?;
        Ok(OidcBeginPayload { authorization_url })
    }

    /// Completes an OIDC flow from the provider's callback parameters; each `state` works once.
    /// A link must be completed by the user who started it.
    #[graphql(complexity = "super::cost::AUTH")]
    async fn oidc_complete(
        &self,
        ctx: &Context<'_>,
        state: String,
        code: String,
        iss: Option<String>,
    ) -> async_graphql::Result<OidcCompletePayload> {
        let anonymous = Anonymous::of(ctx)?;
        let caller = anonymous
            .caller()
            .await
            .ok()
            .flatten()
            .map(|caller| caller.who);
        let origin = *anonymous.origin();
        let outcome = anonymous
            .state
            .identity
            .oidc_complete(&state, &code, iss.as_deref(), caller.as_ref(), &origin)
            .await
            .map_err(identity_error)?;
        Ok(match outcome {
            OidcOutcome::SignedIn(tokens) => OidcCompletePayload::signed_in(tokens),
            OidcOutcome::Linked { .. } => OidcCompletePayload {
                linked: true,
                ..OidcCompletePayload::default()
            },
            OidcOutcome::MfaRequired { mfa_token } => OidcCompletePayload {
                mfa_required: true,
                mfa_token: Some(mfa_token),
                ..OidcCompletePayload::default()
            },
        })
    }

    /// Finishes an OIDC login that answered `mfaRequired`; the `mfaToken` is spent either way.
    #[graphql(complexity = "super::cost::AUTH")]
    async fn oidc_verify_totp(
        &self,
        ctx: &Context<'_>,
        mfa_token: String,
        totp: String,
    ) -> async_graphql::Result<OidcCompletePayload> {
        let anonymous = Anonymous::of(ctx)?;
        let (state, origin) = (anonymous.state, *anonymous.origin());
        let tokens = state
            .identity
            .oidc_verify_totp(&mfa_token, &totp, &origin)
            .await
            .map_err(identity_error)?;
        Ok(OidcCompletePayload::signed_in(tokens))
    }
}
