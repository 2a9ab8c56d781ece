//! `dns_srv`: asks for the SRV records of common services under a domain (`_sip._tcp`,
//! `_ldap._tcp`, ...) and reports each service (`<name> <priority> <weight> <port>
//! <target>`) and its target host.

use async_trait::async_trait;
use domain::scan::normalise::host_name;
use domain::scan::types::{DNS_SRV, DOMAIN_NAME, INTERNET_NAME};
use futures::StreamExt;

use super::input_host;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::NetError;
use crate::net::dns::{DnsClient, RData, RecordType, name_text};

pub static META: ModuleMeta = ModuleMeta {
    id: "dns_srv",
    name: "DNS SRV enumeration",
    description: "Asks for the SRV records of common services (SIP, XMPP, LDAP, Kerberos, autodiscover, CalDAV, ...) under a domain and reports the services and their target hosts.",
    version: "1.0.0",
    consumes: &[DOMAIN_NAME],
    produces: &[DNS_SRV, INTERNET_NAME],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The service labels asked for.
pub const SERVICES: &[&str] = &[
    "_sip._tcp",
    "_sip._udp",
    "_sip._tls",
    "_sips._tcp",
    "_sipfederationtls._tcp",
    "_sipinternaltls._tcp",
    "_xmpp-server._tcp",
    "_xmpp-client._tcp",
    "_jabber._tcp",
    "_ldap._tcp",
    "_ldaps._tcp",
    "_gc._tcp",
    "_ldap._tcp.dc._msdcs",
    "_kerberos._tcp",
    "_kerberos._udp",
    "_kerberos-master._tcp",
    "_kpasswd._tcp",
    "_kpasswd._udp",
    "_autodiscover._tcp",
    "_caldav._tcp",
    "_caldavs._tcp",
    "_carddav._tcp",
    "_carddavs._tcp",
    "_imap._tcp",
    "_imaps._tcp",
    "_pop3._tcp",
    "_pop3s._tcp",
    "_submission._tcp",
    "_submissions._tcp",
    "_smtp._tcp",
    "_http._tcp",
    "_https._tcp",
    "_ftp._tcp",
    "_ssh._tcp",
    "_h323cs._tcp",
    "_h323ls._udp",
    "_turn._udp",
    "_turn._tcp",
    "_turns._tcp",
    "_stun._udp",
    "_stun._tcp",
    "_matrix._tcp",
    "_minecraft._tcp",
    "_ts3._udp",
    "_vlmcs._tcp",
    "_nicname._tcp",
    "_avatars._tcp",
    "_mongodb._tcp",
    "_collab-edge._tls",
    "_cisco-uds._tcp",
];

/// SRV questions in flight at once for one domain.
const CONCURRENCY: usize = 16;

pub struct DnsSrv;

#[async_trait]
impl Module for DnsSrv {
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
        let names: Vec<String> = SERVICES
            .iter()
            .map(|service| format!("{service}.{domain}"))
            .collect();
        let results: Vec<Result<Vec<Output>, NetError>> = futures::stream::iter(names)
            .map(|name| services(dns, name))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut outputs = Vec::new();
        let mut first_error = None;
        let mut answered = false;
        for result in results {
            match result {
                Ok(found) => {
                    answered = true;
                    outputs.extend(found);
                }
                Err(error) => {
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

/// The SRV findings of one service name.
async fn services(dns: &DnsClient, name: String) -> Result<Vec<Output>, NetError> {
    let answer = dns.query(&name, RecordType::SRV).await?;
    let mut outputs = Vec::new();
    for record in answer.records_of(RecordType::SRV) {
        let RData::SRV(srv) = &record.data else {
            continue;
        };
        let target = name_text(&srv.target);
        let evidence = answer.evidence();
        outputs.push(
            Output::new(
                DNS_SRV,
                format!(
                    "{} {} {} {} {}",
                    name_text(&record.name),
                    srv.priority,
                    srv.weight,
                    srv.port,
                    if target.is_empty() { "." } else { &target }
                ),
            )
            .evidence(evidence.clone()),
        );
        // "." means the service is decidedly not available.
        if let Some(host) = host_name(&target) {
            outputs.push(Output::new(INTERNET_NAME, host).evidence(evidence));
        }
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::test_support::{
        context, context_for, input, options, refusing_context, values,
    };
    use crate::testing::dns_server::{DnsServer, Hostile, HostileDnsServer, ZoneSpec};

    #[tokio::test]
    async fn services_and_their_targets_are_found() {
        let server = DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .srv("_sip._tcp", 10, 60, 5060, "sip")
                .srv("_xmpp-server._tcp", 5, 0, 5269, "xmpp.chat.test.")
                .srv("_ldap._tcp.dc._msdcs", 0, 100, 389, "dc1")
                .srv("_imaps._tcp", 0, 0, 0, ".")
                .a("sip", "192.0.2.5"),
        ])
        .await;
        let outputs = DnsSrv
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &context_for(server.addr),
            )
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, DNS_SRV),
            vec![
                "_imaps._tcp.example.test 0 0 0 .",
                "_ldap._tcp.dc._msdcs.example.test 0 100 389 dc1.example.test",
                "_sip._tcp.example.test 10 60 5060 sip.example.test",
                "_xmpp-server._tcp.example.test 5 0 5269 xmpp.chat.test",
            ]
        );
        assert_eq!(
            values(&outputs, INTERNET_NAME),
            vec!["dc1.example.test", "sip.example.test", "xmpp.chat.test"]
        );
    }

    #[tokio::test]
    async fn refused_egress_and_wrong_answers_are_errors() {
        let server = DnsServer::start(vec![ZoneSpec::new("example.test")]).await;
        let error = DnsSrv
            .handle(
                &input(DOMAIN_NAME, "example.test"),
                &refusing_context(server.addr),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let hostile = HostileDnsServer::start(Hostile::WrongQuestion).await;
        let mut quick = options(hostile.addr);
        quick.timeout_ms = 300;
        let error = DnsSrv
            .handle(&input(DOMAIN_NAME, "example.test"), &context(quick))
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
    }
}
