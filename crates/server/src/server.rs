//! Starting and stopping: [`Server::bind`], [`Server::run_until`], [`serve`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use faultline::core::IncidentId;

use crate::api::{self, AppState, Shared};
use crate::auth::Auth;
use crate::config::LogFormat;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::{Result, ServerConfig, ServerError};

/// A bound, not yet running server.
///
/// ```no_run
/// # async fn run() -> Result<(), faultline_server::ServerError> {
/// use faultline_server::{Server, ServerConfig};
/// let server = Server::bind(ServerConfig { listen_addr: "127.0.0.1:0".into(), ..Default::default() }).await?;
/// println!("listening on http://{}", server.local_addr());
/// server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Shared,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .finish()
    }
}

impl Server {
    /// Validates `config`, opens the store ([`crate::store::open`]: PostgreSQL when
    /// `database_url` is set, else the embedded SQLite file), loads the API keys, preloads the example
    /// incidents and binds the listening socket.
    pub async fn bind(config: ServerConfig) -> Result<Self> {
        config.validate()?;
        let store = crate::store::open(&config).await?;
        Self::bind_with_store(config, store).await
    }

    /// [`Server::bind`] with a store of the host's choosing.
    pub async fn bind_with_store(config: ServerConfig, store: Arc<dyn Store>) -> Result<Self> {
        config.validate()?;
        let addr = config.socket_addr()?;
        let auth = match &config.api_keys_file {
            Some(path) => Auth::from_file(path)?,
            None => Auth::anonymous(config.anonymous_rate_per_sec),
        };
        let pipeline = faultline::Pipeline::builder()
            .config(config.pipeline.clone())
            .build()
            .map_err(|e| ServerError::config("pipeline", e.chain()))?;
        let limits = faultline_ingest::Limits {
            max_body_bytes: config.max_body_bytes,
            ..Default::default()
        };
        let purged = store
            .purge_idempotency(api::now_secs() - config.idempotency_ttl_secs as i64)
            .await?;
        if purged > 0 {
            tracing::info!(purged, "expired idempotency keys removed");
        }
        let fix = api::FixState::new(store.clone(), &config.keys_path(), config.fix_runners.clone())?;
        let state = Arc::new(AppState {
            store,
            pipeline: Arc::new(pipeline),
            auth,
            metrics: Metrics::default(),
            limits,
            ready: AtomicBool::new(false),
            request_seq: AtomicU64::new(0),
            fix,
            online: std::sync::OnceLock::new(),
            live: crate::live::LiveHub::default(),
            config,
        });
        let online = crate::online::Online::start(&state, state.config.online.clone())?;
        let _ = state.online.set(online);
        if let Some(dir) = state.config.preload_dir.clone() {
            preload(&state, &dir).await?;
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Io {
                path: addr.to_string().into(),
                source,
            })?;
        Ok(Self { listener, state })
    }

    /// The bound address (the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests
    /// finish (at most `shutdown_grace_secs`) and returns. A batch answered 2xx was committed
    /// before its answer, so nothing acknowledged is lost.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let state = self.state.clone();
        let grace = Duration::from_secs(state.config.shutdown_grace_secs);
        let app = api::router(state.clone());
        state.ready.store(true, Ordering::SeqCst);
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let st2 = state.clone();
        let signal = async move {
            shutdown.await;
            st2.ready.store(false, Ordering::SeqCst);
            st2.live.shutdown(); // stream clients would otherwise hold the drain open
            tracing::info!("shutdown requested; draining in-flight requests");
            let _ = tx.send(true);
        };
        let server = axum::serve(self.listener, app).with_graceful_shutdown(signal);
        let deadline = async move {
            let _ = rx.wait_for(|v| *v).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = server => r.map_err(|source| ServerError::Io { path: "listener".into(), source })?,
            () = deadline => tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests cut off after the grace period"),
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// Loads every bundle under `dir` (`<dir>/<name>/incident.json`) whose incident is not stored
/// yet: its signals into the store, the incident, and its analysis.
async fn preload(state: &Shared, dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| ServerError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut bundles: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("incident.json").exists() || p.join("incident.json.gz").exists())
        .collect();
    bundles.sort();
    for path in bundles {
        let b = match faultline::bundle::read_bundle(&path) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(bundle = %path.display(), error = %faultline::Error::from(e).chain(), "preload: bundle skipped");
                continue;
            }
        };
        if state.store.incident(&b.incident.id).await?.is_some() {
            continue;
        }
        state.store.ingest(b.signals, None).await?;
        state.store.put_incident(&b.incident).await?;
        let id: IncidentId = b.incident.id.clone();
        api::analyze_incident(state, b.incident, None).await?;
        tracing::info!(incident = %id.0, bundle = %path.display(), "preloaded example incident");
    }
    Ok(())
}

/// Installs the configured log subscriber (JSON lines by default) unless one is installed.
pub fn init_logging(format: LogFormat, filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let result = match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init(),
        LogFormat::None => Ok(()),
    };
    if result.is_err() {
        tracing::debug!("a tracing subscriber was already installed");
    }
}

/// Resolves on Ctrl-C or SIGTERM: the shutdown signal `serve` uses, for hosts that call
/// [`Server::run_until`] themselves.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Runs the server with `config` until Ctrl-C or SIGTERM: installs JSON logging (per
/// `config.log_format`), opens the embedded store, preloads the example incidents, listens,
/// and logs the URL of the incident room.
pub async fn serve(config: ServerConfig) -> Result<()> {
    init_logging(config.log_format, &config.log_filter);
    let server = Server::bind(config).await?;
    tracing::info!(url = %format!("http://{}/", server.local_addr()), "faultline server listening");
    server.run_until(shutdown_signal()).await
}
