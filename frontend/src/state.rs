//! App-wide state, provided as context: who is signed in, the server's policy, and a one-shot
//! message carried to the next page ("Password changed", ...).

use accounts_api::{PasswordPolicy, PolicyInfo, SessionInfo};
use leptos::{prelude::*, task::spawn_local};

use crate::api;

#[derive(Clone, Copy)]
pub struct AppState {
    pub session: RwSignal<Option<SessionInfo>>,
    /// False until the first session lookup has answered, so pages do not redirect too early.
    pub session_checked: RwSignal<bool>,
    pub policy: RwSignal<Option<PolicyInfo>>,
    pub flash: RwSignal<Option<String>>,
}

impl AppState {
    pub fn new() -> Self {
        Self {
            session: RwSignal::new(None),
            session_checked: RwSignal::new(false),
            policy: RwSignal::new(None),
            flash: RwSignal::new(None),
        }
    }

    /// Fetches the policy and the current session.
    pub fn load(self) {
        spawn_local(async move {
            if let Ok(p) = api::policy().await {
                self.policy.set(Some(p));
            }
        });
        spawn_local(async move { self.refresh_session().await });
    }

    /// Asks the server who is signed in.
    pub async fn refresh_session(self) {
        let session = api::session().await.ok();
        self.session.set(session);
        self.session_checked.set(true);
    }

    pub fn password_policy(self) -> Option<PasswordPolicy> {
        self.policy.with(|p| p.as_ref().map(|p| p.password))
    }

    /// Takes the message left by the previous page, if any.
    pub fn take_flash(self) -> Option<String> {
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
