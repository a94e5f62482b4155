//! Accounts server: a self-hostable user-account service.
//!
//! # Layout
//! Data flows one way: `http` → `accounts` → `password` / `store`.
//!
//! - [`config`]: typed flags and environment, checked at start-up.
//! - [`http`]: the router; one module per resource; a JSON extractor with our own errors.
//! - [`error`]: `ApiError`, the only place failures become HTTP (RFC 9457 problem+json).
//! - [`accounts`]: the use cases (register, login, change password, delete, sessions), with no
//!   HTTP types, testable with a store and a hasher alone.
//! - [`password`]: Argon2id on a bounded blocking pool, dummy-hash verification, rehash check.
//! - [`throttle`], [`common_passwords`], [`client`]: brute-force limits kept in the store, the
//!   common-password list, and the client address behind trusted proxies.
//! - [`store`]: the `Store` trait with MongoDB and embedded SQLite implementations.
//! - [`token`], [`clock`]: session tokens and time.
//! - [`telemetry`]: logs (text or JSON, `audit` events) and the Prometheus recorder.
//!
//! [`App::build`] wires these together; `main.rs` only parses the config and serves.

pub mod accounts;
pub mod client;
pub mod clock;
pub mod common_passwords;
pub mod config;
pub mod error;
pub mod http;
pub mod password;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod token;

use std::{
    future::Future,
    io,
    net::SocketAddr,
    sync::{Arc, Weak},
    time::Duration,
};

use tokio::net::TcpListener;

use crate::{
    accounts::{Accounts, Settings},
    config::{Config, ConfigError},
    http::{cookies::CookieSettings, AppState},
    password::{HashError, Hasher},
    store::{mongo::MongoStore, sqlite::SqliteStore, Store, StoreError},
};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot prepare password hashing: {0}")]
    Hash(#[from] HashError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// A bound, ready-to-serve server.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    /// The Prometheus listener, when enabled.
    metrics: Option<(TcpListener, axum::Router)>,
    store_name: &'static str,
    shutdown_grace: Duration,
    /// To tell when the last request task has let go of the store (see [`App::serve`]).
    accounts: Weak<Accounts>,
}

impl App {
    /// Validates the config, opens the store, binds the port. Nothing is served yet, so a test
    /// can read [`App::local_addr`] (port 0 picks a free one) before calling [`App::serve`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        config.validate()?;
        let (store, store_name) = open_store(&config).await?;
        let hasher = Hasher::new(
            config.argon2_params()?,
            config.hash_threads(),
            config.hash_queue(),
        )?;
        let session_ttl = Duration::from_secs(config.session_ttl);
        let accounts = Accounts::new(
            store,
            hasher,
            Settings {
                policy: config.password_policy(),
                password_max_age: config.password_max_age(),
                session_ttl,
                throttle: config.throttle_policy(),
            },
        );
        let static_app = http::static_files::StaticApp::load(&config.static_dir);
        if static_app.is_none() {
            tracing::warn!(
                dir = %config.static_dir.display(),
                "no built browser app found; serving the API only (build it with `trunk build --release`)"
            );
        }
        let accounts = Arc::new(accounts);
        let weak_accounts = Arc::downgrade(&accounts);
        let router = http::router(AppState {
            accounts,
            cookies: CookieSettings::new(config.cookie_secure, session_ttl),
            static_app: static_app.map(Arc::new),
            trusted_proxies: Arc::from(config.trusted_proxies.clone()),
            cors_origins: Arc::from(config.cors_origins.clone()),
            body_timeout: Duration::from_secs(config.body_timeout),
        });
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(metrics_endpoint(addr).await?),
            None => None,
        };
        Ok(Self {
            listener,
            router,
            metrics,
            store_name,
            shutdown_grace: Duration::from_secs(config.shutdown_grace),
            accounts: weak_accounts,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `GET /metrics` is served, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests finish
    /// (for at most the configured grace period) and returns once the store is closed, so the
    /// same data folder can be opened again at once.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        tracing::info!(addr = %self.local_addr()?, store = self.store_name, "accounts-server listening");
        if let Some((listener, router)) = self.metrics {
            tracing::info!(addr = %listener.local_addr()?, "metrics at /metrics");
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
        // The peer address feeds the per-IP limits.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let signalled = Arc::new(tokio::sync::Notify::new());
        let notify = signalled.clone();
        let serve = axum::serve(self.listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            notify.notify_one();
        });
        let grace = self.shutdown_grace;
        let accounts = self.accounts;
        tokio::select! {
            result = async {
                serve.await?;
                // Connection tasks drop their handle on the router a moment after they report
                // closed.
                while accounts.strong_count() > 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(())
            } => result,
            () = async {
                signalled.notified().await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "in-flight requests did not finish in time; exiting anyway");
                Ok(())
            }
        }
    }
}

/// The separate metrics listener: Prometheus text at `GET /metrics`.
async fn metrics_endpoint(addr: SocketAddr) -> Result<(TcpListener, axum::Router), StartupError> {
    let handle = telemetry::prometheus().ok_or_else(|| {
        StartupError::Config(ConfigError("cannot install the metrics recorder".into()))
    })?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    );
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    Ok((listener, router))
}

async fn open_store(config: &Config) -> Result<(Arc<dyn Store>, &'static str), StoreError> {
    match config.mongodb_uri() {
        Some(uri) => {
            let store = MongoStore::connect(uri, &config.mongodb_db).await?;
            // Not fatal: the server starts unready and recovers once MongoDB answers.
            if let Err(e) = store.ping().await {
                tracing::warn!(error = %e, "MongoDB is not reachable yet; /health/ready will say so");
            }
            Ok((Arc::new(store), "mongodb"))
        }
        None => Ok((Arc::new(SqliteStore::open(&config.data_dir)?), "embedded")),
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
