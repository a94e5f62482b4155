//! Unicode NFKC normalisation and lower case, from the platform where they are free (in the
//! browser, the JS engine has the tables; the WASM download need not carry them).

/// The NFKC form of `s`.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn nfkc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect()
}

/// The NFKC form of `s`, by the browser's `String.prototype.normalize`.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub fn nfkc(s: &str) -> String {
    js_sys::JsString::from(s)
        .normalize("NFKC")
        .as_string()
        .unwrap_or_else(|| s.to_owned())
}

/// `s` in lower case (Unicode).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn lowercase(s: &str) -> String {
    s.to_lowercase()
}

/// `s` in lower case, by the browser's `String.prototype.toLowerCase`.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub fn lowercase(s: &str) -> String {
    String::from(js_sys::JsString::from(s).to_lower_case())
}
