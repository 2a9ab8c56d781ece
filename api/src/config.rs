//! Configuration: one validated struct, read from an optional TOML file and overlaid with
//! `MIRAGE_*` environment variables (passed in as a map, so tests never touch the process
//! environment), then with command-line flags. Errors name the offending key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use commands::identity::NamedOidcProvider;
use commands::identity::oidc_login::is_valid_provider_name;
use security::OidcProviderConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// One process, SQLite files in the data directory.
    #[default]
    Embedded,
    /// External event store and read-model database.
    Distributed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sqlite,
    Postgres,
    Kurrentdb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Text,
}

/// Whether organizations may register themselves through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    Open,
    #[default]
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub kind: StoreKind,
    /// Connection string of the application role (postgres, kurrentdb).
    pub url: Option<String>,
    /// Owner role that runs migrations (postgres); defaults to `url`.
    pub admin_url: Option<String>,
    /// Role granted append-only access after migrating (postgres).
    pub app_role: Option<String>,
    pub max_event_bytes: usize,
    pub max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::Sqlite,
            url: None,
            admin_url: None,
            app_role: None,
            max_event_bytes: 1024 * 1024,
            max_connections: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReadModelConfig {
    /// `postgres://...` in the distributed profile; the embedded profile uses the data dir.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub profile: Profile,
    pub log_format: LogFormat,
    pub log_level: String,
    pub snapshot_every: u64,
    /// Largest accepted HTTP request body, in bytes.
    pub max_body_bytes: usize,
    /// Development mode: GraphQL introspection and playground on.
    pub dev: bool,
    /// Origins allowed by CORS.
    pub cors_origins: Vec<String>,
    /// `open` lets `registerOrganization` create organizations; otherwise only the CLI can.
    pub signup: Signup,
    /// Seconds a WebSocket may take to send `connection_init` before it is closed (4408).
    pub ws_init_timeout_secs: u64,
    /// Lifetime of access tokens, in seconds (15 minutes by default).
    pub access_token_ttl_secs: u64,
    pub store: StoreConfig,
    pub read_models: ReadModelConfig,
    /// OpenID providers users may log in with (`[[oidc]]`, or `MIRAGE_OIDC_<NAME>_*`).
    pub oidc: Vec<OidcConfig>,
    /// Otherwise-refused address ranges modules may reach (`MIRAGE_EGRESS_ALLOW`,
    /// comma-separated, e.g. `127.0.0.0/8,::1/128`).
    pub egress_allow: Vec<String>,
    /// Work items in flight per running scan.
    pub scan_concurrency: usize,
    /// The widest IPv4 network a scan target may name (16 = a /16).
    pub target_min_ipv4_prefix: u8,
    /// The widest IPv6 network a scan target may name.
    pub target_min_ipv6_prefix: u8,
    /// How often the scheduler looks for scheduled scans that are due, in milliseconds.
    pub scheduler_tick_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./mirage-data"),
            profile: Profile::Embedded,
            log_format: LogFormat::Json,
            log_level: "info".to_owned(),
            snapshot_every: 100,
            max_body_bytes: 256 * 1024,
            dev: false,
            cors_origins: Vec::new(),
            signup: Signup::Closed,
            ws_init_timeout_secs: 5,
            access_token_ttl_secs: 900,
            egress_allow: Vec::new(),
            scan_concurrency: 32,
            target_min_ipv4_prefix: 16,
            target_min_ipv6_prefix: 112,
            scheduler_tick_ms: 15_000,
            store: StoreConfig::default(),
            read_models: ReadModelConfig::default(),
            oidc: Vec::new(),
        }
    }
}

