//! Two-factor login: the secret columns of `users` and the `recovery_codes` table; and the
//! `key_check` row, which says which data key seals those secrets.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::{KeyCheckStore, SecondFactorStore, StoreResult, TotpSlot};

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

    async fn drop_pending_totp(&self, user_id: &str, expected: &str) -> StoreResult<bool> {
        let expected = expected.to_owned();
        self.write_user(user_id, move |c, id| {
            c.prepare_cached(
                "UPDATE users SET totp_pending = NULL WHERE id = ?1 AND totp_pending = ?2",
            )?
            .execute(rusqlite::params![id, expected])
            .map(|n| n == 1)
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

    async fn replace_totp_secret(
        &self,
        user_id: &str,
        slot: TotpSlot,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let (expected, new) = (expected.to_owned(), new.to_owned());
        // The column name is one of two constants, never input.
        let sql = format!(
            "UPDATE users SET {0} = ?3 WHERE id = ?1 AND {0} = ?2",
            slot.field()
        );
        self.write_user(user_id, move |c, id| {
            c.prepare_cached(&sql)?
                .execute([id, &expected, &new])
                .map(|n| n == 1)
        })
        .await
    }
}

#[async_trait]
impl KeyCheckStore for SqliteStore {
    async fn key_check(&self) -> StoreResult<Option<String>> {
        self.read(|c| {
            c.prepare_cached("SELECT value FROM key_check WHERE id = 1")?
                .query_row([], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn swap_key_check(&self, expected: Option<&str>, new: &str) -> StoreResult<bool> {
        let (expected, new) = (expected.map(str::to_owned), new.to_owned());
        self.write(move |c| {
            let changed = match &expected {
                None => c
                    .prepare_cached("INSERT OR IGNORE INTO key_check (id, value) VALUES (1, ?1)")?
                    .execute([&new])?,
                Some(old) => c
                    .prepare_cached("UPDATE key_check SET value = ?2 WHERE id = 1 AND value = ?1")?
                    .execute([old, &new])?,
            };
            Ok(changed == 1)
        })
        .await
    }
}
