//! Questions the API asks the scans read model.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::super::cells::Cells;
use super::super::page::{Listed, Page, Parameters, Scope};
use crate::error::ProjectionError;
use crate::sql::ReadModelDb;

/// A finding's `(type, value)`.
pub type TypedValue = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub status: String,
    pub targets: Vec<String>,
    pub modules: Vec<String>,
    pub schedule: Option<String>,
    pub run: u32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub completed: u64,
    pub total: u64,
    pub finding_count: u64,
    /// Change detection against the previous run, once a later run finished.
    pub new_count: Option<u64>,
    pub gone_count: Option<u64>,
    /// The listed `(type, value)` pairs behind those counts (capped): new, then gone.
    pub changes: Option<(Vec<TypedValue>, Vec<TypedValue>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    pub id: Uuid,
    pub scan_id: Uuid,
    pub run: u32,
    /// The finding's version in its findings stream: the order findings were recorded in.
    pub seq: i64,
    pub kind: String,
    pub value: String,
    pub module: String,
    pub parent_id: Option<Uuid>,
    pub confidence: u8,
    pub scope_distance: u8,
    pub evidence_hash: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub false_positive: bool,
}

/// Which findings of a scan run to page through.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub scan_id: Uuid,
    pub run: u32,
    pub kind: Option<String>,
    /// Only findings first seen at or before this moment.
    pub as_of: Option<DateTime<Utc>>,
}

// Not the options: they can be a megabyte of word lists, and the API never shows them.
const SCAN_COLUMNS: &str = "scan_id, organization_id, project_id, team_id, name, status, \
     targets, modules, schedule, run, created_at, started_at, finished_at, completed, \
     total, finding_count, new_count, gone_count, changes";

const FINDING_COLUMNS: &str = "finding_id, scan_id, run, seq, type, value, module, parent_id, \
     confidence, scope_distance, evidence_hash, first_seen_at, false_positive";

fn list(cells: &Cells<'_>, column: &str) -> Result<Vec<String>, ProjectionError> {
    serde_json::from_str(&cells.text(column)?).map_err(|_| cells.corrupt(column))
}

fn small<T: TryFrom<i64>>(cells: &Cells<'_>, column: &str) -> Result<T, ProjectionError> {
    T::try_from(cells.integer(column)?).map_err(|_| cells.corrupt(column))
}

fn scan_row(row: &AnyRow) -> Result<ScanRow, ProjectionError> {
    let c = Cells::new(row, "scans");
    Ok(ScanRow {
        id: c.uuid("scan_id")?,
        organization_id: c.uuid("organization_id")?,
        project_id: c.uuid("project_id")?,
        team_id: c.uuid("team_id")?,
        name: c.text("name")?,
        status: c.text("status")?,
        targets: list(&c, "targets")?,
        modules: list(&c, "modules")?,
        schedule: c.optional_text("schedule")?,
        run: small(&c, "run")?,
        created_at: c.micros("created_at")?,
        started_at: c.optional_micros("started_at")?,
        finished_at: c.optional_micros("finished_at")?,
        completed: c.count("completed")?,
        total: c.count("total")?,
        finding_count: c.count("finding_count")?,
        new_count: c
            .optional_integer("new_count")?
            .map(|n| u64::try_from(n).map_err(|_| c.corrupt("new_count")))
            .transpose()?,
        gone_count: c
            .optional_integer("gone_count")?
            .map(|n| u64::try_from(n).map_err(|_| c.corrupt("gone_count")))
            .transpose()?,
        changes: c
            .optional_text("changes")?
            .map(|text| {
                #[derive(serde::Deserialize)]
                struct Changes {
                    new: Vec<(String, String)>,
                    gone: Vec<(String, String)>,
                }
                serde_json::from_str::<Changes>(&text)
                    .map(|c| (c.new, c.gone))
                    .map_err(|_| c.corrupt("changes"))
            })
            .transpose()?,
    })
}

fn finding_row(row: &AnyRow) -> Result<FindingRow, ProjectionError> {
    let c = Cells::new(row, "findings");
    Ok(FindingRow {
        id: c.uuid("finding_id")?,
        scan_id: c.uuid("scan_id")?,
        run: small(&c, "run")?,
        seq: c.integer("seq")?,
        kind: c.text("type")?,
        value: c.text("value")?,
        module: c.text("module")?,
        parent_id: c
            .optional_text("parent_id")?
            .map(|text| Uuid::parse_str(&text).map_err(|_| c.corrupt("parent_id")))
            .transpose()?,
        confidence: small(&c, "confidence")?,
        scope_distance: small(&c, "scope_distance")?,
        evidence_hash: c.optional_text("evidence_hash")?,
        first_seen_at: c.micros("first_seen_at")?,
        false_positive: c.flag("false_positive")?,
    })
}

pub async fn scan(db: &ReadModelDb, scan_id: Uuid) -> Result<Option<ScanRow>, ProjectionError> {
    let row = sqlx::query(&format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE scan_id = $1"
    ))
    .bind(scan_id.to_string())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(scan_row).transpose()
}

