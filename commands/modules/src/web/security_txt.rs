//! `security_txt`: a site's security contacts (RFC 9116).
//!
//! For a domain, `https://domain` then `http://domain`; for a site root, its origin. Reads
//! `/.well-known/security.txt`, then `/security.txt`, and reports `Contact:` e-mail addresses
//! (`mailto:` or bare), phone numbers (`tel:`) and URLs, and the `Policy`, `Hiring`,
//! `Acknowledgments`, `Encryption`, `Canonical` and `CSAF` URLs. A 200 answer without any
//! field (a soft 404 page) is not a security.txt. Each origin is read once per scan.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::scan::normalise;
use domain::scan::types::{
    DOMAIN_NAME, EMAILADDR, LINKED_URL_EXTERNAL, LINKED_URL_INTERNAL, PHONE_NUMBER,
};
use url::Url;

use super::{clip, is_internal, is_site_root, link_output, parse_web_url, site_root, worst_error};
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::http::BodyFilter;
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "security_txt",
    name: "security.txt",
    description: "Reads /.well-known/security.txt (then /security.txt) and reports the contact \
                  e-mail addresses, phone numbers and URLs and the policy, hiring and \
                  encryption URLs it lists.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME, LINKED_URL_INTERNAL],
    produces: &[
        EMAILADDR,
        PHONE_NUMBER,
        LINKED_URL_INTERNAL,
        LINKED_URL_EXTERNAL,
    ],
    passive: false,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Where the file may be, in order.
const PATHS: [&str; 2] = ["/.well-known/security.txt", "/security.txt"];

/// The most bytes of the file read.
const MAX_BYTES: usize = 64 << 10;

/// Origins remembered per scan; beyond this they may be read twice.
const MAX_ORIGINS: usize = 100_000;

/// Fields whose value is a URL.
const URL_FIELDS: [&str; 7] = [
    "contact",
    "policy",
    "hiring",
    "acknowledgments",
    "acknowledgements",
    "encryption",
    "csaf",
];

pub struct SecurityTxt {
    /// Origins already read this scan.
    done: Mutex<HashSet<String>>,
}

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || {
            Arc::new(SecurityTxt {
                done: Mutex::new(HashSet::new()),
            })
        },
    }
}

impl SecurityTxt {
    /// Marks `origin` as read; false when it already was.
    fn first_time(&self, origin: &Url) -> bool {
        let key = origin.origin().ascii_serialization();
        match self.done.lock() {
            Ok(mut done) if done.len() < MAX_ORIGINS => done.insert(key),
            Ok(done) => !done.contains(&key),
            Err(_) => true,
        }
    }
}

#[async_trait]
impl Module for SecurityTxt {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        let origins = match input.kind {
            DOMAIN_NAME => {
                let host = normalise::host_name(&input.value).ok_or_else(|| {
                    ModuleError::Failed(format!(
                        "{:?} is not a domain name",
                        clip(&input.value, 200)
                    ))
                })?;
                ["https", "http"]
                    .iter()
                    .filter_map(|scheme| Url::parse(&format!("{scheme}://{host}/")).ok())
                    .collect()
            }
            LINKED_URL_INTERNAL => {
                let url = parse_web_url(&input.value)?;
                if !is_site_root(&url) {
                    return Ok(Vec::new());
                }
                vec![site_root(&url)]
            }
            other => {
                return Err(ModuleError::Failed(format!(
                    "security_txt does not handle {other} findings"
                )));
            }
        };

        let mut errors = Vec::new();
        let mut reached = false;
        for origin in origins {
            if !self.first_time(&origin) {
                // Read already this scan (from the domain or from the site root).
                return Ok(Vec::new());
            }
            for path in PATHS {
                let Ok(url) = origin.join(path) else {
                    continue;
                };
                match context
                    .net
                    .http
                    .fetch_with(&url, MAX_BYTES, BodyFilter::Text)
                    .await
                {
                    Ok(fetched) => {
                        reached = true;
                        if fetched.status != 200 || !fetched.is_text() {
                            continue;
                        }
                        let outputs = parse(&fetched.text(), &fetched.url, context);
                        if !outputs.is_empty() {
                            return Ok(outputs);
                        }
                    }
                    Err(error) => {
                        errors.push(error);
                        // The origin is unreachable: the second path would fail the same way.
                        break;
                    }
                }
            }
            if reached {
                // The site answered without a security.txt; the other scheme is the same site.
                return Ok(Vec::new());
            }
        }
        match worst_error(errors) {
            Some(error) => Err(error.into()),
            None => Ok(Vec::new()),
        }
    }
}

