//! The egress guard (security.md 22): modules may reach public addresses only, unless the
//! operator allows a range (`MIRAGE_EGRESS_ALLOW=127.0.0.0/8,::1/128`).
//!
//! Every address is checked in canonical form: IPv4-mapped and IPv4-compatible IPv6 addresses,
//! NAT64 and 6to4 addresses are judged by the IPv4 address inside them, so `::ffff:127.0.0.1`
//! is loopback. Host names are checked after resolution, on the address actually dialled.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error(
        "egress to {address} refused: {class} addresses are not scanned unless the operator allows them (MIRAGE_EGRESS_ALLOW)"
    )]
    Refused {
        address: IpAddr,
        class: &'static str,
    },
    #[error("egress allow-list entry {entry:?} is not a network (e.g. 127.0.0.0/8)")]
    BadAllowList { entry: String },
}

/// Which destinations modules may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Egress {
    allow: Vec<IpNet>,
}

impl Egress {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    pub fn with_allowed(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// Parses a comma-separated allow-list: networks or single addresses.
    pub fn parse_allow_list(text: &str) -> Result<Self, EgressError> {
        let mut allow = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| EgressError::BadAllowList {
                    entry: entry.to_owned(),
                })?;
            allow.push(net.trunc());
        }
        Ok(Self { allow })
    }

    pub fn allowed_ranges(&self) -> &[IpNet] {
        &self.allow
    }

    /// Allows the address when it is public or inside an operator-allowed range.
    pub fn check(&self, address: IpAddr) -> Result<(), EgressError> {
        let canonical = canonical(address);
        if self
            .allow
            .iter()
            .any(|net| net.contains(&address) || net.contains(&canonical))
        {
            return Ok(());
        }
        match classify(canonical) {
            None => Ok(()),
            Some(class) => Err(EgressError::Refused { address, class }),
        }
    }

    /// Keeps the addresses that may be dialled; errors when none may.
    pub fn filter(&self, addresses: &[IpAddr]) -> Result<Vec<IpAddr>, EgressError> {
        let mut first_error = None;
        let mut allowed = Vec::new();
        for address in addresses {
            match self.check(*address) {
                Ok(()) => allowed.push(*address),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match (allowed.is_empty(), first_error) {
            (true, Some(error)) => Err(error),
            _ => Ok(allowed),
        }
    }
}

/// The IPv4 address an IPv6 address embeds (mapped, compatible, NAT64, 6to4), else itself.
pub fn canonical(address: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = address else {
        return address;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks); not :: or ::1.
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return IpAddr::V4(embedded_tail(v6));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return IpAddr::V4(embedded_tail(v6));
    }
    // 6to4 2002:AABB:CCDD::/48.
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    }
    address
}

fn embedded_tail(v6: Ipv6Addr) -> Ipv4Addr {
    let o = v6.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

/// The kind of non-public address this is, or `None` when it is public.
pub fn classify(address: IpAddr) -> Option<&'static str> {
    match canonical(address) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if o[0] == 0 {
        Some("unspecified")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignment")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if o[0] >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique local")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (s[0] & 0xffc0) == 0xfec0 {
        Some("site-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation")
    } else if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        Some("discard")
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        Some("IETF protocol assignment")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        Egress::public_only().check(text.parse().unwrap()).is_err()
    }

    #[test]
    fn non_public_addresses_are_refused_in_every_spelling() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(refused(address), "{address} must be refused");
        }
        for address in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(address), "{address} is public");
        }
    }

    #[test]
    fn the_operator_allow_list_opens_ranges_in_any_spelling() {
        let egress = Egress::parse_allow_list("127.0.0.0/8, ::1").unwrap();
        assert!(egress.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(egress.check("::ffff:127.0.0.2".parse().unwrap()).is_ok());
        assert!(egress.check("::1".parse().unwrap()).is_ok());
        assert!(egress.check("169.254.169.254".parse().unwrap()).is_err());
        assert!(egress.check("10.0.0.1".parse().unwrap()).is_err());
        assert_eq!(
            Egress::parse_allow_list("127.0.0.0/8,nope"),
            Err(EgressError::BadAllowList {
                entry: "nope".into()
            })
        );
    }

    #[test]
    fn filter_keeps_allowed_addresses_and_errors_when_none_remain() {
        let egress = Egress::public_only();
        let mixed: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "1.1.1.1".parse().unwrap()];
        assert_eq!(egress.filter(&mixed).unwrap(), vec![mixed[1]]);
        assert!(egress.filter(&mixed[..1]).is_err());
    }
}
