//! A generated web site on loopback (axum), for the web modules, the extractors, end-to-end
//! tests and benchmarks. Pages are generated on request from their number, so a 1,000-page
//! site costs no memory and no disk, and is the same on every run.
//!
//! Layout for `SiteSpec { pages: N, links_per_page: K, domain: D }`:
//! - `/` is page 0, `/page/<n>.html` page `n` (`0 < n < N`). Page `n` links to its children
//!   `K*n+1 ..= K*n+K` (so every page is reachable from `/` within `log_K(N)` levels; see
//!   [`page_depth`]) in four spellings (absolute path, full URL, relative, with a fragment),
//!   to one cross page, back to `/`, to a script, a style sheet and an image, and to two
//!   external sites. Each page has `contact-<n>@D`, the phone `+1 202 555 01NN`
//!   (`NN = n % 100`), a login form with password and upload fields, a script tag, Google
//!   Analytics ids `UA-12345-1` and `G-ABC123XYZ`, host names `api.D` and `mail.D`.
//! - Page 0 also links to `/private/secret.html` (disallowed by robots.txt),
//!   `/files/backup.sql`, `/docs/annual-report.pdf` and `/.git/config`, and carries
//!   `info@D`, an MD5 hash and a bitcoin address.
//! - `/robots.txt` (`Disallow: /private/`, `Allow: /public/`, a `Sitemap:` line),
//!   `/sitemap.xml` (a sitemap index of `/sitemap-pages.xml` and `/sitemap-extra.xml`; the
//!   latter lists `/hidden/only-in-sitemap.html`), `/.well-known/security.txt`.
//! - Every answer has `Server: Apache/2.4.41 (Ubuntu)`, `X-Powered-By: PHP/7.4.3` and the
//!   non-standard `X-Custom-Thing: mirage-test`; pages set the cookies `PHPSESSID` and
//!   `tracking`.
//!
//! The server counts requests per path ([`HttpSite::hits`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use tokio::task::JoinHandle;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSpec {
    pub pages: usize,
    /// Children per page.
    pub links_per_page: usize,
    /// The domain of the e-mail addresses and host names in the pages.
    pub domain: String,
}

impl Default for SiteSpec {
    fn default() -> Self {
        Self {
            pages: 1000,
            links_per_page: 6,
            domain: "example.com".into(),
        }
    }
}

/// The analytics ids on every page.
pub const ANALYTICS_IDS: [&str; 2] = ["UA-12345-1", "G-ABC123XYZ"];

/// The external pages every page links to (`ref/<n % 10>` varies).
pub const EXTERNAL_HOST: &str = "external.example.org";

struct SiteState {
    spec: SiteSpec,
    addr: SocketAddr,
    hits: Mutex<HashMap<String, u32>>,
}

/// A running site; stops when dropped.
pub struct HttpSite {
    state: Arc<SiteState>,
    task: JoinHandle<()>,
}

impl HttpSite {
    pub async fn start(spec: SiteSpec) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(SiteState {
            spec,
            addr,
            hits: Mutex::new(HashMap::new()),
        });
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { state, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.state.addr
    }

    pub fn spec(&self) -> &SiteSpec {
        &self.state.spec
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> url::Url {
        self.url("/")
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.state.addr)).unwrap()
    }

    /// How many times `path` was requested.
    pub fn hits(&self, path: &str) -> u32 {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// How many requests the site answered.
    pub fn total_hits(&self) -> u64 {
        self.state
            .hits
            .lock()
            .unwrap()
            .values()
            .map(|n| u64::from(*n))
            .sum()
    }
}

impl Drop for HttpSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The path of page `n`.
pub fn page_path(n: usize) -> String {
    if n == 0 {
        "/".into()
    } else {
        format!("/page/{n}.html")
    }
}

/// The children page `n` links to.
pub fn children(spec: &SiteSpec, n: usize) -> Vec<usize> {
    let k = spec.links_per_page;
    (k * n + 1..=k * n + k)
        .filter(|c| *c < spec.pages)
        .collect()
}

