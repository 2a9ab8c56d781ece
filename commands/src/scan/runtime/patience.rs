//! Riding out event-store outages: a running scan waits for its store to come back (a failover,
//! a restarted PostgreSQL, a cut connection) instead of failing at the first refused call.
//!
//! Retrying an append is safe: the same event ids make a retry of an append that did land
//! return its original result.

use std::future::Future;
use std::time::{Duration, Instant};

use store::StoreError;

/// How long a scan waits for its store before giving up.
const PATIENCE: Duration = Duration::from_secs(600);
const FIRST_WAIT: Duration = Duration::from_millis(100);
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// Errors that say "not now" rather than "never".
pub fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Unavailable(_) | StoreError::Backend(_))
}

/// Runs a store call until it succeeds, fails for good, or [`PATIENCE`] runs out; waits with
/// exponential back-off in between.
pub async fn patiently<T, F, Fut>(what: &str, operation: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    patiently_with(what, is_transient, operation).await
}

/// [`patiently`] for any error type, with the caller saying which errors are worth waiting on.
pub async fn patiently_with<T, E, F, Fut>(
    what: &str,
    transient: impl Fn(&E) -> bool,
    mut operation: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + PATIENCE;
    let mut wait = FIRST_WAIT;
    let mut attempt: u32 = 0;
    loop {
        match operation().await {
            Err(error) if transient(&error) && Instant::now() + wait < deadline => {
                attempt += 1;
                tracing::warn!(what, %error, attempt, "event store unavailable; waiting for it");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_WAIT);
            }
            other => return other,
        }
    }
}
