//! The Lua state of one service and how it starts.
//!
//! `init` only queues the service's arguments to itself; the state is set up on that first
//! message, so the launching thread never runs Lua. Setting up: the standard libraries (with
//! a `print` that writes its line at once), `skynet.profile` (whose resume/wrap replace
//! coroutine's), `skynet.codecache`, the registry entry `skynet_context`, the GC mode, and
//! the globals the loader reads (LUA_PATH, LUA_CPATH, LUA_SERVICE, LUA_PRELOAD). Then the
//! loader (`lualoader`) runs with the argument string.
//! A failure is logged, `.launcher` is sent "ERROR" (so whoever waits on the launch hears of
//! it), and the service exits.

use super::alloc::{self, Memory};
use super::trap::Trap;
use super::{codecache, print, profile};
use crate::context::Context;
use crate::ffi::lua::*;
use crate::message::{Borrowed, PTYPE_TEXT};
use crate::{env, log};
use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

const DEFAULT_LUA_PATH: &CStr = c"./lualib/?.lua;./lualib/?/init.lua";
const DEFAULT_LUA_CPATH: &CStr = c"./luaclib/?.so";
const DEFAULT_SERVICE_PATH: &CStr = c"./service/?.lua";
const DEFAULT_LOADER: &CStr = c"./lualib/loader.lua";

/// One snlua instance. Lua finds it through its allocator's user data.
pub struct Snlua {
    state: *mut lua_State,
    handle: AtomicU32,
    pub memory: Memory,
    pub trap: Trap,
}

impl Snlua {
    /// A new instance with an empty Lua state, or null if the state can't be made.
    pub fn create() -> *mut Snlua {
        let host = Box::into_raw(Box::new(Snlua {
            state: std::ptr::null_mut(),
            handle: AtomicU32::new(0),
            memory: Memory::new(),
            trap: Trap::new(),
        }));
        super::codecache::prepare();
        // SAFETY: `host` is a live box; its Memory stays in place until release.
        unsafe { (*host).memory.enlist() };
        // SAFETY: the state's allocator gets `host`, which lives until `release` closes it.
        let state = unsafe { lua_newstate(super::ffi::lalloc, host as *mut c_void, super::ffi::global_seed()) };
        if state.is_null() {
            // SAFETY: `host` came from Box::into_raw above and nothing else holds it.
            let host = unsafe { Box::from_raw(host) };
            host.memory.retire();
            drop(host);
            return std::ptr::null_mut();
        }
        // SAFETY: `host` is not shared yet; the state only reads it through the allocator.
        unsafe { (*host).state = state };
        host
    }

    /// Closes the state and frees the instance.
    ///
    /// # Safety
    /// `host` came from `create` and is released once, when no thread runs its state.
    pub unsafe fn release(host: *mut Snlua) {
        // SAFETY: as documented.
        unsafe {
            lua_close((*host).state);
            (*host).memory.retire();
            drop(Box::from_raw(host));
        }
    }

    pub fn state(&self) -> *mut lua_State {
        self.state
    }

    /// The service's handle (0 until init).
    pub fn handle(&self) -> u32 {
        self.handle.load(Relaxed)
    }

    /// The module's init: queues `args` to the service itself as its first message.
    pub fn init(&self, ctx: &Context, args: &[u8]) -> c_int {
        self.handle.store(ctx.handle(), Relaxed);
        ctx.set_callback(self as *const Snlua as *mut c_void, Some(launch));
        // The arguments are copied into the message (type 0, as upstream).
        crate::context::send(Some(ctx), 0, ctx.handle(), 0, 0, Borrowed::from_slice(args));
        0
    }

