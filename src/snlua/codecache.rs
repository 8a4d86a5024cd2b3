//! `skynet.codecache`. Skynet's patched Lua shares loaded code between states and provides
//! this library itself (`luaopen_cache`): when the process's Lua has it, it is used as is.
//! Stock Lua has no shared code, so the fallback keeps the library's interface: `mode()`
//! reads and `mode("OFF"|"EXIST"|"ON")` sets the per-state mode (default "ON"; a wrong name
//! is an argument error), `clear()` does nothing, and `loadfile` is the global loadfile.

use crate::lua::*;
use std::ffi::{c_char, c_int, c_void};

/// The registry key of the mode (the address of this static).
static MODE_KEY: u8 = 0;

const MODES: [*const c_char; 4] = [c"OFF".as_ptr(), c"EXIST".as_ptr(), c"ON".as_ptr(), std::ptr::null()];
const MODE_ON: lua_Integer = 2;

fn mode_key() -> *const c_void {
    &MODE_KEY as *const u8 as *const c_void
}

/// `clear()`: there is no shared code to drop.
unsafe extern "C" fn clear(_l: *mut lua_State) -> c_int {
    0
}

/// `mode([name])`.
unsafe extern "C" fn mode(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; this frame holds nothing to drop.
    unsafe {
        if lua_type(l, 1) <= LUA_TNIL {
            let t = lua_rawgetp(l, LUA_REGISTRYINDEX, mode_key());
            let v = lua_tointegerx(l, -1, std::ptr::null_mut());
            pop(l, 1);
            let v = if t == LUA_TNUMBER && (0..MODE_ON).contains(&v) { v } else { MODE_ON };
            lua_pushstring(l, MODES[v as usize]);
            return 1;
        }
        let chosen = luaL_checkoption(l, 1, c"OFF".as_ptr(), MODES.as_ptr());
        lua_pushinteger(l, chosen as lua_Integer);
        lua_rawsetp(l, LUA_REGISTRYINDEX, mode_key());
        0
    }
}

unsafe extern "C" fn open_fallback(l: *mut lua_State) -> c_int {
    let funcs = [
        luaL_Reg { name: c"clear".as_ptr(), func: Some(clear) },
        luaL_Reg { name: c"mode".as_ptr(), func: Some(mode) },
        luaL_Reg { name: std::ptr::null(), func: None },
    ];
    // SAFETY: builds the library table on the caller's stack; `funcs` has no destructor.
    unsafe {
        new_lib(l, &funcs, 0);
        lua_getglobal(l, c"loadfile".as_ptr());
        lua_setfield(l, -2, c"loadfile".as_ptr());
    }
    1
}

/// The opener of `skynet.codecache` for this process.
pub fn opener() -> lua_CFunction {
    patched_cache_opener().unwrap_or(open_fallback)
}
