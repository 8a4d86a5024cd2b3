//! The few libc services the core modules use (clocks, signal dispositions), behind safe
//! functions.

use std::ffi::c_int;

/// A clock's reading in microseconds.
fn clock_us(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec we own.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Microseconds on the monotonic clock (a vDSO read).
pub fn monotonic_us() -> u64 {
    clock_us(libc::CLOCK_MONOTONIC)
}

/// This thread's cpu time in microseconds (a system call).
pub fn thread_cpu_us() -> u64 {
    clock_us(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Ignores SIGPIPE (every skynet node does) and runs `on_hangup` on SIGHUP, with every signal
/// blocked meanwhile. `on_hangup` must be async-signal-safe (e.g. store an atomic only).
pub fn install_signals(on_hangup: extern "C" fn(c_int)) {
    // SAFETY: a zeroed sigaction is a valid value to fill; the handler is a plain extern fn
    // (async-signal-safety is this function's documented contract with the caller).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_hangup as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigfillset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGHUP, &sa, std::ptr::null_mut());
    }
}

/// `ctime` format ("Wed Jun 30 21:49:08 1993") of a Unix time, in local time.
pub fn ctime(secs: u64) -> String {
    let t = secs as libc::time_t;
    let mut buf = [0 as libc::c_char; 32];
    // SAFETY: ctime_r writes at most 26 bytes into the buffer.
    let p = unsafe { libc::ctime_r(&t, buf.as_mut_ptr()) };
    // SAFETY: ctime_r NUL-terminates its output (or returns NULL).
    match unsafe { super::text(p) } {
        Some(s) => s.trim_end().to_string(),
        None => secs.to_string(),
    }
}