    /// Sets the state up and runs the loader; an error is logged and reported to the launcher.
    ///
    /// # Safety
    /// Runs on the thread dispatching the service's message; `ctx_ptr` is `ctx` as C sees it.
    unsafe fn start(&self, ctx: &Context, ctx_ptr: *mut c_void, args: &[u8]) -> Result<(), ()> {
        let l = self.state;
        let handle = ctx.handle();
        // SAFETY: the state is this service's and only this thread runs it. Every Rust value
        // with a destructor below is dropped before the next Lua call that may raise.
        unsafe {
            lua_gc(l, LUA_GCSTOP);
            lua_pushcclosure(l, prepare, 0);
            lua_pushlightuserdata(l, ctx_ptr);
            if pcall(l, 1, 0, 0) != LUA_OK {
                let msg = to_string(l, -1).unwrap_or_default();
                log::error(handle, &format!("error: snlua can't set up its Lua state : {msg}"));
                report_launcher_error(ctx);
                return Err(());
            }
            lua_pushcclosure(l, traceback, 0);
            debug_assert_eq!(lua_gettop(l), 1);
            let loader = env::get_c("lualoader").unwrap_or(DEFAULT_LOADER);
            if codecache::load_file(l, loader.as_ptr(), std::ptr::null()) != LUA_OK {
                let msg = to_string(l, -1).unwrap_or_default();
                log::error(handle, &format!("Can't load {} : {msg}", loader.to_string_lossy()));
                report_launcher_error(ctx);
                return Err(());
            }
            lua_pushlstring(l, args.as_ptr() as *const _, args.len());
            if pcall(l, 1, 0, 1) != LUA_OK {
                let msg = to_string(l, -1).unwrap_or_default();
                log::error(handle, &format!("lua loader error : {msg}"));
                report_launcher_error(ctx);
                return Err(());
            }
            lua_settop(l, 0);
            if lua_getfield(l, LUA_REGISTRYINDEX, c"memlimit".as_ptr()) == LUA_TNUMBER {
                let limit = lua_tointegerx(l, -1, std::ptr::null_mut()) as usize;
                self.memory.set_limit(limit);
                log::error(handle, &format!("Set memory limit to {:.2} M", alloc::mib(limit)));
                lua_pushnil(l);
                lua_setfield(l, LUA_REGISTRYINDEX, c"memlimit".as_ptr());
            }
            pop(l, 1);
            lua_gc(l, LUA_GCRESTART);
        }
        Ok(())
    }
}

/// The first message's callback: starts the service, or makes it exit.
///
/// # Safety
/// Called by the core as the module's `_create`, with no preconditions.
unsafe extern "C" fn launch(
    ctx: *mut c_void,
    ud: *mut c_void,
    _ptype: c_int,
    _session: c_int,
    _source: u32,
    msg: *const c_void,
    sz: usize,
) -> c_int {
    // SAFETY: the core calls this with the live context and the ud given to set_callback.
    let (context, host) = unsafe { (crate::ffi::context(ctx), &*(ud as *const Snlua)) };
    let Some(context) = context else { return 0 };
    context.set_callback(std::ptr::null_mut(), None);
    let args: &[u8] = if msg.is_null() || sz == 0 {
        &[]
    } else {
        // SAFETY: the payload of the message is `sz` readable bytes.
        unsafe { std::slice::from_raw_parts(msg as *const u8, sz) }
    };
    // SAFETY: the core runs this callback on the thread that owns the service now.
    if unsafe { host.start(context, ctx, args) }.is_err() {
        crate::command::run(Some(context), "EXIT", None);
    }
    0
}

fn report_launcher_error(ctx: &Context) {
    let text = b"ERROR";
    crate::context::send_name(Some(ctx), 0, ".launcher", PTYPE_TEXT, 0, Borrowed::from_slice(text));
}

/// The message handler of the loader: the error with a traceback.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn traceback(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; this frame holds nothing to drop.
    unsafe {
        let msg = lua_tolstring(l, 1, std::ptr::null_mut());
        if msg.is_null() {
            lua_pushstring(l, c"(no error message)".as_ptr());
        } else {
            luaL_traceback(l, l, msg, 1);
        }
    }
    1
}

