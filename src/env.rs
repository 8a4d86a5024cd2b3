//! The node's environment: every config key, plus what services set at run time.
//! Values are never freed, so the C strings handed out by skynet_getenv stay valid.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::{Mutex, OnceLock};

fn table() -> &'static Mutex<HashMap<String, &'static CStr>> {
    static ENV: OnceLock<Mutex<HashMap<String, &'static CStr>>> = OnceLock::new();
    ENV.get_or_init(|| Mutex::new(HashMap::new()))
}

pub fn get_c(key: &str) -> Option<&'static CStr> {
    table().lock().unwrap_or_else(|e| e.into_inner()).get(key).copied()
}

pub fn get(key: &str) -> Option<String> {
    get_c(key).map(|v| v.to_string_lossy().into_owned())
}

/// Sets `key` once; an existing key keeps its value (as upstream, which refuses to reset).
pub fn set(key: &str, value: &str) -> Result<(), String> {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    if t.contains_key(key) {
        return Err(format!("env key `{key}` is already set"));
    }
    let v = CString::new(value).map_err(|_| format!("env value of `{key}` contains NUL"))?;
    t.insert(key.to_owned(), Box::leak(v.into_boxed_c_str()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_once_then_read() {
        set("env_test_key", "v1").unwrap();
        assert_eq!(get("env_test_key").as_deref(), Some("v1"));
        assert!(set("env_test_key", "v2").is_err());
        assert_eq!(get("env_test_key").as_deref(), Some("v1"));
        assert_eq!(get("env_test_missing"), None);
    }
}
