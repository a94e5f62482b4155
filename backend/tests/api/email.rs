//! Email against a real SMTP server (aiosmtpd): verification links, the forgotten password,
//! no enumeration, an outage that loses nothing, STARTTLS with AUTH, and two instances on one
//! MongoDB database sending each message once.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    smtp::{self_signed_certificate, Mail, SmtpOptions, SmtpServer},
    Kind,
};

const PASSWORD: &str = "first pass phrase";

async fn with_mail(kind: Kind, smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(kind, |c| c.smtp_url = Some(url)).await
}

async fn register(app: &TestApp, name: &str, email: &str) -> reqwest::Response {
    app.post(
        "/api/user/add",
        json!({ "user_name": name, "password": PASSWORD, "email": email }),
    )
    .await
}

async fn session(app: &TestApp) -> Value {
    let reply = app.get("/api/session").await;
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

/// A message as the tests expect every one: one sender and recipient, dated, with an id,
/// plain text and HTML saying the same.
fn well_formed(mail: &Mail, to: &str) {
    assert_eq!(mail.rcpt_tos, vec![to.to_owned()]);
    assert_eq!(mail.headers["to"], to);
    assert!(
        mail.headers["from"].contains("no-reply@localhost"),
        "{mail:?}"
    );
    assert!(mail.headers.contains_key("date"), "{mail:?}");
    let id = &mail.headers["message-id"];
    assert!(id.starts_with('<') && id.ends_with("@localhost>"), "{id}");
    assert_eq!(mail.content_type, "multipart/alternative");
    let (text, html) = (mail.text.as_deref().unwrap(), mail.html.as_deref().unwrap());
    for header in ["From", "To", "Subject", "Date", "Message-ID"] {
        let n = mail
            .header_names
            .iter()
            .filter(|h| h.eq_ignore_ascii_case(header))
            .count();
        assert_eq!(n, 1, "{header} in {:?}", mail.header_names);
    }
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(!text.contains('<'), "{text}");
}

async fn registration_mails_a_link_that_verifies_the_address(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    let policy: Value = app.get("/api/policy").await.json().await.unwrap();
    assert_eq!(policy["self_service_recovery"], true);

    assert_eq!(
        register(&app, "Ada", " Ada.Lovelace@Example.org ")
            .await
            .status(),
        201
    );
    let [mail] = smtp.wait_for(1).await.try_into().unwrap();
    well_formed(&mail, "Ada.Lovelace@Example.org");
    assert_eq!(mail.subject(), "Confirm your email address");
    let token = mail.token("verify");
    assert_eq!(token.len(), 64);
    assert!(mail.html.as_deref().unwrap().contains(&token));

    assert_eq!(app.login("ada", PASSWORD).await.status(), 200);
    let me = session(&app).await;
    assert_eq!(me["email"], "Ada.Lovelace@Example.org");
    assert_eq!(me["email_verified"], false);

    // The link again: once a minute; the newer link replaces the older.
    assert_eq!(app.post("/api/email/resend", json!({})).await.status(), 202);
    let again = app.post("/api/email/resend", json!({})).await;
    assert!(again.headers().contains_key("retry-after"));
    expect_problem(again, 429, "rate_limited").await;
    app.advance(Duration::from_secs(61));
    assert_eq!(app.post("/api/email/resend", json!({})).await.status(), 202);
    let mail = smtp.wait_for(3).await;
    let newest = mail[2].token("verify");
    assert_ne!(newest, token);
    expect_problem(
        app.post("/api/email/verify", json!({ "token": token }))
            .await,
        400,
        "invalid_email_token",
    )
    .await;
    let token = newest;

    let verified = app
        .post("/api/email/verify", json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(session(&app).await["email_verified"], true);
    // Once only; a made-up token gets the same reply.
    for token in [token.as_str(), &"0".repeat(64), "short"] {
        let again = app
            .post("/api/email/verify", json!({ "token": token }))
            .await;
        expect_problem(again, 400, "invalid_email_token").await;
    }
    // Another spelling of the address is the same address: nothing to confirm again.
    let same = app
        .post("/api/email", json!({ "email": "ada.lovelace@example.org" }))
        .await;
    assert_eq!(same.status(), 202);
    assert_eq!(session(&app).await["email_verified"], true);
}

async fn forgot_mails_a_reset_link_and_using_it_ends_every_session(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(register(&app, "Ada", "ada@example.org").await.status(), 201);
    let token = smtp.wait_for(1).await[0].token("verify");
    assert_eq!(
        app.post("/api/email/verify", json!({ "token": token }))
            .await
            .status(),
        200
    );
    let login = app.login("ada", PASSWORD).await;
    let old_cookie = session_cookie(&login);

    // By name or by address (any case), from a browser without a session.
    let stranger = app.new_client();
    // One after the other: which link is the newer is then known.
    for (body, mails) in [
        (json!({ "user_name": "ADA" }), 2),
        (json!({ "email": "Ada@Example.ORG" }), 3),
    ] {
        let reply = stranger
            .post(app.url("/api/password/forgot"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 202);
        smtp.wait_for(mails).await;
    }
    let mail = smtp.wait_for(3).await;
    let resets: Vec<&Mail> = mail
        .iter()
        .filter(|m| m.subject() == "Reset your password")
        .collect();
    assert_eq!(resets.len(), 2, "{mail:#?}");
    well_formed(resets[1], "ada@example.org");
    assert!(resets[1].text.as_deref().unwrap().contains("1 hour"));
    // The newer link replaced the older one.
    let older = resets[0].token("reset");
    let newer = resets[1].token("reset");
    let reset = |token: String| {
        let stranger = stranger.clone();
        let url = app.url("/api/password/reset");
        async move {
            stranger
                .post(url)
                .json(&json!({ "token": token, "newpassword": "second pass phrase" }))
                .send()
                .await
                .unwrap()
        }
    };
    expect_problem(reset(older).await, 400, "invalid_reset_token").await;
    assert_eq!(reset(newer).await.status(), 200);

    // Every session is gone; the new password logs in; the owner is told.
    let old = app.get_with_cookie("/api/session", &old_cookie).await;
    assert_eq!(old.status(), 401);
    assert_eq!(app.login("ada", "second pass phrase").await.status(), 200);
    let mail = smtp.wait_for(4).await;
    assert_eq!(mail[3].subject(), "Your password was changed");
}

async fn unknown_names_and_unverified_addresses_get_the_same_reply_and_no_mail(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(register(&app, "Bob", "bob@example.org").await.status(), 201);
    assert_eq!(app.register("Cyd", PASSWORD).await.status(), 201);
    smtp.wait_for(1).await;

    let mut replies = Vec::new();
    for body in [
        json!({ "user_name": "nobody" }),
        json!({ "email": "nobody@example.org" }),
        json!({ "user_name": "bob" }),         // address not verified
        json!({ "email": "bob@example.org" }), // the same
        json!({ "user_name": "cyd" }),         // no address
    ] {
        let reply = app.post("/api/password/forgot", body).await;
        assert_eq!(reply.status(), 202);
        replies.push(reply.text().await.unwrap());
    }
    assert!(replies.windows(2).all(|w| w[0] == w[1]), "{replies:?}");
    // Only the verification mail: give the requests' background work time to have sent
    // anything it would have, by sending one that does mail and waiting for it.
    assert_eq!(register(&app, "Dee", "dee@example.org").await.status(), 201);
    let mail = smtp.wait_for(2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mail_after = smtp.messages();
    assert_eq!(mail_after.len(), 2, "{mail_after:#?}");
    assert!(mail
        .iter()
        .all(|m| m.subject() == "Confirm your email address"));

    // Not a name or an address at all is a plain 400; neither or both, too.
    expect_problem(
        app.post("/api/password/forgot", json!({ "email": "not an address" }))
            .await,
        400,
        "invalid_email",
    )
    .await;
    expect_problem(
        app.post("/api/password/forgot", json!({})).await,
        400,
        "missing_field",
    )
    .await;
    expect_problem(
        app.post(
            "/api/password/forgot",
            json!({ "user_name": "bob", "email": "bob@example.org" }),
        )
        .await,
        400,
        "malformed_json",
    )
    .await;
}

async fn a_taken_address_gets_the_reply_of_a_free_one_and_its_owner_is_told(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(register(&app, "Ada", "ada@example.org").await.status(), 201);
    let token = smtp.wait_for(1).await[0].token("verify");
    assert_eq!(
        app.post("/api/email/verify", json!({ "token": token }))
            .await
            .status(),
        200
    );

    let free = register(&app, "Eve", "eve@example.org").await;
    let taken = register(&app, "Mallory", "ADA@example.org").await;
    assert_eq!(
        (free.status().as_u16(), taken.status().as_u16()),
        (201, 201)
    );
    assert_eq!(
        free.text().await.unwrap().replace("Eve", "X"),
        taken.text().await.unwrap().replace("Mallory", "X")
    );
    let mail = smtp.wait_for(3).await;
    let told: Vec<&Mail> = mail
        .iter()
        .filter(|m| m.subject() == "Someone tried to use your email address")
        .collect();
    assert_eq!(told.len(), 1, "{mail:#?}");
    // To the owner, at the address as she gave it (not the spelling the other side typed).
    assert_eq!(told[0].rcpt_tos, vec!["ada@example.org".to_owned()]);
    assert!(told[0]
        .text
        .as_deref()
        .unwrap()
        .contains("nothing has changed"));
    assert!(!mail
        .iter()
        .any(|m| m.rcpt_tos == vec!["ADA@example.org".to_owned()]
            && m.subject() == "Confirm your email address"));

    // Each account shows what it would for a free address: its own, not yet confirmed.
    for (name, address) in [("eve", "eve@example.org"), ("mallory", "ADA@example.org")] {
        assert_eq!(app.login(name, PASSWORD).await.status(), 200);
        let me = session(&app).await;
        assert_eq!(
            (me["email"].as_str(), me["email_verified"].as_bool()),
            (Some(address), Some(false))
        );
        let resend = app.post("/api/email/resend", json!({})).await;
        assert_eq!(resend.status(), 202, "{name}");
    }
    // Ada keeps hers, and a forgotten password still reaches her.
    assert_eq!(
        app.post(
            "/api/password/forgot",
            json!({ "email": "ADA@example.org" })
        )
        .await
        .status(),
        202
    );
    // (Mallory's resend told Ada nothing more: one "someone tried" an hour is enough.)
    let mail = smtp.wait_for(5).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 5, "{:#?}", smtp.messages());
    let reset: Vec<&Mail> = mail
        .iter()
        .filter(|m| m.subject() == "Reset your password")
        .collect();
    assert_eq!(reset.len(), 1, "{mail:#?}");
    assert_eq!(reset[0].rcpt_tos, vec!["ada@example.org".to_owned()]);
}

/// Nobody can hold another's address by claiming it first: an unverified address blocks no
/// one, and the first to confirm it has it.
async fn an_unconfirmed_claim_does_not_block_the_owner(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(
        register(&app, "Eve", "victim@example.org").await.status(),
        201
    );
    assert_eq!(
        register(&app, "Victim", "victim@example.org")
            .await
            .status(),
        201
    );
    let mail = smtp.wait_for(2).await;
    assert!(
        mail.iter()
            .all(|m| m.subject() == "Confirm your email address"),
        "{mail:#?}"
    );
    let eves = mail
        .iter()
        .find(|m| m.text.as_deref().unwrap().contains("Hello Eve"))
        .unwrap()
        .token("verify");
    let own = mail
        .iter()
        .find(|m| m.text.as_deref().unwrap().contains("Hello Victim"))
        .unwrap()
        .token("verify");
    assert_eq!(
        app.post("/api/email/verify", json!({ "token": own }))
            .await
            .status(),
        200
    );
    // Eve's link (in the victim's mailbox) can no longer take it.
    expect_problem(
        app.post("/api/email/verify", json!({ "token": eves }))
            .await,
        400,
        "invalid_email_token",
    )
    .await;
    assert_eq!(
        app.post(
            "/api/password/forgot",
            json!({ "email": "victim@example.org" })
        )
        .await
        .status(),
        202
    );
    let mail = smtp.wait_for(3).await;
    assert!(
        mail[2].text.as_deref().unwrap().contains("Hello Victim"),
        "{:?}",
        mail[2]
    );
}

/// Whoever asks, a mailbox gets a few messages an hour, and an account a few changes.
async fn mail_to_one_mailbox_and_changes_of_one_account_are_limited(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    // One inbox, whatever the +tag: the budget is the mailbox's.
    for i in 0..7 {
        let address = if i % 2 == 0 {
            "target@example.org".to_owned()
        } else {
            format!("target+{i}@example.org")
        };
        assert_eq!(
            register(&app, &format!("user{i}"), &address).await.status(),
            201
        );
    }
    assert_eq!(app.register("Eve", PASSWORD).await.status(), 201);
    assert_eq!(app.login("eve", PASSWORD).await.status(), 200);
    let mut statuses = Vec::new();
    for i in 0..7 {
        let change = app
            .post(
                "/api/email",
                json!({ "email": format!("eve{i}@example.org") }),
            )
            .await;
        statuses.push(change.status().as_u16());
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429, 429]);
    smtp.wait_for(10).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mail = smtp.messages();
    let to_target = mail
        .iter()
        .filter(|m| m.rcpt_tos[0].starts_with("target"))
        .count();
    assert_eq!(to_target, 5, "{mail:#?}");
    assert_eq!(mail.len(), 10, "{mail:#?}");
    // An hour later, the limits have passed.
    app.advance(Duration::from_secs(3601));
    let change = app
        .post("/api/email", json!({ "email": "eve@example.org" }))
        .await;
    expect_problem(change, 403, "reauth_required").await;
}

/// Others' attempts cannot stop the owner's own mail: "someone tried" mails have a budget of
/// their own (one an hour), and a mailed link never replaces an operator's.
async fn others_attempts_do_not_block_the_owners_recovery(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    let out = app.admin(&["set-email", "ada", "ada@example.org", "--verified"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for i in 0..6 {
        let taken = register(&app, &format!("mallory{i}"), "ADA@example.org").await;
        assert_eq!(taken.status(), 201);
    }
    let forgot = app
        .post("/api/password/forgot", json!({ "user_name": "ada" }))
        .await;
    assert_eq!(forgot.status(), 202);
    smtp.wait_for(2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mail: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| m.subject().to_owned())
        .collect();
    assert_eq!(
        mail,
        [
            "Someone tried to use your email address",
            "Reset your password"
        ],
        "{mail:?}"
    );

    // An operator's link, even one that keeps the passkeys, is not replaced by a mailed one.
    let out = app.admin(&["reset-link", "ada", "--keep-passkeys"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let link = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let token = link.split("#token=").nth(1).unwrap().to_owned();
    let forgot = app
        .post("/api/password/forgot", json!({ "user_name": "ada" }))
        .await;
    assert_eq!(forgot.status(), 202);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reset = app
        .post(
            "/api/password/reset",
            json!({ "token": token, "newpassword": "a brand new pass phrase" }),
        )
        .await;
    assert_eq!(reset.status(), 200);
    let resets = smtp
        .messages()
        .iter()
        .filter(|m| m.subject() == "Reset your password")
        .count();
    assert_eq!(resets, 1);
}

async fn bad_addresses_are_refused_and_never_reach_a_header(kind: Kind) {
    let smtp = SmtpServer::start();
    let app = with_mail(kind, &smtp).await;
    for email in [
        "ada@example.org\r\nBcc: everyone@example.org",
        "ada@example.org\nSubject: hi",
        "Ada <ada@example.org>",
        "ada@localhost",
        &format!("{}@example.org", "a".repeat(250)),
    ] {
        let problem =
            expect_problem(register(&app, "Ada", email).await, 400, "invalid_email").await;
        assert_eq!(problem["errors"][0]["field"], "email", "{problem}");
        assert_eq!(problem["errors"][0]["code"], "invalid_email", "{problem}");
    }
    assert_eq!(
        app.login("ada", PASSWORD).await.status(),
        401,
        "no account was made"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(smtp.messages().is_empty());
}

async fn mail_queued_while_the_relay_is_down_arrives_once_it_is_up(kind: Kind) {
    let mut smtp = SmtpServer::not_started();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(register(&app, "Ada", "ada@example.org").await.status(), 201);
    // The first try fails at once (connection refused); a restart of the service loses
    // nothing: the message waits in the store.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let app = app.restart_with(|_| {}).await;
    smtp.restart();
    assert!(smtp.messages().is_empty());
    // Retried after its pause (30 s on the service's clock).
    app.advance(Duration::from_secs(31));
    let [mail] = smtp.wait_for(1).await.try_into().unwrap();
    assert_eq!(mail.subject(), "Confirm your email address");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
}

/// The operator's side: an address set (confirmed, or with a link), a taken one refused with
/// the reason, a test message, and the outbox while the relay is down and after.
async fn operators_set_addresses_send_test_mail_and_see_the_outbox(kind: Kind) {
    let mut smtp = SmtpServer::not_started();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    assert_eq!(app.register("Bob", PASSWORD).await.status(), 201);
    let said = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    let out = app.admin(&["set-email", "ada", "Ada@Example.org", "--verified"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("confirmed address Ada@Example.org"),
        "{}",
        said(&out)
    );
    let shown: Value =
        serde_json::from_slice(&app.admin(&["show", "ada", "--json"]).stdout).unwrap();
    assert_eq!(
        (shown["email"].as_str(), shown["email_verified"].as_bool()),
        (Some("Ada@Example.org"), Some(true))
    );
    let text = said(&app.admin(&["show", "ada"]));
    assert!(text.contains("Ada@Example.org (confirmed)"), "{text}");

    let out = app.admin(&["set-email", "bob", "ada@EXAMPLE.org"]);
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    assert!(
        said(&out).contains("another account has the address"),
        "{}",
        said(&out)
    );
    let out = app.admin(&["set-email", "nobody", "x@example.org"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));

    let out = app.admin(&["mail-test", "root@example.org"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    // The relay is down: the message waits, with the reason.
    let mut waiting = Value::Null;
    for _ in 0..50 {
        waiting = serde_json::from_slice(&app.admin(&["outbox", "--json"]).stdout).unwrap();
        if waiting[0]["attempts"].as_u64() >= Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(waiting[0]["kind"], "test", "{waiting}");
    assert_eq!(waiting[0]["recipient"], "root@example.org", "{waiting}");
    assert!(waiting[0]["last_error"].is_string(), "{waiting}");
    assert_eq!(waiting[0]["failed"], false);
    assert!(said(&app.admin(&["outbox"])).contains("last error"));

    smtp.restart();
    app.advance(Duration::from_secs(31));
    let [mail] = smtp.wait_for(1).await.try_into().unwrap();
    assert_eq!(mail.subject(), "Test message from Accounts");
    let mut empty = String::new();
    for _ in 0..50 {
        empty = said(&app.admin(&["outbox"]));
        if empty.contains("empty") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(empty.contains("The outbox is empty"), "{empty}");

    // An address the operator confirmed receives reset links.
    let forgot = app
        .post("/api/password/forgot", json!({ "user_name": "ada" }))
        .await;
    assert_eq!(forgot.status(), 202);
    let mail = smtp.wait_for(2).await;
    assert_eq!(mail[1].subject(), "Reset your password");
    assert_eq!(mail[1].rcpt_tos, vec!["Ada@Example.org".to_owned()]);
}

/// The operator's view of the outbox (`admin outbox --json`), once `done` holds (at most
/// 10 s).
async fn outbox_until(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let now: Value = serde_json::from_slice(&app.admin(&["outbox", "--json"]).stdout).unwrap();
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the outbox did not get there: {}",
        String::from_utf8_lossy(&app.admin(&["outbox", "--json"]).stdout)
    );
}

/// A message the relay never takes is tried for a day, then given up, its reason kept for
/// the operator.
async fn a_message_the_relay_never_takes_is_given_up_after_a_day(kind: Kind) {
    let smtp = SmtpServer::not_started();
    let app = with_mail(kind, &smtp).await;
    assert_eq!(register(&app, "Ada", "ada@example.org").await.status(), 201);
    outbox_until(&app, |o| o[0]["attempts"].as_u64() >= Some(1)).await;
    app.advance(Duration::from_secs(25 * 3600));
    let given_up = outbox_until(&app, |o| o[0]["failed"] == true).await;
    assert_eq!(given_up[0]["kind"], "verify");
    assert!(given_up[0]["last_error"].is_string(), "{given_up}");
    assert!(smtp.messages().is_empty());
}

crate::for_each_store!(
    a_message_the_relay_never_takes_is_given_up_after_a_day,
    operators_set_addresses_send_test_mail_and_see_the_outbox,
    registration_mails_a_link_that_verifies_the_address,
    forgot_mails_a_reset_link_and_using_it_ends_every_session,
    unknown_names_and_unverified_addresses_get_the_same_reply_and_no_mail,
    a_taken_address_gets_the_reply_of_a_free_one_and_its_owner_is_told,
    an_unconfirmed_claim_does_not_block_the_owner,
    mail_to_one_mailbox_and_changes_of_one_account_are_limited,
    others_attempts_do_not_block_the_owners_recovery,
    bad_addresses_are_refused_and_never_reach_a_header,
    mail_queued_while_the_relay_is_down_arrives_once_it_is_up,
);

/// A relay that requires STARTTLS (with its own self-signed certificate, trusted through
/// --smtp-ca-file) and AUTH (the password from --smtp-password-file).
#[tokio::test]
async fn starttls_with_a_self_signed_certificate_and_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_certificate(dir.path());
    let smtp = SmtpServer::start_with(SmtpOptions {
        tls: Some((cert.clone(), key)),
        auth: Some("mailer:s3cret pass".into()),
        ..SmtpOptions::default()
    });
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, "s3cret pass\n").unwrap();
    let url = format!("smtp://mailer@localhost:{}?tls=required", smtp.port);
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.smtp_url = Some(url);
        c.smtp_password_file = Some(password_file);
        c.smtp_ca_file = Some(cert);
        c.mail_from = Some("Accounts Test <accounts@example.org>".into());
    })
    .await;
    assert_eq!(register(&app, "Ada", "ada@example.org").await.status(), 201);
    let [mail] = smtp.wait_for(1).await.try_into().unwrap();
    assert!(mail.tls && mail.authenticated, "{mail:?}");
    assert_eq!(mail.mail_from, "accounts@example.org");
    assert!(mail.headers["from"].contains("Accounts Test"), "{mail:?}");
}

/// Two instances on one MongoDB database, both sending: each message goes out once.
#[tokio::test]
async fn two_instances_on_one_mongodb_send_each_message_once() {
    let smtp = SmtpServer::start();
    let a = with_mail(Kind::Mongo, &smtp).await;
    let (url, db) = (smtp.url(), a.config.mongodb_db.clone());
    let key = a.config.data_key_file();
    let b = TestApp::spawn_with(Kind::Mongo, |c| {
        c.smtp_url = Some(url);
        c.mongodb_db = db;
        c.data_key_file = Some(key);
    })
    .await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            register(app, &format!("user{i}"), &format!("user{i}@example.org"))
                .await
                .status(),
            201
        );
    }
    smtp.wait_for(6).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mail = smtp.messages();
    assert_eq!(mail.len(), 6, "{mail:#?}");
    let mut ids: Vec<&str> = mail
        .iter()
        .map(|m| m.headers["message-id"].as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

/// Without a relay: no self-service recovery, said plainly; addresses are still kept.
#[tokio::test]
async fn without_a_relay_recovery_says_to_ask_an_administrator() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let policy: Value = app.get("/api/policy").await.json().await.unwrap();
    assert_eq!(policy["self_service_recovery"], false);
    let problem = expect_problem(
        app.post("/api/password/forgot", json!({ "user_name": "ada" }))
            .await,
        503,
        "mail_unavailable",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("administrator"),
        "{problem}"
    );
    assert_eq!(register(&app, "Ada", "ada@example.org").await.status(), 201);
    assert_eq!(app.login("ada", PASSWORD).await.status(), 200);
    assert_eq!(session(&app).await["email"], "ada@example.org");
}
