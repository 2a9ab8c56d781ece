//! Hostile input against a real server (security.md items 16 to 21 and "Hostile input"): well
//! over a thousand malformed or abusive requests, generated from a fixed seed, each answered
//! with a transport-level 4xx or with GraphQL errors that all carry a known `extensions.code`
//! (never INTERNAL, never a 5xx, never a field suggestion), the server healthy after each one.
//! Focused tests then pin the exact limits: depth, complexity, one authentication attempt per
//! document, directives, the body limit, GET, content types, batches, introspection,
//! suggestions, malformed tokens and keys, CORS, fields that cost nothing (`__typename`),
//! exponential fragment expansion, and the same limits and codes over the WebSocket.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use security::{AccessTokenInput, JwtKeys};
use serde_json::{Value, json};
use tests::app::TestApp;

/// Every code a client may see in `extensions.code`.
const CODES: [&str; 7] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "INTERNAL",
];
/// Statuses a request to `/graphql` may get: a GraphQL answer or a transport-level refusal.
const STATUSES: [u16; 5] = [200, 400, 405, 413, 415];
/// Requests of each category in the generated run.
const PER_CATEGORY: usize = 52;
/// The seed of the generated run; change it to explore, keep it fixed to reproduce.
const SEED: u64 = 0x4d69_7261_6765;
/// Requests in flight at once.
const IN_FLIGHT: usize = 4;
/// A request that gets no answer in this long counts as a hang (a bound, not a measurement).
const HANG: Duration = Duration::from_secs(120);

const PASSWORD: &str = "correct horse battery staple";
const REGISTER: &str = "mutation Register($org: String!, $email: String!, $password: String!) {
  registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: \"Admin\" }) {
    accessToken refreshToken user { id organization { id } }
  }
}";
const CREATE_KEY: &str =
    "mutation Key($role: Role!) { createApiKey(input: { name: \"ci\", role: $role }) { id key } }";
const CREATE_TEAM: &str =
    "mutation Team($name: String!) { createTeam(input: { name: $name }) { id } }";
const ME: &str = "query Me { me { id email role } }";

/// What one generated request must get, on top of the checks every answer passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Only the common checks.
    Any,
    /// Exactly this transport status.
    Status(u16),
    /// A GraphQL answer refused as a whole: `data` null, at least one error.
    Refused,
    /// A GraphQL answer with an error of this code.
    Code(&'static str),
    /// A GraphQL answer where every introspection field is null (or refused as a whole).
    NoIntrospection,
}

#[derive(Debug, Clone)]
struct Hostile {
    category: &'static str,
    method: Method,
    /// Path and query string.
    target: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    expect: Expect,
}

impl Hostile {
    /// A JSON POST of `body` as it is.
    fn raw(category: &'static str, body: Vec<u8>, expect: Expect) -> Hostile {
        Hostile {
            category,
            method: Method::POST,
            target: "/graphql".to_owned(),
            headers: vec![("content-type", b"application/json".to_vec())],
            body,
            expect,
        }
    }

    /// A JSON POST of a GraphQL request.
    fn graphql(category: &'static str, query: &str, variables: Value, expect: Expect) -> Hostile {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables }))
            .expect("request json");
        Hostile::raw(category, body, expect)
    }

    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Hostile {
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.into()));
        self
    }

    fn without_header(mut self, name: &str) -> Hostile {
        self.headers.retain(|(existing, _)| *existing != name);
        self
    }

    fn preview(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let cut: String = text.chars().take(160).collect();
        format!(
            "{} {} {} bytes: {cut}",
            self.method,
            self.target.chars().take(80).collect::<String>(),
            self.body.len()
        )
    }
}

/// What the generators may use: valid credentials of one organization and the body limit.
struct Fixtures {
    admin: String,
    key: String,
    user_id: String,
    team_id: String,
    limit: usize,
    /// Access tokens that must not authenticate, each with what is wrong with it.
    bad_tokens: Vec<(&'static str, String)>,
    /// API keys that must not authenticate.
    bad_keys: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Checking answers

fn error_objects(body: &Value) -> Vec<&Value> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|errors| errors.iter().collect())
        .unwrap_or_default()
}

/// The checks every answer passes, then the request's own expectation.
fn check(hostile: &Hostile, limit: usize, status: u16, bytes: &[u8]) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("status {status}"));
    }
    if !STATUSES.contains(&status) {
        return Err(format!("unexpected status {status}"));
    }
    if hostile.body.len() > limit && status != 413 {
        return Err(format!("a body over the limit got {status}, not 413"));
    }
    let json: Option<Value> = serde_json::from_slice(bytes).ok();
    if status == 200 {
        let Some(body) = &json else {
            return Err("a 200 answer that is not JSON".to_owned());
        };
        if !body.is_object() || (body.get("data").is_none() && body.get("errors").is_none()) {
            return Err(format!("not a GraphQL response: {body}"));
        }
    }
    if let Some(body) = &json {
        for error in error_objects(body) {
            let code = error["extensions"]["code"].as_str().unwrap_or("");
            if !CODES.contains(&code) {
                return Err(format!("an error without a known code: {error}"));
            }
            if code == "INTERNAL" {
                return Err(format!("INTERNAL for hostile input: {error}"));
            }
            let message = error["message"].as_str().unwrap_or("");
            for leak in [
                "Did you mean",
                "panicked",
                "backtrace",
                "sqlx",
                "SQLITE",
                "database",
            ] {
                if message.contains(leak) {
                    return Err(format!("error message leaks {leak:?}: {message}"));
                }
            }
        }
        if status != 200 && body.get("errors").is_none() {
            return Err(format!("a JSON refusal without errors: {body}"));
        }
    }
    let graphql = || -> Result<&Value, String> {
        match (&json, status) {
            (Some(body), 200) => Ok(body),
            _ => Err(format!("expected a GraphQL answer, got status {status}")),
        }
    };
    match hostile.expect {
        Expect::Any => {}
        Expect::Status(expected) => {
            if status != expected {
                return Err(format!("expected status {expected}, got {status}"));
            }
        }
        Expect::Refused => {
            let body = graphql()?;
            if !body["data"].is_null() || error_objects(body).is_empty() {
                return Err(format!("expected a refusal, got {}", short(body)));
            }
        }
        Expect::Code(code) => {
            let body = graphql()?;
            if !error_objects(body)
                .iter()
                .any(|error| error["extensions"]["code"] == code)
            {
                return Err(format!("expected {code}, got {}", short(body)));
            }
        }
        Expect::NoIntrospection => {
            let body = graphql()?;
            let leaked = body["data"]
                .as_object()
                .is_some_and(|data| data.values().any(|value| !value.is_null()));
            if leaked {
                return Err(format!("introspection answered: {}", short(body)));
            }
        }
    }
    Ok(())
}

fn short(body: &Value) -> String {
    body.to_string().chars().take(400).collect()
}

