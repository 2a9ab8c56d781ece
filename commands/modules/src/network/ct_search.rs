//! `ct_search`: host names under a domain from certificate-transparency logs, through a
//! crt.sh-format search API (`GET <base>/?q=%.<domain>&output=json`).
//!
//! The answer is a JSON array of certificate entries whose `name_value` holds the names, one a
//! line, possibly with `*.` wildcards (stripped here), and whose `common_name` is the subject
//! CN. Other fields are ignored.

use std::collections::BTreeSet;

use async_trait::async_trait;
use domain::scan::normalise::host_name;
use domain::scan::types::{AFFILIATE_INTERNET_NAME, DOMAIN_NAME, INTERNET_NAME};
use serde::Deserialize;
use url::Url;

use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};

pub static META: ModuleMeta = ModuleMeta {
    id: "ct_search",
    name: "Certificate transparency search",
    description: "Searches certificate-transparency logs (crt.sh or options.ctLogUrl, crt.sh JSON format) for certificates issued under a domain and reports the host names they name.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME],
    produces: &[INTERNET_NAME, AFFILIATE_INTERNET_NAME],
    passive: true,
    options: &[
        OptionSpec {
            name: "max_body_bytes",
            kind: OptionKind::Int,
            default: "33554432",
            description: "The largest answer read, in bytes (at most 256 MiB).",
        },
        OptionSpec {
            name: "max_names",
            kind: OptionKind::Int,
            default: "50000",
            description: "The most host names reported per domain.",
        },
    ],
    rate_per_second: 1,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The search API used without `options.ctLogUrl`.
pub const DEFAULT_BASE_URL: &str = "https://crt.sh/";

pub struct CtSearch;

/// One certificate in a crt.sh answer; only the fields read here.
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    name_value: Option<String>,
    #[serde(default)]
    common_name: Option<String>,
}

#[async_trait]
impl Module for CtSearch {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let domain = host_name(&input.value).ok_or_else(|| {
            ModuleError::Failed(format!(
                "{:?} is not a domain name",
                input.value.chars().take(100).collect::<String>()
            ))
        })?;
        let options = &context.options;
        let max_body =
            super::positive_option(options, &META, "max_body_bytes", 32 << 20, 256 << 20) as usize;
        let max_names =
            super::positive_option(options, &META, "max_names", 50_000, 1_000_000) as usize;
        let url = search_url(options.ct_log_url.as_ref(), &domain)?;

        let answer = context.net.http.fetch(&url, max_body).await?;
        if answer.status != 200 {
            let message = format!(
                "certificate-transparency search {url} answered HTTP {}",
                answer.status
            );
            return Err(if answer.status >= 500 || answer.status == 429 {
                ModuleError::Transient(message)
            } else {
                ModuleError::Failed(message)
            });
        }
        if answer.truncated {
            return Err(ModuleError::Failed(format!(
                "certificate-transparency answer from {url} is larger than {max_body} bytes (max_body_bytes)"
            )));
        }
        let names = parse_names(&answer.body, max_names).map_err(|error| {
            ModuleError::Failed(format!(
                "certificate-transparency answer from {url} is not crt.sh JSON: {error}"
            ))
        })?;
        let evidence = format!("certificate-transparency search {url}");
        Ok(names
            .into_iter()
            .map(|name| {
                let kind = if context.scope.contains_host(&name) {
                    INTERNET_NAME
                } else {
                    AFFILIATE_INTERNET_NAME
                };
                Output::new(kind, name).evidence(&evidence)
            })
            .collect())
    }
}

/// `<base>?q=%.<domain>&output=json`, the path of `base` kept.
fn search_url(base: Option<&Url>, domain: &str) -> Result<Url, ModuleError> {
    let mut url = match base {
        Some(base) => base.clone(),
        None => Url::parse(DEFAULT_BASE_URL)
            .map_err(|error| ModuleError::Failed(format!("default CT URL: {error}")))?,
    };
    url.set_fragment(None);
    url.query_pairs_mut()
        .clear()
        .append_pair("q", &format!("%.{domain}"))
        .append_pair("output", "json");
    Ok(url)
}

