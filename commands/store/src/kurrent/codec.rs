//! How Mirage events, snapshots and stream names map onto KurrentDB records.
//!
//! The payload is stored byte for byte as the event's data (content type JSON), so the hash
//! chain verifies on read; everything else the envelope carries travels in the event's custom
//! metadata as a small JSON document.

use chrono::{DateTime, Utc};
use domain::codec::StoredPayload;
use domain::{ChainHash, EventMeta, LogPosition, RecordedEvent, StreamId};
use kurrentdb::{EventData, SubscriptionFilter};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{Snapshot, StoreError};

/// Event type of the records in snapshot streams.
pub const SNAPSHOT_EVENT_TYPE: &str = "MirageSnapshot";

/// KurrentDB reports this commit position for an event whose `$all` position it does not know.
const NO_POSITION: u64 = u64::MAX;

/// The envelope fields stored in an event's custom metadata.
#[derive(Debug, Serialize, Deserialize)]
struct StoredMeta {
    event_version: u32,
    /// Unix microseconds.
    occurred_at: i64,
    /// Unix microseconds.
    recorded_at: i64,
    actor: String,
    organization: Option<Uuid>,
    causation_id: Option<Uuid>,
    correlation_id: Option<Uuid>,
    /// Hex.
    prev_hash: String,
    /// Hex.
    hash: String,
}

/// The data of a snapshot record.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotBody {
    version: u64,
    snapshot_version: u32,
    /// Hex of the state bytes.
    state: String,
}

/// Stream names on the server: an optional prefix (which isolates one deployment or one test
/// from the others sharing the database) plus the stream id.
#[derive(Debug, Clone)]
pub struct Naming {
    prefix: String,
    snapshot_prefix: String,
}

impl Naming {
    pub fn new(prefix: Option<String>) -> Self {
        let prefix = prefix.unwrap_or_default();
        let snapshot_prefix = format!("{prefix}mirage-snapshot-");
        Self {
            prefix,
            snapshot_prefix,
        }
    }

    pub fn stream(&self, stream: &StreamId) -> String {
        format!("{}{}", self.prefix, stream.as_str())
    }

    pub fn snapshot(&self, stream: &StreamId) -> String {
        format!("{}{}", self.snapshot_prefix, stream.as_str())
    }

    /// Whether a record read from `$all` is one of our events (not a system record, not a
    /// snapshot, not another prefix's stream).
    pub fn is_event(&self, record: &kurrentdb::RecordedEvent) -> bool {
        let stream = record.stream_id();
        !stream.starts_with('$')
            && !record.event_type.starts_with('$')
            && stream.starts_with(&self.prefix)
            && !stream.starts_with(&self.snapshot_prefix)
    }

    /// The server-side filter for reads of and subscriptions to `$all`; [`Naming::is_event`]
    /// still applies to what it lets through.
    pub fn filter(&self) -> SubscriptionFilter {
        if self.prefix.is_empty() {
            SubscriptionFilter::on_stream_name().regex("^[^\\$]")
        } else {
            SubscriptionFilter::on_stream_name().add_prefix(&self.prefix)
        }
    }

    fn stream_id(&self, name: &str) -> Result<StreamId, String> {
        let id = name
            .strip_prefix(&self.prefix)
            .ok_or_else(|| format!("stream {name:?} does not start with the configured prefix"))?;
        StreamId::new(id).map_err(|e| format!("stream {name:?}: {e}"))
    }
}

/// Where a record sits, for error messages: its `$all` position when known.
pub fn location(record: &kurrentdb::RecordedEvent) -> String {
    if record.position.commit == NO_POSITION {
        format!("{}@{}", record.stream_id(), record.revision)
    } else {
        LogPosition {
            commit: record.position.commit,
            prepare: record.position.prepare,
        }
        .to_string()
    }
}

