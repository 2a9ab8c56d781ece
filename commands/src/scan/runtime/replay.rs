//! Rebuilds a run's progress from its findings stream: which values were seen, which work items
//! are done, where the stream ends.

use std::collections::HashSet;

use domain::scan::FindingEvent;
use domain::{EventCodec, StreamId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::scan::ScanError;
use crate::store::{EventStore, ReadBound};

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

pub const PAGE: usize = 512;

/// Replays `stream` for `run`.
pub async fn replay(
    store: &dyn EventStore,
    stream: &StreamId,
    run: u32,
) -> Result<Replayed, ScanError> {
    let mut replayed = Replayed::default();
    let mut from = 1;
    loop {
        let page = store
            .read_stream(stream, from, ReadBound::End, PAGE)
            .await?;
        for recorded in &page {
            replayed.version = recorded.version;
            match FindingEvent::decode(&recorded.payload)
                .map_err(|e| ScanError::Decode(e.to_string()))?
            {
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
        }
        if page.len() < PAGE {
            return Ok(replayed);
        }
        from = replayed.version + 1;
    }
}
