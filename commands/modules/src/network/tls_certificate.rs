//! `tls_certificate`: the certificate a TLS service presents, and what it says.
//!
//! Every certificate is accepted (we inspect, we do not trust): the handshake only serves to
//! get the server's leaf certificate, which is parsed with `x509-parser`. Only in-scope
//! endpoints (scope distance 0) are contacted: this module touches the target's own systems.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use domain::scan::normalise::{email, host_name, ip_address};
use domain::scan::target::join_host_port;
use domain::scan::types::{
    AFFILIATE_EMAILADDR, AFFILIATE_INTERNET_NAME, EMAILADDR, INTERNET_NAME,
    SSL_CERTIFICATE_EXPIRED, SSL_CERTIFICATE_EXPIRING, SSL_CERTIFICATE_ISSUED,
    SSL_CERTIFICATE_ISSUER, SSL_CERTIFICATE_MISMATCH, SSL_CERTIFICATE_RAW, TCP_PORT_OPEN,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::time::ASN1Time;

use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::{NetError, ScanNet, tcp};

pub static META: ModuleMeta = ModuleMeta {
    id: "tls_certificate",
    name: "TLS certificate",
    description: "Completes a TLS handshake with an in-scope host (port 443) or open TLS port and reports the certificate, its subject and issuer, expiry, a name mismatch, and the host names and e-mail addresses it names.",
    version: "1.0.0",
    consumes: &[TCP_PORT_OPEN, INTERNET_NAME],
    produces: &[
        SSL_CERTIFICATE_RAW,
        SSL_CERTIFICATE_ISSUED,
        SSL_CERTIFICATE_ISSUER,
        SSL_CERTIFICATE_EXPIRED,
        SSL_CERTIFICATE_EXPIRING,
        SSL_CERTIFICATE_MISMATCH,
        INTERNET_NAME,
        AFFILIATE_INTERNET_NAME,
        EMAILADDR,
        AFFILIATE_EMAILADDR,
    ],
    passive: false,
    options: &[
        OptionSpec {
            name: "tls_ports",
            kind: OptionKind::IntList,
            default: "[443, 465, 636, 853, 993, 995, 8443]",
            description: "Open ports (TCP_PORT_OPEN) that are spoken to in TLS.",
        },
        OptionSpec {
            name: "expiring_days",
            kind: OptionKind::Int,
            default: "30",
            description: "A certificate ending within this many days is reported as expiring.",
        },
    ],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// The most names taken from one certificate.
pub const MAX_NAMES: usize = 1000;
/// How many of the certificate's names a mismatch finding lists.
const MISMATCH_NAMES_LISTED: usize = 10;

pub struct TlsCertificate;

#[async_trait]
impl Module for TlsCertificate {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        let (host, port) = endpoint(input)?;
        if input.kind == TCP_PORT_OPEN {
            let tls_ports: Vec<u16> = context
                .options
                .module_value(&META, "tls_ports")
                .and_then(|value| serde_json::from_value(value).ok())
                .unwrap_or_default();
            if !tls_ports.contains(&port) {
                return Ok(Vec::new());
            }
        }
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        let stream = match tcp::connect_host(&context.net, &host, port).await {
            Ok(stream) => stream,
            // A host name without HTTPS is ordinary, not a failure; an open port that cannot
            // be reached again is worth a retry.
            Err(error) if input.kind == INTERNET_NAME && !matches!(error, NetError::Refused(_)) => {
                tracing::debug!(%host, port, %error, "no TLS service to inspect");
                return Ok(Vec::new());
            }
            Err(error) => return Err(error.into()),
        };
        let der = fetch_certificate(&context.net, &host, port, stream).await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        let expiring_days = context
            .options
            .module_int(&META, "expiring_days")
            .unwrap_or(30)
            .clamp(0, 3650);
        let findings = Inspection {
            host: &host,
            endpoint: join_host_port(&host, port),
            now,
            expiring_seconds: expiring_days * 86_400,
            context,
        };
        findings.outputs(&der)
    }
}

/// The host and port an input is about: `host:port` for open ports, port 443 for names.
fn endpoint(input: &Input) -> Result<(String, u16), ModuleError> {
    let invalid = || {
        ModuleError::Failed(format!(
            "{:?} is not a host or host:port",
            input.value.chars().take(100).collect::<String>()
        ))
    };
    let (host, port) = if input.kind == TCP_PORT_OPEN {
        let (host, port) = input.value.trim().rsplit_once(':').ok_or_else(invalid)?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(invalid)?;
        (host, port)
    } else {
        (input.value.trim(), 443)
    };
    let host = match ip_address(host) {
        Some(ip) => ip.to_string(),
        None => host_name(host).ok_or_else(invalid)?,
    };
    Ok((host, port))
}

/// Completes a handshake accepting any certificate and returns the leaf.
async fn fetch_certificate(
    net: &ScanNet,
    host: &str,
    port: u16,
    stream: TcpStream,
) -> Result<CertificateDer<'static>, ModuleError> {
    let endpoint = join_host_port(host, port);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| ModuleError::Failed(format!("TLS configuration: {error}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
        .with_no_client_auth();
    let server_name = match ip_address(host) {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(host.to_owned()).map_err(|error| {
            ModuleError::Failed(format!("{host:?} is not a TLS server name: {error}"))
        })?,
    };
    let handshake = TlsConnector::from(Arc::new(config)).connect(server_name, stream);
    let tls = tokio::time::timeout(net.timeout, handshake)
        .await
        .map_err(|_| ModuleError::from(NetError::Timeout))?
        .map_err(|error| {
            ModuleError::Failed(format!(
                "TLS handshake with {endpoint} failed (is it a TLS service?): {error}"
            ))
        })?;
    let (_, connection) = tls.get_ref();
    connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| leaf.clone().into_owned())
        .ok_or_else(|| ModuleError::Failed(format!("{endpoint} presented no certificate")))
}

/// What one certificate tells about one endpoint.
struct Inspection<'a> {
    host: &'a str,
    endpoint: String,
    /// Seconds since the Unix epoch.
    now: i64,
    expiring_seconds: i64,
    context: &'a ModuleContext,
}

