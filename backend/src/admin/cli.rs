//! `accounts-server admin`: sends one command to a running server over its admin socket and
//! prints the answer.
//!
//! Exit codes: 0 done; 1 no such account; 2 usage error, or the server cannot be reached;
//! 3 the server could not do it (its database is down, say). Messages go to stderr; results
//! (and `--json` documents) to stdout.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use clap::Args;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};

use super::protocol::{
    AccountView, ClientCommand, ClientInfo, GroupCommand, GroupInfo, MailView, Reply, Request,
};

/// How long to wait for the server to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for its answer (a `list` of many accounts takes a while).
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// `admin [--socket PATH] COMMAND`.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The running server's admin socket [default: the server's --admin-socket or
    /// ACCOUNTS_ADMIN_SOCKET, else admin.sock in its --data-dir / ACCOUNTS_DATA_DIR].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Request,
}

/// Whether the command asked for its result as one JSON document.
fn wants_json(command: &Request) -> bool {
    matches!(
        command,
        Request::List { json: true }
            | Request::Show { json: true, .. }
            | Request::Outbox { json: true }
            | Request::Client(
                ClientCommand::Add { json: true, .. }
                    | ClientCommand::List { json: true }
                    | ClientCommand::Show { json: true, .. }
                    | ClientCommand::RotateSecret { json: true, .. }
            )
            | Request::Group(GroupCommand::List { json: true })
    )
}

/// Runs the command against the socket (`args.socket`, else `default_socket`); the exit code
/// says how it went.
pub async fn run(args: &AdminArgs, default_socket: &Path) -> ExitCode {
    let socket = args.socket.as_deref().unwrap_or(default_socket);
    let reply = match exchange(socket, &args.command).await {
        Ok(reply) => reply,
        Err(Unreachable { why, hint }) => {
            eprintln!(
                "accounts-server admin: cannot reach the server at {}: {why}",
                socket.display()
            );
            eprintln!("{hint}");
            return ExitCode::from(2);
        }
    };
    print(reply, wants_json(&args.command))
}

/// Why the server could not be asked, and what to try.
struct Unreachable {
    why: String,
    hint: &'static str,
}

impl From<String> for Unreachable {
    fn from(why: String) -> Self {
        Self {
            why,
            hint: "Is accounts-server running, with this --data-dir (or --admin-socket)? Pass \
                   --socket PATH to say where its socket is.",
        }
    }
}

/// Sends one request and reads the one reply.
async fn exchange(socket: &Path, request: &Request) -> Result<Reply, Unreachable> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(socket))
        .await
        .map_err(|_| "it did not accept the connection in time".to_owned())?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => Unreachable {
                why: e.to_string(),
                hint: "Only the user the server runs as (or root) may use its admin socket.",
            },
            _ => e.to_string().into(),
        })?;
    check_server(&stream)?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    // A server that refuses this user answers and closes without reading: its answer says
    // why, so it is read even when sending failed (a broken pipe).
    let sent = write.write_all(&line).await;
    let mut answer = String::new();
    let read = tokio::time::timeout(REPLY_TIMEOUT, BufReader::new(read).read_line(&mut answer))
        .await
        .map_err(|_| "no answer in time".to_owned())?;
    if let Ok(reply) = serde_json::from_str(&answer) {
        return Ok(reply);
    }
    sent.map_err(|e| format!("sending the command failed: {e}"))?;
    read.map_err(|e| format!("reading the answer failed: {e}"))?;
    Err(
        "it did not answer like an accounts-server admin socket (is the path right?)"
            .to_owned()
            .into(),
    )
}

/// Commands (and the reset links they return) go only to a server run by root or by this
/// user: anyone else who managed to listen at the path would get them.
fn check_server(stream: &UnixStream) -> Result<(), Unreachable> {
    let server = stream
        .peer_cred()
        .map_err(|e| format!("cannot tell who serves the socket: {e}"))?
        .uid();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if server == 0 || server == me {
        return Ok(());
    }
    Err(Unreachable {
        why: format!(
            "permission denied: the socket is served by user {server}, not by root or by you"
        ),
        hint: "Refusing to send it a command. Check the path (--socket) and who runs the server.",
    })
}

