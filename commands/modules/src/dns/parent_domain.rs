//! Parent-domain speculation: the registrable domain a host name belongs to.
//!
//! A deliberately simple rule instead of the full Public Suffix List: the last two labels
//! (`www.example.com` -> `example.com`), or the last three when the last two are a common
//! second-level public suffix from [`SECOND_LEVEL_SUFFIXES`] (`www.example.co.uk` ->
//! `example.co.uk`). Suffixes outside that list (e.g. `city.kawasaki.jp`) give a parent one
//! label too short; such names are rare among scan targets.

/// Common second-level public suffixes under which domains are registered.
pub const SECOND_LEVEL_SUFFIXES: &[&str] = &[
    "ac.uk", "co.uk", "gov.uk", "ltd.uk", "me.uk", "net.uk", "nhs.uk", "org.uk", "plc.uk",
    "sch.uk", "asn.au", "com.au", "edu.au", "gov.au", "id.au", "net.au", "org.au", "ac.nz",
    "co.nz", "geek.nz", "gen.nz", "govt.nz", "net.nz", "org.nz", "ac.jp", "co.jp", "go.jp",
    "ne.jp", "or.jp", "ac.kr", "co.kr", "go.kr", "or.kr", "com.br", "gov.br", "net.br", "org.br",
    "com.cn", "edu.cn", "gov.cn", "net.cn", "org.cn", "com.hk", "org.hk", "com.tw", "org.tw",
    "com.sg", "edu.sg", "gov.sg", "com.my", "com.ph", "co.id", "co.in", "firm.in", "gen.in",
    "net.in", "org.in", "co.il", "org.il", "ac.il", "co.za", "org.za", "gov.za", "com.mx",
    "org.mx", "com.ar", "com.co", "com.pe", "com.ve", "com.tr", "gov.tr", "org.tr", "com.ua",
    "com.pl", "com.ru", "com.eg", "com.sa", "com.ng", "co.ke", "co.th", "in.th", "ac.th", "com.vn",
    "com.pk", "com.bd", "com.np", "com.gr", "co.at", "or.at",
];

/// The registrable domain of `host` (a normalised host name), or `None` for a single label.
pub fn registrable_domain(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return None;
    }
    let last_two = labels[labels.len() - 2..].join(".");
    let keep = if SECOND_LEVEL_SUFFIXES.contains(&last_two.as_str()) {
        3
    } else {
        2
    };
    if labels.len() < keep {
        return None;
    }
    Some(labels[labels.len() - keep..].join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registrable_domain_is_two_labels_or_three_under_a_known_suffix() {
        let cases = [
            ("www.example.com", Some("example.com")),
            ("Example.COM.", Some("example.com")),
            ("a.b.c.example.test", Some("example.test")),
            ("www.example.co.uk", Some("example.co.uk")),
            ("example.co.uk", Some("example.co.uk")),
            ("shop.example.com.au", Some("example.com.au")),
            ("co.uk", None),
            ("localhost", None),
            ("", None),
            ("a..b", None),
        ];
        for (host, expected) in cases {
            assert_eq!(registrable_domain(host).as_deref(), expected, "{host}");
        }
    }
}
