//! OIDC login through the GraphQL API of a real Mirage server against a real OpenID Provider
//! (`oidc-provider` on 127.0.0.1, logged into without a browser): linking an identity, logging
//! in with it, and everything that must be refused (unlinked identities, replayed states, wrong
//! `iss`, identities linked to someone else, disabled users, TOTP users without a code).

use std::net::SocketAddr;

use api::config::{Config, OidcConfig, Overrides};
use domain::EventCodec;
use domain::identity::{LoginMethod, SecurityEvent};
use reqwest::Url;
use serde_json::{Value, json};
use store::ReadBound;
use tests::app::TestApp;
use tests::oidc::{
    CLIENT_ID, CLIENT_SECRET, EMAIL, OidcProviderProcess, REDIRECT_URI, SUBJECT,
    login_through_browserless_flow,
};

const PROVIDER: &str = "test";
const PASSWORD: &str = "correct horse battery staple";

const REGISTER: &str = "mutation Register($org: String!, $email: String!, $password: String!) {
  registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: \"Alice\" }) {
    accessToken user { id organization { id } }
  }
}";
const LOGIN: &str = "mutation Login($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { accessToken }
}";
const CREATE_USER: &str = "mutation CreateUser($email: String!, $password: String!) {
  createUser(input: { email: $email, password: $password, displayName: \"Bob\", role: USER }) { id }
}";
const DISABLE: &str =
    "mutation Disable($userId: ID!) { disableUser(userId: $userId) { disabled } }";
const CREATE_KEY: &str =
    "mutation Key { createApiKey(input: { name: \"ci\", role: USER }) { key } }";
const ENROLL: &str = "mutation Enroll { enrollTotp { secret } }";
const CONFIRM: &str = "mutation Confirm($code: String!) { confirmTotp(code: $code) }";
const ME: &str = "query Me { me { id email } }";
const REFRESH: &str =
    "mutation Refresh($token: String!) { refreshToken(refreshToken: $token) { accessToken } }";
const BEGIN: &str = "mutation Begin($provider: String!, $link: Boolean!) {
  oidcBegin(provider: $provider, link: $link) { authorizationUrl }
}";
const COMPLETE: &str = "mutation Complete($state: String!, $code: String!, $iss: String) {
  oidcComplete(state: $state, code: $code, iss: $iss) {
    accessToken refreshToken expiresIn linked mfaRequired mfaToken
  }
}";
const VERIFY: &str = "mutation Verify($token: String!, $totp: String!) {
  oidcVerifyTotp(mfaToken: $token, totp: $totp) { accessToken refreshToken expiresIn }
}";

