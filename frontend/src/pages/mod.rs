//! One module per route.

mod account;
mod change_password;
mod login;
mod not_found;
mod register;
mod reset_password;
mod security;

pub use account::AccountPage;
pub use change_password::ChangePasswordPage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use register::RegisterPage;
pub use reset_password::ResetPasswordPage;
pub use security::SecurityPage;

use leptos::prelude::*;

/// Sets the tab's title.
fn set_title(page: &str) {
    document().set_title(&format!("{page} · Accounts"));
}

/// For a `?user=` link.
fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
