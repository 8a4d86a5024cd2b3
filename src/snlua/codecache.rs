//! `skynet.codecache`: Lua files compiled once and shared by every service.
//!
//! Skynet's patched Lua shares function prototypes between states and provides this library
//! itself (`luaopen_cache`): when the process's Lua has it, that one is used and nothing
//! else here runs.
//!
//! Our own Lua (built from lua-src with lua-share/) shares prototypes too: a file is
//! compiled once in its shared state and each service's state runs closures over those
//! prototypes, which it neither copies nor collects (`lshare_push`). A state that cannot take
//! a shared function (it made its own copy of one of the function's string constants before
//! the file was shared) loads a private copy of the file instead.
//!
//! On another stock Lua 5.5 the host shares what that Lua allows: a file is compiled once,
//! dumped to bytecode that stays in memory for the life of the process, and every state
//! loads it as a *fixed* binary chunk (`lua_load` mode "B"): the code, line information and
//! long strings of its functions point into the shared buffer instead of being copied.
//!
//! Either way the host routes `loadfile`, `dofile`, the Lua searcher of `require` and its
//! own loader through the cache, and compiled files are never freed (a state may use them as
//! long as it lives), as upstream's cache never frees its prototypes.
//!
//! `require` also remembers, process-wide, where it found each module for the same
//! `package.path` and `package.cpath`: a Lua file, or the open function of a C library
//! (which then stays loaded). A state requiring it again takes that without probing the
//! search paths, which would open a file or two per template (every service requires the
//! same few modules while it starts). Like cached code, this holds until `clear()`.
//!
//! The library is upstream's: `mode()` reads and `mode(name)` sets this state's mode, "ON"
//! (the default: use and fill the cache), "EXIST" (use files already cached, add none) or
//! "OFF" (always read the file); a wrong name is an argument error. `clear()` forgets every
//! cached file, so the next load reads it again. `loadfile` is the global loadfile.

use crate::ffi::lua::*;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Mutex, OnceLock};

/// The registry key of a state's mode (the address of this static).
static MODE_KEY: u8 = 0;

const MODES: [*const c_char; 4] = [c"OFF".as_ptr(), c"EXIST".as_ptr(), c"ON".as_ptr(), std::ptr::null()];
const OFF: lua_Integer = 0;
const EXIST: lua_Integer = 1;
const ON: lua_Integer = 2;

