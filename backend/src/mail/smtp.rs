//! The SMTP client: lettre's, configured from a URL in lettre's own form (`smtp://` plain,
//! `smtp://...?tls=required` or `?tls=opportunistic` for STARTTLS, `smtps://` for TLS from
//! the first byte), with the password from the URL or a file, and optionally a private CA.

use std::{path::PathBuf, time::Duration};

use lettre::{
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};

/// How long one SMTP conversation may take before it counts as a failed try.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    /// lettre's URL form: `smtp[s]://[user[:password]@]host[:port][?tls=required|opportunistic]`.
    pub url: String,
    /// A file holding the password (its first line), for a URL without one.
    pub password_file: Option<PathBuf>,
    /// PEM certificates to trust besides the public roots (a relay with a private CA or a
    /// self-signed certificate).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &redacted(&self.url))
            .field("password_file", &self.password_file)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Why the SMTP settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SmtpConfigError(String);

/// A connection to the relay, ready to send.
#[derive(Clone)]
pub struct Transport(AsyncSmtpTransport<Tokio1Executor>);

/// How TLS is used, as the URL says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    None,
    StartTlsRequired,
    StartTlsOpportunistic,
    Wrapper,
}

impl Transport {
    /// Checks the settings and builds the client (no connection is made yet).
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpConfigError> {
        let bad =
            |why: String| SmtpConfigError(format!("--smtp-url {}: {why}", redacted(&settings.url)));
        let (mode, host, user) = parse(&settings.url).map_err(bad)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| bad(e.to_string()))?
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| SmtpConfigError(format!("--smtp-ca-file {}: {e}", path.display())))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| SmtpConfigError(format!("--smtp-ca-file {}: {e}", path.display())))?;
            let parameters = TlsParameters::builder(host)
                .add_root_certificate(certificate)
                .build_rustls()
                .map_err(|e| SmtpConfigError(format!("--smtp-ca-file {}: {e}", path.display())))?;
            builder = builder.tls(match mode {
                TlsMode::Wrapper => Tls::Wrapper(parameters),
                TlsMode::StartTlsRequired => Tls::Required(parameters),
                TlsMode::StartTlsOpportunistic => Tls::Opportunistic(parameters),
                TlsMode::None => {
                    return Err(bad(
                        "--smtp-ca-file needs TLS: use smtps:// or ?tls=required".into(),
                    ))
                }
            });
        }
        if let Some(path) = &settings.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                SmtpConfigError(format!("--smtp-password-file {}: {e}", path.display()))
            })?;
            let password = text.lines().next().unwrap_or_default().to_owned();
            let Some(user) = user else {
                return Err(bad(
                    "--smtp-password-file needs a user name in the URL (smtp://user@host)".into(),
                ));
            };
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self(builder.build()))
    }

    /// Sends one message; the relay's answer or why the conversation failed.
    pub async fn send(&self, message: lettre::Message) -> Result<(), String> {
        self.0
            .send(message)
            .await
            .map(drop)
            .map_err(|e| crate::telemetry::chain(&e))
    }
}

/// The TLS mode, host and user name of a URL (lettre checks the rest).
fn parse(raw: &str) -> Result<(TlsMode, String, Option<String>), String> {
    let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let mode = match (url.scheme(), tls.as_deref()) {
        ("smtp", None) => TlsMode::None,
        ("smtp", Some("required")) => TlsMode::StartTlsRequired,
        ("smtp", Some("opportunistic")) => TlsMode::StartTlsOpportunistic,
        ("smtps", None) => TlsMode::Wrapper,
        (scheme, tls) => {
            return Err(format!(
                "expected smtp:// (with ?tls=required or ?tls=opportunistic for STARTTLS) or smtps://, not {scheme}:// with tls={tls:?}"
            ))
        }
    };
    let host = url
        .host_str()
        .ok_or("no host")?
        .trim_matches(['[', ']'])
        .to_owned();
    let user = (!url.username().is_empty()).then(|| {
        percent_encoding::percent_decode_str(url.username())
            .decode_utf8_lossy()
            .into_owned()
    });
    Ok((mode, host, user))
}

/// The URL without its password, for messages and logs.
pub fn redacted(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_says_how_tls_is_used() {
        for (url, mode) in [
            ("smtp://localhost:2525", TlsMode::None),
            (
                "smtp://relay.example.org?tls=required",
                TlsMode::StartTlsRequired,
            ),
            (
                "smtp://relay.example.org?tls=opportunistic",
                TlsMode::StartTlsOpportunistic,
            ),
            ("smtps://relay.example.org", TlsMode::Wrapper),
        ] {
            assert_eq!(parse(url).unwrap().0, mode, "{url}");
        }
        assert!(parse("http://relay.example.org").is_err());
        assert!(parse("smtps://relay.example.org?tls=required").is_err());
        assert!(parse("smtp://relay.example.org?tls=sometimes").is_err());
        let (_, host, user) = parse("smtp://no%2Dreply%40example.org@relay.example.org").unwrap();
        assert_eq!(host, "relay.example.org");
        assert_eq!(user.as_deref(), Some("no-reply@example.org"));
    }

    #[test]
    fn passwords_never_show() {
        let url = "smtps://mailer:s3cret@relay.example.org:465";
        assert!(!redacted(url).contains("s3cret"));
        let settings = SmtpSettings {
            url: url.into(),
            password_file: None,
            ca_file: None,
        };
        assert!(!format!("{settings:?}").contains("s3cret"));
        let e = Transport::new(&SmtpSettings {
            url: "smtps://mailer:s3cret@relay.example.org?tls=required".into(),
            ..settings
        })
        .err()
        .unwrap();
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
