//! Signing in to another app (OpenID Connect): `/oidc/authorize` sends the browser here with
//! the app's request. The server says what next: log in (then come back), confirm it is you
//! (the app asked for a fresh login), the consent page, or back to the app. An unknown app or
//! redirect address is an error here, never a redirect.

use accounts_api::{AuthorizeStep, ErrorCode};
use leptos::prelude::*;

use crate::{
    api::{self, ApiError},
    components::ErrorBanner,
    form::Submission,
    reauth::{Reauth, ReauthPrompt},
    router::Router,
};

use super::encode;

/// What the consent page lists for each scope (`openid` is the user name, always there).
pub(super) fn described(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("know your user name"),
        "profile" => Some("know your name"),
        "email" => Some("know your email address"),
        "groups" => Some("know your groups"),
        "offline_access" => Some("stay signed in while you are away"),
        _ => None,
    }
}

/// The sign-in page for another app.
#[component]
pub fn AuthorizePage() -> impl IntoView {
    let router = expect_context::<Router>();
    let query = window().location().search().unwrap_or_default();
    let query = StoredValue::new(query.trim_start_matches('?').to_owned());
    let consent = RwSignal::new(None::<(String, Vec<String>)>);
    let reauth = Reauth::new();
    // Asked for a fresh login while signed in: "confirm it's you", then the same request
    // again (a login this recent is what the app asked for).
    let ask = move || async move {
        match api::oidc_authorize(&query.get_value()).await? {
            step if step.step == "reauth" => Err(ApiError::Problem(accounts_api::Problem::new(
                ErrorCode::ReauthRequired,
                "The app asks you to log in again.",
            ))),
            step => Ok(step),
        }
    };
    let go = move |step: AuthorizeStep| match step.step.as_str() {
        "redirect" => {
            if let Some(location) = step.location {
                let _ = window().location().replace(&location);
            }
        }
        "login" => {
            let back = format!("/authorize?{}", query.get_value());
            router.replace(&format!("/login?next={}", encode(&back)));
        }
        "consent" => consent.set(Some((step.client_name.unwrap_or_default(), step.scopes))),
        _ => {}
    };
    let start = Submission::new(&[], move |()| reauth.guard(ask), move |step, ()| go(step));
    start.submit(&[], || ());
    let answer = Submission::new(
        &[],
        move |allow: bool| async move { api::oidc_consent(&query.get_value(), allow).await },
        move |step, _| go(step),
    );
    let busy = Signal::derive(move || answer.busy().get());
    view! {
        <section class="card" aria-labelledby="title">
            {move || match consent.get() {
                None => view! {
                    <h1 id="title">{move || if start.top_error.with(Option::is_some) { "Cannot sign you in" } else { "Signing you in" }}</h1>
                    <p class="loading" class:hidden=move || !start.busy().get()>"One moment…"</p>
                    <ErrorBanner message=start.top_error/>
                }.into_any(),
                Some((app, scopes)) => view! {
                    <h1 id="title">{format!("Sign in to {app}")}</h1>
                    <p><strong>{app.clone()}</strong>" wants to:"</p>
                    <ul class="scopes">
                        {scopes.iter().filter_map(|s| described(s)).map(|d| view! { <li>{d}</li> }).collect_view()}
                    </ul>
                    <ErrorBanner message=answer.top_error/>
                    <div class="actions">
                        <button type="button" disabled=move || busy.get()
                            on:click=move |_| answer.submit(&[], || true)>"Allow"</button>
                        <button type="button" class="secondary" disabled=move || busy.get()
                            on:click=move |_| answer.submit(&[], || false)>"Deny"</button>
                    </div>
                    <p class="hint">"You can take this back at any time on the Apps and devices page."</p>
                }.into_any(),
            }}
            <ReauthPrompt reauth=reauth/>
        </section>
    }
}

/// An app's logout (`/oidc/logout` sends the browser here): the server logs this session out
/// if the app proved it signed this user in, then back to the app.
#[component]
pub fn AppLogoutPage() -> impl IntoView {
    let state = expect_context::<crate::state::AppState>();
    let router = expect_context::<Router>();
    let query = window().location().search().unwrap_or_default();
    let done = Submission::new(
        &[],
        move |q: String| async move { api::oidc_logout(&q).await },
        move |step, _| {
            state.session.changed();
            match step.location {
                Some(l) if l.starts_with('/') => router.replace(&l),
                Some(l) => {
                    let _ = window().location().replace(&l);
                }
                None => {}
            }
        },
    );
    done.submit(&[], move || query.trim_start_matches('?').to_owned());
    view! {
        <section class="card" aria-labelledby="title">
            <h1 id="title">"Logging out"</h1>
            <p class="loading" class:hidden=move || !done.busy().get()>"One moment…"</p>
            <ErrorBanner message=done.top_error/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_we_issue_is_described() {
        assert_eq!(described("groups"), Some("know your groups"));
        assert_eq!(described("unknown"), None);
    }
}
