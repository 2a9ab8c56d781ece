//! KurrentDB test stores, when `MIRAGE_TEST_KURRENTDB_URL` is set (e.g.
//! `kurrentdb://admin:changeit@localhost:2113?tls=false`). Every store gets its own stream
//! prefix, so tests sharing one database never see each other's events.

use std::sync::Arc;

use store::StoreLimits;
use store::kurrent::{KurrentStore, KurrentStoreConfig};

use crate::TestStore;

pub const URL_VAR: &str = "MIRAGE_TEST_KURRENTDB_URL";

/// A store on its own fresh streams, or `None` (with a note on stderr) when no server is
/// configured.
pub async fn kurrent_store() -> Option<TestStore> {
    let Some(url) = std::env::var(URL_VAR).ok().filter(|url| !url.is_empty()) else {
        eprintln!("skipping the KurrentDB tests: {URL_VAR} is not set");
        return None;
    };
    let config = KurrentStoreConfig {
        url,
        stream_prefix: Some(format!("t{}-", uuid::Uuid::now_v7().simple())),
        limits: StoreLimits::default(),
    };
    let store = match KurrentStore::connect(config).await {
        Ok(store) => store,
        Err(error) => panic!("{URL_VAR} is set but KurrentDB is not usable: {error}"),
    };
    Some(TestStore {
        store: Arc::new(store),
        guard: Box::new(()),
    })
}
