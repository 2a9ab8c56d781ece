//! Mirage's one integration-test binary. Each module covers one area against real components.

mod audit;
mod authz_matrix;
mod contract;
mod costs;
mod crash;
mod handler;
mod hostile;
mod identity_api;
mod identity_read_model;
mod oidc;
mod oidc_login;
mod postgres_store;
mod projections;
mod scan_events;
mod scan_resume;
mod scans;
mod serve;
mod store_conformance;
mod ws;
