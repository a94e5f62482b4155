//! A minimal client-side router for the app's fixed pages: real URLs with the History API,
//! so reload and back/forward work. `leptos_router` added ~45 KiB (gzipped) to every download
//! for features this app does not use.
//!
//! The pages themselves are one table, [`crate::pages::PAGES`]: a row per page says its path,
//! who may see it, its title and its navigation link, so adding a page is adding a row.

use leptos::{ev, prelude::*};
use wasm_bindgen::JsCast;

use crate::pages::{NOT_FOUND, PAGES};

/// One page of the app: a row of [`PAGES`].
pub struct Page {
    /// Its URL path.
    pub path: &'static str,
    /// Who may see it; the guard in [`crate::App`] sends others on.
    pub access: Access,
    /// The tab's title (before " · Accounts"); `None` for a page that only sends on.
    pub title: Option<&'static str>,
    /// Its link in the main navigation, if any (in table order).
    pub nav: Nav,
    /// What it shows.
    pub view: fn() -> AnyView,
}

/// Each page is one row of a static table, so a page is itself.
impl PartialEq for Page {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Page {}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Page({})", self.path)
    }
}

impl Page {
    /// The page for a URL path (query, fragment and trailing slash ignored); [`NOT_FOUND`] for
    /// any other.
    pub fn for_path(path: &str) -> &'static Page {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let path = path.trim_end_matches('/');
        PAGES
            .iter()
            .find(|page| page.path.trim_end_matches('/') == path)
            .unwrap_or(&NOT_FOUND)
    }

    /// Where the guard sends someone who may not see this page, if anywhere.
    pub fn redirect(&self, signed_in: bool) -> Option<&'static str> {
        match (self.access, signed_in) {
            (Access::Nobody | Access::SignedOut, true) => Some("/account"),
            (Access::Nobody | Access::SignedIn, false) => Some("/login"),
            _ => None,
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
    /// No one stays: signed-in users go to their account, others to log in (`/`).
    Nobody,
}

/// A page's link in the main navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// Not linked.
    Hidden,
    /// Linked, with this label, while signed out.
    SignedOut(&'static str),
    /// Linked, with this label, while signed in.
    SignedIn(&'static str),
}

impl Nav {
    /// The link's label, if it shows for someone signed in (or not).
    pub fn label(self, signed_in: bool) -> Option<&'static str> {
        match self {
            Self::SignedOut(label) if !signed_in => Some(label),
            Self::SignedIn(label) if signed_in => Some(label),
            _ => None,
        }
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
    pub fn page(self) -> &'static Page {
        self.path.with(|p| Page::for_path(p))
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
    let current = move || Page::for_path(href) == router.page();
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

    fn path(url: &str) -> &'static str {
        Page::for_path(url).path
    }

    #[test]
    fn paths_map_to_pages() {
        assert_eq!(path("/"), "/");
        assert_eq!(path(""), "/");
        assert_eq!(path("/login"), "/login");
        assert_eq!(path("/login/"), "/login");
        assert_eq!(path("/password?user=ada"), "/password");
        assert_eq!(path("/account#x"), "/account");
        assert_eq!(path("/register"), "/register");
        assert_eq!(path("/reset#token=abc"), "/reset");
        assert_eq!(path("/security"), "/security");
        assert_eq!(Page::for_path("/nope"), &NOT_FOUND);
        assert_eq!(Page::for_path("/login/extra"), &NOT_FOUND);
        assert_ne!(Page::for_path("/login"), Page::for_path("/register"));
        let mut paths: Vec<_> = PAGES.iter().map(|p| p.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), PAGES.len(), "each path once");
    }

    #[test]
    fn the_guard_sends_each_page_to_the_right_place() {
        let redirect = |url: &str, signed_in| Page::for_path(url).redirect(signed_in);
        assert_eq!(redirect("/account", false), Some("/login"));
        assert_eq!(redirect("/account", true), None);
        assert_eq!(redirect("/security", false), Some("/login"));
        assert_eq!(redirect("/security", true), None);
        assert_eq!(redirect("/login", true), Some("/account"));
        assert_eq!(redirect("/register", true), Some("/account"));
        assert_eq!(redirect("/login", false), None);
        assert_eq!(redirect("/register", false), None);
        assert_eq!(redirect("/password", false), None);
        assert_eq!(redirect("/password", true), None);
        assert_eq!(redirect("/", false), Some("/login"));
        assert_eq!(redirect("/", true), Some("/account"));
        assert_eq!(redirect("/nope", false), None);
        assert_eq!(redirect("/nope", true), None);
        // A reset link works whether or not someone is signed in on this browser.
        assert_eq!(redirect("/reset", false), None);
        assert_eq!(redirect("/reset", true), None);
    }

    #[test]
    fn titles() {
        let title = |url: &str| Page::for_path(url).title;
        assert_eq!(title("/"), None);
        assert_eq!(title("/login"), Some("Log in"));
        assert_eq!(title("/register"), Some("Register"));
        assert_eq!(title("/password"), Some("Change password"));
        assert_eq!(title("/account"), Some("Account"));
        assert_eq!(title("/reset"), Some("Reset password"));
        assert_eq!(title("/security"), Some("Security"));
        assert_eq!(title("/nope"), Some("Not found"));
    }

    #[test]
    fn the_navigation_links_depend_on_being_signed_in() {
        let links = |signed_in| -> Vec<_> {
            PAGES
                .iter()
                .filter_map(|p| Some((p.nav.label(signed_in)?, p.path)))
                .collect()
        };
        assert_eq!(
            links(false),
            [("Log in", "/login"), ("Register", "/register")]
        );
        assert_eq!(
            links(true),
            [
                ("Account", "/account"),
                ("Change password", "/password"),
                ("Security", "/security"),
                ("Apps and devices", "/apps")
            ]
        );
        assert_eq!(NOT_FOUND.nav, Nav::Hidden);
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
