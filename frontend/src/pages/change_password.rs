//! Change password, with the current one. Also the way out of an expired password: the login
//! page sends the user here with the name filled in.

use accounts_api::{ChangePasswordRequest, ErrorCode};
use leptos::{ev::SubmitEvent, prelude::*};

use super::encode;
use crate::{
    api,
    components::{CodeField, FormCard, PasswordField, SubmitButton, TextField},
    form::{check_new_password, new_password_hint, required, required_if, FieldState, Submission},
    router::Router,
    state::{AppState, Flash},
};

/// The change-password page (signed in or not).
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let prefill = router
        .query("user")
        .or_else(|| state.session.user_name_untracked())
        .unwrap_or_default();
    let name = FieldState::new(prefill);
    let current = FieldState::new("");
    let new = FieldState::new("");
    let notice = RwSignal::new(state.take_flash());

    // Fill the name once the session lookup answers, unless the user typed one.
    Effect::new(move |_| {
        if let Some(s) = state.session.user() {
            if name.value.get_untracked().is_empty() {
                name.value.set(s.user_name);
            }
        }
    });

    // The code field shows when the signed-in account has two-factor login on, or once the
    // server asks for it (signed out, e.g. with an expired password).
    let code = FieldState::new("");
    let server_asked = RwSignal::new(false);
    let asks_code = Signal::derive(move || server_asked.get() || state.session.has_totp());
    let form = Submission::new(
        &[
            ("user_name", name),
            ("password", current),
            ("newpassword", new),
            ("code", code),
        ],
        move |req: ChangePasswordRequest| async move {
            let reply = api::change_password(&req).await;
            if matches!(&reply, Err(e) if e.code() == Some(ErrorCode::MfaRequired)) {
                server_asked.set(true);
            }
            reply
        },
        move |_, req| {
            // The server revoked every session of the account, this one included.
            state.flash.set(Some(Flash::success(
                "Password changed. Log in with your new password.",
            )));
            state.session.changed();
            router.navigate(&format!("/login?user={}", encode(&req.user_name)));
        },
    );
    let name_error = name.message(form.submitted, move |v| required("User name", v));
    let current_error = current.message(form.submitted, move |v| required("Current password", v));
    let new_error = new.message(form.submitted, move |v| {
        check_new_password(v, &name.value.get(), state.password_policy()).or_else(|| {
            (!v.is_empty() && current.value.with(|c| c == v))
                .then(|| "New password must differ from the current one".to_string())
        })
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
        form.submit(&[name_error, current_error, new_error, code_error], || {
            ChangePasswordRequest {
                user_name: name.value.get_untracked(),
                password: current.value.get_untracked().into(),
                newpassword: new.value.get_untracked().into(),
                code: code.value_if(|| asks_code.get_untracked()),
            }
        });
    };

    view! {
        <FormCard title="Change password" notice=notice error=form.top_error on_submit=on_submit>
            <TextField id="user_name" label="User name" autocomplete="username" field=name error=name_error/>
            <PasswordField id="password" label="Current password" autocomplete="current-password" field=current error=current_error/>
            <PasswordField id="newpassword" label="New password" autocomplete="new-password" field=new error=new_error
                hint=new_password_hint(state)/>
            <Show when=move || asks_code.get()>
                <CodeField id="code" field=code error=code_error/>
            </Show>
            <SubmitButton label="Change password" busy_label="Changing password…" busy=form.busy()/>
        </FormCard>
    }
}
