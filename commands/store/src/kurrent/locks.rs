//! Per-stream locks: appends to one stream from this process queue instead of racing, so the
//! optimistic retry only ever contends with other processes. Entries go away with their last
//! user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Lock = Arc<AsyncMutex<()>>;

#[derive(Debug, Default)]
pub struct StreamLocks(Mutex<HashMap<String, Lock>>);

/// Held while appending to one stream.
pub struct StreamGuard<'a> {
    locks: &'a StreamLocks,
    name: String,
    lock: Lock,
    guard: Option<OwnedMutexGuard<()>>,
}

impl StreamLocks {
    pub async fn lock(&self, name: &str) -> StreamGuard<'_> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(name.to_owned()).or_default())
        };
        let guard = Arc::clone(&lock).lock_owned().await;
        StreamGuard {
            locks: self,
            name: name.to_owned(),
            lock,
            guard: Some(guard),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.locks.0.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's reference and ours: nobody else holds or waits for this stream.
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_to_one_stream_queue_and_entries_are_released() {
        let locks = Arc::new(StreamLocks::default());
        let first = locks.lock("a").await;
        let other = locks.lock("b").await;
        let waiter = tokio::spawn({
            let locks = Arc::clone(&locks);
            async move {
                let _second = locks.lock("a").await;
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(first);
        waiter.await.unwrap();
        drop(other);
        assert_eq!(locks.len(), 0);
    }
}
