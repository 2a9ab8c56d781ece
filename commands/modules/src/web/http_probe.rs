//! `http_probe`: does a host, an address or an open port answer HTTP(S)?
//!
//! A host or address is asked for `https://host/` and `http://host/`; an open port
//! (`host:port`) for http and https on that port, https first on 443, 8443 and 9443, stopping
//! at the first that answers. Redirects are followed (through the egress guard); for every
//! answer the module reports the URL asked (and the URL that finally answered when it differs),
//! `<url> <code>`, the response head as text (`<url>` line, then `name: value` lines) and the
//! `Server` header.
//!
//! A port that refuses the connection or resets it is just not HTTP: no findings, no error. A
//! port that answers with something that is not HTTP is a `Failed` error, a timeout a
//! `Transient` one, a refusal by the egress guard `Refused`. Ports of well-known non-HTTP
//! services (`skipPorts`) are not probed.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use domain::scan::normalise;
use domain::scan::types::{
    HTTP_CODE, INTERNET_NAME, IP_ADDRESS, IPV6_ADDRESS, LINKED_URL_EXTERNAL, LINKED_URL_INTERNAL,
    TCP_PORT_OPEN, WEBSERVER_BANNER, WEBSERVER_HTTPHEADERS,
};
use url::Url;

use super::{clip, is_internal, link_output, worst_error};
use crate::meta::{ModuleMeta, OptionKind, OptionSpec};
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::net::NetError;
use crate::net::http::Fetched;
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "http_probe",
    name: "HTTP probe",
    description: "Asks hosts, addresses and open ports for / over https and http; reports the \
                  URLs that answer, their status codes, response headers and Server banner.",
    version: "1.0.0",
    consumes: &[INTERNET_NAME, IP_ADDRESS, IPV6_ADDRESS, TCP_PORT_OPEN],
    produces: &[
        LINKED_URL_INTERNAL,
        LINKED_URL_EXTERNAL,
        HTTP_CODE,
        WEBSERVER_HTTPHEADERS,
        WEBSERVER_BANNER,
    ],
    passive: false,
    options: &[OptionSpec {
        name: "skipPorts",
        kind: OptionKind::IntList,
        default: "[21, 22, 23, 25, 53, 110, 111, 135, 139, 143, 445, 465, 587, 993, 995, 1433, 1521, 3306, 3389, 5432, 5900, 6379, 11211, 27017]",
        description: "Open ports (TCP_PORT_OPEN) not probed: well-known services that do not speak HTTP.",
    }],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

/// Ports where https is tried before http.
const TLS_FIRST_PORTS: [u16; 3] = [443, 8443, 9443];

/// The most bytes of a response head reported.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The longest `Server` banner reported.
const MAX_BANNER_BYTES: usize = 512;

pub struct HttpProbe;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(HttpProbe),
    }
}

#[async_trait]
impl Module for HttpProbe {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        if input.scope_distance > 0 {
            return Ok(Vec::new());
        }
        let (candidates, first_only) = match input.kind {
            INTERNET_NAME => {
                let host = normalise::host_name(&input.value).ok_or_else(|| bad(input))?;
                (
                    vec![base(&host, "https", None)?, base(&host, "http", None)?],
                    false,
                )
            }
            IP_ADDRESS | IPV6_ADDRESS => {
                let ip = normalise::ip_address(&input.value).ok_or_else(|| bad(input))?;
                let host = url_host(ip);
                (
                    vec![base(&host, "https", None)?, base(&host, "http", None)?],
                    false,
                )
            }
            TCP_PORT_OPEN => {
                let (host, port) = host_port(&input.value).ok_or_else(|| bad(input))?;
                let skip: Vec<i64> = context
                    .options
                    .module_value(&META, "skipPorts")
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default();
                if skip.contains(&i64::from(port)) {
                    return Ok(Vec::new());
                }
                let schemes = if TLS_FIRST_PORTS.contains(&port) {
                    ["https", "http"]
                } else {
                    ["http", "https"]
                };
                let urls = schemes
                    .iter()
                    .map(|scheme| base(&host, scheme, Some(port)))
                    .collect::<Result<Vec<_>, _>>()?;
                (urls, true)
            }
            other => {
                return Err(ModuleError::Failed(format!(
                    "http_probe does not handle {other} findings"
                )));
            }
        };

