//! HTTP client (to be written by the web work package).

use std::sync::Arc;
use std::time::Duration;

use crate::egress::Egress;
use crate::net::NetError;
use crate::net::dns::DnsClient;

#[derive(Clone)]
pub struct HttpClient {
    pub dns: DnsClient,
    pub egress: Arc<Egress>,
    pub timeout: Duration,
}

impl HttpClient {
    pub fn new(dns: DnsClient, egress: Arc<Egress>, timeout: Duration) -> Result<Self, NetError> {
        Ok(Self {
            dns,
            egress,
            timeout,
        })
    }
}
