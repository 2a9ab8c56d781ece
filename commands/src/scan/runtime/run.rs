//! One scan run, from replay to finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use domain::EventCodec;
use domain::scan::{FindingEvent, ScanCommand, ScanState, ScanStatus, Scope, parse_target, types};
use modules::net::ScanNet;
use modules::{Input, ModuleContext, ScanOptions};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::patience::{is_transient, patiently, patiently_with};
use super::replay::replay;
use super::route::{Router, Slot};
use super::writer::{Writer, run_writer};
use super::{Mode, ScanRuntime, compare, system_context, work};
use crate::handler::CommandError;
use crate::scan::{ScanError, findings_stream};
use store::ReadBound;

/// Findings read per step of the dispatcher; small because web pages are findings too.
const DISPATCH_PAGE: usize = 64;

enum Outcome {
    Finished {
        run: u32,
        completed: u64,
        total: u64,
    },
    Interrupted,
}

/// Runs the scan until it finishes, is stopped, or the process shuts down; records the end.
/// A next run started while this one was ending is picked up here rather than lost.
pub async fn run_scan(
    runtime: Arc<ScanRuntime>,
    scan_id: Uuid,
    mut mode: watch::Receiver<Mode>,
    again: Arc<std::sync::atomic::AtomicBool>,
) {
    let metrics = runtime.config().metrics.clone();
    if let Some(metrics) = &metrics {
        metrics.running.inc();
    }
    loop {
        // Launches until now are covered by this pass, which loads the scan afresh.
        again.store(false, std::sync::atomic::Ordering::SeqCst);
        run_once(&runtime, scan_id, &mut mode).await;
        if !runtime.should_continue(scan_id) {
            break;
        }
        mode.mark_changed();
    }
    if let Some(metrics) = &metrics {
        metrics.running.dec();
    }
}

/// One run, to its end: finished, failed, stopped or shut down.
async fn run_once(runtime: &Arc<ScanRuntime>, scan_id: Uuid, mode: &mut watch::Receiver<Mode>) {
    let outcome = drive(runtime, scan_id, mode).await;
    let context = system_context(scan_id);
    let command = match outcome {
        Ok(Outcome::Interrupted) => return,
        Ok(Outcome::Finished {
            run,
            completed,
            total,
        }) => {
            if run > 1
                && let Err(error) = compare::record(runtime, scan_id, run).await
            {
                tracing::warn!(scan = %scan_id, %error, "change detection failed");
            }
            tracing::info!(scan = %scan_id, run, completed, total, "scan finished");
            ScanCommand::Finish { completed, total }
        }
        Err(error) => {
            tracing::error!(scan = %scan_id, %error, "scan failed");
            ScanCommand::Fail {
                reason: error.to_string(),
            }
        }
    };
    let recorded = patiently_with(
        "record the scan's end",
        |error: &ScanError| {
            matches!(error, ScanError::Command(CommandError::Store(e)) if is_transient(e))
        },
        || runtime.execute(scan_id, command.clone(), &context),
    )
    .await;
    if let Err(error) = recorded {
        // A user who paused or stopped at the last moment wins.
        tracing::info!(scan = %scan_id, %error, "scan end not recorded");
    }
}

