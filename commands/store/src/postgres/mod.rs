//! The PostgreSQL event store: one `events` table whose global order is
//! `(writing transaction id, sequence number)`, read only below the oldest transaction that may
//! still commit into it, so that no reader ever skips an event committed out of order; a
//! group-commit writer; `LISTEN`/`NOTIFY` so subscribers in every process wake on new events.
//!
//! Two roles: the owner (`admin_url`) runs the migrations and grants the application role
//! (`url`, `app_role`) only what it needs: it can insert and read events but never update,
//! delete or truncate them.

mod listener;
mod rows;
mod writer;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{LogPosition, NewEvent, RecordedEvent, StreamId};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use tokio::sync::watch;

use self::rows::{EVENT_COLUMNS, column, db_error, decode_row, position_columns, to_i64, to_u64};
use self::writer::PgWriter;
use super::group_commit::{WriterHandle, spawn_writer};
use super::validate::validate_append;
use super::{
    AppendResult, EventLog, EventStore, ExpectedVersion, ReadBound, Snapshot, StoreError,
    StoreLimits,
};

/// The advisory lock that serialises the grants of concurrently starting processes.
const GRANT_LOCK: i64 = 0x6d69_7261_6765_6772;

/// Most events the writer commits in one transaction.
const MAX_BATCH_EVENTS: usize = 2000;

/// The readable horizon of the global log: every event with a smaller `tx_id` is committed, and
/// no transaction that could still commit an event has a smaller one.
///
/// The plain rule is `pg_snapshot_xmin(pg_current_snapshot())`: the oldest transaction still
/// running anywhere in the cluster. Transaction ids are cluster-wide, though, so a long
/// transaction in another database (a `CREATE DATABASE`, a report, another service) would hold
/// this log back. So the running transactions of the snapshot are skipped when
/// `pg_stat_activity` shows them belonging to a backend of another database: such a transaction
/// can never insert into this database's `events`. Anything not proven to be elsewhere (it ended
/// since the snapshot, it is prepared, it is in this database) still holds the horizon, so this
/// is never less safe than the plain rule; without a running transaction it equals
/// `pg_snapshot_xmax`, which is then the same as `pg_snapshot_xmin`.
const HORIZON: &str = "(SELECT LEAST(pg_snapshot_xmax(s.snap), ( \
         SELECT min(x) FROM pg_snapshot_xip(s.snap) AS x \
         WHERE NOT EXISTS ( \
             SELECT 1 FROM pg_stat_activity AS a \
             WHERE a.backend_xid = xid(x) AND a.datid IS DISTINCT FROM \
                 (SELECT oid FROM pg_database WHERE datname = current_database())))) \
     FROM (SELECT pg_current_snapshot() AS snap) AS s)";

/// Where the PostgreSQL store lives and how it connects.
#[derive(Clone)]
pub struct PostgresStoreConfig {
    /// The application role's connection URL.
    pub url: String,
    /// The owner's connection URL, used to run migrations; defaults to `url`.
    pub admin_url: Option<String>,
    /// When set, after migrating, the owner grants this role exactly what the store needs.
    pub app_role: Option<String>,
    pub max_connections: u32,
    /// How long to wait for a connection before the store is reported unavailable.
    pub connect_timeout: Duration,
    pub limits: StoreLimits,
}

impl PostgresStoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            admin_url: None,
            app_role: None,
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            limits: StoreLimits::default(),
        }
    }
}

impl fmt::Debug for PostgresStoreConfig {
    // URLs may hold passwords: only their targets are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreConfig")
            .field("url", &target_of(&self.url))
            .field("admin_url", &self.admin_url.as_deref().map(target_of))
            .field("app_role", &self.app_role)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("limits", &self.limits)
            .finish()
    }
}

fn target_of(url: &str) -> String {
    PgConnectOptions::from_str(url)
        .map(|o| target(&o))
        .unwrap_or_else(|_| "<invalid url>".to_owned())
}

fn target(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid postgres url: {e}")))?;
    Ok(options.application_name("mirage"))
}