/// The `$all` position of a record, which stream reads carry on KurrentDB 22.6 and later.
pub fn log_position(record: &kurrentdb::RecordedEvent) -> Result<LogPosition, StoreError> {
    if record.position.commit == NO_POSITION {
        tracing::error!(
            stream = record.stream_id(),
            revision = record.revision,
            "kurrentdb returned an event without its $all position"
        );
        return Err(StoreError::Backend(
            "kurrentdb did not report an event's log position; version 22.6 or later is required"
                .to_owned(),
        ));
    }
    Ok(LogPosition {
        commit: record.position.commit,
        prepare: record.position.prepare,
    })
}

fn corrupt(record: &kurrentdb::RecordedEvent, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        position: location(record),
        reason: reason.into(),
    }
}

fn micros(
    value: i64,
    field: &str,
    record: &kurrentdb::RecordedEvent,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| corrupt(record, format!("{field} {value} is out of range")))
}

fn hash(
    text: &str,
    field: &str,
    record: &kurrentdb::RecordedEvent,
) -> Result<ChainHash, StoreError> {
    ChainHash::from_hex(text)
        .ok_or_else(|| corrupt(record, format!("{field} is not 32 bytes of hex")))
}

/// Turns a stored record back into an event; damaged metadata is `Corrupt`, never a panic.
pub fn decode(
    naming: &Naming,
    record: &kurrentdb::RecordedEvent,
) -> Result<RecordedEvent, StoreError> {
    let stream_id = naming
        .stream_id(record.stream_id())
        .map_err(|reason| corrupt(record, reason))?;
    if record.custom_metadata.is_empty() {
        return Err(corrupt(record, "the event has no metadata"));
    }
    let meta: StoredMeta = serde_json::from_slice(&record.custom_metadata)
        .map_err(|e| corrupt(record, format!("malformed metadata: {e}")))?;
    let version = record
        .revision
        .checked_add(1)
        .ok_or_else(|| corrupt(record, "stream revision out of range"))?;
    Ok(RecordedEvent {
        stream_id,
        version,
        position: log_position(record)?,
        recorded_at: micros(meta.recorded_at, "recorded_at", record)?,
        meta: EventMeta {
            event_id: record.id,
            occurred_at: micros(meta.occurred_at, "occurred_at", record)?,
            actor: meta.actor,
            organization: meta.organization,
            causation_id: meta.causation_id,
            correlation_id: meta.correlation_id,
        },
        payload: StoredPayload {
            event_type: record.event_type.clone(),
            event_version: meta.event_version,
            data: record.data.to_vec(),
        },
        prev_hash: hash(&meta.prev_hash, "prev_hash", record)?,
        hash: hash(&meta.hash, "hash", record)?,
    })
}

fn encoding_error(what: &str, error: impl std::fmt::Display) -> StoreError {
    tracing::error!(%error, "cannot encode {what} for kurrentdb");
    StoreError::Backend(format!("cannot encode {what} for kurrentdb"))
}

/// The record for an event whose version, `recorded_at` and hashes are already set.
pub fn encode(event: &RecordedEvent) -> Result<EventData, StoreError> {
    let meta = StoredMeta {
        event_version: event.payload.event_version,
        occurred_at: event.meta.occurred_at.timestamp_micros(),
        recorded_at: event.recorded_at.timestamp_micros(),
        actor: event.meta.actor.clone(),
        organization: event.meta.organization,
        causation_id: event.meta.causation_id,
        correlation_id: event.meta.correlation_id,
        prev_hash: event.prev_hash.to_hex(),
        hash: event.hash.to_hex(),
    };
    let data = &event.payload.data;
    let event_type = &event.payload.event_type;
    // The payload is validated JSON; it is stored verbatim. A raw value drops surrounding
    // whitespace, so such a payload (never produced by our codecs) goes in as binary instead,
    // still byte for byte.
    let raw = std::str::from_utf8(data)
        .ok()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok())
        .filter(|raw| raw.get().len() == data.len());
    let record = match raw {
        Some(raw) => {
            EventData::json(event_type, &raw).map_err(|e| encoding_error("a payload", e))?
        }
        None => EventData::binary(event_type, data.clone().into()),
    };
    record
        .id(event.meta.event_id)
        .metadata_as_json(&meta)
        .map_err(|e| encoding_error("event metadata", e))
}

