//! The role traits: one per kind of record, so each part of the service depends only on what
//! it uses (the throttle sees counters, nothing else). Each has a conformance suite of its own
//! in `tests/store_conformance/`, run against both implementations.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    ClientRecord, ConsentRecord, Counter, DeviceRecord, GrantRecord, GroupRecord, MailRecord,
    NewEmail, PasskeyRecord, ResetLink, SessionLookup, SessionRecord, SigningKeyRecord,
    StoreResult, TokenKind, TokenRecord, TotpSlot, UserRecord,
};

/// The database's readiness.
#[async_trait]
pub trait Ping: Send + Sync + 'static {
    /// Cheap round trip.
    async fn ping(&self) -> StoreResult<()>;
}

/// Accounts, keyed by canonical user name.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts a new user; [`StoreError::Duplicate`](super::StoreError::Duplicate) when the name is taken.
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;

    /// The user with this canonical name, if any.
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>>;

    /// The user with this id, if any.
    async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>>;

    /// Compare-and-swap: replaces the hash only if it is still `expected`. Returns whether it
    /// did. `changed_at` is `None` for a rehash, which is not a password change; a change
    /// (`Some`) also clears an operator's expiry and voids a pending reset link.
    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;

    /// Deletes the user if its hash is still `expected`, with all its sessions. Returns whether
    /// it did.
    async fn delete_user(&self, name: &str, expected: &str) -> StoreResult<bool>;

    /// Every account (for migrations at start-up).
    async fn all_users(&self) -> StoreResult<Vec<UserRecord>>;

    /// Gives the account `id` the canonical name `new_name` and revokes its sessions (they
    /// name the account by its old name). [`StoreError::Duplicate`](super::StoreError::Duplicate) if the name is taken;
    /// `false` if there is no such account.
    async fn rename_user(&self, id: &str, new_name: &str) -> StoreResult<bool>;

    /// Sets whether the account is disabled. Returns whether the account exists.
    async fn set_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool>;

    /// Marks the password expired until it is next changed. Returns whether the account
    /// exists.
    async fn expire_password(&self, name: &str) -> StoreResult<bool>;
}

/// Password-reset links: only a token's hash and expiry are kept, with the account.
#[async_trait]
pub trait RecoveryStore: Send + Sync + 'static {
    /// Stores a new reset link (its token's hash, expiry, whether using it removes the
    /// passkeys and whether an operator issued it), replacing any earlier one (so an older
    /// link stops working). Returns whether the account exists.
    async fn set_reset_token(&self, name: &str, link: &ResetLink<'_>) -> StoreResult<bool>;

    /// The account holding this reset token, unless there is none or it has expired at `now`.
    async fn find_user_by_reset_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;

    /// Uses a reset token up: in one conditional write, only while the account still holds
    /// the token unexpired at `now`, sets the password (`new_hash`, changed at `now`), clears
    /// any expiry and forgets the token. Returns the updated account (whose
    /// `reset_removes_passkeys` still says what the token said), or `None` if the token was
    /// not (or no longer) valid; so of two uses at once exactly one wins.
    async fn reset_password(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;
}

/// Two-factor login: the authenticator-app secret and the recovery codes (stored as hashes)
/// of an account, by its id.
#[async_trait]
pub trait SecondFactorStore: Send + Sync + 'static {
    /// Keeps `secret` as the one being set up, replacing any earlier pending one. Returns
    /// whether the account exists.
    async fn set_pending_totp(&self, user_id: &str, secret: &str) -> StoreResult<bool>;

    /// Puts the pending secret in force, if it is still `secret` and no secret is in force:
    /// records `step` as used and makes `recovery_hashes` the account's recovery codes.
    /// Returns whether it did.
    async fn enable_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<bool>;

    /// Forgets a pending secret if it is still `expected`, and nothing else (a set-up
    /// cancelled after too many wrong codes leaves a secret in force alone). Whether it did.
    async fn drop_pending_totp(&self, user_id: &str, expected: &str) -> StoreResult<bool>;

    /// Forgets the secret in force, any pending one and the recovery codes. Returns whether
    /// there was a secret in force.
    async fn disable_totp(&self, user_id: &str) -> StoreResult<bool>;

    /// Records `step` as the last used, only if it is later than the one recorded (so of two
    /// uses of one code, one wins). Returns whether it did.
    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool>;

    /// Uses up the recovery code with this hash. Returns whether the account had it.
    async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> StoreResult<bool>;

    /// How many recovery codes the account has left.
    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64>;

    /// Replaces the secret in `slot` with `new` if it is still `expected`, changing nothing
    /// else (sealing a secret stored in the clear, or sealing it again with a newer key).
    /// Returns whether it did.
    async fn replace_totp_secret(
        &self,
        user_id: &str,
        slot: TotpSlot,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool>;
}

/// The data key check: one value, sealed with the data key that seals new secrets, by which an
/// instance given another key file recognises that at start-up instead of sealing with it.
#[async_trait]
pub trait KeyCheckStore: Send + Sync + 'static {
    /// The value, if one was stored.
    async fn key_check(&self) -> StoreResult<Option<String>>;

    /// Compare-and-swap: stores `new` if the value is still `expected` (`None`: there is
    /// none yet). Returns whether it did; of two instances storing a first value at once,
    /// one wins.
    async fn swap_key_check(&self, expected: Option<&str>, new: &str) -> StoreResult<bool>;
}

