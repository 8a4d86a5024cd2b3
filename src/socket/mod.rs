//! The socket server (placeholder until it lands): the thread waits for exit.

use std::sync::{Condvar, Mutex};

static EXIT: Mutex<bool> = Mutex::new(false);
static WAKE: Condvar = Condvar::new();

pub fn init() {}

/// One round of the socket thread: 0 once the server is told to exit.
pub fn poll() -> i32 {
    let mut quit = EXIT.lock().unwrap_or_else(|e| e.into_inner());
    while !*quit {
        quit = WAKE.wait(quit).unwrap_or_else(|e| e.into_inner());
    }
    0
}

pub fn exit() {
    *EXIT.lock().unwrap_or_else(|e| e.into_inner()) = true;
    WAKE.notify_all();
}

pub fn update_time() {}

pub fn free() {}
