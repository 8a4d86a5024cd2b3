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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lua::*;
    use std::time::Duration;

    /// A snlua state set up as for a service (without a context), released on drop.
    struct State(*mut Snlua);

    impl State {
        fn new() -> State {
            let host = Snlua::create();
            assert!(!host.is_null());
            let s = State(host);
            // SAFETY: a fresh state on this thread; prepare is run protected.
            let status = unsafe {
                let l = (*host).state();
                lua_pushcclosure(l, host::prepare, 0);
                lua_pushlightuserdata(l, std::ptr::null_mut());
                pcall(l, 1, 0, 0)
            };
            assert_eq!(status, LUA_OK);
            s
        }

        fn host(&self) -> &Snlua {
            // SAFETY: the instance lives until drop.
            unsafe { &*self.0 }
        }

        /// Runs a chunk; its error message if it fails.
        fn run(&self, code: &str) -> Result<(), String> {
            let l = self.host().state();
            // SAFETY: loading and calling a chunk on the state, protected.
            unsafe {
                let status = luaL_loadbufferx(l, code.as_ptr() as _, code.len(), c"=test".as_ptr(), std::ptr::null());
                let status = if status == LUA_OK { pcall(l, 0, 0, 0) } else { status };
                if status == LUA_OK {
                    Ok(())
                } else {
                    let msg = to_string(l, -1).unwrap_or_default();
                    lua_settop(l, 0);
                    Err(msg)
                }
            }
        }

        /// Signals 0 from another thread after `ms` milliseconds.
        fn signal_later(&self, ms: u64) -> std::thread::JoinHandle<()> {
            let inst = self.0 as usize;
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                // SAFETY: the instance outlives the thread (joined before drop).
                unsafe { signal(inst as *mut c_void, 0) };
            })
        }
    }

    impl Drop for State {
        fn drop(&mut self) {
            // SAFETY: created by Snlua::create, released once.
            unsafe { Snlua::release(self.0) };
        }
    }

    #[test]
    fn signal_breaks_a_loop_in_the_main_state() {
        let s = State::new();
        let t = s.signal_later(100);
        let err = s.run("local n = 0 while true do n = n + 1 end").unwrap_err();
        t.join().unwrap();
        assert!(err.ends_with("signal 0"), "{err}");
        s.run("x = 1").unwrap();
    }

    #[test]
    fn signal_breaks_a_loop_in_a_coroutine_and_only_there() {
        let s = State::new();
        let t = s.signal_later(100);
        s.run(
            "local co = coroutine.create(function() while true do end end)
             local ok, err = coroutine.resume(co)
             assert(not ok and err:find('signal 0'), err)
             local w = coroutine.wrap(function() local n = 0 for i = 1, 1000 do n = n + i end return n end)
             assert(w() == 500500)",
        )
        .unwrap();
        t.join().unwrap();
        // A signal to an idle state breaks the next code it runs.
        // SAFETY: the instance is live.
        unsafe { signal(s.0 as *mut c_void, 0) };
        assert!(s.run("local x = 1").unwrap_err().ends_with("signal 0"));
        s.run("local x = 1").unwrap();
    }

    #[test]
    fn the_limit_refuses_growth() {
        let s = State::new();
        s.run("collectgarbage() big = {}").unwrap();
        let used = s.host().memory.used();
        s.host().memory.set_limit(used + 256 * 1024);
        let err = s.run("for i = 1, 100000 do big[i] = string.rep('x', 100) .. i end").unwrap_err();
        assert!(err.contains("not enough memory"), "{err}");
        assert!(s.host().memory.used() <= used + 256 * 1024);
        s.host().memory.set_limit(0);
        s.run("big = nil collectgarbage() local t = {} for i = 1, 100 do t[i] = i end").unwrap();
    }

    #[test]
    fn the_host_libraries_are_in_place() {
        let s = State::new();
        s.run(
            "local p = require 'skynet.profile'
             assert(coroutine.resume == p.resume and coroutine.wrap == p.wrap)
             local c = require 'skynet.codecache'
             assert(c.mode() == 'ON' and c.loadfile == loadfile)
             assert(LUA_PATH and LUA_CPATH and LUA_SERVICE and LUA_PRELOAD == nil)
             assert(debug.getregistry().LUA_NOENV == true)",
        )
        .unwrap();
    }
}
