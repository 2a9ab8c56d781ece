//! `tcp_portscan`: a TCP connect scan of an address's ports, with banner grabbing.
//!
//! Closed and filtered ports are silent, not errors. Only in-scope addresses (scope distance 0)
//! are scanned: this module touches the target's own systems.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use domain::scan::normalise::ip_address;
use domain::scan::target::join_host_port;
use domain::scan::types::{IP_ADDRESS, IPV6_ADDRESS, TCP_PORT_OPEN, TCP_PORT_OPEN_BANNER};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::egress::Egress;
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::tcp;

pub static META: ModuleMeta = ModuleMeta {
    id: "tcp_portscan",
    name: "TCP port scan",
    description: "Connects to each of the scan's TCP ports (options.ports) on an in-scope IP address and reports the open ones with what the service says first (its banner). Silent HTTP-style ports are asked for HEAD /.",
    version: "1.0.0",
    consumes: &[IP_ADDRESS, IPV6_ADDRESS],
    produces: &[TCP_PORT_OPEN, TCP_PORT_OPEN_BANNER],
    passive: false,
    options: &[
        OptionSpec {
            name: "connect_timeout_ms",
            kind: OptionKind::Int,
            default: "2000",
            description: "Connect timeout per port in milliseconds (at most the scan's timeoutMs).",
        },
        OptionSpec {
            name: "concurrency",
            kind: OptionKind::Int,
            default: "64",
            description: "Ports probed at the same time per address (1 to 1024).",
        },
        OptionSpec {
            name: "banner_wait_ms",
            kind: OptionKind::Int,
            default: "500",
            description: "How long to wait for a banner after connecting, in milliseconds.",
        },
        OptionSpec {
            name: "http_ports",
            kind: OptionKind::IntList,
            default: "[80, 81, 8000, 8008, 8080, 8888]",
            description: "Ports that are sent `HEAD / HTTP/1.0` when they stay silent.",
        },
    ],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The longest banner text kept, in characters.
pub const MAX_BANNER_CHARS: usize = 256;
/// The most bytes read from a service while grabbing its banner.
const MAX_BANNER_BYTES: usize = 2048;

pub struct TcpPortscan;

/// How one address is probed.
struct Probe {
    connect_timeout: Duration,
    banner_wait: Duration,
    http_ports: BTreeSet<u16>,
}

#[async_trait]
impl Module for TcpPortscan {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let ip = ip_address(&input.value).ok_or_else(|| {
            ModuleError::Failed(format!(
                "{:?} is not an IP address",
                input.value.chars().take(100).collect::<String>()
            ))
        })?;
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        context.net.egress.check(ip)?;

        let options = &context.options;
        let connect_ms = super::positive_option(options, &META, "connect_timeout_ms", 2000, 60_000);
        let probe = Probe {
            connect_timeout: Duration::from_millis(connect_ms).min(context.net.timeout),
            banner_wait: Duration::from_millis(super::positive_option(
                options,
                &META,
                "banner_wait_ms",
                500,
                30_000,
            ))
            .min(context.net.timeout),
            http_ports: options
                .module_value(&META, "http_ports")
                .and_then(|value| serde_json::from_value::<Vec<u16>>(value).ok())
                .unwrap_or_default()
                .into_iter()
                .collect(),
        };
        let concurrency = super::positive_option(options, &META, "concurrency", 64, 1024) as usize;
        let ports: BTreeSet<u16> = options.ports.iter().copied().filter(|p| *p > 0).collect();

        let egress: &Egress = &context.net.egress;
        let probe = &probe;
        let mut open: Vec<(u16, Option<(String, String)>)> = futures::stream::iter(ports)
            .map(|port| async move { probe_port(egress, ip, port, probe).await })
            .buffer_unordered(concurrency.max(1))
            .filter_map(|result| async move { result })
            .collect()
            .await;
        open.sort_unstable_by_key(|(port, _)| *port);

        let host = ip.to_string();
        let mut outputs = Vec::new();
        for (port, banner) in open {
            let address = join_host_port(&host, port);
            outputs.push(
                Output::new(TCP_PORT_OPEN, address.clone())
                    .evidence(format!("TCP connect to {address} succeeded")),
            );
            if let Some((text, raw)) = banner {
                outputs.push(
                    Output::new(TCP_PORT_OPEN_BANNER, format!("{address} {text}")).evidence(raw),
                );
            }
        }
        Ok(outputs)
    }
}

/// Connects to one port; `None` when it is closed or filtered, else its banner (text, raw).
async fn probe_port(
    egress: &Egress,
    ip: IpAddr,
    port: u16,
    probe: &Probe,
) -> Option<(u16, Option<(String, String)>)> {
    let mut stream = tcp::connect(egress, SocketAddr::new(ip, port), probe.connect_timeout)
        .await
        .ok()?;
    let mut raw = tcp::read_banner(&mut stream, MAX_BANNER_BYTES, probe.banner_wait)
        .await
        .ok()
        .flatten();
    let mut from_http = false;
    if raw.is_none() && probe.http_ports.contains(&port) {
        from_http = true;
        if stream.write_all(b"HEAD / HTTP/1.0\r\n\r\n").await.is_ok() {
            raw = tcp::read_banner(&mut stream, MAX_BANNER_BYTES, probe.banner_wait)
                .await
                .ok()
                .flatten();
        }
    }
    let banner = raw.and_then(|bytes| {
        let text = if from_http {
            http_banner(&bytes)
        } else {
            printable(&bytes)
        };
        let evidence: String = String::from_utf8_lossy(&bytes)
            .escape_debug()
            .take(4 * MAX_BANNER_CHARS)
            .collect();
        (!text.is_empty()).then_some((text, evidence))
    });
    Some((port, banner))
}

