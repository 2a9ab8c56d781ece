//! The HTTP surface: routes, limits and middleware. Handlers only translate.

pub mod health;
pub mod metrics;
pub mod origin;

use axum::Router;
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::graphql;
use crate::state::AppState;

/// The whole application as a router; `main` and the tests use the same one.
pub fn router(state: AppState) -> Router {
    let origins: Vec<axum::http::HeaderValue> = state
        .config
        .cors_origins
        .iter()
        .filter_map(|origin| origin.parse().ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([axum::http::Method::POST, axum::http::Method::GET])
        .allow_headers([
            axum::http::header::CONTENT_TYPE,
            axum::http::header::AUTHORIZATION,
        ]);
    let schema = graphql::build_schema(&state);
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/graphql", post(graphql::http::graphql_post))
        .route("/graphql/ws", get(graphql::ws::graphql_ws))
        .layer(axum::Extension(schema))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        .layer(cors)
        .with_state(state)
}
