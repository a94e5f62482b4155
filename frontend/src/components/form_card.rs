//! The frame of a page that is one form: its title, the flash notice, the form's error banner,
//! the form itself (fields as children), and optional lines pointing elsewhere or helping.

use leptos::{ev::SubmitEvent, prelude::*};

use super::{ErrorBanner, Notice};
use crate::{router::Link, state::Flash};

/// A card with one form; see the module documentation.
#[component]
pub fn FormCard(
    title: &'static str,
    notice: RwSignal<Option<Flash>>,
    error: RwSignal<Option<String>>,
    on_submit: impl FnMut(SubmitEvent) + 'static,
    /// Text, link target and link label of the line under the form.
    #[prop(optional)]
    alt: Option<(&'static str, &'static str, &'static str)>,
    /// A line of help under that.
    #[prop(optional)]
    help: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">{title}</h1>
            <Notice message=notice/>
            <ErrorBanner message=error/>
            <form on:submit=on_submit novalidate>{children()}</form>
            {alt.map(|(text, href, label)| view! { <p class="alt">{text}<Link href=href>{label}</Link></p> })}
            {help.map(|text| view! { <p class="alt">{text}</p> })}
        </section>
    }
}
