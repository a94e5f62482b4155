//! Any other address.

use leptos::prelude::*;

use crate::router::Link;

/// Any URL the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Page not found"</h1>
            <p>"There is nothing at this address. " <Link href="/">"Go to your account"</Link></p>
        </section>
    }
}
