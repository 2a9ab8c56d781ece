//! Scans read model: one row per scan (status, progress, counts) and one per finding, for the
//! API's pages of findings. Fed by `Scan*` events (`scan-<id>`) and `Finding*` events
//! (`findings-<id>`).

pub mod queries;

use async_trait::async_trait;
use domain::scan::{FindingEvent, ScanEvent};
use domain::{EventCodec, RecordedEvent};
use sqlx::{Any, Transaction};

use crate::error::ProjectionError;
use crate::sql::SqlReadModel;

pub struct Scans;

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl SqlReadModel for Scans {
    fn name(&self) -> &'static str {
        "scans"
    }

    fn schema(&self) -> &'static [&'static str] {
        &[
            "CREATE TABLE IF NOT EXISTS scans (
                scan_id TEXT PRIMARY KEY,
                organization_id TEXT NOT NULL,
                project_id TEXT NOT NULL,
                team_id TEXT NOT NULL,
                name TEXT NOT NULL,
                status TEXT NOT NULL,
                targets TEXT NOT NULL,
                modules TEXT NOT NULL,
                options TEXT NOT NULL,
                schedule TEXT,
                run BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT,
                completed BIGINT NOT NULL,
                total BIGINT NOT NULL,
                finding_count BIGINT NOT NULL,
                new_count BIGINT,
                gone_count BIGINT,
                changes TEXT
            )",
            "CREATE INDEX IF NOT EXISTS scans_by_project ON scans (project_id, created_at)",
            "CREATE TABLE IF NOT EXISTS findings (
                finding_id TEXT PRIMARY KEY,
                scan_id TEXT NOT NULL,
                run BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                type TEXT NOT NULL,
                value TEXT NOT NULL,
                module TEXT NOT NULL,
                parent_id TEXT,
                confidence BIGINT NOT NULL,
                scope_distance BIGINT NOT NULL,
                evidence_hash TEXT,
                first_seen_at BIGINT NOT NULL,
                false_positive BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS findings_by_scan ON findings (scan_id, run, seq)",
            "CREATE INDEX IF NOT EXISTS findings_by_scan_type ON findings (scan_id, run, type, seq)",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["scans", "findings"]
    }

    async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let decode_error = |source| ProjectionError::Decode {
            projection: "scans",
            position: event.position.to_string(),
            source,
        };
        match event.stream_id.category() {
            "scan" => {
                let decoded = ScanEvent::decode(&event.payload).map_err(decode_error)?;
                apply_scan(tx, event, decoded).await
            }
            "findings" => {
                let decoded = FindingEvent::decode(&event.payload).map_err(decode_error)?;
                apply_finding(tx, event, decoded).await
            }
            _ => Ok(()),
        }
    }
}

/// The scan id a stream `scan-<id>` or `findings-<id>` is about.
fn scan_id_of(event: &RecordedEvent) -> &str {
    let stream = event.stream_id.as_str();
    stream.split_once('-').map_or(stream, |(_, id)| id)
}

