//! The second factor: six digits from an authenticator app (a numeric keyboard on phones, and
//! `one-time-code` so the system may offer it), or, after "Use a recovery code instead", one
//! of the recovery codes.

use leptos::prelude::*;

use super::FieldInput;
use crate::form::FieldState;

/// A labelled one-time-code input that can switch to a recovery code.
#[component]
pub fn CodeField(
    id: &'static str,
    field: FieldState,
    #[prop(into)] error: Signal<Option<String>>,
    /// Only an authenticator code makes sense here (confirming a new app).
    #[prop(optional)]
    app_only: bool,
) -> impl IntoView {
    let recovery = RwSignal::new(false);
    let message_id = format!("{id}-message");
    let hint_id = format!("{id}-hint");
    let described_by = format!("{hint_id} {message_id}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{move || if recovery.get() { "Recovery code" } else { "Authentication code" }}</label>
            <p class="hint" id=hint_id>
                {move || if recovery.get() {
                    "One of the codes you saved when you set up two-factor login. Each works once."
                } else {
                    "The 6-digit code your authenticator app shows now."
                }}
            </p>
            <FieldInput
                id=id autocomplete="one-time-code" field=field error=error described_by=described_by
                kind="text" inputmode=Signal::derive(move || if recovery.get() { "text" } else { "numeric" })
            />
            <p class="message" id=message_id>{move || error.get()}</p>
            {(!app_only).then(|| view! {
                <button type="button" class="text-button"
                    on:click=move |_| {
                        recovery.update(|r| *r = !*r);
                        field.value.set(String::new());
                    }>
                    {move || if recovery.get() { "Use your authenticator app instead" } else { "Use a recovery code instead" }}
                </button>
            })}
        </div>
    }
}
