//! The change signal: a live subscription to `$all` that bumps a counter whenever one of our
//! events is written, by this process or any other.

use std::sync::Arc;
use std::time::Duration;

use kurrentdb::{Client, StreamPosition, SubscribeToAllOptions, SubscriptionEvent};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::codec::Naming;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Bumps the change counter; receivers re-read the log when it moves.
pub fn bump(changes: &watch::Sender<u64>) {
    changes.send_modify(|counter| *counter = counter.wrapping_add(1));
}

/// The background subscription; stops when dropped.
#[derive(Debug)]
pub struct Watcher(JoinHandle<()>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Subscribes to `$all` from its end and bumps `changes` on every event `naming` accepts;
/// resubscribes with back-off when the subscription drops.
pub fn spawn(client: Client, naming: Naming, changes: Arc<watch::Sender<u64>>) -> Watcher {
    Watcher(tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let options = SubscribeToAllOptions::default()
                .position(StreamPosition::End)
                .filter(naming.filter());
            let mut subscription = client.subscribe_to_all(&options).await;
            loop {
                match subscription.next_subscription_event().await {
                    Ok(SubscriptionEvent::Confirmed(_)) => {
                        tracing::debug!("kurrentdb change subscription confirmed");
                        backoff = FIRST_BACKOFF;
                        // Events written while we were not subscribed are found by the re-read.
                        bump(&changes);
                    }
                    Ok(SubscriptionEvent::EventAppeared(event)) => {
                        if event.event.as_ref().is_some_and(|e| naming.is_event(e)) {
                            bump(&changes);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(
                            %error,
                            retry_in_ms = backoff.as_millis() as u64,
                            "kurrentdb change subscription dropped"
                        );
                        break;
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }))
}
