//! Links in HTML: the values of `href`, `src` and `action` attributes, resolved against the
//! page URL (or its `<base href>`), http(s) only, fragments dropped, each once.
//!
//! A byte scanner, not an HTML parser: it looks for `href=`, `src=` and `action=` after
//! whitespace, in any case, with double, single or no quotes. It reads every byte once, so a
//! 2 MiB page costs a few milliseconds, and garbage (NUL bytes, invalid UTF-8 replaced,
//! unterminated quotes) just yields fewer links.

use std::collections::HashSet;

use url::Url;

/// Attribute values longer than this are not URLs worth following.
const MAX_VALUE_LEN: usize = 4096;

const ATTRIBUTES: [&[u8]; 3] = [b"href", b"src", b"action"];

/// The links of `html` (a page at `page`), in order of appearance, at most `max`.
pub fn extract_links(html: &str, page: &Url, max: usize) -> Vec<Url> {
    let base = base_href(html)
        .and_then(|href| page.join(&decode_entities(href)).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .unwrap_or_else(|| page.clone());
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for value in attribute_values(html, &ATTRIBUTES) {
        if links.len() >= max {
            break;
        }
        let Some(url) = resolve(&base, value) else {
            continue;
        };
        if seen.insert(url.as_str().to_owned()) {
            links.push(url);
        }
    }
    links
}

/// `value` resolved against `base`: http(s) only, without fragment.
pub fn resolve(base: &Url, value: &str) -> Option<Url> {
    let value = value.trim();
    if value.is_empty() || value.starts_with('#') || value.len() > MAX_VALUE_LEN {
        return None;
    }
    let decoded = decode_entities(value);
    let lower = decoded.get(..11).unwrap_or(&decoded).to_ascii_lowercase();
    if ["javascript:", "mailto:", "tel:", "data:", "about:", "blob:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        return None;
    }
    let mut url = base.join(&decoded).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_fragment(None);
    Some(url)
}

/// The raw values of the attributes named in `names` (lower-case), in order.
pub fn attribute_values<'a>(html: &'a str, names: &[&[u8]]) -> Vec<&'a str> {
    let bytes = html.as_bytes();
    let mut values = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i + 1;
        let Some(name_len) = names
            .iter()
            .find(|name| starts_with_ignore_case(&bytes[start.min(bytes.len())..], name))
            .map(|name| name.len())
        else {
            i += 1;
            continue;
        };
        let mut j = skip_spaces(bytes, start + name_len);
        if bytes.get(j) != Some(&b'=') {
            i = start + name_len;
            continue;
        }
        j = skip_spaces(bytes, j + 1);
        let (from, to, next) = match bytes.get(j) {
            Some(quote @ (b'"' | b'\'')) => {
                let from = j + 1;
                let Some(length) = bytes[from..].iter().position(|b| b == quote) else {
                    // An unterminated quote: nothing after it is an attribute value.
                    break;
                };
                (from, from + length, from + length + 1)
            }
            Some(_) => {
                let length = bytes[j..]
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'>')
                    .unwrap_or(bytes.len() - j);
                (j, j + length, j + length)
            }
            None => break,
        };
        if to - from <= MAX_VALUE_LEN
            && let Some(value) = html.get(from..to)
        {
            values.push(value);
        }
        i = next;
    }
    values
}

/// The `href` of the first `<base>` tag.
fn base_href(html: &str) -> Option<&str> {
    let bytes = html.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|b| *b == b'<') {
        let at = from + offset + 1;
        let rest = &bytes[at..];
        if starts_with_ignore_case(rest, b"base")
            && rest.get(4).is_some_and(|b| b.is_ascii_whitespace())
        {
            let end = rest.iter().position(|b| *b == b'>').unwrap_or(rest.len());
            let tag = html.get(at..at + end)?;
            return attribute_values(tag, &[b"href"]).into_iter().next();
        }
        // Only the head is worth searching.
        if starts_with_ignore_case(rest, b"body") {
            return None;
        }
        from = at;
    }
    None
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Decodes the character references URLs in attributes carry (`&amp;`, `&#47;`, `&#x2F;`,
/// `&quot;`...); unknown ones stay as they are.
pub fn decode_entities(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains('&') {
        return value.into();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|end| *end <= 10);
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "sol" => Some('/'),
        "colon" => Some(':'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|c| !c.is_control())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(html: &str) -> Vec<String> {
        let page = Url::parse("http://example.com/dir/page.html").unwrap();
        extract_links(html, &page, 100)
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn attributes_in_every_spelling_resolve_against_the_page() {
        let html = r##"<a href="/a">x</a><a HREF='b.html#top'>y</a>
            <img src=../img/c.png alt=x><form action = "/login?x=1&amp;y=2">
            <a data-href="/not-this">z</a><a href="https://other.org/p#f">o</a>
            <a href="mailto:a@b.c">m</a><a href="javascript:void(0)">j</a><a href="#top">t</a>
            <a href="ftp://files.example.com/">f</a><a href="/a">again</a><a href="//cdn.example.net/x.js">c</a>"##;
        assert_eq!(
            links(html),
            vec![
                "http://example.com/a",
                "http://example.com/dir/b.html",
                "http://example.com/img/c.png",
                "http://example.com/login?x=1&y=2",
                "https://other.org/p",
                "http://cdn.example.net/x.js",
            ]
        );
    }

    #[test]
    fn a_base_tag_changes_the_base() {
        let html = r#"<html><head><base href="https://static.example.com/v2/"></head>
            <body><a href="x.html">x</a></body></html>"#;
        // The base itself is a URL on the page too.
        assert_eq!(
            links(html),
            vec![
                "https://static.example.com/v2/",
                "https://static.example.com/v2/x.html"
            ]
        );
    }

    #[test]
    fn garbage_yields_no_panic_and_few_links() {
        let garbage: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let text = String::from_utf8_lossy(&garbage);
        let _ = links(&text);
        assert!(links(" href=").is_empty());
        assert!(links(" href=\"unterminated").is_empty());
        assert!(links(" href").is_empty());
        assert_eq!(links(" src=x").len(), 1);
        assert_eq!(
            decode_entities("a&amp;b&#47;c&#x2F;&bogus;&"),
            "a&b/c/&bogus;&"
        );
    }

    #[test]
    fn the_cap_is_respected() {
        let html: String = (0..1000).map(|i| format!(" href=/p{i}")).collect();
        let page = Url::parse("http://example.com/").unwrap();
        assert_eq!(extract_links(&html, &page, 10).len(), 10);
    }
}
