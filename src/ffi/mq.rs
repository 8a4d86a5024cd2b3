//! skynet_mq.h: message queues. A `struct message_queue *` handed to C carries one reference
//! of the queue; functions that take one back say so.

use crate::message::{Message, Payload, MESSAGE_TYPE_MASK, MESSAGE_TYPE_SHIFT};
use crate::handle::registry;
use crate::mq::MessageQueue;
use crate::scheduler::run_queue;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// Laid out as C's `struct skynet_message`: the type is in the high 8 bits of `sz`.
#[repr(C)]
pub struct CMessage {
    pub source: u32,
    pub session: c_int,
    pub data: *mut c_void,
    pub sz: usize,
}

impl CMessage {
    /// The message as C sees it; its payload now belongs to whoever holds the C struct.
    pub fn from_message(m: Message) -> CMessage {
        let sz = m.size() | ((m.ptype() as usize & 0xff) << MESSAGE_TYPE_SHIFT);
        CMessage { source: m.source, session: m.session, data: m.payload.into_raw(), sz }
    }

    /// Takes the message (and its payload) over from C.
    ///
    /// # Safety
    /// `data` is NULL or a malloc'd block of the size in `sz`, given up by the C side.
    pub unsafe fn into_message(self) -> Message {
        // SAFETY: the caller's promise.
        let payload = unsafe { Payload::from_raw(self.data, self.sz & MESSAGE_TYPE_MASK) };
        Message::new(self.source, self.session, payload, (self.sz >> MESSAGE_TYPE_SHIFT) as i32)
    }
}

pub type DropFn = unsafe extern "C" fn(*mut CMessage, *mut c_void);

/// Borrows the queue behind `q` without touching its count.
///
/// # Safety
/// `q` is a live queue pointer from the core.
unsafe fn borrow(q: *mut MessageQueue) -> std::mem::ManuallyDrop<Arc<MessageQueue>> {
    // SAFETY: as documented; ManuallyDrop keeps the caller's reference intact.
    std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(q as *const MessageQueue) })
}

/// Lists the queue's service on the run queue (the run queue holds services, not queues).
///
/// # Safety
/// `q` is a live queue pointer; its reference is given back.
#[no_mangle]
pub unsafe extern "C" fn skynet_globalmq_push(q: *mut MessageQueue) {
    if !q.is_null() {
        // SAFETY: as documented.
        let q = unsafe { Arc::from_raw(q as *const MessageQueue) };
        if let Some(ctx) = registry().grab(q.handle()) {
            run_queue().push(ctx);
        }
    }
}

/// The queue of the next service on the run queue (one reference for the caller).
#[no_mangle]
pub extern "C" fn skynet_globalmq_pop() -> *mut MessageQueue {
    run_queue().pop().map_or(std::ptr::null_mut(), |c| Arc::into_raw(c.queue().clone()) as *mut _)
}

#[no_mangle]
pub extern "C" fn skynet_mq_create(handle: u32) -> *mut MessageQueue {
    Arc::into_raw(MessageQueue::new(handle)) as *mut _
}

/// Nothing to do here: a queue goes with its service, whose last reference bounces what is
/// left in it.
#[no_mangle]
pub extern "C" fn skynet_mq_mark_release(_q: *mut MessageQueue) {}

/// Drains the queue through `drop_func` and gives back the caller's reference.
///
/// # Safety
/// `q` carries a reference the caller gives up; `drop_func` is callable with `ud`.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_release(q: *mut MessageQueue, drop_func: Option<DropFn>, ud: *mut c_void) {
    if q.is_null() {
        return;
    }
    // SAFETY: as documented.
    let q = unsafe { Arc::from_raw(q as *const MessageQueue) };
    for m in q.drain() {
        match drop_func {
            // SAFETY: the caller's drop function takes each message with its ud.
            Some(f) => unsafe { f(&mut CMessage::from_message(m), ud) },
            None => drop(m),
        }
    }
}

/// # Safety
/// `q` is a live queue pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_handle(q: *mut MessageQueue) -> u32 {
    // SAFETY: as documented.
    if q.is_null() { 0 } else { unsafe { borrow(q) }.handle() }
}

/// 0 and the message written to `message` on success; 1 when empty.
///
/// # Safety
/// `q` is a live queue pointer; `message` is writable.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_pop(q: *mut MessageQueue, message: *mut CMessage) -> c_int {
    if q.is_null() || message.is_null() {
        return 1;
    }
    // SAFETY: as documented.
    match unsafe { borrow(q) }.pop() {
        Some(m) => {
            // SAFETY: `message` is writable (documented).
            unsafe { message.write(CMessage::from_message(m)) };
            0
        }
        None => 1,
    }
}

/// # Safety
/// `q` is a live queue pointer; `message` is a readable skynet_message the queue now owns.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_push(q: *mut MessageQueue, message: *const CMessage) {
    if q.is_null() || message.is_null() {
        return;
    }
    // SAFETY: as documented.
    let (q, m) = unsafe { (borrow(q), message.read().into_message()) };
    // A queue of a live service lists it as a push to the service would; any other queue
    // (made by skynet_mq_create) just holds the message.
    let how = q.push(m);
    if let Some(ctx) = registry().grab(q.handle()) {
        if Arc::ptr_eq(ctx.queue(), &q) {
            crate::scheduler::pushed(&ctx, how);
        }
    }
}

/// # Safety
/// `q` is a live queue pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_length(q: *mut MessageQueue) -> c_int {
    // SAFETY: as documented.
    if q.is_null() { 0 } else { unsafe { borrow(q) }.len() as c_int }
}

/// # Safety
/// `q` is a live queue pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_overload(q: *mut MessageQueue) -> c_int {
    // SAFETY: as documented.
    if q.is_null() { 0 } else { unsafe { borrow(q) }.take_overload() as c_int }
}

#[no_mangle]
pub extern "C" fn skynet_mq_init() {}
