//! `whois`: a domain's WHOIS record over port 43 (RFC 3912), following referrals.
//!
//! Without `options.whoisServer` the chain starts at IANA, which refers to the registry
//! (`refer:`); a thin registry record refers to the registrar (`Registrar WHOIS Server:`).
//! At most [`MAX_HOPS`] servers are asked. E-mail addresses in the record are left to the
//! e-mail extractor, which reads `DOMAIN_WHOIS`.

use async_trait::async_trait;
use domain::scan::normalise::{host_name, ip_address};
use domain::scan::types::{DOMAIN_NAME, DOMAIN_REGISTRAR, DOMAIN_WHOIS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::{NetError, ScanNet, tcp};

pub static META: ModuleMeta = ModuleMeta {
    id: "whois",
    name: "WHOIS",
    description: "Asks WHOIS servers (port 43) about a domain, starting at IANA (or options.whoisServer) and following the registry and registrar referrals, and reports the record and the registrar.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME],
    produces: &[DOMAIN_WHOIS, DOMAIN_REGISTRAR],
    passive: true,
    options: &[],
    rate_per_second: 2,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Where the referral chain starts without `options.whoisServer`.
pub const IANA_SERVER: &str = "whois.iana.org";
/// The most servers asked about one domain.
pub const MAX_HOPS: usize = 3;
/// The most bytes kept of one server's answer; the rest is not read.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
const WHOIS_PORT: u16 = 43;

pub struct Whois;

/// A WHOIS server: host name or IP, and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Server {
    host: String,
    port: u16,
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&domain::scan::target::join_host_port(&self.host, self.port))
    }
}

#[async_trait]
impl Module for Whois {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let domain = host_name(&input.value).ok_or_else(|| {
            ModuleError::Failed(format!(
                "{:?} is not a domain name",
                input.value.chars().take(100).collect::<String>()
            ))
        })?;
        let (first, from_iana) = match &context.options.whois_server {
            Some(text) => (
                parse_server(text).ok_or_else(|| {
                    ModuleError::Failed(format!("whois server {text:?} is not host:port"))
                })?,
                false,
            ),
            None => (
                Server {
                    host: IANA_SERVER.to_owned(),
                    port: WHOIS_PORT,
                },
                true,
            ),
        };

        let mut records: Vec<(Server, String)> = Vec::new();
        let mut server = first;
        for hop in 0..MAX_HOPS {
            let text = match query(&context.net, &server, &domain).await {
                Ok(text) => text,
                Err(error) if hop == 0 => return Err(error.into()),
                Err(error) => {
                    tracing::debug!(%server, %error, "whois referral not answered");
                    break;
                }
            };
            let next = referral(&text)
                .filter(|next| *next != server && !records.iter().any(|(asked, _)| asked == next));
            records.push((server, text));
            match next {
                Some(next) => server = next,
                None => break,
            }
        }
        if from_iana {
            // IANA's answer describes the top-level domain; it only matters for its referral.
            if records.len() < 2 {
                return Ok(Vec::new());
            }
            records.remove(0);
        }

        let mut outputs = Vec::new();
        for (server, text) in &records {
            if text.trim().is_empty() || is_not_found(text) {
                continue;
            }
            outputs.push(
                Output::new(DOMAIN_WHOIS, text.clone())
                    .evidence(format!("whois {domain} at {server}")),
            );
        }
        if let Some((server, registrar)) = records
            .iter()
            .rev()
            .find_map(|(server, text)| registrar(text).map(|name| (server, name)))
        {
            outputs.push(
                Output::new(DOMAIN_REGISTRAR, registrar)
                    .evidence(format!("Registrar line of whois {domain} at {server}")),
            );
        }
        Ok(outputs)
    }
}

