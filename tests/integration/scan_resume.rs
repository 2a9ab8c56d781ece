//! Resume after a crash: the server is killed with SIGKILL in the middle of a scan, restarted on
//! the same data directory, and the scan continues from its events. Finished work is not redone
//! (each page is fetched again at most once, only when it was in flight at the kill) and no
//! finding is recorded twice; the result equals an uninterrupted scan of the same site.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use domain::EventCodec;
use domain::scan::FindingEvent;
use modules::testing::http_site::{HttpSite, SiteSpec, page_path};
use serde_json::{Value, json};
use store::{ReadBound, SharedStore};
use tests::app::{GraphqlClient, RemoteApp};
use tokio::process::{Child, Command};

use crate::scans::{START, all_findings, create_scan, loopback_app, project, wait_for};

const PAGES: usize = 150;
const CONCURRENCY: &str = "2";

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

fn spawn_server(dir: &std::path::Path, addr: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mirage-child"))
        .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
        .arg(dir)
        .env("MIRAGE_SIGNUP", "open")
        .env("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8")
        .env("MIRAGE_SCAN_CONCURRENCY", CONCURRENCY)
        .env("MIRAGE_LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mirage-child")
}

async fn kill_hard(child: &mut Child) {
    child.start_kill().expect("SIGKILL");
    let _ = child.wait().await;
}

fn keys(findings: &[Value]) -> HashSet<(String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap().to_owned(),
                f["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn scan_definition(site: &HttpSite) -> (Value, Value, Value) {
    (
        json!([site.base_url().to_string()]),
        json!(["web_spider", "email_extract", "phone_extract"]),
        json!({ "maxPages": 10000, "maxDepth": 20, "scope": ["example.com"] }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_killed_mid_run_resumes_without_redoing_work_or_duplicating_findings() {
    let site = HttpSite::start(SiteSpec {
        pages: PAGES,
        ..SiteSpec::default()
    })
    .await;
    let (targets, modules, options) = scan_definition(&site);

    // The reference: the same scan, never interrupted.
    let reference = {
        let app = loopback_app().await;
        let (admin, project_id) = project(&app, "control").await;
        let created = create_scan(
            &app,
            &admin,
            &project_id,
            targets.clone(),
            modules.clone(),
            options.clone(),
        )
        .await;
        let id = created["data"]["createScan"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.graphql_as(&admin, START, json!({ "id": id })).await;
        wait_for(&app, &admin, &id, "FINISHED").await;
        let findings = all_findings(&app, &admin, &id, None).await;
        app.stop().await;
        findings
    };
    let hits_before: HashMap<usize, u32> =
        (0..PAGES).map(|n| (n, site.hits(&page_path(n)))).collect();
    assert!(
        hits_before.values().all(|h| *h == 1),
        "the reference fetched every page once"
    );

    // The run under test: kill -9 once part of the site is fetched.
    let dir = tempfile::tempdir().unwrap();
    let addr = free_port();
    let mut child = spawn_server(dir.path(), addr);
    let remote = RemoteApp::new(addr);
    assert!(
        remote.wait_ready(Duration::from_secs(30)).await,
        "server ready"
    );
    let (admin, project_id) = project(&remote, "crash").await;
    let created = create_scan(&remote, &admin, &project_id, targets, modules, options).await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    remote.graphql_as(&admin, START, json!({ "id": id })).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let fetched = site.total_hits() - PAGES as u64;
        if fetched >= (PAGES / 3) as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "the scan never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill_hard(&mut child).await;
    let fetched_before_kill = site.total_hits() - PAGES as u64;
    assert!(
        fetched_before_kill < PAGES as u64,
        "killed mid-scan ({fetched_before_kill} of {PAGES} pages fetched)"
    );

    // Restart on the same data directory: the scan resumes by itself and finishes.
    let mut child = spawn_server(dir.path(), addr);
    assert!(
        remote.wait_ready(Duration::from_secs(30)).await,
        "server ready again"
    );
    let login = remote
        .graphql_as(
            "",
            "mutation Login($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }",
            json!({ "email": "admin@crash.test", "password": crate::identity_api::PASSWORD }),
        )
        .await;
    let admin = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = wait_for(&remote, &admin, &id, "FINISHED").await;
    assert_eq!(
        done["progress"]["completed"], done["progress"]["total"],
        "{done}"
    );
    let resumed = all_findings(&remote, &admin, &id, None).await;
    kill_hard(&mut child).await;

    // Same result as the uninterrupted scan, value for value.
    assert_eq!(resumed.len(), reference.len(), "same number of findings");
    assert_eq!(keys(&resumed), keys(&reference), "same findings");

    // Finished work was not redone: every page fetched once more (this run), and a second
    // extra time only if it was in flight when the process died.
    let refetched: Vec<usize> = (0..PAGES)
        .filter(|n| site.hits(&page_path(*n)) > hits_before[n] + 1)
        .collect();
    assert!(
        (0..PAGES).all(|n| site.hits(&page_path(n)) > hits_before[&n]),
        "every page fetched"
    );
    assert!(
        refetched.len() <= CONCURRENCY.parse::<usize>().unwrap(),
        "only work in flight at the kill is redone: {refetched:?}"
    );

    // The log itself: no finding twice, no work item completed twice.
    let store = tests::sqlite::open_existing(dir.path()).await;
    assert_log_is_clean(&store, &id).await;
}

async fn assert_log_is_clean(store: &SharedStore, scan_id: &str) {
    let stream = commands::scan::findings_stream(scan_id.parse().unwrap()).unwrap();
    let events = store
        .read_stream(&stream, 1, ReadBound::End, 1_000_000)
        .await
        .unwrap();
    let mut values = HashSet::new();
    let mut work = HashSet::new();
    for recorded in &events {
        match FindingEvent::decode(&recorded.payload).unwrap() {
            FindingEvent::Recorded(finding) => {
                assert!(
                    values.insert((finding.run, finding.kind.clone(), finding.value.clone())),
                    "finding recorded twice: {} {}",
                    finding.kind,
                    finding.value
                );
            }
            FindingEvent::WorkCompleted { items, .. } => {
                for item in items {
                    assert!(
                        work.insert((item.module.clone(), item.input)),
                        "work item completed twice: {} {}",
                        item.module,
                        item.input
                    );
                }
            }
        }
    }
    assert!(!values.is_empty() && !work.is_empty());
}
