//! Every error is RFC 9457 problem+json with a stable code; bad input is never a 5xx.

use serde_json::{json, Value};

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, problem, TestApp},
    json_body_routes, Kind,
};

async fn bad_bodies_get_specific_codes_on_every_route(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    for route in &json_body_routes() {
        expect_problem(
            app.post_raw(route, "application/json", "{\"user_name\":")
                .await,
            400,
            "malformed_json",
        )
        .await;
        expect_problem(
            app.post_raw(route, "application/json", "").await,
            400,
            "malformed_json",
        )
        .await;
        expect_problem(
            app.post_raw(route, "application/json", "[]").await,
            400,
            "malformed_json",
        )
        .await;
        match first_required_field(route) {
            // The first key the route requires, as its documented schema lists them.
            Some(field) => {
                let body =
                    expect_problem(app.post(route, json!({})).await, 400, "missing_field").await;
                assert_eq!(body["errors"][0]["field"], field, "{route}");
            }
            // Every key optional (a sensitive change within the re-authentication window):
            // `{}` is a body of the route's shape, refused here for want of a session.
            None => {
                expect_problem(app.post(route, json!({})).await, 401, "unauthenticated").await;
            }
        }
        expect_problem(
            app.post_raw(route, "text/plain", r#"{"user_name":"a","password":"b"}"#)
                .await,
            415,
            "unsupported_media_type",
        )
        .await;
        expect_problem(
            app.post_raw(
                route,
                "application/x-www-form-urlencoded",
                "user_name=a&password=b",
            )
            .await,
            415,
            "unsupported_media_type",
        )
        .await;
        let big = format!(
            r#"{{"user_name":"a","password":"{}"}}"#,
            "x".repeat(17 * 1024)
        );
        expect_problem(
            app.post_raw(route, "application/json", big).await,
            413,
            "payload_too_large",
        )
        .await;
    }
}

async fn wrong_types_nulls_and_odd_json_are_400_not_500(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let bodies = [
        json!({ "user_name": 12345, "password": "some password" }),
        json!({ "user_name": null, "password": "some password" }),
        json!({ "user_name": "valid", "password": 1234567890 }),
        json!({ "user_name": ["a"], "password": {"x": 1} }),
        json!({ "user_name": "x".repeat(10_000), "password": "some password" }),
        json!(42),
        json!(null),
    ];
    for body in bodies {
        let r = app.post("/api/user/add", body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let p = problem(r).await;
        let text = p.to_string();
        assert!(
            !text.contains("1234567890"),
            "a value sent must not be echoed: {text}"
        );
    }
    let dup = r#"{"user_name":"a","password":"b","password":"c"}"#;
    expect_problem(
        app.post_raw("/api/login", "application/json", dup).await,
        400,
        "malformed_json",
    )
    .await;
    let bad_utf8: Vec<u8> = b"{\"user_name\":\"\xff\xfe\",\"password\":\"x\"}".to_vec();
    expect_problem(
        app.post_raw("/api/login", "application/json", bad_utf8)
            .await,
        400,
        "malformed_json",
    )
    .await;
    let deep = "[".repeat(5_000) + &"]".repeat(5_000);
    expect_problem(
        app.post_raw("/api/login", "application/json", deep).await,
        400,
        "malformed_json",
    )
    .await;
}

async fn unknown_routes_and_methods(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    expect_problem(app.get("/api/nope").await, 404, "not_found").await;
    expect_problem(app.post("/api/nope", json!({})).await, 404, "not_found").await;
    expect_problem(app.get("/nothing-here").await, 404, "not_found").await;
    expect_problem(app.get("/api/login").await, 405, "method_not_allowed").await;
    expect_problem(app.get("/user/add").await, 405, "method_not_allowed").await;
    let r = app
        .client
        .delete(app.url("/api/session"))
        .send()
        .await
        .unwrap();
    expect_problem(r, 405, "method_not_allowed").await;
}

async fn security_headers_are_on_every_reply(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    for r in [app.get("/api/policy").await, app.get("/api/nope").await] {
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }
    let body: Value = app.get("/api/policy").await.json().await.unwrap();
    assert_eq!(body["password"]["min_length"], 8);
}

for_each_store!(
    bad_bodies_get_specific_codes_on_every_route,
    wrong_types_nulls_and_odd_json_are_400_not_500,
    unknown_routes_and_methods,
    security_headers_are_on_every_reply,
);

/// MongoDB down (nothing listens on the port): 503 `store_unavailable` quickly, no crash, and the
/// server keeps answering.
#[tokio::test]
async fn a_down_database_is_503_store_unavailable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_on_mongodb_at(
        format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=500"),
        "down",
    )
    .await;
    let started = std::time::Instant::now();
    expect_problem(
        app.register("pete", "etep password").await,
        503,
        "store_unavailable",
    )
    .await;
    expect_problem(
        app.login("pete", "etep password").await,
        503,
        "store_unavailable",
    )
    .await;
    let body = expect_problem(app.get("/health/ready").await, 503, "store_unavailable").await;
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no internals in replies: {body}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(app.get("/health/live").await.status(), 200);
}

/// The first required key of `route`'s request body, from the OpenAPI document; for a body
/// of alternatives with no key always required (a login: name and password, or a ticket; a
/// forgotten password: a name or an address), its `user_name`.
fn first_required_field(route: &str) -> Option<String> {
    let doc = serde_json::to_value(accounts_server::http::document()).unwrap();
    let schema = &doc["paths"][route]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    let name = schema.as_str().unwrap().rsplit('/').next().unwrap();
    let schema = &doc["components"]["schemas"][name];
    match schema["required"][0].as_str() {
        Some(field) => Some(field.to_owned()),
        // A login: a name and password, or a ticket; without either, the name is missing.
        // A forgotten password: a name or an address; without either, the name is missing.
        None if schema["maxProperties"] == 1 && schema["properties"]["user_name"].is_object() => {
            Some("user_name".to_owned())
        }
        None if schema["properties"]["login_ticket"].is_object() => {
            assert!(
                schema["properties"]["user_name"].is_object(),
                "{route}: {schema}"
            );
            Some("user_name".to_owned())
        }
        // Logging out sessions: with no id, every other one.
        None if route == "/api/sessions/revoke" => None,
        None => {
            assert!(
                schema["properties"]["password"].is_object(),
                "{route}: {schema}"
            );
            None
        }
    }
}
