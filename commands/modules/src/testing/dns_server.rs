//! A real authoritative DNS server on loopback (hickory-server, UDP and TCP on one port) with
//! in-memory zones built from records, and a hostile one that answers garbage, wrong ids,
//! forged questions or nothing.
//!
//! ```ignore
//! let server = DnsServer::start(vec![
//!     ZoneSpec::new("example.test").a("www", "192.0.2.10").mx("@", 10, "mail").allow_axfr(),
//! ]).await;
//! // point ScanOptions::resolvers at server.addr
//! ```
//!
//! Names in a zone spec are relative to the origin (`www`), `@` for the origin itself, or
//! absolute when they end with the origin or a dot.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{self, CAA, MX, SOA, SRV, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::net::dns::reverse_name;

const TTL: u32 = 300;
const SERIAL: u32 = 20_240_101;

/// One zone the server is authoritative for.
#[derive(Debug, Clone)]
pub struct ZoneSpec {
    origin: Name,
    records: Vec<Record>,
    allow_axfr: bool,
}

fn fqdn(text: &str) -> Name {
    let mut name = Name::from_ascii(text.trim_end_matches('.')).unwrap();
    name.set_fqdn(true);
    name
}

impl ZoneSpec {
    /// A zone with a SOA (`ns1.<origin>`, `hostmaster.<origin>`) and that NS at the apex.
    pub fn new(origin: &str) -> Self {
        let origin = fqdn(origin);
        let mut zone = Self {
            origin: origin.clone(),
            records: Vec::new(),
            allow_axfr: false,
        };
        let soa = SOA::new(
            zone.name("ns1"),
            zone.name("hostmaster"),
            SERIAL,
            3600,
            600,
            86_400,
            60,
        );
        zone.records
            .push(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)));
        let ns = zone.name("ns1");
        zone.records
            .push(Record::from_rdata(origin, TTL, RData::NS(rdata::NS(ns))));
        zone
    }

    /// The zone's origin, without the trailing dot.
    pub fn origin(&self) -> String {
        self.origin.to_ascii().trim_end_matches('.').to_owned()
    }

    /// A name of this zone: `@`, relative, or absolute.
    pub fn name(&self, text: &str) -> Name {
        let origin = self.origin();
        if text == "@" {
            return self.origin.clone();
        }
        let lower = text.to_ascii_lowercase();
        if text.ends_with('.') || lower == origin || lower.ends_with(&format!(".{origin}")) {
            return fqdn(text);
        }
        fqdn(&format!("{text}.{origin}"))
    }

    /// Adds any record.
    pub fn record(mut self, record: Record) -> Self {
        self.records.push(record);
        self
    }

    fn add(self, name: &str, data: RData) -> Self {
        let name = self.name(name);
        self.record(Record::from_rdata(name, TTL, data))
    }

    pub fn a(self, name: &str, ip: &str) -> Self {
        self.add(name, RData::A(rdata::A(ip.parse().unwrap())))
    }

    pub fn aaaa(self, name: &str, ip: &str) -> Self {
        self.add(name, RData::AAAA(rdata::AAAA(ip.parse().unwrap())))
    }

    pub fn cname(self, name: &str, target: &str) -> Self {
        let target = self.name(target);
        self.add(name, RData::CNAME(rdata::CNAME(target)))
    }

    pub fn mx(self, name: &str, preference: u16, exchange: &str) -> Self {
        let exchange = self.name(exchange);
        self.add(name, RData::MX(MX::new(preference, exchange)))
    }

    pub fn ns(self, name: &str, host: &str) -> Self {
        let host = self.name(host);
        self.add(name, RData::NS(rdata::NS(host)))
    }

    pub fn txt(self, name: &str, text: &str) -> Self {
        self.add(name, RData::TXT(TXT::new(vec![text.to_owned()])))
    }

    /// A CAA `issue` record for `issuer` (e.g. `letsencrypt.org`).
    pub fn caa_issue(self, name: &str, issuer: &str) -> Self {
        self.add(
            name,
            RData::CAA(CAA::new_issue(false, Some(fqdn(issuer)), Vec::new())),
        )
    }

    pub fn srv(self, name: &str, priority: u16, weight: u16, port: u16, target: &str) -> Self {
        let target = self.name(target);
        self.add(name, RData::SRV(SRV::new(priority, weight, port, target)))
    }

    pub fn ptr(self, name: &str, target: &str) -> Self {
        let target = fqdn(target);
        self.add(name, RData::PTR(rdata::PTR(target)))
    }

    /// A PTR for `ip` (the zone must be its reverse zone, e.g. `in-addr.arpa`).
    pub fn ptr_for(self, ip: &str, target: &str) -> Self {
        let name = format!("{}.", reverse_name(ip.parse::<IpAddr>().unwrap()));
        self.ptr(&name, target)
    }

    /// Serves AXFR for this zone (refused otherwise). hickory-server sends the whole zone
    /// as one TCP message, so a transferable zone must encode under 64 KiB (about 1,500
    /// short records).
    pub fn allow_axfr(mut self) -> Self {
        self.allow_axfr = true;
        self
    }

    /// Adds an A record `192.0.2.<n>` for every `every`-th word (from the first), returning
    /// the zone and the full names that exist. For brute-force benchmarks.
    pub fn generated(origin: &str, words: &[String], every: usize) -> (Self, Vec<String>) {
        let mut zone = Self::new(origin);
        let mut existing = Vec::new();
        for (index, word) in words.iter().enumerate().step_by(every.max(1)) {
            zone = zone.a(word, &format!("192.0.2.{}", index % 250 + 1));
            existing.push(format!("{word}.{}", zone.origin()));
        }
        (zone, existing)
    }

    fn handler(&self) -> Arc<dyn ZoneHandler> {
        let policy = if self.allow_axfr {
            AxfrPolicy::AllowAll
        } else {
            AxfrPolicy::Deny
        };
        let mut handler: InMemoryZoneHandler =
            InMemoryZoneHandler::empty(self.origin.clone(), ZoneType::Primary, policy);
        for record in &self.records {
            assert!(
                handler.upsert_mut(record.clone(), SERIAL),
                "cannot add {record} to {}",
                self.origin
            );
        }
        Arc::new(handler)
    }
}