/// A client that opens a new connection for every request, so that a connection the server
/// closed (after an early 413, say) is never reused.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    hostile: &Hostile,
) -> Result<(u16, Vec<u8>), String> {
    let mut request = client
        .request(hostile.method.clone(), app.url(&hostile.target))
        .timeout(HANG)
        .body(hostile.body.clone());
    for (name, value) in &hostile.headers {
        let value = reqwest::header::HeaderValue::from_bytes(value)
            .map_err(|e| format!("test bug: header {name}: {e}"))?;
        request = request.header(*name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("answer cut: {e}"))?;
    Ok((status, bytes.to_vec()))
}

async fn healthy(app: &TestApp) -> Result<(), String> {
    let response = fresh_client()
        .get(app.url("/health"))
        .timeout(HANG)
        .send()
        .await
        .map_err(|e| format!("/health did not answer: {e}"))?;
    if response.status() != 200 {
        return Err(format!("/health answered {}", response.status()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Fixtures

async fn open_app(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![("MIRAGE_SIGNUP", "open")];
    env.extend_from_slice(extra);
    TestApp::spawn(&env).await
}

fn data_str<'a>(body: &'a Value, pointer: &str) -> &'a str {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let registered = app
        .graphql_as(
            "",
            REGISTER,
            json!({ "org": "Hostile", "email": "admin@hostile.test", "password": PASSWORD }),
        )
        .await;
    let admin = data_str(&registered, "/data/registerOrganization/accessToken").to_owned();
    let refresh = data_str(&registered, "/data/registerOrganization/refreshToken").to_owned();
    let user_id = data_str(&registered, "/data/registerOrganization/user/id").to_owned();
    let created = app
        .graphql_as(&admin, CREATE_KEY, json!({ "role": "ADMIN" }))
        .await;
    let key = data_str(&created, "/data/createApiKey/key").to_owned();
    let team = app
        .graphql_as(&admin, CREATE_TEAM, json!({ "name": "Red" }))
        .await;
    let team_id = data_str(&team, "/data/createTeam/id").to_owned();
    let (bad_tokens, control) = bad_tokens(app, &admin, &refresh, &key);
    let me = app.graphql_as(&control, ME, json!({})).await;
    assert_eq!(
        me["data"]["me"]["id"],
        user_id.as_str(),
        "a token crafted like the bad ones but valid authenticates: {me}"
    );
    Fixtures {
        bad_keys: bad_keys(&key),
        admin,
        key,
        user_id,
        team_id,
        limit: app.state.config.max_body_bytes,
        bad_tokens,
    }
}

fn b64(json: &Value) -> String {
    BASE64URL_NOPAD.encode(json.to_string().as_bytes())
}

fn decode_part(part: &str) -> Value {
    let bytes = BASE64URL_NOPAD
        .decode(part.as_bytes())
        .expect("base64url part");
    serde_json::from_slice(&bytes).expect("json part")
}

/// Access tokens that must not authenticate, and one made the same way that must (the control
/// that shows each bad token differs from a good one only in what it names).
fn bad_tokens(
    app: &TestApp,
    valid: &str,
    refresh: &str,
    key: &str,
) -> (Vec<(&'static str, String)>, String) {
    let parts: Vec<&str> = valid.split('.').collect();
    assert_eq!(parts.len(), 3, "{valid}");
    let header = decode_part(parts[0]);
    let claims = decode_part(parts[1]);
    let kid = header["kid"].as_str().expect("kid").to_owned();
    let input = AccessTokenInput {
        user_id: claims["sub"].as_str().unwrap().parse().unwrap(),
        organization_id: claims["org"].as_str().unwrap().parse().unwrap(),
        session_id: claims["sid"].as_str().unwrap().parse().unwrap(),
        security_version: claims["ver"].as_u64().unwrap(),
    };
    let dir = app.state.config.data_dir.join("keys");
    let config = app.state.identity.config().jwt.clone();
    let keys = |change: &dyn Fn(&mut security::JwtConfig)| {
        let mut config = config.clone();
        change(&mut config);
        JwtKeys::load_or_create(&dir, config).expect("server keys")
    };
    let now = chrono::Utc::now();
    let server_keys = keys(&|_| {});
    let control = server_keys.issue(&input, now).unwrap();
    let expired = server_keys
        .issue(&input, now - chrono::Duration::hours(2))
        .unwrap();
    let not_yet = server_keys
        .issue(&input, now + chrono::Duration::hours(2))
        .unwrap();
    let wrong_audience = keys(&|c| c.audience = "someone-else".to_owned())
        .issue(&input, now)
        .unwrap();
    let wrong_issuer = keys(&|c| c.issuer = "evil".to_owned())
        .issue(&input, now)
        .unwrap();
    let with_header = |header: Value| format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    let mut tampered_claims = claims.clone();
    tampered_claims["sub"] = json!(uuid::Uuid::now_v7().to_string());
    let mut longer = claims.clone();
    longer["exp"] = json!(4_102_444_800_i64);
    let mut as_refresh = claims.clone();
    as_refresh["typ"] = json!("refresh");
    let forged_signature = BASE64URL_NOPAD.encode(&[7u8; 32]);
    let tokens = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "none", "typ": "JWT", "kid": kid })),
                parts[1]
            ),
        ),
        (
            "alg none, two parts",
            format!("{}.{}", b64(&json!({ "alg": "none" })), parts[1]),
        ),
        (
            "alg NONE",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "NONE", "kid": kid })),
                parts[1]
            ),
        ),
        (
            "alg HS512",
            with_header(json!({ "alg": "HS512", "typ": "JWT", "kid": kid })),
        ),
        (
            "alg RS256",
            with_header(json!({ "alg": "RS256", "typ": "JWT", "kid": kid })),
        ),
        (
            "alg EdDSA",
            with_header(json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid })),
        ),
        (
            "jku header",
            with_header(
                json!({ "alg": "HS256", "typ": "JWT", "kid": kid, "jku": "http://127.0.0.1:1/jwks" }),
            ),
        ),
        (
            "jwk header",
            with_header(
                json!({ "alg": "HS256", "kid": kid, "jwk": { "kty": "oct", "k": "AAAA" } }),
            ),
        ),
        (
            "x5u header",
            with_header(json!({ "alg": "HS256", "kid": kid, "x5u": "http://127.0.0.1:1/x" })),
        ),
        (
            "unknown kid",
            with_header(json!({ "alg": "HS256", "typ": "JWT", "kid": "999999" })),
        ),
        (
            "kid path",
            with_header(json!({ "alg": "HS256", "typ": "JWT", "kid": "../../keys/secrets" })),
        ),
        (
            "no kid",
            with_header(json!({ "alg": "HS256", "typ": "JWT" })),
        ),
        (
            "kid number",
            with_header(json!({ "alg": "HS256", "kid": 1 })),
        ),
        (
            "wrong signature",
            format!("{}.{}.{forged_signature}", parts[0], parts[1]),
        ),
        ("empty signature", format!("{}.{}.", parts[0], parts[1])),
        (
            "tampered subject",
            format!("{}.{}.{}", parts[0], b64(&tampered_claims), parts[2]),
        ),
        (
            "tampered expiry",
            format!("{}.{}.{}", parts[0], b64(&longer), parts[2]),
        ),
        (
            "refresh type",
            format!("{}.{}.{}", parts[0], b64(&as_refresh), parts[2]),
        ),
        ("expired", expired),
        ("not yet valid", not_yet),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("four parts", format!("{valid}.{}", parts[2])),
        ("header only", parts[0].to_owned()),
        ("dots", "..".to_owned()),
        ("garbage", "not.a.jwt".to_owned()),
        ("base64 garbage", "e30.e30.e30".to_owned()),
        (
            "json array header",
            format!("{}.{}.{}", b64(&json!([1])), parts[1], parts[2]),
        ),
        ("too long", format!("{valid}{}", "A".repeat(5000))),
        ("refresh token", refresh.to_owned()),
        ("api key as bearer", key.to_owned()),
        ("whitespace", " ".to_owned()),
        ("empty", String::new()),
    ];
    (tokens, control)
}

/// API keys that must not authenticate: malformed, or the real one changed.
fn bad_keys(key: &str) -> Vec<String> {
    let mut flipped = key.to_owned();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'a' { 'b' } else { 'a' });
    vec![
        String::new(),
        "mk_".to_owned(),
        "mk_x".to_owned(),
        format!("{key}x"),
        key[..key.len() - 1].to_owned(),
        flipped,
        key.to_uppercase(),
        // The id part alone, and the visible prefix alone.
        key.split('.').next().unwrap().to_owned(),
        key[..11].to_owned(),
        format!("{}.", key.split('.').next().unwrap()),
        format!("mk_{}", "A".repeat(10_000)),
        "mk_../../etc/passwd".to_owned(),
        "mk_' OR '1'='1".to_owned(),
        "Bearer mk_x".to_owned(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Generators: one per category, each deterministic given the RNG.

type Generator = fn(&mut StdRng, &Fixtures) -> Hostile;

const CATEGORIES: &[(&str, Generator)] = &[
    ("deep nesting", deep_nesting),
    ("deep fragments", deep_fragments),
    ("fragment fan-out", fragment_fan_out),
    ("aliases", aliases),
    ("huge strings", huge_strings),
    ("huge numbers", huge_numbers),
    ("invalid utf-8", invalid_utf8),
    ("truncated json", truncated_json),
    ("wrong json types", wrong_json_types),
    ("unknown fields and arguments", unknown_fields),
    ("unknown enum values", unknown_enum_values),
    ("wrong scalar types", wrong_scalar_types),
    ("missing variables", missing_variables),
    ("operation names", operation_names),
    ("other methods", other_methods),
    ("wrong content types", wrong_content_types),
    ("oversized bodies", oversized_bodies),
    ("batches", batches),
    ("malformed jwts", malformed_jwts),
    ("malformed api keys", malformed_api_keys),
    ("directive abuse", directive_abuse),
    ("introspection", introspection),
    ("login aliases", login_aliases),
    ("nested values", nested_values),
    ("subscriptions", subscriptions),
    ("random tokens", random_tokens),
    ("variables abuse", variables_abuse),
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("non-empty")
}

/// A credential or none, so hostile documents also reach authenticated code paths.
fn with_some_credential(rng: &mut StdRng, fx: &Fixtures, hostile: Hostile) -> Hostile {
    match rng.random_range(0..4) {
        0 => hostile,
        1 => hostile.header("authorization", format!("Bearer {}", fx.admin)),
        2 => hostile.header("x-api-key", fx.key.clone()),
        _ => {
            let (_, token) = pick(rng, &fx.bad_tokens);
            hostile.header("authorization", format!("Bearer {token}"))
        }
    }
}

/// Fields nested `depth` deep: `me { teams(first: 1) { members(first: 1) { ... id } } }`
/// (pages of one, so that the depth limit, not the cost of the lists, decides).
fn field_chain(depth: usize) -> String {
    let mut doc = String::from("{ me {");
    for level in 1..depth - 1 {
        doc.push_str(if level % 2 == 1 {
            " teams(first: 1) {"
        } else {
            " members(first: 1) {"
        });
    }
    doc.push_str(" id");
    doc.push_str(&" }".repeat(depth - 1));
    doc.push_str(" }");
    doc
}

fn deep_nesting(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let max = api::graphql::MAX_DEPTH;
    let query = match rng.random_range(0..5) {
        0 => field_chain(rng.random_range(max + 1..=max + 200)),
        1 => {
            let depth = rng.random_range(max..=400);
            format!(
                "{{ me {{ {} id {} }} }}",
                "organization {".repeat(depth),
                "}".repeat(depth)
            )
        }
        2 => {
            // As deep as the body allows: only the parser ever sees it.
            let depth = rng.random_range(1_000..(fx.limit / 3).min(80_000));
            format!("{}{}", "{a".repeat(depth), "}".repeat(depth))
        }
        3 => {
            let depth = rng.random_range(33..2_000);
            format!(
                "{{ {} me {{ id }} {} }}",
                "... on QueryRoot {".repeat(depth),
                "}".repeat(depth)
            )
        }
        _ => {
            let depth = rng.random_range(1_000..(fx.limit / 3).min(80_000));
            format!("{{{}", "{".repeat(depth))
        }
    };
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("deep nesting", &query, json!({}), Expect::Refused),
    )
}

fn deep_fragments(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let mut doc = String::new();
    match rng.random_range(0..4) {
        0 => {
            // Each fragment adds two levels of fields.
            let n = rng.random_range(api::graphql::MAX_DEPTH / 2..300);
            doc.push_str("query { me { ...F0 } }\n");
            for i in 0..n {
                let _ = writeln!(
                    doc,
                    "fragment F{i} on User {{ teams {{ members {{ ...F{} }} }} }}",
                    i + 1
                );
            }
            let _ = writeln!(doc, "fragment F{n} on User {{ id }}");
        }
        1 => {
            // Only spreads: no field depth, but recursion.
            let n = rng.random_range(33..600);
            doc.push_str("query { ...F0 }\n");
            for i in 0..n {
                let _ = writeln!(doc, "fragment F{i} on QueryRoot {{ ...F{} }}", i + 1);
            }
            let _ = writeln!(
                doc,
                "fragment F{n} on QueryRoot {{ serverInfo {{ version }} }}"
            );
        }
        2 => {
            // A cycle.
            let n = rng.random_range(1..12);
            doc.push_str("query { ...F0 }\n");
            for i in 0..n {
                let _ = writeln!(doc, "fragment F{i} on QueryRoot {{ ...F{} }}", (i + 1) % n);
            }
        }
        _ => {
            // A cycle through fields, and a spread of an unknown fragment.
            let n = rng.random_range(1..8);
            doc.push_str("query { me { ...F0 ...Nowhere } }\n");
            for i in 0..n {
                let _ = writeln!(
                    doc,
                    "fragment F{i} on User {{ teams {{ members {{ ...F{} }} }} }}",
                    (i + 1) % n
                );
            }
        }
    }
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("deep fragments", &doc, json!({}), Expect::Refused),
    )
}

