//! Modules of the network group: TCP port scan with banners, TLS certificates, WHOIS,
//! certificate-transparency search and netblock expansion.

pub mod ct_search;
pub mod netblock_expand;
pub mod tcp_portscan;
pub mod tls_certificate;
pub mod whois;

use std::sync::Arc;

use crate::module::Module;
use crate::registry::Entry;

/// The modules of this group.
pub fn modules() -> Vec<Entry> {
    vec![
        Entry {
            meta: &ct_search::META,
            create: || Arc::new(ct_search::CtSearch) as Arc<dyn Module>,
        },
        Entry {
            meta: &netblock_expand::META,
            create: || Arc::new(netblock_expand::NetblockExpand) as Arc<dyn Module>,
        },
        Entry {
            meta: &tcp_portscan::META,
            create: || Arc::new(tcp_portscan::TcpPortscan) as Arc<dyn Module>,
        },
        Entry {
            meta: &tls_certificate::META,
            create: || Arc::new(tls_certificate::TlsCertificate) as Arc<dyn Module>,
        },
        Entry {
            meta: &whois::META,
            create: || Arc::new(whois::Whois) as Arc<dyn Module>,
        },
    ]
}

/// An option declared in `meta` as a positive integer, clamped to `1..=max`.
fn positive_option(
    options: &crate::options::ScanOptions,
    meta: &crate::meta::ModuleMeta,
    name: &str,
    fallback: u64,
    max: u64,
) -> u64 {
    options
        .module_int(meta, name)
        .and_then(|value| u64::try_from(value).ok())
        .filter(|value| *value > 0)
        .unwrap_or(fallback)
        .min(max)
}

/// Test helpers shared by this group's module tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use domain::scan::{Scope, ScopeEntry};
    use uuid::Uuid;

    use crate::egress::Egress;
    use crate::module::{Input, ModuleContext};
    use crate::net::ScanNet;
    use crate::options::ScanOptions;

    /// A context whose egress allows loopback, with `scope` as the scan's domains/networks.
    pub fn context(options: ScanOptions, scope: &[&str]) -> ModuleContext {
        context_with(
            options,
            scope,
            Egress::parse_allow_list("127.0.0.0/8,::1/128").unwrap(),
        )
    }

    pub fn context_with(options: ScanOptions, scope: &[&str], egress: Egress) -> ModuleContext {
        let entries = scope
            .iter()
            .map(|entry| match entry.parse() {
                Ok(net) => ScopeEntry::Network(net),
                Err(_) => ScopeEntry::Domain((*entry).to_owned()),
            })
            .collect();
        let net = ScanNet::new(Arc::new(egress), &options).unwrap();
        ModuleContext {
            options: Arc::new(options),
            net: Arc::new(net),
            scope: Arc::new(Scope::new(entries)),
        }
    }

    pub fn input(kind: &'static str, value: &str) -> Input {
        Input {
            id: Uuid::now_v7(),
            kind,
            value: value.to_owned(),
            depth: 0,
            scope_distance: 0,
        }
    }

    /// Options with a short timeout.
    pub fn options(timeout_ms: u64) -> ScanOptions {
        ScanOptions {
            timeout_ms,
            ..ScanOptions::default()
        }
    }
}
