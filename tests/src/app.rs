//! A real Mirage server on 127.0.0.1:0 with a temp data dir, and an HTTP client for it.

use std::collections::HashMap;
use std::net::SocketAddr;

use api::config::{Config, Overrides};
use api::state::AppState;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// Starts the embedded profile in a fresh data dir; `env` holds MIRAGE_* settings.
    pub async fn spawn(env: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.entry("MIRAGE_LOG_LEVEL".to_owned())
            .or_insert_with(|| "warn".to_owned());
        let overrides = Overrides {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            data_dir: Some(dir.path().join("data")),
            dev: false,
        };
        let config = Config::load(None, &env, &overrides).expect("test config");
        let mut app = Self::spawn_with(config).await;
        app._dir = Some(dir);
        app
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = api::server::build_state(config).await.expect("build state");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn({
            let state = state.clone();
            async move {
                api::server::serve(state, listener, async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
            }
        });
        TestApp {
            addr,
            state,
            client: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a GraphQL document and returns the HTTP status and JSON body.
    pub async fn graphql(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("graphql request");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// POSTs a GraphQL document with `Authorization: Bearer <token>` or `X-Api-Key: <key>`
    /// (a key is recognised by its `mk_` prefix) and returns the JSON body.
    pub async fn graphql_as(
        &self,
        credential: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&serde_json::json!({ "query": query, "variables": variables }));
        if credential.starts_with("mk_") {
            request = request.header("x-api-key", credential);
        } else if !credential.is_empty() {
            request = request.bearer_auth(credential);
        }
        let response = request.send().await.expect("graphql request");
        assert!(response.status().is_success() || response.status().is_client_error());
        response.json().await.expect("json body")
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Anything that answers GraphQL over HTTP: an in-process [`TestApp`] or a [`RemoteApp`].
pub trait GraphqlClient {
    fn graphql_as(
        &self,
        credential: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> impl std::future::Future<Output = serde_json::Value> + Send;
}

impl GraphqlClient for TestApp {
    async fn graphql_as(
        &self,
        credential: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        TestApp::graphql_as(self, credential, query, variables).await
    }
}

/// A Mirage server in another process (the `mirage-child` binary), reached over HTTP.
pub struct RemoteApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl RemoteApp {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: reqwest::Client::new(),
        }
    }

    /// Waits until `/ready` answers 200.
    pub async fn wait_ready(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            let ready = self
                .client
                .get(format!("http://{}/ready", self.addr))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    }
}

impl GraphqlClient for RemoteApp {
    async fn graphql_as(
        &self,
        credential: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        let mut request = self
            .client
            .post(format!("http://{}/graphql", self.addr))
            .json(&serde_json::json!({ "query": query, "variables": variables }));
        if !credential.is_empty() {
            request = request.bearer_auth(credential);
        }
        let response = request.send().await.expect("graphql request");
        response.json().await.expect("json body")
    }
}
