//! Login sessions: the `sessions` table, with the in-memory cache of lookups in front of it
//! (see `SessionCache`).

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{defer, sweep_expired, users::user_from_row, SqliteStore};
use crate::{
    clock::{from_millis, to_millis},
    store::{SessionLookup, SessionRecord, SessionStore, StoreResult},
};

/// A session from the ten [`SESSION_COLUMNS`] starting at `first`.
fn session_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        token_hash: r.get(first)?,
        user_id: r.get(first + 1)?,
        user_name: r.get(first + 2)?,
        created_at: from_millis(r.get(first + 3)?),
        expires_at: from_millis(r.get(first + 4)?),
        authenticated_at: from_millis(r.get(first + 5)?),
        amr: r.get(first + 6)?,
        browser: r.get(first + 7)?,
        ip_prefix: r.get(first + 8)?,
        last_seen_at: match r.get::<_, i64>(first + 9)? {
            0 => from_millis(r.get(first + 3)?),
            seen => from_millis(seen),
        },
    })
}

/// A session's columns, in the order [`session_from_row`] reads them.
const SESSION_COLUMNS: &str = "token_hash, user_id, user_name, created_at, expires_at, \
                               authenticated_at, amr, browser, ip_prefix, last_seen_at";

#[async_trait]
impl SessionStore for SqliteStore {
    /// One statement on the one writing connection, so no password change can come between
    /// the check and the insert.
    async fn insert_session_for_hash(
        &self,
        s: &SessionRecord,
        password_hash: &str,
        generation: i64,
    ) -> StoreResult<bool> {
        let (s, password_hash) = (s.clone(), password_hash.to_owned());
        self.write(move |c| {
            // Sweep expired sessions while we are writing anyway.
            sweep_expired(c, "sessions", s.created_at)?;
            c.prepare_cached(
                "INSERT INTO sessions
                    (token_hash, user_id, user_name, created_at, expires_at, authenticated_at,
                     amr, browser, ip_prefix, last_seen_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?8, ?9, ?10, ?11, ?12
                 WHERE EXISTS (SELECT 1 FROM users
                               WHERE id = ?2 AND password_hash = ?6 AND session_generation = ?7)",
            )?
            .execute(params![
                s.token_hash,
                s.user_id,
                s.user_name,
                to_millis(s.created_at),
                to_millis(s.expires_at),
                password_hash,
                generation,
                to_millis(s.authenticated_at),
                s.amr,
                s.browser,
                s.ip_prefix,
                to_millis(s.last_seen_at)
            ])
            .map(|n| n == 1)
        })
        .await
    }

    /// Answered from memory when cached; a miss is one query, whose result is cached.
    async fn look_up_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Arc<SessionLookup>>> {
        if let Some(hit) = self.sessions.get(token_hash, now) {
            return Ok(Some(hit));
        }
        let generation = self.sessions.generation();
        let token_hash = token_hash.to_owned();
        let found = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT u.id, u.name, u.display_name, u.password_hash, u.created_at,
                        u.password_changed_at, u.disabled, u.password_expired,
                        u.reset_expires_at, u.totp_secret, u.totp_pending, u.totp_last_step,
                        u.session_generation, u.reset_removes_passkeys, u.reset_by_operator,
                        u.email, u.email_verified,
                        s.token_hash, s.user_id, s.user_name,
                        s.created_at, s.expires_at, s.authenticated_at,
                        s.amr, s.browser, s.ip_prefix, s.last_seen_at,
                        (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id),
                        (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id)
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                )?
                .query_row(params![token_hash, to_millis(now)], |r| {
                    Ok(Arc::new(SessionLookup {
                        session: session_from_row(r, 17)?,
                        user: user_from_row(r)?,
                        passkeys: r.get(27)?,
                        recovery_codes: r.get(28)?,
                    }))
                })
                .optional()
            })
            .await?;
        if let Some(found) = &found {
            self.sessions.insert(generation, found.clone());
        }
        Ok(found)
    }

    async fn set_session_authenticated(
        &self,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_session(&token_hash));
            c.prepare_cached("UPDATE sessions SET authenticated_at = ?2 WHERE token_hash = ?1")?
                .execute(params![token_hash, to_millis(at)])
                .map(|n| n == 1)
        })
        .await
    }

    async fn set_session_seen(&self, token_hash: &str, at: OffsetDateTime) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_session(&token_hash));
            c.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1")?
                .execute(params![token_hash, to_millis(at)])
                .map(drop)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let token_hash = token_hash.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_session(&token_hash));
            c.prepare_cached(&format!(
                "DELETE FROM sessions WHERE token_hash = ?1 RETURNING {SESSION_COLUMNS}"
            ))?
            .query_row([&token_hash], |r| session_from_row(r, 0))
            .optional()
        })
        .await
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_id(&user_id));
            let tx = c.transaction()?;
            tx.prepare_cached(
                "UPDATE users SET session_generation = session_generation + 1 WHERE id = ?1",
            )?
            .execute([&user_id])?;
            let revoked = tx
                .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([&user_id])?;
            tx.commit()?;
            Ok(revoked as u64)
        })
        .await
    }

    async fn user_sessions(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SessionRecord>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions
                 WHERE user_id = ?1 AND expires_at > ?2 ORDER BY created_at"
            ))?
            .query_map(params![user_id, to_millis(now)], |r| session_from_row(r, 0))?
            .collect()
        })
        .await
    }

    async fn count_user_sessions(&self, user_id: &str, now: OffsetDateTime) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT COUNT(*) FROM sessions WHERE user_id = ?1 AND expires_at > ?2",
            )?
            .query_row(params![user_id, to_millis(now)], |r| r.get(0))
        })
        .await
    }
}
