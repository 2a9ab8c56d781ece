//! Dispatching a parsed command line.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{
    AdminCommand, AuditCommand, BenchCommand, Cli, Command, KeysCommand, ProjectionsCommand,
};
use crate::config::{Config, Overrides};
use crate::server;

/// Runs one command; the exit code says whether it succeeded.
pub async fn run(cli: Cli, env: HashMap<String, String>) -> anyhow::Result<ExitCode> {
    let mut overrides = Overrides {
        data_dir: cli.global.data_dir.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.listen = args.listen;
        overrides.dev = args.dev;
    }
    let config = Config::load(cli.global.config.as_deref(), &env, &overrides)?;
    crate::logging::init(config.log_format, &config.log_level);
    match cli.command {
        Command::Serve(_) => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            let state = server::build_state(config).await?;
            server::serve(state, listener, server::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify) => {
            let log: store::SharedLog = crate::profile::open_store(&config).await?;
            let report = crate::audit::verify(log.as_ref(), |checked| {
                if checked % 100_000 == 0 {
                    tracing::info!(checked, "verifying");
                }
            })
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Projections(command) => {
            let state = server::build_state(config).await?;
            let runner = &state.projections;
            match command {
                ProjectionsCommand::Rebuild { name } => {
                    let applied = runner.rebuild(name.as_deref()).await?;
                    eprintln!(
                        "rebuilt {}: {applied} events applied",
                        name.as_deref().unwrap_or("all projections")
                    );
                }
                ProjectionsCommand::CatchUp => {
                    let applied = runner.catch_up(None).await?;
                    eprintln!("caught up: {applied} events applied");
                }
                ProjectionsCommand::Status => {
                    for (name, checkpoint) in runner.stored_checkpoints().await? {
                        let checkpoint = checkpoint.map(|c| c.to_string());
                        println!("{name}\t{}", checkpoint.as_deref().unwrap_or("-"));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::CreateOrg {
            name,
            email,
            display_name,
        }) => {
            let password = match env.get("MIRAGE_ADMIN_PASSWORD") {
                Some(password) => password.clone(),
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("cannot read the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let state = server::build_state(config).await?;
            let input = commands::identity::accounts::NewOrganization {
                organization_name: name,
                email,
                password,
                display_name,
            };
            let user = state
                .identity
                .create_organization(&input, &Default::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::json!({
                    "organizationId": user.organization_id,
                    "userId": user.id,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys(KeysCommand::Rotate) => {
            let dir = config.data_dir.join("keys");
            let mut keys = security::JwtKeys::load_or_create(&dir, Default::default())?;
            keys.rotate(&dir)?;
            println!("{}", serde_json::json!({ "liveKeys": keys.kids() }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Store(args)) => {
            crate::bench::store(config, cli.global.data_dir.is_some(), args).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The `mirage` program: parses the command line, reads `MIRAGE_*` from the environment, runs.
pub async fn main() -> ExitCode {
    use clap::Parser;
    let cli = crate::cli::Cli::parse();
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(key, _)| key.starts_with("MIRAGE_"))
        .collect();
    match run(cli, env).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mirage: {error:#}");
            ExitCode::FAILURE
        }
    }
}
