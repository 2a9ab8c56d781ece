//! `analytics_ids`: web analytics, advertising and site-verification ids in web pages and DNS
//! TXT records. Ids tie sites run by one owner together.
//!
//! Values read `<service>: <id>` (`Google Analytics: UA-12345-1`). Google Analytics 4 ids
//! (`G-...`) are only taken on pages that load gtag or Google Tag Manager, as the bare shape is
//! common in ordinary text.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use domain::scan::{Scope, types};
use regex::bytes::Regex;

use super::findings::Findings;
use super::page::Page;
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "analytics_ids",
    name: "Web analytics and verification ids",
    description: "Finds Google Analytics, Tag Manager and AdSense ids, Facebook pixels and \
                  other trackers in web pages, and site-verification tokens in TXT records.",
    version: "1.0.0",
    consumes: &[types::TARGET_WEB_CONTENT, types::DNS_TEXT],
    produces: &[types::WEB_ANALYTICS_ID],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Service name, pattern; group 1 (or the whole match) is the id.
const PAGE_PATTERNS: &[(&str, &str)] = &[
    ("Google Analytics", r"(?-u)\bUA-[0-9]{4,10}-[0-9]{1,4}\b"),
    ("Google Tag Manager", r"(?-u)\bGTM-[A-Z0-9]{4,9}\b"),
    ("Google AdSense", r"(?-u)\b(?:ca-)?(pub-[0-9]{10,20})\b"),
    (
        "Facebook Pixel",
        r#"(?-u)fbq\(\s*['"]init['"]\s*,\s*['"]?([0-9]{10,20})"#,
    ),
    ("Hotjar", r"(?-u)\bhjid\s*:\s*([0-9]{5,10})\b"),
    (
        "Yandex Metrica",
        r#"(?-u)\bym\(\s*([0-9]{5,12})\s*,\s*['"]init['"]"#,
    ),
    (
        "Microsoft Clarity",
        r#"(?-u)clarity\.ms/tag/['"]?\s*\+?\s*['"]?([a-z0-9]{8,12})\b"#,
    ),
    (
        "Google Site Verification",
        r#"(?i-u)<meta\s+name\s*=\s*["']google-site-verification["']\s+content\s*=\s*["']([A-Za-z0-9_-]{10,100})["']"#,
    ),
    (
        "Facebook Domain Verification",
        r#"(?i-u)<meta\s+name\s*=\s*["']facebook-domain-verification["']\s+content\s*=\s*["']([a-z0-9]{10,64})["']"#,
    ),
    (
        "Bing Site Verification",
        r#"(?i-u)<meta\s+name\s*=\s*["']msvalidate\.01["']\s+content\s*=\s*["']([A-F0-9]{32})["']"#,
    ),
];

/// GA4 measurement ids, taken only on pages that load gtag / GTM.
static GA4: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?-u)\bG-[A-Z0-9]{8,12}\b"));

static GTAG_LOADED: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?-u)googletagmanager\.com|\bgtag\("));

/// Service name, TXT record prefix (case-insensitive).
const TXT_PREFIXES: &[(&str, &str)] = &[
    ("Google Site Verification", "google-site-verification="),
    (
        "Facebook Domain Verification",
        "facebook-domain-verification=",
    ),
    ("Microsoft 365", "MS="),
    ("Apple Domain Verification", "apple-domain-verification="),
    (
        "Atlassian Domain Verification",
        "atlassian-domain-verification=",
    ),
    ("Adobe Domain Verification", "adobe-idp-site-verification="),
    ("DocuSign Domain Verification", "docusign="),
    (
        "GlobalSign Domain Verification",
        "globalsign-domain-verification=",
    ),
    ("Stripe Domain Verification", "stripe-verification="),
    ("Zoom Domain Verification", "ZOOM_verify_"),
    ("Yandex Verification", "yandex-verification:"),
    (
        "Have I Been Pwned Verification",
        "have-i-been-pwned-verification=",
    ),
];

static COMPILED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    PAGE_PATTERNS
        .iter()
        .filter_map(|(service, pattern)| Some((*service, super::compile(pattern)?)))
        .collect()
});

pub struct AnalyticsIds;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(AnalyticsIds),
    }
}

