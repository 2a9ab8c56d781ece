//! Identity fields of the contract: registration, login, tokens, the caller, users, teams,
//! projects, API keys and TOTP. Each resolver checks the caller, asks the policy, calls one
//! service function and converts the answer.

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Object};
use commands::identity::accounts::{NewOrganization, NewUser};
use commands::identity::sessions::LoginOutcome;
use domain::policy::{Action, Resource, permission};
use projections::read_models::identity::queries;

use super::context::{Anonymous, Caller, Viewer, settle_within};
use super::error::{ErrorCode, identity_error, internal, not_found};
use super::types::{
    AuthPayload, CreatedApiKey, LoginPayload, Project, Role, Team, TokenPair, TotpEnrollment, User,
    parse_id,
};
use super::{cost, paging};

#[derive(InputObject)]
pub struct RegisterOrganizationInput {
    pub organization_name: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    pub totp: Option<String>,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
}

#[derive(InputObject)]
pub struct CreateTeamInput {
    pub name: String,
}

#[derive(InputObject)]
pub struct CreateProjectInput {
    pub name: String,
    pub team_id: ID,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Waits until the read models show everything written so far (read-your-writes), at most a
/// moment: a lagging projection delays the answer, it never fails it.
async fn settle(ctx: &Context<'_>) -> async_graphql::Result<()> {
    settle_within(ctx, Duration::from_secs(2)).await
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The caller.
    #[graphql(complexity = "cost::lookup(child_complexity)")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let caller = Caller::of(ctx).await?;
        caller
            .authorize::<permission::ReadSelf>(&caller.own_user())
            .await?;
        let user = caller
            .state
            .identity
            .user_resource(caller.who.user_id)
            .await
            .map_err(identity_error)?
            .ok_or_else(not_found)?;
        Ok(User::from_state(&user.1, caller.viewer()))
    }

