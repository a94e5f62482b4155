//! The operator's door: a Unix socket on which the server takes admin commands, and the
//! `accounts-server admin` client that sends them.
//!
//! File permissions are the authentication (as with Kanidm's and Docker's sockets): the socket
//! is created with mode 0600, and a peer must also run as the socket's owner or as root. No
//! admin route exists on the public listener.
//!
//! - [`protocol`]: the wire format, one JSON request and one JSON reply per connection.
//! - [`commands`]: what each request does, through the use cases (`accounts::Accounts`).
//! - [`socket`]: binding (mode, stale sockets), serving, removal on shutdown.
//! - [`cli`]: the client's arguments, output and exit codes.

pub mod cli;
pub mod commands;
pub mod protocol;
pub mod socket;

pub use commands::Commands;
pub use socket::{AdminSocket, AdminSocketError};
