//! A lean authoritative DNS server for benchmarks: UDP on 127.0.0.1, A records from a map,
//! NXDOMAIN for every other name, answered on OS threads straight on the wire (RFC 1035).
//! It keeps the benchmark measuring the scanner rather than the test server (the
//! hickory-server based [`super::dns_server::DnsServer`] is the full-featured one).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;

/// Answer threads; each has its own socket clone.
const THREADS: usize = 2;

pub struct FastDnsServer {
    pub addr: SocketAddr,
}

impl FastDnsServer {
    /// Serves `records` (fully qualified names, lower case, without the trailing dot) until
    /// the process ends.
    pub fn start(records: HashMap<String, Ipv4Addr>) -> FastDnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = socket.local_addr().expect("local addr");
        let records = Arc::new(records);
        for _ in 0..THREADS {
            let socket = socket.try_clone().expect("clone socket");
            let records = records.clone();
            std::thread::spawn(move || serve(&socket, &records));
        }
        FastDnsServer { addr }
    }
}

/// `count` names `n<index>.<zone>` with distinct addresses in 10.0.0.0/8.
pub fn numbered_zone(zone: &str, count: usize) -> (HashMap<String, Ipv4Addr>, Vec<String>) {
    let mut records = HashMap::with_capacity(count);
    let mut words = Vec::with_capacity(count);
    for index in 0..count {
        let word = format!("n{index}");
        let n = u32::try_from(index).unwrap_or(u32::MAX) + 1;
        records.insert(
            format!("{word}.{zone}"),
            Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)),
        );
        words.push(word);
    }
    (records, words)
}

fn serve(socket: &UdpSocket, records: &HashMap<String, Ipv4Addr>) {
    let mut buffer = [0u8; 4096];
    while let Ok((length, from)) = socket.recv_from(&mut buffer) {
        if let Some(reply) = answer(&buffer[..length], records) {
            let _ = socket.send_to(&reply, from);
        }
    }
}

/// Answers one query straight on the wire: the header and question copied back, flags set,
/// an A record pointing at the question's name when the name is known (NXDOMAIN otherwise).
fn answer(bytes: &[u8], records: &HashMap<String, Ipv4Addr>) -> Option<Vec<u8>> {
    const HEADER: usize = 12;
    if bytes.len() < HEADER || u16::from_be_bytes([bytes[4], bytes[5]]) != 1 {
        return None;
    }
    // The question's name, label by label, lower-cased.
    let mut name = String::new();
    let mut at = HEADER;
    loop {
        let length = usize::from(*bytes.get(at)?);
        at += 1;
        if length == 0 {
            break;
        }
        if length > 63 {
            return None;
        }
        let label = bytes.get(at..at + length)?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
        at += length;
    }
    let question_end = at + 4;
    let question = bytes.get(HEADER..question_end)?;
    let query_type =
        u16::from_be_bytes([question[question.len() - 4], question[question.len() - 3]]);
    let address = records.get(&name);
    let mut reply = Vec::with_capacity(question_end + 16);
    reply.extend_from_slice(&bytes[..2]);
    let recursion_desired = bytes[2] & 0x01;
    reply.push(0x84 | recursion_desired); // QR, AA
    reply.push(if address.is_some() { 0 } else { 3 }); // NOERROR or NXDOMAIN
    let answers: u16 = u16::from(address.is_some() && query_type == 1);
    reply.extend_from_slice(&1u16.to_be_bytes());
    reply.extend_from_slice(&answers.to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(question);
    if let (Some(ip), 1) = (address, answers) {
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&ip.octets());
    }
    Some(reply)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use std::net::IpAddr;

    use hickory_proto::rr::RecordType;

    use super::*;
    use crate::egress::Egress;
    use crate::net::dns::DnsClient;

    #[tokio::test]
    async fn answers_its_names_and_nxdomain_for_the_rest() {
        let (records, words) = numbered_zone("fast.test", 3);
        let server = FastDnsServer::start(records);
        let egress = Arc::new(Egress::parse_allow_list("127.0.0.0/8").unwrap());
        let client = DnsClient::new(vec![server.addr], egress, Duration::from_secs(2));
        let found = client
            .query(&format!("{}.fast.test", words[2]), RecordType::A)
            .await
            .unwrap();
        assert_eq!(found.addresses(), vec![IpAddr::from([10, 0, 0, 3])]);
        let missing = client.query("nope.fast.test", RecordType::A).await.unwrap();
        assert!(missing.is_nxdomain());
    }
}
