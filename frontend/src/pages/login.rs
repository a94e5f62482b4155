//! Log in. Only presence is checked here: sign-up rules never block a login.

use accounts_api::{Credentials, ErrorCode};
use leptos::{ev::SubmitEvent, prelude::*};

use super::{encode, set_title};
use crate::{
    api,
    components::{FormCard, PasswordField, SubmitButton, TextField},
    form::{required, FieldState, Submission},
    router::Router,
    state::{AppState, Flash},
};

/// How a login with the right password can end.
enum Outcome {
    SignedIn,
    /// The password is right but too old: the way on is a new one.
    PasswordExpired,
}

/// The login page.
#[component]
pub fn LoginPage() -> impl IntoView {
    set_title("Log in");
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let name = FieldState::new(router.query("user").unwrap_or_default());
    let password = FieldState::new("");
    let notice = RwSignal::new(state.take_flash());

    let form = Submission::new(
        &[("user_name", name), ("password", password)],
        |req: Credentials| async move {
            match api::login(&req).await {
                Ok(_) => Ok(Outcome::SignedIn),
                Err(e) if e.code() == Some(ErrorCode::PasswordExpired) => {
                    Ok(Outcome::PasswordExpired)
                }
                Err(e) => Err(e),
            }
        },
        move |outcome, req| match outcome {
            Outcome::SignedIn => {
                state.session.changed();
                router.navigate("/account");
            }
            Outcome::PasswordExpired => {
                state.flash.set(Some(Flash::warning(
                    "Your password has expired. Choose a new one to continue.",
                )));
                router.navigate(&format!("/password?user={}", encode(&req.user_name)));
            }
        },
    );
    let name_error = name.message(form.submitted, move |v| required("User name", v));
    let password_error = password.message(form.submitted, move |v| required("Password", v));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        form.submit(&[name_error, password_error], || Credentials {
            user_name: name.value.get_untracked(),
            password: password.value.get_untracked().into(),
        });
    };

    view! {
        <FormCard title="Log in" notice=notice error=form.top_error on_submit=on_submit
            alt=("New here? ", "/register", "Create an account")
            help="Forgot your password? Ask the administrator of this service for a reset link.">
            <TextField id="user_name" label="User name" autocomplete="username" field=name error=name_error/>
            <PasswordField id="password" label="Password" autocomplete="current-password" field=password error=password_error/>
            <SubmitButton label="Log in" busy_label="Logging in…" busy=form.busy()/>
        </FormCard>
    }
}
