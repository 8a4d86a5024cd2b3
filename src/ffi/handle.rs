//! skynet_handle.h: the handle registry.

use super::{context, result, text};
use crate::handle::{self, registry};
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

/// Contexts are registered when the core creates them; this returns that handle.
///
/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn skynet_handle_register(ctx: *mut c_void) -> u32 {
    // SAFETY: as documented.
    unsafe { context(ctx) }.map_or(0, |c| c.handle())
}

#[no_mangle]
pub extern "C" fn skynet_handle_retire(handle: u32) -> c_int {
    registry().retire(handle) as c_int
}

/// Returns a referenced context (release it with skynet_context_release), or NULL.
#[no_mangle]
pub extern "C" fn skynet_handle_grab(handle: u32) -> *mut c_void {
    registry().grab(handle).map_or(std::ptr::null_mut(), |c| Arc::into_raw(c) as *mut c_void)
}

#[no_mangle]
pub extern "C" fn skynet_handle_retireall() {
    for h in registry().handles() {
        registry().retire(h);
    }
}

/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_handle_findname(name: *const c_char) -> u32 {
    // SAFETY: as documented.
    unsafe { text(name) }.map_or(0, |n| registry().find_name(&n))
}

/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_handle_namehandle(handle: u32, name: *const c_char) -> *const c_char {
    // SAFETY: as documented.
    match unsafe { text(name) } {
        Some(n) if registry().bind_name(handle, &n) => result(n.into_owned()),
        _ => std::ptr::null(),
    }
}

#[no_mangle]
pub extern "C" fn skynet_handle_init(harbor: c_int, _thread: c_int) {
    handle::init(harbor as u32);
}

#[no_mangle]
pub extern "C" fn skynet_handle_register_thread() {}
