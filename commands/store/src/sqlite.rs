//! The embedded event store: one SQLite file in the data directory, WAL with `synchronous=FULL`
//! so an acknowledged append survives a crash, one writer task doing group commit, a small pool
//! of readers, and a lock file so only one process opens the directory.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{ChainHash, LogPosition, NewEvent, RecordedEvent, StreamId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Row, Sqlite};
use tokio::sync::watch;
use uuid::Uuid;

use super::group_commit::{AppendJob, BatchWriter, WriterHandle, spawn_writer};
use super::plan::{StoredId, StreamHead, plan_batch};
use super::record;
use super::validate::validate_append;
use super::versions::KnownVersions;
use super::{
    AppendResult, EventLog, EventStore, ExpectedVersion, ReadBound, Snapshot, StoreError,
    StoreLimits,
};

/// Where the embedded store lives and how it behaves.
#[derive(Debug, Clone)]
pub struct SqliteStoreConfig {
    pub data_dir: PathBuf,
    pub limits: StoreLimits,
    pub read_connections: u32,
    /// Most events committed in one transaction by the group-commit writer.
    pub max_batch_events: usize,
}

impl SqliteStoreConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            limits: StoreLimits::default(),
            read_connections: 4,
            max_batch_events: 5000,
        }
    }
}

pub struct SqliteStore {
    writer: WriterHandle,
    known: std::sync::Arc<KnownVersions>,
    reads: SqlitePool,
    snapshots: SqlitePool,
    changes: watch::Receiver<u64>,
    limits: StoreLimits,
    path: PathBuf,
    _lock: File,
}

pub const EVENTS_FILE: &str = "events.db";
const LOCK_FILE: &str = "mirage.lock";
/// SQLite allows 32766 bound parameters; 6 columns per row leaves room for 5000 rows.
const INSERT_CHUNK_ROWS: usize = 1000;
const LOOKUP_CHUNK: usize = 500;

fn data_dir_error(path: &Path, reason: impl ToString) -> StoreError {
    StoreError::DataDir {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn backend(error: sqlx::Error) -> StoreError {
    tracing::error!(%error, "sqlite event store error");
    match &error {
        sqlx::Error::Database(db) if db.message().contains("full") => {
            StoreError::Backend("disk is full".to_owned())
        }
        sqlx::Error::Database(db)
            if db.message().contains("locked") || db.message().contains("busy") =>
        {
            StoreError::Unavailable("the event database is locked by another process".to_owned())
        }
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => StoreError::Closed,
        _ => StoreError::Backend("sqlite failed to execute a statement".to_owned()),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the event database in an existing data directory.
    pub async fn open(config: SqliteStoreConfig) -> Result<Self, StoreError> {
        let dir = &config.data_dir;
        let metadata = std::fs::metadata(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => data_dir_error(dir, "does not exist"),
            _ => data_dir_error(dir, e),
        })?;
        if !metadata.is_dir() {
            return Err(data_dir_error(dir, "is not a directory"));
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| data_dir_error(dir, format!("cannot create {LOCK_FILE}: {e}")))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: dir.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(data_dir_error(dir, format!("cannot lock {LOCK_FILE}: {e}")));
            }
        }

        let path = dir.join(EVENTS_FILE);
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            // 64 MiB of page cache, and a checkpoint every ~16 MiB of WAL instead of ~4 MiB.
            .pragma("cache_size", "-65536")
            .pragma("wal_autocheckpoint", "4000");
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| data_dir_error(dir, format!("cannot open {EVENTS_FILE}: {e}")))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut connection)
            .await
            .map_err(|e| data_dir_error(dir, format!("cannot migrate {EVENTS_FILE}: {e}")))?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events")
            .fetch_one(&mut connection)
            .await
            .map_err(backend)?;

        // Readers keep 8 MiB of page cache each: the OS page cache serves the rest, and memory
        // stays flat however large the log grows (4 readers x 64 MiB was a quarter gigabyte).
        let small_cache = options.clone().pragma("cache_size", "-8192");
        let reads = SqlitePoolOptions::new()
            .max_connections(config.read_connections.max(1))
            .connect_with(small_cache.clone().read_only(true))
            .await
            .map_err(backend)?;
        let snapshots = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(small_cache)
            .await
            .map_err(backend)?;

        let (changes_tx, changes) = watch::channel(0);
        let known = std::sync::Arc::new(KnownVersions::default());
        let writer = spawn_writer(
            SqliteWriter {
                connection,
                last_position: u64::try_from(last.unwrap_or(0)).unwrap_or(0),
                changes: changes_tx,
                known: known.clone(),
            },
            config.max_batch_events,
        );
        Ok(Self {
            writer,
            known,
            reads,
            snapshots,
            changes,
            limits: config.limits,
            path,
            _lock: lock,
        })
    }

    /// The SQLite file holding the events (for operators and tamper tests).
    pub fn database_path(&self) -> &Path {
        &self.path
    }
}