/// The distinct host names of a crt.sh answer (wildcards stripped), at most `max_names`.
fn parse_names(body: &[u8], max_names: usize) -> Result<BTreeSet<String>, serde_json::Error> {
    let entries: Vec<Entry> = serde_json::from_slice(body)?;
    let mut names = BTreeSet::new();
    let candidates = entries.iter().flat_map(|entry| {
        let listed = entry.name_value.as_deref().unwrap_or_default().split('\n');
        listed.chain(entry.common_name.as_deref())
    });
    for candidate in candidates {
        if names.len() >= max_names {
            break;
        }
        let candidate = candidate.trim();
        let candidate = candidate.strip_prefix("*.").unwrap_or(candidate);
        if let Some(name) = host_name(candidate) {
            names.insert(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::Egress;
    use crate::network::test_support::{context, context_with, input, options};
    use crate::testing::ct_server::{CtServer, cert_entry};

    fn ct_options(server: &CtServer) -> crate::options::ScanOptions {
        let mut scan = options(3000);
        scan.ct_log_url = Some(server.url.clone());
        scan
    }

    fn values(outputs: &[Output]) -> Vec<(&str, &str)> {
        outputs.iter().map(|o| (o.kind, o.value.as_str())).collect()
    }

    #[tokio::test]
    async fn returns_names_with_wildcards_stripped() {
        let server = CtServer::start([(
            "example.test",
            vec![
                cert_entry(
                    1,
                    "example.test",
                    "example.test\n*.example.test\nwww.example.test",
                ),
                cert_entry(
                    2,
                    "mail.example.test",
                    "MAIL.example.test\n*.dev.example.test",
                ),
                cert_entry(3, "cdn.partner.test", "cdn.partner.test\nops@example.test"),
            ],
        )])
        .await;
        let context = context(ct_options(&server), &["example.test"]);
        let outputs = CtSearch
            .handle(&input(DOMAIN_NAME, "Example.test"), &context)
            .await
            .unwrap();
        assert_eq!(
            values(&outputs),
            vec![
                (AFFILIATE_INTERNET_NAME, "cdn.partner.test"),
                (INTERNET_NAME, "dev.example.test"),
                (INTERNET_NAME, "example.test"),
                (INTERNET_NAME, "mail.example.test"),
                (INTERNET_NAME, "www.example.test"),
            ]
        );
        assert_eq!(server.queries(), vec!["%.example.test"]);
    }

    #[tokio::test]
    async fn an_unknown_domain_gives_nothing() {
        let server = CtServer::start([]).await;
        let context = context(ct_options(&server), &["example.test"]);
        let outputs = CtSearch
            .handle(&input(DOMAIN_NAME, "nothing.test"), &context)
            .await
            .unwrap();
        assert!(outputs.is_empty());
    }

    #[tokio::test]
    async fn malformed_json_is_a_clear_failure() {
        let server = CtServer::malformed().await;
        let context = context(ct_options(&server), &[]);
        let error = CtSearch
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ModuleError::Failed(text) if text.contains("not crt.sh JSON")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_huge_answer_is_cut_at_the_cap() {
        let server = CtServer::huge(4 << 20).await;
        let mut scan = ct_options(&server);
        scan.module_options.insert(
            META.id.to_owned(),
            [("max_body_bytes".to_owned(), serde_json::json!(1 << 20))]
                .into_iter()
                .collect(),
        );
        let context = context(scan, &[]);
        let error = CtSearch
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ModuleError::Failed(text) if text.contains("larger than")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn server_errors_are_transient_and_egress_is_enforced() {
        let server = CtServer::failing(503).await;
        let context = context(ct_options(&server), &[]);
        let error = CtSearch
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");

        let public = context_with(ct_options(&server), &[], Egress::public_only());
        let error = CtSearch
            .handle(&input(DOMAIN_NAME, "example.test"), &public)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");
    }

    #[test]
    fn the_search_url_keeps_the_base_path_and_escapes_the_percent() {
        let base = Url::parse("http://127.0.0.1:8081/ct/?old=1#x").unwrap();
        assert_eq!(
            search_url(Some(&base), "example.com").unwrap().as_str(),
            "http://127.0.0.1:8081/ct/?q=%25.example.com&output=json"
        );
        assert_eq!(
            search_url(None, "example.com").unwrap().as_str(),
            "https://crt.sh/?q=%25.example.com&output=json"
        );
    }

    #[test]
    fn names_are_capped_and_garbage_entries_skipped() {
        let body = serde_json::to_vec(&serde_json::json!([
            {"name_value": "a.example.test\nb.example.test\nc.example.test"},
            {"name_value": null, "common_name": 7},
        ]))
        .unwrap();
        assert!(
            parse_names(&body, 2).is_err(),
            "a numeric common_name is malformed"
        );
        let body = br#"[{"name_value": "a.example.test\nb.example.test\nc.example.test\n\n*.\n-bad-.test"}, {}]"#;
        let names = parse_names(body, 2).unwrap();
        assert_eq!(names.len(), 2);
        assert!(parse_names(b"{}", 10).is_err());
        assert!(parse_names(b"", 10).is_err());
    }
}