/// A compiled file, never freed.
#[derive(Clone, Copy)]
enum Compiled {
    /// A function of our Lua's shared state (`lshare_compile`), and the text it was
    /// compiled from, for a state that cannot take the shared function.
    Shared { function: SharedFunction, text: &'static [u8] },
    /// Bytecode in 8-byte aligned storage (fixed chunks point into it, and their
    /// instructions and line tables must be aligned).
    Fixed { words: &'static [u64], len: usize },
}

#[derive(Clone, Copy)]
struct SharedFunction(*const c_void);

// SAFETY: a shared function is immutable and lives as long as the process; any thread may
// hand it to lshare_push.
unsafe impl Send for SharedFunction {}

impl Compiled {
    fn fixed(bytes: &[u8]) -> Compiled {
        let mut words = vec![0u64; bytes.len().div_ceil(8)].into_boxed_slice();
        // SAFETY: `words` has room for `bytes.len()` bytes; u64 storage can be viewed as bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), words.as_mut_ptr() as *mut u8, bytes.len()) };
        Compiled::Fixed { words: Box::leak(words), len: bytes.len() }
    }
}

/// Our Lua's shared code, set up on first use (before the first service's state is made,
/// so that every state takes its fixed strings from the shared state).
fn sharing() -> Option<SharedCode> {
    static SHARING: OnceLock<Option<SharedCode>> = OnceLock::new();
    *SHARING.get_or_init(|| {
        let shared = shared_code()?;
        if let Some(preset) = shared.preset {
            for (name, f) in super::profile::COROUTINE_PRESETS {
                // SAFETY: static names and a light function, before lshare_init.
                unsafe { preset(c"coroutine".as_ptr(), name.as_ptr(), f) };
            }
        }
        // SAFETY: lshare_init takes the seed every service's state is made with.
        (unsafe { (shared.init)(super::ffi::global_seed()) } != 0).then_some(shared)
    })
}

/// Gets the cache ready for a new state: call before making one.
pub fn prepare() {
    if !patched() {
        sharing();
    }
}

fn files() -> &'static Mutex<HashMap<Vec<u8>, Compiled>> {
    static FILES: OnceLock<Mutex<HashMap<Vec<u8>, Compiled>>> = OnceLock::new();
    FILES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lookup(name: &[u8]) -> Option<Compiled> {
    files().lock().unwrap_or_else(|e| e.into_inner()).get(name).copied()
}

/// Keeps `bytes` as the compiled `name`, unless another service got there first: the
/// compiled file every state then uses.
fn keep(name: &[u8], compiled: Compiled) -> Compiled {
    let mut files = files().lock().unwrap_or_else(|e| e.into_inner());
    *files.entry(name.to_vec()).or_insert(compiled)
}

fn clear_all() {
    files().lock().unwrap_or_else(|e| e.into_inner()).clear();
    found().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Where `require` found a module (file names are never freed: few, and plain data on a
/// stack that Lua may unwind).
#[derive(Clone, Copy)]
enum Found {
    /// A Lua file on package.path.
    Lua(&'static CStr),
    /// A C library's open function, and the library's file name (its second value).
    C(lua_CFunction, &'static CStr),
}

/// package.path, package.cpath and module name -> where require found the module.
fn found() -> &'static Mutex<HashMap<Vec<u8>, Found>> {
    static FOUND: OnceLock<Mutex<HashMap<Vec<u8>, Found>>> = OnceLock::new();
    FOUND.get_or_init(|| Mutex::new(HashMap::new()))
}

/// True when the process's Lua brings its own code cache (then the host's stays out).
fn patched() -> bool {
    static PATCHED: OnceLock<bool> = OnceLock::new();
    *PATCHED.get_or_init(|| patched_cache_opener().is_some())
}

fn mode_key() -> *const c_void {
    &MODE_KEY as *const u8 as *const c_void
}

/// This state's mode.
///
/// # Safety
/// `l` is a live state.
unsafe fn level(l: *mut lua_State) -> lua_Integer {
    // SAFETY: a raw read of the registry; nothing is allocated.
    unsafe {
        let t = lua_rawgetp(l, LUA_REGISTRYINDEX, mode_key());
        let v = lua_tointegerx(l, -1, std::ptr::null_mut());
        pop(l, 1);
        if t == LUA_TNUMBER && (OFF..ON).contains(&v) {
            v
        } else {
            ON
        }
    }
}

/// # Safety
/// A `lua_Writer` for lua_dump: `p` holds `sz` bytes, `ud` is the `Vec<u8>` it fills.
unsafe extern "C" fn collect(_l: *mut lua_State, p: *const c_void, sz: usize, ud: *mut c_void) -> c_int {
    if !p.is_null() && sz > 0 {
        // SAFETY: `ud` is the Vec given to lua_dump; `p` points to `sz` bytes of the dump.
        unsafe { (*(ud as *mut Vec<u8>)).extend_from_slice(std::slice::from_raw_parts(p as *const u8, sz)) };
    }
    0
}

/// The bytecode of the function on the top of the stack, with its debug information.
///
/// # Safety
/// `l` is a live state with a Lua function on top.
unsafe fn dump_top(l: *mut lua_State) -> Option<Vec<u8>> {
    // Held through a raw pointer: if lua_dump raises (out of memory), the buffer leaks but no
    // destructor is skipped.
    let out = Box::into_raw(Box::new(Vec::<u8>::new()));
    // SAFETY: dumping the function on top into `out` through `collect`.
    let status = unsafe { lua_dump(l, collect, out as *mut c_void, 0) };
    // SAFETY: `out` came from Box::into_raw above and lua_dump is done with it.
    let bytes = *unsafe { Box::from_raw(out) };
    (status == 0 && !bytes.is_empty()).then_some(bytes)
}

/// Pushes the compiled file as a function of this state (a private copy of a shared file
/// when the state can't take the shared one); false, pushing nothing, if that fails.
///
/// # Safety
/// `l` is a live state; `chunkname` ("@" and the file name) is NUL-terminated, `mode` too
/// or NULL.
unsafe fn push_compiled(l: *mut lua_State, code: Compiled, chunkname: *const c_char, mode: *const c_char) -> bool {
    // SAFETY: as documented; compiled files are never freed, as both kinds require.
    unsafe {
        let status = match code {
            Compiled::Shared { function, text } => {
                if sharing().is_some_and(|s| (s.push)(l, function.0) != 0) {
                    return true;
                }
                luaL_loadbufferx(l, text.as_ptr() as *const c_char, text.len(), chunkname, mode)
            }
            Compiled::Fixed { words, len } => {
                luaL_loadbufferx(l, words.as_ptr() as *const c_char, len, chunkname, c"B".as_ptr())
            }
        };
        if status != LUA_OK {
            pop(l, 1); // the error message
        }
        status == LUA_OK
    }
}

/// The text of a Lua file without what `luaL_loadfilex` skips: a UTF-8 mark, and a first
/// line starting with '#' (its newline stays, so line numbers stay right).
fn chunk_text(mut bytes: &[u8]) -> &[u8] {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        bytes = rest;
    }
    if bytes.first() == Some(&b'#') {
        bytes = &bytes[bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len())..];
    }
    bytes
}

/// The bytes of a file, or the errno of the failure to read it.
fn read_source(filename: &CStr) -> Result<Vec<u8>, c_int> {
    std::fs::read(std::ffi::OsStr::from_bytes(filename.to_bytes())).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

/// Compiles a file's bytes into the shared state; None if they don't compile (loading the
/// file privately then gives the error in Lua's words).
fn compile_shared(shared: SharedCode, bytes: &[u8], chunkname: &CStr, mode: *const c_char) -> Option<Compiled> {
    let text = chunk_text(bytes);
    let mut err = [0 as c_char; 256];
    // SAFETY: the buffers outlive the call; the chunk name is NUL-terminated.
    let f = unsafe {
        (shared.compile)(text.as_ptr() as *const c_char, text.len(), chunkname.as_ptr(), mode, err.as_mut_ptr(), err.len())
    };
    if f.is_null() {
        return None;
    }
    Some(Compiled::Shared { function: SharedFunction(f), text: Box::leak(text.into()) })
}

/// Compiles the file in this state and keeps its bytecode; None (with the state as it was)
/// if that fails.
///
/// # Safety
/// `l` is a live state; `filename` and `mode` are NUL-terminated or NULL.
unsafe fn compile_fixed(l: *mut lua_State, filename: *const c_char, mode: *const c_char) -> Option<Compiled> {
    // SAFETY: as documented; the function compiled here is popped again.
    unsafe {
        if luaL_loadfilex(l, filename, mode) != LUA_OK {
            pop(l, 1);
            return None;
        }
        let bytes = dump_top(l);
        pop(l, 1);
        Some(Compiled::fixed(&bytes?))
    }
}

/// `luaL_loadfilex` through the cache: pushes the file's main function, or an error message
/// (with the status). `filename` NULL is stdin (never cached); a `mode` without "b" reads
/// the file as text.
///
/// # Safety
/// `l` is a live state; `filename` and `mode` are NULL or NUL-terminated. This frame and its
/// callees hold nothing with a destructor across a Lua call that may raise.
pub unsafe fn load_file(l: *mut lua_State, filename: *const c_char, mode: *const c_char) -> c_int {
    // SAFETY: as documented.
    unsafe {
        let text_only = !mode.is_null() && !CStr::from_ptr(mode).to_bytes().contains(&b'b');
        if patched() || filename.is_null() || text_only {
            return luaL_loadfilex(l, filename, mode);
        }
        let level = level(l);
        if level == OFF {
            return luaL_loadfilex(l, filename, mode);
        }
        let file = CStr::from_ptr(filename);
        let name = file.to_bytes();
        // The chunk name lives on the stack while the file loads.
        let chunkname = lua_pushfstring(l, c"@%s".as_ptr(), filename);
        let code = match lookup(name) {
            Some(code) => Some(code),
            None if level == EXIST => None,
            None => match sharing() {
                Some(shared) => match read_source(file) {
                    Ok(bytes) => compile_shared(shared, &bytes, CStr::from_ptr(chunkname), mode),
                    // A file that can't be opened: Lua's own message, without opening it a
                    // second time to get it. Other failures go to luaL_loadfilex below.
                    Err(errno) if matches!(errno, libc::ENOENT | libc::ENOTDIR | libc::EACCES) => {
                        lua_pushfstring(l, c"cannot open %s: %s".as_ptr(), filename, libc::strerror(errno));
                        lua_rotate(l, -2, -1);
                        pop(l, 1);
                        return LUA_ERRFILE;
                    }
                    Err(_) => None,
                },
                None => compile_fixed(l, filename, mode),
            }
            .map(|code| keep(name, code)),
        };
        // Every Rust value above is plain data: pushing may raise.
        let pushed = code.is_some_and(|code| push_compiled(l, code, chunkname, mode));
        if pushed {
            lua_rotate(l, -2, -1);
        }
        pop(l, 1);
        if pushed {
            return LUA_OK;
        }
        luaL_loadfilex(l, filename, mode)
    }
}

/// `loadfile([filename [, mode [, env]]])`, as the base library's, through the cache.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn loadfile(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; this frame holds nothing to drop.
    unsafe {
        let filename = luaL_optlstring(l, 1, std::ptr::null(), std::ptr::null_mut());
        let mode = luaL_optlstring(l, 2, std::ptr::null(), std::ptr::null_mut());
        let env = if lua_type(l, 3) != LUA_TNONE { 3 } else { 0 };
        if load_file(l, filename, mode) == LUA_OK {
            if env != 0 {
                lua_pushvalue(l, env);
                if lua_setupvalue(l, -2, 1).is_null() {
                    pop(l, 1);
                }
            }
            1
        } else {
            lua_pushnil(l);
            insert(l, -2);
            2
        }
    }
}

/// # Safety
/// Lua calls it as the continuation of `dofile`, on the same live state `l`.
unsafe extern "C" fn dofile_results(l: *mut lua_State, _status: c_int, _ctx: lua_KContext) -> c_int {
    // SAFETY: the stack holds the file name (or nil) and the chunk's results.
    unsafe { lua_gettop(l) - 1 }
}

/// `dofile([filename])`, as the base library's, through the cache.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn dofile(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; this frame holds nothing to drop.
    unsafe {
        let filename = luaL_optlstring(l, 1, std::ptr::null(), std::ptr::null_mut());
        lua_settop(l, 1);
        if load_file(l, filename, std::ptr::null()) != LUA_OK {
            return lua_error(l);
        }
        lua_callk(l, 0, LUA_MULTRET, 0, Some(dofile_results));
        dofile_results(l, 0, 0)
    }
}

/// The string at `idx`, or empty when it is none.
///
/// # Safety
/// `l` is a live state, `idx` a valid index; the bytes live while the value stays there.
unsafe fn bytes_at<'a>(l: *mut lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: as documented; lua_tolstring raises nothing for a string or a number.
    unsafe {
        if lua_type(l, idx) != LUA_TSTRING {
            return &[];
        }
        let p = lua_tolstring(l, idx, &mut len);
        std::slice::from_raw_parts(p as *const u8, len)
    }
}

/// Where require found the module named at 1 for the path and cpath at `path` and `cpath`.
///
/// # Safety
/// `l` is a live state; the three are strings (cpath may be anything).
unsafe fn found_key(l: *mut lua_State, path: c_int, cpath: c_int) -> Vec<u8> {
    // SAFETY: as documented; nothing here calls Lua in a way that raises.
    let (p, c, n) = unsafe { (bytes_at(l, path), bytes_at(l, cpath), bytes_at(l, 1)) };
    let mut key = Vec::with_capacity(p.len() + c.len() + n.len() + 2);
    for part in [p, c, n] {
        key.extend_from_slice(part);
        key.push(0);
    }
    key
}

fn found_lookup(key: &[u8]) -> Option<Found> {
    found().lock().unwrap_or_else(|e| e.into_inner()).get(key).copied()
}

fn found_keep(key: Vec<u8>, file: &[u8], open: Option<lua_CFunction>) {
    let Ok(file) = std::ffi::CString::new(file) else { return };
    let file: &'static CStr = Box::leak(file.into_boxed_c_str());
    let entry = match open {
        Some(open) => Found::C(open, file),
        None => Found::Lua(file),
    };
    found().lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(entry);
}

/// Pushes package.path (checked, as the stock searchers check it) and package.cpath; returns
/// their indices.
///
/// # Safety
/// `l` is a live state; `package` indexes the package table.
unsafe fn push_paths(l: *mut lua_State, package: c_int) -> (c_int, c_int) {
    // SAFETY: as documented.
    unsafe {
        lua_getfield(l, package, c"path".as_ptr());
        if lua_tolstring(l, -1, std::ptr::null_mut()).is_null() {
            luaL_error(l, c"'package.%s' must be a string".as_ptr(), c"path".as_ptr());
        }
        lua_getfield(l, package, c"cpath".as_ptr());
        (lua_gettop(l) - 1, lua_gettop(l))
    }
}

/// The Lua searcher of `require` (package.searchers[2]) through the cache, which answers
/// first from where require found the module before (a Lua file or a C library). Upvalues:
/// the package table and the original package.searchpath.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn search_lua(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure on its own stack; the key is dropped before any Lua call.
    unsafe {
        luaL_checklstring(l, 1, std::ptr::null_mut());
        lua_settop(l, 1);
        let (path, cpath) = push_paths(l, upvalue_index(1));
        let level = level(l);
        let seen = if level == OFF { None } else { found_lookup(&found_key(l, path, cpath)) };
        match seen {
            Some(Found::Lua(file)) => {
                if load_file(l, file.as_ptr(), c"bt".as_ptr()) == LUA_OK {
                    lua_pushstring(l, file.as_ptr());
                    return 2;
                }
                pop(l, 1); // search again: the error comes from that
            }
            Some(Found::C(open, file)) => {
                lua_pushcclosure(l, open, 0);
                lua_pushstring(l, file.as_ptr());
                return 2;
            }
            None => {}
        }
        lua_pushvalue(l, upvalue_index(2));
        lua_pushvalue(l, 1);
        lua_pushvalue(l, path);
        lua_callk(l, 2, 2, 0, None);
        if lua_type(l, -2) == LUA_TNIL {
            return 1; // the list of files tried
        }
        pop(l, 1);
        let file = lua_gettop(l);
        let filename = lua_tolstring(l, file, std::ptr::null_mut());
        if load_file(l, filename, c"bt".as_ptr()) == LUA_OK {
            if level == ON {
                found_keep(found_key(l, path, cpath), bytes_at(l, file), None);
            }
            lua_pushvalue(l, file);
            return 2;
        }
        luaL_error(
            l,
            c"error loading module '%s' from file '%s':\n\t%s".as_ptr(),
            lua_tolstring(l, 1, std::ptr::null_mut()),
            filename,
            lua_tolstring(l, -1, std::ptr::null_mut()),
        )
    }
}

