//! `skynet.profile`: per-coroutine cpu time. `start()`/`stop()` measure a coroutine (the
//! running one, or the one passed) including only the time it actually runs: the library's
//! own `resume` and `wrap`, which the host installs as `coroutine.resume` / `coroutine.wrap`,
//! add each run of a measured coroutine to its total. Every resume goes through the trap's
//! resume, so the endless-loop signal always knows the running coroutine.
//!
//! The library's functions are light C functions (no upvalues), so that every service can
//! share one table of them and one `coroutine` table (`presets`). Their two weak tables,
//! coroutine -> start time of the current run and coroutine -> accumulated time, are kept in
//! the registry, made by the first `start`: until then a resume looks nothing up.

use super::trap;
use crate::ffi::lua::*;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

/// The registry keys of the two tables: the addresses of these two bytes.
static KEYS: [u8; 2] = [0; 2];
const STARTED: usize = 0;
const TOTALS: usize = 1;

/// Set by the first `start` of any service: until then no state has the tables, and a
/// resume skips the two registry lookups that would tell it so (each one a hash lookup).
static EVER_STARTED: AtomicBool = AtomicBool::new(false);

fn key(table: usize) -> *const c_void {
    &KEYS[table] as *const u8 as *const c_void
}

/// Pushes the registry's `table`, or nil before the first `start`; true for a table.
///
/// # Safety
/// `l` is a live state with a free stack slot.
unsafe fn push_table(l: *mut lua_State, table: usize) -> bool {
    // SAFETY: as documented.
    unsafe { lua_rawgetp(l, LUA_REGISTRYINDEX, key(table)) == LUA_TTABLE }
}

/// Makes the two weak tables, if the registry has none yet.
///
/// # Safety
/// Called from `start`.
unsafe fn make_tables(l: *mut lua_State) {
    // SAFETY: stack operations within the caller's frame; each table ends in the registry.
    unsafe {
        if push_table(l, STARTED) {
            pop(l, 1);
            return;
        }
        pop(l, 1);
        EVER_STARTED.store(true, Ordering::Release);
        new_table(l); // the weak metatable both share
        lua_pushstring(l, c"kv".as_ptr());
        lua_setfield(l, -2, c"__mode".as_ptr());
        for table in [TOTALS, STARTED] {
            new_table(l);
            lua_pushvalue(l, -2);
            lua_setmetatable(l, -2);
            lua_rawsetp(l, LUA_REGISTRYINDEX, key(table));
        }
        pop(l, 1);
    }
}

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

/// `table[co]` as a number, None when absent (or before the first `start`).
///
/// # Safety
/// Called from one of this library's functions; `co` is a valid index.
unsafe fn lookup(l: *mut lua_State, table: usize, co: c_int) -> Option<f64> {
    // SAFETY: at most two slots are pushed, and both are popped.
    unsafe {
        let co = lua_absindex(l, co);
        if !push_table(l, table) {
            pop(l, 1);
            return None;
        }
        lua_pushvalue(l, co);
        let t = lua_rawget(l, -2);
        let v = lua_tonumberx(l, -1, std::ptr::null_mut());
        pop(l, 2);
        (t != LUA_TNIL).then_some(v)
    }
}

/// The start time of the coroutine at `co`, if it is being profiled.
///
/// # Safety
/// As `lookup`.
unsafe fn started(l: *mut lua_State, co: c_int) -> Option<f64> {
    // SAFETY: as documented.
    unsafe { lookup(l, STARTED, co) }
}

/// # Safety
/// As `lookup`.
unsafe fn total(l: *mut lua_State, co: c_int) -> f64 {
    // SAFETY: as documented.
    unsafe { lookup(l, TOTALS, co).unwrap_or(0.0) }
}

/// Sets `table[co] = value` (nil for None); nothing before the first `start`.
///
/// # Safety
/// As `lookup`.
unsafe fn store(l: *mut lua_State, table: usize, co: c_int, value: Option<f64>) {
    // SAFETY: the table, key and value are pushed; lua_rawset takes the last two.
    unsafe {
        let co = lua_absindex(l, co);
        if push_table(l, table) {
            lua_pushvalue(l, co);
            match value {
                Some(v) => lua_pushnumber(l, v),
                None => lua_pushnil(l),
            }
            lua_rawset(l, -3);
        }
        pop(l, 1);
    }
}

/// Whether any coroutine is being measured: one lua_next on the start-time table (none
/// before the first `start`), so that the usual resume makes no lookup keyed by the
/// coroutine.
///
/// # Safety
/// Called from one of this library's functions.
unsafe fn measuring(l: *mut lua_State) -> bool {
    if !EVER_STARTED.load(Ordering::Acquire) {
        return false;
    }
    // SAFETY: what push_table and lua_next push is popped.
    unsafe {
        if lua_checkstack(l, 3) == 0 {
            return true; // no room to ask: look the coroutine up
        }
        if !push_table(l, STARTED) {
            pop(l, 1);
            return false;
        }
        lua_pushnil(l);
        let any = lua_next(l, -2) != 0;
        pop(l, if any { 3 } else { 1 });
        any
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

/// The function `wrap` returns: upvalue 1 is its coroutine.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn co_wrapped(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure made by co_wrap; this frame holds nothing to drop.
    unsafe {
        let co = lua_tothread(l, upvalue_index(1));
        let r = timed_resume(l, upvalue_index(1), lua_gettop(l));
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

/// `wrap(f)`: as coroutine.wrap, with a wrapper that resumes as `resume` does.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn co_wrap(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure of this library; this frame holds nothing to drop.
    unsafe {
        luaL_checktype(l, 1, LUA_TFUNCTION);
        let co = lua_newthread(l);
        lua_pushvalue(l, 1);
        lua_xmove(l, co, 1);
        lua_pushcclosure(l, co_wrapped, 1);
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
        make_tables(l);
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

/// The library's functions, in one array for the life of the process: our Lua lends every
/// state one table of them (lshare_newlib), made once per array.
struct Funcs([luaL_Reg; 5]);

// SAFETY: the array is never written; its pointers are to static strings and functions.
unsafe impl Sync for Funcs {}

static FUNCS: Funcs = Funcs([
    luaL_Reg { name: c"start".as_ptr(), func: Some(start) },
    luaL_Reg { name: c"stop".as_ptr(), func: Some(stop) },
    luaL_Reg { name: c"resume".as_ptr(), func: Some(co_resume) },
    luaL_Reg { name: c"wrap".as_ptr(), func: Some(co_wrap) },
    luaL_Reg { name: std::ptr::null(), func: None },
]);

/// The fields of `coroutine` the host replaces in every state: our Lua's template of the
/// library has them already (lshare_preset).
pub const COROUTINE_PRESETS: [(&std::ffi::CStr, lua_CFunction); 2] =
    [(c"resume", co_resume as lua_CFunction), (c"wrap", co_wrap as lua_CFunction)];

/// Opens `skynet.profile`.
///
/// # Safety
/// Called by Lua (luaL_requiref) as a lua_CFunction.
pub unsafe extern "C" fn open(l: *mut lua_State) -> c_int {
    // SAFETY: builds the library on the caller's stack from a static array.
    unsafe {
        match shared_newlib() {
            Some(newlib) => newlib(l, FUNCS.0.as_ptr()),
            None => new_lib(l, &FUNCS.0, 0),
        }
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
