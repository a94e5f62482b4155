//! The account's email address on the Account page: what it is and whether it is confirmed,
//! sending the confirmation link again, and changing it (a sensitive change: the server may
//! ask to confirm it is you first, see [`crate::reauth`]).

use accounts_api::{EmailRequest, SessionInfo};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{ErrorBanner, SubmitButton, TextField},
    form::{required, FieldState, Submission},
    reauth::Reauth,
    state::{AppState, Flash},
};

/// The address and what can be done with it; `notice` is the page's message line.
#[component]
pub fn EmailAddress(
    session: SessionInfo,
    notice: RwSignal<Option<Flash>>,
    reauth: Reauth,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let resend = Submission::new(
        &[],
        |()| api::resend_email(),
        move |reply, ()| notice.set(Some(Flash::success(reply.message))),
    );
    let unconfirmed = session.email.is_some() && !session.email_verified;
    let status = match (&session.email, session.email_verified) {
        (None, _) => "None: add one to get a link by email if you forget your password.".to_owned(),
        (Some(email), true) => format!("{email} (confirmed)"),
        (Some(email), false) => format!("{email} (not confirmed yet: open the link we sent)"),
    };
    let open = RwSignal::new(false);
    let email = FieldState::new("");
    let form = Submission::new(
        &[("email", email)],
        move |req: EmailRequest| async move { reauth.guard(|| api::change_email(&req)).await },
        move |reply, _| {
            notice.set(Some(Flash::success(reply.message)));
            open.set(false);
            email.value.set(String::new());
            state.session.changed();
        },
    );
    let error = email.message(form.submitted, |v| {
        required("Email address", v).or_else(|| {
            (!v.contains('@')).then(|| "Enter an email address, like name@example.org".to_owned())
        })
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[error], || EmailRequest {
            email: email.value.get_untracked(),
            password: None,
            code: None,
        });
    };
    let has_email = session.email.is_some();
    view! {
        <h2>"Email address"</h2>
        <p class="email-status">{status}</p>
        <ErrorBanner message=resend.top_error/>
        <Show when=move || !open.get()>
            <div class="actions">
                {unconfirmed.then(|| view! {
                    <button type="button" class="secondary" disabled=move || resend.busy().get()
                        on:click=move |_| resend.submit(&[], || ())>
                        {move || if resend.busy().get() { "Sending…" } else { "Send the link again" }}
                    </button>
                })}
                <button type="button" class="secondary" on:click=move |_| open.set(true)>
                    {if has_email { "Change email address" } else { "Add an email address" }}
                </button>
            </div>
        </Show>
        <Show when=move || open.get()>
            <form on:submit=on_submit novalidate aria-label="Email address">
                <ErrorBanner message=form.top_error/>
                <TextField id="email" label="New email address" autocomplete="email" field=email error=error/>
                <div class="actions">
                    <SubmitButton label="Save" busy_label="Saving…" busy=form.busy()/>
                    <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </form>
        </Show>
    }
}
