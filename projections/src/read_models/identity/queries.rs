//! Questions the API asks the identity read model (and the organization's name, from the
//! organizations read model).
//!
//! Stored text and numbers are checked on the way out: a value that does not parse (an id that
//! is not a uuid, an unknown role, a flag that is not 0/1, a time out of range) is
//! `ProjectionError::Database("corrupt read model row: <table>.<column>")`, never a panic.

use chrono::{DateTime, Utc};
use domain::LogPosition;
use domain::identity::{Email, Role};
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::super::cells::Cells;
use super::super::page::{Listed, Page, Parameters, Scope};
use crate::error::ProjectionError;
use crate::sql::ReadModelDb;

/// One user; no credential of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `None` only for a user registered with an address another user already held.
    pub email: Option<Email>,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    /// How many events since registration ended the user's sessions (role change, disable,
    /// password set, TOTP confirmed).
    pub security_version: u64,
    pub totp_enabled: bool,
    /// Where the registration sits in the log.
    pub created_position: LogPosition,
    /// The user stream's version this row reflects.
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub archived: bool,
}

/// One API key; its digest is not kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub owner_user_id: Uuid,
    pub name: String,
    pub role: Role,
    /// The visible start of the key (`mk_ab12cd34`).
    pub prefix: String,
    pub revoked: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// One refresh-token family; its digests are not kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
    pub rotations: u64,
}

fn role(cells: &Cells<'_>, column: &str) -> Result<Role, ProjectionError> {
    Role::parse(&cells.text(column)?).map_err(|_| cells.corrupt(column))
}

const USER_COLUMNS: &str = "id, organization_id, email, display_name, role, disabled, \
     security_version, totp_enabled, created_position, version";

fn user_row(row: &AnyRow) -> Result<UserRow, ProjectionError> {
    let cells = Cells::new(row, "users");
    Ok(UserRow {
        id: cells.uuid("id")?,
        organization_id: cells.uuid("organization_id")?,
        email: cells
            .optional_text("email")?
            .map(|email| Email::parse(&email).map_err(|_| cells.corrupt("email")))
            .transpose()?,
        display_name: cells.text("display_name")?,
        role: role(&cells, "role")?,
        disabled: cells.flag("disabled")?,
        security_version: cells.count("security_version")?,
        totp_enabled: cells.flag("totp_enabled")?,
        created_position: cells
            .text("created_position")?
            .parse()
            .map_err(|_| cells.corrupt("created_position"))?,
        version: cells.count("version")?,
    })
}

const TEAM_COLUMNS: &str = "id, organization_id, name";

fn team_row(row: &AnyRow) -> Result<TeamRow, ProjectionError> {
    let cells = Cells::new(row, "teams");
    Ok(TeamRow {
        id: cells.uuid("id")?,
        organization_id: cells.uuid("organization_id")?,
        name: cells.text("name")?,
    })
}

const PROJECT_COLUMNS: &str = "id, organization_id, team_id, name, archived";

fn project_row(row: &AnyRow) -> Result<ProjectRow, ProjectionError> {
    let cells = Cells::new(row, "projects");
    Ok(ProjectRow {
        id: cells.uuid("id")?,
        organization_id: cells.uuid("organization_id")?,
        team_id: cells.uuid("team_id")?,
        name: cells.text("name")?,
        archived: cells.flag("archived")?,
    })
}

const API_KEY_COLUMNS: &str =
    "id, organization_id, owner_user_id, name, role, prefix, revoked, expires_at, last_used_at";

fn api_key_row(row: &AnyRow) -> Result<ApiKeyRow, ProjectionError> {
    let cells = Cells::new(row, "api_keys");
    Ok(ApiKeyRow {
        id: cells.uuid("id")?,
        organization_id: cells.uuid("organization_id")?,
        owner_user_id: cells.uuid("owner_user_id")?,
        name: cells.text("name")?,
        role: role(&cells, "role")?,
        prefix: cells.text("prefix")?,
        revoked: cells.flag("revoked")?,
        expires_at: cells.optional_micros("expires_at")?,
        last_used_at: cells.optional_micros("last_used_at")?,
    })
}

const SESSION_COLUMNS: &str = "id, user_id, organization_id, revoked, expires_at, rotations";

fn session_row(row: &AnyRow) -> Result<SessionRow, ProjectionError> {
    let cells = Cells::new(row, "sessions");
    Ok(SessionRow {
        id: cells.uuid("id")?,
        user_id: cells.uuid("user_id")?,
        organization_id: cells.uuid("organization_id")?,
        revoked: cells.flag("revoked")?,
        expires_at: cells.micros("expires_at")?,
        rotations: cells.count("rotations")?,
    })
}

