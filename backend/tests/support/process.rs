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
