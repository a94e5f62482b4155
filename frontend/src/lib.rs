//! Accounts browser app: client-side rendered Leptos, talking to the API on the same origin.
//!
//! - [`api`]: the only module that calls the server (gloo-net), returning shared DTOs.
//! - [`form`], [`when`]: pure logic (validation display, wording), unit-tested on the host.
//! - [`components`]: fields, buttons, notices. [`pages`]: one module per route.
//!
//! Validation rules come from the shared `accounts-api` crate and the server's `GET /api/policy`,
//! so the app and the server cannot disagree.

pub mod api;
pub mod components;
pub mod form;
pub mod pages;
pub mod router;
pub mod state;
pub mod when;

use leptos::prelude::*;

use pages::{AccountPage, ChangePasswordPage, LoginPage, NotFoundPage, RegisterPage};
use router::{Link, Route, Router};
use state::AppState;

/// The whole app: shared state, the layout and the page for the current URL.
#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);
    state.load();
    let router = Router::start();
    provide_context(router);
    let route = Memo::new(move |_| router.route());
    // `/` is the account page, which sends signed-out users to log in.
    Effect::new(move |_| {
        if route.get() == Route::Home {
            router.replace("/account");
        }
    });
    let signed_in = move || state.session.with(Option::is_some);
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
                </Show>
            </nav>
        </header>
        <main id="main" tabindex="-1">
            {move || match route.get() {
                Route::Login => view! { <LoginPage/> }.into_any(),
                Route::Register => view! { <RegisterPage/> }.into_any(),
                Route::ChangePassword => view! { <ChangePasswordPage/> }.into_any(),
                Route::Account => view! { <AccountPage/> }.into_any(),
                Route::NotFound => view! { <NotFoundPage/> }.into_any(),
                Route::Home => ().into_any(),
            }}
        </main>
    }
}
