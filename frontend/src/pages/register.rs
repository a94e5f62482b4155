//! Register, then sign in straight away.

use accounts_api::Credentials;
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};

use super::{failed, set_title};
use crate::{
    api,
    components::{FormCard, PasswordField, SubmitButton, TextField},
    form::{check_new_password, check_new_user_name, FieldState, FormState},
    router::Router,
    state::AppState,
};

#[component]
pub fn RegisterPage() -> impl IntoView {
    set_title("Register");
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let name = FieldState::new("");
    let password = FieldState::new("");
    let form = FormState::new();
    let FormState {
        submitted,
        busy,
        top_error,
    } = form;
    let notice = RwSignal::new(state.take_flash());

    let name_error = name.message(submitted, check_new_user_name);
    let password_error = password.message(submitted, move |v| {
        check_new_password(v, &name.value.get(), state.password_policy())
    });
    let password_hint = Signal::derive(move || {
        state.password_policy().map(|p| {
            format!(
                "At least {} characters. A long phrase you can remember works well.",
                p.min_length
            )
        })
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if !form.begin(&[name_error, password_error]) {
            return;
        }
        let req = Credentials {
            user_name: name.value.get_untracked(),
            password: password.value.get_untracked().into(),
        };
        spawn_local(async move {
            let result = match api::register(&req).await {
                Ok(reply) => api::login(&req).await.map(|_| reply),
                Err(e) => Err(e),
            };
            match result {
                Ok(reply) => {
                    state.refresh_session().await;
                    state.flash.set(Some(format!(
                        "Welcome, {}! Your account is ready.",
                        reply.user_name
                    )));
                    busy.set(false);
                    router.navigate("/account");
                }
                Err(e) => {
                    failed(form, &e, &[("user_name", name), ("password", password)]);
                }
            }
        });
    };

    view! {
        <FormCard title="Create an account" notice=notice error=top_error on_submit=on_submit
            alt=("Already registered? ", "/login", "Log in")>
            <TextField
                id="user_name" label="User name" autocomplete="username" field=name error=name_error
                hint="3 to 32 letters, digits, dots, dashes or underscores."
            />
            <PasswordField
                id="password" label="Password" autocomplete="new-password" field=password error=password_error
                hint=password_hint
            />
            <SubmitButton label="Create account" busy_label="Creating account…" busy=busy/>
        </FormCard>
    }
}
