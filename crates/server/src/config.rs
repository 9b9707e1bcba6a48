//! [`ServerConfig`]: what the server listens on, where it stores, who may call it.
//!
//! One serde document (YAML or JSON; unknown keys are errors), then `FAULTLINE_*` environment
//! variables on top ([`ServerConfig::apply_env`]), validated once ([`ServerConfig::validate`]).
//! Every field has a default, so `ServerConfig::default()` is a working zero-configuration
//! server on loopback with the store in `./faultline.db`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Result, ServerError};

/// How the server writes its own logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log shippers).
    #[default]
    Json,
    /// Human-readable lines.
    Text,
    /// [`crate::serve`] installs no subscriber (the host already has one).
    None,
}

/// Configuration of the server. Clap-free: the CLI (or any host) fills it in.
///
/// ```
/// use faultline_server::ServerConfig;
/// let cfg = ServerConfig::from_yaml("listen_addr: 127.0.0.1:0\nmax_body_bytes: 1048576\n").unwrap();
/// assert_eq!(cfg.max_body_bytes, 1 << 20);
/// assert!(ServerConfig::from_yaml("listen_adr: x\n").is_err()); // unknown keys are errors
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:7878`; port 0 picks a free port).
    pub listen_addr: String,
    /// SQLite database file of the embedded store (created if missing).
    pub database_path: PathBuf,
    /// PostgreSQL connection string (`postgres://user:password@host:port/dbname?sslmode=disable`
    /// or libpq `key=value` pairs) of a PostgreSQL store instead of the embedded one. Needs the
    /// cargo feature `postgres` (a build without it refuses the setting). Its password is
    /// never logged; prefer `FAULTLINE_DATABASE_URL` to a file or a command line.
    pub database_url: Option<crate::store::DatabaseUrl>,
    /// Schema of the PostgreSQL store's tables (created if missing; a lower-case identifier);
    /// default: the connection's `search_path`.
    pub database_schema: Option<String>,
    /// Most connections the PostgreSQL store opens.
    pub database_max_connections: usize,
    /// `synchronous = FULL` for the embedded store: every commit survives power loss (slower).
    /// The default survives a process crash.
    pub database_sync_full: bool,
    /// API keys file (YAML or JSON, see [`crate::auth::KeysFile`]). Without it the server
    /// accepts anonymous admin requests, which is allowed only on a loopback address.
    pub api_keys_file: Option<PathBuf>,
    /// Directory of incident bundles (`<dir>/<name>/incident.json`) loaded and analysed at start.
    pub preload_dir: Option<PathBuf>,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Origins allowed by CORS; empty (the default) sends no CORS headers at all.
    pub cors_allow_origins: Vec<String>,
    /// Requests per second allowed to an anonymous caller (keys carry their own limit).
    pub anonymous_rate_per_sec: f64,
    /// How long an `Idempotency-Key` is remembered, seconds.
    pub idempotency_ttl_secs: u64,
    /// How long graceful shutdown waits for in-flight requests, seconds.
    pub shutdown_grace_secs: u64,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (`info`, `faultline_server=debug`), as `RUST_LOG`.
    pub log_filter: String,
    /// The analysis pipeline's configuration.
    pub pipeline: faultline::PipelineConfig,
    /// Runners the fix routes may execute through (`dry-run`, `shell`, `gitops`, `http`).
    /// Only `dry-run` by default: an HTTP caller gets no shell unless the operator says so.
    pub fix_runners: Vec<String>,
    /// File of the server's audit and approval signing keys (created, mode 0600, when
    /// missing); default `<database_path>.keys.json`.
    pub server_keys_file: Option<PathBuf>,
    /// Online detection on ingested series and automatic incident opening.
    pub online: crate::OnlineConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen_addr: "127.0.0.1:7878".into(),
            database_path: PathBuf::from("faultline.db"),
            database_url: None,
            database_schema: None,
            database_max_connections: 8,
            database_sync_full: false,
            api_keys_file: None,
            preload_dir: None,
            max_body_bytes: 16 << 20,
            cors_allow_origins: Vec::new(),
            anonymous_rate_per_sec: 1000.0,
            idempotency_ttl_secs: 24 * 3600,
            shutdown_grace_secs: 30,
            log_format: LogFormat::Json,
            log_filter: "info".into(),
            pipeline: faultline::PipelineConfig::default(),
            fix_runners: vec!["dry-run".into()],
            server_keys_file: None,
            online: crate::OnlineConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Parses YAML (or JSON) and validates it.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let cfg: Self =
            serde_norway::from_str(text).map_err(|e| ServerError::config("config", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ServerError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text).map_err(|e| match e {
            ServerError::Config { field, reason } => ServerError::Config {
                field: format!("{}: {field}", path.display()),
                reason,
            },
            other => other,
        })
    }

    /// Overrides fields from `FAULTLINE_LISTEN_ADDR`, `FAULTLINE_DATABASE_PATH`,
    /// `FAULTLINE_DATABASE_URL`, `FAULTLINE_DATABASE_SCHEMA`, `FAULTLINE_API_KEYS_FILE`, `FAULTLINE_PRELOAD_DIR`,
    /// `FAULTLINE_MAX_BODY_BYTES`, `FAULTLINE_LOG_FORMAT` and `FAULTLINE_LOG`, then validates.
    pub fn apply_env(mut self) -> Result<Self> {
        self.apply_vars(|k| std::env::var(k).ok())?;
        self.validate()?;
        Ok(self)
    }

    fn apply_vars(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = get("FAULTLINE_LISTEN_ADDR") {
            self.listen_addr = v;
        }
        if let Some(v) = get("FAULTLINE_DATABASE_PATH") {
            self.database_path = v.into();
        }
        if let Some(v) = get("FAULTLINE_DATABASE_URL") {
            self.database_url = Some(crate::store::DatabaseUrl::new(v));
        }
        if let Some(v) = get("FAULTLINE_DATABASE_SCHEMA") {
            self.database_schema = Some(v);
        }
        if let Some(v) = get("FAULTLINE_API_KEYS_FILE") {
            self.api_keys_file = Some(v.into());
        }
        if let Some(v) = get("FAULTLINE_PRELOAD_DIR") {
            self.preload_dir = Some(v.into());
        }
        if let Some(v) = get("FAULTLINE_MAX_BODY_BYTES") {
            self.max_body_bytes = v.parse().map_err(|_| {
                ServerError::config("FAULTLINE_MAX_BODY_BYTES", format!("not a byte count: {v:?}"))
            })?;
        }
        if let Some(v) = get("FAULTLINE_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                "none" => LogFormat::None,
                _ => {
                    return Err(ServerError::config(
                        "FAULTLINE_LOG_FORMAT",
                        format!("expected json, text or none, got {v:?}"),
                    ))
                }
            };
        }
        if let Some(v) = get("FAULTLINE_LOG") {
            self.log_filter = v;
        }
        Ok(())
    }

    /// The server keys file: [`ServerConfig::server_keys_file`] or `<database_path>.keys.json`.
    pub fn keys_path(&self) -> PathBuf {
        self.server_keys_file.clone().unwrap_or_else(|| {
            let mut p = self.database_path.clone().into_os_string();
            p.push(".keys.json");
            PathBuf::from(p)
        })
    }

    /// The listen address, parsed.
    pub fn socket_addr(&self) -> Result<SocketAddr> {
        self.listen_addr.parse().map_err(|_| {
            ServerError::config(
                "listen_addr",
                format!("not an ip:port address: {:?}", self.listen_addr),
            )
        })
    }

    /// Checks every field once.
    pub fn validate(&self) -> Result<()> {
        let addr = self.socket_addr()?;
        if self.api_keys_file.is_none() && !addr.ip().is_loopback() {
            return Err(ServerError::config(
                "api_keys_file",
                format!(
                    "required when listening beyond loopback ({addr}): anonymous access is loopback-only"
                ),
            ));
        }
        self.validate_database()?;
        if self.max_body_bytes < 1024 {
            return Err(ServerError::config("max_body_bytes", "must be at least 1024"));
        }
        if !(self.anonymous_rate_per_sec > 0.0 && self.anonymous_rate_per_sec.is_finite()) {
            return Err(ServerError::config(
                "anonymous_rate_per_sec",
                "must be a positive number",
            ));
        }
        for r in &self.fix_runners {
            if !["dry-run", "shell", "gitops", "http"].contains(&r.as_str()) {
                return Err(ServerError::config(
                    "fix_runners",
                    format!("unknown runner {r:?}"),
                ));
            }
        }
        self.online.validate()?;
        self.pipeline
            .validate()
            .map_err(|e| ServerError::config("pipeline", e.chain()))?;
        Ok(())
    }
}

