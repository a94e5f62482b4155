//! The signed-in account: who, since when, session end; log out; delete with confirmation.

use accounts_api::{Credentials, SessionInfo};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};

use super::{failed, set_title};
use crate::{
    api,
    components::{ErrorBanner, Notice, PasswordField, SubmitButton},
    form::{required, FieldState, FormState},
    router::{Link, Router},
    state::AppState,
    when,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    set_title("Account");
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let notice = RwSignal::new(state.take_flash());
    // Set when this page itself signs the user out (log out, delete) and navigates on its own.
    let leaving = Leaving(RwSignal::new(false));
    provide_context(leaving);

    // Opened while signed out (once we know): go to the login page.
    Effect::new(move |_| {
        if state.session_checked.get()
            && state.session.get().is_none()
            && !leaving.0.get_untracked()
        {
            router.replace("/login");
        }
    });

    let logging_out = RwSignal::new(false);
    let logout = {
        move |_| {
            if logging_out.get_untracked() {
                return;
            }
            logging_out.set(true);
            spawn_local(async move {
                let result = api::logout().await;
                logging_out.set(false);
                match result {
                    Ok(()) => {
                        leaving.0.set(true);
                        state.flash.set(Some("You are logged out.".into()));
                        state.session.set(None);
                        router.navigate("/login");
                    }
                    Err(e) => notice.set(Some(e.message())),
                }
            });
        }
    };

    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Your account"</h1>
            <Notice message=notice/>
            <Show when=move || state.session.get().is_some() fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || state.session.get().map(|s| view! { <Details session=s/> })}
                <div class="actions">
                    <Link href="/password" class="button">"Change password"</Link>
                    <button type="button" class="secondary" on:click=logout disabled=move || logging_out.get()>
                        {move || if logging_out.get() { "Logging out…" } else { "Log out" }}
                    </button>
                </div>
                <DeleteAccount/>
            </Show>
        </section>
    }
}

/// Whether the account page is navigating away by itself.
#[derive(Clone, Copy)]
struct Leaving(RwSignal<bool>);

#[component]
fn Details(session: SessionInfo) -> impl IntoView {
    let now = js_sys::Date::now();
    let ago = |iso: &str| {
        let then = js_sys::Date::parse(iso);
        when::relative(((now - then) / 1000.0).round() as i64)
    };
    let created = ago(&session.created_at);
    let changed = ago(&session.password_changed_at);
    let expires = ago(&session.expires_at);
    view! {
        <dl class="details">
            <dt>"User name"</dt>
            <dd class="user-name">{session.user_name.clone()}</dd>
            <dt>"Member since"</dt>
            <dd><time datetime=session.created_at.clone() title=session.created_at.clone()>{created}</time></dd>
            <dt>"Password changed"</dt>
            <dd><time datetime=session.password_changed_at.clone() title=session.password_changed_at.clone()>{changed}</time></dd>
            <dt>"Session ends"</dt>
            <dd><time datetime=session.expires_at.clone() title=session.expires_at.clone()>{expires}</time></dd>
        </dl>
    }
}

/// Deleting needs the password again: a confirmation that also proves it is really the owner.
#[component]
fn DeleteAccount() -> impl IntoView {
    let state = expect_context::<AppState>();
    let leaving = expect_context::<Leaving>();
    let router = expect_context::<Router>();
    let open = RwSignal::new(false);
    let password = FieldState::new("");
    let form = FormState::new();
    let FormState {
        submitted,
        busy,
        top_error,
    } = form;
    let error = password.message(submitted, move |v| required("Password", v));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(user_name) = state
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.user_name.clone()))
        else {
            return;
        };
        if !form.begin(&[error]) {
            return;
        }
        let req = Credentials {
            user_name,
            password: password.value.get_untracked().into(),
        };
        spawn_local(async move {
            match api::delete_account(&req).await {
                Ok(_) => {
                    busy.set(false);
                    leaving.0.set(true);
                    state.flash.set(Some("Your account was deleted.".into()));
                    state.session.set(None);
                    router.navigate("/register");
                }
                Err(e) => {
                    failed(form, &e, &[("password", password)]);
                }
            }
        });
    };
    view! {
        <div class="danger-zone">
            <Show
                when=move || open.get()
                fallback=move || view! {
                    <button type="button" class="danger-link" on:click=move |_| open.set(true)>"Delete account…"</button>
                }
            >
                <form on:submit=on_submit novalidate aria-labelledby="delete-title">
                    <h2 id="delete-title">"Delete your account?"</h2>
                    <p>"This removes the account and signs you out everywhere. It cannot be undone. Enter your password to confirm."</p>
                    <ErrorBanner message=top_error/>
                    <PasswordField id="delete_password" label="Password" autocomplete="current-password" field=password error=error/>
                    <div class="actions">
                        <SubmitButton label="Delete permanently" busy_label="Deleting…" busy=busy danger=true/>
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Show>
        </div>
    }
}
