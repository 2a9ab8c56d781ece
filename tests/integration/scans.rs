//! Scans end to end through GraphQL, against real servers on loopback: lifecycle, findings,
//! pagination, false positives, time travel, bad input, the egress guard, RBAC.

use std::time::Duration;

use modules::testing::http_site::{HttpSite, SiteSpec};
use serde_json::{Value, json};
use tests::app::TestApp;
pub(crate) use tests::scan_client::{
    CREATE_SCAN, FINDINGS, SCAN, START, all_findings, code, create_scan, project, run_to_end,
    wait_for,
};

use crate::identity_api::{PASSWORD, create_user, login, token};

const PAUSE: &str = "mutation PauseScan($id: ID!) { pauseScan(id: $id) { id status } }";
const RESUME: &str = "mutation ResumeScan($id: ID!) { resumeScan(id: $id) { id status } }";
const STOP: &str = "mutation StopScan($id: ID!) { stopScan(id: $id) { id status } }";
const MARK: &str = "mutation MarkFalsePositive($id: ID!, $value: Boolean!) { markFalsePositive(findingId: $id, value: $value) { id falsePositive } }";
const MODULES: &str =
    "query Modules { modules { id name description consumes produces passive version } }";

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("")
}

pub(crate) async fn loopback_app() -> TestApp {
    TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8,::1/128"),
    ])
    .await
}

