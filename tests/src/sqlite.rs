//! SQLite test stores in temp dirs (being written).
