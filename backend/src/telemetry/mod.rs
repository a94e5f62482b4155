//! Logs and metrics.
//!
//! Logs go through `tracing`: human-readable by default, one JSON object per line with
//! `--log-format json`; `RUST_LOG` selects what is shown (default `info`). Security-relevant
//! events use the `audit` target. Metrics use the `metrics` facade and are exposed in the
//! Prometheus text format on a separate listener (`--metrics-listen`), off by default.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    OnceLock,
};

use clap::ValueEnum;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

mod request_log;

pub use request_log::{current_request_id, serving, serving_sync, RequestTag};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// An error and each of its sources, joined by `: `, so a log line keeps the whole chain.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Installs the global log subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // Ignore the error of a second init (tests start several servers in one process).
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .event_format(request_log::Text)
            .try_init(),
        LogFormat::Json => builder.event_format(request_log::Json).try_init(),
    };
}

/// Latency buckets (seconds) for every `*_seconds` histogram.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .ok()?
                .install_recorder()
                .inspect(|_| METRICS_ENABLED.store(true, Ordering::Relaxed))
                .ok()
        })
        .clone()
}

static METRICS_ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether a recorder is installed: without one, request metrics are not even labelled.
pub fn metrics_enabled() -> bool {
    METRICS_ENABLED.load(Ordering::Relaxed)
}
