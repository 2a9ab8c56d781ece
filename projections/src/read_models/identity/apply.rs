//! How each identity event changes the tables, inside the projection's transaction.
//!
//! Every event is decoded with its aggregate's codec; an event that does not decode, or whose
//! stream does not name a uuid (or names another id than the event's own), is a
//! [`ProjectionError::Decode`] and stops the projection before it.

use chrono::{DateTime, Utc};
use domain::identity::{
    ApiKey, ApiKeyEvent, Project, ProjectEvent, Session, SessionEvent, Team, TeamEvent, User,
    UserEvent,
};
use domain::{Aggregate, DecodeError, EventCodec, RecordedEvent};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::NAME;
use crate::error::ProjectionError;

type Tx = Transaction<'static, Any>;

pub(super) async fn apply(tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
    match event.stream_id.category() {
        User::CATEGORY => user(tx, event).await,
        Team::CATEGORY => team(tx, event).await,
        Project::CATEGORY => project(tx, event).await,
        ApiKey::CATEGORY => api_key(tx, event).await,
        Session::CATEGORY => session(tx, event).await,
        _ => Ok(()),
    }
}

fn undecodable(event: &RecordedEvent, source: DecodeError) -> ProjectionError {
    ProjectionError::Decode {
        projection: NAME,
        position: event.position.to_string(),
        source,
    }
}

fn malformed(event: &RecordedEvent, reason: &str) -> ProjectionError {
    undecodable(
        event,
        DecodeError::malformed(event.event_type(), event.payload.event_version, reason),
    )
}

fn decode<E: EventCodec>(event: &RecordedEvent) -> Result<E, ProjectionError> {
    E::decode(&event.payload).map_err(|source| undecodable(event, source))
}

/// The aggregate id the stream `<category>-<uuid>` names.
fn stream_uuid(event: &RecordedEvent) -> Result<Uuid, ProjectionError> {
    event
        .stream_id
        .as_str()
        .split_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| malformed(event, "the stream id does not end in a uuid"))
}

