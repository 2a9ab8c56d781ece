//! Prometheus metrics of the projections: checkpoint, lag and throughput per projection.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

#[derive(Clone)]
pub struct ProjectionMetrics {
    pub lag: IntGaugeVec,
    pub checkpoint: IntGaugeVec,
    pub events: IntCounterVec,
    pub failures: IntCounterVec,
}

impl ProjectionMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = Self {
            lag: IntGaugeVec::new(
                Opts::new(
                    "mirage_projection_lag",
                    "Log positions between the head of the event log and the projection's checkpoint (events, for the embedded store).",
                ),
                &["projection"],
            )?,
            checkpoint: IntGaugeVec::new(
                Opts::new(
                    "mirage_projection_checkpoint",
                    "Position of the last event the projection applied.",
                ),
                &["projection"],
            )?,
            events: IntCounterVec::new(
                Opts::new(
                    "mirage_projection_events_total",
                    "Events applied by the projection.",
                ),
                &["projection"],
            )?,
            failures: IntCounterVec::new(
                Opts::new(
                    "mirage_projection_failures_total",
                    "Times the projection stopped on an error and restarted.",
                ),
                &["projection"],
            )?,
        };
        registry.register(Box::new(metrics.lag.clone()))?;
        registry.register(Box::new(metrics.checkpoint.clone()))?;
        registry.register(Box::new(metrics.events.clone()))?;
        registry.register(Box::new(metrics.failures.clone()))?;
        Ok(metrics)
    }
}
