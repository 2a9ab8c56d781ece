//! `dns_bruteforce`: guesses sub-domains of an in-scope domain from a word list
//! (`dns_bruteforce_words.txt`, a few hundred common names, plus `words`), many queries in
//! flight at once.
//!
//! Wildcard-aware: before guessing, it asks for [`WILDCARD_PROBES`] random labels. When they
//! resolve, the domain has a wildcard, and a guessed name whose answer (addresses and CNAME
//! targets) lies within the wildcard's answers is dropped as the wildcard answering.
//! Only domains at scope distance 0 are brute-forced: guessing names of every affiliate
//! domain would be noisy and off-target.

use std::collections::BTreeSet;

use async_trait::async_trait;
use domain::scan::normalise::host_name;
use domain::scan::types::{DOMAIN_NAME, INTERNET_NAME};
use futures::StreamExt;

use super::input_host;
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::NetError;
use crate::net::dns::{Answer, DnsClient, MAX_IN_FLIGHT, RData, RecordType, name_text};

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_bruteforce",
    name: "DNS brute force",
    description: "Guesses sub-domains of in-scope domains from a built-in list of common names plus the words option, detecting wildcard domains so their catch-all answers are not reported.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME],
    produces: &[INTERNET_NAME],
    passive: false,
    options: &[
        OptionSpec {
            name: "words",
            kind: OptionKind::StrList,
            default: "[]",
            description: "Extra sub-domain labels to try, besides the built-in list.",
        },
        OptionSpec {
            name: "wordlist_size",
            kind: OptionKind::Int,
            default: "1000",
            description: "How many words of the built-in list to try, most common first (0 for none).",
        },
        OptionSpec {
            name: "concurrency",
            kind: OptionKind::Int,
            default: "256",
            description: "Queries in flight at once (1 to 512).",
        },
    ],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The built-in word list, most common first.
pub const BUILTIN_WORDS: &str = include_str!("dns_bruteforce_words.txt");

/// Random labels asked to detect a wildcard.
pub const WILDCARD_PROBES: usize = 3;

/// Words tried per domain at most.
pub const MAX_WORDS: usize = 100_000;

pub struct DnsBruteforce;

#[async_trait]
impl Module for DnsBruteforce {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let domain = input_host(&input.value)?;
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        let options = &context.options;
        let builtin = options
            .module_int(&META, "wordlist_size")
            .and_then(|size| usize::try_from(size).ok())
            .unwrap_or(0);
        let extra = options.module_strings(&META, "words");
        let concurrency = options
            .module_int(&META, "concurrency")
            .and_then(|value| usize::try_from(value).ok())
            .unwrap_or(256)
            .clamp(1, MAX_IN_FLIGHT);
        let names = candidate_names(&domain, builtin, &extra);
        let dns = &context.net.dns;

        let wildcard = wildcard_answers(dns, &domain).await?;
        let results: Vec<Result<Option<Output>, NetError>> = futures::stream::iter(names)
            .map(|name| guess(dns, name, &wildcard))
            .buffer_unordered(concurrency)
            .collect()
            .await;

        let mut outputs = Vec::new();
        let mut failures = 0usize;
        let mut first_error = None;
        let total = results.len();
        for result in results {
            match result {
                Ok(found) => outputs.extend(found),
                Err(error) => {
                    failures += 1;
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            if failures == total {
                return Err(error.into());
            }
            tracing::debug!(%domain, failures, total, %error, "some brute-force queries failed");
        }
        Ok(outputs)
    }
}

/// `<word>.<domain>` for the first `builtin` built-in words and the extra words, valid and
/// without repeats, at most [`MAX_WORDS`].
fn candidate_names(domain: &str, builtin: usize, extra: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    BUILTIN_WORDS
        .lines()
        .map(str::trim)
        .filter(|word| !word.is_empty() && !word.starts_with('#'))
        .take(builtin)
        .chain(extra.iter().map(|word| word.trim()))
        .filter_map(|word| host_name(&format!("{}.{domain}", word.trim_end_matches('.'))))
        .filter(|name| seen.insert(name.clone()))
        .take(MAX_WORDS)
        .collect()
}

/// What an answer points at: its addresses and CNAME targets.
fn signature(answer: &Answer) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = answer
        .addresses()
        .into_iter()
        .map(|ip| ip.to_string())
        .collect();
    for record in answer.records_of(RecordType::CNAME) {
        if let RData::CNAME(target) = &record.data {
            found.insert(name_text(&target.0));
        }
    }
    found
}

