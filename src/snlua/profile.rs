//! `skynet.profile`: per-coroutine cpu time. `start()`/`stop()` measure a coroutine (the
//! running one, or the one passed) including only the time it actually runs: the library's
//! own `resume` and `wrap`, which the host installs as `coroutine.resume` / `coroutine.wrap`,
//! add each run of a measured coroutine to its total. Every resume goes through the trap's
//! resume, so the endless-loop signal always knows the running coroutine.
//!
//! The library's functions share two weak tables as upvalues: coroutine -> start time of the
//! current run, and coroutine -> accumulated time.

use super::trap;
use crate::ffi::lua::*;
use std::ffi::c_int;

const STARTED: c_int = upvalue_index(1);
const TOTALS: c_int = upvalue_index(2);

/// This thread's cpu time in seconds, wrapping every 65536 s (as upstream's, so profiles
/// compare with it).
fn cpu_now() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (ts.tv_sec & 0xffff) as f64 + ts.tv_nsec as f64 / 1e9
}

/// Seconds since `start`, across one wrap of `cpu_now`.
fn cpu_since(start: f64) -> f64 {
    let now = cpu_now();
    if now < start {
        now + 65536.0 - start
    } else {
        now - start
    }
}

/// The start time of the coroutine at `co`, if it is being profiled.
///
/// # Safety
/// Called from one of this library's closures; `co` is a valid index.
unsafe fn started(l: *mut lua_State, co: c_int) -> Option<f64> {
    // SAFETY: the upvalue is the start-time table; one slot is pushed and popped.
    unsafe {
        lua_pushvalue(l, co);
        let t = lua_rawget(l, STARTED);
        let v = lua_tonumberx(l, -1, std::ptr::null_mut());
        pop(l, 1);
        (t != LUA_TNIL).then_some(v)
    }
}

/// # Safety
/// As `started`.
unsafe fn total(l: *mut lua_State, co: c_int) -> f64 {
    // SAFETY: the upvalue is the total-time table; one slot is pushed and popped.
    unsafe {
        lua_pushvalue(l, co);
        lua_rawget(l, TOTALS);
        let v = lua_tonumberx(l, -1, std::ptr::null_mut());
        pop(l, 1);
        v
    }
}

/// Sets `table[co] = value` (nil for None).
///
/// # Safety
/// As `started`; `table` is one of the upvalue indices.
unsafe fn store(l: *mut lua_State, table: c_int, co: c_int, value: Option<f64>) {
    // SAFETY: key and value are pushed, then consumed by lua_rawset.
    unsafe {
        lua_pushvalue(l, co);
        match value {
            Some(v) => lua_pushnumber(l, v),
            None => lua_pushnil(l),
        }
        lua_rawset(l, table);
    }
}

/// Whether any coroutine is being measured: one lua_next on the start-time table, so that
/// the usual resume (nothing measured) makes no lookup keyed by the coroutine.
///
/// # Safety
/// Called from one of this library's closures.
unsafe fn measuring(l: *mut lua_State) -> bool {
    // SAFETY: the upvalue is the start-time table; what lua_next pushes is popped.
    unsafe {
        if lua_checkstack(l, 2) == 0 {
            return true; // no room to ask: look the coroutine up
        }
        lua_pushnil(l);
        if lua_next(l, STARTED) == 0 {
            return false;
        }
        pop(l, 2);
        true
    }
}

/// Moves `narg` arguments to `co` and resumes it. Returns the number of its results, moved
/// onto `l`, or -1 with an error message on `l`.
///
/// # Safety
/// `co` is a thread of `l`'s state; `l` holds `narg` arguments on top.
unsafe fn resume_with(l: *mut lua_State, co: *mut lua_State, narg: c_int) -> c_int {
    // SAFETY: stack operations on two live threads of one state, within checked space.
    unsafe {
        if lua_checkstack(co, narg) == 0 {
            lua_pushstring(l, c"too many arguments to resume".as_ptr());
            return -1;
        }
        lua_xmove(l, co, narg);
        let mut nres: c_int = 0;
        let status = trap::resume(co, l, narg, &mut nres);
        if status == LUA_OK || status == LUA_YIELD {
            if lua_checkstack(l, nres + 1) == 0 {
                pop(co, nres);
                lua_pushstring(l, c"too many results to resume".as_ptr());
                return -1;
            }
            lua_xmove(co, l, nres);
            nres
        } else {
            lua_xmove(co, l, 1);
            -1
        }
    }
}

/// Resumes the coroutine at index `co`, adding the run to its profile if it has one.
///
/// # Safety
/// Called from one of this library's closures; `co` indexes a thread.
unsafe fn timed_resume(l: *mut lua_State, co: c_int, narg: c_int) -> c_int {
    // SAFETY: as documented.
    unsafe {
        let thread = lua_tothread(l, co);
        // Asked before and after the run: the coroutine may start its measure while it runs.
        if measuring(l) && started(l, co).is_some() {
            store(l, STARTED, co, Some(cpu_now()));
        }
        let r = resume_with(l, thread, narg);
        if measuring(l) {
            if let Some(start) = started(l, co) {
                let sum = total(l, co) + cpu_since(start);
                store(l, TOTALS, co, Some(sum));
            }
        }
        r
    }
}