/// `count` distinct sub-domain words (`w00000`, `w00001`, ...).
pub fn bench_words(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("w{index:05}")).collect()
}

/// A running authoritative server; stops when dropped.
pub struct DnsServer {
    /// UDP and TCP, on 127.0.0.1.
    pub addr: SocketAddr,
    _server: Server<Catalog>,
}

impl DnsServer {
    pub async fn start(zones: Vec<ZoneSpec>) -> DnsServer {
        let mut catalog = Catalog::new();
        for zone in &zones {
            catalog.upsert(LowerName::new(&zone.origin), vec![zone.handler()]);
        }
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().unwrap();
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
        DnsServer {
            addr,
            _server: server,
        }
    }
}

/// A UDP socket and a TCP listener on the same loopback port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no free port for UDP and TCP together");
}

/// How a hostile server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// Answers with the query's id followed by random bytes.
    Garbage,
    /// Answers correctly, under another id.
    WrongId,
    /// Answers under the right id, for another name, with an address.
    WrongQuestion,
    /// Never answers.
    Silent,
    /// Sets the truncation bit over UDP; over TCP sends a frame of garbage.
    Truncated,
    /// Answers AXFR over TCP with a SOA and then A records for ever.
    EndlessTransfer,
}

/// A hostile DNS "server" on a raw socket; stops when dropped.
pub struct HostileDnsServer {
    pub addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for HostileDnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl HostileDnsServer {
    pub async fn start(mode: Hostile) -> HostileDnsServer {
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().unwrap();
        let udp_task = tokio::spawn(async move {
            let mut buffer = vec![0u8; 4096];
            while let Ok((length, from)) = udp.recv_from(&mut buffer).await {
                if let Some(reply) = hostile_reply(mode, &buffer[..length]) {
                    let _ = udp.send_to(&reply, from).await;
                }
            }
        });
        let tcp_task = tokio::spawn(async move {
            while let Ok((stream, _)) = tcp.accept().await {
                tokio::spawn(hostile_tcp(mode, stream));
            }
        });
        HostileDnsServer {
            addr,
            tasks: vec![udp_task, tcp_task],
        }
    }
}

fn response_to(query: &Message, id: u16) -> Message {
    let mut reply = Message::new(id, MessageType::Response, OpCode::Query);
    reply.metadata.recursion_available = true;
    reply.add_queries(query.queries.clone());
    reply
}

fn hostile_reply(mode: Hostile, bytes: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(bytes).ok()?;
    let id = query.metadata.id;
    match mode {
        Hostile::Silent | Hostile::EndlessTransfer => None,
        Hostile::Garbage => {
            let mut reply = id.to_be_bytes().to_vec();
            reply.extend((0..200).map(|_| rand::random::<u8>()));
            Some(reply)
        }
        Hostile::WrongId => {
            let mut reply = response_to(&query, id.wrapping_add(1));
            add_address(&mut reply, &query);
            reply.to_vec().ok()
        }
        Hostile::WrongQuestion => {
            let mut reply = Message::new(id, MessageType::Response, OpCode::Query);
            let forged = fqdn("forged.evil.test");
            reply.add_query(Query::query(forged.clone(), RecordType::A));
            reply.add_answer(Record::from_rdata(
                forged,
                TTL,
                RData::A(rdata::A([192, 0, 2, 66].into())),
            ));
            reply.to_vec().ok()
        }
        Hostile::Truncated => {
            let mut reply = response_to(&query, id);
            reply.metadata.truncation = true;
            reply.to_vec().ok()
        }
    }
}

fn add_address(reply: &mut Message, query: &Message) {
    if let Some(asked) = query.queries.first() {
        reply.add_answer(Record::from_rdata(
            asked.name().clone(),
            TTL,
            RData::A(rdata::A([192, 0, 2, 66].into())),
        ));
    }
}

async fn hostile_tcp(mode: Hostile, mut stream: TcpStream) {
    let mut length = [0u8; 2];
    if stream.read_exact(&mut length).await.is_err() {
        return;
    }
    let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(length))];
    if stream.read_exact(&mut bytes).await.is_err() {
        return;
    }
    let Ok(query) = Message::from_vec(&bytes) else {
        return;
    };
    match mode {
        Hostile::EndlessTransfer => {
            let zone = query
                .queries
                .first()
                .map(|q| q.name().clone())
                .unwrap_or_else(Name::root);
            let mut first = response_to(&query, query.metadata.id);
            first.add_answer(ZoneSpec::new(&zone.to_ascii()).records[0].clone());
            if write_frame(&mut stream, &first.to_vec().unwrap())
                .await
                .is_err()
            {
                return;
            }
            for index in 0u32.. {
                let mut more =
                    Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                for offset in 0..100u32 {
                    let name = fqdn(&format!("h{index}-{offset}.{zone}"));
                    more.add_answer(Record::from_rdata(
                        name,
                        TTL,
                        RData::A(rdata::A([192, 0, 2, 1].into())),
                    ));
                }
                if write_frame(&mut stream, &more.to_vec().unwrap())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        Hostile::Silent => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        _ => {
            let garbage: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
            let _ = write_frame(&mut stream, &garbage).await;
        }
    }
}

async fn write_frame(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    stream.write_all(&length.to_be_bytes()).await?;
    stream.write_all(bytes).await
}
