//! Email addresses and the mail the use cases send.
//!
//! An account may have one address. It is verified by a link mailed to it (a 256-bit token
//! stored as SHA-256, single use, 24 hours); a verified address is unique among accounts
//! caselessly, an unverified one blocks no one. Only a verified address receives reset links
//! and security notices. Nothing here tells a caller whether an address or an account
//! exists: an address another account has verified is kept all the same and gets no link
//! (its owner gets a mail saying someone tried), a forgotten-password request always gets
//! the same reply, and the lookup and mail behind it happen after the reply. Mail to one
//! mailbox, and an account's changes, are limited per hour.
//!
//! With no SMTP relay configured ([`Mailer::off`]) addresses are still kept, but nothing is
//! mailed and self-service recovery answers [`AccountError::MailUnavailable`].

use std::{sync::Arc, time::Duration};

use accounts_api::{ErrorCode, FieldError, UserName};

use super::{
    audit, parse_name, reauth::Reauth, Account, AccountError, AccountResult, Client, Proof,
    SignedIn,
};
use crate::{
    clock::Clock,
    mail::{self, EmailAddress, Letter, Notice, Outbox},
    store::{
        CounterStore, EmailStore, NewEmail, RecoveryStore, ResetLink, StoreError, UserRecord,
        UserStore,
    },
    throttle::{Attempt, Throttle},
    token::{EmailToken, ResetToken},
};

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
/// A verification link may be sent again after this long.
pub const RESEND_COOLDOWN: Duration = Duration::from_secs(60);
/// Reset links mailed to one account per hour, at most: a mailbox is not flooded by whoever
/// knows the name.
pub const RESET_MAILS_PER_HOUR: u32 = 3;
/// Verification links one mailbox gets per hour, at most, whoever asks.
pub const MAILS_PER_RECIPIENT: u32 = 5;
/// "Someone tried to use your address" mails one mailbox gets per hour, at most.
pub const TRIED_MAILS_PER_RECIPIENT: u32 = 1;
/// Address changes one account may make per hour (each mails a link).
pub const CHANGES_PER_HOUR: u32 = 5;
const HOUR: Duration = Duration::from_secs(3600);

/// Sending mail, when a relay is configured: the outbox, where links point, and how long a
/// mailed reset link works.
pub struct MailSettings {
    /// Where messages wait until the relay has them.
    pub outbox: Outbox,
    /// The service's public URL, links' start.
    pub public_url: String,
    /// How long a mailed reset link works.
    pub reset_link_ttl: Duration,
}

/// The mail a use case may send: nothing when off.
#[derive(Clone, Default)]
pub struct Mailer(Option<Arc<MailSettings>>);

impl Mailer {
    /// No relay: nothing is sent.
    pub fn off() -> Self {
        Self(None)
    }

    /// Sending through `settings`.
    pub fn on(settings: MailSettings) -> Self {
        Self(Some(Arc::new(settings)))
    }

    /// Whether mail is sent at all.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Tells the owner of `user`'s verified address that `notice` happened. Never fails the
    /// change it reports: a queueing error is logged.
    pub(super) async fn notify(&self, user: &UserRecord, notice: Notice) {
        let (Some(settings), Some(address), true) = (&self.0, &user.email, user.email_verified)
        else {
            return;
        };
        let letter = Letter::notice(&user.display_name, notice);
        if let Err(e) = settings.outbox.queue(address, "notice", &letter).await {
            tracing::warn!(error = %crate::telemetry::chain(&e), user = user.name, ?notice, "a security notice could not be queued");
        }
    }

    async fn send(&self, to: &str, kind: &str, letter: &Letter) -> AccountResult<()> {
        if let Some(settings) = &self.0 {
            settings.outbox.queue(to, kind, letter).await?;
        }
        Ok(())
    }

    fn link(&self, page: &str, token: &str) -> String {
        let base = self.0.as_ref().map_or("", |s| s.public_url.as_str());
        format!("{base}/{page}#token={token}")
    }
}