/// The findings of a security.txt read from `source`.
fn parse(text: &str, source: &Url, context: &ModuleContext) -> Vec<Output> {
    if text.trim_start().starts_with('<') {
        return Vec::new();
    }
    let evidence = format!("listed in {source}");
    let mut outputs = Vec::new();
    for line in text.lines().take(10_000) {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        let field = field.trim().to_ascii_lowercase();
        let value = value.trim();
        if field == "contact" {
            let lower = value.get(..7).unwrap_or(value).to_ascii_lowercase();
            if lower.starts_with("mailto:") || (!value.contains("://") && value.contains('@')) {
                let address = value.get(7..).filter(|_| lower.starts_with("mailto:"));
                let address = address
                    .unwrap_or(value)
                    .split('?')
                    .next()
                    .unwrap_or_default();
                if let Some(email) = normalise::email(address) {
                    outputs.push(Output::new(EMAILADDR, email).evidence(&evidence));
                }
                continue;
            }
            if lower.starts_with("tel:") {
                if let Some(phone) = normalise::phone(&value[4..]) {
                    outputs.push(Output::new(PHONE_NUMBER, phone).evidence(&evidence));
                }
                continue;
            }
        }
        if URL_FIELDS.contains(&field.as_str()) || field == "canonical" {
            let Ok(mut url) = source.join(value) else {
                continue;
            };
            if !matches!(url.scheme(), "http" | "https") {
                continue;
            }
            url.set_fragment(None);
            let internal = is_internal(&url, source.host_str(), &context.scope);
            outputs.push(link_output(&url, internal, &evidence));
        }
    }
    outputs
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::hostile_http::HostileHttp;
    use crate::testing::http_site::{HttpSite, SiteSpec};
    use crate::web::test_support::{input, loopback, options, public_only, values};

    fn module() -> Arc<dyn Module> {
        (entry().create)()
    }

    #[tokio::test]
    async fn contacts_and_urls_are_reported_once_per_origin() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let module = module();
        let root = input(LINKED_URL_INTERNAL, site.base_url().as_str(), 0);
        let outputs = module.handle(&root, &context).await.unwrap();
        assert_eq!(values(&outputs, EMAILADDR), vec!["security@example.com"]);
        assert_eq!(values(&outputs, PHONE_NUMBER), vec!["+12025550100"]);
        // example.com is in the test scope.
        assert_eq!(
            values(&outputs, LINKED_URL_INTERNAL),
            vec![
                "https://example.com/report-a-vulnerability".to_owned(),
                site.url("/pgp-key.txt").to_string(),
                site.url("/security-policy").to_string(),
            ]
        );
        assert_eq!(
            values(&outputs, LINKED_URL_EXTERNAL),
            vec!["https://jobs.example.net/security"]
        );
        assert!(module.handle(&root, &context).await.unwrap().is_empty());
        assert_eq!(site.hits("/.well-known/security.txt"), 1);
        let page = input(LINKED_URL_INTERNAL, site.url("/page/1.html").as_str(), 0);
        assert!(module.handle(&page, &context).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn soft_404s_garbage_and_refusals_are_handled() {
        let hostile = HostileHttp::start().await;
        let context = loopback(options(Duration::from_secs(5)));
        // Both paths are 404 there.
        let outputs = module()
            .handle(
                &input(LINKED_URL_INTERNAL, hostile.url("/").as_str(), 0),
                &context,
            )
            .await
            .unwrap();
        assert!(outputs.is_empty());
        let soft_404 = "<html><body>Contact: mailto:nobody@example.com</body></html>";
        assert!(parse(soft_404, &hostile.url("/security.txt"), &context).is_empty());
        let garbage =
            String::from_utf8_lossy(&crate::testing::hostile_http::noise(4096, 9)).into_owned();
        let _ = parse(&garbage, &hostile.url("/security.txt"), &context);
        let odd = "Contact: mailto:\nContact: tel:\nContact: javascript:alert(1)\nPolicy: ::::\nContact: MAILTO:Sec@Example.com?subject=x\n";
        let outputs = parse(odd, &hostile.url("/security.txt"), &context);
        assert_eq!(values(&outputs, EMAILADDR), vec!["sec@example.com"]);

        let guarded = public_only(options(Duration::from_secs(5)));
        let error = module()
            .handle(
                &input(LINKED_URL_INTERNAL, hostile.url("/").as_str(), 0),
                &guarded,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
        let error = module()
            .handle(&input(DOMAIN_NAME, "not a domain", 0), &context)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
    }
}
