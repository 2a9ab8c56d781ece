//! `interesting_files`: internal URLs that point at documents, backups, archives, keys and
//! configuration files (`.bak`, `.sql`, `.env`, `.git/config`, `.pdf`, ...). Passive: it reads
//! the URL, never fetches it.

use std::sync::Arc;

use async_trait::async_trait;
use domain::scan::types::{INTERESTING_FILE, LINKED_URL_INTERNAL};

use super::parse_web_url;
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "interesting_files",
    name: "Interesting files",
    description: "Reports internal URLs whose path ends like a document, backup, archive, key \
                  or configuration file.",
    version: "1.0.0",
    consumes: &[LINKED_URL_INTERNAL],
    produces: &[INTERESTING_FILE],
    passive: true,
    options: &[OptionSpec {
        name: "suffixes",
        kind: OptionKind::StrList,
        default: DEFAULT_SUFFIXES,
        description: "Path endings (case-insensitive) that make a URL interesting.",
    }],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

const DEFAULT_SUFFIXES: &str = r#"[".bak", ".backup", ".old", ".orig", ".save", ".swp", ".tmp", "~",
 ".sql", ".sqlite", ".sqlite3", ".db", ".mdb", ".dump",
 ".zip", ".tar", ".tar.gz", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar",
 ".env", "/.git/config", "/.git/head", "/.svn/entries", "/.htaccess", "/.htpasswd", "/.ds_store",
 "/id_rsa", "/id_dsa", "/wp-config.php.bak", "/web.config",
 ".conf", ".config", ".cfg", ".ini", ".properties", ".yml", ".yaml", ".toml",
 ".key", ".pem", ".crt", ".cer", ".p12", ".pfx", ".jks", ".keystore", ".ovpn", ".kdbx",
 ".log", ".csv", ".tsv",
 ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf",
 ".pst", ".eml", ".msg"]"#;

pub struct InterestingFiles;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(InterestingFiles),
    }
}

#[async_trait]
impl Module for InterestingFiles {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let url = parse_web_url(&input.value)?;
        let path = url.path().to_ascii_lowercase();
        if path.ends_with('/') {
            return Ok(Vec::new());
        }
        let suffixes = context.options.module_strings(&META, "suffixes");
        let matched = suffixes
            .iter()
            .map(|suffix| suffix.trim().to_ascii_lowercase())
            .filter(|suffix| !suffix.is_empty())
            .find(|suffix| path.ends_with(suffix.as_str()));
        Ok(match matched {
            Some(suffix) => vec![
                Output::new(INTERESTING_FILE, url.as_str())
                    .evidence(format!("path ends with {suffix}")),
            ],
            None => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::options::ScanOptions;
    use crate::testing::http_site::{HttpSite, SiteSpec};
    use crate::web::test_support::{input, loopback, options};

    async fn check(context: &crate::module::ModuleContext, url: &str) -> bool {
        !InterestingFiles
            .handle(&input(LINKED_URL_INTERNAL, url, 0), context)
            .await
            .unwrap()
            .is_empty()
    }

    #[tokio::test]
    async fn documents_backups_and_configs_are_interesting_pages_are_not() {
        let context = loopback(options(Duration::from_secs(1)));
        for url in [
            "http://example.com/files/backup.sql",
            "http://example.com/docs/Annual-Report.PDF",
            "http://example.com/.git/config",
            "http://example.com/.env",
            "http://example.com/site.tar.gz?download=1",
            "http://example.com/index.php~",
        ] {
            assert!(check(&context, url).await, "{url}");
        }
        for url in [
            "http://example.com/",
            "http://example.com/page/1.html",
            "http://example.com/env/",
            "http://example.com/search?q=x.sql",
        ] {
            assert!(!check(&context, url).await, "{url}");
        }
        let error = InterestingFiles
            .handle(&input(LINKED_URL_INTERNAL, "not a url", 0), &context)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)));
    }

    #[tokio::test]
    async fn the_suffix_list_is_an_option_and_the_module_never_fetches() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let mut custom = ScanOptions::default();
        custom.module_options.insert(
            "interesting_files".into(),
            [("suffixes".to_owned(), serde_json::json!([".html"]))].into(),
        );
        let context = loopback(custom);
        assert!(check(&context, site.url("/page/1.html").as_str()).await);
        assert!(!check(&context, site.url("/files/backup.sql").as_str()).await);
        assert_eq!(site.total_hits(), 0);
    }
}
