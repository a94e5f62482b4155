//! Who may talk over the admin socket, seen from the operator's terminal: the CLI sends
//! commands only to a server run by root or by itself, a refused user is told "permission
//! denied" (not "Broken pipe"), and the default socket path is absolute. These run the CLI
//! as `nobody` (the tests run as root, like CI).

use std::{os::unix::fs::PermissionsExt, path::PathBuf, process::Command};

use crate::support::{process::Operated, Kind};

/// A copy of the server binary that `nobody` can run (the build folder may not be reachable
/// for it), in its own folder.
fn binary_for_nobody() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join("accounts-server");
    std::fs::copy(env!("CARGO_BIN_EXE_accounts-server"), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, copy)
}

fn as_nobody(program: &std::path::Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    command
}

#[tokio::test]
async fn a_user_the_server_refuses_is_told_permission_denied() {
    let server = Operated::start(Kind::Sqlite, &[]).await;
    // An operator loosened the modes: the server itself still refuses other users.
    let open = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(server.socket.parent().unwrap(), open.clone()).unwrap();
    std::fs::set_permissions(&server.socket, open).unwrap();
    let (_dir, binary) = binary_for_nobody();
    for _ in 0..3 {
        let out = as_nobody(&binary)
            .args(["admin", "--socket"])
            .arg(&server.socket)
            .args(["reset-link", "someone"])
            .env_remove("MONGODB_URI")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("permission denied"), "{stderr}");
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
        assert_eq!(out.status.code(), Some(3), "{stderr}");
    }
}

#[tokio::test]
async fn the_cli_sends_nothing_to_a_socket_another_user_serves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = dir.path().join("admin.sock");
    // Someone else listening where the operator's socket should be, printing what it gets.
    let listener = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(3)
try:
    data = c.recv(1000)
except OSError:
    data = b""
print(repr(data), flush=True)
"#;
    let mut spy = as_nobody(std::path::Path::new("/usr/bin/python3"))
        .args(["-c", listener])
        .arg(&socket)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(spy.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    let cli = Command::new(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["admin", "--socket"])
        .arg(&socket)
        .args(["reset-link", "ada"])
        .env_remove("MONGODB_URI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert_eq!(cli.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "b''", "the listener got the command");
    let _ = spy.wait();
}

#[test]
fn the_default_socket_path_is_absolute() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["admin", "list"])
        .current_dir(cwd.path())
        .env("ACCOUNTS_DATA_DIR", "data")
        .env_remove("ACCOUNTS_ADMIN_SOCKET")
        .env_remove("MONGODB_URI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = cwd.path().join("data").join("admin.sock");
    assert!(stderr.contains(&expected.display().to_string()), "{stderr}");
}
