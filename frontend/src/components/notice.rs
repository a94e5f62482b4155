//! Messages for the whole form. `Notice` is a polite live region (results); `ErrorBanner` is an
//! alert (failures). Both are always in the DOM so screen readers pick up changes.

use leptos::prelude::*;

#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="notice" role="status" aria-live="polite" class:hidden=move || message.get().is_none()>
            {move || message.get()}
        </p>
    }
}

#[component]
pub fn ErrorBanner(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="error-banner" role="alert" class:hidden=move || message.get().is_none()>
            {move || message.get()}
        </p>
    }
}
