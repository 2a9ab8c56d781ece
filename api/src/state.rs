//! What every request handler can reach: the store, the projections, metrics and settings.

use std::sync::Arc;

use commands::identity::IdentityService;
use commands::scan::ScanService;
use projections::{ProjectionRunner, ReadModelDb};
use prometheus::Registry;
use store::SharedLog;

use crate::config::Config;
use crate::http::metrics::HttpMetrics;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The log, read-only: readiness and head position. Commands go through the services.
    pub log: SharedLog,
    pub identity: Arc<IdentityService>,
    pub scans: Arc<ScanService>,
    pub read_models: ReadModelDb,
    pub projections: Arc<ProjectionRunner>,
    pub registry: Registry,
    pub http_metrics: HttpMetrics,
}
