//! Socket events as services receive them: a PTYPE_SOCKET message whose payload is a
//! `struct skynet_socket_message` (type, id, ud, buffer; see ffi/socket.rs). Data events
//! carry a buffer the service takes over; the others carry up to 128 bytes of text right
//! after the header (not NUL-terminated, the message size tells the length) and a NULL buffer.

use crate::context;
use crate::ffi::socket::SocketEvent;
use crate::message::{self, Message, PTYPE_SOCKET};

pub const TYPE_DATA: i32 = 1;
pub const TYPE_CONNECT: i32 = 2;
pub const TYPE_CLOSE: i32 = 3;
pub const TYPE_ACCEPT: i32 = 4;
pub const TYPE_ERROR: i32 = 5;
pub const TYPE_UDP: i32 = 6;
pub const TYPE_WARNING: i32 = 7;

const MAX_TEXT: usize = 128;

/// What follows the header.
pub enum Payload<'a> {
    /// No buffer (CLOSE, WARNING).
    None,
    /// A buffer handed to the service (DATA, UDP).
    Buffer(message::Payload),
    /// Text copied after the header (CONNECT, ACCEPT, ERROR).
    Text(&'a str),
}

/// Sends one event to service `opaque`. If the service is gone everything is freed, and
/// nothing else happens (the socket stays as it is, as upstream).
pub fn forward(opaque: u32, kind: i32, id: i32, ud: i32, payload: Payload) {
    let (buffer, text) = match payload {
        Payload::Text(t) => (None, &t.as_bytes()[..t.len().min(MAX_TEXT)]),
        Payload::Buffer(b) => (Some(b), &[][..]),
        Payload::None => (None, &[][..]),
    };
    let event = SocketEvent::new(kind, id, ud, buffer, text);
    // A refused event is dropped here, with its buffer.
    let _ = context::deliver(opaque, event, |e| Message::new(0, 0, e.into_payload(), PTYPE_SOCKET));
}

pub fn text(opaque: u32, kind: i32, id: i32, ud: i32, text: &str) {
    forward(opaque, kind, id, ud, Payload::Text(text));
}

pub fn error(opaque: u32, id: i32, text: &str) {
    forward(opaque, TYPE_ERROR, id, 0, Payload::Text(text));
}
