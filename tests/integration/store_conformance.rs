//! The conformance suite every event store backend passes: the same tests, run once per backend.
//! KurrentDB runs only when `MIRAGE_TEST_KURRENTDB_URL` is set (no server can be installed here).

use std::time::Duration;

use domain::hash_chain::ChainVerifier;
use futures::StreamExt;
use store::{ExpectedVersion, ReadBound, Snapshot, StoreError, catch_up_subscription};
use tests::{TestStore, event, events, unique_stream};

async fn next_event(
    subscription: &mut futures::stream::BoxStream<
        'static,
        Result<domain::RecordedEvent, StoreError>,
    >,
) -> domain::RecordedEvent {
    tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("subscription delivered within 10 s")
        .expect("subscription still open")
        .expect("no store error")
}

/// Waits until the global log has made `position` readable. PostgreSQL holds events back while an
/// older transaction that could still write is open; the wait is bounded.
async fn settle(store: &store::SharedStore, position: domain::LogPosition) {
    for _ in 0..400 {
        if store
            .head()
            .await
            .unwrap()
            .is_some_and(|head| head >= position)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("position {position} never became readable");
}

pub async fn append_then_read_stream(t: TestStore) {
    let stream = unique_stream("conf");
    let batch = events(3);
    let result = t
        .store
        .append(&stream, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert_eq!(result.next_expected_version, 3);
    assert_eq!(result.positions.len(), 3);
    assert!(result.positions.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(t.store.stream_version(&stream).await.unwrap(), 3);

    let read = t
        .store
        .read_stream(&stream, 1, ReadBound::End, 100)
        .await
        .unwrap();
    assert_eq!(read.len(), 3);
    for (i, (stored, sent)) in read.iter().zip(&batch).enumerate() {
        assert_eq!(stored.version, i as u64 + 1);
        assert_eq!(stored.position, result.positions[i]);
        assert_eq!(stored.payload, sent.payload);
        assert_eq!(stored.meta.event_id, sent.meta.event_id);
        assert_eq!(stored.meta.actor, sent.meta.actor);
        assert_eq!(stored.meta.organization, sent.meta.organization);
        assert_eq!(stored.meta.correlation_id, sent.meta.correlation_id);
        assert_eq!(
            stored.meta.occurred_at.timestamp_micros(),
            sent.meta.occurred_at.timestamp_micros()
        );
    }
    let missing = unique_stream("conf");
    assert_eq!(t.store.stream_version(&missing).await.unwrap(), 0);
    assert!(
        t.store
            .read_stream(&missing, 1, ReadBound::End, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn expected_versions_are_enforced(t: TestStore) {
    let stream = unique_stream("conf");
    let store = &t.store;
    let conflict = store
        .append(&stream, ExpectedVersion::StreamExists, events(1))
        .await;
    assert!(matches!(
        conflict,
        Err(StoreError::WrongExpectedVersion { actual: 0, .. })
    ));
    store
        .append(&stream, ExpectedVersion::NoStream, events(2))
        .await
        .unwrap();
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(1),
        ExpectedVersion::Exact(3),
    ] {
        match store.append(&stream, expected, events(1)).await {
            Err(StoreError::WrongExpectedVersion {
                actual, stream: s, ..
            }) => {
                assert_eq!(actual, 2);
                assert_eq!(s, stream.as_str());
            }
            other => panic!("{expected:?} gave {other:?}"),
        }
    }
    let ok = store
        .append(&stream, ExpectedVersion::Exact(2), events(1))
        .await
        .unwrap();
    assert_eq!(ok.next_expected_version, 3);
    let any = store
        .append(&stream, ExpectedVersion::Any, events(1))
        .await
        .unwrap();
    assert_eq!(any.next_expected_version, 4);
    let exists = store
        .append(&stream, ExpectedVersion::StreamExists, events(1))
        .await
        .unwrap();
    assert_eq!(exists.next_expected_version, 5);
    assert_eq!(store.stream_version(&stream).await.unwrap(), 5);
}

pub async fn retried_appends_are_idempotent(t: TestStore) {
    let stream = unique_stream("conf");
    let batch = events(3);
    let first = t
        .store
        .append(&stream, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    let retry = t
        .store
        .append(&stream, ExpectedVersion::NoStream, batch.clone())
        .await
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(t.store.stream_version(&stream).await.unwrap(), 3);

    let mut mixed = events(1);
    mixed.push(batch[0].clone());
    assert!(matches!(
        t.store.append(&stream, ExpectedVersion::Any, mixed).await,
        Err(StoreError::IdempotencyMismatch { .. })
    ));
    let other = unique_stream("conf");
    assert!(matches!(
        t.store
            .append(&other, ExpectedVersion::Any, batch.clone())
            .await,
        Err(StoreError::IdempotencyMismatch { .. })
    ));
    assert_eq!(t.store.stream_version(&stream).await.unwrap(), 3);
    assert_eq!(t.store.stream_version(&other).await.unwrap(), 0);
}

pub async fn stream_reads_stop_at_a_version_or_a_time(t: TestStore) {
    let stream = unique_stream("conf");
    t.store
        .append(&stream, ExpectedVersion::NoStream, events(2))
        .await
        .unwrap();
    let first = t
        .store
        .read_stream(&stream, 1, ReadBound::End, 10)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    t.store
        .append(&stream, ExpectedVersion::Exact(2), events(3))
        .await
        .unwrap();

    let up_to_2 = t
        .store
        .read_stream(&stream, 1, ReadBound::Version(2), 10)
        .await
        .unwrap();
    assert_eq!(
        up_to_2.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2]
    );
    let from_4 = t
        .store
        .read_stream(&stream, 4, ReadBound::End, 10)
        .await
        .unwrap();
    assert_eq!(from_4.iter().map(|e| e.version).collect::<Vec<_>>(), [4, 5]);
    let limited = t
        .store
        .read_stream(&stream, 1, ReadBound::End, 2)
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    let as_of = first[1].recorded_at;
    let by_time = t
        .store
        .read_stream(&stream, 1, ReadBound::Time(as_of), 10)
        .await
        .unwrap();
    assert_eq!(
        by_time.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2]
    );
    let before = as_of - chrono::Duration::seconds(60);
    assert!(
        t.store
            .read_stream(&stream, 1, ReadBound::Time(before), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn global_log_pages_in_order(t: TestStore) {
    let streams = [unique_stream("conf"), unique_stream("conf")];
    let start = t.store.head().await.unwrap();
    let mut appended = Vec::new();
    let mut last = domain::LogPosition::START;
    for round in 0..3 {
        for stream in &streams {
            let batch = events(2);
            appended.extend(batch.iter().map(|e| e.meta.event_id));
            let expected = if round == 0 {
                ExpectedVersion::NoStream
            } else {
                ExpectedVersion::Exact(round * 2)
            };
            let result = t.store.append(stream, expected, batch).await.unwrap();
            last = last.max(result.positions[1]);
        }
    }
    settle(&t.store, last).await;
    let mut seen = Vec::new();
    let mut after = start;
    loop {
        let page = t.store.read_all(after, 4).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        for event in page {
            assert!(after.is_none_or(|a| a < event.position));
            after = Some(event.position);
            seen.push(event.meta.event_id);
        }
    }
    let ours: Vec<_> = seen
        .into_iter()
        .filter(|id| appended.contains(id))
        .collect();
    assert_eq!(ours, appended);
    assert_eq!(t.store.head().await.unwrap(), after);
}

pub async fn subscriptions_catch_up_then_follow(t: TestStore) {
    let stream = unique_stream("conf");
    let start = t.store.head().await.unwrap();
    let first = t
        .store
        .append(&stream, ExpectedVersion::NoStream, events(3))
        .await
        .unwrap();
    let mut all = catch_up_subscription(t.store.clone(), start);
    let mut from_second = catch_up_subscription(t.store.clone(), Some(first.positions[1]));
    for version in 1..=3 {
        assert_eq!(next_event(&mut all).await.version, version);
    }
    assert_eq!(next_event(&mut from_second).await.version, 3);
    let live = tokio::spawn({
        let store = t.store.clone();
        let stream = stream.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            store
                .append(&stream, ExpectedVersion::Exact(3), events(2))
                .await
                .unwrap()
        }
    });
    assert_eq!(next_event(&mut all).await.version, 4);
    assert_eq!(next_event(&mut all).await.version, 5);
    assert_eq!(next_event(&mut from_second).await.version, 4);
    live.await.unwrap();
}

pub async fn bad_appends_are_refused_whole(t: TestStore) {
    let stream = unique_stream("conf");
    let store = &t.store;
    let refused = |result: Result<_, StoreError>, field: &str| match result {
        Err(StoreError::InvalidEvent { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected invalid {field}, got {other:?}"),
    };
    refused(
        store.append(&stream, ExpectedVersion::Any, vec![]).await,
        "events",
    );
    let mut twice = events(1);
    twice.push(twice[0].clone());
    refused(
        store.append(&stream, ExpectedVersion::Any, twice).await,
        "event_id",
    );
    let mut bad_type = events(2);
    bad_type[1].payload.event_type = "no spaces allowed".into();
    refused(
        store.append(&stream, ExpectedVersion::Any, bad_type).await,
        "event_type",
    );
    let mut not_json = events(2);
    not_json[1].payload.data = b"\xff\x00garbage".to_vec();
    refused(
        store.append(&stream, ExpectedVersion::Any, not_json).await,
        "payload",
    );
    for bad_version in [0, u32::MAX] {
        let mut versioned = events(1);
        versioned[0].payload.event_version = bad_version;
        refused(
            store.append(&stream, ExpectedVersion::Any, versioned).await,
            "event_version",
        );
    }
    let mut no_actor = events(1);
    no_actor[0].meta.actor.clear();
    refused(
        store.append(&stream, ExpectedVersion::Any, no_actor).await,
        "actor",
    );
    let mut huge = events(2);
    huge[1].payload.data = serde_json::to_vec(&"x".repeat(2 * 1024 * 1024)).unwrap();
    assert!(matches!(
        store.append(&stream, ExpectedVersion::Any, huge).await,
        Err(StoreError::EventTooLarge {
            limit: 1_048_576,
            ..
        })
    ));
    assert_eq!(store.stream_version(&stream).await.unwrap(), 0);
}

pub async fn snapshots_keep_the_newest(t: TestStore) {
    let stream = unique_stream("conf");
    assert_eq!(t.store.load_snapshot(&stream).await.unwrap(), None);
    let snapshot = |version| Snapshot {
        stream_id: stream.clone(),
        version,
        snapshot_version: 1,
        state: format!("{{\"v\":{version}}}").into_bytes(),
    };
    t.store.save_snapshot(snapshot(10)).await.unwrap();
    t.store.save_snapshot(snapshot(20)).await.unwrap();
    t.store.save_snapshot(snapshot(15)).await.unwrap();
    assert_eq!(
        t.store.load_snapshot(&stream).await.unwrap(),
        Some(snapshot(20))
    );
}

pub async fn concurrent_appends_keep_streams_gapless_and_chained(t: TestStore) {
    let start = t.store.head().await.unwrap();
    let shared = unique_stream("conf");
    let contested = unique_stream("conf");
    let mut tasks = Vec::new();
    for task in 0..16 {
        let store = t.store.clone();
        let shared = shared.clone();
        let contested = contested.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = domain::LogPosition::START;
            for _ in 0..10 {
                let result = store
                    .append(&shared, ExpectedVersion::Any, events(1 + task % 3))
                    .await
                    .unwrap();
                last = last.max(*result.positions.last().unwrap());
            }
            let won = store
                .append(&contested, ExpectedVersion::NoStream, events(1))
                .await
                .map(|result| last.max(result.positions[0]));
            (won.is_ok(), won.unwrap_or(last))
        }));
    }
    let mut winners = 0;
    let mut last = domain::LogPosition::START;
    for task in tasks {
        let (won, position) = task.await.unwrap();
        winners += usize::from(won);
        last = last.max(position);
    }
    settle(&t.store, last).await;
    assert_eq!(winners, 1, "exactly one NoStream append may win");
    let expected: u64 = (0..16u64).map(|task| 10 * (1 + task % 3)).sum();
    assert_eq!(t.store.stream_version(&shared).await.unwrap(), expected);

    let mut verifier = ChainVerifier::new();
    let mut after = start;
    let mut versions = Vec::new();
    loop {
        let page = t.store.read_all(after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        for event in page.iter().filter(|e| e.stream_id == shared) {
            versions.push(event.version);
        }
        for event in page
            .iter()
            .filter(|e| e.stream_id == shared || e.stream_id == contested)
        {
            verifier.check(event).unwrap();
        }
    }
    assert_eq!(versions, (1..=expected).collect::<Vec<_>>());
}

pub async fn single_events_round_trip_exact_bytes(t: TestStore) {
    let stream = unique_stream("conf");
    let mut odd = event(
        "Odd.Type_2",
        serde_json::json!({"z": 1, "a": [1, 2, {"ü": "✓"}]}),
    );
    odd.payload.data = b"{ \"z\" :1,  \"a\":[1,2]}".to_vec();
    odd.meta.organization = None;
    odd.meta.correlation_id = None;
    odd.meta.causation_id = Some(uuid::Uuid::now_v7());
    t.store
        .append(&stream, ExpectedVersion::Any, vec![odd.clone()])
        .await
        .unwrap();
    let read = t
        .store
        .read_stream(&stream, 1, ReadBound::End, 1)
        .await
        .unwrap();
    assert_eq!(
        read[0].payload.data, odd.payload.data,
        "payload bytes kept exactly"
    );
    assert_eq!(read[0].meta.organization, None);
    assert_eq!(read[0].meta.causation_id, odd.meta.causation_id);
    assert_eq!(read[0].prev_hash, domain::GENESIS_HASH);
    assert_eq!(read[0].hash, domain::hash_chain::compute_hash(&read[0]));
}

/// Runs every conformance test for one backend; `$factory` yields `Option<TestStore>`.
macro_rules! store_conformance_suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        if let Some(store) = $factory.await {
                            super::$name(store).await;
                        }
                    }
                };
            }

            case!(append_then_read_stream);
            case!(expected_versions_are_enforced);
            case!(retried_appends_are_idempotent);
            case!(stream_reads_stop_at_a_version_or_a_time);
            case!(global_log_pages_in_order);
            case!(subscriptions_catch_up_then_follow);
            case!(bad_appends_are_refused_whole);
            case!(snapshots_keep_the_newest);
            case!(concurrent_appends_keep_streams_gapless_and_chained);
            case!(single_events_round_trip_exact_bytes);
        }
    };
}

store_conformance_suite!(sqlite, async { Some(tests::sqlite::sqlite_store().await) });
store_conformance_suite!(postgres, async { Some(tests::pg::postgres_store().await) });
store_conformance_suite!(kurrentdb, tests::kurrent::kurrent_store());
