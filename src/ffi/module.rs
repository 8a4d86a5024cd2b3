//! skynet_module.h: C service modules as the core holds them, their loading with dlopen,
//! and the calls into their `_create/_init/_release/_signal`.

use super::text;
use crate::context::Context;
use crate::module;
use std::ffi::{c_char, c_int, c_void, CStr, CString};

pub type CreateFn = unsafe extern "C" fn() -> *mut c_void;
pub type InitFn = unsafe extern "C" fn(*mut c_void, *mut c_void, *const c_char) -> c_int;
pub type ReleaseFn = unsafe extern "C" fn(*mut c_void);
pub type SignalFn = unsafe extern "C" fn(*mut c_void, c_int);

/// Laid out as C's `struct skynet_module`; loaded modules live for the whole process.
#[repr(C)]
pub struct Module {
    name: *const c_char,
    dl: *mut c_void,
    create: Option<CreateFn>,
    init: Option<InitFn>,
    release: Option<ReleaseFn>,
    signal: Option<SignalFn>,
}

// SAFETY: a module is immutable once made (its name a leaked C string, its entry points
// plain functions); skynet requires module entry points to be callable from any thread.
unsafe impl Send for Module {}
// SAFETY: as above: nothing in a Module changes after it is made.
unsafe impl Sync for Module {}

/// A module compiled into the core: its entry points, registered at start-up.
pub struct Builtin {
    pub name: &'static str,
    pub create: Option<CreateFn>,
    pub init: InitFn,
    pub release: Option<ReleaseFn>,
    pub signal: Option<SignalFn>,
}

fn leak_name(name: &str) -> *const c_char {
    CString::new(name.replace('\0', "")).unwrap_or_default().into_raw()
}

impl Module {
    pub fn builtin(b: &Builtin) -> Module {
        Module {
            name: leak_name(b.name),
            dl: std::ptr::null_mut(),
            create: b.create,
            init: Some(b.init),
            release: b.release,
            signal: b.signal,
        }
    }

