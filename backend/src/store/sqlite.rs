//! The embedded store: SQLite (bundled) in WAL mode with full sync, so an acknowledged write
//! survives a crash or power loss.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool (`SqliteStore::write`
//! and `SqliteStore::read`). One connection serialises writes, which is plenty for the
//! single-process deployments this store is for; a second one reads, so lookups never wait
//! behind a write's fsync. One process only is enforced: the store holds an exclusive lock on `accounts.lock` in
//! the data folder for as long as it is open. That also makes the session cache
//! (`SessionCache`) exact, since every write goes through this process.

use std::{
    fs::{File, TryLockError},
    path::Path,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use time::OffsetDateTime;

use super::{
    session_cache::SessionCache, Counter, CounterStore, DeviceRecord, DeviceStore, PasskeyRecord,
    PasskeyStore, SecondFactorStore, SessionRecord, SessionStore, Store, StoreError, StoreResult,
    UserRecord, UserStore,
};
use crate::clock::{from_millis, to_millis};

/// File name inside the data folder.
pub const FILE_NAME: &str = "accounts.sqlite3";

/// Held locked by the one process using the data folder.
pub const LOCK_FILE_NAME: &str = "accounts.lock";

/// Sessions kept in memory (a few hundred bytes each); more are read from the database.
const SESSION_CACHE_CAPACITY: usize = 10_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS counters_by_expiry ON counters(expires_at);
CREATE TABLE IF NOT EXISTS devices (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS devices_by_user ON devices(user_id);
";

/// Changes to [`SCHEMA`] since the first release, in order; `PRAGMA user_version` counts how
/// many a database has had. Never edit one: add the next.
const MIGRATIONS: &[&str] = &[
    // Part 7: operator flags and password-reset links.
    "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN password_expired INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN reset_token_hash TEXT;
     ALTER TABLE users ADD COLUMN reset_expires_at INTEGER;
     CREATE UNIQUE INDEX users_by_reset_token ON users(reset_token_hash);",
    // Part 8: two-factor login.
    "ALTER TABLE users ADD COLUMN totp_secret TEXT;
     ALTER TABLE users ADD COLUMN totp_pending TEXT;
     ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE recovery_codes (
         user_id TEXT NOT NULL,
         code_hash TEXT NOT NULL,
         PRIMARY KEY (user_id, code_hash)
     ) STRICT;",
    // Part 8: passkeys.
    "CREATE TABLE passkeys (
         credential_id TEXT PRIMARY KEY,
         user_id TEXT NOT NULL,
         name TEXT NOT NULL,
         passkey TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         last_used_at INTEGER
     ) STRICT;
     CREATE INDEX passkeys_by_user ON passkeys(user_id);
     CREATE TABLE ceremonies (
         id TEXT PRIMARY KEY,
         user_id TEXT,
         state TEXT NOT NULL,
         expires_at INTEGER NOT NULL
     ) STRICT;",
];

/// The columns of a [`UserRecord`], in the order [`user_from_row`] reads them.
const USER_COLUMNS: &str = "id, name, display_name, password_hash, created_at, \
     password_changed_at, disabled, password_expired, reset_expires_at, totp_secret, \
     totp_pending, totp_last_step";

/// One connection writes; a second one reads, so lookups (sessions, users, counters) never queue
/// behind a write that is waiting for its fsync. WAL lets the reader see every committed write.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    sessions: Arc<SessionCache>,
    /// Released when the last clone is dropped (or the process ends, however it ends).
    _lock: Arc<File>,
}

impl SqliteStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::unavailable(format!("cannot create data folder {}", dir.display()), e)
        })?;
        let lock = lock_data_dir(dir)?;
        let path = dir.join(FILE_NAME);
        let open = || {
            let conn = Connection::open(&path).map_err(|e| {
                StoreError::unavailable(format!("cannot open {}", path.display()), e)
            })?;
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(classify)?;
            Ok::<_, StoreError>(conn)
        };
        let mut writer = open()?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(classify)?;
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(classify)?;
        writer.execute_batch(SCHEMA).map_err(classify)?;
        migrate(&mut writer).map_err(classify)?;
        let reader = open()?;
        reader
            .pragma_update(None, "query_only", "ON")
            .map_err(classify)?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
            sessions: Arc::new(SessionCache::new(SESSION_CACHE_CAPACITY)),
            _lock: Arc::new(lock),
        })
    }

    /// Runs `f` with the writing connection on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        Self::on(self.writer.clone(), f).await
    }

    /// Runs `f` with the reading connection on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        Self::on(self.reader.clone(), f).await
    }

    async fn on<T: Send + 'static>(
        conn: Arc<Mutex<Connection>>,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-done transaction behind
            // (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard).map_err(classify)
        })
        .await
        .map_err(|e| StoreError::Internal(Box::new(e)))?
    }
}

