//! The findings stream of a scan, `findings-<scan id>`: every collected datum and every
//! finished unit of work. The scan runtime is its single writer.
//!
//! A batch of findings and the `WorkCompleted` event naming the work items that produced them
//! are appended together, so after a crash a work item is either done with all its findings
//! recorded, or not done at all and redone: no lost work, no duplicate findings.

use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};

use super::schema;

/// The findings stream's category.
pub const FINDINGS_CATEGORY: &str = "findings";

/// One collected datum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: Uuid,
    pub run: u32,
    pub kind: String,
    pub value: String,
    /// The module that produced it; `target` for the scan's seeds.
    pub module: String,
    /// The finding it was derived from (provenance); `None` for seeds.
    pub parent_id: Option<Uuid>,
    pub confidence: u8,
    /// SHA-256 (hex) of what the module saw.
    pub evidence_hash: Option<String>,
    pub scope_distance: u8,
    pub depth: u32,
    pub target: String,
}

/// A finished unit of work: one module handled one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub module: String,
    pub input: Uuid,
    pub produced: u32,
    /// Why the module failed, after its retries; the scan goes on.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingEvent {
    Recorded(Finding),
    WorkCompleted {
        run: u32,
        items: Vec<WorkItem>,
        completed: u64,
        total: u64,
    },
}

impl EventCodec for FindingEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            FindingEvent::Recorded(f) => encode_schema(
                schema::FINDING_RECORDED,
                1,
                &schema::FindingRecordedV1 {
                    finding_id: f.id,
                    run: f.run,
                    kind: f.kind.clone(),
                    value: f.value.clone(),
                    module: f.module.clone(),
                    parent_id: f.parent_id,
                    confidence: f.confidence,
                    evidence_hash: f.evidence_hash.clone(),
                    scope_distance: f.scope_distance,
                    depth: f.depth,
                    target: f.target.clone(),
                },
            ),
            FindingEvent::WorkCompleted {
                run,
                items,
                completed,
                total,
            } => encode_schema(
                schema::WORK_COMPLETED,
                1,
                &schema::WorkCompletedV1 {
                    run: *run,
                    items: items
                        .iter()
                        .map(|i| schema::WorkItemV1 {
                            module: i.module.clone(),
                            input: i.input,
                            produced: i.produced,
                            error: i.error.clone(),
                        })
                        .collect(),
                    completed: *completed,
                    total: *total,
                },
            ),
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        match (event_type, event_version) {
            (schema::FINDING_RECORDED, 1) => {
                let b: schema::FindingRecordedV1 = decode_schema(event_type, event_version, data)?;
                Ok(FindingEvent::Recorded(Finding {
                    id: b.finding_id,
                    run: b.run,
                    kind: b.kind,
                    value: b.value,
                    module: b.module,
                    parent_id: b.parent_id,
                    confidence: b.confidence,
                    evidence_hash: b.evidence_hash,
                    scope_distance: b.scope_distance,
                    depth: b.depth,
                    target: b.target,
                }))
            }
            (schema::WORK_COMPLETED, 1) => {
                let b: schema::WorkCompletedV1 = decode_schema(event_type, event_version, data)?;
                Ok(FindingEvent::WorkCompleted {
                    run: b.run,
                    items: b
                        .items
                        .into_iter()
                        .map(|i| WorkItem {
                            module: i.module,
                            input: i.input,
                            produced: i.produced,
                            error: i.error,
                        })
                        .collect(),
                    completed: b.completed,
                    total: b.total,
                })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
