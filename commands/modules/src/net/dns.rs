//! The scan's DNS client: speaks DNS itself (UDP through shared sockets, TCP when an answer
//! is truncated and for zone transfers) to the scan's resolvers, or to the system's
//! (`/etc/resolv.conf`) when the scan names none.
//!
//! Every resolver and transfer server is checked against the egress guard before a packet is
//! sent. Answers are accepted only from the server asked, under the random query id, repeating
//! the question; only records on the asked name (or its CNAME chain) are read from them.
//! NXDOMAIN is an answer, not an error; SERVFAIL, REFUSED and silence move on to the next
//! resolver and are errors only when every resolver fails.

mod message;
mod system;
mod tcp;
#[cfg(test)]
mod tests;
mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use hickory_proto::op::ResponseCode;
pub use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::Semaphore;

pub use self::message::{dns_name, name_text};
use crate::egress::Egress;
use crate::net::NetError;

/// Queries one client has in flight at most; more wait for a slot.
pub const MAX_IN_FLIGHT: usize = 512;

/// Records one zone transfer may return at most.
pub const MAX_ZONE_RECORDS: usize = 100_000;

/// CNAME links followed at most, within an answer and across follow-up queries.
const MAX_CNAME_CHAIN: usize = 8;

/// Names returned for one PTR question at most.
const MAX_PTR_NAMES: usize = 32;

/// A DNS client for one scan. Clones share sockets and the in-flight limit.
#[derive(Clone)]
pub struct DnsClient {
    inner: Arc<Inner>,
}

struct Inner {
    configured: Vec<SocketAddr>,
    system: OnceLock<Result<Vec<SocketAddr>, String>>,
    egress: Arc<Egress>,
    timeout: Duration,
    udp: udp::UdpPool,
    in_flight: Semaphore,
}

/// A resolver's answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The name asked, fully qualified.
    pub name: Name,
    pub record_type: RecordType,
    /// `NoError` or `NXDomain`; other codes are errors.
    pub rcode: ResponseCode,
    /// The answer section.
    pub records: Vec<Record>,
    /// The resolver that answered.
    pub server: SocketAddr,
}

impl Answer {
    pub fn is_nxdomain(&self) -> bool {
        self.rcode == ResponseCode::NXDomain
    }

    /// The asked name followed by the CNAME targets the answer itself links it to.
    pub fn chain(&self) -> Vec<Name> {
        let mut chain = vec![self.name.clone()];
        while chain.len() <= MAX_CNAME_CHAIN {
            let Some(last) = chain.last() else { break };
            let next = self.records.iter().find_map(|record| match &record.data {
                RData::CNAME(target) if record.name == *last => Some(target.0.clone()),
                _ => None,
            });
            match next {
                Some(target) if !chain.contains(&target) => chain.push(target),
                _ => break,
            }
        }
        chain
    }

    /// The records of `record_type` on the asked name or its CNAME chain; records on other
    /// names are not part of the answer and are ignored.
    pub fn records_of(&self, record_type: RecordType) -> Vec<&Record> {
        let chain = self.chain();
        self.records
            .iter()
            .filter(|record| record.record_type() == record_type && chain.contains(&record.name))
            .collect()
    }

    /// The A and AAAA addresses of the asked name.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let chain = self.chain();
        let mut addresses: Vec<IpAddr> = Vec::new();
        for record in &self.records {
            if let Some(ip) = record.data.ip_addr()
                && chain.contains(&record.name)
                && !addresses.contains(&ip)
            {
                addresses.push(ip);
            }
        }
        addresses
    }

    /// The answer as text, for a finding's evidence.
    pub fn evidence(&self) -> String {
        let mut text = format!(
            ";; {} {} from {}: {}\n",
            self.name, self.record_type, self.server, self.rcode
        );
        for record in &self.records {
            text.push_str(&record.to_string());
            text.push('\n');
        }
        text
    }
}

