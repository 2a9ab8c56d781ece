//! Assembling and running the server: open the profile's parts, start the projections, serve HTTP
//! until asked to stop.

use std::future::Future;
use std::sync::Arc;

use projections::{ProjectionMetrics, ProjectionRunner};
use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use commands::identity::{IdentityConfig, IdentityService};
use commands::scan::{RuntimeConfig, ScanMetrics, ScanRuntime, ScanService};
use commands::{CommandHandler, HandlerConfig};

use crate::config::{Config, Signup};
use crate::http::metrics::HttpMetrics;
use crate::profile::{OpenError, open_read_models, open_store};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("identity keys: {0}")]
    Identity(String),
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the store and read models and registers every projection (not started yet).
pub async fn build_state(config: Config) -> Result<AppState, ServeError> {
    let registry = Registry::new();
    let store = open_store(&config).await?;
    let read_models = open_read_models(&config).await?;
    let mut runner =
        ProjectionRunner::new(store.clone(), Some(ProjectionMetrics::register(&registry)?));
    projections::read_models::register_all(&mut runner, &read_models)
        .await
        .map_err(OpenError::from)?;
    let http_metrics = HttpMetrics::register(&registry)?;
    let handler = CommandHandler::new(
        store.clone(),
        HandlerConfig {
            snapshot_every: config.snapshot_every,
            ..HandlerConfig::default()
        },
    );
    let defaults = IdentityConfig::default();
    let identity_config = IdentityConfig {
        signup_open: config.signup == Signup::Open,
        oidc: config.oidc.iter().map(|p| p.provider()).collect(),
        jwt: security::JwtConfig {
            access_ttl: std::time::Duration::from_secs(config.access_token_ttl_secs),
            ..defaults.jwt.clone()
        },
        ..defaults
    };
    let runtime = ScanRuntime::new(
        handler.clone(),
        modules::Registry::builtin(),
        RuntimeConfig {
            egress: Arc::new(config.egress()?),
            concurrency: config.scan_concurrency,
            target_limits: domain::scan::TargetLimits {
                min_ipv4_prefix: config.target_min_ipv4_prefix,
                min_ipv6_prefix: config.target_min_ipv6_prefix,
            },
            metrics: Some(ScanMetrics::register(&registry)?),
        },
    );
    let scans = Arc::new(ScanService::new(runtime));
    let identity = IdentityService::open(handler, &config.data_dir.join("keys"), identity_config)
        .map_err(|e| ServeError::Identity(e.to_string()))?;
    Ok(AppState {
        config: Arc::new(config),
        identity: Arc::new(identity),
        scans,
        log: store,
        read_models,
        projections: Arc::new(runner),
        registry,
        http_metrics,
    })
}

/// Serves until `shutdown` resolves, then stops the projections and drains connections.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (stop_projections, stopped) = watch::channel(false);
    let workers = state.projections.spawn(stopped);
    tracing::info!(
        listen = %listener.local_addr()?,
        profile = ?state.config.profile,
        store = state.log.backend(),
        projections = ?state.projections.names(),
        "mirage is serving"
    );
    tokio::spawn(crate::scan_tasks::recover(state.clone()));
    let scheduler = tokio::spawn(crate::scan_tasks::scheduler(
        state.clone(),
        stop_projections.subscribe(),
    ));
    let scans = state.scans.clone();
    let app = crate::http::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let _ = stop_projections.send(true);
    let _ = scheduler.await;
    scans.runtime().shutdown().await;
    for worker in workers {
        let _ = worker.await;
    }
    tracing::info!("mirage stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}