impl SqliteStore {
    /// Inserts a session, if `password_hash` is given only while its account holds that hash:
    /// one statement on the one writing connection, so no password change can come between
    /// the check and the insert.
    async fn insert_session_where(
        &self,
        s: &SessionRecord,
        password_hash: Option<String>,
    ) -> StoreResult<bool> {
        let s = s.clone();
        self.write(move |c| {
            // Sweep expired sessions while we are writing anyway (indexed, so cheap).
            c.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
                .execute([to_millis(s.created_at)])?;
            c.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, user_name, created_at, expires_at)
                 SELECT ?1, ?2, ?3, ?4, ?5
                 WHERE ?6 IS NULL
                    OR EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_hash = ?6)",
            )?
            .execute(params![
                s.token_hash,
                s.user_id,
                s.user_name,
                to_millis(s.created_at),
                to_millis(s.expires_at),
                password_hash
            ])
            .map(|n| n == 1)
        })
        .await
    }
}

/// Applies the [`MIGRATIONS`] this database has not had yet, each in its own transaction.
fn migrate(c: &mut Connection) -> rusqlite::Result<()> {
    let done: usize = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = c.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Two processes on one data folder would each cache sessions the other can revoke; the second
/// is refused at start-up instead.
fn lock_data_dir(dir: &Path) -> StoreResult<File> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::unavailable(format!("cannot open {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Unavailable(
            format!(
                "data folder {} is in use by another accounts-server (it holds {})",
                dir.display(),
                path.display()
            )
            .into(),
        )),
        Err(TryLockError::Error(e)) => Err(StoreError::unavailable(
            format!("cannot lock {}", path.display()),
            e,
        )),
    }
}

/// Runs `f` when dropped. A write forgets cached sessions this way, after it has committed or
/// failed (an error may come after the commit) and even if it panics.
fn defer(f: impl FnOnce()) -> impl Drop {
    struct Defer<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Defer<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Defer(Some(f))
}

/// Runs `f` in one transaction that is not synced to disk on commit (`synchronous=NORMAL`,
/// which in WAL mode keeps the database consistent and lets the next synced commit carry it).
/// For counters only: every counter write would otherwise cost an fsync, three per login, and
/// under load they queued on the one writing connection. A crash of the process loses
/// nothing; a power cut may lose the last counts (a lock then ends early or a per-minute
/// budget resets), never an account or a session.
fn without_fsync<T>(
    c: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.pragma_update(None, "synchronous", "NORMAL")?;
    let result = c.transaction().and_then(|tx| {
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    });
    let restored = c.pragma_update(None, "synchronous", "FULL");
    let value = result?;
    restored?;
    Ok(value)
}

fn classify(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Duplicate,
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::ReadOnly,
        ) => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Internal(Box::new(e)),
    }
}

/// A session from five columns starting at `first`: token hash, user id, user name, created,
/// expires.
fn session_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        token_hash: r.get(first)?,
        user_id: r.get(first + 1)?,
        user_name: r.get(first + 2)?,
        created_at: from_millis(r.get(first + 3)?),
        expires_at: from_millis(r.get(first + 4)?),
    })
}

