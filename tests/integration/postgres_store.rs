//! PostgreSQL-specific event store tests against the machine's server: the append-only role,
//! out-of-order commits, the server being down or going away, and many concurrent writers.
//! What every backend must do is in `store_conformance.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::hash_chain::{ChainVerifier, compute_hash};
use domain::{GENESIS_HASH, LogPosition, RecordedEvent};
use futures::StreamExt;
use sqlx::{Connection, PgConnection};
use store::postgres::{PostgresStore, PostgresStoreConfig};
use store::{
    EventLog, EventStore, ExpectedVersion, ReadBound, SharedStore, StoreError,
    catch_up_subscription,
};
use tests::pg::{TcpProxy, fresh_database, server_addr, store_config, with_parts};
use tests::{event, events, unique_stream};
use uuid::Uuid;

async fn connect(config: PostgresStoreConfig) -> Arc<PostgresStore> {
    Arc::new(
        PostgresStore::connect(config)
            .await
            .expect("connect the postgres store"),
    )
}

/// Reads the whole log, waiting (up to 20 s) until it holds `count` events: the horizon may
/// hold back events while any transaction of the cluster is open.
async fn read_everything(store: &dyn EventStore, count: usize) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut all: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = all.last().map(|e| e.position);
        let page = store.read_all(after, 500).await.expect("read_all");
        if page.is_empty() {
            if all.len() >= count {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} events became readable",
                all.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        all.extend(page);
    }
}

fn error_code(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_role_can_append_and_read_but_never_rewrite_events() {
    let db = fresh_database().await;
    let store = connect(store_config(&db)).await;
    let stream = unique_stream("pg");
    store
        .append(&stream, ExpectedVersion::NoStream, events(2))
        .await
        .unwrap();
    let before = store
        .read_stream(&stream, 1, ReadBound::End, 10)
        .await
        .unwrap();
    assert_eq!(before.len(), 2);

    // The store's own pool is the application role.
    for statement in [
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let error = sqlx::query(statement)
            .execute(store.pool())
            .await
            .expect_err(statement);
        assert_eq!(error_code(&error).as_deref(), Some("42501"), "{statement}");
        assert!(
            error.to_string().contains("permission denied"),
            "{statement}: {error}"
        );
    }

    // Defence in depth: even the owner is stopped by the triggers.
    let mut owner = PgConnection::connect(&db.admin_url).await.unwrap();
    for statement in [
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let error = sqlx::query(statement)
            .execute(&mut owner)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("events are immutable"),
            "{statement}: {error}"
        );
    }
    owner.close().await.unwrap();

    store
        .append(&stream, ExpectedVersion::Exact(2), events(1))
        .await
        .unwrap();
    let after = store
        .read_stream(&stream, 1, ReadBound::End, 10)
        .await
        .unwrap();
    assert_eq!(&after[..2], &before[..]);
    let mut verifier = ChainVerifier::new();
    for event in &read_everything(store.as_ref(), 3).await {
        verifier.check(event).unwrap();
    }
    assert_eq!(verifier.checked(), 3);
    drop(store);
    db.drop_database().await;
}

