//! The scan's HTTP client: GET only, `http` and `https` only, every address checked by the
//! egress guard.
//!
//! - Host names are resolved through the scan's resolver and filtered by the guard inside a
//!   `reqwest` resolver, so the address dialled is the address checked; IP-literal URLs
//!   (`http://2130706433/`, `http://0x7f.1/`, `http://[::ffff:127.0.0.1]/`, which `url` parses
//!   into canonical addresses) are checked before the request, and the peer address of every
//!   answer is checked again.
//! - Redirects are followed by hand, at most [`MAX_REDIRECTS`] hops, each hop re-checked.
//! - Every hop is bounded in time (connect and total), every body in size: the body is read
//!   chunk by chunk and reading stops at the cap, so a 1 GB answer costs the cap, and a server
//!   dribbling a byte every few seconds ends at the timeout.
//! - Certificates are not verified: reconnaissance still reads sites with bad certificates.
//! - No environment proxies: the proxy would be the address dialled.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::egress::Egress;
use crate::net::NetError;
use crate::net::dns::DnsClient;

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Mirage/", env!("CARGO_PKG_VERSION"));

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Idle keep-alive connections kept per host.
const IDLE_PER_HOST: usize = 32;

/// One answer, after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL that gave this answer (the last redirect target).
    pub url: Url,
    pub status: u16,
    /// In the order received; names lower-case; values decoded lossily.
    pub headers: Vec<(String, String)>,
    /// At most the `max_body` asked for; empty when the body was not wanted.
    pub body: Vec<u8>,
    /// The server had more than `max_body` bytes (or the body was not wanted).
    pub truncated: bool,
    /// The redirect targets followed, in order.
    pub redirects: Vec<Url>,
}

impl Fetched {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (case-insensitive name).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower-case (`text/html`).
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(media_type)
    }

    /// Whether the body is text (`text/*`, XML, JSON, JavaScript); an answer without a
    /// content type counts as text.
    pub fn is_text(&self) -> bool {
        is_text_type(self.header("content-type"))
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `text/html; charset=utf-8` -> `text/html`.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a content type names text worth reading; a missing one counts as text.
pub fn is_text_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let media = media_type(content_type);
    media.is_empty()
        || media.starts_with("text/")
        || media.ends_with("+xml")
        || media.ends_with("/xml")
        || media.ends_with("/json")
        || media.ends_with("+json")
        || media == "application/javascript"
        || media == "application/xhtml+xml"
}

/// Whether a content type is HTML (or missing, which is treated as HTML).
pub fn is_html_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let media = media_type(content_type);
    media.is_empty() || media == "text/html" || media == "application/xhtml+xml"
}

/// Which bodies a fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFilter {
    /// Every body.
    Any,
    /// Text bodies only ([`is_text_type`]); others come back empty and `truncated`.
    Text,
}

/// The scan's HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    egress: Arc<Egress>,
    timeout: Duration,
}

impl HttpClient {
    pub fn new(dns: DnsClient, egress: Arc<Egress>, timeout: Duration) -> Result<Self, NetError> {
        let resolver = GuardedResolver {
            dns,
            egress: egress.clone(),
            timeout,
        };
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .connect_timeout(timeout)
            .timeout(timeout)
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .pool_idle_timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(true)
            .http1_only()
            .build()
            .map_err(|error| NetError::Other(format!("cannot build the HTTP client: {error}")))?;
        Ok(Self {
            client,
            egress,
            timeout,
        })
    }

    /// The time limit of one request (one redirect hop).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs `url`, following redirects, reading at most `max_body` bytes of the final body.
    pub async fn fetch(&self, url: &Url, max_body: usize) -> Result<Fetched, NetError> {
        self.fetch_with(url, max_body, BodyFilter::Any).await
    }

    /// Like [`HttpClient::fetch`], reading the body only when `filter` accepts its type.
    pub async fn fetch_with(
        &self,
        url: &Url,
        max_body: usize,
        filter: BodyFilter,
    ) -> Result<Fetched, NetError> {
        let mut current = url.clone();
        let mut redirects = Vec::new();
        loop {
            self.check_url(&current)?;
            let hop = tokio::time::timeout(self.timeout, self.hop(&current, max_body, filter))
                .await
                .map_err(|_| NetError::Timeout)??;
            match hop {
                Hop::Redirect(location) => {
                    let next = current.join(&location).map_err(|error| {
                        NetError::Protocol(format!(
                            "{current} redirects to an invalid location {:?}: {error}",
                            clip(&location, 200)
                        ))
                    })?;
                    if redirects.len() >= MAX_REDIRECTS {
                        return Err(NetError::Other(format!(
                            "gave up on {url} after {MAX_REDIRECTS} redirects (the next one to {})",
                            clip(next.as_str(), 200)
                        )));
                    }
                    redirects.push(next.clone());
                    current = next;
                }
                Hop::Done(answer) => {
                    return Ok(Fetched {
                        url: current,
                        status: answer.status,
                        headers: answer.headers,
                        body: answer.body,
                        truncated: answer.truncated,
                        redirects,
                    });
                }
            }
        }
    }

