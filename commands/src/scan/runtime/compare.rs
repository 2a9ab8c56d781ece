//! Change detection between runs: what this run found that the last did not, and the reverse.

use std::collections::HashSet;
use std::sync::Arc;

use domain::scan::{FindingEvent, ScanCommand};
use uuid::Uuid;

use super::replay::{ValueKey, for_each_event_patiently, value_key};
use super::{ScanRuntime, system_context};
use crate::scan::{ScanError, findings_stream};

/// How many new and gone values the event lists (the counts are always exact).
const LISTED: usize = 200;

/// Compares run `run` with the run before it and records a `ScanRunCompared` event.
pub async fn record(runtime: &Arc<ScanRuntime>, scan_id: Uuid, run: u32) -> Result<(), ScanError> {
    let previous = run - 1;
    let stream = findings_stream(scan_id)?;
    let mut keys: [HashSet<ValueKey>; 2] = [HashSet::new(), HashSet::new()];
    walk(runtime, &stream, |f| {
        if f.run == previous {
            keys[0].insert(value_key(&f.kind, &f.value));
        } else if f.run == run {
            keys[1].insert(value_key(&f.kind, &f.value));
        }
    })
    .await?;
    let new_keys: HashSet<_> = keys[1].difference(&keys[0]).copied().collect();
    let gone_keys: HashSet<_> = keys[0].difference(&keys[1]).copied().collect();
    let (mut new, mut gone) = (Vec::new(), Vec::new());
    walk(runtime, &stream, |f| {
        let key = value_key(&f.kind, &f.value);
        let short = || {
            (
                f.kind.clone(),
                f.value.chars().take(300).collect::<String>(),
            )
        };
        if f.run == run && new.len() < LISTED && new_keys.contains(&key) {
            new.push(short());
        } else if f.run == previous && gone.len() < LISTED && gone_keys.contains(&key) {
            gone.push(short());
        }
    })
    .await?;
    let command = ScanCommand::RecordComparison {
        previous_run: previous,
        new_count: new_keys.len() as u64,
        gone_count: gone_keys.len() as u64,
        new,
        gone,
    };
    runtime
        .execute(scan_id, command, &system_context(scan_id))
        .await?;
    Ok(())
}

/// Visits every finding of the stream, of every run.
async fn walk(
    runtime: &Arc<ScanRuntime>,
    stream: &domain::StreamId,
    mut visit: impl FnMut(&domain::scan::Finding),
) -> Result<(), ScanError> {
    for_each_event_patiently(runtime.store().as_ref(), stream, |_, event| {
        if let FindingEvent::Recorded(finding) = event {
            visit(&finding);
        }
    })
    .await
}
