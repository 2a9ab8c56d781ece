//! KurrentDB test stores, when MIRAGE_TEST_KURRENTDB_URL is set (being written).