/// Asks `server` about `domain`; the answer is capped at [`MAX_RECORD_BYTES`].
async fn query(net: &ScanNet, server: &Server, domain: &str) -> Result<String, NetError> {
    let mut stream = tcp::connect_host(net, &server.host, server.port).await?;
    let exchange = async {
        stream.write_all(format!("{domain}\r\n").as_bytes()).await?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 8192];
        while answer.len() < MAX_RECORD_BYTES {
            let wanted = chunk.len().min(MAX_RECORD_BYTES - answer.len());
            let read = stream.read(&mut chunk[..wanted]).await?;
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..read]);
        }
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(net.timeout, exchange)
        .await
        .map_err(|_| NetError::Timeout)?
        .map_err(|error| NetError::Io(format!("whois {server}: {error}")))?;
    if looks_binary(&answer) {
        return Err(NetError::Protocol(format!(
            "whois server {server} answered with binary data, not a text record"
        )));
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// NUL bytes, or more than one byte in ten a control character other than white space.
fn looks_binary(bytes: &[u8]) -> bool {
    let controls = bytes
        .iter()
        .filter(|b| b.is_ascii_control() && !matches!(b, b'\r' | b'\n' | b'\t'))
        .count();
    bytes.contains(&0) || controls * 10 > bytes.len()
}

/// `key: value` lines, keys lower-cased and trimmed.
fn fields(text: &str) -> impl Iterator<Item = (String, &str)> {
    text.lines().filter_map(|line| {
        let (key, value) = line.split_once(':')?;
        Some((key.trim().to_ascii_lowercase(), value.trim()))
    })
}

/// The next server the record refers to: IANA's `refer:`/`whois:`, a registry's
/// `Registrar WHOIS Server:`, an RIR's `ReferralServer: whois://...`.
fn referral(text: &str) -> Option<Server> {
    fields(text)
        .filter(|(key, _)| {
            matches!(
                key.as_str(),
                "refer" | "whois" | "registrar whois server" | "whois server" | "referralserver"
            )
        })
        .find_map(|(_, value)| parse_server(value))
}

/// `host`, `host:port`, `[v6]:port` or `whois://host[:port]`; port 43 by default. Web URLs
/// are not WHOIS servers.
fn parse_server(text: &str) -> Option<Server> {
    let text = text.trim();
    let text = match text.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("whois") => rest,
        Some(_) => return None,
        None => text,
    };
    let text = text.trim_end_matches('/');
    if let Some(ip) = ip_address(text) {
        return Some(Server {
            host: ip.to_string(),
            port: WHOIS_PORT,
        });
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().ok().filter(|p| *p > 0)?),
        None => (text, WHOIS_PORT),
    };
    let host = match ip_address(host) {
        Some(ip) => ip.to_string(),
        None => host_name(host)?,
    };
    Some(Server { host, port })
}

/// The registrar named by a `Registrar:` line (or the indented line after an empty one, as
/// in .uk records), at most 200 characters.
fn registrar(text: &str) -> Option<String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if !matches!(
            key.as_str(),
            "registrar" | "sponsoring registrar" | "registrar name" | "registrar organization"
        ) {
            continue;
        }
        let value = value.trim();
        let name = if value.is_empty() {
            lines
                .next()
                .filter(|next| next.starts_with([' ', '\t']))
                .map(str::trim)
                .unwrap_or_default()
        } else {
            value
        };
        let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
        if !name.trim().is_empty() {
            return Some(name.trim().to_owned());
        }
    }
    None
}

