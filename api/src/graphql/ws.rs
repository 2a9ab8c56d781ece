//! GraphQL over WebSocket (graphql-transport-ws) at `/graphql/ws`.
//!
//! The credential travels in `connection_init` (`{"authorization": "Bearer ..."}` or
//! `{"apiKey": "mk_..."}`) and is checked before anything else is served. A socket that sends
//! no `connection_init` in time is closed with 4408, one that sends something else first with
//! 4401, a bad credential with 4403. The connection ends (4401 "session ended") when the access
//! token expires or the credential is revoked: logout, disable, role or password change.

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use commands::identity::{Authenticated, RequestOrigin};
use futures::{SinkExt, StreamExt};

use super::MirageSchema;
use super::context::{Credential, RequestContext, check_credential};
use crate::state::AppState;

/// How often a live connection re-checks its credential.
const RECHECK: Duration = Duration::from_secs(2);

pub async fn graphql_ws(
    State(state): State<AppState>,
    Extension(schema): Extension<MirageSchema>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let limit = state.config.max_body_bytes;
    let origin = crate::http::origin::request_origin(&state.config, peer, &headers);
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, schema, state, protocol, origin))
}

async fn close(
    mut socket: futures::stream::SplitSink<WebSocket, Message>,
    code: u16,
    reason: &str,
) {
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The credential a `connection_init` payload carries.
fn credential_of(init: &serde_json::Value) -> Credential {
    let payload = &init["payload"];
    let authorization = payload["authorization"]
        .as_str()
        .or_else(|| payload["Authorization"].as_str());
    Credential::parse(authorization, payload["apiKey"].as_str())
}

async fn serve(
    socket: WebSocket,
    schema: MirageSchema,
    state: AppState,
    protocol: GraphQLProtocol,
    origin: RequestOrigin,
) {
    let (sink, mut incoming) = socket.split();
    let timeout = Duration::from_secs(state.config.ws_init_timeout_secs);
    let first = match tokio::time::timeout(timeout, incoming.next()).await {
        Err(_) => return close(sink, 4408, "connection initialisation timeout").await,
        Ok(Some(Ok(Message::Text(text)))) => text,
        Ok(_) => return close(sink, 4401, "unauthorized").await,
    };
    let init: serde_json::Value = serde_json::from_str(first.as_str()).unwrap_or_default();
    if init["type"] != "connection_init" {
        return close(sink, 4401, "unauthorized").await;
    }
    let credential = credential_of(&init);
    let who = match check_credential(&state, &credential, &origin).await {
        Ok(Some(who)) => who,
        Ok(None) | Err(_) => return close(sink, 4403, "forbidden").await,
    };
    // A connection lives until the token's `exp`, without the verification leeway, so a token
    // that a live connection would already have been closed for cannot open a new one.
    if who.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
        return close(sink, 4403, "forbidden").await;
    }

    let mut data = Data::default();
    data.insert(RequestContext::authenticated(origin, who.clone()));
    let (outgoing, mut to_client) = futures::channel::mpsc::channel::<Message>(64);
    // Documents pass the same guard as over HTTP; a refused one closes the socket (4400).
    let (refused_tx, mut refused) = tokio::sync::mpsc::channel::<String>(1);
    let incoming = incoming.take_while(move |message| {
        let verdict = match message {
            Ok(Message::Text(text)) => guard_message(text.as_str()),
            _ => Ok(()),
        };
        let refused_tx = refused_tx.clone();
        async move {
            match verdict {
                Ok(()) => true,
                Err(reason) => {
                    let _ = refused_tx.send(reason).await;
                    false
                }
            }
        }
    });
    let input = futures::stream::once(async move { Ok(Message::Text(first)) }).chain(incoming);
    let connection = GraphQLWebSocket::new_with_pair(outgoing, input, schema, protocol)
        .with_data(data)
        .on_connection_init(|_| async { Ok(Data::default()) });
    let mut graphql = tokio::spawn(connection.serve());
    let ended = session_end(state, credential, origin, who);
    tokio::pin!(ended);
    let mut sink = sink;
    loop {
        tokio::select! {
            message = to_client.next() => match message {
                Some(message) => {
                    if sink.send(with_codes(message)).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            Some(reason) = refused.recv() => {
                graphql.abort();
                return close(sink, 4400, &reason).await;
            }
            () = &mut ended => {
                graphql.abort();
                return close(sink, 4401, "session ended").await;
            }
            _ = &mut graphql => {
                while let Ok(message) = to_client.try_recv() {
                    let _ = sink.send(with_codes(message)).await;
                }
                break;
            }
        }
    }
    graphql.abort();
}

/// Resolves when the connection's credential stops being valid.
async fn session_end(
    state: AppState,
    credential: Credential,
    origin: RequestOrigin,
    who: Authenticated,
) {
    let expiry = async {
        match who.expires_at {
            Some(at) => {
                let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(left).await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let revoked = async {
        loop {
            tokio::time::sleep(RECHECK).await;
            match check_credential(&state, &credential, &origin).await {
                Ok(Some(current)) if current.role == who.role => {}
                _ => return,
            }
        }
    };
    tokio::select! {
        () = expiry => {}
        () = revoked => {}
    }
}

/// Applies the document guard to a `subscribe` message.
fn guard_message(text: &str) -> Result<(), String> {
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
        return Ok(());
    };
    match message["payload"]["query"].as_str() {
        Some(query) => super::guard::check(query),
        None => Ok(()),
    }
}

/// Gives every error in an outgoing message an `extensions.code`, as over HTTP.
fn with_codes(message: Message) -> Message {
    let Message::Text(text) = &message else {
        return message;
    };
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
        return message;
    };
    let errors = match value["type"].as_str() {
        Some("next") => value["payload"].get_mut("errors"),
        Some("error") => value.get_mut("payload"),
        _ => None,
    };
    let Some(serde_json::Value::Array(errors)) = errors else {
        return message;
    };
    for error in errors.iter_mut() {
        if let Some(object) = error.as_object_mut() {
            let extensions = object
                .entry("extensions")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(extensions) = extensions.as_object_mut() {
                extensions
                    .entry("code")
                    .or_insert_with(|| serde_json::json!("BAD_USER_INPUT"));
            }
        }
    }
    Message::Text(value.to_string().into())
}
