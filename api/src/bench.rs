//! `mirage bench store`: event store throughput on this machine, printed as figures.
//! Not a test: nothing here asserts on time.

use std::time::{Duration, Instant};

use chrono::Utc;
use commands::{CommandHandler, HandlerConfig};
use domain::codec::StoredPayload;
use domain::organization::{Organization, OrganizationEvent};
use domain::{EventCodec, EventMeta, NewEvent, StreamId};
use store::{ExpectedVersion, ReadBound, SharedStore};
use uuid::Uuid;

use crate::cli::StoreBenchArgs;
use crate::config::Config;

fn new_event(n: usize) -> NewEvent {
    NewEvent {
        meta: EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at: Utc::now(),
            actor: "user:bench".to_owned(),
            organization: Some(Uuid::nil()),
            causation_id: None,
            correlation_id: None,
        },
        payload: StoredPayload {
            event_type: "BenchRecorded".to_owned(),
            event_version: 1,
            data: format!(
                "{{\"n\":{n},\"host\":\"www{n}.example.com\",\"module\":\"dns_resolve\",\"confidence\":90}}"
            )
            .into_bytes(),
        },
    }
}

fn stream(name: &str) -> anyhow::Result<StreamId> {
    Ok(StreamId::new(format!(
        "{name}-{}",
        Uuid::now_v7().simple()
    ))?)
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Runs every store benchmark and prints one line per figure.
pub async fn store(
    mut config: Config,
    data_dir_given: bool,
    args: StoreBenchArgs,
) -> anyhow::Result<()> {
    let _temp = if data_dir_given {
        None
    } else {
        let dir = tempfile_dir()?;
        config.data_dir = dir.clone();
        Some(TempDir(dir))
    };
    let store = crate::profile::open_store(&config).await?;
    println!("backend: {}", store.backend());

    for appenders in [1, 4, 8] {
        batch_appends(&store, args.events, appenders).await?;
    }
    single_appends(&store, args.single_appends, args.writers).await?;
    global_read(&store).await?;
    aggregate_load(&store, args.aggregate_events).await?;
    Ok(())
}

async fn batch_appends(store: &SharedStore, events: usize, appenders: usize) -> anyhow::Result<()> {
    let appends_each = events / 100 / appenders;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..appenders {
        let store = store.clone();
        let stream = stream("benchbatch")?;
        tasks.push(tokio::spawn(async move {
            for i in 0..appends_each {
                let batch = (0..100).map(|j| new_event(i * 100 + j)).collect();
                store.append(&stream, ExpectedVersion::Any, batch).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let total = appends_each * 100 * appenders;
    println!(
        "append, batches of 100, {appenders} appender(s): {total} events in {:.2?} = {:.0} events/s",
        started.elapsed(),
        rate(total, started.elapsed())
    );
    Ok(())
}

async fn single_appends(store: &SharedStore, total: usize, writers: usize) -> anyhow::Result<()> {
    let each = total / writers.max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        let stream = stream("benchsingle")?;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            for i in 0..each {
                let begun = Instant::now();
                store
                    .append(&stream, ExpectedVersion::Any, vec![new_event(i)])
                    .await?;
                latencies.push(begun.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "append, single durable events, {writers} writers: {} appends in {elapsed:.2?} = {:.0} appends/s (p50 {:.2?}, p99 {:.2?})",
        latencies.len(),
        rate(latencies.len(), elapsed),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
    Ok(())
}

async fn global_read(store: &SharedStore) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut after = None;
    let mut count = 0;
    loop {
        let page = store.read_all(after, 2000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        count += page.len();
    }
    println!(
        "read global log: {count} events in {:.2?} = {:.0} events/s",
        started.elapsed(),
        rate(count, started.elapsed())
    );
    Ok(())
}

async fn aggregate_load(store: &SharedStore, events: usize) -> anyhow::Result<()> {
    let id = Uuid::now_v7();
    let stream = StreamId::for_aggregate("organization", id)?;
    let encode = |event: OrganizationEvent| NewEvent {
        payload: event.encode(),
        ..new_event(0)
    };
    let mut history = vec![encode(OrganizationEvent::Registered {
        id,
        name: "Bench".to_owned(),
        slug: "bench".to_owned(),
    })];
    history.extend((1..events).map(|i| {
        encode(OrganizationEvent::Renamed {
            name: format!("Bench {i}"),
        })
    }));
    for chunk in history.chunks(1000) {
        store
            .append(&stream, ExpectedVersion::Any, chunk.to_vec())
            .await?;
    }
    let handler = CommandHandler::new(store.clone(), HandlerConfig::default());

    let started = Instant::now();
    let full = handler.load::<Organization>(&stream).await?;
    let replay = started.elapsed();

    let state = serde_json::to_vec(&full.state)?;
    store
        .save_snapshot(store::Snapshot {
            stream_id: stream.clone(),
            version: full.version,
            snapshot_version: <Organization as domain::Aggregate>::SNAPSHOT_VERSION,
            state,
        })
        .await?;
    // A snapshot every 100 events leaves at most 99 newer events to replay.
    let tail: Vec<NewEvent> = (0..99)
        .map(|i| {
            encode(OrganizationEvent::Renamed {
                name: format!("Tail {i}"),
            })
        })
        .collect();
    store.append(&stream, ExpectedVersion::Any, tail).await?;
    let loads = 200;
    let started = Instant::now();
    let mut loaded = None;
    for _ in 0..loads {
        loaded = Some(handler.load::<Organization>(&stream).await?);
    }
    let per_load = started.elapsed() / loads;
    let version = loaded.map(|l| l.version).unwrap_or_default();
    let check = store
        .read_stream(&stream, version, ReadBound::End, 1)
        .await?
        .len();
    println!(
        "load aggregate of {} events: full replay {replay:.2?}; through snapshot + 99 events {per_load:.2?} per load (version {version}, {check} tail event checked)",
        events + 99,
    );
    Ok(())
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("mirage-bench-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
