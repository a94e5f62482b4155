//! Security: two-factor login with an authenticator app, and passkeys. The app is set up in
//! steps (a QR code to scan, a code from the app to check it, then the recovery codes, shown
//! once) and turned off with one button; a passkey is added, named, listed and removed. Each
//! of these changes asks "Confirm it's you" first when the last login is a few minutes old
//! (see [`crate::reauth`]).

use accounts_api::{PasskeySummary, TotpConfirmRequest, TotpSetup};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{CodeField, ErrorBanner, Notice, SubmitButton, TextField},
    form::{required, FieldState, Submission},
    reauth::{Reauth, ReauthPrompt},
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
    let state = expect_context::<AppState>();
    let notice = RwSignal::new(state.take_flash());
    let step = RwSignal::new(Step::Overview);
    let reauth = Reauth::new();
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Security"</h1>
            <Notice message=notice/>
            <h2>"Two-factor login"</h2>
            {move || match (state.session.user(), step.get()) {
                (None, _) => view! { <p class="loading">"Loading…"</p> }.into_any(),
                (_, Step::Scan(setup)) => view! { <Scan setup=setup step=step reauth=reauth/> }.into_any(),
                (_, Step::Saved(codes)) => view! { <Codes codes=codes step=step/> }.into_any(),
                (Some(s), Step::Overview) if s.totp => {
                    view! { <TurnOff left=s.recovery_codes_left notice=notice reauth=reauth/> }.into_any()
                }
                (Some(_), Step::Overview) => view! { <Start step=step reauth=reauth/> }.into_any(),
            }}
            <Passkeys reauth=reauth/>
        </section>
        <ReauthPrompt reauth=reauth/>
    }
}

/// Off: one button starts the set-up.
#[component]
fn Start(step: RwSignal<Step>, reauth: Reauth) -> impl IntoView {
    let form = Submission::new(
        &[],
        move |()| async move { reauth.guard(api::totp_setup).await },
        move |setup, _| step.set(Step::Scan(setup)),
    );
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[], || ());
    };
    view! {
        <p>"Off. With it on, logging in also asks for a 6-digit code from an authenticator app on your phone (such as Aegis, FreeOTP or Google Authenticator), so a stolen password alone is not enough."</p>
        <form on:submit=on_submit novalidate aria-label="Set up two-factor login">
            <ErrorBanner message=form.top_error/>
            <SubmitButton label="Set up two-factor login" busy_label="Starting…" busy=form.busy()/>
        </form>
    }
}

