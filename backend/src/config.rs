//! Typed configuration from command-line flags and environment variables (a flag wins).
//!
//! Every value is checked at start-up, so a bad setting is a clear message and exit code 2, never
//! a panic or a surprise at the first request.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use accounts_api::{password, PasswordPolicy};

use crate::telemetry::LogFormat;
use clap::Parser;

/// Accounts: a self-hostable user-account service (register, log in, change password).
// The field docs are also `--help`, where a bare URL reads better than rustdoc's `<...>`.
#[allow(rustdoc::bare_urls)]
#[derive(Debug, Clone, Parser)]
#[command(name = "accounts-server", version, about, long_about = None)]
pub struct Config {
    /// Without a command, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address and port to listen on.
    #[arg(long, env = "ACCOUNTS_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,

    /// MongoDB connection string (e.g. mongodb://db1,db2/?replicaSet=rs0). Unset: the embedded
    /// SQLite store in --data-dir is used.
    #[arg(long, env = "MONGODB_URI", hide_env_values = true)]
    pub mongodb_uri: Option<String>,

    /// MongoDB database name.
    #[arg(long, env = "MONGODB_DB", default_value = "accounts")]
    pub mongodb_db: String,

    /// Folder of the embedded store, the admin socket and the data key file (created with
    /// mode 0700 if missing).
    #[arg(long, env = "ACCOUNTS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The keys that seal secrets stored in the database (authenticator apps): one per line,
    /// the last one seals. Made (mode 0600) at the first start. Every instance on one MongoDB
    /// database needs the same file. Default: data.key in --data-dir.
    #[arg(long, env = "ACCOUNTS_DATA_KEY_FILE", value_name = "PATH")]
    pub data_key_file: Option<PathBuf>,

    /// Folder of the built browser app (`trunk build --release` writes ./dist). If it is missing
    /// the API still runs and `/` explains how to build the app.
    #[arg(long, env = "ACCOUNTS_STATIC_DIR", default_value = "./dist")]
    pub static_dir: PathBuf,

    /// Seconds after which a password must be changed before the next login; 0 = never.
    /// NIST SP 800-63B advises against periodic expiry; the original service had it (30 s).
    #[arg(long, env = "PASSWORD_MAX_AGE", default_value_t = 0)]
    pub password_max_age: u64,

