//! Modules of the dns group: resolution, reverse lookups, record collection, sub-domain brute
//! force, SRV enumeration, zone transfers and PTR neighbour sweeps. All of them go through the
//! scan's [`DnsClient`](crate::net::dns::DnsClient).

pub mod dns_axfr;
pub mod dns_bruteforce;
pub mod dns_ptr_sweep;
pub mod dns_records;
pub mod dns_resolve;
pub mod dns_reverse;
pub mod dns_srv;
mod parent_domain;
#[cfg(test)]
mod test_support;

pub use parent_domain::registrable_domain;

use std::sync::Arc;

use crate::module::Module;
use crate::registry::Entry;

/// The modules of this group.
pub fn modules() -> Vec<Entry> {
    vec![
        Entry {
            meta: &dns_resolve::META,
            create: || Arc::new(dns_resolve::DnsResolve) as Arc<dyn Module>,
        },
        Entry {
            meta: &dns_reverse::META,
            create: || Arc::new(dns_reverse::DnsReverse) as Arc<dyn Module>,
        },
        Entry {
            meta: &dns_records::META,
            create: || Arc::new(dns_records::DnsRecords) as Arc<dyn Module>,
        },
        Entry {
            meta: &dns_bruteforce::META,
            create: || Arc::new(dns_bruteforce::DnsBruteforce) as Arc<dyn Module>,
        },
        Entry {
            meta: &dns_srv::META,
            create: || Arc::new(dns_srv::DnsSrv) as Arc<dyn Module>,
        },
        Entry {
            meta: &dns_axfr::META,
            create: || Arc::new(dns_axfr::DnsAxfr) as Arc<dyn Module>,
        },
        Entry {
            meta: &dns_ptr_sweep::META,
            create: || Arc::new(dns_ptr_sweep::DnsPtrSweep) as Arc<dyn Module>,
        },
    ]
}

/// The input's host name in normal form, or a clear error.
fn input_host(value: &str) -> Result<String, crate::ModuleError> {
    domain::scan::normalise::host_name(value).ok_or_else(|| {
        crate::ModuleError::Failed(format!(
            "{:?} is not a host name",
            value.chars().take(100).collect::<String>()
        ))
    })
}

/// The input's IP address, or a clear error.
fn input_ip(value: &str) -> Result<std::net::IpAddr, crate::ModuleError> {
    domain::scan::normalise::ip_address(value).ok_or_else(|| {
        crate::ModuleError::Failed(format!(
            "{:?} is not an IP address",
            value.chars().take(100).collect::<String>()
        ))
    })
}