/// A C searcher of `require` (package.searchers[3] or [4]) that remembers what it finds.
/// Upvalues: the package table and the original searcher. The library of an open function
/// it remembers is kept loaded for good (the state that loaded it may close it).
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn search_c(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C closure on its own stack; the key is dropped before any Lua call.
    unsafe {
        luaL_checklstring(l, 1, std::ptr::null_mut());
        lua_settop(l, 1);
        let (path, cpath) = push_paths(l, upvalue_index(1));
        lua_pushvalue(l, upvalue_index(2));
        lua_pushvalue(l, 1);
        lua_callk(l, 1, 2, 0, None);
        let (loader, file) = (lua_gettop(l) - 1, lua_gettop(l));
        if level(l) == ON && lua_type(l, file) == LUA_TSTRING {
            // a plain C function (no upvalues) can be pushed again in any state
            let open = lua_tocfunction(l, loader).filter(|_| lua_getupvalue(l, loader, 1).is_null());
            if let Some(open) = open {
                let name = lua_tolstring(l, file, std::ptr::null_mut());
                if !libc::dlopen(name, libc::RTLD_NOW | libc::RTLD_NOLOAD).is_null() {
                    found_keep(found_key(l, path, cpath), bytes_at(l, file), Some(open));
                }
            } else if lua_gettop(l) > file {
                pop(l, 1); // the upvalue lua_getupvalue pushed
            }
        }
        2
    }
}

