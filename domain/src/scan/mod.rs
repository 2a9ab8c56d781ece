//! Scans: targets, scope, finding types and their normal forms, the scan aggregate and the
//! findings stream.

pub mod aggregate;
mod decide;
pub mod events;
pub mod findings;
pub mod normalise;
mod schema;
pub mod scope;
pub mod target;
#[cfg(test)]
mod tests;
pub mod types;

pub use aggregate::{Scan, ScanCommand, ScanState, ScanStatus, evolve_at};
pub use decide::MAX_TARGETS;
pub use events::{ScanDefinition, ScanEvent};
pub use findings::{FINDINGS_CATEGORY, Finding, FindingEvent, WorkItem};
pub use scope::Scope;
pub use target::{ScopeEntry, Target, TargetError, TargetLimits, parse_target};
