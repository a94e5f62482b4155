//! The real `accounts-server` binary, for tests that need a process: signals, logs, crashes.

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Argon2 settings that make a hash cost about a millisecond.
pub const CHEAP_ARGON2: [&str; 4] = ["--argon2-memory-kib", "1024", "--argon2-iterations", "1"];

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`.
pub async fn wait_for_port(port: u16, limit: Duration) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(started.elapsed() < limit, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The binary listening on `port` with its embedded store in `data`, no browser app, an
/// 8-character minimum password and its output discarded. Callers add Argon2 settings and
/// whatever else they need (a flag may be given only once).
pub fn server_command(port: u16, data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_accounts-server"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--static-dir", "/nonexistent", "--password-min-length", "8"])
        .env("ACCOUNTS_DATA_DIR", data)
        .env_remove("MONGODB_URI");
    if !super::test_log() {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    command
}

/// The binary with cheap Argon2 settings on a free port, once it accepts connections.
pub async fn start_server(data: &Path) -> (std::process::Child, u16) {
    let port = free_port();
    let child = server_command(port, data)
        .args(CHEAP_ARGON2)
        .spawn()
        .expect("server starts");
    wait_for_port(port, Duration::from_secs(10)).await;
    (child, port)
}

/// The real binary as an operator meets it: its own process on a free port, its admin socket
/// in its data folder, its log in a file there. Dropping it kills the process.
pub struct Operated {
    pub child: std::process::Child,
    pub port: u16,
    pub socket: std::path::PathBuf,
    log: std::path::PathBuf,
    pub dir: tempfile::TempDir,
}

impl Operated {
    /// A server on `kind` (a fresh database), with cheap Argon2 and `extra` flags.
    pub async fn start(kind: super::Kind, extra: &[&str]) -> Self {
        let db = match kind {
            super::Kind::Sqlite => None,
            super::Kind::Mongo => Some(super::unique_db_name()),
        };
        Self::start_on(db.as_deref(), extra).await
    }

    /// A server on the test MongoDB's database `db` (several may share one), or on its own
    /// embedded store when `db` is `None`.
    pub async fn start_on(db: Option<&str>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = dir.path().join("server.log");
        let mut command = server_command(port, dir.path());
        command.args(CHEAP_ARGON2).args(extra);
        if let Some(db) = db {
            command
                .env("MONGODB_URI", super::mongodb_uri())
                .env("MONGODB_DB", db);
        }
        let file = std::fs::File::create(&log).expect("log file");
        command
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        let child = command.spawn().expect("server starts");
        wait_for_port(port, Duration::from_secs(20)).await;
        Self {
            child,
            port,
            socket: dir.path().join("admin.sock"),
            log,
            dir,
        }
    }

    /// `accounts-server admin --socket <its socket> ARGS…`, run to completion.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_accounts-server"))
            .arg("admin")
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .env_remove("MONGODB_URI")
            .output()
            .expect("the admin client runs")
    }

    /// Like [`Operated::admin`], asserting exit code 0; its stdout.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.child.wait().expect("server exits")
    }
}

impl Drop for Operated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
