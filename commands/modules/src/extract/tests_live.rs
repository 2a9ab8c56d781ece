//! The extractors on a page served by a real HTTP server on loopback, and their throughput on
//! generated pages.

use std::collections::BTreeSet;
use std::time::Instant;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use domain::scan::types;

use super::test_support::{context, input, scope};
use super::{MAX_OUTPUTS, modules};
use crate::module::Output;

const PAGE: &str = r#"<!doctype html>
<html><head>
<meta name="generator" content="WordPress 6.4.2">
<meta name="google-site-verification" content="abcDEF123_-xyz456789">
<link rel="stylesheet" href="/wp-content/themes/site/style.css">
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="/static/app.js"></script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-AB12CD34EF"></script>
<script>gtag('config', 'G-AB12CD34EF'); ga('create', 'UA-1234567-2', 'auto');</script>
</head><body>
<a href="https://blog.example.com/">Blog</a> <a href="https://www.partner.org/">Partner</a>
<p>Contact: <a href="mailto:jane.doe@example.com">Jane</a>, info&#64;example.com,
or our agency at hello@agency.net. Call <a href="tel:+442079460958">+44 20 7946 0958</a>.</p>
<form action="/login" method="post"><input name="u"><input type="password" name="p"></form>
<form action="/upload"><input type="file" name="f"></form>
<p>Checksum: d41d8cd98f00b204e9800998ecf8427e. Tips: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa</p>
<div data-x="eyJ1c2VyIjoiYWRtaW4iLCJyb2xlIjoic3VwZXJ1c2VyIiwiaWQiOjQyfQ=="></div>
</body></html>"#;

async fn page() -> impl IntoResponse {
    (
        [
            (header::SERVER, "nginx/1.25.3"),
            (header::HeaderName::from_static("x-powered-by"), "PHP/8.2.1"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src https://code.jquery.com https://*.googletagmanager.com",
            ),
            (header::SET_COOKIE, "PHPSESSID=abc123; path=/; HttpOnly"),
        ],
        Html(PAGE),
    )
}

/// Serves the page on 127.0.0.1:0; returns its URL.
async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/", get(page)))
            .await
            .unwrap();
    });
    format!("http://{address}/")
}

#[tokio::test]
async fn extractors_find_everything_on_a_served_page() {
    let url = serve().await;
    let response = reqwest::get(&url).await.unwrap();
    let mut head = format!("{url}\n");
    for (name, value) in response.headers() {
        head.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
    }
    let body = response.text().await.unwrap();
    let content = format!("{url}\n{body}");

    let context = context(scope());
    let mut found = BTreeSet::new();
    for entry in modules() {
        let module = (entry.create)();
        for (kind, value) in [
            (types::TARGET_WEB_CONTENT, &content),
            (types::WEBSERVER_HTTPHEADERS, &head),
        ] {
            if !entry.meta.consumes.contains(&kind) {
                continue;
            }
            let outputs = module
                .handle(&input(kind, value.clone()), &context)
                .await
                .unwrap();
            for output in outputs {
                assert!(
                    entry.meta.produces.contains(&output.kind),
                    "{}",
                    entry.meta.id
                );
                found.insert((output.kind, output.value));
            }
        }
    }
    let form = |path: &str| format!("{url}{path}");
    let expected = [
        (types::EMAILADDR, "jane.doe@example.com".to_owned()),
        (types::EMAILADDR_GENERIC, "info@example.com".into()),
        (types::AFFILIATE_EMAILADDR, "hello@agency.net".into()),
        (types::PHONE_NUMBER, "+442079460958".into()),
        (types::INTERNET_NAME, "blog.example.com".into()),
        (types::AFFILIATE_INTERNET_NAME, "www.partner.org".into()),
        (types::AFFILIATE_INTERNET_NAME, "code.jquery.com".into()),
        (
            types::AFFILIATE_INTERNET_NAME,
            "googletagmanager.com".into(),
        ),
        (types::WEBSERVER_TECHNOLOGY, "nginx 1.25.3".into()),
        (types::WEBSERVER_TECHNOLOGY, "PHP 8.2.1".into()),
        (types::WEBSERVER_TECHNOLOGY, "PHP".into()),
        (types::WEBSERVER_TECHNOLOGY, "WordPress 6.4.2".into()),
        (types::WEBSERVER_TECHNOLOGY, "jQuery 3.7.1".into()),
        (types::URL_FORM, form("login")),
        (types::URL_FORM, form("upload")),
        (types::URL_PASSWORD, url.clone()),
        (types::URL_UPLOAD, url.clone()),
        (types::URL_JAVASCRIPT, form("static/app.js")),
        (
            types::URL_JAVASCRIPT,
            "https://code.jquery.com/jquery-3.7.1.min.js".into(),
        ),
        (
            types::WEB_ANALYTICS_ID,
            "Google Analytics: UA-1234567-2".into(),
        ),
        (
            types::WEB_ANALYTICS_ID,
            "Google Analytics 4: G-AB12CD34EF".into(),
        ),
        (
            types::WEB_ANALYTICS_ID,
            "Google Site Verification: abcDEF123_-xyz456789".into(),
        ),
        (types::HASH, "MD5: d41d8cd98f00b204e9800998ecf8427e".into()),
        (
            types::BITCOIN_ADDRESS,
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa".into(),
        ),
        (
            types::BASE64_DATA,
            "eyJ1c2VyIjoiYWRtaW4iLCJyb2xlIjoic3VwZXJ1c2VyIiwiaWQiOjQyfQ== \
             ({\"user\":\"admin\",\"role\":\"superuser\",\"id\":42})"
                .into(),
        ),
    ];
    for (kind, value) in expected {
        assert!(
            found.contains(&(kind, value.clone())),
            "missing {kind} {value}; found {found:#?}"
        );
    }
    // File names are no hosts, and the page's own URL line is not re-reported as a host.
    for (kind, value) in &found {
        assert!(
            !value.ends_with(".js") || kind.starts_with("URL_"),
            "{kind} {value}"
        );
        assert!(!value.starts_with("127.0.0.1"), "{kind} {value}");
    }
}

