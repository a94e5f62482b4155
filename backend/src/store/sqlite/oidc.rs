//! OpenID Connect: the `oidc_clients`, `groups` and `group_members`, `oidc_grants`,
//! `oidc_tokens`, `oidc_consents` and `oidc_keys` tables.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};
use time::OffsetDateTime;

use super::{sweep_expired, SqliteStore};
use crate::{
    clock::{from_millis, to_millis},
    store::{
        ClientRecord, ClientStore, ConsentRecord, GrantRecord, GrantStore, GroupRecord, GroupStore,
        SigningKeyRecord, SigningKeyStore, StoreResult, TokenKind, TokenRecord, TokenUse,
    },
};

const CLIENT_COLUMNS: &str =
    "id, name, secret_hash, redirect_uris, post_logout_uris, trusted, signing_alg, created_at";

fn client(r: &Row<'_>) -> rusqlite::Result<ClientRecord> {
    let list = |i| -> rusqlite::Result<Vec<String>> {
        let text: String = r.get(i)?;
        serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    Ok(ClientRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        secret_hash: r.get(2)?,
        redirect_uris: list(3)?,
        post_logout_uris: list(4)?,
        trusted: r.get(5)?,
        signing_alg: r.get(6)?,
        created_at: from_millis(r.get(7)?),
    })
}

fn json_list(list: &[String]) -> rusqlite::Result<String> {
    serde_json::to_string(list).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO oidc_clients ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(params![
                c.id,
                c.name,
                c.secret_hash,
                json_list(&c.redirect_uris)?,
                json_list(&c.post_logout_uris)?,
                c.trusted,
                c.signing_alg,
                to_millis(c.created_at)
            ])
            .map(drop)
        })
        .await
    }

    async fn find_client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE id = ?1"
            ))?
            .query_row([id], client)
            .optional()
        })
        .await
    }

    async fn clients(&self) -> StoreResult<Vec<ClientRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY created_at, id"
            ))?
            .query_map([], client)?
            .collect()
        })
        .await
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM oidc_clients WHERE id = ?1")?
                .execute([id])
                .map(|n| n == 1)
        })
        .await
    }

    async fn set_client_secret(&self, id: &str, secret_hash: &str) -> StoreResult<bool> {
        let (id, hash) = (id.to_owned(), secret_hash.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("UPDATE oidc_clients SET secret_hash = ?2 WHERE id = ?1")?
                .execute([id, hash])
                .map(|n| n == 1)
        })
        .await
    }
}

#[async_trait]
impl GroupStore for SqliteStore {
    async fn insert_group(&self, name: &str) -> StoreResult<()> {
        let name = name.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("INSERT INTO groups (name) VALUES (?1)")?
                .execute([name])
                .map(drop)
        })
        .await
    }

    async fn delete_group(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM group_members WHERE group_name = ?1", [&name])?;
            let n = tx.execute("DELETE FROM groups WHERE name = ?1", [&name])?;
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    async fn groups(&self) -> StoreResult<Vec<GroupRecord>> {
        self.read(|conn| {
            let mut groups: Vec<GroupRecord> = conn
                .prepare_cached("SELECT name FROM groups ORDER BY name")?
                .query_map([], |r| {
                    Ok(GroupRecord {
                        name: r.get(0)?,
                        members: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut members = conn.prepare_cached(
                "SELECT user_id FROM group_members WHERE group_name = ?1 ORDER BY user_id",
            )?;
            for g in &mut groups {
                g.members = members
                    .query_map([&g.name], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
            }
            Ok(groups)
        })
        .await
    }

    async fn add_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool> {
        let (name, user_id) = (name.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO group_members (group_name, user_id)
                 SELECT name, ?2 FROM groups WHERE name = ?1",
            )?
            .execute([&name, &user_id])?;
            conn.prepare_cached("SELECT 1 FROM groups WHERE name = ?1")?
                .exists([&name])
        })
        .await
    }

    async fn remove_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool> {
        let (name, user_id) = (name.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM group_members WHERE group_name = ?1 AND user_id = ?2")?
                .execute([name, user_id])
                .map(|n| n == 1)
        })
        .await
    }

    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let user_id = user_id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT group_name FROM group_members WHERE user_id = ?1 ORDER BY group_name",
            )?
            .query_map([user_id], |r| r.get(0))?
            .collect()
        })
        .await
    }

    async fn remove_user_from_groups(&self, user_id: &str) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM group_members WHERE user_id = ?1")?
                .execute([user_id])
                .map(drop)
        })
        .await
    }
}

