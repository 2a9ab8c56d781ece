//! `dns_ptr_sweep`: the PTR names of an IPv4 address's neighbours (the `radius` addresses on
//! either side), as affiliates: hosts next to a target are often the same organisation's,
//! but nothing confirms it.

use std::net::{IpAddr, Ipv4Addr};

use async_trait::async_trait;
use domain::scan::normalise::host_name;
use domain::scan::types::{AFFILIATE_INTERNET_NAME, IP_ADDRESS};
use futures::StreamExt;

use super::input_ip;
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::NetError;

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_ptr_sweep",
    name: "PTR neighbour sweep",
    description: "Looks up the PTR names of the addresses next to an IPv4 address (radius on either side) and reports them as affiliated host names.",
    version: "1.0.0",
    consumes: &[IP_ADDRESS],
    produces: &[AFFILIATE_INTERNET_NAME],
    passive: true,
    options: &[OptionSpec {
        name: "radius",
        kind: OptionKind::Int,
        default: "4",
        description: "Neighbours looked up on either side of the address (1 to 64).",
    }],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The widest radius accepted.
pub const MAX_RADIUS: u32 = 64;

/// Confidence in a neighbour's name belonging to the target's owner.
pub const NEIGHBOUR_CONFIDENCE: u8 = 40;

const CONCURRENCY: usize = 16;

pub struct DnsPtrSweep;

#[async_trait]
impl Module for DnsPtrSweep {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let IpAddr::V4(ip) = input_ip(&input.value)? else {
            return Err(ModuleError::Failed(format!(
                "{} is not an IPv4 address",
                input.value.chars().take(100).collect::<String>()
            )));
        };
        let radius = context
            .options
            .module_int(&META, "radius")
            .and_then(|value| u32::try_from(value).ok())
            .unwrap_or(4)
            .clamp(1, MAX_RADIUS);
        let dns = &context.net.dns;
        let results: Vec<(Ipv4Addr, Result<Vec<String>, NetError>)> = futures::stream::iter(
            neighbours(ip, radius),
        )
        .map(|neighbour| async move { (neighbour, dns.reverse(IpAddr::V4(neighbour)).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
        let mut outputs = Vec::new();
        let mut first_error = None;
        let mut answered = false;
        for (neighbour, result) in results {
            match result {
                Ok(names) => {
                    answered = true;
                    outputs.extend(names.iter().filter_map(|name| host_name(name)).map(|host| {
                        Output::new(AFFILIATE_INTERNET_NAME, host.clone())
                            .confidence(NEIGHBOUR_CONFIDENCE)
                            .evidence(format!("PTR {neighbour} -> {host} (neighbour of {ip})"))
                    }));
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) if !answered => Err(error.into()),
            _ => Ok(outputs),
        }
    }
}

/// The addresses within `radius` of `ip`, without `ip` itself and without wrapping around.
fn neighbours(ip: Ipv4Addr, radius: u32) -> Vec<Ipv4Addr> {
    let center = u32::from(ip);
    let low = center.saturating_sub(radius);
    let high = center.saturating_add(radius);
    (low..=high)
        .filter(|address| *address != center)
        .map(Ipv4Addr::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dns::test_support::{context, input, options, refusing_context, values};
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

    #[test]
    fn neighbours_stay_in_range() {
        assert_eq!(
            neighbours(Ipv4Addr::new(10, 0, 0, 1), 2),
            vec![
                Ipv4Addr::new(9, 255, 255, 255),
                Ipv4Addr::new(10, 0, 0, 0),
                Ipv4Addr::new(10, 0, 0, 2),
                Ipv4Addr::new(10, 0, 0, 3)
            ]
        );
        assert_eq!(neighbours(Ipv4Addr::new(0, 0, 0, 0), 1).len(), 1);
        assert_eq!(neighbours(Ipv4Addr::BROADCAST, 1).len(), 1);
    }

    #[tokio::test]
    async fn neighbours_names_are_affiliates() {
        let server = DnsServer::start(vec![
            ZoneSpec::new("in-addr.arpa")
                .ptr_for("192.0.2.10", "target.example.test")
                .ptr_for("192.0.2.8", "db.example.test")
                .ptr_for("192.0.2.12", "backup.example.test")
                .ptr_for("192.0.2.20", "far.example.test"),
        ])
        .await;
        let mut options = options(server.addr);
        options
            .module_options
            .insert(META.id.to_owned(), [("radius".to_owned(), json!(3))].into());
        let outputs = DnsPtrSweep
            .handle(&input(IP_ADDRESS, "192.0.2.10"), &context(options))
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, AFFILIATE_INTERNET_NAME),
            vec!["backup.example.test", "db.example.test"]
        );
        assert!(outputs.iter().all(|o| o.confidence == NEIGHBOUR_CONFIDENCE));
    }

    #[tokio::test]
    async fn refused_egress_silence_and_ipv6_are_errors() {
        let server = DnsServer::start(vec![ZoneSpec::new("in-addr.arpa")]).await;
        let error = DnsPtrSweep
            .handle(
                &input(IP_ADDRESS, "192.0.2.10"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let silent = HostileDnsServer::start(Hostile::Silent).await;
        let error = DnsPtrSweep
            .handle(
                &input(IP_ADDRESS, "192.0.2.10"),
                &crate::dns::test_support::context_for(silent.addr),
            )
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");

        let error = DnsPtrSweep
            .handle(
                &input(IP_ADDRESS, "2001:db8::1"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)));
    }
}