/// Prints a reply and gives the exit code.
fn print(reply: Reply, json: bool) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let written = match reply {
        Reply::Accounts { accounts } if json => writeln!(out, "{}", to_json(&accounts)),
        Reply::Account { account } if json => writeln!(out, "{}", to_json(&account)),
        Reply::Accounts { accounts } => out.write_all(table(&accounts).as_bytes()),
        Reply::Account { account } => out.write_all(details(&account).as_bytes()),
        Reply::Outbox { mail } if json => writeln!(out, "{}", to_json(&mail)),
        Reply::Outbox { mail } => out.write_all(outbox(&mail).as_bytes()),
        Reply::Done { message } => writeln!(out, "{message}"),
        Reply::ResetLink { link, message } => {
            eprintln!("{message}");
            writeln!(out, "{link}")
        }
        Reply::Client {
            client,
            secret: Some(secret),
            ..
        } if json => writeln!(
            out,
            "{}",
            serde_json::json!({ "client_id": client.client_id, "client_secret": secret })
        ),
        Reply::Client { client, .. } if json => writeln!(out, "{}", to_json(&client)),
        Reply::Client {
            client,
            secret,
            message,
        } => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            out.write_all(client_details(&client, secret.as_deref()).as_bytes())
        }
        Reply::Clients { clients } if json => writeln!(out, "{}", to_json(&clients)),
        Reply::Clients { clients } => out.write_all(client_table(&clients).as_bytes()),
        Reply::Groups { groups } if json => writeln!(out, "{}", to_json(&groups)),
        Reply::Groups { groups } => out.write_all(group_table(&groups).as_bytes()),
        Reply::NoSuchAccount { message } => {
            eprintln!("accounts-server admin: {message}");
            return ExitCode::from(1);
        }
        Reply::Failed { message } => {
            eprintln!("accounts-server admin: the server could not do it: {message}");
            return ExitCode::from(3);
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // stdout closed (a pipe into `head`, say): nothing more to say.
        Err(_) => ExitCode::from(2),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
}

