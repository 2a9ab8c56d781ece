//! `phone_extract`: phone numbers in web pages and WHOIS records, in E.164.
//!
//! Only numbers written internationally are taken (`+44 20 7946 0958`, `0044 20 7946 0958`,
//! WHOIS's `+1.4155552671`, `tel:+44...` links): a number without a country code cannot be
//! made E.164 without guessing. A candidate must stand alone (no letter, digit, `.`, `/`, `-`,
//! `+`, `#`, `$` or `,` right before it, no letter or digit right after, and not followed by a
//! separator and more digits), so dates, versions, prices and long digit runs do not match.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use domain::scan::{Scope, normalise, types};
use regex::bytes::Regex;

use super::findings::Findings;
use super::page::Page;
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "phone_extract",
    name: "Phone number extractor",
    description: "Finds internationally written phone numbers (+ or 00 prefix, tel: links) in \
                  web pages and WHOIS records and returns them in E.164.",
    version: "1.0.0",
    consumes: &[types::TARGET_WEB_CONTENT, types::DOMAIN_WHOIS],
    produces: &[types::PHONE_NUMBER],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// `+` or `00`, a country code's first digit, then 6-16 more digits each after at most two
/// separators (space, `.`, `-`, parentheses).
static INTERNATIONAL: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?-u)(?:\+|00)\(?[1-9](?:[ .\-()]{0,2}[0-9]){6,16}"));

/// `tel:` links, possibly URL-encoded.
static TEL_LINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?i-u)\btel:(?://)?((?:\+|%2B|00)[0-9 .\-()%]{6,60})"));

pub struct PhoneExtract;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(PhoneExtract),
    }
}

#[async_trait]
impl Module for PhoneExtract {
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

/// The phone numbers in `value`, E.164.
pub fn extract(kind: &str, value: &str, _scope: &Scope) -> Vec<Output> {
    let (source, body) = if kind == types::TARGET_WEB_CONTENT {
        let page = Page::parse(value);
        (page.url_text().to_owned(), page.body)
    } else {
        (kind.to_owned(), value)
    };
    let bytes = body.as_bytes();
    let mut findings = Findings::new();
    let evidence = |start, end| format!("{source}: {}", text::snippet(body, start, end, 30));
    if let Some(tel) = TEL_LINK.as_ref() {
        for captures in tel.captures_iter(bytes) {
            if findings.is_full() {
                break;
            }
            let Some(number) = captures.get(1) else {
                continue;
            };
            let Some(raw) = text::utf8(number.as_bytes()) else {
                continue;
            };
            let decoded = raw
                .replace("%20", " ")
                .replace("%2B", "+")
                .replace("%2b", "+");
            let candidate = decoded.trim_end_matches(|c: char| !c.is_ascii_digit());
            if let Some(phone) = normalise::phone(candidate) {
                findings.push(
                    Output::new(types::PHONE_NUMBER, phone)
                        .evidence(evidence(number.start(), number.end())),
                );
            }
        }
    }
    if let Some(international) = INTERNATIONAL.as_ref() {
        for found in international.find_iter(bytes) {
            if findings.is_full() {
                break;
            }
            if !stands_alone(bytes, found.start(), found.end()) {
                continue;
            }
            let Some(phone) = text::utf8(found.as_bytes()).and_then(normalise::phone) else {
                continue;
            };
            findings.push(
                Output::new(types::PHONE_NUMBER, phone)
                    .confidence(80)
                    .evidence(evidence(found.start(), found.end())),
            );
        }
    }
    findings.into_outputs()
}

/// Whether `bytes[start..end]` is a whole number rather than part of a longer token.
fn stands_alone(bytes: &[u8], start: usize, end: usize) -> bool {
    if let Some(&before) = start.checked_sub(1).and_then(|i| bytes.get(i))
        && (before.is_ascii_alphanumeric() || b"._+-/#$,%".contains(&before))
    {
        return false;
    }
    match bytes.get(end) {
        None => true,
        Some(after) if after.is_ascii_alphanumeric() || *after == b'_' => false,
        Some(b'.' | b'-' | b'/' | b',' | b':') => {
            !bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
        }
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn numbers(kind: &str, value: &str) -> Vec<String> {
        values(&extract(kind, value, &scope()), types::PHONE_NUMBER)
    }

    #[test]
    fn international_numbers_and_tel_links_become_e164() {
        let page = "https://example.com/\n<p>Call +44 (20) 7946-0958 or 0049 30 901820.</p>\
                    <a href=\"tel:+1-415-555-2671\">US</a> <a href='tel:%2B33%201%2023%2045%2067%2089'>FR</a>\
                    <span>+81.3.1234.5678</span>";
        assert_eq!(
            numbers(types::TARGET_WEB_CONTENT, page),
            [
                "+14155552671",
                "+33123456789",
                "+442079460958",
                "+4930901820",
                "+81312345678"
            ]
        );
        let tel = extract(types::TARGET_WEB_CONTENT, page, &scope());
        assert_eq!(
            tel[0].confidence, 100,
            "tel: links come first and are certain"
        );
    }

    #[test]
    fn whois_phone_fields_are_read() {
        let whois = "Registrant Phone: +1.4155552671\nRegistrant Fax: +1.4155552672\n\
                     Registrant Phone Ext:\nUpdated Date: 2024-01-05T10:00:00Z\n";
        assert_eq!(
            numbers(types::DOMAIN_WHOIS, whois),
            ["+14155552671", "+14155552672"]
        );
    }

    #[test]
    fn local_numbers_dates_versions_and_digit_runs_are_ignored() {
        let page = "https://example.com/\n020 7946 0958 (01234) 567890 \
                    2024-01-05 +0100 12:00:00+01:00 v1.2.3.4.5.6.7.8 \
                    +1234567890123456789012 id=98700441234567890 $1.00441234567 \
                    version 10.0044.1234.5678 +44 12 3 tel:02079460958 a+4420794609581b \
                    +44 20 7946 0958-12-13 #00441234567890 +1 23";
        assert!(numbers(types::TARGET_WEB_CONTENT, page).is_empty());
    }

    #[test]
    fn patterns_compile() {
        assert!(INTERNATIONAL.is_some() && TEL_LINK.is_some());
    }
}
