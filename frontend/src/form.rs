//! Form state and validation display, free of the DOM so it is unit-tested on the host.
//!
//! A field shows its client-side message only after the user has left it once (blur) or tried to
//! submit; a server message for the field shows until the user edits the value.

use accounts_api::{ErrorCode, PasswordPolicy, Problem, UserName};
use leptos::prelude::*;

/// What every form shares: whether the user has tried to submit, whether a request is in
/// flight, and the message for the top of the form.
#[derive(Clone, Copy)]
pub struct FormState {
    pub submitted: RwSignal<bool>,
    pub busy: RwSignal<bool>,
    pub top_error: RwSignal<Option<String>>,
}

impl FormState {
    pub fn new() -> Self {
        Self {
            submitted: RwSignal::new(false),
            busy: RwSignal::new(false),
            top_error: RwSignal::new(None),
        }
    }

    /// Starts a submission, or says not to: never while a request is in flight (no double
    /// submits), nor while a field shows a message (which the attempt itself reveals).
    pub fn begin(self, fields: &[Signal<Option<String>>]) -> bool {
        if self.busy.get_untracked() {
            return false;
        }
        self.submitted.set(true);
        self.top_error.set(None);
        if fields.iter().any(|e| e.get_untracked().is_some()) {
            return false;
        }
        self.busy.set(true);
        true
    }
}

impl Default for FormState {
    fn default() -> Self {
        Self::new()
    }
}

/// The reactive state of one input.
#[derive(Clone, Copy)]
pub struct FieldState {
    pub value: RwSignal<String>,
    pub touched: RwSignal<bool>,
    pub server_error: RwSignal<Option<String>>,
}

impl FieldState {
    pub fn new(initial: impl Into<String>) -> Self {
        Self {
            value: RwSignal::new(initial.into()),
            touched: RwSignal::new(false),
            server_error: RwSignal::new(None),
        }
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

pub fn required(label: &str, value: &str) -> Option<String> {
    value
        .trim()
        .is_empty()
        .then(|| format!("{label} is required"))
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
        Some(first) => first.to_uppercase().chain(chars).collect(),
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
}
