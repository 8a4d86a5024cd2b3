//! skynet_monitor.h.

use crate::monitor::Monitor;

#[no_mangle]
pub extern "C" fn skynet_monitor_new() -> *mut Monitor {
    Box::into_raw(Box::new(Monitor::new()))
}

/// # Safety
/// `m` comes from skynet_monitor_new and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn skynet_monitor_delete(m: *mut Monitor) {
    if !m.is_null() {
        // SAFETY: as documented.
        drop(unsafe { Box::from_raw(m) });
    }
}

/// # Safety
/// `m` comes from skynet_monitor_new.
#[no_mangle]
pub unsafe extern "C" fn skynet_monitor_trigger(m: *mut Monitor, source: u32, destination: u32) {
    // SAFETY: as documented.
    if let Some(m) = unsafe { m.as_ref() } {
        m.trigger(source, destination);
    }
}

/// # Safety
/// `m` comes from skynet_monitor_new.
#[no_mangle]
pub unsafe extern "C" fn skynet_monitor_check(m: *mut Monitor) {
    // SAFETY: as documented.
    if let Some(m) = unsafe { m.as_ref() } {
        m.check();
    }
}
