//! Scan options (`createScan(input: { options })`): typed, checked, with defaults.
//!
//! Unknown keys and values of the wrong type are refused with the key named
//! (`options.ports[2]: must be an integer from 1 to 65535`), so a typo never silently falls
//! back to a default.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::Value;

use crate::meta::{ModuleMeta, OptionKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct OptionsError {
    pub field: String,
    pub reason: String,
}

impl OptionsError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The options every module reads, with their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// DNS servers instead of the system's.
    pub resolvers: Vec<SocketAddr>,
    /// TCP ports to probe.
    pub ports: Vec<u16>,
    pub max_pages: u32,
    pub max_depth: u32,
    /// `host:port` of a WHOIS server instead of the registry referral chain.
    pub whois_server: Option<String>,
    /// Base URL of a crt.sh-format certificate-transparency search API.
    pub ct_log_url: Option<url::Url>,
    /// Extra in-scope targets.
    pub scope: Vec<String>,
    /// How far from the targets findings are still explored (BBOT's scope distance).
    pub max_scope_distance: u8,
    /// Per network operation.
    pub timeout_ms: u64,
    /// `options.<module id>.<option>`, checked against the module's declared options.
    pub module_options: BTreeMap<String, BTreeMap<String, Value>>,
}

pub const DEFAULT_PORTS: &[u16] = &[
    21, 22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 3306, 5432, 8080, 8443,
];

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            resolvers: Vec::new(),
            ports: DEFAULT_PORTS.to_vec(),
            max_pages: 200,
            max_depth: 3,
            whois_server: None,
            ct_log_url: None,
            scope: Vec::new(),
            max_scope_distance: 1,
            timeout_ms: 10_000,
            module_options: BTreeMap::new(),
        }
    }
}

const GLOBAL_KEYS: &[&str] = &[
    "resolvers",
    "ports",
    "maxPages",
    "maxDepth",
    "whoisServer",
    "ctLogUrl",
    "scope",
    "maxScopeDistance",
    "timeoutMs",
];

impl ScanOptions {
    /// Parses `options` (JSON object or null) for a scan using `modules`.
    pub fn parse(
        value: Option<&Value>,
        modules: &[&'static ModuleMeta],
    ) -> Result<Self, OptionsError> {
        let mut options = ScanOptions::default();
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(options);
        };
        let object = value
            .as_object()
            .ok_or_else(|| OptionsError::new("options", "must be a JSON object"))?;
        for (key, value) in object {
            let field = format!("options.{key}");
            match key.as_str() {
                "resolvers" => {
                    options.resolvers = strings(&field, value)?
                        .iter()
                        .enumerate()
                        .map(|(i, text)| socket(&format!("{field}[{i}]"), text, 53))
                        .collect::<Result<_, _>>()?;
                }
                "ports" => {
                    let ports = integers(&field, value)?;
                    if ports.is_empty() || ports.len() > 65_535 {
                        return Err(OptionsError::new(field, "must list 1 to 65535 ports"));
                    }
                    options.ports = ports
                        .iter()
                        .enumerate()
                        .map(|(i, port)| {
                            u16::try_from(*port).ok().filter(|p| *p > 0).ok_or_else(|| {
                                OptionsError::new(
                                    format!("{field}[{i}]"),
                                    "must be an integer from 1 to 65535",
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "maxPages" => options.max_pages = bounded(&field, value, 1, 1_000_000)? as u32,
                "maxDepth" => options.max_depth = bounded(&field, value, 0, 100)? as u32,
                "maxScopeDistance" => {
                    options.max_scope_distance = bounded(&field, value, 0, 5)? as u8
                }
                "timeoutMs" => options.timeout_ms = bounded(&field, value, 100, 300_000)?,
                "whoisServer" => {
                    let text = string(&field, value)?;
                    socket_or_host(&field, text)?;
                    options.whois_server = Some(text.to_owned());
                }
                "ctLogUrl" => {
                    let text = string(&field, value)?;
                    let url = url::Url::parse(text)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                        .ok_or_else(|| OptionsError::new(&field, "must be an http(s) URL"))?;
                    options.ct_log_url = Some(url);
                }
                "scope" => options.scope = strings(&field, value)?,
                module_id => {
                    let Some(meta) = modules.iter().find(|m| m.id == module_id) else {
                        return Err(OptionsError::new(
                            field,
                            format!(
                                "unknown option; known are {} and the ids of the scan's modules",
                                GLOBAL_KEYS.join(", ")
                            ),
                        ));
                    };
                    let settings = module_settings(&field, meta, value)?;
                    options
                        .module_options
                        .insert(module_id.to_owned(), settings);
                }
            }
        }
        Ok(options)
    }

    /// A module option: the scan's value, else the module's declared default.
    pub fn module_value(&self, meta: &ModuleMeta, name: &str) -> Option<Value> {
        if let Some(value) = self
            .module_options
            .get(meta.id)
            .and_then(|settings| settings.get(name))
        {
            return Some(value.clone());
        }
        meta.options
            .iter()
            .find(|spec| spec.name == name)
            .and_then(|spec| serde_json::from_str(spec.default).ok())
    }

    pub fn module_int(&self, meta: &ModuleMeta, name: &str) -> Option<i64> {
        self.module_value(meta, name).and_then(|v| v.as_i64())
    }

    pub fn module_strings(&self, meta: &ModuleMeta, name: &str) -> Vec<String> {
        self.module_value(meta, name)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms)
    }

    /// A global option by its contract name, for module budgets (`maxPages`).
    pub fn global_int(&self, name: &str) -> Option<u64> {
        match name {
            "maxPages" => Some(u64::from(self.max_pages)),
            "maxDepth" => Some(u64::from(self.max_depth)),
            _ => None,
        }
    }
}

fn module_settings(
    field: &str,
    meta: &ModuleMeta,
    value: &Value,
) -> Result<BTreeMap<String, Value>, OptionsError> {
    let object = value
        .as_object()
        .ok_or_else(|| OptionsError::new(field, "must be a JSON object of module options"))?;
    let mut settings = BTreeMap::new();
    for (name, value) in object {
        let field = format!("{field}.{name}");
        let spec = meta
            .options
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                let known: Vec<_> = meta.options.iter().map(|s| s.name).collect();
                OptionsError::new(
                    &field,
                    format!("unknown option; {} knows {known:?}", meta.id),
                )
            })?;
        let ok = match spec.kind {
            OptionKind::Bool => value.is_boolean(),
            OptionKind::Int => value.is_i64(),
            OptionKind::Str => value.is_string(),
            OptionKind::StrList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            OptionKind::IntList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_i64)),
        };
        if !ok {
            return Err(OptionsError::new(
                field,
                format!("must be a {}", spec.kind.as_str()),
            ));
        }
        settings.insert(name.clone(), value.clone());
    }
    Ok(settings)
}

fn string<'a>(field: &str, value: &'a Value) -> Result<&'a str, OptionsError> {
    value
        .as_str()
        .ok_or_else(|| OptionsError::new(field, "must be a string"))
}

