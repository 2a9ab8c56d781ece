//! Scan targets as users type them, parsed into the findings a scan starts from.

use std::net::IpAddr;

use super::normalise::{canonical_ip, host_name};
use super::types;

/// Limits on what a target may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetLimits {
    /// The widest IPv4 network a target may name (`/16` = 65,536 addresses).
    pub min_ipv4_prefix: u8,
    /// The widest IPv6 network a target may name.
    pub min_ipv6_prefix: u8,
}

impl Default for TargetLimits {
    fn default() -> Self {
        Self {
            min_ipv4_prefix: 16,
            min_ipv6_prefix: 112,
        }
    }
}

/// A parsed target: what the user wrote, in normal form, plus the seed findings it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub text: String,
    pub seeds: Vec<(&'static str, String)>,
    /// What the target puts in scope.
    pub scope: ScopeEntry,
}

/// One thing a scan considers its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeEntry {
    /// The domain and everything below it.
    Domain(String),
    /// An address range.
    Network(ipnet::IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("target is empty")]
    Empty,
    #[error("target {0:?} is not a host name, IP address, network or http(s) URL")]
    Unrecognised(String),
    #[error("target {target:?} uses the scheme {scheme:?}; only http and https are scanned")]
    Scheme { target: String, scheme: String },
    #[error("target {target:?} covers /{prefix}; the widest allowed is /{limit}")]
    TooWide {
        target: String,
        prefix: u8,
        limit: u8,
    },
    #[error("target {0:?} has an invalid port")]
    Port(String),
}

/// Parses one target: `example.com`, `10.0.0.1`, `10.0.0.0/24`, `2001:db8::/120`,
/// `http://host:8080/path`, `host:port`.
pub fn parse_target(text: &str, limits: TargetLimits) -> Result<Target, TargetError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TargetError::Empty);
    }
    let unrecognised = || TargetError::Unrecognised(text.chars().take(200).collect());
    if let Some((scheme, _)) = text.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(TargetError::Scheme {
                target: text.chars().take(200).collect(),
                scheme,
            });
        }
        let url = url::Url::parse(text).map_err(|_| unrecognised())?;
        let host = url.host_str().ok_or_else(unrecognised)?;
        let (host_seed, scope) = host_seed(host).ok_or_else(unrecognised)?;
        let mut normal = url.clone();
        normal.set_fragment(None);
        return Ok(Target {
            text: normal.to_string(),
            seeds: vec![host_seed, (types::LINKED_URL_INTERNAL, normal.to_string())],
            scope,
        });
    }
    if let Some((address, prefix)) = text.split_once('/') {
        let net: ipnet::IpNet = format!("{}/{prefix}", address.trim())
            .parse()
            .map_err(|_| unrecognised())?;
        let limit = match net {
            ipnet::IpNet::V4(_) => limits.min_ipv4_prefix,
            ipnet::IpNet::V6(_) => limits.min_ipv6_prefix,
        };
        if net.prefix_len() < limit {
            return Err(TargetError::TooWide {
                target: text.to_owned(),
                prefix: net.prefix_len(),
                limit,
            });
        }
        let net = net.trunc();
        return Ok(Target {
            text: net.to_string(),
            seeds: vec![(types::NETBLOCK, net.to_string())],
            scope: ScopeEntry::Network(net),
        });
    }
    if let Some((seed, scope)) = host_port(text) {
        return Ok(Target {
            text: seed.1.clone(),
            seeds: vec![seed],
            scope,
        });
    }
    let (seed, scope) = host_seed(text).ok_or_else(unrecognised)?;
    let mut seeds = vec![seed.clone()];
    if seed.0 == types::INTERNET_NAME {
        seeds.push((types::DOMAIN_NAME, seed.1.clone()));
    }
    Ok(Target {
        text: seed.1,
        seeds,
        scope,
    })
}

/// `host:port` or `[v6]:port` as an open-port seed.
fn host_port(text: &str) -> Option<((&'static str, String), ScopeEntry)> {
    let socket: Option<std::net::SocketAddr> = text.parse().ok();
    if let Some(socket) = socket {
        let ip = canonical_ip(socket.ip());
        let seed = (
            types::TCP_PORT_OPEN,
            join_host_port(&ip.to_string(), socket.port()),
        );
        return Some((seed, ScopeEntry::Network(ipnet::IpNet::from(ip))));
    }
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = host_name(host)?;
    let seed = (types::TCP_PORT_OPEN, join_host_port(&host, port));
    Some((seed, ScopeEntry::Domain(host)))
}

/// `host:port`, with brackets around IPv6 addresses.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn host_seed(host: &str) -> Option<((&'static str, String), ScopeEntry)> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        let ip = canonical_ip(ip);
        let kind = if ip.is_ipv4() {
            types::IP_ADDRESS
        } else {
            types::IPV6_ADDRESS
        };
        return Some((
            (kind, ip.to_string()),
            ScopeEntry::Network(ipnet::IpNet::from(ip)),
        ));
    }
    let name = host_name(host)?;
    Some((
        (types::INTERNET_NAME, name.clone()),
        ScopeEntry::Domain(name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Target, TargetError> {
        parse_target(text, TargetLimits::default())
    }

    #[test]
    fn host_names_seed_a_host_and_a_domain() {
        let target = parse("Example.COM").unwrap();
        assert_eq!(target.text, "example.com");
        assert_eq!(
            target.seeds,
            vec![
                ("INTERNET_NAME", "example.com".to_owned()),
                ("DOMAIN_NAME", "example.com".to_owned())
            ]
        );
    }

    #[test]
    fn urls_seed_the_url_and_its_host() {
        let target = parse("http://127.0.0.1:8080/start#top").unwrap();
        assert_eq!(target.text, "http://127.0.0.1:8080/start");
        assert!(
            target
                .seeds
                .contains(&("IP_ADDRESS", "127.0.0.1".to_owned()))
        );
        assert!(target.seeds.contains(&(
            "LINKED_URL_INTERNAL",
            "http://127.0.0.1:8080/start".to_owned()
        )));
    }

    #[test]
    fn networks_are_limited_in_width() {
        assert_eq!(parse("10.1.2.3/24").unwrap().text, "10.1.2.0/24");
        assert!(matches!(
            parse("10.0.0.0/8"),
            Err(TargetError::TooWide {
                prefix: 8,
                limit: 16,
                ..
            })
        ));
        assert!(matches!(
            parse("2001:db8::/64"),
            Err(TargetError::TooWide { .. })
        ));
    }

    #[test]
    fn odd_schemes_and_garbage_are_refused() {
        assert!(matches!(
            parse("ftp://example.com"),
            Err(TargetError::Scheme { .. })
        ));
        assert!(matches!(
            parse("javascript://x"),
            Err(TargetError::Scheme { .. })
        ));
        assert!(matches!(
            parse("exa mple.com"),
            Err(TargetError::Unrecognised(_))
        ));
        assert!(matches!(
            parse("-x-.com"),
            Err(TargetError::Unrecognised(_))
        ));
        assert_eq!(parse("  "), Err(TargetError::Empty));
    }

    #[test]
    fn host_and_port_targets_are_open_ports() {
        let target = parse("127.0.0.1:8443").unwrap();
        assert_eq!(
            target.seeds,
            vec![("TCP_PORT_OPEN", "127.0.0.1:8443".to_owned())]
        );
        let target = parse("[::ffff:127.0.0.1]:22").unwrap();
        assert_eq!(
            target.seeds,
            vec![("TCP_PORT_OPEN", "127.0.0.1:22".to_owned())]
        );
    }
}
