//! Scan, module and finding queries and mutations. Each resolver loads the resource, asks the
//! policy, calls the scan service and settles the read models it answers from.

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use commands::scan::{NewScan, Step, for_each_event};
use domain::policy::{Action, Resource, permission};
use domain::scan::{FindingEvent, ScanEvent, ScanState, evolve_at};
use projections::read_models::scans::queries::{self, FindingFilter};

use super::context::{Caller, Viewer, settle_within, state};
use super::error::{internal, not_found, scan_error};
use super::scan_types::{Finding, FindingConnection, Module, Scan, ScanProgress, findings_page};
use super::types::parse_id;
use super::{cost, paging};

/// Waits until the read models reflect everything appended so far (bounded).
async fn settle(ctx: &Context<'_>) -> async_graphql::Result<()> {
    settle_within(ctx, Duration::from_secs(5)).await
}

fn scan_resource(state: &ScanState) -> Resource {
    Resource::Scan {
        organization_id: state.organization_id,
        team_id: state.team_id,
    }
}

/// The scan's aggregate state, or NOT_FOUND for a malformed or unknown id.
async fn load_scan(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<ScanState> {
    let scan_id = parse_id(id).ok_or_else(not_found)?;
    state(ctx)?
        .scans
        .scan_state(scan_id)
        .await
        .map_err(scan_error)?
        .ok_or_else(not_found)
}

/// The scan's read-model row after checking `P` on it.
pub(super) async fn readable_scan<P: domain::policy::permission::Permission>(
    ctx: &Context<'_>,
    id: &ID,
) -> async_graphql::Result<queries::ScanRow> {
    let caller = Caller::of(ctx).await?;
    let scan_id = parse_id(id).ok_or_else(not_found)?;
    let state = caller.state;
    let row = queries::scan(&state.read_models, scan_id)
        .await
        .map_err(|e| internal("scan", e))?
        .ok_or_else(not_found)?;
    let resource = Resource::Scan {
        organization_id: row.organization_id,
        team_id: row.team_id,
    };
    caller.authorize::<P>(&resource).await?;
    Ok(row)
}

/// The scan as it was at `as_of`: its status from its events up to then, its findings and
/// progress from the findings recorded up to then.
async fn scan_as_of(
    ctx: &Context<'_>,
    row: &queries::ScanRow,
    as_of: DateTime<Utc>,
    viewer: Viewer,
) -> async_graphql::Result<Scan> {
    let state = state(ctx)?;
    let until = store::ReadBound::Time(as_of);
    let stream = commands::scan::scan_stream(row.id).map_err(scan_error)?;
    let mut scan_state = ScanState::default();
    for_each_event(
        state.log.as_ref(),
        &stream,
        until,
        |recorded, event: ScanEvent| {
            scan_state = evolve_at(
                std::mem::take(&mut scan_state),
                &event,
                recorded.recorded_at,
            );
        },
    )
    .await
    .map_err(scan_error)?;
    if !scan_state.exists() {
        return Err(not_found());
    }
    let mut scan = Scan::from_state(&scan_state, viewer);
    let findings = commands::scan::findings_stream(row.id).map_err(scan_error)?;
    for_each_event(state.log.as_ref(), &findings, until, |_, event| {
        if let FindingEvent::WorkCompleted {
            run,
            completed,
            total,
            ..
        } = event
            && run == scan_state.run
        {
            scan.progress = ScanProgress { completed, total };
        }
    })
    .await
    .map_err(scan_error)?;
    scan.finding_count = queries::findings_count(
        &state.read_models,
        &FindingFilter {
            scan_id: row.id,
            run: scan_state.run,
            kind: None,
            as_of: Some(as_of),
        },
    )
    .await
    .map_err(|e| internal("findings count", e))?;
    scan.as_of = Some(as_of);
    scan.marks = Some(scan_state.false_positives.clone());
    Ok(scan)
}

#[derive(Default)]
pub struct ScanQuery;

#[Object]
impl ScanQuery {
    /// Every collection module, with what it consumes and produces.
    #[graphql(complexity = "cost::rows(cost::MODULES, child_complexity)")]
    async fn modules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Module>> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::Organization(caller.who.organization_id);
        caller
            .authorize::<permission::ReadModules>(&resource)
            .await?;
        Ok(state(ctx)?
            .scans
            .registry()
            .metas()
            .map(Module::from_meta)
            .collect())
    }

    /// A scan; with `asOf`, as it was at that moment (which costs more).
    #[graphql(complexity = "cost::scan(__ctx, __variables_definition, __field, child_complexity)")]
    async fn scan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Scan> {
        let row = readable_scan::<permission::ReadScan>(ctx, &id).await?;
        let viewer = Caller::of(ctx).await?.viewer();
        match as_of {
            None => Ok(Scan::from_row(&row, viewer)),
            Some(as_of) => scan_as_of(ctx, &row, as_of, viewer).await,
        }
    }

    /// A page of the scans of a project (or of every project the caller may read), newest
    /// first; `after` is the id of the last scan of the previous page. Another organization's
    /// project, or one the caller may not read, has no scans to show.
    #[graphql(
        complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_PAGE, child_complexity)"
    )]
    async fn scans(
        &self,
        ctx: &Context<'_>,
        project_id: Option<ID>,
        #[graphql(default_with = "paging::DEFAULT_PAGE")] first: i32,
        after: Option<ID>,
    ) -> async_graphql::Result<Vec<Scan>> {
        let caller = Caller::of(ctx).await?;
        let page = paging::page(first, after.as_ref())?;
        let project_id = match project_id.as_ref().map(parse_id) {
            None => None,
            Some(Some(project_id)) => Some(project_id),
            Some(None) => return Ok(Vec::new()),
        };
        let state = caller.state;
        let viewer = caller.viewer();
        let scope = viewer.list_scope(state, Action::ReadScan).await?;
        let listed = queries::scans_page(&state.read_models, &scope, project_id, page)
            .await
            .map_err(|e| internal("scans", e))?;
        let mut scans = Vec::new();
        for row in &paging::rows(listed)? {
            let resource = Resource::Scan {
                organization_id: row.organization_id,
                team_id: row.team_id,
            };
            if caller.may(Action::ReadScan, &resource).await? {
                scans.push(Scan::from_row(row, viewer.clone()));
            }
        }
        Ok(scans)
    }

    /// A page of a scan's findings (its current run), optionally of one type.
    #[graphql(
        complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_FINDINGS_PAGE, child_complexity)"
    )]
    async fn findings(
        &self,
        ctx: &Context<'_>,
        scan_id: ID,
        #[graphql(name = "type")] kind: Option<String>,
        #[graphql(default_with = "paging::DEFAULT_FINDINGS_PAGE")] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<FindingConnection> {
        let row = readable_scan::<permission::ReadFindings>(ctx, &scan_id).await?;
        let filter = FindingFilter {
            scan_id: row.id,
            run: row.run,
            kind,
            as_of: None,
        };
        findings_page(ctx, filter, first, after, None).await
    }
}

