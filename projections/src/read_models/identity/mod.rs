//! Identity read model: users, teams and their members, projects, API keys and sessions, kept by
//! one projection (`identity`, one checkpoint) from the `user`, `team`, `project`, `apikey` and
//! `session` streams.
//!
//! Rows are keyed by aggregate id (the uuid of the stream `<category>-<uuid>`, as text). Times are
//! unix microseconds in `BIGINT` columns, flags are `BIGINT` 0/1, so the same portable SQL serves
//! SQLite and PostgreSQL. No secret and no hash ever reaches these tables: password hashes, API
//! key digests, refresh-token digests and TOTP ciphertexts stay in the log.
//!
//! E-mail addresses are unique here. Should the log ever hold two registrations of one address
//! (uniqueness is the write side's job), the first keeps it and the later user is stored without
//! an address, so the projection never wedges on it and a rebuild gives the same answer.

mod apply;
pub mod queries;

use async_trait::async_trait;
use domain::RecordedEvent;
use sqlx::{Any, Transaction};

use crate::error::ProjectionError;
use crate::sql::SqlReadModel;

pub use queries::{
    ApiKeyRow, ProjectRow, SessionRow, TeamRow, UserRow, api_keys_of_user, organization_name,
    project, projects_in_organization, session, sessions_of_user, team, team_members,
    teams_of_user, user, user_by_email, users_in_organization,
};

/// The projection's name (and its checkpoint's).
pub const NAME: &str = "identity";

/// The identity read model, registered as one projection.
pub struct Identity;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        email TEXT,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        disabled BIGINT NOT NULL,
        security_version BIGINT NOT NULL,
        totp_enabled BIGINT NOT NULL,
        created_position TEXT NOT NULL,
        version BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS identity_users_email ON users (email)",
    "CREATE INDEX IF NOT EXISTS identity_users_organization ON users (organization_id)",
    "CREATE TABLE IF NOT EXISTS teams (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        name TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS identity_teams_organization ON teams (organization_id)",
    "CREATE TABLE IF NOT EXISTS team_members (
        team_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (team_id, user_id)
    )",
    "CREATE INDEX IF NOT EXISTS identity_team_members_user ON team_members (user_id)",
    "CREATE TABLE IF NOT EXISTS projects (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        archived BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS identity_projects_organization ON projects (organization_id)",
    "CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        owner_user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        prefix TEXT NOT NULL,
        revoked BIGINT NOT NULL,
        expires_at BIGINT NULL,
        last_used_at BIGINT NULL
    )",
    "CREATE INDEX IF NOT EXISTS identity_api_keys_owner ON api_keys (owner_user_id)",
    "CREATE INDEX IF NOT EXISTS identity_api_keys_prefix ON api_keys (prefix)",
    "CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        revoked BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        rotations BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS identity_sessions_user ON sessions (user_id)",
];

const TABLES: &[&str] = &[
    "users",
    "teams",
    "team_members",
    "projects",
    "api_keys",
    "sessions",
];

#[async_trait]
impl SqlReadModel for Identity {
    fn name(&self) -> &'static str {
        NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        apply::apply(tx, event).await
    }
}