const GRANT_COLUMNS: &str =
    "id, client_id, user_id, scope, auth_time, amr, created_at, expires_at, generation";

fn grant(r: &Row<'_>) -> rusqlite::Result<GrantRecord> {
    Ok(GrantRecord {
        id: r.get(0)?,
        client_id: r.get(1)?,
        user_id: r.get(2)?,
        scope: r.get(3)?,
        auth_time: from_millis(r.get(4)?),
        amr: r.get(5)?,
        created_at: from_millis(r.get(6)?),
        expires_at: from_millis(r.get(7)?),
        generation: r.get(8)?,
    })
}

const TOKEN_COLUMNS: &str =
    "token_hash, kind, grant_id, client_id, user_id, scope, expires_at, used, data";

fn token(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = r.get(1)?;
    Ok(TokenRecord {
        token_hash: r.get(0)?,
        kind: TokenKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("unknown token kind {kind:?}").into(),
            )
        })?,
        grant_id: r.get(2)?,
        client_id: r.get(3)?,
        user_id: r.get(4)?,
        scope: r.get(5)?,
        expires_at: from_millis(r.get(6)?),
        used: r.get(7)?,
        data: r.get(8)?,
    })
}

fn consent(r: &Row<'_>) -> rusqlite::Result<ConsentRecord> {
    Ok(ConsentRecord {
        user_id: r.get(0)?,
        client_id: r.get(1)?,
        scope: r.get(2)?,
        granted_at: from_millis(r.get(3)?),
    })
}

/// Stores one token row.
fn insert_token_row(conn: &rusqlite::Connection, t: &TokenRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO oidc_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(params![
        t.token_hash,
        t.kind.as_str(),
        t.grant_id,
        t.client_id,
        t.user_id,
        t.scope,
        to_millis(t.expires_at),
        t.used,
        t.data
    ])
    .map(drop)
}

/// Uses up the unexpired token of `kind` with this hash, if unused: one conditional update;
/// else says whether it was used before.
fn use_one(
    conn: &rusqlite::Connection,
    hash: &str,
    kind: TokenKind,
    now: OffsetDateTime,
) -> rusqlite::Result<TokenUse> {
    let won = conn
        .prepare_cached(&format!(
            "UPDATE oidc_tokens SET used = 1
             WHERE token_hash = ?1 AND kind = ?3 AND used = 0 AND expires_at > ?2
             RETURNING {TOKEN_COLUMNS}"
        ))?
        .query_row(params![hash, to_millis(now), kind.as_str()], token)
        .optional()?;
    if let Some(t) = won {
        return Ok(TokenUse::Used(t));
    }
    let seen = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM oidc_tokens
             WHERE token_hash = ?1 AND kind = ?3 AND used = 1 AND expires_at > ?2"
        ))?
        .query_row(params![hash, to_millis(now), kind.as_str()], token)
        .optional()?;
    Ok(seen.map_or(TokenUse::Unknown, TokenUse::Reused))
}