/// Gives accounts addresses: at registration (see `SignIn::register`) and on a change.
#[derive(Clone)]
pub(super) struct Addresses {
    pub emails: Arc<dyn EmailStore>,
    pub counters: Arc<dyn CounterStore>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Mailer,
}

impl Addresses {
    /// Gives `user` the address, unverified, and mails it a link. If another account has
    /// it verified, the address is kept all the same (so the account shows what it would
    /// for a free one) but gets no link; that account's owner is told someone tried instead.
    pub async fn attach(
        &self,
        user: &UserRecord,
        address: &EmailAddress,
        client: Client,
    ) -> AccountResult<()> {
        let held = self.held_elsewhere(user, address.key()).await?;
        let token = EmailToken::generate();
        let token_hash = token.store_key();
        let new = NewEmail {
            address: address.as_str(),
            key: address.key(),
            verified: false,
            token: held
                .is_none()
                .then_some((token_hash.as_str(), self.clock.now() + VERIFY_TTL)),
        };
        if !self.emails.set_email(&user.id, Some(new)).await? {
            return Err(AccountError::Unauthenticated);
        }
        audit("email_set", "ok", &user.name, client);
        self.mail_link(user, address.as_str(), &token, held, client)
            .await
    }

    /// The account other than `user` that has the address `key` verified, if any.
    async fn held_elsewhere(
        &self,
        user: &UserRecord,
        key: &str,
    ) -> AccountResult<Option<UserRecord>> {
        Ok(self
            .emails
            .find_user_by_email(key)
            .await?
            .filter(|other| other.id != user.id))
    }

    /// Mails `to` the verification link of `token`, or, if `held` by another account, tells
    /// that account's owner (at the address as they gave it) that someone tried; each within
    /// its own hourly limit for the mailbox, past which nothing is sent and nothing said.
    /// (Separate budgets: a flood of attempts must not use up the owner's links; reset links
    /// have their own, per account.)
    async fn mail_link(
        &self,
        user: &UserRecord,
        to: &str,
        token: &EmailToken,
        held: Option<UserRecord>,
        client: Client,
    ) -> AccountResult<()> {
        let recipient = match &held {
            Some(owner) => owner.email.clone().unwrap_or_else(|| to.to_owned()),
            None => to.to_owned(),
        };
        let (budget, limit) = match held {
            Some(_) => ("tried", TRIED_MAILS_PER_RECIPIENT),
            None => ("links", MAILS_PER_RECIPIENT),
        };
        if !self.recipient_allows(budget, &recipient, limit).await? {
            audit("email_link", "mailbox_limit", &user.name, client);
            return Ok(());
        }
        match held {
            Some(_) => {
                audit("email_link", "held_elsewhere", &user.name, client);
                self.mailer
                    .send(&recipient, "address_in_use", &Letter::address_in_use())
                    .await
            }
            None => {
                let link = self.mailer.link("verify", token.as_str());
                self.mailer
                    .send(
                        &recipient,
                        "verify",
                        &Letter::verify(&user.display_name, &link),
                    )
                    .await
            }
        }
    }

    /// Counts a message of `budget` to `address`'s mailbox (a `+tag` is the same mailbox);
    /// whether it is within `limit` this clock hour (whoever causes them, a mailbox gets no
    /// more).
    async fn recipient_allows(
        &self,
        budget: &str,
        address: &str,
        limit: u32,
    ) -> AccountResult<bool> {
        let mailbox = mailbox_key(address);
        let counted = count_in_window(
            &*self.counters,
            &format!("mail:{budget}:{mailbox}"),
            self.clock.now(),
            HOUR,
        )
        .await?;
        Ok(counted.0 <= limit)
    }
}

/// A parsed address, or the field error that goes with it.
pub(super) fn parse_address(raw: &str) -> Result<EmailAddress, FieldError> {
    EmailAddress::parse(raw).map_err(|e| FieldError {
        field: "email".into(),
        code: ErrorCode::InvalidEmail,
        message: e.to_string(),
    })
}

/// Who forgot their password: by name or by address.
#[derive(Debug, Clone)]
pub enum Forgotten {
    /// The user name as typed.
    UserName(String),
    /// The email address as typed.
    Email(String),
}

