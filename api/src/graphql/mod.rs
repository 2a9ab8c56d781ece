//! The GraphQL API: schema, limits, the HTTP handler and error codes. Resolvers only translate
//! between GraphQL types and the layers below.

pub mod context;
pub mod cost;
pub mod error;
pub mod guard;
pub mod http;
pub mod identity;
pub mod oidc;
pub mod paging;
pub mod query;
pub mod scan_types;
pub mod scans;
pub mod subscription;
pub mod types;
pub mod ws;

use async_graphql::{MergedObject, Schema};

pub use subscription::SubscriptionRoot;

pub use error::ErrorCode;

/// Every query field.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    query::ServerQuery,
    identity::IdentityQuery,
    scans::ScanQuery,
);

/// Every mutation field.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    identity::IdentityMutation,
    oidc::OidcMutation,
    scans::ScanMutation,
);

use crate::state::AppState;

pub type MirageSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Most nesting a document may have.
pub const MAX_DEPTH: usize = 12;
/// Most cost a document may have: what each field costs is in [`cost`] (lists cost by their
/// `first`, time travel and authentication attempts more). Every document of the client
/// contract fits; the largest, `Scan` with `asOf` and a page of 500 findings, costs about 7,600.
pub const MAX_COMPLEXITY: usize = 10_000;
/// Most directives in one document.
pub const MAX_DIRECTIVES: usize = 16;

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_directives(MAX_DIRECTIVES)
}

/// The schema serving requests: introspection and suggestions only in development mode.
pub fn build_schema(state: &AppState) -> MirageSchema {
    let mut builder = builder().data(state.clone());
    if !state.config.dev {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schemas/mirage.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
