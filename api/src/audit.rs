//! `mirage audit verify`: walks the global log and checks every stream's hash chain.

use domain::LogPosition;
use domain::hash_chain::ChainVerifier;
use store::EventLog;
use store::StoreError;

/// The outcome of a verification walk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub checked_events: u64,
    /// A digest over every event hash in log order; equal logs give equal heads.
    pub head_hash: String,
    pub first_bad_position: Option<String>,
    pub problem: Option<String>,
}

const PAGE: usize = 1000;

/// Verifies the whole log; stops at the first bad event and names it.
pub async fn verify(
    store: &dyn EventLog,
    mut progress: impl FnMut(u64),
) -> Result<AuditReport, StoreError> {
    let mut verifier = ChainVerifier::new();
    let mut after: Option<LogPosition> = None;
    loop {
        let page = match store.read_all(after, PAGE).await {
            Ok(page) => page,
            Err(StoreError::Corrupt { position, reason }) => {
                return Ok(failed(&verifier, position, reason));
            }
            Err(other) => return Err(other),
        };
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        for event in &page {
            if let Err(fault) = verifier.check(event) {
                let reason = format!(
                    "stream {} version {}: {fault}",
                    event.stream_id, event.version
                );
                return Ok(failed(&verifier, event.position.to_string(), reason));
            }
        }
        progress(verifier.checked());
    }
    Ok(AuditReport {
        ok: true,
        checked_events: verifier.checked(),
        head_hash: verifier.head().to_hex(),
        first_bad_position: None,
        problem: None,
    })
}

fn failed(verifier: &ChainVerifier, position: String, problem: String) -> AuditReport {
    AuditReport {
        ok: false,
        checked_events: verifier.checked(),
        head_hash: verifier.head().to_hex(),
        first_bad_position: Some(position),
        problem: Some(problem),
    }
}