impl ServerConfig {
    /// The PostgreSQL settings: parsed (not connected) when the feature is built, refused
    /// when it is not.
    fn validate_database(&self) -> Result<()> {
        if self.database_max_connections == 0 {
            return Err(ServerError::config(
                "database_max_connections",
                "must be at least 1",
            ));
        }
        #[cfg(feature = "postgres")]
        {
            if let Some(url) = &self.database_url {
                crate::store::postgres_url_check(url)?;
            }
            if let Some(schema) = &self.database_schema {
                crate::store::postgres_schema_check(schema)?;
            }
        }
        #[cfg(not(feature = "postgres"))]
        if self.database_url.is_some() {
            return Err(no_postgres());
        }
        Ok(())
    }
}

/// The refusal of `database_url` by a build without the PostgreSQL store.
#[cfg(not(feature = "postgres"))]
pub(crate) fn no_postgres() -> ServerError {
    ServerError::config(
        "database_url",
        "this build has no PostgreSQL store: rebuild with the cargo feature `postgres` \
         (faultline-server/postgres; the CLI's `postgres` feature), or unset it to use the embedded store at database_path",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_loopback() {
        let c = ServerConfig::default();
        c.validate().unwrap();
        assert!(c.socket_addr().unwrap().ip().is_loopback());
    }

    #[test]
    fn anonymous_access_beyond_loopback_is_refused() {
        let c = ServerConfig {
            listen_addr: "0.0.0.0:7878".into(),
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("api_keys_file"), "{e}");
    }

    #[test]
    fn env_overrides_and_names_bad_values() {
        let mut c = ServerConfig::default();
        c.apply_vars(|k| match k {
            "FAULTLINE_LISTEN_ADDR" => Some("127.0.0.1:9000".into()),
            "FAULTLINE_MAX_BODY_BYTES" => Some("2048".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (c.listen_addr.as_str(), c.max_body_bytes),
            ("127.0.0.1:9000", 2048)
        );
        let e = c
            .apply_vars(|k| (k == "FAULTLINE_MAX_BODY_BYTES").then(|| "lots".to_string()))
            .unwrap_err();
        assert!(e.to_string().contains("FAULTLINE_MAX_BODY_BYTES"), "{e}");
    }

    #[test]
    fn database_url_is_redacted_in_debug_and_checked() {
        let c = ServerConfig::from_yaml("database_url: postgres://app:hunter2@127.0.0.1:5432/fl\n");
        #[cfg(feature = "postgres")]
        {
            let c = c.unwrap();
            assert!(!format!("{c:?}").contains("hunter2"));
            let e = ServerConfig::from_yaml("database_url: postgres://app:hunter2@h:nope/fl\n").unwrap_err();
            assert!(
                e.to_string().contains("database_url") && !e.to_string().contains("hunter2"),
                "{e}"
            );
            let e = ServerConfig::from_yaml("database_schema: Bad-Name\n").unwrap_err();
            assert!(e.to_string().contains("database_schema"), "{e}");
        }
        #[cfg(not(feature = "postgres"))]
        {
            let e = c.unwrap_err().to_string();
            assert!(e.contains("database_url") && e.contains("postgres"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