/// What `createScan` takes.
#[derive(InputObject)]
pub struct CreateScanInput {
    pub project_id: ID,
    pub name: String,
    /// Host names, IP addresses, networks (CIDR), http(s) URLs, `host:port`.
    pub targets: Vec<String>,
    /// Module ids (see `modules`).
    pub modules: Vec<String>,
    /// Scan options (see the contract: resolvers, ports, maxPages, maxDepth, whoisServer,
    /// ctLogUrl, scope, maxScopeDistance, timeoutMs, and `<module id>: {..}`).
    pub options: Option<Json<serde_json::Value>>,
    /// A five-field cron expression for recurring runs.
    pub schedule: Option<String>,
    /// Add the modules producing what the selected ones consume (default true).
    #[graphql(default = true)]
    pub with_dependencies: bool,
}

#[derive(Default)]
pub struct ScanMutation;

async fn lifecycle(ctx: &Context<'_>, id: ID, step: Step) -> async_graphql::Result<Scan> {
    let caller = Caller::of(ctx).await?;
    let current = load_scan(ctx, &id).await?;
    let proof = caller
        .authorize::<permission::UpdateScan>(&scan_resource(&current))
        .await?;
    let state = caller.state;
    let origin = *caller.origin();
    let scan_id = current.id.ok_or_else(not_found)?;
    let updated = state
        .scans
        .step(&proof, scan_id, step, &origin)
        .await
        .map_err(scan_error)?;
    settle(ctx).await?;
    Ok(scan_view(ctx, &updated, caller.viewer()).await)
}

