//! Scans: targets, scope, finding types and their normal forms, the scan aggregate and the
//! findings stream.

pub mod normalise;
pub mod scope;
pub mod target;
pub mod types;

pub use scope::Scope;
pub use target::{ScopeEntry, Target, TargetError, TargetLimits, parse_target};