/// A creation event must create the aggregate its stream names.
fn created_id(
    event: &RecordedEvent,
    stream_id: Uuid,
    payload_id: Uuid,
) -> Result<(), ProjectionError> {
    if stream_id == payload_id {
        Ok(())
    } else {
        Err(malformed(
            event,
            "the aggregate id differs from the stream's",
        ))
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

async fn user(tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let decoded: UserEvent = decode(event)?;
    let id = stream_uuid(event)?;
    let version = to_i64(event.version);
    let key = id.to_string();
    if let UserEvent::Registered {
        id: payload_id,
        organization_id,
        email,
        display_name,
        password_hash: _,
        role,
    } = decoded
    {
        created_id(event, id, payload_id)?;
        let holder: Option<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND id <> $2")
                .bind(email.as_str().to_owned())
                .bind(key.clone())
                .fetch_optional(&mut **tx)
                .await?;
        let email = match holder {
            None => Some(email.into_string()),
            Some(holder) => {
                tracing::warn!(
                    projection = NAME,
                    user = %key,
                    holder = %holder,
                    position = %event.position,
                    "a user registered with an e-mail address another user holds; stored without it"
                );
                None
            }
        };
        sqlx::query(
            "INSERT INTO users (id, organization_id, email, display_name, role, disabled,
                 security_version, totp_enabled, created_position, version)
             VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $6, $7)
             ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id,
                 email = excluded.email, display_name = excluded.display_name,
                 role = excluded.role, disabled = 0, security_version = 0, totp_enabled = 0,
                 created_position = excluded.created_position, version = excluded.version",
        )
        .bind(key)
        .bind(organization_id.to_string())
        .bind(email)
        .bind(display_name)
        .bind(role.as_str())
        .bind(event.position.to_string())
        .bind(version)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }

    let change = match &decoded {
        UserEvent::RoleChanged { role } => Some(
            sqlx::query("UPDATE users SET role = $1 WHERE id = $2").bind(role.as_str().to_owned()),
        ),
        UserEvent::Disabled => Some(sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")),
        UserEvent::Enabled => Some(sqlx::query("UPDATE users SET disabled = 0 WHERE id = $1")),
        UserEvent::ProfileUpdated {
            display_name: Some(display_name),
            ..
        } => Some(
            sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
                .bind(display_name.clone()),
        ),
        UserEvent::TotpConfirmed { .. } => Some(sqlx::query(
            "UPDATE users SET totp_enabled = 1 WHERE id = $1",
        )),
        // Credentials, preferences, TOTP steps and OIDC links are not part of this read model;
        // they still move the user's version (and, for a password, its security version).
        UserEvent::Registered { .. }
        | UserEvent::PasswordSet { .. }
        | UserEvent::ProfileUpdated { .. }
        | UserEvent::TotpEnrollmentStarted { .. }
        | UserEvent::TotpStepAccepted { .. }
        | UserEvent::OidcLinked { .. } => None,
    };
    if let Some(change) = change {
        change.bind(key.clone()).execute(&mut **tx).await?;
    }
    sqlx::query(
        "UPDATE users SET security_version = security_version + $1, version = $2 WHERE id = $3",
    )
    .bind(i64::from(decoded.invalidates_sessions()))
    .bind(version)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn team(tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let decoded: TeamEvent = decode(event)?;
    let id = stream_uuid(event)?;
    let key = id.to_string();
    match decoded {
        TeamEvent::Created {
            id: payload_id,
            organization_id,
            name,
        } => {
            created_id(event, id, payload_id)?;
            sqlx::query(
                "INSERT INTO teams (id, organization_id, name) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id,
                     name = excluded.name",
            )
            .bind(key)
            .bind(organization_id.to_string())
            .bind(name)
            .execute(&mut **tx)
            .await?;
        }
        TeamEvent::MemberAdded { user_id } => {
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)
                 ON CONFLICT (team_id, user_id) DO NOTHING",
            )
            .bind(key)
            .bind(user_id.to_string())
            .execute(&mut **tx)
            .await?;
        }
        TeamEvent::MemberRemoved { user_id } => {
            sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(key)
                .bind(user_id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        TeamEvent::Renamed { name } => {
            sqlx::query("UPDATE teams SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

async fn project(tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let decoded: ProjectEvent = decode(event)?;
    let id = stream_uuid(event)?;
    let key = id.to_string();
    let change = match decoded {
        ProjectEvent::Created {
            id: payload_id,
            organization_id,
            team_id,
            name,
        } => {
            created_id(event, id, payload_id)?;
            sqlx::query(
                "INSERT INTO projects (id, organization_id, team_id, name, archived)
                 VALUES ($1, $2, $3, $4, 0)
                 ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id,
                     team_id = excluded.team_id, name = excluded.name, archived = 0",
            )
            .bind(key)
            .bind(organization_id.to_string())
            .bind(team_id.to_string())
            .bind(name)
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        ProjectEvent::Renamed { name } => {
            sqlx::query("UPDATE projects SET name = $1 WHERE id = $2").bind(name)
        }
        ProjectEvent::MovedToTeam { team_id } => {
            sqlx::query("UPDATE projects SET team_id = $1 WHERE id = $2").bind(team_id.to_string())
        }
        ProjectEvent::Archived => sqlx::query("UPDATE projects SET archived = 1 WHERE id = $1"),
    };
    change.bind(key).execute(&mut **tx).await?;
    Ok(())
}

async fn api_key(tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let decoded: ApiKeyEvent = decode(event)?;
    let id = stream_uuid(event)?;
    let key = id.to_string();
    let change = match decoded {
        ApiKeyEvent::Created {
            id: payload_id,
            organization_id,
            owner_user_id,
            name,
            role,
            prefix,
            key_hash: _,
            expires_at,
        } => {
            created_id(event, id, payload_id)?;
            sqlx::query(
                "INSERT INTO api_keys (id, organization_id, owner_user_id, name, role, prefix,
                     revoked, expires_at, last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, NULL)
                 ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id,
                     owner_user_id = excluded.owner_user_id, name = excluded.name,
                     role = excluded.role, prefix = excluded.prefix, revoked = 0,
                     expires_at = excluded.expires_at, last_used_at = NULL",
            )
            .bind(key)
            .bind(organization_id.to_string())
            .bind(owner_user_id.to_string())
            .bind(name)
            .bind(role.as_str())
            .bind(prefix)
            .bind(expires_at.map(micros))
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        ApiKeyEvent::Revoked => sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = $1"),
        ApiKeyEvent::Used { at } => {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(micros(at))
        }
    };
    change.bind(key).execute(&mut **tx).await?;
    Ok(())
}

async fn session(tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let decoded: SessionEvent = decode(event)?;
    let id = stream_uuid(event)?;
    let key = id.to_string();
    let change = match decoded {
        SessionEvent::Started {
            id: payload_id,
            user_id,
            organization_id,
            refresh_hash: _,
            expires_at,
            ip: _,
            user_security_version: _,
        } => {
            created_id(event, id, payload_id)?;
            sqlx::query(
                "INSERT INTO sessions (id, user_id, organization_id, revoked, expires_at, rotations)
                 VALUES ($1, $2, $3, 0, $4, 0)
                 ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id,
                     organization_id = excluded.organization_id, revoked = 0,
                     expires_at = excluded.expires_at, rotations = 0",
            )
            .bind(key)
            .bind(user_id.to_string())
            .bind(organization_id.to_string())
            .bind(micros(expires_at))
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        SessionEvent::Rotated { refresh_hash: _ } => {
            sqlx::query("UPDATE sessions SET rotations = rotations + 1 WHERE id = $1")
        }
        // The revocation that follows it in the same decision is what changes the row.
        SessionEvent::ReuseDetected { presented_hash: _ } => return Ok(()),
        SessionEvent::Revoked { reason: _ } => {
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE id = $1")
        }
    };
    change.bind(key).execute(&mut **tx).await?;
    Ok(())
}
