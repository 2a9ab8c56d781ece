//! The shapes of the extractors' inputs: a web page (`<url>\n<content>`) and a response head
//! (`<url>\n<name>: <value>\n...`).

use url::Url;

/// A `TARGET_WEB_CONTENT` value split into the page's URL and its content.
pub(crate) struct Page<'a> {
    /// The page URL when the first line is an absolute http(s) URL.
    pub url: Option<Url>,
    pub body: &'a str,
}

impl<'a> Page<'a> {
    /// Splits `value` at its first line break. A value whose first line is not a URL is all
    /// body.
    pub fn parse(value: &'a str) -> Self {
        let (first, rest) = value.split_once('\n').unwrap_or((value, ""));
        let first = first.trim();
        let url = (first.len() <= 8192)
            .then(|| Url::parse(first).ok())
            .flatten()
            .filter(|url| matches!(url.scheme(), "http" | "https"));
        match url {
            Some(url) => Page {
                url: Some(url),
                body: rest,
            },
            None => Page {
                url: None,
                body: value,
            },
        }
    }

    /// The page URL as text, or "" when unknown (for evidence).
    pub fn url_text(&self) -> &str {
        self.url.as_ref().map_or("", Url::as_str)
    }
}

/// The header lines of a `WEBSERVER_HTTPHEADERS` value as (name, value) pairs; the first line
/// (the URL) and lines without a colon are skipped.
pub(crate) fn headers(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.lines().skip(1).filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (!name.is_empty() && !name.contains(' ')).then_some((name, value.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_its_url_line_and_its_body() {
        let page = Page::parse("https://example.com/a\n<html>x</html>\nmore");
        assert_eq!(page.url.unwrap().as_str(), "https://example.com/a");
        assert_eq!(page.body, "<html>x</html>\nmore");
        let page = Page::parse("no url here\nbody");
        assert!(page.url.is_none());
        assert_eq!(page.body, "no url here\nbody");
        let page = Page::parse("ftp://example.com/\nbody");
        assert!(page.url.is_none());
        assert_eq!(Page::parse("").body, "");
    }

    #[test]
    fn header_lines_are_split_at_the_first_colon() {
        let value = "https://example.com/\nServer: nginx/1.25\nLocation: https://a.example.com/x\n\
                     garbage line\nBad Name: x\n";
        let pairs: Vec<_> = headers(value).collect();
        assert_eq!(
            pairs,
            vec![
                ("Server", "nginx/1.25"),
                ("Location", "https://a.example.com/x")
            ]
        );
    }
}
