//! skynet_server.h: contexts, their queues and dispatch, for modules that drive the core.

use super::{context, context_arc, text};
use crate::context::{self as core, Context};
use crate::handle::registry;
use crate::message::{Message, Payload};
use super::mq::CMessage;
use crate::monitor::Monitor;
use crate::mq::MessageQueue;
use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

/// # Safety
/// `name`, `parm` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_new(name: *const c_char, parm: *const c_char) -> u32 {
    // SAFETY: as documented above.
    let (name, parm) = unsafe { (text(name), text(parm)) };
    match name {
        Some(n) => core::launch(&n, parm.as_deref().unwrap_or("")).unwrap_or(0),
        None => 0,
    }
}

/// # Safety
/// `ctx` is a live context pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_grab(ctx: *mut c_void) {
    if !ctx.is_null() {
        // SAFETY: a live context is an Arc<Context> allocation; this adds one reference.
        unsafe { Arc::increment_strong_count(ctx as *const Context) };
    }
}

/// # Safety
/// `ctx` is a live context pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_reserve(ctx: *mut c_void) {
    // SAFETY: as documented; grab adds the reference reserve keeps.
    unsafe { skynet_context_grab(ctx) };
    // SAFETY: as documented.
    if let Some(c) = unsafe { context(ctx) } {
        c.reserve();
    }
}

/// Drops one reference; returns the context while others remain, NULL when it was the last.
///
/// # Safety
/// `ctx` holds a reference the caller owns (from grab).
#[no_mangle]
pub unsafe extern "C" fn skynet_context_release(ctx: *mut c_void) -> *mut c_void {
    if ctx.is_null() {
        return ctx;
    }
    // SAFETY: the caller gives back a reference it owns.
    let arc = unsafe { Arc::from_raw(ctx as *const Context) };
    let last = Arc::strong_count(&arc) == 1;
    drop(arc);
    if last {
        std::ptr::null_mut()
    } else {
        ctx
    }
}

/// # Safety
/// `ctx` is a live context pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_handle(ctx: *mut c_void) -> u32 {
    // SAFETY: as documented.
    unsafe { context(ctx) }.map_or(0, |c| c.handle())
}

/// # Safety
/// `message` points to a valid skynet_message whose payload the core now owns on success.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_push(handle: u32, message: *const CMessage) -> c_int {
    if message.is_null() {
        return -1;
    }
    // SAFETY: the caller passes a readable skynet_message.
    let m = unsafe { std::ptr::read(message).into_message() };
    match core::push(handle, m) {
        Ok(()) => 0,
        // The caller keeps the payload on failure, as upstream.
        Err(m) => {
            let _still_the_callers = m.payload.into_raw();
            -1
        }
    }
}

/// # Safety
/// `ctx` is a live context; `msg` is a malloc'd payload the core now owns.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_send(
    ctx: *mut c_void,
    msg: *mut c_void,
    sz: usize,
    source: u32,
    ptype: c_int,
    session: c_int,
) {
    // SAFETY: as documented.
    let payload = unsafe { Payload::from_raw(msg, sz) };
    // SAFETY: as documented.
    if let Some(c) = unsafe { context_arc(ctx) } {
        c.push(Message::new(source, session, payload, ptype));
    }
}

/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_newsession(ctx: *mut c_void) -> c_int {
    // SAFETY: as documented.
    unsafe { context(ctx) }.map_or(0, |c| c.new_session())
}

/// # Safety
/// `sm` is a monitor from skynet_monitor_new (or NULL); `q` a queue from the core (or NULL).
#[no_mangle]
pub unsafe extern "C" fn skynet_context_message_dispatch(
    sm: *mut Monitor,
    q: *mut MessageQueue,
    weight: c_int,
) -> *mut MessageQueue {
    let fallback = Monitor::new();
    // SAFETY: as documented; a NULL monitor uses a private one.
    let monitor = unsafe { sm.as_ref() }.unwrap_or(&fallback);
    // SAFETY: a non-null queue pointer carries one reference, passed in here.
    let queue = (!q.is_null()).then(|| unsafe { Arc::from_raw(q as *const MessageQueue) });
    let current = queue.and_then(|q| registry().grab(q.handle()));
    let next = crate::scheduler::dispatch_batch(monitor, current, weight);
    next.map_or(std::ptr::null_mut(), |c| Arc::into_raw(c.queue().clone()) as *mut _)
}

#[no_mangle]
pub extern "C" fn skynet_context_total() -> c_int {
    core::total() as c_int
}

/// # Safety
/// `ctx` is a live context not being dispatched by another thread.
#[no_mangle]
pub unsafe extern "C" fn skynet_context_dispatchall(ctx: *mut c_void) {
    // SAFETY: as documented.
    if let Some(c) = unsafe { context(ctx) } {
        c.dispatch_all();
    }
}

#[no_mangle]
pub extern "C" fn skynet_context_endless(handle: u32) {
    if let Some(c) = registry().grab(handle) {
        c.set_endless();
    }
}

#[no_mangle]
pub extern "C" fn skynet_globalinit() {
    crate::timer::init();
}

#[no_mangle]
pub extern "C" fn skynet_globalexit() {}

#[no_mangle]
pub extern "C" fn skynet_initthread(m: c_int) {
    core::init_thread(m);
}

#[no_mangle]
pub extern "C" fn skynet_profile_enable(enable: c_int) {
    core::set_profile(enable != 0);
}
