//! Configuration: one validated struct, read from an optional TOML file and overlaid with
//! `MIRAGE_*` environment variables (passed in as a map, so tests never touch the process
//! environment), then with command-line flags. Errors name the offending key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
            store: StoreConfig::default(),
            read_models: ReadModelConfig::default(),
        }
    }
}

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
        Ok(())
    }

    /// Checks the combination of settings; the error names the key to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
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
}
