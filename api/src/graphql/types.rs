//! GraphQL object types of identity, converted by hand from domain states and read-model rows.

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject};
use domain::identity::Role as DomainRole;
use domain::policy::{Action, Resource};
use projections::read_models::identity::queries;
use uuid::Uuid;

use super::context::{Viewer, state};
use super::error::{internal, not_found};
use super::{cost, paging};
use crate::state::AppState;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "Role", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Analyst,
    User,
    ReadOnly,
}

impl From<DomainRole> for Role {
    fn from(role: DomainRole) -> Self {
        match role {
            DomainRole::Admin => Role::Admin,
            DomainRole::Analyst => Role::Analyst,
            DomainRole::User => Role::User,
            DomainRole::ReadOnly => Role::ReadOnly,
        }
    }
}

impl From<Role> for DomainRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => DomainRole::Admin,
            Role::Analyst => DomainRole::Analyst,
            Role::User => DomainRole::User,
            Role::ReadOnly => DomainRole::ReadOnly,
        }
    }
}

pub fn id(uuid: Uuid) -> ID {
    ID(uuid.to_string())
}

/// Parses an id argument; a malformed id is simply not found.
pub fn parse_id(id: &ID) -> Option<Uuid> {
    Uuid::try_parse(id.as_str()).ok()
}

#[derive(SimpleObject, Clone)]
pub struct Organization {
    pub id: ID,
    pub name: String,
}

// A user's nested fields are shown to `viewer` as the policy allows: the organization and
// teams of a user the viewer may see (themselves, or anyone with `ReadUsers`), and of those
// teams only the ones the viewer may read.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    #[graphql(skip)]
    pub user_id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[graphql(skip)]
    pub viewer: Viewer,
}

impl User {
    pub fn from_state(state: &domain::identity::UserState, viewer: Viewer) -> Self {
        let user_id = state.id.unwrap_or_default();
        Self {
            id: id(user_id),
            email: state
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            display_name: state.display_name.clone(),
            role: state.role.into(),
            disabled: state.disabled,
            user_id,
            organization_id: state.organization_id,
            viewer,
        }
    }

    pub fn from_row(row: &queries::UserRow, viewer: Viewer) -> Self {
        Self {
            id: id(row.id),
            email: row
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            display_name: row.display_name.clone(),
            role: row.role.into(),
            disabled: row.disabled,
            user_id: row.id,
            organization_id: row.organization_id,
            viewer,
        }
    }

    /// Whether the viewer may see this user at all.
    async fn visible(&self, state: &AppState) -> async_graphql::Result<bool> {
        self.viewer
            .may_see_user(state, self.organization_id, self.user_id)
            .await
    }
}

#[ComplexObject]
impl User {
    #[graphql(complexity = "cost::lookup(child_complexity)")]
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let state = state(ctx)?;
        if !self.visible(state).await? {
            return Err(not_found());
        }
        let name = state
            .identity
            .organization_name(self.organization_id)
            .await
            .map_err(super::error::identity_error)?;
        Ok(Organization {
            id: id(self.organization_id),
            name: name.unwrap_or_default(),
        })
    }

    /// The user's teams the caller may read (every one for administrators and analysts, else
    /// only those the caller belongs to as well), ordered by name; `after` is the id of the
    /// last team of the previous page.
    #[graphql(
        complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_PAGE, child_complexity)"
    )]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "paging::DEFAULT_PAGE")] first: i32,
        after: Option<ID>,
    ) -> async_graphql::Result<Vec<Team>> {
        let page = paging::page(first, after.as_ref())?;
        let state = state(ctx)?;
        if !self.visible(state).await? {
            return Ok(Vec::new());
        }
        let organization = Resource::Organization(self.organization_id);
        let shared_with = if self
            .viewer
            .may(state, Action::ReadTeams, &organization)
            .await?
        {
            None
        } else {
            Some(self.viewer.user_id())
        };
        let listed =
            queries::teams_of_user_page(&state.read_models, self.user_id, shared_with, page)
                .await
                .map_err(|e| internal("teams of user", e))?;
        let mut teams = Vec::new();
        for row in paging::rows(listed)? {
            let team = Resource::Team {
                organization_id: row.organization_id,
                team_id: row.id,
            };
            if self.viewer.may(state, Action::ReadTeams, &team).await? {
                teams.push(Team::from_row(&row, self.viewer.clone()));
            }
        }
        Ok(teams)
    }
}

