//! `dns_reverse`: an address's PTR names, forward-confirmed. A PTR name that resolves back
//! to the address is the address's host (`INTERNET_NAME`); one that does not (anyone can
//! write any name into their reverse zone) is only an affiliate, with lower confidence.

use async_trait::async_trait;
use domain::scan::normalise::{canonical_ip, host_name};
use domain::scan::types::{AFFILIATE_INTERNET_NAME, INTERNET_NAME, IP_ADDRESS, IPV6_ADDRESS};
use futures::future::join_all;

use super::input_ip;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_reverse",
    name: "Reverse DNS",
    description: "Looks up the PTR names of IPv4 and IPv6 addresses and keeps those that resolve back to the address; unconfirmed names are reported as affiliates.",
    version: "1.0.0",
    consumes: &[IP_ADDRESS, IPV6_ADDRESS],
    produces: &[INTERNET_NAME, AFFILIATE_INTERNET_NAME],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Confidence in a PTR name that does not resolve back to the address.
pub const UNCONFIRMED_CONFIDENCE: u8 = 50;

pub struct DnsReverse;

#[async_trait]
impl Module for DnsReverse {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let ip = input_ip(&input.value)?;
        let dns = &context.net.dns;
        let names: Vec<String> = dns
            .reverse(ip)
            .await?
            .into_iter()
            .filter_map(|name| host_name(&name))
            .collect();
        let confirmations = join_all(names.iter().map(|name| dns.lookup_ip(name))).await;
        let outputs = names
            .into_iter()
            .zip(confirmations)
            .map(|(name, forward)| {
                let forward = forward.unwrap_or_default();
                let confirmed = forward.iter().any(|found| canonical_ip(*found) == ip);
                let listed: Vec<String> = forward.iter().map(ToString::to_string).collect();
                let evidence = format!("PTR {ip} -> {name}; {name} -> [{}]", listed.join(", "));
                if confirmed {
                    Output::new(INTERNET_NAME, name).evidence(evidence)
                } else {
                    Output::new(AFFILIATE_INTERNET_NAME, name)
                        .confidence(UNCONFIRMED_CONFIDENCE)
                        .evidence(evidence)
                }
            })
            .collect();
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::test_support::{context_for, input, refusing_context, values};
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

    async fn server() -> DnsServer {
        DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .a("mail", "192.0.2.25")
                .aaaa("v6", "2001:db8::6"),
            ZoneSpec::new("in-addr.arpa")
                .ptr_for("192.0.2.25", "mail.example.test")
                .ptr_for("192.0.2.26", "liar.example.test")
                .ptr_for("192.0.2.26", "mail.example.test"),
            ZoneSpec::new("ip6.arpa").ptr_for("2001:db8::6", "v6.example.test"),
        ])
        .await
    }

    #[tokio::test]
    async fn forward_confirmed_names_are_hosts_and_others_affiliates() {
        let server = server().await;
        let context = context_for(server.addr);
        let confirmed = DnsReverse
            .handle(&input(IP_ADDRESS, "192.0.2.25"), &context)
            .await
            .unwrap();
        assert_eq!(values(&confirmed, INTERNET_NAME), vec!["mail.example.test"]);
        assert!(values(&confirmed, AFFILIATE_INTERNET_NAME).is_empty());

        let mixed = DnsReverse
            .handle(&input(IP_ADDRESS, "192.0.2.26"), &context)
            .await
            .unwrap();
        assert!(values(&mixed, INTERNET_NAME).is_empty());
        assert_eq!(
            values(&mixed, AFFILIATE_INTERNET_NAME),
            vec!["liar.example.test", "mail.example.test"]
        );
        assert!(mixed.iter().all(|o| o.confidence == UNCONFIRMED_CONFIDENCE));

        let v6 = DnsReverse
            .handle(&input(IPV6_ADDRESS, "2001:db8::6"), &context)
            .await
            .unwrap();
        assert_eq!(values(&v6, INTERNET_NAME), vec!["v6.example.test"]);

        let none = DnsReverse
            .handle(&input(IP_ADDRESS, "192.0.2.99"), &context)
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn refused_egress_garbage_and_bad_input_are_errors() {
        let server = server().await;
        let error = DnsReverse
            .handle(
                &input(IP_ADDRESS, "192.0.2.25"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let hostile = HostileDnsServer::start(Hostile::Garbage).await;
        let error = DnsReverse
            .handle(&input(IP_ADDRESS, "192.0.2.25"), &context_for(hostile.addr))
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");

        let error = DnsReverse
            .handle(&input(IP_ADDRESS, "not-an-ip"), &context_for(server.addr))
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)));
    }
}
