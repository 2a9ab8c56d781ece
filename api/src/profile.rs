//! Opening the parts a profile is made of: the event store and the read-model database.

use std::sync::Arc;
use std::time::Duration;

use projections::{ProjectionError, ReadModelDb};
use store::StoreError;
use store::kurrent::{KurrentStore, KurrentStoreConfig};
use store::postgres::{PostgresStore, PostgresStoreConfig};
use store::sqlite::{SqliteStore, SqliteStoreConfig};
use store::{SharedStore, StoreLimits};

use crate::config::{Config, StoreKind};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    #[error("read models: {0}")]
    ReadModels(#[from] ProjectionError),
    #[error("data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("{key}: {reason}")]
    Config { key: &'static str, reason: String },
}

fn limits(config: &Config) -> StoreLimits {
    StoreLimits {
        max_event_bytes: config.store.max_event_bytes,
        ..StoreLimits::default()
    }
}

/// Creates the data directory (owner-only) when it does not exist yet.
pub fn ensure_data_dir(config: &Config) -> Result<(), OpenError> {
    let dir = &config.data_dir;
    if dir.is_dir() {
        return Ok(());
    }
    let error = |reason: String| OpenError::DataDir {
        path: dir.display().to_string(),
        reason,
    };
    if dir.exists() {
        return Err(error("exists and is not a directory".to_owned()));
    }
    std::fs::create_dir_all(dir).map_err(|e| error(format!("cannot create it: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| error(format!("cannot restrict its permissions: {e}")))?;
    }
    tracing::info!(path = %dir.display(), "created data directory");
    Ok(())
}

/// Opens the event store the configuration names.
pub async fn open_store(config: &Config) -> Result<SharedStore, OpenError> {
    let url = || {
        config.store.url.clone().ok_or(OpenError::Config {
            key: "store.url",
            reason: "required for this store kind".to_owned(),
        })
    };
    Ok(match config.store.kind {
        StoreKind::Sqlite => {
            ensure_data_dir(config)?;
            let mut store_config = SqliteStoreConfig::new(&config.data_dir);
            store_config.limits = limits(config);
            Arc::new(SqliteStore::open(store_config).await?)
        }
        StoreKind::Postgres => Arc::new(
            PostgresStore::connect(PostgresStoreConfig {
                url: url()?,
                admin_url: config.store.admin_url.clone(),
                app_role: config.store.app_role.clone(),
                max_connections: config.store.max_connections,
                connect_timeout: Duration::from_secs(5),
                limits: limits(config),
            })
            .await?,
        ),
        StoreKind::Kurrentdb => Arc::new(
            KurrentStore::connect(KurrentStoreConfig {
                url: url()?,
                stream_prefix: None,
                limits: limits(config),
            })
            .await?,
        ),
    })
}

/// Connects the read-model database: a file in the data dir (embedded) or the configured URL.
pub async fn open_read_models(config: &Config) -> Result<ReadModelDb, OpenError> {
    let url = match &config.read_models.url {
        Some(url) => url.clone(),
        None => {
            ensure_data_dir(config)?;
            format!(
                "sqlite://{}?mode=rwc",
                config.data_dir.join("readmodels.db").display()
            )
        }
    };
    Ok(ReadModelDb::connect(&url, 4).await?)
}
