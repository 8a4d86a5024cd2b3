//! Socket events as services receive them: a PTYPE_SOCKET message whose payload is a
//! malloc'd `struct skynet_socket_message` (type, id, ud, buffer). Data events carry a
//! buffer the service takes over; the others carry up to 128 bytes of text right after the
//! header (not NUL-terminated, the message size tells the length) and a NULL buffer.

use crate::context;
use crate::message::{Message, PTYPE_SOCKET};
use std::ffi::{c_char, c_int, c_void};

pub const TYPE_DATA: i32 = 1;
pub const TYPE_CONNECT: i32 = 2;
pub const TYPE_CLOSE: i32 = 3;
pub const TYPE_ACCEPT: i32 = 4;
pub const TYPE_ERROR: i32 = 5;
pub const TYPE_UDP: i32 = 6;
pub const TYPE_WARNING: i32 = 7;

/// The C layout of `struct skynet_socket_message`.
#[repr(C)]
pub struct SocketMessage {
    pub kind: c_int,
    pub id: c_int,
    pub ud: c_int,
    pub buffer: *mut c_char,
}

const HEADER: usize = std::mem::size_of::<SocketMessage>();
const MAX_TEXT: usize = 128;

/// What follows the header.
pub enum Payload<'a> {
    /// No buffer (CLOSE, WARNING).
    None,
    /// A malloc'd buffer handed to the service (DATA, UDP).
    Buffer(*mut u8),
    /// Text copied after the header (CONNECT, ACCEPT, ERROR).
    Text(&'a str),
}

/// Sends one event to service `opaque`. If the service is gone everything is freed, and
/// nothing else happens (the socket stays as it is, as upstream).
pub fn forward(opaque: u32, kind: i32, id: i32, ud: i32, payload: Payload) {
    let text = match &payload {
        Payload::Text(t) => &t.as_bytes()[..t.len().min(MAX_TEXT)],
        _ => &[][..],
    };
    let size = HEADER + text.len();
    // SAFETY: a fresh block large enough for the header and the text.
    let sm = unsafe { libc::malloc(size) as *mut SocketMessage };
    let buffer = match payload {
        Payload::Buffer(p) => p,
        _ => std::ptr::null_mut(),
    };
    if sm.is_null() {
        // SAFETY: the data buffer (if any) was ours to hand over; nobody else has it.
        unsafe { libc::free(buffer as *mut c_void) };
        return;
    }
    // SAFETY: `sm` has room for the header followed by `text.len()` bytes.
    unsafe {
        sm.write(SocketMessage { kind, id, ud, buffer: buffer as *mut c_char });
        std::ptr::copy_nonoverlapping(text.as_ptr(), (sm as *mut u8).add(HEADER), text.len());
    }
    if let Err(mut m) = context::push(opaque, Message::new(0, 0, sm as *mut c_void, size, PTYPE_SOCKET)) {
        // SAFETY: the service is gone: the data buffer goes with the message.
        unsafe { libc::free(buffer as *mut c_void) };
        m.free_payload();
    }
}

pub fn text(opaque: u32, kind: i32, id: i32, ud: i32, text: &str) {
    forward(opaque, kind, id, ud, Payload::Text(text));
}

pub fn error(opaque: u32, id: i32, text: &str) {
    forward(opaque, TYPE_ERROR, id, 0, Payload::Text(text));
}
