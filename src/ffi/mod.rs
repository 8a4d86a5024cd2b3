//! The C edge: one file per upstream header. Each export checks and converts its C
//! arguments, calls the safe core, and converts the result. Beside the exports, the edge
//! holds what the core needs from C behind safe types: `payload` (message payloads, owned
//! blocks that free themselves), the C layouts of messages, remote messages, socket events
//! and modules (in the file of their header), `lua` (the Lua C API), `sys` (libc calls).
//!
//! The fence: the core modules (context, handle, mq, scheduler, timer, harbor, log,
//! command, module, env, config, monitor, pending, start) have no `unsafe`; the subsystems
//! keep theirs in one edge module each where they can (snlua/ffi.rs, socket/sys.rs).
//! `tools/unsafe-count` prints what is left outside, and `make test` checks the core's 0.

pub mod daemon;
pub mod env;
pub mod handle;
pub mod harbor;
pub mod imp;
pub mod log;
pub mod lua;
pub mod malloc;
pub mod module;
pub mod monitor;
pub mod mq;
pub mod payload;
pub mod server;
pub mod skynet;
pub mod socket;
pub mod sys;
pub mod timer;

use crate::context::Context;
use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};

/// The service behind a `struct skynet_context *`, or None for NULL.
///
/// # Safety
/// A non-null `p` must be a context pointer the core handed out, still referenced.
pub(crate) unsafe fn context<'a>(p: *mut c_void) -> Option<&'a Context> {
    (p as *const Context).as_ref()
}

/// The service behind a `struct skynet_context *` as the Arc that holds it (the reference
/// count untouched: it is the caller's).
///
/// # Safety
/// A non-null `p` must be a context pointer the core handed out, still referenced.
pub(crate) unsafe fn context_arc(p: *mut c_void) -> Option<std::mem::ManuallyDrop<std::sync::Arc<Context>>> {
    // SAFETY: context pointers are `Arc::as_ptr` of a live Arc<Context> (Context::as_c_ptr);
    // ManuallyDrop keeps the count as it was.
    (!p.is_null()).then(|| std::mem::ManuallyDrop::new(unsafe { std::sync::Arc::from_raw(p as *const Context) }))
}

/// A C string argument as text (None for NULL; invalid UTF-8 is replaced).
///
/// # Safety
/// A non-null `p` must point to a NUL-terminated string.
pub(crate) unsafe fn text<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_string_lossy())
    }
}

thread_local! {
    static RESULT: RefCell<CString> = RefCell::new(CString::default());
}

/// Keeps `s` in this thread's result buffer and returns it as a C string, valid until the
/// thread's next call that returns a result (upstream keeps one per context; a service runs
/// on one thread at a time, so per thread is at least as long-lived).
pub(crate) fn result(s: String) -> *const c_char {
    let c = CString::new(s.replace('\0', "")).unwrap_or_default();
    RESULT.with(|r| {
        *r.borrow_mut() = c;
        r.borrow().as_ptr()
    })
}
