//! KurrentDB backend (being written).