/// Fragments that each spread the next one several times: the document is small, its
/// expansion is exponential. Kept to at most 4096 leaves here; see the focused test.
fn fan_out_document(fan_out: usize, levels: usize, leaf: &str) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..levels {
        let spreads = format!(" ...F{}", i + 1).repeat(fan_out);
        let _ = writeln!(doc, "fragment F{i} on QueryRoot {{{spreads} }}");
    }
    let _ = writeln!(doc, "fragment F{levels} on QueryRoot {{ {leaf} }}");
    doc
}

fn fragment_fan_out(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let (fan_out, levels) = *pick(
        rng,
        &[(2, 6), (2, 9), (2, 12), (3, 5), (3, 7), (4, 6), (8, 4)],
    );
    let leaf = *pick(
        rng,
        &[
            "serverInfo { version }",
            "me { id }",
            "projects { id name }",
            "__typename",
        ],
    );
    let doc = fan_out_document(fan_out, levels, leaf);
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("fragment fan-out", &doc, json!({}), Expect::Any),
    )
}

fn aliases(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    use api::graphql::cost::{DEFAULT_PAGE, LOOKUP};
    let page = usize::try_from(DEFAULT_PAGE).unwrap();
    let (field, cost) = *pick(
        rng,
        &[
            // A lookup and its one value.
            ("me { id }", LOOKUP + 1),
            ("serverInfo { version }", LOOKUP + 1),
            // A lookup and a default page of one value each.
            ("projects { id }", LOOKUP + page),
            ("me { organization { id } }", LOOKUP + LOOKUP + 1),
            ("__typename", 0),
        ],
    );
    let count = match rng.random_range(0..4) {
        // Around the limit of every field above.
        0 => rng.random_range(50..2_000),
        1 => 10_000,
        2 => 18_000,
        _ => 100_000,
    };
    let mut doc = String::with_capacity(count * (field.len() + 8));
    doc.push('{');
    for i in 0..count {
        let _ = write!(doc, " a{i}: {field}");
    }
    doc.push('}');
    // Within the complexity limit is allowed; `__typename` costs nothing (see the focused test).
    let expect = if cost * count > api::graphql::MAX_COMPLEXITY {
        Expect::Refused
    } else {
        Expect::Any
    };
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("aliases", &doc, json!({}), expect),
    )
}

/// A string of `len` characters from an unfriendly alphabet.
fn nasty_string(rng: &mut StdRng, len: usize) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\u{0}", "\u{1b}", "'", "<", ">", "&", "%",
        "$", "{", "}", "é", "ß", "\u{202e}", "\u{feff}", "𝔘", "😀", "\u{fffd}", "@", "..",
    ];
    let mut text = String::with_capacity(len);
    while text.len() < len {
        text.push_str(pick::<&str>(rng, PIECES));
    }
    text
}

fn huge_strings(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let len = rng.random_range(1_000..fx.limit / 2);
    let huge = nasty_string(rng, len);
    let small = "x@hostile.test".to_owned();
    let (query, variables, credential) = match rng.random_range(0..7) {
        0 => (
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { mfaRequired } }",
            json!({ "e": huge, "p": PASSWORD }),
            false,
        ),
        1 => (
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { mfaRequired } }",
            json!({ "e": small, "p": huge }),
            false,
        ),
        2 => (
            "mutation($o: String!, $e: String!, $p: String!) { registerOrganization(input: { organizationName: $o, email: $e, password: $p, displayName: $o }) { accessToken } }",
            json!({ "o": huge, "e": "not an email", "p": PASSWORD }),
            false,
        ),
        3 => (
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": huge }),
            false,
        ),
        4 => (
            "mutation($n: String!) { createTeam(input: { name: $n }) { id } }",
            json!({ "n": huge }),
            true,
        ),
        5 => (
            "mutation($c: String!) { confirmTotp(code: $c) }",
            json!({ "c": huge }),
            true,
        ),
        _ => {
            // In the document itself rather than in a variable.
            let literal = serde_json::to_string(&huge).unwrap();
            let query =
                format!("mutation {{ refreshToken(refreshToken: {literal}) {{ accessToken }} }}");
            return Hostile::graphql("huge strings", &query, json!({}), Expect::Any);
        }
    };
    let hostile = Hostile::graphql("huge strings", query, variables, Expect::Any);
    if credential {
        hostile.header("authorization", format!("Bearer {}", fx.admin))
    } else {
        hostile
    }
}

fn huge_numbers(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const NUMBERS: &[&str] = &[
        "1e308",
        "-1e308",
        "1.7976931348623157e308",
        "1e999",
        "-1e999",
        "18446744073709551616",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "0.0000000000000000000000000000000000000000000000001",
        "1e-999",
        "-0",
        "9007199254740993",
    ];
    let number = if rng.random_bool(0.2) {
        "9".repeat(rng.random_range(300..20_000))
    } else {
        (*pick(rng, NUMBERS)).to_owned()
    };
    let (declaration, usage) = *pick(
        rng,
        &[
            ("$x: ID!", "disableUser(userId: $x) { id }"),
            (
                "$x: String!",
                "refreshToken(refreshToken: $x) { accessToken }",
            ),
            (
                "$x: Role!",
                "createApiKey(input: { name: \"n\", role: $x }) { id }",
            ),
            (
                "$x: DateTime",
                "createApiKey(input: { name: \"n\", role: READ_ONLY, expiresAt: $x }) { id }",
            ),
            ("$x: Boolean!", "logout @skip(if: $x)"),
        ],
    );
    let body = if rng.random_bool(0.5) {
        // In the variables, as raw JSON text (serde would round it otherwise).
        format!(
            "{{\"query\":{},\"variables\":{{\"x\":{number}}}}}",
            serde_json::to_string(&format!("mutation({declaration}) {{ {usage} }}")).unwrap()
        )
    } else {
        let inline = usage.replace("$x", &number);
        serde_json::to_string(&json!({ "query": format!("mutation {{ {inline} }}") })).unwrap()
    };
    with_some_credential(
        rng,
        fx,
        Hostile::raw("huge numbers", body.into_bytes(), Expect::Any),
    )
}

fn valid_body(rng: &mut StdRng, fx: &Fixtures) -> Vec<u8> {
    let query = *pick(
        rng,
        &[
            "{ me { id email role organization { id name } teams { id } } }",
            "query P { projects { id name team { id name } } }",
            "{ serverInfo { version profile storeBackend headPosition } }",
        ],
    );
    let mut body = serde_json::to_vec(
        &json!({ "query": query, "variables": { "id": fx.user_id, "team": fx.team_id } }),
    )
    .unwrap();
    if query.starts_with("query P") {
        body = serde_json::to_vec(&json!({ "query": query, "operationName": "P" })).unwrap();
    }
    body
}

