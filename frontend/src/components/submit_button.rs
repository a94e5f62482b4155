//! The form's submit button: disabled with a visible busy label while a request is in flight.

use leptos::prelude::*;

/// A submit button that shows `busy_label` (and is disabled) while `busy`.
#[component]
pub fn SubmitButton(
    label: &'static str,
    busy_label: &'static str,
    #[prop(into)] busy: Signal<bool>,
    #[prop(optional)] danger: bool,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            class="primary"
            class:danger=danger
            disabled=move || busy.get()
            aria-busy=move || if busy.get() { "true" } else { "false" }
        >
            <span class="spinner" aria-hidden="true" class:hidden=move || !busy.get()></span>
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}
