//! The event store: its two faces and its backends.
//!
//! [`EventLog`] reads the log (streams, the global order, the change signal); it is all that
//! projections and the API hold. [`EventStore`] adds appending and aggregate snapshots; only
//! command handling and the scan writer hold it. Only this crate knows SQLite, PostgreSQL and
//! KurrentDB as event stores.
//!
//! Every backend passes the same conformance suite (`tests/integration/store_conformance.rs`).

mod group_commit;
pub mod kurrent;
mod plan;
pub mod postgres;
mod record;
pub mod sqlite;
mod subscription;
mod validate;
mod versions;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{LogPosition, NewEvent, RecordedEvent, StreamId};

pub use subscription::catch_up_subscription;
pub use validate::StoreLimits;

/// What the writer believes the stream's version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist, at any version.
    StreamExists,
    /// The stream's current version (its number of events) must be exactly this.
    Exact(u64),
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("stream exists"),
            ExpectedVersion::Exact(version) => write!(f, "version {version}"),
        }
    }
}

impl ExpectedVersion {
    /// Whether a stream currently at `actual` (0 = absent) satisfies this expectation.
    pub fn accepts(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(expected) => expected == actual,
        }
    }
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's version after the append (= the last event's version).
    pub next_expected_version: u64,
    /// One position per appended event, in order.
    pub positions: Vec<LogPosition>,
}

/// How far a stream read goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBound {
    /// To the end of the stream.
    End,
    /// Up to and including this version.
    Version(u64),
    /// Events recorded at or before this moment.
    Time(DateTime<Utc>),
}

/// A saved aggregate state at a stream version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub stream_id: StreamId,
    pub version: u64,
    pub snapshot_version: u32,
    pub state: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error(
        "wrong expected version for stream {stream}: expected {expected}, stream is at version {actual}"
    )]
    WrongExpectedVersion {
        stream: String,
        expected: ExpectedVersion,
        actual: u64,
    },
    #[error("event {event_id}: payload is {size} bytes, the limit is {limit}")]
    EventTooLarge {
        event_id: uuid::Uuid,
        size: usize,
        limit: usize,
    },
    #[error("invalid event: {field}: {reason}")]
    InvalidEvent { field: &'static str, reason: String },
    #[error("event ids of this append were already used for other events in stream {stream}")]
    IdempotencyMismatch { stream: String },
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    #[error("data directory {path} is locked by another mirage process")]
    Locked { path: String },
    #[error("data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("stored event at position {position} is corrupt: {reason}")]
    Corrupt { position: String, reason: String },
    #[error("event store error: {0}")]
    Backend(String),
    #[error("event store is shut down")]
    Closed,
}

impl StoreError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        StoreError::InvalidEvent {
            field,
            reason: reason.into(),
        }
    }
}

/// The log's reading face: streams, the global order and the signal that it grew.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Reads a stream forwards from version `from` (inclusive, 1 = start), at most `limit` events.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        until: ReadBound,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The stream's current version (0 when it does not exist).
    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError>;

    /// Reads the global log after `after` (exclusive; `None` = from the start), at most `limit`.
    /// Never returns an event while an earlier one could still appear before it.
    async fn read_all(
        &self,
        after: Option<LogPosition>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The position of the last readable event of the global log.
    async fn head(&self) -> Result<Option<LogPosition>, StoreError>;

    /// A counter that moves whenever new events may be readable.
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;

    /// How long a subscriber waits before polling again when no change was signalled.
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(500)
    }

    /// The stream's current version when this process knows it for certain without asking the
    /// database (a single-writer store); `None` means "ask".
    fn known_version(&self, _stream: &StreamId) -> Option<u64> {
        None
    }

    /// A short name for logs and metrics: `sqlite`, `postgres`, `kurrentdb`.
    fn backend(&self) -> &'static str;
}

/// The appending face: optimistic-concurrency appends and aggregate snapshots.
#[async_trait]
pub trait EventStore: EventLog {
    /// Appends `events` to `stream` if the stream's version satisfies `expected`.
    ///
    /// Idempotent by event id: appending events whose ids are already stored in this stream, in
    /// the same order, returns the original result and writes nothing. Returns only after the
    /// events are durable.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError>;

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError>;
}

/// The log as readers (projections, the API) hold it.
pub type SharedLog = Arc<dyn EventLog>;

/// The store as the rest of the program holds it.
pub type SharedStore = Arc<dyn EventStore>;
