//! Data at rest: the data folder and its files are private whatever the umask.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::{FileTypeExt, PermissionsExt},
    path::Path,
    process::{Child, Command},
    time::Duration,
};

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    mfa::PASSWORD,
    support::process::{free_port, wait_until_ready, CHEAP_ARGON2},
};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every entry of `dir` (files and the admin socket) with its mode.
fn modes_in(dir: &Path) -> BTreeMap<String, u32> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                mode(&e.path()),
            )
        })
        .collect()
}

/// The real binary on `port` with data folder `data`, started by a shell whose umask is 022
/// (as on most systems), its output appended to `log` outside the folder.
fn spawn_with_umask_022(port: u16, data: &Path, log: &Path) -> Child {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new("sh")
        .args(["-c", "umask 022 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--static-dir", "/nonexistent", "--password-min-length", "8"])
        .args(CHEAP_ARGON2)
        .env("ACCOUNTS_DATA_DIR", data)
        .env_remove("MONGODB_URI")
        .env_remove("ACCOUNTS_DATA_KEY_FILE")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap()
}

fn terminate(child: &mut Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// With umask 022 the data folder used to be 0755 and its files 0644, so every local user
/// could read names, hashes and authenticator secrets. Now: the folder 0700, every file 0600
/// (the database, its -wal and -shm, the lock file, the admin socket). Files
/// an older version left open are made private at the next start, with a warning; a folder
/// that exists keeps its mode, with a warning.
#[tokio::test]
async fn the_data_folder_and_every_file_in_it_are_private_whatever_the_umask() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let log = root.path().join("server.log");
    let port = free_port();
    let mut server = spawn_with_umask_022(port, &data, &log);
    wait_until_ready(&mut server, port, &data, Duration::from_secs(30)).await;
    // A write, so the write-ahead log has content.
    let added = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/user/add"))
        .json(&json!({ "user_name": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);

    assert_eq!(mode(&data), 0o700, "the data folder");
    let modes = modes_in(&data);
    for name in [
        "accounts.sqlite3",
        "accounts.sqlite3-wal",
        "accounts.sqlite3-shm",
        "accounts.lock",
        "admin.sock",
    ] {
        assert!(modes.contains_key(name), "{name} in {modes:?}");
    }
    for (name, mode) in &modes {
        assert_eq!(*mode, 0o600, "{name}: {mode:o} ({modes:?})");
    }
    assert!(fs::metadata(data.join("admin.sock"))
        .unwrap()
        .file_type()
        .is_socket());
    terminate(&mut server);

    // As an older version left them.
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    for name in modes_in(&data).keys() {
        fs::set_permissions(data.join(name), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let port = free_port();
    let mut server = spawn_with_umask_022(port, &data, &log);
    wait_until_ready(&mut server, port, &data, Duration::from_secs(30)).await;
    let modes = modes_in(&data);
    assert!(modes.contains_key("accounts.sqlite3-wal"), "{modes:?}");
    for (name, mode) in &modes {
        assert_eq!(*mode, 0o600, "{name}: {mode:o} ({modes:?})");
    }
    assert_eq!(mode(&data), 0o755, "an existing folder keeps its mode");
    let logged = fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("the data folder is open to other local users"),
        "{logged}"
    );
    assert!(logged.contains("made it private"), "{logged}");
    terminate(&mut server);
}