/// Registers an organization with a team and a project; returns (admin token, project id).
fn values(findings: &[Value], kind: &str) -> Vec<String> {
    let mut values: Vec<String> = findings
        .iter()
        .filter(|f| f["type"] == kind)
        .map(|f| f["value"].as_str().unwrap().to_owned())
        .collect();
    values.sort();
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_spiders_a_loopback_site_and_records_findings_as_events() {
    let site = HttpSite::start(SiteSpec {
        pages: 40,
        ..SiteSpec::default()
    })
    .await;
    let app = loopback_app().await;
    let (admin, project_id) = project(&app, "acme").await;
    let created = create_scan(
        &app,
        &admin,
        &project_id,
        json!([site.base_url().to_string()]),
        json!(["web_spider", "email_extract", "phone_extract"]),
        json!({ "maxPages": 1000, "maxDepth": 10, "scope": ["example.com"] }),
    )
    .await;
    let scan = &created["data"]["createScan"];
    assert_eq!(scan["status"], "CREATED", "{created}");
    assert_eq!(
        scan["modules"],
        json!(["email_extract", "phone_extract", "web_spider"])
    );
    let id = scan["id"].as_str().unwrap().to_owned();
    let before_start = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = app.graphql_as(&admin, START, json!({ "id": id })).await;
    assert_eq!(
        started["data"]["startScan"]["status"], "RUNNING",
        "{started}"
    );
    let done = wait_for(&app, &admin, &id, "FINISHED").await;
    assert!(
        done["startedAt"].is_string() && done["finishedAt"].is_string(),
        "{done}"
    );
    let progress = &done["progress"];
    assert_eq!(progress["completed"], progress["total"], "{done}");
    assert!(progress["total"].as_u64().unwrap() >= 40 * 3, "{done}");

    let findings = all_findings(&app, &admin, &id, None).await;
    assert_eq!(
        done["findingCount"].as_u64().unwrap() as usize,
        findings.len()
    );
    // Every page was fetched exactly once and every one is a finding.
    let pages = values(&findings, "TARGET_WEB_CONTENT").len();
    assert!(
        pages >= 40,
        "one content finding per page and text file: {pages}"
    );
    for n in 0..40 {
        let path = modules::testing::http_site::page_path(n);
        assert_eq!(site.hits(&path), 1, "{path} fetched once");
    }
    let emails = values(&findings, "EMAILADDR");
    assert!(
        emails.iter().any(|e| e == "contact-0@example.com"),
        "{emails:?}"
    );
    let phones = values(&findings, "PHONE_NUMBER");
    assert!(
        !phones.is_empty() && phones.iter().all(|p| p.starts_with('+')),
        "{phones:?}"
    );
    // De-duplication per (type, value).
    let mut keys: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap().to_owned(),
                f["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let count = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), count, "no duplicate findings");

    // Provenance: every non-seed finding names its parent and module.
    let scan = app.graphql_as(&admin, SCAN, json!({ "id": id })).await;
    let nodes = scan["data"]["scan"]["findings"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let email = nodes
        .iter()
        .find(|f| f["type"] == "EMAILADDR")
        .expect("an e-mail among the first 500");
    assert_eq!(email["module"], "email_extract");
    let parent = email["parentId"].as_str().unwrap();
    let parent = nodes
        .iter()
        .find(|f| f["id"] == parent)
        .expect("parent listed");
    assert_eq!(parent["type"], "TARGET_WEB_CONTENT");
    let seed = nodes
        .iter()
        .find(|f| f["module"] == "target")
        .expect("seed");
    assert!(seed["parentId"].is_null());

    // Type filter.
    let only_emails = all_findings(&app, &admin, &id, Some("EMAILADDR")).await;
    assert_eq!(only_emails.len(), emails.len());
    let bad_type = app
        .graphql_as(&admin, FINDINGS, json!({ "scanId": id, "type": "NOPE" }))
        .await;
    assert_eq!(
        (code(&bad_type), field(&bad_type)),
        ("BAD_USER_INPUT", "type")
    );
    let bad_cursor = app
        .graphql_as(
            &admin,
            FINDINGS,
            json!({ "scanId": id, "after": "garbage" }),
        )
        .await;
    assert_eq!(
        (code(&bad_cursor), field(&bad_cursor)),
        ("BAD_USER_INPUT", "after")
    );

    // False positives are events; time travel shows the scan before it started.
    let email_id = email["id"].as_str().unwrap();
    let marked = app
        .graphql_as(&admin, MARK, json!({ "id": email_id, "value": true }))
        .await;
    assert_eq!(
        marked["data"]["markFalsePositive"]["falsePositive"], true,
        "{marked}"
    );
    let after_mark = app.graphql_as(&admin, SCAN, json!({ "id": id })).await;
    let again = after_mark["data"]["scan"]["findings"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == email_id)
        .unwrap()
        .clone();
    assert_eq!(again["falsePositive"], true);
    let past = app
        .graphql_as(
            &admin,
            SCAN,
            json!({ "id": id, "asOf": before_start.to_rfc3339() }),
        )
        .await;
    assert_eq!(past["data"]["scan"]["status"], "CREATED", "{past}");
    assert_eq!(past["data"]["scan"]["findingCount"], 0);
    let missing = app
        .graphql_as(
            &admin,
            MARK,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "value": true }),
        )
        .await;
    assert_eq!(code(&missing), "NOT_FOUND");

    // Operators see the work in Prometheus metrics.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = |prefix: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert_eq!(
        line("mirage_scan_findings_total") as usize,
        findings.len(),
        "{metrics}"
    );
    assert!(line("mirage_scan_work_items_total{module=\"web_spider\",outcome=\"ok\"}") >= 40.0);
    assert_eq!(line("mirage_scans_running"), 0.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_scan_input_names_the_field_and_records_nothing() {
    let app = loopback_app().await;
    let (admin, project_id) = project(&app, "bad").await;
    let cases = [
        (
            json!(["exa mple.com"]),
            json!(["dns_resolve"]),
            Value::Null,
            "targets[0]",
        ),
        (
            json!(["example.com", "10.0.0.0/8"]),
            json!(["dns_resolve"]),
            Value::Null,
            "targets[1]",
        ),
        (
            json!(["ftp://example.com"]),
            json!(["dns_resolve"]),
            Value::Null,
            "targets[0]",
        ),
        (json!([]), json!(["dns_resolve"]), Value::Null, "targets"),
        (
            json!(["example.com"]),
            json!(["nope"]),
            Value::Null,
            "modules[0]",
        ),
        (json!(["example.com"]), json!([]), Value::Null, "modules"),
        (
            json!(["example.com"]),
            json!(["dns_resolve"]),
            json!({ "ports": [80, "x"] }),
            "options.ports[1]",
        ),
        (
            json!(["example.com"]),
            json!(["dns_resolve"]),
            json!({ "maxPages": -1 }),
            "options.maxPages",
        ),
        (
            json!(["example.com"]),
            json!(["dns_resolve"]),
            json!({ "resolvers": "1.1.1.1" }),
            "options.resolvers",
        ),
        (
            json!(["example.com"]),
            json!(["dns_resolve"]),
            json!({ "bogus": 1 }),
            "options.bogus",
        ),
        (
            json!(["example.com"]),
            json!(["dns_resolve"]),
            json!({ "scope": ["gopher://x"] }),
            "options.scope[0]",
        ),
    ];
    for (targets, modules, options, expected) in cases {
        let body = create_scan(&app, &admin, &project_id, targets.clone(), modules, options).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{targets}: {body}");
        assert_eq!(field(&body), expected, "{body}");
    }
    let long_name = app
        .graphql_as(
            &admin,
            CREATE_SCAN,
            json!({ "projectId": project_id, "name": "", "targets": ["example.com"], "modules": ["dns_resolve"] }),
        )
        .await;
    assert_eq!(
        (code(&long_name), field(&long_name)),
        ("BAD_USER_INPUT", "name")
    );
    let scans = app.graphql_as(&admin, "{ scans { id } }", json!({})).await;
    assert_eq!(scans["data"]["scans"], json!([]), "nothing was recorded");
    let unknown_project = create_scan(
        &app,
        &admin,
        &uuid::Uuid::now_v7().to_string(),
        json!(["example.com"]),
        json!(["dns_resolve"]),
        Value::Null,
    )
    .await;
    assert_eq!(code(&unknown_project), "NOT_FOUND");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_moves_are_checked_and_pause_holds_work() {
    let site = HttpSite::start(SiteSpec {
        pages: 300,
        ..SiteSpec::default()
    })
    .await;
    let app = TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8"),
        ("MIRAGE_SCAN_CONCURRENCY", "1"),
    ])
    .await;
    let (admin, project_id) = project(&app, "life").await;
    let created = create_scan(
        &app,
        &admin,
        &project_id,
        json!([site.base_url().to_string()]),
        json!(["web_spider"]),
        json!({ "maxPages": 1000, "maxDepth": 10 }),
    )
    .await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (document, name) in [
        (PAUSE, "pauseScan"),
        (RESUME, "resumeScan"),
        (STOP, "stopScan"),
    ] {
        let body = app.graphql_as(&admin, document, json!({ "id": id })).await;
        assert_eq!(code(&body), "CONFLICT", "{name} on a created scan: {body}");
    }
    app.graphql_as(&admin, START, json!({ "id": id })).await;
    let again = app.graphql_as(&admin, START, json!({ "id": id })).await;
    assert_eq!(code(&again), "CONFLICT");
    let paused = app.graphql_as(&admin, PAUSE, json!({ "id": id })).await;
    assert_eq!(paused["data"]["pauseScan"]["status"], "PAUSED", "{paused}");
    // Work in flight finishes; then nothing more is fetched while paused.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits = site.total_hits();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(site.total_hits(), hits, "a paused scan fetches nothing");
    let resumed = app.graphql_as(&admin, RESUME, json!({ "id": id })).await;
    assert_eq!(
        resumed["data"]["resumeScan"]["status"], "RUNNING",
        "{resumed}"
    );
    let stopped = app.graphql_as(&admin, STOP, json!({ "id": id })).await;
    assert_eq!(
        stopped["data"]["stopScan"]["status"], "STOPPED",
        "{stopped}"
    );
    let scan = wait_for(&app, &admin, &id, "STOPPED").await;
    assert!(scan["finishedAt"].is_string());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hits = site.total_hits();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(site.total_hits(), hits, "a stopped scan fetches nothing");
    assert!(hits < 300, "stopped before the end ({hits} fetches)");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allow_list_loopback_targets_are_refused_and_the_scan_goes_on() {
    let site = HttpSite::start(SiteSpec {
        pages: 5,
        ..SiteSpec::default()
    })
    .await;
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let (admin, project_id) = project(&app, "egress").await;
    let (id, done) = run_to_end(
        &app,
        &admin,
        &project_id,
        json!([
            site.base_url().to_string(),
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/"
        ]),
        json!(["web_spider"]),
        Value::Null,
    )
    .await;
    assert_eq!(site.total_hits(), 0, "nothing reached the loopback site");
    let findings = all_findings(&app, &admin, &id, None).await;
    // Only the seeds: the address and the three URLs (the decimal and IPv4-mapped spellings
    // are the same loopback address, in canonical form).
    assert_eq!(findings.len(), 4, "{findings:?}");
    assert!(
        findings
            .iter()
            .all(|f| f["type"] == "IP_ADDRESS" || f["type"] == "LINKED_URL_INTERNAL"),
        "{findings:?}"
    );
    assert!(values(&findings, "LINKED_URL_INTERNAL").contains(&"http://127.0.0.1/".to_owned()));
    assert_eq!(done["progress"]["completed"], done["progress"]["total"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_are_listed_and_scans_follow_rbac() {
    let app = loopback_app().await;
    let (admin, project_id) = project(&app, "rbac").await;
    let modules = app.graphql_as(&admin, MODULES, json!({})).await;
    let list = modules["data"]["modules"]
        .as_array()
        .unwrap_or_else(|| panic!("{modules}"));
    assert!(list.len() >= 20, "{} modules", list.len());
    let spider = list.iter().find(|m| m["id"] == "web_spider").unwrap();
    assert_eq!(spider["consumes"], json!(["LINKED_URL_INTERNAL"]));
    assert_eq!(spider["passive"], false);
    let created = create_scan(
        &app,
        &admin,
        &project_id,
        json!(["example.com"]),
        json!(["dns_resolve"]),
        Value::Null,
    )
    .await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    // A read-only user of the organization who is not in the team cannot see the scan.
    create_user(&app, &admin, "viewer@rbac.test", "READ_ONLY").await;
    let viewer = token(&login(&app, "viewer@rbac.test", PASSWORD).await);
    let seen = app.graphql_as(&viewer, SCAN, json!({ "id": id })).await;
    assert_eq!(code(&seen), "FORBIDDEN", "{seen}");
    let start = app.graphql_as(&viewer, START, json!({ "id": id })).await;
    assert!(matches!(code(&start), "FORBIDDEN"), "{start}");
    // Another organization's admin gets NOT_FOUND, like a missing scan.
    let (other, _) = project(&app, "other").await;
    for document in [SCAN, START, STOP] {
        let body = app.graphql_as(&other, document, json!({ "id": id })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
    }
    let findings = app
        .graphql_as(&other, FINDINGS, json!({ "scanId": id }))
        .await;
    assert_eq!(code(&findings), "NOT_FOUND");
    let anonymous = app.graphql_as("", MODULES, json!({})).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    app.stop().await;
}

/// The distributed profile: the same scan on a PostgreSQL event store with PostgreSQL read
/// models.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_runs_the_same_on_postgres() {
    let site = HttpSite::start(SiteSpec {
        pages: 15,
        ..SiteSpec::default()
    })
    .await;
    let store_db = tests::pg::fresh_database().await;
    let read_db = tests::pg::fresh_database().await;
    let app = TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8"),
        ("MIRAGE_PROFILE", "distributed"),
        ("MIRAGE_STORE_KIND", "postgres"),
        ("MIRAGE_STORE_URL", &store_db.app_url),
        ("MIRAGE_STORE_ADMIN_URL", &store_db.admin_url),
        ("MIRAGE_STORE_APP_ROLE", tests::pg::APP_ROLE),
        ("MIRAGE_READ_MODELS_URL", &read_db.admin_url),
    ])
    .await;
    let (admin, project_id) = project(&app, "pg").await;
    let (id, done) = run_to_end(
        &app,
        &admin,
        &project_id,
        json!([site.base_url().to_string()]),
        json!(["web_spider", "email_extract"]),
        json!({ "scope": ["example.com"] }),
    )
    .await;
    assert_eq!(done["progress"]["completed"], done["progress"]["total"]);
    let findings = all_findings(&app, &admin, &id, None).await;
    assert!(values(&findings, "TARGET_WEB_CONTENT").len() >= 15);
    assert!(values(&findings, "EMAILADDR").contains(&"contact-0@example.com".to_owned()));
    app.stop().await;
    store_db.drop_database().await;
    read_db.drop_database().await;
}

/// Hostile servers (endless redirects, a 1 GB body, slowloris, garbage, a header bomb,
/// redirects to the metadata address) make module failures, logged and recorded; the scan goes
/// on, finishes, and still collects from the well-behaved site next to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_are_module_failures_and_the_scan_goes_on() {
    use modules::testing::hostile_http::HostileHttp;
    let hostile = HostileHttp::start().await;
    let site = HttpSite::start(SiteSpec {
        pages: 5,
        ..SiteSpec::default()
    })
    .await;
    let app = loopback_app().await;
    let (admin, project_id) = project(&app, "hostile").await;
    let mut targets: Vec<String> = [
        "/loop",
        "/huge",
        "/slow",
        "/slow-head",
        "/stall",
        "/garbage",
        "/headers",
        "/bad-status",
        "/not-http",
        "/metadata",
        "/file",
    ]
    .iter()
    .map(|path| hostile.url(path).to_string())
    .collect();
    targets.push(site.base_url().to_string());
    let (id, done) = run_to_end(
        &app,
        &admin,
        &project_id,
        json!(targets),
        json!(["web_spider", "email_extract"]),
        json!({ "timeoutMs": 1000, "scope": ["example.com"] }),
    )
    .await;
    assert_eq!(done["progress"]["completed"], done["progress"]["total"]);
    let findings = all_findings(&app, &admin, &id, None).await;
    assert!(
        values(&findings, "EMAILADDR").contains(&"contact-0@example.com".to_owned()),
        "the well-behaved site was still scanned"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failures = metrics
        .lines()
        .find(|l| {
            l.starts_with("mirage_scan_work_items_total{module=\"web_spider\",outcome=\"error\"}")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        failures >= 5.0,
        "hostile answers are recorded failures: {failures}\n{metrics}"
    );
    app.stop().await;
}

/// A run that cannot even begin (here: its module is not in this build's registry any more)
/// ends FAILED with the reason named, instead of hanging in RUNNING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_start_fails_with_its_reason() {
    use commands::scan::{RuntimeConfig, ScanRuntime};
    use commands::{CommandHandler, HandlerConfig};
    use domain::scan::{Scan, ScanCommand, ScanDefinition, ScanStatus};
    let store = tests::sqlite::sqlite_store().await;
    let handler = CommandHandler::new(store.store.clone(), HandlerConfig::default());
    let runtime = ScanRuntime::new(
        handler.clone(),
        modules::Registry::new(Vec::new()),
        RuntimeConfig::default(),
    );
    let scan_id = uuid::Uuid::now_v7();
    let stream = commands::scan::scan_stream(scan_id).unwrap();
    let context = domain::CommandContext::system(chrono::Utc::now());
    let create = ScanCommand::Create(ScanDefinition {
        scan_id,
        organization_id: uuid::Uuid::now_v7(),
        project_id: uuid::Uuid::now_v7(),
        team_id: uuid::Uuid::now_v7(),
        name: "orphan".into(),
        targets: vec!["example.com".into()],
        modules: vec!["retired_module".into()],
        options: "{}".into(),
        schedule: None,
    });
    handler
        .execute::<Scan>(&stream, create, &context)
        .await
        .unwrap();
    handler
        .execute::<Scan>(&stream, ScanCommand::Start, &context)
        .await
        .unwrap();
    runtime.launch(scan_id);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = runtime.scan_state(scan_id).await.unwrap();
        if state.status == ScanStatus::Failed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {:?}",
            state.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events = store
        .store
        .read_stream(&stream, 1, store::ReadBound::End, 100)
        .await
        .unwrap();
    let failed = events.last().unwrap();
    assert_eq!(failed.payload.event_type, "ScanFailed");
    let reason = String::from_utf8_lossy(&failed.payload.data).to_string();
    assert!(
        reason.contains("modules[0]") && reason.contains("retired_module"),
        "{reason}"
    );
}

/// The event store goes away in the middle of a scan (every PostgreSQL connection cut, new
/// ones refused) and comes back: the scan waits for it and finishes with every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_waits_out_an_event_store_outage() {
    use tests::pg::{APP_ROLE, TcpProxy, fresh_database, server_addr, with_parts};
    const PAGES: usize = 120;
    let site = HttpSite::start(SiteSpec {
        pages: PAGES,
        ..SiteSpec::default()
    })
    .await;
    let store_db = fresh_database().await;
    let read_db = fresh_database().await;
    let proxy = TcpProxy::start(server_addr().await).await;
    let through_proxy = with_parts(
        &store_db.app_url,
        None,
        Some(&proxy.addr().to_string()),
        &store_db.name,
    );
    let app = TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_EGRESS_ALLOW", "127.0.0.0/8"),
        ("MIRAGE_SCAN_CONCURRENCY", "2"),
        ("MIRAGE_PROFILE", "distributed"),
        ("MIRAGE_STORE_KIND", "postgres"),
        ("MIRAGE_STORE_URL", &through_proxy),
        ("MIRAGE_STORE_ADMIN_URL", &store_db.admin_url),
        ("MIRAGE_STORE_APP_ROLE", APP_ROLE),
        ("MIRAGE_READ_MODELS_URL", &read_db.admin_url),
    ])
    .await;
    let (admin, project_id) = project(&app, "outage").await;
    let created = create_scan(
        &app,
        &admin,
        &project_id,
        json!([site.base_url().to_string()]),
        json!(["web_spider"]),
        json!({ "maxDepth": 20 }),
    )
    .await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    app.graphql_as(&admin, START, json!({ "id": id })).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while site.total_hits() < (PAGES / 4) as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scan never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = site.total_hits();
    assert!(
        during < PAGES as u64,
        "the outage began mid-scan ({during} fetches)"
    );
    proxy.restore();
    let done = wait_for(&app, &admin, &id, "FINISHED").await;
    assert_eq!(
        done["progress"]["completed"], done["progress"]["total"],
        "{done}"
    );
    for n in 0..PAGES {
        let path = modules::testing::http_site::page_path(n);
        assert!(site.hits(&path) >= 1, "{path} was fetched");
    }
    let findings = all_findings(&app, &admin, &id, Some("TARGET_WEB_CONTENT")).await;
    assert!(findings.len() >= PAGES, "{} pages recorded", findings.len());
    app.stop().await;
    store_db.drop_database().await;
    read_db.drop_database().await;
}

