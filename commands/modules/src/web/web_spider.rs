//! `web_spider`: fetches one internal URL, reports its content and the links on it.
//!
//! One URL per call; the runtime feeds the internal links back, counts pages against
//! `maxPages` (`budget_option`) and tracks depth (`input.depth` = internal-URL ancestors).
//! Internal links (same host as the page, or a host in the scan's scope) are reported while
//! `input.depth < maxDepth`; external links always, they are never fetched.
//!
//! robots.txt is read once per origin and per scan (the module instance caches it) and
//! disallowed URLs are not fetched; rules for `mirage`, else `*`, apply. Only text bodies are
//! read (at most [`MAX_PAGE_BYTES`]) and only HTML is searched for links; the page is reported
//! as `TARGET_WEB_CONTENT` `<url>\n<content>`, cut at [`MAX_CONTENT_BYTES`]. URLs of images,
//! fonts, media and archives are not fetched.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::scan::types::{LINKED_URL_EXTERNAL, LINKED_URL_INTERNAL, TARGET_WEB_CONTENT};
use tokio::sync::OnceCell;
use url::Url;

use super::links::extract_links;
use super::robots::{AGENT, Robots};
use super::{clip, is_internal, link_output, parse_web_url};
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::http::{BodyFilter, HttpClient, is_html_type};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "web_spider",
    name: "Web spider",
    description: "Fetches internal URLs (robots.txt-aware, up to maxDepth links from where the \
                  scan found the site, at most maxPages pages) and reports their content and \
                  the internal and external links on them.",
    version: "1.0.0",
    consumes: &[LINKED_URL_INTERNAL],
    produces: &[LINKED_URL_INTERNAL, LINKED_URL_EXTERNAL, TARGET_WEB_CONTENT],
    passive: false,
    options: &[OptionSpec {
        name: "maxLinksPerPage",
        kind: OptionKind::Int,
        default: "500",
        description: "The most links reported from one page.",
    }],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: Some("maxPages"),
};

/// The most bytes of a page read.
pub const MAX_PAGE_BYTES: usize = 2 << 20;

/// The most bytes of a `TARGET_WEB_CONTENT` value (URL line included).
pub const MAX_CONTENT_BYTES: usize = 512 << 10;

/// The most bytes of a robots.txt read.
pub const MAX_ROBOTS_BYTES: usize = 512 << 10;

/// Origins whose robots.txt is remembered; beyond this, robots.txt is fetched per page.
const MAX_CACHED_ORIGINS: usize = 10_000;

/// Pages larger than this have their links extracted off the async threads.
const INLINE_EXTRACT_BYTES: usize = 128 << 10;

/// Path endings never fetched: not text.
const BINARY_SUFFIXES: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".bmp", ".tif", ".tiff", ".woff", ".woff2",
    ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".m4a", ".webm", ".avi", ".mov", ".wav", ".ogg",
    ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".exe", ".dmg", ".iso", ".bin", ".pdf",
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
];

type RobotsCell = Arc<OnceCell<Arc<Robots>>>;

pub struct WebSpider {
    /// robots.txt rules per origin (`scheme://host:port`).
    robots: Mutex<HashMap<String, RobotsCell>>,
}

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || {
            Arc::new(WebSpider {
                robots: Mutex::new(HashMap::new()),
            })
        },
    }
}

impl WebSpider {
    /// The robots.txt rules of `url`'s origin, fetched on first use.
    async fn robots_for(&self, url: &Url, http: &HttpClient) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        let cell = {
            let Ok(mut cache) = self.robots.lock() else {
                return Arc::new(fetch_robots(url, http).await);
            };
            match cache.get(&origin) {
                Some(cell) => cell.clone(),
                None if cache.len() < MAX_CACHED_ORIGINS => {
                    let cell = RobotsCell::default();
                    cache.insert(origin, cell.clone());
                    cell
                }
                None => RobotsCell::default(),
            }
        };
        cell.get_or_init(|| async { Arc::new(fetch_robots(url, http).await) })
            .await
            .clone()
    }
}

/// The rules of `url`'s origin; an unreadable or missing robots.txt allows everything.
async fn fetch_robots(url: &Url, http: &HttpClient) -> Robots {
    let Ok(robots_url) = url.join("/robots.txt") else {
        return Robots::allow_all();
    };
    match http
        .fetch_with(&robots_url, MAX_ROBOTS_BYTES, BodyFilter::Text)
        .await
    {
        Ok(fetched) if fetched.status == 200 && fetched.is_text() => {
            Robots::parse(&fetched.text(), AGENT)
        }
        Ok(_) => Robots::allow_all(),
        Err(error) => {
            tracing::debug!(%robots_url, %error, "robots.txt unreadable; everything allowed");
            Robots::allow_all()
        }
    }
}

#[async_trait]
impl Module for WebSpider {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let url = parse_web_url(&input.value)?;
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        let path = url.path().to_ascii_lowercase();
        if BINARY_SUFFIXES.iter().any(|suffix| path.ends_with(suffix)) {
            return Ok(Vec::new());
        }
        let http = &context.net.http;
        let robots = self.robots_for(&url, http).await;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        if !robots.allows(&target) {
            tracing::debug!(%url, "disallowed by robots.txt");
            return Ok(Vec::new());
        }

