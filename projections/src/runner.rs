//! The projection runner: follows the global log for every registered projection from its own
//! checkpoint, retries after failures, rebuilds on demand and reports lag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use domain::{LogPosition, RecordedEvent};
use futures::StreamExt;
use store::{SharedLog, catch_up_subscription};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ProjectionError;
use crate::metrics::ProjectionMetrics;

/// A named read model fed from the global log.
///
/// SQL projections store their checkpoint in the same transaction as the change (exactly once in
/// effect); others store it after applying and must apply idempotently (at least once).
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// The position of the last applied event (`None` = nothing applied).
    async fn checkpoint(&self) -> Result<Option<LogPosition>, ProjectionError>;
    /// Applies events in log order and moves the checkpoint to the last one.
    async fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError>;
    /// Empties the read model and forgets the checkpoint.
    async fn reset(&self) -> Result<(), ProjectionError>;
}

/// What an operator sees of one projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub name: &'static str,
    pub checkpoint: Option<LogPosition>,
    pub last_error: Option<String>,
}

struct Entry {
    projection: Arc<dyn Projection>,
    checkpoint: watch::Sender<Option<LogPosition>>,
    last_error: Mutex<Option<String>>,
}

const BATCH: usize = 500;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(10);

pub struct ProjectionRunner {
    store: SharedLog,
    entries: BTreeMap<&'static str, Arc<Entry>>,
    metrics: Option<ProjectionMetrics>,
}

impl ProjectionRunner {
    pub fn new(store: SharedLog, metrics: Option<ProjectionMetrics>) -> Self {
        Self {
            store,
            entries: BTreeMap::new(),
            metrics,
        }
    }

    pub fn add(&mut self, projection: Arc<dyn Projection>) {
        let (checkpoint, _) = watch::channel(None);
        self.entries.insert(
            projection.name(),
            Arc::new(Entry {
                projection,
                checkpoint,
                last_error: Mutex::new(None),
            }),
        );
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.entries.keys().copied().collect()
    }

