//! Subscription fields. Each stream is bounded by its connection: the WebSocket layer ends it
//! when the credential expires or is revoked.

use async_graphql::{Context, SimpleObject, Subscription};
use domain::identity::SecurityEvent;
use domain::policy::{Resource, permission};
use futures::{Stream, StreamExt};

use super::context::{authorize, principal, state};

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
        let (principal, who) = principal(ctx).await?;
        let resource = Resource::Organization(who.organization_id);
        authorize::<permission::ReadAudit>(ctx, &principal, &who, &resource).await?;
        let state = state(ctx)?;
        let stream = SecurityEvent::stream_for(Some(who.organization_id))
            .map_err(|e| super::error::internal("audit stream", e))?;
        let head = state.store.head().await.map_err(super::error::from_store)?;
        let events = commands::store::catch_up_subscription(state.store.clone(), head).filter_map(
            move |event| {
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
            },
        );
        Ok(events)
    }
}
