//! Finding type names. SpiderFoot's names wherever the concept exists there, so users of the
//! established tools read Mirage's findings without a dictionary.

pub const INTERNET_NAME: &str = "INTERNET_NAME";
pub const INTERNET_NAME_UNRESOLVED: &str = "INTERNET_NAME_UNRESOLVED";
pub const AFFILIATE_INTERNET_NAME: &str = "AFFILIATE_INTERNET_NAME";
pub const DOMAIN_NAME: &str = "DOMAIN_NAME";
pub const IP_ADDRESS: &str = "IP_ADDRESS";
pub const IPV6_ADDRESS: &str = "IPV6_ADDRESS";
pub const NETBLOCK: &str = "NETBLOCK_OWNER";
pub const EMAILADDR: &str = "EMAILADDR";
pub const AFFILIATE_EMAILADDR: &str = "AFFILIATE_EMAILADDR";
pub const EMAILADDR_GENERIC: &str = "EMAILADDR_GENERIC";
pub const PHONE_NUMBER: &str = "PHONE_NUMBER";
pub const RAW_DNS_RECORDS: &str = "RAW_DNS_RECORDS";
pub const DNS_TEXT: &str = "DNS_TEXT";
pub const DNS_SPF: &str = "DNS_SPF";
pub const DNS_SRV: &str = "DNS_SRV";
pub const PROVIDER_DNS: &str = "PROVIDER_DNS";
pub const PROVIDER_MAIL: &str = "PROVIDER_MAIL";
pub const TCP_PORT_OPEN: &str = "TCP_PORT_OPEN";
pub const TCP_PORT_OPEN_BANNER: &str = "TCP_PORT_OPEN_BANNER";
pub const SSL_CERTIFICATE_RAW: &str = "SSL_CERTIFICATE_RAW";
pub const SSL_CERTIFICATE_ISSUED: &str = "SSL_CERTIFICATE_ISSUED";
pub const SSL_CERTIFICATE_ISSUER: &str = "SSL_CERTIFICATE_ISSUER";
pub const SSL_CERTIFICATE_EXPIRED: &str = "SSL_CERTIFICATE_EXPIRED";
pub const SSL_CERTIFICATE_EXPIRING: &str = "SSL_CERTIFICATE_EXPIRING";
pub const SSL_CERTIFICATE_MISMATCH: &str = "SSL_CERTIFICATE_MISMATCH";
pub const LINKED_URL_INTERNAL: &str = "LINKED_URL_INTERNAL";
pub const LINKED_URL_EXTERNAL: &str = "LINKED_URL_EXTERNAL";
pub const TARGET_WEB_CONTENT: &str = "TARGET_WEB_CONTENT";
pub const HTTP_CODE: &str = "HTTP_CODE";
pub const WEBSERVER_HTTPHEADERS: &str = "WEBSERVER_HTTPHEADERS";
pub const WEBSERVER_BANNER: &str = "WEBSERVER_BANNER";
pub const WEBSERVER_TECHNOLOGY: &str = "WEBSERVER_TECHNOLOGY";
pub const WEBSERVER_STRANGEHEADER: &str = "WEBSERVER_STRANGEHEADER";
pub const TARGET_WEB_COOKIE: &str = "TARGET_WEB_COOKIE";
pub const URL_FORM: &str = "URL_FORM";
pub const URL_PASSWORD: &str = "URL_PASSWORD";
pub const URL_UPLOAD: &str = "URL_UPLOAD";
pub const URL_JAVASCRIPT: &str = "URL_JAVASCRIPT";
pub const INTERESTING_FILE: &str = "INTERESTING_FILE";
pub const WEB_ANALYTICS_ID: &str = "WEB_ANALYTICS_ID";
pub const DOMAIN_WHOIS: &str = "DOMAIN_WHOIS";
pub const DOMAIN_REGISTRAR: &str = "DOMAIN_REGISTRAR";
pub const HASH: &str = "HASH";
pub const BASE64_DATA: &str = "BASE64_DATA";
pub const BITCOIN_ADDRESS: &str = "BITCOIN_ADDRESS";

/// Types whose value is a host name, lower-cased and without a trailing dot.
pub const HOST_TYPES: &[&str] = &[
    INTERNET_NAME,
    INTERNET_NAME_UNRESOLVED,
    AFFILIATE_INTERNET_NAME,
    DOMAIN_NAME,
    PROVIDER_DNS,
    PROVIDER_MAIL,
];

/// Types whose value is an e-mail address.
pub const EMAIL_TYPES: &[&str] = &[EMAILADDR, AFFILIATE_EMAILADDR, EMAILADDR_GENERIC];

/// Types whose value is a URL.
pub const URL_TYPES: &[&str] = &[
    LINKED_URL_INTERNAL,
    LINKED_URL_EXTERNAL,
    URL_FORM,
    URL_PASSWORD,
    URL_UPLOAD,
    URL_JAVASCRIPT,
    INTERESTING_FILE,
];

/// Every type Mirage knows; a finding of any other type is refused.
pub const ALL: &[&str] = &[
    INTERNET_NAME,
    INTERNET_NAME_UNRESOLVED,
    AFFILIATE_INTERNET_NAME,
    DOMAIN_NAME,
    IP_ADDRESS,
    IPV6_ADDRESS,
    NETBLOCK,
    EMAILADDR,
    AFFILIATE_EMAILADDR,
    EMAILADDR_GENERIC,
    PHONE_NUMBER,
    RAW_DNS_RECORDS,
    DNS_TEXT,
    DNS_SPF,
    DNS_SRV,
    PROVIDER_DNS,
    PROVIDER_MAIL,
    TCP_PORT_OPEN,
    TCP_PORT_OPEN_BANNER,
    SSL_CERTIFICATE_RAW,
    SSL_CERTIFICATE_ISSUED,
    SSL_CERTIFICATE_ISSUER,
    SSL_CERTIFICATE_EXPIRED,
    SSL_CERTIFICATE_EXPIRING,
    SSL_CERTIFICATE_MISMATCH,
    LINKED_URL_INTERNAL,
    LINKED_URL_EXTERNAL,
    TARGET_WEB_CONTENT,
    HTTP_CODE,
    WEBSERVER_HTTPHEADERS,
    WEBSERVER_BANNER,
    WEBSERVER_TECHNOLOGY,
    WEBSERVER_STRANGEHEADER,
    TARGET_WEB_COOKIE,
    URL_FORM,
    URL_PASSWORD,
    URL_UPLOAD,
    URL_JAVASCRIPT,
    INTERESTING_FILE,
    WEB_ANALYTICS_ID,
    DOMAIN_WHOIS,
    DOMAIN_REGISTRAR,
    HASH,
    BASE64_DATA,
    BITCOIN_ADDRESS,
];

/// The static name for a type string, when Mirage knows it.
pub fn known(name: &str) -> Option<&'static str> {
    ALL.iter().copied().find(|known| *known == name)
}
