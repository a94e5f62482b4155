//! The server's JSON replies, read into the shared DTOs with the browser's `JSON.parse` and
//! property lookups instead of serde_json's parser.
//!
//! Why: serde_json's parser measured 19.9 KiB of the gzipped download together with the
//! visitors it instantiates (191.4 KiB with it, 171.5 KiB without), and the app has a 180 KiB
//! budget. The browser already has a JSON parser, so only a thin serde `Deserializer` over its
//! values is ours (the `reader` module). The shared types' own `Deserialize` impls drive it, so
//! the key names, defaults and the error-code table are serde's, written once in
//! `accounts-api`. (Those derived impls measured 4.2 KiB gzipped more than hand-written
//! readers that retyped every key: the price of naming each key once.)
//!
//! The reader sees values through [`Json`], which the app implements for `JsValue` and the
//! host tests for `serde_json::Value`: the same decoding runs natively under `cargo test`.
//! A reply missing a field, or with one of the wrong type, is not ours: `None`.

mod reader;
#[cfg(test)]
mod tests;

use accounts_api::{
    AccountReply, AppsReply, AuthorizeStep, LoginReply, MessageReply, PasskeyChallenge,
    PasskeySummary, PolicyInfo, Problem, ReauthReply, RecoveryCodes, SessionInfo, TotpSetup,
};
use js_sys::{Array, Reflect, JSON};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

/// A parsed JSON value, as far as the decoder looks into it: one question per kind, so each
/// field's decoding asks only about the kind it wants.
pub trait Json: Sized {
    /// `null` (or, from the browser, `undefined`).
    fn is_null(&self) -> bool;
    /// `true` or `false`.
    fn boolean(&self) -> Option<bool>;
    /// A number (JSON numbers are doubles in the browser).
    fn number(&self) -> Option<f64>;
    /// A string.
    fn string(&self) -> Option<String>;
    /// An array's items.
    fn items(&self) -> Option<Vec<Self>>;
    /// Whether this is an object (whose members [`Json::member`] looks up by name: structs
    /// know their keys).
    fn is_object(&self) -> bool;
    /// The member `key` of an object; `None` if absent, `null`, or this is not an object.
    fn member(&self, key: &str) -> Option<Self>;
    /// The value as JSON text again (for `RawValue` fields, which keep JSON as text).
    fn to_text(&self) -> Option<String>;
}

impl Json for JsValue {
    fn is_null(&self) -> bool {
        self.is_null() || self.is_undefined()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn string(&self) -> Option<String> {
        self.as_string()
    }

    fn items(&self) -> Option<Vec<Self>> {
        Some(self.dyn_ref::<Array>()?.iter().collect())
    }

    fn is_object(&self) -> bool {
        self.is_object()
    }

    fn member(&self, key: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        Reflect::get(self, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn to_text(&self) -> Option<String> {
        JSON::stringify(self).ok().map(String::from)
    }
}

/// A type the app reads from the server. [`crate::api`] reads only these, and the list below
/// is also the list of round-trip tests: a type added here without test examples does not
/// compile under `cargo test`.
pub trait Reply: DeserializeOwned {}

/// Marks each reply type and tests each one's round trip (serde_json writes it, [`read`]
/// reads it back equal).
macro_rules! replies {
    ($($reply:ty),* $(,)?) => {
        $(impl Reply for $reply {})*

        #[cfg(test)]
        #[test]
        fn every_reply_type_round_trips() {
            $(tests::round_trip::<$reply>();)*
        }
    };
}

replies! {
    Problem,
    PolicyInfo,
    SessionInfo,
    ReauthReply,
    MessageReply,
    AccountReply,
    LoginReply,
    TotpSetup,
    RecoveryCodes,
    PasskeyChallenge,
    PasskeySummary,
    Vec<PasskeySummary>,
    AuthorizeStep,
    AppsReply,
    (),
}

/// Parses `text` with the browser and reads it as `T`.
pub fn from_text<T: Reply>(text: &str) -> Option<T> {
    read(JSON::parse(text).ok()?)
}

/// Reads a parsed value as `T`.
pub fn read<T: Reply, V: Json>(value: V) -> Option<T> {
    T::deserialize(reader::Reader(value)).ok()
}