fn invalid_utf8(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const BAD: &[&[u8]] = &[
        b"\xff",
        b"\xfe\xff",
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\x80",
        b"\xe2\x82",
        b"\xf4\x90\x80\x80",
    ];
    let mut body = valid_body(rng, fx);
    let insertions = rng.random_range(1..4);
    for _ in 0..insertions {
        let at = rng.random_range(0..=body.len());
        let bad = pick(rng, BAD);
        body.splice(at..at, bad.iter().copied());
    }
    let hostile = Hostile::raw("invalid utf-8", body, Expect::Status(400));
    let hostile = with_some_credential(rng, fx, hostile);
    if rng.random_bool(0.2) {
        // Non-UTF-8 bytes in a credential header as well (obs-text is legal in HTTP headers).
        hostile.header("authorization", b"Bearer \xff\xfe\x80abc".to_vec())
    } else {
        hostile
    }
}

fn truncated_json(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let body = valid_body(rng, fx);
    let cut = rng.random_range(0..body.len());
    with_some_credential(
        rng,
        fx,
        Hostile::raw("truncated json", body[..cut].to_vec(), Expect::Status(400)),
    )
}

fn wrong_json_types(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const WRONG: &[&str] = &[
        "5",
        "true",
        "[]",
        "[\"{ me { id } }\"]",
        "{}",
        "{\"a\":1}",
        "-1.5e3",
    ];
    let wrong = *pick(rng, WRONG);
    let body = match rng.random_range(0..6) {
        0 => format!("{{\"query\":{wrong}}}"),
        1 => format!(
            "{{\"query\":\"{{ me {{ id }} }}\",\"variables\":{}}}",
            pick(rng, &["5", "true", "\"x\"", "[]", "[1,2]", "\"{}\""])
        ),
        2 => format!("{{\"query\":\"query A {{ me {{ id }} }}\",\"operationName\":{wrong}}}"),
        3 => (*pick(
            rng,
            &[
                "\"{ me { id } }\"",
                "5",
                "null",
                "true",
                "\"\"",
                "{}",
                "{\"query\":null}",
                "{\"Query\":\"{ me { id } }\"}",
            ],
        ))
        .to_owned(),
        4 => format!(
            "{{\"query\":\"{{ me {{ id }} }}\",\"extensions\":{}}}",
            pick(
                rng,
                &[
                    "5",
                    "\"x\"",
                    "[]",
                    "{\"persistedQuery\":{\"version\":1,\"sha256Hash\":\"00\"}}"
                ]
            )
        ),
        _ => format!("{{\"query\":\"{{ me {{ id }} }}\",\"query\":{wrong}}}"),
    };
    with_some_credential(
        rng,
        fx,
        Hostile::raw("wrong json types", body.into_bytes(), Expect::Any),
    )
}

fn unknown_fields(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    // Near misses of real names: exactly where a suggestion would appear if one could.
    const NEAR: &[&str] = &[
        "mee",
        "m",
        "projets",
        "serverinfo",
        "serverInf",
        "users",
        "user",
        "organization",
        "organisation",
        "emial",
        "Email",
        "rol",
        "__schem",
        "admin",
        "password",
        "passwordHash",
        "apiKeys",
        "secret",
        "totpSecret",
        "teamz",
        "memebers",
    ];
    let name = *pick(rng, NEAR);
    let query = match rng.random_range(0..6) {
        0 => format!("{{ {name} {{ id }} }}"),
        1 => format!("{{ me {{ id {name} }} }}"),
        2 => format!("{{ me({name}: 1) {{ id }} }}"),
        3 => format!("{{ serverInfo {{ version(x: \"{name}\") }} }}"),
        4 => format!("mutation {{ createTeam(input: {{ name: \"t\", {name}: true }}) {{ id }} }}"),
        _ => format!("mutation {{ {name}(input: {{}}) {{ id }} }}"),
    };
    with_some_credential(
        rng,
        fx,
        Hostile::graphql(
            "unknown fields and arguments",
            &query,
            json!({}),
            Expect::Refused,
        ),
    )
}

fn unknown_enum_values(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const VALUES: &[&str] = &[
        "\"GOD\"",
        "\"admin\"",
        "\"Admin\"",
        "\"ROOT\"",
        "\"\"",
        "\"ADMIN \"",
        "\"READ-ONLY\"",
        "5",
        "null",
        "[\"ADMIN\"]",
        "{\"ADMIN\":true}",
        "true",
        "\"ADMIN\\u0000\"",
    ];
    let value = *pick(rng, VALUES);
    let (query, in_variables) = *pick(
        rng,
        &[
            (
                "mutation($r: Role!) { createUser(input: { email: \"e@hostile.test\", password: \"correct horse battery\", displayName: \"E\", role: $r }) { id } }",
                true,
            ),
            (
                "mutation($r: Role!, $u: ID!) { changeUserRole(userId: $u, role: $r) { id } }",
                true,
            ),
            (
                "mutation($r: Role!) { createApiKey(input: { name: \"k\", role: $r }) { id } }",
                true,
            ),
            (
                "mutation { createApiKey(input: { name: \"k\", role: GOD }) { id } }",
                false,
            ),
            (
                "mutation { createApiKey(input: { name: \"k\", role: \"GOD\" }) { id } }",
                false,
            ),
            (
                "mutation { changeUserRole(userId: \"x\", role: admin) { id } }",
                false,
            ),
        ],
    );
    let body = if in_variables {
        format!(
            "{{\"query\":{},\"variables\":{{\"r\":{value},\"u\":\"{}\"}}}}",
            serde_json::to_string(query).unwrap(),
            fx.user_id
        )
    } else {
        serde_json::to_string(&json!({ "query": query })).unwrap()
    };
    Hostile::raw("unknown enum values", body.into_bytes(), Expect::Refused)
        .header("authorization", format!("Bearer {}", fx.admin))
}

fn wrong_scalar_types(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let cases: &[(&str, &str, Expect)] = &[
        ("$x: ID!", "{\"a\":1}", Expect::Refused),
        ("$x: ID!", "[\"x\"]", Expect::Refused),
        ("$x: ID!", "true", Expect::Refused),
        ("$x: ID!", "1.5", Expect::Any),
        ("$x: ID!", "null", Expect::Refused),
        ("$x: String!", "5", Expect::Refused),
        ("$x: String!", "{}", Expect::Refused),
        ("$x: String!", "[]", Expect::Refused),
        ("$x: Boolean!", "\"true\"", Expect::Refused),
        ("$x: Boolean!", "1", Expect::Refused),
        ("$x: DateTime", "\"yesterday\"", Expect::Refused),
        ("$x: DateTime", "\"2024-13-45T99:99:99Z\"", Expect::Refused),
        ("$x: DateTime", "\"+999999-01-01T00:00:00Z\"", Expect::Any),
        ("$x: DateTime", "\"0000-00-00T00:00:00Z\"", Expect::Refused),
        ("$x: DateTime", "1700000000", Expect::Refused),
        ("$x: CreateTeamInput!", "\"name\"", Expect::Refused),
        ("$x: CreateTeamInput!", "{\"name\":5}", Expect::Refused),
        ("$x: CreateTeamInput!", "{}", Expect::Refused),
        ("$x: Role!", "\"ADMIN\"", Expect::Any),
        ("$x: Int", "5", Expect::Refused),
        ("$x: Upload", "5", Expect::Refused),
    ];
    let (declaration, value, expect) = *pick(rng, cases);
    let usage = match declaration {
        "$x: ID!" => "disableUser(userId: $x) { id }",
        "$x: String!" => "refreshToken(refreshToken: $x) { accessToken }",
        "$x: Boolean!" => "logout @include(if: $x)",
        "$x: DateTime" => {
            "createApiKey(input: { name: \"n\", role: ANALYST, expiresAt: $x }) { id }"
        }
        "$x: CreateTeamInput!" => "createTeam(input: $x) { id }",
        "$x: Role!" => "changeUserRole(userId: \"not-a-uuid\", role: $x) { id }",
        _ => "logout",
    };
    let body = format!(
        "{{\"query\":{},\"variables\":{{\"x\":{value}}}}}",
        serde_json::to_string(&format!("mutation({declaration}) {{ {usage} }}")).unwrap()
    );
    Hostile::raw("wrong scalar types", body.into_bytes(), expect)
        .header("authorization", format!("Bearer {}", fx.admin))
}

fn missing_variables(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let cases: &[(&str, Value)] = &[
        (
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({}),
        ),
        (
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": null }),
        ),
        (
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "T": "x" }),
        ),
        (
            "mutation { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": "x" }),
        ),
        (
            "mutation($u: ID!, $r: Role!) { changeUserRole(userId: $u, role: $r) { id } }",
            json!({ "u": "x" }),
        ),
        (
            "mutation($t: String) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({}),
        ),
        (
            "mutation($r: Role = GOD) { createApiKey(input: { name: \"k\", role: $r }) { id } }",
            json!({}),
        ),
        (
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { id } }",
            json!({ "i": {} }),
        ),
        (
            "mutation($t: String!, $t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": "x" }),
        ),
        (
            "query($unused: String!) { serverInfo { version } }",
            json!({}),
        ),
        (
            "mutation($c: [String!]!) { confirmTotp(code: $c) }",
            json!({ "c": ["1"] }),
        ),
    ];
    let (query, variables) = pick(rng, cases);
    with_some_credential(
        rng,
        fx,
        Hostile::graphql(
            "missing variables",
            query,
            variables.clone(),
            Expect::Refused,
        ),
    )
}