/// The signed-in user's address, its verification, and the forgotten password.
#[derive(Clone)]
pub struct Email {
    pub(super) addresses: Addresses,
    pub(super) users: Arc<dyn UserStore>,
    pub(super) recovery: Arc<dyn RecoveryStore>,
    pub(super) counters: Arc<dyn CounterStore>,
    pub(super) throttle: Throttle,
    pub(super) reauth: Reauth,
}

impl Email {
    /// Whether mail is sent (verification and reset links).
    pub fn mail_is_on(&self) -> bool {
        self.addresses.mailer.is_on()
    }

    /// Gives the signed-in account a new address (a sensitive change) and mails it a link;
    /// the old address, if verified, is told. The reply does not say whether the address was
    /// free.
    pub async fn change(
        &self,
        signed_in: &SignedIn,
        raw: &str,
        proof: Option<Proof<'_>>,
        client: Client,
    ) -> AccountResult<()> {
        let address = parse_address(raw).map_err(|e| AccountError::Invalid(vec![e]))?;
        let user = self
            .reauth
            .require("email_change", signed_in, proof, client)
            .await?;
        let same = user.email.as_deref().map(mail::address_key).as_deref() == Some(address.key());
        if same && user.email_verified {
            // Already this account's verified address: nothing to do.
            return Ok(());
        }
        let now = self.addresses.clock.now();
        let (changes, window_end) = count_in_window(
            &*self.counters,
            &format!("mail:changes:{}", user.id),
            now,
            HOUR,
        )
        .await?;
        if changes > CHANGES_PER_HOUR {
            audit("email_change", "limited", &user.name, client);
            return Err(limited(window_end - now));
        }
        self.addresses.attach(&user, &address, client).await?;
        if !same {
            // To the old address, if it was verified (the record is as it was before).
            self.addresses
                .mailer
                .notify(&user, Notice::EmailChanged)
                .await;
        }
        Ok(())
    }

    /// Mails the signed-in account's unverified address a new link (the older one stops
    /// working), at most once a minute.
    pub async fn resend(&self, signed_in: &SignedIn, client: Client) -> AccountResult<()> {
        let user = signed_in.user();
        let Some(address) = user.email.as_deref() else {
            return Err(AccountError::Invalid(vec![FieldError {
                field: "email".into(),
                code: ErrorCode::InvalidEmail,
                message: "the account has no email address".into(),
            }]));
        };
        if user.email_verified {
            return Ok(());
        }
        let now = self.addresses.clock.now();
        let (sent, window_end) = count_in_window(
            &*self.counters,
            &format!("mail:resend:{}", user.id),
            now,
            RESEND_COOLDOWN,
        )
        .await?;
        if sent > 1 {
            return Err(limited(window_end - now));
        }
        let key = mail::address_key(address);
        let held = self.addresses.held_elsewhere(user, &key).await?;
        let token = EmailToken::generate();
        if held.is_none()
            && !self
                .addresses
                .emails
                .set_email_token(&user.id, &key, &token.store_key(), now + VERIFY_TTL)
                .await?
        {
            // Changed meanwhile (another tab): that change sent its own link.
            return Ok(());
        }
        audit("email_resend", "ok", &user.name, client);
        self.addresses
            .mail_link(user, address, &token, held, client)
            .await
    }

    /// Uses a verification link: the address it was sent to is verified. A wrong, used,
    /// expired or replaced token are one case.
    pub async fn verify(&self, token: &str, client: Client) -> AccountResult<Account> {
        self.throttle
            .spend_ip(Attempt::Credentials, client.ip, self.addresses.clock.now())
            .await??;
        let Some(token) = EmailToken::parse(token) else {
            audit("email_verify", "invalid_token", "-", client);
            return Err(AccountError::InvalidEmailToken);
        };
        let verified = match self
            .addresses
            .emails
            .verify_email(&token.store_key(), self.addresses.clock.now())
            .await
        {
            Err(StoreError::Duplicate) => {
                // Another account had the address verified first.
                audit("email_verify", "held_elsewhere", "-", client);
                return Err(AccountError::InvalidEmailToken);
            }
            other => other?,
        };
        match verified {
            Some(user) => {
                audit("email_verify", "ok", &user.name, client);
                Ok(Account::from(&user))
            }
            None => {
                audit("email_verify", "invalid_token", "-", client);
                Err(AccountError::InvalidEmailToken)
            }
        }
    }