/// A page of the scans in `scope` (of one project, with `project_id`), newest first (ties by
/// id, descending). The cursor must be a scan of the list.
pub async fn scans_page(
    db: &ReadModelDb,
    scope: &Scope,
    project_id: Option<Uuid>,
    page: Page,
) -> Result<Listed<ScanRow>, ProjectionError> {
    // The scans of the list, with the placeholders of a fresh parameter list.
    let scans_of = |parameters: &mut Parameters| {
        let mut clause = format!(
            "FROM scans WHERE organization_id = {}{}",
            parameters.text(scope.organization_id().to_string()),
            parameters.scope(scope, "team_id"),
        );
        if let Some(project_id) = project_id {
            clause.push_str(&format!(
                " AND project_id = {}",
                parameters.text(project_id.to_string())
            ));
        }
        clause
    };
    let mut parameters = Parameters::default();
    let mut sql = format!("SELECT {SCAN_COLUMNS} {}", scans_of(&mut parameters));
    if let Some(after) = page.after {
        let mut lookup = Parameters::default();
        let from = scans_of(&mut lookup);
        let lookup_sql = format!(
            "SELECT created_at, scan_id {from} AND scan_id = {}",
            lookup.text(after.to_string())
        );
        let cursor = lookup
            .bind(sqlx::query(&lookup_sql))
            .fetch_optional(db.pool())
            .await?;
        let Some(cursor) = cursor else {
            return Ok(Listed::UnknownCursor);
        };
        let cells = Cells::new(&cursor, "scans");
        let (created_at, scan_id) = (cells.integer("created_at")?, cells.uuid("scan_id")?);
        sql.push_str(&format!(
            " AND (created_at < {} OR (created_at = {} AND scan_id < {}))",
            parameters.integer(created_at),
            parameters.integer(created_at),
            parameters.text(scan_id.to_string())
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, scan_id DESC LIMIT {}",
        parameters.integer(page.limit)
    ));
    let rows = parameters
        .bind(sqlx::query(&sql))
        .fetch_all(db.pool())
        .await?;
    Ok(Listed::Rows(
        rows.iter().map(scan_row).collect::<Result<_, _>>()?,
    ))
}

/// Scans the read model believes are running (the runtime double-checks each).
pub async fn running_scans(db: &ReadModelDb) -> Result<Vec<Uuid>, ProjectionError> {
    let rows = sqlx::query(&format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE status = 'RUNNING'"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| scan_row(row).map(|s| s.id)).collect()
}

/// Scans with a schedule.
pub async fn scheduled_scans(db: &ReadModelDb) -> Result<Vec<ScanRow>, ProjectionError> {
    let rows = sqlx::query(&format!(
        "SELECT {SCAN_COLUMNS} FROM scans WHERE schedule IS NOT NULL"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(scan_row).collect()
}

/// The filter as SQL conditions, and the number of the next free parameter.
fn where_clause(filter: &FindingFilter) -> (String, usize) {
    let mut clause = String::from("scan_id = $1 AND run = $2");
    let mut next = 3;
    if filter.kind.is_some() {
        clause.push_str(&format!(" AND type = ${next}"));
        next += 1;
    }
    if filter.as_of.is_some() {
        clause.push_str(&format!(" AND first_seen_at <= ${next}"));
        next += 1;
    }
    (clause, next)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the filter's parameters, in the order `where_clause` numbered them.
fn bind_filter<'q>(query: AnyQuery<'q>, filter: &FindingFilter) -> AnyQuery<'q> {
    let mut query = query
        .bind(filter.scan_id.to_string())
        .bind(i64::from(filter.run));
    if let Some(kind) = &filter.kind {
        query = query.bind(kind.clone());
    }
    if let Some(as_of) = filter.as_of {
        query = query.bind(as_of.timestamp_micros());
    }
    query
}

/// Up to `limit` findings after sequence `after`, in recorded order.
pub async fn findings_page(
    db: &ReadModelDb,
    filter: &FindingFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<FindingRow>, ProjectionError> {
    let (clause, next) = where_clause(filter);
    let sql = format!(
        "SELECT {FINDING_COLUMNS} FROM findings WHERE {clause} AND seq > ${next} \
         ORDER BY seq LIMIT ${}",
        next + 1
    );
    let rows = bind_filter(sqlx::query(&sql), filter)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(finding_row).collect()
}

pub async fn findings_count(
    db: &ReadModelDb,
    filter: &FindingFilter,
) -> Result<u64, ProjectionError> {
    let (clause, _) = where_clause(filter);
    let sql = format!("SELECT COUNT(*) AS n FROM findings WHERE {clause}");
    let row = bind_filter(sqlx::query(&sql), filter)
        .fetch_one(db.pool())
        .await?;
    Cells::new(&row, "findings").count("n")
}

pub async fn finding(
    db: &ReadModelDb,
    finding_id: Uuid,
) -> Result<Option<FindingRow>, ProjectionError> {
    let row = sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS} FROM findings WHERE finding_id = $1"
    ))
    .bind(finding_id.to_string())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(finding_row).transpose()
}
