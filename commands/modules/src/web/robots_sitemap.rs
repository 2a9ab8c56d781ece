//! `robots_sitemap`: the URLs a site lists about itself in robots.txt and its sitemaps.
//!
//! Given a site root (an internal URL with path `/` and no query), reads `/robots.txt` and
//! reports the paths of its `Allow`/`Disallow` lines (cut at the first `*` or `$`) and its
//! `Sitemap:` URLs; then reads those sitemaps (or `/sitemap.xml` when robots.txt names none)
//! and reports their `<loc>` URLs. A sitemap index is followed one level deep. Sitemaps on
//! hosts outside the site and the scope are reported, not fetched. Everything is capped:
//! [`MAX_SITEMAPS`] sitemaps, [`MAX_SITEMAP_BYTES`] each, `maxUrls` URLs in all.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use domain::scan::types::{LINKED_URL_EXTERNAL, LINKED_URL_INTERNAL};
use url::Url;

use super::links::decode_entities;
use super::robots::RobotsFile;
use super::{is_internal, is_site_root, link_output, parse_web_url, site_root};
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::http::{BodyFilter, HttpClient};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "robots_sitemap",
    name: "robots.txt and sitemaps",
    description: "Reads a site's robots.txt and sitemaps (sitemap indexes one level deep) and \
                  reports the URLs they list.",
    version: "1.0.0",
    consumes: &[LINKED_URL_INTERNAL],
    produces: &[LINKED_URL_INTERNAL, LINKED_URL_EXTERNAL],
    passive: false,
    options: &[OptionSpec {
        name: "maxUrls",
        kind: OptionKind::Int,
        default: "2000",
        description: "The most URLs reported per site.",
    }],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The most sitemaps read per site (index children included).
pub const MAX_SITEMAPS: usize = 10;

/// The most bytes of one sitemap read.
pub const MAX_SITEMAP_BYTES: usize = 5 << 20;

/// The most bytes of robots.txt read.
const MAX_ROBOTS_BYTES: usize = 512 << 10;

pub struct RobotsSitemap;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(RobotsSitemap),
    }
}

/// What one site's files yielded so far.
struct Collected<'a> {
    root: &'a Url,
    context: &'a ModuleContext,
    seen: HashSet<String>,
    outputs: Vec<Output>,
    max: usize,
}

impl Collected<'_> {
    fn is_full(&self) -> bool {
        self.outputs.len() >= self.max
    }

    /// Reports `url` once, internal or external.
    fn push(&mut self, mut url: Url, evidence: &str) {
        if self.is_full() || !matches!(url.scheme(), "http" | "https") {
            return;
        }
        url.set_fragment(None);
        if !self.seen.insert(url.as_str().to_owned()) {
            return;
        }
        let internal = self.internal(&url);
        self.outputs.push(link_output(&url, internal, evidence));
    }

    fn internal(&self, url: &Url) -> bool {
        is_internal(url, self.root.host_str(), &self.context.scope)
    }
}

#[async_trait]
impl Module for RobotsSitemap {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let url = parse_web_url(&input.value)?;
        if input.scope_distance > 0 || !is_site_root(&url) {
            return Ok(Vec::new());
        }
        let root = site_root(&url);
        let http = &context.net.http;
        let max = context
            .options
            .module_int(&META, "maxUrls")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(2000)
            .clamp(1, 100_000);
        let mut collected = Collected {
            root: &root,
            context,
            seen: HashSet::new(),
            outputs: Vec::new(),
            max,
        };