    /// An operator gives the account `name` the address, confirmed (`verified`) or with a
    /// link mailed to it; unlike a user, an operator is told if another account has it.
    /// The account, and whether the address is confirmed.
    pub async fn set_by_operator(
        &self,
        name: &str,
        raw: &str,
        verified: bool,
    ) -> AccountResult<(Account, bool)> {
        let address = parse_address(raw).map_err(|e| AccountError::Invalid(vec![e]))?;
        let name = parse_name(name).map_err(|_| AccountError::NoSuchAccount(name.to_owned()))?;
        let Some(user) = self.users.find_user(name.canonical()).await? else {
            return Err(AccountError::NoSuchAccount(name.display().to_owned()));
        };
        let taken = || {
            AccountError::Invalid(vec![FieldError {
                field: "email".into(),
                code: ErrorCode::InvalidEmail,
                message: format!("another account has the address {address}, confirmed"),
            }])
        };
        if self
            .addresses
            .held_elsewhere(&user, address.key())
            .await?
            .is_some()
        {
            return Err(taken());
        }
        let token = EmailToken::generate();
        let token_hash = token.store_key();
        let expires_at = self.addresses.clock.now() + VERIFY_TTL;
        let new = NewEmail {
            address: address.as_str(),
            key: address.key(),
            verified,
            token: (!verified).then_some((token_hash.as_str(), expires_at)),
        };
        match self.addresses.emails.set_email(&user.id, Some(new)).await {
            Ok(true) => {}
            Ok(false) => return Err(AccountError::NoSuchAccount(name.display().to_owned())),
            Err(StoreError::Duplicate) => return Err(taken()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(target: "audit", action = "set_email", outcome = "ok", user = user.name, verified, who = "admin socket", "audit");
        if !verified {
            let link = self.addresses.mailer.link("verify", token.as_str());
            self.addresses
                .mailer
                .send(
                    address.as_str(),
                    "verify",
                    &Letter::verify(&user.display_name, &link),
                )
                .await?;
        }
        let account = Account {
            email: Some(address.as_str().to_owned()),
            email_verified: verified,
            ..Account::from(&user)
        };
        Ok((account, verified))
    }

    /// Queues a test message to `raw` (an operator's `mail-test`).
    pub async fn send_test(&self, raw: &str) -> AccountResult<()> {
        let address = parse_address(raw).map_err(|e| AccountError::Invalid(vec![e]))?;
        if !self.mail_is_on() {
            return Err(AccountError::MailUnavailable);
        }
        self.addresses
            .mailer
            .send(address.as_str(), "test", &Letter::test())
            .await
    }

    /// "Forgot password": if the account exists and has a verified address, and it has not
    /// had [`RESET_MAILS_PER_HOUR`] links this hour, a reset link is mailed to it. The caller
    /// learns none of this: only input that is not a name or an address at all, the per-IP
    /// limit and mail being off are answered; the lookup and the mail happen after the reply
    /// (on a task of their own), so its timing says nothing either.
    pub async fn forgot(&self, who: Forgotten, client: Client) -> AccountResult<()> {
        if !self.mail_is_on() {
            return Err(AccountError::MailUnavailable);
        }
        self.throttle
            .spend_ip(Attempt::Credentials, client.ip, self.addresses.clock.now())
            .await??;
        // Shape errors only: they say nothing about any account.
        let lookup = match &who {
            Forgotten::UserName(raw) => Lookup::Name(parse_name(raw)?),
            Forgotten::Email(raw) => Lookup::Key(
                parse_address(raw)
                    .map_err(|e| AccountError::Invalid(vec![e]))?
                    .key()
                    .to_owned(),
            ),
        };
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.mail_reset_link(lookup, client).await {
                tracing::warn!(error = %crate::telemetry::chain(&e), "a forgotten-password request could not be served");
            }
        });
        Ok(())
    }

