//! The KurrentDB backend: one KurrentDB stream per Mirage stream, the global log is `$all`.
//!
//! Our version is KurrentDB's stream revision + 1, a [`LogPosition`] is KurrentDB's `$all`
//! position. The payload is the event's data, byte for byte; the rest of the envelope (hash
//! chain included) is the event's custom metadata. The hash chain is computed here, from the
//! stream's last event, and the write uses that event's exact revision, so two writers can
//! never chain onto the same event. Snapshots live in one capped stream per aggregate. Requires
//! KurrentDB (or EventStoreDB) 22.6 or later, which reports `$all` positions on stream reads.

mod append;
mod codec;
mod error;
mod locks;
mod recent;
mod watcher;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{LogPosition, NewEvent, RecordedEvent, StreamId};
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, Position, ReadAllOptions, ReadStreamOptions,
    StreamMetadataBuilder, StreamPosition, StreamState,
};
use tokio::sync::{Mutex, watch};

use self::codec::{Naming, decode, decode_snapshot, encode_snapshot};
use self::error::{client_error, redact, url_error};
use self::locks::StreamLocks;
use self::recent::RecentIds;
use self::watcher::Watcher;
use super::validate::validate_append;
use super::{
    AppendResult, EventLog, EventStore, ExpectedVersion, ReadBound, Snapshot, StoreError,
    StoreLimits,
};

/// How to reach KurrentDB and which streams are ours.
#[derive(Clone)]
pub struct KurrentStoreConfig {
    /// A `kurrentdb://` (or `esdb://`) connection string; may carry credentials.
    pub url: String,
    /// Prepended to every stream name, so several deployments (or tests) can share a database.
    pub stream_prefix: Option<String>,
    pub limits: StoreLimits,
}

impl KurrentStoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream_prefix: None,
            limits: StoreLimits::default(),
        }
    }
}

impl fmt::Debug for KurrentStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KurrentStoreConfig")
            .field("url", &redact(&self.url, &self.url))
            .field("stream_prefix", &self.stream_prefix)
            .field("limits", &self.limits)
            .finish()
    }
}

pub struct KurrentStore {
    client: Client,
    naming: Naming,
    limits: StoreLimits,
    changes: Arc<watch::Sender<u64>>,
    /// Appends from this process to one stream take turns.
    locks: StreamLocks,
    /// Event ids this process appended, to refuse their reuse in another stream.
    recent: RecentIds,
    /// Snapshot streams whose `max_count` is known to be set.
    capped: Mutex<HashSet<String>>,
    _watcher: Watcher,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Most events per read of `$all`.
const ALL_PAGE: usize = 1024;
/// Events per step when looking for the head of `$all` backwards.
const HEAD_PAGE: usize = 64;
const SNAPSHOT_ATTEMPTS: usize = 5;
const SNAPSHOT_MAX_COUNT: u64 = 1;
/// Bound on the memory of snapshot streams known to be capped.
const MAX_CAPPED_CACHE: usize = 100_000;
const MAX_PREFIX_LEN: usize = 100;

fn stream_prefix(prefix: Option<String>) -> Result<Option<String>, StoreError> {
    let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:@".contains(c);
    if prefix.len() > MAX_PREFIX_LEN || !prefix.chars().all(allowed) {
        return Err(StoreError::Unavailable(format!(
            "stream_prefix: {prefix:?} must be 1-{MAX_PREFIX_LEN} letters, digits or -_.:@"
        )));
    }
    Ok(Some(prefix))
}

fn to_position(position: LogPosition) -> StreamPosition<Position> {
    StreamPosition::Position(Position {
        commit: position.commit,
        prepare: position.prepare,
    })
}

fn log_position_of(record: &kurrentdb::RecordedEvent) -> LogPosition {
    LogPosition {
        commit: record.position.commit,
        prepare: record.position.prepare,
    }
}

fn no_progress() -> StoreError {
    tracing::error!("kurrentdb read of $all returned a full page without moving forward");
    StoreError::Backend("kurrentdb read $all made no progress".to_owned())
}

impl KurrentStore {
    /// Connects and checks the server answers; starts the change subscription.
    pub async fn connect(config: KurrentStoreConfig) -> Result<Self, StoreError> {
        let prefix = stream_prefix(config.stream_prefix)?;
        let settings: ClientSettings =
            config.url.parse().map_err(|e| url_error(&config.url, &e))?;
        let client = Client::new(settings).map_err(|e| {
            let reason = redact(&e.to_string(), &config.url);
            tracing::error!(%reason, "cannot create the kurrentdb client");
            StoreError::Unavailable(format!("url: cannot create a kurrentdb client: {reason}"))
        })?;
        match tokio::time::timeout(CONNECT_TIMEOUT, client.server_info()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(client_error(error, "connect")),
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "kurrentdb connect: no answer within {} seconds",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let naming = Naming::new(prefix);
        let (changes, _) = watch::channel(0);
        let changes = Arc::new(changes);
        let watcher = watcher::spawn(client.clone(), naming.clone(), Arc::clone(&changes));
        tracing::info!("connected to kurrentdb");
        Ok(Self {
            client,
            naming,
            limits: config.limits,
            changes,
            locks: StreamLocks::default(),
            recent: RecentIds::default(),
            capped: Mutex::new(HashSet::new()),
            _watcher: watcher,
        })
    }

    /// Every record a stream read returns; a missing stream reads as empty.
    async fn read_stream_records(
        &self,
        name: &str,
        options: &ReadStreamOptions,
        action: &'static str,
    ) -> Result<Vec<kurrentdb::RecordedEvent>, StoreError> {
        let mut read = match self.client.read_stream(name.to_owned(), options).await {
            Ok(read) => read,
            Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(error) => return Err(client_error(error, action)),
        };
        let mut records = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => records.extend(resolved.event),
                Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => return Ok(records),
                Err(error) => return Err(client_error(error, action)),
            }
        }
    }

