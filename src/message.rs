//! One message between services, laid out as C's `struct skynet_message`.

use std::ffi::c_void;

pub const PTYPE_TEXT: i32 = 0;
pub const PTYPE_RESPONSE: i32 = 1;
pub const PTYPE_CLIENT: i32 = 3;
pub const PTYPE_SYSTEM: i32 = 4;
pub const PTYPE_HARBOR: i32 = 5;
pub const PTYPE_SOCKET: i32 = 6;
pub const PTYPE_ERROR: i32 = 7;
pub const PTYPE_TAG_DONTCOPY: i32 = 0x10000;
pub const PTYPE_TAG_ALLOCSESSION: i32 = 0x20000;

/// The type lives in the high 8 bits of `sz`.
pub const MESSAGE_TYPE_SHIFT: u32 = usize::BITS - 8;
pub const MESSAGE_TYPE_MASK: usize = usize::MAX >> 8;

#[repr(C)]
#[derive(Debug)]
pub struct Message {
    pub source: u32,
    pub session: i32,
    pub data: *mut c_void,
    pub sz: usize,
}

// A message owns its payload (a malloc'd buffer) and moves between threads with it.
unsafe impl Send for Message {}

impl Message {
    pub fn new(source: u32, session: i32, data: *mut c_void, size: usize, ptype: i32) -> Message {
        Message { source, session, data, sz: size | ((ptype as usize & 0xff) << MESSAGE_TYPE_SHIFT) }
    }
    pub fn ptype(&self) -> i32 {
        (self.sz >> MESSAGE_TYPE_SHIFT) as i32
    }
    pub fn size(&self) -> usize {
        self.sz & MESSAGE_TYPE_MASK
    }
    /// Frees the payload: the message was delivered to no one who keeps it.
    pub fn free_payload(&mut self) {
        if !self.data.is_null() {
            // SAFETY: payloads are malloc'd buffers owned by the message (skynet's rule).
            unsafe { libc::free(self.data) };
            self.data = std::ptr::null_mut();
        }
    }
}
