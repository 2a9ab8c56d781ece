//! `netblock_expand`: the addresses of an in-scope network (`10.0.0.0/24`), so per-address
//! modules can work on them. No network traffic.

use async_trait::async_trait;
use domain::scan::normalise::canonical_ip;
use domain::scan::types::{IP_ADDRESS, IPV6_ADDRESS, NETBLOCK};
use ipnet::IpNet;

use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};

pub static META: ModuleMeta = ModuleMeta {
    id: "netblock_expand",
    name: "Netblock expansion",
    description: "Lists every address of an in-scope network (without the network and broadcast addresses of IPv4 networks of /30 and wider), refusing networks larger than max_addresses.",
    version: "1.0.0",
    consumes: &[NETBLOCK],
    produces: &[IP_ADDRESS, IPV6_ADDRESS],
    passive: true,
    options: &[OptionSpec {
        name: "max_addresses",
        kind: OptionKind::Int,
        default: "65536",
        description: "The most addresses one network may expand to (at most 1048576).",
    }],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The default and the hard ceiling of `max_addresses`.
pub const DEFAULT_MAX_ADDRESSES: u64 = 65_536;
const CEILING: u64 = 1 << 20;

pub struct NetblockExpand;

#[async_trait]
impl Module for NetblockExpand {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let text = input.value.trim();
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                ModuleError::Failed(format!(
                    "{:?} is not a network such as 10.0.0.0/24",
                    text.chars().take(100).collect::<String>()
                ))
            })?
            .trunc();
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        let limit = super::positive_option(
            &context.options,
            &META,
            "max_addresses",
            DEFAULT_MAX_ADDRESSES,
            CEILING,
        );
        let count = host_count(&net);
        if count.is_none_or(|count| count > limit) {
            return Err(ModuleError::Failed(format!(
                "netblock {net} has more than {limit} addresses; not expanded (max_addresses)"
            )));
        }
        let evidence = format!("address in netblock {net}");
        Ok(net
            .hosts()
            .map(|ip| {
                let ip = canonical_ip(ip);
                let kind = if ip.is_ipv4() {
                    IP_ADDRESS
                } else {
                    IPV6_ADDRESS
                };
                Output::new(kind, ip.to_string()).evidence(&evidence)
            })
            .collect())
    }
}

/// How many addresses `hosts()` yields, when it fits in a `u64`.
fn host_count(net: &IpNet) -> Option<u64> {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    let total = 1u64.checked_shl(bits)?;
    Some(match net {
        IpNet::V4(_) if net.prefix_len() < 31 => total - 2,
        _ => total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::test_support::{context, input, options};

    fn values(outputs: &[Output]) -> Vec<(&str, &str)> {
        outputs.iter().map(|o| (o.kind, o.value.as_str())).collect()
    }

    #[tokio::test]
    async fn expands_small_networks() {
        let context = context(options(1000), &[]);
        let outputs = NetblockExpand
            .handle(&input(NETBLOCK, "10.0.0.0/30"), &context)
            .await
            .unwrap();
        assert_eq!(
            values(&outputs),
            vec![(IP_ADDRESS, "10.0.0.1"), (IP_ADDRESS, "10.0.0.2")]
        );
        let outputs = NetblockExpand
            .handle(&input(NETBLOCK, "10.0.0.7/31"), &context)
            .await
            .unwrap();
        assert_eq!(
            values(&outputs),
            vec![(IP_ADDRESS, "10.0.0.6"), (IP_ADDRESS, "10.0.0.7")]
        );
        let outputs = NetblockExpand
            .handle(&input(NETBLOCK, "2001:db8::/126"), &context)
            .await
            .unwrap();
        assert_eq!(outputs.len(), 4);
        assert!(outputs.iter().all(|o| o.kind == IPV6_ADDRESS));
        let outputs = NetblockExpand
            .handle(&input(NETBLOCK, "192.0.2.9"), &context)
            .await
            .unwrap();
        assert_eq!(values(&outputs), vec![(IP_ADDRESS, "192.0.2.9")]);
        let outputs = NetblockExpand
            .handle(&input(NETBLOCK, "10.1.0.0/16"), &context)
            .await
            .unwrap();
        assert_eq!(outputs.len(), 65_534);
    }

    #[tokio::test]
    async fn refuses_networks_beyond_the_cap() {
        let context = context(options(1000), &[]);
        for wide in ["10.0.0.0/15", "0.0.0.0/0", "2001:db8::/64", "::/0"] {
            let error = NetblockExpand
                .handle(&input(NETBLOCK, wide), &context)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, ModuleError::Failed(text) if text.contains("max_addresses")),
                "{wide}: {error:?}"
            );
        }
        let mut small_cap = options(1000);
        small_cap.module_options.insert(
            META.id.to_owned(),
            [("max_addresses".to_owned(), serde_json::json!(2))]
                .into_iter()
                .collect(),
        );
        let capped = crate::network::test_support::context(small_cap, &[]);
        assert!(
            NetblockExpand
                .handle(&input(NETBLOCK, "10.0.0.0/30"), &capped)
                .await
                .is_ok()
        );
        assert!(
            NetblockExpand
                .handle(&input(NETBLOCK, "10.0.0.0/29"), &capped)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn bad_input_and_affiliate_networks() {
        let context = context(options(1000), &[]);
        for bad in ["", "10.0.0.0/33", "example.com", "10.0.0/24"] {
            let error = NetblockExpand
                .handle(&input(NETBLOCK, bad), &context)
                .await
                .unwrap_err();
            assert!(matches!(error, ModuleError::Failed(_)), "{bad:?}");
        }
        let mut affiliate = input(NETBLOCK, "10.0.0.0/30");
        affiliate.scope_distance = 1;
        assert!(
            NetblockExpand
                .handle(&affiliate, &context)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
