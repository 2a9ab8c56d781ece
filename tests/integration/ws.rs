//! Subscriptions over a real WebSocket (graphql-transport-ws): the credential is checked in
//! `connection_init`, silent sockets are closed, and a subscription ends when its session does.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::app::TestApp;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::identity_api::{LOGOUT, PASSWORD, create_user, login, register, token};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp) -> Socket {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message, or the close code when the server closes instead.
pub(crate) async fn receive(socket: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("the server answers within 15 s");
        match message {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

pub(crate) async fn init(socket: &mut Socket, access: &str) -> Result<Value, Option<u16>> {
    send(
        socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {access}") } }),
    )
    .await;
    receive(socket).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_without_a_valid_connection_init_are_closed() {
    let app = TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_WS_INIT_TIMEOUT_SECS", "1"),
    ])
    .await;
    let mut silent = connect(&app).await;
    assert_eq!(receive(&mut silent).await, Err(Some(4408)));

    let mut forged = connect(&app).await;
    assert_eq!(init(&mut forged, "not.a.token").await, Err(Some(4403)));

    let mut anonymous = connect(&app).await;
    send(&mut anonymous, json!({ "type": "connection_init" })).await;
    assert_eq!(receive(&mut anonymous).await, Err(Some(4403)));

    let mut impatient = connect(&app).await;
    send(
        &mut impatient,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { securityEvents { eventType } }" } }),
    )
    .await;
    assert_eq!(receive(&mut impatient).await, Err(Some(4401)));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_delivers_live_events_and_ends_with_its_session() {
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    create_user(&app, &admin, "ana@acme.test", "ANALYST").await;
    let ana = token(&login(&app, "ana@acme.test", PASSWORD).await);

    // An analyst may not watch the security log.
    let mut analyst = connect(&app).await;
    assert_eq!(
        init(&mut analyst, &ana).await.unwrap()["type"],
        "connection_ack"
    );
    send(
        &mut analyst,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { securityEvents { eventType } }" } }),
    )
    .await;
    let refused = receive(&mut analyst).await.unwrap();
    assert_eq!(refused["type"], "next", "{refused}");
    assert!(refused["payload"]["data"].is_null());
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    let mut socket = connect(&app).await;
    assert_eq!(
        init(&mut socket, &admin).await.unwrap()["type"],
        "connection_ack"
    );
    send(
        &mut socket,
        json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription { securityEvents { eventType actor streamId } }" } }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    login(&app, "ana@acme.test", PASSWORD).await;
    let next = receive(&mut socket).await.unwrap();
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(
        next["payload"]["data"]["securityEvents"]["eventType"],
        "SecurityLoginSucceeded"
    );
    assert!(
        next["payload"]["data"]["securityEvents"]["streamId"]
            .as_str()
            .unwrap()
            .starts_with("audit-")
    );

    let logout = app.graphql_as(&admin, LOGOUT, json!({})).await;
    assert_eq!(logout["data"]["logout"], true);
    let ended = loop {
        match receive(&mut socket).await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(ended, Some(4401), "the subscription ends with its session");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_ends_when_its_access_token_expires() {
    let app = TestApp::spawn(&[
        ("MIRAGE_SIGNUP", "open"),
        ("MIRAGE_ACCESS_TOKEN_TTL_SECS", "2"),
    ])
    .await;
    let (admin, _, _, _) = register(&app, "Acme", "alice@acme.test").await;
    let mut socket = connect(&app).await;
    assert_eq!(
        init(&mut socket, &admin).await.unwrap()["type"],
        "connection_ack"
    );
    send(
        &mut socket,
        json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription { securityEvents { eventType } }" } }),
    )
    .await;
    let ended = loop {
        match receive(&mut socket).await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(ended, Some(4401));
    let mut late = connect(&app).await;
    assert_eq!(
        init(&mut late, &admin).await,
        Err(Some(4403)),
        "an expired token opens nothing"
    );
    app.stop().await;
}
