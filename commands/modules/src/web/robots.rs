//! robots.txt (RFC 9309): the rules for one user agent, `Sitemap:` lines and the paths the
//! rules name.
//!
//! Groups are one or more `User-agent` lines followed by rules; the groups naming our agent
//! (`mirage`) apply, else those for `*`, else nothing is disallowed. The longest matching
//! pattern wins, `Allow` on a tie; patterns support `*` and a final `$`. Inputs are capped:
//! at most [`MAX_RULES`] rules and [`MAX_PATTERN_LEN`]-byte patterns are kept.

/// The agent token Mirage's rules are looked up under.
pub const AGENT: &str = "mirage";

/// The most rules kept from one file.
pub const MAX_RULES: usize = 5000;

/// Longer patterns are dropped.
pub const MAX_PATTERN_LEN: usize = 2048;

/// The rules that apply to us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Robots {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    pattern: String,
}

/// Everything a robots.txt says, for every agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RobotsFile {
    /// `Sitemap:` values, as written.
    pub sitemaps: Vec<String>,
    /// The patterns of every `Allow` and `Disallow` line, as written, without repeats.
    pub paths: Vec<String>,
}

impl Robots {
    /// Nothing disallowed (no robots.txt, or an unreadable one).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// The rules of `text` for `agent` (a lower-case product token).
    pub fn parse(text: &str, agent: &str) -> Self {
        let mut ours = Vec::new();
        let mut any = Vec::new();
        // The agents of the current group, and whether its rules have started.
        let mut agents: Vec<String> = Vec::new();
        let mut in_rules = false;
        for (field, value) in lines(text) {
            match field.as_str() {
                "user-agent" => {
                    if in_rules {
                        agents.clear();
                        in_rules = false;
                    }
                    agents.push(value.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_rules = true;
                    if value.is_empty() || value.len() > MAX_PATTERN_LEN {
                        continue;
                    }
                    let rule = Rule {
                        allow: field == "allow",
                        pattern: value.to_owned(),
                    };
                    if agents.iter().any(|a| a == agent) {
                        if ours.len() < MAX_RULES {
                            ours.push(rule);
                        }
                    } else if agents.iter().any(|a| a == "*") && any.len() < MAX_RULES {
                        any.push(rule);
                    }
                }
                _ => {}
            }
        }
        // Groups naming us replace the `*` groups, even when they allow everything.
        let named = text_names_agent(text, agent);
        Self {
            rules: if named { ours } else { any },
        }
    }

    /// Whether `path` (path and query of a URL) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if !pattern_matches(&rule.pattern, path) {
                continue;
            }
            let length = rule.pattern.len();
            best = match best {
                Some((best_length, best_allow))
                    if best_length > length || (best_length == length && best_allow) =>
                {
                    Some((best_length, best_allow))
                }
                _ => Some((length, rule.allow)),
            };
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

impl RobotsFile {
    pub fn parse(text: &str) -> Self {
        let mut file = Self::default();
        let mut seen = std::collections::HashSet::new();
        for (field, value) in lines(text) {
            let list = match field.as_str() {
                "sitemap" => &mut file.sitemaps,
                "allow" | "disallow" => &mut file.paths,
                _ => continue,
            };
            if !value.is_empty()
                && value.len() <= MAX_PATTERN_LEN
                && list.len() < MAX_RULES
                && seen.insert((field == "sitemap", value))
            {
                list.push(value.to_owned());
            }
        }
        file
    }
}

/// `(field in lower case, value)` of every `field: value` line, comments removed.
fn lines(text: &str) -> impl Iterator<Item = (String, &str)> {
    text.lines().filter_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let (field, value) = line.split_once(':')?;
        Some((field.trim().to_ascii_lowercase(), value.trim()))
    })
}

fn text_names_agent(text: &str, agent: &str) -> bool {
    lines(text).any(|(field, value)| field == "user-agent" && value.eq_ignore_ascii_case(agent))
}

/// Whether a robots pattern (`*` any run, final `$` end of path) matches a prefix of `path`,
/// or all of it when anchored. The pieces between `*`s are found leftmost-first, which is
/// exact for `*`-only patterns and linear in the lengths.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(stripped) => (stripped, true),
        None => (pattern, false),
    };
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return !anchored || rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    if anchored {
        rest.ends_with(last)
    } else {
        rest.contains(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# comment\nUser-agent: BadBot\nDisallow: /\n\nUser-agent: *\nUser-agent: other\nDisallow: /private/\nAllow: /private/open\nDisallow: /*.bak$\nDisallow:\nAllow: /public/ # trailing\n\nSitemap: http://example.com/sitemap.xml\nsitemap: /relative.xml\n";

    #[test]
    fn the_star_group_applies_longest_match_wins() {
        let robots = Robots::parse(TEXT, AGENT);
        assert!(robots.allows("/"));
        assert!(robots.allows("/page/1.html"));
        assert!(!robots.allows("/private/"));
        assert!(!robots.allows("/private/x.html"));
        assert!(robots.allows("/private/open/x"));
        assert!(!robots.allows("/db/dump.bak"));
        assert!(robots.allows("/db/dump.bak.txt"));
    }

    #[test]
    fn a_group_naming_mirage_replaces_the_star_group() {
        let text = "User-agent: *\nDisallow: /\n\nUser-agent: Mirage\nDisallow: /admin\n";
        let robots = Robots::parse(text, AGENT);
        assert!(robots.allows("/index.html"));
        assert!(!robots.allows("/admin/x"));
        let empty = "User-agent: *\nDisallow: /\nUser-agent: mirage\nAllow: /\n";
        // Consecutive agent lines share a group only before any rule.
        assert!(Robots::parse(empty, AGENT).allows("/x"));
    }

    #[test]
    fn the_file_lists_sitemaps_and_paths() {
        let file = RobotsFile::parse(TEXT);
        assert_eq!(
            file.sitemaps,
            vec!["http://example.com/sitemap.xml", "/relative.xml"]
        );
        assert_eq!(
            file.paths,
            vec!["/", "/private/", "/private/open", "/*.bak$", "/public/"]
        );
    }

    #[test]
    fn patterns_are_fast_and_never_panic() {
        assert!(pattern_matches("/a*b*c", "/axxbyyc"));
        assert!(pattern_matches("*", ""));
        assert!(!pattern_matches("/a*b$", "/axxbc"));
        assert!(pattern_matches("/a*b$", "/axxbcb"));
        let long_path = "a".repeat(100_000);
        let pattern = format!("{}b", "*a".repeat(1000));
        assert!(!pattern_matches(&pattern, &long_path));
        let garbage =
            String::from_utf8_lossy(&[0xff, b':', 0, b'\n', b'D', b':', 0xfe]).into_owned();
        assert!(Robots::parse(&garbage, AGENT).allows("/"));
    }
}
