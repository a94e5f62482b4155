//! Apps and devices: the apps the user allowed to sign them in (revoke one: it loses every
//! token and asks again next time), and where the user is signed in (log one out, or every
//! other).

use accounts_api::AppsReply;
use leptos::prelude::*;

use crate::{
    api,
    components::{ErrorBanner, Notice},
    form::Submission,
    state::Flash,
};

/// A change on this page.
#[derive(Clone)]
enum Change {
    Load,
    RevokeApp(String),
    RevokeSession(Option<String>),
}

/// `2026-11-27T10:00:00.123Z` -> `2026-11-27 10:00`.
fn when(t: &str) -> String {
    t.replace('T', " ").chars().take(16).collect()
}

/// The page (signed in only).
#[component]
pub fn AppsPage() -> impl IntoView {
    let notice = RwSignal::new(None::<Flash>);
    let data = RwSignal::new(None::<AppsReply>);
    let form = Submission::new(
        &[],
        |change: Change| async move {
            let said = match change {
                Change::Load => None,
                Change::RevokeApp(id) => Some(api::revoke_app(id).await?.message),
                Change::RevokeSession(id) => Some(api::revoke_session(id).await?.message),
            };
            Ok((said, api::apps().await?))
        },
        move |(said, reply): (Option<String>, AppsReply), _| {
            notice.set(said.map(Flash::success));
            data.set(Some(reply));
        },
    );
    form.submit(&[], || Change::Load);
    let busy = form.busy();
    let act = move |change: Change| {
        notice.set(None);
        form.submit(&[], move || change.clone());
    };
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Apps and devices"</h1>
            <Notice message=notice/>
            <ErrorBanner message=form.top_error/>
            {move || data.get().map(|d| view! {
                <h2>"Apps you allowed"</h2>
                {if d.apps.is_empty() {
                    view! { <p class="loading">"No apps sign you in with this account yet."</p> }.into_any()
                } else {
                    view! { <ul class="passkeys">
                        {d.apps.into_iter().map(|a| {
                            let id = a.client_id.clone();
                            view! { <li>
                                <span class="passkey-name">{a.name.clone()}</span>
                                <span class="hint">{format!("allowed {}: may {}", when(&a.granted_at), a.scopes.iter().filter_map(|s| super::authorize::described(s)).collect::<Vec<_>>().join(", "))}</span>
                                <button type="button" class="danger-link" aria-label=format!("Revoke {}", a.name)
                                    disabled=move || busy.get()
                                    on:click=move |_| act(Change::RevokeApp(id.clone()))>"Revoke"</button>
                            </li> }
                        }).collect_view()}
                    </ul> }.into_any()
                }}
                <h2>"Where you are signed in"</h2>
                <ul class="passkeys">
                    {d.sessions.into_iter().map(|s| {
                        let id = s.id.clone();
                        let from = if s.ip_prefix.is_empty() { String::new() } else { format!(" from {}", s.ip_prefix) };
                        view! { <li>
                            <span class="passkey-name">{s.browser.clone()}{if s.current { " (this browser)" } else { "" }}</span>
                            <span class="hint">{format!("signed in {}{from}; last seen {}; password or passkey last used {}", when(&s.signed_in_at), when(&s.last_seen_at), when(&s.last_confirmed_at))}</span>
                            <button type="button" class="danger-link" class:hidden=s.current
                                aria-label=format!("Log out {}", s.browser)
                                disabled=move || busy.get()
                                on:click=move |_| act(Change::RevokeSession(Some(id.clone())))>"Log out"</button>
                        </li> }
                    }).collect_view()}
                </ul>
                <button type="button" class="secondary" disabled=move || busy.get()
                    on:click=move |_| act(Change::RevokeSession(None))>"Log out everywhere else"</button>
            })}
        </section>
    }
}