/// Deletes the grants `filter` selects (with `args`) and their tokens, in one transaction.
fn delete_grants_where(
    conn: &mut rusqlite::Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    tx.execute(
        &format!(
            "DELETE FROM oidc_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE {filter})"
        ),
        args,
    )?;
    let n = tx.execute(&format!("DELETE FROM oidc_grants WHERE {filter}"), args)?;
    tx.commit()?;
    Ok(n as u64)
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn insert_grant(&self, g: &GrantRecord) -> StoreResult<()> {
        let g = g.clone();
        self.write(move |conn| {
            sweep_expired(conn, "oidc_grants", g.created_at)?;
            conn.prepare_cached(&format!(
                "INSERT INTO oidc_grants ({GRANT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                g.id,
                g.client_id,
                g.user_id,
                g.scope,
                to_millis(g.auth_time),
                g.amr,
                to_millis(g.created_at),
                to_millis(g.expires_at),
                g.generation
            ])
            .map(drop)
        })
        .await
    }

    async fn find_grant(&self, id: &str, now: OffsetDateTime) -> StoreResult<Option<GrantRecord>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {GRANT_COLUMNS} FROM oidc_grants WHERE id = ?1 AND expires_at > ?2"
            ))?
            .query_row(params![id, to_millis(now)], grant)
            .optional()
        })
        .await
    }

    async fn extend_grant(&self, id: &str, expires_at: OffsetDateTime) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("UPDATE oidc_grants SET expires_at = ?2 WHERE id = ?1")?
                .execute(params![id, to_millis(expires_at)])
                .map(|n| n == 1)
        })
        .await
    }

    async fn delete_grant(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |conn| delete_grants_where(conn, "id = ?1", &[&id]).map(|n| n == 1))
            .await
    }

    async fn delete_user_grants(&self, user_id: &str, client_id: Option<&str>) -> StoreResult<u64> {
        let (user_id, client_id) = (user_id.to_owned(), client_id.map(str::to_owned));
        self.write(move |conn| match client_id {
            Some(client_id) => delete_grants_where(
                conn,
                "user_id = ?1 AND client_id = ?2",
                &[&user_id, &client_id],
            ),
            None => delete_grants_where(conn, "user_id = ?1", &[&user_id]),
        })
        .await
    }

    async fn delete_client_grants(&self, client_id: &str) -> StoreResult<u64> {
        let client_id = client_id.to_owned();
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM oidc_consents WHERE client_id = ?1",
                [&client_id],
            )?;
            delete_grants_where(conn, "client_id = ?1", &[&client_id])
        })
        .await
    }

    async fn insert_token(&self, t: &TokenRecord, now: OffsetDateTime) -> StoreResult<()> {
        let t = t.clone();
        self.write(move |conn| {
            sweep_expired(conn, "oidc_tokens", now)?;
            insert_token_row(conn, &t)
        })
        .await
    }

    async fn find_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = token_hash.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM oidc_tokens WHERE token_hash = ?1 AND expires_at > ?2"
            ))?
            .query_row(params![hash, to_millis(now)], token)
            .optional()
        })
        .await
    }

    async fn use_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> StoreResult<TokenUse> {
        let hash = token_hash.to_owned();
        self.write(move |conn| use_one(conn, &hash, kind, now))
            .await
    }

    /// One query: the token joined with its grant.
    async fn find_access(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<TokenRecord>> {
        let hash = token_hash.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT t.token_hash, t.kind, t.grant_id, t.client_id, t.user_id, t.scope,
                        t.expires_at, t.used, t.data
                 FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id
                 WHERE t.token_hash = ?1 AND t.kind = 'access' AND t.expires_at > ?2
                   AND g.expires_at > ?2",
            )?
            .query_row(params![hash, to_millis(now)], token)
            .optional()
        })
        .await
    }

    /// One transaction, so one sync to disk for the whole refresh.
    async fn refresh(
        &self,
        token_hash: &str,
        new: &[TokenRecord],
        grant_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<TokenUse> {
        let (hash, new) = (token_hash.to_owned(), new.to_vec());
        self.write(move |conn| {
            sweep_expired(conn, "oidc_tokens", now)?;
            let tx = conn.transaction()?;
            let old = match use_one(&tx, &hash, TokenKind::Refresh, now)? {
                TokenUse::Used(old) => old,
                other => return Ok(other),
            };
            let extended = tx
                .prepare_cached(
                    "UPDATE oidc_grants SET expires_at = ?2 WHERE id = ?1 AND expires_at > ?3",
                )?
                .execute(params![
                    old.grant_id,
                    to_millis(grant_expires_at),
                    to_millis(now)
                ])?;
            if extended != 1 {
                // Revoked meanwhile: the old token stays used, nothing new is stored.
                tx.commit()?;
                return Ok(TokenUse::Unknown);
            }
            for t in &new {
                insert_token_row(&tx, t)?;
            }
            tx.commit()?;
            Ok(TokenUse::Used(old))
        })
        .await
    }

    async fn delete_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let hash = token_hash.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "DELETE FROM oidc_tokens WHERE token_hash = ?1 RETURNING {TOKEN_COLUMNS}"
            ))?
            .query_row([hash], token)
            .optional()
        })
        .await
    }

    async fn set_consent(&self, c: &ConsentRecord) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO oidc_consents (user_id, client_id, scope, granted_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, client_id)
                 DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
            )?
            .execute(params![
                c.user_id,
                c.client_id,
                c.scope,
                to_millis(c.granted_at)
            ])
            .map(drop)
        })
        .await
    }

    async fn find_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>> {
        let (user_id, client_id) = (user_id.to_owned(), client_id.to_owned());
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT user_id, client_id, scope, granted_at FROM oidc_consents
                 WHERE user_id = ?1 AND client_id = ?2",
            )?
            .query_row([user_id, client_id], consent)
            .optional()
        })
        .await
    }

    async fn user_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        let user_id = user_id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT user_id, client_id, scope, granted_at FROM oidc_consents
                 WHERE user_id = ?1 ORDER BY granted_at, client_id",
            )?
            .query_map([user_id], consent)?
            .collect()
        })
        .await
    }

    async fn delete_consents(&self, user_id: &str, client_id: Option<&str>) -> StoreResult<u64> {
        let (user_id, client_id) = (user_id.to_owned(), client_id.map(str::to_owned));
        self.write(move |conn| {
            let n = match client_id {
                Some(client_id) => conn.execute(
                    "DELETE FROM oidc_consents WHERE user_id = ?1 AND client_id = ?2",
                    [user_id, client_id],
                )?,
                None => conn.execute("DELETE FROM oidc_consents WHERE user_id = ?1", [user_id])?,
            };
            Ok(n as u64)
        })
        .await
    }
}