// A team's members are shown to `viewer` as the policy allows: everyone with `ReadUsers`
// organization-wide, else only the viewer themselves.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Team {
    pub id: ID,
    pub name: String,
    #[graphql(skip)]
    pub team_id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[graphql(skip)]
    pub viewer: Viewer,
}

impl Team {
    pub fn from_row(row: &queries::TeamRow, viewer: Viewer) -> Self {
        Self {
            id: id(row.id),
            name: row.name.clone(),
            team_id: row.id,
            organization_id: row.organization_id,
            viewer,
        }
    }

    pub fn from_state(state: &domain::identity::TeamState, viewer: Viewer) -> Self {
        let team_id = state.id.unwrap_or_default();
        Self {
            id: id(team_id),
            name: state.name.clone(),
            team_id,
            organization_id: state.organization_id,
            viewer,
        }
    }
}

#[ComplexObject]
impl Team {
    /// The members the caller may see (every one for administrators and analysts, else only
    /// the caller), ordered by id; `after` is the id of the last member of the previous page.
    #[graphql(
        complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_PAGE, child_complexity)"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "paging::DEFAULT_PAGE")] first: i32,
        after: Option<ID>,
    ) -> async_graphql::Result<Vec<User>> {
        let page = paging::page(first, after.as_ref())?;
        let state = state(ctx)?;
        let team = Resource::Team {
            organization_id: self.organization_id,
            team_id: self.team_id,
        };
        if !self.viewer.may(state, Action::ReadTeams, &team).await? {
            return Ok(Vec::new());
        }
        let organization = Resource::Organization(self.organization_id);
        let only = if self
            .viewer
            .may(state, Action::ReadUsers, &organization)
            .await?
        {
            None
        } else {
            Some(self.viewer.user_id())
        };
        let rows = queries::team_members_page(&state.read_models, self.team_id, only, page)
            .await
            .map_err(|e| internal("team members", e))?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            if self
                .viewer
                .may_see_user(state, row.organization_id, row.id)
                .await?
            {
                users.push(User::from_row(&row, self.viewer.clone()));
            }
        }
        Ok(users)
    }
}

// A project's team is shown to `viewer` when the policy lets them read it.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Project {
    pub id: ID,
    pub name: String,
    #[graphql(skip)]
    pub team_id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[graphql(skip)]
    pub viewer: Viewer,
}

impl Project {
    pub fn from_row(row: &queries::ProjectRow, viewer: Viewer) -> Self {
        Self {
            id: id(row.id),
            name: row.name.clone(),
            team_id: row.team_id,
            organization_id: row.organization_id,
            viewer,
        }
    }

    pub fn from_state(state: &domain::identity::ProjectState, viewer: Viewer) -> Self {
        Self {
            id: id(state.id.unwrap_or_default()),
            name: state.name.clone(),
            team_id: state.team_id,
            organization_id: state.organization_id,
            viewer,
        }
    }
}

#[ComplexObject]
impl Project {
    /// The project's team, or null when the caller may not read it.
    #[graphql(complexity = "cost::lookup(child_complexity)")]
    async fn team(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Team>> {
        let state = state(ctx)?;
        let team = Resource::Team {
            organization_id: self.organization_id,
            team_id: self.team_id,
        };
        if !self.viewer.may(state, Action::ReadTeams, &team).await? {
            return Ok(None);
        }
        let row = queries::team(&state.read_models, self.team_id)
            .await
            .map_err(|e| internal("project team", e))?;
        Ok(row
            .filter(|row| row.organization_id == self.organization_id)
            .map(|row| Team::from_row(&row, self.viewer.clone())))
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub user: User,
}

#[derive(SimpleObject)]
pub struct LoginPayload {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    /// True when the password was right and a TOTP code is needed: log in again with `totp`.
    pub mfa_required: bool,
    pub user: Option<User>,
}

#[derive(SimpleObject)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

#[derive(SimpleObject)]
pub struct CreatedApiKey {
    pub id: ID,
    /// The key itself, shown only now.
    pub key: String,
    pub prefix: String,
}

#[derive(SimpleObject)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_url: String,
}
