//! snlua, the Lua service host, built into the core as the module `snlua` (a
//! `cservice/snlua.so` found on `cpath` still wins, as for every module).
//!
//! - `host`: the service's Lua state, its setup and the run of the loader;
//! - `alloc`: the accounting behind the states' allocator: the memory limit and the
//!   "Memory warning" reports;
//! - `trap`: `signal 0`, which breaks Lua code stuck in a loop;
//! - `profile`: `skynet.profile`, per-coroutine cpu time;
//! - `codecache`: `skynet.codecache`;
//! - `print`: `print`, a whole line in one write;
//! - `ffi`: the C entry points the core and Lua call into the host with (the module's
//!   `_create/_init/_release/_signal`, the states' allocator), from raw pointers to `Snlua`.
//!
//! Everything here talks to Lua through the C API of the process's one Lua (`crate::ffi::lua`).

mod alloc;
mod codecache;
mod ffi;
mod host;
mod print;
mod profile;
mod trap;

use crate::module::Builtin;
use ffi::host_of;
#[cfg(test)]
use host::Snlua;

pub static SNLUA: Builtin =
    Builtin { name: "snlua", create: Some(ffi::create), init: ffi::init, release: Some(ffi::release), signal: Some(ffi::signal) };

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::lua::*;
    use std::ffi::c_void;
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
                unsafe { ffi::signal(inst as *mut c_void, 0) };
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
        unsafe { ffi::signal(s.0 as *mut c_void, 0) };
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

    /// A file of its own under the system's temporary directory, removed on drop.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> TempFile {
            let dir = std::env::temp_dir().join(format!("snlua-test-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let f = TempFile(dir.join(name));
            f.write(text);
            f
        }
        fn write(&self, text: &str) {
            std::fs::write(&self.0, text).unwrap();
        }
        fn dir(&self) -> String {
            self.0.parent().unwrap().to_str().unwrap().to_owned()
        }
        fn path(&self) -> String {
            self.0.to_str().unwrap().to_owned()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Held by the tests that clear the process-wide cache or depend on what it holds.
    static CACHE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn codecache_shares_files_between_states_until_cleared() {
        let _cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let f = TempFile::new("cc_shared.lua", "return 1, ...");
        let (a, b) = (State::new(), State::new());
        let check = |s: &State, code: &str| s.run(&format!("local f = {:?} {code}", f.path())).unwrap();
        check(&a, "assert(select(1, loadfile(f)()) == 1)");
        f.write("return 2, ...");
        check(&b, "assert(loadfile(f)() == 1, 'the cached version')");
        check(&b, "assert(select(2, loadfile(f)('arg')) == 'arg')");
        check(&b, "local c = require 'skynet.codecache' c.mode 'EXIST' assert(loadfile(f)() == 1) c.mode 'OFF' assert(loadfile(f)() == 2)");
        check(&a, "assert(loadfile(f)() == 1)");
        check(&a, "require('skynet.codecache').clear() assert(loadfile(f)() == 2)");
        check(&b, "assert(loadfile(f)() == 2, 'OFF reads the file') require('skynet.codecache').mode 'ON' assert(loadfile(f)() == 2)");
    }

    #[test]
    fn require_remembers_where_it_found_a_module_until_cleared() {
        let _cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let f = TempFile::new("cc_found.lua", "return 'found'");
        let (a, b) = (State::new(), State::new());
        let path = format!("package.path = {:?} .. '/?.lua'", f.dir());
        a.run(&format!("{path} assert(require 'cc_found' == 'found')")).unwrap();
        std::fs::remove_file(&f.0).unwrap();
        // the same paths: found where the other state found it, without looking
        b.run(&format!("{path} assert(require 'cc_found' == 'found')")).unwrap();
        // other paths: searched again
        let other = format!("package.path = {:?} .. '//?.lua'", f.dir());
        let err = b.run(&format!("{other} package.loaded.cc_found = nil require 'cc_found'")).unwrap_err();
        assert!(err.contains("no file"), "{err}");
        b.run(&format!("{path} package.loaded.cc_found = nil require('skynet.codecache').clear()")).unwrap();
        let err = b.run("require 'cc_found'").unwrap_err();
        assert!(err.contains("no file"), "{err}");
        // a file that is not there: Lua's message, from one attempt to open it
        let missing = format!("{}/cc_missing.lua", f.dir());
        a.run(&format!("local f, err = loadfile({missing:?}) assert(f == nil and err == 'cannot open {missing}: No such file or directory', err)"))
            .unwrap();
    }

    #[test]
    fn codecache_keeps_loadfile_dofile_and_require_semantics() {
        let _cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let f = TempFile::new("cc_mod.lua", "local name, file = ... x_seen = (x_seen or 0) + 1 return { name = name, file = file, line = debug.getinfo(1, 'l').currentline }");
        let bad = TempFile::new("cc_bad.lua", "return +");
        let s = State::new();
        let setup = format!("local dir, f, bad = {:?}, {:?}, {:?} package.path = dir .. '/?.lua'", f.dir(), f.path(), bad.path());
        let run = |code: &str| s.run(&format!("{setup} {code}"));
        run("local m = require 'cc_mod' assert(m.name == 'cc_mod' and m.file == f and m.line == 1, m.file)").unwrap();
        run("local env = { debug = debug } local g = loadfile(f, 'bt', env) g() assert(env.x_seen == 1 and x_seen == 1)").unwrap();
        run("assert(dofile(f).line == 1 and x_seen == 2)").unwrap();
        run("local f2, err = loadfile(bad) assert(f2 == nil and err:find('cc_bad.lua:1:', 1, true), err)").unwrap();
        run("local f2, err = loadfile(dir .. '/no_such.lua') assert(f2 == nil and err:find('cannot open', 1, true), err)").unwrap();
        run("local ok, err = pcall(require, 'cc_none') assert(not ok and err:find(\"no file '\" .. dir .. \"/cc_none.lua'\", 1, true), err)").unwrap();
        run("local ok, err = pcall(require, 'cc_bad') assert(not ok and err:find(\"error loading module 'cc_bad' from file '\" .. bad .. \"'\", 1, true), err)").unwrap();
        run("local ok, err = pcall(dofile, bad) assert(not ok and err:find('cc_bad.lua:1:', 1, true), err)").unwrap();
        run("assert(loadfile(f, 't'))").unwrap();
        let err = run("error('traced')").unwrap_err();
        assert!(err.contains("traced"), "{err}");
    }
}