struct SqliteWriter {
    connection: SqliteConnection,
    last_position: u64,
    changes: watch::Sender<u64>,
    known: std::sync::Arc<KnownVersions>,
}

#[async_trait]
impl BatchWriter for SqliteWriter {
    async fn write_batch(
        &mut self,
        jobs: &[AppendJob],
    ) -> Result<Vec<Result<AppendResult, StoreError>>, StoreError> {
        let mut tx = self.connection.begin().await.map_err(backend)?;
        let streams: BTreeSet<&str> = jobs.iter().map(|j| j.stream.as_str()).collect();
        let heads = load_heads(&mut tx, &streams).await?;
        let ids: Vec<Uuid> = jobs
            .iter()
            .flat_map(|j| j.events.iter().map(|e| e.meta.event_id))
            .collect();
        let stored = load_stored_ids(&mut tx, &ids).await?;
        let mut plan = plan_batch(jobs, &heads, &stored, Utc::now());

        let mut position = self.last_position;
        for row in &mut plan.rows {
            position += 1;
            row.position = LogPosition::sequential(position);
        }
        for chunk in plan.rows.chunks(INSERT_CHUNK_ROWS) {
            insert_rows(&mut tx, chunk).await?;
        }
        upsert_heads(&mut tx, &plan.heads).await?;
        tx.commit().await.map_err(backend)?;
        self.last_position = position;
        // Before anyone is told: a version known here is never older than an acknowledged append.
        self.known.committed(
            plan.heads
                .iter()
                .map(|(stream, head)| (stream, head.version)),
        );
        Ok(plan.results())
    }

    fn committed(&mut self) {
        self.changes.send_modify(|counter| *counter += 1);
    }
}

async fn load_heads(
    conn: &mut SqliteConnection,
    streams: &BTreeSet<&str>,
) -> Result<HashMap<String, StreamHead>, StoreError> {
    let mut heads = HashMap::new();
    let streams: Vec<&str> = streams.iter().copied().collect();
    for chunk in streams.chunks(LOOKUP_CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT stream_id, version, last_hash, last_recorded_at FROM streams WHERE stream_id IN (",
        );
        let mut list = query.separated(", ");
        for stream in chunk {
            list.push_bind(*stream);
        }
        query.push(")");
        for row in query.build().fetch_all(&mut *conn).await.map_err(backend)? {
            let stream: String = row.try_get(0).map_err(backend)?;
            let head = StreamHead {
                version: to_u64(row.try_get(1).map_err(backend)?),
                hash: hash_column(&row, 2, &stream)?,
                recorded_at: micros(row.try_get(3).map_err(backend)?, &stream)?,
            };
            heads.insert(stream, head);
        }
    }
    Ok(heads)
}

async fn load_stored_ids(
    conn: &mut SqliteConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredId>, StoreError> {
    let mut stored = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT event_id, stream_id, version, position FROM events WHERE event_id IN (",
        );
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(id.as_bytes().to_vec());
        }
        query.push(")");
        for row in query.build().fetch_all(&mut *conn).await.map_err(backend)? {
            let id: Vec<u8> = row.try_get(0).map_err(backend)?;
            let position = to_u64(row.try_get(3).map_err(backend)?);
            let id = Uuid::from_slice(&id).map_err(|e| corrupt(position, e))?;
            stored.insert(
                id,
                StoredId {
                    stream_id: row.try_get(1).map_err(backend)?,
                    version: to_u64(row.try_get(2).map_err(backend)?),
                    position: LogPosition::sequential(position),
                },
            );
        }
    }
    Ok(stored)
}

async fn insert_rows(
    conn: &mut SqliteConnection,
    rows: &[RecordedEvent],
) -> Result<(), StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO events (position, event_id, stream_id, version, recorded_at, record) ",
    );
    query.push_values(rows, |mut values, row| {
        values
            .push_bind(to_i64(row.position.prepare))
            .push_bind(row.meta.event_id.as_bytes().to_vec())
            .push_bind(row.stream_id.as_str().to_owned())
            .push_bind(to_i64(row.version))
            .push_bind(row.recorded_at.timestamp_micros())
            .push_bind(record::encode(row));
    });
    query.build().execute(&mut *conn).await.map_err(backend)?;
    Ok(())
}

