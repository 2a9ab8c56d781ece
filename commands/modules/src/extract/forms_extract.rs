//! `forms_extract`: form targets, password and upload fields, and scripts of a web page.
//!
//! Form actions and script sources are resolved against the page URL (or its `<base href>`)
//! and kept when they are http(s); a form without an action posts to the page itself.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use domain::scan::{Scope, types};
use regex::bytes::{Captures, Regex};
use url::Url;

use super::findings::Findings;
use super::page::Page;
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "forms_extract",
    name: "Forms and scripts extractor",
    description: "Finds form targets, pages with password or file-upload fields, and the \
                  scripts a web page loads.",
    version: "1.0.0",
    consumes: &[types::TARGET_WEB_CONTENT],
    produces: &[
        types::URL_FORM,
        types::URL_PASSWORD,
        types::URL_UPLOAD,
        types::URL_JAVASCRIPT,
    ],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

static FORM_TAG: LazyLock<Option<Regex>> = LazyLock::new(|| super::compile(r"(?i-u)<form\b[^>]*>"));

static SCRIPT_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?i-u)<script\b[^>]*>"));

static BASE_TAG: LazyLock<Option<Regex>> = LazyLock::new(|| super::compile(r"(?i-u)<base\b[^>]*>"));

static ACTION: LazyLock<Option<Regex>> = LazyLock::new(|| attribute("action"));
static SRC: LazyLock<Option<Regex>> = LazyLock::new(|| attribute("src"));
static HREF: LazyLock<Option<Regex>> = LazyLock::new(|| attribute("href"));

static PASSWORD_INPUT: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r#"(?i-u)<input\b[^>]*\stype\s*=\s*["']?password["'\s/>]"#));

static FILE_INPUT: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r#"(?i-u)<input\b[^>]*\stype\s*=\s*["']?file["'\s/>]"#));

/// An attribute's value: double-quoted, single-quoted or bare.
fn attribute(name: &str) -> Option<Regex> {
    super::compile(&format!(
        r#"(?i-u)\s{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#
    ))
}

pub struct FormsExtract;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(FormsExtract),
    }
}

