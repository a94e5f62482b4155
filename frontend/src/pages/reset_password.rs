//! Set a new password with a reset link (mailed, or from an administrator), `/reset#token=…`.
//! The token travels in the fragment, which browsers never send to a server (neither for the
//! page nor as Referer). With two-factor login on, the server answers `mfa_required` and the
//! page asks for a code too.

use accounts_api::{ErrorCode, ResetPasswordRequest};
use leptos::{ev::SubmitEvent, prelude::*};

use super::encode;
use crate::{
    api,
    components::{CodeField, FormCard, PasswordField, SubmitButton},
    form::{check_new_password, new_password_hint, required_if, FieldState, Submission},
    router::{query_value, Link, Router},
    state::{AppState, Flash},
};

/// The reset page (signed in or not).
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let hash = window().location().hash().unwrap_or_default();
    match query_value(hash.trim_start_matches('#'), "token").filter(|t| !t.is_empty()) {
        Some(token) => view! { <ResetForm token=token/> }.into_any(),
        None => view! {
            <section class="card" aria-labelledby="title">
                <h1 id="title">"Reset password"</h1>
                <p class="notice warning" role="status">
                    "This page needs the whole link from your email or your administrator: it ends in "
                    <code>"#token="</code>" and a long code. Open that link again, or ask for a new one."
                </p>
                <p class="alt">"Remembered it? "<Link href="/login">"Log in"</Link></p>
            </section>
        }
        .into_any(),
    }
}

/// The form, once the link's token is known.
#[component]
fn ResetForm(token: String) -> impl IntoView {
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let new = FieldState::new("");
    let code = FieldState::new("");
    let asks_code = RwSignal::new(false);
    let notice = RwSignal::new(state.take_flash());
    let form = Submission::new(
        &[("newpassword", new), ("code", code)],
        move |req: ResetPasswordRequest| async move {
            match api::reset_password(&req).await {
                Ok(reply) => Ok(Some(reply)),
                // Not a failure: the next step.
                Err(e) if e.code() == Some(ErrorCode::MfaRequired) && req.code.is_none() => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        },
        move |reply, _| match reply {
            Some(reply) => {
                state.flash.set(Some(Flash::success(
                    "Your password is set. Log in with it.",
                )));
                state.session.changed();
                // In place of the link, so Back does not return to a used token.
                router.replace(&format!("/login?user={}", encode(&reply.user_name)));
            }
            None => {
                asks_code.set(true);
                notice.set(Some(Flash::warning(
                    "Two-factor login is on for this account: enter the code from your authenticator app too.",
                )));
                super::login::focus("code");
            }
        },
    );
    let new_error = new.message(form.submitted, move |v| {
        check_new_password(v, "", state.password_policy())
    });
    // A code field that appears after a reply is not wrong yet: "required" waits for a submit
    // made while it is shown.
    let code_tried = RwSignal::new(false);
    let code_error = code.message(
        form.submitted,
        required_if(move || asks_code.get() && code_tried.get(), "Code"),
    );
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        code_tried.set(asks_code.get_untracked());
        notice.set(None);
        form.submit(&[new_error, code_error], || ResetPasswordRequest {
            token: token.clone(),
            newpassword: new.value.get_untracked().into(),
            code: code.value_if(|| asks_code.get_untracked()),
        });
    };

    view! {
        <FormCard title="Reset password" notice=notice error=form.top_error on_submit=on_submit
            alt=("Remembered it? ", "/login", "Log in")>
            <PasswordField id="newpassword" label="New password" autocomplete="new-password" field=new
                error=new_error hint=new_password_hint(state)/>
            <Show when=move || asks_code.get()>
                <CodeField id="code" field=code error=code_error/>
            </Show>
            <SubmitButton label="Set password" busy_label="Setting password…" busy=form.busy()/>
        </FormCard>
    }
}