        let robots_url = join(&root, "/robots.txt")?;
        let robots = http
            .fetch_with(&robots_url, MAX_ROBOTS_BYTES, BodyFilter::Text)
            .await?;
        let file = if robots.status == 200 && robots.is_text() {
            RobotsFile::parse(&robots.text())
        } else {
            RobotsFile::default()
        };
        let evidence = format!("listed in {robots_url}");
        for path in &file.paths {
            let prefix = path.split(['*', '$']).next().unwrap_or_default();
            if prefix.starts_with('/')
                && prefix != "/"
                && let Ok(found) = root.join(prefix)
            {
                collected.push(found, &evidence);
            }
        }
        let mut sitemaps = Vec::new();
        for listed in &file.sitemaps {
            if let Ok(sitemap) = root.join(listed) {
                collected.push(sitemap.clone(), &evidence);
                sitemaps.push(sitemap);
            }
        }
        if sitemaps.is_empty() {
            sitemaps.push(join(&root, "/sitemap.xml")?);
        }

        let mut read = 0;
        let mut children = Vec::new();
        for sitemap in sitemaps {
            if read >= MAX_SITEMAPS || collected.is_full() {
                break;
            }
            if !collected.internal(&sitemap) {
                continue;
            }
            read += 1;
            let Some(document) = fetch_sitemap(http, &sitemap).await else {
                continue;
            };
            let evidence = format!("listed in {sitemap}");
            let index = is_index(&document);
            for loc in locs(&document) {
                let Ok(found) = sitemap.join(&loc) else {
                    continue;
                };
                if index {
                    children.push(found.clone());
                }
                collected.push(found, &evidence);
            }
        }
        for child in children {
            if read >= MAX_SITEMAPS || collected.is_full() {
                break;
            }
            if !collected.internal(&child) {
                continue;
            }
            read += 1;
            let Some(document) = fetch_sitemap(http, &child).await else {
                continue;
            };
            let evidence = format!("listed in {child}");
            // One level deep: an index inside an index is reported, not followed.
            for loc in locs(&document) {
                if let Ok(found) = child.join(&loc) {
                    collected.push(found, &evidence);
                }
            }
        }
        Ok(collected.outputs)
    }
}

fn join(root: &Url, path: &str) -> Result<Url, ModuleError> {
    root.join(path)
        .map_err(|error| ModuleError::Failed(format!("cannot build {root}{path}: {error}")))
}

/// A sitemap's text; `None` when it is missing, not text or unreachable.
async fn fetch_sitemap(http: &HttpClient, url: &Url) -> Option<String> {
    match http
        .fetch_with(url, MAX_SITEMAP_BYTES, BodyFilter::Text)
        .await
    {
        Ok(fetched) if fetched.status == 200 && fetched.is_text() => Some(fetched.text()),
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(%url, %error, "sitemap unreadable");
            None
        }
    }
}

fn is_index(document: &str) -> bool {
    let head = super::clip(document, 4096).to_ascii_lowercase();
    head.contains("<sitemapindex")
}

/// The text of every `<loc>` element (any namespace prefix), entities decoded, CDATA
/// unwrapped, trimmed.
pub fn locs(document: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = document.to_ascii_lowercase();
    let mut from = 0;
    while let Some(offset) = lower[from..].find("loc>") {
        let start = from + offset + 4;
        from = start;
        if !is_opening_loc(&lower.as_bytes()[..start - 4]) {
            continue;
        }
        let Some(length) = lower[start..].find("</") else {
            break;
        };
        let raw = document[start..start + length].trim();
        let raw = raw
            .strip_prefix("<![CDATA[")
            .and_then(|r| r.strip_suffix("]]>"))
            .unwrap_or(raw)
            .trim();
        if !raw.is_empty() && raw.len() <= 4096 {
            found.push(decode_entities(raw).into_owned());
        }
        from = start + length;
    }
    found
}

