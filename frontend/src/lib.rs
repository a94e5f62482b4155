//! Accounts browser app: client-side rendered Leptos, talking to the API on the same origin.
//!
//! - [`api`]: the only module that calls the server (gloo-net), returning shared DTOs;
//!   [`decode`] reads the replies with the browser's JSON parser into them.
//! - [`state`]: the session (one local resource), the policy, the message for the next page.
//! - [`form`]: one submission model for every form (a Leptos action), and validation display.
//! - [`router`]: real URLs, and who may see which page; [`App`] holds the one guard.
//! - [`components`]: fields, buttons, notices. [`pages`]: one module per route.
//! - [`passkey`]: the browser's WebAuthn calls.
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
pub mod relative_time;
pub mod router;
pub mod state;

use leptos::prelude::*;

use pages::{
    AccountPage, ChangePasswordPage, LoginPage, NotFoundPage, RegisterPage, ResetPasswordPage,
    SecurityPage,
};
use router::{redirect_for, Link, Route, Router};
use state::AppState;

/// The whole app: shared state, the layout and the page for the current URL.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    let router = Router::start();
    provide_context(router);
    let route = Memo::new(move |_| router.route());
    // The one guard: once the session is known, a page someone may not see sends them on.
    Effect::new(move |_| {
        let Some(session) = state.session.known() else {
            return;
        };
        if let Some(target) = redirect_for(route.get(), session.is_some()) {
            router.replace(target);
        }
    });
    let signed_in = move || state.session.user().is_some();
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <Link href="/" class="brand">"Accounts"</Link>
            <nav aria-label="Main">
                <Show
                    when=signed_in
                    fallback=|| view! {
                        <Link href="/login">"Log in"</Link>
                        <Link href="/register">"Register"</Link>
                    }
                >
                    <Link href="/account">"Account"</Link>
                    <Link href="/password">"Change password"</Link>
                    <Link href="/security">"Security"</Link>
                </Show>
            </nav>
        </header>
        <main id="main" tabindex="-1">
            {move || match route.get() {
                Route::Login => view! { <LoginPage/> }.into_any(),
                Route::Register => view! { <RegisterPage/> }.into_any(),
                Route::ChangePassword => view! { <ChangePasswordPage/> }.into_any(),
                Route::Account => view! { <AccountPage/> }.into_any(),
                Route::ResetPassword => view! { <ResetPasswordPage/> }.into_any(),
                Route::Security => view! { <SecurityPage/> }.into_any(),
                Route::NotFound => view! { <NotFoundPage/> }.into_any(),
                Route::Home => ().into_any(),
            }}
        </main>
    }
}
