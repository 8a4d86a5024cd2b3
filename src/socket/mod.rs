//! The socket server: skynet's network layer. One socket thread drives a mio poller and
//! delivers socket events to services as PTYPE_SOCKET messages; services open, close and
//! write to sockets from any thread. See `server` for the threading, `table` for ids,
//! `buffer` for send ownership and priorities, `addr` for the UDP address encoding.
//!
//! The start-up code drives it: `init` before the threads, the socket thread loops on
//! `poll` until it returns 0, `update_time` from the timer thread, `exit` to stop the socket
//! thread, `free` once every thread has stopped.

mod addr;
mod api;
mod buffer;
mod info;
mod poller;
mod reclaim;
mod report;
mod server;
mod sys;
mod table;

pub use addr::encoded_len as udp_address_len;
pub use buffer::{BufferKind, ObjectInterface, SendBuffer};
pub use info::{Info, INFO_BIND, INFO_CLOSING, INFO_LISTEN, INFO_TCP, INFO_UDP};
pub use crate::ffi::socket::SocketMessage;
pub use report::TYPE_UDP;

use crate::log;
use server::{Request, Server};
use std::os::fd::RawFd;
use std::sync::OnceLock;

static SERVER: OnceLock<Option<Server>> = OnceLock::new();

fn server() -> Option<&'static Server> {
    SERVER.get().and_then(|s| s.as_ref())
}

pub fn init() {
    SERVER.get_or_init(|| match Server::new() {
        Ok(s) => Some(s),
        Err(e) => {
            log::error(0, &format!("socket: can't start the socket server: {e}"));
            None
        }
    });
    if let Some(s) = server() {
        s.set_time(crate::timer::now());
    }
}

/// One round of the socket thread: 0 once the server is told to exit.
pub fn poll() -> i32 {
    match server() {
        Some(s) if s.poll_once() => 1,
        _ => 0,
    }
}

pub fn exit() {
    if let Some(s) = server() {
        s.request(Request::Exit);
    }
}

pub fn update_time() {
    if let Some(s) = server() {
        s.set_time(crate::timer::now());
    }
}

/// Closes every socket (no events: the services are gone).
pub fn free() {
    if let Some(s) = server() {
        s.close_all();
    }
    reclaim::drain();
}

/// Frees a buffer a send could not take because the server is not running.
fn refuse(buf: SendBuffer) -> i32 {
    let _ = buf.discard();
    -1
}

pub fn send(buf: SendBuffer) -> i32 {
    match server() {
        Some(s) => s.send(buf, false),
        None => refuse(buf),
    }
}

pub fn send_lowpriority(buf: SendBuffer) -> i32 {
    match server() {
        Some(s) => s.send(buf, true),
        None => refuse(buf),
    }
}

pub fn listen(opaque: u32, host: &str, port: i32, backlog: i32) -> i32 {
    server().map_or(-1, |s| s.listen(opaque, host, port, backlog))
}

pub fn connect(opaque: u32, host: &str, port: i32) -> i32 {
    server().map_or(-1, |s| s.connect(opaque, host, port))
}

pub fn bind(opaque: u32, fd: RawFd) -> i32 {
    server().map_or(-1, |s| s.bind(opaque, fd))
}

pub fn close(id: i32) {
    if let Some(s) = server() {
        s.close(id, false);
    }
}

pub fn shutdown(id: i32) {
    if let Some(s) = server() {
        s.close(id, true);
    }
}

pub fn start(opaque: u32, id: i32) {
    if let Some(s) = server() {
        s.start(opaque, id);
    }
}

pub fn pause(id: i32) {
    if let Some(s) = server() {
        s.pause(id);
    }
}

pub fn nodelay(id: i32) {
    if let Some(s) = server() {
        s.nodelay(id);
    }
}

pub fn udp(opaque: u32, host: Option<&str>, port: i32) -> i32 {
    server().map_or(-1, |s| s.udp(opaque, host, port))
}

pub fn udp_listen(opaque: u32, host: Option<&str>, port: i32) -> i32 {
    server().map_or(-1, |s| s.udp_listen(opaque, host, port))
}

pub fn udp_dial(opaque: u32, host: &str, port: i32) -> i32 {
    server().map_or(-1, |s| s.udp_dial(opaque, host, port))
}

pub fn udp_connect(id: i32, host: &str, port: i32) -> i32 {
    server().map_or(-1, |s| s.udp_connect(id, host, port))
}

/// Sends to `address` (encoded as in UDP events; see `udp_address_len`).
pub fn udp_send(address: &[u8], buf: SendBuffer) -> i32 {
    match server() {
        Some(s) => s.udp_send(address, buf),
        None => refuse(buf),
    }
}

pub fn info() -> Vec<Info> {
    server().map_or_else(Vec::new, |s| info::collect(&s.table))
}

/// Registers how OBJECT buffers are read and freed (None to remove).
pub fn set_object_interface(i: Option<ObjectInterface>) {
    buffer::set_object_interface(i);
}
