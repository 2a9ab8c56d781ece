//! Executes one work item: rate limits, a timeout, retries with back-off.

use std::sync::Arc;
use std::time::Duration;

use modules::{Input, ModuleContext, ModuleError, Output};

use super::route::Slot;

/// Retries after the first attempt for transient failures.
const RETRIES: u32 = 2;
const BACKOFF: Duration = Duration::from_millis(250);

/// What came of one work item.
pub struct WorkResult {
    /// The worker slot this item holds until its result is durable, so the work at risk in a
    /// crash never exceeds the scan's concurrency.
    pub permit: Option<tokio::sync::OwnedSemaphorePermit>,
    pub slot: Arc<Slot>,
    pub input: Input,
    pub target: String,
    pub outputs: Vec<Output>,
    pub error: Option<String>,
}

/// The host a rate limit per host is keyed on.
fn host_key(input: &Input) -> String {
    domain::scan::Scope::subject_host(input.kind, &input.value).unwrap_or_default()
}

pub async fn execute(
    slot: Arc<Slot>,
    input: Input,
    target: String,
    context: ModuleContext,
    timeout: Duration,
) -> WorkResult {
    if let Some(limiter) = &slot.limiter {
        limiter.until_ready().await;
    }
    if let Some(limiter) = &slot.host_limiter {
        limiter.until_key_ready(&host_key(&input)).await;
    }
    let mut attempt = 0;
    let outcome = loop {
        let result = tokio::time::timeout(timeout, slot.module.handle(&input, &context)).await;
        let result = match result {
            Ok(result) => result,
            Err(_) => Err(ModuleError::Transient(format!(
                "timed out after {} ms",
                timeout.as_millis()
            ))),
        };
        match result {
            Err(error) if error.is_transient() && attempt < RETRIES => {
                attempt += 1;
                let jitter = Duration::from_millis(u64::from(rand::random::<u8>()));
                tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1) + jitter).await;
            }
            other => break other,
        }
    };
    match outcome {
        Ok(outputs) => WorkResult {
            permit: None,
            slot,
            input,
            target,
            outputs,
            error: None,
        },
        Err(error) => {
            tracing::warn!(
                module = slot.meta.id,
                input = %input.id,
                kind = input.kind,
                %error,
                "module failed; the scan goes on"
            );
            WorkResult {
                permit: None,
                slot,
                input,
                target,
                outputs: Vec::new(),
                error: Some(error.to_string().chars().take(500).collect()),
            }
        }
    }
}
