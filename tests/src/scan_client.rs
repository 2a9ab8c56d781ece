//! Driving scans through GraphQL, for the integration tests and the scan benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::app::GraphqlClient;

pub const PASSWORD: &str = "correct horse battery staple";

const REGISTER: &str = "mutation RegisterOrganization($org: String!, $email: String!, $password: String!, $name: String!) { registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: $name }) { accessToken } }";

pub const CREATE_TEAM: &str =
    "mutation CreateTeam($name: String!) { createTeam(input: { name: $name }) { id name } }";
pub const CREATE_PROJECT: &str = "mutation CreateProject($name: String!, $teamId: ID!) { createProject(input: { name: $name, teamId: $teamId }) { id name team { id } } }";
pub const CREATE_SCAN: &str = "mutation CreateScan($projectId: ID!, $name: String!, $targets: [String!]!, $modules: [String!]!, $options: JSON) {
  createScan(input: { projectId: $projectId, name: $name, targets: $targets, modules: $modules, options: $options }) {
    id name status targets modules
  }
}";
pub const START: &str = "mutation StartScan($id: ID!) { startScan(id: $id) { id status } }";
pub const SCAN: &str = "query Scan($id: ID!, $asOf: DateTime) {
  scan(id: $id, asOf: $asOf) {
    id name status startedAt finishedAt
    progress { completed total }
    findingCount
    findings(first: 500) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id type value confidence module parentId firstSeenAt falsePositive }
    }
  }
}";
pub const FINDINGS: &str = "query Findings($scanId: ID!, $type: String, $after: String) {
  findings(scanId: $scanId, type: $type, first: 200, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id type value }
  }
}";
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

pub async fn project(app: &impl GraphqlClient, org: &str) -> (String, String) {
    let registered = app
        .graphql_as(
            "",
            REGISTER,
            json!({ "org": org, "email": format!("admin@{org}.test"), "password": PASSWORD, "name": "Admin" }),
        )
        .await;
    let admin = registered["data"]["registerOrganization"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{registered}"))
        .to_owned();
    let team = app
        .graphql_as(&admin, CREATE_TEAM, json!({ "name": "red" }))
        .await;
    let team_id = team["data"]["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let project = app
        .graphql_as(
            &admin,
            CREATE_PROJECT,
            json!({ "name": "recon", "teamId": team_id }),
        )
        .await;
    let project_id = project["data"]["createProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (admin, project_id)
}

pub async fn create_scan(
    app: &impl GraphqlClient,
    token: &str,
    project_id: &str,
    targets: Value,
    modules: Value,
    options: Value,
) -> Value {
    app.graphql_as(
        token,
        CREATE_SCAN,
        json!({ "projectId": project_id, "name": "site", "targets": targets, "modules": modules, "options": options }),
    )
    .await
}

const STATUS: &str = "query ScanStatus($id: ID!) { scan(id: $id) { id status startedAt finishedAt progress { completed total } findingCount } }";

/// Polls until the scan reaches `status`; returns the last `scan` answer.
pub async fn wait_for(app: &impl GraphqlClient, token: &str, id: &str, status: &str) -> Value {
    wait_for_within(app, token, id, status, Duration::from_secs(120)).await
}

/// Polls until the scan reaches `status` or `timeout` passes (then panics).
pub async fn wait_for_within(
    app: &impl GraphqlClient,
    token: &str,
    id: &str,
    status: &str,
    timeout: Duration,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let body = app.graphql_as(token, STATUS, json!({ "id": id })).await;
        if body["data"]["scan"]["status"] == status {
            return body["data"]["scan"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "scan never reached {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every finding of the scan's current run, through cursor pagination.
pub async fn all_findings(
    app: &impl GraphqlClient,
    token: &str,
    id: &str,
    kind: Option<&str>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql_as(
                token,
                FINDINGS,
                json!({ "scanId": id, "type": kind, "after": after }),
            )
            .await;
        let page = &body["data"]["findings"];
        out.extend(
            page["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .cloned(),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            assert_eq!(page["totalCount"].as_u64().unwrap() as usize, out.len());
            return out;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Creates a scan, starts it and waits until it finishes: (scan id, the last status answer).
pub async fn run_to_end(
    app: &impl GraphqlClient,
    token: &str,
    project_id: &str,
    targets: Value,
    modules: Value,
    options: Value,
) -> (String, Value) {
    let created = create_scan(app, token, project_id, targets, modules, options).await;
    let id = created["data"]["createScan"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    app.graphql_as(token, START, json!({ "id": id })).await;
    let done = wait_for(app, token, &id, "FINISHED").await;
    (id, done)
}