    /// Opens `file` and finds `<name>_init` and the other entry points in it (`name`'s last
    /// dotted part). Err is why it failed, for the log; "No such file" when there is none.
    pub fn open(file: &str, name: &str) -> Result<Module, String> {
        let cfile = CString::new(file).map_err(|_| "file name contains NUL".to_string())?;
        // SAFETY: dlopen with a valid C string; the handle is kept for the process lifetime.
        let dl = unsafe { libc::dlopen(cfile.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if dl.is_null() {
            // SAFETY: dlerror returns a thread-local message or NULL.
            let msg = unsafe { libc::dlerror() };
            // SAFETY: a non-null dlerror message is a NUL-terminated string.
            return Err(unsafe { text(msg) }.map_or_else(|| "No such file".into(), |m| m.into_owned()));
        }
        let base = name.rsplit('.').next().unwrap_or(name);
        let symbol = |suffix: &str| -> *mut c_void {
            let sym = CString::new(format!("{base}{suffix}")).unwrap_or_default();
            // SAFETY: dl is a live handle from dlopen; sym is a valid C string.
            unsafe { libc::dlsym(dl, sym.as_ptr()) }
        };
        let (create, init, release, signal) = (symbol("_create"), symbol("_init"), symbol("_release"), symbol("_signal"));
        if init.is_null() {
            return Err(format!("C service `{name}` has no {name}_init"));
        }
        // SAFETY: the symbols are the module's entry points with skynet's C signatures (or
        // NULL, which is None).
        unsafe {
            Ok(Module {
                name: leak_name(name),
                dl,
                create: std::mem::transmute::<*mut c_void, Option<CreateFn>>(create),
                init: std::mem::transmute::<*mut c_void, Option<InitFn>>(init),
                release: std::mem::transmute::<*mut c_void, Option<ReleaseFn>>(release),
                signal: std::mem::transmute::<*mut c_void, Option<SignalFn>>(signal),
            })
        }
    }

    pub fn name(&self) -> &str {
        // SAFETY: a module's name is a leaked, NUL-terminated CString (see leak_name).
        unsafe { CStr::from_ptr(self.name) }.to_str().unwrap_or("")
    }

    /// A fresh instance; a module without `_create` gets the non-null marker ~0 as upstream.
    fn create_raw(&self) -> *mut c_void {
        match self.create {
            // SAFETY: calling the module's own constructor.
            Some(f) => unsafe { f() },
            None => usize::MAX as *mut c_void,
        }
    }

    /// # Safety
    /// `inst` comes from this module's create; `ctx` is NULL or a live context pointer.
    unsafe fn init_raw(&self, inst: *mut c_void, ctx: *mut c_void, param: *const c_char) -> c_int {
        match self.init {
            // SAFETY: the caller's promise, and a NUL-terminated (or NULL) param.
            Some(f) => unsafe { f(inst, ctx, param) },
            None => 1,
        }
    }

    /// # Safety
    /// `inst` comes from this module's create and is not used afterwards.
    unsafe fn release_raw(&self, inst: *mut c_void) {
        if let Some(f) = self.release {
            // SAFETY: the caller's promise.
            unsafe { f(inst) }
        }
    }

    /// # Safety
    /// `inst` comes from this module's create and is not released yet.
    unsafe fn signal_raw(&self, inst: *mut c_void, signal: c_int) {
        if let Some(f) = self.signal {
            // SAFETY: the caller's promise; modules make signal thread safe (skynet's rule).
            unsafe { f(inst, signal) }
        }
    }
}

/// One instance of a module, owned by the service that runs it: released when dropped.
pub struct Instance {
    module: &'static Module,
    ptr: *mut c_void,
}

// SAFETY: an instance is used by its service's callbacks, one thread at a time, and its
// signal entry is thread safe by skynet's rule: the pointer may move between threads.
unsafe impl Send for Instance {}
// SAFETY: as above; the only call through `&Instance` from another thread is `signal`.
unsafe impl Sync for Instance {}

impl Instance {
    /// A new instance of `module`; None when its `_create` returned NULL.
    pub fn create(module: &'static Module) -> Option<Instance> {
        let ptr = module.create_raw();
        (!ptr.is_null()).then_some(Instance { module, ptr })
    }

    /// Runs `_init` for the service `ctx`; `param` None is passed as NULL, as upstream does
    /// for a launch without arguments. 0 is success.
    pub fn init(&self, ctx: &Context, param: Option<&CStr>) -> c_int {
        let param = param.map_or(std::ptr::null(), |p| p.as_ptr());
        // SAFETY: `ptr` came from this module's create; `ctx` is live for the call.
        unsafe { self.module.init_raw(self.ptr, ctx as *const Context as *mut c_void, param) }
    }

    pub fn signal(&self, signal: c_int) {
        // SAFETY: `ptr` came from this module's create and is released only on drop.
        unsafe { self.module.signal_raw(self.ptr, signal) }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from this module's create; it is released once, here.
        unsafe { self.module.release_raw(self.ptr) }
    }
}

/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_query(name: *const c_char) -> *const Module {
    // SAFETY: as documented.
    unsafe { text(name) }
        .and_then(|n| module::query(&n))
        .map_or(std::ptr::null(), |m| m as *const Module)
}

/// # Safety
/// `m` comes from skynet_module_query.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_create(m: *const Module) -> *mut c_void {
    // SAFETY: as documented.
    unsafe { m.as_ref() }.map_or(std::ptr::null_mut(), |m| m.create_raw())
}

/// # Safety
/// `m` from skynet_module_query, `inst` from its create, `ctx` a live context, `parm` a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_init(
    m: *const Module,
    inst: *mut c_void,
    ctx: *mut c_void,
    parm: *const c_char,
) -> c_int {
    // SAFETY: as documented.
    let Some(m) = (unsafe { m.as_ref() }) else { return 1 };
    // SAFETY: as documented.
    unsafe { m.init_raw(inst, ctx, parm) }
}

/// # Safety
/// `m` from skynet_module_query, `inst` from its create.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_release(m: *const Module, inst: *mut c_void) {
    // SAFETY: as documented.
    if let Some(m) = unsafe { m.as_ref() } {
        // SAFETY: `inst` came from this module's create (the caller's promise).
        unsafe { m.release_raw(inst) };
    }
}

/// # Safety
/// `m` from skynet_module_query, `inst` from its create.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_instance_signal(m: *const Module, inst: *mut c_void, signal: c_int) {
    // SAFETY: as documented.
    if let Some(m) = unsafe { m.as_ref() } {
        // SAFETY: `inst` came from this module's create (the caller's promise).
        unsafe { m.signal_raw(inst, signal) };
    }
}

/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_module_init(path: *const c_char) {
    // SAFETY: as documented.
    if let Some(p) = unsafe { text(path) } {
        module::init(&p);
    }
}
