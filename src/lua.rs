//! The part of the Lua 5.5 C API the core calls. These are undefined symbols here: the
//! process provides them (the executable links one Lua, ours or a swapped tree's own).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

pub enum lua_State {}
pub type lua_KContext = isize;
pub type lua_KFunction = Option<unsafe extern "C" fn(*mut lua_State, c_int, lua_KContext) -> c_int>;
pub type lua_CFunction = unsafe extern "C" fn(*mut lua_State) -> c_int;
pub type lua_Alloc = unsafe extern "C" fn(*mut c_void, *mut c_void, usize, usize) -> *mut c_void;
pub type lua_Integer = i64;

pub const LUA_OK: c_int = 0;
pub const LUA_TNIL: c_int = 0;
pub const LUA_TBOOLEAN: c_int = 1;
pub const LUA_TNUMBER: c_int = 3;
pub const LUA_TSTRING: c_int = 4;
pub const LUA_TTABLE: c_int = 5;
pub const LUA_MULTRET: c_int = -1;

extern "C" {
    pub fn luaL_newstate() -> *mut lua_State;
    pub fn luaL_openselectedlibs(l: *mut lua_State, load: c_int, preload: c_int);
    pub fn luaL_loadbufferx(
        l: *mut lua_State,
        buf: *const c_char,
        sz: usize,
        name: *const c_char,
        mode: *const c_char,
    ) -> c_int;
    pub fn lua_pcallk(
        l: *mut lua_State,
        nargs: c_int,
        nresults: c_int,
        errfunc: c_int,
        ctx: lua_KContext,
        k: lua_KFunction,
    ) -> c_int;
    pub fn lua_close(l: *mut lua_State);
    pub fn lua_settop(l: *mut lua_State, idx: c_int);
    pub fn lua_gettop(l: *mut lua_State) -> c_int;
    pub fn lua_pushnil(l: *mut lua_State);
    pub fn lua_pushlstring(l: *mut lua_State, s: *const c_char, len: usize) -> *const c_char;
    pub fn lua_next(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_type(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_toboolean(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_tolstring(l: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn lua_pushvalue(l: *mut lua_State, idx: c_int);
    pub fn lua_createtable(l: *mut lua_State, narr: c_int, nrec: c_int);
}

/// `luaL_openlibs`, a macro in Lua 5.5.
///
/// # Safety
/// `l` must be a live Lua state.
pub unsafe fn open_libs(l: *mut lua_State) {
    luaL_openselectedlibs(l, !0, 0);
}

/// `lua_pcall`, a macro in Lua 5.5.
///
/// # Safety
/// `l` must be a live Lua state with the function and its arguments pushed.
pub unsafe fn pcall(l: *mut lua_State, nargs: c_int, nresults: c_int, errfunc: c_int) -> c_int {
    lua_pcallk(l, nargs, nresults, errfunc, 0, None)
}

/// The string at `idx` (numbers are converted in place, as lua_tolstring does).
///
/// # Safety
/// `l` must be a live Lua state and `idx` a valid index.
pub unsafe fn to_string(l: *mut lua_State, idx: c_int) -> Option<String> {
    let mut len = 0usize;
    let p = lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned())
    }
}

/// Calls `luaL_initcodecache` when the process's Lua has it (skynet's patched Lua does).
pub fn init_code_cache() {
    // SAFETY: dlsym on the process's global scope; the symbol, if present, takes no args.
    unsafe {
        let sym = libc::dlsym(libc::RTLD_DEFAULT, c"luaL_initcodecache".as_ptr());
        if !sym.is_null() {
            let f: unsafe extern "C" fn() = std::mem::transmute(sym);
            f();
        }
    }
}
