//! Accounts server: a self-hostable user-account service.
//!
//! Data flows one way: `http` → `accounts` → `password` / `throttle` / `store`.
//!
//! - [`startup`]: [`App`] wires the parts together, serves, and shuts down cleanly;
//!   [`server`] is its connection loop (header timeout, connection cap).
//! - [`config`]: typed flags and environment, checked at start-up.
//! - [`http`]: one module per resource, merged into one documented router; the JSON extractor,
//!   the error replies (RFC 9457 problem+json) and the middleware that logs and counts them.
//! - [`accounts`]: the use cases (register, login, change password, delete, sessions), with no
//!   HTTP types, tested against a store, a hasher and a [`clock`].
//! - [`password`]: Argon2id on dedicated threads behind an admission queue.
//! - [`throttle`], [`common_passwords`], [`client`]: brute-force limits kept in the store, the
//!   common-password list, and the client address behind trusted proxies.
//! - [`store`]: the role traits (users, sessions, counters) with MongoDB and embedded SQLite
//!   implementations.
//! - [`token`], [`ids`], [`clock`]: session tokens, random and request ids, and time.
//! - [`totp`]: authenticator-app codes (RFC 6238) and recovery codes.
//! - [`admin`]: the operator's Unix socket and the `accounts-server admin` client that uses it.
//! - [`telemetry`]: logs (text or JSON, `audit` events) and the Prometheus recorder.
//!
//! `main.rs` only parses the config and calls [`App`] (or, for `admin`, the client).

#![warn(missing_docs)]

pub mod accounts;
pub mod admin;
pub mod client;
pub mod clock;
pub mod common_passwords;
pub mod config;
pub mod http;
pub mod ids;
pub mod password;
pub mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod token;
pub mod totp;

pub use startup::{shutdown_signal, App, StartupError};