/// A user from the [`USER_COLUMNS`], starting at the first column.
fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        display_name: row.get(2)?,
        password_hash: row.get(3)?,
        created_at: from_millis(row.get(4)?),
        password_changed_at: from_millis(row.get(5)?),
        disabled: row.get(6)?,
        password_expired: row.get(7)?,
        reset_expires_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
        totp_secret: row.get(9)?,
        totp_pending: row.get(10)?,
        totp_last_step: row.get(11)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.prepare_cached("SELECT 1")?.query_row([], |_| Ok(())))
            .await
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
        let u = user.clone();
        self.write(move |c| {
            c.prepare_cached("INSERT INTO users (id, name, display_name, password_hash, created_at, password_changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
                params![
                    u.id,
                    u.name,
                    u.display_name,
                    u.password_hash,
                    to_millis(u.created_at),
                    to_millis(u.password_changed_at)
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
                .query_row([id], user_from_row)
                .optional()
        })
        .await
    }

    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let name = name.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"))?
                .query_row([name], user_from_row)
                .optional()
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let (name, expected, new_hash) =
            (name.to_owned(), expected.to_owned(), new_hash.to_owned());
        let changed_at = changed_at.map(to_millis);
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_name(&name));
            c.prepare_cached(
                "UPDATE users SET password_hash = ?3,
                        password_changed_at = COALESCE(?4, password_changed_at),
                        password_expired = IIF(?4 IS NULL, password_expired, 0),
                        reset_token_hash = IIF(?4 IS NULL, reset_token_hash, NULL),
                        reset_expires_at = IIF(?4 IS NULL, reset_expires_at, NULL)
                 WHERE name = ?1 AND password_hash = ?2",
            )?
            .execute(params![name, expected, new_hash, changed_at])
            .map(|n| n == 1)
        })
        .await
    }

    async fn all_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY created_at"
            ))?
            .query_map([], user_from_row)?
            .collect()
        })
        .await
    }

    async fn rename_user(&self, id: &str, new_name: &str) -> StoreResult<bool> {
        let (id, new_name) = (id.to_owned(), new_name.to_owned());
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_id(&id));
            let tx = c.transaction()?;
            let renamed =
                tx.execute("UPDATE users SET name = ?2 WHERE id = ?1", [&id, &new_name])?;
            tx.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([&id])?;
            tx.commit()?;
            Ok(renamed == 1)
        })
        .await
    }

    async fn delete_user(&self, name: &str, expected: &str) -> StoreResult<bool> {
        let (name, expected) = (name.to_owned(), expected.to_owned());
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_name(&name));
            let tx = c.transaction()?;
            let id: Option<String> = tx
                .query_row(
                    "DELETE FROM users WHERE name = ?1 AND password_hash = ?2 RETURNING id",
                    [&name, &expected],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = &id {
                tx.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
                    .execute([id])?;
            }
            tx.commit()?;
            Ok(id.is_some())
        })
        .await
    }

    async fn set_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool> {
        self.write_named_user(name, move |c, name| {
            c.prepare_cached("UPDATE users SET disabled = ?2 WHERE name = ?1")?
                .execute(params![name, disabled])
        })
        .await
    }

    async fn expire_password(&self, name: &str) -> StoreResult<bool> {
        self.write_named_user(name, |c, name| {
            c.prepare_cached("UPDATE users SET password_expired = 1 WHERE name = ?1")?
                .execute([name])
        })
        .await
    }

    async fn set_reset_token(
        &self,
        name: &str,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.to_owned();
        self.write_named_user(name, move |c, name| {
            c.prepare_cached(
                "UPDATE users SET reset_token_hash = ?2, reset_expires_at = ?3 WHERE name = ?1",
            )?
            .execute(params![name, token_hash, to_millis(expires_at)])
        })
        .await
    }

    async fn find_user_by_reset_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE reset_token_hash = ?1 AND reset_expires_at > ?2"
            ))?
            .query_row(params![token_hash, to_millis(now)], user_from_row)
            .optional()
        })
        .await
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let (token_hash, new_hash) = (token_hash.to_owned(), new_hash.to_owned());
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let user = c
                .prepare_cached(&format!(
                    "UPDATE users SET password_hash = ?2, password_changed_at = ?3,
                            password_expired = 0, reset_token_hash = NULL,
                            reset_expires_at = NULL
                     WHERE reset_token_hash = ?1 AND reset_expires_at > ?3
                     RETURNING {USER_COLUMNS}"
                ))?
                .query_row(params![token_hash, new_hash, to_millis(now)], user_from_row)
                .optional()?;
            if let Some(user) = &user {
                sessions.forget_user_id(&user.id);
            }
            Ok(user)
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()> {
        self.insert_session_where(s, None).await.map(drop)
    }

    async fn insert_session_for_hash(
        &self,
        s: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool> {
        self.insert_session_where(s, Some(password_hash.to_owned()))
            .await
    }

    async fn find_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT token_hash, user_id, user_name, created_at, expires_at
                 FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![token_hash, to_millis(now)], |r| {
                session_from_row(r, 0)
            })
            .optional()
        })
        .await
    }

    async fn find_session_and_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
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
                        s.token_hash, s.user_id, s.user_name,
                        s.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                )?
                .query_row(params![token_hash, to_millis(now)], |r| {
                    Ok((session_from_row(r, 12)?, user_from_row(r)?))
                })
                .optional()
            })
            .await?;
        if let Some(found) = &found {
            self.sessions.insert(generation, found.clone());
        }
        Ok(found)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let token_hash = token_hash.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_session(&token_hash));
            c.prepare_cached(
                "DELETE FROM sessions WHERE token_hash = ?1
                 RETURNING token_hash, user_id, user_name, created_at, expires_at",
            )?
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
            c.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([&user_id])
                .map(|n| n as u64)
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

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn insert_device(&self, d: &DeviceRecord, now: OffsetDateTime) -> StoreResult<()> {
        let d = d.clone();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM devices WHERE expires_at <= ?1")?
                .execute([to_millis(now)])?;
            c.prepare_cached(
                "INSERT OR REPLACE INTO devices (token_hash, user_id, user_name, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                d.token_hash,
                d.user_id,
                d.user_name,
                to_millis(d.expires_at)
            ])
            .map(drop)
        })
        .await
    }

    async fn find_device(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceRecord>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT token_hash, user_id, user_name, expires_at FROM devices
                 WHERE token_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![token_hash, to_millis(now)], |r| {
                Ok(DeviceRecord {
                    token_hash: r.get(0)?,
                    user_id: r.get(1)?,
                    user_name: r.get(2)?,
                    expires_at: from_millis(r.get(3)?),
                })
            })
            .optional()
        })
        .await
    }

    async fn delete_user_devices(&self, user_id: &str) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM devices WHERE user_id = ?1")?
                .execute([&user_id])
                .map(|n| n as u64)
        })
        .await
    }
}

