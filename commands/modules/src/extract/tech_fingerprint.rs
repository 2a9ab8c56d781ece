//! `tech_fingerprint`: web technologies from response headers and page content.
//!
//! Headers: `Server` and `X-Powered-By` product tokens (`Apache/2.4.57 (Ubuntu)` gives
//! `Apache 2.4.57`), `X-Generator`, `X-AspNet-Version`, vendor headers (`CF-RAY`,
//! `X-Amz-Cf-Id`, `X-Drupal-Cache`, ...) and session cookie names (`PHPSESSID`,
//! `JSESSIONID`, `laravel_session`, ...). Content: `<meta name="generator">` and a table of
//! script/stylesheet/markup signatures, each with an optional version capture.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use domain::scan::{Scope, types};
use regex::bytes::Regex;

use super::findings::Findings;
use super::page::{self, Page};
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "tech_fingerprint",
    name: "Web technology fingerprint",
    description: "Identifies web servers, languages, frameworks, CMSs, CDNs and JavaScript \
                  libraries (with versions when shown) from response headers and page content.",
    version: "1.0.0",
    consumes: &[types::WEBSERVER_HTTPHEADERS, types::TARGET_WEB_CONTENT],
    produces: &[types::WEBSERVER_TECHNOLOGY],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Headers whose mere presence names a technology (lower-case name).
const HEADER_MARKERS: &[(&str, &str)] = &[
    ("cf-ray", "Cloudflare"),
    ("x-amz-cf-id", "Amazon CloudFront"),
    ("x-amz-request-id", "Amazon S3"),
    ("x-drupal-cache", "Drupal"),
    ("x-drupal-dynamic-cache", "Drupal"),
    ("x-github-request-id", "GitHub Pages"),
    ("x-litespeed-cache", "LiteSpeed"),
    ("x-nf-request-id", "Netlify"),
    ("x-shopid", "Shopify"),
    ("x-shopify-stage", "Shopify"),
    ("x-varnish", "Varnish"),
    ("x-vercel-id", "Vercel"),
    ("x-wix-request-id", "Wix"),
];

/// Cookie names (exact, or prefixes ending in `*`) that name a technology.
const COOKIE_MARKERS: &[(&str, &str)] = &[
    ("ASP.NET_SessionId", "ASP.NET"),
    ("AWSALB", "AWS Elastic Load Balancing"),
    ("CAKEPHP", "CakePHP"),
    ("JSESSIONID", "Java"),
    ("PHPSESSID", "PHP"),
    ("PrestaShop-*", "PrestaShop"),
    ("__cf_bm", "Cloudflare"),
    ("_gitlab_session", "GitLab"),
    ("_shopify_*", "Shopify"),
    ("ci_session", "CodeIgniter"),
    ("connect.sid", "Express"),
    ("csrftoken", "Django"),
    ("laravel_session", "Laravel"),
    ("wordpress_*", "WordPress"),
    ("wp-settings-*", "WordPress"),
];

/// Canonical spellings of product names seen in `Server` / `X-Powered-By`.
const PRODUCT_NAMES: &[(&str, &str)] = &[
    ("apache", "Apache"),
    ("caddy", "Caddy"),
    ("cloudflare", "Cloudflare"),
    ("express", "Express"),
    ("gunicorn", "gunicorn"),
    ("jetty", "Jetty"),
    ("kestrel", "Kestrel"),
    ("litespeed", "LiteSpeed"),
    ("microsoft-iis", "Microsoft-IIS"),
    ("nginx", "nginx"),
    ("openresty", "OpenResty"),
    ("openssl", "OpenSSL"),
    ("php", "PHP"),
];

