//! App-wide state, provided as context: who is signed in (one value the whole app reads and
//! refetches), the server's policy, and a one-shot message carried to the next page.

use accounts_api::{PasswordPolicy, PolicyInfo, SessionInfo};
use leptos::{prelude::*, task::spawn_local};

use crate::api;

/// What the app shares between pages.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Who is signed in.
    pub session: Session,
    /// Asked once; pages check input with it once it is there.
    policy: RwSignal<Option<PolicyInfo>>,
    /// The message for the next page.
    pub flash: RwSignal<Option<Flash>>,
}

impl AppState {
    /// Starts the session and policy lookups.
    pub fn new() -> Self {
        let policy = RwSignal::new(None);
        spawn_local(async move { policy.set(api::policy().await.ok()) });
        Self {
            session: Session::new(),
            policy,
            flash: RwSignal::new(None),
        }
    }

    /// The server's password policy, once it has answered.
    pub fn password_policy(self) -> Option<PasswordPolicy> {
        self.policy.with(|p| p.as_ref().map(|p| p.password))
    }

    /// The domain the session cookie is shared with, if the server has said so (not tracked:
    /// read once, after a login).
    pub fn cookie_domain(self) -> Option<String> {
        self.policy
            .with_untracked(|p| p.as_ref().and_then(|p| p.cookie_domain.clone()))
    }

    /// Whether the server mails reset links, once it has answered.
    pub fn self_service_recovery(self) -> Option<bool> {
        self.policy
            .with(|p| p.as_ref().map(|p| p.self_service_recovery))
    }

    /// Takes the message left by the previous page, if any.
    pub fn take_flash(self) -> Option<Flash> {
        let message = self.flash.get_untracked();
        if message.is_some() {
            self.flash.set(None);
        }
        message
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// The signed-in account as the server last said, asked again whenever something that may
/// have changed it completes (login, logout, password change, deletion).
///
/// A resource in all but name: one value, unknown until the server answers, refetched by
/// [`Session::changed`]. It is a signal rather than Leptos's `LocalResource` because that
/// adds 10.1 KiB (gzipped) to the download, which would break the app's size budget (measured
/// with `scripts/build-web.sh`: 166.4 KiB with it, 156.3 KiB without).
#[derive(Clone, Copy)]
pub struct Session(RwSignal<Option<Option<SessionInfo>>>);

impl Session {
    fn new() -> Self {
        let session = Self(RwSignal::new(None));
        session.changed();
        session
    }

    /// `None` while unknown (the first lookup, or after a change until the server answers);
    /// then the account, or `Some(None)` when signed out.
    pub fn known(self) -> Option<Option<SessionInfo>> {
        self.0.get()
    }

    /// The signed-in account, if known.
    pub fn user(self) -> Option<SessionInfo> {
        self.known().flatten()
    }

    /// Whether the signed-in account has two-factor login on (so changes ask for a code).
    pub fn has_totp(self) -> bool {
        self.user().is_some_and(|s| s.totp)
    }

    /// The signed-in account's name, without tracking.
    pub fn user_name_untracked(self) -> Option<String> {
        self.0.get_untracked().flatten().map(|s| s.user_name)
    }

    /// Something changed who is signed in: forget, and ask the server again.
    pub fn changed(self) {
        self.0.set(None);
        let value = self.0;
        spawn_local(async move { value.set(Some(api::session().await.ok())) });
    }
}

/// A message for the top of the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    /// What to say.
    pub text: String,
    /// How to show it.
    pub tone: Tone,
}

/// Whether a message reports success or asks for attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Something worked.
    Success,
    /// Something needs the user's attention (not an error of this page).
    Warning,
}

impl Flash {
    /// A success message.
    pub fn success(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            tone: Tone::Success,
        }
    }

    /// A message that asks for attention.
    pub fn warning(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            tone: Tone::Warning,
        }
    }
}
