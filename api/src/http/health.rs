//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// The process is up and serving HTTP.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The event store and the read-model database answer.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if let Err(error) = state.log.head().await {
        tracing::warn!(%error, "not ready: event store");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "component": "event_store" })),
        );
    }
    if let Err(error) = state.read_models.ping().await {
        tracing::warn!(%error, "not ready: read models");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "component": "read_models" })),
        );
    }
    (StatusCode::OK, Json(json!({ "status": "ready" })))
}
