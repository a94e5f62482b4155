//! The admin socket's wire format: the client writes one request as a JSON line, the server
//! answers with one reply as a JSON line and closes the connection.

use clap::Subcommand;
use serde::{Deserialize, Serialize};

/// How long a reset link may work, in seconds: a second to a week. The CLI's parser and the
/// server both check it (a request can reach the socket without the CLI).
pub const RESET_TTL_SECS: std::ops::RangeInclusive<u64> = 1..=604_800;

/// Longest request line the server reads: a command and a name are far shorter, but a long
/// name typed by mistake should be "no such account", not a protocol error.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The admin commands, defined once: the CLI parses them from its arguments (the doc comments
/// are its help), sends them as one JSON line, and the server dispatches them. NAME is matched
/// like a login: any case or Unicode form. Flags that only shape the CLI's output stay off the
/// wire.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    /// Every account: user name, created, password changed, locked until, disabled, sessions.
    List {
        /// One JSON document (an array) on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
    /// One account, with the same fields as `list`.
    Show {
        /// The account's user name.
        name: String,
        /// One JSON document (an object) on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
    /// Clear the account's failed-login counts and any lock.
    Unlock {
        /// The account's user name.
        name: String,
    },
    /// Refuse the account's logins (403 account_disabled) and revoke its sessions.
    Disable {
        /// The account's user name.
        name: String,
    },
    /// Allow a disabled account to log in again.
    Enable {
        /// The account's user name.
        name: String,
    },
    /// Revoke every session of the account (log it out everywhere).
    RevokeSessions {
        /// The account's user name.
        name: String,
    },
    /// Make the next login answer 401 password_expired until the password is changed.
    ExpirePassword {
        /// The account's user name.
        name: String,
    },
    /// Print a one-time password-reset link for the account (replaces any earlier link).
    ResetLink {
        /// The account's user name.
        name: String,
        /// How long the link works, in seconds (at most 604800, a week).
        #[arg(long, value_name = "SECONDS", default_value_t = 3600,
              value_parser = clap::value_parser!(u64).range(RESET_TTL_SECS))]
        #[serde(rename = "ttl_secs")]
        ttl: u64,
        /// Keep the account's passkeys (by default they are removed: whoever had the account
        /// may have added one).
        #[arg(long)]
        #[serde(default)]
        keep_passkeys: bool,
    },
    /// Remove two-factor login (authenticator app, recovery codes) and passkeys from an
    /// account whose user lost their device, and revoke its sessions.
    #[command(name = "reset-mfa")]
    #[serde(rename = "reset-mfa")]
    ResetSecondFactor {
        /// The account's user name.
        name: String,
    },
    /// Delete the account and its sessions.
    Delete {
        /// The account's user name.
        name: String,
    },
    /// Give the account an email address. Unless --verified, a link to confirm it is mailed
    /// to it (with --smtp-url); only a verified address receives reset links.
    SetEmail {
        /// The account's user name.
        name: String,
        /// The address.
        address: String,
        /// Mark it confirmed now (you checked it yourself): no link is sent.
        #[arg(long)]
        #[serde(default)]
        verified: bool,
    },
    /// Send a test message to ADDRESS through the outbox and the SMTP relay.
    MailTest {
        /// Where to send it.
        address: String,
    },
    /// Messages waiting in the outbox (not yet taken by the SMTP relay) and those given up.
    Outbox {
        /// One JSON document (an array) on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
    /// Add a new key to the data key file and seal every stored secret again with it. The
    /// older keys stay in the file until you remove them; with MongoDB, copy the file to
    /// every other instance on the database.
    RotateDataKey,
    /// Apps that sign users in with OpenID Connect.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Groups of accounts (apps see them in the `groups` claim).
    #[command(subcommand)]
    Group(GroupCommand),
    /// The OpenID Connect provider.
    #[command(subcommand)]
    Oidc(OidcCommand),
}

