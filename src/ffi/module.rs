//! skynet_module.h.

use super::text;
use crate::module::{self, Module};
use std::ffi::{c_char, c_int, c_void, CStr};

/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_query(name: *const c_char) -> *const Module {
    // SAFETY: as documented.
    unsafe { text(name) }
        .and_then(|n| module::query(&n))
        .map_or(std::ptr::null(), |m| m as *const Module)
}

/// # Safety
/// `m` comes from skynet_module_query.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_create(m: *const Module) -> *mut c_void {
    // SAFETY: as documented.
    unsafe { m.as_ref() }.map_or(std::ptr::null_mut(), |m| m.create_instance())
}

/// # Safety
/// `m` from skynet_module_query, `inst` from its create, `ctx` a live context, `parm` a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_init(
    m: *const Module,
    inst: *mut c_void,
    ctx: *mut c_void,
    parm: *const c_char,
) -> c_int {
    // SAFETY: as documented.
    let Some(m) = (unsafe { m.as_ref() }) else { return 1 };
    // SAFETY: as documented.
    let parm = (!parm.is_null()).then(|| unsafe { CStr::from_ptr(parm) });
    // SAFETY: as documented.
    unsafe { m.init_instance(inst, ctx, parm) }
}

/// # Safety
/// `m` from skynet_module_query, `inst` from its create.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_release(m: *const Module, inst: *mut c_void) {
    // SAFETY: as documented.
    if let Some(m) = unsafe { m.as_ref() } {
        // SAFETY: `inst` came from this module's create (the caller's promise).
        unsafe { m.release_instance(inst) };
    }
}

/// # Safety
/// `m` from skynet_module_query, `inst` from its create.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_signal(m: *const Module, inst: *mut c_void, signal: c_int) {
    // SAFETY: as documented.
    if let Some(m) = unsafe { m.as_ref() } {
        // SAFETY: `inst` came from this module's create (the caller's promise).
        unsafe { m.signal_instance(inst, signal) };
    }
}

/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_init(path: *const c_char) {
    // SAFETY: as documented.
    if let Some(p) = unsafe { text(path) } {
        module::init(&p);
    }
}
