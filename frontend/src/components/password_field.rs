//! A password input with a show/hide toggle (a real button, reachable by keyboard).

use leptos::prelude::*;

use super::FieldInput;
use crate::form::FieldState;

/// A labelled password input with a show/hide toggle and its message.
#[component]
pub fn PasswordField(
    id: &'static str,
    label: &'static str,
    /// `current-password` or `new-password`, so password managers fill or generate.
    autocomplete: &'static str,
    field: FieldState,
    #[prop(into)] error: Signal<Option<String>>,
    /// Guidance shown above the input (may change, e.g. once the policy has loaded).
    #[prop(optional, into)]
    hint: MaybeProp<String>,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    let message_id = format!("{id}-message");
    let hint_id = format!("{id}-hint");
    let described_by = format!("{hint_id} {message_id}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            <p class="hint" id=hint_id class:hidden=move || hint.get().is_none()>{move || hint.get()}</p>
            <div class="password">
                <FieldInput
                    id=id autocomplete=autocomplete field=field error=error described_by=described_by
                    kind=Signal::derive(move || if shown.get() { "text" } else { "password" })
                />
                <button
                    type="button"
                    class="toggle"
                    aria-controls=id
                    aria-pressed=move || if shown.get() { "true" } else { "false" }
                    on:click=move |_| shown.update(|s| *s = !*s)
                >
                    {move || if shown.get() { "Hide" } else { "Show" }}
                </button>
            </div>
            <p class="message" id=message_id>{move || error.get()}</p>
        </div>
    }
}