    /// Minimum length of new passwords, in characters (8 to 256).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = password::DEFAULT_MIN_LEN,
          value_parser = parse_min_length)]
    pub password_min_length: usize,

    /// Argon2id memory cost in KiB (OWASP: 19456).
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = 19456)]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations (time cost).
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// Argon2id lanes (parallelism).
    #[arg(long, env = "ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// Threads that hash passwords at once; default: the number of cores.
    #[arg(long, env = "ACCOUNTS_HASH_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub hash_threads: Option<u16>,

    /// Seconds a password check may expect to wait for a hashing thread (checks ahead of it x
    /// the measured hash time / threads); beyond that, requests get `503 overloaded` at once.
    #[arg(long, env = "ACCOUNTS_HASH_MAX_WAIT", default_value_t = 1.0, value_parser = parse_max_wait)]
    pub hash_max_wait: f64,

    /// Lifetime of a login session, in seconds.
    #[arg(long, env = "ACCOUNTS_SESSION_TTL", default_value_t = 12 * 3600,
          value_parser = clap::value_parser!(u64).range(1..=366 * 24 * 3600))]
    pub session_ttl: u64,

    /// Seconds a login (or a re-authentication) clears sensitive changes for: adding or
    /// removing a passkey, turning two-factor login on or off, changing the email address.
    /// After that they answer `403 reauth_required` until the password (and code) or a
    /// passkey is given again.
    #[arg(long, env = "ACCOUNTS_REAUTH_WINDOW", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=24 * 3600))]
    pub reauth_window: u64,

    /// Mark the session cookie `Secure` (and name it `__Host-session`): set this whenever
    /// clients reach the service over HTTPS.
    #[arg(long, env = "ACCOUNTS_COOKIE_SECURE")]
    pub cookie_secure: bool,

    /// Share the session cookie with every host under this domain (e.g. `example.org`, so
    /// that apps at `app.example.org` behind a forward-auth proxy see the login made at
    /// `auth.example.org`). With --cookie-secure the cookie is then named `__Secure-session`.
    #[arg(long, env = "ACCOUNTS_COOKIE_DOMAIN", value_parser = parse_cookie_domain)]
    pub cookie_domain: Option<String>,

    /// Forward-auth access rules (TOML; see the README): checked at start (a bad file stops
    /// it, naming the line) and read again on SIGHUP (a bad file then keeps the rules in
    /// force). Without it, every signed-in user may pass.
    #[arg(long, env = "ACCOUNTS_AUTHZ_RULES", value_name = "FILE")]
    pub authz_rules: Option<std::path::PathBuf>,

    /// Consecutive failed logins (or password changes, or deletions) of one account name before
    /// it is locked for a while. Unknown names are counted the same way.
    #[arg(long, env = "ACCOUNTS_LOCKOUT_THRESHOLD", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub lockout_threshold: u32,

    /// Seconds of the first lock; each further failure after a lock doubles it (at most 24 h).
    /// Locks always end by themselves.
    #[arg(long, env = "ACCOUNTS_LOCKOUT_DURATION", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lockout_duration: u64,

    /// Credential attempts (login, password change, deletion) and, separately, registrations
    /// allowed per client IP per minute; 0 turns the IP limit off (e.g. behind a proxy that
    /// already limits).
    #[arg(long, env = "ACCOUNTS_IP_RATE_LIMIT", default_value_t = 30)]
    pub ip_rate_limit: u32,

    /// Prefix length of the IPv6 networks that per-IP limits count as one client (a host
    /// usually holds a whole /64).
    #[arg(long, env = "ACCOUNTS_IPV6_PREFIX", default_value_t = 64,
          value_parser = clap::value_parser!(u8).range(1..=128))]
    pub ipv6_prefix: u8,

    /// Proxies (IP addresses or CIDR networks, comma-separated) whose `X-Forwarded-For` and
    /// `X-Forwarded-Host` are believed. From anyone else the headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "ACCOUNTS_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<crate::client::IpNet>,

    /// Other origins (e.g. https://app.example.com, comma-separated) allowed to call the API
    /// from a browser with credentials (CORS). Default: none, same origin only.
    #[arg(long = "cors-origin", env = "ACCOUNTS_CORS_ORIGINS", value_delimiter = ',',
          value_parser = parse_origin)]
    pub cors_origins: Vec<String>,

    /// Log format: human-readable `text`, or `json` (one object per line, for log shippers).
    #[arg(long, env = "ACCOUNTS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve Prometheus metrics at `GET /metrics` on this separate address (e.g.
    /// 127.0.0.1:9100). Off when unset.
    #[arg(long, env = "ACCOUNTS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds to let in-flight requests finish after SIGTERM or Ctrl-C before exiting anyway.
    #[arg(long, env = "ACCOUNTS_SHUTDOWN_GRACE", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace: u64,

    /// Seconds a connection may take to send a request's headers, counted from when the server
    /// starts waiting for them (so idle keep-alive connections close after this too).
    #[arg(long, env = "ACCOUNTS_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,

    /// Connections open at once; past this, new ones are closed at once. Keep it below the
    /// process's file limit (`ulimit -n`).
    #[arg(long, env = "ACCOUNTS_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,

    /// Connections one client address may hold open at once (IPv6: per --ipv6-prefix
    /// network); past this, its new ones are closed at once, so one client cannot take every
    /// --max-connections slot. Connections from a --trusted-proxy are not counted per address
    /// (the proxy carries many clients; limit them there). 0 = no per-address cap.
    #[arg(long, env = "ACCOUNTS_MAX_CONNECTIONS_PER_IP", default_value_t = 64,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1_000_000))]
    pub max_connections_per_ip: usize,

    /// Seconds a connection may stay silent (nothing received, no request being answered)
    /// before it is closed: an idle keep-alive connection, or a new one that sends nothing.
    /// At most --header-timeout takes effect, since that also runs while the server waits.
    #[arg(long, env = "ACCOUNTS_KEEP_ALIVE_TIMEOUT", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub keep_alive_timeout: u64,

    /// Seconds after which a connection is closed however busy it is: the request in
    /// progress is answered first, then the client has to connect again.
    #[arg(long, env = "ACCOUNTS_MAX_CONNECTION_AGE", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub max_connection_age: u64,

    /// Unix socket for operator commands (`accounts-server admin`), created with mode 0600.
    /// Default: admin.sock in --data-dir.
    #[arg(long, env = "ACCOUNTS_ADMIN_SOCKET", value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,

    /// Where users reach the service (e.g. https://accounts.example.com): reset links start
    /// with it, its host is the passkeys' relying party (a domain name, not an IP address),
    /// requests naming another host are refused (421; /health/* excepted) and signed-in
    /// writes must come from its origin. Default: http:// and the listen address, with
    /// `localhost` for a loopback or every-interface address. A loopback URL also answers to
    /// `127.0.0.1` and `[::1]`, on its port and the listening one.
    #[arg(long, env = "ACCOUNTS_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Seconds a client may take to send a request body before getting `408`.
    #[arg(long, env = "ACCOUNTS_BODY_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub body_timeout: u64,

    /// The SMTP relay that sends mail (verification links, reset links for a forgotten
    /// password, security notices), in lettre's URL form: smtp://host:port (no TLS, for a
    /// relay on this machine), smtp://host?tls=required (STARTTLS), smtps://host (TLS);
    /// user:password@ before the host for AUTH. Unset: no mail, no self-service recovery.
    #[arg(
        long,
        env = "ACCOUNTS_SMTP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub smtp_url: Option<String>,

    /// A file whose first line is the SMTP password, for a --smtp-url with a user name and
    /// no password (keeps the password out of the process list and the environment).
    #[arg(long, env = "ACCOUNTS_SMTP_PASSWORD_FILE", value_name = "PATH")]
    pub smtp_password_file: Option<PathBuf>,

    /// PEM certificates the SMTP relay's certificate may chain to, besides the public roots
    /// (a private CA, or the relay's own self-signed certificate).
    #[arg(long, env = "ACCOUNTS_SMTP_CA_FILE", value_name = "PATH")]
    pub smtp_ca_file: Option<PathBuf>,

    /// The sender of every message, e.g. "Accounts <no-reply@example.org>". Default:
    /// no-reply@ the --public-url's host.
    #[arg(long, env = "ACCOUNTS_MAIL_FROM", value_name = "MAILBOX")]
    pub mail_from: Option<String>,

    /// Seconds a reset link mailed for a forgotten password works.
    #[arg(long, env = "ACCOUNTS_RESET_LINK_TTL", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(300..=7 * 24 * 3600))]
    pub reset_link_ttl: u64,
}

