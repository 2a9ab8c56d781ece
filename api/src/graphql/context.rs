//! What each request carries into the resolvers: where it came from and the credential it
//! presented, checked once per request against the current state of the user and session.

use std::collections::BTreeSet;

use async_graphql::Context;
use commands::identity::{Authenticated, IdentityError, RequestOrigin};
use domain::policy::Authorized;
use domain::policy::{Denied, DenyReason, Principal, Resource, check, permission::Permission};
use tokio::sync::OnceCell;

use super::error::{ErrorCode, identity_error, internal};
use crate::state::AppState;

/// The credential a request presented.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Bearer(String),
    ApiKey(String),
}

pub struct RequestContext {
    pub origin: RequestOrigin,
    pub credential: Credential,
    checked: OnceCell<Option<Authenticated>>,
}

impl RequestContext {
    pub fn new(origin: RequestOrigin, credential: Credential) -> Self {
        Self {
            origin,
            credential,
            checked: OnceCell::new(),
        }
    }

    /// A request whose credential was already checked (WebSocket `connection_init`).
    pub fn authenticated(origin: RequestOrigin, who: Authenticated) -> Self {
        Self {
            origin,
            credential: Credential::None,
            checked: OnceCell::new_with(Some(Some(who))),
        }
    }
}

/// Checks a credential; `None` when it is absent or no longer valid.
pub async fn check_credential(
    state: &AppState,
    credential: &Credential,
    origin: &RequestOrigin,
) -> Result<Option<Authenticated>, IdentityError> {
    let result = match credential {
        Credential::None => return Ok(None),
        Credential::Bearer(token) => state.identity.authenticate_bearer(token).await,
        Credential::ApiKey(key) => state.identity.authenticate_api_key(key, origin).await,
    };
    match result {
        Ok(who) => Ok(Some(who)),
        Err(IdentityError::Unauthenticated) => Ok(None),
        Err(other) => Err(other),
    }
}

pub fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppState> {
    ctx.data::<AppState>()
        .map_err(|_| ErrorCode::Internal.error("internal error"))
}

pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestContext> {
    ctx.data::<RequestContext>()
        .map_err(|_| ErrorCode::Internal.error("internal error"))
}

/// The authenticated caller, or UNAUTHENTICATED.
pub async fn authenticated(ctx: &Context<'_>) -> async_graphql::Result<Authenticated> {
    let state = state(ctx)?;
    let request = request(ctx)?;
    let checked = request
        .checked
        .get_or_try_init(|| check_credential(state, &request.credential, &request.origin))
        .await
        .map_err(identity_error)?;
    checked
        .clone()
        .ok_or_else(|| ErrorCode::Unauthenticated.error("authentication required"))
}

/// The caller as the policy sees them, with their current teams.
pub async fn principal(ctx: &Context<'_>) -> async_graphql::Result<(Principal, Authenticated)> {
    let who = authenticated(ctx).await?;
    let state = state(ctx)?;
    let teams =
        projections::read_models::identity::queries::teams_of_user(&state.read_models, who.user_id)
            .await
            .map_err(|e| internal("teams of user", e))?;
    let principal = Principal {
        user_id: who.user_id,
        organization_id: who.organization_id,
        role: who.role,
        teams: teams.iter().map(|team| team.id).collect::<BTreeSet<_>>(),
        via_api_key: who.api_key_id.is_some(),
    };
    Ok((principal, who))
}

/// The caller as the policy sees them for actions on themselves (their user, their API keys,
/// their MFA): ownership of those never depends on teams, so none are looked up.
pub async fn self_principal(
    ctx: &Context<'_>,
) -> async_graphql::Result<(Principal, Authenticated)> {
    let who = authenticated(ctx).await?;
    let principal = Principal {
        user_id: who.user_id,
        organization_id: who.organization_id,
        role: who.role,
        teams: BTreeSet::new(),
        via_api_key: who.api_key_id.is_some(),
    };
    Ok((principal, who))
}

/// Asks the policy; a refusal is recorded as a security event. Another organization's
/// resource answers NOT_FOUND, exactly like a missing one.
pub async fn authorize<P: Permission>(
    ctx: &Context<'_>,
    principal: &Principal,
    who: &Authenticated,
    resource: &Resource,
) -> async_graphql::Result<Authorized<P>> {
    match check::<P>(principal, resource) {
        Ok(proof) => Ok(proof),
        Err(denied) => {
            let state = state(ctx)?;
            let request = request(ctx)?;
            state
                .identity
                .record_denied(who, &denied, &request.origin)
                .await;
            Err(denied_error(&denied))
        }
    }
}

pub fn denied_error(denied: &Denied) -> async_graphql::Error {
    if denied.reason == DenyReason::OtherOrganization {
        super::error::not_found()
    } else {
        ErrorCode::Forbidden.error("not allowed")
    }
}

/// Waits until the read models reflect everything appended so far, at most `within` each, so a
/// mutation's answer (and the caller's next query) sees its own change.
pub async fn settle_within(
    ctx: &Context<'_>,
    within: std::time::Duration,
) -> async_graphql::Result<()> {
    let state = state(ctx)?;
    if let Some(head) = state.store.head().await.map_err(super::error::from_store)? {
        for name in state.projections.names() {
            state.projections.wait_for(name, head, within).await;
        }
    }
    Ok(())
}
