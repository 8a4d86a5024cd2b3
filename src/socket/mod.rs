//! The socket server: skynet's network layer. One mio poller delivers socket events to
//! services as PTYPE_SOCKET messages; services open, close and write to sockets from any
//! thread. See `server` for the threading, `watch` for which thread polls (an idle worker,
//! or the socket thread when none is), `busy_poll` for how long a worker polls before it
//! blocks, `table` for ids, `buffer` for send ownership and priorities, `addr` for the UDP
//! address encoding.
//!
//! The start-up code drives it: `init` before the threads, `guard` as the socket thread's
//! body, `worker_watch` from idle workers, `check_watch` from the timer thread each tick,
//! `exit` to stop the watching, `free` once every thread has stopped.

mod addr;
mod api;
mod buffer;
mod busy_poll;
mod info;
mod poller;
mod reclaim;
mod report;
mod server;
mod sys;
mod table;
mod watch;

pub use addr::encoded_len as udp_address_len;
pub use buffer::{BufferKind, ObjectInterface, SendBuffer};
pub use info::{Info, INFO_BIND, INFO_CLOSING, INFO_LISTEN, INFO_TCP, INFO_UDP};
pub use crate::ffi::socket::SocketMessage;
pub use report::TYPE_UDP;

use crate::log;
use server::Server;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::Duration;

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

/// One round over the sockets, waiting as long as it takes: 0 once the server is told to
/// exit. (skynet_socket_poll; our own threads watch the sockets through `guard` and
/// `worker_watch`.)
pub fn poll() -> i32 {
    match server() {
        Some(s) if s.poll_blocking() => 1,
        _ => 0,
    }
}

/// The socket thread: watches the sockets whenever no worker does, until the server exits.
pub fn guard() {
    if let Some(s) = server() {
        s.guard();
    }
}

/// A worker with nothing to run watches the sockets in place of sleeping, unless another
/// thread does (then false). See watch.rs.
pub fn worker_watch(
    max_wait: Duration,
    busy_poll: bool,
    has_work: impl Fn() -> bool,
    may_wait: impl FnOnce() -> bool,
    woke: impl FnOnce(),
) -> bool {
    server().is_some_and(|s| s.worker_watch(max_wait, busy_poll, has_work, may_wait, woke))
}

/// Ends the wait of a worker watching the sockets: there is work for it.
pub fn wake_watcher() {
    if let Some(s) = server() {
        s.wake_watcher();
    }
}

/// From the timer thread, every tick: calls in the socket thread when nobody has watched the
/// sockets since the last tick.
pub fn check_watch() {
    if let Some(s) = server() {
        s.check_watch();
    }
}

pub fn exit() {
    if let Some(s) = server() {
        s.exit();
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
