//! Reusable form pieces: labelled fields with inline errors, a password field with a show/hide
//! toggle, a submit button with a busy state, and notices announced to screen readers.

mod notice;
mod password_field;
mod submit_button;
mod text_field;

pub use notice::{ErrorBanner, Notice};
pub use password_field::PasswordField;
pub use submit_button::SubmitButton;
pub use text_field::TextField;
