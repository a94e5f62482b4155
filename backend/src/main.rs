//! Entry point: parse the configuration, build the app, serve until a shutdown signal.

use std::process::ExitCode;

use accounts_server::{config::Config, shutdown_signal, telemetry, App};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("accounts-server: {}", telemetry::chain(&e));
            return ExitCode::from(2);
        }
    };
    match app.serve(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("accounts-server: {}", telemetry::chain(&e));
            ExitCode::FAILURE
        }
    }
}
