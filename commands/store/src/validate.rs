//! Checks every event must pass before any backend writes it.

use std::collections::HashSet;

use domain::NewEvent;

use super::StoreError;

/// Size limits, configurable per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Largest payload of one event, in bytes.
    pub max_event_bytes: usize,
    /// Most events in one append.
    pub max_events_per_append: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_event_bytes: 1024 * 1024,
            max_events_per_append: 10_000,
        }
    }
}

const MAX_TYPE_LEN: usize = 128;
const MAX_ACTOR_LEN: usize = 256;

/// Rejects an append that no backend should store; the error names the offending field.
pub fn validate_append(events: &[NewEvent], limits: &StoreLimits) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::invalid(
            "events",
            "an append needs at least one event",
        ));
    }
    if events.len() > limits.max_events_per_append {
        return Err(StoreError::invalid(
            "events",
            format!(
                "{} events in one append, the limit is {}",
                events.len(),
                limits.max_events_per_append
            ),
        ));
    }
    let mut ids = HashSet::with_capacity(events.len());
    for event in events {
        if !ids.insert(event.meta.event_id) {
            return Err(StoreError::invalid(
                "event_id",
                format!("{} appears twice in one append", event.meta.event_id),
            ));
        }
        let event_type = &event.payload.event_type;
        let type_ok = !event_type.is_empty()
            && event_type.len() <= MAX_TYPE_LEN
            && event_type.starts_with(|c: char| c.is_ascii_alphabetic())
            && event_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !type_ok {
            return Err(StoreError::invalid(
                "event_type",
                format!(
                    "{event_type:?} must be 1-{MAX_TYPE_LEN} letters, digits, '_' or '.', starting with a letter"
                ),
            ));
        }
        if event.payload.event_version == 0 || i32::try_from(event.payload.event_version).is_err() {
            return Err(StoreError::invalid(
                "event_version",
                "must be between 1 and 2147483647",
            ));
        }
        if event.meta.actor.is_empty() || event.meta.actor.len() > MAX_ACTOR_LEN {
            return Err(StoreError::invalid(
                "actor",
                format!("must be 1-{MAX_ACTOR_LEN} bytes"),
            ));
        }
        if event.payload.data.len() > limits.max_event_bytes {
            return Err(StoreError::EventTooLarge {
                event_id: event.meta.event_id,
                size: event.payload.data.len(),
                limit: limits.max_event_bytes,
            });
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(&event.payload.data).is_err() {
            return Err(StoreError::invalid("payload", "must be a JSON document"));
        }
    }
    Ok(())
}