    /// Refuses other schemes and IP-literal hosts the egress guard refuses. Host names are
    /// checked after resolution, in [`GuardedResolver`].
    fn check_url(&self, url: &Url) -> Result<(), NetError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NetError::Other(format!(
                "{} URLs are not fetched: {}",
                url.scheme(),
                clip(url.as_str(), 200)
            )));
        }
        match url.host() {
            Some(Host::Ipv4(ip)) => Ok(self.egress.check(IpAddr::V4(ip))?),
            Some(Host::Ipv6(ip)) => Ok(self.egress.check(IpAddr::V6(ip))?),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(NetError::Other(format!(
                "URL without a host: {}",
                clip(url.as_str(), 200)
            ))),
        }
    }

    /// One request: a redirect location or the answer.
    async fn hop(&self, url: &Url, max_body: usize, filter: BodyFilter) -> Result<Hop, NetError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "text/html,application/xhtml+xml,text/*;q=0.9,*/*;q=0.8",
            )
            .send()
            .await
            .map_err(net_error)?;
        // Belt and braces: the peer must be an address the guard allows.
        if let Some(peer) = response.remote_addr() {
            self.egress.check(peer.ip())?;
        }
        let status = response.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308)
            && let Some(location) = response.headers().get(reqwest::header::LOCATION)
        {
            return Ok(Hop::Redirect(
                String::from_utf8_lossy(location.as_bytes()).into_owned(),
            ));
        }
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let wanted = match filter {
            BodyFilter::Any => true,
            BodyFilter::Text => is_text_type(
                headers
                    .iter()
                    .find(|(n, _)| n == "content-type")
                    .map(|(_, v)| v.as_str()),
            ),
        };
        let mut body = Vec::new();
        let mut truncated = !wanted;
        if wanted {
            body.reserve(max_body.min(64 * 1024));
            while let Some(chunk) = response.chunk().await.map_err(net_error)? {
                let room = max_body - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Hop::Done(Answer {
            status,
            headers,
            body,
            truncated,
        }))
    }
}

enum Hop {
    Redirect(String),
    Done(Answer),
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    truncated: bool,
}

/// Resolves host names for `reqwest` through the scan's resolver, keeping only the addresses
/// the egress guard allows.
struct GuardedResolver {
    dns: DnsClient,
    egress: Arc<Egress>,
    timeout: Duration,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let dns = self.dns.clone();
        let egress = self.egress.clone();
        let timeout = self.timeout;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolve_for_connect(&dns, &egress, &host, timeout)
                .await
                .map_err(|error| Box::new(error) as Box<dyn StdError + Send + Sync>)?;
            let addrs: Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|address| SocketAddr::new(address, 0)),
            );
            Ok(addrs)
        })
    }
}

/// The addresses of `host` that may be dialled.
async fn resolve_for_connect(
    dns: &DnsClient,
    egress: &Egress,
    host: &str,
    timeout: Duration,
) -> Result<Vec<IpAddr>, NetError> {
    // The scan's resolver answers only with addresses the guard allows; filter again anyway,
    // this is the one place every HTTP connection goes through.
    let addresses = tokio::time::timeout(timeout, dns.resolve_for_connect(host))
        .await
        .map_err(|_| NetError::Timeout)??;
    let allowed = egress.filter(&addresses)?;
    if allowed.is_empty() {
        return Err(NetError::Io(format!("{host} has no address")));
    }
    Ok(allowed)
}

/// Maps a `reqwest` error, finding the [`NetError`] the resolver returned when there is one.
fn net_error(error: reqwest::Error) -> NetError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
    let mut io = false;
    while let Some(current) = source {
        if let Some(net) = current.downcast_ref::<NetError>() {
            return net.clone();
        }
        if let Some(io_error) = current.downcast_ref::<std::io::Error>() {
            if io_error.kind() == std::io::ErrorKind::TimedOut {
                return NetError::Timeout;
            }
            io = true;
        }
        source = current.source();
    }
    if error.is_timeout() {
        return NetError::Timeout;
    }
    let message = describe(&error);
    if io || error.is_connect() {
        NetError::Io(message)
    } else {
        NetError::Protocol(message)
    }
}