    /// Every record a read of `$all` returns.
    async fn read_all_records(
        &self,
        options: &ReadAllOptions,
    ) -> Result<Vec<kurrentdb::RecordedEvent>, StoreError> {
        let mut read = self
            .client
            .read_all(options)
            .await
            .map_err(|e| client_error(e, "read $all"))?;
        let mut records = Vec::new();
        while let Some(resolved) = read
            .next()
            .await
            .map_err(|e| client_error(e, "read $all"))?
        {
            records.extend(resolved.event);
        }
        Ok(records)
    }

    /// The last record of a stream, if any.
    async fn last_record(
        &self,
        name: &str,
        from_leader: bool,
        action: &'static str,
    ) -> Result<Option<kurrentdb::RecordedEvent>, StoreError> {
        let options = ReadStreamOptions::default()
            .position(StreamPosition::End)
            .backwards()
            .max_count(1)
            .requires_leader(from_leader);
        Ok(self
            .read_stream_records(name, &options, action)
            .await?
            .into_iter()
            .next())
    }

    /// Caps a snapshot stream at one event, once; failures only cost disk space.
    async fn cap_snapshot_stream(&self, name: &str) {
        if self.capped.lock().await.contains(name) {
            return;
        }
        let metadata = StreamMetadataBuilder::new()
            .max_count(SNAPSHOT_MAX_COUNT)
            .build();
        let options = AppendToStreamOptions::default().stream_state(StreamState::NoStream);
        match self
            .client
            .set_stream_metadata(name.to_owned(), &options, &metadata)
            .await
        {
            // Already set (by us earlier, or by another process).
            Ok(_) | Err(kurrentdb::Error::WrongExpectedVersion { .. }) => {
                let mut capped = self.capped.lock().await;
                if capped.len() >= MAX_CAPPED_CACHE {
                    capped.clear();
                }
                capped.insert(name.to_owned());
            }
            Err(error) => {
                tracing::warn!(%error, stream = name, "cannot set max_count on a kurrentdb snapshot stream");
            }
        }
    }
}

