//! The command handler: decisions appended with their expected version, snapshots taken every N
//! events and used on load, unusable snapshots ignored, concurrent commands re-decided.

use chrono::Utc;
use commands::{CommandError, CommandHandler, HandlerConfig};
use domain::organization::{Organization, OrganizationCommand};
use domain::{CommandContext, DomainError, StreamId};
use store::{ExpectedVersion, Snapshot};
use uuid::Uuid;

fn context() -> CommandContext {
    CommandContext {
        actor: "user:alice".to_owned(),
        organization: None,
        now: Utc::now(),
        correlation_id: Some(Uuid::now_v7()),
        causation_id: None,
    }
}

async fn registered(handler: &CommandHandler) -> StreamId {
    let id = Uuid::now_v7();
    let stream = StreamId::for_aggregate("organization", id).unwrap();
    handler
        .execute::<Organization>(
            &stream,
            OrganizationCommand::Register {
                id,
                name: "Acme".into(),
            },
            &context(),
        )
        .await
        .unwrap();
    stream
}

async fn rename(handler: &CommandHandler, stream: &StreamId, name: String) {
    handler
        .execute::<Organization>(stream, OrganizationCommand::Rename { name }, &context())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_taken_every_n_events_and_used_on_load() {
    let t = tests::sqlite::sqlite_store().await;
    let config = HandlerConfig {
        snapshot_every: 10,
        ..HandlerConfig::default()
    };
    let handler = CommandHandler::new(t.store.clone(), config);
    let stream = registered(&handler).await;
    for i in 0..24 {
        rename(&handler, &stream, format!("Acme {i}")).await;
    }
    let snapshot = t.store.load_snapshot(&stream).await.unwrap().unwrap();
    assert_eq!(snapshot.version, 20, "snapshots at 10 and 20 events");

    let loaded = handler.load::<Organization>(&stream).await.unwrap();
    assert_eq!(loaded.snapshot_version, 20);
    assert_eq!(loaded.version, 25);
    assert_eq!(loaded.state.name, "Acme 23");
    assert_eq!(loaded.state.renames, 24);

    // The same state from a full replay.
    let replayed = CommandHandler::new(t.store.clone(), HandlerConfig::default());
    t.store
        .save_snapshot(Snapshot {
            stream_id: stream.clone(),
            version: 1_000,
            snapshot_version: 99,
            state: b"{}".to_vec(),
        })
        .await
        .unwrap();
    let from_scratch = replayed.load::<Organization>(&stream).await.unwrap();
    assert_eq!(
        from_scratch.snapshot_version, 0,
        "a snapshot of another version is ignored"
    );
    assert_eq!(from_scratch.state, loaded.state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_snapshot_falls_back_to_replay() {
    let t = tests::sqlite::sqlite_store().await;
    let handler = CommandHandler::new(t.store.clone(), HandlerConfig::default());
    let stream = registered(&handler).await;
    rename(&handler, &stream, "Renamed".into()).await;
    t.store
        .save_snapshot(Snapshot {
            stream_id: stream.clone(),
            version: 1,
            snapshot_version: 1,
            state: b"not json".to_vec(),
        })
        .await
        .unwrap();
    let loaded = handler.load::<Organization>(&stream).await.unwrap();
    assert_eq!(loaded.snapshot_version, 0);
    assert_eq!(loaded.state.name, "Renamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_carry_the_actor_and_domain_errors_write_nothing() {
    let t = tests::sqlite::sqlite_store().await;
    let handler = CommandHandler::new(t.store.clone(), HandlerConfig::default());
    let stream = registered(&handler).await;
    let again = handler
        .execute::<Organization>(
            &stream,
            OrganizationCommand::Register {
                id: Uuid::now_v7(),
                name: "Other".into(),
            },
            &context(),
        )
        .await;
    assert_eq!(
        again.unwrap_err(),
        CommandError::Domain(DomainError::AlreadyExists("organization"))
    );
    let invalid = handler
        .execute::<Organization>(
            &stream,
            OrganizationCommand::Rename { name: " ".into() },
            &context(),
        )
        .await;
    assert!(matches!(
        invalid,
        Err(CommandError::Domain(DomainError::InvalidInput {
            field: "name",
            ..
        }))
    ));
    assert_eq!(t.store.stream_version(&stream).await.unwrap(), 1);
    let events = t
        .store
        .read_stream(&stream, 1, store::ReadBound::End, 10)
        .await
        .unwrap();
    assert_eq!(events[0].meta.actor, "user:alice");
    assert!(events[0].meta.correlation_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_are_re_decided_not_lost() {
    let t = tests::sqlite::sqlite_store().await;
    let handler = CommandHandler::new(t.store.clone(), HandlerConfig::default());
    let stream = registered(&handler).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let handler = handler.clone();
        let stream = stream.clone();
        tasks.push(tokio::spawn(async move {
            handler
                .execute::<Organization>(
                    &stream,
                    OrganizationCommand::Rename {
                        name: format!("Name {i}"),
                    },
                    &context(),
                )
                .await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => applied += 1,
            Err(CommandError::Conflict { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert!(applied >= 1);
    let loaded = handler.load::<Organization>(&stream).await.unwrap();
    assert_eq!(loaded.state.renames, applied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_event_in_a_stream_is_a_named_error() {
    let t = tests::sqlite::sqlite_store().await;
    let handler = CommandHandler::new(t.store.clone(), HandlerConfig::default());
    let stream = registered(&handler).await;
    t.store
        .append(
            &stream,
            ExpectedVersion::Exact(1),
            vec![tests::event("OrganizationExploded", serde_json::json!({}))],
        )
        .await
        .unwrap();
    let error = handler.load::<Organization>(&stream).await.unwrap_err();
    assert!(matches!(error, CommandError::Decode { .. }));
    assert!(
        error.to_string().contains("OrganizationExploded"),
        "{error}"
    );
}
