//! The read models Mirage maintains.

mod cells;
pub mod identity;
pub mod organizations;
pub mod page;
pub mod scans;

use std::sync::Arc;

use crate::error::ProjectionError;
use crate::runner::{Projection, ProjectionRunner};
use crate::sql::{ReadModelDb, SqlProjection};

/// Registers every read model of this build with `runner`.
pub async fn register_all(
    runner: &mut ProjectionRunner,
    db: &ReadModelDb,
) -> Result<(), ProjectionError> {
    let organizations: Arc<dyn Projection> =
        Arc::new(SqlProjection::new(db.clone(), organizations::Organizations).await?);
    runner.add(organizations);
    let identity: Arc<dyn Projection> =
        Arc::new(SqlProjection::new(db.clone(), identity::Identity).await?);
    runner.add(identity);
    let scans: Arc<dyn Projection> = Arc::new(SqlProjection::new(db.clone(), scans::Scans).await?);
    runner.add(scans);
    Ok(())
}
