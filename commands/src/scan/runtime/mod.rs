//! The scan runtime: one task per running scan, resumable from its events.
//!
//! A run replays its findings stream (which findings exist, which work items are done), then
//! walks the stream in order and hands every finding to every module consuming its type
//! ([`route`]), through a bounded pool of workers ([`work`]: rate limits, timeouts, retries).
//! One writer per run ([`writer`]) normalises and de-duplicates what modules return and appends
//! new findings together with the completion of the work items that produced them, so a crash
//! loses only unfinished work, which the next start redoes, and never duplicates a finding.

mod compare;
mod metrics;
mod patience;
mod replay;
mod route;
mod run;
mod work;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::CommandContext;
use domain::scan::{Scan, ScanCommand, ScanState, ScanStatus, TargetLimits};
use modules::{Egress, Registry};
use tokio::sync::watch;
use uuid::Uuid;

use crate::handler::CommandHandler;
use crate::scan::ScanError;
use store::SharedStore;

pub use metrics::ScanMetrics;
pub use replay::for_each_event;

/// How the runtime works.
#[derive(Clone)]
pub struct RuntimeConfig {
    pub egress: Arc<Egress>,
    /// Work items in flight per scan.
    pub concurrency: usize,
    pub target_limits: TargetLimits,
    pub metrics: Option<ScanMetrics>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            egress: Arc::new(Egress::public_only()),
            concurrency: 32,
            target_limits: TargetLimits::default(),
            metrics: None,
        }
    }
}

/// What a run task should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Running,
    Paused,
    /// The user stopped the scan: abandon in-flight work.
    Stopped,
    /// The process is shutting down: stop without recording anything.
    Shutdown,
}

struct Control {
    mode: watch::Sender<Mode>,
    /// Set by `launch` while the task runs: look again for a newer run before exiting.
    again: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// Runs scans.
pub struct ScanRuntime {
    handler: CommandHandler,
    registry: Registry,
    config: RuntimeConfig,
    runs: Mutex<HashMap<Uuid, Control>>,
}

impl ScanRuntime {
    pub fn new(handler: CommandHandler, registry: Registry, config: RuntimeConfig) -> Arc<Self> {
        Arc::new(Self {
            handler,
            registry,
            config,
            runs: Mutex::new(HashMap::new()),
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    pub fn store(&self) -> &SharedStore {
        self.handler.store()
    }

    /// Starts (or un-pauses) the task running `scan_id`. The task removes its entry under the
    /// same lock when it ends, so a launch either reaches a live task or starts a new one.
    pub fn launch(self: &Arc<Self>, scan_id: Uuid) {
        let Ok(mut runs) = self.runs.lock() else {
            return;
        };
        if let Some(control) = runs.get(&scan_id) {
            control
                .again
                .store(true, std::sync::atomic::Ordering::SeqCst);
            control.mode.send_replace(Mode::Running);
            return;
        }
        let (mode, receiver) = watch::channel(Mode::Running);
        let again = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = tokio::spawn(run::run_scan(
            self.clone(),
            scan_id,
            receiver,
            again.clone(),
        ));
        runs.insert(scan_id, Control { mode, again, task });
    }

    /// Called by a run task about to end: `true` means a launch asked for another look.
    fn should_continue(&self, scan_id: Uuid) -> bool {
        let Ok(mut runs) = self.runs.lock() else {
            return false;
        };
        match runs.get(&scan_id) {
            Some(control)
                if control
                    .again
                    .swap(false, std::sync::atomic::Ordering::SeqCst) =>
            {
                true
            }
            _ => {
                runs.remove(&scan_id);
                false
            }
        }
    }

    fn set_mode(&self, scan_id: Uuid, mode: Mode) {
        if let Ok(runs) = self.runs.lock()
            && let Some(control) = runs.get(&scan_id)
        {
            control.mode.send_replace(mode);
        }
    }

    pub fn pause(&self, scan_id: Uuid) {
        self.set_mode(scan_id, Mode::Paused);
    }

    pub fn stop(&self, scan_id: Uuid) {
        self.set_mode(scan_id, Mode::Stopped);
    }

    /// Whether a task is working on the scan right now.
    pub fn is_active(&self, scan_id: Uuid) -> bool {
        self.runs
            .lock()
            .map(|runs| runs.get(&scan_id).is_some_and(|c| !c.task.is_finished()))
            .unwrap_or(false)
    }

    /// Resumes the scans that were running when the process last stopped (for whatever reason).
    pub async fn recover(self: &Arc<Self>, candidates: Vec<Uuid>) -> Result<usize, ScanError> {
        let mut resumed = 0;
        for scan_id in candidates {
            let state = self.scan_state(scan_id).await?;
            if state.status == ScanStatus::Running {
                tracing::info!(scan = %scan_id, run = state.run, "resuming scan after restart");
                self.launch(scan_id);
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// Stops every task without recording anything; running scans resume on the next start.
    pub async fn shutdown(&self) {
        let tasks: Vec<_> = match self.runs.lock() {
            Ok(mut runs) => runs
                .drain()
                .map(|(_, control)| {
                    control.mode.send_replace(Mode::Shutdown);
                    control.task
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        for task in tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }

    pub async fn scan_state(&self, scan_id: Uuid) -> Result<ScanState, ScanError> {
        let stream = super::scan_stream(scan_id)?;
        let loaded = self
            .handler
            .load::<Scan>(&stream)
            .await
            .map_err(ScanError::from_command)?;
        if !loaded.state.exists() {
            return Err(ScanError::NotFound);
        }
        Ok(loaded.state)
    }

    /// Decides and records a command on the scan's stream.
    pub(crate) async fn execute(
        &self,
        scan_id: Uuid,
        command: ScanCommand,
        context: &CommandContext,
    ) -> Result<ScanState, ScanError> {
        let executed = self
            .handler
            .execute::<Scan>(&super::scan_stream(scan_id)?, command, context)
            .await
            .map_err(ScanError::from_command)?;
        Ok(executed.state)
    }
}

/// The context of what the runtime and the scheduler decide on their own (actor `system`).
pub(crate) fn system_context(scan_id: Uuid) -> CommandContext {
    CommandContext {
        correlation_id: Some(scan_id),
        ..CommandContext::system(chrono::Utc::now())
    }
}