/// The first row `sql` selects with one text parameter, read by `read`.
async fn one<T>(
    db: &ReadModelDb,
    sql: &str,
    parameter: String,
    read: fn(&AnyRow) -> Result<T, ProjectionError>,
) -> Result<Option<T>, ProjectionError> {
    sqlx::query(sql)
        .bind(parameter)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

/// Every row `sql` selects with one text parameter, read by `read`.
async fn all<T>(
    db: &ReadModelDb,
    sql: &str,
    parameter: String,
    read: fn(&AnyRow) -> Result<T, ProjectionError>,
) -> Result<Vec<T>, ProjectionError> {
    sqlx::query(sql)
        .bind(parameter)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The current name of an organization (from the organizations read model).
pub async fn organization_name(
    db: &ReadModelDb,
    organization_id: Uuid,
) -> Result<Option<String>, ProjectionError> {
    one(
        db,
        "SELECT name FROM organizations WHERE organization_id = $1 ORDER BY stream_id LIMIT 1",
        organization_id.to_string(),
        |row| Cells::new(row, "organizations").text("name"),
    )
    .await
}

pub async fn user(db: &ReadModelDb, id: Uuid) -> Result<Option<UserRow>, ProjectionError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    one(db, &sql, id.to_string(), user_row).await
}

/// The user holding `email` (addresses are stored normalised, as [`Email`] is).
pub async fn user_by_email(
    db: &ReadModelDb,
    email: &Email,
) -> Result<Option<UserRow>, ProjectionError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    one(db, &sql, email.as_str().to_owned(), user_row).await
}

/// Every user of an organization, disabled ones included, ordered by e-mail address (users
/// without one last), then id.
pub async fn users_in_organization(
    db: &ReadModelDb,
    organization_id: Uuid,
) -> Result<Vec<UserRow>, ProjectionError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE organization_id = $1
         ORDER BY CASE WHEN email IS NULL THEN 1 ELSE 0 END, email, id"
    );
    all(db, &sql, organization_id.to_string(), user_row).await
}

/// The teams `user_id` is a member of, ordered by name, then id.
pub async fn teams_of_user(
    db: &ReadModelDb,
    user_id: Uuid,
) -> Result<Vec<TeamRow>, ProjectionError> {
    all(
        db,
        "SELECT teams.id, teams.organization_id, teams.name
         FROM teams JOIN team_members ON team_members.team_id = teams.id
         WHERE team_members.user_id = $1
         ORDER BY teams.name, teams.id",
        user_id.to_string(),
        team_row,
    )
    .await
}

pub async fn team(db: &ReadModelDb, id: Uuid) -> Result<Option<TeamRow>, ProjectionError> {
    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1");
    one(db, &sql, id.to_string(), team_row).await
}

/// The members of a team, ordered by id.
pub async fn team_members(db: &ReadModelDb, team_id: Uuid) -> Result<Vec<Uuid>, ProjectionError> {
    all(
        db,
        "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id",
        team_id.to_string(),
        |row| Cells::new(row, "team_members").uuid("user_id"),
    )
    .await
}

/// Every row `sql` selects with `parameters`, read by `read`.
async fn all_with<T>(
    db: &ReadModelDb,
    sql: &str,
    parameters: Parameters,
    read: fn(&AnyRow) -> Result<T, ProjectionError>,
) -> Result<Vec<T>, ProjectionError> {
    parameters
        .bind(sqlx::query(sql))
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The `(name, id)` a cursor names, when `sql` (selecting `name` and `id` with `parameters`)
/// finds it.
async fn name_cursor(
    db: &ReadModelDb,
    sql: &str,
    parameters: Parameters,
    table: &'static str,
) -> Result<Option<(String, Uuid)>, ProjectionError> {
    parameters
        .bind(sqlx::query(sql))
        .fetch_optional(db.pool())
        .await?
        .map(|row| {
            let cells = Cells::new(&row, table);
            Ok((cells.text("name")?, cells.uuid("id")?))
        })
        .transpose()
}

/// `AND (name, id) > cursor` for lists ordered by name, then id.
fn after_name(parameters: &mut Parameters, table: &str, cursor: (String, Uuid)) -> String {
    let (name, id) = cursor;
    format!(
        " AND ({table}.name > {} OR ({table}.name = {} AND {table}.id > {}))",
        parameters.text(name.clone()),
        parameters.text(name),
        parameters.text(id.to_string())
    )
}

/// A page of the projects in `scope` that are not archived, ordered by name, then id. The
/// cursor must be a project of the scope (archived or not).
pub async fn projects_page(
    db: &ReadModelDb,
    scope: &Scope,
    page: Page,
) -> Result<Listed<ProjectRow>, ProjectionError> {
    let organization = scope.organization_id().to_string();
    let mut parameters = Parameters::default();
    let mut sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE organization_id = {} AND archived = 0{}",
        parameters.text(organization.clone()),
        parameters.scope(scope, "team_id"),
    );
    if let Some(after) = page.after {
        let mut lookup = Parameters::default();
        let lookup_sql = format!(
            "SELECT name, id FROM projects WHERE id = {} AND organization_id = {}{}",
            lookup.text(after.to_string()),
            lookup.text(organization),
            lookup.scope(scope, "team_id"),
        );
        let Some(cursor) = name_cursor(db, &lookup_sql, lookup, "projects").await? else {
            return Ok(Listed::UnknownCursor);
        };
        sql.push_str(&after_name(&mut parameters, "projects", cursor));
    }
    sql.push_str(&format!(
        " ORDER BY name, id LIMIT {}",
        parameters.integer(page.limit)
    ));
    Ok(Listed::Rows(
        all_with(db, &sql, parameters, project_row).await?,
    ))
}

