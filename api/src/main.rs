//! The `mirage` binary.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = api::cli::Cli::parse();
    let env: std::collections::HashMap<String, String> = std::env::vars()
        .filter(|(key, _)| key.starts_with("MIRAGE_"))
        .collect();
    match api::run::run(cli, env).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mirage: {error:#}");
            ExitCode::FAILURE
        }
    }
}
