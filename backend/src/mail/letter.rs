//! What the service writes: each message is a [`Letter`] (a subject, and one body in plain
//! text and in HTML, made from the same paragraphs so they never disagree). Values from users
//! (names) are escaped in the HTML; none reaches a header but the recipient's checked address.

use serde::{Deserialize, Serialize};

/// A message's content, before it has a sender and a recipient.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letter {
    /// The subject line (fixed words: nothing a user typed).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl std::fmt::Debug for Letter {
    // Bodies may hold a link that is a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letter")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A security notice: something changed on the account, and its owner should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The password was changed (by the user, or with a reset link).
    PasswordChanged,
    /// Two-factor login was turned on.
    TwoFactorOn,
    /// Two-factor login was turned off.
    TwoFactorOff,
    /// A passkey was added.
    PasskeyAdded,
    /// The account's address was changed away from this one.
    EmailChanged,
    /// An administrator issued a reset link for the account.
    ResetLinkIssued,
}

enum Part<'a> {
    Text(&'a str),
    Link(&'a str),
}

impl Letter {
    /// Asks the owner of a new address to confirm it.
    pub fn verify(user: &str, link: &str) -> Self {
        Self::compose(
            "Confirm your email address",
            &[
                Part::Text(&format!("Hello {user},")),
                Part::Text("Please confirm that this is your email address for your account by opening this link (it works once, for 24 hours):"),
                Part::Link(link),
                Part::Text("If you did not ask for this, ignore this message: the address will not be used."),
            ],
        )
    }

    /// A reset link, asked for on the "Forgot password" page.
    pub fn reset(user: &str, link: &str, valid_for: &str) -> Self {
        Self::compose(
            "Reset your password",
            &[
                Part::Text(&format!("Hello {user},")),
                Part::Text(&format!("Someone (we hope you) asked to reset the password of your account. To choose a new password, open this link (it works once, for {valid_for}):")),
                Part::Link(link),
                Part::Text("Setting a new password logs out every device. If you did not ask for this, ignore this message: your password stays as it is."),
            ],
        )
    }

    /// To the owner of an address someone tried to give another account: the reply to them
    /// was the same as for a free address, so only the owner learns of it.
    pub fn address_in_use() -> Self {
        Self::compose(
            "Someone tried to use your email address",
            &[
                Part::Text("Someone tried to give this email address to another account. It stays with your account; nothing has changed."),
                Part::Text("If it was you, log in to your existing account instead (\"Forgot password\" sends you a reset link)."),
            ],
        )
    }

    /// Tells the owner of an account what changed.
    pub fn notice(user: &str, notice: Notice) -> Self {
        let (subject, what) = match notice {
            Notice::PasswordChanged => ("Your password was changed", "The password of your account was changed, and every device was logged out."),
            Notice::TwoFactorOn => ("Two-factor login is on", "Two-factor login was turned on for your account: logging in now also asks for a code from an authenticator app."),
            Notice::TwoFactorOff => ("Two-factor login is off", "Two-factor login was turned off for your account: logging in now asks for the password alone."),
            Notice::PasskeyAdded => ("A passkey was added", "A passkey was added to your account: it can log in without the password."),
            Notice::EmailChanged => ("Your email address was changed", "The email address of your account was changed to another one: this address will no longer receive messages about it."),
            Notice::ResetLinkIssued => ("A reset link was issued for your account", "An administrator gave out a link to choose a new password for your account. If you did not ask for one, tell your administrator."),
        };
        Self::compose(
            subject,
            &[
                Part::Text(&format!("Hello {user},")),
                Part::Text(what),
                Part::Text("If this was not you, reset your password at once and contact your administrator."),
            ],
        )
    }

    /// An operator's test message (`admin mail-test`).
    pub fn test() -> Self {
        Self::compose(
            "Test message from Accounts",
            &[Part::Text(
                "This is a test message: the service can send mail.",
            )],
        )
    }

    fn compose(subject: &str, parts: &[Part<'_>]) -> Self {
        let mut text = String::new();
        let mut html = String::from(
            "<!DOCTYPE html><html><body style=\"font-family:sans-serif;line-height:1.5\">",
        );
        for part in parts {
            match part {
                Part::Text(t) => {
                    text.push_str(t);
                    html.push_str(&format!("<p>{}</p>", escape(t)));
                }
                Part::Link(url) => {
                    text.push_str(url);
                    let url = escape(url);
                    html.push_str(&format!("<p><a href=\"{url}\">{url}</a></p>"));
                }
            }
            text.push_str("\n\n");
        }
        text.push_str("-- \nAccounts\n");
        html.push_str("</body></html>");
        Self {
            subject: subject.to_owned(),
            text,
            html,
        }
    }
}

/// HTML text and attribute escaping.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_html_say_the_same_and_names_are_escaped() {
        let link = "https://accounts.example.org/verify#token=ab&c";
        let letter = Letter::verify("<b>Ann</b>", link);
        assert!(letter.text.contains("Hello <b>Ann</b>,"));
        assert!(letter.text.contains(link));
        assert!(letter.html.contains("Hello &lt;b&gt;Ann&lt;/b&gt;,"));
        assert!(letter
            .html
            .contains("href=\"https://accounts.example.org/verify#token=ab&amp;c\""));
        assert!(!letter.html.contains("<b>"));
        assert!(!format!("{letter:?}").contains("token"));
    }
}
