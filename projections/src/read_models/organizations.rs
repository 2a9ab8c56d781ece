//! Organizations read model: one row per organization, with the position it was last changed at.

use async_trait::async_trait;
use domain::organization::OrganizationEvent;
use domain::{EventCodec, RecordedEvent};
use sqlx::{Any, Transaction};

use crate::error::ProjectionError;
use crate::sql::SqlReadModel;

pub struct Organizations;

#[async_trait]
impl SqlReadModel for Organizations {
    fn name(&self) -> &'static str {
        "organizations"
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS organizations (
            stream_id TEXT PRIMARY KEY,
            organization_id TEXT NOT NULL,
            name TEXT NOT NULL,
            slug TEXT NOT NULL,
            renames BIGINT NOT NULL,
            version BIGINT NOT NULL,
            changed_at_position TEXT NOT NULL
        )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["organizations"]
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_id.category() != "organization" {
            return Ok(());
        }
        let decoded = OrganizationEvent::decode(&event.payload).map_err(|source| {
            ProjectionError::Decode {
                projection: "organizations",
                position: event.position.to_string(),
                source,
            }
        })?;
        let version = i64::try_from(event.version).unwrap_or(i64::MAX);
        match decoded {
            OrganizationEvent::Registered { id, name, slug } => {
                sqlx::query(
                    "INSERT INTO organizations
                        (stream_id, organization_id, name, slug, renames, version, changed_at_position)
                     VALUES ($1, $2, $3, $4, 0, $5, $6)",
                )
                .bind(event.stream_id.as_str())
                .bind(id.to_string())
                .bind(name)
                .bind(slug)
                .bind(version)
                .bind(event.position.to_string())
                .execute(&mut **tx)
                .await?;
            }
            OrganizationEvent::Renamed { name } => {
                sqlx::query(
                    "UPDATE organizations SET name = $1, renames = renames + 1, version = $2,
                        changed_at_position = $3
                     WHERE stream_id = $4",
                )
                .bind(name)
                .bind(version)
                .bind(event.position.to_string())
                .bind(event.stream_id.as_str())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }
}