        let mut outputs = Vec::new();
        let mut errors = Vec::new();
        let mut answered = false;
        for url in candidates {
            match context.net.http.fetch(&url, 0).await {
                Ok(fetched) => {
                    answered = true;
                    report(&url, &fetched, context, &mut outputs);
                    if first_only {
                        break;
                    }
                }
                Err(error) => errors.push(error),
            }
        }
        if answered {
            return Ok(outputs);
        }
        match worst_error(errors) {
            // Nothing listening, or the connection was reset: not an HTTP service.
            None | Some(NetError::Io(_)) => Ok(Vec::new()),
            Some(NetError::Protocol(reason)) => Err(ModuleError::Failed(format!(
                "{} does not answer HTTP: {reason}",
                clip(&input.value, 200)
            ))),
            Some(error) => Err(error.into()),
        }
    }
}

fn report(asked: &Url, fetched: &Fetched, context: &ModuleContext, outputs: &mut Vec<Output>) {
    let final_url = &fetched.url;
    let status_line = format!("HTTP {} from {final_url}", fetched.status);
    outputs.push(Output::new(LINKED_URL_INTERNAL, asked.as_str()).evidence(&status_line));
    if final_url != asked {
        let internal = is_internal(final_url, asked.host_str(), &context.scope);
        outputs.push(link_output(
            final_url,
            internal,
            &format!("{asked} redirects to {final_url}"),
        ));
    }
    outputs.push(
        Output::new(HTTP_CODE, format!("{final_url} {}", fetched.status)).evidence(&status_line),
    );
    let mut head = format!("{final_url}\n");
    for (name, value) in &fetched.headers {
        if head.len() + name.len() + value.len() + 3 > MAX_HEAD_BYTES {
            break;
        }
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push('\n');
    }
    outputs.push(Output::new(WEBSERVER_HTTPHEADERS, head).evidence(&status_line));
    if let Some(server) = fetched.header("server").map(str::trim)
        && !server.is_empty()
    {
        outputs.push(
            Output::new(WEBSERVER_BANNER, clip(server, MAX_BANNER_BYTES))
                .evidence(format!("Server header of {final_url}")),
        );
    }
}

fn bad(input: &Input) -> ModuleError {
    ModuleError::Failed(format!(
        "{:?} is not a valid {} value",
        clip(&input.value, 200),
        input.kind
    ))
}

/// The host part of a URL for an address: `[v6]` or `v4`.
fn url_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `host:port` or `[v6]:port` (anything after the first space ignored) as a URL host and port.
fn host_port(value: &str) -> Option<(String, u16)> {
    let address = value.split_whitespace().next()?;
    let (host, port) = address.rsplit_once(':')?;
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    let host = if let Some(ip) = normalise::ip_address(host) {
        url_host(ip)
    } else {
        normalise::host_name(host)?
    };
    Some((host, port))
}

