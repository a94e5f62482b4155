//! Start-up and shutdown: validate the configuration, open the store, load the data key and
//! check it against the store, start the hashing threads, bind the listeners and the admin
//! socket ([`App::build`]); serve until a signal,
//! then drain in-flight requests, remove the admin socket and release the store
//! ([`App::serve`]).

use std::{
    future::Future,
    io,
    net::SocketAddr,
    sync::{Arc, Weak},
    time::Duration,
};

use tokio::net::TcpListener;

use crate::{
    accounts::{Accounts, KeyCheckError, Settings},
    admin::{AdminSocket, AdminSocketError, Commands},
    clock::{Clock, SystemClock},
    config::{Config, ConfigError},
    data_key::DataKeys,
    http::{self, cookies::CookieSettings, AppState},
    password::{HashError, Hasher},
    private_files, server,
    store::{mongo::MongoStore, sqlite::SqliteStore, Ping, Store, StoreError},
    telemetry,
};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store cannot be opened (the data folder, or the MongoDB URI).
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    /// The data key file cannot be used, or does not fit the database.
    #[error(transparent)]
    DataKey(#[from] KeyCheckError),
    /// The SMTP settings cannot be used.
    #[error(transparent)]
    Mail(#[from] crate::mail::SmtpConfigError),
    /// The hashing threads or the dummy hash could not be made.
    #[error("cannot prepare password hashing")]
    Hash(#[from] HashError),
    /// The admin socket cannot be set up.
    #[error(transparent)]
    AdminSocket(#[from] AdminSocketError),
    /// The port is taken or not ours to use.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// Why it failed.
        source: io::Error,
    },
}

/// A bound, ready-to-serve server.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    /// The Prometheus listener, when enabled.
    metrics: Option<(TcpListener, axum::Router)>,
    /// The operator's socket and what its commands act on.
    admin: (AdminSocket, Commands),
    store_name: &'static str,
    /// Where users reach the service (reset links, passkeys).
    public_url: String,
    limits: server::Limits,
    shutdown_grace: Duration,
    /// To tell when the last request task has let go of the store (see [`App::serve`]).
    accounts: Weak<Accounts>,
    /// Hands the outbox to the SMTP relay, when one is configured.
    mail_sender: Option<crate::mail::Sender>,
    /// The forward-auth rules, read again on SIGHUP.
    authz: crate::authz::RuleSet,
}

impl App {
    /// Validates the config, opens the store, binds the port. Nothing is served yet, so a test
    /// can read [`App::local_addr`] (port 0 picks a free one) before calling [`App::serve`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with(config, Arc::new(SystemClock)).await
    }

    /// [`App::build`] with the service's time taken from `clock`: what expiry, lockout, rate
    /// windows and one-time codes go by. Tests pass a [`crate::clock::ManualClock`] to move
    /// time on instead of sleeping. Timeouts (request bodies, headers, the hashing queue, the
    /// shutdown grace) and MongoDB's own sweep of expired records stay on real time.
    pub async fn build_with(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        config.validate()?;
        crate::password::return_large_blocks_to_the_system();
        let (store, store_name) = open_store(&config).await?;
        private_files::warn_if_open(&config.data_dir);
        let keys = Arc::new(DataKeys::load(&config.data_key_file()).map_err(KeyCheckError::from)?);
        let hasher = Hasher::new(
            config.argon2_params()?,
            config.hash_threads(),
            config.hash_max_wait(),
        )?;
        let session_ttl = Duration::from_secs(config.session_ttl);
        let authz = crate::authz::RuleSet::load(config.authz_rules.clone())
            .map_err(|e| ConfigError(format!("--authz-rules: {e}")))?;
        // Bound first: with port 0 the public URL's port is known only now.
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let bound = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.listen,
            source,
        })?;
        let public_url = config.public_url(bound);
        let site = http::site::Site::new(&public_url, bound.port())
            .map_err(|why| ConfigError(format!("--public-url: {why}")))?;
        let accounts = Accounts::new(
            store,
            hasher,
            clock,
            Settings {
                policy: config.password_policy(),
                password_max_age: config.password_max_age(),
                session_ttl,
                throttle: config.throttle_policy(),
                reauth_window: config.reauth_window(),
            },
            keys.clone(),
        );
        // Before anything is sealed. With MongoDB down, again until it answers (meanwhile
        // nothing is sealed); a key file that does not fit stops the start.
        let check_later = match accounts.secrets.check_at_start().await {
            Ok(done) => {
                accounts.secrets.log_check(done);
                false
            }
            Err(KeyCheckError::Store(StoreError::Unavailable(e))) => {
                tracing::warn!(error = %telemetry::chain(&*e), "cannot check the data key against the database yet; will try again (no two-factor set-up until then)");
                true
            }
            Err(e) => return Err(e.into()),
        };
        // Derived from the data key file, which instances sharing a database share: a passkey
        // login or a login ticket from one instance is finished on another.
        let sealer = crate::seal::Sealer::new(keys.derive_key("sealed-tokens"));
        let accounts = match relying_party(&public_url) {
            Ok(webauthn) => accounts.with_passkeys(webauthn),
            Err(why) => {
                tracing::warn!(
                    public_url,
                    why,
                    "passkeys are off: set --public-url to an address with a domain name"
                );
                accounts
            }
        };
        let accounts = accounts.with_sealer(sealer).with_issuer(&public_url);
        if !check_later {
            // A first start makes the signing keys now, so the first sign-in does not wait.
            if let Err(e) = accounts.oidc.ensure_keys().await {
                tracing::warn!(error = %telemetry::chain(&e), "cannot make the OpenID Connect signing keys yet; the first sign-in will");
            }
        }
        let (accounts, mail_sender) = match mail_sender(&config, &public_url)? {
            Some((transport, from, domain)) => {
                let (accounts, outbox) =
                    accounts.with_mail(&public_url, Duration::from_secs(config.reset_link_ttl));
                tracing::info!(smtp = %crate::mail::redacted_url(config.smtp_url.as_deref().unwrap_or_default()), from = %from, "mail is on");
                (accounts, Some(outbox.sender(transport, from, &domain)))
            }
            None => {
                tracing::info!("mail is off (no --smtp-url): no email verification, no self-service password recovery");
                (accounts, None)
            }
        };
        let static_app = http::static_files::StaticApp::load(&config.static_dir);
        if static_app.is_none() {
            tracing::warn!(
                dir = %config.static_dir.display(),
                "no built browser app found; serving the API only (build it with `trunk build --release`)"
            );
        }
        // Not fatal: with MongoDB down at start-up it runs again at the next start.
        match accounts.sign_in.migrate_user_names().await {
            Ok(m) if m.renamed + m.kept > 0 => {
                tracing::info!(
                    renamed = m.renamed,
                    kept = m.kept,
                    "user names moved to case folding"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %telemetry::chain(&e), "user name migration did not run")
            }
        }
        let accounts = Arc::new(accounts);
        let weak_accounts = Arc::downgrade(&accounts);
        if check_later {
            tokio::spawn(check_data_key_later(weak_accounts.clone()));
        }
        let router = http::router(AppState::new(http::Shared {
            accounts: accounts.clone(),
            cookies: CookieSettings::new(config.cookie_secure, session_ttl)
                .with_domain(config.cookie_domain.clone()),
            authz: authz.clone(),
            static_app: static_app.map(Arc::new),
            trusted_proxies: Arc::from(config.trusted_proxies.clone()),
            cors_origins: Arc::from(config.cors_origins.clone()),
            site: Arc::new(site),
            body_timeout: Duration::from_secs(config.body_timeout),
        }));
        let metrics = match config.metrics_listen {
            Some(addr) => Some(metrics_endpoint(addr).await?),
            None => None,
        };
        let admin = (
            AdminSocket::bind(&config.admin_socket())?,
            Commands::new(accounts, public_url.clone()),
        );
        Ok(Self {
            listener,
            router,
            metrics,
            admin,
            public_url,
            store_name,
            limits: server::Limits {
                header_timeout: Duration::from_secs(config.header_timeout),
                keep_alive_timeout: Duration::from_secs(config.keep_alive_timeout),
                max_connection_age: Duration::from_secs(config.max_connection_age),
                max_connections: config.max_connections,
                max_connections_per_ip: config.max_connections_per_ip,
                ipv6_prefix: config.ipv6_prefix,
                trusted_proxies: Arc::from(config.trusted_proxies.clone()),
            },
            shutdown_grace: Duration::from_secs(config.shutdown_grace),
            accounts: weak_accounts,
            mail_sender,
            authz,
        })
    }

    /// Where the API listens.
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
        tracing::info!(addr = %self.local_addr()?, store = self.store_name, public_url = self.public_url, "accounts-server listening");
        if let Some((listener, router)) = self.metrics {
            tracing::info!(addr = %listener.local_addr()?, "metrics at /metrics");
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
        let (signal, signalled) = tokio::sync::watch::channel(false);
        let stopped = |mut signalled: tokio::sync::watch::Receiver<bool>| async move {
            let _ = signalled.wait_for(|&stop| stop).await;
        };
        let (socket, commands) = self.admin;
        tokio::spawn(socket.serve(commands, stopped(signalled.clone())));
        tokio::spawn(reload_on_hangup(self.authz, stopped(signalled.clone())));
        let serve = server::serve(self.listener, self.router, self.limits, async move {
            shutdown.await;
            let _ = signal.send(true);
        });
        let grace = self.shutdown_grace;
        let accounts = self.accounts;
        // Stopped with the server: it holds the store (a message in flight is sent again by
        // whoever takes it once its lease runs out).
        let sending = self.mail_sender.map(|sender| tokio::spawn(sender.run()));
        let served = tokio::select! {
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
                stopped(signalled).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "in-flight requests did not finish in time; exiting anyway");
                Ok(())
            }
        };
        if let Some(sending) = sending {
            sending.abort();
            let _ = sending.await;
        }
        served
    }
}

