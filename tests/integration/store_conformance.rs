//! The conformance suite every event store backend passes (being written).
