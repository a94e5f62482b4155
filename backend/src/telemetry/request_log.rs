//! Which request a log line belongs to, without a `tracing` span per request.
//!
//! A span per request cost about 3 µs of a cheap request's 20 (its fields formatted on
//! creation, entered and left on every poll, its slot released; `docs/benchmarks.md`), and
//! almost no request logs anything. So the request's id, method and path sit in a task-local
//! (one refcount bump each), and the two line formats below read it only when a line is
//! written. The lines look as they did with the span: `request{request_id=… method=… path=…}:`
//! in text, a `"span"` object in JSON.

use std::{fmt, future::Future};

use axum::http::{HeaderValue, Method, Uri};
use serde::ser::{SerializeMap, Serializer as _};
use tracing::{field::Field, Event, Subscriber};
use tracing_subscriber::{
    field::Visit,
    fmt::{
        format::{self, FormatEvent, FormatFields},
        time::{FormatTime, SystemTime},
        FmtContext,
    },
    registry::LookupSpan,
};

/// The request a task is serving.
#[derive(Debug, Clone)]
pub struct RequestTag {
    /// As the reply's `x-request-id` header carries it.
    pub id: HeaderValue,
    /// Its method.
    pub method: Method,
    /// Its target; the path is logged, never the query.
    pub uri: Uri,
}

impl RequestTag {
    fn id(&self) -> &str {
        self.id.to_str().unwrap_or("-")
    }
}

tokio::task_local! {
    static REQUEST: RequestTag;
}

/// Runs `f` as serving `tag`'s request: lines it logs name the request.
pub async fn serving<F: Future>(tag: RequestTag, f: F) -> F::Output {
    REQUEST.scope(tag, f).await
}

/// Calls `f` as serving `tag`'s request, synchronously.
pub fn serving_sync<R>(tag: RequestTag, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(tag, f)
}

/// The id of the request being served, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|r| r.id().to_owned()).ok()
}

/// Human-readable lines: `<time> <LEVEL> [request{…}: ]<fields>`.
pub struct Text;

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut writer)?;
        write!(writer, " {:>5} ", event.metadata().level())?;
        let _ = REQUEST.try_with(|r| {
            write!(
                writer,
                "request{{request_id={} method={} path={}}}: ",
                r.id(),
                r.method,
                r.uri.path()
            )
        });
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// One JSON object per line: `timestamp`, `level`, the event's fields (`message` first),
/// `target`, and `span` (`method`, `path`, `request_id`, `name`) while serving a request.
pub struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut format::Writer::new(&mut timestamp))?;
        let mut line = Vec::with_capacity(256);
        let mut ser = serde_json::Serializer::new(&mut line);
        let mut map = ser.serialize_map(None).map_err(|_| fmt::Error)?;
        let meta = event.metadata();
        let mut fields = JsonFields {
            map: &mut map,
            failed: false,
        };
        fields.entry("timestamp", &timestamp);
        fields.entry("level", meta.level().as_str());
        event.record(&mut fields);
        fields.entry("target", meta.target());
        let _ = REQUEST.try_with(|r| {
            let span = Span {
                method: r.method.as_str(),
                path: r.uri.path(),
                request_id: r.id(),
                name: "request",
            };
            fields.entry("span", &span);
        });
        if fields.failed {
            return Err(fmt::Error);
        }
        map.end().map_err(|_| fmt::Error)?;
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)?;
        writeln!(writer)
    }
}

#[derive(serde::Serialize)]
struct Span<'a> {
    method: &'a str,
    path: &'a str,
    request_id: &'a str,
    name: &'static str,
}

/// Writes an event's fields as entries of the line's JSON object.
struct JsonFields<'a, M: SerializeMap> {
    map: &'a mut M,
    failed: bool,
}

impl<M: SerializeMap> JsonFields<'_, M> {
    fn entry(&mut self, key: &str, value: &(impl serde::Serialize + ?Sized)) {
        self.failed |= self.map.serialize_entry(key, value).is_err();
    }
}

impl<M: SerializeMap> Visit for JsonFields<'_, M> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field.name(), &value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field.name(), &value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field.name(), &value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field.name(), &value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field.name(), value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.entry(field.name(), &value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field.name(), &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn tag() -> RequestTag {
        RequestTag {
            id: HeaderValue::from_static("abc123"),
            method: Method::POST,
            uri: Uri::from_static("/api/login?x=1"),
        }
    }

    fn log_with<E>(format: E, in_request: bool) -> String
    where
        E: for<'a> FormatEvent<tracing_subscriber::Registry, format::DefaultFields>
            + Send
            + Sync
            + 'static,
    {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(format)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let log = || tracing::info!(target: "audit", action = "login", n = 3, ip = %"127.0.0.1", "audit");
            if in_request {
                serving_sync(tag(), log);
            } else {
                log();
            }
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn json_lines_carry_fields_target_and_the_request() {
        let line = log_with(Json, true);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "audit");
        assert_eq!(v["action"], "login");
        assert_eq!(v["n"], 3);
        assert_eq!(v["ip"], "127.0.0.1");
        assert_eq!(v["target"], "audit");
        assert_eq!(v["span"]["request_id"], "abc123");
        assert_eq!(v["span"]["method"], "POST");
        assert_eq!(v["span"]["path"], "/api/login");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'), "{line}");
        let outside: serde_json::Value = serde_json::from_str(&log_with(Json, false)).unwrap();
        assert!(outside.get("span").is_none(), "{outside}");
    }

    #[test]
    fn text_lines_name_the_request() {
        let line = log_with(Text, true);
        assert!(
            line.contains(
                "  INFO request{request_id=abc123 method=POST path=/api/login}: audit action=\"login\" n=3 ip=127.0.0.1"
            ),
            "{line}"
        );
        let outside = log_with(Text, false);
        assert!(
            outside.contains("  INFO audit action") && !outside.contains("request{"),
            "{outside}"
        );
    }
}