#[async_trait]
impl Module for FormsExtract {
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

/// The forms, password/upload pages and scripts of the page in `value`.
pub fn extract(_kind: &str, value: &str, _scope: &Scope) -> Vec<Output> {
    let page = Page::parse(value);
    let bytes = page.body.as_bytes();
    let base = base_url(&page);
    let page_url = page.url.clone().map(|mut url| {
        url.set_fragment(None);
        url
    });
    let evidence = |start, end| {
        format!(
            "{}: {}",
            page.url_text(),
            text::snippet(page.body, start, end, 0)
        )
    };
    let mut findings = Findings::new();
    if let Some(page_url) = &page_url {
        for (regex, kind) in [
            (&PASSWORD_INPUT, types::URL_PASSWORD),
            (&FILE_INPUT, types::URL_UPLOAD),
        ] {
            if let Some(found) = regex.as_ref().and_then(|r| r.find(bytes)) {
                findings.push(
                    Output::new(kind, page_url.as_str())
                        .evidence(evidence(found.start(), found.end())),
                );
            }
        }
    }
    for (tags, attribute, kind) in [
        (&FORM_TAG, &ACTION, types::URL_FORM),
        (&SCRIPT_TAG, &SRC, types::URL_JAVASCRIPT),
    ] {
        let (Some(tags), Some(attribute)) = (tags.as_ref(), attribute.as_ref()) else {
            continue;
        };
        for tag in tags.find_iter(bytes) {
            if findings.is_full() {
                break;
            }
            let target = match attribute
                .captures(tag.as_bytes())
                .as_ref()
                .and_then(value_of)
            {
                Some(target) if !target.trim().is_empty() => resolve(base.as_ref(), &target),
                // A form without an action posts to its page; a script without src is inline.
                _ if kind == types::URL_FORM => page_url.clone(),
                _ => None,
            };
            if let Some(target) = target {
                findings.push(
                    Output::new(kind, target.as_str()).evidence(evidence(tag.start(), tag.end())),
                );
            }
        }
    }
    findings.into_outputs()
}

/// The URL relative references resolve against: `<base href>` or the page URL.
fn base_url(page: &Page<'_>) -> Option<Url> {
    let tag = BASE_TAG.as_ref()?.find(page.body.as_bytes());
    let href = tag.and_then(|tag| {
        HREF.as_ref()?
            .captures(tag.as_bytes())
            .as_ref()
            .and_then(value_of)
    });
    match (href, &page.url) {
        (Some(href), Some(url)) => url.join(href.trim()).ok().or_else(|| Some(url.clone())),
        (Some(href), None) => Url::parse(href.trim()).ok(),
        (None, url) => url.clone(),
    }
    .filter(|url| matches!(url.scheme(), "http" | "https"))
}

/// The decoded value of an [`attribute`] match.
fn value_of(captures: &Captures<'_>) -> Option<String> {
    let value = captures
        .get(1)
        .or_else(|| captures.get(2))
        .or_else(|| captures.get(3))?;
    let value = text::utf8(value.as_bytes())?;
    Some(text::decode_entities(value).into_owned())
}

/// `reference` as an absolute http(s) URL without fragment.
fn resolve(base: Option<&Url>, reference: &str) -> Option<Url> {
    let reference = reference.trim();
    if reference.len() > 4096 {
        return None;
    }
    let mut url = match base {
        Some(base) => base.join(reference).ok()?,
        None => Url::parse(reference).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn run(value: &str) -> Vec<Output> {
        extract(types::TARGET_WEB_CONTENT, value, &scope())
    }

    #[test]
    fn forms_fields_and_scripts_are_found_and_resolved() {
        let page = "https://www.example.com/account/login?x=1#top\n<html>\
                    <script src=\"/static/app.js?v=2\"></script>\
                    <SCRIPT type=module SRC='https://cdn.partner.net/lib.js#x'></SCRIPT>\
                    <script>inline()</script><script src=//cdn.example.com/a.js></script>\
                    <form method=post action=\"session?next=%2F&amp;a=1\">\
                    <input name=user><input type=\"password\" name=pw></form>\
                    <form><input type=file name=f></form>\
                    <form action=\"javascript:void(0)\"></form></html>";
        let outputs = run(page);
        assert_eq!(
            values(&outputs, types::URL_FORM),
            [
                "https://www.example.com/account/login?x=1",
                "https://www.example.com/account/session?next=%2F&a=1"
            ]
        );
        assert_eq!(
            values(&outputs, types::URL_PASSWORD),
            ["https://www.example.com/account/login?x=1"]
        );
        assert_eq!(
            values(&outputs, types::URL_UPLOAD),
            ["https://www.example.com/account/login?x=1"]
        );
        assert_eq!(
            values(&outputs, types::URL_JAVASCRIPT),
            [
                "https://cdn.example.com/a.js",
                "https://cdn.partner.net/lib.js",
                "https://www.example.com/static/app.js?v=2"
            ]
        );
    }

    #[test]
    fn base_href_changes_resolution() {
        let page = "http://example.com/a/b\n<base href=\"https://static.example.com/root/\">\
                    <script src=\"x.js\"></script><form action=\"post\"></form>";
        let outputs = run(page);
        assert_eq!(
            values(&outputs, types::URL_JAVASCRIPT),
            ["https://static.example.com/root/x.js"]
        );
        assert_eq!(
            values(&outputs, types::URL_FORM),
            ["https://static.example.com/root/post"]
        );
    }

    #[test]
    fn pages_without_forms_or_url_give_little() {
        let page = "https://example.com/\n<p>type=password is not an input</p>\
                    <input type=\"passwordx\"><input type=filex><form action=\"data:x\">";
        assert!(run(page).is_empty(), "{:?}", run(page));
        let no_url = "<script src=\"/rel.js\"></script><script src=\"https://a.example.com/abs.js\">\
                      <input type=password><form action=\"/f\">";
        assert_eq!(
            values(&run(no_url), types::URL_JAVASCRIPT),
            ["https://a.example.com/abs.js"]
        );
        assert!(values(&run(no_url), types::URL_PASSWORD).is_empty());
        assert!(values(&run(no_url), types::URL_FORM).is_empty());
        assert!(run("https://example.com/\n<form action=\"").is_empty());
    }

    #[test]
    fn patterns_compile() {
        for regex in [
            &FORM_TAG,
            &SCRIPT_TAG,
            &BASE_TAG,
            &ACTION,
            &SRC,
            &HREF,
            &PASSWORD_INPUT,
            &FILE_INPUT,
        ] {
            assert!(regex.is_some());
        }
    }
}
