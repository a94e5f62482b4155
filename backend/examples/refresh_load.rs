//! Load driver for `scripts/bench.py`: refresh-token grants as fast as the server answers.
//! Each line of stdin is a refresh token; one task per token follows its own chain (a
//! refresh token works once, so every request carries the one the previous reply gave).
//! Prints how many refreshes succeeded in the time given.
//!
//! Usage: `refresh_load BASE_URL CLIENT_ID CLIENT_SECRET SECONDS < tokens`

use std::{
    io::BufRead,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, id, secret, seconds] = args.as_slice() else {
        eprintln!("usage: refresh_load BASE_URL CLIENT_ID CLIENT_SECRET SECONDS < tokens");
        std::process::exit(2);
    };
    let until = Instant::now() + Duration::from_secs_f64(seconds.parse().expect("seconds"));
    let done = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::new();
    let url = format!("{base}/oidc/token");
    let tasks: Vec<_> = std::io::stdin()
        .lock()
        .lines()
        .map(|line| {
            let (client, url, id, secret, done) =
                (client.clone(), url.clone(), id.clone(), secret.clone(), done.clone());
            let mut token = line.expect("a token").trim().to_owned();
            tokio::spawn(async move {
                while Instant::now() < until {
                    let body = format!(
                        "grant_type=refresh_token&refresh_token={token}&client_id={id}&client_secret={secret}"
                    );
                    let reply: serde_json::Value = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                        .expect("the server answers")
                        .json()
                        .await
                        .expect("JSON");
                    token = reply["refresh_token"]
                        .as_str()
                        .unwrap_or_else(|| panic!("a refresh failed: {reply}"))
                        .to_owned();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a chain");
    }
    println!("{}", done.load(Ordering::Relaxed));
}
