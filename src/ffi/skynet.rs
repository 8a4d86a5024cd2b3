//! skynet.h: the API every service uses.

use super::{context, result, text};
use crate::command::{self, Reply};
use crate::context::Context;
use crate::handle::registry;
use crate::message::{Borrowed, Payload, PTYPE_TAG_DONTCOPY};
use crate::{harbor, log, timer};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};

/// The C callback: `int cb(ctx, ud, type, session, source, msg, sz)`; non-zero keeps `msg`.
pub type Callback =
    unsafe extern "C" fn(*mut c_void, *mut c_void, c_int, c_int, u32, *const c_void, usize) -> c_int;

/// A service's callback and its user data, as skynet_callback set them.
#[derive(Default)]
pub struct CallbackSlot {
    f: AtomicUsize,
    ud: AtomicPtr<c_void>,
}

impl CallbackSlot {
    pub fn set(&self, ud: *mut c_void, cb: Option<Callback>) {
        self.ud.store(ud, Relaxed);
        self.f.store(cb.map_or(0, |f| f as usize), Release);
    }

    /// Runs the callback on one message of `ctx` (None without a callback). Some(true) when
    /// it kept the payload: then the block is the service's, handed over here.
    pub fn call(&self, ctx: &Context, ptype: i32, session: i32, source: u32, payload: Payload) -> Option<bool> {
        let f = self.f.load(Acquire);
        if f == 0 {
            return None;
        }
        // SAFETY: a non-zero `f` was stored from a valid `Callback` by `set`.
        let cb = unsafe { std::mem::transmute::<usize, Callback>(f) };
        let me = ctx as *const Context as *mut c_void;
        let ud = self.ud.load(Relaxed);
        // SAFETY: calling the service's own callback with its own ud, its live context and a
        // payload of `len` bytes, as skynet does.
        let keep = unsafe { cb(me, ud, ptype, session, source, payload.as_ptr(), payload.len()) } != 0;
        if keep {
            let _kept_by_the_service = payload.into_raw();
        }
        Some(keep)
    }
}

/// Called by the C `skynet_error`: sends the formatted text to the logger.
///
/// # Safety
/// `ctx` is NULL or a live context; `text` is a malloc'd buffer of `len` bytes + NUL, owned now.
#[no_mangle]
pub unsafe extern "C" fn skynet_error_text(ctx: *mut c_void, text: *mut c_char, len: usize) {
    // SAFETY: as documented above.
    let source = unsafe { context(ctx) }.map_or(0, |c| c.handle());
    // SAFETY: as documented above.
    log::push_text(source, unsafe { Payload::from_raw(text as *mut c_void, len) });
}

/// # Safety
/// `ctx` is NULL or a live context; `cmd`, `parm` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn skynet_command(ctx: *mut c_void, cmd: *const c_char, parm: *const c_char) -> *const c_char {
    // SAFETY: as documented above.
    let (ctx, cmd, parm) = unsafe { (context(ctx), text(cmd), text(parm)) };
    let Some(cmd) = cmd else {
        log::error(ctx.map_or(0, |c| c.handle()), "error: skynet_command with a NULL command");
        return std::ptr::null();
    };
    match command::run(ctx, &cmd, parm.as_deref()) {
        Reply::Nothing => std::ptr::null(),
        Reply::Text(s) => result(s),
        Reply::Static(s) => s.as_ptr(),
    }
}

/// # Safety
/// `ctx` is NULL or a live context; `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_queryname(ctx: *mut c_void, name: *const c_char) -> u32 {
    // SAFETY: as documented above.
    let (ctx, name) = unsafe { (context(ctx), text(name)) };
    let from = ctx.map_or(0, |c| c.handle());
    let name = name.unwrap_or_default();
    if let Some(hex) = name.strip_prefix(':') {
        u32::from_str_radix(hex.trim(), 16).unwrap_or(0)
    } else if let Some(local) = name.strip_prefix('.') {
        registry().find_name(local)
    } else {
        log::error(from, &format!("error: Don't support query global name {name}"));
        0
    }
}

/// # Safety
/// `ctx` is NULL or a live context; `msg` points to `sz` bytes (owned by the core with
/// PTYPE_TAG_DONTCOPY) or is NULL.
#[no_mangle]
pub unsafe extern "C" fn skynet_send(
    ctx: *mut c_void,
    source: u32,
    destination: u32,
    ptype: c_int,
    session: c_int,
    msg: *mut c_void,
    sz: usize,
) -> c_int {
    // SAFETY: as documented above.
    let ctx = unsafe { context(ctx) };
    // SAFETY: as documented above.
    let data = unsafe { Borrowed::new(msg, sz, ptype & PTYPE_TAG_DONTCOPY != 0) };
    crate::context::send(ctx, source, destination, ptype, session, data)
}

/// # Safety
/// As skynet_send; `destination` is a NUL-terminated name.
#[no_mangle]
pub unsafe extern "C" fn skynet_sendname(
    ctx: *mut c_void,
    source: u32,
    destination: *const c_char,
    ptype: c_int,
    session: c_int,
    msg: *mut c_void,
    sz: usize,
) -> c_int {
    // SAFETY: as documented above.
    let (ctx, name) = unsafe { (context(ctx), text(destination)) };
    // SAFETY: as documented above.
    let data = unsafe { Borrowed::new(msg, sz, ptype & PTYPE_TAG_DONTCOPY != 0) };
    let Some(name) = name else {
        log::error(ctx.map_or(0, |c| c.handle()), "error: skynet_sendname to a NULL name");
        return -1;
    };
    crate::context::send_name(ctx, source, &name, ptype, session, data)
}

/// # Safety
/// `harbor` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn skynet_isremote(_ctx: *mut c_void, handle: u32, out: *mut c_int) -> c_int {
    let remote = harbor::is_remote(handle);
    if !out.is_null() {
        // SAFETY: a non-null out pointer is writable (the caller's int).
        unsafe { *out = (handle >> 24) as c_int };
    }
    remote as c_int
}

/// # Safety
/// `ctx` is a live context; `cb` is NULL or a valid callback for `ud`.
#[no_mangle]
pub unsafe extern "C" fn skynet_callback(ctx: *mut c_void, ud: *mut c_void, cb: Option<Callback>) {
    // SAFETY: as documented above.
    match unsafe { context(ctx) } {
        Some(c) => c.set_callback(ud, cb),
        None => log::error(0, "error: skynet_callback without a context"),
    }
}

#[no_mangle]
pub extern "C" fn skynet_current_handle() -> u32 {
    crate::context::current_handle()
}

#[no_mangle]
pub extern "C" fn skynet_now() -> u64 {
    timer::now()
}

/// # Safety
/// `info` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn skynet_debug_memory(info: *const c_char) {
    // SAFETY: as documented above.
    let info = unsafe { text(info) }.unwrap_or_default();
    eprintln!("[:{:08x}] {} {:#x}", crate::context::current_handle(), info, crate::memory::used());
}