/// The answers to one question along a CNAME chain that needed follow-up queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The first answer is to the name asked; each further one to the previous chain's end.
    pub answers: Vec<Answer>,
}

impl Lookup {
    /// The A and AAAA addresses found along the chain.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut addresses: Vec<IpAddr> = Vec::new();
        for ip in self.answers.iter().flat_map(Answer::addresses) {
            if !addresses.contains(&ip) {
                addresses.push(ip);
            }
        }
        addresses
    }

    /// The records of `record_type` found along the chain.
    pub fn records_of(&self, record_type: RecordType) -> Vec<&Record> {
        self.answers
            .iter()
            .flat_map(|answer| answer.records_of(record_type))
            .collect()
    }

    /// Whether the chain ends in a name that does not exist.
    pub fn is_nxdomain(&self) -> bool {
        self.answers.last().is_some_and(Answer::is_nxdomain)
    }

    pub fn evidence(&self) -> String {
        self.answers.iter().map(Answer::evidence).collect()
    }
}

impl DnsClient {
    pub fn new(resolvers: Vec<SocketAddr>, egress: Arc<Egress>, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                configured: resolvers,
                system: OnceLock::new(),
                egress,
                timeout,
                udp: udp::UdpPool::default(),
                in_flight: Semaphore::new(MAX_IN_FLIGHT),
            }),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    pub fn egress(&self) -> &Arc<Egress> {
        &self.inner.egress
    }

    /// The resolvers asked, in order: the scan's, else the system's.
    pub fn resolvers(&self) -> Result<Vec<SocketAddr>, NetError> {
        if !self.inner.configured.is_empty() {
            return Ok(self.inner.configured.clone());
        }
        self.inner
            .system
            .get_or_init(system::system_resolvers)
            .clone()
            .map_err(NetError::Other)
    }

    /// Asks the resolvers one question.
    pub async fn query(&self, name: &str, record_type: RecordType) -> Result<Answer, NetError> {
        let question = message::question(dns_name(name)?, record_type);
        let resolvers = self.allowed_resolvers()?;
        let _permit = self
            .inner
            .in_flight
            .acquire()
            .await
            .map_err(|_| NetError::Other("the DNS client is closed".into()))?;
        let mut last_error = NetError::Other("no DNS resolver".into());
        for server in resolvers {
            match self.ask(server, &question).await {
                Ok(message) => match message.metadata.response_code {
                    ResponseCode::NoError | ResponseCode::NXDomain => {
                        return Ok(Answer {
                            name: question.name().clone(),
                            record_type,
                            rcode: message.metadata.response_code,
                            records: message.answers,
                            server,
                        });
                    }
                    ResponseCode::ServFail => {
                        last_error = NetError::Io(format!("resolver {server} answered SERVFAIL"));
                    }
                    code => {
                        last_error = NetError::Other(format!("resolver {server} answered {code}"));
                    }
                },
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// The IPv4 and IPv6 addresses of a host (the address itself for an IP literal), CNAME
    /// chains followed. Empty when the name does not exist or has no address.
    pub async fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, NetError> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![ip]);
        }
        let (v4, v6) = tokio::join!(
            self.lookup(host, RecordType::A),
            self.lookup(host, RecordType::AAAA)
        );
        let (v4, v6) = (
            v4.map(|lookup| lookup.addresses()),
            v6.map(|lookup| lookup.addresses()),
        );
        match (v4, v6) {
            (Ok(mut v4), Ok(v6)) => {
                for ip in v6 {
                    if !v4.contains(&ip) {
                        v4.push(ip);
                    }
                }
                Ok(v4)
            }
            (Ok(found), Err(error)) | (Err(error), Ok(found)) => {
                if found.is_empty() {
                    Err(error)
                } else {
                    Ok(found)
                }
            }
            (Err(error), Err(_)) => Err(error),
        }
    }

    /// Asks for `record_type` at `host` and, when the resolver only returns a CNAME chain (an
    /// authoritative server whose target lies outside its zones), asks again for the chain's
    /// end, at most [`MAX_CNAME_CHAIN`] times.
    pub async fn lookup(&self, host: &str, record_type: RecordType) -> Result<Lookup, NetError> {
        let mut answers: Vec<Answer> = Vec::new();
        let mut name = host.to_owned();
        let mut seen: Vec<Name> = Vec::new();
        for _ in 0..MAX_CNAME_CHAIN {
            let answer = self.query(&name, record_type).await?;
            let done = answer.is_nxdomain() || !answer.records_of(record_type).is_empty();
            let chain = answer.chain();
            answers.push(answer);
            if done {
                break;
            }
            match chain.last() {
                Some(last) if chain.len() > 1 && !seen.contains(last) => {
                    seen.push(last.clone());
                    name = last.to_ascii();
                }
                _ => break,
            }
        }
        Ok(Lookup { answers })
    }

    /// The PTR names of an address, lower case without the trailing dot.
    pub async fn reverse(&self, ip: IpAddr) -> Result<Vec<String>, NetError> {
        let answer = self.query(&reverse_name(ip), RecordType::PTR).await?;
        let mut names: Vec<String> = Vec::new();
        for record in answer.records_of(RecordType::PTR) {
            if let RData::PTR(target) = &record.data {
                let name = name_text(&target.0);
                if !name.is_empty() && !names.contains(&name) && names.len() < MAX_PTR_NAMES {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    /// Transfers `zone` from `server` (AXFR over TCP), at most [`MAX_ZONE_RECORDS`] records.
    /// A refused transfer is an error.
    pub async fn axfr(&self, server: SocketAddr, zone: &str) -> Result<Vec<Record>, NetError> {
        self.inner.egress.check(server.ip())?;
        let question = message::question(dns_name(zone)?, RecordType::AXFR);
        let _permit = self
            .inner
            .in_flight
            .acquire()
            .await
            .map_err(|_| NetError::Other("the DNS client is closed".into()))?;
        tcp::transfer(server, &question, self.inner.timeout, MAX_ZONE_RECORDS).await
    }

    /// The addresses of `host` that may be dialled: resolved, then filtered by the egress
    /// guard; an error when none remain. An IP literal is only checked.
    pub async fn resolve_for_connect(&self, host: &str) -> Result<Vec<IpAddr>, NetError> {
        if let Some(ip) = ip_literal(host) {
            self.inner.egress.check(ip)?;
            return Ok(vec![ip]);
        }
        let addresses = self.lookup_ip(host).await?;
        if addresses.is_empty() {
            return Err(NetError::Other(format!(
                "{} has no address",
                host.chars().take(253).collect::<String>()
            )));
        }
        Ok(self.inner.egress.filter(&addresses)?)
    }

    /// The resolvers the egress guard lets us reach; refused when it allows none.
    fn allowed_resolvers(&self) -> Result<Vec<SocketAddr>, NetError> {
        let resolvers = self.resolvers()?;
        let allowed: Vec<SocketAddr> = resolvers
            .iter()
            .copied()
            .filter(|server| self.inner.egress.check(server.ip()).is_ok())
            .collect();
        if allowed.is_empty() {
            if let Some(first) = resolvers.first() {
                self.inner.egress.check(first.ip())?;
            }
            return Err(NetError::Other("no DNS resolver".into()));
        }
        Ok(allowed)
    }

    /// One question to one server: UDP, then TCP when the answer is truncated.
    async fn ask(
        &self,
        server: SocketAddr,
        question: &hickory_proto::op::Query,
    ) -> Result<hickory_proto::op::Message, NetError> {
        let answer = self
            .inner
            .udp
            .exchange(server, question, self.inner.timeout)
            .await?;
        if answer.metadata.truncation {
            return tcp::exchange(server, question, self.inner.timeout).await;
        }
        Ok(answer)
    }
}

/// An IP address written as a host (`192.0.2.1`, `[2001:db8::1]`).
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The reverse-lookup name of an address (`4.3.2.1.in-addr.arpa`, nibbles under `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}
