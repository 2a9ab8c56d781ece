//! The `POST /graphql` handler: JSON only (a CSRF defence), one operation per request (no
//! unbounded batches), everything else refused with a 4xx before the schema sees it.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::context::{Credential, RequestContext};
use super::{ErrorCode, MirageSchema};
use crate::state::AppState;

/// The credential in `Authorization: Bearer ...` or `X-Api-Key: ...`.
pub fn credential(headers: &HeaderMap) -> Credential {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    Credential::parse(text(header::AUTHORIZATION.as_str()), text("x-api-key"))
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

pub async fn graphql_post(
    Extension(schema): Extension<MirageSchema>,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "content-type must be application/json",
        );
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "one JSON object per request; batched requests are not accepted",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "body must be a JSON object with a query string",
            );
        }
    };
    if let Err(reason) = super::guard::check(&request.query) {
        // Answered like async-graphql's own depth and complexity limits: a coded GraphQL error.
        return refuse(StatusCode::OK, "BAD_USER_INPUT", &reason);
    }
    let origin = crate::http::origin::request_origin(&state.config, peer, &headers);
    let request = request.data(RequestContext::new(origin, credential(&headers)));
    let mut response = schema.execute(request).await;
    with_codes(&mut response.errors);
    axum::Json(response).into_response()
}

/// The errors async-graphql makes itself (parse and validation errors, depth, complexity and
/// directive limits, variable coercion) carry no `extensions.code`; every error a client sees
/// has one, so those become BAD_USER_INPUT with their message kept.
pub fn with_codes(errors: &mut [async_graphql::ServerError]) {
    for error in errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
        }
    }
}
