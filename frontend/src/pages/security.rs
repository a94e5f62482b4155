//! Security: two-factor login with an authenticator app. Set up in three steps (the password,
//! then a code from the app after scanning the QR code, then the recovery codes, shown once);
//! turn off with the password and a code.

use accounts_api::{TotpConfirmRequest, TotpDisableRequest, TotpSetup, TotpSetupRequest};
use leptos::{ev::SubmitEvent, prelude::*};
use qrcodegen::{QrCode, QrCodeEcc};

use super::set_title;
use crate::{
    api,
    components::{CodeField, ErrorBanner, Notice, PasswordField, SubmitButton},
    form::{required, FieldState, Submission},
    state::{AppState, Flash},
};

/// Where the set-up is.
#[derive(Clone)]
enum Step {
    /// Showing the current state.
    Overview,
    /// A secret is pending: scan it, then confirm a code.
    Scan(TotpSetup),
    /// On: the recovery codes, this once.
    Saved(Vec<String>),
}

/// The security page (signed in only).
#[component]
pub fn SecurityPage() -> impl IntoView {
    set_title("Security");
    let state = expect_context::<AppState>();
    let notice = RwSignal::new(state.take_flash());
    let step = RwSignal::new(Step::Overview);
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Security"</h1>
            <Notice message=notice/>
            <h2>"Two-factor login"</h2>
            {move || match (state.session.user(), step.get()) {
                (None, _) => view! { <p class="loading">"Loading…"</p> }.into_any(),
                (_, Step::Scan(setup)) => view! { <Scan setup=setup step=step/> }.into_any(),
                (_, Step::Saved(codes)) => view! { <Codes codes=codes step=step/> }.into_any(),
                (Some(s), Step::Overview) if s.totp => {
                    view! { <TurnOff left=s.recovery_codes_left notice=notice/> }.into_any()
                }
                (Some(_), Step::Overview) => view! { <Start step=step/> }.into_any(),
            }}
        </section>
    }
}

/// Off: the password starts the set-up.
#[component]
fn Start(step: RwSignal<Step>) -> impl IntoView {
    let password = FieldState::new("");
    let form = Submission::new(
        &[("password", password)],
        |req: TotpSetupRequest| async move { api::totp_setup(&req).await },
        move |setup, _| step.set(Step::Scan(setup)),
    );
    let error = password.message(form.submitted, move |v| required("Password", v));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[error], || TotpSetupRequest {
            password: password.value.get_untracked().into(),
        });
    };
    view! {
        <p>"Off. With it on, logging in also asks for a 6-digit code from an authenticator app on your phone (such as Aegis, FreeOTP or Google Authenticator), so a stolen password alone is not enough."</p>
        <form on:submit=on_submit novalidate>
            <ErrorBanner message=form.top_error/>
            <PasswordField id="password" label="Current password" autocomplete="current-password" field=password error=error/>
            <SubmitButton label="Set up two-factor login" busy_label="Starting…" busy=form.busy()/>
        </form>
    }
}

/// A secret is pending: the QR code (and the key to type), and a code from the app.
#[component]
fn Scan(setup: TotpSetup, step: RwSignal<Step>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let code = FieldState::new("");
    let form = Submission::new(
        &[("code", code)],
        |req: TotpConfirmRequest| async move { api::totp_confirm(&req).await },
        move |reply, _| {
            state.session.changed();
            step.set(Step::Saved(reply.recovery_codes));
        },
    );
    let error = code.message(form.submitted, move |v| required("Code", v));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[error], || TotpConfirmRequest {
            code: code.value.get_untracked(),
        });
    };
    let key = grouped(&setup.secret);
    view! {
        <ol class="steps">
            <li>"Scan this code with your authenticator app:"</li>
        </ol>
        <QrImage text=setup.otpauth_uri/>
        <p class="hint">"Cannot scan it? Enter this key in the app instead: "<code class="secret">{key}</code></p>
        <ol class="steps" start="2">
            <li>"Enter the code the app shows, to check it works:"</li>
        </ol>
        <form on:submit=on_submit novalidate>
            <ErrorBanner message=form.top_error/>
            <CodeField id="code" field=code error=error app_only=true/>
            <div class="actions">
                <SubmitButton label="Turn on" busy_label="Checking…" busy=form.busy()/>
                <button type="button" class="secondary" on:click=move |_| step.set(Step::Overview)>"Cancel"</button>
            </div>
        </form>
    }
}

