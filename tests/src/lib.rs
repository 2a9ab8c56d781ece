//! Support for Mirage's integration tests: real stores in temp dirs and fresh PostgreSQL
//! databases, real servers on loopback.

pub mod kurrent;
pub mod pg;
pub mod sqlite;

use commands::store::SharedStore;

/// A store under test plus whatever must live as long as it (temp dir, database guard).
pub struct TestStore {
    pub store: SharedStore,
    pub guard: Box<dyn std::any::Any + Send + Sync>,
}