/// Inserts `event` as version 1 of `stream` in `tx` the way the store would, chain included.
async fn insert_raw(
    tx: &mut PgConnection,
    stream: &domain::StreamId,
    recorded_at: DateTime<Utc>,
) -> RecordedEvent {
    let mut new = event("RawInserted", serde_json::json!({"raw": true}));
    // Stored times have microsecond precision.
    new.meta.occurred_at =
        DateTime::from_timestamp_micros(new.meta.occurred_at.timestamp_micros()).unwrap();
    let mut row = RecordedEvent {
        stream_id: stream.clone(),
        version: 1,
        position: LogPosition::START,
        recorded_at,
        meta: new.meta,
        payload: new.payload,
        prev_hash: GENESIS_HASH,
        hash: GENESIS_HASH,
    };
    row.hash = compute_hash(&row);
    let (commit, prepare): (i64, i64) = sqlx::query_as(
        "INSERT INTO events (event_id, stream_id, version, event_type, event_version, \
             occurred_at, recorded_at, actor, organization, causation_id, correlation_id, \
             payload, prev_hash, hash) \
         VALUES ($1::uuid, $2, 1, $3, $4, $5, $6, $7, $8::uuid, NULL, $9::uuid, $10, $11, $12) \
         RETURNING tx_id::text::bigint, position",
    )
    .bind(row.meta.event_id.to_string())
    .bind(stream.as_str())
    .bind(&row.payload.event_type)
    .bind(row.payload.event_version as i32)
    .bind(row.meta.occurred_at.timestamp_micros())
    .bind(row.recorded_at.timestamp_micros())
    .bind(&row.meta.actor)
    .bind(row.meta.organization.map(|id| id.to_string()))
    .bind(row.meta.correlation_id.map(|id| id.to_string()))
    .bind(&row.payload.data)
    .bind(row.prev_hash.0.to_vec())
    .bind(row.hash.0.to_vec())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO streams (stream_id, version, last_hash, last_recorded_at) \
         VALUES ($1, 1, $2, $3)",
    )
    .bind(stream.as_str())
    .bind(row.hash.0.to_vec())
    .bind(row.recorded_at.timestamp_micros())
    .execute(&mut *tx)
    .await
    .unwrap();
    row.position = LogPosition {
        commit: commit as u64,
        prepare: prepare as u64,
    };
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_out_of_order_is_delivered_first_and_never_skipped() {
    let db = fresh_database().await;
    let store = connect(store_config(&db)).await;
    let shared: SharedStore = store.clone();
    let (stream_a, stream_b) = (unique_stream("pg-a"), unique_stream("pg-b"));

    // Transaction A writes first (smaller xid, smaller position) but stays open.
    let mut raw = PgConnection::connect(&db.admin_url).await.unwrap();
    let mut tx = raw.begin().await.unwrap();
    let recorded_at = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    let a = insert_raw(&mut tx, &stream_a, recorded_at).await;

    // B commits through the store meanwhile.
    let b_id = Uuid::now_v7();
    let mut b_event = events(1);
    b_event[0].meta.event_id = b_id;
    let b = store
        .append(&stream_b, ExpectedVersion::NoStream, b_event)
        .await
        .unwrap();
    let b_position = b.positions[0];
    assert!(a.position < b_position);
    assert!(a.position.prepare < b_position.prepare);

    // A naive "position > checkpoint" reader would now see B alone and move past A.
    let visible: Vec<(i64,)> = sqlx::query_as("SELECT position FROM events")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(visible, vec![(b_position.prepare as i64,)]);

    let mut subscription = catch_up_subscription(shared.clone(), None);
    let early = tokio::time::timeout(Duration::from_secs(1), subscription.next()).await;
    assert!(early.is_err(), "nothing may be delivered while A is open");
    assert!(store.read_all(None, 10).await.unwrap().is_empty());
    assert_eq!(store.head().await.unwrap(), None);

    tx.commit().await.unwrap();
    raw.close().await.unwrap();

    let mut delivered = Vec::new();
    for _ in 0..2 {
        let next = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("delivered within 10 s")
            .expect("subscription open")
            .expect("no store error");
        delivered.push(next);
    }
    assert_eq!(delivered[0], a);
    assert_eq!(delivered[1].meta.event_id, b_id);
    assert_eq!(delivered[1].position, b_position);

    let log = read_everything(store.as_ref(), 2).await;
    assert_eq!(
        log.iter().map(|e| e.meta.event_id).collect::<Vec<_>>(),
        vec![a.meta.event_id, b_id]
    );
    assert_eq!(store.head().await.unwrap(), Some(b_position));
    let mut verifier = ChainVerifier::new();
    for event in &log {
        verifier.check(event).unwrap();
    }

    // The raw row is a proper head of its stream: the store appends after it.
    let next = store
        .append(&stream_a, ExpectedVersion::Exact(1), events(1))
        .await
        .unwrap();
    assert_eq!(next.next_expected_version, 2);
    let chained = store
        .read_stream(&stream_a, 2, ReadBound::End, 1)
        .await
        .unwrap();
    assert_eq!(chained[0].prev_hash, a.hash);
    drop(subscription);
    drop(shared);
    drop(store);
    db.drop_database().await;
}

