//! Set a new password with an operator's reset link, `/reset#token=…`. The token travels in
//! the fragment, which browsers never send to a server (neither for the page nor as Referer).

use accounts_api::ResetPasswordRequest;
use leptos::{ev::SubmitEvent, prelude::*};

use super::encode;
use crate::{
    api,
    components::{FormCard, PasswordField, SubmitButton},
    form::{check_new_password, new_password_hint, FieldState, Submission},
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
                    "This page needs the whole link your administrator gave you: it ends in "
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
    let notice = RwSignal::new(state.take_flash());
    let form = Submission::new(
        &[("newpassword", new)],
        |req: ResetPasswordRequest| async move { api::reset_password(&req).await },
        move |reply, _| {
            state.flash.set(Some(Flash::success(
                "Your password is set. Log in with it.",
            )));
            state.session.changed();
            // In place of the link, so Back does not return to a used token.
            router.replace(&format!("/login?user={}", encode(&reply.user_name)));
        },
    );
    let new_error = new.message(form.submitted, move |v| {
        check_new_password(v, "", state.password_policy())
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        form.submit(&[new_error], || ResetPasswordRequest {
            token: token.clone(),
            newpassword: new.value.get_untracked().into(),
            code: None,
        });
    };

    view! {
        <FormCard title="Reset password" notice=notice error=form.top_error on_submit=on_submit
            alt=("Remembered it? ", "/login", "Log in")>
            <PasswordField id="newpassword" label="New password" autocomplete="new-password" field=new
                error=new_error hint=new_password_hint(state)/>
            <SubmitButton label="Set password" busy_label="Setting password…" busy=form.busy()/>
        </FormCard>
    }
}