impl SqliteStore {
    /// Runs `f` on the writer, then forgets the account's cached sessions (they carry its
    /// record, which `f` changes).
    async fn write_user<T: Send + 'static>(
        &self,
        user_id: &str,
        f: impl FnOnce(&mut Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let user_id = user_id.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_id(&user_id));
            f(c, &user_id)
        })
        .await
    }

    /// Runs an `UPDATE` of the account named `name` (`f` returns the rows changed), then
    /// forgets its cached sessions; whether the account exists.
    async fn write_named_user(
        &self,
        name: &str,
        f: impl FnOnce(&mut Connection, &str) -> rusqlite::Result<usize> + Send + 'static,
    ) -> StoreResult<bool> {
        let name = name.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_name(&name));
            f(c, &name).map(|n| n == 1)
        })
        .await
    }
}

#[async_trait]
impl SecondFactorStore for SqliteStore {
    async fn set_pending_totp(&self, user_id: &str, secret: &str) -> StoreResult<bool> {
        let secret = secret.to_owned();
        self.write_user(user_id, move |c, id| {
            c.prepare_cached("UPDATE users SET totp_pending = ?2 WHERE id = ?1")?
                .execute([id, &secret])
                .map(|n| n == 1)
        })
        .await
    }

    async fn enable_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<bool> {
        let (secret, hashes) = (secret.to_owned(), recovery_hashes.to_vec());
        self.write_user(user_id, move |c, id| {
            let tx = c.transaction()?;
            let enabled = tx
                .prepare_cached(
                    "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,
                            totp_last_step = ?3
                     WHERE id = ?1 AND totp_pending = ?2 AND totp_secret IS NULL",
                )?
                .execute(params![id, secret, step])?
                == 1;
            if enabled {
                tx.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
                    .execute([id])?;
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                )?;
                for hash in &hashes {
                    insert.execute([id, hash])?;
                }
            }
            tx.commit()?;
            Ok(enabled)
        })
        .await
    }

    async fn disable_totp(&self, user_id: &str) -> StoreResult<bool> {
        self.write_user(user_id, |c, id| {
            let tx = c.transaction()?;
            let was_on = tx
                .prepare_cached(
                    "UPDATE users SET totp_secret = NULL, totp_pending = NULL
                     WHERE id = ?1 AND totp_secret IS NOT NULL",
                )?
                .execute([id])?
                == 1;
            tx.prepare_cached("UPDATE users SET totp_pending = NULL WHERE id = ?1")?
                .execute([id])?;
            tx.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
                .execute([id])?;
            tx.commit()?;
            Ok(was_on)
        })
        .await
    }

    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        self.write_user(user_id, move |c, id| {
            c.prepare_cached(
                "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2",
            )?
            .execute(params![id, step])
            .map(|n| n == 1)
        })
        .await
    }

    async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> StoreResult<bool> {
        let code_hash = code_hash.to_owned();
        self.write_user(user_id, move |c, id| {
            c.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2")?
                .execute([id, &code_hash])
                .map(|n| n == 1)
        })
        .await
    }

    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1")?
                .query_row([user_id], |r| r.get(0))
        })
        .await
    }
}