/// A page of the teams `user_id` is a member of, ordered by name, then id; with `shared_with`,
/// only the teams that user is a member of as well. The cursor must be a team of the list.
pub async fn teams_of_user_page(
    db: &ReadModelDb,
    user_id: Uuid,
    shared_with: Option<Uuid>,
    page: Page,
) -> Result<Listed<TeamRow>, ProjectionError> {
    // The teams of the list, with the placeholders of a fresh parameter list.
    let teams_of = |parameters: &mut Parameters| {
        let mut clause = format!(
            "FROM teams JOIN team_members ON team_members.team_id = teams.id
             WHERE team_members.user_id = {}",
            parameters.text(user_id.to_string())
        );
        if let Some(other) = shared_with {
            clause.push_str(&format!(
                " AND teams.id IN (SELECT team_id FROM team_members WHERE user_id = {})",
                parameters.text(other.to_string())
            ));
        }
        clause
    };
    let mut parameters = Parameters::default();
    let mut sql = format!(
        "SELECT teams.id, teams.organization_id, teams.name {}",
        teams_of(&mut parameters)
    );
    if let Some(after) = page.after {
        let mut lookup = Parameters::default();
        let from = teams_of(&mut lookup);
        let lookup_sql = format!(
            "SELECT teams.name, teams.id {from} AND teams.id = {}",
            lookup.text(after.to_string())
        );
        let Some(cursor) = name_cursor(db, &lookup_sql, lookup, "teams").await? else {
            return Ok(Listed::UnknownCursor);
        };
        sql.push_str(&after_name(&mut parameters, "teams", cursor));
    }
    sql.push_str(&format!(
        " ORDER BY teams.name, teams.id LIMIT {}",
        parameters.integer(page.limit)
    ));
    Ok(Listed::Rows(
        all_with(db, &sql, parameters, team_row).await?,
    ))
}

/// A page of the members of a team, as users ordered by id; with `only`, at most that user.
/// Members are ordered by their id, so any id is a cursor that tells nothing.
pub async fn team_members_page(
    db: &ReadModelDb,
    team_id: Uuid,
    only: Option<Uuid>,
    page: Page,
) -> Result<Vec<UserRow>, ProjectionError> {
    let mut parameters = Parameters::default();
    let mut sql = format!(
        "SELECT {} FROM users JOIN team_members ON team_members.user_id = users.id
         WHERE team_members.team_id = {}",
        qualified(USER_COLUMNS, "users"),
        parameters.text(team_id.to_string())
    );
    if let Some(user_id) = only {
        sql.push_str(&format!(
            " AND users.id = {}",
            parameters.text(user_id.to_string())
        ));
    }
    if let Some(after) = page.after {
        sql.push_str(&format!(
            " AND users.id > {}",
            parameters.text(after.to_string())
        ));
    }
    sql.push_str(&format!(
        " ORDER BY users.id LIMIT {}",
        parameters.integer(page.limit)
    ));
    all_with(db, &sql, parameters, user_row).await
}

/// `a, b` as `table.a, table.b`.
fn qualified(columns: &str, table: &str) -> String {
    columns
        .split(',')
        .map(|column| format!("{table}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The organization's projects that are not archived, ordered by name, then id.
pub async fn projects_in_organization(
    db: &ReadModelDb,
    organization_id: Uuid,
) -> Result<Vec<ProjectRow>, ProjectionError> {
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE organization_id = $1 AND archived = 0
         ORDER BY name, id"
    );
    all(db, &sql, organization_id.to_string(), project_row).await
}

/// One project, archived or not.
pub async fn project(db: &ReadModelDb, id: Uuid) -> Result<Option<ProjectRow>, ProjectionError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
    one(db, &sql, id.to_string(), project_row).await
}

/// Every API key a user owns, revoked and expired ones included, ordered by name, then id.
pub async fn api_keys_of_user(
    db: &ReadModelDb,
    user_id: Uuid,
) -> Result<Vec<ApiKeyRow>, ProjectionError> {
    let sql = format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE owner_user_id = $1 ORDER BY name, id"
    );
    all(db, &sql, user_id.to_string(), api_key_row).await
}

pub async fn session(db: &ReadModelDb, id: Uuid) -> Result<Option<SessionRow>, ProjectionError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
    one(db, &sql, id.to_string(), session_row).await
}

/// Every session of a user, revoked and expired ones included, ordered by expiry, then id.
pub async fn sessions_of_user(
    db: &ReadModelDb,
    user_id: Uuid,
) -> Result<Vec<SessionRow>, ProjectionError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY expires_at, id"
    );
    all(db, &sql, user_id.to_string(), session_row).await
}
