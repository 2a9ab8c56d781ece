//! Tamper evidence: `mirage audit verify` accepts an untouched log and names the first bad
//! position after a row is edited directly in SQLite or PostgreSQL.

use std::process::ExitCode;
use std::sync::Arc;

use api::audit::verify;
use clap::Parser;
use sqlx::Connection;
use store::postgres::{PostgresStore, PostgresStoreConfig};
use store::sqlite::{SqliteStore, SqliteStoreConfig};
use store::{ExpectedVersion, SharedStore};

async fn fill(store: &SharedStore) -> Vec<domain::LogPosition> {
    let mut positions = Vec::new();
    for _ in 0..3 {
        let stream = tests::unique_stream("audit");
        let result = store
            .append(&stream, ExpectedVersion::NoStream, tests::events(4))
            .await
            .unwrap();
        positions.extend(result.positions);
    }
    positions
}

async fn open_sqlite(dir: &std::path::Path) -> SharedStore {
    Arc::new(
        SqliteStore::open(SqliteStoreConfig::new(dir))
            .await
            .unwrap(),
    )
}

async fn raw_sqlite(dir: &std::path::Path) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", dir.join("events.db").display());
    sqlx::SqliteConnection::connect(&url).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tampering_is_named_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).await;
    let positions = fill(&store).await;
    let clean = verify(store.as_ref(), |_| {}).await.unwrap();
    assert!(clean.ok);
    assert_eq!(clean.checked_events, 12);
    assert_eq!(
        verify(store.as_ref(), |_| {}).await.unwrap().head_hash,
        clean.head_hash
    );
    drop(store);

    let mut raw = raw_sqlite(dir.path()).await;
    let refused = sqlx::query("UPDATE events SET recorded_at = 0 WHERE position = 1")
        .execute(&mut raw)
        .await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("events are immutable")
    );

    // Someone with file access drops the trigger and edits an event in the middle of a stream.
    let target = positions[5].prepare as i64;
    sqlx::raw_sql("DROP TRIGGER events_are_immutable_update")
        .execute(&mut raw)
        .await
        .unwrap();
    // The payload `{"n":K}` ends the record: change its digit.
    let mut record: Vec<u8> = sqlx::query_scalar("SELECT record FROM events WHERE position = ?")
        .bind(target)
        .fetch_one(&mut raw)
        .await
        .unwrap();
    let digit = record.len() - 2;
    record[digit] = if record[digit] == b'9' { b'8' } else { b'9' };
    sqlx::query("UPDATE events SET record = ? WHERE position = ?")
        .bind(record)
        .bind(target)
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();

    let store = open_sqlite(dir.path()).await;
    let report = verify(store.as_ref(), |_| {}).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad_position, Some(target.to_string()));
    assert_eq!(report.checked_events, 5);
    assert!(report.problem.unwrap().contains("does not match"));
    drop(store);

    // The command line says the same, with a failing exit code.
    let cli = api::cli::Cli::parse_from([
        "mirage",
        "--data-dir",
        &dir.path().display().to_string(),
        "audit",
        "verify",
    ]);
    let env = [("MIRAGE_LOG_LEVEL".to_owned(), "error".to_owned())].into();
    assert_eq!(api::run::run(cli, env).await.unwrap(), ExitCode::from(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deleted_and_damaged_rows_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).await;
    let positions = fill(&store).await;
    drop(store);
    let mut raw = raw_sqlite(dir.path()).await;
    sqlx::raw_sql("DROP TRIGGER events_are_immutable_delete")
        .execute(&mut raw)
        .await
        .unwrap();
    // Removing version 2 of the second stream leaves version 3 following version 1.
    sqlx::query("DELETE FROM events WHERE position = ?")
        .bind(positions[5].prepare as i64)
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();
    let store = open_sqlite(dir.path()).await;
    let report = verify(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(report.first_bad_position, Some(positions[6].to_string()));
    assert!(report.problem.unwrap().contains("missing"));
    drop(store);

    let mut raw = raw_sqlite(dir.path()).await;
    sqlx::raw_sql("DROP TRIGGER events_are_immutable_update")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET record = substr(record, 1, 40) WHERE position = 2")
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();
    let store = open_sqlite(dir.path()).await;
    let report = verify(store.as_ref(), |_| {}).await.unwrap();
    assert_eq!(report.first_bad_position, Some("2".to_owned()));
    let problem = report.problem.unwrap();
    assert!(
        problem.contains("record"),
        "a damaged row is named, not a panic: {problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tampering_is_named_by_position() {
    let db = tests::pg::fresh_database().await;
    let mut config = PostgresStoreConfig::new(db.app_url.clone());
    config.admin_url = Some(db.admin_url.clone());
    config.app_role = Some("mirage_app".to_owned());
    let store: SharedStore = Arc::new(PostgresStore::connect(config).await.unwrap());
    let positions = fill(&store).await;
    let clean = verify(store.as_ref(), |_| {}).await.unwrap();
    assert!(clean.ok);
    assert_eq!(clean.checked_events, 12);

    let mut admin = sqlx::PgConnection::connect(&db.admin_url).await.unwrap();
    let target = positions[6].prepare as i64;
    sqlx::raw_sql("ALTER TABLE events DISABLE TRIGGER USER")
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET actor = 'user:mallory' WHERE position = $1")
        .bind(target)
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();

    let report = verify(store.as_ref(), |_| {}).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad_position, Some(positions[6].to_string()));
    assert_eq!(report.checked_events, 6);
    drop(store);
    db.drop_database().await;
}