/// Everything a run needs that comes from the scan's definition.
struct Setup {
    context: ModuleContext,
    router: Router,
    seeds: Vec<(String, &'static str, String)>,
}

fn setup(runtime: &ScanRuntime, state: &ScanState) -> Result<Setup, ScanError> {
    let registry = runtime.registry();
    let mut metas = Vec::new();
    for (index, id) in state.modules.iter().enumerate() {
        let entry = registry.get(id).ok_or_else(|| {
            ScanError::invalid(
                format!("modules[{index}]"),
                format!("unknown module {id:?}"),
            )
        })?;
        metas.push(entry);
    }
    let value: serde_json::Value =
        serde_json::from_str(&state.options).unwrap_or(serde_json::Value::Null);
    let meta_refs: Vec<_> = metas.iter().map(|e| e.meta).collect();
    let options = ScanOptions::parse(Some(&value), &meta_refs)
        .map_err(|e| ScanError::invalid(e.field, e.reason))?;
    let limits = runtime.config().target_limits;
    let mut entries = Vec::new();
    let mut seeds = Vec::new();
    for (index, text) in state.targets.iter().enumerate() {
        let target = parse_target(text, limits)
            .map_err(|e| ScanError::invalid(format!("targets[{index}]"), e))?;
        entries.push(target.scope.clone());
        for (kind, value) in target.seeds {
            seeds.push((target.text.clone(), kind, value));
        }
    }
    for (index, text) in options.scope.iter().enumerate() {
        let target = parse_target(text, limits)
            .map_err(|e| ScanError::invalid(format!("options.scope[{index}]"), e))?;
        entries.push(target.scope);
    }
    let net = ScanNet::new(runtime.config().egress.clone(), &options)
        .map_err(|e| ScanError::invalid("options", e))?;
    let slots = metas
        .iter()
        .map(|entry| Arc::new(Slot::new(entry.meta, (entry.create)())))
        .collect();
    let router = Router::new(slots, &options);
    Ok(Setup {
        context: ModuleContext {
            options: Arc::new(options),
            net: Arc::new(net),
            scope: Arc::new(Scope::new(entries)),
        },
        router,
        seeds,
    })
}

async fn drive(
    runtime: &Arc<ScanRuntime>,
    scan_id: Uuid,
    mode: &mut watch::Receiver<Mode>,
) -> Result<Outcome, ScanError> {
    let state = runtime.scan_state(scan_id).await?;
    if !matches!(state.status, ScanStatus::Running | ScanStatus::Paused) {
        return Ok(Outcome::Interrupted);
    }
    let Setup {
        context,
        mut router,
        seeds,
    } = setup(runtime, &state)?;
    let store = runtime.store().clone();
    let stream = findings_stream(scan_id)?;
    let replayed = replay(store.as_ref(), &stream, state.run).await?;
    let total = Arc::new(AtomicU64::new(0));
    let mut writer = Writer {
        store: store.clone(),
        stream: stream.clone(),
        version: replayed.version,
        run: state.run,
        scan_id,
        organization_id: state.organization_id,
        scope: context.scope.clone(),
        seen: replayed.seen,
        completed: replayed.completed.len() as u64,
        total: total.clone(),
        metrics: runtime.config().metrics.clone(),
    };
    if replayed.findings == 0 {
        writer.record_seeds(&seeds).await?;
    }
    let completed = replayed.completed;
    let (results, receiver) = mpsc::channel(1024);
    let pending = Arc::new(AtomicUsize::new(0));
    let (appended_tx, mut appended) = watch::channel(0u64);
    let writer_task = tokio::spawn(run_writer(writer, receiver, pending.clone(), appended_tx));
    let permits = Arc::new(Semaphore::new(runtime.config().concurrency.max(1)));
    let work_timeout = (context.options.timeout() * 30).min(Duration::from_secs(600));
    let mut workers = JoinSet::new();
    let mut cursor = 1u64;
    loop {
        if writer_task.is_finished() {
            break;
        }
        let page = patiently("read findings", || {
            store.read_stream(&stream, cursor, ReadBound::End, DISPATCH_PAGE)
        })
        .await?;
        if page.is_empty() {
            if pending.load(Ordering::SeqCst) == 0 {
                let again = patiently("read findings", || {
                    store.read_stream(&stream, cursor, ReadBound::End, 1)
                })
                .await?;
                if again.is_empty() {
                    break;
                }
                continue;
            }
            tokio::select! {
                _ = appended.changed() => {}
                _ = mode.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            if interrupted(mode) {
                workers.abort_all();
                return Ok(Outcome::Interrupted);
            }
            continue;
        }
        for recorded in page {
            cursor = recorded.version + 1;
            let event = FindingEvent::decode(&recorded.payload)
                .map_err(|e| ScanError::Decode(e.to_string()))?;
            let FindingEvent::Recorded(finding) = event else {
                continue;
            };
            if finding.run != state.run {
                continue;
            }
            let Some(kind) = types::known(&finding.kind) else {
                continue;
            };
            for slot in router.route(kind, finding.scope_distance, &finding.module) {
                total.fetch_add(1, Ordering::SeqCst);
                if completed.contains(&(slot.meta.id.to_owned(), finding.id)) {
                    continue;
                }
                let Some(permit) = permit(&permits, mode).await else {
                    workers.abort_all();
                    return Ok(Outcome::Interrupted);
                };
                pending.fetch_add(1, Ordering::SeqCst);
                let input = Input {
                    id: finding.id,
                    kind,
                    value: finding.value.clone(),
                    depth: finding.depth,
                    scope_distance: finding.scope_distance,
                };
                let results = results.clone();
                let context = context.clone();
                let target = finding.target.clone();
                workers.spawn(async move {
                    let mut result =
                        work::execute(slot, input, target, context, work_timeout).await;
                    result.permit = Some(permit);
                    let _ = results.send(result).await;
                });
            }
            while workers.try_join_next().is_some() {}
        }
    }
    drop(results);
    let writer = match writer_task.await {
        Ok(result) => result?,
        Err(error) => return Err(ScanError::Conflict(format!("scan writer ended: {error}"))),
    };
    Ok(Outcome::Finished {
        run: state.run,
        completed: writer.completed,
        total: total.load(Ordering::SeqCst).max(writer.completed),
    })
}

fn interrupted(mode: &watch::Receiver<Mode>) -> bool {
    matches!(*mode.borrow(), Mode::Stopped | Mode::Shutdown)
}

/// Waits for a worker slot, honouring pause; `None` when the run must end.
async fn permit(
    permits: &Arc<Semaphore>,
    mode: &mut watch::Receiver<Mode>,
) -> Option<OwnedSemaphorePermit> {
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Stopped | Mode::Shutdown => return None,
            Mode::Paused => {
                if mode.changed().await.is_err() {
                    return None;
                }
            }
            Mode::Running => {
                tokio::select! {
                    permit = permits.clone().acquire_owned() => return permit.ok(),
                    changed = mode.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                    }
                }
            }
        }
    }
}
