//! `dns_axfr`: tries a zone transfer (AXFR) of a domain from its name servers, and from the
//! scan's own resolvers when `options.resolvers` is set. The first transfer that succeeds
//! gives the zone as one raw-records finding and every host name in it. Refused or failed
//! transfers are the normal case and give nothing.

use std::net::SocketAddr;

use async_trait::async_trait;
use domain::scan::normalise::host_name;
use domain::scan::types::{DOMAIN_NAME, INTERNET_NAME, RAW_DNS_RECORDS};
use futures::future::join_all;

use super::input_host;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::dns::{RData, Record, RecordType, name_text};

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_axfr",
    name: "DNS zone transfer",
    description: "Tries a zone transfer (AXFR) of a domain from each of its name servers (and the scan's resolvers when set); a successful transfer gives the zone's records and host names.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME],
    produces: &[RAW_DNS_RECORDS, INTERNET_NAME],
    passive: false,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Servers tried per domain at most.
pub const MAX_SERVERS: usize = 10;

/// The zone text kept in the raw-records finding at most.
pub const MAX_ZONE_TEXT: usize = 512 * 1024;

const DNS_PORT: u16 = 53;

pub struct DnsAxfr;

#[async_trait]
impl Module for DnsAxfr {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let domain = input_host(&input.value)?;
        let dns = &context.net.dns;
        let answer = dns.query(&domain, RecordType::NS).await?;
        let ns_hosts: Vec<String> = answer
            .records_of(RecordType::NS)
            .into_iter()
            .filter_map(|record| match &record.data {
                RData::NS(ns) => host_name(&name_text(&ns.0)),
                _ => None,
            })
            .collect();
        let addresses = join_all(ns_hosts.iter().map(|host| dns.lookup_ip(host))).await;
        let mut servers: Vec<(String, SocketAddr)> = Vec::new();
        for (host, found) in ns_hosts.iter().zip(addresses) {
            for ip in found.unwrap_or_default() {
                servers.push((host.clone(), SocketAddr::new(ip, DNS_PORT)));
            }
        }
        for resolver in &context.options.resolvers {
            servers.push((resolver.to_string(), *resolver));
        }
        let mut tried: Vec<SocketAddr> = Vec::new();
        for (label, server) in servers {
            if tried.contains(&server) || tried.len() >= MAX_SERVERS {
                continue;
            }
            tried.push(server);
            match dns.axfr(server, &domain).await {
                Ok(records) => return Ok(findings(&domain, &label, server, &records)),
                Err(error) => {
                    tracing::debug!(%domain, %server, %error, "zone transfer failed");
                }
            }
        }
        Ok(Vec::new())
    }
}

/// The zone as one raw-records finding, and its host names.
fn findings(domain: &str, label: &str, server: SocketAddr, records: &[Record]) -> Vec<Output> {
    let evidence = format!(
        "AXFR of {domain} from {label} ({server}): {} records",
        records.len()
    );
    let mut text = String::new();
    for record in records {
        let line = format!("{record}\n");
        if text.len() + line.len() > MAX_ZONE_TEXT {
            text.push_str(";; truncated\n");
            break;
        }
        text.push_str(&line);
    }
    let mut outputs = vec![Output::new(RAW_DNS_RECORDS, text).evidence(evidence.clone())];
    let mut names: Vec<String> = Vec::new();
    for record in records {
        let name = name_text(&record.name);
        let is_host = name
            .split('.')
            .all(|label| !label.starts_with('_') && label != "*");
        if !is_host || names.contains(&name) {
            continue;
        }
        if let Some(host) = host_name(&name) {
            names.push(name);
            outputs.push(Output::new(INTERNET_NAME, host).evidence(evidence.clone()));
        }
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::test_support::{context_for, input, refusing_context, values};
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

    fn zone() -> ZoneSpec {
        ZoneSpec::new("example.test")
            .a("www", "192.0.2.1")
            .a("secret-admin", "192.0.2.2")
            .aaaa("v6", "2001:db8::1")
            .cname("shop", "www")
            .srv("_sip._tcp", 1, 1, 5060, "www")
            .a("*.wild", "192.0.2.9")
    }

    #[tokio::test]
    async fn an_open_zone_is_transferred() {
        let server = DnsServer::start(vec![zone().allow_axfr()]).await;
        let outputs = DnsAxfr
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &context_for(server.addr),
            )
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, INTERNET_NAME),
            vec![
                "example.test",
                "secret-admin.example.test",
                "shop.example.test",
                "v6.example.test",
                "www.example.test"
            ]
        );
        let raw = values(&outputs, RAW_DNS_RECORDS);
        assert_eq!(raw.len(), 1);
        assert!(raw[0].contains("secret-admin.example.test."), "{}", raw[0]);
        assert!(raw[0].contains("SOA"), "{}", raw[0]);
    }

    #[tokio::test]
    async fn a_refused_transfer_gives_nothing() {
        let server = DnsServer::start(vec![zone()]).await;
        let outputs = DnsAxfr
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &context_for(server.addr),
            )
            .await
            .unwrap();
        assert!(outputs.is_empty(), "{outputs:?}");
    }

    #[tokio::test]
    async fn refused_egress_is_a_refusal() {
        let server = DnsServer::start(vec![zone().allow_axfr()]).await;
        let error = DnsAxfr
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_hostile_server_fails_clearly() {
        let hostile = HostileDnsServer::start(Hostile::Garbage).await;
        let error = DnsAxfr
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &context_for(hostile.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
    }
}