/// A ~20 KB page mixing markup, inline script and the kinds of values the extractors find.
pub(crate) fn generated_page(n: usize) -> String {
    let mut page = format!(
        "https://www{}.example.com/page/{n}\n<!doctype html><html><head><title>Page {n}</title>\
         <meta name=\"generator\" content=\"Hugo 0.120.{n}\">\
         <script src=\"/js/jquery-3.7.{}.min.js\"></script></head><body>",
        n % 7,
        n % 3
    );
    let mut i = 0;
    while page.len() < 20_000 {
        page.push_str(&format!(
            "<div class=\"card card-{i}\"><h2>Section {i}</h2><p>Lorem ipsum dolor sit amet, \
             consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore \
             magna aliqua. Ut enim ad minim veniam 2024-01-{:02} v1.{i}.3.</p>\
             <a href=\"/article/{n}/{i}?ref=home&amp;p={i}\">Read more</a> \
             <a href=\"https://cdn{i}.partner{n}.net/x\">partner</a>\
             <script>window.dataLayer.push({{event: 'view', id: {i}, value: Math.max(1, {i})}});\
             </script>\n",
            i % 28 + 1
        ));
        if i % 10 == 0 {
            page.push_str(&format!(
                "<p>Mail staff{i}@example.com or sales@example.com, phone +1 415 555 {:04}. \
                 <form action=\"/search\"><input name=q></form> UA-{}-1 \
                 <img src=\"/img/logo@2x.png\"> {:032x}</p>\n",
                i * 7 % 10_000,
                1_000_000 + n,
                n * 1_000 + i
            ));
        }
        i += 1;
    }
    page.push_str("</body></html>");
    page
}

/// Run with `cargo test -p modules --release extractor_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "throughput figure; run in release"]
fn extractor_throughput() {
    let pages: Vec<String> = (0..1_000).map(generated_page).collect();
    let scope = scope();
    let extractors: [(&str, super::Extractor); 7] = [
        ("email_extract", super::email_extract::extract),
        ("phone_extract", super::phone_extract::extract),
        ("hostname_extract", super::hostname_extract::extract),
        ("tech_fingerprint", super::tech_fingerprint::extract),
        ("forms_extract", super::forms_extract::extract),
        ("analytics_ids", super::analytics_ids::extract),
        ("crypto_hashes", super::crypto_hashes::extract),
    ];
    let bytes: usize = pages.iter().map(String::len).sum();
    let mut total_outputs = 0;
    let started = Instant::now();
    for (name, extract) in extractors {
        let one = Instant::now();
        let mut outputs = 0;
        for page in &pages {
            let found: Vec<Output> = extract(types::TARGET_WEB_CONTENT, page, &scope);
            assert!(found.len() <= MAX_OUTPUTS);
            outputs += found.len();
        }
        let seconds = one.elapsed().as_secs_f64();
        println!(
            "{name:>17}: {:>8.0} pages/s ({outputs} findings)",
            pages.len() as f64 / seconds
        );
        total_outputs += outputs;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "all extractors: {:.0} pages/s on one core, {} pages of {} KB average, {total_outputs} findings",
        pages.len() as f64 / seconds,
        pages.len(),
        bytes / pages.len() / 1000
    );
    assert!(total_outputs > 0);
}

#[test]
fn generated_pages_are_about_20_kb_and_yield_findings() {
    let page = generated_page(3);
    assert!((20_000..22_000).contains(&page.len()));
    let outputs = super::email_extract::extract(types::TARGET_WEB_CONTENT, &page, &scope());
    assert!(!outputs.is_empty());
}
