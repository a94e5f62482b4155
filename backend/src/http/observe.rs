//! What every reply gets, in one middleware: a request id (echoed in `x-request-id`, put in
//! error bodies, and with method and path on every line logged meanwhile: see
//! [`telemetry::serving`]), request metrics by route and status, a debug-level access line,
//! the security headers, and the one place where server-side failures are logged and counted (from the [`Failure`] an
//! error reply carries).
//!
//! One middleware rather than a stack of layers because each layer costs an allocation or two
//! per request, and together they halved the throughput of the cheapest routes
//! (`docs/benchmarks.md`). Work nobody asked for is skipped: metrics are not even labelled when
//! no recorder is installed.

use std::time::Instant;

use axum::{
    body::Bytes,
    extract::{MatchedPath, Request},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method},
    response::Response,
};

use super::{
    error::{Failure, Fault},
    layer::{self, Inner, Middleware},
};
use crate::telemetry::{self, RequestTag};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every reply: JSON loads nothing and may not be framed; the app's pages set their own policy.
/// API replies are per-user, so nothing is cached unless a route says otherwise (app files do).
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
];

/// With `--cookie-secure` the service is reached over HTTPS only: browsers are told to keep it
/// that way for a year.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// The middleware; see the module documentation. `https` says whether clients reach the
/// service over HTTPS (then every reply carries `Strict-Transport-Security`).
#[derive(Debug, Clone, Copy)]
pub struct Observe {
    /// Clients reach the service over HTTPS.
    pub https: bool,
}

impl Middleware for Observe {
    async fn call<S: Inner>(self, req: Request, inner: S) -> Response {
        observe(self.https, req, inner).await
    }
}

async fn observe(https: bool, req: Request, inner: impl Inner) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers());
    // Every line logged while serving the request says which one it was.
    let tag = RequestTag {
        id: id.clone(),
        method: req.method().clone(),
        uri: req.uri().clone(),
    };
    let metrics = telemetry::metrics_enabled().then(|| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        (method_label(req.method()), route.to_owned())
    });

    let mut response = telemetry::serving(tag.clone(), layer::run(inner, req)).await;

    let headers = response.headers_mut();
    headers.reserve(SECURITY_HEADERS.len() + 1);
    for (name, value) in SECURITY_HEADERS {
        headers.entry(name).or_insert(value);
    }
    headers.insert(X_REQUEST_ID, id);
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some((method, route)) = metrics {
        let labels = [
            ("method", method.to_owned()),
            ("route", route),
            ("status", status.to_string()),
        ];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    }
    telemetry::serving_sync(tag, || {
        if let Some(failure) = response.extensions().get::<Failure>() {
            report(failure);
        }
        tracing::debug!(status, latency_ms = elapsed.as_secs_f64() * 1e3, "request");
    });
    response
}

/// Logs and counts a failure that is the server's business (client errors are not).
fn report(failure: &Failure) {
    let error = telemetry::chain(&*failure.error);
    match failure.fault {
        Fault::Client => {}
        Fault::Shed => tracing::warn!("hash queue full; request shed"),
        Fault::StoreUnavailable => {
            metrics::counter!("store_errors_total", "kind" => "unavailable").increment(1);
            tracing::warn!(%error, "store unavailable");
        }
        Fault::Internal => {
            metrics::counter!("errors_total", "kind" => "internal").increment(1);
            tracing::error!(%error, "internal error");
        }
    }
}

/// The method as a metric label: the standard ones by name, anything else as `other`, so a
/// client inventing methods cannot create label sets without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// A proxy's well-formed `x-request-id` (shared, not copied), or a new one (its one buffer
/// shared by the header and the log lines).
fn request_id(headers: &HeaderMap) -> HeaderValue {
    let well_formed = |v: &&HeaderValue| {
        (1..=64).contains(&v.len())
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    match headers.get(X_REQUEST_ID).filter(well_formed) {
        Some(id) => id.clone(),
        None => HeaderValue::from_maybe_shared(Bytes::from(crate::ids::request_id()))
            .unwrap_or_else(|_| HeaderValue::from_static("-")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        for m in ["FOO", "BREW", "X1"] {
            assert_eq!(
                method_label(&Method::from_bytes(m.as_bytes()).unwrap()),
                "other"
            );
        }
    }
}
