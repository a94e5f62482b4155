//! Confirm an email address with the link mailed to it, `/verify#token=…` (the token travels
//! in the fragment, never sent to a server but by this page's own request). Opening the link
//! is the confirmation: the page sends it at once and says how it went.

use accounts_api::EmailVerifyRequest;
use leptos::prelude::*;

use crate::{
    api,
    components::{ErrorBanner, Notice},
    form::Submission,
    router::{query_value, Link},
    state::{AppState, Flash},
};

/// The verification page (signed in or not).
#[component]
pub fn VerifyPage() -> impl IntoView {
    let state = expect_context::<AppState>();
    let hash = window().location().hash().unwrap_or_default();
    let token = query_value(hash.trim_start_matches('#'), "token").filter(|t| !t.is_empty());
    let notice = RwSignal::new(None::<Flash>);
    let form = Submission::new(
        &[],
        |req: EmailVerifyRequest| async move { api::verify_email(&req).await },
        move |reply, _| {
            notice.set(Some(Flash::success(reply.message)));
            state.session.changed();
        },
    );
    match token {
        Some(token) => form.submit(&[], move || EmailVerifyRequest { token }),
        None => notice.set(Some(Flash::warning(
            "This page needs the whole link from the email: it ends in #token= and a long code. Open that link again, or send a new one from your Account page.",
        ))),
    }
    let busy = form.busy();
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Confirm your email address"</h1>
            <Show when=move || busy.get()>
                <p class="loading">"Confirming…"</p>
            </Show>
            <Notice message=notice/>
            <ErrorBanner message=form.top_error/>
            <p class="alt">
                {move || if state.session.user().is_some() {
                    view! { <Link href="/account">"Go to your account"</Link> }.into_any()
                } else {
                    view! { <Link href="/login">"Log in"</Link> }.into_any()
                }}
            </p>
        </section>
    }
}