        let fetched = http
            .fetch_with(&url, MAX_PAGE_BYTES, BodyFilter::Text)
            .await?;
        let page = &fetched.url;
        let mut outputs = Vec::new();
        let follow = input.depth < context.options.max_depth;
        if page != &url {
            let internal = is_internal(page, url.host_str(), &context.scope);
            if !internal || follow {
                outputs.push(link_output(
                    page,
                    internal,
                    &format!("{url} redirects to {page}"),
                ));
            }
            if !internal {
                // Another site's page: neither its content nor its links are the target's.
                return Ok(outputs);
            }
        }
        if fetched.status >= 500 {
            return Err(ModuleError::Transient(format!(
                "{page} answered {}",
                fetched.status
            )));
        }
        if fetched.status >= 400 || !fetched.is_text() || fetched.body.is_empty() {
            return Ok(outputs);
        }

        let text = fetched.text();
        let header = format!("{page}\n");
        let content = clip(&text, MAX_CONTENT_BYTES.saturating_sub(header.len()));
        outputs.push(
            Output::new(TARGET_WEB_CONTENT, format!("{header}{content}"))
                .evidence(format!("HTTP {} from {page}", fetched.status)),
        );

        if !is_html_type(fetched.header("content-type")) {
            return Ok(outputs);
        }
        let max_links = context
            .options
            .module_int(&META, "maxLinksPerPage")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(500)
            .clamp(1, 10_000);
        let links = if text.len() > INLINE_EXTRACT_BYTES {
            let page = page.clone();
            tokio::task::spawn_blocking(move || extract_links(&text, &page, max_links))
                .await
                .map_err(|error| ModuleError::Failed(format!("link extraction failed: {error}")))?
        } else {
            extract_links(&text, page, max_links)
        };
        let evidence = format!("linked from {page}");
        for link in links {
            let internal = is_internal(&link, page.host_str(), &context.scope);
            if internal && !follow {
                continue;
            }
            outputs.push(link_output(&link, internal, &evidence));
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashSet, VecDeque};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::options::ScanOptions;
    use crate::testing::hostile_http::HostileHttp;
    use crate::testing::http_site::{EXTERNAL_HOST, HttpSite, SiteSpec, page_depth};
    use crate::web::test_support::{input, loopback, options, public_only, values};

    fn spider() -> Arc<dyn Module> {
        (entry().create)()
    }

    #[tokio::test]
    async fn a_page_yields_its_content_and_internal_and_external_links() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let base = site.base_url();
        let outputs = spider()
            .handle(&input(LINKED_URL_INTERNAL, base.as_str(), 0), &context)
            .await
            .unwrap();
        let content = values(&outputs, TARGET_WEB_CONTENT);
        assert_eq!(content.len(), 1);
        assert!(content[0].starts_with(&format!("{base}\n<!DOCTYPE html>")));
        assert!(content[0].contains("contact-0@example.com"));

