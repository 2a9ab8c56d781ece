//! Projections: live read models equal rebuilt ones, redelivery takes effect once, failures are
//! reported and lag is exported. Run on SQLite and PostgreSQL read-model databases.

use std::time::Duration;

use chrono::Utc;
use commands::{CommandHandler, HandlerConfig};
use domain::organization::{Organization, OrganizationCommand};
use domain::{CommandContext, LogPosition, StreamId};
use projections::read_models::organizations::Organizations;
use projections::{
    Projection, ProjectionError, ProjectionMetrics, ProjectionRunner, ReadModelDb, SqlProjection,
};
use store::{ExpectedVersion, SharedStore};
use uuid::Uuid;

/// Registers organizations and renames some, with unrelated events in between; returns the
/// position of the last event written.
async fn write_history(store: &SharedStore, organizations: usize) -> LogPosition {
    let mut last = LogPosition::START;
    let handler = CommandHandler::new(store.clone(), HandlerConfig::default());
    let context = CommandContext::system(Utc::now());
    for i in 0..organizations {
        let id = Uuid::now_v7();
        let stream = StreamId::for_aggregate("organization", id).unwrap();
        handler
            .execute::<Organization>(
                &stream,
                OrganizationCommand::Register {
                    id,
                    name: format!("Org {i}"),
                },
                &context,
            )
            .await
            .unwrap();
        for rename in 0..(i % 4) {
            handler
                .execute::<Organization>(
                    &stream,
                    OrganizationCommand::Rename {
                        name: format!("Org {i} renamed {rename}"),
                    },
                    &context,
                )
                .await
                .unwrap();
        }
        let noise = store
            .append(
                &tests::unique_stream("noise"),
                ExpectedVersion::NoStream,
                tests::events(2),
            )
            .await
            .unwrap();
        last = noise.positions[1];
    }
    last
}

