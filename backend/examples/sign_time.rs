//! ID-token signing time per algorithm on one core, for `scripts/bench.py`: signs a typical
//! ID token's claims ROUNDS times with a fresh key of each algorithm (OpenSSL, as the server
//! does) and prints `ALG MEDIAN_MICROSECONDS` lines (the median of 5 batches).
//!
//! Usage: `sign_time [ROUNDS]` (default 500).

use std::time::Instant;

use accounts_server::signing::{Alg, SigningKey};
use serde_json::json;

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let now = time::OffsetDateTime::now_utc();
    let claims = json!({
        "iss": "https://accounts.example.org", "sub": "0123456789abcdef0123456789abcdef",
        "aud": "0123456789abcdef0123456789abcdef", "iat": 1_800_000_000, "exp": 1_800_003_600,
        "auth_time": 1_800_000_000, "nonce": "n-0S6_WzA2Mj", "amr": ["pwd"],
        "preferred_username": "ada", "email": "ada@example.org", "email_verified": true,
    });
    for alg in Alg::ALL {
        let key = SigningKey::generate(alg, now, now).expect("a key");
        let mut batches: Vec<f64> = (0..5)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..rounds {
                    std::hint::black_box(key.sign_jwt(&claims).expect("signed"));
                }
                started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
            })
            .collect();
        batches.sort_by(f64::total_cmp);
        println!("{} {:.1}", alg.as_str(), batches[2]);
    }
}