fn base(host: &str, scheme: &str, port: Option<u16>) -> Result<Url, ModuleError> {
    let text = match port {
        Some(port) => format!("{scheme}://{host}:{port}/"),
        None => format!("{scheme}://{host}/"),
    };
    Url::parse(&text).map_err(|error| ModuleError::Failed(format!("cannot probe {text}: {error}")))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::testing::hostile_http::HostileHttp;
    use crate::testing::http_site::{HttpSite, SiteSpec};
    use crate::web::test_support::{input, loopback, options, public_only, values};

    #[tokio::test]
    async fn an_open_port_reports_url_code_headers_and_banner() {
        let site = HttpSite::start(SiteSpec::default()).await;
        let context = loopback(options(Duration::from_secs(5)));
        let address = site.addr().to_string();
        let outputs = HttpProbe
            .handle(&input(TCP_PORT_OPEN, &address, 0), &context)
            .await
            .unwrap();
        let base = format!("http://{address}/");
        assert_eq!(values(&outputs, LINKED_URL_INTERNAL), vec![base.clone()]);
        assert_eq!(values(&outputs, HTTP_CODE), vec![format!("{base} 200")]);
        assert_eq!(
            values(&outputs, WEBSERVER_BANNER),
            vec!["Apache/2.4.41 (Ubuntu)"]
        );
        let head = &values(&outputs, WEBSERVER_HTTPHEADERS)[0];
        assert!(head.starts_with(&format!("{base}\n")));
        assert!(head.contains("\nx-custom-thing: mirage-test\n"));
        assert!(head.contains("\nset-cookie: PHPSESSID=abc123; path=/; HttpOnly\n"));
        // One answer is enough on a port: https was not tried after http answered.
        assert_eq!(outputs.len(), 4);
    }

    #[tokio::test]
    async fn redirects_are_followed_and_reported() {
        let hostile = HostileHttp::start().await;
        let context = loopback(options(Duration::from_secs(5)));
        // `/` redirects to `/ok`; anything after the address is ignored.
        let port = hostile.addr().port();
        let outputs = HttpProbe
            .handle(
                &input(TCP_PORT_OPEN, format!("127.0.0.1:{port} x"), 0),
                &context,
            )
            .await
            .unwrap();
        assert_eq!(
            values(&outputs, LINKED_URL_INTERNAL),
            vec![
                format!("http://127.0.0.1:{port}/"),
                format!("http://127.0.0.1:{port}/ok")
            ]
        );
        assert_eq!(
            values(&outputs, HTTP_CODE),
            vec![format!("http://127.0.0.1:{port}/ok 200")]
        );
        assert!(values(&outputs, WEBSERVER_BANNER).is_empty());
    }

    #[tokio::test]
    async fn an_address_without_web_servers_yields_nothing() {
        let context = loopback(options(Duration::from_secs(5)));
        // Nothing listens on 127.0.0.9:80 or :443: both schemes tried, no findings, no error.
        let outputs = HttpProbe
            .handle(&input(IP_ADDRESS, "127.0.0.9", 0), &context)
            .await
            .unwrap();
        assert!(outputs.is_empty());
    }

    #[tokio::test]
    async fn refusals_timeouts_garbage_and_bad_values_are_clear_errors() {
        let hostile = HostileHttp::start().await;
        let site = HttpSite::start(SiteSpec::default()).await;
        let guarded = public_only(options(Duration::from_secs(5)));
        let error = HttpProbe
            .handle(&input(TCP_PORT_OPEN, site.addr().to_string(), 0), &guarded)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Refused(_)), "{error:?}");

        let context = loopback(options(Duration::from_millis(700)));
        let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let started = Instant::now();
        let error = HttpProbe
            .handle(
                &input(TCP_PORT_OPEN, stalled.local_addr().unwrap().to_string(), 0),
                &context,
            )
            .await
            .unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(4));
        drop(hostile);

        for value in ["not a host", "example.com:0", "example.com:99999"] {
            let error = HttpProbe
                .handle(&input(TCP_PORT_OPEN, value, 0), &context)
                .await
                .unwrap_err();
            assert!(
                matches!(error, ModuleError::Failed(_)),
                "{value}: {error:?}"
            );
        }
        let skipped = HttpProbe
            .handle(&input(TCP_PORT_OPEN, "127.0.0.1:22", 0), &context)
            .await
            .unwrap();
        assert!(skipped.is_empty());
        let out_of_scope = Input {
            scope_distance: 1,
            ..input(TCP_PORT_OPEN, site.addr().to_string(), 0)
        };
        assert!(
            HttpProbe
                .handle(&out_of_scope, &context)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_port_speaking_something_else_is_a_failure_not_a_panic() {
        // A server that answers every connection with bytes that are not HTTP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream
                    .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff garbage")
                    .await;
            }
        });
        let context = loopback(options(Duration::from_secs(3)));
        let error = HttpProbe
            .handle(&input(TCP_PORT_OPEN, address.to_string(), 0), &context)
            .await
            .unwrap_err();
        assert!(matches!(error, ModuleError::Failed(_)), "{error:?}");
    }
}
