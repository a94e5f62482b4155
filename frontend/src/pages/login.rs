//! Log in. Only presence is checked here: sign-up rules never block a login.

use accounts_api::{Credentials, ErrorCode};
use leptos::{ev::SubmitEvent, prelude::*, task::spawn_local};

use super::{encode, failed, set_title};
use crate::{
    api,
    components::{FormCard, PasswordField, SubmitButton, TextField},
    form::{required, FieldState, FormState},
    router::Router,
    state::AppState,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    set_title("Log in");
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let prefill = router.query("user").unwrap_or_default();
    let name = FieldState::new(prefill);
    let password = FieldState::new("");
    let form = FormState::new();
    let FormState {
        submitted,
        busy,
        top_error,
    } = form;
    let notice = RwSignal::new(state.take_flash());

    // Already signed in: this page has nothing to do.
    Effect::new(move |_| {
        if state.session_checked.get() && state.session.get().is_some() && !busy.get_untracked() {
            router.replace("/account");
        }
    });

    let name_error = name.message(submitted, move |v| required("User name", v));
    let password_error = password.message(submitted, move |v| required("Password", v));

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        if !form.begin(&[name_error, password_error]) {
            return;
        }
        let req = Credentials {
            user_name: name.value.get_untracked(),
            password: password.value.get_untracked().into(),
        };
        spawn_local(async move {
            match api::login(&req).await {
                Ok(_) => {
                    state.refresh_session().await;
                    busy.set(false);
                    router.navigate("/account");
                }
                Err(e) if e.code() == Some(ErrorCode::PasswordExpired) => {
                    busy.set(false);
                    // The server's own words, which also name the API route for scripts.
                    state.flash.set(Some(e.message()));
                    router.navigate(&format!("/password?user={}", encode(&req.user_name)));
                }
                Err(e) => {
                    failed(form, &e, &[("user_name", name), ("password", password)]);
                }
            }
        });
    };

    view! {
        <FormCard title="Log in" notice=notice error=top_error on_submit=on_submit
            alt=("New here? ", "/register", "Create an account")>
            <TextField id="user_name" label="User name" autocomplete="username" field=name error=name_error/>
            <PasswordField id="password" label="Password" autocomplete="current-password" field=password error=password_error/>
            <SubmitButton label="Log in" busy_label="Logging in…" busy=busy/>
        </FormCard>
    }
}
