//! Wakes subscribers when any process appends: a `LISTEN` on the store's channel that bumps the
//! change counter, reconnecting with back-off when the connection fails.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::writer::CHANNEL;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs until every receiver of `changes` is gone.
pub(super) fn spawn_listener(pool: PgPool, changes: Arc<watch::Sender<u64>>) {
    tokio::spawn(async move {
        tokio::select! {
            () = changes.closed() => {}
            () = listen_forever(&pool, &changes) => {}
        }
        pool.close().await;
    });
}

fn bump(changes: &watch::Sender<u64>) {
    changes.send_modify(|counter| *counter = counter.wrapping_add(1));
}

async fn listen_forever(pool: &PgPool, changes: &watch::Sender<u64>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let Err(error) = listen(pool, changes, &mut backoff).await;
        tracing::warn!(%error, retry_in = ?backoff, "postgres event notifications failed");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn listen(
    pool: &PgPool,
    changes: &watch::Sender<u64>,
    backoff: &mut Duration,
) -> Result<Infallible, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    *backoff = MIN_BACKOFF;
    // Events may have been appended while nobody listened.
    bump(changes);
    loop {
        // `None` means the connection was lost and re-established: notifications may have been
        // missed in between, so wake subscribers anyway.
        listener.try_recv().await?;
        bump(changes);
    }
}