/// `client ...`: apps that sign users in.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum ClientCommand {
    /// Register an app. Prints its client id and, unless --public, its secret: shown once,
    /// only its hash is kept.
    Add {
        /// What users see on the consent page.
        name: String,
        /// Where it receives codes (exact match; repeat for more).
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// No secret: an app in a browser or on a device (PKCE is required).
        #[arg(long)]
        #[serde(default)]
        public: bool,
        /// Sign users in without asking them (your own apps).
        #[arg(long)]
        #[serde(default)]
        trusted: bool,
        /// How its ID tokens are signed.
        #[arg(long, value_name = "ALG", value_parser = ["RS256", "ES256", "EdDSA"])]
        #[serde(default)]
        signing_alg: Option<String>,
        /// Where a logout may send the browser back to (repeat for more).
        #[arg(long = "post-logout-uri", value_name = "URI")]
        #[serde(default)]
        post_logout_uris: Vec<String>,
        /// Print `{"client_id": ..., "client_secret": ...}` on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
    /// Every app.
    List {
        /// One JSON document (an array) on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
    /// One app.
    Show {
        /// Its client id.
        client_id: String,
        /// One JSON document (an object) on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
    /// Remove an app, revoking every token it holds and every consent to it.
    Remove {
        /// Its client id.
        client_id: String,
    },
    /// Give an app a new secret (the old one stops working at once).
    RotateSecret {
        /// Its client id.
        client_id: String,
        /// Print `{"client_id": ..., "client_secret": ...}` on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
}

/// `group ...`: groups of accounts.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum GroupCommand {
    /// Make a group.
    Add {
        /// Its name: letters, digits, `.`, `_`, `-`.
        group: String,
    },
    /// Remove a group.
    Remove {
        /// Its name.
        group: String,
    },
    /// Put an account in a group.
    AddMember {
        /// The group.
        group: String,
        /// The account's user name.
        name: String,
    },
    /// Take an account out of a group.
    RemoveMember {
        /// The group.
        group: String,
        /// The account's user name.
        name: String,
    },
    /// Every group and its members.
    List {
        /// One JSON document on stdout.
        #[arg(long)]
        #[serde(skip)]
        json: bool,
    },
}

/// `oidc ...`: the provider itself.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum OidcCommand {
    /// Make new signing keys: published in the JWKS at once, signing after --activate-in
    /// (so apps that cache the JWKS have them first). Old keys stay published until the ID
    /// tokens they signed expire.
    RotateKey {
        /// Seconds until the new keys sign (the JWKS is cached for up to 300 s).
        #[arg(long, value_name = "SECONDS", default_value_t = 600,
              value_parser = clap::value_parser!(u64).range(0..=86_400))]
        #[serde(default)]
        activate_in: u64,
    },
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// For `list`.
    Accounts {
        /// Oldest first.
        accounts: Vec<AccountView>,
    },
    /// For `show`.
    Account {
        /// The account.
        account: AccountView,
    },
    /// For `outbox`.
    Outbox {
        /// Due first; given up last.
        mail: Vec<MailView>,
    },
    /// Done; what was done, in words.
    Done {
        /// One sentence.
        message: String,
    },
    /// For `reset-link`.
    ResetLink {
        /// The link to give the user.
        link: String,
        /// Whose it is and until when, in words.
        message: String,
    },
    /// The name matches no account.
    NoSuchAccount {
        /// Says which name.
        message: String,
    },
    /// For `client add`, `client rotate-secret` and `client show`.
    Client {
        /// The app.
        client: ClientInfo,
        /// Its new secret, shown this once.
        #[serde(default)]
        secret: Option<String>,
        /// What was done, in words.
        message: String,
    },
    /// For `client list`.
    Clients {
        /// Oldest first.
        clients: Vec<ClientInfo>,
    },
    /// For `group list`.
    Groups {
        /// By name.
        groups: Vec<GroupInfo>,
    },
    /// The server could not do it (a bad request, or the database is down).
    Failed {
        /// Why, in words.
        message: String,
    },
}

/// One account as operators see it; times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// As typed at registration.
    pub user_name: String,
    /// When it was registered.
    pub created_at: String,
    /// When its password was last set.
    pub password_changed_at: String,
    /// When the lock on logins from unknown browsers ends; `null` when not locked.
    pub locked_until: Option<String>,
    /// Logins refused by an operator.
    pub disabled: bool,
    /// The next login must change the password.
    pub password_expired: bool,
    /// When the pending reset link ends; `null` when there is none.
    pub reset_link_expires_at: Option<String>,
    /// Two-factor login (an authenticator app) is on.
    #[serde(default)]
    pub totp: bool,
    /// Passkeys registered.
    #[serde(default)]
    pub passkeys: u64,
    /// Sessions valid now.
    pub sessions: u64,
    /// The account's email address; `null` when it has none.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether its owner confirmed it.
    #[serde(default)]
    pub email_verified: bool,
    /// The groups it is in.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// An app as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Where it receives codes.
    pub redirect_uris: Vec<String>,
    /// Where logout may return to.
    pub post_logout_uris: Vec<String>,
    /// No secret (PKCE only).
    pub public: bool,
    /// No consent page.
    pub trusted: bool,
    /// How its ID tokens are signed.
    pub signing_alg: String,
    /// When it was added.
    pub created_at: String,
}

/// A group as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// Its name.
    pub name: String,
    /// Its members' user names.
    pub members: Vec<String>,
}

/// A message in the outbox as operators see it (its content stays sealed); times are RFC
/// 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailView {
    /// The message's id (also in its `Message-ID`).
    pub id: String,
    /// Where it goes.
    pub recipient: String,
    /// What it is: `verify`, `reset`, `notice`, `address_in_use`, `test`.
    pub kind: String,
    /// When it was queued.
    pub created_at: String,
    /// Tries so far.
    pub attempts: u32,
    /// When it is tried next (or, while a sender holds it, when that sender's lease ends).
    pub next_attempt_at: String,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// Given up after a day of tries.
    pub failed: bool,
}
