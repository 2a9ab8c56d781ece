//! The scan benchmark: runs the `mirage` server as a child process (`mirage-child`, built next to
//! this binary) and measures, against servers on loopback started here:
//!
//! 1. web spider + all extractors over a generated site of `--pages` pages (pages/s);
//! 2. DNS brute force of `--words` names against a local authoritative server (names/s);
//! 3. a scan producing `--findings` findings (brute force + DNS resolution), sampling the
//!    server's resident memory as the scan grows, and its peak.
//!
//! Usage: `bench-scan [--pages 1200] [--words 20000] [--findings 100000]` (build with --release).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use modules::testing::fast_dns::{FastDnsServer, numbered_zone};
use modules::testing::http_site::{HttpSite, SiteSpec};
use serde_json::{Value, json};
use tests::app::{GraphqlClient, RemoteApp};
use tests::scan_client::{START, create_scan, project, wait_for_within};
use tokio::process::{Child, Command};

struct Args {
    pages: usize,
    words: usize,
    findings: usize,
}

fn args() -> Args {
    let mut args = Args {
        pages: 1200,
        words: 20_000,
        findings: 100_000,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--pages", Some(v)) => args.pages = v,
            ("--words", Some(v)) => args.words = v,
            ("--findings", Some(v)) => args.findings = v,
            _ => {
                eprintln!("usage: bench-scan [--pages N] [--words N] [--findings N]");
                std::process::exit(2);
            }
        }
    }
    args
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

fn spawn_server(dir: &Path, addr: SocketAddr) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    let child = exe.with_file_name("mirage-child");
    Command::new(child)
        .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
        .arg(dir)
        .env("MIRAGE_SIGNUP", "open")
        .env("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8")
        .env("MIRAGE_SCAN_CONCURRENCY", "64")
        .env("MIRAGE_MAX_BODY_BYTES", "16777216")
        .env("MIRAGE_LOG_LEVEL", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mirage-child (build it with the same profile)")
}

/// (current, peak) resident set of a process, in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn run_scan(
    remote: &RemoteApp,
    token: &str,
    project_id: &str,
    targets: Value,
    modules: Value,
    options: Value,
) -> (String, Duration, Value) {
    let created = create_scan(remote, token, project_id, targets, modules, options).await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let started = Instant::now();
    remote.graphql_as(token, START, json!({ "id": id })).await;
    let done = wait_for_within(remote, token, &id, "FINISHED", Duration::from_secs(1800)).await;
    (id, started.elapsed(), done)
}

/// The scan's own `startedAt` to `finishedAt`, as the server recorded them.
fn server_duration(done: &Value) -> Duration {
    let at = |field: &str| {
        done[field]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (at("startedAt"), at("finishedAt")) {
        (Some(start), Some(end)) => (end - start).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

async fn count_of(remote: &RemoteApp, token: &str, id: &str, kind: &str) -> u64 {
    let body = remote
        .graphql_as(
            token,
            "query Count($scanId: ID!, $type: String) { findings(scanId: $scanId, type: $type, first: 1) { totalCount } }",
            json!({ "scanId": id, "type": kind }),
        )
        .await;
    body["data"]["findings"]["totalCount"].as_u64().unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = free_port();
    let mut child = spawn_server(dir.path(), addr);
    let pid = child.id().expect("child pid");
    let remote = RemoteApp::new(addr);
    assert!(
        remote.wait_ready(Duration::from_secs(60)).await,
        "server ready"
    );
    let (token, project_id) = project(&remote, "bench").await;

    // 1. Spider + extractors.
    let site = HttpSite::start(SiteSpec {
        pages: args.pages,
        ..SiteSpec::default()
    })
    .await;
    let (id, elapsed, done) = run_scan(
        &remote,
        &token,
        &project_id,
        json!([site.base_url().to_string()]),
        json!([
            "web_spider",
            "email_extract",
            "phone_extract",
            "hostname_extract",
            "tech_fingerprint",
            "forms_extract",
            "analytics_ids",
            "crypto_hashes"
        ]),
        json!({ "maxPages": 1_000_000, "maxDepth": 100, "scope": ["example.com"] }),
    )
    .await;
    let pages = count_of(&remote, &token, &id, "TARGET_WEB_CONTENT").await;
    println!(
        "spider+extractors: {pages} pages, {} findings, {} work items in {:.2?} = {:.0} pages/s",
        done["findingCount"],
        done["progress"]["completed"],
        elapsed,
        pages as f64 / elapsed.as_secs_f64()
    );

    // 2. DNS brute force: one name in ten exists.
    let (mut records, words) = numbered_zone("brute.test", args.words);
    records.retain(|name, _| {
        name.trim_start_matches('n')
            .split('.')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n % 10 == 0)
    });
    let existing = records.len();
    let dns = FastDnsServer::start(records);
    let (id, elapsed, done) = run_scan(
        &remote,
        &token,
        &project_id,
        json!(["brute.test"]),
        json!(["dns_bruteforce"]),
        json!({
            "resolvers": [dns.addr.to_string()],
            "dns_bruteforce": { "words": words, "wordlist_size": 0, "concurrency": 512 }
        }),
    )
    .await;
    let found = count_of(&remote, &token, &id, "INTERNET_NAME").await;
    let server_side = server_duration(&done);
    println!(
        "dns brute force: {} names in {:.2?} = {:.0} names/s; startedAt to finishedAt {:.2?} = {:.0} names/s ({found} host names found, {existing} exist, plus the target)",
        words.len(),
        elapsed,
        words.len() as f64 / elapsed.as_secs_f64(),
        server_side,
        words.len() as f64 / server_side.as_secs_f64(),
    );

    // 3. Memory on a big scan: every word exists with its own address, every name is resolved.
    let (records, words) = numbered_zone("big.test", args.findings / 2);
    let dns = FastDnsServer::start(records);
    let created = create_scan(
        &remote,
        &token,
        &project_id,
        json!(["big.test"]),
        json!(["dns_bruteforce", "dns_resolve"]),
        json!({
            "resolvers": [dns.addr.to_string()],
            "dns_bruteforce": { "words": words, "wordlist_size": 0, "concurrency": 512 }
        }),
    )
    .await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    remote.graphql_as(&token, START, json!({ "id": id })).await;
    println!("memory: seconds, findings, work items done/known, server RSS MiB");
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let body = remote
            .graphql_as(
                &token,
                "query S($id: ID!) { scan(id: $id) { status findingCount progress { completed total } } }",
                json!({ "id": id }),
            )
            .await;
        let scan = &body["data"]["scan"];
        let (rss, _) = rss_mib(pid);
        println!(
            "memory: {:>5.0} s {:>8} findings {:>8}/{:<8} work {:>7.1} MiB",
            started.elapsed().as_secs_f64(),
            scan["findingCount"],
            scan["progress"]["completed"],
            scan["progress"]["total"],
            rss
        );
        if scan["status"] != "RUNNING" {
            break;
        }
    }
    let (rss, peak) = rss_mib(pid);
    println!("memory: final RSS {rss:.1} MiB, peak RSS {peak:.1} MiB");
    let _ = child.start_kill();
    let _ = child.wait().await;
}
