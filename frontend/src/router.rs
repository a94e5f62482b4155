//! A minimal client-side router for the app's seven fixed pages: real URLs with the History API,
//! so reload and back/forward work. `leptos_router` added ~45 KiB (gzipped) to every download
//! for features this app does not use.

use leptos::{ev, prelude::*};
use wasm_bindgen::JsCast;

/// The app's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: sends on to the account or to log in.
    Home,
    /// `/login`.
    Login,
    /// `/register`.
    Register,
    /// `/password`.
    ChangePassword,
    /// `/account`.
    Account,
    /// `/reset`, opened from an operator's reset link.
    ResetPassword,
    /// `/security`: two-factor login.
    Security,
    /// Anything else.
    NotFound,
}

impl Route {
    /// The page for a URL path (query and trailing slash ignored).
    pub fn parse(path: &str) -> Self {
        let path = path.split(['?', '#']).next().unwrap_or("");
        match path.trim_end_matches('/') {
            "" => Self::Home,
            "/login" => Self::Login,
            "/register" => Self::Register,
            "/password" => Self::ChangePassword,
            "/account" => Self::Account,
            "/reset" => Self::ResetPassword,
            "/security" => Self::Security,
            _ => Self::NotFound,
        }
    }
}

/// Who may see a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (changing an expired password works signed out).
    Anyone,
    /// Signed-in users; others are sent to log in.
    SignedIn,
    /// Signed-out users; signed-in ones are sent to their account.
    SignedOut,
}

impl Route {
    /// Who may see this page.
    pub fn access(self) -> Access {
        match self {
            Self::Account | Self::Security => Access::SignedIn,
            Self::Login | Self::Register => Access::SignedOut,
            Self::Home | Self::ChangePassword | Self::ResetPassword | Self::NotFound => {
                Access::Anyone
            }
        }
    }
}

/// Where the guard sends someone who may not see `route`, if anywhere.
pub fn redirect_for(route: Route, signed_in: bool) -> Option<&'static str> {
    match (route, route.access(), signed_in) {
        (Route::Home, _, true) | (_, Access::SignedOut, true) => Some("/account"),
        (Route::Home, _, false) | (_, Access::SignedIn, false) => Some("/login"),
        _ => None,
    }
}

/// The value of `key` in a query string like `?user=ada&x=1`, percent-decoded.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| decode(&v.replace('+', " ")))
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn decode(s: &str) -> String {
    js_sys::decode_uri_component(s)
        .map(String::from)
        .unwrap_or_else(|_| s.to_owned())
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn decode(s: &str) -> String {
    s.to_owned()
}

/// The current location, as context. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Router {
    path: RwSignal<String>,
    query: RwSignal<String>,
}

impl Router {
    /// Reads the browser's location and follows back/forward.
    pub fn start() -> Self {
        let router = Self {
            path: RwSignal::new(String::new()),
            query: RwSignal::new(String::new()),
        };
        router.sync();
        let _ = window_event_listener(ev::popstate, move |_| router.sync());
        router
    }

    fn sync(self) {
        let location = window().location();
        self.path.set(location.pathname().unwrap_or_default());
        self.query.set(location.search().unwrap_or_default());
    }

    /// The page for the current URL (tracked).
    pub fn route(self) -> Route {
        self.path.with(|p| Route::parse(p))
    }

    /// A query parameter of the current URL (not tracked: read once when a page opens).
    pub fn query(self, key: &str) -> Option<String> {
        self.query.with_untracked(|q| query_value(q, key))
    }

    /// Goes to `url` (a path with optional query), adding a history entry.
    pub fn navigate(self, url: &str) {
        self.go(url, false);
    }

    /// Goes to `url` in place of the current entry (redirects).
    pub fn replace(self, url: &str) {
        self.go(url, true);
    }

    fn go(self, url: &str, replace: bool) {
        if let Ok(history) = window().history() {
            let _ = if replace {
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
            } else {
                history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
            };
        }
        self.sync();
        // Move focus to the new page, so keyboard and screen-reader users start at its top.
        if let Some(main) = document()
            .get_element_by_id("main")
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = main.focus();
        }
    }
}

/// An in-app link: a real `<a href>` (open in new tab works) that navigates without a reload.
#[component]
pub fn Link(
    /// Where to go.
    href: &'static str,
    /// The link's content.
    children: Children,
    /// CSS classes.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let router = expect_context::<Router>();
    let current = move || Route::parse(href) == router.route();
    view! {
        <a
            href=href
            class=class
            aria-current=move || current().then_some("page")
            on:click=move |ev: ev::MouseEvent| {
                if ev.button() == 0 && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key()) {
                    ev.prevent_default();
                    router.navigate(href);
                }
            }
        >
            {children()}
        </a>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_pages() {
        assert_eq!(Route::parse("/"), Route::Home);
        assert_eq!(Route::parse(""), Route::Home);
        assert_eq!(Route::parse("/login"), Route::Login);
        assert_eq!(Route::parse("/login/"), Route::Login);
        assert_eq!(Route::parse("/password?user=ada"), Route::ChangePassword);
        assert_eq!(Route::parse("/account#x"), Route::Account);
        assert_eq!(Route::parse("/register"), Route::Register);
        assert_eq!(Route::parse("/reset#token=abc"), Route::ResetPassword);
        assert_eq!(Route::parse("/nope"), Route::NotFound);
        assert_eq!(Route::parse("/login/extra"), Route::NotFound);
    }

    #[test]
    fn the_guard_sends_each_page_to_the_right_place() {
        assert_eq!(redirect_for(Route::Account, false), Some("/login"));
        assert_eq!(redirect_for(Route::Account, true), None);
        assert_eq!(redirect_for(Route::Security, false), Some("/login"));
        assert_eq!(redirect_for(Route::Security, true), None);
        assert_eq!(redirect_for(Route::Login, true), Some("/account"));
        assert_eq!(redirect_for(Route::Register, true), Some("/account"));
        assert_eq!(redirect_for(Route::Login, false), None);
        assert_eq!(redirect_for(Route::ChangePassword, false), None);
        assert_eq!(redirect_for(Route::ChangePassword, true), None);
        assert_eq!(redirect_for(Route::Home, false), Some("/login"));
        assert_eq!(redirect_for(Route::Home, true), Some("/account"));
        assert_eq!(redirect_for(Route::NotFound, false), None);
        // A reset link works whether or not someone is signed in on this browser.
        assert_eq!(redirect_for(Route::ResetPassword, false), None);
        assert_eq!(redirect_for(Route::ResetPassword, true), None);
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("?user=ada&x=1", "user").as_deref(), Some("ada"));
        assert_eq!(query_value("?x=1&user=ada", "user").as_deref(), Some("ada"));
        assert_eq!(query_value("?user=a+b", "user").as_deref(), Some("a b"));
        assert_eq!(query_value("?flag", "flag").as_deref(), Some(""));
        assert_eq!(query_value("", "user"), None);
        assert_eq!(query_value("?username=x", "user"), None);
    }
}