/// A secret is pending: the QR code (and the key to type), and a code from the app.
#[component]
fn Scan(setup: TotpSetup, step: RwSignal<Step>, reauth: Reauth) -> impl IntoView {
    let state = expect_context::<AppState>();
    let code = FieldState::new("");
    let form = Submission::new(
        &[("code", code)],
        move |req: TotpConfirmRequest| async move { reauth.guard(|| api::totp_confirm(&req)).await },
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
        <QrImage path=setup.qr_path size=setup.qr_size/>
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

/// On: how many recovery codes are left; one button turns it off.
#[component]
fn TurnOff(left: u64, notice: RwSignal<Option<Flash>>, reauth: Reauth) -> impl IntoView {
    let state = expect_context::<AppState>();
    let form = Submission::new(
        &[],
        move |()| async move { reauth.guard(api::totp_disable).await },
        move |(), _| {
            notice.set(Some(Flash::success("Two-factor login is off.")));
            state.session.changed();
        },
    );
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form.submit(&[], || ());
    };
    let codes_left = match left {
        1 => "1 recovery code left.".to_owned(),
        n => format!("{n} recovery codes left."),
    };
    view! {
        <p>"On: logging in asks for a code from your authenticator app. " {codes_left}</p>
        <form on:submit=on_submit novalidate aria-labelledby="off-title">
            <h3 id="off-title">"Turn off two-factor login"</h3>
            <p>"Logging in will then ask for your password alone. Your recovery codes stop working."</p>
            <ErrorBanner message=form.top_error/>
            <SubmitButton label="Turn off" busy_label="Turning off…" busy=form.busy() danger=true/>
        </form>
    }
}

/// What the passkey list is asked to do: load again, or remove one (then load again).
#[derive(Clone)]
enum ListChange {
    Load,
    Remove(String),
}

/// The account's passkeys: the list (remove each), and adding one. The list and the add form
/// are each a [`Submission`], so each has a busy state and puts its failure in an error banner.
#[component]
fn Passkeys(reauth: Reauth) -> impl IntoView {
    let state = expect_context::<AppState>();
    let list = RwSignal::new(None::<Vec<PasskeySummary>>);
    // What the last change did ("Passkey … added.", "Passkey removed.").
    let done = RwSignal::new(None::<String>);
    let listing = Submission::new(
        &[],
        move |change: ListChange| async move {
            if let ListChange::Remove(id) = &change {
                reauth.guard(|| api::passkey_remove(id)).await?;
            }
            api::passkeys().await
        },
        move |keys, change| {
            list.set(Some(keys));
            if let ListChange::Remove(_) = change {
                done.set(Some("Passkey removed.".into()));
                state.session.changed();
            }
        },
    );
    let reload = move || listing.submit(&[], || ListChange::Load);
    reload();
    let name = FieldState::new("");
    let form = Submission::new(
        &[("name", name)],
        move |name: String| async move {
            let start = reauth.guard(api::passkey_register_start).await?;
            let credential = crate::passkey::create(&start.options)
                .await
                .map_err(api::ApiError::Local)?;
            api::passkey_register_finish(&start.ceremony, &name, &credential).await
        },
        move |added, _| {
            done.set(Some(format!("Passkey \"{}\" added.", added.name)));
            name.value.set(String::new());
            name.touched.set(false);
            reload();
            state.session.changed();
        },
    );
    let name_error = name.message(form.submitted, |_| None);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        done.set(None);
        form.submit(&[], || name.value.get_untracked());
    };
    let busy = listing.busy();
    view! {
        <h2>"Passkeys"</h2>
        <p>"A passkey logs you in with your device's screen lock (fingerprint, face or PIN): no password, no code."</p>
        <p class="notice" role="status" class:hidden=move || done.with(Option::is_none)>{move || done.get()}</p>
        <ErrorBanner message=listing.top_error/>
        {move || match list.get() {
            None if busy.get() => view! { <p class="loading">"Loading…"</p> }.into_any(),
            None => ().into_any(),
            Some(keys) if keys.is_empty() => view! { <p class="loading">"No passkeys yet."</p> }.into_any(),
            Some(keys) => view! {
                <ul class="passkeys" aria-busy=move || if busy.get() { "true" } else { "false" }>
                    {keys.into_iter().map(|k| {
                        let id = k.id.clone();
                        let used = k.last_used_at.map_or_else(|| "never used".to_owned(), |t| format!("last used {}", day(&t)));
                        view! {
                            <li>
                                <span class="passkey-name">{k.name.clone()}</span>
                                <span class="hint">{format!("added {}, {used}", day(&k.created_at))}</span>
                                <button type="button" class="danger-link" aria-label=format!("Remove passkey {}", k.name)
                                    disabled=move || busy.get()
                                    on:click=move |_| {
                                        done.set(None);
                                        listing.submit(&[], || ListChange::Remove(id.clone()));
                                    }>"Remove"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
        <form on:submit=on_submit novalidate aria-labelledby="add-passkey">
            <h3 id="add-passkey">"Add a passkey"</h3>
            <ErrorBanner message=form.top_error/>
            <TextField id="passkey_name" label="Name" autocomplete="off" field=name error=name_error
                hint="To tell your passkeys apart, e.g. Laptop or Phone.".to_owned()/>
            <SubmitButton label="Add a passkey" busy_label="Waiting for your device…" busy=form.busy()/>
        </form>
    }
}

/// `2026-11-27T10:00:00.123Z` -> `2026-11-27`.
fn day(t: &str) -> String {
    t.split('T').next().unwrap_or(t).to_owned()
}

/// The server's QR code as inline SVG (nothing from another origin; no inline style).
#[component]
fn QrImage(path: String, size: u32) -> impl IntoView {
    view! {
        <svg class="qr" viewBox=format!("0 0 {size} {size}") role="img"
            aria-label="QR code for your authenticator app" shape-rendering="crispEdges">
            <rect width="100%" height="100%" fill="#fff"/>
            <path d=path fill="#000"/>
        </svg>
    }
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
