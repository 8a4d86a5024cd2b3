//! `print` for services: the same text as Lua's own (each value through `tostring`, tabs
//! between, a newline), handed to stdout in one write. Lua's print writes its pieces one by
//! one, so the lines of services printing at once, and the logger's, were cut into each other.

use crate::ffi::lua::*;
use std::ffi::{c_int, c_void};

extern "C" {
    /// The C library's standard output, the stream Lua's print writes to.
    static mut stdout: *mut libc::FILE;
}

/// Lua's `print(...)`.
///
/// # Safety
/// Lua calls it, as a C function, on a live state with the arguments on the stack.
pub(super) unsafe extern "C" fn print(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; no Rust value with a destructor lives across
    // the calls that may raise (luaL_tolstring runs __tostring, lua_concat may run out of
    // memory). The line is a Lua string, alive on the stack while it is written.
    unsafe {
        let n = lua_gettop(l);
        if lua_checkstack(l, 2 * n + 1) == 0 {
            return luaL_error(l, c"too many values to print".as_ptr());
        }
        for i in 1..=n {
            if i > 1 {
                lua_pushlstring(l, c"\t".as_ptr(), 1);
            }
            luaL_tolstring(l, i, std::ptr::null_mut());
        }
        lua_pushlstring(l, c"\n".as_ptr(), 1);
        // n texts, n - 1 tabs and the newline
        lua_concat(l, if n == 0 { 1 } else { 2 * n });
        let mut len = 0usize;
        let line = lua_tolstring(l, -1, &mut len);
        let out = stdout;
        libc::fwrite(line as *const c_void, 1, len, out);
        libc::fflush(out);
    }
    0
}
