//! OpenID Connect: the `oidc_clients`, `groups`, `oidc_grants`, `oidc_tokens`,
//! `oidc_consents` and `oidc_keys` collections. Grants and tokens have TTL indexes; a grant
//! and its tokens are removed in two writes, tokens first, so no token outlives its grant
//! (and every token lookup checks its grant anyway).

use async_trait::async_trait;
use mongodb::{
    bson::{doc, DateTime, Document},
    options::ReturnDocument,
    Collection,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{
    ClientRecord, ClientStore, ConsentRecord, GrantRecord, GrantStore, GroupRecord, GroupStore,
    SigningKeyRecord, SigningKeyStore, StoreResult, TokenKind, TokenRecord, TokenUse,
};

/// Every document `filter` finds in `collection`, in `sort` order.
async fn all<T: DeserializeOwned + Send + Sync>(
    collection: &Collection<T>,
    filter: Document,
    sort: Document,
) -> mongodb::error::Result<Vec<T>> {
    let mut cursor = collection.find(filter).sort(sort).await?;
    let mut out = Vec::new();
    while cursor.advance().await? {
        out.push(cursor.deserialize_current()?);
    }
    Ok(out)
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ClientDoc {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    #[serde(default)]
    secret_hash: Option<String>,
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_uris: Vec<String>,
    trusted: bool,
    signing_alg: String,
    created_at: DateTime,
}

impl From<ClientDoc> for ClientRecord {
    fn from(d: ClientDoc) -> Self {
        Self {
            id: d.id,
            name: d.name,
            secret_hash: d.secret_hash,
            redirect_uris: d.redirect_uris,
            post_logout_uris: d.post_logout_uris,
            trusted: d.trusted,
            signing_alg: d.signing_alg,
            created_at: from_bson(d.created_at),
        }
    }
}

#[async_trait]
impl ClientStore for MongoStore {
    async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        let d = ClientDoc {
            id: c.id.clone(),
            name: c.name.clone(),
            secret_hash: c.secret_hash.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_uris: c.post_logout_uris.clone(),
            trusted: c.trusted,
            signing_alg: c.signing_alg.clone(),
            created_at: bson_time(c.created_at),
        };
        self.run(async |c| c.clients.insert_one(d).await.map(drop))
            .await
    }

    async fn find_client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        self.run(async |c| c.clients.find_one(doc! { "_id": id }).await)
            .await
            .map(|d| d.map(ClientRecord::from))
    }

    async fn clients(&self) -> StoreResult<Vec<ClientRecord>> {
        self.run(async |c| all(&c.clients, doc! {}, doc! { "created_at": 1, "_id": 1 }).await)
            .await
            .map(|v| v.into_iter().map(ClientRecord::from).collect())
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        self.run(async |c| c.clients.delete_one(doc! { "_id": id }).await)
            .await
            .map(|r| r.deleted_count == 1)
    }

    async fn set_client_secret(&self, id: &str, secret_hash: &str) -> StoreResult<bool> {
        self.run(async |c| {
            c.clients
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "secret_hash": secret_hash } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct GroupDoc {
    #[serde(rename = "_id")]
    name: String,
    #[serde(default)]
    members: Vec<String>,
}

#[async_trait]
impl GroupStore for MongoStore {
    async fn insert_group(&self, name: &str) -> StoreResult<()> {
        let d = GroupDoc {
            name: name.to_owned(),
            members: Vec::new(),
        };
        self.run(async |c| c.groups.insert_one(d).await.map(drop))
            .await
    }

    async fn delete_group(&self, name: &str) -> StoreResult<bool> {
        self.run(async |c| c.groups.delete_one(doc! { "_id": name }).await)
            .await
            .map(|r| r.deleted_count == 1)
    }

    async fn groups(&self) -> StoreResult<Vec<GroupRecord>> {
        let docs = self
            .run(async |c| all(&c.groups, doc! {}, doc! { "_id": 1 }).await)
            .await?;
        Ok(docs
            .into_iter()
            .map(|d| {
                let mut members = d.members;
                members.sort();
                GroupRecord {
                    name: d.name,
                    members,
                }
            })
            .collect())
    }

    async fn add_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool> {
        self.run(async |c| {
            c.groups
                .update_one(
                    doc! { "_id": name },
                    doc! { "$addToSet": { "members": user_id } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn remove_group_member(&self, name: &str, user_id: &str) -> StoreResult<bool> {
        self.run(async |c| {
            c.groups
                .update_one(
                    doc! { "_id": name, "members": user_id },
                    doc! { "$pull": { "members": user_id } },
                )
                .await
        })
        .await
        .map(|r| r.modified_count == 1)
    }

    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<String>> {
        self.run(async |c| all(&c.groups, doc! { "members": user_id }, doc! { "_id": 1 }).await)
            .await
            .map(|v| v.into_iter().map(|d| d.name).collect())
    }

    async fn remove_user_from_groups(&self, user_id: &str) -> StoreResult<()> {
        self.run(async |c| {
            c.groups
                .update_many(
                    doc! { "members": user_id },
                    doc! { "$pull": { "members": user_id } },
                )
                .await
                .map(drop)
        })
        .await
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct GrantDoc {
    #[serde(rename = "_id")]
    id: String,
    client_id: String,
    user_id: String,
    scope: String,
    auth_time: DateTime,
    amr: String,
    created_at: DateTime,
    expires_at: DateTime,
    #[serde(default)]
    generation: i64,
}

impl From<GrantDoc> for GrantRecord {
    fn from(d: GrantDoc) -> Self {
        Self {
            id: d.id,
            client_id: d.client_id,
            user_id: d.user_id,
            scope: d.scope,
            auth_time: from_bson(d.auth_time),
            amr: d.amr,
            created_at: from_bson(d.created_at),
            expires_at: from_bson(d.expires_at),
            generation: d.generation,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TokenDoc {
    #[serde(rename = "_id")]
    token_hash: String,
    kind: String,
    grant_id: String,
    client_id: String,
    user_id: String,
    scope: String,
    expires_at: DateTime,
    used: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
}

impl TokenDoc {
    fn record(self) -> Option<TokenRecord> {
        Some(TokenRecord {
            kind: TokenKind::parse(&self.kind)?,
            token_hash: self.token_hash,
            grant_id: self.grant_id,
            client_id: self.client_id,
            user_id: self.user_id,
            scope: self.scope,
            expires_at: from_bson(self.expires_at),
            used: self.used,
            data: self.data,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ConsentDoc {
    /// `user_id` and `client_id`, joined by a space (neither holds one).
    #[serde(rename = "_id")]
    id: String,
    user_id: String,
    client_id: String,
    scope: String,
    granted_at: DateTime,
}

impl From<ConsentDoc> for ConsentRecord {
    fn from(d: ConsentDoc) -> Self {
        Self {
            user_id: d.user_id,
            client_id: d.client_id,
            scope: d.scope,
            granted_at: from_bson(d.granted_at),
        }
    }
}

fn consent_id(user_id: &str, client_id: &str) -> String {
    format!("{user_id} {client_id}")
}

impl MongoStore {
    /// Deletes the grants `filter` finds, their tokens first. How many grants there were.
    async fn delete_grants_where(&self, filter: Document) -> StoreResult<u64> {
        let ids: Vec<String> = self
            .run(async |c| all(&c.grants, filter.clone(), doc! { "_id": 1 }).await)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        self.run(async |c| {
            c.tokens
                .delete_many(doc! { "grant_id": { "$in": &ids } })
                .await?;
            c.grants.delete_many(doc! { "_id": { "$in": &ids } }).await
        })
        .await
        .map(|r| r.deleted_count)
    }
}

#[async_trait]
impl GrantStore for MongoStore {
    async fn insert_grant(&self, g: &GrantRecord) -> StoreResult<()> {
        let d = GrantDoc {
            id: g.id.clone(),
            client_id: g.client_id.clone(),
            user_id: g.user_id.clone(),
            scope: g.scope.clone(),
            auth_time: bson_time(g.auth_time),
            amr: g.amr.clone(),
            created_at: bson_time(g.created_at),
            expires_at: bson_time(g.expires_at),
            generation: g.generation,
        };
        self.run(async |c| c.grants.insert_one(d).await.map(drop))
            .await
    }

    async fn find_grant(&self, id: &str, now: OffsetDateTime) -> StoreResult<Option<GrantRecord>> {
        self.run(async |c| {
            c.grants
                .find_one(doc! { "_id": id, "expires_at": { "$gt": bson_time(now) } })
                .await
        })
        .await
        .map(|d| d.map(GrantRecord::from))
    }

    async fn extend_grant(&self, id: &str, expires_at: OffsetDateTime) -> StoreResult<bool> {
        self.run(async |c| {
            c.grants
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "expires_at": bson_time(expires_at) } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn delete_grant(&self, id: &str) -> StoreResult<bool> {
        self.delete_grants_where(doc! { "_id": id })
            .await
            .map(|n| n == 1)
    }

    async fn delete_user_grants(&self, user_id: &str, client_id: Option<&str>) -> StoreResult<u64> {
        let mut filter = doc! { "user_id": user_id };
        if let Some(client_id) = client_id {
            filter.insert("client_id", client_id);
        }
        self.delete_grants_where(filter).await
    }

    async fn delete_client_grants(&self, client_id: &str) -> StoreResult<u64> {
        self.run(async |c| {
            c.consents
                .delete_many(doc! { "client_id": client_id })
                .await
                .map(drop)
        })
        .await?;
        self.delete_grants_where(doc! { "client_id": client_id })
            .await
    }

    /// The TTL index sweeps expired tokens.
    async fn insert_token(&self, t: &TokenRecord, _now: OffsetDateTime) -> StoreResult<()> {
        let d = TokenDoc {
            token_hash: t.token_hash.clone(),
            kind: t.kind.as_str().to_owned(),
            grant_id: t.grant_id.clone(),
            client_id: t.client_id.clone(),
            user_id: t.user_id.clone(),
            scope: t.scope.clone(),
            expires_at: bson_time(t.expires_at),
            used: t.used,
            data: t.data.clone(),
        };
        self.run(async |c| c.tokens.insert_one(d).await.map(drop))
            .await
    }

    async fn find_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<TokenRecord>> {
        self.run(async |c| {
            c.tokens
                .find_one(doc! { "_id": token_hash, "expires_at": { "$gt": bson_time(now) } })
                .await
        })
        .await
        .map(|d| d.and_then(TokenDoc::record))
    }

    async fn use_token(
        &self,
        token_hash: &str,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> StoreResult<TokenUse> {
        let unexpired = doc! { "$gt": bson_time(now) };
        let kind = kind.as_str();
        let won = self
            .run(async |c| {
                c.tokens
                    .find_one_and_update(
                        doc! { "_id": token_hash, "kind": kind, "used": false, "expires_at": unexpired.clone() },
                        doc! { "$set": { "used": true } },
                    )
                    .return_document(ReturnDocument::After)
                    .await
            })
            .await?;
        if let Some(t) = won.and_then(TokenDoc::record) {
            return Ok(TokenUse::Used(t));
        }
        let seen = self
            .run(async |c| {
                c.tokens
                    .find_one(
                        doc! { "_id": token_hash, "kind": kind, "used": true, "expires_at": unexpired.clone() },
                    )
                    .await
            })
            .await?;
        Ok(seen
            .and_then(TokenDoc::record)
            .map_or(TokenUse::Unknown, TokenUse::Reused))
    }

    async fn delete_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.run(async |c| {
            c.tokens
                .find_one_and_delete(doc! { "_id": token_hash })
                .await
        })
        .await
        .map(|d| d.and_then(TokenDoc::record))
    }

    async fn set_consent(&self, consent: &ConsentRecord) -> StoreResult<()> {
        let id = consent_id(&consent.user_id, &consent.client_id);
        self.run(async |c| {
            c.consents
                .update_one(
                    doc! { "_id": &id },
                    doc! { "$set": {
                        "user_id": &consent.user_id,
                        "client_id": &consent.client_id,
                        "scope": &consent.scope,
                        "granted_at": bson_time(consent.granted_at),
                    } },
                )
                .upsert(true)
                .await
                .map(drop)
        })
        .await
    }

    async fn find_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>> {
        let id = consent_id(user_id, client_id);
        self.run(async |c| c.consents.find_one(doc! { "_id": &id }).await)
            .await
            .map(|d| d.map(ConsentRecord::from))
    }

    async fn user_consents(&self, user_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        self.run(async |c| {
            all(
                &c.consents,
                doc! { "user_id": user_id },
                doc! { "granted_at": 1, "client_id": 1 },
            )
            .await
        })
        .await
        .map(|v| v.into_iter().map(ConsentRecord::from).collect())
    }

    async fn delete_consents(&self, user_id: &str, client_id: Option<&str>) -> StoreResult<u64> {
        let mut filter = doc! { "user_id": user_id };
        if let Some(client_id) = client_id {
            filter.insert("client_id", client_id);
        }
        self.run(async |c| c.consents.delete_many(filter).await)
            .await
            .map(|r| r.deleted_count)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SigningKeyDoc {
    #[serde(rename = "_id")]
    kid: String,
    alg: String,
    sealed: String,
    public_jwk: String,
    created_at: DateTime,
    active_from: DateTime,
}

#[async_trait]
impl SigningKeyStore for MongoStore {
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        let d = SigningKeyDoc {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            sealed: k.sealed.clone(),
            public_jwk: k.public_jwk.clone(),
            created_at: bson_time(k.created_at),
            active_from: bson_time(k.active_from),
        };
        self.run(async |c| c.signing_keys.insert_one(d).await.map(drop))
            .await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let docs = self
            .run(async |c| all(&c.signing_keys, doc! {}, doc! { "created_at": 1, "_id": 1 }).await)
            .await?;
        Ok(docs
            .into_iter()
            .map(|d| SigningKeyRecord {
                kid: d.kid,
                alg: d.alg,
                sealed: d.sealed,
                public_jwk: d.public_jwk,
                created_at: from_bson(d.created_at),
                active_from: from_bson(d.active_from),
            })
            .collect())
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        self.run(async |c| c.signing_keys.delete_one(doc! { "_id": kid }).await)
            .await
            .map(|r| r.deleted_count == 1)
    }

    async fn replace_signing_key_sealed(
        &self,
        kid: &str,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.run(async |c| {
            c.signing_keys
                .update_one(
                    doc! { "_id": kid, "sealed": expected },
                    doc! { "$set": { "sealed": new } },
                )
                .await
        })
        .await
        .map(|r| r.modified_count == 1)
    }
}
