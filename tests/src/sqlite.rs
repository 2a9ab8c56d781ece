//! Embedded (SQLite) stores in fresh temp dirs.

use std::sync::Arc;

use commands::store::sqlite::{SqliteStore, SqliteStoreConfig};

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
