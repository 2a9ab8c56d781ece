//! Mirage's one integration-test binary. Each module covers one area against real components.

mod store_conformance;
