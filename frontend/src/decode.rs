//! The server's JSON replies, read into the shared DTOs with the browser's `JSON.parse` and
//! property lookups instead of serde_json.
//!
//! Why: serde_json's parser plus serde's per-type visitors measured 19.9 KiB of the gzipped
//! download (191.4 KiB with them, 171.5 KiB without), and the app has a 180 KiB budget. The
//! types stay the shared crate's; only the reading is done here, where the browser already has
//! a JSON parser. Requests are still written with serde_json (its serializer is small). A reply
//! missing a field, or with one of the wrong type, is not ours: `None`.

use accounts_api::{
    AccountReply, ErrorCode, FieldError, LoginReply, PasswordPolicy, PolicyInfo, Problem,
    RecoveryCodes, SessionInfo, TotpSetup,
};
use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// A value read from a parsed JSON reply.
pub trait FromJs: Sized {
    /// `None` if `v` does not have this shape.
    fn from_js(v: &JsValue) -> Option<Self>;
}

/// Parses `text` and reads it as `T`.
pub fn from_text<T: FromJs>(text: &str) -> Option<T> {
    T::from_js(&JSON::parse(text).ok()?)
}

/// The property `key` of `v`, unless absent or `null`.
pub fn get(v: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn string(v: &JsValue, key: &str) -> Option<String> {
    get(v, key)?.as_string()
}

fn number(v: &JsValue, key: &str) -> Option<f64> {
    get(v, key)?.as_f64()
}

fn whole(v: &JsValue, key: &str) -> Option<u64> {
    number(v, key).filter(|n| *n >= 0.0).map(|n| n as u64)
}

fn list<T>(v: &JsValue, item: impl Fn(&JsValue) -> Option<T>) -> Option<Vec<T>> {
    let array: &Array = v.dyn_ref()?;
    array.iter().map(|e| item(&e)).collect()
}

fn code(v: &JsValue, key: &str) -> ErrorCode {
    let wire = string(v, key).unwrap_or_default();
    ErrorCode::ALL
        .iter()
        .copied()
        .find(|c| c.as_str() == wire)
        .unwrap_or(ErrorCode::Unknown)
}

impl FromJs for Problem {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Problem {
            type_uri: string(v, "type").unwrap_or_default(),
            title: string(v, "title").unwrap_or_default(),
            status: number(v, "status")? as u16,
            detail: string(v, "detail")?,
            code: code(v, "code"),
            errors: match get(v, "errors") {
                Some(errors) => list(&errors, |e| {
                    Some(FieldError {
                        field: string(e, "field")?,
                        code: code(e, "code"),
                        message: string(e, "message")?,
                    })
                })?,
                None => Vec::new(),
            },
            request_id: string(v, "request_id"),
        })
    }
}

impl FromJs for PolicyInfo {
    fn from_js(v: &JsValue) -> Option<Self> {
        let password = get(v, "password")?;
        Some(PolicyInfo {
            password: PasswordPolicy {
                min_length: whole(&password, "min_length")? as usize,
                max_length: whole(&password, "max_length")? as usize,
            },
            user_name_min_length: whole(v, "user_name_min_length")? as usize,
            user_name_max_length: whole(v, "user_name_max_length")? as usize,
            user_name_allowed: string(v, "user_name_allowed")?,
            password_max_age_secs: whole(v, "password_max_age_secs")?,
        })
    }
}

impl FromJs for SessionInfo {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(SessionInfo {
            user_name: string(v, "user_name")?,
            created_at: string(v, "created_at")?,
            password_changed_at: string(v, "password_changed_at")?,
            expires_at: string(v, "expires_at")?,
            totp: get(v, "totp").and_then(|b| b.as_bool()).unwrap_or(false),
            recovery_codes_left: whole(v, "recovery_codes_left").unwrap_or(0),
            passkeys: whole(v, "passkeys").unwrap_or(0),
        })
    }
}

impl FromJs for AccountReply {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(AccountReply {
            user_name: string(v, "user_name")?,
            message: string(v, "message")?,
        })
    }
}

impl FromJs for LoginReply {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(LoginReply {
            user_name: string(v, "user_name")?,
            message: string(v, "message")?,
            expires_at: string(v, "expires_at")?,
        })
    }
}

impl FromJs for TotpSetup {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(TotpSetup {
            secret: string(v, "secret")?,
            otpauth_uri: string(v, "otpauth_uri")?,
            qr_path: string(v, "qr_path")?,
            qr_size: whole(v, "qr_size")? as u32,
        })
    }
}

impl FromJs for RecoveryCodes {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(RecoveryCodes {
            recovery_codes: list(&get(v, "recovery_codes")?, JsValue::as_string)?,
        })
    }
}

/// A passkey of the account, as the Security page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// Its id, for removal.
    pub id: String,
    /// What the owner called it.
    pub name: String,
    /// When it was added (RFC 3339).
    pub created_at: String,
    /// When it last logged in, if ever.
    pub last_used_at: Option<String>,
}

impl FromJs for Passkey {
    fn from_js(p: &JsValue) -> Option<Self> {
        Some(Passkey {
            id: string(p, "id")?,
            name: string(p, "name")?,
            created_at: string(p, "created_at")?,
            last_used_at: string(p, "last_used_at"),
        })
    }
}

/// The passkey list (`GET /api/passkeys`).
impl FromJs for Vec<Passkey> {
    fn from_js(v: &JsValue) -> Option<Self> {
        list(v, Passkey::from_js)
    }
}

/// A WebAuthn ceremony started: its id and the options for the browser, kept as a JS value
/// (they go straight to `PublicKeyCredential.parse*OptionsFromJSON`).
#[derive(Debug, Clone)]
pub struct Ceremony {
    /// Sent back with the result.
    pub id: String,
    /// `{"publicKey": {...}}`.
    pub options: JsValue,
}

impl FromJs for Ceremony {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Ceremony {
            id: string(v, "ceremony")?,
            options: get(v, "options")?,
        })
    }
}

/// A reply with no body worth reading (`204`, or one the caller ignores).
impl FromJs for () {
    fn from_js(_: &JsValue) -> Option<Self> {
        Some(())
    }
}
