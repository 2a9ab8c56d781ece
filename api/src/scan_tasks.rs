//! Background work for scans: resuming the scans a previous process left running, and starting
//! scheduled runs when their cron expression fires.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use commands::scan::{ScanService, schedule};
use domain::scan::ScanStatus;
use projections::read_models::scans::queries;
use tokio::sync::watch;

use crate::state::AppState;

/// Resumes scans that were running when the last process ended (crash, kill -9 or restart),
/// once the scans read model has caught up with the log.
pub async fn recover(state: AppState) {
    match state.log.head().await {
        Ok(Some(head)) => {
            state
                .projections
                .wait_for("scans", head, Duration::from_secs(120))
                .await;
        }
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "cannot read the log head; scans not resumed");
            return;
        }
    }
    let candidates = match queries::running_scans(&state.read_models).await {
        Ok(candidates) => candidates,
        Err(error) => {
            tracing::error!(%error, "cannot list running scans; scans not resumed");
            return;
        }
    };
    match state.scans.runtime().recover(candidates).await {
        Ok(0) => {}
        Ok(resumed) => tracing::info!(resumed, "resumed scans left running"),
        Err(error) => tracing::error!(%error, "resuming scans failed"),
    }
}

/// Starts the next run of every scheduled scan whose time has come, until `stop` flips.
pub async fn scheduler(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.scheduler_tick_ms);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        tick(&state.read_models, &state.scans).await;
    }
}

async fn tick(read_models: &projections::ReadModelDb, scans: &Arc<ScanService>) {
    let rows = match queries::scheduled_scans(read_models).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, "scheduler cannot list scheduled scans");
            return;
        }
    };
    let now = Utc::now();
    for row in rows {
        let status = ScanStatus::parse(&row.status).unwrap_or_default();
        if !(status.is_over() || status == ScanStatus::Created) {
            continue;
        }
        let Some(text) = row.schedule.as_deref() else {
            continue;
        };
        let Ok(cron) = schedule::parse(text) else {
            continue;
        };
        let last = row.started_at.unwrap_or(row.created_at);
        if schedule::is_due(&cron, last, now) {
            match scans.start_scheduled(row.id).await {
                Ok(state) => {
                    tracing::info!(scan = %row.id, run = state.run, "scheduled run started")
                }
                Err(error) => tracing::warn!(scan = %row.id, %error, "scheduled run not started"),
            }
        }
    }
}
