//! The network clients modules use. Every one of them checks the egress guard on the address it
//! actually dials, after name resolution and on every redirect.

pub mod dns;
pub mod http;
pub mod tcp;

use std::sync::Arc;
use std::time::Duration;

use crate::egress::{Egress, EgressError};
use crate::options::ScanOptions;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Refused(#[from] EgressError),
    #[error("timed out")]
    Timeout,
    #[error("network error: {0}")]
    Io(String),
    #[error("malformed answer: {0}")]
    Protocol(String),
    #[error("answer larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Other(String),
}

impl From<std::io::Error> for NetError {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::TimedOut {
            NetError::Timeout
        } else {
            NetError::Io(error.to_string())
        }
    }
}

/// The clients of one scan: its resolvers, its timeouts, the operator's egress policy.
pub struct ScanNet {
    pub egress: Arc<Egress>,
    pub dns: dns::DnsClient,
    pub http: http::HttpClient,
    pub timeout: Duration,
}

impl ScanNet {
    pub fn new(egress: Arc<Egress>, options: &ScanOptions) -> Result<Self, NetError> {
        let timeout = options.timeout();
        let dns = dns::DnsClient::new(options.resolvers.clone(), egress.clone(), timeout);
        let http = http::HttpClient::new(dns.clone(), egress.clone(), timeout)?;
        Ok(Self {
            egress,
            dns,
            http,
            timeout,
        })
    }
}
