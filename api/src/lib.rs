//! The `mirage` binary's library: configuration, the HTTP and GraphQL surface, the CLI commands.
//!
//! Architecture invariant: only this crate knows HTTP and GraphQL.

pub mod audit;
pub mod bench;
pub mod cli;
pub mod config;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod profile;
pub mod run;
pub mod scan_tasks;
pub mod server;
pub mod state;