/// One OpenID provider (`[[oidc]]`). Environment variables `MIRAGE_OIDC_<NAME>_ISSUER`,
/// `_CLIENT_ID`, `_CLIENT_SECRET`, `_REDIRECT_URI` and `_SCOPES` (comma-separated) set the fields
/// of the provider named `<name>` (lower-cased), adding it if the file has none of that name.
#[derive(Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Short name clients pass to `oidcBegin`: a-z, 0-9 and `_`, starting with a letter.
    pub name: String,
    /// Issuer identifier; the provider's discovery document must name exactly this.
    pub issuer: String,
    pub client_id: String,
    /// Absent for a public client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Mirage's callback URL as registered at the provider.
    pub redirect_uri: String,
    /// Scopes besides `openid` (always asked for).
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl OidcConfig {
    /// The identity service's view of this provider.
    pub fn provider(&self) -> NamedOidcProvider {
        NamedOidcProvider {
            name: self.name.clone(),
            config: OidcProviderConfig {
                issuer: self.issuer.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                redirect_uri: self.redirect_uri.clone(),
                scopes: self.scopes.clone(),
            },
        }
    }

    /// Checks what can be checked without the provider (discovery checks the rest on first
    /// use); errors name the key, e.g. `oidc.google.issuer`.
    fn validate(&self, index: usize) -> Result<(), ConfigError> {
        if !is_valid_provider_name(&self.name) {
            return Err(invalid(
                &format!("oidc[{index}].name"),
                format!(
                    "{:?} must be 1 to 32 of a-z, 0-9 and _, starting with a letter",
                    self.name
                ),
            ));
        }
        let key = |field: &str| format!("oidc.{}.{field}", self.name);
        let url = |field: &str, value: &str| -> Result<(), ConfigError> {
            let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
            if value.is_empty() {
                return Err(invalid(&key(field), "required"));
            }
            if !scheme_ok || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid(
                    &key(field),
                    format!("{value:?} is not an http(s) url"),
                ));
            }
            Ok(())
        };
        url("issuer", &self.issuer)?;
        url("redirect_uri", &self.redirect_uri)?;
        if self.client_id.trim().is_empty() {
            return Err(invalid(&key("client_id"), "required"));
        }
        if self.client_secret.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(
                &key("client_secret"),
                "must not be empty (leave it out for a public client)",
            ));
        }
        if self
            .scopes
            .iter()
            .any(|scope| scope.is_empty() || scope.chars().any(|c| c.is_whitespace()))
        {
            return Err(invalid(
                &key("scopes"),
                "scopes must be non-empty and without spaces",
            ));
        }
        Ok(())
    }
}

