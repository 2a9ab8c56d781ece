//! `hostname_extract`: host names in web pages, response headers and certificates.
//!
//! The rule that keeps `jquery.min.js` and `console.info` out: a dotted token is a host name
//! when it is a valid host name whose last label is 2-24 letters and not a file extension, and
//! one of these holds:
//! - **strong context**: it follows `scheme://`, a quoted/`=`/`(`-led `//`, an encoded
//!   `%2F%2F` or JSON-escaped `\/\/`, or `local@` (an e-mail's host); or it sits in a URL-carrying
//!   response header (Content-Security-Policy, Location, Link, ...) or in certificate text;
//! - **bare**: its last label is in a short built-in list of common top-level domains chosen
//!   not to clash with code and file names (`com`, `net`, `org`, `io`, `de`, ... but not `id`,
//!   `app`, `sh`, `pl`, `to`), it is not a path segment, not followed by `(`, and its first label
//!   is not a well-known JavaScript object (`console`, `window`, ...);
//! - **in scope**: it is the scan's domain or below it.
//!
//! In-scope names become `INTERNET_NAME`, the rest `AFFILIATE_INTERNET_NAME`.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use domain::scan::{Scope, normalise, types};
use regex::bytes::Regex;

use super::email_extract::FILE_EXTENSIONS;
use super::findings::Findings;
use super::page::{self, Page};
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "hostname_extract",
    name: "Host name extractor",
    description: "Finds host names in web pages, URL-carrying response headers (CSP, Location, \
                  Link) and certificates; in-scope names are the target's, others affiliates'.",
    version: "1.0.0",
    consumes: &[
        types::TARGET_WEB_CONTENT,
        types::WEBSERVER_HTTPHEADERS,
        types::SSL_CERTIFICATE_RAW,
    ],
    produces: &[types::INTERNET_NAME, types::AFFILIATE_INTERNET_NAME],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Top-level domains a bare name may end in.
const COMMON_TLDS: &[&str] = &[
    "ae", "ar", "au", "be", "bg", "biz", "br", "ca", "ch", "cl", "cn", "co", "com", "cz", "de",
    "dk", "edu", "ee", "eg", "es", "eu", "fi", "fm", "fr", "gov", "gr", "hk", "hr", "hu", "ie",
    "il", "in", "info", "int", "io", "ir", "jp", "ke", "kr", "lt", "lu", "lv", "mil", "mx", "my",
    "net", "ng", "nl", "nz", "org", "ph", "pt", "ro", "ru", "sa", "se", "sg", "sk", "th", "tr",
    "tv", "tw", "ua", "uk", "us", "vn", "za",
];

/// First labels that make a dotted token JavaScript, not a host (`console.info`).
const CODE_OBJECTS: &[&str] = &[
    "console", "document", "e", "el", "err", "event", "exports", "json", "log", "logger", "math",
    "module", "object", "process", "self", "system", "this", "window",
];

/// Response headers whose values are URLs or host lists.
const URL_HEADERS: &[&str] = &[
    "access-control-allow-origin",
    "content-location",
    "content-security-policy",
    "content-security-policy-report-only",
    "link",
    "location",
    "refresh",
    "report-to",
    "reporting-endpoints",
    "x-dns-prefetch-control",
];

/// Dotted tokens: candidate host names.
static TOKEN: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?-u)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+"));

pub struct HostnameExtract;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(HostnameExtract),
    }
}

#[async_trait]
impl Module for HostnameExtract {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        super::run(&META, input, context, extract).await
    }
}

