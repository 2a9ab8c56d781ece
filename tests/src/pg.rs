//! Fresh PostgreSQL databases for tests (being written).
