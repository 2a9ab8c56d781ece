//! What each request carries into the resolvers, and the [`Caller`]: the one place where a
//! credential becomes a principal, the policy is asked, a refusal is audited and another
//! organization's resource becomes NOT_FOUND.

use std::collections::BTreeSet;

use async_graphql::Context;
use commands::identity::{Authenticated, IdentityError, RequestOrigin};
use domain::policy::permission::Permission;
use domain::policy::{Action, Authorized, Principal, Resource, check};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::error::{ErrorCode, denied_error, identity_error, internal};
use crate::state::AppState;

/// The credential a request presented: `Authorization: Bearer ...` or `X-Api-Key: ...` over
/// HTTP, `{"authorization": "Bearer ..."}` or `{"apiKey": "mk_..."}` in a WebSocket
/// `connection_init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Bearer(String),
    ApiKey(String),
}

impl Credential {
    /// The one parser for both transports: an API key wins over an authorization value; the
    /// authorization value must be `Bearer <token>` (scheme case-insensitive).
    pub fn parse(authorization: Option<&str>, api_key: Option<&str>) -> Credential {
        if let Some(key) = api_key {
            return Credential::ApiKey(key.trim().to_owned());
        }
        authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| Credential::Bearer(token.trim().to_owned()))
            })
            .unwrap_or(Credential::None)
    }
}

/// Per-request data: where the request came from, what credential it carried, and what the
/// checks of that credential found (each done at most once per request).
pub struct RequestContext {
    pub origin: RequestOrigin,
    pub credential: Credential,
    checked: OnceCell<Option<Authenticated>>,
    teams: OnceCell<BTreeSet<Uuid>>,
}

impl RequestContext {
    pub fn new(origin: RequestOrigin, credential: Credential) -> Self {
        Self {
            origin,
            credential,
            checked: OnceCell::new(),
            teams: OnceCell::new(),
        }
    }

    /// A request whose credential was already checked (WebSocket `connection_init`).
    pub fn authenticated(origin: RequestOrigin, who: Authenticated) -> Self {
        Self {
            origin,
            credential: Credential::None,
            checked: OnceCell::new_with(Some(Some(who))),
            teams: OnceCell::new(),
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

/// Anyone calling, signed in or not: what the public fields (login, registration, refresh,
/// OIDC callbacks) need.
pub struct Anonymous<'a> {
    pub state: &'a AppState,
    pub request: &'a RequestContext,
}

impl<'a> Anonymous<'a> {
    pub fn of(ctx: &Context<'a>) -> async_graphql::Result<Anonymous<'a>> {
        Ok(Anonymous {
            state: state(ctx)?,
            request: request(ctx)?,
        })
    }

    pub fn origin(&self) -> &RequestOrigin {
        &self.request.origin
    }

    /// The caller if the request carries a valid credential, else `None`.
    pub async fn caller(&self) -> async_graphql::Result<Option<Caller<'a>>> {
        let checked = self
            .request
            .checked
            .get_or_try_init(|| {
                check_credential(self.state, &self.request.credential, &self.request.origin)
            })
            .await
            .map_err(identity_error)?;
        Ok(checked.clone().map(|who| Caller {
            state: self.state,
            request: self.request,
            who,
        }))
    }
}

/// The authenticated caller of a request. Every resolver that needs a credential starts with
/// [`Caller::of`] and asks [`Caller::authorize`] (or [`Caller::may`] to filter rows) before it
/// reads or changes anything.
pub struct Caller<'a> {
    pub state: &'a AppState,
    pub request: &'a RequestContext,
    pub who: Authenticated,
}

impl<'a> Caller<'a> {
    /// The authenticated caller, or UNAUTHENTICATED.
    pub async fn of(ctx: &Context<'a>) -> async_graphql::Result<Caller<'a>> {
        Anonymous::of(ctx)?
            .caller()
            .await?
            .ok_or_else(|| ErrorCode::Unauthenticated.error("authentication required"))
    }

    pub fn origin(&self) -> &RequestOrigin {
        &self.request.origin
    }

    /// The caller's organization as a resource (lists, organization-wide actions).
    pub fn organization(&self) -> Resource {
        Resource::Organization(self.who.organization_id)
    }

    /// The caller's own user as a resource (self actions).
    pub fn own_user(&self) -> Resource {
        Resource::User {
            organization_id: self.who.organization_id,
            user_id: self.who.user_id,
        }
    }

    /// The caller as the policy sees them for `resource`. Teams are looked up (once per
    /// request) only when ownership of `resource` depends on them.
    pub async fn principal_for(&self, resource: &Resource) -> async_graphql::Result<Principal> {
        let teams = if resource.is_team_owned() {
            self.teams().await?.clone()
        } else {
            BTreeSet::new()
        };
        Ok(Principal {
            user_id: self.who.user_id,
            organization_id: self.who.organization_id,
            role: self.who.role,
            teams,
            via_api_key: self.who.api_key_id.is_some(),
        })
    }

    async fn teams(&self) -> async_graphql::Result<&BTreeSet<Uuid>> {
        self.request
            .teams
            .get_or_try_init(|| async {
                projections::read_models::identity::queries::teams_of_user(
                    &self.state.read_models,
                    self.who.user_id,
                )
                .await
                .map(|teams| teams.iter().map(|team| team.id).collect())
                .map_err(|e| internal("teams of user", e))
            })
            .await
    }

    /// Asks the policy for `P` on `resource`. A refusal is recorded as a security event and
    /// answered FORBIDDEN, or NOT_FOUND (exactly like a missing id) for another organization's
    /// resource, whose refusal is not recorded: it would tell the caller's audit stream about
    /// another tenant.
    pub async fn authorize<P: Permission>(
        &self,
        resource: &Resource,
    ) -> async_graphql::Result<Authorized<P>> {
        let principal = self.principal_for(resource).await?;
        match check::<P>(&principal, resource) {
            Ok(proof) => Ok(proof),
            Err(denied) => {
                if denied.reason != domain::policy::DenyReason::OtherOrganization {
                    self.state
                        .identity
                        .record_denied(&self.who, &denied, self.origin())
                        .await;
                }
                Err(denied_error(&denied))
            }
        }
    }

    /// Whether the policy allows `action` on `resource`, for filtering rows of a list (nothing
    /// is recorded: a row the caller may not see is simply left out).
    pub async fn may(&self, action: Action, resource: &Resource) -> async_graphql::Result<bool> {
        let principal = self.principal_for(resource).await?;
        Ok(domain::policy::authorize(&principal, action, resource).is_ok())
    }
}

/// Waits until the read models reflect everything appended so far, at most `within` each, so a
/// mutation's answer (and the caller's next query) sees its own change.
pub async fn settle_within(
    ctx: &Context<'_>,
    within: std::time::Duration,
) -> async_graphql::Result<()> {
    let state = state(ctx)?;
    if let Some(head) = state.log.head().await.map_err(super::error::from_store)? {
        for name in state.projections.names() {
            state.projections.wait_for(name, head, within).await;
        }
    }
    Ok(())
}
