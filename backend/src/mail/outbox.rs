//! The outbox and its sender. A request never waits for SMTP: [`Outbox::queue`] seals the
//! message into the store and wakes the sender. The [`Sender`] takes one due message at a
//! time on a lease, so instances sharing a database send each message once (at least once:
//! if a sender dies mid-send, its lease runs out and another takes the message). A failed try
//! is retried with a growing pause for a day, then given up with an audit event; a restart
//! or an SMTP outage loses nothing.

use std::{sync::Arc, time::Duration};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::{smtp::Transport, Letter};
use crate::{
    clock::Clock,
    data_key::{DataKeys, Purpose},
    ids,
    store::{MailRecord, OutboxStore, StoreError, StoreResult},
    telemetry,
};

/// How long a whole SMTP conversation may last (a relay that answers a byte at a time would
/// otherwise hold the sender, each read within its own timeout, past its lease).
const SEND_DEADLINE: Duration = Duration::from_secs(60);
/// How long a sender holds a message it took: well over [`SEND_DEADLINE`], so another sender
/// never takes a message this one is still sending.
const LEASE: Duration = Duration::from_secs(120);
/// The first pause after a failed try; it doubles with each further one.
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// The longest pause between tries.
const MAX_RETRY: Duration = Duration::from_secs(3600);
/// How long a message is tried before it is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How often the sender looks for due messages when nothing wakes it (retries, and messages
/// queued by other instances).
const POLL: Duration = Duration::from_secs(2);

/// Queues messages.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn OutboxStore>,
    keys: Arc<DataKeys>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
}

impl Outbox {
    /// An outbox in `store`, sealing messages with `keys`.
    pub fn new(store: Arc<dyn OutboxStore>, keys: Arc<DataKeys>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            keys,
            clock,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Keeps `letter` for `recipient` (a checked address) until it is sent; `kind` names it
    /// for operators.
    pub async fn queue(&self, recipient: &str, kind: &str, letter: &Letter) -> StoreResult<()> {
        let id = ids::random_hex(16);
        let json = serde_json::to_vec(letter).map_err(|e| StoreError::Internal(Box::new(e)))?;
        let now = self.clock.now();
        self.store
            .enqueue_mail(&MailRecord {
                sealed: self.keys.seal(Purpose::Mail, &id, &json),
                id,
                recipient: recipient.to_owned(),
                kind: kind.to_owned(),
                created_at: now,
                attempts: 0,
                next_attempt_at: now,
                lease_owner: None,
                last_error: None,
                failed: false,
            })
            .await?;
        tracing::info!(target: "audit", action = "mail_queued", kind, "audit");
        self.wake.notify_one();
        Ok(())
    }

    /// Every message waiting or given up.
    pub async fn list(&self) -> StoreResult<Vec<MailRecord>> {
        self.store.outbox().await
    }

    /// The sender for this outbox, sending through `transport` as `from`; message ids end
    /// in `@domain`.
    pub fn sender(&self, transport: Transport, from: Mailbox, domain: &str) -> Sender {
        Sender {
            outbox: self.clone(),
            transport,
            from,
            domain: domain.to_owned(),
            owner: ids::random_hex(8),
        }
    }
}

/// Hands queued messages to the SMTP relay.
pub struct Sender {
    outbox: Outbox,
    transport: Transport,
    from: Mailbox,
    domain: String,
    /// This sender's name on its leases.
    owner: String,
}

impl Sender {
    /// Sends until the task is dropped (at shutdown: a message in flight is sent again by
    /// whoever takes it once its lease has run out).
    pub async fn run(self) {
        loop {
            self.send_due().await;
            tokio::select! {
                () = self.outbox.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Sends every message due now.
    pub async fn send_due(&self) {
        loop {
            let now = self.outbox.clock.now();
            match self
                .outbox
                .store
                .lease_mail(&self.owner, now, now + LEASE)
                .await
            {
                Ok(Some(mail)) => self.deliver(mail).await,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %telemetry::chain(&e), "cannot read the outbox; trying again shortly");
                    return;
                }
            }
        }
    }

    async fn deliver(&self, mail: MailRecord) {
        let outcome = match self.message(&mail) {
            Ok(message) => tokio::time::timeout(SEND_DEADLINE, self.transport.send(message))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {SEND_DEADLINE:?}"))),
            Err(why) => Err(why),
        };
        let store = &self.outbox.store;
        let recorded = match outcome {
            Ok(()) => {
                tracing::info!(target: "audit", action = "mail_sent", kind = mail.kind, attempts = mail.attempts + 1, "audit");
                store.mail_sent(&mail.id, &self.owner).await
            }
            Err(why) => {
                let retry_at = retry_at(&mail, self.outbox.clock.now());
                match retry_at {
                    Some(at) => {
                        tracing::warn!(kind = mail.kind, attempts = mail.attempts + 1, retry_at = %at, error = why, "a message could not be sent; it will be tried again")
                    }
                    None => {
                        tracing::warn!(target: "audit", action = "mail_given_up", kind = mail.kind, attempts = mail.attempts + 1, error = why, "audit")
                    }
                }
                store
                    .mail_failed(&mail.id, &self.owner, &why, retry_at)
                    .await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the message is tried again: at least once.
            tracing::warn!(error = %telemetry::chain(&e), "cannot record a message's outcome in the outbox");
        }
    }

    /// The message to send: the letter opened, addressed, dated, with an id that stays the
    /// same across tries (so a receiver can tell a repeat).
    fn message(&self, mail: &MailRecord) -> Result<lettre::Message, String> {
        let json = self
            .outbox
            .keys
            .open(Purpose::Mail, &mail.id, &mail.sealed)
            .map_err(|e| e.to_string())?;
        let letter: Letter = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
        let to: lettre::Address = mail.recipient.parse().map_err(|e| format!("{e}"))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(letter.subject)
            .message_id(Some(format!("<{}@{}>", mail.id, self.domain)))
            .date(std::time::SystemTime::from(mail.created_at))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(letter.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(letter.html),
                    ),
            )
            .map_err(|e| e.to_string())
    }
}

/// When a message that failed its try at `now` is tried again: after a pause that doubles
/// with each try (30 s, 1 min, ... at most an hour), or never once it has been tried for a
/// day.
fn retry_at(mail: &MailRecord, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if now >= mail.created_at + GIVE_UP_AFTER {
        return None;
    }
    let pause = FIRST_RETRY
        .saturating_mul(1 << mail.attempts.min(16))
        .min(MAX_RETRY);
    Some(now + pause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_an_hour_and_a_day_ends_the_tries() {
        let created = crate::clock::now();
        let mail = |attempts| MailRecord {
            id: "m".into(),
            recipient: "ann@example.org".into(),
            kind: "verify".into(),
            sealed: String::new(),
            created_at: created,
            attempts,
            next_attempt_at: created,
            lease_owner: None,
            last_error: None,
            failed: false,
        };
        let pause = |attempts, now| retry_at(&mail(attempts), now).map(|at| at - now);
        assert_eq!(pause(0, created), Some(time::Duration::seconds(30)));
        assert_eq!(pause(1, created), Some(time::Duration::seconds(60)));
        assert_eq!(pause(7, created), Some(time::Duration::seconds(3600)));
        assert_eq!(pause(40, created), Some(time::Duration::seconds(3600)));
        let a_day_later = created + GIVE_UP_AFTER;
        assert_eq!(pause(3, a_day_later), None);
    }
}