async fn upsert_heads(
    conn: &mut SqliteConnection,
    heads: &HashMap<String, StreamHead>,
) -> Result<(), StoreError> {
    let heads: Vec<(&String, &StreamHead)> = heads.iter().collect();
    for chunk in heads.chunks(LOOKUP_CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO streams (stream_id, version, last_hash, last_recorded_at) ",
        );
        query.push_values(chunk, |mut values, (stream, head)| {
            values
                .push_bind((*stream).clone())
                .push_bind(to_i64(head.version))
                .push_bind(head.hash.0.to_vec())
                .push_bind(head.recorded_at.timestamp_micros());
        });
        query.push(
            " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, \
             last_hash = excluded.last_hash, last_recorded_at = excluded.last_recorded_at",
        );
        query.build().execute(&mut *conn).await.map_err(backend)?;
    }
    Ok(())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn corrupt(position: u64, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        position: position.to_string(),
        reason: reason.to_string(),
    }
}

fn micros(value: i64, at: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| StoreError::Corrupt {
        position: at.to_owned(),
        reason: format!("timestamp {value} is out of range"),
    })
}

fn hash_column(row: &SqliteRow, index: usize, at: &str) -> Result<ChainHash, StoreError> {
    let bytes: Vec<u8> = row.try_get(index).map_err(backend)?;
    ChainHash::from_slice(&bytes).ok_or_else(|| StoreError::Corrupt {
        position: at.to_owned(),
        reason: format!("hash has {} bytes, expected 32", bytes.len()),
    })
}

/// Runs a page query whose single row is the concatenation of the page's records.
async fn read_page<'q>(
    pool: &SqlitePool,
    query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    after: u64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let row = query.fetch_one(pool).await.map_err(backend)?;
    let page: Option<Vec<u8>> = row.try_get(0).map_err(backend)?;
    record::decode_page(page.as_deref().unwrap_or_default(), after)
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        until: ReadBound,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let (bound_sql, bound) = match until {
            ReadBound::End => ("", i64::MAX),
            ReadBound::Version(version) => (" AND version <= ?", to_i64(version)),
            ReadBound::Time(time) => (" AND recorded_at <= ?", time.timestamp_micros()),
        };
        let sql = format!(
            "SELECT CAST(group_concat(record, '' ORDER BY position) AS BLOB) FROM \
             (SELECT position, record FROM events WHERE stream_id = ? AND version >= ?{bound_sql} \
              ORDER BY version LIMIT ?)"
        );
        let mut query = sqlx::query(&sql).bind(stream.as_str()).bind(to_i64(from));
        if !bound_sql.is_empty() {
            query = query.bind(bound);
        }
        let query = query.bind(to_i64(limit as u64));
        let events = read_page(&self.reads, query, 0).await?;
        if until == ReadBound::End
            && events.len() < limit
            && let Some(last) = events.last()
        {
            self.known.observed(stream.as_str(), last.version);
        }
        Ok(events)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = ?")
                .bind(stream.as_str())
                .fetch_optional(&self.reads)
                .await
                .map_err(backend)?;
        Ok(version.map(to_u64).unwrap_or(0))
    }

    async fn read_all(
        &self,
        after: Option<LogPosition>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = after.map(|p| p.prepare).unwrap_or(0);
        let query = sqlx::query(
            "SELECT CAST(group_concat(record, '' ORDER BY position) AS BLOB) FROM \
             (SELECT position, record FROM events WHERE position > ? ORDER BY position LIMIT ?)",
        )
        .bind(to_i64(after))
        .bind(to_i64(limit as u64));
        read_page(&self.reads, query, after).await
    }

    async fn head(&self) -> Result<Option<LogPosition>, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events")
            .fetch_one(&self.reads)
            .await
            .map_err(backend)?;
        Ok(last.map(|p| LogPosition::sequential(to_u64(p))))
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    fn known_version(&self, stream: &StreamId) -> Option<u64> {
        self.known.get(stream.as_str())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

#[async_trait]
impl EventStore for SqliteStore {
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
            "SELECT version, snapshot_version, state FROM snapshots WHERE stream_id = ?",
        )
        .bind(stream.as_str())
        .fetch_optional(&self.reads)
        .await
        .map_err(backend)?;
        row.map(|row| {
            let snapshot_version: i64 = row.try_get(1).map_err(backend)?;
            Ok(Snapshot {
                stream_id: stream.clone(),
                version: to_u64(row.try_get(0).map_err(backend)?),
                snapshot_version: u32::try_from(snapshot_version).unwrap_or(0),
                state: row.try_get(2).map_err(backend)?,
            })
        })
        .transpose()
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (stream_id, version, snapshot_version, state) VALUES (?, ?, ?, ?) \
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, \
             snapshot_version = excluded.snapshot_version, state = excluded.state \
             WHERE snapshots.version < excluded.version",
        )
        .bind(snapshot.stream_id.as_str())
        .bind(to_i64(snapshot.version))
        .bind(i64::from(snapshot.snapshot_version))
        .bind(snapshot.state)
        .execute(&self.snapshots)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
