//! Certificates as text: `SSL_CERTIFICATE_RAW` values are PEM, whose base64 hides the names the
//! e-mail and host name extractors look for, so each PEM certificate is parsed and its subject,
//! issuer and subject alternative names are written out as lines (`DNS:www.example.com`,
//! `email:hostmaster@example.com`) after the original text.

use std::borrow::Cow;

use x509_parser::extensions::GeneralName;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";
/// At most this many certificates per value and names per certificate are read.
const MAX_CERTIFICATES: usize = 8;
const MAX_NAMES: usize = 1_000;

/// `value` followed by a text rendering of every PEM certificate in it; `value` itself when it
/// holds none (or none that parses).
pub(crate) fn readable(value: &str) -> Cow<'_, str> {
    let mut rendered = String::new();
    let mut rest = value;
    for _ in 0..MAX_CERTIFICATES {
        let Some(begin) = rest.find(BEGIN) else {
            break;
        };
        let after = &rest[begin + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            break;
        };
        render(&after[..end], &mut rendered);
        rest = &after[end + END.len()..];
    }
    if rendered.is_empty() {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("{value}\n{rendered}"))
    }
}

/// Appends the names of the certificate whose base64 body is `body` to `out`.
fn render(body: &str, out: &mut String) {
    let base64: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let Ok(der) = data_encoding::BASE64.decode(&base64) else {
        return;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return;
    };
    out.push_str(&format!("Subject: {}\n", cert.subject()));
    out.push_str(&format!("Issuer: {}\n", cert.issuer()));
    for address in cert
        .subject()
        .iter_email()
        .filter_map(|attribute| attribute.as_str().ok())
    {
        out.push_str(&format!("email:{address}\n"));
    }
    if let Ok(Some(extension)) = cert.subject_alternative_name() {
        for general in extension.value.general_names.iter().take(MAX_NAMES) {
            match general {
                GeneralName::DNSName(name) => out.push_str(&format!("DNS:{name}\n")),
                GeneralName::RFC822Name(address) => out.push_str(&format!("email:{address}\n")),
                GeneralName::URI(uri) => out.push_str(&format!("URI:{uri}\n")),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed PEM certificate for `www.example.com`, `*.example.com` and
    /// `mail.partner.net`, with e-mail names `hostmaster@example.com` and `pki@ca-vendor.org`.
    pub fn sample_pem() -> String {
        let mut params = rcgen::CertificateParams::new(vec![
            "www.example.com".to_owned(),
            "*.example.com".to_owned(),
            "mail.partner.net".to_owned(),
        ])
        .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "www.example.com");
        params.subject_alt_names.push(rcgen::SanType::Rfc822Name(
            "hostmaster@example.com".try_into().unwrap(),
        ));
        params.subject_alt_names.push(rcgen::SanType::Rfc822Name(
            "pki@ca-vendor.org".try_into().unwrap(),
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn pem_certificates_are_rendered_as_names() {
        let text = readable(&sample_pem()).into_owned();
        for line in [
            "DNS:www.example.com",
            "DNS:*.example.com",
            "DNS:mail.partner.net",
            "email:hostmaster@example.com",
            "email:pki@ca-vendor.org",
            "Subject: CN=www.example.com",
        ] {
            assert!(text.contains(line), "{line} missing from {text}");
        }
    }

    #[test]
    fn text_without_or_with_broken_pem_is_left_alone() {
        assert!(matches!(readable("Subject: CN=x"), Cow::Borrowed(_)));
        let broken = format!("{BEGIN}\nnot base64!\n{END}\n{BEGIN}\nAAAA\n{END}\n{BEGIN}\n");
        assert!(matches!(readable(&broken), Cow::Borrowed(_)));
        let pem = sample_pem();
        let truncated = &pem[..pem.len() / 2];
        assert!(matches!(readable(truncated), Cow::Borrowed(_)));
    }
}
