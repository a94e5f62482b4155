//! Fault tolerance: a database that goes away and comes back, a process killed mid-write, a
//! graceful stop with requests in flight. These start real processes.

mod support;

use std::{
    path::Path,
    process::{Child, Command},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::json;
use support::{
    app::{expect_problem, TestApp},
    process::{free_port, server_command, wait_until_ready, CHEAP_ARGON2},
};

/// The MongoDB wire-protocol server binary; `scripts/test.sh` sets this.
const SECANTUSD_ENV: &str = "ACCOUNTS_TEST_SECANTUSD";

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts the MongoDB test server on `port`, its data and log in `dir` (the same data on a
/// restart), and waits until it answers a ping: an open port alone does not mean it serves.
async fn start_mongodb(port: u16, dir: &Path) -> Child {
    let bin = std::env::var(SECANTUSD_ENV).unwrap_or_else(|_| {
        panic!("{SECANTUSD_ENV} is not set: scripts/test.sh points it at the MongoDB test server")
    });
    let log_path = dir.join("mongodb.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    let mut child = Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "WARNING",
        ])
        .arg("--storage-path")
        .arg(dir.join("db"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start the MongoDB test server");
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=1000");
    let limit = Duration::from_secs(60);
    let started = Instant::now();
    loop {
        let attempt = async {
            let client = mongodb::Client::with_uri_str(&uri).await?;
            client
                .database("admin")
                .run_command(mongodb::bson::doc! { "ping": 1 })
                .await
        };
        let last = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(_)) => return child,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 5 s".to_owned(),
        };
        let gone = child.try_wait().unwrap();
        if gone.is_some() || started.elapsed() > limit {
            stop(&mut child);
            let why = match gone {
                Some(status) => format!("exited ({status})"),
                None => format!("did not answer a ping within {limit:?}"),
            };
            let output = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "the MongoDB test server on port {port} {why}; last: {last}; its output:\n{output}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_quickly_and_the_service_recovers_by_itself() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut mongo = start_mongodb(port, dir.path()).await;
    let app = TestApp::spawn_on_mongodb_at(format!("mongodb://127.0.0.1:{port}/"), "outage").await;
    assert_eq!(
        app.register("ursula", "first pass phrase").await.status(),
        201
    );

    stop(&mut mongo);
    for (path, user) in [("/api/login", "ursula"), ("/api/user/add", "victor")] {
        let started = Instant::now();
        let r = app
            .post(
                path,
                json!({"user_name": user, "password": "some pass phrase"}),
            )
            .await;
        let took = started.elapsed();
        expect_problem(r, 503, "store_unavailable").await;
        assert!(took < Duration::from_secs(3), "{path} took {took:?}");
    }
    expect_problem(app.get("/health/ready").await, 503, "store_unavailable").await;
    assert_eq!(
        app.get("/health/live").await.status(),
        200,
        "the process stays up"
    );

    let mut mongo = start_mongodb(port, dir.path()).await;
    let started = Instant::now();
    while app.get("/health/ready").await.status() != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not recover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(app.login("ursula", "first pass phrase").await.status(), 200);
    assert_eq!(
        app.register("victor", "second pass phrase").await.status(),
        201
    );
    drop(app);
    stop(&mut mongo);
}

fn spawn_server(port: u16, data: &Path) -> Child {
    server_command(port, data)
        .args(CHEAP_ARGON2)
        .args([
            "--ip-rate-limit",
            "0",
            "--lockout-threshold",
            "10000",
            "--hash-max-wait",
            "600",
        ])
        .spawn()
        .expect("start accounts-server")
}

/// What a client was told: the password it last got a success for, and one it sent without
/// hearing back (that one may or may not have been applied).
#[derive(Default, Clone)]
struct Acked {
    password: Option<String>,
    pending: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_write_is_lost_when_the_process_is_killed() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = spawn_server(port, data.path());
    wait_until_ready(&mut server, port, data.path(), Duration::from_secs(30)).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let users: Arc<Mutex<Vec<(String, Acked)>>> = Arc::default();

    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (client, base, users) = (client.clone(), base.clone(), users.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("user{w}x{i}");
                    let mut acked = Acked {
                        pending: Some("pass phrase 0".into()),
                        ..Acked::default()
                    };
                    let r = client
                        .post(format!("{base}/api/user/add"))
                        .json(&json!({"user_name": name, "password": "pass phrase 0"}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 201 => acked.password = acked.pending.take(),
                        Ok(r) => panic!("register answered {}", r.status()),
                        Err(_) => {
                            users.lock().unwrap().push((name, acked));
                            return;
                        }
                    }
                    for n in 1..=3 {
                        let new = format!("pass phrase {n}");
                        acked.pending = Some(new.clone());
                        let r = client
                            .post(format!("{base}/api/user/update"))
                            .json(&json!({"user_name": name, "password": acked.password, "newpassword": new}))
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == 200 => acked.password = acked.pending.take(),
                            Ok(r) => panic!("update answered {}", r.status()),
                            Err(_) => {
                                users.lock().unwrap().push((name, acked));
                                return;
                            }
                        }
                    }
                    users.lock().unwrap().push((name, acked));
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    for w in workers {
        w.await.expect("worker");
    }

    let users = users.lock().unwrap().clone();
    let acknowledged = users.iter().filter(|(_, a)| a.password.is_some()).count();
    assert!(
        acknowledged >= 20,
        "too few writes before the kill: {acknowledged}"
    );

    // The database file is intact.
    let conn = rusqlite::Connection::open(data.path().join("accounts.sqlite3")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);

    // Every acknowledged write is there after a restart.
    let mut server = spawn_server(port, data.path());
    wait_until_ready(&mut server, port, data.path(), Duration::from_secs(30)).await;
    for (name, acked) in &users {
        let Some(password) = &acked.password else {
            continue;
        };
        let login = |pw: String| {
            let client = client.clone();
            let url = format!("{base}/api/login");
            let body = json!({"user_name": name, "password": pw});
            async move { client.post(url).json(&body).send().await.unwrap().status() }
        };
        let status = login(password.clone()).await;
        if status != 200 {
            // Only a change that was in flight at the kill may have replaced it.
            let pending = acked
                .pending
                .clone()
                .expect("lost an acknowledged password");
            assert_eq!(
                login(pending).await,
                200,
                "{name}: acknowledged password lost"
            );
        }
    }
    stop(&mut server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_requests_in_flight_finish_then_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    // Slow hashing, so a registration is surely still running when the signal arrives.
    let mut server = server_command(port, data.path())
        .args(["--argon2-memory-kib", "262144", "--argon2-iterations", "4"])
        .args(["--hash-threads", "1"])
        .spawn()
        .unwrap();
    wait_until_ready(&mut server, port, data.path(), Duration::from_secs(60)).await;
    let url = format!("http://127.0.0.1:{port}/api/user/add");
    let in_flight = tokio::spawn(async move {
        let started = Instant::now();
        let r = reqwest::Client::new()
            .post(url)
            .json(&json!({"user_name": "wendy", "password": "slow pass phrase"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, took) = in_flight.await.unwrap();
    assert_eq!(code, 201, "the request in flight completed");
    assert!(
        took > Duration::from_millis(150),
        "it really was in flight ({took:?})"
    );
    let exit = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "no longer accepting"
    );
}