/// The answers random names under `domain` get: empty when there is no wildcard.
async fn wildcard_answers(dns: &DnsClient, domain: &str) -> Result<BTreeSet<String>, NetError> {
    let mut answers = BTreeSet::new();
    for _ in 0..WILDCARD_PROBES {
        let label: String = (0..16)
            .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
            .collect();
        let answer = dns
            .query(&format!("{label}.{domain}"), RecordType::A)
            .await?;
        answers.extend(signature(&answer));
    }
    Ok(answers)
}

/// Asks for one guessed name; a finding when it exists and is not the wildcard answering.
async fn guess(
    dns: &DnsClient,
    name: String,
    wildcard: &BTreeSet<String>,
) -> Result<Option<Output>, NetError> {
    let answer = dns.query(&name, RecordType::A).await?;
    let found = signature(&answer);
    if found.is_empty() {
        return Ok(None);
    }
    if !wildcard.is_empty() && found.is_subset(wildcard) {
        return Ok(None);
    }
    Ok(Some(
        Output::new(INTERNET_NAME, name).evidence(answer.evidence()),
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;
    use crate::dns::test_support::{context, input, options, refusing_context, values};
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec, bench_words};

    fn with_options(
        resolver: std::net::SocketAddr,
        settings: serde_json::Value,
    ) -> crate::ModuleContext {
        let mut options = options(resolver);
        options.module_options.insert(
            META.id.to_owned(),
            serde_json::from_value(settings).unwrap(),
        );
        context(options)
    }

    #[tokio::test]
    async fn common_names_and_extra_words_are_found() {
        let server = DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .a("www", "192.0.2.1")
                .a("mail", "192.0.2.2")
                .cname("shop", "www")
                .a("zz-secret", "192.0.2.3")
                .txt("onlytext", "no address"),
        ])
        .await;
        let context = with_options(
            server.addr,
            json!({"words": ["zz-secret", "onlytext", "bad label!"]}),
        );
        let outputs = DnsBruteforce
            .handle(&input(DOMAIN_NAME, "example.test"), &context)
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, INTERNET_NAME),
            vec![
                "mail.example.test",
                "shop.example.test",
                "www.example.test",
                "zz-secret.example.test"
            ]
        );
    }

    #[tokio::test]
    async fn a_wildcard_domain_yields_only_its_real_names() {
        let server = DnsServer::start(vec![
            ZoneSpec::new("wild.test")
                .a("*", "192.0.2.99")
                .a("www", "192.0.2.1")
                .a("api", "192.0.2.99")
                .a("api", "192.0.2.5"),
        ])
        .await;
        let outputs = DnsBruteforce
            .handle(
                &input(DOMAIN_NAME, "wild.test"),
                &with_options(server.addr, json!({})),
            )
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, INTERNET_NAME),
            vec!["api.wild.test", "www.wild.test"]
        );
    }

    #[tokio::test]
    async fn affiliate_domains_are_not_brute_forced() {
        let server =
            DnsServer::start(vec![ZoneSpec::new("example.test").a("www", "192.0.2.1")]).await;
        let mut affiliate = input(DOMAIN_NAME, "example.test");
        affiliate.scope_distance = 1;
        let outputs = DnsBruteforce
            .handle(&affiliate, &with_options(server.addr, json!({})))
            .await
            .unwrap();
        assert!(outputs.is_empty());
    }

    #[tokio::test]
    async fn refused_egress_and_garbage_are_errors() {
        let server = DnsServer::start(vec![ZoneSpec::new("example.test")]).await;
        let error = DnsBruteforce
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let hostile = HostileDnsServer::start(Hostile::Garbage).await;
        let error = DnsBruteforce
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &with_options(hostile.addr, json!({"wordlist_size": 5})),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
    }

    /// Every real name of a 10,000-word run is found; names per second against the loopback
    /// server are printed, never asserted (run with `--release --nocapture` for the figure).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn brute_force_throughput() {
        let words = bench_words(10_000);
        let (zone, existing) = ZoneSpec::generated("bench.test", &words, 10);
        let server = DnsServer::start(vec![zone]).await;
        let context = with_options(
            server.addr,
            json!({"words": words, "wordlist_size": 0, "concurrency": 256}),
        );
        let started = Instant::now();
        let outputs = DnsBruteforce
            .handle(&input(DOMAIN_NAME, "bench.test"), &context)
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let rate = words.len() as f64 / elapsed.as_secs_f64();
        println!(
            "dns_bruteforce: {} names in {:.2?} = {rate:.0} names/s, {} found",
            words.len(),
            elapsed,
            outputs.len()
        );
        let mut expected = existing;
        expected.sort();
        assert_eq!(values(&outputs, INTERNET_NAME), expected);
    }
}
