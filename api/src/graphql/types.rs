//! GraphQL object types of identity, converted by hand from domain states and read-model rows.

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject};
use domain::identity::Role as DomainRole;
use projections::read_models::identity::queries;
use uuid::Uuid;

use super::context::state;
use super::error::internal;

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
}

impl User {
    pub fn from_state(state: &domain::identity::UserState) -> Self {
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
        }
    }

    pub fn from_row(row: &queries::UserRow) -> Self {
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
        }
    }
}

#[ComplexObject]
impl User {
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let state = state(ctx)?;
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

    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Team>> {
        let state = state(ctx)?;
        let teams = queries::teams_of_user(&state.read_models, self.user_id)
            .await
            .map_err(|e| internal("teams of user", e))?;
        Ok(teams.iter().map(Team::from_row).collect())
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Team {
    pub id: ID,
    pub name: String,
    #[graphql(skip)]
    pub team_id: Uuid,
}

impl Team {
    pub fn from_row(row: &queries::TeamRow) -> Self {
        Self {
            id: id(row.id),
            name: row.name.clone(),
            team_id: row.id,
        }
    }

    pub fn from_state(state: &domain::identity::TeamState) -> Self {
        let team_id = state.id.unwrap_or_default();
        Self {
            id: id(team_id),
            name: state.name.clone(),
            team_id,
        }
    }
}

#[ComplexObject]
impl Team {
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let state = state(ctx)?;
        let members = queries::team_members(&state.read_models, self.team_id)
            .await
            .map_err(|e| internal("team members", e))?;
        let mut users = Vec::with_capacity(members.len());
        for member in members {
            if let Some(row) = queries::user(&state.read_models, member)
                .await
                .map_err(|e| internal("team member", e))?
            {
                users.push(User::from_row(&row));
            }
        }
        Ok(users)
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Project {
    pub id: ID,
    pub name: String,
    #[graphql(skip)]
    pub team_id: Uuid,
}

impl Project {
    pub fn from_row(row: &queries::ProjectRow) -> Self {
        Self {
            id: id(row.id),
            name: row.name.clone(),
            team_id: row.team_id,
        }
    }

    pub fn from_state(state: &domain::identity::ProjectState) -> Self {
        Self {
            id: id(state.id.unwrap_or_default()),
            name: state.name.clone(),
            team_id: state.team_id,
        }
    }
}

#[ComplexObject]
impl Project {
    async fn team(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Team>> {
        let state = state(ctx)?;
        let team = queries::team(&state.read_models, self.team_id)
            .await
            .map_err(|e| internal("project team", e))?;
        Ok(team.as_ref().map(Team::from_row))
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
