//! The `<input>` every field shares: its value, the touched flag, and the error wiring for
//! assistive technology. Text and password fields differ only around it.

use leptos::prelude::*;

use crate::form::FieldState;

/// The wired `<input>` of a field.
#[component]
pub fn FieldInput(
    id: &'static str,
    autocomplete: &'static str,
    field: FieldState,
    error: Signal<Option<String>>,
    /// Ids of the hint and message elements that describe the input.
    described_by: String,
    /// `text` or `password` (a password field toggles it).
    #[prop(into)]
    kind: Signal<&'static str>,
    /// The on-screen keyboard to offer (`numeric` for codes); default: the browser's choice.
    #[prop(optional, into)]
    inputmode: MaybeProp<&'static str>,
) -> impl IntoView {
    view! {
        <input
            id=id
            name=id
            type=move || kind.get()
            autocomplete=autocomplete
            inputmode=move || inputmode.get()
            autocapitalize="none"
            spellcheck="false"
            required
            aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
            aria-describedby=described_by
            prop:value=move || field.value.get()
            on:input=move |ev| field.edit(event_target_value(&ev))
            on:blur=move |_| field.touched.set(true)
        />
    }
}