#[async_trait]
impl EventLog for KurrentStore {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        until: ReadBound,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let from = from.max(1);
        let mut count = limit;
        if let ReadBound::Version(last) = until {
            if last < from {
                return Ok(Vec::new());
            }
            count = count.min(usize::try_from(last - from + 1).unwrap_or(usize::MAX));
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(from - 1))
            .forwards()
            .max_count(count);
        let records = self
            .read_stream_records(&self.naming.stream(stream), &options, "read stream")
            .await?;
        let mut events = Vec::with_capacity(records.len());
        for record in &records {
            let event = decode(&self.naming, record)?;
            if let ReadBound::Time(time) = until
                && event.recorded_at.timestamp_micros() > time.timestamp_micros()
            {
                break;
            }
            events.push(event);
        }
        Ok(events)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        let last = self
            .last_record(&self.naming.stream(stream), false, "read stream")
            .await?;
        Ok(last.map_or(0, |record| record.revision + 1))
    }

    async fn read_all(
        &self,
        after: Option<LogPosition>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = Vec::new();
        let mut cursor = after;
        while events.len() < limit {
            // Reads from a position include the event at it: one more than needed.
            let page = (limit - events.len()).saturating_add(1).min(ALL_PAGE);
            let options = ReadAllOptions::default()
                .position(cursor.map_or(StreamPosition::Start, to_position))
                .forwards()
                .filter(self.naming.filter())
                .max_count(page);
            let records = self.read_all_records(&options).await?;
            let mut moved = false;
            for record in &records {
                let position = log_position_of(record);
                if cursor.is_some_and(|c| position <= c) {
                    continue;
                }
                cursor = Some(position);
                moved = true;
                if !self.naming.is_event(record) {
                    continue;
                }
                events.push(decode(&self.naming, record)?);
                if events.len() == limit {
                    break;
                }
            }
            if records.len() < page {
                break;
            }
            if !moved {
                return Err(no_progress());
            }
        }
        Ok(events)
    }

    async fn head(&self) -> Result<Option<LogPosition>, StoreError> {
        let mut cursor: Option<LogPosition> = None;
        loop {
            let options = ReadAllOptions::default()
                .position(cursor.map_or(StreamPosition::End, to_position))
                .backwards()
                .filter(self.naming.filter())
                .max_count(HEAD_PAGE);
            let records = self.read_all_records(&options).await?;
            let mut moved = false;
            for record in &records {
                let position = log_position_of(record);
                if cursor.is_some_and(|c| position >= c) {
                    continue;
                }
                cursor = Some(position);
                moved = true;
                if self.naming.is_event(record) {
                    return Ok(Some(position));
                }
            }
            if records.len() < HEAD_PAGE {
                return Ok(None);
            }
            if !moved {
                return Err(no_progress());
            }
        }
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn backend(&self) -> &'static str {
        "kurrentdb"
    }
}

#[async_trait]
impl EventStore for KurrentStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_append(&events, &self.limits)?;
        let _turn = self.locks.lock(stream.as_str()).await;
        self.append_events(stream, expected, events).await
    }
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let name = self.naming.snapshot(stream);
        self.last_record(&name, false, "load snapshot")
            .await?
            .map(|record| decode_snapshot(stream, &record))
            .transpose()
    }
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let name = self.naming.snapshot(&snapshot.stream_id);
        self.cap_snapshot_stream(&name).await;
        let record = encode_snapshot(&snapshot)?;
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let state = match self.last_record(&name, true, "save snapshot").await? {
                Some(last) => {
                    // Like the other backends: an older (or as old) snapshot never replaces a
                    // newer one. A damaged one is replaced.
                    let newer = decode_snapshot(&snapshot.stream_id, &last)
                        .is_ok_and(|stored| stored.version >= snapshot.version);
                    if newer {
                        return Ok(());
                    }
                    StreamState::StreamRevision(last.revision)
                }
                None => StreamState::NoStream,
            };
            let options = AppendToStreamOptions::default().stream_state(state);
            match self
                .client
                .append_to_stream(name.clone(), &options, record.clone())
                .await
            {
                Ok(_) => return Ok(()),
                Err(kurrentdb::Error::WrongExpectedVersion { .. }) => continue,
                Err(error) => return Err(client_error(error, "save snapshot")),
            }
        }
        // Others keep saving this aggregate's snapshot; theirs will do.
        tracing::debug!(stream = %snapshot.stream_id, "kurrentdb snapshot save lost to concurrent saves");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_servers_and_bad_settings_are_refused_cleanly() {
        // Nothing listens on port 1.
        let config = KurrentStoreConfig::new("kurrentdb://admin:changeit@127.0.0.1:1?tls=false");
        let error = KurrentStore::connect(config).await.err();
        assert!(
            matches!(error, Some(StoreError::Unavailable(_))),
            "{error:?}"
        );
        assert!(!format!("{error:?}").contains("changeit"));

        let error = KurrentStore::connect(KurrentStoreConfig::new("http://admin:changeit@x"))
            .await
            .err();
        assert!(matches!(&error, Some(StoreError::Unavailable(m)) if m.starts_with("url:")));
        assert!(!format!("{error:?}").contains("changeit"));

        let config = KurrentStoreConfig {
            stream_prefix: Some("$system".into()),
            ..KurrentStoreConfig::new("kurrentdb://localhost:2113")
        };
        let error = KurrentStore::connect(config).await.err();
        assert!(
            matches!(&error, Some(StoreError::Unavailable(m)) if m.starts_with("stream_prefix:"))
        );
    }

    #[test]
    fn config_debug_hides_credentials() {
        let config = KurrentStoreConfig::new("kurrentdb://admin:changeit@db:2113");
        assert!(!format!("{config:?}").contains("changeit"));
    }
}
