//! The embedded store: SQLite (bundled) in WAL mode with full sync, so an acknowledged write
//! survives a crash or power loss.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool (`SqliteStore::write`
//! and `SqliteStore::read`). One connection serialises writes, which is plenty for the
//! single-process deployments this store is for; a second one reads, so lookups never wait
//! behind a write's fsync. One process only is enforced: the store holds an
//! exclusive lock on `accounts.lock` in the data folder for as long as it is open. That also makes the session cache
//! (`SessionCache`) exact, since every write goes through this process.
//!
//! The folder and the files in it are the server's alone (see `crate::private_files`): the
//! folder is made with mode 0700, the database and the lock file with 0600, and SQLite gives
//! its `-wal` and `-shm` files the database file's mode.
//!
//! One file per role, as in the conformance suite; the schema and its migrations are in
//! `schema`.

mod ceremonies;
mod counters;
mod devices;
mod email;
mod oidc;
mod outbox;
mod passkeys;
mod recovery;
mod schema;
mod second_factor;
mod sessions;
mod users;

use std::{
    fs::{File, TryLockError},
    path::Path,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode};
use time::OffsetDateTime;

use super::{session_cache::SessionCache, Ping, Store, StoreError, StoreResult};

/// File name inside the data folder.
pub const FILE_NAME: &str = "accounts.sqlite3";

/// Held locked by the one process using the data folder.
pub const LOCK_FILE_NAME: &str = "accounts.lock";

/// Sessions kept in memory (a few hundred bytes each); more are read from the database.
const SESSION_CACHE_CAPACITY: usize = 10_000;

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
        crate::private_files::create_dir(dir).map_err(|e| {
            StoreError::unavailable(format!("cannot create data folder {}", dir.display()), e)
        })?;
        let lock = lock_data_dir(dir)?;
        let path = dir.join(FILE_NAME);
        // Created here rather than by SQLite, so that it is private from the start; SQLite
        // copies its mode to the -wal and -shm files.
        crate::private_files::open_file(&path)
            .map_err(|e| StoreError::unavailable(format!("cannot open {}", path.display()), e))?;
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
        schema::create_or_migrate(&mut writer).map_err(classify)?;
        let reader = open()?;
        reader
            .pragma_update(None, "query_only", "ON")
            .map_err(classify)?;
        // Left readable by an older version: the database's mode is fixed above, but SQLite
        // keeps the mode of journal files that already exist.
        for suffix in ["-wal", "-shm"] {
            crate::private_files::tighten(&dir.join(format!("{FILE_NAME}{suffix}")));
        }
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

/// Two processes on one data folder would each cache sessions the other can revoke; the second
/// is refused at start-up instead.
fn lock_data_dir(dir: &Path) -> StoreResult<File> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = crate::private_files::open_file(&path)
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

/// Rows of a sweep, at most: a write that sweeps on the way does bounded work however much has
/// expired (each write adds one row and removes up to this many, so a backlog drains).
const SWEEP_BATCH: i64 = 256;

/// Deletes up to [`SWEEP_BATCH`] rows of `table` expired at `now`, through its expiry index.
fn sweep_expired(c: &Connection, table: &'static str, now: OffsetDateTime) -> rusqlite::Result<()> {
    c.prepare_cached(&format!(
        "DELETE FROM {table} WHERE rowid IN
             (SELECT rowid FROM {table} WHERE expires_at <= ?1 LIMIT ?2)"
    ))?
    .execute(rusqlite::params![crate::clock::to_millis(now), SWEEP_BATCH])
    .map(drop)
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

impl Store for SqliteStore {}

#[async_trait]
impl Ping for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.prepare_cached("SELECT 1")?.query_row([], |_| Ok(())))
            .await
    }
}
