//! Secrets at rest, as the use cases need them: an authenticator-app secret is sealed with the
//! data key before it is stored and opened when a code is checked (`crate::data_key` does the
//! cryptography). At start-up the key file is checked against the database and secrets that
//! an older version stored in the clear are sealed; the operator's `rotate-data-key` adds a
//! key and seals every secret again with it.
//!
//! Why the check: instances sharing one MongoDB database must share one key file. An instance
//! given another file would seal secrets the others cannot open, and could not open theirs:
//! its users would see their right codes refused. So the database keeps one value sealed with
//! the newest key (the key check), and an instance whose file does not open it refuses to
//! start, naming the file. Nothing is sealed before that check has passed, and if the
//! database cannot be reached at start-up the check runs again until it can.

use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
};

use crate::{
    data_key::{self, DataKeyError, DataKeys, Purpose},
    store::{KeyCheckStore, OutboxStore, SecondFactorStore, StoreError, TotpSlot, UserStore},
};

use super::{AccountError, AccountResult};

/// What the key check seals: anything fixed does (the AEAD tag is what is checked).
const CHECK_TEXT: &[u8] = b"accounts-server data key check";
/// The key check's subject in the associated data.
const CHECK_SUBJECT: &str = "database";

/// Why the key file does not fit the database, or could not be checked against it. The
/// messages say what to do and name the file, never a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    /// The key file is unreadable, malformed, or cannot be written.
    #[error(transparent)]
    Key(#[from] DataKeyError),
    /// The database could not be read or written.
    #[error("cannot check the data key against the database")]
    Store(#[from] StoreError),
    /// There is no key file, but the database has secrets sealed with a key.
    #[error(
        "data key file {path} does not exist, but this database's secrets are sealed with data \
         key {id}: restore the file from a backup, or copy it from another instance on this \
         database (or name it with --data-key-file)"
    )]
    MissingFile {
        /// The key file.
        path: PathBuf,
        /// The key the database records.
        id: String,
    },
    /// The key file does not list the key the database records.
    #[error(
        "data key file {path} does not list data key {id}, which seals this database's \
         secrets: every instance on one database needs the same key file (copy it from the \
         instance that made it, or name it with --data-key-file)"
    )]
    NotListed {
        /// The key file.
        path: PathBuf,
        /// The key the database records.
        id: String,
    },
    /// The key file lists a key of the recorded id, but another one.
    #[error(
        "data key {id} in {path} is not the key of that id that seals this database's \
         secrets: every instance on one database needs the same key file"
    )]
    WrongKey {
        /// The key file.
        path: PathBuf,
        /// The key's id.
        id: String,
    },
    /// The stored key check is not a sealed value.
    #[error("the database's data key check is damaged (not a sealed value)")]
    DamagedCheck,
}

/// Whether the key file was found to fit the database.
#[derive(Debug, Clone)]
enum Check {
    /// Not yet (the database has not answered): nothing is sealed meanwhile.
    Pending,
    /// It fits: secrets are sealed with its newest key.
    Fits,
    /// It does not: nothing is ever sealed by this process. Says why.
    Refused(String),
}

/// What the start-up check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartCheck {
    /// Secrets found in the clear and sealed.
    pub sealed: usize,
}

/// What [`Secrets::rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key file.
    pub path: PathBuf,
    /// The new key's id: it seals from now on.
    pub new_id: String,
    /// The keys listed before, still in the file.
    pub old_ids: Vec<String>,
    /// Stored secrets sealed again with the new key.
    pub resealed: usize,
}

/// Sealing and opening stored secrets, the start-up check and key rotation.
#[derive(Clone)]
pub struct Secrets {
    keys: Arc<DataKeys>,
    users: Arc<dyn UserStore>,
    second_factors: Arc<dyn SecondFactorStore>,
    key_checks: Arc<dyn KeyCheckStore>,
    /// Queued mail is sealed too (it may hold a link).
    outbox: Arc<dyn OutboxStore>,
    state: Arc<RwLock<Check>>,
    /// One rotation at a time.
    rotating: Arc<tokio::sync::Mutex<()>>,
}

