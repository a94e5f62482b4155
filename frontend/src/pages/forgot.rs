//! Forgot password: a user name or an email address; if the account has a confirmed address,
//! the server mails it a reset link. The reply is the same either way, so the page says what
//! happens "if", and never whether the account exists.

use accounts_api::ForgotPasswordRequest;
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{FormCard, SubmitButton, TextField},
    form::{required, FieldState, Submission},
    router::Router,
    state::{AppState, Flash},
};

/// The forgot-password page (signed out).
#[component]
pub fn ForgotPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let who = FieldState::new(router.query("user").unwrap_or_default());
    let notice = RwSignal::new(state.take_flash());
    let form = Submission::new(
        &[("user_name", who), ("email", who)],
        |req: ForgotPasswordRequest| async move { api::forgot_password(&req).await },
        move |reply, _| notice.set(Some(Flash::success(reply.message))),
    );
    let error = who.message(form.submitted, move |v| required("User name or email", v));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        form.submit(&[error], || {
            let value = who.value.get_untracked().trim().to_owned();
            if value.contains('@') {
                ForgotPasswordRequest {
                    user_name: None,
                    email: Some(value),
                }
            } else {
                ForgotPasswordRequest {
                    user_name: Some(value),
                    email: None,
                }
            }
        });
    };
    // Without mail there is nothing to fill in: say where to turn instead (a request would
    // answer 503 mail_unavailable in the same words), and hide the form.
    let without_mail = move || state.self_service_recovery() == Some(false);
    Effect::new(move || {
        if without_mail() {
            notice.set(Some(Flash::warning(
                "This service does not send email, so it cannot send you a reset link. Ask its administrator for one: they can give you a link to choose a new password.",
            )));
        }
    });
    view! {
        <FormCard title="Forgot password" notice=notice error=form.top_error on_submit=on_submit
            alt=("Remembered it? ", "/login", "Log in")>
            <div class:hidden=without_mail>
                <p>"Enter your user name or the email address of your account. If the account has a confirmed email address, we send a link to choose a new password."</p>
                <TextField id="user_name" label="User name or email" autocomplete="username" field=who error=error/>
                <SubmitButton label="Send the link" busy_label="Sending…" busy=form.busy()/>
            </div>
        </FormCard>
    }
}
