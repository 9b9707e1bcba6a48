//! `faultline serve`: the reference server of `faultline-server`, with zero configuration by
//! default — the embedded SQLite store in the working directory and the bundled example
//! incidents preloaded.

use std::io::Write;
use std::path::{Path, PathBuf};

use faultline::core::CoreError;
use faultline::Error;
use faultline_server::{init_logging, shutdown_signal, Server, ServerConfig, ServerError};

/// Arguments of `faultline serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Server configuration (YAML or JSON, see docs/server.md); `FAULTLINE_*` environment
    /// variables override it, and the flags below override both.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:7878).
    #[arg(long)]
    listen: Option<String>,
    /// SQLite file of the embedded store (default ./faultline.db).
    #[arg(long, conflicts_with = "database_url")]
    database: Option<PathBuf>,
    /// Use a PostgreSQL store instead of the embedded one:
    /// `postgres://user:password@host:5432/dbname?sslmode=disable` (no TLS: loopback, a Unix
    /// socket or a private network). Prefer the FAULTLINE_DATABASE_URL environment variable: a
    /// password on the command line is visible to other local users. Needs the `postgres`
    /// cargo feature (default on).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Directory of incident bundles to load and analyse at start. Default: the example
    /// incidents, generated next to the database file.
    #[arg(long)]
    preload: Option<PathBuf>,
    /// Start with an empty store: load no incidents.
    #[arg(long, conflicts_with = "preload")]
    no_preload: bool,
}

fn server_error(e: ServerError) -> Error {
    let mut chain = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        chain.push_str(": ");
        chain.push_str(&inner.to_string());
        src = inner.source();
    }
    match e {
        ServerError::Config { .. } => Error::Config(chain),
        // An unreachable or refusing database is the environment's fault, not a bug.
        ServerError::Store { .. } => Error::Core(CoreError::Adapter {
            adapter: "store".into(),
            message: chain,
        }),
        _ => Error::Core(CoreError::Internal(chain)),
    }
}

/// Writes the example incidents (`faultline::synth::EXAMPLES`) under `dir`, once.
fn example_incidents(dir: &Path) -> Result<PathBuf, Error> {
    let root = dir.join("faultline-examples");
    for (name, scenario) in faultline::synth::EXAMPLES {
        let target = root.join(name);
        if target.join("incident.json").exists() {
            continue;
        }
        faultline::synth::generate(scenario, &faultline::synth::SynthConfig::default())
            .write_to(&target)
            .map_err(|e| Error::Input(format!("cannot write example incident {}: {e}", target.display())))?;
    }
    Ok(root)
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(a: ServeArgs) -> Result<(), Error> {
    let mut cfg = match &a.config {
        Some(p) => ServerConfig::from_file(p).map_err(server_error)?,
        None => ServerConfig::default(),
    };
    cfg = cfg.apply_env().map_err(server_error)?;
    if let Some(l) = a.listen {
        cfg.listen_addr = l;
    }
    if let Some(d) = a.database {
        cfg.database_path = d;
    }
    if let Some(u) = a.database_url {
        cfg.database_url = Some(faultline_server::store::DatabaseUrl::new(u));
    }
    if a.no_preload {
        cfg.preload_dir = None;
    } else if let Some(p) = a.preload {
        cfg.preload_dir = Some(p);
    } else if cfg.preload_dir.is_none() {
        let dir = cfg.database_path.parent().filter(|p| !p.as_os_str().is_empty());
        cfg.preload_dir = Some(example_incidents(dir.unwrap_or(Path::new(".")))?);
    }
    cfg.validate().map_err(server_error)?;
    init_logging(cfg.log_format, &cfg.log_filter);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::Core(CoreError::Internal(format!(
                "cannot start the async runtime: {e}"
            )))
        })?;
    rt.block_on(async {
        let server = Server::bind(cfg).await.map_err(server_error)?;
        // The one line a person starting the server needs; logs go to stdout as JSON.
        let _ = writeln!(
            std::io::stderr(),
            "faultline server: incident room at http://{}/room (API at /v1, OpenAPI at /v1/openapi.json); Ctrl-C stops it",
            server.local_addr()
        );
        server.run_until(shutdown_signal()).await.map_err(server_error)
    })
}
