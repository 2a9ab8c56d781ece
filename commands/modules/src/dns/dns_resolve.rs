//! `dns_resolve`: a host name's IPv4 and IPv6 addresses (CNAME chains followed), the fact
//! that it does not resolve, and the registrable domain it belongs to (see
//! [`registrable_domain`](super::registrable_domain) for the rule).

use async_trait::async_trait;
use domain::scan::types::{
    DOMAIN_NAME, INTERNET_NAME, INTERNET_NAME_UNRESOLVED, IP_ADDRESS, IPV6_ADDRESS,
};

use super::{input_host, registrable_domain};
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::dns::RecordType;

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_resolve",
    name: "DNS resolve",
    description: "Resolves host names to their IPv4 (A) and IPv6 (AAAA) addresses, following CNAME chains; reports names that do not resolve and the registrable parent domain of each name.",
    version: "1.0.0",
    consumes: &[INTERNET_NAME],
    produces: &[
        IP_ADDRESS,
        IPV6_ADDRESS,
        INTERNET_NAME_UNRESOLVED,
        DOMAIN_NAME,
    ],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

pub struct DnsResolve;

#[async_trait]
impl Module for DnsResolve {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let host = input_host(&input.value)?;
        let dns = &context.net.dns;
        let (v4, v6) = tokio::join!(
            dns.lookup(&host, RecordType::A),
            dns.lookup(&host, RecordType::AAAA)
        );
        let mut outputs = Vec::new();
        let mut resolved = false;
        let mut first_error = None;
        let mut evidence = String::new();
        for lookup in [v4, v6] {
            match lookup {
                Ok(lookup) => {
                    let text = lookup.evidence();
                    for ip in lookup.addresses() {
                        resolved = true;
                        let kind = if ip.is_ipv4() {
                            IP_ADDRESS
                        } else {
                            IPV6_ADDRESS
                        };
                        outputs.push(Output::new(kind, ip.to_string()).evidence(text.clone()));
                    }
                    evidence.push_str(&text);
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if !resolved {
            // Without every answer in hand, "unresolved" would be a guess.
            if let Some(error) = first_error {
                return Err(error.into());
            }
            outputs.push(Output::new(INTERNET_NAME_UNRESOLVED, host.clone()).evidence(evidence));
        }
        if let Some(parent) = registrable_domain(&host) {
            outputs.push(
                Output::new(DOMAIN_NAME, parent).evidence(format!("registrable domain of {host}")),
            );
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::test_support::{
        context, context_for, input, options, refusing_context, values,
    };
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

    async fn server() -> DnsServer {
        DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .a("www", "192.0.2.10")
                .a("www", "192.0.2.11")
                .aaaa("www", "2001:db8::10")
                .cname("alias", "www")
                .cname("away", "cdn.other.test.")
                .txt("noaddress", "hello"),
            ZoneSpec::new("other.test").a("cdn", "198.51.100.7"),
        ])
        .await
    }

    #[tokio::test]
    async fn a_name_resolves_to_its_addresses_and_parent_domain() {
        let server = server().await;
        let outputs = DnsResolve
            .handle(
                &input(INTERNET_NAME, "WWW.example.test"),
                &context_for(server.addr),
            )
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, IP_ADDRESS),
            vec!["192.0.2.10", "192.0.2.11"]
        );
        assert_eq!(values(&outputs, IPV6_ADDRESS), vec!["2001:db8::10"]);
        assert_eq!(values(&outputs, DOMAIN_NAME), vec!["example.test"]);
        assert!(values(&outputs, INTERNET_NAME_UNRESOLVED).is_empty());
        let evidence = outputs[0].evidence.as_deref().unwrap();
        assert!(evidence.contains("192.0.2.1"), "{evidence}");
    }

    #[tokio::test]
    async fn cname_chains_are_followed_within_and_across_zones() {
        let server = server().await;
        let context = context_for(server.addr);
        let alias = DnsResolve
            .handle(&input(INTERNET_NAME, "alias.example.test"), &context)
            .await
            .unwrap();
        assert_eq!(values(&alias, IP_ADDRESS), vec!["192.0.2.10", "192.0.2.11"]);
        let away = DnsResolve
            .handle(&input(INTERNET_NAME, "away.example.test"), &context)
            .await
            .unwrap();
        assert_eq!(values(&away, IP_ADDRESS), vec!["198.51.100.7"]);
    }

    #[tokio::test]
    async fn missing_names_and_names_without_addresses_are_unresolved() {
        let server = server().await;
        let context = context_for(server.addr);
        for host in ["nope.example.test", "noaddress.example.test"] {
            let outputs = DnsResolve
                .handle(&input(INTERNET_NAME, host), &context)
                .await
                .unwrap();
            assert_eq!(values(&outputs, INTERNET_NAME_UNRESOLVED), vec![host]);
            assert!(values(&outputs, IP_ADDRESS).is_empty());
            assert_eq!(values(&outputs, DOMAIN_NAME), vec!["example.test"]);
        }
    }

    #[tokio::test]
    async fn a_resolver_the_egress_guard_refuses_is_a_refusal() {
        let server = server().await;
        let error = DnsResolve
            .handle(
                &input(INTERNET_NAME, "www.example.test"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn hostile_resolvers_give_clear_errors_quickly() {
        for mode in [
            Hostile::Garbage,
            Hostile::WrongId,
            Hostile::WrongQuestion,
            Hostile::Silent,
            Hostile::Truncated,
        ] {
            let hostile = HostileDnsServer::start(mode).await;
            let mut quick = options(hostile.addr);
            quick.timeout_ms = 300;
            let started = std::time::Instant::now();
            let error = DnsResolve
                .handle(&input(INTERNET_NAME, "www.example.test"), &context(quick))
                .await
                .unwrap_err();
            assert!(
                started.elapsed() < std::time::Duration::from_secs(3),
                "{mode:?}"
            );
            match mode {
                Hostile::Garbage | Hostile::WrongQuestion | Hostile::Truncated => assert!(
                    matches!(error, ModuleError::Failed(ref text) if text.contains("malformed")),
                    "{mode:?}: {error:?}"
                ),
                _ => assert!(error.is_transient(), "{mode:?}: {error:?}"),
            }
        }
    }

    #[tokio::test]
    async fn bad_input_is_refused() {
        let server = server().await;
        let error = DnsResolve
            .handle(
                &input(INTERNET_NAME, "not a host"),
                &context_for(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)));
    }
}
