//! An exact in-process cache of session lookups, for the embedded store.
//!
//! Every authenticated request looks its session up, and for the embedded store that meant a
//! SQLite query on the blocking pool: most of the cost of the cheapest authenticated route. The
//! embedded store belongs to one process (it locks its data folder), so every write passes
//! through it and the cache can be exact rather than "fresh enough": each write that revokes a
//! session or changes an account forgets the entries it touches, inside the same blocking call
//! that commits it, so not even a cancelled request can skip that step.
//!
//! A lookup that raced with such a write must not put back what the write just forgot: a
//! lookup notes the generation before it reads the database and keeps its result only if no
//! entry was forgotten since.
//!
//! Never used for MongoDB: several instances share that database, and a revocation made by one
//! instance must take effect on all of them at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use time::OffsetDateTime;

use super::SessionLookup;

pub struct SessionCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped whenever an entry is forgotten.
    generation: u64,
    /// By token hash.
    entries: HashMap<String, Arc<SessionLookup>>,
}

impl SessionCache {
    /// Holds at most `capacity` sessions (a few hundred bytes each).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// The cached session, if it has not expired at `now` (an expired one is dropped).
    pub fn get(&self, token_hash: &str, now: OffsetDateTime) -> Option<Arc<SessionLookup>> {
        let mut inner = self.lock();
        match inner.entries.get(token_hash) {
            Some(entry) if entry.session.expires_at > now => Some(entry.clone()),
            Some(_) => {
                inner.entries.remove(token_hash);
                None
            }
            None => None,
        }
    }

    /// To be read before a database lookup whose result will be passed to [`Self::insert`].
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps a lookup's result, unless something was forgotten since `generation` was read
    /// (the result may predate that write).
    pub fn insert(&self, generation: u64, found: Arc<SessionLookup>) {
        let mut inner = self.lock();
        if inner.generation != generation || self.capacity == 0 {
            return;
        }
        if inner.entries.len() >= self.capacity {
            // Make room with an arbitrary entry (the map's order is random per process), which
            // is O(1) where looking for the oldest or the expired ones would scan the map on
            // every miss. Evicting is always safe: the next lookup reads the database.
            if let Some(key) = inner.entries.keys().next().cloned() {
                inner.entries.remove(&key);
            }
        }
        inner
            .entries
            .insert(found.session.token_hash.clone(), found);
    }

    /// After a session is revoked.
    pub fn forget_session(&self, token_hash: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(token_hash);
    }

    /// After an account changes (password, rehash) or is deleted: by canonical name.
    pub fn forget_user_name(&self, name: &str) {
        self.forget_where(|found| found.user.name == name);
    }

    /// After all sessions of one account are revoked.
    pub fn forget_user_id(&self, user_id: &str) {
        self.forget_where(|found| found.session.user_id == user_id || found.user.id == user_id);
    }

    /// A scan, which is fine: it follows a write that waited for an fsync, and the cache is
    /// bounded.
    fn forget_where(&self, matches: impl Fn(&SessionLookup) -> bool) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, entry| !matches(entry));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update leaves the map consistent, so a panic elsewhere cannot poison its meaning.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::{SessionRecord, UserRecord};

    fn entry(token: &str, user: &str, ttl: Duration) -> Arc<SessionLookup> {
        let now = OffsetDateTime::now_utc();
        let session = SessionRecord {
            token_hash: token.into(),
            user_id: format!("id-{user}"),
            user_name: user.into(),
            created_at: now,
            expires_at: now + ttl,
            authenticated_at: now,
            amr: "pwd".into(),
            browser: String::new(),
            ip_prefix: String::new(),
            last_seen_at: now,
        };
        let user = UserRecord {
            id: format!("id-{user}"),
            ..UserRecord::new(user, user, "$argon2id$test".into(), now)
        };
        Arc::new(SessionLookup {
            session,
            user,
            passkeys: 0,
            recovery_codes: 0,
        })
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn cached(cache: &SessionCache, token: &str) -> bool {
        cache.get(token, OffsetDateTime::now_utc()).is_some()
    }

    #[test]
    fn keeps_what_was_looked_up_until_it_expires() {
        let cache = SessionCache::new(8);
        cache.insert(cache.generation(), entry("a", "ann", HOUR));
        cache.insert(cache.generation(), entry("b", "bob", Duration::ZERO));
        assert!(cached(&cache, "a"));
        assert!(!cached(&cache, "b"), "expired");
        assert!(!cache.lock().entries.contains_key("b"), "and dropped");
        assert!(!cached(&cache, "c"));
    }

    #[test]
    fn forgets_by_token_name_and_id() {
        let cache = SessionCache::new(8);
        for (t, u) in [("a1", "ann"), ("a2", "ann"), ("b1", "bob"), ("c1", "cid")] {
            cache.insert(cache.generation(), entry(t, u, HOUR));
        }
        cache.forget_session("a1");
        assert!(!cached(&cache, "a1") && cached(&cache, "a2"));
        cache.forget_user_name("ann");
        assert!(!cached(&cache, "a2") && cached(&cache, "b1"));
        cache.forget_user_id("id-bob");
        assert!(!cached(&cache, "b1") && cached(&cache, "c1"));
    }

    #[test]
    fn a_lookup_that_raced_with_a_revocation_is_not_kept() {
        let cache = SessionCache::new(8);
        // A lookup starts, reads the database (the session is still there)...
        let generation = cache.generation();
        let stale = entry("a", "ann", HOUR);
        // ...the session is revoked and forgotten before the lookup stores its result...
        cache.forget_session("a");
        cache.insert(generation, stale);
        // ...so the revocation holds.
        assert!(!cached(&cache, "a"));
    }

    #[test]
    fn stays_within_its_capacity() {
        let cache = SessionCache::new(3);
        for i in 0..10 {
            cache.insert(cache.generation(), entry(&format!("t{i}"), "ann", HOUR));
        }
        assert_eq!(cache.lock().entries.len(), 3);
        assert!(cached(&cache, "t9"), "the newest is kept");
        let none = SessionCache::new(0);
        none.insert(none.generation(), entry("a", "ann", HOUR));
        assert!(!cached(&none, "a"));
    }
}