/// Login sessions, keyed by the SHA-256 of their token.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a login's session only if its account (by id) still holds `password_hash`, the
    /// hash the login verified, and is still at `generation`, the session generation it read
    /// then; returns whether it did. A password change or a revocation (which bumps the
    /// generation, see [`SessionStore::delete_user_sessions`]) that lands while the login is
    /// verifying must not leave it a session: either this sees the change and stores nothing,
    /// or the session is in place before the change revokes every session.
    async fn insert_session_for_hash(
        &self,
        session: &SessionRecord,
        password_hash: &str,
        generation: i64,
    ) -> StoreResult<bool>;

    /// The session, if it exists and has not expired at `now` (whether or not a sweep has
    /// removed it yet), with the account it names and that account's passkey and recovery-code
    /// counts, if that account exists. One round trip where the store can join. Shared, so a
    /// store that keeps lookups in memory hands them out without copying.
    async fn look_up_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Arc<SessionLookup>>>;

    /// Records that the session's holder has just proved who they are again (at `at`), if
    /// the session exists; whether it did.
    async fn set_session_authenticated(
        &self,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Records that the session was used at `at` (for its owner's list of sessions).
    async fn set_session_seen(&self, token_hash: &str, at: OffsetDateTime) -> StoreResult<()>;

    /// Revokes one session. Idempotent. Returns the session if it was there (expired or not),
    /// so the caller learns whose it was in the same round trip.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;

    /// Revokes every session of one account, first moving it to its next session generation
    /// (so no login checked before this stores a session after it). Returns how many there
    /// were.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;

    /// The account's sessions valid at `now`, oldest first (for its owner's list).
    async fn user_sessions(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SessionRecord>>;

    /// How many sessions of one account are valid at `now` (for operators).
    async fn count_user_sessions(&self, user_id: &str, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Browsers known to accounts.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Remembers a browser (replacing a record with the same token hash), then forgets the
    /// account's records beyond the `keep` that expire last (the most recently remembered);
    /// records expired at `now` may be swept meanwhile.
    async fn insert_device(
        &self,
        device: &DeviceRecord,
        now: OffsetDateTime,
        keep: usize,
    ) -> StoreResult<()>;

    /// The device record, unless absent or expired at `now`.
    async fn find_device(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceRecord>>;

    /// Forgets every browser known to the account (when it is deleted).
    async fn delete_user_devices(&self, user_id: &str) -> StoreResult<u64>;
}

/// Counters of events that expire by themselves (failed logins, requests per IP and minute).
#[async_trait]
pub trait CounterStore: Send + Sync + 'static {
    /// Counts one event under `key`, atomically (no increment is lost under concurrency). A
    /// counter that has expired at `now` starts again at 1. The counter then expires at
    /// `now + ttl`.
    async fn bump_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Counter>;

    /// The counter under `key`, unless it is absent or expired at `now`.
    async fn get_counter(&self, key: &str, now: OffsetDateTime) -> StoreResult<Option<Counter>>;

    /// Forgets the counter under `key`.
    async fn delete_counter(&self, key: &str) -> StoreResult<()>;

    /// Forgets every counter whose key starts with `prefix`. Returns how many there were.
    async fn delete_counters_with_prefix(&self, prefix: &str) -> StoreResult<u64>;
}

/// Passkeys (WebAuthn credentials) of accounts.
#[async_trait]
pub trait PasskeyStore: Send + Sync + 'static {
    /// Stores a new passkey; [`StoreError::Duplicate`](super::StoreError::Duplicate) if its credential id is registered.
    async fn insert_passkey(&self, passkey: &PasskeyRecord) -> StoreResult<()>;

    /// The account's passkeys, oldest first.
    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>>;

    /// Replaces a passkey's library state (its counter) after a login at `used_at`.
    async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// How many passkeys the account has.
    async fn count_user_passkeys(&self, user_id: &str) -> StoreResult<u64>;

    /// Removes one of the account's passkeys; whether it was there.
    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool>;

    /// Removes every passkey of the account; how many there were.
    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64>;
}

/// The state of WebAuthn ceremonies in progress, kept in the store so that the finish of a
/// ceremony may reach another instance than its start.
#[async_trait]
pub trait CeremonyStore: Send + Sync + 'static {
    /// Keeps the state of a ceremony (for the account `user_id`, if it is one's) until
    /// `expires_at`.
    async fn insert_ceremony(
        &self,
        id: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Takes a ceremony's state out (it works once): its account and state, unless absent or
    /// expired at `now`.
    async fn take_ceremony(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Option<String>, String)>>;
}

/// Accounts' email addresses and their verification links: on the account, the address, its
/// key, whether it is verified, and a pending link's token hash and expiry. A key is unique
/// among verified addresses only: an unverified one blocks no one (no squatting on another's
/// address) and is never found by [`EmailStore::find_user_by_email`].
#[async_trait]
pub trait EmailStore: Send + Sync + 'static {
    /// Gives the account `user_id` the address `email` (`None`: none), replacing any earlier
    /// one and its pending link. [`StoreError::Duplicate`](super::StoreError::Duplicate) if
    /// it is given as verified and another account has it verified. Whether the account
    /// exists.
    async fn set_email(&self, user_id: &str, email: Option<NewEmail<'_>>) -> StoreResult<bool>;

    /// A new verification link for the account's address, replacing an earlier one, if it
    /// still has the address `key` unverified. Whether it did.
    async fn set_email_token(
        &self,
        user_id: &str,
        key: &str,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Uses a verification token up: in one conditional write, only while an account holds
    /// it unexpired at `now`, marks its address verified and forgets the token. The account
    /// as it is then, or `None` (so of two uses, one wins);
    /// [`StoreError::Duplicate`](super::StoreError::Duplicate) if another account has had the
    /// address verified meanwhile.
    async fn verify_email(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;

    /// The account whose verified address has this key, if any.
    async fn find_user_by_email(&self, key: &str) -> StoreResult<Option<UserRecord>>;
}

/// The outbox: messages kept until an SMTP server accepts them.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Queues a message.
    async fn enqueue_mail(&self, mail: &MailRecord) -> StoreResult<()>;

    /// Takes the message due first at `now` (not given up), if any, for `owner` until
    /// `until`: no other sender takes it before then. One conditional write, so of two
    /// senders one wins each message.
    async fn lease_mail(
        &self,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Option<MailRecord>>;

    /// Removes a sent message, if `owner` still holds it. Whether it did.
    async fn mail_sent(&self, id: &str, owner: &str) -> StoreResult<bool>;

    /// Records a failed try of a message `owner` still holds: due again at `retry_at`, or
    /// given up (`None`). Whether it did.
    async fn mail_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;

    /// Every message in the outbox, due first (for operators).
    async fn outbox(&self) -> StoreResult<Vec<MailRecord>>;

    /// Replaces a message's sealed content with `new` if it is still `expected` (sealing it
    /// again with a newer key). Whether it did.
    async fn replace_mail_sealed(&self, id: &str, expected: &str, new: &str) -> StoreResult<bool>;
}

/// Apps registered to sign users in (OpenID Connect clients).
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// Registers an app; [`StoreError::Duplicate`](super::StoreError::Duplicate) if its id is taken.
    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;

    /// The app with this id, if any.
    async fn find_client(&self, id: &str) -> StoreResult<Option<ClientRecord>>;

    /// Every app, oldest first.
    async fn clients(&self) -> StoreResult<Vec<ClientRecord>>;

    /// Removes the app (its grants and consents are the caller's to remove). Whether it was there.
    async fn delete_client(&self, id: &str) -> StoreResult<bool>;

    /// Replaces the app's secret hash. Whether the app exists.
    async fn set_client_secret(&self, id: &str, secret_hash: &str) -> StoreResult<bool>;
}

/// Groups of accounts.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Makes an empty group; [`StoreError::Duplicate`](super::StoreError::Duplicate) if the name is taken.
    async fn insert_group(&self, name: &str) -> StoreResult<()>;

    /// Removes a group. Whether it was there.
    async fn delete_group(&self, name: &str) -> StoreResult<bool>;

    /// Every group with its members, by name.
    async fn groups(&self) -> StoreResult<Vec<GroupRecord>>;

    /// Adds the account to the group (idempotent). Whether the group exists.
    async fn add_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool>;

    /// Removes the account from the group. Whether it was a member.
    async fn remove_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool>;

    /// The names of the groups the account is in, sorted.
    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<String>>;

    /// Takes the account out of every group (when it is deleted).
    async fn remove_user_from_groups(&self, user_id: &str) -> StoreResult<()>;
}

/// What using a single-use token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenUse {
    /// It was valid and is now used: this caller won.
    Used(TokenRecord),
    /// It had been used before (and has not expired): a replay.
    Reused(TokenRecord),
    /// No such token, or it expired.
    Unknown,
}

/// Grants, their tokens, and users' consents to apps.
#[async_trait]
pub trait GrantStore: Send + Sync + 'static {
    /// Stores a grant; [`StoreError::Duplicate`](super::StoreError::Duplicate) if its id is
    /// taken (a code exchanged twice at once: one wins).
    async fn insert_grant(&self, grant: &GrantRecord) -> StoreResult<()>;

    /// The grant, unless absent or expired at `now`.
    async fn find_grant(&self, id: &str, now: OffsetDateTime) -> StoreResult<Option<GrantRecord>>;

    /// Moves the grant's end to `expires_at` (a refresh). Whether it exists.
    async fn extend_grant(&self, id: &str, expires_at: OffsetDateTime) -> StoreResult<bool>;

    /// Revokes a grant and every token issued under it. Whether the grant was there.
    async fn delete_grant(&self, id: &str) -> StoreResult<bool>;

    /// Revokes every grant of the account (to one app, or to all), with their tokens. How
    /// many there were.
    async fn delete_user_grants(&self, user_id: &str, client_id: Option<&str>) -> StoreResult<u64>;

    /// Revokes every grant to one app, with their tokens, and forgets every consent to it.
    async fn delete_client_grants(&self, client_id: &str) -> StoreResult<u64>;

    /// Stores a token; records expired at `now` may be swept meanwhile.
    async fn insert_token(&self, token: &TokenRecord, now: OffsetDateTime) -> StoreResult<()>;

    /// The token, unless absent or expired at `now` (used or not).
    async fn find_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<TokenRecord>>;

    /// Uses a single-use token of `kind` up, in one conditional write: of two uses, one gets
    /// [`TokenUse::Used`] and the other [`TokenUse::Reused`]. A token of another kind is
    /// [`TokenUse::Unknown`] and stays as it was.
    async fn use_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> StoreResult<TokenUse>;

    /// A valid access token: unexpired at `now`, of kind access, and its grant unexpired too
    /// (so revoking a grant revokes its access tokens at once). One round trip where the store
    /// can join.
    async fn find_access(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<TokenRecord>> {
        let Some(t) = self.find_token(token_hash, now).await? else {
            return Ok(None);
        };
        if t.kind != TokenKind::Access || self.find_grant(&t.grant_id, now).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(t))
    }

    /// A refresh, as one write where the store can: uses the refresh token up (as
    /// [`GrantStore::use_token`]) and, if this caller won, stores `new` (the next tokens)
    /// and moves the grant's end to `grant_expires_at`. [`TokenUse::Used`] only if all of it
    /// happened (the grant still existed).
    async fn refresh(
        &self,
        token_hash: &str,
        new: &[TokenRecord],
        grant_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<TokenUse> {
        let used = self.use_token(token_hash, TokenKind::Refresh, now).await?;
        if let TokenUse::Used(old) = &used {
            let live = self.find_grant(&old.grant_id, now).await?.is_some();
            if !live || !self.extend_grant(&old.grant_id, grant_expires_at).await? {
                return Ok(TokenUse::Unknown);
            }
            for t in new {
                self.insert_token(t, now).await?;
            }
        }
        Ok(used)
    }

    /// Removes one token; the token as it was, if it was there.
    async fn delete_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;

    /// Remembers (or replaces) the account's consent to an app.
    async fn set_consent(&self, consent: &ConsentRecord) -> StoreResult<()>;

    /// The account's consent to the app, if any.
    async fn find_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>>;

    /// Every app the account allowed, earliest first.
    async fn user_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>>;

    /// Forgets the account's consent to one app (or to all). How many there were.
    async fn delete_consents(&self, user_id: &str, client_id: Option<&str>) -> StoreResult<u64>;
}

/// The keys that sign ID tokens.
#[async_trait]
pub trait SigningKeyStore: Send + Sync + 'static {
    /// Stores a new key.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;

    /// Every key, oldest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;

    /// Removes a key. Whether it was there.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;

    /// Replaces a key's sealed private part with `new` if it is still `expected` (sealing it
    /// again with a newer data key). Whether it did.
    async fn replace_signing_key_sealed(
        &self,
        kid: &str,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool>;
}
