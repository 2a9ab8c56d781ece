//! Nothing acknowledged is ever lost: a child process appends with 32 concurrent tasks and is
//! killed with SIGKILL at a random moment; after a restart every acknowledged append is present,
//! no event is duplicated, no stream has a version gap and every hash chain verifies.
//!
//! 20 cycles per backend by default; `MIRAGE_CRASH_CYCLES=1000` for the long run.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use domain::StreamId;
use domain::hash_chain::ChainVerifier;
use rand::Rng;
use store::{ReadBound, SharedStore};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

struct Ack {
    stream: String,
    version: u64,
    ids: Vec<String>,
}

fn cycles() -> usize {
    std::env::var("MIRAGE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// Runs the child until a random moment after it is ready, kills it, returns what it acknowledged.
async fn run_and_kill(args: &[String]) -> Vec<Ack> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn crash-writer");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("child ready within 30 s")
        .expect("read child output");
    assert_eq!(ready.as_deref(), Some("READY"));
    let kill_after = Duration::from_millis(rand::rng().random_range(20..400));
    let reader = tokio::spawn(async move {
        let mut acks = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut parts = line.split(' ');
            if parts.next() != Some("ACK") {
                continue;
            }
            // A line cut by the kill is not an acknowledgement the child finished reporting.
            let (Some(stream), Some(version), Some(ids)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(version) = version.parse() else {
                continue;
            };
            acks.push(Ack {
                stream: stream.to_owned(),
                version,
                ids: ids.split(',').map(str::to_owned).collect(),
            });
        }
        acks
    });
    tokio::time::sleep(kill_after).await;
    child.start_kill().expect("SIGKILL the child");
    child.wait().await.expect("reap the child");
    reader.await.expect("reader task")
}

/// Checks the store after a crash against what the child acknowledged.
async fn verify(store: &SharedStore, acks: &[Ack]) -> usize {
    for ack in acks {
        let stream = StreamId::new(ack.stream.clone()).unwrap();
        let first = ack.version + 1 - ack.ids.len() as u64;
        let stored = store
            .read_stream(&stream, first, ReadBound::Version(ack.version), 10)
            .await
            .unwrap();
        let stored_ids: Vec<String> = stored.iter().map(|e| e.meta.event_id.to_string()).collect();
        assert_eq!(
            stored_ids, ack.ids,
            "acknowledged append to {} lost",
            ack.stream
        );
    }
    // PostgreSQL delivers events once no older transaction is open on the server, and the
    // killed child's sessions linger until the server notices; wait for the log to settle.
    let mut attempts = 0;
    loop {
        let (ids, versions) = read_and_verify_log(store).await;
        let mut settled = true;
        for writer in 0..32 {
            let name = format!("crash-{writer}");
            let stream = StreamId::new(name.clone()).unwrap();
            let delivered = versions.get(&name).copied().unwrap_or(0);
            settled &= store.stream_version(&stream).await.unwrap() == delivered;
        }
        attempts += 1;
        if settled {
            return ids;
        }
        assert!(
            attempts < 300,
            "the global log never caught up with the streams"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads the whole log once: every event unique, every chain intact.
async fn read_and_verify_log(store: &SharedStore) -> (usize, HashMap<String, u64>) {
    let mut verifier = ChainVerifier::new();
    let mut ids = HashSet::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut after = None;
    loop {
        let page = store.read_all(after, 2000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        for event in &page {
            assert!(
                ids.insert(event.meta.event_id),
                "duplicate event {}",
                event.meta.event_id
            );
            verifier
                .check(event)
                .unwrap_or_else(|fault| panic!("chain broken at {}: {fault}", event.position));
            versions.insert(event.stream_id.to_string(), event.version);
        }
    }
    (ids.len(), versions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_loses_nothing_acknowledged_across_kill_9() {
    let mut dir = tempfile::tempdir().unwrap();
    let mut total_acks = 0;
    for cycle in 0..cycles() {
        if cycle > 0 && cycle % 20 == 0 {
            dir = tempfile::tempdir().unwrap();
        }
        let args = vec!["sqlite".to_owned(), dir.path().display().to_string()];
        let acks = run_and_kill(&args).await;
        total_acks += acks.len();
        let store = tests::crash::open_store(&args).await;
        let events = verify(&store, &acks).await;
        assert!(events >= acks.len());
    }
    assert!(total_acks > 0, "the child never acknowledged an append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_loses_nothing_acknowledged_across_kill_9() {
    let db = tests::pg::fresh_database().await;
    let args = vec![
        "postgres".to_owned(),
        db.app_url.clone(),
        db.admin_url.clone(),
    ];
    let mut total_acks = 0;
    for _ in 0..cycles() {
        let acks = run_and_kill(&args).await;
        total_acks += acks.len();
        let store = tests::crash::open_store(&args).await;
        let events = verify(&store, &acks).await;
        assert!(events >= acks.len());
    }
    assert!(total_acks > 0, "the child never acknowledged an append");
    db.drop_database().await;
}