/// Several scans run at once in one server, each with several targets, and each ends with its
/// own findings only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_run_side_by_side_with_many_targets() {
    let sites = [
        HttpSite::start(SiteSpec {
            pages: 8,
            domain: "one.example".into(),
            ..SiteSpec::default()
        })
        .await,
        HttpSite::start(SiteSpec {
            pages: 8,
            domain: "two.example".into(),
            ..SiteSpec::default()
        })
        .await,
        HttpSite::start(SiteSpec {
            pages: 8,
            domain: "three.example".into(),
            ..SiteSpec::default()
        })
        .await,
    ];
    let app = loopback_app().await;
    let (admin, project_id) = project(&app, "parallel").await;
    let mut ids = Vec::new();
    for (first, second, domain) in [
        (0, 1, "one.example"),
        (1, 2, "two.example"),
        (2, 0, "three.example"),
    ] {
        let created = create_scan(
            &app,
            &admin,
            &project_id,
            json!([
                sites[first].base_url().to_string(),
                sites[second].base_url().to_string()
            ]),
            json!(["web_spider", "email_extract"]),
            json!({ "scope": [domain] }),
        )
        .await;
        ids.push(
            created["data"]["createScan"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for id in &ids {
        app.graphql_as(&admin, START, json!({ "id": id })).await;
    }
    for (id, domain) in ids
        .iter()
        .zip(["one.example", "two.example", "three.example"])
    {
        let done = wait_for(&app, &admin, id, "FINISHED").await;
        assert_eq!(done["progress"]["completed"], done["progress"]["total"]);
        let findings = all_findings(&app, &admin, id, None).await;
        assert!(
            values(&findings, "TARGET_WEB_CONTENT").len() >= 16,
            "both targets crawled"
        );
        let emails = values(&findings, "EMAILADDR");
        assert!(
            emails.contains(&format!("contact-0@{domain}")),
            "{emails:?}"
        );
        assert!(
            emails.iter().all(|e| e.ends_with(domain)),
            "only this scan's scope is EMAILADDR: {emails:?}"
        );
    }
    app.stop().await;
}
