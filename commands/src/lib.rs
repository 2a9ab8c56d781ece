//! Mirage's write side: the event store with its three backends, and command handlers that load
//! an aggregate, ask the domain to decide, and append the result with an expected version.
//!
//! Architecture invariant: this crate knows SQLite, PostgreSQL and KurrentDB, but no HTTP and no
//! GraphQL; it never builds a read model.

pub mod handler;
pub mod identity;
pub mod scan;
pub mod store;

pub use handler::{CommandError, CommandHandler, HandlerConfig};
pub use store::{
    AppendResult, EventStore, ExpectedVersion, ReadBound, Snapshot, StoreError, StoreLimits,
};
pub mod security;