/// The printable part of a banner: control characters become spaces, runs of whitespace one
/// space, trimmed, at most [`MAX_BANNER_CHARS`] characters.
pub fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() || c == char::REPLACEMENT_CHARACTER {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            if count + 1 >= MAX_BANNER_CHARS {
                break;
            }
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        if count >= MAX_BANNER_CHARS {
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// An HTTP answer's status line and `Server` header.
fn http_banner(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split('\n').map(str::trim);
    let Some(status) = lines.next().filter(|line| line.starts_with("HTTP/")) else {
        return printable(bytes);
    };
    let server = lines.take_while(|line| !line.is_empty()).find(|line| {
        line.get(..7)
            .is_some_and(|name| name.eq_ignore_ascii_case("server:"))
    });
    match server {
        Some(server) => printable(format!("{status} {server}").as_bytes()),
        None => printable(status.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::egress::Egress;
    use crate::network::test_support::{context, context_with, input, options};
    use crate::testing::banner_server::{BannerServer, closed_port};

    fn scan_options(ports: Vec<u16>, module: serde_json::Value) -> crate::options::ScanOptions {
        let mut scan = options(2000);
        scan.ports = ports;
        let settings: BTreeMap<String, serde_json::Value> = serde_json::from_value(module).unwrap();
        scan.module_options.insert(META.id.to_owned(), settings);
        scan
    }

    #[tokio::test]
    async fn finds_exactly_the_listening_ports_with_their_banners() {
        let ssh = BannerServer::ssh().await;
        let smtp = BannerServer::smtp().await;
        let silent = BannerServer::silent().await;
        let http = BannerServer::http().await;
        let closed = closed_port().await;
        let options = scan_options(
            vec![ssh.port(), smtp.port(), silent.port(), http.port(), closed],
            json!({"banner_wait_ms": 300, "http_ports": [http.port()]}),
        );
        let context = context(options, &["127.0.0.0/8"]);
        let outputs = TcpPortscan
            .handle(&input(IP_ADDRESS, "127.0.0.1"), &context)
            .await
            .unwrap();
        let mut found: Vec<(&str, String)> =
            outputs.iter().map(|o| (o.kind, o.value.clone())).collect();
        found.sort();
        let mut expected = vec![
            (TCP_PORT_OPEN, format!("127.0.0.1:{}", ssh.port())),
            (TCP_PORT_OPEN, format!("127.0.0.1:{}", smtp.port())),
            (TCP_PORT_OPEN, format!("127.0.0.1:{}", silent.port())),
            (TCP_PORT_OPEN, format!("127.0.0.1:{}", http.port())),
            (
                TCP_PORT_OPEN_BANNER,
                format!("127.0.0.1:{} SSH-2.0-OpenSSH_9.6", ssh.port()),
            ),
            (
                TCP_PORT_OPEN_BANNER,
                format!("127.0.0.1:{} 220 smtp.example.test ESMTP", smtp.port()),
            ),
            (
                TCP_PORT_OPEN_BANNER,
                format!(
                    "127.0.0.1:{} HTTP/1.0 200 OK Server: mirage-test/1.0",
                    http.port()
                ),
            ),
        ];
        expected.sort();
        assert_eq!(found, expected);
    }

    #[tokio::test]
    async fn scans_ipv6_loopback_with_brackets() {
        let Ok(probe) = tokio::net::TcpListener::bind("[::1]:0").await else {
            return; // No IPv6 on this machine.
        };
        drop(probe);
        let ssh = crate::testing::banner_server::BannerServer::start_on(
            "[::1]:0".parse().unwrap(),
            crate::testing::banner_server::Behaviour::Banner(b"SSH-2.0-x\r\n".to_vec()),
        )
        .await;
        let options = scan_options(vec![ssh.port()], json!({"banner_wait_ms": 300}));
        let outputs = TcpPortscan
            .handle(&input(IPV6_ADDRESS, "::1"), &context(options, &["::1/128"]))
            .await
            .unwrap();
        assert_eq!(outputs[0].value, format!("[::1]:{}", ssh.port()));
        assert_eq!(outputs[1].value, format!("[::1]:{} SSH-2.0-x", ssh.port()));
    }

    #[tokio::test]
    async fn public_only_egress_refuses_loopback() {
        let ssh = BannerServer::ssh().await;
        let options = scan_options(vec![ssh.port()], json!({}));
        let context = context_with(options, &["127.0.0.0/8"], Egress::public_only());
        let error = TcpPortscan
            .handle(&input(IP_ADDRESS, "127.0.0.1"), &context)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn bad_input_fails_and_out_of_scope_addresses_are_not_scanned() {
        let ssh = BannerServer::ssh().await;
        let context = context(scan_options(vec![ssh.port()], json!({})), &[]);
        let error = TcpPortscan
            .handle(&input(IP_ADDRESS, "not-an-ip"), &context)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
        let mut affiliate = input(IP_ADDRESS, "127.0.0.1");
        affiliate.scope_distance = 1;
        assert!(
            TcpPortscan
                .handle(&affiliate, &context)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn banners_are_printable_trimmed_and_capped() {
        assert_eq!(printable(b"  220 hi\r\n\x00\x01there\r\n"), "220 hi there");
        assert_eq!(printable(&[0xff, 0xfe, 0x00]), "");
        let long = vec![b'a'; 1000];
        assert_eq!(printable(&long).chars().count(), MAX_BANNER_CHARS);
        assert!(printable("é".repeat(400).as_bytes()).chars().count() <= MAX_BANNER_CHARS);
    }
}
