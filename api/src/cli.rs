//! The command line: `mirage serve`, `mirage audit verify`, `mirage projections ...`,
//! `mirage bench store`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mirage",
    version,
    about = "Mirage: event-sourced OSINT reconnaissance platform"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// TOML configuration file (also MIRAGE_CONFIG); MIRAGE_* variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded profile (created if missing).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve GraphQL, /health, /ready and /metrics.
    Serve(ServeArgs),
    /// Tamper evidence of the event log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Read models built from the event log.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Administration: organizations and their first administrator.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Access-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Measure performance and print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Development mode: GraphQL introspection on.
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization and its first administrator (works whether or not sign-up is
    /// open). The password is read from MIRAGE_ADMIN_PASSWORD or, if unset, from standard input.
    CreateOrg {
        /// Organization name.
        #[arg(long)]
        name: String,
        /// The administrator's e-mail address (their login).
        #[arg(long)]
        email: String,
        /// The administrator's display name.
        #[arg(long)]
        display_name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Start signing with a new key; the previous key keeps verifying the tokens it signed
    /// (restart running servers to pick the new key up).
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole log, check every hash chain, name the first bad position.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Empty a read model (all when NAME is omitted) and replay the log from position 0.
    Rebuild {
        /// Projection name, e.g. organizations.
        name: Option<String>,
    },
    /// Apply whatever the read models have not seen yet, then exit.
    CatchUp,
    /// Show each projection's checkpoint.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Event store throughput: batch appends, concurrent single appends, global reads,
    /// aggregate loads through snapshots.
    Store(StoreBenchArgs),
}

#[derive(Debug, Args, Clone)]
pub struct StoreBenchArgs {
    /// Events appended in batches of 100.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Single-event appends, spread over the writers.
    #[arg(long, default_value_t = 40_000)]
    pub single_appends: usize,
    /// Concurrent writers for single-event appends.
    #[arg(long, default_value_t = 32)]
    pub writers: usize,
    /// Events in the aggregate loaded through its snapshot.
    #[arg(long, default_value_t = 10_000)]
    pub aggregate_events: usize,
}