/// What to do instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Operator commands, sent to the running server over its admin socket (run
    /// `accounts-server admin --help`).
    Admin(crate::admin::cli::AdminArgs),
}

/// A setting that parsed but makes no sense.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Checks what clap cannot: combinations and the Argon2 parameter rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.argon2_params()?;
        if self.mongodb_db.is_empty() {
            return Err(ConfigError("--mongodb-db must not be empty".into()));
        }
        Ok(())
    }

    /// The Argon2id parameters, checked.
    pub fn argon2_params(&self) -> Result<argon2::Params, ConfigError> {
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| {
            ConfigError(format!(
                "Argon2 parameters m={} KiB, t={}, p={}: {e} (memory must be at least 8 x parallelism, iterations at least 1)",
                self.argon2_memory_kib, self.argon2_iterations, self.argon2_parallelism
            ))
        })
    }

    /// The MongoDB URI, if one is set; an empty value (`MONGODB_URI=`) means none.
    pub fn mongodb_uri(&self) -> Option<&str> {
        self.mongodb_uri.as_deref().filter(|u| !u.trim().is_empty())
    }

    /// The admin socket's path: --admin-socket, else admin.sock in the data folder; absolute
    /// (a relative one is taken from the working directory), so messages name the file.
    pub fn admin_socket(&self) -> PathBuf {
        let path = self
            .admin_socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join("admin.sock"));
        std::path::absolute(&path).unwrap_or(path)
    }

    /// The data key file's path: --data-key-file, else data.key in the data folder.
    pub fn data_key_file(&self) -> PathBuf {
        self.data_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("data.key"))
    }

    /// Where users reach the service: --public-url, else from the address the server is
    /// bound to (`bound`: the port may have been chosen by the system).
    pub fn public_url(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        let host = match bound.ip() {
            // A name, not an address: passkeys need a domain (browsers accept `localhost`).
            ip if ip.is_unspecified() || ip.is_loopback() => "localhost".to_owned(),
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        format!("http://{host}:{}", bound.port())
    }

    /// The rules for new passwords.
    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.password_min_length,
            max_length: password::MAX_LEN,
        }
    }

    /// `None` when passwords never expire.
    pub fn password_max_age(&self) -> Option<Duration> {
        (self.password_max_age > 0).then(|| Duration::from_secs(self.password_max_age))
    }

    /// How long a login or re-authentication clears sensitive changes.
    pub fn reauth_window(&self) -> Duration {
        Duration::from_secs(self.reauth_window)
    }

    /// The lockout and per-IP limits.
    pub fn throttle_policy(&self) -> crate::throttle::ThrottlePolicy {
        crate::throttle::ThrottlePolicy {
            lockout_threshold: self.lockout_threshold,
            lockout_duration: Duration::from_secs(self.lockout_duration),
            ip_rate_limit: self.ip_rate_limit,
            ipv6_prefix: self.ipv6_prefix,
        }
    }

    /// The longest expected wait for a hashing thread at which a check is admitted.
    pub fn hash_max_wait(&self) -> Duration {
        Duration::from_secs_f64(self.hash_max_wait)
    }

    /// Threads that hash at once (default: the number of cores).
    pub fn hash_threads(&self) -> usize {
        self.hash_threads.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, no path.
fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("`{s}` is not an origin like https://app.example.com"))?;
    if rest.is_empty() || rest.contains('/') {
        return Err(format!(
            "`{s}` is not an origin like https://app.example.com"
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// An http(s) URL with a host and perhaps a path, no query or fragment; kept without a
/// trailing slash.
fn parse_cookie_domain(s: &str) -> Result<String, String> {
    let domain = s.trim().trim_start_matches('.').to_ascii_lowercase();
    let ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(domain)
    } else {
        Err(format!("`{s}` is not a domain name like example.org"))
    }
}

fn parse_public_url(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let bad = || format!("`{s}` is not a URL like https://accounts.example.com");
    let uri: axum::http::Uri = s.parse().map_err(|_| bad())?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => {}
        _ => return Err(bad()),
    }
    if uri.query().is_some() || s.contains('#') {
        return Err(format!("`{s}` must not have a query or fragment"));
    }
    Ok(s.to_owned())
}

fn parse_max_wait(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(secs) if (0.001..=600.0).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "`{s}` is not a number of seconds from 0.001 to 600"
        )),
    }
}

