//! The part of the Lua 5.5 C API the core calls. These are undefined symbols here: the
//! process provides them (the executable links one Lua, ours or a swapped tree's own).
//!
//! A plain list of declarations, plus small helpers standing for the C API's macros. Lua
//! reports errors with longjmp: a Rust frame a Lua error may cross must hold nothing with a
//! destructor.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void};

pub enum lua_State {}
/// Opaque here: hooks only receive and pass it on.
pub enum lua_Debug {}
pub type lua_KContext = isize;
pub type lua_KFunction = Option<unsafe extern "C" fn(*mut lua_State, c_int, lua_KContext) -> c_int>;
pub type lua_CFunction = unsafe extern "C" fn(*mut lua_State) -> c_int;
pub type lua_Alloc = unsafe extern "C" fn(*mut c_void, *mut c_void, usize, usize) -> *mut c_void;
pub type lua_Hook = Option<unsafe extern "C" fn(*mut lua_State, *mut lua_Debug)>;
pub type lua_Writer = unsafe extern "C" fn(*mut lua_State, *const c_void, usize, *mut c_void) -> c_int;
pub type lua_Integer = i64;
pub type lua_Number = f64;

/// `luaL_Reg`: one entry of a library's function list, ended by a null name.
#[repr(C)]
pub struct luaL_Reg {
    pub name: *const c_char,
    pub func: Option<lua_CFunction>,
}

pub const LUA_OK: c_int = 0;
pub const LUA_YIELD: c_int = 1;
pub const LUA_ERRMEM: c_int = 4;
pub const LUA_ERRFILE: c_int = 6;

pub const LUA_TNONE: c_int = -1;
pub const LUA_TNIL: c_int = 0;
pub const LUA_TBOOLEAN: c_int = 1;
pub const LUA_TLIGHTUSERDATA: c_int = 2;
pub const LUA_TNUMBER: c_int = 3;
pub const LUA_TSTRING: c_int = 4;
pub const LUA_TTABLE: c_int = 5;
pub const LUA_TFUNCTION: c_int = 6;
pub const LUA_TUSERDATA: c_int = 7;
pub const LUA_TTHREAD: c_int = 8;

pub const LUA_MULTRET: c_int = -1;
pub const LUA_REGISTRYINDEX: c_int = -(c_int::MAX / 2 + 1000);
/// The registry slot of the globals table.
pub const LUA_RIDX_GLOBALS: lua_Integer = 2;

pub const LUA_GCSTOP: c_int = 0;
pub const LUA_GCRESTART: c_int = 1;
pub const LUA_GCCOLLECT: c_int = 2;
pub const LUA_GCCOUNT: c_int = 3;
pub const LUA_GCCOUNTB: c_int = 4;
pub const LUA_GCGEN: c_int = 7;
pub const LUA_GCINC: c_int = 8;

pub const LUA_MASKCOUNT: c_int = 1 << 3;

