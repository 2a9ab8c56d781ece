//! A certificate-transparency search API on loopback in crt.sh's JSON format
//! (`GET /?q=%.example.com&output=json`), plus hostile modes: malformed JSON, a huge answer,
//! an HTTP error.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Certificate entries per domain (lower-case); an empty array for other domains.
    Answers(BTreeMap<String, Vec<Value>>),
    /// A truncated, unparseable JSON document.
    Malformed,
    /// A JSON-looking answer of this many bytes.
    Huge(usize),
    /// This HTTP status with an HTML body.
    Failing(u16),
}

#[derive(Clone)]
struct Shared {
    mode: Mode,
    queries: Arc<Mutex<Vec<String>>>,
}

/// A crt.sh-format server on 127.0.0.1; stops when dropped.
pub struct CtServer {
    pub address: SocketAddr,
    /// `http://127.0.0.1:port/`, for `options.ctLogUrl`.
    pub url: Url,
    queries: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl CtServer {
    /// Answers `entries` per domain (see [`cert_entry`]).
    pub async fn start<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<Value>)>) -> Self {
        let map = entries
            .into_iter()
            .map(|(domain, list)| (domain.to_ascii_lowercase(), list))
            .collect();
        Self::with_mode(Mode::Answers(map)).await
    }

    pub async fn malformed() -> Self {
        Self::with_mode(Mode::Malformed).await
    }

    pub async fn huge(bytes: usize) -> Self {
        Self::with_mode(Mode::Huge(bytes)).await
    }

    pub async fn failing(status: u16) -> Self {
        Self::with_mode(Mode::Failing(status)).await
    }

    pub async fn with_mode(mode: Mode) -> Self {
        let queries = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            mode,
            queries: queries.clone(),
        };
        let app = Router::new().route("/", get(search)).with_state(shared);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            url: Url::parse(&format!("http://{address}/")).unwrap(),
            queries,
            task,
        }
    }

    /// The `q` parameters received so far.
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for CtServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One certificate entry as crt.sh returns it.
pub fn cert_entry(id: u64, common_name: &str, name_value: &str) -> Value {
    json!({
        "issuer_ca_id": 183267,
        "issuer_name": "C=US, O=Let's Encrypt, CN=R3",
        "common_name": common_name,
        "name_value": name_value,
        "id": id,
        "entry_timestamp": "2024-01-01T00:00:00.000",
        "not_before": "2024-01-01T00:00:00",
        "not_after": "2024-03-31T00:00:00",
        "serial_number": format!("{id:032x}"),
        "result_count": 2
    })
}

async fn search(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let query = params.get("q").cloned().unwrap_or_default();
    shared.queries.lock().unwrap().push(query.clone());
    if params.get("output").map(String::as_str) != Some("json") {
        return (StatusCode::OK, "<html>crt.sh-like HTML</html>").into_response();
    }
    match shared.mode {
        Mode::Answers(map) => {
            let domain = query.trim_start_matches("%.").to_ascii_lowercase();
            let entries = map.get(&domain).cloned().unwrap_or_default();
            json_response(serde_json::to_vec(&entries).unwrap())
        }
        Mode::Malformed => {
            json_response(br#"[{"name_value": "a.example.test", "id": 1}, {"name_v"#.to_vec())
        }
        Mode::Huge(bytes) => {
            let entry = br#"{"name_value":"filler.example.test","id":1},"#;
            let mut body = b"[".to_vec();
            body.extend(entry.iter().copied().cycle().take(bytes.saturating_sub(1)));
            json_response(body)
        }
        Mode::Failing(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "<html>overloaded</html>",
        )
            .into_response(),
    }
}

fn json_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
