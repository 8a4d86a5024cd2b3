//! One message between services: its source, session, type and owned payload.
//!
//! C sees a message as `struct skynet_message` (the type in the high 8 bits of the size);
//! the edge (ffi/mq.rs) converts. In the core the payload is a [`Payload`], which frees
//! itself: a message dropped undelivered leaks nothing.

pub use crate::ffi::payload::{Borrowed, Payload};

pub const PTYPE_TEXT: i32 = 0;
pub const PTYPE_RESPONSE: i32 = 1;
pub const PTYPE_CLIENT: i32 = 3;
pub const PTYPE_SYSTEM: i32 = 4;
pub const PTYPE_HARBOR: i32 = 5;
pub const PTYPE_SOCKET: i32 = 6;
pub const PTYPE_ERROR: i32 = 7;
pub const PTYPE_TAG_DONTCOPY: i32 = 0x10000;
pub const PTYPE_TAG_ALLOCSESSION: i32 = 0x20000;

/// The type lives in the high 8 bits of a C message's `sz`.
pub const MESSAGE_TYPE_SHIFT: u32 = usize::BITS - 8;
pub const MESSAGE_TYPE_MASK: usize = usize::MAX >> 8;

/// The payload keeps the type beside its length (see [`Payload`]): 24 bytes, as in C.
#[derive(Debug)]
pub struct Message {
    pub source: u32,
    pub session: i32,
    pub payload: Payload,
}

impl Message {
    pub fn new(source: u32, session: i32, mut payload: Payload, ptype: i32) -> Message {
        payload.set_tag(ptype as u8);
        Message { source, session, payload }
    }
    /// A message without payload (errors, signals).
    pub fn empty(source: u32, session: i32, ptype: i32) -> Message {
        Message::new(source, session, Payload::empty(), ptype)
    }
    pub fn ptype(&self) -> i32 {
        self.payload.tag() as i32
    }
    pub fn size(&self) -> usize {
        self.payload.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_as_small_as_c_s_and_keeps_type_and_size_apart() {
        assert_eq!(std::mem::size_of::<Message>(), 24);
        let m = Message::new(1, 2, Payload::copy_of(b"four"), 0xfe);
        assert_eq!((m.ptype(), m.size(), m.payload.bytes()), (0xfe, 4, &b"four"[..]));
    }
}
