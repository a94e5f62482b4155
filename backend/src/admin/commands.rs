//! What each admin request does: one call into the use cases (`Accounts`), and its reply in words. No socket
//! here, so the whole command set is testable in-process.

use std::{sync::Arc, time::Duration};

use super::protocol::{
    AccountView, ClientCommand, ClientInfo, GroupCommand, GroupInfo, MailView, OidcCommand, Reply,
    Request, RESET_TTL_SECS,
};
use crate::{
    accounts::{AccountError, AccountStatus, Accounts, ClientView, NewClient, OidcError},
    clock::rfc3339,
    store::MailRecord,
    telemetry,
};

/// The admin commands, bound to the service's rules and its public address.
#[derive(Clone)]
pub struct Commands {
    accounts: Arc<Accounts>,
    /// Where users reach the service, without a trailing slash (reset links start with it).
    public_url: String,
}

impl Commands {
    /// Commands on `accounts`; reset links start with `public_url`.
    pub fn new(accounts: Arc<Accounts>, public_url: String) -> Self {
        Self {
            accounts,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Carries out one request.
    pub async fn run(&self, request: Request) -> Reply {
        match self.dispatch(request).await {
            Ok(reply) => reply,
            Err(e) => self.account_failure(e),
        }
    }

    /// The reply to a use case's error.
    fn account_failure(&self, e: AccountError) -> Reply {
        match e {
            AccountError::NoSuchAccount(name) => Reply::NoSuchAccount {
                message: format!("no account is named `{name}`"),
            },
            AccountError::Invalid(errors) => Reply::Failed {
                message: errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            },
            AccountError::MailUnavailable => Reply::Failed {
                message: "mail is off: start the server with --smtp-url".into(),
            },
            e => {
                let why = telemetry::chain(&e);
                tracing::warn!(error = %why, "admin command failed");
                Reply::Failed { message: why }
            }
        }
    }

    fn oidc_reply(&self, result: Result<Reply, OidcError>) -> Reply {
        match result {
            Ok(reply) => reply,
            Err(OidcError::Operator(message)) => Reply::Failed { message },
            Err(OidcError::Account(e)) => self.account_failure(e),
            Err(e) => {
                let why = telemetry::chain(&e);
                tracing::warn!(error = %why, "admin command failed");
                Reply::Failed { message: why }
            }
        }
    }

    async fn client(&self, command: ClientCommand) -> Result<Reply, OidcError> {
        let oidc = &self.accounts.oidc;
        Ok(match command {
            ClientCommand::Add {
                name,
                redirect_uris,
                public,
                trusted,
                signing_alg,
                post_logout_uris,
                ..
            } => {
                let (client, secret) = oidc
                    .add_client(NewClient {
                        name,
                        redirect_uris,
                        post_logout_uris,
                        public,
                        trusted,
                        signing_alg,
                    })
                    .await?;
                let message = match &secret {
                    Some(_) => format!(
                        "Added {} (client id {}). Its secret is shown this once: store it in the app's settings now.",
                        client.name, client.client_id
                    ),
                    None => format!(
                        "Added {} (client id {}), a public app: it has no secret and must use PKCE.",
                        client.name, client.client_id
                    ),
                };
                tracing::info!(target: "audit", action = "oidc_client_add", outcome = "ok", client = %client.client_id, who = "admin socket", "audit");
                Reply::Client {
                    client: client_info(client),
                    secret,
                    message,
                }
            }
            ClientCommand::List { .. } => Reply::Clients {
                clients: oidc.clients().await?.into_iter().map(client_info).collect(),
            },
            ClientCommand::Show { client_id, .. } => {
                let client = oidc.client(&client_id).await?;
                Reply::Client {
                    message: String::new(),
                    secret: None,
                    client: client_info(client),
                }
            }
            ClientCommand::Remove { client_id } => {
                let client = oidc.client(&client_id).await?;
                let grants = oidc.remove_client(&client_id).await?;
                tracing::info!(target: "audit", action = "oidc_client_remove", outcome = "ok", client = %client_id, who = "admin socket", "audit");
                done(format!(
                    "Removed {} ({client_id}); {grants} grant{} revoked.",
                    client.name,
                    if grants == 1 { "" } else { "s" }
                ))
            }
            ClientCommand::RotateSecret { client_id, .. } => {
                let secret = oidc.rotate_client_secret(&client_id).await?;
                let client = oidc.client(&client_id).await?;
                tracing::info!(target: "audit", action = "oidc_client_rotate_secret", outcome = "ok", client = %client_id, who = "admin socket", "audit");
                Reply::Client {
                    message: format!(
                        "New secret for {} (the old one no longer works); it is shown this once.",
                        client.name
                    ),
                    secret: Some(secret),
                    client: client_info(client),
                }
            }
        })
    }

    async fn group(&self, command: GroupCommand) -> Result<Reply, OidcError> {
        let oidc = &self.accounts.oidc;
        Ok(match command {
            GroupCommand::Add { group } => {
                oidc.add_group(&group).await?;
                done(format!("Made the group {group}."))
            }
            GroupCommand::Remove { group } => {
                oidc.remove_group(&group).await?;
                done(format!("Removed the group {group}."))
            }
            GroupCommand::AddMember { group, name } => {
                let who = oidc.add_member(&group, &name).await?;
                done(format!("{who} is in {group}."))
            }
            GroupCommand::RemoveMember { group, name } => {
                let who = oidc.remove_member(&group, &name).await?;
                done(format!("{who} is no longer in {group}."))
            }
            GroupCommand::List { .. } => Reply::Groups {
                groups: oidc
                    .groups()
                    .await?
                    .into_iter()
                    .map(|(name, members)| GroupInfo { name, members })
                    .collect(),
            },
        })
    }

    async fn oidc(&self, command: OidcCommand) -> Result<Reply, OidcError> {
        Ok(match command {
            OidcCommand::RotateKey { activate_in } => {
                let keys = self
                    .accounts
                    .oidc
                    .rotate_keys(Duration::from_secs(activate_in))
                    .await?;
                tracing::info!(target: "audit", action = "oidc_rotate_key", outcome = "ok", who = "admin socket", "audit");
                let list: Vec<String> = keys
                    .iter()
                    .map(|(kid, alg, _)| format!("{alg} {kid}"))
                    .collect();
                let from = keys.first().map(|k| rfc3339(k.2)).unwrap_or_default();
                done(format!(
                    "New signing keys ({}) are published now and sign from {from}; the old keys stay published until the ID tokens they signed expire.",
                    list.join(", ")
                ))
            }
        })
    }

    async fn dispatch(&self, request: Request) -> Result<Reply, AccountError> {
        let a = &self.accounts;
        Ok(match request {
            Request::Client(c) => self.oidc_reply(self.client(c).await),
            Request::Group(g) => self.oidc_reply(self.group(g).await),
            Request::Oidc(o) => self.oidc_reply(self.oidc(o).await),
            Request::List { .. } => Reply::Accounts {
                accounts: a
                    .operator
                    .account_statuses()
                    .await?
                    .into_iter()
                    .map(view)
                    .collect(),
            },
            Request::Show { name, .. } => Reply::Account {
                account: view(a.operator.account_status(&name).await?),
            },
            Request::Unlock { name } => {
                let (user, was_locked) = a.operator.unlock(&name).await?;
                done(match was_locked {
                    Some(until) => format!(
                        "Unlocked {} (it was locked until {}).",
                        user.display_name,
                        rfc3339(until)
                    ),
                    None => format!(
                        "{} was not locked; its failure counts are cleared.",
                        user.display_name
                    ),
                })
            }
            Request::Disable { name } => {
                let (user, revoked) = a.operator.set_disabled(&name, true).await?;
                done(format!(
                    "Disabled {}; {} revoked.",
                    user.display_name,
                    sessions(revoked)
                ))
            }
            Request::Enable { name } => {
                let (user, _) = a.operator.set_disabled(&name, false).await?;
                done(format!("Enabled {}.", user.display_name))
            }
            Request::RevokeSessions { name } => {
                let (user, revoked) = a.operator.revoke_sessions(&name).await?;
                done(format!(
                    "Revoked {} of {}.",
                    sessions(revoked),
                    user.display_name
                ))
            }
            Request::ExpirePassword { name } => {
                let user = a.operator.expire_password(&name).await?;
                done(format!(
                    "{}'s password is expired: the next login must change it.",
                    user.display_name
                ))
            }
            Request::ResetLink {
                name,
                ttl,
                keep_passkeys,
            } => {
                if !RESET_TTL_SECS.contains(&ttl) {
                    return Ok(Reply::Failed {
                        message: format!(
                            "ttl_secs must be {} to {} seconds",
                            RESET_TTL_SECS.start(),
                            RESET_TTL_SECS.end()
                        ),
                    });
                }
                let issued = a
                    .operator
                    .issue_reset_token(&name, Duration::from_secs(ttl), keep_passkeys)
                    .await?;
                let mut message = format!(
                    "Reset link for {}: works once, until {}; any earlier link no longer works.",
                    issued.account.display_name,
                    rfc3339(issued.expires_at)
                );
                match (issued.passkeys_removed, issued.passkeys_kept) {
                    (0, 0) => {}
                    (0, 1) => message.push_str(" Its passkey was kept (--keep-passkeys)."),
                    (0, n) => {
                        message.push_str(&format!(" Its {n} passkeys were kept (--keep-passkeys)."))
                    }
                    (1, _) => message.push_str(" Its passkey was removed."),
                    (n, _) => message.push_str(&format!(" Its {n} passkeys were removed.")),
                }
                if !keep_passkeys {
                    message.push_str(
                        " Any passkey added before the link is used is removed when it is.",
                    );
                }
                if issued.account.disabled {
                    message.push_str(
                        " The account is disabled: enable it too, or the new password will not log in.",
                    );
                }
                Reply::ResetLink {
                    link: format!("{}/reset#token={}", self.public_url, issued.token.as_str()),
                    message,
                }
            }
            Request::ResetSecondFactor { name } => {
                let (user, was_on, revoked) = a.operator.reset_second_factors(&name).await?;
                done(if was_on {
                    format!(
                        "Removed two-factor login and passkeys from {}; {} revoked. They log in \
                         with their password alone and may set them up again.",
                        user.display_name,
                        sessions(revoked)
                    )
                } else {
                    format!(
                        "{} had no two-factor login or passkeys; {} revoked.",
                        user.display_name,
                        sessions(revoked)
                    )
                })
            }
            Request::Delete { name } => {
                let user = a.operator.remove_account(&name).await?;
                done(format!("Deleted {} and its sessions.", user.display_name))
            }
            Request::SetEmail {
                name,
                address,
                verified,
            } => {
                let (account, verified) =
                    a.email.set_by_operator(&name, &address, verified).await?;
                let address = account.email.unwrap_or_default();
                done(if verified {
                    format!(
                        "{} has the confirmed address {address}.",
                        account.display_name
                    )
                } else if a.email.mail_is_on() {
                    format!(
                        "{} has the address {address}; a link to confirm it was queued.",
                        account.display_name
                    )
                } else {
                    format!(
                        "{} has the address {address}, not confirmed: mail is off (no \
                         --smtp-url), so no link was sent. Use --verified if you checked it.",
                        account.display_name
                    )
                })
            }
            Request::MailTest { address } => {
                a.email.send_test(&address).await?;
                done(format!(
                    "A test message to {address} is in the outbox; `accounts-server admin \
                     outbox` shows it until the relay has taken it."
                ))
            }
            Request::Outbox { .. } => Reply::Outbox {
                mail: a.outbox().await?.into_iter().map(mail_view).collect(),
            },
            Request::RotateDataKey => {
                let mut r = a.secrets.rotate().await?;
                // The ID-token signing keys are sealed too.
                r.resealed += a.oidc.reseal_keys().await.map_err(|e| match e {
                    OidcError::Account(e) => e,
                    other => AccountError::Internal(Box::new(other)),
                })? as usize;
                done(format!(
                    "Added data key {} to {}; it seals new secrets, and {} stored {} sealed \
                     again with it. The older {} ({}) {} listed in the file, so backups made \
                     before now still open: remove {} once no backup you may restore needs \
                     {}. With MongoDB, copy the file to every other instance on this database \
                     now (they read it again when they meet the new key).",
                    r.new_id,
                    r.path.display(),
                    r.resealed,
                    if r.resealed == 1 {
                        "secret was"
                    } else {
                        "secrets were"
                    },
                    if r.old_ids.len() == 1 { "key" } else { "keys" },
                    r.old_ids.join(", "),
                    if r.old_ids.len() == 1 {
                        "stays"
                    } else {
                        "stay"
                    },
                    if r.old_ids.len() == 1 {
                        "its line"
                    } else {
                        "their lines"
                    },
                    if r.old_ids.len() == 1 { "it" } else { "them" },
                ))
            }
        })
    }
}

fn done(message: String) -> Reply {
    Reply::Done { message }
}

fn sessions(n: u64) -> String {
    match n {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    }
}

fn view(s: AccountStatus) -> AccountView {
    AccountView {
        user_name: s.user_name,
        created_at: rfc3339(s.created_at),
        password_changed_at: rfc3339(s.password_changed_at),
        locked_until: s.locked_until.map(rfc3339),
        disabled: s.disabled,
        password_expired: s.password_expired,
        reset_link_expires_at: s.reset_link_expires_at.map(rfc3339),
        totp: s.totp,
        passkeys: s.passkeys,
        sessions: s.sessions,
        email: s.email,
        email_verified: s.email_verified,
        groups: s.groups,
    }
}

fn client_info(c: ClientView) -> ClientInfo {
    ClientInfo {
        client_id: c.client_id,
        name: c.name,
        redirect_uris: c.redirect_uris,
        post_logout_uris: c.post_logout_uris,
        public: c.public,
        trusted: c.trusted,
        signing_alg: c.signing_alg,
        created_at: rfc3339(c.created_at),
    }
}

fn mail_view(m: MailRecord) -> MailView {
    MailView {
        id: m.id,
        recipient: m.recipient,
        kind: m.kind,
        created_at: rfc3339(m.created_at),
        attempts: m.attempts,
        next_attempt_at: rfc3339(m.next_attempt_at),
        last_error: m.last_error,
        failed: m.failed,
    }
}
