//! Support for Mirage's integration tests: real stores in temp dirs and fresh PostgreSQL
//! databases, real servers on loopback.

pub mod app;
pub mod crash;
pub mod kurrent;
pub mod oidc;
pub mod pg;
pub mod scan_client;
pub mod sqlite;

use store::SharedStore;

/// A store under test plus whatever must live as long as it (temp dir, database guard).
pub struct TestStore {
    pub store: SharedStore,
    pub guard: Box<dyn std::any::Any + Send + Sync>,
}

use chrono::Utc;
use domain::codec::StoredPayload;
use domain::{EventMeta, NewEvent, StreamId};
use sqlx::Row;

/// A fresh event of `event_type` carrying `data`, with a new UUIDv7.
pub fn event(event_type: &str, data: serde_json::Value) -> NewEvent {
    NewEvent {
        meta: EventMeta {
            event_id: uuid::Uuid::now_v7(),
            occurred_at: Utc::now(),
            actor: "user:test".to_owned(),
            organization: Some(uuid::Uuid::now_v7()),
            causation_id: None,
            correlation_id: Some(uuid::Uuid::now_v7()),
        },
        payload: StoredPayload {
            event_type: event_type.to_owned(),
            event_version: 1,
            data: serde_json::to_vec(&data).expect("json"),
        },
    }
}

/// `n` events numbered in their payload.
pub fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| event("TestHappened", serde_json::json!({ "n": i })))
        .collect()
}

/// A stream name no other test uses.
pub fn unique_stream(category: &str) -> StreamId {
    StreamId::new(format!("{category}-{}", uuid::Uuid::now_v7().simple())).expect("stream id")
}

/// The organizations read model as comparable lines, ordered by stream.
pub async fn dump_organizations(db: &projections::ReadModelDb) -> Vec<String> {
    sqlx::query(
        "SELECT stream_id, organization_id, name, slug, renames, version, changed_at_position
         FROM organizations ORDER BY stream_id",
    )
    .fetch_all(db.pool())
    .await
    .expect("read organizations")
    .iter()
    .map(|row| {
        let renames: i64 = row.get(4);
        let version: i64 = row.get(5);
        format!(
            "{}|{}|{}|{}|{renames}|{version}|{}",
            row.get::<String, _>(0),
            row.get::<String, _>(1),
            row.get::<String, _>(2),
            row.get::<String, _>(3),
            row.get::<String, _>(6)
        )
    })
    .collect()
}
