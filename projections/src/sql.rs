//! SQL read models: the change and the checkpoint commit in one transaction, so each event takes
//! effect exactly once even when the projection restarts mid-batch.
//!
//! One code path serves SQLite (embedded) and PostgreSQL (distributed) through sqlx's `Any`
//! driver: read models write portable SQL (`$1` placeholders, `ON CONFLICT ... DO UPDATE`).

use std::sync::Arc;

use async_trait::async_trait;
use domain::{LogPosition, RecordedEvent};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::ProjectionError;
use crate::runner::Projection;

/// The database that holds SQL read models.
#[derive(Clone, Debug)]
pub struct ReadModelDb {
    pool: AnyPool,
    /// SQLite has one writer at a time: projections of this process queue here instead of
    /// failing with "database is locked" when a long batch holds the lock past busy_timeout.
    /// `None` for PostgreSQL, whose row locks let projections write side by side.
    write_gate: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl ReadModelDb {
    /// Connects to `sqlite://PATH?mode=rwc` or `postgres://...`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ProjectionError> {
        sqlx::any::install_default_drivers();
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|_| ProjectionError::Database("read model url is not valid".to_owned()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(5))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA busy_timeout = 5000",
                        ] {
                            sqlx::Executor::execute(&mut *conn, pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS projection_checkpoints (
                name TEXT PRIMARY KEY,
                commit_position BIGINT NOT NULL,
                prepare_position BIGINT NOT NULL
            )",
        )
        .execute(&pool)
        .await?;
        let write_gate = url
            .starts_with("sqlite:")
            .then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Self { pool, write_gate })
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> Result<(), ProjectionError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits for this process's turn to write (SQLite only).
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }
}

/// A read model kept in SQL tables.
#[async_trait]
pub trait SqlReadModel: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Portable `CREATE TABLE IF NOT EXISTS` statements.
    fn schema(&self) -> &'static [&'static str];
    /// Tables emptied by a rebuild.
    fn tables(&self) -> &'static [&'static str];
    /// Applies one event inside the projection's transaction.
    async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError>;
}

/// Runs a [`SqlReadModel`] as a [`Projection`] with a transactional checkpoint.
pub struct SqlProjection<M> {
    db: ReadModelDb,
    model: Arc<M>,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl<M: SqlReadModel> SqlProjection<M> {
    pub async fn new(db: ReadModelDb, model: M) -> Result<Self, ProjectionError> {
        for statement in model.schema() {
            sqlx::raw_sql(statement).execute(db.pool()).await?;
        }
        Ok(Self {
            db,
            model: Arc::new(model),
        })
    }

    async fn checkpoint_in(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<Option<LogPosition>, ProjectionError> {
        let row = sqlx::query(
            "SELECT commit_position, prepare_position FROM projection_checkpoints WHERE name = $1",
        )
        .bind(self.model.name())
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|row| {
            let commit: i64 = row.try_get(0)?;
            let prepare: i64 = row.try_get(1)?;
            Ok(LogPosition {
                commit: u64::try_from(commit).unwrap_or(0),
                prepare: u64::try_from(prepare).unwrap_or(0),
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| ProjectionError::from(e))
    }
}

#[async_trait]
impl<M: SqlReadModel> Projection for SqlProjection<M> {
    fn name(&self) -> &'static str {
        self.model.name()
    }

    async fn checkpoint(&self) -> Result<Option<LogPosition>, ProjectionError> {
        let mut tx = self.db.pool().begin().await?;
        let checkpoint = self.checkpoint_in(&mut tx).await?;
        tx.commit().await?;
        Ok(checkpoint)
    }

    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let _turn = self.db.write_turn().await;
        let mut tx = self.db.pool().begin().await?;
        // Write first: SQLite then takes its write lock (waiting on busy_timeout) before the
        // transaction reads anything, instead of failing to upgrade a read snapshot; PostgreSQL
        // locks the checkpoint row, so two runners of one projection apply one after the other.
        sqlx::query("UPDATE projection_checkpoints SET name = name WHERE name = $1")
            .bind(self.model.name())
            .execute(&mut *tx)
            .await?;
        let checkpoint = self.checkpoint_in(&mut tx).await?;
        for event in events {
            // Already applied (a redelivery after a restart): the checkpoint says so.
            if checkpoint.is_some_and(|c| event.position <= c) {
                continue;
            }
            self.model.apply(&mut tx, event).await?;
        }
        if checkpoint.is_some_and(|c| last.position <= c) {
            // A redelivered older page: nothing was applied, the checkpoint stays where it is.
            tx.commit().await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, commit_position, prepare_position)
             VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET commit_position = excluded.commit_position,
                 prepare_position = excluded.prepare_position",
        )
        .bind(self.model.name())
        .bind(to_i64(last.position.commit))
        .bind(to_i64(last.position.prepare))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reset(&self) -> Result<(), ProjectionError> {
        let _turn = self.db.write_turn().await;
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("UPDATE projection_checkpoints SET name = name WHERE name = $1")
            .bind(self.model.name())
            .execute(&mut *tx)
            .await?;
        for table in self.model.tables() {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1")
            .bind(self.model.name())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
