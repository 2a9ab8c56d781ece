//! What each request carries into the resolvers, and the [`Caller`]: the one place where a
//! credential becomes a principal, the policy is asked, a refusal is audited and another
//! organization's resource becomes NOT_FOUND. The objects of an answer carry the [`Viewer`]
//! they are shown to, so their nested fields ask the same policy.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use async_graphql::Context;
use commands::identity::{Authenticated, IdentityError, RequestOrigin};
use domain::identity::{Role, UserState};
use domain::policy::permission::Permission;
use domain::policy::{
    Action, Authorized, Denied, GrantsRoles, Principal, Resource, RoleGrant, check, check_grant,
};
use projections::read_models::page::Scope;
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
    viewer: OnceLock<Viewer>,
}

impl RequestContext {
    pub fn new(origin: RequestOrigin, credential: Credential) -> Self {
        Self {
            origin,
            credential,
            checked: OnceCell::new(),
            viewer: OnceLock::new(),
        }
    }

    /// A request whose credential was already checked (WebSocket `connection_init`).
    pub fn authenticated(origin: RequestOrigin, who: Authenticated) -> Self {
        Self {
            origin,
            credential: Credential::None,
            checked: OnceCell::new_with(Some(Some(who))),
            viewer: OnceLock::new(),
        }
    }
}

/// Who the objects of an answer are shown to. Every object type with fields that read more
/// (a user's teams, a team's members, a project's team, a scan's findings) carries the viewer
/// of the resolver that made it, and those fields ask the policy for that viewer, row by row:
/// a field deep in a document is decided exactly like a root field. An object cannot be made
/// without saying who sees it.
///
/// The viewer is the request's caller, or for the answer of a login or a registration the
/// user who just signed in.
#[derive(Clone)]
pub struct Viewer(Arc<ViewerState>);

struct ViewerState {
    user_id: Uuid,
    organization_id: Uuid,
    role: Role,
    via_api_key: bool,
    /// The viewer's teams, looked up once, when ownership first depends on them.
    teams: OnceCell<BTreeSet<Uuid>>,
}

impl Viewer {
    fn new(user_id: Uuid, organization_id: Uuid, role: Role, via_api_key: bool) -> Self {
        Viewer(Arc::new(ViewerState {
            user_id,
            organization_id,
            role,
            via_api_key,
            teams: OnceCell::new(),
        }))
    }

    /// The holder of a checked credential.
    pub fn of(who: &Authenticated) -> Self {
        Viewer::new(
            who.user_id,
            who.organization_id,
            who.role,
            who.api_key_id.is_some(),
        )
    }

    /// A user who has just signed in (the answer of a login or a registration).
    pub fn signed_in(user: &UserState) -> Self {
        Viewer::new(
            user.id.unwrap_or_default(),
            user.organization_id,
            user.role,
            false,
        )
    }

    pub fn user_id(&self) -> Uuid {
        self.0.user_id
    }

    /// The viewer as the policy sees them for `resource`. Teams are looked up (once) only when
    /// ownership of `resource` depends on them.
    pub async fn principal_for(
        &self,
        state: &AppState,
        resource: &Resource,
    ) -> async_graphql::Result<Principal> {
        let teams = if resource.is_team_owned() {
            self.teams(state).await?.clone()
        } else {
            BTreeSet::new()
        };
        Ok(Principal {
            user_id: self.0.user_id,
            organization_id: self.0.organization_id,
            role: self.0.role,
            teams,
            via_api_key: self.0.via_api_key,
        })
    }

    async fn teams(&self, state: &AppState) -> async_graphql::Result<&BTreeSet<Uuid>> {
        self.0
            .teams
            .get_or_try_init(|| async {
                projections::read_models::identity::queries::teams_of_user(
                    &state.read_models,
                    self.0.user_id,
                )
                .await
                .map(|teams| teams.iter().map(|team| team.id).collect())
                .map_err(|e| internal("teams of user", e))
            })
            .await
    }

    /// Whether the policy allows `action` on `resource` (nothing is recorded: a row the viewer
    /// may not see is simply left out).
    pub async fn may(
        &self,
        state: &AppState,
        action: Action,
        resource: &Resource,
    ) -> async_graphql::Result<bool> {
        let principal = self.principal_for(state, resource).await?;
        Ok(domain::policy::authorize(&principal, action, resource).is_ok())
    }

    /// Whether the viewer may see a user: themselves (`ReadSelf`), anyone else by `ReadUsers`.
    pub async fn may_see_user(
        &self,
        state: &AppState,
        organization_id: Uuid,
        user_id: Uuid,
    ) -> async_graphql::Result<bool> {
        let user = Resource::User {
            organization_id,
            user_id,
        };
        let action = if user_id == self.0.user_id {
            Action::ReadSelf
        } else {
            Action::ReadUsers
        };
        self.may(state, action, &user).await
    }

    /// The rows of the viewer's organization a list for `action` may show: all of them when
    /// the policy allows `action` organization-wide, else those of the viewer's own teams
    /// (each row is still asked about on its own).
    pub async fn list_scope(
        &self,
        state: &AppState,
        action: Action,
    ) -> async_graphql::Result<Scope> {
        let organization = Resource::Organization(self.0.organization_id);
        Ok(if self.may(state, action, &organization).await? {
            Scope::Organization(self.0.organization_id)
        } else {
            Scope::TeamsOf {
                organization_id: self.0.organization_id,
                user_id: self.0.user_id,
            }
        })
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

    /// The caller as the viewer of the objects their request answers with (one per request,
    /// so the caller's teams are looked up at most once).
    pub fn viewer(&self) -> Viewer {
        self.request
            .viewer
            .get_or_init(|| Viewer::of(&self.who))
            .clone()
    }

    /// The caller as the policy sees them for `resource`.
    pub async fn principal_for(&self, resource: &Resource) -> async_graphql::Result<Principal> {
        self.viewer().principal_for(self.state, resource).await
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
            Err(denied) => Err(self.refused(&denied).await),
        }
    }

    /// [`Caller::authorize`], and then the role ceiling: the proof a service needs to hand out
    /// `role`. A role above the caller's own is refused (and recorded) like any other denial.
    pub async fn authorize_grant<P: GrantsRoles>(
        &self,
        resource: &Resource,
        role: Role,
    ) -> async_graphql::Result<RoleGrant<P>> {
        let principal = self.principal_for(resource).await?;
        match check_grant::<P>(&principal, resource, role) {
            Ok(grant) => Ok(grant),
            Err(denied) => Err(self.refused(&denied).await),
        }
    }

    /// Records a refusal (unless it concerns another organization) and answers it.
    async fn refused(&self, denied: &Denied) -> async_graphql::Error {
        if denied.reason != domain::policy::DenyReason::OtherOrganization {
            self.state
                .identity
                .record_denied(&self.who, denied, self.origin())
                .await;
        }
        denied_error(denied)
    }

    /// Whether the policy allows `action` on `resource`, for filtering rows of a list (nothing
    /// is recorded: a row the caller may not see is simply left out).
    pub async fn may(&self, action: Action, resource: &Resource) -> async_graphql::Result<bool> {
        self.viewer().may(self.state, action, resource).await
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