/// Whether the bytes before `loc>` end an opening tag's start: `<` or `<prefix:` (a short
/// prefix, so the look-back is bounded).
fn is_opening_loc(before: &[u8]) -> bool {
    let window = &before[before.len().saturating_sub(32)..];
    match window.iter().rposition(|b| *b == b'<') {
        Some(lt) => {
            let name = &window[lt + 1..];
            name.is_empty()
                || (name.ends_with(b":")
                    && name[..name.len() - 1]
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::hostile_http::HostileHttp;
    use crate::testing::http_site::{EXTERNAL_HOST, HttpSite, SiteSpec};
    use crate::web::test_support::{input, loopback, options, public_only, values};

    #[tokio::test]
    async fn robots_paths_sitemaps_and_index_children_are_reported() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let outputs = RobotsSitemap
            .handle(
                &input(LINKED_URL_INTERNAL, site.base_url().as_str(), 0),
                &context,
            )
            .await
            .unwrap();
        let internal = values(&outputs, LINKED_URL_INTERNAL);
        for path in [
            "/private/",
            "/public/",
            "/tmp/",
            "/sitemap.xml",
            "/sitemap-pages.xml",
            "/sitemap-extra.xml",
            "/hidden/only-in-sitemap.html",
            "/page/49.html",
        ] {
            assert!(
                internal.contains(&site.url(path).to_string()),
                "{path} missing from {internal:?}"
            );
        }
        assert!(!internal.contains(&site.url("/page/50.html").to_string()));
        assert_eq!(
            values(&outputs, LINKED_URL_EXTERNAL),
            vec![format!("https://{EXTERNAL_HOST}/in-sitemap?a=1&b=2")]
        );
        assert_eq!(site.hits("/sitemap.xml"), 1);
        assert_eq!(site.hits("/sitemap-extra.xml"), 1);
    }

    #[tokio::test]
    async fn only_site_roots_are_read_and_the_cap_holds() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let page = site.url("/page/1.html");
        let outputs = RobotsSitemap
            .handle(&input(LINKED_URL_INTERNAL, page.as_str(), 0), &context)
            .await
            .unwrap();
        assert!(outputs.is_empty());
        assert_eq!(site.hits("/robots.txt"), 0);

        let mut capped = crate::options::ScanOptions {
            timeout_ms: 5000,
            ..Default::default()
        };
        capped.module_options.insert(
            "robots_sitemap".into(),
            [("maxUrls".to_owned(), serde_json::json!(5))].into(),
        );
        let outputs = RobotsSitemap
            .handle(
                &input(LINKED_URL_INTERNAL, site.base_url().as_str(), 0),
                &loopback(capped),
            )
            .await
            .unwrap();
        assert_eq!(outputs.len(), 5);
    }

    #[tokio::test]
    async fn hostile_and_refused_sites_end_cleanly() {
        let hostile = HostileHttp::start().await;
        // robots.txt is a 1 GiB body there and /sitemap.xml a 404: capped read, no URLs.
        let context = loopback(options(Duration::from_secs(5)));
        let outputs = RobotsSitemap
            .handle(
                &input(LINKED_URL_INTERNAL, hostile.url("/").as_str(), 0),
                &context,
            )
            .await
            .unwrap();
        assert!(outputs.is_empty());
        let guarded = public_only(options(Duration::from_secs(5)));
        let error = RobotsSitemap
            .handle(
                &input(LINKED_URL_INTERNAL, hostile.url("/").as_str(), 0),
                &guarded,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
    }

    #[test]
    fn locs_are_found_in_any_spelling_and_garbage_is_harmless() {
        let xml = "<urlset><url><loc> http://a.example/x?a=1&amp;b=2 </loc></url>\
                   <url><sm:loc><![CDATA[http://a.example/y]]></sm:loc></url>\
                   <url><LOC>http://a.example/z</LOC></url><loc></loc><loc>unterminated";
        assert_eq!(
            locs(xml),
            vec![
                "http://a.example/x?a=1&b=2",
                "http://a.example/y",
                "http://a.example/z"
            ]
        );
        let garbage =
            String::from_utf8_lossy(&crate::testing::hostile_http::noise(10_000, 3)).into_owned();
        let _ = locs(&garbage);
        let _ = locs("</loc><loc>é</loc>");
    }
}
