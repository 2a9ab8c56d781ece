//! Mirage's one integration-test binary. Each module covers one area against real components.

mod audit;
mod contract;
mod crash;
mod handler;
mod postgres_store;
mod projections;
mod serve;
mod store_conformance;