/// The SMTP client, the sender's mailbox and the message-id domain, when --smtp-url is set.
fn mail_sender(
    config: &Config,
    public_url: &str,
) -> Result<Option<(crate::mail::Transport, lettre::message::Mailbox, String)>, StartupError> {
    let Some(url) = &config.smtp_url else {
        return Ok(None);
    };
    let transport = crate::mail::Transport::new(&crate::mail::SmtpSettings {
        url: url.clone(),
        password_file: config.smtp_password_file.clone(),
        ca_file: config.smtp_ca_file.clone(),
    })?;
    let host = webauthn_rs::prelude::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
        .unwrap_or_else(|| "localhost".into());
    let from = match &config.mail_from {
        Some(from) => from.parse().map_err(|e| {
            ConfigError(format!(
                "--mail-from {from:?}: {e} (expected e.g. \"Accounts <no-reply@example.org>\")"
            ))
        })?,
        None => format!("Accounts <no-reply@{host}>").parse().map_err(|e| {
            ConfigError(format!(
                "--mail-from is needed: no-reply@{host} is not an address ({e})"
            ))
        })?,
    };
    Ok(Some((transport, from, host)))
}

/// Reads the forward-auth rules again on each SIGHUP until `stopped`; a bad file keeps the
/// rules in force and says why.
async fn reload_on_hangup(rules: crate::authz::RuleSet, stopped: impl Future<Output = ()>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return tracing::warn!("cannot listen for SIGHUP: the authz rules are read at start only");
    };
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            Some(()) = hangups.recv() => match rules.reload() {
                Ok(true) => tracing::info!("SIGHUP: authz rules read again"),
                Ok(false) => tracing::info!("SIGHUP: no --authz-rules file to read"),
                Err(e) => tracing::error!(error = %e, "SIGHUP: the authz rules file was refused; the rules in force stay"),
            },
        }
    }
}

