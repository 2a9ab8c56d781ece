//! Subscription delivery benchmark: a real server on loopback, an administrator subscribed to
//! `securityEvents` over a WebSocket, and security events appended to the event store one at a
//! time; prints the latency from the append call to the client receiving it (p50/p99/max).
//! Run: `cargo run --release -p tests --bin bench-subscriptions [events]`. Not a test.

use std::time::{Duration, Instant};

use domain::identity::SecurityEvent;
use domain::{EventCodec, EventMeta, NewEvent};
use futures::{SinkExt, StreamExt};
use store::ExpectedVersion;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let app = tests::app::TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let register = "mutation { registerOrganization(input: { organizationName: \"Bench\", email: \"bench@bench.test\", password: \"correct horse battery staple\", displayName: \"Bench\" }) { accessToken user { organization { id } } } }";
    let body = app.graphql_as("", register, serde_json::json!({})).await;
    let token = body["data"]["registerOrganization"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("registration failed: {body}"))?
        .to_owned();
    let organization: uuid::Uuid =
        body["data"]["registerOrganization"]["user"]["organization"]["id"]
            .as_str()
            .unwrap_or_default()
            .parse()?;

    let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let send = |value: serde_json::Value| Message::Text(value.to_string().into());
    socket
        .send(send(serde_json::json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })))
        .await?;
    socket.next().await;
    socket
        .send(send(serde_json::json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { securityEvents { eventType } }" } })))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stream = SecurityEvent::stream_for(Some(organization))?;
    let mut latencies = Vec::with_capacity(events);
    for _ in 0..events {
        let event = NewEvent {
            meta: EventMeta {
                event_id: uuid::Uuid::now_v7(),
                occurred_at: chrono::Utc::now(),
                actor: "system".to_owned(),
                organization: Some(organization),
                causation_id: None,
                correlation_id: None,
            },
            payload: SecurityEvent::TokenRefreshed {
                user_id: uuid::Uuid::nil(),
                session_id: uuid::Uuid::nil(),
            }
            .encode(),
        };
        let started = Instant::now();
        app.state
            .identity
            .handler()
            .store()
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), socket.next()).await? {
                Some(Ok(Message::Text(text))) if text.contains("\"next\"") => break,
                Some(Ok(_)) => continue,
                other => anyhow::bail!("subscription ended: {other:?}"),
            }
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "subscription delivery, append -> client: {} events, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1]
    );
    app.stop().await;
    Ok(())
}
