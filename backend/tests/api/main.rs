//! HTTP tests: the real server on an ephemeral port, each test once per store.

#[path = "../support/mod.rs"]
mod support;

mod abuse;
mod admin;
mod connections;
mod data_key;
mod email;
mod errors;
mod forward_auth;
mod hardening;
mod hosts;
mod lifecycle;
mod load;
mod lockout;
mod mfa;
mod observability;
mod oidc;
mod operator_socket;
mod passkeys;
mod reauth;
mod scale_out;
mod sessions;
mod users;
