//! One module per page, and the table of pages: a new page is its module and one row.

mod account;
mod apps;
mod authorize;
mod change_password;
mod email_address;
mod forgot;
mod login;
mod not_found;
mod register;
mod reset_password;
mod security;
mod verify;

use leptos::prelude::*;

use crate::router::{Access, Nav, Page};

/// Every page: its path, who may see it, its tab title, its navigation link (the navigation
/// lists them in this order) and its view.
pub static PAGES: &[Page] = &[
    Page {
        path: "/",
        access: Access::Nobody,
        title: None,
        nav: Nav::Hidden,
        view: || ().into_any(),
    },
    Page {
        path: "/login",
        access: Access::SignedOut,
        title: Some("Log in"),
        nav: Nav::SignedOut("Log in"),
        view: || view! { <login::LoginPage/> }.into_any(),
    },
    Page {
        path: "/register",
        access: Access::SignedOut,
        title: Some("Register"),
        nav: Nav::SignedOut("Register"),
        view: || view! { <register::RegisterPage/> }.into_any(),
    },
    Page {
        path: "/account",
        access: Access::SignedIn,
        title: Some("Account"),
        nav: Nav::SignedIn("Account"),
        view: || view! { <account::AccountPage/> }.into_any(),
    },
    Page {
        path: "/password",
        access: Access::Anyone,
        title: Some("Change password"),
        nav: Nav::SignedIn("Change password"),
        view: || view! { <change_password::ChangePasswordPage/> }.into_any(),
    },
    Page {
        path: "/security",
        access: Access::SignedIn,
        title: Some("Security"),
        nav: Nav::SignedIn("Security"),
        view: || view! { <security::SecurityPage/> }.into_any(),
    },
    Page {
        path: "/apps",
        access: Access::SignedIn,
        title: Some("Apps and devices"),
        nav: Nav::SignedIn("Apps and devices"),
        view: || view! { <apps::AppsPage/> }.into_any(),
    },
    Page {
        path: "/authorize",
        access: Access::Anyone,
        title: Some("Sign in to an app"),
        nav: Nav::Hidden,
        view: || view! { <authorize::AuthorizePage/> }.into_any(),
    },
    Page {
        path: "/logout",
        access: Access::Anyone,
        title: Some("Logging out"),
        nav: Nav::Hidden,
        view: || view! { <authorize::AppLogoutPage/> }.into_any(),
    },
    Page {
        path: "/forgot",
        access: Access::SignedOut,
        title: Some("Forgot password"),
        nav: Nav::Hidden,
        view: || view! { <forgot::ForgotPage/> }.into_any(),
    },
    Page {
        path: "/verify",
        access: Access::Anyone,
        title: Some("Confirm your email address"),
        nav: Nav::Hidden,
        view: || view! { <verify::VerifyPage/> }.into_any(),
    },
    Page {
        path: "/reset",
        access: Access::Anyone,
        title: Some("Reset password"),
        nav: Nav::Hidden,
        view: || view! { <reset_password::ResetPasswordPage/> }.into_any(),
    },
];

/// Any other path (not in [`PAGES`], so its empty path never matches).
pub static NOT_FOUND: Page = Page {
    path: "",
    access: Access::Anyone,
    title: Some("Not found"),
    nav: Nav::Hidden,
    view: || view! { <not_found::NotFoundPage/> }.into_any(),
};

/// For a `?user=` link.
fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