    fn select(&self, name: Option<&str>) -> Result<Vec<Arc<Entry>>, ProjectionError> {
        match name {
            None => Ok(self.entries.values().cloned().collect()),
            Some(name) => self
                .entries
                .get(name)
                .cloned()
                .map(|entry| vec![entry])
                .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned())),
        }
    }

    /// Starts one task per projection that follows the log until `shutdown` turns true.
    pub fn spawn(&self, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        self.entries
            .values()
            .map(|entry| {
                let entry = entry.clone();
                let store = self.store.clone();
                let metrics = self.metrics.clone();
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = follow(store, entry, metrics) => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                })
            })
            .collect()
    }

    /// Applies everything up to the current head, then returns the number of events applied.
    pub async fn catch_up(&self, name: Option<&str>) -> Result<u64, ProjectionError> {
        let mut applied = 0;
        for entry in self.select(name)? {
            let mut after = entry.projection.checkpoint().await?;
            loop {
                let page = self.store.read_all(after, BATCH).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.position);
                apply_page(&entry, self.metrics.as_ref(), &page).await?;
                applied += page.len() as u64;
            }
        }
        Ok(applied)
    }

    /// Empties the read model(s) and replays the whole log into them.
    pub async fn rebuild(&self, name: Option<&str>) -> Result<u64, ProjectionError> {
        let entries = self.select(name)?;
        for entry in &entries {
            entry.projection.reset().await?;
            entry.checkpoint.send_replace(None);
            tracing::info!(
                projection = entry.projection.name(),
                "read model reset, replaying from position 0"
            );
        }
        let mut applied = 0;
        for entry in entries {
            applied += self.catch_up(Some(entry.projection.name())).await?;
        }
        Ok(applied)
    }

    /// Waits until the projection has applied `position`; false on timeout.
    pub async fn wait_for(&self, name: &str, position: LogPosition, timeout: Duration) -> bool {
        let Some(entry) = self.entries.get(name) else {
            return false;
        };
        let mut receiver = entry.checkpoint.subscribe();
        tokio::time::timeout(
            timeout,
            receiver.wait_for(|checkpoint| checkpoint.is_some_and(|c| c >= position)),
        )
        .await
        .is_ok_and(|reached| reached.is_ok())
    }

    /// Each projection's checkpoint as stored in its read model.
    pub async fn stored_checkpoints(
        &self,
    ) -> Result<Vec<(&'static str, Option<LogPosition>)>, ProjectionError> {
        let mut checkpoints = Vec::new();
        for (name, entry) in &self.entries {
            checkpoints.push((*name, entry.projection.checkpoint().await?));
        }
        Ok(checkpoints)
    }

    pub fn status(&self) -> Vec<ProjectionStatus> {
        self.entries
            .values()
            .map(|entry| ProjectionStatus {
                name: entry.projection.name(),
                checkpoint: *entry.checkpoint.borrow(),
                last_error: entry
                    .last_error
                    .lock()
                    .map(|e| e.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Recomputes every projection's lag against the log head (called before a metrics scrape).
    pub async fn refresh_lag(&self) -> Result<(), ProjectionError> {
        let Some(metrics) = &self.metrics else {
            return Ok(());
        };
        let head = self.store.head().await?.unwrap_or_default();
        for entry in self.entries.values() {
            let checkpoint = entry.checkpoint.borrow().unwrap_or_default();
            let lag = head.prepare.saturating_sub(checkpoint.prepare);
            metrics
                .lag
                .with_label_values(&[entry.projection.name()])
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
        }
        Ok(())
    }
}

fn record(entry: &Entry, metrics: Option<&ProjectionMetrics>, page: &[RecordedEvent]) {
    let Some(last) = page.last() else { return };
    entry.checkpoint.send_replace(Some(last.position));
    if let Ok(mut error) = entry.last_error.lock() {
        *error = None;
    }
    if let Some(metrics) = metrics {
        let name = entry.projection.name();
        metrics
            .checkpoint
            .with_label_values(&[name])
            .set(i64::try_from(last.position.prepare).unwrap_or(i64::MAX));
        metrics
            .events
            .with_label_values(&[name])
            .inc_by(page.len() as u64);
    }
}

/// Follows the log forever; on any failure logs it, waits with back-off and resumes from the
/// stored checkpoint.
async fn follow(store: SharedLog, entry: Arc<Entry>, metrics: Option<ProjectionMetrics>) {
    let name = entry.projection.name();
    let mut delay = RETRY_MIN;
    loop {
        let outcome = follow_once(&store, &entry, metrics.as_ref(), &mut delay).await;
        if let Err(error) = outcome {
            tracing::error!(projection = name, %error, "projection stopped; restarting from its checkpoint");
            if let Ok(mut last) = entry.last_error.lock() {
                *last = Some(error.to_string());
            }
            if let Some(metrics) = &metrics {
                metrics.failures.with_label_values(&[name]).inc();
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(RETRY_MAX);
        }
    }
}

async fn follow_once(
    store: &SharedLog,
    entry: &Entry,
    metrics: Option<&ProjectionMetrics>,
    delay: &mut Duration,
) -> Result<(), ProjectionError> {
    let checkpoint = entry.projection.checkpoint().await?;
    entry.checkpoint.send_replace(checkpoint);
    let mut events = catch_up_subscription(store.clone(), checkpoint).ready_chunks(BATCH);
    while let Some(chunk) = events.next().await {
        let page = chunk.into_iter().collect::<Result<Vec<_>, _>>()?;
        apply_page(entry, metrics, &page).await?;
        *delay = RETRY_MIN;
    }
    Ok(())
}

/// Applies a page; when it fails, applies its events one by one so everything before the
/// failing event is kept and the checkpoint stops right before it.
async fn apply_page(
    entry: &Entry,
    metrics: Option<&ProjectionMetrics>,
    page: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    match entry.projection.apply(page).await {
        Ok(()) => {
            record(entry, metrics, page);
            Ok(())
        }
        Err(error) if page.len() == 1 => Err(error),
        Err(_) => {
            for event in page {
                let single = std::slice::from_ref(event);
                entry.projection.apply(single).await?;
                record(entry, metrics, single);
            }
            Ok(())
        }
    }
}
