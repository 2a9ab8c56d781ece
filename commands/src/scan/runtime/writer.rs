//! The single writer of a run's findings stream.
//!
//! It normalises and de-duplicates module outputs, then appends the new findings together with
//! the `WorkCompleted` event of the work items that produced them: one atomic append per batch.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::Utc;
use domain::scan::{Finding, FindingEvent, Scope, WorkItem};
use domain::{EventCodec, EventMeta, NewEvent, StreamId};
use modules::Input;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::patience::patiently;
use super::replay::{ValueKey, value_key};
use super::work::WorkResult;
use crate::scan::ScanError;
use store::{ExpectedVersion, SharedStore};

/// Events per append, and payload bytes, before a batch is cut.
const MAX_BATCH_EVENTS: usize = 2_000;
const MAX_BATCH_BYTES: usize = 8 << 20;
/// Events per store append (the store accepts up to 10,000).
const MAX_APPEND: usize = 5_000;

pub struct Writer {
    pub store: SharedStore,
    pub stream: StreamId,
    pub version: u64,
    pub run: u32,
    pub scan_id: Uuid,
    pub organization_id: Uuid,
    pub scope: Arc<Scope>,
    pub seen: HashSet<ValueKey>,
    pub completed: u64,
    pub total: Arc<AtomicU64>,
    pub metrics: Option<super::ScanMetrics>,
}

/// A value a module (or the targets) offered, before normalisation and de-duplication.
struct Candidate<'a> {
    kind: &'a str,
    value: &'a str,
    module: &'a str,
    confidence: u8,
    evidence: Option<&'a str>,
    target: &'a str,
}

impl Writer {
    fn event(&self, payload: domain::StoredPayload, id: Uuid, cause: Option<Uuid>) -> NewEvent {
        NewEvent {
            meta: EventMeta {
                event_id: id,
                occurred_at: Utc::now(),
                actor: format!("scan:{}", self.scan_id),
                organization: Some(self.organization_id),
                causation_id: cause,
                correlation_id: Some(self.scan_id),
            },
            payload,
        }
    }

    /// Builds the finding for a normalised value unless the run has it already.
    fn new_finding(&mut self, candidate: Candidate<'_>, parent: Option<&Input>) -> Option<Finding> {
        let Candidate {
            kind,
            value,
            module,
            confidence,
            evidence,
            target,
        } = candidate;
        let (kind, value) = match domain::scan::normalise::normalise(kind, value) {
            Ok(normal) => normal,
            Err(error) => {
                tracing::debug!(module, %error, "dropping a value that is not a valid finding");
                return None;
            }
        };
        if !self.seen.insert(value_key(kind, &value)) {
            return None;
        }
        let (parent_id, distance, depth) = match parent {
            None => (None, 0, 0),
            Some(parent) => (
                Some(parent.id),
                self.scope
                    .distance(kind, &value, Some((parent.kind, parent.scope_distance))),
                if parent.kind == kind {
                    parent.depth + 1
                } else {
                    0
                },
            ),
        };
        Some(Finding {
            id: Uuid::now_v7(),
            run: self.run,
            kind: kind.to_owned(),
            value,
            module: module.to_owned(),
            parent_id,
            confidence: confidence.min(100),
            evidence_hash: evidence.map(|text| hex::encode(Sha256::digest(text.as_bytes()))),
            scope_distance: distance,
            depth,
            target: target.to_owned(),
        })
    }