/// Which collector a service's state uses: `lua_gcmode` in the config ("generational", the
/// default as upstream, or "incremental").
fn gc_mode(handle: u32) -> c_int {
    match env::get_c("lua_gcmode").map(CStr::to_bytes) {
        None | Some(b"generational") => LUA_GCGEN,
        Some(b"incremental") => LUA_GCINC,
        Some(other) => {
            let other = String::from_utf8_lossy(other);
            log::error(handle, &format!("error: unknown lua_gcmode `{other}`, using generational"));
            LUA_GCGEN
        }
    }
}

/// Sets a global to an env value or a default (nil when both are missing).
///
/// # Safety
/// `l` is a live state; called within `prepare`.
unsafe fn set_global_from_env(l: *mut lua_State, global: &CStr, key: &str, default: Option<&CStr>) {
    let value = env::get_c(key).or(default);
    // SAFETY: as documented; pushing a NULL string pushes nil.
    unsafe {
        lua_pushstring(l, value.map_or(std::ptr::null(), CStr::as_ptr));
        lua_setglobal(l, global.as_ptr());
    }
}

/// Hash sizes of a fresh service's globals (the standard ones, the libraries, what the
/// loader adds) and of package.loaded (the libraries and skynet's modules).
const GLOBALS_SIZE: c_int = 40;
const LOADED_SIZE: c_int = 16;

/// Sets the fresh state up (run protected; argument 1 is the context pointer).
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
pub(super) unsafe extern "C" fn prepare(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack. No value with a destructor lives across a
    // Lua call (env values are &'static, gc_mode's text is gone once it returns).
    unsafe {
        let ctx = lua_touserdata(l, 1);
        lua_settop(l, 0);
        // The collector mode first: switching to generational runs a full mark, cheapest
        // while the state is nearly empty.
        let handle = super::host_of(l).handle();
        lua_gc(l, gc_mode(handle));
        // Tells the libraries to ignore LUA_PATH & co. of the process environment.
        lua_pushboolean(l, 1);
        lua_setfield(l, LUA_REGISTRYINDEX, c"LUA_NOENV".as_ptr());
        // The globals and the loaded modules, made at the size they end at (about 40 and
        // 16 entries), so the libraries' names go in without rehashing.
        lua_createtable(l, 0, GLOBALS_SIZE);
        lua_rawseti(l, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
        lua_createtable(l, 0, LOADED_SIZE);
        lua_setfield(l, LUA_REGISTRYINDEX, c"_LOADED".as_ptr());
        open_libs(l);
        lua_pushcclosure(l, print::print, 0);
        lua_setglobal(l, c"print".as_ptr());

        luaL_requiref(l, c"skynet.profile".as_ptr(), profile::open, 0);
        let lib = lua_gettop(l);
        lua_getglobal(l, c"coroutine".as_ptr());
        for (name, _) in profile::COROUTINE_PRESETS {
            lua_getfield(l, lib, name.as_ptr());
            lua_getfield(l, -2, name.as_ptr());
            // A lent coroutine table has them already: a write would copy it.
            if lua_rawequal(l, -1, -2) == 0 {
                pop(l, 1);
                lua_setfield(l, -2, name.as_ptr());
            } else {
                pop(l, 2);
            }
        }
        lua_settop(l, lib - 1);

        lua_pushlightuserdata(l, ctx);
        lua_setfield(l, LUA_REGISTRYINDEX, c"skynet_context".as_ptr());
        codecache::install(l);
        luaL_requiref(l, c"skynet.codecache".as_ptr(), codecache::opener(), 0);
        pop(l, 1);

        set_global_from_env(l, c"LUA_PATH", "lua_path", Some(DEFAULT_LUA_PATH));
        set_global_from_env(l, c"LUA_CPATH", "lua_cpath", Some(DEFAULT_LUA_CPATH));
        set_global_from_env(l, c"LUA_SERVICE", "luaservice", Some(DEFAULT_SERVICE_PATH));
        set_global_from_env(l, c"LUA_PRELOAD", "preload", None);
    }
    0
}