/// `resume(co, ...)`: as coroutine.resume.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn co_resume(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; this frame holds nothing to drop.
    unsafe {
        luaL_checktype(l, 1, LUA_TTHREAD);
        let r = timed_resume(l, 1, lua_gettop(l) - 1);
        if r < 0 {
            lua_pushboolean(l, 0);
            insert(l, -2);
            2
        } else {
            lua_pushboolean(l, 1);
            insert(l, -(r + 1));
            r + 1
        }
    }
}

/// The function `wrap` returns: upvalue 3 is its coroutine.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn co_wrapped(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure made by co_wrap; this frame holds nothing to drop.
    unsafe {
        let co = lua_tothread(l, upvalue_index(3));
        let r = timed_resume(l, upvalue_index(3), lua_gettop(l));
        if r >= 0 {
            return r;
        }
        let status = lua_status(co);
        if status != LUA_OK && status != LUA_YIELD {
            lua_closethread(co, l);
        }
        if lua_type(l, -1) == LUA_TSTRING {
            luaL_where(l, 1);
            insert(l, -2);
            lua_concat(l, 2);
        }
        lua_error(l)
    }
}

/// `wrap(f)`: as coroutine.wrap, keeping the profile tables for the wrapper.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn co_wrap(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure of this library; this frame holds nothing to drop.
    unsafe {
        luaL_checktype(l, 1, LUA_TFUNCTION);
        lua_pushvalue(l, STARTED);
        lua_pushvalue(l, TOTALS);
        let co = lua_newthread(l);
        lua_pushvalue(l, 1);
        lua_xmove(l, co, 1);
        lua_pushcclosure(l, co_wrapped, 3);
        1
    }
}

/// The coroutine `start`/`stop` act on: the argument, or the running one. Leaves it at 1.
///
/// # Safety
/// Called from `start`/`stop`.
unsafe fn target(l: *mut lua_State) {
    // SAFETY: stack operations within the function's frame.
    unsafe {
        if lua_gettop(l) != 0 {
            lua_settop(l, 1);
            luaL_checktype(l, 1, LUA_TTHREAD);
        } else {
            lua_pushthread(l);
        }
    }
}

/// `start([co])`: begins measuring a coroutine.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn start(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure of this library; this frame holds nothing to drop.
    unsafe {
        target(l);
        if started(l, 1).is_some() {
            return luaL_error(l, c"Thread %p start profile more than once".as_ptr(), lua_topointer(l, 1));
        }
        store(l, TOTALS, 1, Some(0.0));
        store(l, STARTED, 1, Some(cpu_now()));
        0
    }
}

/// `stop([co])`: ends the measure and returns the coroutine's cpu seconds.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn stop(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure of this library; this frame holds nothing to drop.
    unsafe {
        target(l);
        let Some(start) = started(l, 1) else {
            return luaL_error(l, c"Call profile.start() before profile.stop()".as_ptr());
        };
        let sum = total(l, 1) + cpu_since(start);
        store(l, STARTED, 1, None);
        store(l, TOTALS, 1, None);
        lua_pushnumber(l, sum);
        1
    }
}

/// Opens `skynet.profile`.
///
/// # Safety
/// Called by Lua (luaL_requiref) as a lua_CFunction.
pub unsafe extern "C" fn open(l: *mut lua_State) -> c_int {
    let funcs = [
        luaL_Reg { name: c"start".as_ptr(), func: Some(start) },
        luaL_Reg { name: c"stop".as_ptr(), func: Some(stop) },
        luaL_Reg { name: c"resume".as_ptr(), func: Some(co_resume) },
        luaL_Reg { name: c"wrap".as_ptr(), func: Some(co_wrap) },
        luaL_Reg { name: std::ptr::null(), func: None },
    ];
    // SAFETY: builds the two weak tables and the library on the caller's stack; `funcs` is
    // a plain array (no destructor) that a memory error may skip.
    unsafe {
        new_table(l); // coroutine -> start time
        new_table(l); // coroutine -> total time
        new_table(l);
        lua_pushstring(l, c"kv".as_ptr());
        lua_setfield(l, -2, c"__mode".as_ptr());
        lua_pushvalue(l, -1);
        lua_setmetatable(l, -3);
        lua_setmetatable(l, -3);
        new_lib(l, &funcs, 2);
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_clock_moves_forward() {
        let t = cpu_now();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        let d = cpu_since(t);
        assert!(d > 0.0 && d < 10.0, "{d}");
    }
}
