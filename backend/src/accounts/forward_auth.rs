//! Forward-auth decisions: may the sender of a request to an app behind a proxy pass? The
//! rules (`crate::authz`) say what a host and path demand; this checks the session against
//! it.

use std::sync::Arc;

use super::{AccountResult, SignedIn};
use crate::{authz::Policy, store::GroupStore};

/// Who passed, for the headers the app reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name (as typed at registration).
    pub user_name: String,
    /// The groups the account is in.
    pub groups: Vec<String>,
    /// The account's address, if it has a confirmed one.
    pub email: Option<String>,
}

/// What the proxy is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass; with who, unless the path bypasses the check.
    Allow(Option<Identity>),
    /// Not signed in: send the browser to log in.
    SignIn,
    /// Signed in (or not) but not allowed here, and logging in again would not change that.
    Forbidden(&'static str),
}

/// The forward-auth check.
#[derive(Clone)]
pub struct ForwardAuth {
    pub(super) groups: Arc<dyn GroupStore>,
}

impl ForwardAuth {
    /// The verdict for a request that `policy` (with `groups`, any of which suffices)
    /// governs, from the session `signed_in`, if any.
    pub async fn check(
        &self,
        policy: Policy,
        groups: &[String],
        signed_in: Option<&SignedIn>,
    ) -> AccountResult<Verdict> {
        let found = match (policy, signed_in) {
            (Policy::Bypass, _) => return Ok(Verdict::Allow(None)),
            (Policy::Deny, _) => return Ok(Verdict::Forbidden("no one may pass here")),
            (_, None) => return Ok(Verdict::SignIn),
            (_, Some(s)) => &s.found,
        };
        if policy == Policy::TwoFactor
            && !found
                .session
                .amr
                .split(' ')
                .any(|m| m == "otp" || m == "hwk")
        {
            return Ok(Verdict::Forbidden(
                "this needs a login with a second factor or a passkey",
            ));
        }
        let member_of = self.groups.user_groups(&found.user.id).await?;
        if !groups.is_empty() && !groups.iter().any(|g| member_of.contains(g)) {
            return Ok(Verdict::Forbidden(
                "your account is not in a group allowed here",
            ));
        }
        let user = &found.user;
        Ok(Verdict::Allow(Some(Identity {
            user_name: user.display_name.clone(),
            groups: member_of,
            email: user.email.clone().filter(|_| user.email_verified),
        })))
    }
}