/// The record holding a snapshot.
pub fn encode_snapshot(snapshot: &Snapshot) -> Result<EventData, StoreError> {
    let body = SnapshotBody {
        version: snapshot.version,
        snapshot_version: snapshot.snapshot_version,
        state: hex::encode(&snapshot.state),
    };
    EventData::json(SNAPSHOT_EVENT_TYPE, &body)
        .map(|record| record.id(Uuid::now_v7()))
        .map_err(|e| encoding_error("a snapshot", e))
}

/// Reads a snapshot record back.
pub fn decode_snapshot(
    stream: &StreamId,
    record: &kurrentdb::RecordedEvent,
) -> Result<Snapshot, StoreError> {
    if record.event_type != SNAPSHOT_EVENT_TYPE {
        return Err(corrupt(
            record,
            format!("snapshot record has type {:?}", record.event_type),
        ));
    }
    let body: SnapshotBody = serde_json::from_slice(&record.data)
        .map_err(|e| corrupt(record, format!("malformed snapshot: {e}")))?;
    let state = hex::decode(&body.state)
        .map_err(|e| corrupt(record, format!("malformed snapshot state: {e}")))?;
    Ok(Snapshot {
        stream_id: stream.clone(),
        version: body.version,
        snapshot_version: body.snapshot_version,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::GENESIS_HASH;

    fn event(data: &[u8]) -> RecordedEvent {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        RecordedEvent {
            stream_id: StreamId::new("organization-1").unwrap(),
            version: 1,
            position: LogPosition::START,
            recorded_at: at,
            meta: EventMeta {
                event_id: Uuid::from_u128(7),
                occurred_at: at,
                actor: "system".into(),
                organization: Some(Uuid::from_u128(1)),
                causation_id: None,
                correlation_id: Some(Uuid::from_u128(2)),
            },
            payload: StoredPayload {
                event_type: "OrganizationCreated".into(),
                event_version: 1,
                data: data.to_vec(),
            },
            prev_hash: GENESIS_HASH,
            hash: ChainHash([9; 32]),
        }
    }

    #[test]
    fn naming_prefixes_streams_and_recognises_snapshots() {
        let naming = Naming::new(Some("t1-".into()));
        let id = StreamId::new("organization-1").unwrap();
        assert_eq!(naming.stream(&id), "t1-organization-1");
        assert_eq!(naming.snapshot(&id), "t1-mirage-snapshot-organization-1");
        assert_eq!(naming.stream_id("t1-organization-1"), Ok(id));
        assert!(naming.stream_id("t2-organization-1").is_err());
    }

    #[test]
    fn payloads_are_encoded_verbatim() {
        // `EventData` keeps its fields private; its derived `Debug` shows them.
        let record = format!("{:?}", encode(&event(b"{\"b\":1, \"a\":2.50}")).unwrap());
        assert!(
            record.contains(r#"payload: b"{\"b\":1, \"a\":2.50}""#),
            "{record}"
        );
        assert!(record.contains("application/json"), "{record}");
        let record = format!("{:?}", encode(&event(b" {} ")).unwrap());
        assert!(record.contains(r#"payload: b" {} ""#), "{record}");
        assert!(record.contains("application/octet-stream"), "{record}");
        assert!(
            record.contains("00000000-0000-0000-0000-000000000007"),
            "{record}"
        );
    }

    #[test]
    fn stored_meta_round_trips() {
        let original = event(b"{}");
        let meta = StoredMeta {
            event_version: 3,
            occurred_at: original.meta.occurred_at.timestamp_micros(),
            recorded_at: original.recorded_at.timestamp_micros(),
            actor: original.meta.actor.clone(),
            organization: original.meta.organization,
            causation_id: None,
            correlation_id: original.meta.correlation_id,
            prev_hash: original.prev_hash.to_hex(),
            hash: original.hash.to_hex(),
        };
        let json = serde_json::to_vec(&meta).unwrap();
        let back: StoredMeta = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.event_version, 3);
        assert_eq!(back.organization, original.meta.organization);
        assert_eq!(ChainHash::from_hex(&back.hash), Some(original.hash));
    }
}