    /// A page of the projects of the caller's organization the caller may read, ordered by
    /// name; `after` is the id of the last project of the previous page.
    #[graphql(
        complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_PAGE, child_complexity)"
    )]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "paging::DEFAULT_PAGE")] first: i32,
        after: Option<ID>,
    ) -> async_graphql::Result<Vec<Project>> {
        let caller = Caller::of(ctx).await?;
        let page = paging::page(first, after.as_ref())?;
        let viewer = caller.viewer();
        let scope = viewer.list_scope(caller.state, Action::ReadProject).await?;
        let listed = queries::projects_page(&caller.state.read_models, &scope, page)
            .await
            .map_err(|e| internal("projects", e))?;
        let rows = paging::rows(listed)?;
        let mut projects = Vec::with_capacity(rows.len());
        for row in &rows {
            let resource = Resource::Project {
                organization_id: row.organization_id,
                team_id: row.team_id,
            };
            if caller.may(Action::ReadProject, &resource).await? {
                projects.push(Project::from_row(row, viewer.clone()));
            }
        }
        Ok(projects)
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an organization and its first administrator (when sign-up is open).
    #[graphql(complexity = "cost::AUTH")]
    async fn register_organization(
        &self,
        ctx: &Context<'_>,
        input: RegisterOrganizationInput,
    ) -> async_graphql::Result<AuthPayload> {
        let anonymous = Anonymous::of(ctx)?;
        let (state, origin) = (anonymous.state, *anonymous.origin());
        let new = NewOrganization {
            organization_name: input.organization_name,
            email: input.email,
            password: input.password,
            display_name: input.display_name,
        };
        let (user, tokens) = state
            .identity
            .register_organization(&new, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(AuthPayload {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: i64::try_from(tokens.expires_in).unwrap_or(i64::MAX),
            user: User::from_state(&user, Viewer::signed_in(&user)),
        })
    }

    #[graphql(complexity = "cost::AUTH")]
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<LoginPayload> {
        let anonymous = Anonymous::of(ctx)?;
        let (state, origin) = (anonymous.state, *anonymous.origin());
        let outcome = state
            .identity
            .login(
                &input.email,
                &input.password,
                input.totp.as_deref(),
                &origin,
            )
            .await
            .map_err(identity_error)?;
        match outcome {
            LoginOutcome::MfaRequired => Ok(LoginPayload {
                access_token: None,
                refresh_token: None,
                expires_in: None,
                mfa_required: true,
                user: None,
            }),
            LoginOutcome::SignedIn(tokens) => {
                let user = state
                    .identity
                    .user_resource(tokens.user_id)
                    .await
                    .map_err(identity_error)?
                    .map(|(_, user)| User::from_state(&user, Viewer::signed_in(&user)));
                Ok(LoginPayload {
                    access_token: Some(tokens.access_token),
                    refresh_token: Some(tokens.refresh_token),
                    expires_in: Some(i64::try_from(tokens.expires_in).unwrap_or(i64::MAX)),
                    mfa_required: false,
                    user,
                })
            }
        }
    }

    /// Trades a refresh token for a new pair; the old one is spent.
    #[graphql(complexity = "cost::AUTH")]
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<TokenPair> {
        let anonymous = Anonymous::of(ctx)?;
        let (state, origin) = (anonymous.state, *anonymous.origin());
        let tokens = state
            .identity
            .refresh(&refresh_token, &origin)
            .await
            .map_err(identity_error)?;
        Ok(TokenPair {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: i64::try_from(tokens.expires_in).unwrap_or(i64::MAX),
        })
    }

    /// Ends the caller's session.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let caller = Caller::of(ctx).await?;
        if caller.who.api_key_id.is_some() {
            // A key has no session to end; revoking it is `revokeApiKey`.
            return Err(ErrorCode::Forbidden.error("not allowed"));
        }
        caller
            .state
            .identity
            .logout(&caller.who, caller.origin())
            .await
            .map_err(identity_error)?;
        Ok(true)
    }

    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<User> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::Organization(caller.who.organization_id);
        let grant = caller
            .authorize_grant::<permission::ManageUsers>(&resource, input.role.into())
            .await?;
        let state = caller.state;
        let origin = *caller.origin();
        let new = NewUser {
            email: input.email,
            password: input.password,
            display_name: input.display_name,
        };
        let user = state
            .identity
            .create_user(&grant, &new, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(User::from_state(&user, caller.viewer()))
    }

    async fn change_user_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: Role,
    ) -> async_graphql::Result<User> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let target = parse_id(&user_id).ok_or_else(not_found)?;
        let (resource, _) = state
            .identity
            .user_resource(target)
            .await
            .map_err(identity_error)?
            .ok_or_else(not_found)?;
        let grant = caller
            .authorize_grant::<permission::ManageUsers>(&resource, role.into())
            .await?;
        let user = state
            .identity
            .change_role(&grant, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(User::from_state(&user, caller.viewer()))
    }

    async fn disable_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let target = parse_id(&user_id).ok_or_else(not_found)?;
        let (resource, _) = state
            .identity
            .user_resource(target)
            .await
            .map_err(identity_error)?
            .ok_or_else(not_found)?;
        let proof = caller
            .authorize::<permission::ManageUsers>(&resource)
            .await?;
        let user = state
            .identity
            .disable_user(&proof, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(User::from_state(&user, caller.viewer()))
    }

    async fn create_team(
        &self,
        ctx: &Context<'_>,
        input: CreateTeamInput,
    ) -> async_graphql::Result<Team> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::Organization(caller.who.organization_id);
        let proof = caller
            .authorize::<permission::ManageTeams>(&resource)
            .await?;
        let state = caller.state;
        let origin = *caller.origin();
        let team = state
            .identity
            .create_team(&proof, &input.name, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(Team::from_state(&team, caller.viewer()))
    }

    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        team_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<Team> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let team_uuid = parse_id(&team_id).ok_or_else(not_found)?;
        let member = parse_id(&user_id).ok_or_else(not_found)?;
        let team = state
            .identity
            .team_state(team_uuid)
            .await
            .map_err(identity_error)?
            .ok_or_else(not_found)?;
        let resource = Resource::Team {
            organization_id: team.organization_id,
            team_id: team_uuid,
        };
        let proof = caller
            .authorize::<permission::ManageTeams>(&resource)
            .await?;
        let team = state
            .identity
            .add_team_member(&proof, member, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(Team::from_state(&team, caller.viewer()))
    }

    async fn create_project(
        &self,
        ctx: &Context<'_>,
        input: CreateProjectInput,
    ) -> async_graphql::Result<Project> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let team_uuid = parse_id(&input.team_id).ok_or_else(not_found)?;
        let team = state
            .identity
            .team_state(team_uuid)
            .await
            .map_err(identity_error)?
            .ok_or_else(not_found)?;
        let resource = Resource::Team {
            organization_id: team.organization_id,
            team_id: team_uuid,
        };
        let proof = caller
            .authorize::<permission::CreateProject>(&resource)
            .await?;
        let project = state
            .identity
            .create_project(&proof, &input.name, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(Project::from_state(&project, caller.viewer()))
    }

    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreatedApiKey> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::ApiKey {
            organization_id: caller.who.organization_id,
            owner_user_id: caller.who.user_id,
        };
        let grant = caller
            .authorize_grant::<permission::ManageApiKeys>(&resource, input.role.into())
            .await?;
        let state = caller.state;
        let origin = *caller.origin();
        let created = state
            .identity
            .create_api_key(&grant, &input.name, input.expires_at, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(CreatedApiKey {
            id: super::types::id(created.id),
            key: created.key,
            prefix: created.prefix,
        })
    }

    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let key_id = parse_id(&id).ok_or_else(not_found)?;
        let key = state
            .identity
            .api_key_state(key_id)
            .await
            .map_err(identity_error)?
            .ok_or_else(not_found)?;
        let resource = Resource::ApiKey {
            organization_id: key.organization_id,
            owner_user_id: key.owner_user_id,
        };
        let proof = caller
            .authorize::<permission::ManageApiKeys>(&resource)
            .await?;
        state
            .identity
            .revoke_api_key(&proof, key_id, &origin)
            .await
            .map_err(identity_error)?;
        settle(ctx).await?;
        Ok(true)
    }

    async fn enroll_totp(&self, ctx: &Context<'_>) -> async_graphql::Result<TotpEnrollment> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::User {
            organization_id: caller.who.organization_id,
            user_id: caller.who.user_id,
        };
        let proof = caller.authorize::<permission::EnrollMfa>(&resource).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let enrollment = state
            .identity
            .enroll_totp(&proof, &origin)
            .await
            .map_err(identity_error)?;
        Ok(TotpEnrollment {
            secret: enrollment.secret,
            otpauth_url: enrollment.otpauth_url,
        })
    }

    /// Confirms TOTP with a current code; false when the code is wrong.
    #[graphql(complexity = "cost::AUTH")]
    async fn confirm_totp(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<bool> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::User {
            organization_id: caller.who.organization_id,
            user_id: caller.who.user_id,
        };
        let proof = caller.authorize::<permission::EnrollMfa>(&resource).await?;
        let state = caller.state;
        let origin = *caller.origin();
        state
            .identity
            .confirm_totp(&proof, &code, &origin)
            .await
            .map_err(identity_error)
    }
}
