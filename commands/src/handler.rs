//! Command handling: load an aggregate (snapshot + newer events), let the domain decide, append
//! the decision with the version it was based on, snapshot every N events. Nothing else.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::codec::DecodeError;
use domain::{Aggregate, CommandContext, DomainError, EventCodec, EventMeta, NewEvent, StreamId};
use uuid::Uuid;

use store::{AppendResult, EventStore, ExpectedVersion, ReadBound, Snapshot, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerConfig {
    /// Save a snapshot once this many events were applied on top of the last one.
    pub snapshot_every: u64,
    /// How often a command is re-decided after a concurrent change to its stream.
    pub conflict_retries: u32,
}

impl Default for HandlerConfig {
    fn default() -> Self {
        Self {
            snapshot_every: 100,
            conflict_retries: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("stream {stream} kept changing concurrently; try again")]
    Conflict { stream: String },
    #[error(transparent)]
    Store(StoreError),
    #[error("cannot load stream {stream}: {source}")]
    Decode {
        stream: String,
        #[source]
        source: DecodeError,
    },
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::WrongExpectedVersion { stream, .. } => CommandError::Conflict { stream },
            other => CommandError::Store(other),
        }
    }
}

/// An event with a fresh UUIDv7 whose metadata comes from the command's context.
pub fn new_event(context: &CommandContext, payload: domain::codec::StoredPayload) -> NewEvent {
    NewEvent {
        meta: EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at: context.now,
            actor: context.actor.clone(),
            organization: context.organization,
            causation_id: context.causation_id,
            correlation_id: context.correlation_id,
        },
        payload,
    }
}

/// An aggregate's state as loaded from its stream.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    pub state: S,
    /// The stream version the state reflects (0 = new stream).
    pub version: u64,
    /// The version of the snapshot the load started from (0 = none).
    pub snapshot_version: u64,
}

/// What a handled command did.
#[derive(Debug, Clone)]
pub struct Executed<S> {
    pub state: S,
    pub events: usize,
    pub append: Option<AppendResult>,
}

const PAGE: usize = 1000;

/// Aggregate states this process loaded, reused only while the store vouches that their stream
/// is still at the same version (see [`EventStore::known_version`]).
#[derive(Default)]
struct StateCache {
    entries: Mutex<HashMap<(TypeId, StreamId), CachedState>>,
}

struct CachedState {
    version: u64,
    snapshot_version: u64,
    state: Arc<dyn Any + Send + Sync>,
}

const MAX_CACHED_STATES: usize = 50_000;

impl StateCache {
    fn get<S: Clone + 'static>(&self, stream: &StreamId, version: u64) -> Option<Loaded<S>> {
        let entries = self.entries.lock().ok()?;
        let cached = entries.get(&(TypeId::of::<S>(), stream.clone()))?;
        if cached.version != version {
            return None;
        }
        let state = cached.state.downcast_ref::<S>()?.clone();
        Some(Loaded {
            state,
            version,
            snapshot_version: cached.snapshot_version,
        })
    }

    fn put<S: Clone + Send + Sync + 'static>(&self, stream: &StreamId, loaded: &Loaded<S>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CACHED_STATES {
                entries.clear();
            }
            entries.insert(
                (TypeId::of::<S>(), stream.clone()),
                CachedState {
                    version: loaded.version,
                    snapshot_version: loaded.snapshot_version,
                    state: Arc::new(loaded.state.clone()),
                },
            );
        }
    }
}

#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    config: HandlerConfig,
    cache: Arc<StateCache>,
}

