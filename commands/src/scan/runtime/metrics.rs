//! Prometheus metrics of the scan runtime.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct ScanMetrics {
    /// Scan runs being worked on by this process.
    pub running: IntGauge,
    pub findings: IntCounter,
    /// By module and outcome (`ok`, `error`).
    pub work_items: IntCounterVec,
}

impl ScanMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = Self {
            running: IntGauge::new(
                "mirage_scans_running",
                "Scan runs this process is working on.",
            )?,
            findings: IntCounter::new(
                "mirage_scan_findings_total",
                "Findings recorded by running scans.",
            )?,
            work_items: IntCounterVec::new(
                Opts::new(
                    "mirage_scan_work_items_total",
                    "Work items finished (one module handling one finding), by module and outcome.",
                ),
                &["module", "outcome"],
            )?,
        };
        registry.register(Box::new(metrics.running.clone()))?;
        registry.register(Box::new(metrics.findings.clone()))?;
        registry.register(Box::new(metrics.work_items.clone()))?;
        Ok(metrics)
    }
}
