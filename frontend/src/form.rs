//! Form state: one submission model for every form, and validation display free of the DOM,
//! so it is unit-tested on the host.
//!
//! A field shows its client-side message only after the user has left it once (blur) or tried to
//! submit; a server message for the field shows until the user edits the value.

use std::{cell::RefCell, future::Future, pin::Pin, rc::Rc};

use accounts_api::{ErrorCode, PasswordPolicy, Problem, UserName};
use leptos::prelude::*;

use crate::api::ApiError;

type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One form's submission: a local [`Action`] whose `pending()` is the busy state (no double
/// submits), the flag that reveals field messages, and the message for the top of the form.
///
/// A page gives its fields (by JSON key, so server messages land next to them), the request to
/// send and the step to take on success; failures are placed here. Every form shares one
/// action type (it runs a prepared [`Job`]), so each new form adds its own code only, not
/// another copy of the action machinery in the download.
pub struct Submission<Req: 'static> {
    action: Action<Job, ()>,
    run: StoredValue<Rc<dyn Fn(Req) -> LocalBoxFuture<'static, ()>>, LocalStorage>,
    /// Whether the user has tried to submit (client messages then show on every field).
    pub submitted: RwSignal<bool>,
    /// The message for the top of the form.
    pub top_error: RwSignal<Option<String>>,
}

