//! Log in. Only presence is checked here: sign-up rules never block a login. An account with
//! two-factor login on answers the right password with `mfa_required` and a login ticket; the
//! code field then appears and the next attempt sends the code with the ticket (so it does
//! not spend the account's shared failure budget). A ticket that is no longer good falls back
//! to sending the password and the code together.

use accounts_api::{ErrorCode, LoginRequest};
use leptos::{ev::SubmitEvent, prelude::*};

use super::encode;
use crate::{
    api,
    components::{CodeField, ErrorBanner, FormCard, PasswordField, SubmitButton, TextField},
    form::{required, required_if, FieldState, Submission},
    router::{Link, Router},
    state::{AppState, Flash},
};

/// How a login with the right password can end.
enum Outcome {
    SignedIn,
    /// The password is right but too old: the way on is a new one.
    PasswordExpired,
    /// The password is right; the account needs its second factor too (sent with this
    /// ticket, if the server gave one).
    CodeNeeded(Option<String>),
}

/// The login page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let router = expect_context::<Router>();
    let name = FieldState::new(router.query("user").unwrap_or_default());
    let password = FieldState::new("");
    let code = FieldState::new("");
    let asks_code = RwSignal::new(false);
    let ticket = RwSignal::new(None::<String>);
    // A ticket stands for the name and password it was given for: edited, they go again.
    Effect::new(move |_| {
        name.value.track();
        password.value.track();
        ticket.set(None);
    });
    let notice = RwSignal::new(state.take_flash());

    let form = Submission::new(
        &[("user_name", name), ("password", password), ("code", code)],
        move |req: LoginRequest| async move {
            match api::login(&req).await {
                Ok(_) => Ok(Outcome::SignedIn),
                Err(e) if e.code() == Some(ErrorCode::PasswordExpired) => {
                    Ok(Outcome::PasswordExpired)
                }
                Err(api::ApiError::Problem(p))
                    if p.code == ErrorCode::MfaRequired && req.code.is_none() =>
                {
                    Ok(Outcome::CodeNeeded(p.login_ticket))
                }
                Err(e) => {
                    if e.code() == Some(ErrorCode::InvalidLoginTicket) {
                        // The next attempt sends the password with the code.
                        ticket.set(None);
                    }
                    Err(e)
                }
            }
        },
        move |outcome, req| match outcome {
            Outcome::SignedIn => {
                state.session.changed();
                go_on(state, router);
            }
            Outcome::PasswordExpired => {
                state.flash.set(Some(Flash::warning(
                    "Your password has expired. Choose a new one to continue.",
                )));
                let user = req.user_name.unwrap_or_default();
                router.navigate(&format!("/password?user={}", encode(&user)));
            }
            Outcome::CodeNeeded(login_ticket) => {
                ticket.set(login_ticket);
                asks_code.set(true);
                notice.set(Some(Flash::warning(
                    "Two-factor login is on for this account: enter the code from your authenticator app.",
                )));
                focus("code");
            }
        },
    );
    let name_error = name.message(form.submitted, move |v| required("User name", v));
    let password_error = password.message(form.submitted, move |v| required("Password", v));
    // A code field that appears after a reply is not wrong yet: "required" waits for a submit
    // made while it is shown.
    let code_tried = RwSignal::new(false);
    let code_error = code.message(
        form.submitted,
        required_if(move || asks_code.get() && code_tried.get(), "Code"),
    );
    // A passkey logs in on its own: no name, no password, no code.
    let with_passkey = Submission::new(
        &[],
        |()| api::passkey_login(),
        move |_, ()| {
            state.session.changed();
            go_on(state, router);
        },
    );
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        code_tried.set(asks_code.get_untracked());
        notice.set(None);
        form.submit(&[name_error, password_error, code_error], || {
            let code = code.value_if(|| asks_code.get_untracked());
            match ticket.get_untracked().filter(|_| code.is_some()) {
                Some(login_ticket) => LoginRequest {
                    user_name: None,
                    password: None,
                    code,
                    login_ticket: Some(login_ticket),
                },
                None => LoginRequest {
                    user_name: Some(name.value.get_untracked()),
                    password: Some(password.value.get_untracked().into()),
                    code,
                    login_ticket: None,
                },
            }
        });
    };

    view! {
        <FormCard title="Log in" notice=notice error=form.top_error on_submit=on_submit
            alt=("New here? ", "/register", "Create an account")>
            <TextField id="user_name" label="User name" autocomplete="username" field=name error=name_error/>
            <PasswordField id="password" label="Password" autocomplete="current-password" field=password error=password_error/>
            <Show when=move || asks_code.get()>
                <CodeField id="code" field=code error=code_error/>
            </Show>
            <SubmitButton label="Log in" busy_label="Logging in…" busy=form.busy()/>
            <p class="alt"><Link href="/forgot">"Forgot your password?"</Link></p>
            <div class="or" role="presentation">"or"</div>
            <ErrorBanner message=with_passkey.top_error/>
            <button type="button" class="secondary wide" disabled=move || with_passkey.busy().get()
                on:click=move |_| {
                    notice.set(None);
                    with_passkey.submit(&[], || ());
                }>
                {move || if with_passkey.busy().get() { "Waiting for your passkey…" } else { "Sign in with a passkey" }}
            </button>
        </FormCard>
    }
}

/// After a login: back to the app behind a proxy that sent the browser here (`?rd=`, an
/// address on this host or under the cookie's domain; see `accounts_api::redirect`), else on
/// in this app.
fn go_on(state: AppState, router: Router) {
    let own_host = window().location().hostname().unwrap_or_default();
    let domain = state.cookie_domain();
    // Served over HTTPS, never on to plain HTTP (the cookie would not go, and the way back
    // could be read).
    let https = window().location().protocol().is_ok_and(|p| p == "https:");
    let back = router.query("rd").filter(|rd| {
        accounts_api::redirect::return_address(rd, &own_host, domain.as_deref()).is_some()
            && !(https && rd.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("http:")))
    });
    match back {
        Some(rd) => {
            let _ = window().location().assign(&rd);
        }
        None => router.navigate(&after_login(router)),
    }
}

/// Where a login goes on to: `?next=`, if it is a page of this app (a path, never another
/// site: `//host` and `/\\host` are other sites to a browser, and the History API refuses
/// any other origin), else the account page.
fn after_login(router: Router) -> String {
    router
        .query("next")
        .filter(|n| is_own_page(n))
        .unwrap_or_else(|| "/account".to_owned())
}

/// Whether `next` is a path on this site.
fn is_own_page(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')
}

/// Moves keyboard focus to the element with this id, once it is in the page.
pub(crate) fn focus(id: &'static str) {
    request_animation_frame(move || {
        if let Some(el) = document()
            .get_element_by_id(id)
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
        {
            let _ = el.focus();
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_pages_of_this_site_are_gone_on_to() {
        assert!(super::is_own_page("/authorize?client_id=a&state=b"));
        for other in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "account",
        ] {
            assert!(!super::is_own_page(other), "{other}");
        }
    }
}
