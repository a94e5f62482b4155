//! A real SMTP server for the mail tests: Python's aiosmtpd, running `smtp_server.py`, which
//! parses every message it accepts with Python's email package and keeps it as JSON.
//! `scripts/test.sh` installs aiosmtpd and sets [`AIOSMTPD_ENV`]; without it the mail tests
//! fail (they never silently skip).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde::Deserialize;

use super::process::free_port;

/// The Python interpreter that has aiosmtpd.
pub const AIOSMTPD_ENV: &str = "ACCOUNTS_TEST_AIOSMTPD_PYTHON";

/// A message as the server received it.
#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Header values by lowercase name.
    pub headers: HashMap<String, String>,
    /// Header names in order, as sent (to count repeats).
    pub header_names: Vec<String>,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Whether it came over TLS (STARTTLS).
    pub tls: bool,
    /// Whether the client authenticated.
    pub authenticated: bool,
}

impl Mail {
    /// The token of the link to `page` (`/verify`, `/reset`) in the plain-text body.
    pub fn token(&self, page: &str) -> String {
        let text = self.text.as_deref().expect("a plain-text part");
        let marker = format!("/{page}#token=");
        let start = text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {page} link in {text:?}"))
            + marker.len();
        text[start..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect()
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.headers["subject"]
    }
}

/// TLS and AUTH for [`SmtpServer::start_with`].
#[derive(Default)]
pub struct SmtpOptions {
    /// A fixed port (to start a server again where the service expects it).
    pub port: Option<u16>,
    /// Certificate and key (PEM): STARTTLS offered and required.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `user:password`: AUTH required.
    pub auth: Option<String>,
}

/// A running server; stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    dir: tempfile::TempDir,
    options: SmtpOptions,
    child: Option<Child>,
}

impl SmtpServer {
    /// Plain SMTP, no AUTH, on a free port.
    pub fn start() -> Self {
        Self::start_with(SmtpOptions::default())
    }

    /// A server with `options`, once it answers.
    pub fn start_with(options: SmtpOptions) -> Self {
        let mut server = Self {
            port: options.port.unwrap_or_else(free_port),
            dir: tempfile::tempdir().expect("temp dir"),
            options,
            child: None,
        };
        server.restart();
        server
    }

    /// A server that is not running yet: the service sees its port refuse connections until
    /// [`SmtpServer::restart`].
    pub fn not_started() -> Self {
        Self {
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            options: SmtpOptions::default(),
            child: None,
        }
    }

    /// Starts it (again), on its port, keeping what it received.
    pub fn restart(&mut self) {
        self.stop();
        let python = std::env::var(AIOSMTPD_ENV).unwrap_or_else(|_| {
            panic!(
                "{AIOSMTPD_ENV} is not set: the mail tests need a real SMTP server. Run \
                 scripts/test.sh, which installs aiosmtpd, or set it to a Python that has it."
            )
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
        let mut command = Command::new(python);
        command
            .arg(script)
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(self.dir.path().join("mail"))
            .stdout(Stdio::piped())
            .stderr(if super::test_log() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        if let Some((cert, key)) = &self.options.tls {
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
        }
        if let Some(auth) = &self.options.auth {
            command.args(["--auth", auth]);
        }
        let mut child = command.spawn().expect("start smtp_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read smtp_server.py's output");
        assert_eq!(
            line.trim(),
            "ready",
            "smtp_server.py did not start on port {}",
            self.port
        );
        self.child = Some(child);
    }

    /// `--smtp-url` for this server, without TLS or AUTH.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail")) else {
            return Vec::new();
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                serde_json::from_slice(&std::fs::read(p).expect("read a message"))
                    .expect("a message's JSON")
            })
            .collect()
    }

    /// Waits (up to 20 s) until `n` messages have arrived; all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let started = Instant::now();
        loop {
            let mail = self.messages();
            if mail.len() >= n {
                return mail;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "waited 20 s for {n} messages, got {}: {mail:#?}",
                mail.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops it (messages stay readable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1 (not a CA, as a relay's own
/// certificate is), made with the openssl command; its certificate and key files.
pub fn self_signed_certificate(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl req failed");
    (cert, key)
}