fn operation_names(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let cases: &[(&str, Option<&str>, Expect)] = &[
        (
            "query A { me { id } } query A { serverInfo { version } }",
            None,
            Expect::Refused,
        ),
        (
            "query A { me { id } } query A { serverInfo { version } }",
            Some("A"),
            Expect::Refused,
        ),
        (
            "query A { me { id } } mutation A { logout }",
            Some("A"),
            Expect::Refused,
        ),
        (
            "{ me { id } } { serverInfo { version } }",
            None,
            Expect::Refused,
        ),
        (
            "{ me { id } } query B { serverInfo { version } }",
            Some("B"),
            Expect::Refused,
        ),
        (
            "query A { me { id } } query B { serverInfo { version } }",
            None,
            Expect::Refused,
        ),
        (
            "query A { me { id } } query B { serverInfo { version } }",
            Some("C"),
            Expect::Refused,
        ),
        ("query A { me { id } }", Some("a"), Expect::Refused),
        ("{ me { id } }", Some("A"), Expect::Refused),
        (
            "query A { me { id } } query B { serverInfo { version } }",
            Some("B"),
            Expect::Any,
        ),
        ("query A { me { id } }", Some(""), Expect::Refused),
    ];
    let (query, name, expect) = *pick(rng, cases);
    let mut request = json!({ "query": query });
    if let Some(name) = name {
        request["operationName"] = json!(name);
    }
    if rng.random_bool(0.1) {
        request["operationName"] = json!(nasty_string(rng, 20_000));
    }
    let expect = if request["operationName"]
        .as_str()
        .is_some_and(|n| n.len() > 100)
    {
        Expect::Refused
    } else {
        expect
    };
    with_some_credential(
        rng,
        fx,
        Hostile::raw(
            "operation names",
            serde_json::to_vec(&request).unwrap(),
            expect,
        ),
    )
}

fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

fn other_methods(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let query = *pick(
        rng,
        &[
            "mutation { logout }",
            "mutation { createTeam(input: { name: \"csrf\" }) { id } }",
            "mutation { login(input: { email: \"a@b.test\", password: \"x\" }) { mfaRequired } }",
            "{ me { id } }",
        ],
    );
    let method = pick(
        rng,
        &[
            Method::GET,
            Method::GET,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::HEAD,
        ],
    )
    .clone();
    let mut hostile = Hostile::graphql("other methods", query, json!({}), Expect::Status(405));
    hostile.method = method;
    if hostile.method == Method::GET {
        hostile.target = format!("/graphql?query={}", percent_encode(query));
        hostile.body.clear();
    }
    hostile.header("authorization", format!("Bearer {}", fx.admin))
}

fn wrong_content_types(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const TYPES: &[Option<&str>] = &[
        None,
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("text/html"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
        Some("application/graphql-response+json"),
        Some("application/jsonp"),
        Some("application/json5"),
        Some("application/json,text/plain"),
        Some("application/xml"),
        Some("json"),
        Some(""),
        Some("*/*"),
        Some("application/*"),
    ];
    let content_type = *pick(rng, TYPES);
    let mut hostile = Hostile::raw(
        "wrong content types",
        valid_body(rng, fx),
        Expect::Status(415),
    )
    .without_header("content-type");
    if let Some(content_type) = content_type {
        hostile = hostile.header("content-type", content_type);
    }
    if content_type == Some("application/x-www-form-urlencoded") {
        hostile.body = b"query=mutation%20%7B%20logout%20%7D".to_vec();
    }
    with_some_credential(rng, fx, hostile)
}

fn oversized_bodies(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let size = if rng.random_bool(0.3) {
        fx.limit + 1
    } else {
        rng.random_range(fx.limit + 1..fx.limit * 4)
    };
    let body = match rng.random_range(0..3) {
        0 => {
            let mut body = br#"{"query":"{ serverInfo { version } }"}"#.to_vec();
            body.resize(size, b' ');
            body
        }
        1 => {
            let filler = "x".repeat(size);
            let mut body = serde_json::to_vec(&json!({ "query": filler })).unwrap();
            body.truncate(size);
            body
        }
        _ => {
            let mut body = Vec::with_capacity(size);
            while body.len() < size {
                body.push(rng.random::<u8>());
            }
            body
        }
    };
    with_some_credential(
        rng,
        fx,
        Hostile::raw("oversized bodies", body, Expect::Status(413)),
    )
}

fn batches(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let count = *pick(rng, &[0usize, 1, 2, 10, 100, 1_000]);
    let item = pick(
        rng,
        &[
            json!({ "query": "{ serverInfo { version } }" }),
            json!({ "query": "mutation { login(input: { email: \"a@b.test\", password: \"guess\" }) { mfaRequired } }" }),
            json!({ "query": "{ me { id } }" }),
            json!(5),
        ],
    )
    .clone();
    let mut body = serde_json::to_vec(&vec![item; count]).unwrap();
    if rng.random_bool(0.3) {
        let mut padded = b" \n\t ".to_vec();
        padded.extend_from_slice(&body);
        body = padded;
    }
    with_some_credential(rng, fx, Hostile::raw("batches", body, Expect::Status(400)))
}

fn malformed_jwts(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let query = *pick(
        rng,
        &[
            "{ me { id } }",
            "{ projects { id } }",
            "mutation { createTeam(input: { name: \"forged\" }) { id } }",
            "mutation { createApiKey(input: { name: \"forged\", role: ADMIN }) { key } }",
            "mutation { logout }",
        ],
    );
    let hostile = Hostile::graphql(
        "malformed jwts",
        query,
        json!({}),
        Expect::Code("UNAUTHENTICATED"),
    );
    match rng.random_range(0..8) {
        0 => hostile.header(
            "authorization",
            pick(
                rng,
                &[
                    "Bearer",
                    "Bearer  ",
                    "Basic YWRtaW46YWRtaW4=",
                    "Token x",
                    "bearer",
                    "Bearer\tx.y.z",
                    "Digest a=b",
                ],
            )
            .to_string(),
        ),
        _ => {
            let (_, token) = pick(rng, &fx.bad_tokens);
            let scheme = *pick(rng, &["Bearer ", "bearer ", "Bearer  "]);
            hostile.header("authorization", format!("{scheme}{token}"))
        }
    }
}

fn malformed_api_keys(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let query = *pick(
        rng,
        &[
            "{ me { id } }",
            "{ projects { id } }",
            "mutation { createUser(input: { email: \"k@hostile.test\", password: \"correct horse battery\", displayName: \"K\", role: ADMIN }) { id } }",
        ],
    );
    let key = pick(rng, &fx.bad_keys).clone();
    let hostile = Hostile::graphql(
        "malformed api keys",
        query,
        json!({}),
        Expect::Code("UNAUTHENTICATED"),
    )
    .header("x-api-key", key);
    if rng.random_bool(0.3) {
        // A bad key next to a good token: the key is what is checked, and it fails.
        hostile.header("authorization", format!("Bearer {}", fx.admin))
    } else {
        hostile
    }
}

fn directive_abuse(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let n = rng.random_range(api::graphql::MAX_DIRECTIVES + 1..800);
    let directive = *pick(
        rng,
        &[
            "@skip(if: false)",
            "@include(if: true)",
            "@skip(if: true)",
            "@skip(if: $x)",
            "@foo",
            "@deprecated",
            "@specifiedBy(url: \"x\")",
            "@skip",
            "@skip(if: \"yes\")",
        ],
    );
    let many = format!(" {directive}").repeat(n);
    let query = match rng.random_range(0..5) {
        0 => format!("query($x: Boolean = false) {{ serverInfo{many} {{ version }} }}"),
        1 => format!("query($x: Boolean = false) {{ me {{ id{many} }} }}"),
        2 => format!(
            "query($x: Boolean = false) {{ ...F{many} }} fragment F on QueryRoot {{ serverInfo {{ version }} }}"
        ),
        3 => format!(
            "query($x: Boolean = false) {{ ... on QueryRoot{many} {{ serverInfo {{ version }} }} }}"
        ),
        _ => format!("query Q($x: Boolean = false){many} {{ serverInfo {{ version }} }}"),
    };
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("directive abuse", &query, json!({}), Expect::Refused),
    )
}

fn introspection(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const QUERIES: &[&str] = &[
        "{ __schema { types { name } } }",
        "{ __schema { queryType { name } mutationType { fields { name args { name } } } } }",
        "query IntrospectionQuery { __schema { types { name kind fields(includeDeprecated: true) { name } inputFields { name } enumValues { name } } directives { name } } }",
        "{ __type(name: \"CreateApiKeyInput\") { inputFields { name type { name } } } }",
        "{ __type(name: \"User\") { fields { name } } }",
        "{ __type(name: \"__Schema\") { fields { name } } }",
        "{ a: __schema { types { name } } b: __type(name: \"Role\") { enumValues { name } } }",
        "query { ...I } fragment I on QueryRoot { __schema { types { name } } }",
        "{ ... on QueryRoot { __type(name: \"MutationRoot\") { fields { name } } } }",
    ];
    let query = *pick(rng, QUERIES);
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("introspection", query, json!({}), Expect::NoIntrospection),
    )
}