/// How often the data key check is tried again while the database cannot be reached.
const DATA_KEY_RETRY: Duration = Duration::from_secs(5);

/// The data key check of a start at which the database could not be reached: again every few
/// seconds until it answers, or until the server stops.
async fn check_data_key_later(accounts: Weak<Accounts>) {
    loop {
        tokio::time::sleep(DATA_KEY_RETRY).await;
        let Some(accounts) = accounts.upgrade() else {
            return;
        };
        match accounts.secrets.check_at_start().await {
            Ok(done) => return accounts.secrets.log_check(done),
            Err(KeyCheckError::Store(StoreError::Unavailable(_))) => {}
            Err(e) => {
                return tracing::error!(
                    error = %telemetry::chain(&e),
                    "the data key does not fit the database: two-factor set-up and logins with a code fail until this instance is restarted with the right key file"
                )
            }
        }
    }
}

/// The WebAuthn relying party for users at `public_url`: its host is the RP id (a domain
/// name; browsers refuse IP addresses), its origin the only one accepted.
fn relying_party(public_url: &str) -> Result<webauthn_rs::Webauthn, String> {
    let url = webauthn_rs::prelude::Url::parse(public_url).map_err(|e| e.to_string())?;
    let host = match url.domain() {
        Some(host) => host.to_owned(),
        None => return Err(format!("{public_url} names an IP address, not a domain")),
    };
    webauthn_rs::WebauthnBuilder::new(&host, &url)
        .and_then(|b| b.rp_name("Accounts").build())
        .map_err(|e| e.to_string())
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
