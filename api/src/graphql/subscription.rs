//! Subscription fields. Each stream is bounded by its connection: the WebSocket layer ends it
//! when the credential expires or is revoked.

use async_graphql::{Context, SimpleObject, Subscription};
use domain::identity::SecurityEvent;
use domain::policy::{Resource, permission};
use futures::{Stream, StreamExt};

use super::context::Caller;
use super::scan_types::{Finding, FindingAdded, ScanProgress, ScanStatusChanged, ScanUpdate};

/// One entry of the audit log.
#[derive(SimpleObject, Clone)]
pub struct AuditEntry {
    pub position: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub event_type: String,
    pub stream_id: String,
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Security events of the caller's organization (logins, refreshes, refusals) as they are
    /// recorded. Administrators only.
    async fn security_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = AuditEntry> + use<>> {
        let caller = Caller::of(ctx).await?;
        let resource = Resource::Organization(caller.who.organization_id);
        caller.authorize::<permission::ReadAudit>(&resource).await?;
        let state = caller.state;
        let stream = SecurityEvent::stream_for(Some(caller.who.organization_id))
            .map_err(|e| super::error::internal("audit stream", e))?;
        let head = state.log.head().await.map_err(super::error::from_store)?;
        let events =
            store::catch_up_subscription(state.log.clone(), head).filter_map(move |event| {
                let stream = stream.clone();
                async move {
                    let event = event.ok()?;
                    (event.stream_id == stream).then(|| AuditEntry {
                        position: event.position.to_string(),
                        occurred_at: event.meta.occurred_at,
                        actor: event.meta.actor.clone(),
                        event_type: event.payload.event_type.clone(),
                        stream_id: event.stream_id.to_string(),
                    })
                }
            });
        Ok(events)
    }

    /// What happens in a scan as it happens: new findings, status changes, progress.
    async fn scan_events(
        &self,
        ctx: &Context<'_>,
        scan_id: async_graphql::ID,
    ) -> async_graphql::Result<impl Stream<Item = ScanUpdate> + use<>> {
        let row = super::scans::readable_scan::<permission::ReadFindings>(ctx, &scan_id).await?;
        let state = super::context::state(ctx)?;
        let id = row.id;
        let scan_stream = commands::scan::scan_stream(id).map_err(super::error::scan_error)?;
        let findings_stream =
            commands::scan::findings_stream(id).map_err(super::error::scan_error)?;
        let head = state.log.head().await.map_err(super::error::from_store)?;
        let events =
            store::catch_up_subscription(state.log.clone(), head).filter_map(move |event| {
                let update = event.ok().and_then(|event| {
                    if event.stream_id == scan_stream {
                        scan_update(&event)
                    } else if event.stream_id == findings_stream {
                        finding_update(id, &event)
                    } else {
                        None
                    }
                });
                async move { update }
            });
        Ok(events)
    }
}

fn scan_update(event: &domain::RecordedEvent) -> Option<ScanUpdate> {
    use domain::EventCodec;
    use domain::scan::{ScanEvent, ScanStatus};
    let status = match ScanEvent::decode(&event.payload).ok()? {
        ScanEvent::Started { .. } | ScanEvent::Resumed { .. } => ScanStatus::Running,
        ScanEvent::Paused { .. } => ScanStatus::Paused,
        ScanEvent::Stopped { .. } => ScanStatus::Stopped,
        ScanEvent::Finished { .. } => ScanStatus::Finished,
        ScanEvent::Failed { .. } => ScanStatus::Failed,
        _ => return None,
    };
    Some(ScanUpdate::ScanStatusChanged(ScanStatusChanged {
        status: status.into(),
    }))
}

fn finding_update(scan_id: uuid::Uuid, event: &domain::RecordedEvent) -> Option<ScanUpdate> {
    use domain::EventCodec;
    use domain::scan::FindingEvent;
    match FindingEvent::decode(&event.payload).ok()? {
        FindingEvent::Recorded(finding) => Some(ScanUpdate::FindingAdded(FindingAdded {
            finding: Finding::from_event(scan_id, &finding, event.recorded_at),
        })),
        FindingEvent::WorkCompleted {
            completed, total, ..
        } => Some(ScanUpdate::ScanProgress(ScanProgress { completed, total })),
    }
}
