//! Benchmark baseline: a bare axum hello-world, built with the same profile as the server.
//!
//! `cargo run --release --example hello -- 127.0.0.1:5099`. Used by `scripts/bench.py` to
//! put the service's cheap routes next to the fastest this stack can answer on this machine.

use axum::{routing::get, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5099".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    axum::serve(listener, app).await
}