/// The settings `MIRAGE_OIDC_<NAME>_<FIELD>` can set, longest suffix first.
const OIDC_ENV_FIELDS: [&str; 5] = [
    "_CLIENT_SECRET",
    "_REDIRECT_URI",
    "_CLIENT_ID",
    "_ISSUER",
    "_SCOPES",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("config file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub dev: bool,
}

impl Config {
    /// File (if given), then environment, then flags; then validation.
    pub fn load(
        file: Option<&Path>,
        env: &HashMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("MIRAGE_CONFIG").map(PathBuf::from));
        let mut config = match &file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        if let Some(dir) = &overrides.data_dir {
            config.data_dir = dir.clone();
        }
        config.dev |= overrides.dev;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.message().to_owned(),
        })
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value
                .parse()
                .map_err(|e: T::Err| invalid(key, format!("{value:?}: {e}")))
        }
        fn choice<T: for<'de> Deserialize<'de>>(key: &str, value: &str) -> Result<T, ConfigError> {
            T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
                .map_err(|e| invalid(key, e.to_string()))
        }
        for (key, value) in env {
            match key.as_str() {
                "MIRAGE_LISTEN" => self.listen = parse(key, value)?,
                "MIRAGE_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "MIRAGE_PROFILE" => self.profile = choice(key, value)?,
                "MIRAGE_LOG_FORMAT" => self.log_format = choice(key, value)?,
                "MIRAGE_LOG_LEVEL" => self.log_level = value.clone(),
                "MIRAGE_SNAPSHOT_EVERY" => self.snapshot_every = parse(key, value)?,
                "MIRAGE_MAX_BODY_BYTES" => self.max_body_bytes = parse(key, value)?,
                "MIRAGE_DEV" => self.dev = parse(key, value)?,
                "MIRAGE_CORS_ORIGINS" => {
                    self.cors_origins = value
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "MIRAGE_SIGNUP" => self.signup = choice(key, value)?,
                "MIRAGE_WS_INIT_TIMEOUT_SECS" => self.ws_init_timeout_secs = parse(key, value)?,
                "MIRAGE_ACCESS_TOKEN_TTL_SECS" => self.access_token_ttl_secs = parse(key, value)?,
                "MIRAGE_EGRESS_ALLOW" => {
                    self.egress_allow = value
                        .split(',')
                        .map(str::trim)
                        .filter(|range| !range.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "MIRAGE_SCAN_CONCURRENCY" => self.scan_concurrency = parse(key, value)?,
                "MIRAGE_SCHEDULER_TICK_MS" => self.scheduler_tick_ms = parse(key, value)?,
                "MIRAGE_TARGET_MIN_IPV4_PREFIX" => self.target_min_ipv4_prefix = parse(key, value)?,
                "MIRAGE_TARGET_MIN_IPV6_PREFIX" => self.target_min_ipv6_prefix = parse(key, value)?,
                "MIRAGE_STORE_KIND" => self.store.kind = choice(key, value)?,
                "MIRAGE_STORE_URL" => self.store.url = Some(value.clone()),
                "MIRAGE_STORE_ADMIN_URL" => self.store.admin_url = Some(value.clone()),
                "MIRAGE_STORE_APP_ROLE" => self.store.app_role = Some(value.clone()),
                "MIRAGE_STORE_MAX_EVENT_BYTES" => {
                    self.store.max_event_bytes = parse(key, value)?;
                }
                "MIRAGE_STORE_MAX_CONNECTIONS" => {
                    self.store.max_connections = parse(key, value)?;
                }
                "MIRAGE_READ_MODELS_URL" => self.read_models.url = Some(value.clone()),
                _ => {}
            }
        }
        // Sorted, so providers the environment adds come in a stable order.
        let mut oidc: Vec<(&String, &String)> = env
            .iter()
            .filter(|(key, _)| key.starts_with("MIRAGE_OIDC_"))
            .collect();
        oidc.sort();
        for (key, value) in oidc {
            self.apply_oidc_env(key, value)?;
        }
        Ok(())
    }

    /// One `MIRAGE_OIDC_<NAME>_<FIELD>` variable.
    fn apply_oidc_env(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let rest = key.strip_prefix("MIRAGE_OIDC_").unwrap_or(key);
        let Some((name, field)) = OIDC_ENV_FIELDS.iter().find_map(|field| {
            rest.strip_suffix(field)
                .filter(|name| !name.is_empty())
                .map(|name| (name.to_ascii_lowercase(), *field))
        }) else {
            return Err(invalid(
                key,
                "expected MIRAGE_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _REDIRECT_URI or _SCOPES",
            ));
        };
        let index = match self.oidc.iter().position(|p| p.name == name) {
            Some(index) => index,
            None => {
                self.oidc.push(OidcConfig {
                    name,
                    ..OidcConfig::default()
                });
                self.oidc.len() - 1
            }
        };
        let Some(provider) = self.oidc.get_mut(index) else {
            return Err(invalid(key, "cannot add the provider"));
        };
        let value = value.to_owned();
        match field {
            "_ISSUER" => provider.issuer = value,
            "_CLIENT_ID" => provider.client_id = value,
            "_CLIENT_SECRET" => provider.client_secret = Some(value),
            "_REDIRECT_URI" => provider.redirect_uri = value,
            _ => {
                provider.scopes = value
                    .split(',')
                    .map(str::trim)
                    .filter(|scope| !scope.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
        }
        Ok(())
    }

    /// The egress guard the operator configured.
    pub fn egress(&self) -> Result<modules::Egress, ConfigError> {
        modules::Egress::parse_allow_list(&self.egress_allow.join(","))
            .map_err(|e| invalid("egress_allow", e.to_string()))
    }

    /// Checks the combination of settings; the error names the key to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.egress()?;
        if !(1..=1024).contains(&self.scan_concurrency) {
            return Err(invalid("scan_concurrency", "must be between 1 and 1024"));
        }
        if !(100..=3_600_000).contains(&self.scheduler_tick_ms) {
            return Err(invalid(
                "scheduler_tick_ms",
                "must be between 100 and 3600000",
            ));
        }
        if self.target_min_ipv4_prefix > 32 {
            return Err(invalid(
                "target_min_ipv4_prefix",
                "must be between 0 and 32",
            ));
        }
        if self.target_min_ipv6_prefix > 128 {
            return Err(invalid(
                "target_min_ipv6_prefix",
                "must be between 0 and 128",
            ));
        }
        if !(1..=60).contains(&self.ws_init_timeout_secs) {
            return Err(invalid("ws_init_timeout_secs", "must be between 1 and 60"));
        }
        if !(1..=3600).contains(&self.access_token_ttl_secs) {
            return Err(invalid(
                "access_token_ttl_secs",
                "must be between 1 and 3600",
            ));
        }
        if self.snapshot_every == 0 {
            return Err(invalid("snapshot_every", "must be at least 1"));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(invalid(
                "max_body_bytes",
                "must be between 1 KiB and 64 MiB",
            ));
        }
        if !(64..=16 * 1024 * 1024).contains(&self.store.max_event_bytes) {
            return Err(invalid(
                "store.max_event_bytes",
                "must be between 64 bytes and 16 MiB",
            ));
        }
        if self.store.max_connections == 0 {
            return Err(invalid("store.max_connections", "must be at least 1"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(invalid(
                "log_level",
                format!("{:?} is not a level or filter", self.log_level),
            ));
        }
        match (self.profile, self.store.kind) {
            (Profile::Embedded, StoreKind::Sqlite) => {}
            (Profile::Embedded, _) => {
                return Err(invalid(
                    "store.kind",
                    "the embedded profile uses the sqlite store; set profile = \"distributed\"",
                ));
            }
            (Profile::Distributed, StoreKind::Sqlite) => {
                return Err(invalid(
                    "store.kind",
                    "the distributed profile needs postgres or kurrentdb",
                ));
            }
            (Profile::Distributed, _) => {
                if self.store.url.is_none() {
                    return Err(invalid("store.url", "required in the distributed profile"));
                }
                if self.read_models.url.is_none() {
                    return Err(invalid(
                        "read_models.url",
                        "required in the distributed profile",
                    ));
                }
            }
        }
        for origin in &self.cors_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(invalid(
                    "cors_origins",
                    format!("{origin:?} is not an http(s) origin"),
                ));
            }
        }
        for (index, provider) in self.oidc.iter().enumerate() {
            provider.validate(index)?;
            if self
                .oidc
                .iter()
                .take(index)
                .any(|p| p.name == provider.name)
            {
                return Err(invalid(
                    &format!("oidc.{}.name", provider.name),
                    "configured twice",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_profile() {
        let config = Config::load(None, &env(&[]), &Overrides::default()).unwrap();
        assert_eq!(config.profile, Profile::Embedded);
        assert_eq!(config.store.kind, StoreKind::Sqlite);
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirage.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nsnapshot_every = 7\n[store]\nmax_event_bytes = 4096\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            &env(&[
                ("MIRAGE_SNAPSHOT_EVERY", "9"),
                ("MIRAGE_DATA_DIR", "/tmp/x"),
            ]),
            &Overrides {
                data_dir: Some(PathBuf::from("/tmp/y")),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.snapshot_every, 9);
        assert_eq!(config.store.max_event_bytes, 4096);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/y"));
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listne = \"x\"\n").unwrap();
        let error = Config::load(Some(&path), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("listne"), "{error}");

        let cases = [
            ("MIRAGE_LISTEN", "not-an-address", "MIRAGE_LISTEN"),
            ("MIRAGE_PROFILE", "cloud", "MIRAGE_PROFILE"),
            ("MIRAGE_SNAPSHOT_EVERY", "0", "snapshot_every"),
            ("MIRAGE_STORE_KIND", "postgres", "store.kind"),
            ("MIRAGE_LOG_LEVEL", "[[[", "log_level"),
            ("MIRAGE_CORS_ORIGINS", "evil.example", "cors_origins"),
        ];
        for (key, value, named) in cases {
            let error =
                Config::load(None, &env(&[(key, value)]), &Overrides::default()).expect_err(key);
            assert!(error.to_string().starts_with(named), "{key}: {error}");
        }
        let distributed = Config::load(
            None,
            &env(&[
                ("MIRAGE_PROFILE", "distributed"),
                ("MIRAGE_STORE_KIND", "postgres"),
            ]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            distributed.to_string().starts_with("store.url"),
            "{distributed}"
        );
        let missing = Config::load(
            Some(Path::new("/nonexistent/mirage.toml")),
            &env(&[]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(missing, ConfigError::File { .. }));
    }

    #[test]
    fn oidc_providers_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirage.toml");
        std::fs::write(
            &path,
            "[[oidc]]\nname = \"corp\"\nissuer = \"https://idp.corp.example\"\n\
             client_id = \"mirage\"\nredirect_uri = \"https://mirage.example/cb\"\n\
             scopes = [\"email\"]\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            &env(&[
                ("MIRAGE_OIDC_CORP_CLIENT_SECRET", "s3cret"),
                ("MIRAGE_OIDC_GITLAB_ISSUER", "https://gitlab.example"),
                ("MIRAGE_OIDC_GITLAB_CLIENT_ID", "abc"),
                (
                    "MIRAGE_OIDC_GITLAB_REDIRECT_URI",
                    "https://mirage.example/cb2",
                ),
                ("MIRAGE_OIDC_GITLAB_SCOPES", "email, profile"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.oidc.len(), 2);
        let corp = &config.oidc[0];
        assert_eq!(corp.name, "corp");
        assert_eq!(corp.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(corp.scopes, ["email"]);
        assert!(!format!("{config:?}").contains("s3cret"), "debug hides it");
        let gitlab = config.oidc[1].provider();
        assert_eq!(gitlab.name, "gitlab");
        assert_eq!(gitlab.config.issuer, "https://gitlab.example");
        assert_eq!(gitlab.config.client_id, "abc");
        assert_eq!(gitlab.config.client_secret, None);
        assert_eq!(gitlab.config.scopes, ["email", "profile"]);
    }

    #[test]
    fn oidc_errors_name_the_key() {
        let complete = [
            ("MIRAGE_OIDC_IDP_ISSUER", "https://idp.example"),
            ("MIRAGE_OIDC_IDP_CLIENT_ID", "mirage"),
            ("MIRAGE_OIDC_IDP_REDIRECT_URI", "https://mirage.example/cb"),
        ];
        Config::load(None, &env(&complete), &Overrides::default()).unwrap();
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&complete[1..], "oidc.idp.issuer"),
            (&complete[..2], "oidc.idp.redirect_uri"),
            (&[complete[0], complete[2]], "oidc.idp.client_id"),
            (
                &[("MIRAGE_OIDC_IDP_ISSUER", "ftp://idp.example")],
                "oidc.idp.issuer",
            ),
            (
                &[("MIRAGE_OIDC_IDP_CLIENTID", "x")],
                "MIRAGE_OIDC_IDP_CLIENTID",
            ),
            (&[("MIRAGE_OIDC__ISSUER", "x")], "MIRAGE_OIDC__ISSUER"),
        ];
        for (pairs, named) in cases {
            let error = Config::load(None, &env(pairs), &Overrides::default()).unwrap_err();
            assert!(error.to_string().starts_with(named), "{named}: {error}");
        }
        let mut with_secret = complete.to_vec();
        with_secret.push(("MIRAGE_OIDC_IDP_CLIENT_SECRET", ""));
        let error = Config::load(None, &env(&with_secret), &Overrides::default()).unwrap_err();
        assert!(
            error.to_string().starts_with("oidc.idp.client_secret"),
            "{error}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirage.toml");
        let provider = "[[oidc]]\nname = \"idp\"\nissuer = \"https://a.example\"\n\
                        client_id = \"x\"\nredirect_uri = \"https://m.example/cb\"\n";
        std::fs::write(&path, format!("{provider}{provider}")).unwrap();
        let error = Config::load(Some(&path), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(error.to_string().starts_with("oidc.idp.name"), "{error}");
        std::fs::write(&path, provider.replace("idp", "Bad Name")).unwrap();
        let error = Config::load(Some(&path), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(error.to_string().starts_with("oidc[0].name"), "{error}");
        std::fs::write(&path, format!("{provider}clientid = \"y\"\n")).unwrap();
        let error = Config::load(Some(&path), &env(&[]), &Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("clientid"), "{error}");
    }
}