/// `2026-11-27T10:00:00.123Z` -> `2026-11-27 10:00:00Z`, for tables.
fn short_time(t: &str) -> String {
    match t.split_once('.') {
        Some((seconds, _)) => format!("{}Z", seconds.replacen('T', " ", 1)),
        None => t.replacen('T', " ", 1),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `list` for people: aligned columns, one account per line.
fn table(accounts: &[AccountView]) -> String {
    if accounts.is_empty() {
        return "No accounts.\n".into();
    }
    let rows: Vec<[String; 6]> = accounts
        .iter()
        .map(|a| {
            [
                a.user_name.clone(),
                short_time(&a.created_at),
                short_time(&a.password_changed_at),
                a.locked_until.as_deref().map_or("-".into(), short_time),
                if a.password_expired {
                    format!("{} (password expired)", yes_no(a.disabled))
                } else {
                    yes_no(a.disabled).into()
                },
                a.sessions.to_string(),
            ]
        })
        .collect();
    let header = [
        "USER NAME",
        "CREATED",
        "PASSWORD CHANGED",
        "LOCKED UNTIL",
        "DISABLED",
        "SESSIONS",
    ];
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// `show` for people: one field per line.
fn details(a: &AccountView) -> String {
    let or_dash = |t: &Option<String>| t.as_deref().map_or("-".into(), short_time);
    format!(
        "user name:         {}\n\
         created:           {}\n\
         password changed:  {}\n\
         password expired:  {}\n\
         locked until:      {}\n\
         disabled:          {}\n\
         reset link until:  {}\n\
         two-factor login:  {}\n\
         passkeys:          {}\n\
         sessions:          {}\n\
         email:             {}\n\
         groups:            {}\n",
        a.user_name,
        short_time(&a.created_at),
        short_time(&a.password_changed_at),
        yes_no(a.password_expired),
        or_dash(&a.locked_until),
        yes_no(a.disabled),
        or_dash(&a.reset_link_expires_at),
        if a.totp { "on" } else { "off" },
        a.passkeys,
        a.sessions,
        match (&a.email, a.email_verified) {
            (None, _) => "-".to_owned(),
            (Some(e), true) => format!("{e} (confirmed)"),
            (Some(e), false) => format!("{e} (not confirmed)"),
        },
        if a.groups.is_empty() {
            "-".to_owned()
        } else {
            a.groups.join(", ")
        }
    )
}

/// An app for people: one field per line (with its secret, when it was just made).
fn client_details(c: &ClientInfo, secret: Option<&str>) -> String {
    let mut out = format!("client id:         {}\n", c.client_id);
    if let Some(secret) = secret {
        out.push_str(&format!("client secret:     {secret}\n"));
    }
    out.push_str(&format!(
        "name:              {}\n\
         type:              {}\n\
         consent page:      {}\n\
         ID token signing:  {}\n\
         redirect URIs:     {}\n\
         post-logout URIs:  {}\n\
         added:             {}\n",
        c.name,
        if c.public {
            "public (PKCE, no secret)"
        } else {
            "confidential (secret)"
        },
        if c.trusted {
            "skipped (trusted)"
        } else {
            "shown"
        },
        c.signing_alg,
        c.redirect_uris.join(" "),
        if c.post_logout_uris.is_empty() {
            "-".to_owned()
        } else {
            c.post_logout_uris.join(" ")
        },
        short_time(&c.created_at),
    ));
    out
}

/// `client list` for people.
fn client_table(clients: &[ClientInfo]) -> String {
    if clients.is_empty() {
        return "No apps. Add one with `accounts-server admin client add NAME --redirect-uri URI`.\n".into();
    }
    let mut out = String::new();
    for c in clients {
        out.push_str(&format!(
            "{}  {}  {}{}  {}\n",
            c.client_id,
            c.name,
            if c.public { "public" } else { "confidential" },
            if c.trusted { ", trusted" } else { "" },
            c.redirect_uris.join(" ")
        ));
    }
    out
}

/// `group list` for people.
fn group_table(groups: &[GroupInfo]) -> String {
    if groups.is_empty() {
        return "No groups. Make one with `accounts-server admin group add NAME`.\n".into();
    }
    let mut out = String::new();
    for g in groups {
        out.push_str(&format!(
            "{}: {}\n",
            g.name,
            if g.members.is_empty() {
                "(no members)".to_owned()
            } else {
                g.members.join(", ")
            }
        ));
    }
    out
}

/// `outbox` for people: one message per line.
fn outbox(mail: &[MailView]) -> String {
    if mail.is_empty() {
        return "The outbox is empty: every message was sent.\n".into();
    }
    let mut out = String::new();
    for m in mail {
        let state = if m.failed {
            "given up".to_owned()
        } else if m.attempts == 0 {
            format!("due {}", short_time(&m.next_attempt_at))
        } else {
            format!("next try {}", short_time(&m.next_attempt_at))
        };
        out.push_str(&format!(
            "{}  {}  to {}  queued {}  {} {}  {}{}\n",
            m.id,
            m.kind,
            m.recipient,
            short_time(&m.created_at),
            m.attempts,
            if m.attempts == 1 { "try" } else { "tries" },
            state,
            m.last_error
                .as_deref()
                .map_or(String::new(), |e| format!("  last error: {e}"))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, locked: Option<&str>) -> AccountView {
        AccountView {
            user_name: name.into(),
            created_at: "2026-11-27T10:00:00.123Z".into(),
            password_changed_at: "2026-11-27T11:00:00Z".into(),
            locked_until: locked.map(Into::into),
            disabled: false,
            password_expired: true,
            reset_link_expires_at: None,
            totp: false,
            passkeys: 0,
            sessions: 2,
            email: None,
            email_verified: false,
            groups: Vec::new(),
        }
    }

    #[test]
    fn the_table_aligns_columns_under_their_headers() {
        let t = table(&[
            account("Ada", None),
            account("Grace_Hopper", Some("2026-11-27T12:05:00.000Z")),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        let column = |line: &str, text: &str| line.find(text).unwrap();
        assert_eq!(
            column(lines[0], "CREATED"),
            column(lines[1], "2026-11-27 10:00:00Z")
        );
        assert_eq!(
            column(lines[0], "LOCKED UNTIL"),
            column(lines[2], "2026-11-27 12:05:00Z")
        );
        assert!(lines[1].contains("no (password expired)"), "{t}");
        assert!(lines[1].ends_with('2'), "{t}");
        assert_eq!(table(&[]), "No accounts.\n");
    }

    #[test]
    fn details_show_every_field() {
        let d = details(&account("Ada", None));
        for needle in [
            "user name:         Ada",
            "locked until:      -",
            "sessions:          2",
            "password expired:  yes",
        ] {
            assert!(d.contains(needle), "{needle} in {d}");
        }
    }

    #[test]
    fn commands_keep_their_wire_names_and_output_flags_stay_local() {
        let wire = |r: &Request| serde_json::to_value(r).unwrap();
        assert_eq!(
            wire(&Request::ResetLink {
                name: "Ada".into(),
                ttl: 120,
                keep_passkeys: true,
            }),
            serde_json::json!({"command": "reset-link", "name": "Ada", "ttl_secs": 120,
                               "keep_passkeys": true})
        );
        // Older clients leave the flag out: the passkeys go.
        let old: Request = serde_json::from_value(
            serde_json::json!({"command": "reset-link", "name": "Ada", "ttl_secs": 120}),
        )
        .unwrap();
        assert!(matches!(
            old,
            Request::ResetLink {
                keep_passkeys: false,
                ..
            }
        ));
        assert_eq!(
            wire(&Request::ResetSecondFactor { name: "Ada".into() }),
            serde_json::json!({"command": "reset-mfa", "name": "Ada"})
        );
        assert_eq!(
            wire(&Request::List { json: true }),
            serde_json::json!({"command": "list"})
        );
        assert_eq!(
            wire(&Request::RotateDataKey),
            serde_json::json!({"command": "rotate-data-key"})
        );
        let parsed: Request = serde_json::from_str(r#"{"command":"show","name":"Ada"}"#).unwrap();
        assert_eq!(
            parsed,
            Request::Show {
                name: "Ada".into(),
                json: false
            }
        );
        assert!(wants_json(&Request::List { json: true }));
        assert!(!wants_json(&Request::Unlock { name: "x".into() }));
    }
}
