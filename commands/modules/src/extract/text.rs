//! Small text helpers the extractors share: char-boundary-safe cuts, evidence snippets, HTML
//! attribute decoding.

use std::borrow::Cow;

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text[start..end]` widened by up to `margin` bytes each side, on char boundaries, with line
/// breaks flattened: the evidence for a match.
pub(crate) fn snippet(text: &str, start: usize, end: usize, margin: usize) -> String {
    let mut from = start.saturating_sub(margin).min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = end.saturating_add(margin).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    text[from..to]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `bytes` as text when it is valid UTF-8.
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Decodes the HTML character references found in attribute values and obfuscated e-mail
/// addresses: `&amp;`, `&quot;`, `&apos;`, `&lt;`, `&gt;`, `&commat;`, `&period;`, `&#NN;` and
/// `&#xHH;`. Anything else is left as it is.
pub(crate) fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(semi) = rest.as_bytes().iter().take(12).position(|&b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let decoded = match name {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "commat" => Some('@'),
            "period" => Some('.'),
            _ => name.strip_prefix('#').and_then(|number| {
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code).filter(|c| *c != '\0')
            }),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_respect_char_boundaries() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("héllo", 3), "hé");
        assert_eq!(prefix("abc", 10), "abc");
        assert_eq!(snippet("ééé x ééé", 7, 8, 3), "é x é");
        assert_eq!(snippet("a\nb", 0, 3, 10), "a b");
        assert_eq!(snippet("abc", 5, 9, 2), "");
    }

    #[test]
    fn entities_are_decoded_and_broken_ones_kept() {
        assert_eq!(
            decode_entities("a&amp;b &#64; &#x40; &commat;"),
            "a&b @ @ @"
        );
        assert_eq!(
            decode_entities("&bogus; & &#xZZ; &#0; &"),
            "&bogus; & &#xZZ; &#0; &"
        );
        assert_eq!(decode_entities("&#1114112;"), "&#1114112;");
        assert_eq!(decode_entities("é&#233;"), "éé");
    }
}
