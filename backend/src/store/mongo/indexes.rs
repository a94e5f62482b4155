//! The collections and their indexes, created idempotently before the first operation.

use std::time::Duration;

use mongodb::{
    bson::{doc, Document},
    options::IndexOptions,
    Collection, Database, IndexModel,
};

use super::{
    ceremonies::CeremonyDoc,
    counters::CounterDoc,
    devices::DeviceDoc,
    oidc::{ClientDoc, ConsentDoc, GrantDoc, GroupDoc, SigningKeyDoc, TokenDoc},
    outbox::MailDoc,
    passkeys::PasskeyDoc,
    second_factor::KeyCheckDoc,
    sessions::SessionDoc,
    users::UserDoc,
};

/// Every collection, handed out only once its indexes exist.
pub(super) struct Collections {
    pub users: Collection<UserDoc>,
    pub sessions: Collection<SessionDoc>,
    pub counters: Collection<CounterDoc>,
    pub devices: Collection<DeviceDoc>,
    pub passkeys: Collection<PasskeyDoc>,
    pub ceremonies: Collection<CeremonyDoc>,
    /// One document: the data key check.
    pub key_check: Collection<KeyCheckDoc>,
    pub outbox: Collection<MailDoc>,
    pub clients: Collection<ClientDoc>,
    pub groups: Collection<GroupDoc>,
    pub grants: Collection<GrantDoc>,
    pub tokens: Collection<TokenDoc>,
    pub consents: Collection<ConsentDoc>,
    pub signing_keys: Collection<SigningKeyDoc>,
}

impl Collections {
    /// The collections of `db`, after creating any index that is missing.
    pub async fn open(db: &Database) -> mongodb::error::Result<Self> {
        let c = Self {
            users: db.collection("users"),
            sessions: db.collection("sessions"),
            counters: db.collection("counters"),
            devices: db.collection("devices"),
            passkeys: db.collection("passkeys"),
            ceremonies: db.collection("ceremonies"),
            key_check: db.collection("key_check"),
            outbox: db.collection("outbox"),
            clients: db.collection("oidc_clients"),
            groups: db.collection("groups"),
            grants: db.collection("oidc_grants"),
            tokens: db.collection("oidc_tokens"),
            consents: db.collection("oidc_consents"),
            signing_keys: db.collection("oidc_keys"),
        };
        let expiry = || {
            index(doc! { "expires_at": 1 }, "expires_ttl", |o| {
                o.expire_after = Some(Duration::ZERO)
            })
        };
        let by_user = || index(doc! { "user_id": 1 }, "by_user", |_| {});
        c.users
            .create_index(index(doc! { "name": 1 }, "name_unique", |o| {
                o.unique = Some(true)
            }))
            .await?;
        c.users
            .create_index(index(
                doc! { "reset_token_hash": 1 },
                "by_reset_token",
                |o| o.sparse = Some(true),
            ))
            .await?;
        c.users
            .create_index(index(
                doc! { "email_key": 1 },
                "verified_email_unique",
                |o| {
                    o.unique = Some(true);
                    o.partial_filter_expression = Some(doc! { "email_verified": true });
                },
            ))
            .await?;
        c.users
            .create_index(index(
                doc! { "email_token_hash": 1 },
                "by_email_token",
                |o| o.sparse = Some(true),
            ))
            .await?;
        c.outbox
            .create_index(index(
                doc! { "failed": 1, "next_attempt_at": 1 },
                "by_due",
                |_| {},
            ))
            .await?;
        c.sessions.create_index(expiry()).await?;
        c.sessions.create_index(by_user()).await?;
        c.counters.create_index(expiry()).await?;
        c.devices.create_index(expiry()).await?;
        c.devices.create_index(by_user()).await?;
        c.passkeys.create_index(by_user()).await?;
        c.ceremonies.create_index(expiry()).await?;
        c.groups
            .create_index(index(doc! { "members": 1 }, "by_member", |_| {}))
            .await?;
        c.grants.create_index(expiry()).await?;
        c.grants
            .create_index(index(
                doc! { "user_id": 1, "client_id": 1 },
                "by_user",
                |_| {},
            ))
            .await?;
        c.grants
            .create_index(index(doc! { "client_id": 1 }, "by_client", |_| {}))
            .await?;
        c.tokens.create_index(expiry()).await?;
        c.tokens
            .create_index(index(doc! { "grant_id": 1 }, "by_grant", |_| {}))
            .await?;
        c.consents.create_index(by_user()).await?;
        c.consents
            .create_index(index(doc! { "client_id": 1 }, "by_client", |_| {}))
            .await?;
        Ok(c)
    }
}

/// An index on `keys` named `name`, with options set by `configure`.
fn index(keys: Document, name: &str, configure: impl FnOnce(&mut IndexOptions)) -> IndexModel {
    let mut options = IndexOptions::default();
    options.name = Some(name.to_owned());
    configure(&mut options);
    IndexModel::builder().keys(keys).options(options).build()
}
