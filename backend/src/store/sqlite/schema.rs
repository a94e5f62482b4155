//! The tables and their migrations, counted by `PRAGMA user_version`.

use rusqlite::Connection;

/// The first release's tables; [`MIGRATIONS`] brings them up to date.
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
    // 1: operator flags and password-reset links.
    "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN password_expired INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN reset_token_hash TEXT;
     ALTER TABLE users ADD COLUMN reset_expires_at INTEGER;
     CREATE UNIQUE INDEX users_by_reset_token ON users(reset_token_hash);",
    // 2: two-factor login.
    "ALTER TABLE users ADD COLUMN totp_secret TEXT;
     ALTER TABLE users ADD COLUMN totp_pending TEXT;
     ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE recovery_codes (
         user_id TEXT NOT NULL,
         code_hash TEXT NOT NULL,
         PRIMARY KEY (user_id, code_hash)
     ) STRICT;",
    // 3: passkeys.
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
    // 4: every expiring table is swept through an index on its expiry.
    "CREATE INDEX devices_by_expiry ON devices(expires_at);
     CREATE INDEX ceremonies_by_expiry ON ceremonies(expires_at);",
    // 5: the data key check (see `crate::accounts::Secrets`).
    "CREATE TABLE key_check (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         value TEXT NOT NULL
     ) STRICT;",
    // 6: the session generation (see `SessionStore::delete_user_sessions`).
    "ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;",
    // 7: when a session's holder last authenticated (0, long ago, for older sessions: their
    // next sensitive change asks again).
    "ALTER TABLE sessions ADD COLUMN authenticated_at INTEGER NOT NULL DEFAULT 0;",
    // 8: whether a reset link removes the passkeys when used, and whether an operator made it.
    "ALTER TABLE users ADD COLUMN reset_removes_passkeys INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN reset_by_operator INTEGER NOT NULL DEFAULT 0;",
    // 9: email addresses, their verification links, and the outbox.
    "ALTER TABLE users ADD COLUMN email TEXT;
     ALTER TABLE users ADD COLUMN email_key TEXT;
     ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE users ADD COLUMN email_token_hash TEXT;
     ALTER TABLE users ADD COLUMN email_token_expires_at INTEGER;
     CREATE INDEX users_by_email ON users(email_key);
     CREATE UNIQUE INDEX users_by_verified_email ON users(email_key) WHERE email_verified = 1;
     CREATE UNIQUE INDEX users_by_email_token ON users(email_token_hash);
     CREATE TABLE outbox (
         id TEXT PRIMARY KEY,
         recipient TEXT NOT NULL,
         kind TEXT NOT NULL,
         sealed TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt_at INTEGER NOT NULL,
         lease_owner TEXT,
         last_error TEXT,
         failed INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE INDEX outbox_by_due ON outbox(failed, next_attempt_at);",
    // 10: OpenID Connect: apps, groups, grants and their tokens, consents, signing keys.
    "CREATE TABLE oidc_clients (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         secret_hash TEXT,
         redirect_uris TEXT NOT NULL,
         post_logout_uris TEXT NOT NULL,
         trusted INTEGER NOT NULL,
         signing_alg TEXT NOT NULL,
         created_at INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE groups (name TEXT PRIMARY KEY) STRICT;
     CREATE TABLE group_members (
         group_name TEXT NOT NULL,
         user_id TEXT NOT NULL,
         PRIMARY KEY (group_name, user_id)
     ) STRICT;
     CREATE INDEX group_members_by_user ON group_members(user_id);
     CREATE TABLE oidc_grants (
         id TEXT PRIMARY KEY,
         client_id TEXT NOT NULL,
         user_id TEXT NOT NULL,
         scope TEXT NOT NULL,
         auth_time INTEGER NOT NULL,
         amr TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX oidc_grants_by_user ON oidc_grants(user_id, client_id);
     CREATE INDEX oidc_grants_by_client ON oidc_grants(client_id);
     CREATE INDEX oidc_grants_by_expiry ON oidc_grants(expires_at);
     CREATE TABLE oidc_tokens (
         token_hash TEXT PRIMARY KEY,
         kind TEXT NOT NULL,
         grant_id TEXT NOT NULL,
         client_id TEXT NOT NULL,
         user_id TEXT NOT NULL,
         scope TEXT NOT NULL,
         expires_at INTEGER NOT NULL,
         used INTEGER NOT NULL DEFAULT 0,
         data TEXT
     ) STRICT;
     CREATE INDEX oidc_tokens_by_grant ON oidc_tokens(grant_id);
     CREATE INDEX oidc_tokens_by_expiry ON oidc_tokens(expires_at);
     CREATE TABLE oidc_consents (
         user_id TEXT NOT NULL,
         client_id TEXT NOT NULL,
         scope TEXT NOT NULL,
         granted_at INTEGER NOT NULL,
         PRIMARY KEY (user_id, client_id)
     ) STRICT;
     CREATE INDEX oidc_consents_by_client ON oidc_consents(client_id);
     ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
     ALTER TABLE sessions ADD COLUMN browser TEXT NOT NULL DEFAULT '';
     ALTER TABLE sessions ADD COLUMN ip_prefix TEXT NOT NULL DEFAULT '';
     CREATE TABLE oidc_keys (
         kid TEXT PRIMARY KEY,
         alg TEXT NOT NULL,
         sealed TEXT NOT NULL,
         public_jwk TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         active_from INTEGER NOT NULL
     ) STRICT;",
    // 11: when a session was last used (0 for older sessions: its opening is shown instead),
    // and the session generation a grant belongs to.
    "ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE oidc_grants ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;",
];

/// Creates the tables if they are missing, then migrates them.
pub(super) fn create_or_migrate(c: &mut Connection) -> rusqlite::Result<()> {
    c.execute_batch(SCHEMA)?;
    migrate(c)
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
