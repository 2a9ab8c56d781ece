//! Query fields about the server itself.

use async_graphql::{Context, Object, SimpleObject};

use super::context::Caller;
use super::cost;

#[derive(Default)]
pub struct ServerQuery;

#[derive(SimpleObject)]
pub struct ServerInfo {
    version: &'static str,
    profile: String,
    store_backend: &'static str,
    /// Position of the last event in the global log, if any.
    head_position: Option<String>,
}

#[Object]
impl ServerQuery {
    /// The server's version, profile and store, for any signed-in caller (the log's head moves
    /// with every tenant's activity, so it is not told to anonymous callers).
    #[graphql(complexity = "cost::lookup(child_complexity)")]
    async fn server_info(&self, ctx: &Context<'_>) -> async_graphql::Result<ServerInfo> {
        let caller = Caller::of(ctx).await?;
        let state = caller.state;
        let head = state.log.head().await.map_err(super::error::from_store)?;
        Ok(ServerInfo {
            version: env!("CARGO_PKG_VERSION"),
            profile: format!("{:?}", state.config.profile).to_lowercase(),
            store_backend: state.log.backend(),
            head_position: head.map(|p| p.to_string()),
        })
    }
}