/// A submission's work, handed to the shared action type once.
#[derive(Clone)]
pub struct Job(Rc<RefCell<Option<LocalBoxFuture<'static, ()>>>>);

impl<Req: 'static> Clone for Submission<Req> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Req: 'static> Copy for Submission<Req> {}

impl<Req: Clone + 'static> Submission<Req> {
    /// `call` sends the request; `on_success` takes the reply (and the request it answered).
    pub fn new<Resp, Fut>(
        fields: &[(&'static str, FieldState)],
        call: impl Fn(Req) -> Fut + 'static,
        on_success: impl Fn(Resp, Req) + 'static,
    ) -> Self
    where
        Resp: 'static,
        Fut: Future<Output = Result<Resp, ApiError>> + 'static,
    {
        let top_error = RwSignal::new(None);
        let fields: Rc<[(&'static str, FieldState)]> = fields.into();
        let on_success = Rc::new(on_success);
        let run: Rc<dyn Fn(Req) -> LocalBoxFuture<'static, ()>> = Rc::new(move |req: Req| {
            let (fields, on_success) = (fields.clone(), on_success.clone());
            let reply = call(req.clone());
            Box::pin(async move {
                match reply.await {
                    Ok(reply) => on_success(reply, req),
                    Err(e) => place_errors(top_error, &e, &fields),
                }
            })
        });
        Self {
            action: job_action(),
            run: StoredValue::new_local(run),
            submitted: RwSignal::new(false),
            top_error,
        }
    }

    /// Whether a request is in flight.
    pub fn busy(self) -> Signal<bool> {
        self.action.pending().into()
    }

    /// Sends `request()`, unless a request is in flight or a field shows a message (which the
    /// attempt itself reveals).
    pub fn submit(self, checks: &[Signal<Option<String>>], request: impl FnOnce() -> Req) {
        if self.action.pending().get_untracked() {
            return;
        }
        self.submitted.set(true);
        self.top_error.set(None);
        if checks.iter().any(|e| e.get_untracked().is_some()) {
            return;
        }
        let work = self.run.with_value(|run| run(request()));
        self.action
            .dispatch_local(Job(Rc::new(RefCell::new(Some(work)))));
    }
}

/// The one action type every form shares: it runs the job it is given.
fn job_action() -> Action<Job, ()> {
    Action::new_local(|job: &Job| {
        let work = job.0.borrow_mut().take();
        async move {
            if let Some(work) = work {
                work.await;
            }
        }
    })
}

/// Puts a failed call's messages where they belong: next to `fields` (by JSON key) or on top.
fn place_errors(
    top: RwSignal<Option<String>>,
    error: &ApiError,
    fields: &[(&'static str, FieldState)],
) {
    let ApiError::Problem(problem) = error else {
        top.set(Some(error.message()));
        return;
    };
    let (message, field_messages) = split_problem(problem);
    let mut unplaced = message;
    for (key, text) in field_messages {
        match fields.iter().find(|(k, _)| *k == key) {
            Some((_, field)) => field.server_error.set(Some(text)),
            None => unplaced = Some(unplaced.map_or(text.clone(), |m| format!("{m} {text}"))),
        }
    }
    top.set(unplaced);
}

/// The reactive state of one input.
#[derive(Clone, Copy)]
pub struct FieldState {
    /// What is typed.
    pub value: RwSignal<String>,
    /// Whether the user has left the field once.
    pub touched: RwSignal<bool>,
    /// The server's message about the current value, until it is edited.
    pub server_error: RwSignal<Option<String>>,
}

impl FieldState {
    /// A field holding `initial`.
    pub fn new(initial: impl Into<String>) -> Self {
        Self {
            value: RwSignal::new(initial.into()),
            touched: RwSignal::new(false),
            server_error: RwSignal::new(None),
        }
    }

    /// The value when `asked` (for a field shown only sometimes, like the second-factor
    /// code), untracked; `None` when not asked.
    pub fn value_if(self, asked: impl Fn() -> bool) -> Option<String> {
        asked().then(|| self.value.get_untracked())
    }

    /// What to show under the field: the server's message, else `check`'s once the field has
    /// been left or the form submitted.
    pub fn message(
        self,
        submitted: RwSignal<bool>,
        check: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Signal<Option<String>> {
        Signal::derive(move || {
            visible_error(
                self.touched.get(),
                submitted.get(),
                self.value.with(|v| check(v)),
                self.server_error.get(),
            )
        })
    }

    /// A keystroke: store it and drop a server message that was about the old value.
    pub fn edit(&self, value: String) {
        self.value.set(value);
        self.server_error.set(None);
    }
}

/// What to show under a field, if anything.
pub fn visible_error(
    touched: bool,
    submitted: bool,
    client: Option<String>,
    server: Option<String>,
) -> Option<String> {
    server.or(if touched || submitted { client } else { None })
}

/// [`required`] while `asked` says the field is shown; no message otherwise.
pub fn required_if(
    asked: impl Fn() -> bool + Send + Sync + 'static,
    label: &'static str,
) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    move |v| asked().then(|| required(label, v)).flatten()
}

/// "`label` is required" for an empty (or blank) value.
pub fn required(label: &str, value: &str) -> Option<String> {
    value
        .trim()
        .is_empty()
        .then(|| format!("{label} is required"))
}

/// The rules for a new password, in words, once the server's policy has loaded.
pub fn new_password_hint(state: crate::state::AppState) -> Signal<Option<String>> {
    Signal::derive(move || {
        state.password_policy().map(|p| {
            format!(
                "At least {} characters, not your user name, not a commonly used password. \
                 A long phrase you can remember works well.",
                p.min_length
            )
        })
    })
}

/// Sign-up rules for a user name (the shared crate's, as the server applies them).
pub fn check_new_user_name(value: &str) -> Option<String> {
    UserName::parse(value)
        .err()
        .map(|e| capitalize(&e.to_string()))
}

/// The server's policy for a new password; `None` policy (not loaded yet) checks presence only.
pub fn check_new_password(
    value: &str,
    user_name: &str,
    policy: Option<PasswordPolicy>,
) -> Option<String> {
    if value.is_empty() {
        return Some("Password is required".into());
    }
    let policy = policy?;
    let user = UserName::parse(user_name).ok();
    policy
        .check(&value.into(), user.as_ref())
        .err()
        .map(|e| capitalize(&e.to_string()))
}

/// Splits a problem into a message for the top of the form and messages for fields.
pub fn split_problem(problem: &Problem) -> (Option<String>, Vec<(String, String)>) {
    let fields: Vec<_> = problem
        .errors
        .iter()
        .map(|e| (e.field.clone(), capitalize(&e.message)))
        .collect();
    let top = match problem.code {
        // These are about one field, shown next to it.
        ErrorCode::InvalidUserName | ErrorCode::InvalidPassword | ErrorCode::MissingField
            if !fields.is_empty() =>
        {
            None
        }
        ErrorCode::UserExists => None,
        _ => Some(problem.detail.clone()),
    };
    let fields = if problem.code == ErrorCode::UserExists {
        vec![("user_name".into(), problem.detail.clone())]
    } else {
        fields
    };
    (top, fields)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        // The messages are English: ASCII is enough, and spares the Unicode tables.
        Some(first) => std::iter::once(first.to_ascii_uppercase())
            .chain(chars)
            .collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accounts_api::FieldError;

    #[test]
    fn client_errors_wait_for_blur_or_submit_server_errors_do_not() {
        let client = Some("too short".to_string());
        assert_eq!(visible_error(false, false, client.clone(), None), None);
        assert_eq!(visible_error(true, false, client.clone(), None), client);
        assert_eq!(visible_error(false, true, client.clone(), None), client);
        let server = Some("taken".to_string());
        assert_eq!(visible_error(false, false, None, server.clone()), server);
        assert_eq!(visible_error(true, false, client, server.clone()), server);
    }

    #[test]
    fn sign_up_rules_come_from_the_shared_crate_and_the_server_policy() {
        assert_eq!(check_new_user_name("alice"), None);
        assert_eq!(
            check_new_user_name("al").as_deref(),
            Some("User name must be at least 3 characters")
        );
        let policy = PasswordPolicy {
            min_length: 12,
            max_length: 256,
        };
        assert_eq!(
            check_new_password("short", "alice", Some(policy)).as_deref(),
            Some("Password must be at least 12 characters")
        );
        assert_eq!(
            check_new_password("xxALICExxxxxx", "alice", Some(policy)).as_deref(),
            Some("Password must not contain the user name")
        );
        assert_eq!(
            check_new_password("long enough pw", "alice", Some(policy)),
            None
        );
        // Before the policy arrives only presence is checked; the server still decides.
        assert_eq!(check_new_password("short", "alice", None), None);
        assert!(check_new_password("", "alice", None).is_some());
    }

    #[test]
    fn required_fields() {
        assert_eq!(
            required("Password", "  ").as_deref(),
            Some("Password is required")
        );
        assert_eq!(required("Password", "x"), None);
    }

    #[test]
    fn problems_land_next_to_the_right_field() {
        let p = Problem::new(
            ErrorCode::InvalidPassword,
            "password must be at least 15 characters",
        )
        .with_errors(vec![FieldError {
            field: "newpassword".into(),
            code: ErrorCode::InvalidPassword,
            message: "password must be at least 15 characters".into(),
        }]);
        let (top, fields) = split_problem(&p);
        assert_eq!(top, None);
        assert_eq!(
            fields,
            vec![(
                "newpassword".to_string(),
                "Password must be at least 15 characters".to_string()
            )]
        );

        let taken = Problem::new(ErrorCode::UserExists, "That user name is already taken.");
        let (top, fields) = split_problem(&taken);
        assert_eq!(top, None);
        assert_eq!(fields[0].0, "user_name");

        let creds = Problem::new(
            ErrorCode::InvalidCredentials,
            "Wrong user name or password.",
        );
        let (top, fields) = split_problem(&creds);
        assert_eq!(top.as_deref(), Some("Wrong user name or password."));
        assert!(fields.is_empty());
    }

    #[test]
    fn a_field_shown_only_sometimes_is_required_only_then() {
        let shown = required_if(|| true, "Code");
        assert_eq!(shown(""), Some("Code is required".to_owned()));
        assert_eq!(shown("123456"), None);
        assert_eq!(required_if(|| false, "Code")(""), None);
    }
}
