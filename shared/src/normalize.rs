//! Unicode NFKC normalisation, from the platform where it is free.

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
