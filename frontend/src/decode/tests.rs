//! The decoder on the host: serde_json's values stand in for the browser's, so every reply type
//! is written by serde (as the server writes it) and read back by the app's own reader.

use accounts_api::{
    AccountReply, AppSummary, AppsReply, AuthorizeStep, ErrorCode, FieldError, LoginReply,
    MessageReply, PasskeyChallenge, PasskeySummary, PasswordPolicy, PolicyInfo, Problem,
    ReauthReply, RecoveryCodes, SessionEntry, SessionInfo, TotpSetup,
};
use serde::Serialize;
use serde_json::{json, value::RawValue, Value};

use super::{read, Json, Reply};

impl Json for Value {
    fn is_null(&self) -> bool {
        self.is_null()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn string(&self) -> Option<String> {
        self.as_str().map(Into::into)
    }

    fn items(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }

    fn is_object(&self) -> bool {
        self.is_object()
    }

    fn member(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null()).cloned()
    }

    fn to_text(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }
}

/// Values of a reply type worth sending through the round trip, and how to compare them.
pub trait Example: Sized + Serialize {
    fn examples() -> Vec<Self>;
    fn same(&self, other: &Self) -> bool;
}

/// serde_json writes each example; the reader must give it back equal.
pub fn round_trip<T: Reply + Example>() {
    let examples = T::examples();
    assert!(!examples.is_empty());
    for value in examples {
        let json = serde_json::to_value(&value).expect("serialisable");
        let back: T = read(json.clone()).unwrap_or_else(|| panic!("not read back: {json}"));
        assert!(back.same(&value), "read back different: {json}");
    }
}

/// `Example` for types compared with `==`.
macro_rules! examples {
    ($($t:ty => $examples:expr;)*) => {$(
        impl Example for $t {
            fn examples() -> Vec<Self> {
                $examples.into_iter().collect()
            }
            fn same(&self, other: &Self) -> bool {
                self == other
            }
        }
    )*};
}

/// Every code, and one problem with all its optional members.
fn problems() -> Vec<Problem> {
    let mut all: Vec<Problem> = ErrorCode::ALL
        .iter()
        .map(|&code| Problem::new(code, format!("detail of {code}")))
        .collect();
    all.push(Problem::new(
        ErrorCode::Unknown,
        "a code from a newer server",
    ));
    let mut full =
        Problem::new(ErrorCode::InvalidPassword, "password too short").with_errors(vec![
            FieldError {
                field: "newpassword".into(),
                code: ErrorCode::InvalidPassword,
                message: "must be at least 12 characters".into(),
            },
            FieldError {
                field: "user_name".into(),
                code: ErrorCode::InvalidUserName,
                message: "too short".into(),
            },
        ]);
    full.request_id = Some("req-1".into());
    all.push(full);
    all
}

fn passkey(last_used_at: Option<&str>) -> PasskeySummary {
    PasskeySummary {
        id: "Y3JlZGVudGlhbA".into(),
        name: "Laptop \"work\" ✓".into(),
        created_at: "2026-11-27T10:00:00Z".into(),
        last_used_at: last_used_at.map(Into::into),
    }
}

examples! {
    Problem => problems();
    PolicyInfo => [PolicyInfo {
        password: PasswordPolicy { min_length: 12, max_length: 256 },
        user_name_min_length: 3,
        user_name_max_length: 32,
        user_name_allowed: "letters, digits, '-', '_' and '.'".into(),
        password_max_age_secs: 7_776_000,
        self_service_recovery: true,
        cookie_domain: Some("example.org".into()),
    }];
    SessionInfo => [
        session(false, 0, 0),
        session(true, 9, 2),
        SessionInfo { email: Some("ada@example.org".into()), email_verified: true, ..session(false, 0, 0) },
    ];
    MessageReply => [MessageReply { message: "Check your inbox".into() }];
    ReauthReply => [ReauthReply { reauth_until: "2026-11-28T10:05:00Z".into() }];
    AccountReply => [AccountReply { user_name: "Ada".into(), message: "Account created".into() }];
    LoginReply => [LoginReply {
        user_name: "Ada".into(),
        message: "Logged in".into(),
        expires_at: "2026-11-28T10:00:00Z".into(),
    }];
    TotpSetup => [TotpSetup {
        secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
        otpauth_uri: "otpauth://totp/Accounts:Ada?secret=JBSWY3DPEHPK3PXP&issuer=Accounts".into(),
        qr_path: "M4 4h7v1H4z".into(),
        qr_size: 37,
    }];
    RecoveryCodes => [
        RecoveryCodes { recovery_codes: vec!["abcde-fghij".into(), "klmno-pqrst".into()] },
        RecoveryCodes { recovery_codes: vec![] },
    ];
    PasskeySummary => [passkey(None), passkey(Some("2026-11-28T09:00:00.123Z"))];
    Vec<PasskeySummary> => [vec![], vec![passkey(None), passkey(Some("2026-11-28T09:00:00Z"))]];
    AuthorizeStep => [
        AuthorizeStep { step: "login".into(), location: None, client_name: None, scopes: vec![] },
        AuthorizeStep {
            step: "consent".into(),
            location: None,
            client_name: Some("Grafana".into()),
            scopes: vec!["openid".into(), "email".into()],
        },
        AuthorizeStep {
            step: "redirect".into(),
            location: Some("https://app.example/cb?code=x&state=y".into()),
            client_name: None,
            scopes: vec![],
        },
    ];
    AppsReply => [
        AppsReply { apps: vec![], sessions: vec![] },
        AppsReply {
            apps: vec![AppSummary {
                client_id: "c1".into(),
                name: "Grafana".into(),
                scopes: vec!["openid".into(), "groups".into()],
                granted_at: "2026-12-01T10:00:00Z".into(),
            }],
            sessions: vec![SessionEntry {
                id: "s1".into(),
                browser: "Firefox on Linux".into(),
                ip_prefix: "203.0.113.0/24".into(),
                signed_in_at: "2026-12-01T10:00:00Z".into(),
                last_confirmed_at: "2026-12-01T10:00:00Z".into(),
                last_seen_at: "2026-12-01T10:05:00Z".into(),
                current: true,
            }],
        },
    ];
    () => [()];
}

