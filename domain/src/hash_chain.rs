//! The tamper-evidence chain.
//!
//! Every stream is a hash chain: `hash = SHA-256(domain tag, prev_hash, canonical envelope,
//! stored payload bytes)`, with `prev_hash` the hash of the stream's previous event (zeros for
//! the first). The canonical envelope is a length-prefixed binary encoding of the fields that
//! identify the event, so no JSON canonicalisation question arises. The payload is hashed as
//! stored, so an encrypted (crypto-shredded) payload still verifies.
//!
//! Chains are per stream because every backend can serialise appends to one stream cheaply, while
//! a single global chain would force every writer in the system through one lock.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::envelope::RecordedEvent;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ChainHash(pub [u8; 32]);

/// The `prev_hash` of the first event of every stream.
pub const GENESIS_HASH: ChainHash = ChainHash([0; 32]);

const DOMAIN_TAG: &[u8] = b"mirage-event-chain-v1";

impl ChainHash {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(ChainHash)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        hex::decode(text).ok().and_then(|b| Self::from_slice(&b))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

fn put(hasher: &mut Sha256, field: &[u8]) {
    hasher.update((field.len() as u64).to_be_bytes());
    hasher.update(field);
}

fn put_opt_uuid(hasher: &mut Sha256, value: Option<uuid::Uuid>) {
    match value {
        Some(id) => put(hasher, id.as_bytes()),
        None => put(hasher, b""),
    }
}

/// The hash an event must carry, given the stored fields (its own `hash` is not an input).
pub fn compute_hash(event: &RecordedEvent) -> ChainHash {
    let mut hasher = Sha256::new();
    put(&mut hasher, DOMAIN_TAG);
    put(&mut hasher, &event.prev_hash.0);
    put(&mut hasher, event.meta.event_id.as_bytes());
    put(&mut hasher, event.stream_id.as_str().as_bytes());
    put(&mut hasher, &event.version.to_be_bytes());
    put(&mut hasher, event.payload.event_type.as_bytes());
    put(&mut hasher, &event.payload.event_version.to_be_bytes());
    put(
        &mut hasher,
        &event.meta.occurred_at.timestamp_micros().to_be_bytes(),
    );
    put(
        &mut hasher,
        &event.recorded_at.timestamp_micros().to_be_bytes(),
    );
    put(&mut hasher, event.meta.actor.as_bytes());
    put_opt_uuid(&mut hasher, event.meta.organization);
    put_opt_uuid(&mut hasher, event.meta.causation_id);
    put_opt_uuid(&mut hasher, event.meta.correlation_id);
    put(&mut hasher, &event.payload.data);
    ChainHash(hasher.finalize().into())
}

/// Why an event fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    #[error("stored hash does not match the event's content")]
    HashMismatch,
    #[error("prev_hash does not match the hash of version {0} of the stream")]
    BrokenLink(u64),
    #[error("stream version {found} follows version {previous}: events are missing")]
    VersionGap { previous: u64, found: u64 },
}

/// Walks the global log and checks every stream's chain; also folds every event hash into a
/// running head digest, so two verifications of the same log report the same head.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    last: std::collections::HashMap<String, (u64, ChainHash)>,
    head: ChainHash,
    checked: u64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next event in global order.
    pub fn check(&mut self, event: &RecordedEvent) -> Result<(), ChainFault> {
        if compute_hash(event) != event.hash {
            return Err(ChainFault::HashMismatch);
        }
        let (previous_version, previous_hash) = self
            .last
            .get(event.stream_id.as_str())
            .copied()
            .unwrap_or((0, GENESIS_HASH));
        if event.version != previous_version + 1 {
            return Err(ChainFault::VersionGap {
                previous: previous_version,
                found: event.version,
            });
        }
        if event.prev_hash != previous_hash {
            return Err(ChainFault::BrokenLink(previous_version));
        }
        self.last.insert(
            event.stream_id.as_str().to_owned(),
            (event.version, event.hash),
        );
        let mut hasher = Sha256::new();
        hasher.update(self.head.0);
        hasher.update(event.hash.0);
        self.head = ChainHash(hasher.finalize().into());
        self.checked += 1;
        Ok(())
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    pub fn head(&self) -> ChainHash {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::StoredPayload;
    use crate::envelope::EventMeta;
    use crate::ids::StreamId;
    use crate::position::LogPosition;
    use chrono::TimeZone;

    fn event(stream: &str, version: u64, prev: ChainHash, data: &str) -> RecordedEvent {
        let mut event = RecordedEvent {
            stream_id: StreamId::new(stream).unwrap(),
            version,
            position: LogPosition::sequential(version),
            recorded_at: chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            meta: EventMeta {
                event_id: uuid::Uuid::from_u128(version as u128),
                occurred_at: chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
                actor: "system".into(),
                organization: None,
                causation_id: None,
                correlation_id: None,
            },
            payload: StoredPayload {
                event_type: "Test".into(),
                event_version: 1,
                data: data.as_bytes().to_vec(),
            },
            prev_hash: prev,
            hash: GENESIS_HASH,
        };
        event.hash = compute_hash(&event);
        event
    }

    #[test]
    fn verifier_accepts_a_chain_and_names_each_fault() {
        let first = event("s-1", 1, GENESIS_HASH, "{}");
        let second = event("s-1", 2, first.hash, "{\"a\":1}");
        let mut verifier = ChainVerifier::new();
        verifier.check(&first).unwrap();
        verifier.check(&second).unwrap();
        assert_eq!(verifier.checked(), 2);

        let mut tampered = second.clone();
        tampered.payload.data = b"{\"a\":2}".to_vec();
        let mut verifier = ChainVerifier::new();
        verifier.check(&first).unwrap();
        assert_eq!(verifier.check(&tampered), Err(ChainFault::HashMismatch));

        let mut verifier = ChainVerifier::new();
        assert_eq!(
            verifier.check(&second),
            Err(ChainFault::VersionGap {
                previous: 0,
                found: 2
            })
        );

        let relinked = event("s-1", 2, GENESIS_HASH, "{}");
        let mut verifier = ChainVerifier::new();
        verifier.check(&first).unwrap();
        assert_eq!(verifier.check(&relinked), Err(ChainFault::BrokenLink(1)));
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = event("s-1", 1, GENESIS_HASH, "{}");
        let mut variants = Vec::new();
        let mut changed = base.clone();
        changed.meta.actor = "user:x".into();
        variants.push(changed);
        let mut changed = base.clone();
        changed.meta.organization = Some(uuid::Uuid::nil());
        variants.push(changed);
        let mut changed = base.clone();
        changed.payload.event_version = 2;
        variants.push(changed);
        let mut changed = base.clone();
        changed.recorded_at += chrono::Duration::microseconds(1);
        variants.push(changed);
        for variant in variants {
            assert_ne!(compute_hash(&variant), base.hash);
        }
    }
}
