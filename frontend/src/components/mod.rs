//! Reusable form pieces: labelled fields with inline errors, a password field with a show/hide
//! toggle, a one-time-code field, a submit button with a busy state, notices announced to screen readers, and the
//! card that frames a one-form page.

mod code_field;
mod field_input;
mod form_card;
mod notice;
mod password_field;
mod submit_button;
mod text_field;

pub use code_field::CodeField;
use field_input::FieldInput;
pub use form_card::FormCard;
pub use notice::{ErrorBanner, Notice};
pub use password_field::PasswordField;
pub use submit_button::SubmitButton;
pub use text_field::TextField;
