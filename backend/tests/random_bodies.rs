//! Property test: whatever body arrives at whatever route, with whatever content type, the
//! answer is never a 5xx, and every error is problem+json.

mod support;

use proptest::{prelude::*, test_runner::TestRunner};
use serde_json::{json, Map, Value};
use support::{app::TestApp, json_body_routes, Kind};

/// The JSON routes, and one that takes no body (it must ignore whatever arrives).
fn routes() -> Vec<String> {
    let mut routes = json_body_routes();
    routes.extend(support::form_body_routes());
    routes.push("/api/logout".into());
    routes
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "[a-zA-Z0-9 ._-]{0,300}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Bodies shaped like ours, with random values in the known keys.
fn almost_valid() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), json_value(), any::<u8>()).prop_map(|(u, p, n, keep)| {
        let mut body = json!({"user_name": u, "password": p, "newpassword": n});
        if keep % 3 == 0 {
            body.as_object_mut().unwrap().remove("newpassword");
        }
        body
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        almost_valid().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]
}

fn content_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just("application/json"),
        1 => Just("application/json; charset=utf-8"),
        1 => Just("text/plain"),
        1 => Just("application/x-www-form-urlencoded"),
        1 => Just("application/problem+json"),
    ]
}

#[test]
fn random_bodies_never_get_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Mail on (a relay that is not there: messages wait in the outbox), so no route answers
    // `503 mail_unavailable`, which is what a server without mail says by design.
    let relay = format!("smtp://127.0.0.1:{}", support::process::free_port());
    let app = rt.block_on(TestApp::spawn_with(Kind::Sqlite, |c| {
        c.lockout_threshold = 10_000;
        c.smtp_url = Some(relay);
    }));
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(prop::sample::select(routes()), content_type(), body()),
            |(route, content_type, body)| {
                let (status, ct) = rt.block_on(async {
                    let r = app.post_raw(&route, content_type, body.clone()).await;
                    let ct = r
                        .headers()
                        .get("content-type")
                        .map(|v| v.to_str().unwrap_or("").to_owned());
                    (r.status().as_u16(), ct)
                });
                prop_assert!(
                    status < 500,
                    "{route} answered {status} to {:?}",
                    String::from_utf8_lossy(&body)
                );
                // OAuth endpoints answer errors as RFC 6749 asks (application/json, with
                // `error`); every other route as RFC 9457 problems.
                if status >= 400 {
                    let expected = if route.starts_with("/oidc/") {
                        "application/json"
                    } else {
                        "application/problem+json"
                    };
                    prop_assert_eq!(ct.as_deref(), Some(expected));
                }
                Ok(())
            },
        )
        .unwrap();
}