fn login_aliases(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let count = rng.random_range(2..60);
    let mut doc = String::from("mutation {");
    for i in 0..count {
        let field = match rng.random_range(0..7) {
            5 => format!(
                "oidcComplete(state: \"s{}\", code: \"c\") {{ accessToken }}",
                rng.random::<u32>()
            ),
            6 => format!(
                "oidcVerifyTotp(mfaToken: \"m{}\", totp: \"{:06}\") {{ accessToken }}",
                rng.random::<u32>(),
                rng.random_range(0..1_000_000)
            ),
            0 | 1 => format!(
                "login(input: {{ email: \"admin@hostile.test\", password: \"guess-{i}-{}\" }}) {{ accessToken }}",
                rng.random::<u32>()
            ),
            2 => "refreshToken(refreshToken: \"mr_guess\") { accessToken }".to_owned(),
            3 => format!(
                "confirmTotp(code: \"{:06}\")",
                rng.random_range(0..1_000_000)
            ),
            _ => format!(
                "registerOrganization(input: {{ organizationName: \"O{i}\", email: \"o{i}@hostile.test\", password: \"{PASSWORD}\", displayName: \"O\" }}) {{ accessToken }}"
            ),
        };
        let _ = write!(doc, " a{i}: {field}");
    }
    doc.push_str(" }");
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("login aliases", &doc, json!({}), Expect::Refused),
    )
}

fn nested_values(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let depth = rng.random_range(50..(fx.limit / 4).min(60_000));
    match rng.random_range(0..4) {
        0 => {
            let value = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
            let query =
                format!("mutation {{ refreshToken(refreshToken: {value}) {{ accessToken }} }}");
            Hostile::graphql("nested values", &query, json!({}), Expect::Refused)
        }
        1 => {
            let value = format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth));
            let query = format!(
                "mutation {{ createTeam(input: {{ name: \"n\", extra: {value} }}) {{ id }} }}"
            );
            Hostile::graphql("nested values", &query, json!({}), Expect::Refused)
        }
        2 => {
            // Nested JSON in the variables: serde_json stops at its recursion limit.
            let value = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let body = format!(
                "{{\"query\":\"mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ accessToken }} }}\",\"variables\":{{\"t\":{value}}}}}"
            );
            Hostile::raw("nested values", body.into_bytes(), Expect::Any)
        }
        _ => {
            let depth = depth.min(120);
            let value = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            let body = format!(
                "{{\"query\":\"mutation($i: CreateTeamInput!) {{ createTeam(input: $i) {{ id }} }}\",\"variables\":{{\"i\":{value}}}}}"
            );
            Hostile::raw("nested values", body.into_bytes(), Expect::Any)
                .header("authorization", format!("Bearer {}", fx.admin))
        }
    }
}

fn subscriptions(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let query = *pick(
        rng,
        &[
            "subscription { __typename }",
            "subscription { me { id } }",
            "subscription S { serverInfo { version } }",
            "subscription { scanEvents(scanId: \"x\") { id } }",
        ],
    );
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("subscriptions", query, json!({}), Expect::Refused),
    )
}

fn random_tokens(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "...",
        "@",
        "$",
        "!",
        "=",
        "|",
        "&",
        ",",
        "query",
        "mutation",
        "subscription",
        "fragment",
        "on",
        "me",
        "id",
        "projects",
        "serverInfo",
        "login",
        "input",
        "email",
        "\"s\"",
        "\"\"\"block\"\"\"",
        "1",
        "-1",
        "1.5e9",
        "true",
        "null",
        "ADMIN",
        "skip",
        "include",
        "if",
        "__schema",
        "__typename",
        "#comment\n",
        "\u{feff}",
        "\"unterminated",
        "\\",
        "\u{0}",
        "x",
        "F",
    ];
    let len = rng.random_range(1..300);
    let mut query = String::new();
    for _ in 0..len {
        query.push_str(pick::<&str>(rng, TOKENS));
        if rng.random_bool(0.5) {
            query.push(' ');
        }
    }
    with_some_credential(
        rng,
        fx,
        Hostile::graphql("random tokens", &query, json!({}), Expect::Any),
    )
}

fn variables_abuse(rng: &mut StdRng, fx: &Fixtures) -> Hostile {
    let n = rng.random_range(100..5_000);
    match rng.random_range(0..3) {
        0 => {
            let declarations: String = (0..n).map(|i| format!(" $v{i}: String")).collect();
            let query = format!("query({declarations}) {{ serverInfo {{ version }} }}");
            Hostile::graphql("variables abuse", &query, json!({}), Expect::Refused)
        }
        1 => {
            let variables: serde_json::Map<String, Value> = (0..n)
                .map(|i| (format!("v{i}"), json!(nasty_string(rng, 20))))
                .collect();
            with_some_credential(
                rng,
                fx,
                Hostile::graphql(
                    "variables abuse",
                    "{ serverInfo { version } }",
                    Value::Object(variables),
                    Expect::Any,
                ),
            )
        }
        _ => Hostile::graphql(
            "variables abuse",
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { id } }",
            json!({ "i": { "name": "t", "__proto__": { "admin": true }, "constructor": 1 } }),
            Expect::Refused,
        )
        .header("authorization", format!("Bearer {}", fx.admin)),
    }
}

fn generate(fx: &Fixtures) -> Vec<Hostile> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut all = Vec::with_capacity(CATEGORIES.len() * PER_CATEGORY);
    for round in 0..PER_CATEGORY {
        for (index, (name, generator)) in CATEGORIES.iter().enumerate() {
            let mut hostile = generator(&mut rng, fx);
            assert_eq!(hostile.category, *name, "round {round}, generator {index}");
            if hostile.body.len() > fx.limit {
                // Over the limit nothing else matters: the body is never read.
                hostile.expect = Expect::Status(413);
            }
            all.push(hostile);
        }
    }
    all
}