/// On: the recovery codes, to copy or download, shown this once.
#[component]
fn Codes(codes: Vec<String>, step: RwSignal<Step>) -> impl IntoView {
    let text = codes.join("\n");
    let copied = RwSignal::new(false);
    let to_copy = text.clone();
    let download = format!(
        "data:text/plain;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&format!(
            "Accounts recovery codes (each works once):\n{text}\n"
        )))
    );
    view! {
        <p class="notice" role="status">"Two-factor login is on."</p>
        <p>"Save these recovery codes somewhere safe. Each one logs you in once if you lose your phone. They are shown only now."</p>
        <ul class="codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
        <div class="actions">
            <button type="button" class="secondary" on:click=move |_| {
                copy(&to_copy);
                copied.set(true);
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            <a class="button secondary" href=download download="accounts-recovery-codes.txt">"Download"</a>
        </div>
        <button type="button" class="primary done" on:click=move |_| step.set(Step::Overview)>"I have saved them"</button>
    }
}

/// On: how many recovery codes are left; the password and a code turn it off.
#[component]
fn TurnOff(left: u64, notice: RwSignal<Option<Flash>>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let password = FieldState::new("");
    let code = FieldState::new("");
    let form = Submission::new(
        &[("password", password), ("code", code)],
        |req: TotpDisableRequest| async move { api::totp_disable(&req).await },
        move |(), _| {
            notice.set(Some(Flash::success("Two-factor login is off.")));
            state.session.changed();
        },
    );
    let password_error = password.message(form.submitted, move |v| required("Password", v));
    let code_error = code.message(form.submitted, move |v| required("Code", v));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[password_error, code_error], || TotpDisableRequest {
            password: password.value.get_untracked().into(),
            code: code.value.get_untracked(),
        });
    };
    let codes_left = match left {
        1 => "1 recovery code left.".to_owned(),
        n => format!("{n} recovery codes left."),
    };
    view! {
        <p>"On: logging in asks for a code from your authenticator app. " {codes_left}</p>
        <form on:submit=on_submit novalidate aria-labelledby="off-title">
            <h3 id="off-title">"Turn off two-factor login"</h3>
            <ErrorBanner message=form.top_error/>
            <PasswordField id="password" label="Current password" autocomplete="current-password" field=password error=password_error/>
            <CodeField id="code" field=code error=code_error/>
            <SubmitButton label="Turn off" busy_label="Turning off…" busy=form.busy() danger=true/>
        </form>
    }
}

/// A QR code as inline SVG, drawn here (nothing from another origin; no inline style).
#[component]
fn QrImage(text: String) -> impl IntoView {
    let Ok(qr) = QrCode::encode_text(&text, QrCodeEcc::Medium) else {
        return view! { <p class="hint">"(The QR code could not be drawn: type the key below.)"</p> }.into_any();
    };
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    let view_box = format!("0 0 {0} {0}", size + 8);
    view! {
        <svg class="qr" viewBox=view_box role="img" aria-label="QR code for your authenticator app"
            shape-rendering="crispEdges">
            <rect width="100%" height="100%" fill="#fff"/>
            <path d=path fill="#000"/>
        </svg>
    }
    .into_any()
}

/// `ABCDEFGH…` as `ABCD EFGH …`, easier to type.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Puts `text` on the clipboard (best effort: the codes stay on screen either way).
fn copy(text: &str) {
    let Ok(navigator) = js_sys::Reflect::get(&window(), &"navigator".into()) else {
        return;
    };
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else {
        return;
    };
    if let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) {
        if let Ok(write) = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(write) {
            let _ = write.call1(&clipboard, &text.into());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_grouped_by_four() {
        assert_eq!(super::grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