#[async_trait]
impl Module for AnalyticsIds {
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

/// The analytics and verification ids in `value`.
pub fn extract(kind: &str, value: &str, _scope: &Scope) -> Vec<Output> {
    let mut findings = Findings::new();
    if kind == types::DNS_TEXT {
        from_txt(value, &mut findings);
    } else {
        let page = Page::parse(value);
        from_page(page.body, page.url_text(), &mut findings);
    }
    findings.into_outputs()
}

fn from_txt(record: &str, findings: &mut Findings) {
    let record = record.trim().trim_matches('"').trim();
    for (service, prefix) in TXT_PREFIXES {
        let Some(head) = record.get(..prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let token = record[prefix.len()..].trim();
        let token_ok = (4..=200).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.=+/:".contains(&b));
        if token_ok {
            findings.push(
                Output::new(types::WEB_ANALYTICS_ID, format!("{service}: {token}"))
                    .evidence(format!("TXT {}", text::prefix(record, 300))),
            );
        }
        return;
    }
}

fn from_page(body: &str, source: &str, findings: &mut Findings) {
    let bytes = body.as_bytes();
    let mut push = |service: &str, id: &[u8], start: usize, end: usize| {
        if let Some(id) = text::utf8(id) {
            findings.push(
                Output::new(types::WEB_ANALYTICS_ID, format!("{service}: {id}"))
                    .evidence(format!("{source}: {}", text::snippet(body, start, end, 30))),
            );
        }
    };
    for (service, regex) in COMPILED.iter() {
        for captures in regex.captures_iter(bytes).take(super::MAX_OUTPUTS) {
            let (Some(whole), id) = (captures.get(0), captures.get(1)) else {
                continue;
            };
            let id = id.unwrap_or(whole);
            push(service, id.as_bytes(), whole.start(), whole.end());
        }
    }
    let gtag_loaded = GTAG_LOADED.as_ref().is_some_and(|r| r.is_match(bytes));
    if let (true, Some(ga4)) = (gtag_loaded, GA4.as_ref()) {
        for found in ga4.find_iter(bytes).take(super::MAX_OUTPUTS) {
            // Real measurement ids mix letters and digits.
            let id = &found.as_bytes()[2..];
            if id.iter().any(u8::is_ascii_digit) && id.iter().any(u8::is_ascii_alphabetic) {
                push(
                    "Google Analytics 4",
                    found.as_bytes(),
                    found.start(),
                    found.end(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn ids(kind: &str, value: &str) -> Vec<String> {
        values(&extract(kind, value, &scope()), types::WEB_ANALYTICS_ID)
    }

    #[test]
    fn page_trackers_are_found() {
        let page = "https://example.com/\n<script async \
                    src=\"https://www.googletagmanager.com/gtag/js?id=G-AB12CD34EF\"></script>\
                    <script>gtag('config', 'G-AB12CD34EF'); ga('create', 'UA-1234567-2', 'auto');\
                    (function(w,d,s,l,i){})(window,document,'script','dataLayer','GTM-K9X2ZQ');\
                    fbq('init', '123456789012345'); hjid:1234567,hjsv:6; \
                    ym(87654321, \"init\", {});</script>\
                    <ins data-ad-client=\"ca-pub-1234567890123456\"></ins>\
                    <meta name=\"google-site-verification\" content=\"abcDEF123_-xyz456789\">";
        assert_eq!(
            ids(types::TARGET_WEB_CONTENT, page),
            [
                "Facebook Pixel: 123456789012345",
                "Google AdSense: pub-1234567890123456",
                "Google Analytics 4: G-AB12CD34EF",
                "Google Analytics: UA-1234567-2",
                "Google Site Verification: abcDEF123_-xyz456789",
                "Google Tag Manager: GTM-K9X2ZQ",
                "Hotjar: 1234567",
                "Yandex Metrica: 87654321"
            ]
        );
    }

    #[test]
    fn look_alikes_are_not_ids() {
        let page = "https://example.com/\nG-STRINGSXYZ G-12345678AB (no gtag here) \
                    XUA-1234567-1 UA-12-1 GTM-ab pub-123 fbq('track', 'PageView')";
        assert!(ids(types::TARGET_WEB_CONTENT, page).is_empty());
    }

    #[test]
    fn txt_verifications_are_found() {
        assert_eq!(
            ids(
                types::DNS_TEXT,
                "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
            ),
            ["Google Site Verification: rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"]
        );
        assert_eq!(
            ids(types::DNS_TEXT, "\"MS=ms12345678\""),
            ["Microsoft 365: ms12345678"]
        );
        assert_eq!(
            ids(
                types::DNS_TEXT,
                "facebook-domain-verification=abc123def456ghi789"
            ),
            ["Facebook Domain Verification: abc123def456ghi789"]
        );
        assert!(ids(types::DNS_TEXT, "v=spf1 include:_spf.google.com ~all").is_empty());
        assert!(ids(types::DNS_TEXT, "google-site-verification=").is_empty());
        assert!(
            ids(
                types::DNS_TEXT,
                "google-site-verification=<script>alert(1)</script>"
            )
            .is_empty()
        );
        assert!(ids(types::DNS_TEXT, "é").is_empty());
    }

    #[test]
    fn patterns_compile() {
        assert_eq!(COMPILED.len(), PAGE_PATTERNS.len());
        assert!(GA4.is_some() && GTAG_LOADED.is_some());
    }
}