impl Inspection<'_> {
    fn outputs(&self, der: &[u8]) -> Result<Vec<Output>, ModuleError> {
        let evidence = format!("certificate presented by {}", self.endpoint);
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|error| {
            ModuleError::Failed(format!(
                "certificate from {} is not valid X.509: {error}",
                self.endpoint
            ))
        })?;
        let mut outputs = vec![Output::new(SSL_CERTIFICATE_RAW, pem(der)).evidence(&evidence)];
        let subject = cert.subject().to_string();
        if !subject.is_empty() {
            outputs.push(Output::new(SSL_CERTIFICATE_ISSUED, subject).evidence(&evidence));
        }
        let issuer = cert.issuer().to_string();
        if !issuer.is_empty() {
            outputs.push(Output::new(SSL_CERTIFICATE_ISSUER, issuer).evidence(&evidence));
        }

        let not_after = cert.validity().not_after;
        let ends = not_after.timestamp();
        if ends < self.now {
            outputs.push(
                Output::new(
                    SSL_CERTIFICATE_EXPIRED,
                    format!("{} expired {}", self.endpoint, utc(&not_after)),
                )
                .evidence(&evidence),
            );
        } else if ends < self.now.saturating_add(self.expiring_seconds) {
            outputs.push(
                Output::new(
                    SSL_CERTIFICATE_EXPIRING,
                    format!("{} expires {}", self.endpoint, utc(&not_after)),
                )
                .evidence(&evidence),
            );
        }

        let names = Names::of(&cert);
        if ip_address(self.host).is_none() && !names.cover(self.host) {
            let listed: Vec<&str> = names
                .matching()
                .iter()
                .take(MISMATCH_NAMES_LISTED)
                .map(String::as_str)
                .collect();
            let more = names.matching().len().saturating_sub(MISMATCH_NAMES_LISTED);
            let mut value = format!(
                "{}: {} is not among the certificate's names ({})",
                self.endpoint,
                self.host,
                if listed.is_empty() {
                    "none".to_owned()
                } else {
                    listed.join(", ")
                }
            );
            if more > 0 {
                value.push_str(&format!(" and {more} more"));
            }
            outputs.push(Output::new(SSL_CERTIFICATE_MISMATCH, value).evidence(&evidence));
        }

        let scope = &self.context.scope;
        let hosts: BTreeSet<String> = names
            .dns
            .iter()
            .chain(names.common_name.iter())
            .filter_map(|name| host_name(name.strip_prefix("*.").unwrap_or(name)))
            .take(MAX_NAMES)
            .collect();
        for host in hosts {
            let kind = if scope.contains_host(&host) {
                INTERNET_NAME
            } else {
                AFFILIATE_INTERNET_NAME
            };
            outputs.push(Output::new(kind, host).evidence(&evidence));
        }
        let emails: BTreeSet<String> = names
            .emails
            .iter()
            .filter_map(|text| email(text))
            .take(MAX_NAMES)
            .collect();
        for address in emails {
            let in_scope = address
                .rsplit_once('@')
                .is_some_and(|(_, domain)| scope.contains_host(domain));
            let kind = if in_scope {
                EMAILADDR
            } else {
                AFFILIATE_EMAILADDR
            };
            outputs.push(Output::new(kind, address).evidence(&evidence));
        }
        Ok(outputs)
    }
}