/// Routes the state's file loading through the cache (unless the process's Lua has its own).
///
/// # Safety
/// `l` is a live state with the standard libraries open.
pub unsafe fn install(l: *mut lua_State) {
    if patched() {
        return;
    }
    // SAFETY: as documented; the stack is restored.
    unsafe {
        lua_pushcclosure(l, loadfile, 0);
        lua_setglobal(l, c"loadfile".as_ptr());
        lua_pushcclosure(l, dofile, 0);
        lua_setglobal(l, c"dofile".as_ptr());
        lua_getglobal(l, c"package".as_ptr());
        let package = lua_gettop(l);
        if lua_getfield(l, package, c"searchers".as_ptr()) == LUA_TTABLE {
            lua_pushvalue(l, package);
            lua_getfield(l, package, c"searchpath".as_ptr());
            lua_pushcclosure(l, search_lua, 2);
            lua_rawseti(l, -2, 2);
            for slot in [3, 4] {
                lua_pushvalue(l, package);
                if lua_rawgeti(l, -2, slot) == LUA_TFUNCTION {
                    lua_pushcclosure(l, search_c, 2);
                    lua_rawseti(l, -2, slot);
                } else {
                    pop(l, 2);
                }
            }
        }
        lua_settop(l, package - 1);
    }
}

/// `clear()`: forgets every cached file.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn clear(_l: *mut lua_State) -> c_int {
    clear_all();
    0
}

/// `mode([name])`.
///
/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn mode(l: *mut lua_State) -> c_int {
    // SAFETY: a Lua C function on its own stack; this frame holds nothing to drop.
    unsafe {
        if lua_type(l, 1) <= LUA_TNIL {
            lua_pushstring(l, MODES[level(l) as usize]);
            return 1;
        }
        let chosen = luaL_checkoption(l, 1, c"OFF".as_ptr(), MODES.as_ptr());
        lua_pushinteger(l, chosen as lua_Integer);
        lua_rawsetp(l, LUA_REGISTRYINDEX, mode_key());
        0
    }
}

/// # Safety
/// Lua calls it, as a C function, on a live state `l` of a snlua service with
/// its arguments on the stack.
unsafe extern "C" fn open_stock(l: *mut lua_State) -> c_int {
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
    static OPENER: OnceLock<lua_CFunction> = OnceLock::new();
    *OPENER.get_or_init(|| patched_cache_opener().unwrap_or(open_stock))
}
