//! Errors of the read side.

use domain::DecodeError;
use store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    #[error("reading the event log failed: {0}")]
    Store(#[from] StoreError),
    #[error("read model database error: {0}")]
    Database(String),
    #[error("projection {projection} cannot decode the event at {position}: {source}")]
    Decode {
        projection: &'static str,
        position: String,
        #[source]
        source: DecodeError,
    },
    #[error("no projection named {0:?}")]
    UnknownProjection(String),
}

impl From<sqlx::Error> for ProjectionError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "read model database error");
        ProjectionError::Database(match &error {
            sqlx::Error::Database(db) => {
                format!("statement failed ({})", db.code().unwrap_or_default())
            }
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                "database unavailable".to_owned()
            }
            _ => "statement failed".to_owned(),
        })
    }
}