/// The names a certificate carries, lower-cased.
#[derive(Debug, Default)]
struct Names {
    common_name: Option<String>,
    dns: Vec<String>,
    emails: Vec<String>,
}

impl Names {
    fn of(cert: &X509Certificate<'_>) -> Self {
        let mut names = Names {
            common_name: cert
                .subject()
                .iter_common_name()
                .find_map(|attribute| attribute.as_str().ok())
                .map(|text| text.trim().to_ascii_lowercase()),
            ..Names::default()
        };
        names.emails.extend(
            cert.subject()
                .iter_email()
                .filter_map(|attribute| attribute.as_str().ok())
                .map(str::to_owned),
        );
        if let Ok(Some(extension)) = cert.subject_alternative_name() {
            for general in extension.value.general_names.iter().take(10 * MAX_NAMES) {
                match general {
                    GeneralName::DNSName(name) => {
                        names.dns.push(name.trim().to_ascii_lowercase());
                    }
                    GeneralName::RFC822Name(address) => names.emails.push((*address).to_owned()),
                    _ => {}
                }
            }
        }
        names
    }

    /// The names a host must match: the DNS names, else the common name (RFC 6125).
    fn matching(&self) -> &[String] {
        if self.dns.is_empty() {
            self.common_name.as_slice()
        } else {
            &self.dns
        }
    }

    fn cover(&self, host: &str) -> bool {
        self.matching()
            .iter()
            .any(|pattern| name_matches(pattern, host))
    }
}

/// Whether a certificate name covers `host`: equal, or `*.rest` covering exactly one label
/// in front of `rest`.
fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    let host = host.trim_end_matches('.');
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    match (pattern.strip_prefix("*."), host.split_once('.')) {
        (Some(parent), Some((label, rest))) => {
            !label.is_empty() && parent.contains('.') && rest.eq_ignore_ascii_case(parent)
        }
        _ => false,
    }
}

