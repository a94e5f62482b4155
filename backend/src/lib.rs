//! Accounts server: a self-hostable user-account service.
//!
//! Data flows one way: `http` → `accounts` → `password` / `throttle` / `store`.
//!
//! - [`startup`]: [`App`] wires the parts together, serves, and shuts down cleanly; `server`
//!   is its connection loop (timeouts, connection caps).
//! - [`config`]: typed flags and environment, checked at start-up.
//! - [`data_key`]: sealing secrets stored in the database with the data key file;
//!   [`private_files`]: the data folder and its files readable by the server's user only.
//! - [`http`]: one module per resource, merged into one documented router; the extractors
//!   (JSON body, caller, signed-in session), the error replies (RFC 9457 problem+json) and the
//!   middleware that logs and counts them. It sees only the use cases' views, never a storage
//!   record.
//! - `accounts`: the use cases (registration, sign-in and sessions, second factor, passkeys,
//!   recovery, operator actions, the OpenID Connect provider), with no HTTP types, tested
//!   against a store, a hasher and a [`clock`]; [`signing`] shows its ID-token keys to the
//!   benchmark.
//! - `password`: Argon2id on dedicated threads behind an admission queue.
//! - `throttle`, `common_passwords`, `client`: brute-force limits kept in the store, the
//!   common-password list, and the client address behind trusted proxies.
//! - [`store`]: one role trait per kind of record, with MongoDB and embedded SQLite
//!   implementations (a folder each, one file per role).
//! - `token`, [`ids`], [`clock`]: session, device and reset tokens, random and request ids,
//!   and time.
//! - [`totp`]: authenticator-app codes (RFC 6238) and recovery codes.
//! - [`mail`]: users' addresses, the messages the service writes, the outbox kept in the
//!   store and its sender over SMTP.
//! - [`authz`]: forward-auth's access rules (which requests to apps behind a proxy pass).
//! - [`admin`]: the operator's Unix socket and the `accounts-server admin` client that uses it.
//! - [`telemetry`]: logs (text or JSON, `audit` events) and the Prometheus recorder.
//!
//! `main.rs` only parses the config and calls [`App`] (or, for `admin`, the client). Modules
//! shown in code font are internals; the rest are public for the binary and the integration
//! tests.

#![warn(missing_docs)]

mod accounts;
pub mod admin;
pub mod authz;
mod client;
pub mod clock;
mod common_passwords;
pub mod config;
pub mod data_key;
pub mod http;
pub mod ids;
pub mod mail;
mod password;
pub mod private_files;
mod seal;
mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
mod throttle;
mod token;
pub mod totp;

pub use startup::{shutdown_signal, App, StartupError};

/// ID-token signing, for the benchmark's `sign_time` example.
pub mod signing {
    pub use crate::accounts::{Alg, SigningKey};
}
