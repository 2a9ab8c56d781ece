//! The `POST /graphql` handler: JSON only (a CSRF defence), one operation per request (no
//! unbounded batches), everything else refused with a 4xx before the schema sees it.

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::MirageSchema;

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
    if body.first().is_some_and(|b| *b == b'[') {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "batched requests are not accepted",
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
    let response = schema.execute(request).await;
    axum::Json(response).into_response()
}