// ---------------------------------------------------------------------------------------------
// The generated run

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_hostile_requests_get_4xx_or_coded_errors_and_never_break_the_server() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    let requests = generate(&fx);
    assert!(requests.len() >= 1_000, "{} requests", requests.len());

    let client = fresh_client();
    let results: Vec<(&'static str, Result<(), String>, String)> =
        futures::stream::iter(requests.iter())
            .map(|hostile| {
                let (app, client, limit) = (&app, &client, fx.limit);
                async move {
                    let outcome = match send(client, app, hostile).await {
                        Ok((status, bytes)) => check(hostile, limit, status, &bytes).map_err(|e| {
                            let answer = String::from_utf8_lossy(&bytes);
                            format!(
                                "{e}\n    answer: {}",
                                answer.chars().take(300).collect::<String>()
                            )
                        }),
                        // The server may answer 413 and close the connection before an
                        // oversized upload ends; the client then sees the connection end, not
                        // the answer. Whether the server is still well is checked next.
                        Err(_) if hostile.body.len() > limit => Ok(()),
                        Err(e) => Err(e),
                    };
                    let outcome = outcome.and(healthy(app).await);
                    (hostile.category, outcome, hostile.preview())
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;

    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (category, outcome, preview) in &results {
        let entry = counts.entry(category).or_default();
        entry.0 += 1;
        if let Err(error) = outcome {
            entry.1 += 1;
            failures.push(format!("[{category}] {error}\n    request: {preview}"));
        }
    }
    for (category, (sent, failed)) in &counts {
        eprintln!("{category:>30}: {sent:>4} sent, {failed} failed");
    }
    eprintln!("{:>30}: {:>4} sent", "total", results.len());
    assert_eq!(counts.len(), CATEGORIES.len());
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests were mishandled; the first ones:\n{}",
        failures.len(),
        results.len(),
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Still itself after all of it: a valid credential works, nothing was created by GET.
    let me = app.graphql_as(&fx.admin, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], fx.user_id.as_str(), "{me}");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Focused tests

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

fn no_suggestions(body: &Value) {
    assert!(!body.to_string().contains("Did you mean"), "{body}");
}

async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<Value>) {
    let mut request = app.client.post(app.url("/graphql")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("answer");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_limit_is_exact_and_coded() {
    let app = open_app(&[]).await;
    let max = api::graphql::MAX_DEPTH;
    let (_, at_limit) = app.graphql(&field_chain(max), json!({})).await;
    assert_eq!(
        code(&at_limit),
        "UNAUTHENTICATED",
        "depth {max} is allowed: {at_limit}"
    );
    let (status, over) = app.graphql(&field_chain(max + 1), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        over,
        json!({
            "data": null,
            "errors": [{ "message": "Query is nested too deep.", "extensions": { "code": "BAD_USER_INPUT" } }]
        })
    );
    // Pages of one: async-graphql checks the cost before the depth.
    let deep_fragments = "query { me { ...A } }
        fragment A on User { teams(first: 1) { members(first: 1) { ...B } } }
        fragment B on User { teams(first: 1) { members(first: 1) { ...C } } }
        fragment C on User { teams(first: 1) { members(first: 1) { ...D } } }
        fragment D on User { teams(first: 1) { members(first: 1) { ...E } } }
        fragment E on User { teams(first: 1) { members(first: 1) { ...F } } }
        fragment F on User { teams(first: 1) { members(first: 1) { id } } }";
    let (_, body) = app.graphql(deep_fragments, json!({})).await;
    assert_eq!(
        body["errors"][0]["message"], "Query is nested too deep.",
        "{body}"
    );
    assert_eq!(code(&body), "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complexity_limit_is_exact_and_coded() {
    use api::graphql::MAX_COMPLEXITY;
    use api::graphql::cost::LOOKUP;
    let app = open_app(&[]).await;
    // A hundred pages of `first` rows of one value each cost 100 x (LOOKUP + first): exactly
    // the limit, and one row more on one of them is over it.
    assert_eq!(MAX_COMPLEXITY % 100, 0);
    let first = MAX_COMPLEXITY / 100 - LOOKUP;
    let aliases = |extra: usize| {
        let fields: String = (0..100)
            .map(|i| {
                let rows = if i == 0 { first + extra } else { first };
                format!(" a{i}: projects(first: {rows}) {{ id }}")
            })
            .collect();
        format!("{{{fields} }}")
    };
    let (_, at_limit) = app.graphql(&aliases(0), json!({})).await;
    assert_eq!(
        code(&at_limit),
        "UNAUTHENTICATED",
        "cost {MAX_COMPLEXITY} is allowed: {at_limit}"
    );
    let (_, over) = app.graphql(&aliases(1), json!({})).await;
    assert_eq!(
        over,
        json!({
            "data": null,
            "errors": [{ "message": "Query is too complex.", "extensions": { "code": "BAD_USER_INPUT" } }]
        })
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_authentication_attempt_per_document() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    let login = |i: usize| {
        format!(
            "l{i}: login(input: {{ email: \"admin@hostile.test\", password: \"wrong-{i}\" }}) {{ accessToken }}"
        )
    };
    let documents = [
        format!("mutation {{ {} {} }}", login(0), login(1)),
        format!("mutation {{ {} }}", (0..50).map(login).collect::<Vec<_>>().join(" ")),
        format!("mutation {{ {} r: refreshToken(refreshToken: \"mr_x\") {{ accessToken }} }}", login(0)),
        "mutation { a: refreshToken(refreshToken: \"mr_a\") { accessToken } b: refreshToken(refreshToken: \"mr_b\") { accessToken } }".to_owned(),
        "mutation { a: confirmTotp(code: \"000000\") b: confirmTotp(code: \"000001\") }".to_owned(),
        format!(
            "mutation {{ a: registerOrganization(input: {{ organizationName: \"A\", email: \"a@a.test\", password: \"{PASSWORD}\", displayName: \"A\" }}) {{ accessToken }} {} }}",
            login(0)
        ),
        format!("mutation {{ ...L }} fragment L on MutationRoot {{ {} {} }}", login(0), login(1)),
        "mutation { a: oidcComplete(state: \"s1\", code: \"c\") { accessToken } b: oidcComplete(state: \"s2\", code: \"c\") { accessToken } }".to_owned(),
        "mutation { a: oidcVerifyTotp(mfaToken: \"m\", totp: \"000000\") { accessToken } b: oidcVerifyTotp(mfaToken: \"m\", totp: \"000001\") { accessToken } }".to_owned(),
        "mutation { a: oidcBegin(provider: \"p\") { authorizationUrl } b: oidcBegin(provider: \"p\") { authorizationUrl } }".to_owned(),
    ];
    for document in &documents {
        for _ in 0..3 {
            let body = app.graphql_as(&fx.admin, document, json!({})).await;
            assert_eq!(
                body,
                json!({
                    "data": null,
                    "errors": [{ "message": "Query is too complex.", "extensions": { "code": "BAD_USER_INPUT" } }]
                }),
                "{document}"
            );
        }
    }
    // None of those attempts ran: the throttle saw no failure, the right password still works.
    let login_ok = app
        .graphql_as(
            "",
            "mutation($p: String!) { login(input: { email: \"admin@hostile.test\", password: $p }) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert!(
        login_ok["data"]["login"]["accessToken"].is_string(),
        "{login_ok}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directive_limit_is_coded() {
    let app = open_app(&[]).await;
    let max = api::graphql::MAX_DIRECTIVES;
    let repeated = |n: usize| {
        format!(
            "{{ serverInfo {} {{ version }} }}",
            " @include(if: true)".repeat(n)
        )
    };
    let (_, over) = app.graphql(&repeated(max + 1), json!({})).await;
    assert_eq!(
        over["errors"][0]["message"],
        format!(
            "The number of directives on the field `serverInfo` cannot be greater than `{max}`"
        ),
        "{over}"
    );
    assert_eq!(code(&over), "BAD_USER_INPUT");
    assert!(over["data"].is_null());
    let (_, hundreds) = app.graphql(&repeated(500), json!({})).await;
    assert_eq!(code(&hundreds), "BAD_USER_INPUT", "{hundreds}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_is_413_exactly_above_the_configured_size() {
    let app = open_app(&[]).await;
    let limit = app.state.config.max_body_bytes;
    let padded = |size: usize| {
        let mut body = br#"{"query":"{ __typename }"}"#.to_vec();
        body.resize(size, b' ');
        body
    };
    let (status, body) = post_raw(&app, Some("application/json"), padded(limit)).await;
    assert_eq!(status, 200, "exactly the limit is accepted");
    assert_eq!(body.unwrap()["data"]["__typename"], "QueryRoot");
    let (status, _) = post_raw(&app, Some("application/json"), padded(limit + 1)).await;
    assert_eq!(status, 413, "one byte more is not");

    let small = open_app(&[("MIRAGE_MAX_BODY_BYTES", "2048")]).await;
    let (status, _) = post_raw(&small, Some("application/json"), padded(2048)).await;
    assert_eq!(status, 200, "the configured limit, not a default");
    let (status, _) = post_raw(&small, Some("application/json"), padded(2049)).await;
    assert_eq!(status, 413);
    small.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_other_content_types_and_batches_are_refused() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    for query in [
        "mutation { createTeam(input: { name: \"csrf\" }) { id } }",
        "{ serverInfo { version } }",
    ] {
        let response = app
            .client
            .get(app.url(&format!("/graphql?query={}", percent_encode(query))))
            .bearer_auth(&fx.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{query}");
    }
    let teams = app
        .graphql_as(&fx.admin, "{ me { teams { name } } }", json!({}))
        .await;
    assert!(!teams.to_string().contains("csrf"), "{teams}");

    let valid = br#"{"query":"{ serverInfo { version } }"}"#.to_vec();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql"),
    ] {
        let (status, body) = post_raw(&app, content_type, valid.clone()).await;
        assert_eq!(status, 415, "{content_type:?}");
        assert_eq!(
            body.unwrap(),
            json!({ "errors": [{ "message": "content-type must be application/json", "extensions": { "code": "BAD_USER_INPUT" } }] })
        );
    }
    let (status, body) =
        post_raw(&app, Some("application/json; charset=utf-8"), valid.clone()).await;
    assert_eq!(status, 200, "{body:?}");

    for batch in [
        br#"[{"query":"{ serverInfo { version } }"},{"query":"{ serverInfo { version } }"}]"#
            .to_vec(),
        b"[]".to_vec(),
        b"  [{\"query\":\"{ serverInfo { version } }\"}]".to_vec(),
        // Not a batch but serde's positional form of the request struct: still not an object.
        b" [\"{ serverInfo { version } }\"]".to_vec(),
        b"\n[]".to_vec(),
    ] {
        let (status, body) = post_raw(&app, Some("application/json"), batch.clone()).await;
        assert_eq!(status, 400, "{}: {body:?}", String::from_utf8_lossy(&batch));
        assert_eq!(code(&body.unwrap()), "BAD_USER_INPUT");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_is_off_and_errors_never_suggest_names() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    for credential in ["", fx.admin.as_str()] {
        let schema = app
            .graphql_as(credential, "{ __schema { types { name } } }", json!({}))
            .await;
        assert_eq!(schema, json!({ "data": { "__schema": null } }));
        let ty = app
            .graphql_as(
                credential,
                "{ __type(name: \"CreateApiKeyInput\") { inputFields { name } } }",
                json!({}),
            )
            .await;
        assert_eq!(ty, json!({ "data": { "__type": null } }));
    }
    let near_misses = [
        "{ mee { id } }",
        "{ me { emial } }",
        "{ projets { id } }",
        "{ serverInfo { verison } }",
        "{ me(ide: 1) { id } }",
        "mutation { createTeam(input: { nme: \"x\" }) { id } }",
        "mutation { createApiKey(input: { name: \"x\", role: ADMN }) { id } }",
        "mutation { creatTeam(input: { name: \"x\" }) { id } }",
        "{ me { ... on Usr { id } } }",
        "query { ...Fragmnt } fragment Fragment on QueryRoot { serverInfo { version } }",
    ];
    for query in near_misses {
        let body = app.graphql_as(&fx.admin, query, json!({})).await;
        no_suggestions(&body);
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert!(body["data"].is_null(), "{body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_validation_and_variable_errors_carry_bad_user_input() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    let cases: &[(&str, Value)] = &[
        ("", json!({})),
        ("{ me { ", json!({})),
        ("query A { me { id } } query A { me { id } }", json!({})),
        ("query A { me { id } } query B { me { id } }", json!({})),
        ("subscription { me { id } }", json!({})),
        (
            "mutation($r: Role!) { createApiKey(input: { name: \"k\", role: $r }) { id } }",
            json!({ "r": "GOD" }),
        ),
        (
            "mutation { createApiKey(input: { name: \"k\", role: GOD }) { id } }",
            json!({}),
        ),
        (
            "mutation($r: Role!) { createApiKey(input: { name: \"k\", role: $r }) { id } }",
            json!({}),
        ),
        (
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": 5 }),
        ),
        (
            "mutation($d: DateTime) { createApiKey(input: { name: \"k\", role: USER, expiresAt: $d }) { id } }",
            json!({ "d": "not a date" }),
        ),
        (
            "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }",
            json!({}),
        ),
    ];
    for (query, variables) in cases {
        let body = app.graphql_as(&fx.admin, query, variables.clone()).await;
        let errors = error_objects(&body);
        assert!(!errors.is_empty(), "{query}: {body}");
        for error in errors {
            assert_eq!(
                error["extensions"]["code"], "BAD_USER_INPUT",
                "{query}: {body}"
            );
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "the message is kept"
            );
        }
        assert!(body["data"].is_null(), "{query}: {body}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tokens_and_keys_answer_exactly_like_no_credential() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    let anonymous = app.graphql_as("", ME, json!({})).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    for (what, token) in &fx.bad_tokens {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", format!("Bearer {token}"))
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, anonymous, "{what}: {token}");
    }
    for key in &fx.bad_keys {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("x-api-key", key.as_str())
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, anonymous, "{key}");
    }
    // And the real ones still work.
    for credential in [&fx.admin, &fx.key] {
        let me = app.graphql_as(credential, ME, json!({})).await;
        assert_eq!(me["data"]["me"]["id"], fx.user_id.as_str(), "{me}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_listed_origins() {
    let app = open_app(&[("MIRAGE_CORS_ORIGINS", "https://app.mirage.test")]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.mirage.test").await.unwrap();
    assert!(allowed.status().as_u16() < 500);
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://app.mirage.test"[..])
    );
    for origin in [
        "https://evil.test",
        "null",
        "https://app.mirage.test.evil.test",
        "http://app.mirage.test",
    ] {
        let refused = preflight(origin).await.unwrap();
        assert!(refused.status().as_u16() < 500);
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin} must not be allowed"
        );
        let simple = app
            .client
            .post(app.url("/graphql"))
            .header("origin", origin)
            .json(&json!({ "query": "{ serverInfo { version } }" }))
            .send()
            .await
            .unwrap();
        assert!(
            simple
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
    app.stop().await;
}

/// `__typename` costs nothing in async-graphql's complexity (its validator never visits it),
/// so aliases of it are limited only by the body size. They must be refused like any other
/// document over the complexity limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typename_aliases_count_toward_complexity() {
    let app = open_app(&[("MIRAGE_MAX_BODY_BYTES", "4194304")]).await;
    let fields: String = (0..100_000).map(|i| format!(" a{i}: __typename")).collect();
    let (status, body) = app.graphql(&format!("{{{fields} }}"), json!({})).await;
    assert_eq!(status, 200);
    assert!(body["data"].is_null(), "100000 aliases were executed");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{}", short(&body));
    app.stop().await;
}

/// Twenty fragments that each spread the next one twice: 2^20 fields from a document of under
/// a kilobyte. async-graphql expands every spread in its depth, directive, validation and
/// complexity passes, so the work grows with the expansion, not with the document: it must be
/// refused without expanding it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exponential_fragment_expansion_is_refused() {
    let app = open_app(&[]).await;
    let document = fan_out_document(2, 20, "__typename");
    assert!(document.len() < 1024);
    let (status, body) = app.graphql(&document, json!({})).await;
    assert_eq!(status, 200);
    assert!(
        body["data"].is_null(),
        "2^20 fields were accepted: {}",
        short(&body)
    );
    assert_eq!(code(&body), "BAD_USER_INPUT", "{}", short(&body));
    app.stop().await;
}

/// Lists and input objects nested deep inside a document (argument values, variable
/// defaults) are handled recursively with no depth limit: from about two thousand levels
/// (a 4 KB document) a worker's stack overflows and the whole server aborts (debug build;
/// much deeper nesting fails to parse and is harmless). Each must be refused like any other
/// hostile document. A stack overflow aborts this test's process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_values_are_refused_without_crashing() {
    let app = open_app(&[]).await;
    let mut documents = Vec::new();
    for depth in [1_000, 2_000, 3_000, 50_000] {
        let list = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
        let object = format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth));
        documents.push(format!(
            "mutation {{ refreshToken(refreshToken: {list}) {{ accessToken }} }}"
        ));
        documents.push(format!(
            "mutation {{ createTeam(input: {{ name: \"n\", extra: {object} }}) {{ id }} }}"
        ));
        documents.push(format!(
            "query($x: Boolean = {list}) {{ serverInfo @skip(if: $x) {{ version }} }}"
        ));
    }
    for document in &documents {
        assert!(document.len() < app.state.config.max_body_bytes);
        let (status, body) = app.graphql(document, json!({})).await;
        assert_eq!(status, 200);
        assert!(body["data"].is_null(), "{}", short(&body));
        assert_eq!(code(&body), "BAD_USER_INPUT", "{}", short(&body));
        healthy(&app).await.unwrap();
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The same limits over the WebSocket

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection acknowledged for `token`.
async fn ws_connect(app: &TestApp, token: &str) -> Socket {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            init.to_string().into(),
        ))
        .await
        .unwrap();
    let ack = ws_receive(&mut socket).await;
    assert_eq!(
        ack.as_ref().map(|m| m["type"].clone()),
        Ok(json!("connection_ack")),
        "{ack:?}"
    );
    socket
}

/// The next JSON message, or the close code (`None`: the connection just ended).
async fn ws_receive(socket: &mut Socket) -> Result<Value, Option<u16>> {
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(HANG, socket.next()).await {
            Err(_) => panic!("no answer on the websocket"),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(Message::Close(frame)))) => return Err(frame.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return Err(None),
        }
    }
}

async fn ws_subscribe(socket: &mut Socket, id: &str, query: &str) -> Result<(), String> {
    use futures::SinkExt;
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            message.to_string().into(),
        ))
        .await
        .map_err(|e| e.to_string())
}

