//! The signed-in account: who, since when, session end; log out; delete with confirmation.

use accounts_api::{Credentials, SessionInfo};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{CodeField, ErrorBanner, Notice, PasswordField, SubmitButton},
    form::{required, required_if, FieldState, Submission},
    reauth::{Reauth, ReauthPrompt},
    relative_time,
    router::{Link, Router},
    state::{AppState, Flash},
};

use super::email_address::EmailAddress;

/// The account page (signed in only).
#[component]
pub fn AccountPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let notice = RwSignal::new(state.take_flash());

    let logout = Submission::new(
        &[],
        |()| api::logout(),
        move |(), ()| {
            state.flash.set(Some(Flash::success("You are logged out.")));
            state.session.changed();
            router.navigate("/login");
        },
    );
    let logging_out = logout.busy();
    let reauth = Reauth::new();

    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Your account"</h1>
            <Notice message=notice/>
            <ErrorBanner message=logout.top_error/>
            <Show when=move || state.session.user().is_some() fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || state.session.user().map(|s| view! { <Details session=s/> })}
                <div class="actions">
                    <Link href="/password" class="button">"Change password"</Link>
                    <Link href="/security" class="button">"Security"</Link>
                    <button type="button" class="secondary"
                        on:click=move |_| logout.submit(&[], || ())
                        disabled=move || logging_out.get()>
                        {move || if logging_out.get() { "Logging out…" } else { "Log out" }}
                    </button>
                </div>
                {move || state.session.user().map(|s| view! { <EmailAddress session=s notice=notice reauth=reauth/> })}
                <DeleteAccount/>
            </Show>
            <ReauthPrompt reauth=reauth/>
        </section>
    }
}

#[component]
fn Details(session: SessionInfo) -> impl IntoView {
    let now = js_sys::Date::now();
    let ago = |iso: &str| {
        let then = js_sys::Date::parse(iso);
        relative_time::relative(((now - then) / 1000.0).round() as i64)
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
    let router = expect_context::<Router>();
    let open = RwSignal::new(false);
    let password = FieldState::new("");
    let code = FieldState::new("");
    let form = Submission::new(
        &[("password", password), ("code", code)],
        |req: Credentials| async move { api::delete_account(&req).await },
        move |_, _| {
            state
                .flash
                .set(Some(Flash::success("Your account was deleted.")));
            state.session.changed();
            router.navigate("/register");
        },
    );
    let error = password.message(form.submitted, move |v| required("Password", v));
    let asks_code = Signal::derive(move || state.session.has_totp());
    let code_error = code.message(form.submitted, required_if(move || asks_code.get(), "Code"));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(user_name) = state.session.user_name_untracked() else {
            return;
        };
        form.submit(&[error, code_error], || Credentials {
            user_name,
            password: password.value.get_untracked().into(),
            code: code.value_if(|| asks_code.get_untracked()),
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
                    <ErrorBanner message=form.top_error/>
                    <PasswordField id="delete_password" label="Password" autocomplete="current-password" field=password error=error/>
                    <Show when=move || asks_code.get()>
                        <CodeField id="delete_code" field=code error=code_error/>
                    </Show>
                    <div class="actions">
                        <SubmitButton label="Delete permanently" busy_label="Deleting…" busy=form.busy() danger=true/>
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Show>
        </div>
    }
}