/// Content signatures: a technology and patterns; a pattern's first group is the version.
const CONTENT_SIGNATURES: &[(&str, &[&str])] = &[
    (
        "jQuery",
        &[
            r"(?i-u)jquery[.-]([0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:\.slim)?(?:\.min)?\.js",
            r"(?i-u)/jquery/([0-9]+\.[0-9]+(?:\.[0-9]+)?)/",
            r"(?i-u)jquery@([0-9]+\.[0-9]+(?:\.[0-9]+)?)",
            r"(?i-u)jquery(?:\.min)?\.js\?ver=([0-9]+\.[0-9]+(?:\.[0-9]+)?)",
            r"(?i-u)jquery(?:\.slim)?(?:\.min)?\.js",
        ],
    ),
    (
        "React",
        &[
            r"(?i-u)react(?:-dom)?@([0-9]+\.[0-9]+\.[0-9]+)",
            r"(?i-u)/react(?:-dom)?/([0-9]+\.[0-9]+\.[0-9]+)/",
            r"(?i-u)react(?:-dom)?\.production\.min\.js",
            r"(?-u)data-reactroot",
        ],
    ),
    ("Next.js", &[r"(?-u)/_next/static/", r"(?-u)__NEXT_DATA__"]),
    (
        "Vue.js",
        &[
            r"(?i-u)vue@([0-9]+\.[0-9]+\.[0-9]+)",
            r"(?i-u)/vue/([0-9]+\.[0-9]+\.[0-9]+)/",
            r"(?i-u)/vue(?:\.global)?(?:\.prod)?(?:\.min)?\.js",
            r"(?-u)\sdata-v-[0-9a-f]{8}",
        ],
    ),
    ("Nuxt.js", &[r"(?-u)__NUXT__", r"(?-u)/_nuxt/"]),
    (
        "Angular",
        &[r#"(?-u)ng-version="([0-9]+\.[0-9]+\.[0-9]+)""#],
    ),
    (
        "AngularJS",
        &[
            r"(?i-u)/angularjs/([0-9]+\.[0-9]+\.[0-9]+)/",
            r"(?i-u)/angular(?:\.min)?\.js",
            r"(?-u)\sng-app[\s=>]",
        ],
    ),
    (
        "Bootstrap",
        &[
            r"(?i-u)bootstrap@([0-9]+\.[0-9]+\.[0-9]+)",
            r"(?i-u)/bootstrap/([0-9]+\.[0-9]+\.[0-9]+)/",
            r"(?i-u)bootstrap(?:\.bundle)?(?:\.min)?\.(?:css|js)",
        ],
    ),
    (
        "Font Awesome",
        &[
            r"(?i-u)font-?awesome(?:/|@)([0-9]+\.[0-9]+\.[0-9]+)",
            r"(?i-u)font-?awesome(?:\.min)?\.css",
            r"(?-u)kit\.fontawesome\.com",
        ],
    ),
    (
        "Modernizr",
        &[
            r"(?i-u)modernizr[.-]([0-9]+\.[0-9]+\.[0-9]+)(?:\.min)?\.js",
            r"(?i-u)modernizr(?:\.min)?\.js",
        ],
    ),
    (
        "Lodash",
        &[
            r"(?i-u)lodash@([0-9]+\.[0-9]+\.[0-9]+)",
            r"(?i-u)lodash(?:\.min)?\.js",
        ],
    ),
    ("WordPress", &[r"(?-u)/wp-(?:content|includes)/"]),
    (
        "Drupal",
        &[
            r"(?-u)Drupal\.settings",
            r"(?-u)drupal-settings-json",
            r"(?-u)/sites/(?:default|all)/(?:files|modules|themes)/",
        ],
    ),
    (
        "Joomla",
        &[r"(?-u)/media/jui/", r"(?-u)/components/com_[a-z]"],
    ),
    (
        "Magento",
        &[
            r"(?-u)Mage\.Cookies",
            r"(?-u)/static/version[0-9]+/frontend/",
        ],
    ),
    (
        "Shopify",
        &[r"(?-u)cdn\.shopify\.com", r"(?-u)Shopify\.theme"],
    ),
    ("Wix", &[r"(?-u)static\.wixstatic\.com"]),
    ("Squarespace", &[r"(?-u)static1\.squarespace\.com"]),
    ("Gatsby", &[r"(?-u)___gatsby"]),
    ("SvelteKit", &[r"(?-u)__sveltekit"]),
    ("reCAPTCHA", &[r"(?-u)google\.com/recaptcha/"]),
    ("Cloudflare", &[r"(?-u)/cdn-cgi/"]),
    ("ASP.NET", &[r"(?-u)__VIEWSTATE", r#"(?i-u)\.aspx[?"'#]"#]),
    ("PHP", &[r#"(?i-u)\.php[?"'#]"#]),
];

type CompiledSignatures = Vec<(&'static str, Vec<Regex>)>;

static SIGNATURES: LazyLock<CompiledSignatures> = LazyLock::new(|| {
    CONTENT_SIGNATURES
        .iter()
        .map(|(name, patterns)| {
            (
                *name,
                patterns.iter().filter_map(|p| super::compile(p)).collect(),
            )
        })
        .collect()
});

static META_TAG: LazyLock<Option<Regex>> = LazyLock::new(|| super::compile(r"(?i-u)<meta\s[^>]*>"));

static NAME_GENERATOR: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r#"(?i-u)\bname\s*=\s*["']?generator["'\s/>]"#));

static CONTENT_ATTR: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r#"(?i-u)\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)')"#));

pub struct TechFingerprint;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(TechFingerprint),
    }
}

#[async_trait]
impl Module for TechFingerprint {
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

/// The technologies `value` shows.
pub fn extract(kind: &str, value: &str, _scope: &Scope) -> Vec<Output> {
    let mut findings = Findings::new();
    if kind == types::WEBSERVER_HTTPHEADERS {
        from_headers(value, &mut findings);
    } else {
        let page = Page::parse(value);
        from_content(page.body, page.url_text(), &mut findings);
    }
    findings.into_outputs()
}

fn from_headers(value: &str, findings: &mut Findings) {
    for (name, header) in page::headers(value) {
        if findings.is_full() {
            return;
        }
        let lower = name.to_ascii_lowercase();
        let header = text::prefix(header, 512);
        let evidence = format!("{name}: {header}");
        let mut found = |technology: String| {
            findings.push(
                Output::new(types::WEBSERVER_TECHNOLOGY, technology).evidence(evidence.clone()),
            );
        };
        match lower.as_str() {
            "server" | "x-powered-by" => {
                for product in products(header) {
                    found(product);
                }
            }
            "x-aspnet-version" => found(versioned("ASP.NET", header)),
            "x-aspnetmvc-version" => found(versioned("ASP.NET MVC", header)),
            "x-generator" => {
                if let Some(generator) = clean(header) {
                    found(generator);
                }
            }
            "via" if header.to_ascii_lowercase().contains("varnish") => found("Varnish".into()),
            "x-served-by" if header.starts_with("cache-") => found("Fastly".into()),
            "set-cookie" => {
                let cookie = header.split(['=', ';']).next().unwrap_or("").trim();
                if let Some(technology) = cookie_technology(cookie) {
                    found(technology.into());
                }
            }
            _ => {
                if let Some((_, technology)) = HEADER_MARKERS.iter().find(|(h, _)| *h == lower) {
                    found((*technology).into());
                }
            }
        }
    }
}

/// `Apache/2.4.57 (Ubuntu) OpenSSL/3.0.2` gives `Apache 2.4.57` and `OpenSSL 3.0.2`; comments
/// in parentheses are skipped. At most four products per header.
fn products(header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for word in header.split([' ', ',', ';']) {
        let opens = word.matches('(').count();
        let closes = word.matches(')').count();
        let in_comment = depth > 0 || opens > 0;
        depth = (depth + opens).saturating_sub(closes);
        if in_comment || word.is_empty() || out.len() >= 4 {
            continue;
        }
        if word.len() > 64
            || !word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/+".contains(&b))
        {
            continue;
        }
        let (name, version) = word.split_once('/').unwrap_or((word, ""));
        if name.is_empty() || !name.bytes().any(|b| b.is_ascii_alphabetic()) {
            continue;
        }
        let name = PRODUCT_NAMES
            .iter()
            .find(|(key, _)| name.eq_ignore_ascii_case(key))
            .map_or(name, |(_, canonical)| canonical);
        out.push(versioned(name, version));
    }
    out
}

/// `name version` when `version` starts with a digit, else `name`.
fn versioned(name: &str, version: &str) -> String {
    let version = version.trim();
    if version.starts_with(|c: char| c.is_ascii_digit())
        && version.len() <= 32
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    {
        format!("{name} {version}")
    } else {
        name.to_owned()
    }
}

/// A free-text technology name (generator tags): trimmed, printable, at most 100 characters.
fn clean(value: &str) -> Option<String> {
    let value: String = value
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    (!value.is_empty()).then_some(value)
}

fn cookie_technology(cookie: &str) -> Option<&'static str> {
    COOKIE_MARKERS
        .iter()
        .find(|(marker, _)| match marker.strip_suffix('*') {
            Some(prefix) => cookie.starts_with(prefix),
            None => cookie == *marker,
        })
        .map(|(_, technology)| *technology)
}

fn from_content(body: &str, source: &str, findings: &mut Findings) {
    let bytes = body.as_bytes();
    let evidence = |start, end| format!("{source}: {}", text::snippet(body, start, end, 30));
    if let (Some(meta_tag), Some(generator), Some(content)) = (
        META_TAG.as_ref(),
        NAME_GENERATOR.as_ref(),
        CONTENT_ATTR.as_ref(),
    ) {
        for tag in meta_tag.find_iter(bytes).take(200) {
            if !generator.is_match(tag.as_bytes()) {
                continue;
            }
            let Some(captures) = content.captures(tag.as_bytes()) else {
                continue;
            };
            let value = captures
                .get(1)
                .or_else(|| captures.get(2))
                .and_then(|m| text::utf8(m.as_bytes()))
                .and_then(|v| clean(&text::decode_entities(v)));
            if let Some(value) = value {
                findings.push(
                    Output::new(types::WEBSERVER_TECHNOLOGY, value)
                        .evidence(evidence(tag.start(), tag.end())),
                );
            }
        }
    }
    for (name, patterns) in SIGNATURES.iter() {
        let mut unversioned = None;
        let mut versioned_hit = None;
        for pattern in patterns {
            let Some(captures) = pattern.captures(bytes) else {
                continue;
            };
            let Some(whole) = captures.get(0) else {
                continue;
            };
            match captures.get(1).and_then(|v| text::utf8(v.as_bytes())) {
                Some(version) => {
                    versioned_hit = Some((versioned(name, version), whole.start(), whole.end()));
                    break;
                }
                None => {
                    unversioned.get_or_insert(((*name).to_owned(), whole.start(), whole.end()));
                }
            }
        }
        if let Some((technology, start, end)) = versioned_hit.or(unversioned) {
            findings.push(
                Output::new(types::WEBSERVER_TECHNOLOGY, technology)
                    .confidence(80)
                    .evidence(evidence(start, end)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn technologies(kind: &str, value: &str) -> Vec<String> {
        values(&extract(kind, value, &scope()), types::WEBSERVER_TECHNOLOGY)
    }

    #[test]
    fn headers_name_servers_languages_and_frameworks() {
        let headers = "https://example.com/\n\
                       Server: Apache/2.4.57 (Ubuntu) OpenSSL/3.0.2\n\
                       X-Powered-By: PHP/8.2.1\n\
                       X-AspNet-Version: 4.0.30319\n\
                       X-Generator: Drupal 10 (https://www.drupal.org)\n\
                       CF-RAY: 8a1b2c3d4e5f-AMS\n\
                       Set-Cookie: laravel_session=abc; path=/; httponly\n\
                       Set-Cookie: PHPSESSID=xyz\n\
                       Set-Cookie: wp-settings-time-1=1\n\
                       Via: 1.1 varnish (Varnish/7.1)\n";
        assert_eq!(
            technologies(types::WEBSERVER_HTTPHEADERS, headers),
            [
                "ASP.NET 4.0.30319",
                "Apache 2.4.57",
                "Cloudflare",
                "Drupal 10 (https://www.drupal.org)",
                "Laravel",
                "OpenSSL 3.0.2",
                "PHP",
                "PHP 8.2.1",
                "Varnish",
                "WordPress"
            ]
        );
        assert_eq!(
            technologies(
                types::WEBSERVER_HTTPHEADERS,
                "u\nServer: nginx/1.25.3\nX-Powered-By: Express\n"
            ),
            ["Express", "nginx 1.25.3"]
        );
        assert_eq!(
            technologies(
                types::WEBSERVER_HTTPHEADERS,
                "u\nServer: Microsoft-IIS/10.0\n"
            ),
            ["Microsoft-IIS 10.0"]
        );
    }

    #[test]
    fn odd_header_values_do_not_produce_junk() {
        let headers = format!(
            "u\nServer: (((\nServer: /1.0\nServer: é/1\nX-Powered-By: {}\nServer: a b c d e f g\n\
             X-AspNet-Version: <script>\nX-Generator:   \n",
            "x".repeat(5000)
        );
        assert_eq!(
            technologies(types::WEBSERVER_HTTPHEADERS, &headers),
            ["ASP.NET", "a", "b", "c", "d"]
        );
    }

    #[test]
    fn content_shows_generators_and_libraries_with_versions() {
        let page = "https://example.com/\n<html><head>\
                    <meta content=\"WordPress 6.4.2\" name=\"generator\">\
                    <link rel=stylesheet href=\"/wp-content/themes/x/style.css\">\
                    <script src=\"https://code.jquery.com/jquery-3.7.1.min.js\"></script>\
                    <script src=\"https://unpkg.com/react@18.2.0/umd/react.production.min.js\"></script>\
                    <link href=\"https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css\">\
                    <script src=\"/static/modernizr.js\"></script>\
                    </head><body><app-root ng-version=\"17.0.1\"></app-root>\
                    <form action=\"/login.php?next=1\"></form></body></html>";
        assert_eq!(
            technologies(types::TARGET_WEB_CONTENT, page),
            [
                "Angular 17.0.1",
                "Bootstrap 5.3.2",
                "Modernizr",
                "PHP",
                "React 18.2.0",
                "WordPress",
                "WordPress 6.4.2",
                "jQuery 3.7.1"
            ]
        );
    }

    #[test]
    fn plain_pages_show_nothing() {
        let page = "https://example.com/\n<html><body><p>Hello, I like jQuery and React.</p>\
                    <meta name=\"description\" content=\"x\"><meta name=generator></body></html>";
        assert!(technologies(types::TARGET_WEB_CONTENT, page).is_empty());
    }

    #[test]
    fn patterns_compile() {
        for ((name, patterns), (_, compiled)) in CONTENT_SIGNATURES.iter().zip(SIGNATURES.iter()) {
            assert_eq!(patterns.len(), compiled.len(), "{name}");
        }
        assert!(META_TAG.is_some() && NAME_GENERATOR.is_some() && CONTENT_ATTR.is_some());
    }
}
