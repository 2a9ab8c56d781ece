//! A catch-up subscription that works on every backend: read the log from a checkpoint in
//! pages, then wait for a change signal (or a poll tick) and read again.

use std::collections::VecDeque;
use std::sync::Arc;

use domain::{LogPosition, RecordedEvent};
use futures::stream::{self, BoxStream, StreamExt};

use super::{EventLog, StoreError};

const PAGE: usize = 512;

struct State {
    store: Arc<dyn EventLog>,
    after: Option<LogPosition>,
    buffer: VecDeque<RecordedEvent>,
    changes: tokio::sync::watch::Receiver<u64>,
    failed: bool,
}

/// Every event after `after`, then every new one as it becomes readable. Ends after an error.
pub fn catch_up_subscription(
    store: Arc<dyn EventLog>,
    after: Option<LogPosition>,
) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
    let changes = store.changes();
    let state = State {
        store,
        after,
        buffer: VecDeque::new(),
        changes,
        failed: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.failed {
            return None;
        }
        loop {
            if let Some(event) = state.buffer.pop_front() {
                state.after = Some(event.position);
                return Some((Ok(event), state));
            }
            state.changes.borrow_and_update();
            match state.store.read_all(state.after, PAGE).await {
                Ok(page) if !page.is_empty() => state.buffer.extend(page),
                Ok(_) => {
                    let poll = state.store.poll_interval();
                    tokio::select! {
                        changed = state.changes.changed() => {
                            if changed.is_err() {
                                // The store is gone; keep polling until the consumer stops.
                                tokio::time::sleep(poll).await;
                            }
                        }
                        () = tokio::time::sleep(poll) => {}
                    }
                }
                Err(error) => {
                    state.failed = true;
                    return Some((Err(error), state));
                }
            }
        }
    })
    .boxed()
}
