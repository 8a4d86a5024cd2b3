//! skynet_daemon.h.

use super::text;
use crate::daemon;
use std::ffi::{c_char, c_int};

/// # Safety
/// `pidfile` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn daemon_init(pidfile: *const c_char) -> c_int {
    // SAFETY: as documented.
    let Some(p) = (unsafe { text(pidfile) }) else { return 1 };
    match daemon::init(&p) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// # Safety
/// `pidfile` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn daemon_exit(pidfile: *const c_char) -> c_int {
    // SAFETY: as documented.
    if let Some(p) = unsafe { text(pidfile) } {
        daemon::exit(&p);
    }
    0
}
