//! Benchmark helper: the time of one Argon2id hash on one core with the given parameters.
//!
//! `cargo run --release --example hash_time -- <memory KiB> <iterations> <parallelism> <rounds>`
//! prints the median milliseconds per hash. Like the server's hashing threads, it reuses one
//! Argon2 memory buffer for every hash. Used by `scripts/bench.py`.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .expect("numbers: memory KiB, iterations, parallelism, rounds")
        })
        .collect();
    let [m, t, p, rounds] = args[..] else {
        eprintln!("usage: hash_time <memory KiB> <iterations> <parallelism> <rounds>");
        std::process::exit(2);
    };
    let params = Params::new(m, t, p, None).expect("valid Argon2 parameters");
    let mut memory = vec![Block::new(); params.block_count()];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = *b"benchmark-salt-1";
    let mut out = [0u8; 32];
    let mut times: Vec<f64> = (0..rounds.max(1) + 1)
        .map(|i| {
            let started = Instant::now();
            argon
                .hash_password_into_with_memory(
                    format!("benchmark password {i}").as_bytes(),
                    &salt,
                    &mut out,
                    &mut memory,
                )
                .expect("hash");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .skip(1) // the first hash also faults the memory in
        .collect();
    times.sort_by(f64::total_cmp);
    println!("{:.3}", times[times.len() / 2]);
}