/// How many links from `/` page `n` is along the child links (page 0 is at depth 0).
pub fn page_depth(spec: &SiteSpec, n: usize) -> u32 {
    let mut depth = 0;
    let mut page = n;
    while page > 0 {
        page = (page - 1) / spec.links_per_page.max(1);
        depth += 1;
    }
    depth
}

async fn handle(State(state): State<Arc<SiteState>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| state.addr.to_string());
    let spec = &state.spec;
    let page_number = if path == "/" || path == "/index.html" {
        Some(0)
    } else {
        path.strip_prefix("/page/")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0 && *n < spec.pages)
    };
    if let Some(n) = page_number {
        return answer(
            StatusCode::OK,
            "text/html; charset=utf-8",
            true,
            page(spec, &host, n),
        );
    }
    let d = &spec.domain;
    match path.as_str() {
        "/robots.txt" => answer(
            StatusCode::OK,
            "text/plain",
            false,
            format!(
                "# robots for the test site\nUser-agent: BadBot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\nAllow: /public/\nDisallow: /tmp/*.bak$\n\nSitemap: http://{host}/sitemap.xml\n"
            ),
        ),
        "/sitemap.xml" => answer(
            StatusCode::OK,
            "application/xml",
            false,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n<sitemap><loc>http://{host}/sitemap-pages.xml</loc></sitemap>\n<sitemap><loc>http://{host}/sitemap-extra.xml</loc></sitemap>\n</sitemapindex>\n"
            ),
        ),
        "/sitemap-pages.xml" => {
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
            );
            for n in 0..spec.pages.min(50) {
                let _ = writeln!(
                    xml,
                    "<url><loc>http://{host}{}</loc><changefreq>weekly</changefreq></url>",
                    page_path(n)
                );
            }
            xml.push_str("</urlset>\n");
            answer(StatusCode::OK, "application/xml", false, xml)
        }
        "/sitemap-extra.xml" => answer(
            StatusCode::OK,
            "application/xml",
            false,
            format!(
                "<?xml version=\"1.0\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n<url><loc>http://{host}/hidden/only-in-sitemap.html</loc></url>\n<url>\n  <loc> https://{EXTERNAL_HOST}/in-sitemap?a=1&amp;b=2 </loc>\n</url>\n</urlset>\n"
            ),
        ),
        "/.well-known/security.txt" => answer(
            StatusCode::OK,
            "text/plain",
            false,
            format!(
                "# security contacts\nContact: mailto:security@{d}\nContact: https://{d}/report-a-vulnerability\nContact: tel:+1-202-555-0100\nExpires: 2030-01-01T00:00:00.000Z\nEncryption: http://{host}/pgp-key.txt\nPolicy: http://{host}/security-policy\nHiring: https://jobs.example.net/security\nPreferred-Languages: en, de\n"
            ),
        ),
        "/private/secret.html" => answer(
            StatusCode::OK,
            "text/html",
            true,
            format!(
                "<html><body>secret <a href=\"/private/deeper.html\">deeper</a> admin@{d}</body></html>"
            ),
        ),
        "/hidden/only-in-sitemap.html" | "/security-policy" | "/login" => answer(
            StatusCode::OK,
            "text/html",
            true,
            format!("<html><body><a href=\"/\">home</a> {path}</body></html>"),
        ),
        "/static/app.js" => answer(
            StatusCode::OK,
            "application/javascript",
            false,
            "var api = 'https://api.example.com/v1'; console.log('app');\n".into(),
        ),
        "/static/site.css" => answer(
            StatusCode::OK,
            "text/css",
            false,
            "body { background: url(/static/logo.png); }\n".into(),
        ),
        "/static/logo.png" => answer_bytes(
            StatusCode::OK,
            "image/png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR<a href=\"/never-parsed\">".to_vec(),
        ),
        "/files/backup.sql" => answer(
            StatusCode::OK,
            "text/plain",
            false,
            "-- MySQL dump\nCREATE TABLE users (id int);\n".into(),
        ),
        "/docs/annual-report.pdf" => answer_bytes(
            StatusCode::OK,
            "application/pdf",
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec(),
        ),
        "/.git/config" => answer(
            StatusCode::OK,
            "text/plain",
            false,
            "[core]\n\trepositoryformatversion = 0\n".into(),
        ),
        _ => answer(
            StatusCode::NOT_FOUND,
            "text/html",
            false,
            "<html><body>not found</body></html>".into(),
        ),
    }
}

