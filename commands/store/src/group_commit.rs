//! Group commit: one writer task drains every append waiting in its queue and commits them in
//! one transaction, so many concurrent appenders share one fsync.

use async_trait::async_trait;
use domain::{NewEvent, StreamId};
use tokio::sync::{mpsc, oneshot};

use super::{AppendResult, ExpectedVersion, StoreError};

/// One append waiting for the writer.
#[derive(Debug)]
pub struct AppendJob {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// A backend's way of committing a batch in one transaction.
#[async_trait]
pub trait BatchWriter: Send + 'static {
    /// Commits `jobs` together and returns one result per job, or fails as a whole with nothing
    /// written.
    async fn write_batch(
        &mut self,
        jobs: &[AppendJob],
    ) -> Result<Vec<Result<AppendResult, StoreError>>, StoreError>;

    /// Called after a commit that wrote events.
    fn committed(&mut self);
}

/// The queue appenders send to.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    sender: mpsc::Sender<AppendJob>,
}

impl WriterHandle {
    pub async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = AppendJob {
            stream: stream.clone(),
            expected,
            events,
            reply,
        };
        self.sender
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Starts the writer task; it ends when every handle is dropped.
pub fn spawn_writer<W: BatchWriter>(mut writer: W, max_batch_events: usize) -> WriterHandle {
    let (sender, mut receiver) = mpsc::channel::<AppendJob>(4096);
    tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            let mut events = first.events.len();
            let mut jobs = vec![first];
            while events < max_batch_events {
                match receiver.try_recv() {
                    Ok(job) => {
                        events += job.events.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            let results = commit(&mut writer, &jobs).await;
            for (job, result) in jobs.into_iter().zip(results) {
                // The appender may have given up waiting; the outcome stands either way.
                let _ = job.reply.send(result);
            }
        }
    });
    WriterHandle { sender }
}

async fn commit<W: BatchWriter>(
    writer: &mut W,
    jobs: &[AppendJob],
) -> Vec<Result<AppendResult, StoreError>> {
    match writer.write_batch(jobs).await {
        Ok(results) => {
            if results.iter().any(Result::is_ok) {
                writer.committed();
            }
            results
        }
        Err(error @ (StoreError::Unavailable(_) | StoreError::Closed)) => {
            jobs.iter().map(|_| Err(error.clone())).collect()
        }
        Err(error) if jobs.len() == 1 => vec![Err(error)],
        Err(error) => {
            // One job spoiled the batch: commit each on its own so the others still land.
            tracing::warn!(%error, jobs = jobs.len(), "batch failed, retrying its appends one by one");
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                let single = std::slice::from_ref(job);
                let result = match writer.write_batch(single).await {
                    Ok(mut one) => one.pop().unwrap_or(Err(StoreError::Closed)),
                    Err(error) => Err(error),
                };
                if result.is_ok() {
                    writer.committed();
                }
                results.push(result);
            }
            results
        }
    }
}
