//! Messages for the whole form. `Notice` is a polite live region (results); `ErrorBanner` is an
//! alert (failures). Both are always in the DOM so screen readers pick up changes.

use leptos::prelude::*;

use crate::state::{Flash, Tone};

/// A result or a heads-up for the whole page, styled by its tone.
#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<Flash>>) -> impl IntoView {
    view! {
        <p class="notice" role="status" aria-live="polite"
            class:hidden=move || message.get().is_none()
            class:warning=move || message.with(|m| m.as_ref().is_some_and(|m| m.tone == Tone::Warning))>
            {move || message.get().map(|m| m.text)}
        </p>
    }
}

/// A failure of the form it sits in.
#[component]
pub fn ErrorBanner(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="error-banner" role="alert" class:hidden=move || message.get().is_none()>
            {move || message.get()}
        </p>
    }
}
