//! skynet_timer.h.

use crate::timer;
use std::ffi::c_int;

#[no_mangle]
pub extern "C" fn skynet_timeout(handle: u32, time: c_int, session: c_int) -> c_int {
    timer::timeout(handle, time, session)
}

#[no_mangle]
pub extern "C" fn skynet_updatetime() {
    timer::update();
}

#[no_mangle]
pub extern "C" fn skynet_starttime() -> u32 {
    timer::start_time()
}

#[no_mangle]
pub extern "C" fn skynet_thread_time() -> u64 {
    timer::thread_time()
}

#[no_mangle]
pub extern "C" fn skynet_timer_init() {
    timer::init();
}