/// Opens one connection, giving up after `timeout`; the error names the server, never the
/// password.
async fn connect_once(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<PgConnection, StoreError> {
    let unavailable = |reason: String| {
        StoreError::Unavailable(format!(
            "cannot connect to postgres at {}: {reason}",
            target(options)
        ))
    };
    match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(unavailable(error.to_string())),
        Err(_) => Err(unavailable(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// Creates or upgrades the schema as the owner, then grants the application role (if any).
pub async fn migrate(config: &PostgresStoreConfig) -> Result<(), StoreError> {
    let admin_url = config.admin_url.as_deref().unwrap_or(&config.url);
    let options = connect_options(admin_url)?;
    let mut connection = connect_once(&options, config.connect_timeout).await?;
    sqlx::migrate!("./migrations/postgres")
        .run(&mut connection)
        .await
        .map_err(|error| {
            tracing::error!(%error, "postgres event store migration failed");
            StoreError::Backend(format!("cannot migrate the postgres event store: {error}"))
        })?;
    if let Some(role) = &config.app_role {
        grant(&mut connection, role).await?;
    }
    // The work is done; a failure to say goodbye does not matter.
    let _ = connection.close().await;
    Ok(())
}

/// Gives `role` what the store needs and nothing more: events are insert-only.
async fn grant(connection: &mut PgConnection, role: &str) -> Result<(), StoreError> {
    if role.is_empty() || role.contains('\0') {
        return Err(StoreError::Backend(
            "invalid postgres application role name".to_owned(),
        ));
    }
    let role = format!("\"{}\"", role.replace('"', "\"\""));
    let sequence: Option<String> =
        sqlx::query_scalar("SELECT pg_get_serial_sequence('events', 'position')")
            .fetch_one(&mut *connection)
            .await
            .map_err(|e| db_error("find the events sequence", e))?;
    let sequence = sequence.ok_or_else(|| {
        StoreError::Backend("the events table has no position sequence".to_owned())
    })?;
    // One implicit transaction; the lock keeps processes starting together from failing with
    // "tuple concurrently updated" on the same grants.
    let statements = format!(
        "SELECT pg_advisory_xact_lock({GRANT_LOCK});
         GRANT SELECT, INSERT ON events TO {role};
         REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {role};
         GRANT SELECT, INSERT, UPDATE ON streams TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON snapshots TO {role};
         GRANT USAGE ON SEQUENCE {sequence} TO {role};"
    );
    sqlx::raw_sql(&statements)
        .execute(&mut *connection)
        .await
        .map_err(|e| db_error("grant the application role", e))?;
    Ok(())
}

pub struct PostgresStore {
    writer: WriterHandle,
    pool: PgPool,
    changes: watch::Receiver<u64>,
    limits: StoreLimits,
}

impl PostgresStore {
    /// Migrates the schema, checks the application role can connect, and starts the writer and
    /// the notification listener.
    pub async fn connect(config: PostgresStoreConfig) -> Result<Self, StoreError> {
        migrate(&config).await?;
        let options = connect_options(&config.url)?;
        if config.admin_url.is_some() {
            // Fail now, with the real reason, if the application role cannot log in.
            let probe = connect_once(&options, config.connect_timeout).await?;
            let _ = probe.close().await;
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.connect_timeout)
            .connect_lazy_with(options.clone());
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(config.connect_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options);

        let (changes_tx, changes) = watch::channel(0);
        let changes_tx = Arc::new(changes_tx);
        listener::spawn_listener(listener_pool, Arc::clone(&changes_tx));
        let writer = spawn_writer(
            PgWriter {
                pool: pool.clone(),
                changes: changes_tx,
            },
            MAX_BATCH_EVENTS,
        );
        Ok(Self {
            writer,
            pool,
            changes,
            limits: config.limits,
        })
    }

    /// The application role's pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventLog for PostgresStore {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        until: ReadBound,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let (last_version, last_recorded) = match until {
            ReadBound::End => (i64::MAX, i64::MAX),
            ReadBound::Version(version) => (to_i64(version), i64::MAX),
            ReadBound::Time(time) => (i64::MAX, time.timestamp_micros()),
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 \
             AND version <= $3 AND recorded_at <= $4 ORDER BY events.version LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(stream.as_str())
            .bind(to_i64(from))
            .bind(last_version)
            .bind(last_recorded)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("read a stream", e))?;
        rows.iter().map(decode_row).collect()
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = $1")
                .bind(stream.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("read a stream version", e))?;
        Ok(version.map(to_u64).unwrap_or(0))
    }

    async fn read_all(
        &self,
        after: Option<LogPosition>,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = after.unwrap_or(LogPosition::START);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events \
             WHERE tx_id < {HORIZON} \
               AND (tx_id, position) > ($1::text::xid8, $2) \
             ORDER BY events.tx_id, events.position LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(after.commit.to_string())
            .bind(to_i64(after.prepare))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("read the log", e))?;
        rows.iter().map(decode_row).collect()
    }

    async fn head(&self) -> Result<Option<LogPosition>, StoreError> {
        let sql = format!(
            "SELECT tx_id::text::bigint, position FROM events WHERE tx_id < {HORIZON} \
             ORDER BY events.tx_id DESC, events.position DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("read the head of the log", e))?;
        row.map(|row| position_columns(&row, 0)).transpose()
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Short, because the horizon can hold events back without any notification.
    fn poll_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_append(&events, &self.limits)?;
        self.writer.append(stream, expected, events).await
    }
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query(
            "SELECT version, snapshot_version, state FROM snapshots WHERE stream_id = $1",
        )
        .bind(stream.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("read a snapshot", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let at = format!("snapshot of {stream}");
        let version: i64 = column(&row, 0, &at)?;
        let snapshot_version: i32 = column(&row, 1, &at)?;
        Ok(Some(Snapshot {
            stream_id: stream.clone(),
            version: to_u64(version),
            snapshot_version: u32::try_from(snapshot_version)
                .map_err(|_| rows::corrupt(&at, format!("snapshot version {snapshot_version}")))?,
            state: row.try_get(2).map_err(|e| db_error("read a snapshot", e))?,
        }))
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let snapshot_version = i32::try_from(snapshot.snapshot_version)
            .map_err(|_| StoreError::invalid("snapshot_version", "must fit in 31 bits"))?;
        sqlx::query(
            "INSERT INTO snapshots (stream_id, version, snapshot_version, state) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, \
                 snapshot_version = EXCLUDED.snapshot_version, state = EXCLUDED.state \
             WHERE snapshots.version < EXCLUDED.version",
        )
        .bind(snapshot.stream_id.as_str())
        .bind(to_i64(snapshot.version))
        .bind(snapshot_version)
        .bind(snapshot.state)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("save a snapshot", e))?;
        Ok(())
    }
}
