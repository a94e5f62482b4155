//! Accounts browser app: client-side rendered Leptos, talking to the API on the same origin.
//!
//! - [`api`]: the only module that calls the server (gloo-net), returning shared DTOs;
//!   [`decode`] reads the replies with the browser's JSON parser into them.
//! - [`state`]: the session (one local resource), the policy, the message for the next page.
//! - [`form`]: one submission model for every form (a Leptos action), and validation display.
//! - [`router`]: real URLs, and who may see which page; [`App`] holds the one guard.
//! - [`components`]: fields, buttons, notices. [`pages`]: one module per page, and the table
//!   of pages (path, access, title, navigation link).
//! - [`passkey`]: the browser's WebAuthn calls.
//! - [`reauth`]: "Confirm it's you" before a sensitive change, then the change again.
//! - [`relative_time`]: "3 minutes ago".
//!
//! Validation rules come from the shared `accounts-api` crate and the server's `GET /api/policy`,
//! so the app and the server cannot disagree.

#![warn(missing_docs)]

pub mod api;
pub mod components;
pub mod decode;
pub mod form;
pub mod pages;
pub mod passkey;
pub mod reauth;
pub mod relative_time;
pub mod router;
pub mod state;

use leptos::prelude::*;

use pages::PAGES;
use router::{Link, Router};
use state::AppState;

/// The whole app: shared state, the layout and the page for the current URL.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    let router = Router::start();
    provide_context(router);
    let page = Memo::new(move |_| router.page());
    // The one guard: once the session is known, a page someone may not see sends them on.
    Effect::new(move |_| {
        let Some(session) = state.session.known() else {
            return;
        };
        if let Some(target) = page.get().redirect(session.is_some()) {
            router.replace(target);
        }
    });
    let signed_in = Memo::new(move |_| state.session.user().is_some());
    let nav = move || {
        let signed_in = signed_in.get();
        PAGES
            .iter()
            .filter_map(|page| {
                let label = page.nav.label(signed_in)?;
                Some(view! { <Link href=page.path>{label}</Link> })
            })
            .collect_view()
    };
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <Link href="/" class="brand">"Accounts"</Link>
            <nav aria-label="Main">{nav}</nav>
        </header>
        <main id="main" tabindex="-1">
            {move || {
                let page = page.get();
                if let Some(title) = page.title {
                    document().set_title(&format!("{title} · Accounts"));
                }
                (page.view)()
            }}
        </main>
    }
}
