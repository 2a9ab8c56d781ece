//! The GraphQL schema. This foundation serves server information; identity, scans and the rest
//! of the contract arrive with their issues.

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, Object, Schema, SimpleObject,
};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Extension;

use crate::state::AppState;

pub type MirageSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

pub struct QueryRoot;

#[derive(SimpleObject)]
pub struct ServerInfo {
    version: &'static str,
    profile: String,
    store_backend: &'static str,
    /// Position of the last event in the global log, if any.
    head_position: Option<String>,
}

#[Object]
impl QueryRoot {
    async fn server_info(&self, ctx: &Context<'_>) -> async_graphql::Result<ServerInfo> {
        let state = ctx.data::<AppState>()?;
        let head = state.store.head().await.map_err(|error| {
            tracing::error!(%error, "serverInfo: event store");
            async_graphql::Error::new("event store unavailable")
                .extend_with(|_, e| e.set("code", "INTERNAL"))
        })?;
        Ok(ServerInfo {
            version: env!("CARGO_PKG_VERSION"),
            profile: format!("{:?}", state.config.profile).to_lowercase(),
            store_backend: state.store.backend(),
            head_position: head.map(|p| p.to_string()),
        })
    }
}

pub fn build_schema(state: &AppState) -> MirageSchema {
    let mut builder = Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .data(state.clone())
        .limit_depth(12)
        .limit_complexity(500)
        .limit_directives(16);
    if !state.config.dev {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

pub async fn graphql_handler(
    Extension(schema): Extension<MirageSchema>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    schema.execute(request.into_inner()).await.into()
}
