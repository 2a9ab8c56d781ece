//! Appending: read the stream's tail, chain the new events onto it, write them with the exact
//! revision that was read, and read them back for their `$all` positions.
//!
//! Appends from this process to one stream take turns (see `locks`); against other processes,
//! optimistic concurrency is KurrentDB's own: a concurrent writer makes the write fail with a
//! wrong expected version, and the append starts over from a fresh tail.
//!
//! A retried append (same event ids) is recognised by scanning the end of the stream: whenever
//! the expectation fails (the usual sign of a retry), always for `Any` and `StreamExists`
//! (which cannot tell), and when the stream's last event is one of the request's. Ids reused in
//! another stream are caught only when this process wrote them (see `recent`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{ChainHash, LogPosition, NewEvent, RecordedEvent, StreamId};
use kurrentdb::{
    AppendToStreamOptions, CurrentRevision, ReadStreamOptions, StreamPosition, StreamState,
};
use uuid::Uuid;

use super::KurrentStore;
use super::codec::{decode, encode, log_position};
use super::error::client_error;
use super::watcher::bump;
use crate::plan::{StreamHead, chain_events};
use crate::{AppendResult, ExpectedVersion, StoreError};

/// Writes attempted before giving up on a stream other writers keep moving.
const MAX_ATTEMPTS: usize = 5;
/// How far back from the end of a stream a retried append is recognised.
const IDEMPOTENCY_WINDOW: u64 = 1000;
/// Events per read while scanning or reading back, to bound memory.
const PAGE: u64 = 100;

/// What the next event of a stream chains onto.
struct Tail {
    revision: u64,
    event_id: Uuid,
    hash: ChainHash,
    recorded_at: DateTime<Utc>,
}

