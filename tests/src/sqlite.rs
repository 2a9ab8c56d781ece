//! Embedded (SQLite) stores in fresh temp dirs.

use std::sync::Arc;

use store::sqlite::{SqliteStore, SqliteStoreConfig};

use crate::TestStore;

pub async fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(SqliteStoreConfig::new(dir.path()))
        .await
        .expect("open sqlite store");
    TestStore {
        store: Arc::new(store),
        guard: Box::new(dir),
    }
}

/// Opens the embedded store of an existing data directory (after its server has stopped).
pub async fn open_existing(data_dir: &std::path::Path) -> store::SharedStore {
    Arc::new(
        SqliteStore::open(SqliteStoreConfig::new(data_dir))
            .await
            .expect("open existing sqlite store"),
    )
}
