//! Where a request came from: the client address used for throttling and audit, and a
//! correlation id that follows the request into the events it causes.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use commands::identity::RequestOrigin;

use crate::config::Config;

/// The origin of a request that arrived from `peer` with `headers`.
pub fn request_origin(_config: &Config, peer: SocketAddr, _headers: &HeaderMap) -> RequestOrigin {
    RequestOrigin {
        ip: Some(peer.ip()),
        correlation_id: Some(uuid::Uuid::now_v7()),
    }
}