async fn rebuild_equals_live(store: SharedStore, db: ReadModelDb) {
    let registry = prometheus::Registry::new();
    let metrics = ProjectionMetrics::register(&registry).unwrap();
    let mut runner = ProjectionRunner::new(store.clone(), Some(metrics.clone()));
    projections::read_models::register_all(&mut runner, &db)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = runner.spawn(stopped);

    let head = write_history(&store, 24).await;
    assert!(
        runner
            .wait_for("organizations", head, Duration::from_secs(20))
            .await,
        "live projection reached the head"
    );
    let live = tests::dump_organizations(&db).await;
    assert_eq!(live.len(), 24);
    assert!(
        live.iter()
            .any(|row| row.contains("renamed 2|") && row.contains("|3|4|")),
        "{live:?}"
    );

    runner.refresh_lag().await.unwrap();
    assert_eq!(metrics.lag.with_label_values(&["organizations"]).get(), 0);
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    store
        .append(
            &tests::unique_stream("noise"),
            ExpectedVersion::NoStream,
            tests::events(5),
        )
        .await
        .unwrap();
    // PostgreSQL shows new events once no older transaction is open anywhere on the server.
    let mut lag = 0;
    for _ in 0..200 {
        runner.refresh_lag().await.unwrap();
        lag = metrics.lag.with_label_values(&["organizations"]).get();
        if lag >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(lag >= 5, "lag {lag}");

    let applied = runner.rebuild(Some("organizations")).await.unwrap();
    assert!(applied > 24);
    assert_eq!(
        tests::dump_organizations(&db).await,
        live,
        "rebuilt read model equals the live one"
    );
    let everything = runner.rebuild(None).await.unwrap();
    assert_eq!(
        everything,
        applied * runner.names().len() as u64,
        "every projection replays the whole log"
    );
    assert_eq!(tests::dump_organizations(&db).await, live);
    assert_eq!(
        runner.rebuild(Some("no_such_projection")).await,
        Err(ProjectionError::UnknownProjection(
            "no_such_projection".into()
        ))
    );
}

async fn redelivery_takes_effect_once(store: SharedStore, db: ReadModelDb) {
    let last = write_history(&store, 4).await;
    let projection = SqlProjection::new(db.clone(), Organizations).await.unwrap();
    let mut log = Vec::new();
    for _ in 0..200 {
        log = store.read_all(None, 1000).await.unwrap();
        if log.last().is_some_and(|e| e.position >= last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    projection.apply(&log).await.unwrap();
    let once = tests::dump_organizations(&db).await;
    // A crash between applying and acknowledging redelivers the same events.
    projection.apply(&log).await.unwrap();
    projection.apply(&log[log.len() / 2..]).await.unwrap();
    // An older page after the whole log: nothing happens and the checkpoint stays put.
    projection.apply(&log[..log.len() / 2]).await.unwrap();
    assert_eq!(tests::dump_organizations(&db).await, once);
    assert_eq!(
        projection.checkpoint().await.unwrap(),
        log.last().map(|e| e.position)
    );
}

async fn a_bad_event_stops_the_projection_and_is_reported(store: SharedStore, db: ReadModelDb) {
    let mut runner = ProjectionRunner::new(store.clone(), None);
    projections::read_models::register_all(&mut runner, &db)
        .await
        .unwrap();
    let good_head = write_history(&store, 2).await;
    let mut bad = tests::event("OrganizationRenamed", serde_json::json!({ "name": 42 }));
    bad.payload.event_version = 1;
    store
        .append(
            &tests::unique_stream("organization"),
            ExpectedVersion::Any,
            vec![bad],
        )
        .await
        .unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let _workers = runner.spawn(stopped);
    assert!(
        runner
            .wait_for("organizations", good_head, Duration::from_secs(10))
            .await
    );
    let mut reported = None;
    for _ in 0..100 {
        let status = runner.status();
        let organizations = status.iter().find(|s| s.name == "organizations").unwrap();
        if let Some(error) = organizations.last_error.clone() {
            reported = Some((error, organizations.checkpoint));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (error, checkpoint) = reported.expect("the failure is reported");
    assert!(error.contains("cannot decode"), "{error}");
    assert_eq!(
        checkpoint,
        Some(good_head),
        "the checkpoint stays before the bad event"
    );
}

async fn sqlite_read_models() -> (ReadModelDb, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("rm.db").display());
    (ReadModelDb::connect(&url, 4).await.unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rebuild_equals_live() {
    let store = tests::sqlite::sqlite_store().await;
    let (db, _dir) = sqlite_read_models().await;
    rebuild_equals_live(store.store, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_redelivery_takes_effect_once() {
    let store = tests::sqlite::sqlite_store().await;
    let (db, _dir) = sqlite_read_models().await;
    redelivery_takes_effect_once(store.store, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bad_event_is_reported() {
    let store = tests::sqlite::sqlite_store().await;
    let (db, _dir) = sqlite_read_models().await;
    a_bad_event_stops_the_projection_and_is_reported(store.store, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rebuild_equals_live() {
    let store = tests::pg::postgres_store().await;
    let read_db = tests::pg::fresh_database().await;
    let db = ReadModelDb::connect(&read_db.admin_url, 4).await.unwrap();
    rebuild_equals_live(store.store, db).await;
    read_db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_redelivery_takes_effect_once() {
    let store = tests::pg::postgres_store().await;
    let read_db = tests::pg::fresh_database().await;
    let db = ReadModelDb::connect(&read_db.admin_url, 4).await.unwrap();
    redelivery_takes_effect_once(store.store, db).await;
    read_db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bad_event_is_reported() {
    let store = tests::pg::postgres_store().await;
    let read_db = tests::pg::fresh_database().await;
    let db = ReadModelDb::connect(&read_db.admin_url, 4).await.unwrap();
    a_bad_event_stops_the_projection_and_is_reported(store.store, db).await;
    read_db.drop_database().await;
}

#[tokio::test]
async fn an_unreachable_read_model_database_is_a_clear_error() {
    let error = ReadModelDb::connect("postgres://nobody@127.0.0.1:1/none", 1)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ProjectionError::Database("database unavailable".into())
    );
    let error = ReadModelDb::connect("mysql:://garbage", 1)
        .await
        .unwrap_err();
    assert!(matches!(error, ProjectionError::Database(_)));
}
