//! Persistence: role traits, two implementations.
//!
//! Each kind of record has a role trait of its own (`roles`), so a part of the service
//! depends only on what it uses: [`UserStore`] (accounts), [`RecoveryStore`] (reset links),
//! [`SessionStore`] (logins), [`CounterStore`] (throttling), [`DeviceStore`] (known browsers),
//! [`SecondFactorStore`] (authenticator apps), [`PasskeyStore`] (WebAuthn credentials) and
//! [`CeremonyStore`] (WebAuthn ceremonies in progress), [`KeyCheckStore`] (which data key
//! seals the database's secrets), [`EmailStore`] (addresses and their verification),
//! [`OutboxStore`] (mail waiting to be sent), [`ClientStore`] (apps that sign users in),
//! [`GroupStore`] (groups of accounts), [`GrantStore`] (what apps were given: grants, their
//! tokens, users' consents), [`SigningKeyStore`] (keys that sign ID tokens), and [`Ping`] for
//! readiness. [`Store`]
//! is all of them; new kinds of records get a role of their own.
//!
//! - [`mongo::MongoStore`]: production, MongoDB through the official driver.
//! - [`sqlite::SqliteStore`]: embedded, so a first run needs nothing installed.
//!
//! Both are folders with one file per role, mirroring the conformance suite
//! (`tests/store_conformance/`) that both pass. All state lives here, so several server
//! instances sharing one database share it. Uniqueness and compare-and-swap are the database's
//! job (a unique index, a conditional update), never a check-then-write in this process.

mod error;
pub mod mongo;
mod records;
mod roles;
mod session_cache;
pub mod sqlite;

pub use error::{Cause, StoreError, StoreResult};
pub use records::{
    ClientRecord, ConsentRecord, Counter, DeviceRecord, GrantRecord, GroupRecord, MailRecord,
    NewEmail, PasskeyRecord, ResetLink, SessionLookup, SessionRecord, SigningKeyRecord, TokenKind,
    TokenRecord, TotpSlot, UserRecord,
};
pub use roles::{
    CeremonyStore, ClientStore, CounterStore, DeviceStore, EmailStore, GrantStore, GroupStore,
    KeyCheckStore, OutboxStore, PasskeyStore, Ping, RecoveryStore, SecondFactorStore, SessionStore,
    SigningKeyStore, TokenUse, UserStore,
};

/// Everything the service stores, in one database: every role.
pub trait Store:
    Ping
    + UserStore
    + RecoveryStore
    + SessionStore
    + CounterStore
    + DeviceStore
    + SecondFactorStore
    + PasskeyStore
    + CeremonyStore
    + KeyCheckStore
    + EmailStore
    + OutboxStore
    + ClientStore
    + GroupStore
    + GrantStore
    + SigningKeyStore
{
}

/// The end of the key range that starts with a prefix: `prefix` followed by the greatest
/// character sorts after every key with that prefix, in UTF-8 byte order as both stores compare.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}