const KEY_COLUMNS: &str = "kid, alg, sealed, public_jwk, created_at, active_from";

#[async_trait]
impl SigningKeyStore for SqliteStore {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        let k = k.clone();
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO oidc_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))?
            .execute(params![
                k.kid,
                k.alg,
                k.sealed,
                k.public_jwk,
                to_millis(k.created_at),
                to_millis(k.active_from)
            ])
            .map(drop)
        })
        .await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM oidc_keys ORDER BY created_at, kid"
            ))?
            .query_map([], |r| {
                Ok(SigningKeyRecord {
                    kid: r.get(0)?,
                    alg: r.get(1)?,
                    sealed: r.get(2)?,
                    public_jwk: r.get(3)?,
                    created_at: from_millis(r.get(4)?),
                    active_from: from_millis(r.get(5)?),
                })
            })?
            .collect()
        })
        .await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        let kid = kid.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM oidc_keys WHERE kid = ?1")?
                .execute([kid])
                .map(|n| n == 1)
        })
        .await
    }

    async fn replace_signing_key_sealed(
        &self,
        kid: &str,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let (kid, expected, new) = (kid.to_owned(), expected.to_owned(), new.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("UPDATE oidc_keys SET sealed = ?3 WHERE kid = ?1 AND sealed = ?2")?
                .execute([kid, expected, new])
                .map(|n| n == 1)
        })
        .await
    }
}