/// A short "no such domain" answer.
fn is_not_found(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let says_missing = [
        "no match for",
        "not found",
        "no data found",
        "no entries found",
        "no object found",
        "status: free",
    ]
    .iter()
    .any(|phrase| lower.contains(phrase));
    says_missing && !lower.contains("domain name:") && registrar(text).is_none()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::egress::Egress;
    use crate::network::test_support::{context, context_with, input, options};
    use crate::testing::dns_server::{DnsServer, ZoneSpec};
    use crate::testing::whois_server::{WhoisServer, referral_chain};

    fn whois_options(server: &WhoisServer, timeout_ms: u64) -> crate::options::ScanOptions {
        let mut scan = options(timeout_ms);
        scan.whois_server = Some(server.host_port());
        scan
    }

    #[tokio::test]
    async fn follows_the_referral_chain_and_extracts_the_registrar() {
        let (iana, registry, registrar) =
            referral_chain("example.test", "Example Registrar, Inc.").await;
        let context = context(whois_options(&iana, 2000), &["example.test"]);
        let outputs = Whois
            .handle(&input(DOMAIN_NAME, "Example.TEST"), &context)
            .await
            .unwrap();
        assert_eq!(iana.queries(), vec!["example.test"]);
        assert_eq!(registry.queries(), vec!["example.test"]);
        assert_eq!(registrar.queries(), vec!["example.test"]);
        let records: Vec<&Output> = outputs.iter().filter(|o| o.kind == DOMAIN_WHOIS).collect();
        assert_eq!(
            records.len(),
            3,
            "an explicit server's answer is a record too"
        );
        assert!(
            records[2]
                .value
                .contains("Registrant Email: owner@example.test")
        );
        let registrars: Vec<&str> = outputs
            .iter()
            .filter(|o| o.kind == DOMAIN_REGISTRAR)
            .map(|o| o.value.as_str())
            .collect();
        assert_eq!(registrars, vec!["Example Registrar, Inc."]);
        assert!(!outputs.iter().any(|o| o.kind.contains("EMAIL")));
    }

    #[tokio::test]
    async fn server_names_are_resolved_through_the_scan_resolvers() {
        let registrar = WhoisServer::answering([(
            "example.test",
            "Domain Name: EXAMPLE.TEST\r\nRegistrar: Named Registrar\r\n",
        )])
        .await;
        let dns = DnsServer::start(vec![
            ZoneSpec::new("whois.test")
                .a("registry", "127.0.0.1")
                .a("registrar", "127.0.0.1"),
        ])
        .await;
        let thin = format!(
            "Domain Name: EXAMPLE.TEST\r\nRegistrar WHOIS Server: registrar.whois.test:{}\r\n",
            registrar.address.port()
        );
        let registry = WhoisServer::answering([("example.test", thin.as_str())]).await;
        let mut scan = options(2000);
        scan.resolvers = vec![dns.addr];
        scan.whois_server = Some(format!("registry.whois.test:{}", registry.address.port()));
        let outputs = Whois
            .handle(&input(DOMAIN_NAME, "example.test"), &context(scan, &[]))
            .await
            .unwrap();
        assert_eq!(registrar.queries(), vec!["example.test"]);
        assert_eq!(outputs.last().unwrap().value, "Named Registrar");
    }

    #[tokio::test]
    async fn a_dead_referral_keeps_what_was_answered() {
        let dead = crate::testing::banner_server::closed_port().await;
        let record = format!(
            "Domain Name: EXAMPLE.TEST\r\nRegistrar WHOIS Server: 127.0.0.1:{dead}\r\nRegistrar: Thin Registry Registrar\r\n"
        );
        let registry = WhoisServer::answering([("example.test", record.as_str())]).await;
        let context = context(whois_options(&registry, 1000), &[]);
        let outputs = Whois
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap();
        assert_eq!(outputs.len(), 2);
        assert_eq!(outputs[1].value, "Thin Registry Registrar");
    }

    #[tokio::test]
    async fn unknown_domains_give_no_findings() {
        let server = WhoisServer::answering([]).await;
        let context = context(whois_options(&server, 1000), &[]);
        let outputs = Whois
            .handle(&input(DOMAIN_NAME, "missing.test"), &context)
            .await
            .unwrap();
        assert!(outputs.is_empty(), "{outputs:?}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_ends_at_the_timeout() {
        let server = WhoisServer::silent().await;
        let context = context(whois_options(&server, 300), &[]);
        let started = Instant::now();
        let error = Whois
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn an_endless_answer_is_capped() {
        let server = WhoisServer::endless().await;
        let context = context(whois_options(&server, 5000), &[]);
        let outputs = Whois
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap();
        assert_eq!(outputs[0].kind, DOMAIN_WHOIS);
        assert_eq!(outputs[0].value.len(), MAX_RECORD_BYTES);
        assert_eq!(
            outputs[1].value,
            "Endless Registrar, Inc. (this line repeats forever)"
        );
    }

    #[tokio::test]
    async fn binary_garbage_is_a_clear_failure() {
        let server = WhoisServer::garbage().await;
        let context = context(whois_options(&server, 2000), &[]);
        let error = Whois
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ModuleError::Failed(text) if text.contains("binary")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn public_only_egress_refuses_a_loopback_server() {
        let (iana, _registry, _registrar) = referral_chain("example.test", "R").await;
        let context = context_with(whois_options(&iana, 1000), &[], Egress::public_only());
        let error = Whois
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
        assert!(iana.queries().is_empty());
    }

    #[tokio::test]
    async fn bad_input_is_refused_before_any_connection() {
        let server = WhoisServer::answering([]).await;
        let context = context(whois_options(&server, 1000), &[]);
        for value in ["", "not a domain", "10.0.0.1", "localhost"] {
            let error = Whois
                .handle(&input(DOMAIN_NAME, value), &context)
                .await
                .unwrap_err();
            assert!(
                matches!(error, ModuleError::Failed(_)),
                "{value:?}: {error:?}"
            );
        }
        assert!(server.queries().is_empty());
    }

    #[test]
    fn referrals_and_registrars_are_parsed() {
        let server = |text: &str| referral(text).map(|s| s.to_string());
        assert_eq!(
            server("refer:        whois.verisign-grs.com\n").as_deref(),
            Some("whois.verisign-grs.com:43")
        );
        assert_eq!(
            server("   Registrar WHOIS Server: whois.markmonitor.com\r\n").as_deref(),
            Some("whois.markmonitor.com:43")
        );
        assert_eq!(
            server("ReferralServer:  whois://whois.ripe.net\n").as_deref(),
            Some("whois.ripe.net:43")
        );
        assert_eq!(
            server("Registrar WHOIS Server: https://rdap.example/\n"),
            None
        );
        assert_eq!(server("Registrar WHOIS Server:\n"), None);
        assert_eq!(server("whois: [::1]:4343\n").as_deref(), Some("[::1]:4343"));
        assert_eq!(
            registrar("Domain: x.uk\n    Registrar:\n        Example Ltd [Tag = EX]\n").as_deref(),
            Some("Example Ltd [Tag = EX]")
        );
        assert_eq!(
            registrar("Registrar URL: http://x\nRegistrar: Y Corp\n").as_deref(),
            Some("Y Corp")
        );
        assert_eq!(registrar("nothing here"), None);
    }
}
