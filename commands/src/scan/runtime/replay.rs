//! Rebuilds a run's progress from its findings stream: which values were seen, which work items
//! are done, where the stream ends.

use std::collections::HashSet;

use domain::scan::FindingEvent;
use domain::{EventCodec, RecordedEvent, StreamId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::patience::patiently;
use crate::scan::ScanError;
use store::{EventLog, ReadBound};

/// 128 bits of SHA-256 over `type \0 value`: the de-duplication key.
pub type ValueKey = u128;

pub fn value_key(kind: &str, value: &str) -> ValueKey {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(value.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(bytes)
}

/// What a run already did.
#[derive(Debug, Default)]
pub struct Replayed {
    pub seen: HashSet<ValueKey>,
    /// `(module id, input finding)` pairs already handled.
    pub completed: HashSet<(String, Uuid)>,
    /// Findings recorded in this run.
    pub findings: u64,
    /// The stream's version (0 = empty).
    pub version: u64,
}

const PAGE: usize = 512;

/// Reads `stream` from its start up to `until`, page by page, and hands every event, decoded,
/// to `visit` with its record. A store error ends the walk (the API's callers answer at once).
pub async fn for_each_event<E: EventCodec>(
    store: &dyn EventLog,
    stream: &StreamId,
    until: ReadBound,
    visit: impl FnMut(&RecordedEvent, E),
) -> Result<(), ScanError> {
    walk(store, stream, until, false, visit).await
}

/// [`for_each_event`] for a running scan, which waits out store outages instead.
pub async fn for_each_event_patiently<E: EventCodec>(
    store: &dyn EventLog,
    stream: &StreamId,
    visit: impl FnMut(&RecordedEvent, E),
) -> Result<(), ScanError> {
    walk(store, stream, ReadBound::End, true, visit).await
}

async fn walk<E: EventCodec>(
    store: &dyn EventLog,
    stream: &StreamId,
    until: ReadBound,
    patient: bool,
    mut visit: impl FnMut(&RecordedEvent, E),
) -> Result<(), ScanError> {
    let mut from = 1;
    loop {
        let read = || store.read_stream(stream, from, until, PAGE);
        let page = if patient {
            patiently("read a scan stream", read).await?
        } else {
            read().await?
        };
        for recorded in &page {
            from = recorded.version + 1;
            let event =
                E::decode(&recorded.payload).map_err(|e| ScanError::Decode(e.to_string()))?;
            visit(recorded, event);
        }
        if page.len() < PAGE {
            return Ok(());
        }
    }
}

/// Replays `stream` for `run`.
pub async fn replay(
    store: &dyn EventLog,
    stream: &StreamId,
    run: u32,
) -> Result<Replayed, ScanError> {
    let mut replayed = Replayed::default();
    for_each_event_patiently(store, stream, |recorded, event| {
        replayed.version = recorded.version;
        match event {
            FindingEvent::Recorded(finding) if finding.run == run => {
                replayed
                    .seen
                    .insert(value_key(&finding.kind, &finding.value));
                replayed.findings += 1;
            }
            FindingEvent::WorkCompleted { run: r, items, .. } if r == run => {
                for item in items {
                    replayed.completed.insert((item.module, item.input));
                }
            }
            _ => {}
        }
    })
    .await?;
    Ok(replayed)
}
