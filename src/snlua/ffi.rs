//! The C entry points of the Lua host: the module's `_create/_init/_release/_signal` (called
//! by the core with the instance pointer) and the allocator and seed of every state (called
//! by Lua with the `Snlua` as user data). Each turns its raw pointers into the host's own
//! types and calls the safe code in host.rs and alloc.rs.

use super::alloc::{mib, Verdict};
use super::host::Snlua;
use super::trap;
use crate::ffi::lua::{lua_State, lua_getallocf};
use crate::{log, memory};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The Snlua behind a state or any of its threads (its allocator's user data).
///
/// # Safety
/// `l` is a live state (or thread) of a snlua service.
pub(super) unsafe fn host_of<'a>(l: *mut lua_State) -> &'a Snlua {
    let mut ud: *mut c_void = std::ptr::null_mut();
    // SAFETY: lua_getallocf only reads the state's allocator and its user data.
    unsafe { lua_getallocf(l, &mut ud) };
    // SAFETY: every snlua state is created with its Snlua as allocator user data.
    unsafe { &*(ud as *const Snlua) }
}

/// # Safety
/// Called by the core as the module's `_create`, with no preconditions.
pub(super) unsafe extern "C" fn create() -> *mut c_void {
    Snlua::create() as *mut c_void
}

/// # Safety
/// `inst` comes from `create`, `ctx` is the live context, `args` NULL or NUL-terminated.
pub(super) unsafe extern "C" fn init(inst: *mut c_void, ctx: *mut c_void, args: *const c_char) -> c_int {
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
pub(super) unsafe extern "C" fn release(inst: *mut c_void) {
    // SAFETY: as documented.
    unsafe { Snlua::release(inst as *mut Snlua) }
}

/// `signal 0` breaks the running Lua code; `signal 1` logs the state's memory.
///
/// # Safety
/// `inst` comes from `create` and is live; any thread may call this.
pub(super) unsafe extern "C" fn signal(inst: *mut c_void, sig: c_int) {
    // SAFETY: as documented.
    let host = unsafe { &*(inst as *const Snlua) };
    log::error(host.handle(), &format!("recv a signal {sig}"));
    match sig {
        // SAFETY: the instance owns a live state.
        0 => unsafe { trap::raise(host) },
        1 => log::error(host.handle(), &format!("Current Memory {:.3}K", host.memory.used() as f32 / 1024.0)),
        _ => {}
    }
}

/// The `lua_Alloc` of every snlua state; `ud` is the service's `Snlua`.
///
/// # Safety
/// Lua calls it with the `ud` given to lua_newstate (a live Snlua) and its own blocks.
pub unsafe extern "C" fn lalloc(ud: *mut c_void, ptr: *mut c_void, osize: usize, nsize: usize) -> *mut c_void {
    // SAFETY: `ud` is the Snlua the state was created with; it outlives the state.
    let host = unsafe { &*(ud as *const Snlua) };
    match host.memory.account(!ptr.is_null(), osize, nsize) {
        Verdict::Refuse => std::ptr::null_mut(),
        Verdict::Grant(warn) => {
            if let Some(bytes) = warn {
                log::error(host.handle(), &format!("Memory warning {:.2} M", mib(bytes)));
            }
            // SAFETY: `ptr` is null or a block this allocator returned before.
            unsafe { memory::lua_alloc(ptr, nsize) }
        }
    }
}

/// One hash seed for every service's state, made on first use (as upstream, so strings hash
/// alike in all states).
pub fn global_seed() -> u32 {
    static SEED: AtomicU32 = AtomicU32::new(0);
    let seed = SEED.load(Relaxed);
    if seed != 0 {
        return seed;
    }
    // SAFETY: luaL_makeseed does not use its state argument.
    let fresh = match unsafe { crate::ffi::lua::luaL_makeseed(std::ptr::null_mut::<lua_State>()) } {
        0 => 1,
        s => s,
    };
    match SEED.compare_exchange(0, fresh, Relaxed, Relaxed) {
        Ok(_) => fresh,
        Err(existing) => existing,
    }
}

