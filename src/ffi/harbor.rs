//! skynet_harbor.h.

use super::context;
use crate::handle::registry;
use crate::harbor::{self, RemoteMessage};
use std::ffi::{c_int, c_void};

/// # Safety
/// `rmsg` is a malloc'd remote_message whose ownership (with its payload) passes on.
#[no_mangle]
pub unsafe extern "C" fn skynet_harbor_send(rmsg: *mut RemoteMessage, source: u32, session: c_int) {
    if !rmsg.is_null() {
        // SAFETY: as documented.
        unsafe { harbor::send_raw(rmsg, source, session) };
    }
}

#[no_mangle]
pub extern "C" fn skynet_harbor_message_isremote(handle: u32) -> c_int {
    harbor::is_remote(handle) as c_int
}

#[no_mangle]
pub extern "C" fn skynet_harbor_init(harbor: c_int) {
    harbor::init(harbor as u32);
}

/// # Safety
/// `ctx` is the live context of the harbor service.
#[no_mangle]
pub unsafe extern "C" fn skynet_harbor_start(ctx: *mut c_void) {
    // SAFETY: as documented.
    if let Some(c) = unsafe { context(ctx) } {
        if let Some(arc) = registry().grab(c.handle()) {
            harbor::start(&arc);
        }
    }
}

#[no_mangle]
pub extern "C" fn skynet_harbor_exit() {
    harbor::exit();
}
