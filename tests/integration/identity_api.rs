//! Identity through the GraphQL API of a real server: registration, login, refresh rotation and
//! re-use detection, logout and admin changes taking effect on the next request, teams and
//! projects, API keys, TOTP, tenant isolation, and errors with codes that name fields.

use serde_json::{Value, json};
use tests::app::TestApp;

const REGISTER: &str = "mutation RegisterOrganization($org: String!, $email: String!, $password: String!, $name: String!) {
  registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: $name }) {
    accessToken refreshToken expiresIn
    user { id email displayName role organization { id name } }
  }
}";
const LOGIN: &str = "mutation Login($email: String!, $password: String!, $totp: String) {
  login(input: { email: $email, password: $password, totp: $totp }) {
    accessToken refreshToken expiresIn mfaRequired
    user { id email role }
  }
}";
const REFRESH: &str = "mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken expiresIn } }";
pub(crate) const LOGOUT: &str = "mutation Logout { logout }";
const ME: &str =
    "query Me { me { id email displayName role organization { id name } teams { id name } } }";
const CREATE_USER: &str = "mutation CreateUser($email: String!, $password: String!, $name: String!, $role: Role!) {
  createUser(input: { email: $email, password: $password, displayName: $name, role: $role }) { id email role }
}";
const CHANGE_ROLE: &str = "mutation ChangeRole($userId: ID!, $role: Role!) { changeUserRole(userId: $userId, role: $role) { id role } }";
const DISABLE: &str =
    "mutation DisableUser($userId: ID!) { disableUser(userId: $userId) { id disabled } }";
const CREATE_TEAM: &str =
    "mutation CreateTeam($name: String!) { createTeam(input: { name: $name }) { id name } }";
const ADD_MEMBER: &str = "mutation AddTeamMember($teamId: ID!, $userId: ID!) { addTeamMember(teamId: $teamId, userId: $userId) { id members { id } } }";
const CREATE_PROJECT: &str = "mutation CreateProject($name: String!, $teamId: ID!) { createProject(input: { name: $name, teamId: $teamId }) { id name team { id } } }";
const PROJECTS: &str = "query Projects { projects { id name team { id name } } }";
const CREATE_KEY: &str = "mutation CreateApiKey($name: String!, $role: Role!) { createApiKey(input: { name: $name, role: $role }) { id key prefix } }";
const REVOKE_KEY: &str = "mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }";
const ENROLL: &str = "mutation EnrollTotp { enrollTotp { secret otpauthUrl } }";
const CONFIRM: &str = "mutation ConfirmTotp($code: String!) { confirmTotp(code: $code) }";

pub(crate) const PASSWORD: &str = "correct horse battery staple";

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

pub(crate) async fn open_app() -> TestApp {
    TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await
}

