//! Live scan events over the WebSocket, and scheduled runs with change detection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use modules::testing::http_site::{HttpSite, SiteSpec};
use serde_json::{Value, json};
use tests::app::TestApp;

use crate::scans::{START, all_findings, code, create_scan, loopback_app, project, wait_for};
use crate::ws::{connect, init, receive, send};

const SCAN_EVENTS: &str = "subscription ScanEvents($scanId: ID!) {
  scanEvents(scanId: $scanId) {
    __typename
    ... on FindingAdded { finding { id type value confidence module } }
    ... on ScanStatusChanged { status }
    ... on ScanProgress { completed total }
  }
}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_events_deliver_every_finding_status_change_and_progress() {
    let site = HttpSite::start(SiteSpec {
        pages: 10,
        ..SiteSpec::default()
    })
    .await;
    let app = loopback_app().await;
    let (admin, project_id) = project(&app, "live").await;
    let created = create_scan(
        &app,
        &admin,
        &project_id,
        json!([site.base_url().to_string()]),
        json!(["web_spider", "email_extract"]),
        json!({ "scope": ["example.com"] }),
    )
    .await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = connect(&app).await;
    assert_eq!(
        init(&mut socket, &admin).await.unwrap()["type"],
        "connection_ack"
    );
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SCAN_EVENTS, "variables": { "scanId": id } } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.graphql_as(&admin, START, json!({ "id": id })).await;
    let mut added = Vec::new();
    let mut statuses = Vec::new();
    let mut last_progress = Value::Null;
    loop {
        let message = receive(&mut socket).await.expect("a message");
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["scanEvents"];
        match event["__typename"].as_str().unwrap() {
            "FindingAdded" => added.push(event["finding"].clone()),
            "ScanProgress" => last_progress = event.clone(),
            "ScanStatusChanged" => {
                statuses.push(event["status"].as_str().unwrap().to_owned());
                if event["status"] == "FINISHED" {
                    break;
                }
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(statuses, ["RUNNING", "FINISHED"]);
    assert_eq!(
        last_progress["completed"], last_progress["total"],
        "{last_progress}"
    );
    // The read model catches up with the log the subscription reads from.
    wait_for(&app, &admin, &id, "FINISHED").await;
    let findings = all_findings(&app, &admin, &id, None).await;
    assert_eq!(
        added.len(),
        findings.len(),
        "every finding was delivered once"
    );
    assert!(
        added
            .iter()
            .any(|f| f["type"] == "EMAILADDR" && f["module"] == "email_extract")
    );
    app.stop().await;
}

/// A site whose home page lists two addresses that shift with every fetch: fetch `n` lists
/// `person-n` and `person-(n+1)`, so each run finds one new address and loses one.
async fn shifting_site() -> SocketAddr {
    let fetches = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            async move {
                axum::response::Html(format!(
                    "<html><body>person-{n}@example.com person-{}@example.com</body></html>",
                    n + 1
                ))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

const CREATE_SCHEDULED: &str = "mutation($projectId: ID!, $targets: [String!]!, $schedule: String) {
  createScan(input: { projectId: $projectId, name: \"nightly\", targets: $targets, modules: [\"web_spider\", \"email_extract\"], options: { scope: [\"example.com\"] }, schedule: $schedule }) { id schedule status }
}";

const RUNS: &str = "query($id: ID!) { scan(id: $id) { status run changes { newCount goneCount new { type value } gone { type value } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_record_what_is_new_and_what_disappeared() {
    let site = shifting_site().await;
    let app = TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8"),
        ("MIRAGE_SCHEDULER_TICK_MS", "200"),
    ])
    .await;
    let (admin, project_id) = project(&app, "sched").await;
    let targets = json!([format!("http://{site}/")]);
    for bad in ["every day", "61 * * * *", "* * * * * * *"] {
        let body = app
            .graphql_as(
                &admin,
                CREATE_SCHEDULED,
                json!({ "projectId": project_id, "targets": targets, "schedule": bad }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "schedule");
    }
    let created = app
        .graphql_as(
            &admin,
            CREATE_SCHEDULED,
            json!({ "projectId": project_id, "targets": targets, "schedule": "*/2 * * * * *" }),
        )
        .await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    // Nobody starts it: the scheduler does, run after run.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scan = loop {
        let body = app.graphql_as(&admin, RUNS, json!({ "id": id })).await;
        let scan = body["data"]["scan"].clone();
        if scan["status"] == "FINISHED" && scan["run"].as_u64().unwrap_or(0) >= 2 {
            break scan;
        }
        assert!(Instant::now() < deadline, "no second scheduled run: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Run r fetched the page for the (r-1)th time: it lists person-(r-1) and person-r.
    let run = scan["run"].as_u64().unwrap();
    let changes = &scan["changes"];
    let email = |n: u64| json!({ "type": "EMAILADDR", "value": format!("person-{n}@example.com") });
    assert!(
        changes["new"].as_array().unwrap().contains(&email(run)),
        "{changes}"
    );
    assert!(
        changes["gone"]
            .as_array()
            .unwrap()
            .contains(&email(run - 2)),
        "{changes}"
    );
    assert!(
        !changes["new"].as_array().unwrap().contains(&email(run - 1)),
        "kept is not new"
    );
    // The page content changed too; the seeds did not.
    assert_eq!(changes["newCount"], 2, "{changes}");
    assert_eq!(changes["goneCount"], 2, "{changes}");
    let findings = all_findings(&app, &admin, &id, Some("EMAILADDR")).await;
    assert_eq!(findings.len(), 2, "the current run's findings only");
    app.stop().await;
}
