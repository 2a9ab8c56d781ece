//! Scope distance: 0 for what the scan owns, one more for every hop away from it.

use std::net::IpAddr;

use super::normalise::ip_address;
use super::target::ScopeEntry;
use super::types;

/// What a scan considers its own: its targets plus `options.scope`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    entries: Vec<ScopeEntry>,
}

impl Scope {
    pub fn new(entries: Vec<ScopeEntry>) -> Self {
        Self { entries }
    }

    pub fn entries(&self) -> &[ScopeEntry] {
        &self.entries
    }

    /// Whether a host name is one of the scope's domains or below one.
    pub fn contains_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(ip) = ip_address(&host) {
            return self.contains_ip(ip);
        }
        self.entries.iter().any(|entry| match entry {
            ScopeEntry::Domain(domain) => {
                host == *domain
                    || (host.len() > domain.len()
                        && host.ends_with(domain.as_str())
                        && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
            }
            ScopeEntry::Network(_) => false,
        })
    }

    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.entries.iter().any(|entry| match entry {
            ScopeEntry::Network(net) => net.contains(&ip),
            ScopeEntry::Domain(_) => false,
        })
    }

    /// The host a finding is about, when it is about one.
    pub fn subject_host(kind: &str, value: &str) -> Option<String> {
        if types::HOST_TYPES.contains(&kind)
            || kind == types::IP_ADDRESS
            || kind == types::IPV6_ADDRESS
        {
            return Some(value.to_owned());
        }
        if types::EMAIL_TYPES.contains(&kind) {
            return value.rsplit_once('@').map(|(_, host)| host.to_owned());
        }
        if types::URL_TYPES.contains(&kind) {
            return url::Url::parse(value).ok().and_then(|url| {
                url.host_str()
                    .map(|h| h.trim_matches(['[', ']']).to_owned())
            });
        }
        if kind == types::TCP_PORT_OPEN || kind == types::TCP_PORT_OPEN_BANNER {
            let address = value.split_whitespace().next().unwrap_or(value);
            return address
                .rsplit_once(':')
                .map(|(host, _)| host.trim_matches(['[', ']']).to_owned());
        }
        if kind == types::NETBLOCK {
            return value.split('/').next().map(str::to_owned);
        }
        None
    }

    /// The scope distance of a new finding, given its parent's type and distance.
    ///
    /// In scope is 0. An address resolved from an in-scope name is in scope too. A finding not
    /// about any host (content, headers, banners) describes its parent and keeps its distance.
    pub fn distance(&self, kind: &str, value: &str, parent: Option<(&str, u8)>) -> u8 {
        let Some(host) = Self::subject_host(kind, value) else {
            return parent.map_or(0, |(_, distance)| distance);
        };
        if self.contains_host(&host) {
            return 0;
        }
        match parent {
            None => 0,
            Some((parent_kind, 0))
                if (kind == types::IP_ADDRESS || kind == types::IPV6_ADDRESS)
                    && types::HOST_TYPES.contains(&parent_kind) =>
            {
                0
            }
            Some((_, distance)) => distance.saturating_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new(vec![
            ScopeEntry::Domain("example.com".into()),
            ScopeEntry::Network("10.0.0.0/24".parse().unwrap()),
        ])
    }

    #[test]
    fn subdomains_and_networks_are_in_scope() {
        let scope = scope();
        assert!(scope.contains_host("www.example.com"));
        assert!(scope.contains_host("EXAMPLE.com."));
        assert!(!scope.contains_host("badexample.com"));
        assert!(!scope.contains_host("example.com.evil.net"));
        assert!(scope.contains_host("10.0.0.7"));
        assert!(!scope.contains_host("10.0.1.7"));
    }

    #[test]
    fn distance_grows_one_hop_at_a_time() {
        let scope = scope();
        assert_eq!(
            scope.distance("INTERNET_NAME", "a.example.com", Some(("DOMAIN_NAME", 0))),
            0
        );
        assert_eq!(
            scope.distance("INTERNET_NAME", "other.net", Some(("DOMAIN_NAME", 0))),
            1
        );
        assert_eq!(
            scope.distance("EMAILADDR", "x@other.net", Some(("TARGET_WEB_CONTENT", 1))),
            2
        );
        assert_eq!(
            scope.distance("IP_ADDRESS", "192.0.2.1", Some(("INTERNET_NAME", 0))),
            0,
            "an address an in-scope name resolves to is in scope"
        );
        assert_eq!(
            scope.distance("IP_ADDRESS", "192.0.2.1", Some(("INTERNET_NAME", 1))),
            2
        );
        assert_eq!(
            scope.distance(
                "WEBSERVER_BANNER",
                "nginx",
                Some(("LINKED_URL_INTERNAL", 1))
            ),
            1
        );
        assert_eq!(
            scope.distance(
                "LINKED_URL_EXTERNAL",
                "https://other.net/x",
                Some(("TARGET_WEB_CONTENT", 0))
            ),
            1
        );
    }
}