fn parse_min_length(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (password::MIN_LEN_FLOOR..=password::MAX_LEN).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "must be between {} and {} (NIST SP 800-63B sets 8 as the floor)",
            password::MIN_LEN_FLOOR,
            password::MAX_LEN
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("accounts-server").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_follow_the_issue() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.password_min_length, 15);
        assert_eq!(c.argon2_memory_kib, 19456);
        assert_eq!((c.argon2_iterations, c.argon2_parallelism), (2, 1));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn flags_override() {
        let c = parse(&["--password-min-length", "8", "--listen", "0.0.0.0:8080"]).unwrap();
        assert_eq!(c.password_min_length, 8);
        assert_eq!(c.listen.port(), 8080);
    }

    #[test]
    fn abuse_settings() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            (c.lockout_threshold, c.lockout_duration, c.ip_rate_limit),
            (5, 300, 30)
        );
        assert!(c.trusted_proxies.is_empty() && c.cors_origins.is_empty());
        let c = parse(&[
            "--trusted-proxy",
            "10.0.0.0/8,127.0.0.1",
            "--cors-origin",
            "https://App.example.com/",
        ])
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.cors_origins, ["https://app.example.com"]);
        assert!(parse(&["--trusted-proxy", "proxy.local"]).is_err());
        assert!(parse(&["--cors-origin", "app.example.com"]).is_err());
        assert!(parse(&["--lockout-threshold", "0"]).is_err());
    }

    #[test]
    fn connection_limits() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            (
                c.max_connections_per_ip,
                c.keep_alive_timeout,
                c.max_connection_age
            ),
            (64, 5, 300)
        );
        let c = parse(&["--max-connections-per-ip", "0"]).unwrap();
        assert_eq!(c.max_connections_per_ip, 0, "0 turns the cap off");
        assert!(parse(&["--keep-alive-timeout", "0"]).is_err());
        assert!(parse(&["--max-connection-age", "0"]).is_err());
        assert!(parse(&["--max-connections-per-ip", "-1"]).is_err());
    }

    #[test]
    fn public_url_and_admin_socket() {
        let c = parse(&["--data-dir", "/srv/acc"]).unwrap();
        assert_eq!(c.admin_socket(), PathBuf::from("/srv/acc/admin.sock"));
        assert_eq!(c.data_key_file(), PathBuf::from("/srv/acc/data.key"));
        let c2 = parse(&["--data-key-file", "/etc/acc/keys"]).unwrap();
        assert_eq!(c2.data_key_file(), PathBuf::from("/etc/acc/keys"));
        let bound: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(c.public_url(bound), "http://localhost:8080");
        assert_eq!(
            c.public_url("127.0.0.1:5000".parse().unwrap()),
            "http://localhost:5000"
        );
        assert_eq!(
            c.public_url("[::1]:5000".parse().unwrap()),
            "http://localhost:5000"
        );
        assert_eq!(
            c.public_url("192.0.2.7:5000".parse().unwrap()),
            "http://192.0.2.7:5000"
        );
        let c = parse(&["--public-url", "https://example.com/accounts/"]).unwrap();
        assert_eq!(c.public_url(bound), "https://example.com/accounts");
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://",
            "https://x.com/?a=1",
        ] {
            assert!(parse(&["--public-url", bad]).is_err(), "{bad}");
        }
        let c = parse(&["admin", "--socket", "/tmp/a.sock", "reset-link", "Ada"]).unwrap();
        assert!(matches!(c.command, Some(Command::Admin(_))));
        assert!(parse(&["admin", "reset-link", "Ada", "--ttl", "0"]).is_err());
        assert!(parse(&["admin", "frobnicate"]).is_err());
    }

    #[test]
    fn an_empty_mongodb_uri_means_the_embedded_store() {
        assert_eq!(parse(&["--mongodb-uri", ""]).unwrap().mongodb_uri(), None);
        let c = parse(&["--mongodb-uri", "mongodb://db/"]).unwrap();
        assert_eq!(c.mongodb_uri(), Some("mongodb://db/"));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let e = parse(&["--password-min-length", "7"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("between 8 and 256"), "{e}");
        assert!(parse(&["--listen", "nowhere"]).is_err());
        assert!(parse(&["--session-ttl", "0"]).is_err());
        let c = parse(&["--argon2-memory-kib", "4"]).unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("Argon2"), "{e}");
        let c = parse(&["--argon2-iterations", "0"]).unwrap();
        assert!(c.validate().is_err());
    }
}