    async fn mail_reset_link(&self, lookup: Lookup, client: Client) -> AccountResult<()> {
        let user = match &lookup {
            Lookup::Name(name) => self.users.find_user(name.canonical()).await?,
            Lookup::Key(key) => self.addresses.emails.find_user_by_email(key).await?,
        };
        let Some(user) = user else {
            audit("password_forgot", "unknown", "-", client);
            return Ok(());
        };
        let (Some(address), true) = (user.email.clone(), user.email_verified) else {
            audit("password_forgot", "no_verified_address", &user.name, client);
            return Ok(());
        };
        let now = self.addresses.clock.now();
        if user.disabled {
            audit("password_forgot", "disabled", &user.name, client);
            return Ok(());
        }
        // An operator's link is waiting: it stays the one that works, rather than being
        // replaced by whoever knows the name.
        if user.reset_by_operator && user.reset_expires_at.is_some_and(|end| end > now) {
            audit(
                "password_forgot",
                "operator_link_pending",
                &user.name,
                client,
            );
            return Ok(());
        }
        // The account's own budget: a flood of others' attempts on the mailbox (counted
        // apart) cannot use it up, and each link mailed replaces the one before.
        let (sent, _) = count_in_window(
            &*self.counters,
            &format!("mail:reset:{}", user.id),
            now,
            HOUR,
        )
        .await?;
        if sent > RESET_MAILS_PER_HOUR {
            audit("password_forgot", "mailbox_limit", &user.name, client);
            return Ok(());
        }
        let Some(settings) = &self.addresses.mailer.0 else {
            return Ok(());
        };
        let token = ResetToken::generate();
        // A mailbox reset keeps the passkeys: the owner asked, from their own mailbox.
        let link = ResetLink {
            token_hash: &token.store_key(),
            expires_at: now + settings.reset_link_ttl,
            removes_passkeys: false,
            by_operator: false,
        };
        if !self.recovery.set_reset_token(&user.name, &link).await? {
            return Ok(());
        }
        let link = self.addresses.mailer.link("reset", token.as_str());
        let letter = Letter::reset(&user.display_name, &link, &words(settings.reset_link_ttl));
        settings.outbox.queue(&address, "reset", &letter).await?;
        audit("password_forgot", "mailed", &user.name, client);
        Ok(())
    }
}

enum Lookup {
    Name(UserName),
    Key(String),
}

/// Counts an event under `key` in the fixed window of length `window` that `now` falls in
/// (refused attempts do not push the window on, as a sliding expiry would); the count, and
/// when the window ends.
async fn count_in_window(
    counters: &dyn CounterStore,
    key: &str,
    now: time::OffsetDateTime,
    window: Duration,
) -> AccountResult<(u32, time::OffsetDateTime)> {
    let len = window.as_secs() as i64;
    let index = now.unix_timestamp().div_euclid(len);
    let end = time::OffsetDateTime::from_unix_timestamp((index + 1) * len)
        .map_err(|e| AccountError::internal("a window's end", e))?;
    let counted = counters
        .bump_counter(&format!("{key}:{index}"), now, window)
        .await?;
    Ok((counted.count, end))
}

/// The key a mailbox's budget is counted under: the address's key without a `+tag` in the
/// local part (`ann+1@x` and `ann+2@x` reach one inbox).
fn mailbox_key(address: &str) -> String {
    let key = mail::address_key(address);
    match key.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{domain}")
        }
        None => key,
    }
}

/// Over a limit that ends in `wait`.
fn limited(wait: time::Duration) -> AccountError {
    AccountError::RateLimited {
        retry_after: wait.max(time::Duration::SECOND).try_into().unwrap_or(HOUR),
    }
}

/// A duration as people say it: "1 hour", "30 minutes".
fn words(d: Duration) -> String {
    let (n, unit) = match d.as_secs() {
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
