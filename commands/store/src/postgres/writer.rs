//! The group-commit writer of the PostgreSQL store: one transaction per batch of appends.
//!
//! Why per-stream order agrees with the global `(tx_id, position)` order: a transaction gets
//! its xid (`tx_id`) only when it first writes, and xids are handed out in increasing order.
//! Every append transaction first takes a transaction-scoped advisory lock per stream it writes
//! (advisory locks do not assign an xid), and only then reads the stream heads and inserts. So
//! a later writer of a stream waits for the earlier one to commit and is assigned its xid after
//! that commit: it always has the larger `tx_id`, in this process or in any other. The locks
//! are taken in sorted key order, so two batches cannot deadlock on them.
//!
//! A connection lost while `COMMIT` is in flight is reported as `Unavailable` although the batch
//! may have committed; appenders retry with the same event ids, which the planner recognises.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use domain::{LogPosition, RecordedEvent};
use sqlx::{Acquire, PgConnection, PgPool, Row};
use tokio::sync::watch;
use uuid::Uuid;

use super::rows::{
    column, db_error, hash_column, micros, parse_uuid, position_columns, to_i64, to_u64,
};
use crate::group_commit::{AppendJob, BatchWriter};
use crate::plan::{BatchPlan, StoredId, StreamHead, plan_batch};
use crate::{AppendResult, StoreError};

/// The channel every commit notifies, so other processes' subscribers wake up.
pub(super) const CHANNEL: &str = "mirage_events";

/// How long one batch may take before the writer gives up on the connection. Without it a
/// server that vanished without closing the socket would stall every appender.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

type JobResults = Vec<Result<AppendResult, StoreError>>;

pub(super) struct PgWriter {
    pub(super) pool: PgPool,
    pub(super) changes: Arc<watch::Sender<u64>>,
}

#[async_trait]
impl BatchWriter for PgWriter {
    async fn write_batch(&mut self, jobs: &[AppendJob]) -> Result<JobResults, StoreError> {
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|e| db_error("connect", e))?;
        match tokio::time::timeout(WRITE_TIMEOUT, write_in_transaction(&mut connection, jobs)).await
        {
            Ok(results) => results,
            Err(_) => {
                // The transaction may still be open on the server: closing the connection
                // rolls it back (or it already committed, and a retry is recognised by id).
                connection.close_on_drop();
                Err(StoreError::Unavailable(format!(
                    "postgres did not complete an append within {} s",
                    WRITE_TIMEOUT.as_secs()
                )))
            }
        }
    }

    fn committed(&mut self) {
        self.changes
            .send_modify(|counter| *counter = counter.wrapping_add(1));
    }
}

async fn write_in_transaction(
    connection: &mut PgConnection,
    jobs: &[AppendJob],
) -> Result<JobResults, StoreError> {
    let mut tx = connection
        .begin()
        .await
        .map_err(|e| db_error("begin a transaction", e))?;
    let streams: BTreeSet<&str> = jobs.iter().map(|j| j.stream.as_str()).collect();
    lock_streams(&mut tx, &streams).await?;
    let heads = load_heads(&mut tx, &streams).await?;
    let ids: Vec<String> = jobs
        .iter()
        .flat_map(|j| j.events.iter().map(|e| e.meta.event_id.to_string()))
        .collect();
    let stored = load_stored_ids(&mut tx, &ids).await?;
    let mut plan = plan_batch(jobs, &heads, &stored, Utc::now());
    if !plan.rows.is_empty() {
        insert_rows(&mut tx, &mut plan.rows).await?;
        upsert_heads(&mut tx, &plan.heads).await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("notify", e))?;
    }
    tx.commit().await.map_err(|e| db_error("commit", e))?;
    Ok(BatchPlan::results(plan))
}