impl CommandHandler {
    pub fn new(store: Arc<dyn EventStore>, config: HandlerConfig) -> Self {
        Self {
            store,
            config,
            cache: Arc::new(StateCache::default()),
        }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Loads an aggregate: from memory when the store vouches the stream is unchanged, else
    /// from its latest usable snapshot and the events after it.
    pub async fn load<A: Aggregate>(
        &self,
        stream: &StreamId,
    ) -> Result<Loaded<A::State>, CommandError> {
        if let Some(version) = self.store.known_version(stream)
            && let Some(loaded) = self.cache.get::<A::State>(stream, version)
        {
            return Ok(loaded);
        }
        let loaded = self.load_from_store::<A>(stream).await?;
        self.cache.put(stream, &loaded);
        Ok(loaded)
    }

    async fn load_from_store<A: Aggregate>(
        &self,
        stream: &StreamId,
    ) -> Result<Loaded<A::State>, CommandError> {
        let (mut state, mut version) = match self.store.load_snapshot(stream).await? {
            Some(snapshot) if snapshot.snapshot_version == A::SNAPSHOT_VERSION => {
                match serde_json::from_slice::<A::State>(&snapshot.state) {
                    Ok(state) => (state, snapshot.version),
                    Err(error) => {
                        tracing::warn!(%stream, %error, "ignoring unreadable snapshot");
                        (A::State::default(), 0)
                    }
                }
            }
            _ => (A::State::default(), 0),
        };
        let snapshot_version = version;
        loop {
            let page = self
                .store
                .read_stream(stream, version + 1, ReadBound::End, PAGE)
                .await?;
            for recorded in &page {
                let event =
                    A::Event::decode(&recorded.payload).map_err(|source| CommandError::Decode {
                        stream: stream.to_string(),
                        source,
                    })?;
                state = A::evolve(state, &event);
                version = recorded.version;
            }
            if page.len() < PAGE {
                break;
            }
        }
        Ok(Loaded {
            state,
            version,
            snapshot_version,
        })
    }

    /// Loads, decides, appends; re-decides on a concurrent change, a few times.
    pub async fn execute<A: Aggregate>(
        &self,
        stream: &StreamId,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Executed<A::State>, CommandError>
    where
        A::Command: Clone,
    {
        let mut attempt = 0;
        loop {
            match self
                .execute_once::<A>(stream, command.clone(), context)
                .await
            {
                Err(CommandError::Conflict { .. }) if attempt < self.config.conflict_retries => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn execute_once<A: Aggregate>(
        &self,
        stream: &StreamId,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Executed<A::State>, CommandError> {
        let loaded = self.load::<A>(stream).await?;
        let events = A::decide(&loaded.state, command, context)?;
        if events.is_empty() {
            return Ok(Executed {
                state: loaded.state,
                events: 0,
                append: None,
            });
        }
        let append = self
            .append_decided::<A>(stream, loaded.version, &events, context)
            .await?;
        let state = events.iter().fold(loaded.state, A::evolve);
        let mut snapshot_version = loaded.snapshot_version;
        if append.next_expected_version - loaded.snapshot_version >= self.config.snapshot_every {
            self.snapshot::<A>(stream, &state, append.next_expected_version)
                .await;
            snapshot_version = append.next_expected_version;
        }
        self.cache.put(
            stream,
            &Loaded {
                state: state.clone(),
                version: append.next_expected_version,
                snapshot_version,
            },
        );
        Ok(Executed {
            state,
            events: events.len(),
            append: Some(append),
        })
    }

    /// Appends events decided against the stream at `based_on` (0 = new stream). A concurrent
    /// change is `CommandError::Conflict`; nothing is retried.
    pub async fn append_decided<A: Aggregate>(
        &self,
        stream: &StreamId,
        based_on: u64,
        events: &[A::Event],
        context: &CommandContext,
    ) -> Result<AppendResult, CommandError> {
        let new_events = events
            .iter()
            .map(|event| new_event(context, event.encode()))
            .collect();
        let expected = match based_on {
            0 => ExpectedVersion::NoStream,
            version => ExpectedVersion::Exact(version),
        };
        Ok(self.store.append(stream, expected, new_events).await?)
    }

    /// Saves a snapshot; a failure only costs speed on the next load, so it is logged.
    async fn snapshot<A: Aggregate>(&self, stream: &StreamId, state: &A::State, version: u64) {
        let state = match serde_json::to_vec(state) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(%stream, %error, "cannot serialise snapshot");
                return;
            }
        };
        let snapshot = Snapshot {
            stream_id: stream.clone(),
            version,
            snapshot_version: A::SNAPSHOT_VERSION,
            state,
        };
        if let Err(error) = self.store.save_snapshot(snapshot).await {
            tracing::warn!(%stream, %error, "cannot save snapshot");
        }
    }
}
