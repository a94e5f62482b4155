//! Register, then sign in straight away.

use accounts_api::{LoginRequest, RegisterRequest};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{FormCard, PasswordField, SubmitButton, TextField},
    form::{check_new_password, check_new_user_name, new_password_hint, FieldState, Submission},
    router::Router,
    state::{AppState, Flash},
};

/// The registration page.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let name = FieldState::new("");
    let password = FieldState::new("");
    let email = FieldState::new("");
    let notice = RwSignal::new(state.take_flash());

    let form = Submission::new(
        &[
            ("user_name", name),
            ("password", password),
            ("email", email),
        ],
        |req: RegisterRequest| async move {
            let reply = api::register(&req).await?;
            let with_email = req.email.is_some();
            api::login(&LoginRequest {
                user_name: Some(req.user_name),
                password: Some(req.password),
                code: None,
                login_ticket: None,
            })
            .await?;
            Ok((reply, with_email))
        },
        move |(reply, with_email), _| {
            let check = if with_email {
                " Check your inbox for a link to confirm your email address."
            } else {
                ""
            };
            state.flash.set(Some(Flash::success(format!(
                "Welcome, {}! Your account is ready.{check}",
                reply.user_name
            ))));
            state.session.changed();
            router.navigate("/account");
        },
    );
    let name_error = name.message(form.submitted, check_new_user_name);
    let password_error = password.message(form.submitted, move |v| {
        check_new_password(v, &name.value.get(), state.password_policy())
    });
    let password_hint = new_password_hint(state);
    let email_error = email.message(form.submitted, |v| {
        (!v.trim().is_empty() && !v.contains('@'))
            .then(|| "Enter an email address, like name@example.org, or leave it empty".to_owned())
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[name_error, password_error, email_error], || {
            RegisterRequest {
                user_name: name.value.get_untracked(),
                password: password.value.get_untracked().into(),
                email: Some(email.value.get_untracked()).filter(|e| !e.trim().is_empty()),
            }
        });
    };

    view! {
        <FormCard title="Create an account" notice=notice error=form.top_error on_submit=on_submit
            alt=("Already registered? ", "/login", "Log in")>
            <TextField
                id="user_name" label="User name" autocomplete="username" field=name error=name_error
                hint=accounts_api::user_name::rules_hint()
            />
            <PasswordField
                id="password" label="Password" autocomplete="new-password" field=password error=password_error
                hint=password_hint
            />
            <TextField
                id="email" label="Email (optional)" autocomplete="email" field=email error=email_error
                hint="For a link to reset your password if you forget it. We send a link to confirm it.".to_owned()
                kind="email"
            />
            <SubmitButton label="Create account" busy_label="Creating account…" busy=form.busy()/>
        </FormCard>
    }
}
