//! `email_extract`: e-mail addresses in web pages, WHOIS records and certificates.
//!
//! Every `@` is expanded to the longest local part and host around it, so the work is linear
//! in the input. Light obfuscation is undone first (`&#64;`, `&commat;`, `%40`, `[at]`,
//! `(at)`, `[dot]`). Addresses whose "host" ends in a file extension (`logo@2x.png`), whose
//! top-level label is not 2-24 letters, or that are URL credentials (`//user:pass@host`) or
//! key-like local parts (Sentry DSNs) are dropped.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use domain::scan::{Scope, normalise, types};

use super::findings::Findings;
use super::page::Page;
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "email_extract",
    name: "E-mail address extractor",
    description: "Finds e-mail addresses in web pages, WHOIS records and certificates; \
                  classifies them as the target's, generic (info@, admin@...) or affiliates'.",
    version: "1.0.0",
    consumes: &[
        types::TARGET_WEB_CONTENT,
        types::DOMAIN_WHOIS,
        types::SSL_CERTIFICATE_RAW,
    ],
    produces: &[
        types::EMAILADDR,
        types::EMAILADDR_GENERIC,
        types::AFFILIATE_EMAILADDR,
    ],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Local parts that name a role rather than a person.
const GENERIC_LOCAL_PARTS: &[&str] = &[
    "abuse",
    "accounts",
    "admin",
    "administrator",
    "billing",
    "contact",
    "customerservice",
    "dmarc",
    "enquiries",
    "feedback",
    "help",
    "helpdesk",
    "hello",
    "hostmaster",
    "hr",
    "info",
    "jobs",
    "legal",
    "mail",
    "marketing",
    "media",
    "no-reply",
    "noc",
    "noreply",
    "office",
    "postmaster",
    "press",
    "privacy",
    "root",
    "sales",
    "security",
    "service",
    "support",
    "team",
    "webmaster",
];

/// Last labels of names that are file names, not hosts (`logo@2x.png`).
pub(crate) const FILE_EXTENSIONS: &[&str] = &[
    "asp", "aspx", "avif", "bmp", "css", "csv", "gif", "htm", "html", "ico", "jpeg", "jpg", "js",
    "json", "jsp", "map", "md", "mjs", "mp3", "mp4", "pdf", "php", "png", "svg", "tif", "tiff",
    "ts", "tsx", "txt", "wasm", "webm", "webp", "woff", "woff2", "xml", "yaml", "yml",
];

pub struct EmailExtract;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(EmailExtract),
    }
}

#[async_trait]
impl Module for EmailExtract {
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

/// The e-mail addresses in `value`.
pub fn extract(kind: &str, value: &str, scope: &Scope) -> Vec<Output> {
    let certificate;
    let (source, body) = if kind == types::TARGET_WEB_CONTENT {
        let page = Page::parse(value);
        (page.url_text().to_owned(), page.body)
    } else if kind == types::SSL_CERTIFICATE_RAW {
        certificate = super::certificate::readable(value);
        (kind.to_owned(), &*certificate)
    } else {
        (kind.to_owned(), value)
    };
    let body = deobfuscate(body);
    let mut findings = Findings::new();
    for (address, start, end) in addresses(&body) {
        if findings.is_full() {
            break;
        }
        let evidence = format!("{source}: {}", text::snippet(&body, start, end, 40));
        findings.push(classify(&address, scope).evidence(evidence));
    }
    findings.into_outputs()
}

/// The output type for a normalised `address`.
fn classify(address: &str, scope: &Scope) -> Output {
    let (local, host) = address.rsplit_once('@').unwrap_or((address, ""));
    let kind = if !scope.contains_host(host) {
        types::AFFILIATE_EMAILADDR
    } else if is_generic(local) {
        types::EMAILADDR_GENERIC
    } else {
        types::EMAILADDR
    };
    Output::new(kind, address)
}

fn is_generic(local: &str) -> bool {
    let base = local.split('+').next().unwrap_or(local);
    GENERIC_LOCAL_PARTS.contains(&base)
}

/// `text` with common e-mail obfuscations undone; borrowed when there are none.
fn deobfuscate(text: &str) -> Cow<'_, str> {
    let mut text = text::decode_entities(text);
    if text.contains("%40") {
        text = Cow::Owned(text.replace("%40", "@"));
    }
    if text.contains("at]") || text.contains("at)") || text.contains("AT]") {
        let mut owned = text.into_owned();
        for (pattern, with) in [
            (" [at] ", "@"),
            (" (at) ", "@"),
            (" [AT] ", "@"),
            ("[at]", "@"),
            ("(at)", "@"),
            (" [dot] ", "."),
            (" (dot) ", "."),
            ("[dot]", "."),
            ("(dot)", "."),
        ] {
            if owned.contains(pattern) {
                owned = owned.replace(pattern, with);
            }
        }
        text = Cow::Owned(owned);
    }
    text
}

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._%+-".contains(&b)
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

