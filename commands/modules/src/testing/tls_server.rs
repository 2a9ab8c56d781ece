//! A TLS server on loopback with a certificate generated on the spot (rcgen): chosen names,
//! e-mail addresses and validity window (so tests get expired and expiring certificates),
//! self-signed or signed by a generated CA. After the handshake it answers any request with
//! a small HTTP response and closes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What the server's certificate says.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// The subject's common name; none for a SAN-only certificate.
    pub common_name: Option<String>,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub ips: Vec<IpAddr>,
    /// Start of validity, in days from now (negative = in the past).
    pub valid_from_days: i64,
    /// End of validity, in days from now (negative = already expired).
    pub valid_until_days: i64,
    /// Signed by a generated CA ("Mirage Test CA") instead of self-signed.
    pub signed_by_ca: bool,
}

impl Default for CertSpec {
    fn default() -> Self {
        Self {
            common_name: Some("localhost".into()),
            dns_names: vec!["localhost".into()],
            emails: Vec::new(),
            ips: Vec::new(),
            valid_from_days: -1,
            valid_until_days: 365,
            signed_by_ca: false,
        }
    }
}

impl CertSpec {
    /// A certificate for `names` (the first is the common name), valid for a year.
    pub fn for_names(names: &[&str]) -> Self {
        Self {
            common_name: names.first().map(|n| (*n).to_owned()),
            dns_names: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Self::default()
        }
    }
}

/// A generated certificate (DER and PEM), its key, and the CA that signed it, if any.
pub struct GeneratedCert {
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_der: PrivateKeyDer<'static>,
    pub ca_der: Option<CertificateDer<'static>>,
    pub ca_pem: Option<String>,
}

/// Generates a certificate as `spec` says.
pub fn generate(spec: &CertSpec) -> GeneratedCert {
    let now = time::OffsetDateTime::now_utc();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(name) = &spec.common_name {
        params
            .distinguished_name
            .push(DnType::CommonName, name.as_str());
    }
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Mirage Test");
    for name in &spec.dns_names {
        params
            .subject_alt_names
            .push(SanType::DnsName(name.as_str().try_into().unwrap()));
    }
    for email in &spec.emails {
        params
            .subject_alt_names
            .push(SanType::Rfc822Name(email.as_str().try_into().unwrap()));
    }
    for ip in &spec.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params.not_before = now + time::Duration::days(spec.valid_from_days);
    params.not_after = now + time::Duration::days(spec.valid_until_days);
    let key = KeyPair::generate().unwrap();

    let (cert, ca) = if spec.signed_by_ca {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Mirage Test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = now - time::Duration::days(30);
        ca_params.not_after = now + time::Duration::days(3650);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        (params.signed_by(&key, &issuer).unwrap(), Some(ca_cert))
    } else {
        (params.self_signed(&key).unwrap(), None)
    };
    GeneratedCert {
        cert_der: cert.der().clone(),
        cert_pem: cert.pem(),
        key_der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        ca_der: ca.as_ref().map(|c| c.der().clone()),
        ca_pem: ca.as_ref().map(|c| c.pem()),
    }
}

/// A TLS server on 127.0.0.1; stops when dropped.
pub struct TlsServer {
    pub address: SocketAddr,
    /// The leaf certificate the server presents, PEM.
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub ca_pem: Option<String>,
    task: JoinHandle<()>,
}

impl TlsServer {
    pub async fn start(spec: CertSpec) -> Self {
        let generated = generate(&spec);
        let mut chain = vec![generated.cert_der.clone()];
        chain.extend(generated.ca_der.clone());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, generated.key_der.clone_key())
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut request = [0u8; 4096];
                    if matches!(tls.read(&mut request).await, Ok(n) if n > 0) {
                        let _ = tls
                            .write_all(
                                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                            )
                            .await;
                    }
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            address,
            cert_pem: generated.cert_pem,
            cert_der: generated.cert_der,
            ca_pem: generated.ca_pem,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
