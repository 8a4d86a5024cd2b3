//! skynet_env.h.

use super::text;
use crate::{env, log};
use std::ffi::c_char;

/// # Safety
/// `key` is NULL or a NUL-terminated string. The result stays valid for the process.
#[no_mangle]
pub unsafe extern "C" fn skynet_getenv(key: *const c_char) -> *const c_char {
    // SAFETY: as documented.
    unsafe { text(key) }.and_then(|k| env::get_c(&k)).map_or(std::ptr::null(), |v| v.as_ptr())
}

/// # Safety
/// `key`, `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn skynet_setenv(key: *const c_char, value: *const c_char) {
    // SAFETY: as documented.
    let (key, value) = unsafe { (text(key), text(value)) };
    if let Some(k) = key {
        if let Err(e) = env::set(&k, &value.unwrap_or_default()) {
            log::error(0, &format!("error: skynet_setenv: {e}"));
        }
    }
}

#[no_mangle]
pub extern "C" fn skynet_env_init() {}
