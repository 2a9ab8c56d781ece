//! The `mirage` server as operators and clients meet it: health, readiness, metrics, GraphQL,
//! limits, and clear errors for a bad data directory. A real server on 127.0.0.1:0.

use api::config::{Config, Overrides};
use clap::{CommandFactory, Parser};
use store::StoreError;
use tests::app::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_metrics() {
    let app = TestApp::spawn(&[]).await;
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({ "status": "ok" })
    );
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("mirage_projection_lag{projection=\"organizations\"} 0"),
        "{text}"
    );
    assert!(
        text.contains(
            "mirage_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"
        ),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_serves_and_is_closed_by_default() {
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let server_info = "{ serverInfo { version profile storeBackend headPosition } }";
    let (status, body) = app.graphql(server_info, serde_json::json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "the log's head is not told to anonymous callers: {body}"
    );
    let (_, registered) = app
        .graphql(
            "mutation { registerOrganization(input: { organizationName: \"Serve\", email: \"admin@serve.test\", password: \"correct horse battery staple\", displayName: \"A\" }) { accessToken } }",
            serde_json::json!({}),
        )
        .await;
    let token = registered["data"]["registerOrganization"]["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let body = app
        .graphql_as(&token, server_info, serde_json::json!({}))
        .await;
    assert_eq!(body["data"]["serverInfo"]["profile"], "embedded", "{body}");
    assert_eq!(body["data"]["serverInfo"]["storeBackend"], "sqlite");
    assert!(body["data"]["serverInfo"]["headPosition"].is_string());

    let (_, introspection) = app
        .graphql("{ __schema { types { name } } }", serde_json::json!({}))
        .await;
    assert!(
        introspection["data"]["__schema"].is_null(),
        "{introspection}"
    );

    let get = app
        .client
        .get(app.url("/graphql?query=%7BserverInfo%7Bversion%7D%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405, "no GraphQL over GET");

    let huge = "x".repeat(300 * 1024);
    let too_large = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(format!("{{\"query\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn a_data_dir_that_cannot_be_created_is_named() {
    let config = Config::load(
        None,
        &Default::default(),
        &Overrides {
            data_dir: Some("/proc/mirage-cannot-live-here".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let error = api::server::build_state(config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("/proc/mirage-cannot-live-here"), "{error}");
    assert!(error.contains("cannot create"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(
        None,
        &Default::default(),
        &Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let first = api::server::build_state(config.clone()).await.unwrap();
    let second = api::profile::open_store(&config).await.err().unwrap();
    assert!(matches!(
        second,
        api::profile::OpenError::Store(StoreError::Locked { .. })
    ));
    assert!(
        second
            .to_string()
            .contains("locked by another mirage process")
    );
    drop(first);
}

#[tokio::test]
async fn a_missing_or_wrong_data_dir_is_a_store_error() {
    use store::sqlite::{SqliteStore, SqliteStoreConfig};
    let missing = SqliteStore::open(SqliteStoreConfig::new("/nonexistent/mirage"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        missing.to_string(),
        "data directory /nonexistent/mirage: does not exist"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    let not_dir = SqliteStore::open(SqliteStoreConfig::new(file.path()))
        .await
        .err()
        .unwrap();
    assert!(not_dir.to_string().ends_with("is not a directory"));
}

#[test]
fn every_command_has_help() {
    api::cli::Cli::command().debug_assert();
    let mut command = api::cli::Cli::command();
    command.build();
    fn walk(command: &mut clap::Command, path: &str, seen: &mut Vec<String>) {
        let help = command.render_long_help().to_string();
        assert!(help.contains("Usage:"), "{path}: {help}");
        seen.push(path.to_owned());
        for sub in command.get_subcommands_mut() {
            let name = format!("{path} {}", sub.get_name());
            walk(sub, &name, seen);
        }
    }
    let mut seen = Vec::new();
    walk(&mut command, "mirage", &mut seen);
    for expected in [
        "mirage serve",
        "mirage audit verify",
        "mirage projections rebuild",
        "mirage bench store",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} missing from {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_rebuild_reproduces_the_live_read_model() {
    use commands::{CommandHandler, HandlerConfig};
    use domain::organization::{Organization, OrganizationCommand};

    let dir = tempfile::tempdir().unwrap();
    let env: std::collections::HashMap<String, String> =
        [("MIRAGE_LOG_LEVEL".to_owned(), "warn".to_owned())].into();
    let config = Config::load(
        None,
        &env,
        &Overrides {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().to_path_buf()),
            dev: false,
        },
    )
    .unwrap();
    let app = TestApp::spawn_with(config).await;
    let handler = CommandHandler::new(
        app.state.identity.handler().store().clone(),
        HandlerConfig::default(),
    );
    let context = domain::CommandContext::system(chrono::Utc::now());
    let mut last = None;
    for i in 0..6 {
        let id = uuid::Uuid::now_v7();
        let stream = domain::StreamId::for_aggregate("organization", id).unwrap();
        let name = format!("Org {i}");
        handler
            .execute::<Organization>(
                &stream,
                OrganizationCommand::Register { id, name },
                &context,
            )
            .await
            .unwrap();
        let renamed = handler
            .execute::<Organization>(
                &stream,
                OrganizationCommand::Rename {
                    name: format!("Org {i} renamed"),
                },
                &context,
            )
            .await
            .unwrap();
        last = renamed.append.map(|a| a.positions[0]);
    }
    let last = last.unwrap();
    assert!(
        app.state
            .projections
            .wait_for("organizations", last, std::time::Duration::from_secs(10))
            .await
    );
    let live = tests::dump_organizations(&app.state.read_models).await;
    assert_eq!(live.len(), 6);
    drop(handler);
    app.stop().await;

    let cli = api::cli::Cli::parse_from([
        "mirage",
        "--data-dir",
        &dir.path().display().to_string(),
        "projections",
        "rebuild",
        "organizations",
    ]);
    assert_eq!(
        api::run::run(cli, env.clone()).await.unwrap(),
        std::process::ExitCode::SUCCESS
    );
    let url = format!(
        "sqlite://{}?mode=rw",
        dir.path().join("readmodels.db").display()
    );
    let db = projections::ReadModelDb::connect(&url, 1).await.unwrap();
    assert_eq!(tests::dump_organizations(&db).await, live);

    let unknown = api::cli::Cli::parse_from([
        "mirage",
        "--data-dir",
        &dir.path().display().to_string(),
        "projections",
        "rebuild",
        "nope",
    ]);
    let error = api::run::run(unknown, env).await.unwrap_err().to_string();
    assert!(error.contains("no projection named \"nope\""), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_refuses_what_is_not_one_json_operation() {
    let app = TestApp::spawn(&[]).await;
    let post = |content_type: &'static str, body: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = post(
        "application/x-www-form-urlencoded",
        "query=%7BserverInfo%7Bversion%7D%7D",
    )
    .await
    .unwrap();
    assert_eq!(
        form.status(),
        415,
        "no simple-request CSRF through a form post"
    );
    let text = post("text/plain", "{\"query\":\"{ serverInfo { version } }\"}")
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let batch = post(
        "application/json",
        "[{\"query\":\"{ serverInfo { version } }\"},{\"query\":\"{ serverInfo { version } }\"}]",
    )
    .await
    .unwrap();
    assert_eq!(batch.status(), 400);
    let body: serde_json::Value = batch.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    for garbage in ["", "null", "{", "{\"query\": 5}", "\u{0}\u{1}"] {
        let response = post("application/json", garbage).await.unwrap();
        assert_eq!(response.status(), 400, "{garbage:?}");
    }
    let ok = post(
        "application/json; charset=utf-8",
        "{\"query\":\"{ serverInfo { version } }\"}",
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    app.stop().await;
}
