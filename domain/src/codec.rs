//! Stored events are a versioned schema, separate from the domain enums.
//!
//! Each event is stored as `(event_type, event_version, JSON bytes)`. A domain enum implements
//! [`EventCodec`]: it encodes to the current version and decodes the current version. Older
//! versions are converted on read by [`Upcaster`]s keyed by `(type, version)`, one step at a time,
//! so an event written years ago still loads. The JSON fixtures under `schemas/events/` pin every
//! version we ever wrote.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An event payload as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPayload {
    pub event_type: String,
    pub event_version: u32,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {event_type:?} version {event_version}")]
    UnknownEventType {
        event_type: String,
        event_version: u32,
    },
    #[error("malformed {event_type} v{event_version} payload: {reason}")]
    Malformed {
        event_type: String,
        event_version: u32,
        reason: String,
    },
}

impl DecodeError {
    pub fn malformed(payload_type: &str, version: u32, reason: impl ToString) -> Self {
        DecodeError::Malformed {
            event_type: payload_type.to_owned(),
            event_version: version,
            reason: reason.to_string(),
        }
    }
}

/// Converts one old version of one event type to the next version.
pub struct Upcaster {
    pub event_type: &'static str,
    pub from_version: u32,
    pub upcast: fn(serde_json::Value) -> Result<serde_json::Value, String>,
}

/// How a domain event enum maps to and from its stored schema.
pub trait EventCodec: Sized {
    /// Converters from every older stored version, in any order.
    const UPCASTERS: &'static [Upcaster] = &[];

    /// The stored form, always at the current version.
    fn encode(&self) -> StoredPayload;

    /// Decodes a payload that is at the current version of its type.
    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError>;

    /// Decodes any stored version: upcasts step by step, then decodes the current one.
    fn decode(payload: &StoredPayload) -> Result<Self, DecodeError> {
        let mut version = payload.event_version;
        let mut data: serde_json::Value = serde_json::from_slice(&payload.data)
            .map_err(|e| DecodeError::malformed(&payload.event_type, version, e))?;
        while let Some(step) = Self::UPCASTERS
            .iter()
            .find(|u| u.event_type == payload.event_type && u.from_version == version)
        {
            data = (step.upcast)(data)
                .map_err(|reason| DecodeError::malformed(&payload.event_type, version, reason))?;
            version += 1;
        }
        Self::decode_current(&payload.event_type, version, data)
    }
}

/// Serialises a schema struct into a stored payload.
pub fn encode_schema<T: Serialize>(
    event_type: &str,
    event_version: u32,
    body: &T,
) -> StoredPayload {
    StoredPayload {
        event_type: event_type.to_owned(),
        event_version,
        // Serialising plain schema structs (strings, numbers, uuids) cannot fail.
        data: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// Parses a JSON value into a schema struct, naming the event on failure.
pub fn decode_schema<T: DeserializeOwned>(
    event_type: &str,
    event_version: u32,
    data: serde_json::Value,
) -> Result<T, DecodeError> {
    serde_json::from_value(data).map_err(|e| DecodeError::malformed(event_type, event_version, e))
}

/// The error for a type or version this codec does not know.
pub fn unknown(event_type: &str, event_version: u32) -> DecodeError {
    DecodeError::UnknownEventType {
        event_type: event_type.to_owned(),
        event_version,
    }
}