/// The host names in `value`.
pub fn extract(kind: &str, value: &str, scope: &Scope) -> Vec<Output> {
    let mut findings = Findings::new();
    if kind == types::WEBSERVER_HTTPHEADERS {
        for (name, header) in page::headers(value) {
            let strong = URL_HEADERS.contains(&name.to_ascii_lowercase().as_str());
            scan(
                header,
                &format!("{name} header"),
                strong,
                scope,
                &mut findings,
            );
        }
    } else if kind == types::SSL_CERTIFICATE_RAW {
        let text = super::certificate::readable(value);
        scan(&text, "certificate", true, scope, &mut findings);
    } else {
        let page = Page::parse(value);
        scan(page.body, page.url_text(), false, scope, &mut findings);
    }
    findings.into_outputs()
}

/// Adds the host names in `text` to `findings`; `strong` makes every token URL context.
fn scan(text: &str, source: &str, strong: bool, scope: &Scope, findings: &mut Findings) {
    let Some(token) = TOKEN.as_ref() else {
        return;
    };
    let bytes = text.as_bytes();
    for found in token.find_iter(bytes) {
        if findings.is_full() {
            return;
        }
        let (mut start, end) = (found.start(), found.end());
        // The local part of an e-mail address.
        if bytes.get(end) == Some(&b'@') {
            continue;
        }
        // The tail of a percent-escape (`%2F%2Fcdn.example.com`, `%40example.com`).
        if start > 0
            && bytes[start - 1] == b'%'
            && end - start > 2
            && bytes[start..start + 2].iter().all(u8::is_ascii_hexdigit)
        {
            start += 2;
        }
        let Some(name) = text::utf8(&bytes[start..end]).and_then(normalise::host_name) else {
            continue;
        };
        let tld = name.rsplit('.').next().unwrap_or("");
        if !(2..=24).contains(&tld.len())
            || !tld.bytes().all(|b| b.is_ascii_alphabetic())
            || FILE_EXTENSIONS.contains(&tld)
        {
            continue;
        }
        let in_scope = scope.contains_host(&name);
        let strong = strong || url_context(bytes, start);
        if !(strong || in_scope || plausible_bare(&name, tld, bytes, start, end)) {
            continue;
        }
        let kind = if in_scope {
            types::INTERNET_NAME
        } else {
            types::AFFILIATE_INTERNET_NAME
        };
        findings.push(
            Output::new(kind, name)
                .confidence(if strong { 100 } else { 75 })
                .evidence(format!("{source}: {}", text::snippet(text, start, end, 40))),
        );
    }
}

/// Whether the token starting at `start` is the host of a URL or of an e-mail address.
fn url_context(bytes: &[u8], start: usize) -> bool {
    let mut before = &bytes[..start];
    // A wildcard (`https://*.example.com`, CSP's `*.example.com`).
    if let Some(rest) = before.strip_suffix(b"*.") {
        before = rest;
    }
    if before.ends_with(b"://") || before.ends_with(br"\/\/") {
        return true;
    }
    if before.len() >= 6 && before[before.len() - 6..].eq_ignore_ascii_case(b"%2f%2f") {
        return true;
    }
    if let Some(rest) = before.strip_suffix(b"//") {
        return rest.is_empty()
            || rest.ends_with(b"\"")
            || rest.ends_with(b"'")
            || rest.ends_with(b"=")
            || rest.ends_with(b"(");
    }
    if let Some(rest) = before.strip_suffix(b"@") {
        return rest
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(b));
    }
    false
}

