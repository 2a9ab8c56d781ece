//! Support for the kill -9 crash test: opening the store the child writes to.

use std::sync::Arc;
use std::time::Duration;

use store::SharedStore;
use store::StoreLimits;
use store::postgres::{PostgresStore, PostgresStoreConfig};
use store::sqlite::{SqliteStore, SqliteStoreConfig};

/// `["sqlite", DIR]` or `["postgres", APP_URL, ADMIN_URL]`.
pub async fn open_store(args: &[String]) -> SharedStore {
    match args {
        [kind, dir] if kind == "sqlite" => Arc::new(
            SqliteStore::open(SqliteStoreConfig::new(dir))
                .await
                .expect("open sqlite store"),
        ),
        [kind, app_url, admin_url] if kind == "postgres" => Arc::new(
            PostgresStore::connect(PostgresStoreConfig {
                url: app_url.clone(),
                admin_url: Some(admin_url.clone()),
                app_role: Some("mirage_app".to_owned()),
                max_connections: 8,
                connect_timeout: Duration::from_secs(5),
                limits: StoreLimits::default(),
            })
            .await
            .expect("connect postgres store"),
        ),
        other => {
            panic!("usage: crash-writer sqlite DIR | postgres APP_URL ADMIN_URL (got {other:?})")
        }
    }
}
