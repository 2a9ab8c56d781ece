//! Turning PostgreSQL rows into events, and sqlx errors into store errors.

use chrono::{DateTime, Utc};
use domain::codec::StoredPayload;
use domain::{ChainHash, EventMeta, LogPosition, RecordedEvent, StreamId};
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row, Type};
use uuid::Uuid;

use crate::StoreError;

/// The columns every event read selects, in the order `decode_row` expects. `tx_id` is read as
/// text because sqlx cannot decode `xid8`; uuids are read as text because the uuid feature of
/// sqlx is off.
pub(super) const EVENT_COLUMNS: &str = "tx_id::text::bigint, position, event_id::text, stream_id, \
     version, event_type, event_version, occurred_at, recorded_at, actor, organization::text, \
     causation_id::text, correlation_id::text, payload, prev_hash, hash";

/// Whether `error` means the server cannot be reached (as opposed to a statement failing).
pub(super) fn is_connection_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // Class 08 is "connection exception"; 57P01-57P03 are shutdown and start-up states;
        // 53300 is too many connections.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        // A connection dropped in the middle of a message.
        sqlx::Error::Protocol(message) => message.contains("EOF") || message.contains("closed"),
        _ => false,
    }
}

/// Maps a sqlx error from doing `what`: connection trouble is `Unavailable` (the caller may
/// retry), anything else `Backend` with a short text. Details, never SQL, go to the log.
pub(super) fn db_error(what: &'static str, error: sqlx::Error) -> StoreError {
    if is_connection_error(&error) {
        tracing::warn!(%error, what, "postgres event store unreachable");
        let reason = match &error {
            sqlx::Error::PoolTimedOut => "no connection within the timeout".to_owned(),
            sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
            sqlx::Error::Io(io) => io.to_string(),
            sqlx::Error::Database(db) => db.message().to_owned(),
            _ => "the connection was lost".to_owned(),
        };
        return StoreError::Unavailable(format!("postgres: cannot {what}: {reason}"));
    }
    tracing::error!(%error, what, "postgres event store error");
    let code = match &error {
        sqlx::Error::Database(db) => db.code().map(|c| format!(" (sqlstate {c})")),
        _ => None,
    };
    StoreError::Backend(format!(
        "postgres failed to {what}{}",
        code.unwrap_or_default()
    ))
}

pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(super) fn corrupt(at: impl ToString, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        position: at.to_string(),
        reason: reason.to_string(),
    }
}

/// Reads column `index`; a value that does not decode makes the row corrupt.
pub(super) fn column<'r, T>(row: &'r PgRow, index: usize, at: &str) -> Result<T, StoreError>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(index).map_err(|error| match error {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            corrupt(at, format!("column {index}: {error}"))
        }
        other => db_error("read a row", other),
    })
}

pub(super) fn micros(value: i64, at: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| corrupt(at, format!("timestamp {value} is out of range")))
}

pub(super) fn hash_column(row: &PgRow, index: usize, at: &str) -> Result<ChainHash, StoreError> {
    let bytes: Vec<u8> = column(row, index, at)?;
    ChainHash::from_slice(&bytes)
        .ok_or_else(|| corrupt(at, format!("hash has {} bytes, expected 32", bytes.len())))
}

pub(super) fn parse_uuid(text: &str, at: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| corrupt(at, format!("bad uuid {text:?}: {e}")))
}

fn optional_uuid(row: &PgRow, index: usize, at: &str) -> Result<Option<Uuid>, StoreError> {
    let text: Option<String> = column(row, index, at)?;
    text.map(|t| parse_uuid(&t, at)).transpose()
}

/// Reads a `(tx_id, position)` pair at `index` and `index + 1`.
pub(super) fn position_columns(row: &PgRow, index: usize) -> Result<LogPosition, StoreError> {
    let commit: i64 = column(row, index, "?")?;
    let prepare: i64 = column(row, index + 1, "?")?;
    Ok(LogPosition {
        commit: to_u64(commit),
        prepare: to_u64(prepare),
    })
}

/// Turns a row selected with `EVENT_COLUMNS` back into an event; a damaged row is `Corrupt`,
/// never a panic.
pub(super) fn decode_row(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position = position_columns(row, 0)?;
    let at = position.to_string();
    let at = at.as_str();
    let event_id: String = column(row, 2, at)?;
    let stream: String = column(row, 3, at)?;
    let version: i64 = column(row, 4, at)?;
    let event_version: i32 = column(row, 6, at)?;
    Ok(RecordedEvent {
        stream_id: StreamId::new(stream).map_err(|e| corrupt(at, e))?,
        version: u64::try_from(version).map_err(|_| corrupt(at, format!("version {version}")))?,
        position,
        recorded_at: micros(column(row, 8, at)?, at)?,
        meta: EventMeta {
            event_id: parse_uuid(&event_id, at)?,
            occurred_at: micros(column(row, 7, at)?, at)?,
            actor: column(row, 9, at)?,
            organization: optional_uuid(row, 10, at)?,
            causation_id: optional_uuid(row, 11, at)?,
            correlation_id: optional_uuid(row, 12, at)?,
        },
        payload: StoredPayload {
            event_type: column(row, 5, at)?,
            event_version: u32::try_from(event_version)
                .map_err(|_| corrupt(at, format!("event version {event_version}")))?,
            data: column(row, 13, at)?,
        },
        prev_hash: hash_column(row, 14, at)?,
        hash: hash_column(row, 15, at)?,
    })
}
