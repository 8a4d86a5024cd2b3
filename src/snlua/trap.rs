//! The trap that breaks a service stuck in Lua code: `signal 0` (from any thread) installs a
//! count hook on the coroutine running now, and the hook raises the error "signal 0" there.
//!
//! The host remembers which coroutine runs (every resume goes through `resume`), so the
//! signalling thread knows where to put the hook. The flag is 0 (idle), 1 (a thread is
//! installing the hook) or -1 (installed, not fired yet).

use super::host::Snlua;
use super::host_of;
use crate::ffi::lua::*;
use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering::SeqCst};

const IDLE: i32 = 0;
const SETTING: i32 = 1;
const ARMED: i32 = -1;

#[derive(Default)]
pub struct Trap {
    /// The coroutine running now (null: the main state).
    active: AtomicPtr<lua_State>,
    flag: AtomicI32,
}

impl Trap {
    pub fn new() -> Trap {
        Trap::default()
    }

    /// Claims the trap (idle -> setting); false if it is already set or being set.
    fn claim(&self) -> bool {
        self.flag.compare_exchange(IDLE, SETTING, SeqCst, SeqCst).is_ok()
    }

    fn armed(&self) {
        let _ = self.flag.compare_exchange(SETTING, ARMED, SeqCst, SeqCst);
    }

    fn is_set(&self) -> bool {
        self.flag.load(SeqCst) != IDLE
    }

    /// Fires the trap once: true if it was set (and is now idle again).
    fn fire(&self) -> bool {
        self.flag.swap(IDLE, SeqCst) != IDLE
    }
}

/// The count hook: removes itself and raises "signal 0" if the trap is set.
///
/// # Safety
/// Lua calls it as a count hook on the running thread `l` of a snlua service.
unsafe extern "C" fn signal_hook(l: *mut lua_State, _ar: *mut lua_Debug) {
    // SAFETY: Lua calls the hook with the running thread of a snlua state.
    let host = unsafe { host_of(l) };
    // SAFETY: removing the hook of the running thread, from the hook itself.
    unsafe { lua_sethook(l, None, 0, 0) };
    if host.trap.fire() {
        // SAFETY: raising a Lua error from a hook; this frame holds nothing to drop.
        unsafe { luaL_error(l, c"signal 0".as_ptr()) };
    }
}

/// Records `l` as the running coroutine, hooking it if the trap is set.
///
/// # Safety
/// `l` is a live thread of the state owned by `host`, run by the calling thread.
unsafe fn switch_to(l: *mut lua_State, host: &Snlua) {
    host.trap.active.store(l, SeqCst);
    if host.trap.is_set() {
        // SAFETY: as documented; the hook is installed on a live thread.
        unsafe { lua_sethook(l, Some(signal_hook), LUA_MASKCOUNT, 1) };
    }
}

/// `lua_resume` that keeps track of the running coroutine for the trap.
///
/// # Safety
/// As lua_resume: `co` is a thread of the state `from` belongs to, with `nargs` values pushed.
pub unsafe fn resume(co: *mut lua_State, from: *mut lua_State, nargs: c_int, nresults: &mut c_int) -> c_int {
    // SAFETY: `co` is a thread of a snlua state.
    let host = unsafe { host_of(co) };
    // SAFETY: `co` is live and about to run on this thread.
    unsafe { switch_to(co, host) };
    // SAFETY: as documented.
    let status = unsafe { lua_resume(co, from, nargs, nresults) };
    // A signal may be installing its hook on `co` right now: let it finish before moving on.
    while host.trap.flag.load(SeqCst) == SETTING {
        std::hint::spin_loop();
    }
    // SAFETY: `from` is the live thread that resumed `co`, running again on this thread.
    unsafe { switch_to(from, host) };
    status
}

/// `signal 0`: makes the service's running Lua code raise "signal 0" at its next instruction
/// (or the next time it runs, if it is idle). Callable from any thread.
///
/// # Safety
/// `host` owns a live state.
pub unsafe fn raise(host: &Snlua) {
    if host.trap.is_set() || !host.trap.claim() {
        return;
    }
    let active = host.trap.active.load(SeqCst);
    let target = if active.is_null() { host.state() } else { active };
    // SAFETY: lua_sethook is the one Lua call meant to be made asynchronously (as from a
    // signal handler); `target` is the running coroutine or the main state, both live.
    unsafe { lua_sethook(target, Some(signal_hook), LUA_MASKCOUNT, 1) };
    host.trap.armed();
}
