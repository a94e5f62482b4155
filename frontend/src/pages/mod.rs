//! One module per route.

mod account;
mod change_password;
mod login;
mod not_found;
mod register;

pub use account::AccountPage;
pub use change_password::ChangePasswordPage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use register::RegisterPage;

use leptos::prelude::*;

use crate::{
    api::ApiError,
    form::{split_problem, FieldState, FormState},
};

/// Sets the tab's title.
fn set_title(page: &str) {
    document().set_title(&format!("{page} · Accounts"));
}

/// Ends a failed submission: the form is usable again, and the call's messages go where they
/// belong, next to `fields` (by JSON key) or on top.
fn failed(form: FormState, error: &ApiError, fields: &[(&str, FieldState)]) {
    form.busy.set(false);
    let top = form.top_error;
    let ApiError::Problem(problem) = error else {
        top.set(Some(error.message()));
        return;
    };
    let (message, field_messages) = split_problem(problem);
    let mut unplaced = message;
    for (key, text) in field_messages {
        match fields.iter().find(|(k, _)| *k == key) {
            Some((_, field)) => field.server_error.set(Some(text)),
            None => unplaced = Some(unplaced.map_or(text.clone(), |m| format!("{m} {text}"))),
        }
    }
    top.set(unplaced);
}

/// For a `?user=` link.
fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