/// The normalised addresses in `text` with the byte range each was found at.
fn addresses(text: &str) -> impl Iterator<Item = (String, usize, usize)> + '_ {
    let bytes = text.as_bytes();
    text.match_indices('@').filter_map(move |(at, _)| {
        // Local part: at most 64 bytes, and not the tail of a longer run.
        let mut start = at;
        while start > 0 && at - start <= 64 && is_local_byte(bytes[start - 1]) {
            start -= 1;
        }
        if at - start > 64 {
            return None;
        }
        let mut end = at + 1;
        while end < bytes.len() && end - at <= 254 && is_host_byte(bytes[end]) {
            end += 1;
        }
        let mut local = &text[start..at];
        // URL-encoded separators before the address (`%20john@`, `%3Ajohn@`).
        while local.len() > 3
            && local.starts_with('%')
            && local.as_bytes()[1..3].iter().all(u8::is_ascii_hexdigit)
        {
            local = &local[3..];
        }
        let local = local.trim_start_matches('.');
        let host = text[at + 1..end].trim_end_matches(['.', '-']);
        if local.is_empty() || host.is_empty() || is_url_credentials(bytes, start) {
            return None;
        }
        if local.len() >= 24 && local.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let tld = host.rsplit('.').next().unwrap_or("");
        let tld_ok = (2..=24).contains(&tld.len())
            && tld.bytes().all(|b| b.is_ascii_alphabetic())
            && !FILE_EXTENSIONS.contains(&tld.to_ascii_lowercase().as_str());
        if !tld_ok {
            return None;
        }
        let address = normalise::email(&format!("{local}@{host}"))?;
        Some((address, start, at + 1 + host.len()))
    })
}

/// Whether the local part starting at `start` is the user of a URL (`//user@host`,
/// `//user:secret@host`) rather than an e-mail address.
fn is_url_credentials(bytes: &[u8], start: usize) -> bool {
    let before = &bytes[start.saturating_sub(128)..start];
    if before.ends_with(b"mailto:") {
        return false;
    }
    if !(before.ends_with(b"/") || before.ends_with(b":")) {
        return false;
    }
    // Walk back over the rest of the token; a `//` in it makes this a URL authority.
    let token_start = before
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || b"\"'<>()".contains(b))
        .map_or(0, |i| i + 1);
    before[token_start..].windows(2).any(|w| w == b"//")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn run(kind: &str, value: &str) -> Vec<Output> {
        extract(kind, value, &scope())
    }

    #[test]
    fn addresses_are_classified_by_scope_and_local_part() {
        let page = "https://www.example.com/contact\n<p>Write to Alice.Smith@Example.com or \
                    <a href=\"mailto:info@example.com?subject=hi\">us</a>, our partner \
                    bob@partner.org, or support+web@mail.example.com.</p>";
        let outputs = run(types::TARGET_WEB_CONTENT, page);
        assert_eq!(
            values(&outputs, types::EMAILADDR),
            ["alice.smith@example.com"]
        );
        assert_eq!(
            values(&outputs, types::EMAILADDR_GENERIC),
            ["info@example.com", "support+web@mail.example.com"]
        );
        assert_eq!(
            values(&outputs, types::AFFILIATE_EMAILADDR),
            ["bob@partner.org"]
        );
        let evidence = outputs[0].evidence.as_deref().unwrap();
        assert!(
            evidence.starts_with("https://www.example.com/contact: "),
            "{evidence}"
        );
    }

    #[test]
    fn light_obfuscation_is_undone() {
        let page = "https://example.com/\njane&#64;example.com, joe&#x40;example.com, \
                    ann%40example.com, tom [at] example [dot] com, sue(at)example.com, \
                    max&commat;example&period;com";
        let outputs = run(types::TARGET_WEB_CONTENT, page);
        assert_eq!(
            values(&outputs, types::EMAILADDR),
            [
                "ann@example.com",
                "jane@example.com",
                "joe@example.com",
                "max@example.com",
                "sue@example.com",
                "tom@example.com"
            ]
        );
    }

    #[test]
    fn file_names_versions_credentials_and_keys_are_not_addresses() {
        let page = "https://example.com/\n<img src=\"logo@2x.png\"> <img srcset=\"a@3x.webp 3x\"> \
                    npm i react@18.2.0 @media screen {} a@b.c x@localhost \
                    https://user:secret@db.example.com/ ftp://anon@files.example.com/ \
                    https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1 \
                    @@@ .@example.com -@- foo@.com bar@example.123";
        let outputs = run(types::TARGET_WEB_CONTENT, page);
        assert!(outputs.is_empty(), "{outputs:?}");
    }

    #[test]
    fn whois_and_certificate_text_are_read_whole() {
        let whois = "Domain Name: EXAMPLE.COM\nRegistrant Email: Owner@Example.com\n\
                     Registrar Abuse Contact Email: abuse@registrar.net\n";
        let outputs = run(types::DOMAIN_WHOIS, whois);
        assert_eq!(values(&outputs, types::EMAILADDR), ["owner@example.com"]);
        assert_eq!(
            values(&outputs, types::AFFILIATE_EMAILADDR),
            ["abuse@registrar.net"]
        );
        let cert = "Subject: CN=www.example.com, emailAddress=hostmaster@example.com";
        let outputs = run(types::SSL_CERTIFICATE_RAW, cert);
        assert_eq!(
            values(&outputs, types::EMAILADDR_GENERIC),
            ["hostmaster@example.com"]
        );
    }

    #[test]
    fn pem_certificates_are_read() {
        let pem = super::super::certificate::tests::sample_pem();
        let outputs = run(types::SSL_CERTIFICATE_RAW, &pem);
        assert_eq!(
            values(&outputs, types::EMAILADDR_GENERIC),
            ["hostmaster@example.com"]
        );
        assert_eq!(
            values(&outputs, types::AFFILIATE_EMAILADDR),
            ["pki@ca-vendor.org"]
        );
    }

    #[test]
    fn overlong_parts_and_multibyte_neighbours_are_handled() {
        let long_local = format!("{}@example.com", "a".repeat(70));
        assert!(run(types::DOMAIN_WHOIS, &long_local).is_empty());
        let outputs = run(types::DOMAIN_WHOIS, "é日本@example.com ü x@example.comé");
        assert_eq!(values(&outputs, types::EMAILADDR), ["x@example.com"]);
        let many_ats = "@".repeat(100_000);
        assert!(run(types::DOMAIN_WHOIS, &many_ats).is_empty());
    }
}
