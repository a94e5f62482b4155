//! Email: users' addresses ([`EmailAddress`]), what the service writes ([`Letter`]), the
//! outbox that keeps each message in the store until an SMTP relay has taken it ([`Outbox`],
//! [`Sender`]), and the SMTP client ([`Transport`]).

mod address;
mod letter;
mod outbox;
mod smtp;

pub use address::{key as address_key, AddressError, EmailAddress, MAX_LEN as MAX_ADDRESS_LEN};
pub use letter::{Letter, Notice};
pub use outbox::{Outbox, Sender};
pub use smtp::{redacted as redacted_url, SmtpConfigError, SmtpSettings, Transport};