fn passkey_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        credential_id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        passkey: r.get(3)?,
        created_at: from_millis(r.get(4)?),
        last_used_at: r.get::<_, Option<i64>>(5)?.map(from_millis),
    })
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO passkeys (credential_id, user_id, name, passkey, created_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                p.credential_id,
                p.user_id,
                p.name,
                p.passkey,
                to_millis(p.created_at),
                p.last_used_at.map(to_millis)
            ])
            .map(drop)
        })
        .await
    }

    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT credential_id, user_id, name, passkey, created_at, last_used_at
                 FROM passkeys WHERE user_id = ?1 ORDER BY created_at, credential_id",
            )?
            .query_map([user_id], passkey_from_row)?
            .collect()
        })
        .await
    }

    async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let (id, passkey) = (credential_id.to_owned(), passkey.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE passkeys SET passkey = ?2, last_used_at = ?3 WHERE credential_id = ?1",
            )?
            .execute(params![id, passkey, to_millis(used_at)])
            .map(|n| n == 1)
        })
        .await
    }

    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool> {
        let (user_id, id) = (user_id.to_owned(), credential_id.to_owned());
        self.write(move |c| {
            c.prepare_cached("DELETE FROM passkeys WHERE user_id = ?1 AND credential_id = ?2")?
                .execute([user_id, id])
                .map(|n| n == 1)
        })
        .await
    }

    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM passkeys WHERE user_id = ?1")?
                .execute([user_id])
                .map(|n| n as u64)
        })
        .await
    }

    async fn insert_ceremony(
        &self,
        id: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (id, user_id, state) = (id.to_owned(), user_id.map(str::to_owned), state.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO ceremonies (id, user_id, state, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, user_id, state, to_millis(expires_at)])
            .map(drop)
        })
        .await
    }

    async fn take_ceremony(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Option<String>, String)>> {
        let id = id.to_owned();
        self.write(move |c| {
            // Sweep ended ceremonies while writing anyway (abandoned ones are never taken).
            c.prepare_cached("DELETE FROM ceremonies WHERE expires_at <= ?1")?
                .execute([to_millis(now)])?;
            c.prepare_cached(
                "DELETE FROM ceremonies WHERE id = ?1 RETURNING user_id, state, expires_at",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()
            .map(|found| {
                found
                    .filter(|(_, _, expires)| *expires > to_millis(now))
                    .map(|(user, state, _)| (user, state))
            })
        })
        .await
    }
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn bump_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
        ttl: std::time::Duration,
    ) -> StoreResult<Counter> {
        let key = key.to_owned();
        let (now, expires) = (to_millis(now), to_millis(now + ttl));
        self.write(move |c| {
            without_fsync(c, |tx| {
                tx.prepare_cached("DELETE FROM counters WHERE expires_at <= ?1")?
                    .execute([now])?;
                tx.prepare_cached(
                    "INSERT INTO counters (key, count, last_at, expires_at) VALUES (?1, 1, ?2, ?3)
                     ON CONFLICT(key) DO UPDATE SET count = count + 1, last_at = ?2,
                                                    expires_at = ?3
                     RETURNING count, last_at, expires_at",
                )?
                .query_row(params![key, now, expires], counter_from_row)
            })
        })
        .await
    }

    async fn get_counter(&self, key: &str, now: OffsetDateTime) -> StoreResult<Option<Counter>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT count, last_at, expires_at FROM counters WHERE key = ?1 AND expires_at > ?2")?.query_row(
                params![key, to_millis(now)],
                counter_from_row,
            )
            .optional()
        })
        .await
    }

    async fn delete_counter(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |c| {
            without_fsync(c, |tx| {
                tx.prepare_cached("DELETE FROM counters WHERE key = ?1")?
                    .execute([key])
                    .map(drop)
            })
        })
        .await
    }

    async fn delete_counters_with_prefix(&self, prefix: &str) -> StoreResult<u64> {
        let (start, end) = (prefix.to_owned(), super::prefix_end(prefix));
        self.write(move |c| {
            without_fsync(c, |tx| {
                tx.prepare_cached("DELETE FROM counters WHERE key >= ?1 AND key < ?2")?
                    .execute([start, end])
                    .map(|n| n as u64)
            })
        })
        .await
    }
}

fn counter_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Counter> {
    Ok(Counter {
        count: r.get(0)?,
        last_at: from_millis(r.get(1)?),
        expires_at: from_millis(r.get(2)?),
    })
}
