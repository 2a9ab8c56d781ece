//! Scans on the write side: the service behind the API (create, start, pause, resume, stop,
//! false positives), the runtime that executes running scans and the cron scheduler.

mod error;
pub mod runtime;
pub mod schedule;
mod service;

pub use error::ScanError;
pub use runtime::{RuntimeConfig, ScanMetrics, ScanRuntime, for_each_event};
pub use service::{NewScan, ScanService, Step, findings_stream, scan_stream};
