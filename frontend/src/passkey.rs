//! The browser's WebAuthn calls. The server's options are in WebAuthn's JSON form, which
//! `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` read, and
//! the result comes back with `toJSON()`: no binary handling on this side, and no bindings
//! beyond a few property lookups.

use js_sys::{Function, Object, Promise, Reflect, JSON};
use serde_json::value::RawValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `navigator.credentials.create()` with creation options (the challenge's JSON text); the
/// new credential's JSON form.
pub async fn create(options: &RawValue) -> Result<JsValue, String> {
    ceremony(options, "parseCreationOptionsFromJSON", "create").await
}

/// `navigator.credentials.get()` with request options (the challenge's JSON text); the
/// assertion's JSON form.
pub async fn get(options: &RawValue) -> Result<JsValue, String> {
    ceremony(options, "parseRequestOptionsFromJSON", "get").await
}

async fn ceremony(options: &RawValue, parse: &str, method: &str) -> Result<JsValue, String> {
    let unsupported = || "This browser cannot use passkeys.".to_owned();
    let window: JsValue = leptos::prelude::window().into();
    let class = prop(&window, "PublicKeyCredential").ok_or_else(unsupported)?;
    let parse = function(&class, parse).ok_or_else(unsupported)?;
    let options = JSON::parse(options.get()).map_err(explain)?;
    let json = prop(&options, "publicKey").ok_or_else(unsupported)?;
    let public_key = parse.call1(&class, &json).map_err(explain)?;
    let init = Object::new();
    Reflect::set(&init, &"publicKey".into(), &public_key).map_err(explain)?;
    let credentials = prop(&window, "navigator")
        .and_then(|n| prop(&n, "credentials"))
        .ok_or_else(unsupported)?;
    let call = function(&credentials, method).ok_or_else(unsupported)?;
    let promise: Promise = call
        .call1(&credentials, &init)
        .map_err(explain)?
        .dyn_into()
        .map_err(explain)?;
    let credential = JsFuture::from(promise).await.map_err(explain)?;
    let to_json = function(&credential, "toJSON").ok_or_else(unsupported)?;
    to_json.call0(&credential).map_err(explain)
}

fn prop(target: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(target, &name.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn function(target: &JsValue, name: &str) -> Option<Function> {
    prop(target, name)?.dyn_into().ok()
}

/// A browser error in words: cancelling (or no passkey for this site) is `NotAllowedError`.
fn explain(e: JsValue) -> String {
    match prop(&e, "name").and_then(|n| n.as_string()).as_deref() {
        Some("NotAllowedError") => {
            "No passkey was used: the request was cancelled or timed out.".to_owned()
        }
        Some("InvalidStateError") => {
            "This device already holds a passkey for this account.".to_owned()
        }
        Some("SecurityError") => {
            "Passkeys work only at the service's own address (its public URL).".to_owned()
        }
        _ => prop(&e, "message")
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "The passkey request failed.".to_owned()),
    }
}