fn page(spec: &SiteSpec, host: &str, n: usize) -> String {
    let d = &spec.domain;
    let mut html = String::with_capacity(4096);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Page {n}</title>\n\
         <link rel=\"stylesheet\" href=\"/static/site.css\">\n\
         <script src=\"/static/app.js\"></script>\n\
         <script>\n  window.dataLayer = window.dataLayer || [];\n  gtag('config', '{}');\n  ga('create', '{}', 'auto');\n</script>\n\
         </head><body>\n<h1>Page {n}</h1>\n\
         <p>Write to <a href=\"mailto:contact-{n}@{d}\">contact-{n}@{d}</a> or call +1 202 555 01{:02}.</p>\n\
         <p>Our API lives at api.{d} and mail goes through mail.{d}.</p>\n\
         <img src=\"/static/logo.png\" alt=\"logo\">\n<ul>\n",
        ANALYTICS_IDS[1],
        ANALYTICS_IDS[0],
        n % 100
    );
    for (i, child) in children(spec, n).into_iter().enumerate() {
        let href = match i % 4 {
            0 => format!("/page/{child}.html"),
            1 => format!("http://{host}/page/{child}.html"),
            2 if n == 0 => format!("page/{child}.html"),
            2 => format!("{child}.html"),
            _ => format!("/page/{child}.html#part-2"),
        };
        let _ = writeln!(
            html,
            "<li><a class=\"child\" href=\"{href}\">Page {child}</a></li>"
        );
    }
    let cross = (n * 7 + 3) % spec.pages.max(1);
    let _ = write!(
        html,
        "<li><a href='{}'>Related</a></li>\n<li><a href=/>Home</a></li>\n</ul>\n\
         <a href=\"https://www.example.org/\">Example</a>\n\
         <a HREF=\"https://{EXTERNAL_HOST}/ref/{}\" rel=\"nofollow\">Partner</a>\n\
         <a href=\"javascript:void(0)\">menu</a> <a href=\"tel:+12025550100\">call</a>\n\
         <form action=\"/login\" method=\"post\"><input type=\"text\" name=\"user\">\
         <input type=\"password\" name=\"pass\"><input type=\"file\" name=\"upload\">\
         <button>Sign in</button></form>\n",
        page_path(cross),
        n % 10
    );
    if n == 0 {
        let _ = write!(
            html,
            "<a href=\"/private/secret.html\">staff</a>\n\
             <a href=\"/files/backup.sql\">backup</a> <a href=\"/docs/annual-report.pdf\">report</a>\n\
             <a href=\"/.git/config\">git</a>\n\
             <p>General questions: info@{d}. Build 5d41402abc4b2a76b9719d911017c592.\n\
             Donations: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa</p>\n"
        );
    }
    html.push_str("</body></html>\n");
    html
}

fn answer(status: StatusCode, content_type: &str, cookies: bool, body: String) -> Response {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("server", "Apache/2.4.41 (Ubuntu)")
        .header("x-powered-by", "PHP/7.4.3")
        .header("x-custom-thing", "mirage-test");
    if cookies {
        builder = builder
            .header("set-cookie", "PHPSESSID=abc123; path=/; HttpOnly")
            .header("set-cookie", "tracking=1; path=/; Max-Age=3600");
    }
    builder.body(Body::from(body)).unwrap()
}

fn answer_bytes(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("server", "Apache/2.4.41 (Ubuntu)")
        .header("x-powered-by", "PHP/7.4.3")
        .header("x-custom-thing", "mirage-test")
        .body(Body::from(body))
        .unwrap()
}
