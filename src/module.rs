//! C service modules: `<name>_create/_init/_release/_signal`, found as `?.so` on the `cpath`
//! search path, else among the modules built into the core. A `.so` on the path wins, so a
//! tree's own module replaces ours.

use crate::log;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Mutex, OnceLock};

pub type CreateFn = unsafe extern "C" fn() -> *mut c_void;
pub type InitFn = unsafe extern "C" fn(*mut c_void, *mut c_void, *const c_char) -> c_int;
pub type ReleaseFn = unsafe extern "C" fn(*mut c_void);
pub type SignalFn = unsafe extern "C" fn(*mut c_void, c_int);

/// Laid out as C's `struct skynet_module`; loaded modules live for the whole process.
#[repr(C)]
pub struct Module {
    pub name: *const c_char,
    pub dl: *mut c_void,
    pub create: Option<CreateFn>,
    pub init: Option<InitFn>,
    pub release: Option<ReleaseFn>,
    pub signal: Option<SignalFn>,
}

// Modules are immutable once loaded; their functions may be called from any thread.
unsafe impl Send for Module {}
unsafe impl Sync for Module {}

/// A module compiled into the core.
pub struct Builtin {
    pub name: &'static str,
    pub create: Option<CreateFn>,
    pub init: InitFn,
    pub release: Option<ReleaseFn>,
    pub signal: Option<SignalFn>,
}

struct Loader {
    path: String,
    loaded: Vec<&'static Module>,
}

fn loader() -> &'static Mutex<Loader> {
    static LOADER: OnceLock<Mutex<Loader>> = OnceLock::new();
    LOADER.get_or_init(|| Mutex::new(Loader { path: "./cservice/?.so".into(), loaded: Vec::new() }))
}

fn builtins() -> &'static [Builtin] {
    crate::snlua::BUILTINS
}

/// Sets the search path (`cpath`): `;`-separated patterns, each with one `?`.
pub fn init(path: &str) {
    loader().lock().unwrap_or_else(|e| e.into_inner()).path = path.to_owned();
}

/// Finds (loading on first use) the module called `name`.
pub fn query(name: &str) -> Option<&'static Module> {
    let mut l = loader().lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: every loaded module's name is a leaked, NUL-terminated CString.
    if let Some(m) = l.loaded.iter().find(|m| unsafe { CStr::from_ptr(m.name) }.to_bytes() == name.as_bytes()) {
        return Some(m);
    }
    let module = open_shared(&l.path, name).or_else(|| builtin(name))?;
    let module: &'static Module = Box::leak(Box::new(module));
    l.loaded.push(module);
    Some(module)
}

fn builtin(name: &str) -> Option<Module> {
    let b = builtins().iter().find(|b| b.name == name)?;
    Some(Module {
        name: CString::new(name).ok()?.into_raw(),
        dl: std::ptr::null_mut(),
        create: b.create,
        init: Some(b.init),
        release: b.release,
        signal: b.signal,
    })
}

fn open_shared(path: &str, name: &str) -> Option<Module> {
    let mut last_error = String::new();
    for pattern in path.split(';').filter(|p| !p.is_empty()) {
        let Some(file) = expand(pattern, name) else {
            log::error(0, &format!("error: invalid C service path pattern `{pattern}` (needs one ?)"));
            continue;
        };
        let cfile = CString::new(file).ok()?;
        // SAFETY: dlopen with a valid C string; the handle is kept for the process lifetime.
        let dl = unsafe { libc::dlopen(cfile.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if dl.is_null() {
            // SAFETY: dlerror returns a thread-local message or NULL.
            let msg = unsafe { libc::dlerror() };
            if !msg.is_null() {
                last_error = unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned();
            }
            continue;
        }
        let symbol = |suffix: &str| -> *mut c_void {
            let base = name.rsplit('.').next().unwrap_or(name);
            let sym = CString::new(format!("{base}{suffix}")).unwrap();
            // SAFETY: dl is a live handle from dlopen; sym is a valid C string.
            unsafe { libc::dlsym(dl, sym.as_ptr()) }
        };
        let (create, init, release, signal) =
            (symbol("_create"), symbol("_init"), symbol("_release"), symbol("_signal"));
        if init.is_null() {
            log::error(0, &format!("error: C service `{name}` has no {name}_init"));
            continue;
        }
        // SAFETY: the symbols are the module's entry points with skynet's C signatures.
        return Some(unsafe {
            Module {
                name: CString::new(name).ok()?.into_raw(),
                dl,
                create: std::mem::transmute::<*mut c_void, Option<CreateFn>>(create),
                init: std::mem::transmute::<*mut c_void, Option<InitFn>>(init),
                release: std::mem::transmute::<*mut c_void, Option<ReleaseFn>>(release),
                signal: std::mem::transmute::<*mut c_void, Option<SignalFn>>(signal),
            }
        });
    }
    if !last_error.is_empty() && !last_error.contains("No such file") {
        log::error(0, &format!("error: can't load C service `{name}`: {last_error}"));
    }
    None
}

fn expand(pattern: &str, name: &str) -> Option<String> {
    let (head, tail) = pattern.split_once('?')?;
    Some(format!("{head}{name}{tail}"))
}

impl Module {
    /// A fresh instance; a module without `_create` gets the non-null marker ~0 as upstream.
    pub fn create_instance(&self) -> *mut c_void {
        match self.create {
            // SAFETY: calling the module's own constructor.
            Some(f) => unsafe { f() },
            None => usize::MAX as *mut c_void,
        }
    }

    /// `param` None is passed as NULL, as upstream does for a launch without arguments.
    ///
    /// # Safety
    /// `inst` comes from this module's create; `ctx` is the live context it serves.
    pub unsafe fn init_instance(&self, inst: *mut c_void, ctx: *mut c_void, param: Option<&CStr>) -> c_int {
        let param = param.map_or(std::ptr::null(), |p| p.as_ptr());
        match self.init {
            // SAFETY: the module's init with its instance, context and a NUL-terminated (or NULL) param.
            Some(f) => unsafe { f(inst, ctx, param) },
            None => 1,
        }
    }

    /// # Safety
    /// `inst` comes from this module's create and is not used afterwards.
    pub unsafe fn release_instance(&self, inst: *mut c_void) {
        if let Some(f) = self.release {
            // SAFETY: the instance came from this module's create and is released once.
            unsafe { f(inst) }
        }
    }

    /// # Safety
    /// `inst` comes from this module's create and is not released yet.
    pub unsafe fn signal_instance(&self, inst: *mut c_void, signal: c_int) {
        if let Some(f) = self.signal {
            // SAFETY: the module's signal entry; modules must make it thread safe (skynet's rule).
            unsafe { f(inst, signal) }
        }
    }
}
