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

use clap::{Args, Subcommand};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};

use super::protocol::{AccountView, Reply, Request};

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
    pub command: AdminCommand,
}

/// The admin commands. NAME is matched like a login: any case or Unicode form.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Every account: user name, created, password changed, locked until, disabled, sessions.
    List {
        /// One JSON document (an array) on stdout.
        #[arg(long)]
        json: bool,
    },
    /// One account, with the same fields as `list`.
    Show {
        /// The account's user name.
        name: String,
        /// One JSON document (an object) on stdout.
        #[arg(long)]
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
              value_parser = clap::value_parser!(u64).range(1..=604_800))]
        ttl: u64,
    },
    /// Remove two-factor login (authenticator app, recovery codes) and passkeys from an
    /// account whose user lost their device, and revoke its sessions.
    ResetMfa {
        /// The account's user name.
        name: String,
    },
    /// Delete the account and its sessions.
    Delete {
        /// The account's user name.
        name: String,
    },
}

impl AdminCommand {
    fn request(&self) -> Request {
        let name = |n: &String| n.clone();
        match self {
            Self::List { .. } => Request::List,
            Self::Show { name: n, .. } => Request::Show { name: name(n) },
            Self::Unlock { name: n } => Request::Unlock { name: name(n) },
            Self::Disable { name: n } => Request::Disable { name: name(n) },
            Self::Enable { name: n } => Request::Enable { name: name(n) },
            Self::RevokeSessions { name: n } => Request::RevokeSessions { name: name(n) },
            Self::ExpirePassword { name: n } => Request::ExpirePassword { name: name(n) },
            Self::ResetLink { name: n, ttl } => Request::ResetLink {
                name: name(n),
                ttl_secs: *ttl,
            },
            Self::ResetMfa { name: n } => Request::ResetMfa { name: name(n) },
            Self::Delete { name: n } => Request::Delete { name: name(n) },
        }
    }

    fn json(&self) -> bool {
        matches!(
            self,
            Self::List { json: true } | Self::Show { json: true, .. }
        )
    }
}

/// Runs the command against the socket (`args.socket`, else `default_socket`); the exit code
/// says how it went.
pub async fn run(args: &AdminArgs, default_socket: &Path) -> ExitCode {
    let socket = args.socket.as_deref().unwrap_or(default_socket);
    let reply = match exchange(socket, &args.command.request()).await {
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
    print(reply, args.command.json())
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
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .map_err(|e| format!("sending the command failed: {e}"))?;
    let mut answer = String::new();
    tokio::time::timeout(REPLY_TIMEOUT, BufReader::new(read).read_line(&mut answer))
        .await
        .map_err(|_| "no answer in time".to_owned())?
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    serde_json::from_str(&answer).map_err(|_| {
        "it did not answer like an accounts-server admin socket (is the path right?)"
            .to_owned()
            .into()
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
        Reply::Done { message } => writeln!(out, "{message}"),
        Reply::ResetLink { link, message } => {
            eprintln!("{message}");
            writeln!(out, "{link}")
        }
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
         sessions:          {}\n",
        a.user_name,
        short_time(&a.created_at),
        short_time(&a.password_changed_at),
        yes_no(a.password_expired),
        or_dash(&a.locked_until),
        yes_no(a.disabled),
        or_dash(&a.reset_link_expires_at),
        if a.totp { "on" } else { "off" },
        a.passkeys,
        a.sessions
    )
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
    fn each_command_becomes_its_request() {
        let c = AdminCommand::ResetLink {
            name: "Ada".into(),
            ttl: 120,
        };
        assert_eq!(
            c.request(),
            Request::ResetLink {
                name: "Ada".into(),
                ttl_secs: 120
            }
        );
        assert!(AdminCommand::List { json: true }.json());
        assert!(!AdminCommand::Unlock { name: "x".into() }.json());
    }
}
