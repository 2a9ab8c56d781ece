//! Event ids this process appended recently, by stream.
//!
//! KurrentDB has no index of event ids across streams, so reusing an id in another stream is
//! only caught when this process wrote the original: a bounded, best-effort complement to the
//! per-stream scan. It never reports an id that was not written to the stream it names.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use uuid::Uuid;

const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
struct Inner {
    streams: HashMap<Uuid, Arc<str>>,
    order: VecDeque<Uuid>,
}

#[derive(Debug, Default)]
pub struct RecentIds(Mutex<Inner>);

impl RecentIds {
    /// Remembers that `ids` were written to `stream`, forgetting the oldest beyond capacity.
    pub fn record(&self, stream: &str, ids: &[Uuid]) {
        let stream: Arc<str> = Arc::from(stream);
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            if inner.streams.insert(*id, Arc::clone(&stream)).is_none() {
                inner.order.push_back(*id);
            }
        }
        while inner.order.len() > CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.streams.remove(&old);
            }
        }
    }

    /// Whether any of `ids` is known to belong to another stream than `stream`.
    pub fn used_elsewhere(&self, stream: &str, ids: &[Uuid]) -> bool {
        let inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        ids.iter()
            .any(|id| inner.streams.get(id).is_some_and(|s| &**s != stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_known_by_stream() {
        let recent = RecentIds::default();
        let ids = [Uuid::from_u128(1), Uuid::from_u128(2)];
        recent.record("a", &ids);
        assert!(!recent.used_elsewhere("a", &ids));
        assert!(recent.used_elsewhere("b", &ids[1..]));
        assert!(!recent.used_elsewhere("b", &[Uuid::from_u128(3)]));
    }
}
