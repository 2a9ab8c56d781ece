//! Mirage's pure domain: event envelopes, the hash chain, stored-event codecs with upcasting,
//! the aggregate contract and the aggregates themselves.
//!
//! Architecture invariant: nothing here does I/O or reads a clock. Time, ids and the actor come
//! in with each command; storage is someone else's business.

pub mod aggregate;
pub mod codec;
pub mod envelope;
pub mod error;
pub mod hash_chain;
pub mod ids;
pub mod organization;
pub mod position;

pub use aggregate::{Aggregate, CommandContext};
pub use codec::{DecodeError, EventCodec, StoredPayload, Upcaster};
pub use envelope::{EventMeta, NewEvent, RecordedEvent};
pub use error::DomainError;
pub use hash_chain::{ChainHash, GENESIS_HASH};
pub use ids::{StreamId, StreamIdError};
pub use position::LogPosition;

#[cfg(test)]
mod fixtures_test;
pub mod identity;
pub mod policy;
pub mod scan;