/// A provider, a Mirage server configured with it (as `test`), and the server's data dir.
struct Setup {
    provider: OidcProviderProcess,
    app: TestApp,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let provider = OidcProviderProcess::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("MIRAGE_SIGNUP", "open"), ("MIRAGE_LOG_LEVEL", "warn")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let overrides = Overrides {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: Some(dir.path().join("data")),
        dev: false,
    };
    let mut config = Config::load(None, &env, &overrides).unwrap();
    // The callback is the provider's registered redirect URI: the browserless login stops at
    // the redirect to it and hands the test its query, as a browser would hand it to the client.
    config.oidc.push(OidcConfig {
        name: PROVIDER.to_owned(),
        issuer: provider.issuer.clone(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(CLIENT_SECRET.to_owned()),
        redirect_uri: REDIRECT_URI.to_owned(),
        scopes: Vec::new(),
    });
    config.validate().unwrap();
    let app = TestApp::spawn_with(config).await;
    Setup {
        provider,
        app,
        _dir: dir,
    }
}

impl Setup {
    async fn stop(self) {
        self.app.stop().await;
        self.provider.stop().await;
    }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

/// The callback's query parameters.
struct Callback {
    state: String,
    code: String,
    iss: Option<String>,
}

impl Callback {
    fn variables(&self) -> Value {
        json!({ "state": self.state, "code": self.code, "iss": self.iss })
    }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `oidcBegin` as `credential` ("" for none), then the provider login.
async fn through_provider(app: &TestApp, credential: &str, link: bool) -> Callback {
    let begun = app
        .graphql_as(
            credential,
            BEGIN,
            json!({ "provider": PROVIDER, "link": link }),
        )
        .await;
    let url = Url::parse(&text(&begun["data"]["oidcBegin"]["authorizationUrl"])).unwrap();
    assert_eq!(
        query(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let callback = login_through_browserless_flow(&url).await;
    Callback {
        state: query(&callback, "state").expect("state"),
        code: query(&callback, "code").expect("code"),
        iss: query(&callback, "iss"),
    }
}

async fn complete(app: &TestApp, credential: &str, callback: &Callback) -> Value {
    app.graphql_as(credential, COMPLETE, callback.variables())
        .await
}

/// Links the provider's test account to the user of `token`.
async fn link(app: &TestApp, token: &str) -> Value {
    let callback = through_provider(app, token, true).await;
    complete(app, token, &callback).await
}

/// An OIDC login from start to end, anonymous.
async fn oidc_login(app: &TestApp) -> Value {
    let callback = through_provider(app, "", false).await;
    complete(app, "", &callback).await
}

/// Registers an organization: (access token, user id, organization id).
async fn register(app: &TestApp, org: &str, email: &str) -> (String, String, String) {
    let body = app
        .graphql_as(
            "",
            REGISTER,
            json!({ "org": org, "email": email, "password": PASSWORD }),
        )
        .await;
    let payload = &body["data"]["registerOrganization"];
    (
        text(&payload["accessToken"]),
        text(&payload["user"]["id"]),
        text(&payload["user"]["organization"]["id"]),
    )
}

async fn password_login(app: &TestApp, email: &str) -> String {
    let body = app
        .graphql_as("", LOGIN, json!({ "email": email, "password": PASSWORD }))
        .await;
    text(&body["data"]["login"]["accessToken"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_identity_logs_in_with_working_tokens_and_each_state_works_once() {
    let setup = setup().await;
    let app = &setup.app;
    let (alice, alice_id, org_id) = register(app, "Acme", "alice@acme.test").await;

    let linked = link(app, &alice).await;
    let payload = &linked["data"]["oidcComplete"];
    assert_eq!(payload["linked"], true, "{linked}");
    assert!(payload["accessToken"].is_null());
    let user = app
        .state
        .identity
        .user_resource(alice_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .1;
    assert_eq!(
        user.oidc.get(&setup.provider.issuer).map(String::as_str),
        Some(SUBJECT),
        "the user records the (iss, sub) it is linked to"
    );

    let callback = through_provider(app, "", false).await;
    let signed_in = complete(app, "", &callback).await;
    let payload = &signed_in["data"]["oidcComplete"];
    assert_eq!(payload["linked"], false, "{signed_in}");
    assert_eq!(payload["mfaRequired"], false);
    assert_eq!(payload["expiresIn"], 900);
    let access = text(&payload["accessToken"]);
    let me = app.graphql_as(&access, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], alice_id.as_str(), "{me}");
    assert_eq!(me["data"]["me"]["email"], "alice@acme.test");
    let refreshed = app
        .graphql_as(
            "",
            REFRESH,
            json!({ "token": text(&payload["refreshToken"]) }),
        )
        .await;
    assert!(
        refreshed["data"]["refreshToken"]["accessToken"].is_string(),
        "{refreshed}"
    );

    // The same callback again: refused (the state is spent here and the code at the provider;
    // the wrong-issuer test shows a state is spent even when no code was redeemed).
    let replayed = complete(app, "", &callback).await;
    assert_eq!(code(&replayed), "UNAUTHENTICATED", "{replayed}");
    assert_eq!(replayed["errors"][0]["message"], "invalid credentials");
    assert!(replayed["data"].is_null());

    // The login was audited as an OIDC login without a second factor.
    let audit = domain::StreamId::new(format!("audit-{org_id}")).unwrap();
    let events = app
        .state
        .log
        .read_stream(&audit, 1, ReadBound::End, 1000)
        .await
        .unwrap();
    let oidc_logins = events
        .iter()
        .filter_map(|event| SecurityEvent::decode(&event.payload).ok())
        .filter(|event| {
            matches!(
                event,
                SecurityEvent::LoginSucceeded {
                    method: LoginMethod::Oidc,
                    mfa: false,
                    ..
                }
            )
        })
        .count();
    assert_eq!(oidc_logins, 1);
    setup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinked_identities_unknown_states_and_wrong_issuers_are_refused() {
    let setup = setup().await;
    let app = &setup.app;
    // A user with the provider account's very e-mail address: OIDC never links by e-mail.
    let (alice, _, _) = register(app, "Acme", EMAIL).await;

    let unlinked = oidc_login(app).await;
    assert_eq!(code(&unlinked), "UNAUTHENTICATED", "{unlinked}");
    assert_eq!(unlinked["errors"][0]["message"], "invalid credentials");

    let made_up = complete(
        app,
        "",
        &Callback {
            state: "never-issued".to_owned(),
            code: "whatever".to_owned(),
            iss: Some(setup.provider.issuer.clone()),
        },
    )
    .await;
    assert_eq!(code(&made_up), "UNAUTHENTICATED", "{made_up}");

    // Link for real, then a login whose callback names another issuer (a mix-up attack).
    assert_eq!(
        link(app, &alice).await["data"]["oidcComplete"]["linked"],
        true
    );
    // The provider announces RFC 9207 `iss`, so a missing one is refused too.
    for wrong in [Some("http://127.0.0.1:1".to_owned()), None] {
        let callback = through_provider(app, "", false).await;
        let mixed_up = Callback {
            iss: wrong,
            state: callback.state.clone(),
            code: callback.code.clone(),
        };
        let refused = complete(app, "", &mixed_up).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED", "{refused}");
        // The refusal spent the state: the genuine callback no longer works either.
        let after = complete(app, "", &callback).await;
        assert_eq!(code(&after), "UNAUTHENTICATED", "{after}");
    }
    // A fresh login does.
    assert!(oidc_login(app).await["data"]["oidcComplete"]["accessToken"].is_string());

    let unknown = app
        .graphql_as("", BEGIN, json!({ "provider": "nope", "link": false }))
        .await;
    assert_eq!(code(&unknown), "BAD_USER_INPUT", "{unknown}");
    assert_eq!(unknown["errors"][0]["extensions"]["field"], "provider");
    setup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_links_to_one_user_and_only_its_starter_completes_a_link() {
    let setup = setup().await;
    let app = &setup.app;
    let (alice, alice_id, _) = register(app, "Acme", "alice@acme.test").await;
    let (other, _, _) = register(app, "Globex", "carol@globex.test").await;

    // Linking needs a signed-in user, and not an API key.
    let anonymous = app
        .graphql_as("", BEGIN, json!({ "provider": PROVIDER, "link": true }))
        .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let key = app.graphql_as(&alice, CREATE_KEY, json!({})).await;
    let key = text(&key["data"]["createApiKey"]["key"]);
    let with_key = app
        .graphql_as(&key, BEGIN, json!({ "provider": PROVIDER, "link": true }))
        .await;
    assert_eq!(code(&with_key), "FORBIDDEN", "{with_key}");

    // A link Alice started cannot be completed anonymously or by someone else (e.g. a victim
    // lured into finishing it): that would link the victim's identity to Alice's account.
    let callback = through_provider(app, &alice, true).await;
    let by_nobody = complete(app, "", &callback).await;
    assert_eq!(code(&by_nobody), "UNAUTHENTICATED", "{by_nobody}");
    let callback = through_provider(app, &alice, true).await;
    let by_other = complete(app, &other, &callback).await;
    assert_eq!(code(&by_other), "FORBIDDEN", "{by_other}");

    let linked = link(app, &alice).await;
    assert_eq!(linked["data"]["oidcComplete"]["linked"], true, "{linked}");
    let again = link(app, &alice).await;
    assert_eq!(
        again["data"]["oidcComplete"]["linked"], true,
        "linking the same identity to the same user again is harmless: {again}"
    );

    let stolen = link(app, &other).await;
    assert_eq!(code(&stolen), "CONFLICT", "{stolen}");
    assert_eq!(stolen["errors"][0]["message"], "oidc link already exists");

    let signed_in = oidc_login(app).await;
    let access = text(&signed_in["data"]["oidcComplete"]["accessToken"]);
    let me = app.graphql_as(&access, ME, json!({})).await;
    assert_eq!(
        me["data"]["me"]["id"],
        alice_id.as_str(),
        "still Alice's: {me}"
    );
    setup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_cannot_log_in_through_oidc() {
    let setup = setup().await;
    let app = &setup.app;
    let (admin, _, _) = register(app, "Acme", "alice@acme.test").await;
    let created = app
        .graphql_as(
            &admin,
            CREATE_USER,
            json!({ "email": "bob@acme.test", "password": PASSWORD }),
        )
        .await;
    let bob_id = text(&created["data"]["createUser"]["id"]);
    let bob = password_login(app, "bob@acme.test").await;
    assert_eq!(
        link(app, &bob).await["data"]["oidcComplete"]["linked"],
        true
    );
    let before = oidc_login(app).await;
    let bob_access = text(&before["data"]["oidcComplete"]["accessToken"]);
    assert_eq!(
        app.graphql_as(&bob_access, ME, json!({})).await["data"]["me"]["id"],
        bob_id.as_str()
    );

    let disabled = app
        .graphql_as(&admin, DISABLE, json!({ "userId": bob_id }))
        .await;
    assert_eq!(
        disabled["data"]["disableUser"]["disabled"], true,
        "{disabled}"
    );
    let refused = oidc_login(app).await;
    assert_eq!(code(&refused), "UNAUTHENTICATED", "{refused}");
    assert_eq!(refused["errors"][0]["message"], "invalid credentials");
    setup.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_totp_user_needs_a_code_after_the_provider() {
    let setup = setup().await;
    let app = &setup.app;
    let (alice, alice_id, _) = register(app, "Acme", "alice@acme.test").await;
    assert_eq!(
        link(app, &alice).await["data"]["oidcComplete"]["linked"],
        true
    );

    let enrolled = app.graphql_as(&alice, ENROLL, json!({})).await;
    let secret = data_encoding::BASE32_NOPAD
        .decode(text(&enrolled["data"]["enrollTotp"]["secret"]).as_bytes())
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let current = security::totp_code(&secret, now).unwrap();
    let confirmed = app
        .graphql_as(&alice, CONFIRM, json!({ "code": current }))
        .await;
    assert_eq!(confirmed["data"]["confirmTotp"], true, "{confirmed}");

    let challenged = oidc_login(app).await;
    let payload = &challenged["data"]["oidcComplete"];
    assert_eq!(payload["mfaRequired"], true, "{challenged}");
    assert!(payload["accessToken"].is_null());
    let mfa_token = text(&payload["mfaToken"]);
    let wrong = app
        .graphql_as("", VERIFY, json!({ "token": mfa_token, "totp": "000000" }))
        .await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED", "{wrong}");
    // The continuation was spent by the wrong code: a right one needs a new login.
    let next = security::totp_code(&secret, now + 30).unwrap();
    let spent = app
        .graphql_as("", VERIFY, json!({ "token": mfa_token, "totp": next }))
        .await;
    assert_eq!(code(&spent), "UNAUTHENTICATED", "{spent}");

    let challenged = oidc_login(app).await;
    let mfa_token = text(&challenged["data"]["oidcComplete"]["mfaToken"]);
    let verified = app
        .graphql_as("", VERIFY, json!({ "token": mfa_token, "totp": next }))
        .await;
    let access = text(&verified["data"]["oidcVerifyTotp"]["accessToken"]);
    let me = app.graphql_as(&access, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], alice_id.as_str(), "{me}");
    setup.stop().await;
}
