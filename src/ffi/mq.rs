//! skynet_mq.h: message queues. A `struct message_queue *` handed to C carries one reference
//! of the queue; functions that take one back say so.

use crate::message::Message;
use crate::mq::{global, MessageQueue};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

pub type DropFn = unsafe extern "C" fn(*mut Message, *mut c_void);

/// Borrows the queue behind `q` without touching its count.
///
/// # Safety
/// `q` is a live queue pointer from the core.
unsafe fn borrow(q: *mut MessageQueue) -> std::mem::ManuallyDrop<Arc<MessageQueue>> {
    // SAFETY: as documented; ManuallyDrop keeps the caller's reference intact.
    std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(q as *const MessageQueue) })
}

/// # Safety
/// `q` is a live queue pointer; its reference passes to the run queue.
#[no_mangle]
pub unsafe extern "C" fn skynet_globalmq_push(q: *mut MessageQueue) {
    if !q.is_null() {
        // SAFETY: as documented.
        global().push(unsafe { Arc::from_raw(q as *const MessageQueue) });
    }
}

#[no_mangle]
pub extern "C" fn skynet_globalmq_pop() -> *mut MessageQueue {
    global().pop().map_or(std::ptr::null_mut(), |q| Arc::into_raw(q) as *mut _)
}

#[no_mangle]
pub extern "C" fn skynet_mq_create(handle: u32) -> *mut MessageQueue {
    Arc::into_raw(MessageQueue::new(handle)) as *mut _
}

/// # Safety
/// `q` is a live queue pointer.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_mark_release(q: *mut MessageQueue) {
    if !q.is_null() {
        // SAFETY: as documented.
        unsafe { borrow(q) }.mark_release();
    }
}

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
    for mut m in q.drain() {
        match drop_func {
            // SAFETY: the caller's drop function takes each message with its ud.
            Some(f) => unsafe { f(&mut m, ud) },
            None => m.free_payload(),
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
pub unsafe extern "C" fn skynet_mq_pop(q: *mut MessageQueue, message: *mut Message) -> c_int {
    if q.is_null() || message.is_null() {
        return 1;
    }
    // SAFETY: as documented.
    match unsafe { borrow(q) }.pop() {
        Some(m) => {
            // SAFETY: `message` is writable (documented).
            unsafe { message.write(m) };
            0
        }
        None => 1,
    }
}

/// # Safety
/// `q` is a live queue pointer; `message` is a readable skynet_message the queue now owns.
#[no_mangle]
pub unsafe extern "C" fn skynet_mq_push(q: *mut MessageQueue, message: *const Message) {
    if q.is_null() || message.is_null() {
        return;
    }
    // SAFETY: as documented.
    unsafe { borrow(q).push(message.read()) };
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
