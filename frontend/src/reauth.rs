//! "Confirm it is you": sensitive changes (passkeys, two-factor login) answer
//! `403 reauth_required` when the last login is more than a few minutes old. Instead of a
//! dead end, [`Reauth::guard`] asks for the password (and code) or a passkey in a dialog,
//! renews the session's window with the server, and sends the change again.
//!
//! The dialog is one per page ([`ReauthPrompt`]), a modal `<dialog>` (the browser moves the
//! focus into it, keeps it there and closes it on Escape); the change waits for it on a
//! promise that the dialog resolves (confirmed) or the user cancels.

use std::future::Future;

use accounts_api::{ErrorCode, ReauthRequest};
use leptos::{ev::SubmitEvent, prelude::*};
use wasm_bindgen::{JsCast, JsValue};

use crate::{
    api::{self, ApiError},
    components::{CodeField, ErrorBanner, PasswordField, SubmitButton},
    form::{required, required_if, FieldState, Submission},
    state::AppState,
};

/// The page's re-authentication: whether the dialog is open, and the change waiting for it.
#[derive(Clone, Copy)]
pub struct Reauth {
    open: RwSignal<bool>,
    /// Resolves the waiting change's promise with whether it was confirmed.
    waiting: StoredValue<Option<js_sys::Function>, LocalStorage>,
}

impl Reauth {
    /// Closed, nothing waiting.
    pub fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            waiting: StoredValue::new_local(None),
        }
    }

    /// Runs `call`; if the server asks the user to confirm it is them first, opens the dialog
    /// and, once they have, runs `call` again. Cancelling is an error that says nothing
    /// changed.
    pub async fn guard<T, Fut>(self, call: impl Fn() -> Fut) -> Result<T, ApiError>
    where
        Fut: Future<Output = Result<T, ApiError>>,
    {
        match call().await {
            Err(e) if e.code() == Some(ErrorCode::ReauthRequired) => {
                if self.ask().await {
                    call().await
                } else {
                    Err(ApiError::Local(
                        "Not confirmed: nothing was changed.".into(),
                    ))
                }
            }
            done => done,
        }
    }

    /// Opens the dialog; whether the user confirmed.
    async fn ask(self) -> bool {
        self.finish(false);
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            self.waiting.set_value(Some(resolve));
        });
        self.open.set(true);
        wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Closes the dialog and tells the waiting change.
    fn finish(self, confirmed: bool) {
        self.open.set(false);
        let waiting = self.waiting.try_update_value(Option::take).flatten();
        if let Some(resolve) = waiting {
            let _ = resolve.call1(&JsValue::NULL, &confirmed.into());
        }
    }
}

impl Default for Reauth {
    fn default() -> Self {
        Self::new()
    }
}

/// The dialog: the password (and the code, with two-factor login on), or a passkey when the
/// account has one.
#[component]
pub fn ReauthPrompt(
    /// The page's re-authentication, shared with the changes it guards.
    reauth: Reauth,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let password = FieldState::new("");
    let code = FieldState::new("");
    let asks_code = Signal::derive(move || state.session.has_totp());
    let has_passkey = Signal::derive(move || state.session.user().is_some_and(|s| s.passkeys > 0));
    // One submission for both ways (one form state, one error banner, less code to download).
    let form = Submission::new(
        &[("password", password), ("code", code)],
        |proof: Option<ReauthRequest>| async move {
            match proof {
                Some(req) => api::reauth(&req).await,
                None => api::reauth_passkey().await,
            }
        },
        move |_, _| reauth.finish(true),
    );
    let password_error = password.message(form.submitted, move |v| required("Password", v));
    let code_error = code.message(form.submitted, required_if(move || asks_code.get(), "Code"));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[password_error, code_error], || {
            Some(ReauthRequest {
                password: password.value.get_untracked().into(),
                code: code.value_if(|| asks_code.get_untracked()),
            })
        });
    };
    // Opened or closed, it is emptied: no password kept, no errors from last time.
    let clear = move || {
        for field in [password, code] {
            field.value.set(String::new());
            field.touched.set(false);
            field.server_error.set(None);
        }
        form.submitted.set(false);
        form.top_error.set(None);
    };
    // Open it as a modal (showModal, through a property lookup: the typed binding costs
    // download size), and close it again.
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move || {
        let open = reauth.open.get();
        clear();
        if let Some(element) = dialog.get() {
            let element: &JsValue = element.as_ref();
            let method = if open { "showModal" } else { "close" };
            if let Ok(call) = js_sys::Reflect::get(element, &method.into()) {
                if let Ok(call) = call.dyn_into::<js_sys::Function>() {
                    let _ = call.call0(element);
                }
            }
        }
    });
    let cancel = move |_: ()| reauth.finish(false);
    view! {
        // Escape closes it without us: that is a cancel.
        <dialog node_ref=dialog class="card" aria-labelledby="reauth-title"
            on:close=move |_| if reauth.open.get_untracked() { cancel(()) }>
            <h2 id="reauth-title">"Confirm it's you"</h2>
            <p>"Your last login was a while ago: to make this change, log in here again."</p>
            <form on:submit=on_submit novalidate aria-label="Confirm it's you">
                <ErrorBanner message=form.top_error/>
                <PasswordField id="reauth_password" label="Current password" autocomplete="current-password" field=password error=password_error/>
                <Show when=move || asks_code.get()>
                    <CodeField id="reauth_code" field=code error=code_error/>
                </Show>
                <div class="actions">
                    <SubmitButton label="Confirm" busy_label="Checking…" busy=form.busy()/>
                    <button type="button" class="secondary" on:click=move |_| cancel(())>"Cancel"</button>
                </div>
            </form>
            <button type="button" class="secondary wide" class:hidden=move || !has_passkey.get()
                disabled=move || form.busy().get()
                on:click=move |_| {
                    form.submitted.set(false);
                    form.submit(&[], || None);
                }>
                "Use a passkey instead"
            </button>
        </dialog>
    }
}