        let internal = values(&outputs, LINKED_URL_INTERNAL);
        for path in [
            "/page/1.html",
            "/page/2.html",
            "/page/3.html",
            "/page/4.html",
            "/page/5.html",
            "/page/6.html",
            "/static/app.js",
            "/login",
            "/private/secret.html",
            "/files/backup.sql",
        ] {
            assert!(
                internal.contains(&site.url(path).to_string()),
                "{path} missing from {internal:?}"
            );
        }
        // Fragments dropped, so /page/4.html#part-2 is /page/4.html, reported once.
        assert!(internal.iter().all(|u| !u.contains('#')));
        assert_eq!(
            internal.len(),
            internal.iter().collect::<HashSet<_>>().len()
        );
        let external = values(&outputs, LINKED_URL_EXTERNAL);
        assert!(external.contains(&"https://www.example.org/".to_owned()));
        assert!(external.contains(&format!("https://{EXTERNAL_HOST}/ref/0")));
        assert!(
            external
                .iter()
                .all(|u| !u.starts_with("javascript") && !u.starts_with("mailto"))
        );
    }

    #[tokio::test]
    async fn internal_links_stop_at_max_depth_external_ones_do_not() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(ScanOptions {
            max_depth: 1,
            ..options(Duration::from_secs(5))
        });
        let page = site.url("/page/1.html");
        let at_limit = spider()
            .handle(&input(LINKED_URL_INTERNAL, page.as_str(), 1), &context)
            .await
            .unwrap();
        assert!(values(&at_limit, LINKED_URL_INTERNAL).is_empty());
        assert!(!values(&at_limit, LINKED_URL_EXTERNAL).is_empty());
        assert_eq!(values(&at_limit, TARGET_WEB_CONTENT).len(), 1);
        let below = spider()
            .handle(&input(LINKED_URL_INTERNAL, page.as_str(), 0), &context)
            .await
            .unwrap();
        assert!(
            values(&below, LINKED_URL_INTERNAL).contains(&site.url("/page/7.html").to_string())
        );
    }

    #[tokio::test]
    async fn robots_disallowed_pages_are_not_fetched_and_robots_is_read_once() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let spider = spider();
        let secret = site.url("/private/secret.html");
        let outputs = spider
            .handle(&input(LINKED_URL_INTERNAL, secret.as_str(), 1), &context)
            .await
            .unwrap();
        assert!(outputs.is_empty());
        assert_eq!(site.hits("/private/secret.html"), 0);
        for n in 1..5 {
            let url = site.url(&format!("/page/{n}.html"));
            spider
                .handle(&input(LINKED_URL_INTERNAL, url.as_str(), 1), &context)
                .await
                .unwrap();
        }
        assert_eq!(site.hits("/robots.txt"), 1);
        // Images are never fetched.
        let logo = site.url("/static/logo.png");
        assert!(
            spider
                .handle(&input(LINKED_URL_INTERNAL, logo.as_str(), 1), &context)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(site.hits("/static/logo.png"), 0);
        // Non-HTML text is content without links.
        let js = site.url("/static/app.js");
        let outputs = spider
            .handle(&input(LINKED_URL_INTERNAL, js.as_str(), 1), &context)
            .await
            .unwrap();
        assert_eq!(values(&outputs, TARGET_WEB_CONTENT).len(), 1);
        assert!(values(&outputs, LINKED_URL_EXTERNAL).is_empty());
    }

    #[tokio::test]
    async fn hostile_servers_end_in_clear_errors_or_nothing() {
        let hostile = HostileHttp::start().await;
        let context = loopback(options(Duration::from_millis(1500)));
        let spider = spider();
        let run = |path: &str| {
            let url = hostile.url(path);
            let spider = spider.clone();
            let context = context.clone();
            async move {
                spider
                    .handle(&input(LINKED_URL_INTERNAL, url.as_str(), 0), &context)
                    .await
            }
        };
        // robots.txt there is a 1 GiB body: read up to its cap, then the page.
        let started = Instant::now();
        let garbage = run("/garbage").await.unwrap();
        assert_eq!(values(&garbage, TARGET_WEB_CONTENT).len(), 1);
        assert!(started.elapsed() < Duration::from_secs(5));

        let huge = run("/huge").await.unwrap();
        let content = &values(&huge, TARGET_WEB_CONTENT)[0];
        assert!(content.len() <= MAX_CONTENT_BYTES);

        let error = run("/slow").await.unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        let error = run("/loop").await.unwrap_err();
        assert!(error.to_string().contains("redirects"), "{error}");
        let error = run("/metadata").await.unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
        let error = run("/headers").await.unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
        let error = spider
            .handle(
                &input(LINKED_URL_INTERNAL, "file:///etc/passwd", 0),
                &context,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");

        let guarded = public_only(options(Duration::from_secs(2)));
        let error = spider
            .handle(
                &input(LINKED_URL_INTERNAL, hostile.url("/ok").as_str(), 0),
                &guarded,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
    }

    /// Spiders the whole generated site the way the runtime would (breadth first, de-duplicated,
    /// 32 calls at a time) and reports pages per second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_whole_site_is_spidered_with_32_concurrent_calls() {
        let spec = SiteSpec::default();
        let deepest = (0..spec.pages).map(|n| page_depth(&spec, n)).max().unwrap();
        let site = HttpSite::start(spec.clone()).await;
        let context = loopback(ScanOptions {
            max_depth: deepest + 1,
            ..options(Duration::from_secs(10))
        });
        let spider = spider();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::new();
        let root = site.base_url().to_string();
        seen.insert(root.clone());
        queue.push_back((root, 0u32));
        let mut running = tokio::task::JoinSet::new();
        let mut pages = 0usize;
        let started = Instant::now();
        loop {
            while running.len() < 32 {
                let Some((url, depth)) = queue.pop_front() else {
                    break;
                };
                let spider = spider.clone();
                let context = context.clone();
                running.spawn(async move {
                    let outputs = spider
                        .handle(&input(LINKED_URL_INTERNAL, url, depth), &context)
                        .await
                        .unwrap();
                    (outputs, depth)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (outputs, depth) = done.unwrap();
            if outputs.iter().any(|o| o.kind == TARGET_WEB_CONTENT) {
                pages += 1;
            }
            for link in values(&outputs, LINKED_URL_INTERNAL) {
                if seen.insert(link.clone()) {
                    queue.push_back((link, depth + 1));
                }
            }
        }
        let elapsed = started.elapsed();
        for n in 0..spec.pages {
            let path = crate::testing::http_site::page_path(n);
            assert_eq!(site.hits(&path), 1, "page {path} fetched once");
        }
        assert_eq!(site.hits("/private/secret.html"), 0);
        assert_eq!(site.hits("/robots.txt"), 1);
        println!(
            "web_spider: {pages} pages in {:.2?} = {:.0} pages/s (32 concurrent calls)",
            elapsed,
            pages as f64 / elapsed.as_secs_f64()
        );
        assert!(pages >= spec.pages);
    }
}
