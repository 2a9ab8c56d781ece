//! Real servers on loopback for tests and benchmarks: DNS, HTTP, TLS, WHOIS, banner and
//! certificate-transparency servers. Compiled for this crate's tests and, with the
//! `test-servers` feature, for the integration tests and benchmarks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod banner_server;
pub mod ct_server;
pub mod dns_server;
pub mod fast_dns;
pub mod hostile_http;
pub mod http_site;
pub mod tls_server;
pub mod whois_server;