/// Registers an organization; returns (access token, refresh token, user id, org id).
pub(crate) async fn register(
    app: &TestApp,
    org: &str,
    email: &str,
) -> (String, String, String, String) {
    let body = app
        .graphql_as(
            "",
            REGISTER,
            json!({ "org": org, "email": email, "password": PASSWORD, "name": "Alice Admin" }),
        )
        .await;
    let payload = &body["data"]["registerOrganization"];
    assert!(payload["accessToken"].is_string(), "{body}");
    assert_eq!(payload["user"]["role"], "ADMIN");
    assert_eq!(payload["user"]["organization"]["name"], org);
    (
        payload["accessToken"].as_str().unwrap().to_owned(),
        payload["refreshToken"].as_str().unwrap().to_owned(),
        payload["user"]["id"].as_str().unwrap().to_owned(),
        payload["user"]["organization"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

pub(crate) async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql_as("", LOGIN, json!({ "email": email, "password": password }))
        .await
}

pub(crate) async fn create_user(app: &TestApp, admin: &str, email: &str, role: &str) -> String {
    let body = app
        .graphql_as(
            admin,
            CREATE_USER,
            json!({ "email": email, "password": PASSWORD, "name": "Bob", "role": role }),
        )
        .await;
    assert_eq!(body["data"]["createUser"]["role"], role, "{body}");
    body["data"]["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn token(body: &Value) -> String {
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_me_refresh_rotation_and_reuse_detection() {
    let app = open_app().await;
    let (access, refresh, user_id, org_id) = register(&app, "Acme", "alice@acme.test").await;
    let me = app.graphql_as(&access, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], user_id.as_str(), "{me}");
    assert_eq!(me["data"]["me"]["email"], "alice@acme.test");
    assert_eq!(me["data"]["me"]["organization"]["id"], org_id.as_str());
    assert_eq!(me["data"]["me"]["teams"], json!([]));

    let rotated = app
        .graphql_as("", REFRESH, json!({ "token": refresh }))
        .await;
    let pair = &rotated["data"]["refreshToken"];
    let (access2, refresh2) = (
        pair["accessToken"].as_str().unwrap().to_owned(),
        pair["refreshToken"].as_str().unwrap().to_owned(),
    );
    assert_ne!(refresh2, refresh);
    assert_eq!(pair["expiresIn"], 900);
    let me = app.graphql_as(&access2, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], user_id.as_str());

    // The spent token comes back: the whole family is revoked, including the newest tokens.
    let reused = app
        .graphql_as("", REFRESH, json!({ "token": refresh }))
        .await;
    assert_eq!(code(&reused), "UNAUTHENTICATED", "{reused}");
    let after = app
        .graphql_as("", REFRESH, json!({ "token": refresh2 }))
        .await;
    assert_eq!(code(&after), "UNAUTHENTICATED");
    let me = app.graphql_as(&access2, ME, json!({})).await;
    assert_eq!(
        code(&me),
        "UNAUTHENTICATED",
        "the revoked family's access token stops working"
    );
    for garbage in ["", "mr_", "mr_nope.nope", &"x".repeat(5000)] {
        let body = app
            .graphql_as("", REFRESH, json!({ "token": garbage }))
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{garbage:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_let_at_most_one_win() {
    let app = open_app().await;
    let (_, refresh, _, _) = register(&app, "Race", "race@race.test").await;
    let tries = (0..4).map(|_| app.graphql_as("", REFRESH, json!({ "token": refresh })));
    let results = futures::future::join_all(tries).await;
    let winners = results
        .iter()
        .filter(|body| body["data"]["refreshToken"]["accessToken"].is_string())
        .count();
    assert!(winners <= 1, "{results:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_answers_alike_for_unknown_accounts_wrong_passwords_and_disabled_users() {
    let app = open_app().await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    let bob = create_user(&app, &admin, "bob@acme.test", "ANALYST").await;
    let ok = login(&app, "bob@acme.test", PASSWORD).await;
    assert_eq!(ok["data"]["login"]["mfaRequired"], false);
    assert_eq!(ok["data"]["login"]["user"]["role"], "ANALYST");

    let wrong = login(&app, "bob@acme.test", "not the password").await;
    let unknown = login(&app, "nobody@acme.test", PASSWORD).await;
    let malformed = login(&app, "not an email", PASSWORD).await;
    app.graphql_as(&admin, DISABLE, json!({ "userId": bob }))
        .await;
    let disabled = login(&app, "bob@acme.test", PASSWORD).await;
    for body in [&wrong, &unknown, &malformed, &disabled] {
        assert_eq!(code(body), "UNAUTHENTICATED", "{body}");
        assert_eq!(body["errors"][0]["message"], "invalid credentials");
        assert!(body["data"].is_null());
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_role_change_and_disable_take_effect_on_the_next_request() {
    let app = open_app().await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    let bob_id = create_user(&app, &admin, "bob@acme.test", "ANALYST").await;
    let bob = token(&login(&app, "bob@acme.test", PASSWORD).await);
    assert_eq!(
        app.graphql_as(&bob, ME, json!({})).await["data"]["me"]["role"],
        "ANALYST"
    );

    // An analyst may not manage users.
    let refused = app
        .graphql_as(
            &bob,
            CHANGE_ROLE,
            json!({ "userId": bob_id, "role": "ADMIN" }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");

    let changed = app
        .graphql_as(
            &admin,
            CHANGE_ROLE,
            json!({ "userId": bob_id, "role": "READ_ONLY" }),
        )
        .await;
    assert_eq!(
        changed["data"]["changeUserRole"]["role"], "READ_ONLY",
        "{changed}"
    );
    assert_eq!(
        code(&app.graphql_as(&bob, ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    let bob = token(&login(&app, "bob@acme.test", PASSWORD).await);
    assert_eq!(
        app.graphql_as(&bob, ME, json!({})).await["data"]["me"]["role"],
        "READ_ONLY"
    );

    let logout = app.graphql_as(&bob, LOGOUT, json!({})).await;
    assert_eq!(logout["data"]["logout"], true);
    assert_eq!(
        code(&app.graphql_as(&bob, ME, json!({})).await),
        "UNAUTHENTICATED"
    );

    let bob = token(&login(&app, "bob@acme.test", PASSWORD).await);
    let disabled = app
        .graphql_as(&admin, DISABLE, json!({ "userId": bob_id }))
        .await;
    assert_eq!(disabled["data"]["disableUser"]["disabled"], true);
    assert_eq!(
        code(&app.graphql_as(&bob, ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&app.graphql_as("", ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&app.graphql_as("not.a.jwt", ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_and_projects_are_scoped_by_membership() {
    let app = open_app().await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    let ana_id = create_user(&app, &admin, "ana@acme.test", "ANALYST").await;
    create_user(&app, &admin, "ursula@acme.test", "USER").await;
    let team = app
        .graphql_as(&admin, CREATE_TEAM, json!({ "name": "Red" }))
        .await;
    let team_id = team["data"]["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = app
        .graphql_as(
            &admin,
            ADD_MEMBER,
            json!({ "teamId": team_id, "userId": ana_id }),
        )
        .await;
    assert_eq!(
        added["data"]["addTeamMember"]["members"][0]["id"],
        ana_id.as_str(),
        "{added}"
    );

    let ana = token(&login(&app, "ana@acme.test", PASSWORD).await);
    let ursula = token(&login(&app, "ursula@acme.test", PASSWORD).await);
    let project = app
        .graphql_as(
            &ana,
            CREATE_PROJECT,
            json!({ "name": "Recon", "teamId": team_id }),
        )
        .await;
    assert_eq!(
        project["data"]["createProject"]["team"]["id"],
        team_id.as_str(),
        "{project}"
    );
    let refused = app
        .graphql_as(
            &ursula,
            CREATE_PROJECT,
            json!({ "name": "Nope", "teamId": team_id }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");

    let ana_sees = app.graphql_as(&ana, PROJECTS, json!({})).await;
    assert_eq!(ana_sees["data"]["projects"][0]["name"], "Recon");
    assert_eq!(ana_sees["data"]["projects"][0]["team"]["name"], "Red");
    let ursula_sees = app.graphql_as(&ursula, PROJECTS, json!({})).await;
    assert_eq!(ursula_sees["data"]["projects"], json!([]), "not her team");
    let me = app.graphql_as(&ana, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["teams"][0]["name"], "Red");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_authenticate_until_revoked_and_never_exceed_their_creator() {
    let app = open_app().await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    create_user(&app, &admin, "ana@acme.test", "ANALYST").await;
    let ana = token(&login(&app, "ana@acme.test", PASSWORD).await);
    let above = app
        .graphql_as(&ana, CREATE_KEY, json!({ "name": "ci", "role": "ADMIN" }))
        .await;
    assert_eq!(code(&above), "FORBIDDEN", "{above}");

    let created = app
        .graphql_as(
            &ana,
            CREATE_KEY,
            json!({ "name": "ci", "role": "READ_ONLY" }),
        )
        .await;
    let key = created["data"]["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let prefix = created["data"]["createApiKey"]["prefix"].as_str().unwrap();
    assert!(key.starts_with(prefix) && prefix.starts_with("mk_"));
    let me = app.graphql_as(&key, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "ana@acme.test", "{me}");
    let minting = app
        .graphql_as(
            &key,
            CREATE_KEY,
            json!({ "name": "more", "role": "READ_ONLY" }),
        )
        .await;
    assert_eq!(code(&minting), "FORBIDDEN", "a key cannot mint keys");

    let id = created["data"]["createApiKey"]["id"].as_str().unwrap();
    let revoked = app.graphql_as(&ana, REVOKE_KEY, json!({ "id": id })).await;
    assert_eq!(revoked["data"]["revokeApiKey"], true, "{revoked}");
    assert_eq!(
        code(&app.graphql_as(&key, ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    let forged = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(
        code(&app.graphql_as(&forged, ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_is_required_once_confirmed_and_codes_are_single_use() {
    let app = open_app().await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    let enrolled = app.graphql_as(&admin, ENROLL, json!({})).await;
    let secret = enrolled["data"]["enrollTotp"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        enrolled["data"]["enrollTotp"]["otpauthUrl"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret_bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let wrong = app
        .graphql_as(&admin, CONFIRM, json!({ "code": "000000" }))
        .await;
    assert_eq!(wrong["data"]["confirmTotp"], false);
    let now = chrono::Utc::now().timestamp();
    let current = security::totp_code(&secret_bytes, now).unwrap();
    let confirmed = app
        .graphql_as(&admin, CONFIRM, json!({ "code": current }))
        .await;
    assert_eq!(confirmed["data"]["confirmTotp"], true, "{confirmed}");

    let needs_code = login(&app, "alice@acme.test", PASSWORD).await;
    assert_eq!(
        needs_code["data"]["login"]["mfaRequired"], true,
        "{needs_code}"
    );
    assert!(needs_code["data"]["login"]["accessToken"].is_null());
    let next = security::totp_code(&secret_bytes, now + 30).unwrap();
    let with_code = app
        .graphql_as(
            "",
            LOGIN,
            json!({ "email": "alice@acme.test", "password": PASSWORD, "totp": next }),
        )
        .await;
    assert!(
        with_code["data"]["login"]["accessToken"].is_string(),
        "{with_code}"
    );
    let replay = app
        .graphql_as(
            "",
            LOGIN,
            json!({ "email": "alice@acme.test", "password": PASSWORD, "totp": next }),
        )
        .await;
    assert_eq!(code(&replay), "UNAUTHENTICATED", "a code works once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_ids_answer_like_missing_ones() {
    let app = open_app().await;
    let (admin_a, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    let (admin_b, _, _, _) = register(&app, "Beta", "bea@beta.test").await;
    let a_user = create_user(&app, &admin_a, "ana@acme.test", "ANALYST").await;
    let a_team = app
        .graphql_as(&admin_a, CREATE_TEAM, json!({ "name": "A" }))
        .await;
    let a_team = a_team["data"]["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let missing = uuid::Uuid::now_v7().to_string();

    for user_id in [a_user.as_str(), missing.as_str(), "not-a-uuid"] {
        let body = app
            .graphql_as(
                &admin_b,
                CHANGE_ROLE,
                json!({ "userId": user_id, "role": "ADMIN" }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{user_id}: {body}");
        assert_eq!(body["errors"][0]["message"], "not found");
    }
    for team_id in [a_team.as_str(), missing.as_str()] {
        let body = app
            .graphql_as(
                &admin_b,
                CREATE_PROJECT,
                json!({ "name": "x", "teamId": team_id }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
    }
    let b_projects = app.graphql_as(&admin_b, PROJECTS, json!({})).await;
    assert_eq!(b_projects["data"]["projects"], json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registrations_name_the_field_and_signup_can_be_closed() {
    let app = open_app().await;
    register(&app, "Acme", "alice@acme.test").await;
    let cases = [
        ("Acme2", "not-an-email", PASSWORD, "email"),
        ("Acme2", "x@acme2.test", "short", "password"),
        ("Acme2", "x@acme2.test", "password123", "password"),
        ("", "x@acme2.test", PASSWORD, "organizationName"),
        (
            &*"o".repeat(500),
            "x@acme2.test",
            PASSWORD,
            "organizationName",
        ),
    ];
    for (org, email, password, field) in cases {
        let body = app
            .graphql_as(
                "",
                REGISTER,
                json!({ "org": org, "email": email, "password": password, "name": "X" }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{field}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let taken = app
        .graphql_as(
            "",
            REGISTER,
            json!({ "org": "Other", "email": "ALICE@acme.test", "password": PASSWORD, "name": "X" }),
        )
        .await;
    assert_eq!(code(&taken), "CONFLICT", "{taken}");
    app.stop().await;

    let closed = TestApp::spawn(&[]).await;
    let body = closed
        .graphql_as(
            "",
            REGISTER,
            json!({ "org": "Acme", "email": "a@a.test", "password": PASSWORD, "name": "X" }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    closed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_login_per_document_and_repeated_failures_are_throttled() {
    let app = open_app().await;
    register(&app, "Acme", "alice@acme.test").await;
    let aliases = "mutation { a: login(input: { email: \"alice@acme.test\", password: \"x1234567\" }) { mfaRequired } b: login(input: { email: \"alice@acme.test\", password: \"x7654321\" }) { mfaRequired } }";
    let body = app.graphql_as("", aliases, json!({})).await;
    assert!(body["data"].is_null(), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{body}"
    );

    for _ in 0..6 {
        login(&app, "alice@acme.test", "wrong password!").await;
    }
    let throttled = login(&app, "alice@acme.test", PASSWORD).await;
    assert_eq!(code(&throttled), "RATE_LIMITED", "{throttled}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_creates_organizations_when_signup_is_closed() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let env = |password: &str| {
        std::collections::HashMap::from([
            ("MIRAGE_LOG_LEVEL".to_owned(), "warn".to_owned()),
            ("MIRAGE_ADMIN_PASSWORD".to_owned(), password.to_owned()),
        ])
    };
    let create = |email: &'static str| {
        api::cli::Cli::parse_from([
            "mirage",
            "--data-dir",
            data_dir.as_str(),
            "admin",
            "create-org",
            "--name",
            "Ops Org",
            "--email",
            email,
            "--display-name",
            "Olga",
        ])
    };
    let weak = api::run::run(create("olga@ops.test"), env("12345678")).await;
    assert!(
        weak.unwrap_err().to_string().contains("password"),
        "weak passwords are refused"
    );
    let created = api::run::run(create("olga@ops.test"), env(PASSWORD))
        .await
        .unwrap();
    assert_eq!(created, std::process::ExitCode::SUCCESS);
    let again = api::run::run(create("olga@ops.test"), env(PASSWORD)).await;
    assert!(again.is_err(), "an address belongs to one account");

    let config = api::config::Config::load(
        None,
        &env(""),
        &api::config::Overrides {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().to_path_buf()),
            dev: false,
        },
    )
    .unwrap();
    let app = TestApp::spawn_with(config).await;
    let olga = token(&login(&app, "olga@ops.test", PASSWORD).await);
    let me = app.graphql_as(&olga, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["role"], "ADMIN");
    assert_eq!(me["data"]["me"]["organization"]["name"], "Ops Org", "{me}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_events_are_recorded_and_no_secret_enters_the_log() {
    let app = open_app().await;
    let (admin, refresh, admin_id, org_id) = register(&app, "Acme", "alice@acme.test").await;
    create_user(&app, &admin, "ana@acme.test", "ANALYST").await;
    login(&app, "ana@acme.test", "wrong password!").await;
    login(&app, "nobody@acme.test", PASSWORD).await;
    let ana = token(&login(&app, "ana@acme.test", PASSWORD).await);
    let denied = app
        .graphql_as(
            &ana,
            CREATE_USER,
            json!({ "email": "x@acme.test", "password": PASSWORD, "name": "X", "role": "USER" }),
        )
        .await;
    assert_eq!(code(&denied), "FORBIDDEN");
    let key = app
        .graphql_as(&admin, CREATE_KEY, json!({ "name": "ci", "role": "USER" }))
        .await["data"]["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = app
        .graphql_as("", REFRESH, json!({ "token": refresh }))
        .await;
    let new_refresh = rotated["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql_as("", REFRESH, json!({ "token": refresh }))
        .await;

    let mut log = Vec::new();
    let mut after = None;
    loop {
        let page = app.state.log.read_all(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        log.extend(page);
    }
    let types: Vec<&str> = log.iter().map(|e| e.event_type()).collect();
    for expected in [
        "SecurityLoginFailed",
        "SecurityLoginSucceeded",
        "SecurityAuthorizationDenied",
        "SecurityTokenRefreshed",
        "SecurityRefreshTokenReused",
        "SecurityAdminAction",
        "UserRegistered",
        "ApiKeyCreated",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    let org_stream = format!("audit-{org_id}");
    let succeeded = log
        .iter()
        .find(|e| e.event_type() == "SecurityLoginSucceeded" && e.stream_id.as_str() == org_stream)
        .expect("a login is audited in its organization's stream");
    assert!(succeeded.meta.actor.starts_with("user:"));
    assert_eq!(
        succeeded.meta.organization.map(|o| o.to_string()),
        Some(org_id.clone())
    );
    let payload = String::from_utf8_lossy(&succeeded.payload.data);
    assert!(
        payload.contains("127.0.0.1"),
        "the source address is recorded: {payload}"
    );
    let admin_action = log
        .iter()
        .find(|e| {
            e.event_type() == "SecurityAdminAction"
                && String::from_utf8_lossy(&e.payload.data).contains("user_created")
        })
        .expect("creating a user is audited as an admin action");
    assert_eq!(admin_action.meta.actor, format!("user:{admin_id}"));
    assert_eq!(admin_action.stream_id.as_str(), org_stream);
    assert!(String::from_utf8_lossy(&admin_action.payload.data).contains("127.0.0.1"));
    let created_by_admin = log
        .iter()
        .find(|e| e.event_type() == "UserRegistered" && e.meta.actor == format!("user:{admin_id}"))
        .expect("admin actions carry their actor");
    assert!(created_by_admin.meta.correlation_id.is_some());

    for event in &log {
        let stored = String::from_utf8_lossy(&event.payload.data);
        for secret in [
            PASSWORD,
            "wrong password!",
            &admin,
            &ana,
            &refresh,
            &new_refresh,
            &key,
        ] {
            assert!(
                !stored.contains(secret) && !event.meta.actor.contains(secret),
                "a secret entered {}: {stored}",
                event.event_type()
            );
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_signing_key_keeps_issued_tokens_working_for_one_rotation() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let env: std::collections::HashMap<String, String> = [
        ("MIRAGE_LOG_LEVEL".to_owned(), "warn".to_owned()),
        ("MIRAGE_SIGNUP".to_owned(), "open".to_owned()),
    ]
    .into();
    let config = || {
        api::config::Config::load(
            None,
            &env,
            &api::config::Overrides {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                data_dir: Some(dir.path().to_path_buf()),
                dev: false,
            },
        )
        .unwrap()
    };
    let rotate = || {
        api::cli::Cli::parse_from([
            "mirage",
            "--data-dir",
            &dir.path().display().to_string(),
            "keys",
            "rotate",
        ])
    };
    let app = TestApp::spawn_with(config()).await;
    let (old_token, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    app.stop().await;

    api::run::run(rotate(), env.clone()).await.unwrap();
    let app = TestApp::spawn_with(config()).await;
    let me = app.graphql_as(&old_token, ME, json!({})).await;
    assert_eq!(
        me["data"]["me"]["email"], "alice@acme.test",
        "the previous key still verifies"
    );
    let new_token = token(&login(&app, "alice@acme.test", PASSWORD).await);
    assert_eq!(
        app.graphql_as(&new_token, ME, json!({})).await["data"]["me"]["email"],
        "alice@acme.test"
    );
    app.stop().await;

    api::run::run(rotate(), env.clone()).await.unwrap();
    let app = TestApp::spawn_with(config()).await;
    assert_eq!(
        code(&app.graphql_as(&old_token, ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.graphql_as(&new_token, ME, json!({})).await["data"]["me"]["email"],
        "alice@acme.test"
    );
    app.stop().await;
}