/// PEM text of a DER certificate.
fn pem(der: &[u8]) -> String {
    let encoded = data_encoding::BASE64.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    text
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(time: &ASN1Time) -> String {
    let at = time.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Accepts every certificate and signature: the handshake only fetches the certificate, and
/// nothing sent over the connection is trusted.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::Egress;
    use crate::network::test_support::{context, context_with, input, options};
    use crate::testing::banner_server::BannerServer;
    use crate::testing::dns_server::{DnsServer, ZoneSpec};
    use crate::testing::tls_server::{CertSpec, TlsServer};

    fn tls_context(port: u16, scope: &[&str]) -> ModuleContext {
        let mut scan = options(2000);
        scan.module_options.insert(
            META.id.to_owned(),
            [("tls_ports".to_owned(), serde_json::json!([port]))]
                .into_iter()
                .collect(),
        );
        context(scan, scope)
    }

    fn of_kind<'a>(outputs: &'a [Output], kind: &str) -> Vec<&'a str> {
        outputs
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.value.as_str())
            .collect()
    }

    #[tokio::test]
    async fn reports_the_certificate_its_names_and_emails() {
        let server = TlsServer::start(CertSpec {
            common_name: Some("www.example.test".into()),
            dns_names: vec![
                "www.example.test".into(),
                "*.api.example.test".into(),
                "partner.other.test".into(),
            ],
            emails: vec!["hostmaster@example.test".into(), "ops@other.test".into()],
            signed_by_ca: true,
            ..CertSpec::default()
        })
        .await;
        let context = tls_context(server.port(), &["example.test", "127.0.0.0/8"]);
        let value = format!("127.0.0.1:{}", server.port());
        let outputs = TlsCertificate
            .handle(&input(TCP_PORT_OPEN, &value), &context)
            .await
            .unwrap();

        assert_eq!(
            of_kind(&outputs, SSL_CERTIFICATE_RAW),
            vec![server.cert_pem.as_str()]
        );
        assert_eq!(
            of_kind(&outputs, SSL_CERTIFICATE_ISSUED),
            vec!["CN=www.example.test, O=Mirage Test"]
        );
        assert_eq!(
            of_kind(&outputs, SSL_CERTIFICATE_ISSUER),
            vec!["CN=Mirage Test CA"]
        );
        assert_eq!(
            of_kind(&outputs, INTERNET_NAME),
            vec!["api.example.test", "www.example.test"]
        );
        assert_eq!(
            of_kind(&outputs, AFFILIATE_INTERNET_NAME),
            vec!["partner.other.test"]
        );
        assert_eq!(
            of_kind(&outputs, EMAILADDR),
            vec!["hostmaster@example.test"]
        );
        assert_eq!(
            of_kind(&outputs, AFFILIATE_EMAILADDR),
            vec!["ops@other.test"]
        );
        assert!(of_kind(&outputs, SSL_CERTIFICATE_EXPIRED).is_empty());
        assert!(of_kind(&outputs, SSL_CERTIFICATE_EXPIRING).is_empty());
        assert!(
            of_kind(&outputs, SSL_CERTIFICATE_MISMATCH).is_empty(),
            "addresses are not checked against names"
        );
    }

    #[tokio::test]
    async fn expired_and_expiring_certificates_are_reported() {
        let expired = TlsServer::start(CertSpec {
            valid_from_days: -400,
            valid_until_days: -5,
            ..CertSpec::for_names(&["old.example.test"])
        })
        .await;
        let expiring = TlsServer::start(CertSpec {
            valid_until_days: 10,
            ..CertSpec::for_names(&["soon.example.test"])
        })
        .await;
        for (server, kind, word) in [
            (&expired, SSL_CERTIFICATE_EXPIRED, "expired"),
            (&expiring, SSL_CERTIFICATE_EXPIRING, "expires"),
        ] {
            let context = tls_context(server.port(), &["127.0.0.0/8"]);
            let value = format!("127.0.0.1:{}", server.port());
            let outputs = TlsCertificate
                .handle(&input(TCP_PORT_OPEN, &value), &context)
                .await
                .unwrap();
            let found = of_kind(&outputs, kind);
            assert_eq!(found.len(), 1, "{outputs:?}");
            assert!(
                found[0].starts_with(&format!("{value} {word} 20")),
                "{}",
                found[0]
            );
            assert!(found[0].ends_with('Z'));
        }
    }

    #[tokio::test]
    async fn a_host_name_not_covered_by_the_certificate_is_a_mismatch() {
        let server =
            TlsServer::start(CertSpec::for_names(&["*.example.test", "example.test"])).await;
        let context = tls_context(server.port(), &["example.test"]);
        // Test names do not resolve, so the server's real certificate is inspected as if it
        // had been fetched from a named endpoint.
        let names = Names {
            common_name: None,
            dns: vec!["*.example.test".into(), "example.test".into()],
            emails: vec![],
        };
        assert!(names.cover("www.example.test"));
        assert!(names.cover("example.test"));
        assert!(!names.cover("a.b.example.test"));
        assert!(!names.cover("other.test"));
        let inspection = Inspection {
            host: "other.test",
            endpoint: format!("other.test:{}", server.port()),
            now: 0,
            expiring_seconds: 0,
            context: &context,
        };
        let outputs = inspection.outputs(&server.cert_der).unwrap();
        assert_eq!(
            of_kind(&outputs, SSL_CERTIFICATE_MISMATCH),
            vec![format!(
                "other.test:{}: other.test is not among the certificate's names (*.example.test, example.test)",
                server.port()
            )]
        );
        let inspection = Inspection {
            host: "www.example.test",
            ..inspection
        };
        let outputs = inspection.outputs(&server.cert_der).unwrap();
        assert!(of_kind(&outputs, SSL_CERTIFICATE_MISMATCH).is_empty());
    }

    #[tokio::test]
    async fn a_named_endpoint_is_resolved_and_checked_against_the_certificate() {
        let dns = DnsServer::start(vec![
            ZoneSpec::new("example.test")
                .a("www", "127.0.0.1")
                .a("nohttps", "127.0.0.2"),
        ])
        .await;
        let server = TlsServer::start(CertSpec::for_names(&["shop.partner.test"])).await;
        let mut scan = options(2000);
        scan.resolvers = vec![dns.addr];
        scan.module_options.insert(
            META.id.to_owned(),
            [("tls_ports".to_owned(), serde_json::json!([server.port()]))]
                .into_iter()
                .collect(),
        );
        let context = context(scan, &["example.test"]);
        let value = format!("www.example.test:{}", server.port());
        let outputs = TlsCertificate
            .handle(&input(TCP_PORT_OPEN, &value), &context)
            .await
            .unwrap();
        assert_eq!(
            of_kind(&outputs, SSL_CERTIFICATE_MISMATCH),
            vec![format!(
                "{value}: www.example.test is not among the certificate's names (shop.partner.test)"
            )]
        );
        assert_eq!(
            of_kind(&outputs, AFFILIATE_INTERNET_NAME),
            vec!["shop.partner.test"]
        );

        // A host name without anything on port 443 is not an error.
        if tokio::net::TcpStream::connect("127.0.0.2:443")
            .await
            .is_err()
        {
            let outputs = TlsCertificate
                .handle(&input(INTERNET_NAME, "nohttps.example.test"), &context)
                .await
                .unwrap();
            assert!(outputs.is_empty());
        }
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        assert!(name_matches("*.example.com", "www.example.com"));
        assert!(name_matches("*.example.com", "WWW.Example.com."));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.com", "example.com"));
        assert!(name_matches("example.com", "EXAMPLE.COM"));
        assert!(!name_matches("", "example.com"));
    }

    #[tokio::test]
    async fn a_non_tls_listener_gives_a_clear_error() {
        let ssh = BannerServer::ssh().await;
        let ssh_context = tls_context(ssh.port(), &["127.0.0.0/8"]);
        let value = format!("127.0.0.1:{}", ssh.port());
        let error = TlsCertificate
            .handle(&input(TCP_PORT_OPEN, &value), &ssh_context)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ModuleError::Failed(text) if text.contains("TLS handshake")),
            "{error:?}"
        );

        let silent = BannerServer::silent().await;
        let mut scan = options(300);
        scan.module_options.insert(
            META.id.to_owned(),
            [("tls_ports".to_owned(), serde_json::json!([silent.port()]))]
                .into_iter()
                .collect(),
        );
        let silent_context = context(scan, &["127.0.0.0/8"]);
        let value = format!("127.0.0.1:{}", silent.port());
        let error = TlsCertificate
            .handle(&input(TCP_PORT_OPEN, &value), &silent_context)
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");
    }

    #[tokio::test]
    async fn refusals_skips_and_bad_input() {
        let server = TlsServer::start(CertSpec::default()).await;
        let value = format!("127.0.0.1:{}", server.port());
        let mut scan = options(1000);
        scan.module_options.insert(
            META.id.to_owned(),
            [("tls_ports".to_owned(), serde_json::json!([server.port()]))]
                .into_iter()
                .collect(),
        );
        let public = context_with(scan, &["127.0.0.0/8"], Egress::public_only());
        let error = TlsCertificate
            .handle(&input(TCP_PORT_OPEN, &value), &public)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let default_ports = context(options(1000), &["127.0.0.0/8"]);
        let skipped = TlsCertificate
            .handle(&input(TCP_PORT_OPEN, &value), &default_ports)
            .await
            .unwrap();
        assert!(skipped.is_empty(), "port not in tls_ports");

        let context = tls_context(server.port(), &["127.0.0.0/8"]);
        let mut affiliate = input(TCP_PORT_OPEN, &value);
        affiliate.scope_distance = 1;
        assert!(
            TlsCertificate
                .handle(&affiliate, &context)
                .await
                .unwrap()
                .is_empty()
        );

        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:99999",
            "no spaces:443",
        ] {
            let error = TlsCertificate
                .handle(&input(TCP_PORT_OPEN, bad), &context)
                .await
                .unwrap_err();
            assert!(
                matches!(error, ModuleError::Failed(_)),
                "{bad:?}: {error:?}"
            );
        }
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let context = context(options(1000), &[]);
        let inspection = Inspection {
            host: "example.test",
            endpoint: "example.test:443".into(),
            now: 0,
            expiring_seconds: 0,
            context: &context,
        };
        let error = inspection.outputs(b"\x30\x03garbage").unwrap_err();
        assert!(matches!(error, ModuleError::Failed(text) if text.contains("X.509")));
    }
}