/// Errors async-graphql makes itself reach WebSocket clients too, and need a code there as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_errors_carry_codes() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    let documents = [
        "subscription { nope }",
        "subscription { securityEvents { eventType",
        &fan_out_document(2, 9, "serverInfo { version }"),
        &field_chain(api::graphql::MAX_DEPTH + 1),
        "query { a: login(input: { email: \"a@b.test\", password: \"x\" }) { accessToken } }",
    ];
    let mut uncoded = Vec::new();
    for (i, document) in documents.iter().enumerate() {
        let mut socket = ws_connect(&app, &fx.admin).await;
        ws_subscribe(&mut socket, &i.to_string(), document)
            .await
            .unwrap();
        let answer = ws_receive(&mut socket)
            .await
            .expect("an answer, not a close");
        let errors = match answer["type"].as_str() {
            Some("error") => answer["payload"].as_array().cloned().unwrap_or_default(),
            Some("next") => error_objects(&answer["payload"])
                .into_iter()
                .cloned()
                .collect(),
            _ => panic!("{document}: {answer}"),
        };
        assert!(!errors.is_empty(), "{document}: {answer}");
        let coded = errors.iter().all(|error| {
            let code = error["extensions"]["code"].as_str().unwrap_or("");
            CODES.contains(&code) && code != "INTERNAL"
        });
        if !coded {
            uncoded.push(format!("{}: {answer}", &document[..document.len().min(60)]));
        }
    }
    assert!(
        uncoded.is_empty(),
        "errors without a code over the websocket:\n{}",
        uncoded.join("\n")
    );
    app.stop().await;
}

/// A WebSocket message is a request body by another road: it must not be larger than the body
/// limit (axum's default allows 64 MiB messages, so every size limit could be bypassed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_are_bounded_like_bodies() {
    let app = open_app(&[]).await;
    let fx = fixtures(&app).await;
    let limit = app.state.config.max_body_bytes;
    let mut socket = ws_connect(&app, &fx.admin).await;
    // A valid document padded with a comment: only its size is wrong.
    let query = format!(
        "query {{ serverInfo {{ version }} }}\n#{}",
        "x".repeat(limit * 2)
    );
    let sent = ws_subscribe(&mut socket, "big", &query).await;
    let answer = match sent {
        Err(_) => Err(None),
        Ok(()) => ws_receive(&mut socket).await,
    };
    let executed = answer
        .as_ref()
        .is_ok_and(|message| message["type"] == "next" && !message["payload"]["data"].is_null());
    assert!(
        !executed,
        "a {} byte message was executed: {answer:?}",
        query.len()
    );
    healthy(&app).await.unwrap();
    app.stop().await;
}
