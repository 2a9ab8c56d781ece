//! Tests of the DNS client against real servers on loopback.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::egress::Egress;
use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

fn loopback() -> Arc<Egress> {
    Arc::new(Egress::parse_allow_list("127.0.0.0/8,::1/128").unwrap())
}

fn client(resolvers: Vec<SocketAddr>) -> DnsClient {
    DnsClient::new(resolvers, loopback(), Duration::from_millis(600))
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

async fn server() -> DnsServer {
    let mut zone = ZoneSpec::new("example.test")
        .a("www", "192.0.2.10")
        .aaaa("www", "2001:db8::10")
        .a("local", "127.0.0.1")
        .a("local", "10.0.0.1")
        .a("private", "10.0.0.2")
        .cname("alias", "www");
    for index in 0..40 {
        zone = zone.txt("big", &format!("{index:02}-{}", "x".repeat(200)));
    }
    for index in 0..2_000 {
        zone = zone.a(
            &format!("h{index}"),
            &format!("198.51.{}.{}", index / 250, index % 250),
        );
    }
    DnsServer::start(vec![zone]).await
}

#[tokio::test]
async fn nxdomain_is_an_answer_and_records_match_the_question() {
    let server = server().await;
    let dns = client(vec![server.addr]);
    let missing = dns.query("nope.example.test", RecordType::A).await.unwrap();
    assert!(missing.is_nxdomain());
    assert!(missing.records.is_empty());

    let alias = dns
        .query("ALIAS.example.test", RecordType::A)
        .await
        .unwrap();
    assert_eq!(alias.rcode, ResponseCode::NoError);
    assert_eq!(alias.addresses(), vec![ip("192.0.2.10")]);
    assert_eq!(alias.chain().len(), 2);
    assert!(alias.evidence().contains("CNAME"), "{}", alias.evidence());

    assert_eq!(
        dns.lookup_ip("www.example.test").await.unwrap(),
        vec![ip("192.0.2.10"), ip("2001:db8::10")]
    );
    assert!(dns.lookup_ip("nope.example.test").await.unwrap().is_empty());
    assert_eq!(
        dns.lookup_ip("192.0.2.7").await.unwrap(),
        vec![ip("192.0.2.7")]
    );
    assert!(dns.query("bad name!", RecordType::A).await.is_err());
}

#[tokio::test]
async fn large_answers_arrive_whole() {
    let server = server().await;
    let dns = client(vec![server.addr]);
    let answer = dns
        .query("big.example.test", RecordType::TXT)
        .await
        .unwrap();
    assert_eq!(answer.records_of(RecordType::TXT).len(), 40);
}

#[tokio::test]
async fn many_concurrent_queries_each_get_their_own_answer() {
    let server = server().await;
    let dns = client(vec![server.addr]);
    let lookups = (0..2_000).map(|index| {
        let dns = dns.clone();
        async move {
            let answer = dns
                .query(&format!("h{index}.example.test"), RecordType::A)
                .await
                .unwrap();
            assert_eq!(
                answer.addresses(),
                vec![ip(&format!("198.51.{}.{}", index / 250, index % 250))]
            );
        }
    });
    futures::future::join_all(lookups).await;
}

#[tokio::test]
async fn connect_resolution_keeps_only_allowed_addresses() {
    let server = server().await;
    let dns = client(vec![server.addr]);
    assert_eq!(
        dns.resolve_for_connect("local.example.test").await.unwrap(),
        vec![ip("127.0.0.1")]
    );
    assert!(matches!(
        dns.resolve_for_connect("private.example.test").await,
        Err(NetError::Refused(_))
    ));
    assert!(matches!(
        dns.resolve_for_connect("nope.example.test").await,
        Err(NetError::Other(_))
    ));
    assert_eq!(
        dns.resolve_for_connect("[::1]").await.unwrap(),
        vec![ip("::1")]
    );
    assert!(matches!(
        dns.resolve_for_connect("169.254.169.254").await,
        Err(NetError::Refused(_))
    ));
}

#[tokio::test]
async fn a_resolver_outside_the_egress_policy_is_never_asked() {
    let server = server().await;
    let dns = DnsClient::new(
        vec![server.addr],
        Arc::new(Egress::public_only()),
        Duration::from_millis(600),
    );
    assert!(matches!(
        dns.query("www.example.test", RecordType::A).await,
        Err(NetError::Refused(_))
    ));
    assert!(matches!(
        dns.axfr(server.addr, "example.test").await,
        Err(NetError::Refused(_))
    ));
}

#[tokio::test]
async fn a_failing_resolver_is_skipped_for_the_next() {
    let server = server().await;
    let silent = HostileDnsServer::start(Hostile::Silent).await;
    let dns = client(vec![silent.addr, server.addr]);
    let answer = dns.query("www.example.test", RecordType::A).await.unwrap();
    assert_eq!(answer.server, server.addr);
}

#[tokio::test]
async fn hostile_servers_give_timeouts_or_protocol_errors_quickly() {
    let cases = [
        (Hostile::Silent, "timeout"),
        (Hostile::WrongId, "timeout"),
        (Hostile::Garbage, "protocol"),
        (Hostile::WrongQuestion, "protocol"),
        (Hostile::Truncated, "protocol"),
    ];
    for (mode, expected) in cases {
        let hostile = HostileDnsServer::start(mode).await;
        let dns = client(vec![hostile.addr]);
        let started = Instant::now();
        let error = dns
            .query("www.example.test", RecordType::A)
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{mode:?}");
        let kind = match error {
            NetError::Timeout => "timeout",
            NetError::Protocol(_) => "protocol",
            _ => "other",
        };
        assert_eq!(kind, expected, "{mode:?}: {error:?}");
    }
}

#[tokio::test]
async fn zone_transfers_return_the_zone_or_fail_cleanly() {
    // hickory-server sends a transfer as one message, so the zone must stay under 64 KiB.
    let mut zone = ZoneSpec::new("example.test").allow_axfr();
    for index in 0..1_000 {
        zone = zone.a(&format!("h{index}"), "192.0.2.1");
    }
    let server = DnsServer::start(vec![zone]).await;
    let dns = client(vec![server.addr]);
    let records = dns.axfr(server.addr, "example.test").await.unwrap();
    assert_eq!(records[0].record_type(), RecordType::SOA);
    assert_eq!(records.len(), 1_002);
    assert!(
        records
            .iter()
            .any(|record| name_text(&record.name) == "h999.example.test")
    );
    assert_eq!(
        records
            .iter()
            .filter(|record| record.record_type() == RecordType::SOA)
            .count(),
        1
    );

    let closed = DnsServer::start(vec![ZoneSpec::new("closed.test")]).await;
    let error = dns.axfr(closed.addr, "closed.test").await.unwrap_err();
    assert!(
        matches!(error, NetError::Other(ref text) if text.contains("refused")),
        "{error:?}"
    );

    let garbage = HostileDnsServer::start(Hostile::Garbage).await;
    assert!(dns.axfr(garbage.addr, "example.test").await.is_err());
}

#[tokio::test]
async fn an_endless_transfer_stops_at_the_record_cap() {
    let endless = HostileDnsServer::start(Hostile::EndlessTransfer).await;
    let question = message::question(dns_name("example.test").unwrap(), RecordType::AXFR);
    let started = Instant::now();
    let error = tcp::transfer(endless.addr, &question, Duration::from_secs(2), 1_000)
        .await
        .unwrap_err();
    assert!(
        matches!(error, NetError::Other(ref text) if text.contains("1000 records")),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_client_outlives_the_runtime_it_was_first_used_on() {
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(server());
    let dns = client(vec![server.addr]);
    for _ in 0..2 {
        // The sockets opened on the first runtime die with it; the client opens new ones.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let found = runtime.block_on(dns.lookup_ip("www.example.test")).unwrap();
        assert_eq!(found, vec![ip("192.0.2.10"), ip("2001:db8::10")]);
    }
    drop(server);
}

#[test]
fn reverse_names_are_spelled_per_rfc() {
    assert_eq!(reverse_name(ip("192.0.2.1")), "1.2.0.192.in-addr.arpa");
    assert_eq!(
        reverse_name(ip("2001:db8::1")),
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
}