extern "C" {
    // state
    pub fn lua_newstate(f: lua_Alloc, ud: *mut c_void, seed: u32) -> *mut lua_State;
    pub fn luaL_newstate() -> *mut lua_State;
    pub fn lua_close(l: *mut lua_State);
    pub fn lua_newthread(l: *mut lua_State) -> *mut lua_State;
    pub fn lua_closethread(l: *mut lua_State, from: *mut lua_State) -> c_int;
    pub fn lua_getallocf(l: *mut lua_State, ud: *mut *mut c_void) -> Option<lua_Alloc>;
    pub fn luaL_makeseed(l: *mut lua_State) -> u32;
    pub fn luaL_openselectedlibs(l: *mut lua_State, load: c_int, preload: c_int);
    pub fn lua_gc(l: *mut lua_State, what: c_int, ...) -> c_int;

    // stack
    pub fn lua_absindex(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawequal(l: *mut lua_State, idx1: c_int, idx2: c_int) -> c_int;
    pub fn lua_gettop(l: *mut lua_State) -> c_int;
    pub fn lua_settop(l: *mut lua_State, idx: c_int);
    pub fn lua_pushvalue(l: *mut lua_State, idx: c_int);
    pub fn lua_rotate(l: *mut lua_State, idx: c_int, n: c_int);
    pub fn lua_checkstack(l: *mut lua_State, n: c_int) -> c_int;
    pub fn lua_xmove(from: *mut lua_State, to: *mut lua_State, n: c_int);

    // access
    pub fn lua_type(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_toboolean(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_tolstring(l: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn lua_tonumberx(l: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Number;
    pub fn lua_tointegerx(l: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Integer;
    pub fn lua_tothread(l: *mut lua_State, idx: c_int) -> *mut lua_State;
    pub fn lua_topointer(l: *mut lua_State, idx: c_int) -> *const c_void;
    pub fn lua_touserdata(l: *mut lua_State, idx: c_int) -> *mut c_void;
    pub fn lua_tocfunction(l: *mut lua_State, idx: c_int) -> Option<lua_CFunction>;
    pub fn lua_getupvalue(l: *mut lua_State, funcindex: c_int, n: c_int) -> *const c_char;

    // push
    pub fn lua_pushnil(l: *mut lua_State);
    pub fn lua_pushnumber(l: *mut lua_State, n: lua_Number);
    pub fn lua_pushinteger(l: *mut lua_State, n: lua_Integer);
    pub fn lua_pushlstring(l: *mut lua_State, s: *const c_char, len: usize) -> *const c_char;
    pub fn lua_pushfstring(l: *mut lua_State, fmt: *const c_char, ...) -> *const c_char;
    pub fn lua_pushstring(l: *mut lua_State, s: *const c_char) -> *const c_char;
    pub fn lua_pushcclosure(l: *mut lua_State, f: lua_CFunction, n: c_int);
    pub fn lua_pushboolean(l: *mut lua_State, b: c_int);
    pub fn lua_pushlightuserdata(l: *mut lua_State, p: *mut c_void);
    pub fn lua_pushthread(l: *mut lua_State) -> c_int;

    // get / set
    pub fn lua_getglobal(l: *mut lua_State, name: *const c_char) -> c_int;
    pub fn lua_getfield(l: *mut lua_State, idx: c_int, k: *const c_char) -> c_int;
    pub fn lua_rawget(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawgetp(l: *mut lua_State, idx: c_int, p: *const c_void) -> c_int;
    pub fn lua_rawgeti(l: *mut lua_State, idx: c_int, n: lua_Integer) -> c_int;
    pub fn lua_createtable(l: *mut lua_State, narr: c_int, nrec: c_int);
    pub fn lua_setglobal(l: *mut lua_State, name: *const c_char);
    pub fn lua_setfield(l: *mut lua_State, idx: c_int, k: *const c_char);
    pub fn lua_rawset(l: *mut lua_State, idx: c_int);
    pub fn lua_rawseti(l: *mut lua_State, idx: c_int, n: lua_Integer);
    pub fn lua_rawsetp(l: *mut lua_State, idx: c_int, p: *const c_void);
    pub fn lua_setmetatable(l: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_next(l: *mut lua_State, idx: c_int) -> c_int;

    // calls and coroutines
    pub fn lua_pcallk(
        l: *mut lua_State,
        nargs: c_int,
        nresults: c_int,
        errfunc: c_int,
        ctx: lua_KContext,
        k: lua_KFunction,
    ) -> c_int;
    pub fn lua_resume(l: *mut lua_State, from: *mut lua_State, narg: c_int, nres: *mut c_int) -> c_int;
    pub fn lua_callk(l: *mut lua_State, nargs: c_int, nresults: c_int, ctx: lua_KContext, k: lua_KFunction);
    pub fn lua_status(l: *mut lua_State) -> c_int;
    pub fn lua_error(l: *mut lua_State) -> c_int;
    pub fn lua_concat(l: *mut lua_State, n: c_int);
    pub fn lua_dump(l: *mut lua_State, writer: lua_Writer, data: *mut c_void, strip: c_int) -> c_int;

    // debug
    pub fn lua_sethook(l: *mut lua_State, f: lua_Hook, mask: c_int, count: c_int);
    pub fn lua_setupvalue(l: *mut lua_State, funcindex: c_int, n: c_int) -> *const c_char;

    // auxiliary library
    pub fn luaL_loadbufferx(
        l: *mut lua_State,
        buf: *const c_char,
        sz: usize,
        name: *const c_char,
        mode: *const c_char,
    ) -> c_int;
    pub fn luaL_loadfilex(l: *mut lua_State, filename: *const c_char, mode: *const c_char) -> c_int;
    pub fn luaL_checklstring(l: *mut lua_State, arg: c_int, len: *mut usize) -> *const c_char;
    pub fn luaL_optlstring(l: *mut lua_State, arg: c_int, def: *const c_char, len: *mut usize) -> *const c_char;
    pub fn luaL_checktype(l: *mut lua_State, arg: c_int, t: c_int);
    pub fn luaL_checkoption(l: *mut lua_State, arg: c_int, def: *const c_char, lst: *const *const c_char) -> c_int;
    pub fn luaL_error(l: *mut lua_State, fmt: *const c_char, ...) -> c_int;
    pub fn luaL_tolstring(l: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn luaL_where(l: *mut lua_State, lvl: c_int);
    pub fn luaL_traceback(l: *mut lua_State, l1: *mut lua_State, msg: *const c_char, level: c_int);
    pub fn luaL_setfuncs(l: *mut lua_State, funcs: *const luaL_Reg, nup: c_int);
    pub fn luaL_requiref(l: *mut lua_State, modname: *const c_char, openf: lua_CFunction, glb: c_int);
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

/// `lua_pop`.
///
/// # Safety
/// `l` must be a live Lua state holding at least `n` values.
pub unsafe fn pop(l: *mut lua_State, n: c_int) {
    lua_settop(l, -n - 1);
}

/// `lua_insert`.
///
/// # Safety
/// `l` must be a live Lua state and `idx` a valid index.
pub unsafe fn insert(l: *mut lua_State, idx: c_int) {
    lua_rotate(l, idx, 1);
}

/// `lua_newtable`.
///
/// # Safety
/// `l` must be a live Lua state.
pub unsafe fn new_table(l: *mut lua_State) {
    lua_createtable(l, 0, 0);
}

/// `lua_upvalueindex`.
pub const fn upvalue_index(i: c_int) -> c_int {
    LUA_REGISTRYINDEX - i
}

/// `luaL_newlib` without the version check: a table holding `funcs` (ended by a null entry),
/// each closing over the `nup` values on the top of the stack, which are popped.
///
/// # Safety
/// `l` must be a live Lua state; `funcs` ends with a null-named entry.
pub unsafe fn new_lib(l: *mut lua_State, funcs: &[luaL_Reg], nup: c_int) {
    lua_createtable(l, 0, funcs.len() as c_int - 1);
    if nup > 0 {
        insert(l, -(nup + 1));
    }
    luaL_setfuncs(l, funcs.as_ptr(), nup);
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

/// The address of a global C symbol of the process, or null.
fn process_symbol(name: &std::ffi::CStr) -> *mut c_void {
    // SAFETY: dlsym on the process's global scope with a NUL-terminated name.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// Calls `luaL_initcodecache` when the process's Lua has it (skynet's patched Lua does).
pub fn init_code_cache() {
    let sym = process_symbol(c"luaL_initcodecache");
    if !sym.is_null() {
        // SAFETY: the patched Lua's luaL_initcodecache takes no arguments and returns nothing.
        unsafe {
            let f: unsafe extern "C" fn() = std::mem::transmute(sym);
            f();
        }
    }
}

/// Our Lua's shared code (lua-share/lshare.h): functions compiled once in a state of their
/// own and run by every service's state.
#[derive(Clone, Copy)]
pub struct SharedCode {
    pub init: unsafe extern "C" fn(seed: c_uint) -> c_int,
    pub compile: unsafe extern "C" fn(
        buf: *const c_char,
        len: usize,
        chunkname: *const c_char,
        mode: *const c_char,
        err: *mut c_char,
        errsz: usize,
    ) -> *const c_void,
    pub push: unsafe extern "C" fn(l: *mut lua_State, function: *const c_void) -> c_int,
    /// `lshare_preset`, before `init`: a field every state's copy of a library starts with.
    pub preset: Option<unsafe extern "C" fn(lib: *const c_char, name: *const c_char, f: lua_CFunction) -> c_int>,
}

/// The shared-code functions, when the process's Lua is ours (a swapped tree's is not).
pub fn shared_code() -> Option<SharedCode> {
    let init = process_symbol(c"lshare_init");
    let compile = process_symbol(c"lshare_compile");
    let push = process_symbol(c"lshare_push");
    if init.is_null() || compile.is_null() || push.is_null() {
        return None;
    }
    // SAFETY: the three symbols are lshare.h's functions, with the signatures above.
    unsafe {
        Some(SharedCode {
            init: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(c_uint) -> c_int>(init),
            compile: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(*const c_char, usize, *const c_char, *const c_char, *mut c_char, usize) -> *const c_void,
            >(compile),
            push: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut lua_State, *const c_void) -> c_int>(push),
            preset: std::mem::transmute::<
                *mut c_void,
                Option<unsafe extern "C" fn(*const c_char, *const c_char, lua_CFunction) -> c_int>,
            >(process_symbol(c"lshare_preset")),
        })
    }
}

/// `lshare_newlib` (a table of light functions that our Lua lends every state), when the
/// process's Lua is ours.
pub fn shared_newlib() -> Option<unsafe extern "C" fn(*mut lua_State, *const luaL_Reg)> {
    static NEWLIB: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let sym = *NEWLIB.get_or_init(|| process_symbol(c"lshare_newlib") as usize);
    // SAFETY: a null pointer is None; otherwise the symbol is lshare.h's lshare_newlib.
    unsafe { std::mem::transmute::<usize, Option<unsafe extern "C" fn(*mut lua_State, *const luaL_Reg)>>(sym) }
}

/// The patched Lua's own `skynet.codecache` opener (`luaopen_cache`), when the process has it.
pub fn patched_cache_opener() -> Option<lua_CFunction> {
    let sym = process_symbol(c"luaopen_cache");
    if sym.is_null() {
        None
    } else {
        // SAFETY: luaopen_cache is a lua_CFunction in skynet's patched Lua.
        Some(unsafe { std::mem::transmute::<*mut c_void, lua_CFunction>(sym) })
    }
}

/// A value of a table `eval_table` read: as text when it is a string, number or boolean.
pub type Entry = (Option<String>, Option<String>);

/// Runs the chunk `source` (text only) in a fresh state with the standard libraries, passing
/// `arg` as its one argument, and returns the table it returns as (key, value) pairs, in
/// `next` order: each key as text when it is a string, each value when it is a string,
/// number or boolean (numbers converted as Lua prints them). Err is the Lua error.
pub fn eval_table(source: &str, chunkname: &std::ffi::CStr, arg: &str) -> Result<Vec<Entry>, String> {
    // SAFETY: a private state, used on this thread only and closed before returning; the
    // calls below keep to the C API's stack discipline.
    unsafe {
        let l = luaL_newstate();
        if l.is_null() {
            return Err("can't create a Lua state".into());
        }
        open_libs(l);
        let result = eval_in(l, source, chunkname, arg);
        lua_close(l);
        result
    }
}

/// # Safety
/// `l` is a live state with the standard libraries open.
unsafe fn eval_in(l: *mut lua_State, source: &str, chunkname: &std::ffi::CStr, arg: &str) -> Result<Vec<Entry>, String> {
    if luaL_loadbufferx(l, source.as_ptr() as _, source.len(), chunkname.as_ptr(), c"t".as_ptr()) != LUA_OK {
        return Err(to_string(l, -1).unwrap_or_default());
    }
    lua_pushlstring(l, arg.as_ptr() as _, arg.len());
    if pcall(l, 1, 1, 0) != LUA_OK {
        return Err(to_string(l, -1).unwrap_or_else(|| "error without a message".into()));
    }
    if lua_type(l, -1) != LUA_TTABLE {
        return Err("the chunk returned no table".into());
    }
    let table = lua_gettop(l);
    let mut entries = Vec::new();
    lua_pushnil(l);
    while lua_next(l, table) != 0 {
        let key = if lua_type(l, -2) == LUA_TSTRING { to_string(l, -2) } else { None };
        let value = match lua_type(l, -1) {
            LUA_TBOOLEAN => Some(if lua_toboolean(l, -1) != 0 { "true" } else { "false" }.to_string()),
            LUA_TSTRING => to_string(l, -1),
            // Converted on a copy, so that `lua_next` still sees the number as its key.
            LUA_TNUMBER => {
                lua_pushvalue(l, -1);
                let s = to_string(l, -1);
                lua_settop(l, -2);
                s
            }
            _ => None,
        };
        entries.push((key, value));
        lua_settop(l, -2);
    }
    Ok(entries)
}
