//! The envelope every event travels in: who, when, why, and where it sits in the log.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::codec::StoredPayload;
use crate::hash_chain::ChainHash;
use crate::ids::StreamId;
use crate::position::LogPosition;

/// What the caller knows about an event before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// UUIDv7, chosen by the caller so a retried append is recognised.
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// `user:<id>`, `api-key:<id>`, `system`, ...
    pub actor: String,
    pub organization: Option<Uuid>,
    /// The event or command that caused this one.
    pub causation_id: Option<Uuid>,
    /// Shared by every event of one user request or scan.
    pub correlation_id: Option<Uuid>,
}

/// An event ready to append: metadata plus the stored form of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub meta: EventMeta,
    pub payload: StoredPayload,
}

/// An event as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub stream_id: StreamId,
    /// 1 for the first event of a stream.
    pub version: u64,
    pub position: LogPosition,
    pub recorded_at: DateTime<Utc>,
    pub meta: EventMeta,
    pub payload: StoredPayload,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

impl RecordedEvent {
    pub fn event_type(&self) -> &str {
        &self.payload.event_type
    }
}
