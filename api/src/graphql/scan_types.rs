//! GraphQL object types of scans, modules and findings.

use std::collections::BTreeMap;

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject, Union};
use chrono::{DateTime, Utc};
use data_encoding::BASE64URL_NOPAD;
use domain::policy::{Action, Resource};
use projections::read_models::scans::queries::{self, FindingFilter, FindingRow, ScanRow};
use uuid::Uuid;

use super::context::{Viewer, state};
use super::error::{bad_input, internal, not_found};
use super::types::id;
use super::{cost, paging};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ScanStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ScanStatus {
    Created,
    Running,
    Paused,
    Stopped,
    Finished,
    Failed,
}

impl From<domain::scan::ScanStatus> for ScanStatus {
    fn from(status: domain::scan::ScanStatus) -> Self {
        use domain::scan::ScanStatus as S;
        match status {
            S::Created => ScanStatus::Created,
            S::Running => ScanStatus::Running,
            S::Paused => ScanStatus::Paused,
            S::Stopped => ScanStatus::Stopped,
            S::Finished => ScanStatus::Finished,
            S::Failed => ScanStatus::Failed,
        }
    }
}

/// An option a module understands, under `options.<module id>.<name>`.
#[derive(SimpleObject, Clone)]
pub struct ModuleOption {
    pub name: String,
    /// boolean, integer, string, list of strings, list of integers.
    pub kind: String,
    /// The default, as JSON text.
    pub default: String,
    pub description: String,
}

/// A collection module.
#[derive(SimpleObject, Clone)]
pub struct Module {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub consumes: Vec<String>,
    pub produces: Vec<String>,
    pub passive: bool,
    pub options: Vec<ModuleOption>,
    /// Work items per second for the module in one scan; 0 = unlimited.
    pub rate_per_second: i32,
    pub per_host_per_second: i32,
    pub required_keys: Vec<String>,
}

impl Module {
    pub fn from_meta(meta: &modules::ModuleMeta) -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            id: meta.id.to_owned(),
            name: meta.name.to_owned(),
            description: meta.description.to_owned(),
            version: meta.version.to_owned(),
            consumes: strings(meta.consumes),
            produces: strings(meta.produces),
            passive: meta.passive,
            options: meta
                .options
                .iter()
                .map(|o| ModuleOption {
                    name: o.name.to_owned(),
                    kind: o.kind.as_str().to_owned(),
                    default: o.default.to_owned(),
                    description: o.description.to_owned(),
                })
                .collect(),
            rate_per_second: i32::try_from(meta.rate_per_second).unwrap_or(i32::MAX),
            per_host_per_second: i32::try_from(meta.per_host_per_second).unwrap_or(i32::MAX),
            required_keys: strings(meta.required_keys),
        }
    }
}

/// Work items done out of those known so far.
#[derive(SimpleObject, Clone, Copy, Default)]
pub struct ScanProgress {
    pub completed: u64,
    pub total: u64,
}

/// A finding's type and value, without the rest.
#[derive(SimpleObject, Clone)]
pub struct TypedValue {
    #[graphql(name = "type")]
    pub kind: String,
    pub value: String,
}

impl TypedValue {
    fn list(items: &[(String, String)]) -> Vec<Self> {
        items
            .iter()
            .map(|(kind, value)| TypedValue {
                kind: kind.clone(),
                value: value.clone(),
            })
            .collect()
    }
}

/// What a run found that the previous run did not, and the reverse (lists capped at 200).
#[derive(SimpleObject, Clone)]
pub struct RunChanges {
    pub new_count: u64,
    pub gone_count: u64,
    pub new: Vec<TypedValue>,
    pub gone: Vec<TypedValue>,
}

#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct Finding {
    pub id: ID,
    #[graphql(name = "type")]
    pub kind: String,
    pub value: String,
    pub confidence: i32,
    pub module: String,
    pub parent_id: Option<ID>,
    pub first_seen_at: DateTime<Utc>,
    pub false_positive: bool,
    pub scope_distance: i32,
    pub evidence_hash: Option<String>,
    pub run: i32,
    pub scan_id: ID,
}

