//! The system's resolvers, from `/etc/resolv.conf`, used when a scan names none.

use std::net::{IpAddr, SocketAddr};

/// Where the system's resolvers are listed.
pub(super) const RESOLV_CONF: &str = "/etc/resolv.conf";

/// resolv.conf is small; anything much larger is not one.
const MAX_RESOLV_CONF_BYTES: u64 = 64 * 1024;

/// Reads the `nameserver` lines of resolv.conf, or says why there are none.
pub(super) fn system_resolvers() -> Result<Vec<SocketAddr>, String> {
    use std::io::Read;
    let file = std::fs::File::open(RESOLV_CONF).map_err(|error| {
        format!("no DNS resolver configured: options.resolvers is empty and {RESOLV_CONF} cannot be read ({error})")
    })?;
    let mut text = String::new();
    file.take(MAX_RESOLV_CONF_BYTES)
        .read_to_string(&mut text)
        .map_err(|error| format!("{RESOLV_CONF} cannot be read: {error}"))?;
    let resolvers = parse_resolv_conf(&text);
    if resolvers.is_empty() {
        return Err(format!(
            "no DNS resolver configured: options.resolvers is empty and {RESOLV_CONF} lists no nameserver"
        ));
    }
    Ok(resolvers)
}

/// The `nameserver` addresses of a resolv.conf text, on port 53. Link-local IPv6 addresses
/// with a zone (`fe80::1%eth0`) are skipped: they cannot be dialled without the zone.
pub(super) fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(address)) => address.parse::<IpAddr>().ok(),
                _ => None,
            }
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_lines_are_read_and_the_rest_ignored() {
        let text = "# generated\nsearch example.test\nnameserver 192.0.2.53\n\
                    nameserver 2001:db8::53 # second\nnameserver fe80::1%eth0\n\
                    options edns0\nnameserver\nnameserver not-an-ip\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
        assert!(parse_resolv_conf("").is_empty());
    }
}