/// Whether a token without URL context still reads as a host name.
fn plausible_bare(name: &str, tld: &str, bytes: &[u8], start: usize, end: usize) -> bool {
    if !COMMON_TLDS.contains(&tld) {
        return false;
    }
    let before = start.checked_sub(1).and_then(|i| bytes.get(i));
    if matches!(before, Some(b'/' | b'\\' | b'$' | b'#')) {
        return false;
    }
    if bytes.get(end) == Some(&b'(') {
        return false;
    }
    let first = name.split('.').next().unwrap_or("");
    !CODE_OBJECTS.contains(&first)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn hosts(kind: &str, value: &str) -> (Vec<String>, Vec<String>) {
        let outputs = extract(kind, value, &scope());
        (
            values(&outputs, types::INTERNET_NAME),
            values(&outputs, types::AFFILIATE_INTERNET_NAME),
        )
    }

    #[test]
    fn hosts_in_links_text_and_emails_are_found() {
        let page = "https://www.example.com/\n<a href=\"https://Shop.Example.com/cart\">shop</a>\
                    <script src=\"//cdn.jsdelivr.net/npm/x.js\"></script>\
                    <img src='https://images.partner.photography/a.png'>\
                    Visit partner.org or api.example.com. Mail sales@mail.example.com.\
                    <a href=\"http://203.0.113.7/\">ip</a> url(//fonts.gstatic.com/x.woff2)\
                    {\"u\":\"https:\\/\\/json.escaped.example.net\\/\"} https%3A%2F%2Fenc.example.org%2F";
        let (internal, affiliate) = hosts(types::TARGET_WEB_CONTENT, page);
        assert_eq!(
            internal,
            ["api.example.com", "mail.example.com", "shop.example.com"]
        );
        assert_eq!(
            affiliate,
            [
                "cdn.jsdelivr.net",
                "enc.example.org",
                "fonts.gstatic.com",
                "images.partner.photography",
                "json.escaped.example.net",
                "partner.org"
            ]
        );
    }

    #[test]
    fn file_names_code_and_versions_are_not_hosts() {
        let page = "https://example.com/\n<script src=\"/js/jquery.min.js\"></script>\
                    <link href=\"style.css\"> console.info('x'); window.location.href; \
                    foo.bar.baz e.target.id this.props.name v1.2.3 10.0.0.1 obj.info(1) \
                    /downloads/setup.com //comment.net is a comment  logo@2x.png \
                    user.name@partner.org data.map a.b";
        let (internal, affiliate) = hosts(types::TARGET_WEB_CONTENT, page);
        assert!(internal.is_empty(), "{internal:?}");
        assert_eq!(affiliate, ["partner.org"]);
    }

    #[test]
    fn url_headers_are_strong_context_and_cookie_domains_count() {
        let headers = "https://example.com/\n\
                       Content-Security-Policy: default-src 'self'; script-src https://*.googleapis.com cdn.partner.tech 'sha256-abc='\n\
                       Location: https://login.example.com/auth\n\
                       Link: <https://static.example.com/app.css>; rel=preload\n\
                       Set-Cookie: sid=abc.def; Domain=.example.com; Path=/\n\
                       Server: nginx/1.25.3\n\
                       X-Thing: some.identifier\n";
        let (internal, affiliate) = hosts(types::WEBSERVER_HTTPHEADERS, headers);
        assert_eq!(
            internal,
            ["example.com", "login.example.com", "static.example.com"]
        );
        assert_eq!(affiliate, ["cdn.partner.tech", "googleapis.com"]);
    }

    #[test]
    fn certificate_text_names_are_taken() {
        let cert = "Subject: CN=www.example.com\nX509v3 Subject Alternative Name:\n    \
                    DNS:www.example.com, DNS:*.example.com, DNS:example.cloud\n\
                    Signature Algorithm: sha256WithRSAEncryption 1.2.840.113549.1.1.11";
        let (internal, affiliate) = hosts(types::SSL_CERTIFICATE_RAW, cert);
        assert_eq!(internal, ["example.com", "www.example.com"]);
        assert_eq!(affiliate, ["example.cloud"]);
    }

    #[test]
    fn pem_certificates_are_read() {
        let pem = super::super::certificate::tests::sample_pem();
        let (internal, affiliate) = hosts(types::SSL_CERTIFICATE_RAW, &pem);
        assert_eq!(internal, ["example.com", "www.example.com"]);
        assert_eq!(affiliate, ["ca-vendor.org", "mail.partner.net"]);
    }

    #[test]
    fn pattern_compiles() {
        assert!(TOKEN.is_some());
    }
}
