//! DNS client (to be written by the DNS work package).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::egress::Egress;

#[derive(Clone)]
pub struct DnsClient {
    pub resolvers: Vec<SocketAddr>,
    pub egress: Arc<Egress>,
    pub timeout: Duration,
}

impl DnsClient {
    pub fn new(resolvers: Vec<SocketAddr>, egress: Arc<Egress>, timeout: Duration) -> Self {
        Self {
            resolvers,
            egress,
            timeout,
        }
    }
}
