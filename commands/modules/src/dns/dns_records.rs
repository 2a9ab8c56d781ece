//! `dns_records`: a domain's MX, NS, TXT, SOA and CAA records. Mail exchangers and name
//! servers become provider findings, TXT records text findings (SPF ones also `DNS_SPF`),
//! SOA and CAA records raw records (`name TYPE data`, without the TTL so repeated answers
//! are one finding).

use async_trait::async_trait;
use domain::scan::normalise::host_name;
use domain::scan::types::{
    DNS_SPF, DNS_TEXT, DOMAIN_NAME, PROVIDER_DNS, PROVIDER_MAIL, RAW_DNS_RECORDS,
};
use futures::future::join_all;

use super::input_host;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::dns::{Answer, RData, Record, RecordType, name_text};

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_records",
    name: "DNS records",
    description: "Reads a domain's MX, NS, TXT, SOA and CAA records: mail and DNS providers, TXT and SPF records, and the SOA and CAA records as raw records.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME],
    produces: &[
        PROVIDER_MAIL,
        PROVIDER_DNS,
        DNS_TEXT,
        DNS_SPF,
        RAW_DNS_RECORDS,
    ],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

const TYPES: [RecordType; 5] = [
    RecordType::MX,
    RecordType::NS,
    RecordType::TXT,
    RecordType::SOA,
    RecordType::CAA,
];

pub struct DnsRecords;

#[async_trait]
impl Module for DnsRecords {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let domain = input_host(&input.value)?;
        let dns = &context.net.dns;
        let answers = join_all(TYPES.iter().map(|kind| dns.query(&domain, *kind))).await;
        let mut outputs = Vec::new();
        let mut first_error = None;
        let mut answered = false;
        for (kind, answer) in TYPES.iter().zip(answers) {
            match answer {
                Ok(answer) => {
                    answered = true;
                    for record in answer.records_of(*kind) {
                        outputs.extend(findings(&answer, record));
                    }
                }
                Err(error) => {
                    tracing::debug!(%domain, %kind, %error, "dns_records query failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) if !answered => Err(error.into()),
            _ => Ok(outputs),
        }
    }
}

/// The findings one record gives.
fn findings(answer: &Answer, record: &Record) -> Vec<Output> {
    let evidence = || answer.evidence();
    match &record.data {
        RData::MX(mx) => host_name(&name_text(&mx.exchange))
            .map(|host| Output::new(PROVIDER_MAIL, host).evidence(evidence()))
            .into_iter()
            .collect(),
        RData::NS(ns) => host_name(&name_text(&ns.0))
            .map(|host| Output::new(PROVIDER_DNS, host).evidence(evidence()))
            .into_iter()
            .collect(),
        RData::TXT(txt) => {
            let text: String = txt
                .txt_data
                .iter()
                .map(|chunk| String::from_utf8_lossy(chunk))
                .collect();
            if text.trim().is_empty() {
                return Vec::new();
            }
            let mut found = vec![Output::new(DNS_TEXT, text.clone()).evidence(evidence())];
            if text
                .get(..6)
                .is_some_and(|start| start.eq_ignore_ascii_case("v=spf1"))
            {
                found.push(Output::new(DNS_SPF, text).evidence(evidence()));
            }
            found
        }
        RData::SOA(_) | RData::CAA(_) => vec![
            Output::new(
                RAW_DNS_RECORDS,
                format!(
                    "{} {} {}",
                    name_text(&record.name),
                    record.record_type(),
                    record.data
                ),
            )
            .evidence(evidence()),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::test_support::{context_for, input, refusing_context, values};
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

    #[tokio::test]
    async fn a_domains_records_become_findings() {
        let server = DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .mx("@", 10, "mx1.mailhost.test.")
                .mx("@", 20, "mx2.mailhost.test.")
                .ns("@", "ns2.dnshost.test.")
                .txt("@", "v=spf1 include:_spf.mailhost.test -all")
                .txt("@", "google-site-verification=abc123")
                .caa_issue("@", "letsencrypt.org")
                .mx("sub", 5, "elsewhere.test."),
        ])
        .await;
        let outputs = DnsRecords
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &context_for(server.addr),
            )
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, PROVIDER_MAIL),
            vec!["mx1.mailhost.test", "mx2.mailhost.test"]
        );
        assert_eq!(
            values(&outputs, PROVIDER_DNS),
            vec!["ns1.example.test", "ns2.dnshost.test"]
        );
        assert_eq!(
            values(&outputs, DNS_TEXT),
            vec![
                "google-site-verification=abc123",
                "v=spf1 include:_spf.mailhost.test -all"
            ]
        );
        assert_eq!(
            values(&outputs, DNS_SPF),
            vec!["v=spf1 include:_spf.mailhost.test -all"]
        );
        let raw = values(&outputs, RAW_DNS_RECORDS);
        assert_eq!(raw.len(), 2, "{raw:?}");
        assert!(
            raw.iter()
                .any(|r| r.starts_with("example.test CAA") && r.contains("letsencrypt.org"))
        );
        assert!(raw.iter().any(|r| r.starts_with("example.test SOA") && r.contains("hostmaster.example.test")));
        assert!(outputs.iter().all(|o| o.evidence.is_some()));
    }

    #[tokio::test]
    async fn a_missing_domain_gives_nothing() {
        let server = DnsServer::start(vec![ZoneSpec::new("example.test")]).await;
        let outputs = DnsRecords
            .handle(
                &input(DOMAIN_NAME, "missing.example.test"),
                &context_for(server.addr),
            )
            .await
            .unwrap();
        assert!(outputs.is_empty(), "{outputs:?}");
    }

    #[tokio::test]
    async fn refused_egress_and_silent_resolvers_are_errors() {
        let server = DnsServer::start(vec![ZoneSpec::new("example.test")]).await;
        let error = DnsRecords
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let silent = HostileDnsServer::start(Hostile::Silent).await;
        let error = DnsRecords
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &context_for(silent.addr),
            )
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");
    }
}
