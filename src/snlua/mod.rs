//! snlua, the Lua service host, built into the core as the module `snlua` (a
//! `cservice/snlua.so` found on `cpath` still wins, as for every module).
//!
//! - `host`: the service's Lua state, its setup and the run of the loader;
//! - `alloc`: the state's allocator, with the memory limit and the "Memory warning" reports;
//! - `trap`: `signal 0`, which breaks Lua code stuck in a loop;
//! - `profile`: `skynet.profile`, per-coroutine cpu time;
//! - `codecache`: `skynet.codecache`.
//!
//! Everything here talks to Lua through the C API of the process's one Lua (`crate::lua`).

mod alloc;
mod codecache;
mod host;
mod profile;
mod trap;

use crate::lua::{lua_State, lua_getallocf};
use crate::module::Builtin;
use host::Snlua;
use std::ffi::{c_char, c_int, c_void, CStr};

pub const BUILTINS: &[Builtin] = &[Builtin {
    name: "snlua",
    create: Some(create),
    init,
    release: Some(release),
    signal: Some(signal),
}];

/// The Snlua behind a state or any of its threads (its allocator's user data).
///
/// # Safety
/// `l` is a live state (or thread) of a snlua service.
unsafe fn host_of<'a>(l: *mut lua_State) -> &'a Snlua {
    let mut ud: *mut c_void = std::ptr::null_mut();
    // SAFETY: lua_getallocf only reads the state's allocator and its user data.
    unsafe { lua_getallocf(l, &mut ud) };
    // SAFETY: every snlua state is created with its Snlua as allocator user data.
    unsafe { &*(ud as *const Snlua) }
}

unsafe extern "C" fn create() -> *mut c_void {
    Snlua::create() as *mut c_void
}

/// # Safety
/// `inst` comes from `create`, `ctx` is the live context, `args` NULL or NUL-terminated.
unsafe extern "C" fn init(inst: *mut c_void, ctx: *mut c_void, args: *const c_char) -> c_int {
    // SAFETY: as documented.
    let (host, ctx) = unsafe { (&*(inst as *const Snlua), crate::ffi::context(ctx)) };
    let Some(ctx) = ctx else { return 1 };
    let args = if args.is_null() {
        &[][..]
    } else {
        // SAFETY: a non-null `args` is NUL-terminated.
        unsafe { CStr::from_ptr(args) }.to_bytes()
    };
    host.init(ctx, args)
}

/// # Safety
/// `inst` comes from `create`; the core releases it once, when its service is gone.
unsafe extern "C" fn release(inst: *mut c_void) {
    // SAFETY: as documented.
    unsafe { Snlua::release(inst as *mut Snlua) }
}

/// `signal 0` breaks the running Lua code; `signal 1` logs the state's memory.
///
/// # Safety
/// `inst` comes from `create` and is live; any thread may call this.
unsafe extern "C" fn signal(inst: *mut c_void, sig: c_int) {
    // SAFETY: as documented.
    let host = unsafe { &*(inst as *const Snlua) };
    crate::log::error(host.handle(), &format!("recv a signal {sig}"));
    match sig {
        // SAFETY: the instance owns a live state.
        0 => unsafe { trap::raise(host) },
        1 => crate::log::error(host.handle(), &format!("Current Memory {:.3}K", host.memory.used() as f32 / 1024.0)),
        _ => {}
    }
}