fn strings(field: &str, value: &Value) -> Result<Vec<String>, OptionsError> {
    let items = value
        .as_array()
        .ok_or_else(|| OptionsError::new(field, "must be a list of strings"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| OptionsError::new(format!("{field}[{i}]"), "must be a string"))
        })
        .collect()
}

fn integers(field: &str, value: &Value) -> Result<Vec<i64>, OptionsError> {
    let items = value
        .as_array()
        .ok_or_else(|| OptionsError::new(field, "must be a list of integers"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_i64()
                .ok_or_else(|| OptionsError::new(format!("{field}[{i}]"), "must be an integer"))
        })
        .collect()
}

fn bounded(field: &str, value: &Value, min: u64, max: u64) -> Result<u64, OptionsError> {
    value
        .as_u64()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| OptionsError::new(field, format!("must be an integer from {min} to {max}")))
}

/// `ip:port`, `[v6]:port` or a bare IP (with `default_port`).
fn socket(field: &str, text: &str, default_port: u16) -> Result<SocketAddr, OptionsError> {
    text.parse::<SocketAddr>()
        .or_else(|_| {
            domain::scan::normalise::ip_address(text)
                .map(|ip| SocketAddr::new(ip, default_port))
                .ok_or(())
        })
        .map_err(|_| OptionsError::new(field, "must be an IP address with an optional :port"))
}

/// `host:port` where host is an IP or a host name.
fn socket_or_host(field: &str, text: &str) -> Result<(), OptionsError> {
    if text.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = text.rsplit_once(':').unwrap_or((text, "43"));
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    let host_ok = domain::scan::normalise::host_name(host).is_some()
        || domain::scan::normalise::ip_address(host).is_some();
    if port_ok && host_ok {
        Ok(())
    } else {
        Err(OptionsError::new(field, "must be host:port"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_contract_options_parse() {
        let options = ScanOptions::parse(
            Some(&json!({
                "resolvers": ["127.0.0.1:5353"], "ports": [80, 443, 8080],
                "maxPages": 200, "maxDepth": 3, "whoisServer": "127.0.0.1:4343",
                "ctLogUrl": "http://127.0.0.1:8081", "scope": ["example.com", "10.0.0.0/8"]
            })),
            &[],
        )
        .unwrap();
        assert_eq!(options.resolvers, vec!["127.0.0.1:5353".parse().unwrap()]);
        assert_eq!(options.ports, vec![80, 443, 8080]);
        assert_eq!(options.whois_server.as_deref(), Some("127.0.0.1:4343"));
        assert_eq!(options.scope.len(), 2);
    }

    #[test]
    fn wrong_types_and_unknown_keys_name_the_field() {
        let error = |value: Value| ScanOptions::parse(Some(&value), &[]).unwrap_err().field;
        assert_eq!(error(json!({"ports": [80, "x"]})), "options.ports[1]");
        assert_eq!(error(json!({"ports": [0]})), "options.ports[0]");
        assert_eq!(error(json!({"maxPages": "many"})), "options.maxPages");
        assert_eq!(
            error(json!({"resolvers": ["dns.google"]})),
            "options.resolvers[0]"
        );
        assert_eq!(
            error(json!({"ctLogUrl": "file:///etc/passwd"})),
            "options.ctLogUrl"
        );
        assert_eq!(error(json!({"maxpages": 3})), "options.maxpages");
        assert_eq!(error(json!([1, 2])), "options");
    }
}
