//! Planning a batch of appends: version checks, idempotency and hash chaining, done once for
//! every SQL backend. Pure: the backend supplies the stream heads and already-stored ids it read
//! inside its transaction, and writes the rows this returns.

use std::collections::HashMap;
use std::ops::Range;

use chrono::{DateTime, Utc};
use domain::hash_chain::compute_hash;
use domain::{ChainHash, GENESIS_HASH, LogPosition, NewEvent, RecordedEvent, StreamId};
use uuid::Uuid;

use super::group_commit::AppendJob;
use super::{AppendResult, StoreError};

/// The tip of a stream as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHead {
    pub version: u64,
    pub hash: ChainHash,
    pub recorded_at: DateTime<Utc>,
}

impl StreamHead {
    /// The head of a stream that has no events yet.
    pub const EMPTY: StreamHead = StreamHead {
        version: 0,
        hash: GENESIS_HASH,
        recorded_at: DateTime::<Utc>::UNIX_EPOCH,
    };
}

/// An event id that is already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredId {
    pub stream_id: String,
    pub version: u64,
    pub position: LogPosition,
}

/// What to do for one job of the batch.
#[derive(Debug)]
pub enum Outcome {
    /// Its events are `rows[range]`, to be written by this batch (or written earlier in it).
    Insert(Range<usize>),
    /// Settled without writing: a rejection, or a retry of an append already stored.
    Done(Result<AppendResult, StoreError>),
}

#[derive(Debug, Default)]
pub struct BatchPlan {
    pub outcomes: Vec<Outcome>,
    /// New events, positions not yet assigned.
    pub rows: Vec<RecordedEvent>,
    /// The new tip of every stream this batch writes.
    pub heads: HashMap<String, StreamHead>,
}

impl BatchPlan {
    /// Builds each job's result once the backend has filled in `rows[..].position`.
    pub fn results(self) -> Vec<Result<AppendResult, StoreError>> {
        let rows = self.rows;
        self.outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Done(result) => result,
                Outcome::Insert(range) => Ok(AppendResult {
                    next_expected_version: range
                        .clone()
                        .last()
                        .map(|i| rows[i].version)
                        .unwrap_or_default(),
                    positions: rows[range].iter().map(|row| row.position).collect(),
                }),
            })
            .collect()
    }
}

/// Plans `jobs` in order against the stored `heads` and `stored_ids`.
pub fn plan_batch(
    jobs: &[AppendJob],
    stored_heads: &HashMap<String, StreamHead>,
    stored_ids: &HashMap<Uuid, StoredId>,
    now: DateTime<Utc>,
) -> BatchPlan {
    let mut plan = BatchPlan::default();
    // Ids written earlier in this batch: id -> row index.
    let mut batch_ids: HashMap<Uuid, usize> = HashMap::new();
    for job in jobs {
        let outcome = plan_job(
            job,
            stored_heads,
            stored_ids,
            &mut batch_ids,
            &mut plan,
            now,
        );
        plan.outcomes.push(outcome);
    }
    plan
}

fn plan_job(
    job: &AppendJob,
    stored_heads: &HashMap<String, StreamHead>,
    stored_ids: &HashMap<Uuid, StoredId>,
    batch_ids: &mut HashMap<Uuid, usize>,
    plan: &mut BatchPlan,
    now: DateTime<Utc>,
) -> Outcome {
    let stream = job.stream.as_str();
    let known_stored = job
        .events
        .iter()
        .filter(|e| stored_ids.contains_key(&e.meta.event_id))
        .count();
    let known_in_batch = job
        .events
        .iter()
        .filter(|e| batch_ids.contains_key(&e.meta.event_id))
        .count();
    if known_stored == job.events.len() {
        return Outcome::Done(replay_stored(job, stored_ids));
    }
    if known_in_batch == job.events.len() {
        return replay_in_batch(job, batch_ids, &plan.rows);
    }
    if known_stored + known_in_batch > 0 {
        return Outcome::Done(Err(StoreError::IdempotencyMismatch {
            stream: stream.to_owned(),
        }));
    }

    let head = plan
        .heads
        .get(stream)
        .or_else(|| stored_heads.get(stream))
        .copied()
        .unwrap_or(StreamHead::EMPTY);
    if !job.expected.accepts(head.version) {
        return Outcome::Done(Err(StoreError::WrongExpectedVersion {
            stream: stream.to_owned(),
            expected: job.expected,
            actual: head.version,
        }));
    }
    let start = plan.rows.len();
    let (rows, new_head) = chain_events(&job.stream, head, &job.events, now);
    for row in rows {
        batch_ids.insert(row.meta.event_id, plan.rows.len());
        plan.rows.push(row);
    }
    plan.heads.insert(stream.to_owned(), new_head);
    Outcome::Insert(start..plan.rows.len())
}

/// Versions and hashes `events` onto the stream's `head`, returning the rows (positions not yet
/// assigned) and the new head. All rows share one `recorded_at`, truncated to the stored
/// microsecond precision and never earlier than the head's, so time-bounded reads of a stream
/// are prefixes.
pub fn chain_events(
    stream: &StreamId,
    head: StreamHead,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> (Vec<RecordedEvent>, StreamHead) {
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let recorded_at = now.max(head.recorded_at);
    let mut prev_hash = head.hash;
    let mut version = head.version;
    let rows = events
        .iter()
        .map(|event| {
            version += 1;
            let mut row = RecordedEvent {
                stream_id: stream.clone(),
                version,
                position: LogPosition::START,
                recorded_at,
                meta: event.meta.clone(),
                payload: event.payload.clone(),
                prev_hash,
                hash: GENESIS_HASH,
            };
            row.hash = compute_hash(&row);
            prev_hash = row.hash;
            row
        })
        .collect();
    let head = StreamHead {
        version,
        hash: prev_hash,
        recorded_at,
    };
    (rows, head)
}

/// A retry of an append that is already stored: the same ids, in the same stream, in order.
fn replay_stored(
    job: &super::group_commit::AppendJob,
    stored_ids: &HashMap<Uuid, StoredId>,
) -> Result<AppendResult, StoreError> {
    let mismatch = || StoreError::IdempotencyMismatch {
        stream: job.stream.as_str().to_owned(),
    };
    let mut positions = Vec::with_capacity(job.events.len());
    let mut last_version = None;
    for event in &job.events {
        let stored = stored_ids.get(&event.meta.event_id).ok_or_else(mismatch)?;
        let in_order = last_version.is_none_or(|v: u64| stored.version == v + 1);
        if stored.stream_id != job.stream.as_str() || !in_order {
            return Err(mismatch());
        }
        last_version = Some(stored.version);
        positions.push(stored.position);
    }
    Ok(AppendResult {
        next_expected_version: last_version.unwrap_or_default(),
        positions,
    })
}

fn replay_in_batch(
    job: &super::group_commit::AppendJob,
    batch_ids: &HashMap<Uuid, usize>,
    rows: &[RecordedEvent],
) -> Outcome {
    let indexes: Vec<usize> = job
        .events
        .iter()
        .filter_map(|e| batch_ids.get(&e.meta.event_id).copied())
        .collect();
    let contiguous = indexes.windows(2).all(|w| w[1] == w[0] + 1);
    let same_stream = indexes.iter().all(|&i| rows[i].stream_id == job.stream);
    match (indexes.first(), indexes.last()) {
        (Some(&first), Some(&last)) if contiguous && same_stream => {
            Outcome::Insert(first..last + 1)
        }
        _ => Outcome::Done(Err(StoreError::IdempotencyMismatch {
            stream: job.stream.as_str().to_owned(),
        })),
    }
}
