//! Modules of the web group: the HTTP probe, the spider, robots.txt and sitemaps,
//! security.txt, and two passive readers of what they find (interesting file URLs, response
//! headers).
//!
//! The active modules (probe, spider, robots/sitemap, security.txt) only touch inputs at scope
//! distance 0, the scan's own systems, and fetch through [`crate::net::http::HttpClient`],
//! which applies the egress guard to every hop.

pub mod http_probe;
pub mod interesting_files;
pub mod links;
pub mod robots;
pub mod robots_sitemap;
pub mod security_txt;
pub mod web_headers;
pub mod web_spider;

#[cfg(test)]
mod test_support;

use domain::scan::Scope;
use domain::scan::types::{LINKED_URL_EXTERNAL, LINKED_URL_INTERNAL};
use url::Url;

use crate::module::{ModuleError, Output};
use crate::net::NetError;
use crate::registry::Entry;

/// The modules of this group.
pub fn modules() -> Vec<Entry> {
    vec![
        http_probe::entry(),
        interesting_files::entry(),
        robots_sitemap::entry(),
        security_txt::entry(),
        web_headers::entry(),
        web_spider::entry(),
    ]
}

/// An absolute http(s) URL with a host, or a `Failed` error naming the value.
pub(crate) fn parse_web_url(value: &str) -> Result<Url, ModuleError> {
    Url::parse(value.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| {
            ModuleError::Failed(format!(
                "{:?} is not an http(s) URL",
                value.chars().take(200).collect::<String>()
            ))
        })
}

/// Whether `url` belongs to the site at `site_host` or to the scan's scope.
pub(crate) fn is_internal(url: &Url, site_host: Option<&str>, scope: &Scope) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if site_host.is_some_and(|site| site.eq_ignore_ascii_case(host)) {
        return true;
    }
    scope.contains_host(host.trim_start_matches('[').trim_end_matches(']'))
}

/// A `LINKED_URL_INTERNAL` or `LINKED_URL_EXTERNAL` finding for `url`.
pub(crate) fn link_output(url: &Url, internal: bool, evidence: &str) -> Output {
    let kind = if internal {
        LINKED_URL_INTERNAL
    } else {
        LINKED_URL_EXTERNAL
    };
    Output::new(kind, url.as_str()).evidence(evidence)
}

/// `scheme://host[:port]/` of `url`.
pub(crate) fn site_root(url: &Url) -> Url {
    let mut root = url.clone();
    root.set_path("/");
    root.set_query(None);
    root.set_fragment(None);
    let _ = root.set_username("");
    let _ = root.set_password(None);
    root
}

/// Whether `url` is a site root: path `/`, no query.
pub(crate) fn is_site_root(url: &Url) -> bool {
    url.path() == "/" && url.query().is_none()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Of several failed attempts, the error that says most: a refusal by the egress guard, else
/// a timeout, else the first error.
pub(crate) fn worst_error(errors: Vec<NetError>) -> Option<NetError> {
    let rank = |error: &NetError| match error {
        NetError::Refused(_) => 0,
        NetError::Timeout => 1,
        _ => 2,
    };
    errors.into_iter().min_by_key(rank)
}