/// The advisory lock key of a stream: 64-bit FNV-1a of its id. Every process must compute the
/// same key, so this must never change (a std hasher is not stable across Rust versions).
pub(super) fn lock_key(stream: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stream.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

async fn lock_streams(conn: &mut PgConnection, streams: &BTreeSet<&str>) -> Result<(), StoreError> {
    let keys: BTreeSet<i64> = streams.iter().map(|s| lock_key(s)).collect();
    let keys: Vec<i64> = keys.into_iter().collect();
    // The function scan yields the array in order, so the locks are taken in sorted order.
    sqlx::query("SELECT pg_advisory_xact_lock(k) FROM UNNEST($1::bigint[]) WITH ORDINALITY AS t(k, n) ORDER BY n")
        .bind(keys)
        .execute(conn)
        .await
        .map_err(|e| db_error("lock streams", e))?;
    Ok(())
}

async fn load_heads(
    conn: &mut PgConnection,
    streams: &BTreeSet<&str>,
) -> Result<HashMap<String, StreamHead>, StoreError> {
    let names: Vec<&str> = streams.iter().copied().collect();
    let rows = sqlx::query(
        "SELECT stream_id, version, last_hash, last_recorded_at FROM streams \
         WHERE stream_id = ANY($1::text[])",
    )
    .bind(names)
    .fetch_all(conn)
    .await
    .map_err(|e| db_error("read stream heads", e))?;
    let mut heads = HashMap::with_capacity(rows.len());
    for row in rows {
        let stream: String = row
            .try_get(0)
            .map_err(|e| db_error("read stream heads", e))?;
        let at = format!("head of {stream}");
        let head = StreamHead {
            version: to_u64(column(&row, 1, &at)?),
            hash: hash_column(&row, 2, &at)?,
            recorded_at: micros(column(&row, 3, &at)?, &at)?,
        };
        heads.insert(stream, head);
    }
    Ok(heads)
}

async fn load_stored_ids(
    conn: &mut PgConnection,
    ids: &[String],
) -> Result<HashMap<Uuid, StoredId>, StoreError> {
    let rows = sqlx::query(
        "SELECT tx_id::text::bigint, position, event_id::text, stream_id, version FROM events \
         WHERE event_id = ANY($1::text[]::uuid[])",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
    .map_err(|e| db_error("look up event ids", e))?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        let position = position_columns(&row, 0)?;
        let at = position.to_string();
        let id: String = column(&row, 2, &at)?;
        stored.insert(
            parse_uuid(&id, &at)?,
            StoredId {
                stream_id: column(&row, 3, &at)?,
                version: to_u64(column(&row, 4, &at)?),
                position,
            },
        );
    }
    Ok(stored)
}

/// Inserts `rows` in one statement and fills in their positions.
async fn insert_rows(
    conn: &mut PgConnection,
    rows: &mut [RecordedEvent],
) -> Result<(), StoreError> {
    let uuid_text = |id: Option<Uuid>| id.map(|id| id.to_string());
    let mut event_versions = Vec::with_capacity(rows.len());
    for row in rows.iter() {
        let version = i32::try_from(row.payload.event_version)
            .map_err(|_| StoreError::invalid("event_version", "must fit in 31 bits"))?;
        event_versions.push(version);
    }
    let returned = sqlx::query(
        "INSERT INTO events (event_id, stream_id, version, event_type, event_version, \
             occurred_at, recorded_at, actor, organization, causation_id, correlation_id, \
             payload, prev_hash, hash) \
         SELECT e, s, v, t, tv, o, r, a, org, cau, cor, p, ph, h FROM UNNEST( \
             $1::text[]::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[], \
             $6::bigint[], $7::bigint[], $8::text[], $9::text[]::uuid[], $10::text[]::uuid[], \
             $11::text[]::uuid[], $12::bytea[], $13::bytea[], $14::bytea[]) \
             WITH ORDINALITY AS u(e, s, v, t, tv, o, r, a, org, cau, cor, p, ph, h, n) \
         ORDER BY n \
         RETURNING event_id::text, tx_id::text::bigint, position",
    )
    .bind(
        rows.iter()
            .map(|r| r.meta.event_id.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.stream_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| to_i64(r.version)).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.payload.event_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(event_versions)
    .bind(
        rows.iter()
            .map(|r| r.meta.occurred_at.timestamp_micros())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.recorded_at.timestamp_micros())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.meta.actor.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| uuid_text(r.meta.organization))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| uuid_text(r.meta.causation_id))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| uuid_text(r.meta.correlation_id))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.payload.data.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.prev_hash.0.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.hash.0.as_slice()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("insert events", e))?;

    let mut positions: HashMap<Uuid, LogPosition> = HashMap::with_capacity(returned.len());
    for row in &returned {
        let id: String = column(row, 0, "new event")?;
        positions.insert(parse_uuid(&id, "new event")?, position_columns(row, 1)?);
    }
    let mut previous = LogPosition::START;
    for row in rows.iter_mut() {
        let position = positions.get(&row.meta.event_id).copied().ok_or_else(|| {
            StoreError::Backend("postgres did not return the position of an event".to_owned())
        })?;
        // Rows must be numbered in batch order, or a stream's events would be delivered out of
        // version order; returning an error rolls the batch back.
        if position <= previous {
            return Err(StoreError::Backend(
                "postgres numbered the events of a batch out of order".to_owned(),
            ));
        }
        previous = position;
        row.position = position;
    }
    Ok(())
}

async fn upsert_heads(
    conn: &mut PgConnection,
    heads: &HashMap<String, StreamHead>,
) -> Result<(), StoreError> {
    let heads: Vec<(&String, &StreamHead)> = heads.iter().collect();
    sqlx::query(
        "INSERT INTO streams (stream_id, version, last_hash, last_recorded_at) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bytea[], $4::bigint[]) \
         ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, \
             last_hash = EXCLUDED.last_hash, last_recorded_at = EXCLUDED.last_recorded_at",
    )
    .bind(heads.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>())
    .bind(
        heads
            .iter()
            .map(|(_, h)| to_i64(h.version))
            .collect::<Vec<_>>(),
    )
    .bind(
        heads
            .iter()
            .map(|(_, h)| h.hash.0.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(
        heads
            .iter()
            .map(|(_, h)| h.recorded_at.timestamp_micros())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await
    .map_err(|e| db_error("update stream heads", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn lock_keys_are_stable() {
        // FNV-1a test vectors; other processes rely on these exact values.
        assert_eq!(lock_key(""), 0xcbf2_9ce4_8422_2325_u64 as i64);
        assert_eq!(lock_key("a"), 0xaf63_dc4c_8601_ec8c_u64 as i64);
    }
}