/// The read-model view of a scan when it has caught up, else the aggregate's.
async fn scan_view(ctx: &Context<'_>, scan: &ScanState, viewer: Viewer) -> Scan {
    let Some(scan_id) = scan.id else {
        return Scan::from_state(scan, viewer);
    };
    let row = match state(ctx) {
        Ok(state) => queries::scan(&state.read_models, scan_id)
            .await
            .ok()
            .flatten(),
        Err(_) => None,
    };
    match row {
        Some(row) if row.run == scan.run => {
            let mut view = Scan::from_row(&row, viewer);
            view.status = scan.status.into();
            view
        }
        _ => Scan::from_state(scan, viewer),
    }
}

#[Object]
impl ScanMutation {
    /// Creates a scan in a project; it starts with `startScan`.
    async fn create_scan(
        &self,
        ctx: &Context<'_>,
        input: CreateScanInput,
    ) -> async_graphql::Result<Scan> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let origin = *caller.origin();
        let project_id = parse_id(&input.project_id).ok_or_else(not_found)?;
        let project = state
            .identity
            .project_state(project_id)
            .await
            .map_err(super::error::identity_error)?
            .ok_or_else(not_found)?;
        let resource = Resource::Project {
            organization_id: project.organization_id,
            team_id: project.team_id,
        };
        let proof = caller
            .authorize::<permission::CreateScan>(&resource)
            .await?;
        let created = state
            .scans
            .create(
                &proof,
                project_id,
                NewScan {
                    name: input.name,
                    targets: input.targets,
                    modules: input.modules,
                    options: input.options.map(|json| json.0),
                    schedule: input.schedule,
                    with_dependencies: input.with_dependencies,
                },
                &origin,
            )
            .await
            .map_err(scan_error)?;
        settle(ctx).await?;
        Ok(scan_view(ctx, &created, caller.viewer()).await)
    }

    /// Starts a created scan, or the next run of a finished one.
    async fn start_scan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Scan> {
        lifecycle(ctx, id, Step::Start).await
    }

    /// Pauses a running scan; work in flight completes.
    async fn pause_scan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Scan> {
        lifecycle(ctx, id, Step::Pause).await
    }

    /// Resumes a paused scan where it stopped.
    async fn resume_scan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Scan> {
        lifecycle(ctx, id, Step::Resume).await
    }

    /// Stops a scan for good; work in flight is abandoned.
    async fn stop_scan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Scan> {
        lifecycle(ctx, id, Step::Stop).await
    }

    /// Marks a finding as a false positive (or clears the mark). Recorded as an event.
    async fn mark_false_positive(
        &self,
        ctx: &Context<'_>,
        finding_id: ID,
        value: bool,
    ) -> async_graphql::Result<Finding> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let finding_uuid = parse_id(&finding_id).ok_or_else(not_found)?;
        let row = queries::finding(&state.read_models, finding_uuid)
            .await
            .map_err(|e| internal("finding", e))?
            .ok_or_else(not_found)?;
        let scan = state
            .scans
            .scan_state(row.scan_id)
            .await
            .map_err(scan_error)?
            .ok_or_else(not_found)?;
        let proof = caller
            .authorize::<permission::MarkFalsePositive>(&scan_resource(&scan))
            .await?;
        let origin = *caller.origin();
        state
            .scans
            .mark_false_positive(&proof, row.scan_id, finding_uuid, value, &origin)
            .await
            .map_err(scan_error)?;
        settle(ctx).await?;
        let mut finding = Finding::from_row(&row);
        finding.false_positive = value;
        Ok(finding)
    }
}