impl Finding {
    pub fn from_row(row: &FindingRow) -> Self {
        Self {
            id: id(row.id),
            kind: row.kind.clone(),
            value: row.value.clone(),
            confidence: i32::from(row.confidence),
            module: row.module.clone(),
            parent_id: row.parent_id.map(id),
            first_seen_at: row.first_seen_at,
            false_positive: row.false_positive,
            scope_distance: i32::from(row.scope_distance),
            evidence_hash: row.evidence_hash.clone(),
            run: i32::try_from(row.run).unwrap_or(i32::MAX),
            scan_id: id(row.scan_id),
        }
    }

    pub fn from_event(scan_id: Uuid, finding: &domain::scan::Finding, at: DateTime<Utc>) -> Self {
        Self {
            id: id(finding.id),
            kind: finding.kind.clone(),
            value: finding.value.clone(),
            confidence: i32::from(finding.confidence),
            module: finding.module.clone(),
            parent_id: finding.parent_id.map(id),
            first_seen_at: at,
            false_positive: false,
            scope_distance: i32::from(finding.scope_distance),
            evidence_hash: finding.evidence_hash.clone(),
            run: i32::try_from(finding.run).unwrap_or(i32::MAX),
            scan_id: id(scan_id),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct FindingConnection {
    pub total_count: u64,
    pub page_info: PageInfo,
    pub nodes: Vec<Finding>,
}

fn encode_cursor(seq: i64) -> String {
    BASE64URL_NOPAD.encode(format!("finding:{seq}").as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = BASE64URL_NOPAD.decode(cursor.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("finding:")?
        .parse()
        .ok()
        .filter(|n| *n >= 0)
}

/// One page of findings, for `scan.findings` and `findings`.
pub async fn findings_page(
    ctx: &Context<'_>,
    filter: FindingFilter,
    first: i32,
    after: Option<String>,
    marks: Option<&BTreeMap<Uuid, bool>>,
) -> async_graphql::Result<FindingConnection> {
    let limit = paging::first_rows(first)?;
    let after = match after.as_deref() {
        None => None,
        Some(cursor) => Some(
            decode_cursor(cursor)
                .ok_or_else(|| bad_input("after", "not a cursor this API issued"))?,
        ),
    };
    if let Some(kind) = &filter.kind
        && domain::scan::types::known(kind).is_none()
    {
        return Err(bad_input("type", format!("unknown finding type {kind:?}")));
    }
    let state = state(ctx)?;
    let mut rows = queries::findings_page(&state.read_models, &filter, after, limit + 1)
        .await
        .map_err(|e| internal("findings", e))?;
    let page_size = usize::try_from(limit).unwrap_or_default();
    let has_next_page = rows.len() > page_size;
    rows.truncate(page_size);
    let total_count = queries::findings_count(&state.read_models, &filter)
        .await
        .map_err(|e| internal("findings count", e))?;
    let nodes = rows
        .iter()
        .map(|row| {
            let mut finding = Finding::from_row(row);
            if let Some(marks) = marks {
                finding.false_positive = marks.get(&row.id).copied().unwrap_or(false);
            }
            finding
        })
        .collect();
    Ok(FindingConnection {
        total_count,
        page_info: PageInfo {
            has_next_page,
            end_cursor: rows.last().map(|row| encode_cursor(row.seq)),
        },
        nodes,
    })
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Scan {
    pub id: ID,
    pub name: String,
    pub status: ScanStatus,
    pub targets: Vec<String>,
    pub modules: Vec<String>,
    pub schedule: Option<String>,
    pub project_id: ID,
    pub run: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: ScanProgress,
    pub finding_count: u64,
    /// Change detection against the previous run (scheduled re-scans).
    pub changes: Option<RunChanges>,
    #[graphql(skip)]
    pub scan_id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[graphql(skip)]
    pub team_id: Uuid,
    /// Who the scan is shown to: its findings are theirs to see only if the policy says so.
    #[graphql(skip)]
    pub viewer: Viewer,
    #[graphql(skip)]
    pub as_of: Option<DateTime<Utc>>,
    /// False-positive marks as of `as_of` (time travel); `None` = the read model's current ones.
    #[graphql(skip)]
    pub marks: Option<BTreeMap<Uuid, bool>>,
}

impl Scan {
    pub fn from_row(row: &ScanRow, viewer: Viewer) -> Self {
        Self {
            id: id(row.id),
            name: row.name.clone(),
            status: domain::scan::ScanStatus::parse(&row.status)
                .unwrap_or_default()
                .into(),
            targets: row.targets.clone(),
            modules: row.modules.clone(),
            schedule: row.schedule.clone(),
            project_id: id(row.project_id),
            run: i32::try_from(row.run).unwrap_or(i32::MAX),
            created_at: Some(row.created_at),
            started_at: row.started_at,
            finished_at: row.finished_at,
            progress: ScanProgress {
                completed: row.completed,
                total: row.total,
            },
            finding_count: row.finding_count,
            changes: row
                .new_count
                .zip(row.gone_count)
                .map(|(new_count, gone_count)| {
                    let (new, gone) = row.changes.clone().unwrap_or_default();
                    RunChanges {
                        new_count,
                        gone_count,
                        new: TypedValue::list(&new),
                        gone: TypedValue::list(&gone),
                    }
                }),
            scan_id: row.id,
            organization_id: row.organization_id,
            team_id: row.team_id,
            viewer,
            as_of: None,
            marks: None,
        }
    }

    pub fn from_state(state: &domain::scan::ScanState, viewer: Viewer) -> Self {
        Self {
            id: id(state.id.unwrap_or_default()),
            name: state.name.clone(),
            status: state.status.into(),
            targets: state.targets.clone(),
            modules: state.modules.clone(),
            schedule: state.schedule.clone(),
            project_id: id(state.project_id),
            run: i32::try_from(state.run).unwrap_or(i32::MAX),
            created_at: state.created_at,
            started_at: state.started_at,
            finished_at: state.finished_at,
            progress: ScanProgress::default(),
            finding_count: 0,
            changes: None,
            scan_id: state.id.unwrap_or_default(),
            organization_id: state.organization_id,
            team_id: state.team_id,
            viewer,
            as_of: None,
            marks: None,
        }
    }

    /// The scan as the policy sees it.
    pub fn resource(&self) -> Resource {
        Resource::Scan {
            organization_id: self.organization_id,
            team_id: self.team_id,
        }
    }
}

#[ComplexObject]
impl Scan {
    /// The findings of the scan's current run (or of the run current at `asOf`), in the order
    /// they were recorded; NOT_FOUND when the caller may not read them.
    #[graphql(
        complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_FINDINGS_PAGE, child_complexity)"
    )]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "paging::DEFAULT_FINDINGS_PAGE")] first: i32,
        after: Option<String>,
        #[graphql(name = "type")] kind: Option<String>,
    ) -> async_graphql::Result<FindingConnection> {
        let state = state(ctx)?;
        if !self
            .viewer
            .may(state, Action::ReadFindings, &self.resource())
            .await?
        {
            return Err(not_found());
        }
        let filter = FindingFilter {
            scan_id: self.scan_id,
            run: u32::try_from(self.run).unwrap_or_default(),
            kind,
            as_of: self.as_of,
        };
        findings_page(ctx, filter, first, after, self.marks.as_ref()).await
    }
}

/// A finding recorded by a running scan.
#[derive(SimpleObject, Clone)]
pub struct FindingAdded {
    pub finding: Finding,
}

#[derive(SimpleObject, Clone)]
pub struct ScanStatusChanged {
    pub status: ScanStatus,
}

/// What `scanEvents` delivers.
#[derive(Union, Clone)]
#[graphql(name = "ScanEvent")]
pub enum ScanUpdate {
    FindingAdded(FindingAdded),
    ScanStatusChanged(ScanStatusChanged),
    ScanProgress(ScanProgress),
}
