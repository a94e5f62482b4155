//! Entry point: parse the configuration; then either serve until a shutdown signal, or (for
//! `accounts-server admin …`) send one command to a running server.

use std::process::ExitCode;

use accounts_server::{
    admin,
    config::{Command, Config},
    private_files, shutdown_signal, telemetry, App,
};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Some(Command::Admin(args)) = &config.command {
        return admin::cli::run(args, &config.admin_socket()).await;
    }
    // Before anything is created: the data folder and its files are the server's alone.
    private_files::restrict_umask();
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
