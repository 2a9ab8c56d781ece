//! A real OpenID Provider for the OIDC login tests: `oidc-provider` (npm) run by Node from
//! `tests/oidc-provider/provider.mjs` on 127.0.0.1, and a browserless login through its
//! development interactions (plain HTTP with a cookie jar).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::{StatusCode, Url, header, redirect};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

/// The one client the provider knows.
pub const CLIENT_ID: &str = "mirage-test";
/// Its secret (characters that need form-encoding in HTTP Basic, on purpose).
pub const CLIENT_SECRET: &str = "mirage test+secret/0123456789:abcdef";
/// The callback registered for it; nothing listens there, the login stops at the redirect.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/oidc/callback";
/// The test account's fixed `sub` and email.
pub const SUBJECT: &str = "test-user-0001";
pub const EMAIL: &str = "alice@example.test";

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(300);

/// How to run the provider.
#[derive(Debug, Clone)]
pub struct ProviderOptions {
    /// `client_secret_basic` or `client_secret_post`.
    pub auth_method: &'static str,
    /// `RS256` or `ES256`.
    pub id_token_alg: &'static str,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        Self {
            auth_method: "client_secret_basic",
            id_token_alg: "RS256",
        }
    }
}

/// A running `node provider.mjs`, killed on drop.
pub struct OidcProviderProcess {
    pub issuer: String,
    child: Child,
}

impl OidcProviderProcess {
    /// Starts a provider with the default options (client_secret_basic, RS256).
    pub async fn start() -> Self {
        Self::start_with(ProviderOptions::default()).await
    }

    pub async fn start_with(options: ProviderOptions) -> Self {
        ensure_node_modules().await;
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .args(["--port", "0", "--redirect-uri", REDIRECT_URI])
            .args(["--client-secret", CLIENT_SECRET])
            .args(["--auth-method", options.auth_method])
            .args(["--id-token-alg", options.id_token_alg])
            .args(["--sub", SUBJECT, "--email", EMAIL])
            .current_dir(provider_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node provider.mjs (is Node.js installed? see deploy/test-deps.sh)");
        let mut stdout = BufReader::new(child.stdout.take().expect("provider stdout"));
        let mut line = String::new();
        tokio::time::timeout(STARTUP_TIMEOUT, stdout.read_line(&mut line))
            .await
            .expect("provider did not print its issuer in time")
            .expect("read provider stdout");
        // Keep draining: oidc-provider logs to stdout, and a closed pipe would kill it.
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
        });
        let announced: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|_| panic!("provider printed {line:?}, not its issuer line"));
        let issuer = announced["issuer"]
            .as_str()
            .expect("issuer in the provider's first line")
            .to_owned();
        Self { issuer, child }
    }

    /// The relying-party configuration for this provider's client.
    pub fn client_config(&self) -> security::OidcProviderConfig {
        security::OidcProviderConfig {
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(CLIENT_SECRET.to_owned()),
            redirect_uri: REDIRECT_URI.to_owned(),
            scopes: vec!["openid".to_owned(), "email".to_owned()],
        }
    }

    /// Stops the provider now (it is also killed on drop).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Plays the browser: follows `authorization_url`, signs in as the test account, consents,
/// and returns the redirect to `REDIRECT_URI` (with `code`, `state` and `iss`).
pub async fn login_through_browserless_flow(authorization_url: &Url) -> Url {
    login_as(authorization_url, SUBJECT).await
}

/// `login_through_browserless_flow` with another login name.
pub async fn login_as(authorization_url: &Url, login: &str) -> Url {
    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .expect("browser client");
    let mut url = authorization_url.clone();
    let mut form: Option<Vec<(&str, &str)>> = None;
    for _ in 0..20 {
        let request = match form.take() {
            Some(fields) => browser.post(url.clone()).form(&fields),
            None => browser.get(url.clone()),
        };
        let response = request.send().await.expect("provider request");
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .expect("redirect with a location");
            let next = url.join(location).expect("location is a url");
            if next.as_str().starts_with(REDIRECT_URI) {
                return next;
            }
            url = next;
            continue;
        }
        let body = response.text().await.expect("provider page");
        assert_eq!(status, StatusCode::OK, "provider answered {status}: {body}");
        url = url
            .join(&between(&body, "action=\"", "\"").expect("a form on the interaction page"))
            .expect("form action is a url");
        let prompt = between(&body, "name=\"prompt\" value=\"", "\"").expect("prompt field");
        form = Some(match prompt.as_str() {
            "login" => vec![
                ("prompt", "login"),
                ("login", login),
                ("password", "any password"),
            ],
            "consent" => vec![("prompt", "consent")],
            other => panic!("unexpected interaction prompt {other:?}: {body}"),
        });
    }
    panic!("the login did not reach {REDIRECT_URI} within 20 steps (last {url})");
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(rest[..rest.find(end)?].replace("&amp;", "&"))
}

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
}

static NODE_MODULES: OnceCell<()> = OnceCell::const_new();

/// Runs `npm ci` in tests/oidc-provider if its node_modules is missing or incomplete: once per
/// process (`OnceCell`) and once across processes (an exclusive lock on a file in the temp dir,
/// since nextest runs every test in its own process).
async fn ensure_node_modules() {
    NODE_MODULES
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| {
                let dir = provider_dir();
                if installed(&dir) {
                    return;
                }
                let lock = lock_file();
                lock.lock().expect("lock the npm ci lock file");
                if !installed(&dir) {
                    npm_ci(&dir);
                }
                drop(lock);
            })
            .await
            .expect("npm ci task");
        })
        .await;
}

fn installed(dir: &Path) -> bool {
    // npm writes node_modules/.package-lock.json last.
    dir.join("node_modules/.package-lock.json").is_file()
        && dir
            .join("node_modules/oidc-provider/package.json")
            .is_file()
}

fn lock_file() -> File {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("mirage-tests-oidc-provider-npm-ci.lock"))
        .expect("open the npm ci lock file")
}

fn npm_ci(dir: &Path) {
    let mut child = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run npm ci (is npm installed? see deploy/test-deps.sh)");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for npm ci") {
            assert!(
                status.success(),
                "npm ci in {} failed: {status}",
                dir.display()
            );
            return;
        }
        if started.elapsed() > NPM_CI_TIMEOUT {
            let _ = child.kill();
            panic!("npm ci in {} took over {NPM_CI_TIMEOUT:?}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