/// An error and its causes, `: `-separated, without the URL reqwest puts in front.
fn describe(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = StdError::source(error);
    while let Some(current) = source {
        let text = current.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = current.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    clip(&parts.join(": "), 500)
}

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::testing::dns_server::{DnsServer, ZoneSpec};
    use crate::testing::hostile_http::HostileHttp;
    use crate::testing::tls_server::{CertSpec, TlsServer};

    fn client(allow: &str, timeout: Duration) -> HttpClient {
        let egress = Arc::new(Egress::parse_allow_list(allow).unwrap());
        let dns = DnsClient::new(Vec::new(), egress.clone(), timeout);
        HttpClient::new(dns, egress, timeout).unwrap()
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[tokio::test]
    async fn public_only_egress_refuses_loopback_in_every_spelling() {
        let server = HostileHttp::start().await;
        let port = server.addr().port();
        let http = client("", Duration::from_secs(5));
        for target in [
            format!("http://127.0.0.1:{port}/ok"),
            format!("http://2130706433:{port}/ok"),
            format!("http://0x7f.1:{port}/ok"),
            format!("http://0177.0.0.1:{port}/ok"),
            format!("http://[::ffff:127.0.0.1]:{port}/ok"),
            format!("http://[::1]:{port}/ok"),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
        ] {
            let error = http.fetch(&url(&target), 1024).await.unwrap_err();
            assert!(matches!(error, NetError::Refused(_)), "{target}: {error:?}");
        }
    }

    #[tokio::test]
    async fn host_names_resolve_through_the_scan_resolver_and_are_filtered() {
        let dns = DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .a("site", "127.0.0.2")
                .a("meta", "169.254.169.254")
                .a("private", "10.1.2.3")
                .a("loop3", "127.0.0.3"),
        ])
        .await;
        let server = HostileHttp::start_on("127.0.0.2").await;
        let port = server.addr().port();
        let egress = Arc::new(Egress::parse_allow_list("127.0.0.1/32,127.0.0.2/32").unwrap());
        let timeout = Duration::from_secs(5);
        let resolver = DnsClient::new(vec![dns.addr], egress.clone(), timeout);
        let http = HttpClient::new(resolver, egress, timeout).unwrap();
        let fetched = http
            .fetch(&url(&format!("http://site.example.test:{port}/ok")), 1024)
            .await
            .unwrap();
        assert_eq!(fetched.status, 200);
        for host in ["meta", "private", "loop3"] {
            let target = format!("http://{host}.example.test:{port}/ok");
            let error = http.fetch(&url(&target), 1024).await.unwrap_err();
            assert!(matches!(error, NetError::Refused(_)), "{target}: {error:?}");
        }
        let error = http
            .fetch(&url(&format!("http://missing.example.test:{port}/")), 1024)
            .await
            .unwrap_err();
        assert!(!matches!(error, NetError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn redirects_to_refused_addresses_are_refused_at_the_hop() {
        // Only the server's own address (127.0.0.2) is allowed: every spelling of 127.0.0.1
        // in a redirect, and the metadata address, must be refused.
        let server = HostileHttp::start_on("127.0.0.2").await;
        let http = client("127.0.0.2/32", Duration::from_secs(5));
        assert_eq!(
            http.fetch(&server.url("/ok"), 1024).await.unwrap().status,
            200
        );
        for path in ["/decimal", "/hex", "/mapped", "/metadata"] {
            let error = http.fetch(&server.url(path), 1024).await.unwrap_err();
            assert!(matches!(error, NetError::Refused(_)), "{path}: {error:?}");
        }
        // With all of loopback allowed, the metadata address is still refused, and the
        // decimal and hex spellings are read as the loopback address they are.
        let server = HostileHttp::start().await;
        let http = client("127.0.0.0/8,::1/128", Duration::from_secs(5));
        let error = http
            .fetch(&server.url("/metadata"), 1024)
            .await
            .unwrap_err();
        assert!(matches!(error, NetError::Refused(_)), "{error:?}");
        for path in ["/decimal", "/hex"] {
            let fetched = http.fetch(&server.url(path), 1024).await.unwrap();
            assert_eq!(fetched.status, 200, "{path}");
            assert_eq!(fetched.url.host_str(), Some("127.0.0.1"));
            assert_eq!(fetched.redirects.len(), 1);
        }
    }

    #[tokio::test]
    async fn redirects_are_capped_at_five_hops() {
        let server = HostileHttp::start().await;
        let http = client("127.0.0.0/8", Duration::from_secs(5));
        let fetched = http.fetch(&server.url("/hop/5"), 1024).await.unwrap();
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.redirects.len(), 5);
        assert_eq!(fetched.url, server.url("/hop/0"));
        for path in ["/hop/6", "/loop"] {
            let error = http.fetch(&server.url(path), 1024).await.unwrap_err();
            assert!(
                matches!(&error, NetError::Other(m) if m.contains("after 5 redirects")),
                "{path}: {error:?}"
            );
        }
        let error = http.fetch(&server.url("/file"), 1024).await.unwrap_err();
        assert!(
            error.to_string().contains("file URLs are not fetched"),
            "{error}"
        );
        // A redirect status without a location is an answer like any other.
        let fetched = http.fetch(&server.url("/no-location"), 1024).await.unwrap();
        assert_eq!(fetched.status, 302);
    }

    #[tokio::test]
    async fn a_1gb_body_is_cut_at_the_cap_quickly() {
        let server = HostileHttp::start().await;
        let http = client("127.0.0.0/8", Duration::from_secs(10));
        let started = Instant::now();
        let fetched = http.fetch(&server.url("/huge"), 1 << 20).await.unwrap();
        assert_eq!(fetched.body.len(), 1 << 20);
        assert!(fetched.truncated);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // A body of exactly the cap is not truncated; one byte less is.
        let fetched = http.fetch(&server.url("/ok"), 1 << 20).await.unwrap();
        let size = fetched.body.len();
        assert!(!fetched.truncated);
        let exact = http.fetch(&server.url("/ok"), size).await.unwrap();
        assert!(!exact.truncated);
        let short = http.fetch(&server.url("/ok"), size - 1).await.unwrap();
        assert!(short.truncated);
        assert_eq!(short.body.len(), size - 1);
        // Non-text bodies can be skipped.
        let skipped = http
            .fetch_with(&server.url("/huge"), 1 << 20, BodyFilter::Text)
            .await
            .unwrap();
        assert_eq!(skipped.body.len(), 1 << 20, "text/plain is text");
    }

    #[tokio::test]
    async fn slow_and_silent_servers_end_at_the_timeout() {
        let server = HostileHttp::start().await;
        let http = client("127.0.0.0/8", Duration::from_millis(1000));
        for path in ["/slow", "/slow-head", "/stall"] {
            let started = Instant::now();
            let error = http.fetch(&server.url(path), 1 << 20).await.unwrap_err();
            assert_eq!(error, NetError::Timeout, "{path}");
            let elapsed = started.elapsed();
            assert!(
                elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
                "{path}: {elapsed:?}"
            );
        }
    }

    #[tokio::test]
    async fn garbage_answers_are_errors_or_bytes_never_panics() {
        let server = HostileHttp::start().await;
        let http = client("127.0.0.0/8", Duration::from_secs(5));
        let fetched = http.fetch(&server.url("/garbage"), 1 << 20).await.unwrap();
        assert_eq!(fetched.body.len(), 64 * 1024);
        assert!(fetched.is_text());
        let _ = fetched.text();
        for path in ["/headers", "/bad-status", "/not-http"] {
            let error = http.fetch(&server.url(path), 1 << 20).await.unwrap_err();
            assert!(matches!(error, NetError::Protocol(_)), "{path}: {error:?}");
        }
        // Nothing listening: an I/O error.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let error = http
            .fetch(&url(&format!("http://127.0.0.1:{port}/")), 10)
            .await
            .unwrap_err();
        assert!(matches!(error, NetError::Io(_)), "{error:?}");
    }

    #[tokio::test]
    async fn bad_certificates_are_accepted_and_headers_kept() {
        let server = TlsServer::start(CertSpec::for_names(&["not-this-host.example"])).await;
        let http = client("127.0.0.0/8", Duration::from_secs(5));
        let fetched = http
            .fetch(&url(&format!("https://127.0.0.1:{}/", server.port())), 1024)
            .await
            .unwrap();
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.body, b"ok");
        assert_eq!(fetched.header("Content-Length"), Some("2"));
        assert_eq!(USER_AGENT, concat!("Mirage/", env!("CARGO_PKG_VERSION")));
    }
}
