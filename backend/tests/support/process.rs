//! The real `accounts-server` binary, for tests that need a process: signals, logs, crashes.

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command},
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

/// Where [`server_command`] sends the output of a server on data folder `data` (unless
/// `TEST_LOG` shows it, or the test takes it through pipes).
pub fn log_path(data: &Path) -> PathBuf {
    data.join("server.log")
}

/// Waits until the server process `child`, started on `port` with data folder `data`, answers
/// `GET /health/ready` with 200: its store is open (MongoDB answers) and its admin socket is
/// bound. A port that accepts connections says less: the kernel accepts them as soon as the
/// server has bound it, before it has opened its store or its socket.
///
/// Panics, with the server's output, if the process exits first or `limit` passes.
pub async fn wait_until_ready(child: &mut Child, port: u16, data: &Path, limit: Duration) {
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let last = match client
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => return,
            Ok(r) => format!("last reply {}", r.status()),
            Err(e) => format!("last error: {e}"),
        };
        if let Some(status) = child.try_wait().expect("process status") {
            fail(
                child,
                data,
                &format!("the server exited ({status}) before it was ready"),
            );
        }
        if started.elapsed() > limit {
            fail(
                child,
                data,
                &format!("{url} did not answer 200 within {limit:?} ({last})"),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops `child` and panics with `why` and everything it wrote: its log file in `data`, and
/// whatever the test was piping from it.
fn fail(child: &mut Child, data: &Path, why: &str) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    let mut output = std::fs::read_to_string(log_path(data)).unwrap_or_default();
    for pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut pipe = pipe;
        let _ = pipe.read_to_string(&mut output);
    }
    if output.is_empty() {
        output = "(nothing; with TEST_LOG=1 the server's output goes to the terminal)".into();
    }
    panic!("{why}; the server's output:\n{output}");
}

/// The binary listening on `port` with its embedded store in `data`, no browser app, an
/// 8-character minimum password and its output appended to [`log_path`] in `data`. Callers
/// add Argon2 settings and whatever else they need (a flag may be given only once).
pub fn server_command(port: u16, data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_accounts-server"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--static-dir", "/nonexistent", "--password-min-length", "8"])
        .env("ACCOUNTS_DATA_DIR", data)
        .env_remove("MONGODB_URI");
    if !super::test_log() {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(data))
            .expect("log file");
        command
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
    }
    command
}

/// The binary with cheap Argon2 settings on a free port, once it is ready.
pub async fn start_server(data: &Path) -> (Child, u16) {
    let port = free_port();
    let mut child = server_command(port, data)
        .args(CHEAP_ARGON2)
        .spawn()
        .expect("server starts");
    wait_until_ready(&mut child, port, data, Duration::from_secs(30)).await;
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
        let log = log_path(dir.path());
        let mut command = server_command(port, dir.path());
        command.args(CHEAP_ARGON2).args(extra);
        if let Some(db) = db {
            command
                .env("MONGODB_URI", super::mongodb_uri())
                .env("MONGODB_DB", db);
        }
        // In the file even with TEST_LOG: tests read it.
        let file = std::fs::File::create(&log).expect("log file");
        command
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        let mut child = command.spawn().expect("server starts");
        let socket = dir.path().join("admin.sock");
        let limit = Duration::from_secs(30);
        let started = Instant::now();
        wait_until_ready(&mut child, port, dir.path(), limit).await;
        // Bound before the port serves; checked all the same, as every test here uses it.
        while !socket.exists() {
            if started.elapsed() > limit {
                fail(
                    &mut child,
                    dir.path(),
                    &format!("ready, but no admin socket at {}", socket.display()),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            child,
            port,
            socket,
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
