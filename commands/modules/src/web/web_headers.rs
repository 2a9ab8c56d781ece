//! `web_headers`: reads a response head (`WEBSERVER_HTTPHEADERS`: a URL line, then
//! `name: value` lines) and reports the headers that are not in [`STANDARD_HEADERS`] as
//! `WEBSERVER_STRANGEHEADER` (`name: value`) and the names of the cookies set
//! (`TARGET_WEB_COOKIE`). Passive: no network.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use domain::scan::types::{TARGET_WEB_COOKIE, WEBSERVER_HTTPHEADERS, WEBSERVER_STRANGEHEADER};

use super::clip;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "web_headers",
    name: "Strange headers and cookies",
    description: "Reports non-standard response headers and the names of the cookies a web \
                  server sets.",
    version: "1.0.0",
    consumes: &[WEBSERVER_HTTPHEADERS],
    produces: &[WEBSERVER_STRANGEHEADER, TARGET_WEB_COOKIE],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Response headers that are standard or so common they tell nothing (lower case). Headers
/// starting with [`STANDARD_PREFIXES`] count as standard too.
pub const STANDARD_HEADERS: &[&str] = &[
    "accept-ch",
    "accept-patch",
    "accept-post",
    "accept-ranges",
    "age",
    "allow",
    "alt-svc",
    "cache-control",
    "clear-site-data",
    "connection",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-security-policy",
    "content-security-policy-report-only",
    "content-type",
    "date",
    "etag",
    "expect-ct",
    "expires",
    "feature-policy",
    "keep-alive",
    "last-modified",
    "link",
    "location",
    "nel",
    "origin-agent-cluster",
    "p3p",
    "permissions-policy",
    "pragma",
    "proxy-authenticate",
    "public-key-pins",
    "referrer-policy",
    "refresh",
    "report-to",
    "reporting-endpoints",
    "retry-after",
    "server",
    "server-timing",
    "set-cookie",
    "strict-transport-security",
    "timing-allow-origin",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "x-content-type-options",
    "x-dns-prefetch-control",
    "x-download-options",
    "x-frame-options",
    "x-permitted-cross-domain-policies",
    "x-powered-by",
    "x-robots-tag",
    "x-ua-compatible",
    "x-xss-protection",
];

/// Prefixes of standard header families.
pub const STANDARD_PREFIXES: &[&str] = &["access-control-", "cross-origin-", "sec-"];

/// The longest `name: value` reported.
const MAX_HEADER_BYTES: usize = 512;

/// The most findings per response head.
const MAX_OUTPUTS: usize = 200;

pub struct WebHeaders;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(WebHeaders),
    }
}

#[async_trait]
impl Module for WebHeaders {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        _context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        if input.kind != WEBSERVER_HTTPHEADERS {
            return Err(ModuleError::Failed(format!(
                "web_headers does not handle {} findings",
                input.kind
            )));
        }
        Ok(read_head(&input.value))
    }
}

/// The findings of one response head.
pub fn read_head(head: &str) -> Vec<Output> {
    let mut lines = head.lines();
    let source = lines.next().unwrap_or_default().trim();
    let evidence = format!("response head of {}", clip(source, 2048));
    let mut seen = HashSet::new();
    let mut outputs = Vec::new();
    for line in lines {
        if outputs.len() >= MAX_OUTPUTS {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            continue;
        }
        if name == "set-cookie" {
            let cookie = value
                .split(';')
                .next()
                .and_then(|pair| pair.split('=').next())
                .unwrap_or_default()
                .trim();
            if !cookie.is_empty()
                && cookie.len() <= 256
                && cookie.bytes().all(is_token_byte)
                && seen.insert(format!("cookie {cookie}"))
            {
                outputs.push(Output::new(TARGET_WEB_COOKIE, cookie).evidence(&evidence));
            }
            continue;
        }
        let standard = STANDARD_HEADERS.contains(&name.as_str())
            || STANDARD_PREFIXES.iter().any(|p| name.starts_with(p));
        if !standard && seen.insert(format!("header {name}")) {
            let text = format!("{name}: {value}");
            outputs.push(
                Output::new(WEBSERVER_STRANGEHEADER, clip(&text, MAX_HEADER_BYTES))
                    .evidence(&evidence),
            );
        }
    }
    outputs
}

/// RFC 9110 token characters.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use domain::scan::types::TCP_PORT_OPEN;

    use super::*;
    use crate::testing::http_site::{HttpSite, SiteSpec};
    use crate::web::http_probe;
    use crate::web::test_support::{input, loopback, options, values};

    #[tokio::test]
    async fn the_probes_head_yields_the_custom_header_and_the_cookies() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let probe = (http_probe::entry().create)();
        let probed = probe
            .handle(&input(TCP_PORT_OPEN, site.addr().to_string(), 0), &context)
            .await
            .unwrap();
        let head = values(&probed, WEBSERVER_HTTPHEADERS).remove(0);
        let outputs = WebHeaders
            .handle(&input(WEBSERVER_HTTPHEADERS, head, 0), &context)
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, WEBSERVER_STRANGEHEADER),
            vec!["x-custom-thing: mirage-test"]
        );
        assert_eq!(
            values(&outputs, TARGET_WEB_COOKIE),
            vec!["PHPSESSID", "tracking"]
        );
    }

    #[test]
    fn malformed_heads_yield_little_and_never_panic() {
        assert!(read_head("").is_empty());
        assert!(read_head("http://x/\nno colon here\n: empty name\nbad name: x").is_empty());
        let outputs = read_head(&format!(
            "http://x/\nX-A: 1\nx-a: 2\nSet-Cookie: =nameless\nSet-Cookie: ok=1\nx-long: {}\nAccess-Control-Allow-Origin: *",
            "v".repeat(10_000)
        ));
        assert_eq!(
            values(&outputs, WEBSERVER_STRANGEHEADER).len(),
            2,
            "x-a once, x-long clipped"
        );
        assert!(outputs.iter().all(|o| o.value.len() <= MAX_HEADER_BYTES));
        assert_eq!(values(&outputs, TARGET_WEB_COOKIE), vec!["ok"]);
        let garbage =
            String::from_utf8_lossy(&crate::testing::hostile_http::noise(8192, 5)).into_owned();
        let _ = read_head(&garbage);
    }
}