impl Secrets {
    /// Over these stores with `keys`, not yet checked.
    pub(super) fn new(
        keys: Arc<DataKeys>,
        users: Arc<dyn UserStore>,
        second_factors: Arc<dyn SecondFactorStore>,
        key_checks: Arc<dyn KeyCheckStore>,
        outbox: Arc<dyn OutboxStore>,
    ) -> Self {
        Self {
            keys,
            users,
            second_factors,
            key_checks,
            outbox,
            state: Arc::new(RwLock::new(Check::Pending)),
            rotating: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Skips the start-up check: for unit tests on a store of their own.
    #[cfg(test)]
    pub(super) fn assume_checked(&self) {
        self.set_state(Check::Fits);
    }

    fn state(&self) -> Check {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_state(&self, check: Check) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = check;
    }

    /// Whether secrets may be sealed: only once the key file is known to fit the database.
    fn ready(&self) -> AccountResult<()> {
        match self.state() {
            Check::Fits => Ok(()),
            Check::Pending => Err(AccountError::Unavailable(
                "the data key has not been checked against the database yet".into(),
            )),
            Check::Refused(why) => Err(AccountError::Internal(why.into())),
        }
    }

    /// Seals a new authenticator-app secret of the account `user_id`.
    pub(super) fn seal_totp(&self, user_id: &str, secret: &str) -> AccountResult<String> {
        self.ready()?;
        Ok(self
            .keys
            .seal(Purpose::TotpSecret, user_id, secret.as_bytes()))
    }

    /// The authenticator-app secret (base32) of the account `user_id`, as stored. A secret
    /// from before sealing is used as it is (the next start seals it).
    pub(super) fn open_totp(&self, user_id: &str, stored: &str) -> AccountResult<String> {
        if !data_key::is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        let clear = self
            .keys
            .open(Purpose::TotpSecret, user_id, stored)
            .map_err(|e| AccountError::Internal(Box::new(e)))?;
        String::from_utf8(clear)
            .map_err(|e| AccountError::internal("an opened authenticator secret", e))
    }

    /// Checks the key file against the database, then seals the secrets found in the clear.
    /// On [`KeyCheckError::Store`] (the database is down) nothing is sealed until a later
    /// call succeeds; on any other error nothing ever is.
    pub async fn check_at_start(&self) -> Result<StartCheck, KeyCheckError> {
        let result = async {
            self.check_key().await?;
            self.reseal_where(|stored| !data_key::is_sealed(stored))
                .await
        }
        .await;
        match &result {
            Ok(_) => self.set_state(Check::Fits),
            Err(KeyCheckError::Store(_)) => {}
            Err(e) => self.set_state(Check::Refused(e.to_string())),
        }
        result.map(|sealed| StartCheck { sealed })
    }

    /// Whether the key file opens the database's key check, storing one if there is none
    /// (and writing a key file made at this start). If the file's newest key is not the one
    /// the check was sealed with (a key added by hand, or a rotation that stopped halfway),
    /// the check is sealed again with it, so instances without it are refused at their
    /// next start.
    async fn check_key(&self) -> Result<(), KeyCheckError> {
        loop {
            let Some(stored) = self.key_checks.key_check().await? else {
                self.keys.save_new()?;
                let check = self.seal_check();
                if self.key_checks.swap_key_check(None, &check).await? {
                    return Ok(());
                }
                // Another instance stored one first: check against that.
                continue;
            };
            let id = data_key::sealed_with(&stored)
                .ok_or(KeyCheckError::DamagedCheck)?
                .to_owned();
            let path = self.keys.path().to_owned();
            if self.keys.is_unsaved() {
                return Err(KeyCheckError::MissingFile { path, id });
            }
            match self.keys.open(Purpose::KeyCheck, CHECK_SUBJECT, &stored) {
                Ok(text) if text == CHECK_TEXT => {}
                Ok(_) | Err(DataKeyError::Undecryptable { .. }) => {
                    return Err(KeyCheckError::WrongKey { path, id })
                }
                Err(DataKeyError::UnknownKey { .. }) => {
                    return Err(KeyCheckError::NotListed { path, id })
                }
                Err(e) => return Err(e.into()),
            }
            if id == self.keys.newest_id() {
                return Ok(());
            }
            if self
                .key_checks
                .swap_key_check(Some(&stored), &self.seal_check())
                .await?
            {
                tracing::info!(
                    key = self.keys.newest_id(),
                    was = id,
                    path = %path.display(),
                    "the key file's newest data key now seals new secrets"
                );
                return Ok(());
            }
        }
    }

    /// Logs what a passed start-up check did.
    pub fn log_check(&self, done: StartCheck) {
        tracing::info!(
            path = %self.keys.path().display(),
            key = self.keys.newest_id(),
            "the data key fits the database"
        );
        if done.sealed > 0 {
            tracing::info!(
                sealed = done.sealed,
                "authenticator secrets stored in the clear are now sealed with the data key"
            );
        }
    }

    fn seal_check(&self) -> String {
        self.keys.seal(Purpose::KeyCheck, CHECK_SUBJECT, CHECK_TEXT)
    }

    /// Seals with the newest key every stored secret that `needs` picks (by its stored form);
    /// returns how many it replaced. Each is replaced only if it is unchanged meanwhile: a
    /// change by its user wins, and is sealed already. A secret sealed with a key the file
    /// does not list is an error naming the file.
    async fn reseal_where(&self, needs: impl Fn(&str) -> bool) -> Result<usize, KeyCheckError> {
        let mut replaced = 0;
        for user in self.users.all_users().await? {
            for slot in TotpSlot::ALL {
                let Some(stored) = slot.of(&user) else {
                    continue;
                };
                if let Some(id) = data_key::sealed_with(stored) {
                    if !self.keys.knows(id) {
                        return Err(DataKeyError::UnknownKey {
                            id: id.to_owned(),
                            path: self.keys.path().to_owned(),
                        }
                        .into());
                    }
                }
                if !needs(stored) {
                    continue;
                }
                let clear = if data_key::is_sealed(stored) {
                    self.keys.open(Purpose::TotpSecret, &user.id, stored)?
                } else {
                    stored.as_bytes().to_vec()
                };
                let sealed = self.keys.seal(Purpose::TotpSecret, &user.id, &clear);
                if self
                    .second_factors
                    .replace_totp_secret(&user.id, slot, stored, &sealed)
                    .await?
                {
                    replaced += 1;
                }
            }
        }
        Ok(replaced)
    }

    /// Seals the queued messages not sealed with `newest` again with it, so that removing an
    /// older key from the file later loses no mail. A message that cannot be opened is left
    /// as it is (its sender gives it up and says why). How many were sealed again.
    async fn reseal_mail(&self, newest: &str) -> AccountResult<usize> {
        let mut resealed = 0;
        for mail in self.outbox.outbox().await? {
            if data_key::sealed_with(&mail.sealed) == Some(newest) {
                continue;
            }
            let Ok(clear) = self.keys.open(Purpose::Mail, &mail.id, &mail.sealed) else {
                tracing::warn!(
                    mail = mail.id,
                    "a queued message cannot be opened; left as it is"
                );
                continue;
            };
            let sealed = self.keys.seal(Purpose::Mail, &mail.id, &clear);
            if self
                .outbox
                .replace_mail_sealed(&mail.id, &mail.sealed, &sealed)
                .await?
            {
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// Adds a new key to the key file, records it in the database, and seals every stored
    /// secret again with it. The older keys stay in the file (the operator removes them).
    pub async fn rotate(&self) -> AccountResult<Rotation> {
        let _one_at_a_time = self.rotating.lock().await;
        self.ready()?;
        let key_error = |e: KeyCheckError| match e {
            KeyCheckError::Store(e) => AccountError::from(e),
            other => AccountError::Internal(Box::new(other)),
        };
        // Read before the file changes: if the database is down, nothing has changed.
        let before = self.key_checks.key_check().await?;
        let old_ids = self.keys.ids();
        let keys = self.keys.clone();
        let new_id = tokio::task::spawn_blocking(move || keys.add_key())
            .await
            .map_err(|e| AccountError::Internal(Box::new(e)))?
            .map_err(|e| AccountError::Internal(Box::new(e)))?;
        tracing::info!(target: "audit", action = "rotate_data_key", outcome = "ok", key = new_id, who = "admin socket", "audit");
        let mut expected = before;
        while !self
            .key_checks
            .swap_key_check(expected.as_deref(), &self.seal_check())
            .await?
        {
            expected = self.key_checks.key_check().await?;
        }
        // A secret sealed by a request that read the key file just before the new key came
        // may land after a pass has gone by: a second pass finds it.
        let mut resealed = 0;
        for _ in 0..3 {
            let newest = new_id.as_str();
            let n = self
                .reseal_where(|stored| data_key::sealed_with(stored) != Some(newest))
                .await
                .map_err(key_error)?;
            resealed += n;
            if n == 0 {
                break;
            }
        }
        // As above: a message queued by a request that read the key file just before the new
        // key came is found by a second pass.
        for _ in 0..3 {
            let n = self.reseal_mail(&new_id).await?;
            resealed += n;
            if n == 0 {
                break;
            }
        }
        Ok(Rotation {
            path: self.keys.path().to_owned(),
            new_id,
            old_ids,
            resealed,
        })
    }
}
