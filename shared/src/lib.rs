//! Accounts API: the contract between the server and the browser app.
//!
//! Everything here is plain data and pure functions, so the same rules compile into the server and
//! into the WASM app. The server writes replies with these types' serde impls and the app reads
//! them back through the same impls (its decoder is tested round trip against every reply
//! type), so field names and validation have one source.
//!
//! - [`dto`]: JSON request and response bodies, with the original service's keys
//!   (`user_name`, `password`, `newpassword`).
//! - [`user_name`]: the user-name rules and its canonical (unique) form.
//! - [`password`]: the password newtype (redacted `Debug`) and the policy for new passwords.
//! - [`problem`]: RFC 9457 problem details and the stable machine codes.
//! - [`redirect`]: where a login may send the browser on to (forward-auth's `rd`).

#![warn(missing_docs)]

pub mod dto;
mod normalize;
pub mod password;
pub mod problem;
pub mod redirect;
pub mod user_name;

pub use dto::*;
pub use password::{Password, PasswordError, PasswordPolicy};
pub use problem::{ErrorCode, FieldError, Problem};
pub use user_name::{UserName, UserNameError};