fn unreachable_config(url: String) -> PostgresStoreConfig {
    PostgresStoreConfig {
        connect_timeout: Duration::from_secs(1),
        ..PostgresStoreConfig::new(url)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_at_start_is_reported_unavailable_quickly() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = unreachable_config(format!(
        "postgres://mirage_app:s3cret-pw@127.0.0.1:{port}/mirage"
    ));
    assert!(!format!("{config:?}").contains("s3cret-pw"));
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(10), PostgresStore::connect(config))
        .await
        .expect("connect gives up by itself");
    let Err(StoreError::Unavailable(message)) = result else {
        panic!("expected unavailable, got {:?}", result.err());
    };
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(message.contains("postgres"), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");

    // A port that accepts connections but never answers: the connect timeout applies.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        PostgresStore::connect(unreachable_config(format!(
            "postgres://mirage_app:s3cret-pw@127.0.0.1:{port}/mirage"
        ))),
    )
    .await
    .expect("connect gives up by itself");
    let Err(StoreError::Unavailable(message)) = result else {
        panic!("expected unavailable, got {:?}", result.err());
    };
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(message.contains("postgres"), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_mid_run_fails_appends_cleanly_until_it_returns() {
    let db = fresh_database().await;
    let proxy = TcpProxy::start(server_addr().await).await;
    let config = PostgresStoreConfig {
        url: with_parts(&db.app_url, None, Some(&proxy.addr().to_string()), &db.name),
        connect_timeout: Duration::from_secs(2),
        ..store_config(&db)
    };
    let store = connect(config).await;
    let stream = unique_stream("pg");
    store
        .append(&stream, ExpectedVersion::NoStream, events(1))
        .await
        .unwrap();

    proxy.cut();
    let second = events(2);
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        store.append(&stream, ExpectedVersion::Exact(1), second.clone()),
    )
    .await
    .expect("the append gives up by itself");
    let Err(StoreError::Unavailable(message)) = result else {
        panic!("expected unavailable, got {result:?}");
    };
    assert!(message.contains("postgres"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(
        store.read_stream(&stream, 1, ReadBound::End, 10).await,
        Err(StoreError::Unavailable(_))
    ));

    // Nothing of the failed append reached the server.
    let mut owner = PgConnection::connect(&db.admin_url).await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE stream_id = $1")
        .bind(stream.as_str())
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let (version,): (i64,) = sqlx::query_as("SELECT version FROM streams WHERE stream_id = $1")
        .bind(stream.as_str())
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(version, 1);
    owner.close().await.unwrap();

    // Back again: the very retry succeeds.
    proxy.restore();
    let retried = store
        .append(&stream, ExpectedVersion::Exact(1), second.clone())
        .await
        .unwrap();
    assert_eq!(retried.next_expected_version, 3);
    let read = store
        .read_stream(&stream, 1, ReadBound::End, 10)
        .await
        .unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[1].meta.event_id, second[0].meta.event_id);
    let mut verifier = ChainVerifier::new();
    for event in &read {
        verifier.check(event).unwrap();
    }
    drop(store);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_produce_one_gapless_chained_log() {
    const TASKS: usize = 32;
    const APPENDS: usize = 50;
    let db = fresh_database().await;
    let store = connect(store_config(&db)).await;
    let streams: Vec<_> = (0..8).map(|_| unique_stream("pg-mixed")).collect();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        let streams = streams.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(APPENDS);
            for i in 0..APPENDS {
                let stream = &streams[(task * 7 + i) % streams.len()];
                let batch = events(1);
                ids.push(batch[0].meta.event_id);
                store
                    .append(stream, ExpectedVersion::Any, batch)
                    .await
                    .unwrap();
            }
            ids
        }));
    }
    let mut appended = HashSet::new();
    for task in tasks {
        appended.extend(task.await.unwrap());
    }
    assert_eq!(appended.len(), TASKS * APPENDS);

    let log = read_everything(store.as_ref(), TASKS * APPENDS).await;
    assert_eq!(log.len(), TASKS * APPENDS);
    let delivered: HashSet<Uuid> = log.iter().map(|e| e.meta.event_id).collect();
    assert_eq!(delivered, appended, "every event exactly once");
    assert!(log.windows(2).all(|w| w[0].position < w[1].position));

    let mut verifier = ChainVerifier::new();
    let mut versions: HashMap<&str, u64> = HashMap::new();
    for event in &log {
        let last = versions.entry(event.stream_id.as_str()).or_default();
        assert_eq!(event.version, *last + 1, "gapless, in order");
        *last = event.version;
        verifier.check(event).unwrap();
    }
    let mut total = 0;
    for stream in &streams {
        let version = store.stream_version(stream).await.unwrap();
        assert_eq!(version, versions[stream.as_str()]);
        total += version;
    }
    assert_eq!(total as usize, TASKS * APPENDS);
    drop(store);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_in_another_database_does_not_hold_the_log_back() {
    let db = fresh_database().await;
    let store = connect(store_config(&db)).await;
    // An older transaction that is still running, with an xid, but in another database.
    let elsewhere = fresh_database().await;
    let mut other = PgConnection::connect(&elsewhere.admin_url).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    let (xid,): (i64,) = sqlx::query_as("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut *tx)
        .await
        .unwrap();

    let stream = unique_stream("pg");
    let appended = store
        .append(&stream, ExpectedVersion::NoStream, events(1))
        .await
        .unwrap();
    assert!(appended.positions[0].commit > xid as u64);
    let log = store.read_all(None, 10).await.unwrap();
    assert_eq!(log.len(), 1, "readable at once");
    assert_eq!(store.head().await.unwrap(), Some(appended.positions[0]));

    tx.rollback().await.unwrap();
    other.close().await.unwrap();
    drop(store);
    elsewhere.drop_database().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_rows_are_reported_corrupt_not_panicked_on() {
    let db = fresh_database().await;
    let store = connect(store_config(&db)).await;
    let mut owner = PgConnection::connect(&db.admin_url).await.unwrap();
    let insert = "INSERT INTO events (event_id, stream_id, version, event_type, event_version, \
                      occurred_at, recorded_at, actor, payload, prev_hash, hash) \
                  VALUES (gen_random_uuid(), $1, 1, 'Damaged', 1, 0, 0, 'system', '\\x7b7d', \
                      $2, $3)";
    // A stream id the domain refuses, with well-formed hashes.
    sqlx::query(insert)
        .bind("not a stream id")
        .bind(vec![0u8; 32])
        .bind(vec![0u8; 32])
        .execute(&mut owner)
        .await
        .unwrap();
    let bad_hash = unique_stream("pg-damaged");
    sqlx::query(insert)
        .bind(bad_hash.as_str())
        .bind(vec![0u8; 32])
        .bind(vec![1u8, 2])
        .execute(&mut owner)
        .await
        .unwrap();
    owner.close().await.unwrap();

    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match store.read_all(None, 10).await {
                Ok(page) if page.is_empty() => tokio::time::sleep(Duration::from_millis(50)).await,
                other => return other,
            }
        }
    })
    .await
    .unwrap();
    let Err(StoreError::Corrupt { position, reason }) = read else {
        panic!("expected corrupt, got {read:?}");
    };
    assert!(!position.is_empty());
    assert!(
        reason.contains("not a stream id") || reason.contains("' '"),
        "{reason}"
    );

    let read = store.read_stream(&bad_hash, 1, ReadBound::End, 10).await;
    let Err(StoreError::Corrupt { reason, .. }) = read else {
        panic!("expected corrupt, got {read:?}");
    };
    assert!(reason.contains("hash has 2 bytes"), "{reason}");
    drop(store);
    db.drop_database().await;
}