fn session(totp: bool, recovery_codes_left: u64, passkeys: u64) -> SessionInfo {
    SessionInfo {
        user_name: "Ada".into(),
        created_at: "2026-11-01T10:00:00Z".into(),
        password_changed_at: "2026-11-02T10:00:00Z".into(),
        expires_at: "2026-11-28T10:00:00Z".into(),
        totp,
        recovery_codes_left,
        reauth_until: "2026-11-28T10:05:00Z".into(),
        passkeys,
        email: None,
        email_verified: false,
    }
}

/// The options stay JSON text; equal means the same JSON, however it is spaced.
impl Example for PasskeyChallenge {
    fn examples() -> Vec<Self> {
        let options = r#"{"publicKey": {"challenge": "Y2hhbA", "rp": {"name": "Accounts"},
            "timeout": 300000, "userVerification": "preferred", "allowCredentials": []}}"#;
        vec![PasskeyChallenge {
            ceremony: "c-123".into(),
            options: RawValue::from_string(options.into()).unwrap(),
        }]
    }

    fn same(&self, other: &Self) -> bool {
        let parse = |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).unwrap();
        self.ceremony == other.ceremony && parse(&self.options) == parse(&other.options)
    }
}

#[test]
fn unknown_members_are_ignored_and_null_or_absent_ones_take_their_defaults() {
    let reply = json!({"user_name": "Ada", "message": "ok", "added_later": {"x": [1, 2]}});
    assert_eq!(
        read::<AccountReply, _>(reply),
        Some(AccountReply {
            user_name: "Ada".into(),
            message: "ok".into()
        })
    );
    let older_server = json!({
        "user_name": "Ada",
        "created_at": "2026-11-01T10:00:00Z",
        "password_changed_at": "2026-11-02T10:00:00Z",
        "expires_at": "2026-11-28T10:00:00Z",
        "totp": null,
    });
    assert_eq!(
        read::<SessionInfo, _>(older_server),
        Some(SessionInfo {
            reauth_until: String::new(),
            ..session(false, 0, 0)
        })
    );
    let never_used = json!({"id": "x", "name": "Key", "created_at": "t", "last_used_at": null});
    assert_eq!(
        read::<PasskeySummary, _>(never_used).and_then(|p| p.last_used_at),
        None
    );
}

#[test]
fn a_code_this_version_does_not_know_is_unknown() {
    let mut json = serde_json::to_value(Problem::new(ErrorCode::Internal, "x")).unwrap();
    json["code"] = json!("brand_new_code");
    assert_eq!(
        read::<Problem, _>(json).map(|p| p.code),
        Some(ErrorCode::Unknown)
    );
}

#[test]
fn replies_of_another_shape_are_not_ours() {
    let reply = || serde_json::to_value(Problem::new(ErrorCode::Internal, "x")).unwrap();
    let with = |key: &str, value: Value| {
        let mut json = reply();
        json[key] = value;
        json
    };
    assert!(read::<Problem, _>(reply()).is_some());
    for not_ours in [
        with("status", json!("500")),
        with("status", json!(500.5)),
        with("status", json!(70_000)),
        with("status", json!(-1)),
        with("detail", Value::Null),
        with("code", json!(7)),
        with("errors", json!({"field": "x"})),
        json!([reply()]),
        json!("Internal error"),
        Value::Null,
    ] {
        assert_eq!(read::<Problem, _>(not_ours.clone()), None, "{not_ours}");
    }
    assert_eq!(
        read::<RecoveryCodes, _>(json!({"recovery_codes": ["a", 1]})),
        None
    );
    assert_eq!(read::<Vec<PasskeySummary>, _>(json!({"id": "x"})), None);
}
