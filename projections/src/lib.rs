//! Mirage's read side: projections that follow the global log into read models, each with its
//! own checkpoint, and the runner that drives them, rebuilds them and reports their lag.
//!
//! Architecture invariant: projections never append events; they only read the log.

pub mod error;
pub mod metrics;
pub mod read_models;
pub mod runner;
pub mod sql;

pub use error::ProjectionError;
pub use metrics::ProjectionMetrics;
pub use runner::{Projection, ProjectionRunner, ProjectionStatus};
pub use sql::{ReadModelDb, SqlProjection, SqlReadModel};