async fn apply_scan(
    tx: &mut Transaction<'static, Any>,
    event: &RecordedEvent,
    decoded: ScanEvent,
) -> Result<(), ProjectionError> {
    let at = event.recorded_at.timestamp_micros();
    let scan_id = scan_id_of(event);
    let status = |status: &'static str| {
        sqlx::query("UPDATE scans SET status = $1 WHERE scan_id = $2")
            .bind(status)
            .bind(scan_id.to_owned())
    };
    match decoded {
        ScanEvent::Created(d) => {
            sqlx::query(
                "INSERT INTO scans (scan_id, organization_id, project_id, team_id, name, status,
                    targets, modules, options, schedule, run, created_at, completed, total,
                    finding_count)
                 VALUES ($1, $2, $3, $4, $5, 'CREATED', $6, $7, $8, $9, 0, $10, 0, 0, 0)",
            )
            .bind(d.scan_id.to_string())
            .bind(d.organization_id.to_string())
            .bind(d.project_id.to_string())
            .bind(d.team_id.to_string())
            .bind(d.name)
            .bind(serde_json::to_string(&d.targets).unwrap_or_default())
            .bind(serde_json::to_string(&d.modules).unwrap_or_default())
            .bind(d.options)
            .bind(d.schedule)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        ScanEvent::Started { run } => {
            sqlx::query(
                "UPDATE scans SET status = 'RUNNING', run = $1, started_at = $2,
                    finished_at = NULL, completed = 0, total = 0, finding_count = 0
                 WHERE scan_id = $3",
            )
            .bind(i64::from(run))
            .bind(at)
            .bind(scan_id)
            .execute(&mut **tx)
            .await?;
        }
        ScanEvent::Paused { .. } => {
            status("PAUSED").execute(&mut **tx).await?;
        }
        ScanEvent::Resumed { .. } => {
            status("RUNNING").execute(&mut **tx).await?;
        }
        ScanEvent::Stopped { .. } | ScanEvent::Failed { .. } | ScanEvent::Finished { .. } => {
            let name = match decoded {
                ScanEvent::Stopped { .. } => "STOPPED",
                ScanEvent::Failed { .. } => "FAILED",
                _ => "FINISHED",
            };
            sqlx::query("UPDATE scans SET status = $1, finished_at = $2 WHERE scan_id = $3")
                .bind(name)
                .bind(at)
                .bind(scan_id)
                .execute(&mut **tx)
                .await?;
            if let ScanEvent::Finished {
                completed, total, ..
            } = decoded
            {
                sqlx::query("UPDATE scans SET completed = $1, total = $2 WHERE scan_id = $3")
                    .bind(to_i64(completed))
                    .bind(to_i64(total))
                    .bind(scan_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        ScanEvent::FalsePositiveMarked { finding_id, value } => {
            sqlx::query("UPDATE findings SET false_positive = $1 WHERE finding_id = $2")
                .bind(i64::from(value))
                .bind(finding_id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        ScanEvent::RunCompared {
            new_count,
            gone_count,
            new,
            gone,
            ..
        } => {
            let changes = serde_json::json!({ "new": new, "gone": gone }).to_string();
            sqlx::query(
                "UPDATE scans SET new_count = $1, gone_count = $2, changes = $3
                 WHERE scan_id = $4",
            )
            .bind(to_i64(new_count))
            .bind(to_i64(gone_count))
            .bind(changes)
            .bind(scan_id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

async fn apply_finding(
    tx: &mut Transaction<'static, Any>,
    event: &RecordedEvent,
    decoded: FindingEvent,
) -> Result<(), ProjectionError> {
    let scan_id = scan_id_of(event);
    match decoded {
        FindingEvent::Recorded(finding) => {
            sqlx::query(
                "INSERT INTO findings (finding_id, scan_id, run, seq, type, value, module,
                    parent_id, confidence, scope_distance, evidence_hash, first_seen_at,
                    false_positive)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)",
            )
            .bind(finding.id.to_string())
            .bind(scan_id.to_owned())
            .bind(i64::from(finding.run))
            .bind(to_i64(event.version))
            .bind(finding.kind)
            .bind(finding.value)
            .bind(finding.module)
            .bind(finding.parent_id.map(|id| id.to_string()))
            .bind(i64::from(finding.confidence))
            .bind(i64::from(finding.scope_distance))
            .bind(finding.evidence_hash)
            .bind(event.recorded_at.timestamp_micros())
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE scans SET finding_count = finding_count + 1
                 WHERE scan_id = $1 AND run = $2",
            )
            .bind(scan_id.to_owned())
            .bind(i64::from(finding.run))
            .execute(&mut **tx)
            .await?;
        }
        FindingEvent::WorkCompleted {
            run,
            completed,
            total,
            ..
        } => {
            sqlx::query(
                "UPDATE scans SET completed = $1, total = $2 WHERE scan_id = $3 AND run = $4",
            )
            .bind(to_i64(completed))
            .bind(to_i64(total))
            .bind(scan_id.to_owned())
            .bind(i64::from(run))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
