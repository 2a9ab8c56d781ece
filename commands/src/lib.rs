//! Mirage's write side: command handlers that load an aggregate, ask the domain to decide, and
//! append the result with an expected version; the identity and scan services built on them.
//!
//! Architecture invariant: this crate knows no database (the `store` crate does), no HTTP
//! server and no GraphQL; it never builds a read model.

pub mod handler;
pub mod identity;
pub mod scan;

pub use handler::{CommandError, CommandHandler, HandlerConfig};