/// The new events, versioned and hashed onto `tail` (see [`chain_events`]).
fn chain(
    stream: &StreamId,
    tail: Option<&Tail>,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Vec<RecordedEvent> {
    let head = tail.map_or(StreamHead::EMPTY, |tail| StreamHead {
        version: tail.revision + 1,
        hash: tail.hash,
        recorded_at: tail.recorded_at,
    });
    chain_events(stream, head, events, now).0
}

fn version_of(revision: CurrentRevision) -> u64 {
    match revision {
        CurrentRevision::Current(revision) => revision + 1,
        CurrentRevision::NoStream => 0,
    }
}

impl KurrentStore {
    /// Appends already validated events; see [`crate::EventStore::append`].
    pub(super) async fn append_events(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let name = self.naming.stream(stream);
        let ids: Vec<Uuid> = events.iter().map(|e| e.meta.event_id).collect();
        if self.recent.used_elsewhere(&name, &ids) {
            return Err(StoreError::IdempotencyMismatch {
                stream: stream.as_str().to_owned(),
            });
        }
        let mut actual = 0;
        for attempt in 1..=MAX_ATTEMPTS {
            let tail = self.tail(&name).await?;
            let current = tail.as_ref().map_or(0, |t| t.revision + 1);
            // A retry of an append that was written shows up as a failed expectation, except
            // when the expectation cannot tell (any, stream exists) or the retry comes before
            // anything else was written.
            let may_be_retry = !expected.accepts(current)
                || matches!(
                    expected,
                    ExpectedVersion::Any | ExpectedVersion::StreamExists
                )
                || tail.as_ref().is_some_and(|t| ids.contains(&t.event_id));
            if current > 0
                && may_be_retry
                && let Some(result) = self.stored_result(&name, stream, &ids).await?
            {
                return Ok(result);
            }
            if !expected.accepts(current) {
                return Err(StoreError::WrongExpectedVersion {
                    stream: stream.as_str().to_owned(),
                    expected,
                    actual: current,
                });
            }

            let rows = chain(stream, tail.as_ref(), &events, Utc::now());
            let records = rows.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
            let state = tail.as_ref().map_or(StreamState::NoStream, |t| {
                StreamState::StreamRevision(t.revision)
            });
            let options = AppendToStreamOptions::default().stream_state(state);
            match self
                .client
                .append_to_stream(name.clone(), &options, records)
                .await
            {
                Ok(_) => {
                    bump(&self.changes);
                    self.recent.record(&name, &ids);
                    let positions = self.written_positions(&name, current, &ids).await?;
                    return Ok(AppendResult {
                        next_expected_version: current + ids.len() as u64,
                        positions,
                    });
                }
                Err(kurrentdb::Error::WrongExpectedVersion {
                    current: now_at, ..
                }) => {
                    actual = version_of(now_at);
                    tracing::debug!(
                        stream = %stream,
                        attempt,
                        read = current,
                        actual,
                        "kurrentdb stream moved during an append, retrying"
                    );
                }
                Err(error) => return Err(client_error(error, "append")),
            }
        }
        tracing::warn!(stream = %stream, "kurrentdb append gave up after {MAX_ATTEMPTS} conflicts");
        Err(StoreError::WrongExpectedVersion {
            stream: stream.as_str().to_owned(),
            expected,
            actual,
        })
    }

    /// The stream's last event, read from the leader.
    async fn tail(&self, name: &str) -> Result<Option<Tail>, StoreError> {
        let Some(record) = self.last_record(name, true, "append").await? else {
            return Ok(None);
        };
        let last = decode(&self.naming, &record)?;
        Ok(Some(Tail {
            revision: record.revision,
            event_id: last.meta.event_id,
            hash: last.hash,
            recorded_at: last.recorded_at,
        }))
    }

    /// The original result if `ids` are already the stream's events, in order; a mismatch if
    /// only some are. Looks at the last [`IDEMPOTENCY_WINDOW`] events.
    async fn stored_result(
        &self,
        name: &str,
        stream: &StreamId,
        ids: &[Uuid],
    ) -> Result<Option<AppendResult>, StoreError> {
        let wanted: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        // Per requested event: its stored version and position.
        let mut found: Vec<Option<(u64, Result<LogPosition, StoreError>)>> = vec![None; ids.len()];
        let mut found_count = 0;
        let mut scanned = 0;
        let mut start = StreamPosition::End;
        while scanned < IDEMPOTENCY_WINDOW && found_count < ids.len() {
            let count = PAGE.min(IDEMPOTENCY_WINDOW - scanned);
            let options = ReadStreamOptions::default()
                .position(start)
                .backwards()
                .max_count(count as usize)
                .requires_leader(true);
            let records = self.read_stream_records(name, &options, "append").await?;
            scanned += records.len() as u64;
            for record in &records {
                if let Some(&index) = wanted.get(&record.id)
                    && let Some(slot) = found.get_mut(index)
                    && slot.is_none()
                {
                    *slot = Some((record.revision + 1, log_position(record)));
                    found_count += 1;
                }
            }
            match records.last() {
                Some(oldest) if records.len() as u64 == count && oldest.revision > 0 => {
                    start = StreamPosition::Position(oldest.revision - 1);
                }
                _ => break,
            }
        }
        let mismatch = || StoreError::IdempotencyMismatch {
            stream: stream.as_str().to_owned(),
        };
        if found_count == 0 {
            return Ok(None);
        }
        if found_count < ids.len() {
            return Err(mismatch());
        }
        let mut positions = Vec::with_capacity(ids.len());
        let mut last_version: Option<u64> = None;
        for slot in found {
            let (version, position) = slot.ok_or_else(mismatch)?;
            if last_version.is_some_and(|last| version != last + 1) {
                return Err(mismatch());
            }
            last_version = Some(version);
            positions.push(position?);
        }
        Ok(Some(AppendResult {
            next_expected_version: last_version.unwrap_or_default(),
            positions,
        }))
    }

    /// The `$all` positions of the events just written from revision `first`.
    async fn written_positions(
        &self,
        name: &str,
        first: u64,
        ids: &[Uuid],
    ) -> Result<Vec<LogPosition>, StoreError> {
        let mut positions = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PAGE as usize) {
            let revision = first + positions.len() as u64;
            let options = ReadStreamOptions::default()
                .position(StreamPosition::Position(revision))
                .forwards()
                .max_count(chunk.len())
                .requires_leader(true);
            let records = self.read_stream_records(name, &options, "append").await?;
            let ours = records.len() == chunk.len()
                && records
                    .iter()
                    .zip(chunk)
                    .all(|(record, id)| record.id == *id);
            if !ours {
                tracing::error!(
                    stream = name,
                    revision,
                    "kurrentdb returned other events than the ones just appended"
                );
                return Err(StoreError::Backend(
                    "kurrentdb append: the written events could not be read back".to_owned(),
                ));
            }
            for record in &records {
                positions.push(log_position(record)?);
            }
        }
        Ok(positions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::EventMeta;
    use domain::codec::StoredPayload;
    use domain::hash_chain::ChainVerifier;

    fn new_event(id: u128) -> NewEvent {
        NewEvent {
            meta: EventMeta {
                event_id: Uuid::from_u128(id),
                occurred_at: DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap(),
                actor: "system".into(),
                organization: None,
                causation_id: None,
                correlation_id: None,
            },
            payload: StoredPayload {
                event_type: "Tested".into(),
                event_version: 1,
                data: b"{}".to_vec(),
            },
        }
    }

    #[test]
    fn chained_rows_verify_and_never_go_back_in_time() {
        let stream = StreamId::new("test-1").unwrap();
        let now = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        let first = chain(&stream, None, &[new_event(1), new_event(2)], now);
        let last = &first[1];
        let tail = Tail {
            revision: 1,
            event_id: last.meta.event_id,
            hash: last.hash,
            recorded_at: last.recorded_at + chrono::Duration::seconds(5),
        };
        let second = chain(&stream, Some(&tail), &[new_event(3)], now);
        assert_eq!(second[0].version, 3);
        assert_eq!(second[0].recorded_at, tail.recorded_at);

        let mut verifier = ChainVerifier::new();
        for row in first.iter().chain(&second) {
            verifier.check(row).unwrap();
        }
    }
}
