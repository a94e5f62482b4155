//! A labelled text input with its error message, wired for assistive technology.

use leptos::prelude::*;

use super::FieldInput;
use crate::form::FieldState;

/// A labelled text input with an optional hint and its message.
#[component]
pub fn TextField(
    /// The element id, also used to tie the label and the message to the input.
    id: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    field: FieldState,
    /// The message to show, if any (already filtered by touched/submitted).
    #[prop(into)]
    error: Signal<Option<String>>,
    #[prop(optional)] hint: Option<String>,
    /// The input's type: `text` unless given (`email` brings the right phone keyboard).
    #[prop(optional)]
    kind: Option<&'static str>,
) -> impl IntoView {
    let message_id = format!("{id}-message");
    let hint_id = format!("{id}-hint");
    let described_by = if hint.is_some() {
        format!("{hint_id} {message_id}")
    } else {
        message_id.clone()
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <FieldInput
                id=id autocomplete=autocomplete field=field error=error described_by=described_by kind=kind.unwrap_or("text")
            />
            <p class="message" id=message_id>{move || error.get()}</p>
        </div>
    }
}
