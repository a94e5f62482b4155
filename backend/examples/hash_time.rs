//! Benchmark helper: the time of one Argon2id hash on one core with the given parameters.
//!
//! `cargo run --release --example hash_time -- <memory KiB> <iterations> <parallelism> <rounds>`
//! prints the median milliseconds per hash. Like the server's hashing threads, it reuses one
//! Argon2 memory buffer for every hash. Used by `scripts/bench.py`.

use std::{process::ExitCode, time::Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

const USAGE: &str = "usage: hash_time <memory KiB> <iterations> <parallelism> <rounds>";

fn main() -> ExitCode {
    match run() {
        Ok(median_ms) => {
            println!("{median_ms:.3}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("hash_time: {why}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<f64, String> {
    let args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<u32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e}; {USAGE}"))?;
    let [m, t, p, rounds] = args[..] else {
        return Err(USAGE.into());
    };
    let params = Params::new(m, t, p, None).map_err(|e| format!("Argon2 parameters: {e}"))?;
    let mut memory = vec![Block::new(); params.block_count()];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = *b"benchmark-salt-1";
    let mut out = [0u8; 32];
    let mut times = Vec::new();
    // One more than asked: the first hash also faults the memory in, and is not counted.
    for i in 0..=rounds.max(1) {
        let started = Instant::now();
        argon
            .hash_password_into_with_memory(
                format!("benchmark password {i}").as_bytes(),
                &salt,
                &mut out,
                &mut memory,
            )
            .map_err(|e| format!("hashing: {e}"))?;
        if i > 0 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