    /// Records the scan's seeds (the parsed targets) at the start of a run.
    pub async fn record_seeds(
        &mut self,
        seeds: &[(String, &'static str, String)],
    ) -> Result<(), ScanError> {
        let mut events = Vec::new();
        for (target, kind, value) in seeds {
            let candidate = Candidate {
                kind,
                value,
                module: "target",
                confidence: 100,
                evidence: None,
                target,
            };
            if let Some(finding) = self.new_finding(candidate, None) {
                let id = finding.id;
                events.push(self.event(FindingEvent::Recorded(finding).encode(), id, None));
            }
        }
        let recorded = events.len();
        self.append(events).await?;
        if let Some(metrics) = &self.metrics {
            metrics.findings.inc_by(recorded as u64);
        }
        Ok(())
    }

    /// Records a batch of results; returns how many work items it completed.
    pub async fn record(&mut self, results: Vec<WorkResult>) -> Result<usize, ScanError> {
        let mut events = Vec::new();
        let mut items = Vec::with_capacity(results.len());
        // Worker slots are released only once the batch is durable (end of this function).
        let mut permits = Vec::with_capacity(results.len());
        for mut result in results {
            permits.extend(result.permit.take());
            let mut produced = 0u32;
            for output in &result.outputs {
                let candidate = Candidate {
                    kind: output.kind,
                    value: &output.value,
                    module: result.slot.meta.id,
                    confidence: output.confidence,
                    evidence: output.evidence.as_deref(),
                    target: &result.target,
                };
                if let Some(finding) = self.new_finding(candidate, Some(&result.input)) {
                    produced += 1;
                    let id = finding.id;
                    events.push(self.event(
                        FindingEvent::Recorded(finding).encode(),
                        id,
                        Some(result.input.id),
                    ));
                }
            }
            items.push(WorkItem {
                module: result.slot.meta.id.to_owned(),
                input: result.input.id,
                produced,
                error: result.error,
            });
        }
        let done = items.len();
        let recorded = events.len();
        let outcomes: Vec<(String, &'static str)> = items
            .iter()
            .map(|item| {
                let outcome = if item.error.is_some() { "error" } else { "ok" };
                (item.module.clone(), outcome)
            })
            .collect();
        self.completed += done as u64;
        let completion = FindingEvent::WorkCompleted {
            run: self.run,
            items,
            completed: self.completed,
            total: self.total.load(Ordering::SeqCst).max(self.completed),
        };
        let id = Uuid::now_v7();
        events.push(self.event(completion.encode(), id, None));
        self.append(events).await?;
        drop(permits);
        if let Some(metrics) = &self.metrics {
            metrics.findings.inc_by(recorded as u64);
            for (module, outcome) in &outcomes {
                metrics
                    .work_items
                    .with_label_values(&[module.as_str(), outcome])
                    .inc();
            }
        }
        Ok(done)
    }

    /// Appends in chunks the store accepts. Only the last chunk carries the work completion,
    /// so a crash between chunks leaves findings without their completion: the work item is
    /// redone and its repeated values are dropped as duplicates of the recorded ones.
    async fn append(&mut self, mut events: Vec<NewEvent>) -> Result<(), ScanError> {
        while events.len() > MAX_APPEND {
            let rest = events.split_off(MAX_APPEND);
            self.append_chunk(events).await?;
            events = rest;
        }
        self.append_chunk(events).await
    }

    async fn append_chunk(&mut self, events: Vec<NewEvent>) -> Result<(), ScanError> {
        if events.is_empty() {
            return Ok(());
        }
        let expected = match self.version {
            0 => ExpectedVersion::NoStream,
            v => ExpectedVersion::Exact(v),
        };
        let store = &self.store;
        let stream = &self.stream;
        let result = patiently("append findings", || {
            store.append(stream, expected, events.clone())
        })
        .await?;
        self.version = result.next_expected_version;
        Ok(())
    }
}

/// The writer task: drains results in batches until the channel closes.
pub async fn run_writer(
    mut writer: Writer,
    mut results: mpsc::Receiver<WorkResult>,
    pending: Arc<AtomicUsize>,
    appended: watch::Sender<u64>,
) -> Result<Writer, ScanError> {
    while let Some(first) = results.recv().await {
        let mut bytes = first.outputs.iter().map(|o| o.value.len()).sum::<usize>();
        let mut events = first.outputs.len() + 1;
        let mut batch = vec![first];
        while events < MAX_BATCH_EVENTS && bytes < MAX_BATCH_BYTES {
            match results.try_recv() {
                Ok(next) => {
                    bytes += next.outputs.iter().map(|o| o.value.len()).sum::<usize>();
                    events += next.outputs.len() + 1;
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let done = writer.record(batch).await?;
        pending.fetch_sub(done, Ordering::SeqCst);
        appended.send_replace(writer.version);
    }
    Ok(writer)
}
