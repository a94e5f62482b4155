//! Forward-auth decisions: may the sender of a request to an app behind a proxy pass? The
//! rules (`crate::authz`) say what a host and path demand; this checks the session against
//! it.
//!
//! It runs on every request of every protected app, so a session and its account's groups
//! are kept in memory for [`CACHE_TTL`] after a lookup: a revocation (on any instance) is
//! honoured within that, and a page's burst of requests costs one lookup.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{sessions::SessionIssuer, AccountError, AccountResult, SignedIn};
use crate::{authz::Policy, store::GroupStore, token::SessionToken};

/// How long a looked-up session (and its groups) is believed without asking the store.
pub const CACHE_TTL: Duration = Duration::from_secs(1);

/// Sessions kept at most; past it the cache starts again (each entry lives a second anyway).
const CACHE_CAPACITY: usize = 10_000;

/// A session as forward-auth last found it (or found none), and when.
type Cached = (Instant, Option<(SignedIn, Arc<Vec<String>>)>);

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
    pub(super) issuer: SessionIssuer,
    pub(super) cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl ForwardAuth {
    /// The verdict for a request that `policy` (with `groups`) governs, from the session
    /// behind `token`, looked up at most once a second.
    pub async fn check_token(
        &self,
        policy: Policy,
        groups: &[String],
        token: Option<&SessionToken>,
    ) -> AccountResult<Verdict> {
        if matches!(policy, Policy::Bypass | Policy::Deny) {
            return self.check(policy, groups, None, &[]).await;
        }
        let found = match token {
            Some(token) => self.session(token).await?,
            None => None,
        };
        match &found {
            Some((signed_in, member_of)) => {
                self.check(policy, groups, Some(signed_in), member_of).await
            }
            None => self.check(policy, groups, None, &[]).await,
        }
    }

    /// The session behind `token` with its account's groups, from the cache if it is
    /// younger than [`CACHE_TTL`].
    async fn session(
        &self,
        token: &SessionToken,
    ) -> AccountResult<Option<(SignedIn, Arc<Vec<String>>)>> {
        let key = token.store_key();
        let now = Instant::now();
        if let Some((at, found)) = self.lock().get(&key) {
            if now.duration_since(*at) < CACHE_TTL {
                return Ok(found.clone());
            }
        }
        let found = match self.issuer.find(token).await {
            Ok(signed_in) => {
                let groups = self.groups.user_groups(&signed_in.found.user.id).await?;
                Some((signed_in, Arc::new(groups)))
            }
            Err(AccountError::Unauthenticated) => None,
            Err(e) => return Err(e),
        };
        let mut cache = self.lock();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, (now, found.clone()));
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The verdict for a request that `policy` (with `groups`, any of which suffices)
    /// governs, from the session `signed_in`, if any, whose account is in `member_of`.
    async fn check(
        &self,
        policy: Policy,
        groups: &[String],
        signed_in: Option<&SignedIn>,
        member_of: &[String],
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
        if !groups.is_empty() && !groups.iter().any(|g| member_of.contains(g)) {
            return Ok(Verdict::Forbidden(
                "your account is not in a group allowed here",
            ));
        }
        let user = &found.user;
        Ok(Verdict::Allow(Some(Identity {
            user_name: user.display_name.clone(),
            groups: member_of.to_vec(),
            email: user.email.clone().filter(|_| user.email_verified),
        })))
    }
}
