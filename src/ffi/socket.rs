//! skynet_socket.h and socket_info.h: the socket server's C edge. Each export converts its
//! C arguments (context, strings, sendbuffer, message) and calls `crate::socket`.

use super::{context, text};
use crate::log;
use crate::message::Payload;
use crate::socket::{self, BufferKind, Info, ObjectInterface, SendBuffer};
use std::ffi::{c_char, c_int, c_void};

/// `struct skynet_socket_message`: the head of every PTYPE_SOCKET payload.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SocketMessage {
    pub kind: c_int,
    pub id: c_int,
    pub ud: c_int,
    pub buffer: *mut c_char,
}

const HEADER: usize = std::mem::size_of::<SocketMessage>();

/// A socket event ready to send: a malloc'd skynet_socket_message followed by its text, and
/// the data buffer it points to, which it owns. Dropped undelivered, it frees both.
pub struct SocketEvent(Payload);

impl SocketEvent {
    pub fn new(kind: i32, id: i32, ud: i32, buffer: Option<Payload>, text: &[u8]) -> SocketEvent {
        let buffer = buffer.map_or(std::ptr::null_mut(), |b| b.into_raw() as *mut c_char);
        SocketEvent(Payload::with_header(&SocketMessage { kind, id, ud, buffer }, text))
    }

    fn head(&self) -> SocketMessage {
        // SAFETY: the payload starts with the header `new` wrote.
        unsafe { (self.0.as_ptr() as *const SocketMessage).read_unaligned() }
    }

    /// Hands the event (and the data buffer inside) to the message that carries it.
    pub fn into_payload(self) -> Payload {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: moved out of a ManuallyDrop that is never used again.
        unsafe { std::ptr::read(&this.0) }
    }
}

impl Drop for SocketEvent {
    fn drop(&mut self) {
        let head = self.head();
        if !head.buffer.is_null() {
            // SAFETY: the event owns its data buffer, a block from the C allocator.
            unsafe { libc::free(head.buffer as *mut c_void) };
        }
    }
}

/// A PTYPE_SOCKET payload as a service's message log shows it: `[socket] type id ud` and the
/// data in hex, or the text in brackets. A payload too short for the header is "malformed".
/// Like every skynet service, this trusts a PTYPE_SOCKET payload's data pointer.
pub fn describe_event(payload: &[u8]) -> String {
    if payload.len() < HEADER {
        return "[socket] (malformed)".into();
    }
    // SAFETY: the payload has a header's worth of bytes (checked above).
    let m = unsafe { (payload.as_ptr() as *const SocketMessage).read_unaligned() };
    let body = if m.buffer.is_null() {
        let rest = &payload[HEADER..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        format!("[{}]", String::from_utf8_lossy(&rest[..end]))
    } else {
        // SAFETY: a data event's buffer holds `ud` bytes (the socket message's contract).
        let data = unsafe { std::slice::from_raw_parts(m.buffer as *const u8, m.ud.max(0) as usize) };
        data.iter().map(|b| format!("{b:02x}")).collect()
    };
    format!("[socket] {} {} {} {body}", m.kind, m.id, m.ud)
}

/// `struct socket_sendbuffer`.
#[repr(C)]
pub struct CSendBuffer {
    pub id: c_int,
    pub kind: c_int,
    pub buffer: *const c_void,
    pub sz: usize,
}

/// `struct socket_info`.
#[repr(C)]
pub struct CSocketInfo {
    pub id: c_int,
    pub kind: c_int,
    pub opaque: u64,
    pub read: u64,
    pub write: u64,
    pub rtime: u64,
    pub wtime: u64,
    pub wbuffer: i64,
    pub reading: u8,
    pub writing: u8,
    pub name: [c_char; 128],
    pub next: *mut CSocketInfo,
}

/// `struct socket_object_interface` (upstream's socket_server.h).
#[repr(C)]
pub struct CObjectInterface {
    pub buffer: Option<unsafe extern "C" fn(*const c_void) -> *const c_void>,
    pub size: Option<unsafe extern "C" fn(*const c_void) -> usize>,
    pub free: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// The service handle behind `ctx` (0 for NULL).
///
/// # Safety
/// `ctx` is NULL or a live context.
unsafe fn handle(ctx: *mut c_void) -> u32 {
    // SAFETY: as documented.
    unsafe { context(ctx) }.map_or(0, |c| c.handle())
}

/// Reads a C sendbuffer; None (logged, nothing freed) for NULL or an unknown type.
///
/// # Safety
/// `buf` is NULL or points to a readable socket_sendbuffer.
unsafe fn send_buffer(buf: *const CSendBuffer) -> Option<SendBuffer> {
    // SAFETY: as documented.
    let b = unsafe { buf.as_ref() }?;
    let kind = match b.kind {
        0 => BufferKind::Memory,
        1 => BufferKind::Object,
        2 => BufferKind::RawPointer,
        other => {
            log::error(0, &format!("socket: send to {}: unknown buffer type {other}", b.id));
            return None;
        }
    };
    Some(SendBuffer { id: b.id, kind, ptr: b.buffer, size: b.sz })
}

#[no_mangle]
pub extern "C" fn skynet_socket_init() {
    socket::init();
}

#[no_mangle]
pub extern "C" fn skynet_socket_exit() {
    socket::exit();
}

#[no_mangle]
pub extern "C" fn skynet_socket_free() {
    socket::free();
}

/// 0 once the socket thread should stop, 1 otherwise.
#[no_mangle]
pub extern "C" fn skynet_socket_poll() -> c_int {
    socket::poll()
}

#[no_mangle]
pub extern "C" fn skynet_socket_updatetime() {
    socket::update_time();
}

/// # Safety
/// `buffer` points to a readable socket_sendbuffer whose buffer follows its type's rules.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_sendbuffer(_ctx: *mut c_void, buffer: *const CSendBuffer) -> c_int {
    // SAFETY: as documented.
    match unsafe { send_buffer(buffer) } {
        Some(b) => socket::send(b),
        None => -1,
    }
}

/// # Safety
/// As skynet_socket_sendbuffer.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_sendbuffer_lowpriority(_ctx: *mut c_void, buffer: *const CSendBuffer) -> c_int {
    // SAFETY: as documented.
    match unsafe { send_buffer(buffer) } {
        Some(b) => socket::send_lowpriority(b),
        None => -1,
    }
}

/// # Safety
/// `ctx` is NULL or a live context; `host` is NULL (any address) or a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_listen(ctx: *mut c_void, host: *const c_char, port: c_int, backlog: c_int) -> c_int {
    // SAFETY: as documented.
    let (opaque, host) = unsafe { (handle(ctx), text(host)) };
    socket::listen(opaque, host.as_deref().unwrap_or(""), port, backlog)
}

/// # Safety
/// `ctx` is NULL or a live context; `host` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_connect(ctx: *mut c_void, host: *const c_char, port: c_int) -> c_int {
    // SAFETY: as documented.
    let (opaque, host) = unsafe { (handle(ctx), text(host)) };
    match host {
        Some(h) => socket::connect(opaque, &h, port),
        None => -1,
    }
}

/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_bind(ctx: *mut c_void, fd: c_int) -> c_int {
    // SAFETY: as documented.
    socket::bind(unsafe { handle(ctx) }, fd)
}

#[no_mangle]
pub extern "C" fn skynet_socket_close(_ctx: *mut c_void, id: c_int) {
    socket::close(id);
}

#[no_mangle]
pub extern "C" fn skynet_socket_shutdown(_ctx: *mut c_void, id: c_int) {
    socket::shutdown(id);
}

/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_start(ctx: *mut c_void, id: c_int) {
    // SAFETY: as documented.
    socket::start(unsafe { handle(ctx) }, id);
}

#[no_mangle]
pub extern "C" fn skynet_socket_pause(_ctx: *mut c_void, id: c_int) {
    socket::pause(id);
}

#[no_mangle]
pub extern "C" fn skynet_socket_nodelay(_ctx: *mut c_void, id: c_int) {
    socket::nodelay(id);
}

/// # Safety
/// `ctx` is NULL or a live context; `addr` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_udp(ctx: *mut c_void, addr: *const c_char, port: c_int) -> c_int {
    // SAFETY: as documented.
    let (opaque, host) = unsafe { (handle(ctx), text(addr)) };
    socket::udp(opaque, host.as_deref(), port)
}

/// # Safety
/// `addr` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_udp_connect(_ctx: *mut c_void, id: c_int, addr: *const c_char, port: c_int) -> c_int {
    // SAFETY: as documented.
    match unsafe { text(addr) } {
        Some(h) => socket::udp_connect(id, &h, port),
        None => -1,
    }
}

/// # Safety
/// `ctx` is NULL or a live context; `addr` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_udp_dial(ctx: *mut c_void, addr: *const c_char, port: c_int) -> c_int {
    // SAFETY: as documented.
    let (opaque, host) = unsafe { (handle(ctx), text(addr)) };
    match host {
        Some(h) => socket::udp_dial(opaque, &h, port),
        None => -1,
    }
}

/// # Safety
/// `ctx` is NULL or a live context; `addr` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_udp_listen(ctx: *mut c_void, addr: *const c_char, port: c_int) -> c_int {
    // SAFETY: as documented.
    let (opaque, host) = unsafe { (handle(ctx), text(addr)) };
    socket::udp_listen(opaque, host.as_deref(), port)
}

/// # Safety
/// `address` is NULL or an encoded UDP address (as in UDP events); `buffer` as in
/// skynet_socket_sendbuffer.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_udp_sendbuffer(
    _ctx: *mut c_void,
    address: *const c_char,
    buffer: *const CSendBuffer,
) -> c_int {
    // SAFETY: as documented.
    let Some(buf) = (unsafe { send_buffer(buffer) }) else { return -1 };
    if address.is_null() {
        // No address: the socket's default peer, like a plain send.
        return socket::send(buf);
    }
    // SAFETY: the first byte of an encoded address says how long it is.
    let first = unsafe { *(address as *const u8) };
    let len = socket::udp_address_len(first).unwrap_or(1);
    // SAFETY: an address with a known protocol byte has `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(address as *const u8, len) };
    socket::udp_send(bytes, buf)
}

/// The sender's address inside a UDP event (after the data), and its size.
///
/// # Safety
/// `msg` is NULL or a socket message the core delivered; `addrsz` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_udp_address(msg: *const SocketMessage, addrsz: *mut c_int) -> *const c_char {
    // SAFETY: as documented.
    let Some(m) = (unsafe { msg.as_ref() }) else { return std::ptr::null() };
    if m.kind != socket::TYPE_UDP || m.buffer.is_null() || m.ud < 0 {
        return std::ptr::null();
    }
    // SAFETY: a UDP event's buffer holds `ud` data bytes followed by the address.
    let address = unsafe { m.buffer.add(m.ud as usize) };
    // SAFETY: the address has at least its protocol byte.
    let Some(len) = socket::udp_address_len(unsafe { *(address as *const u8) }) else { return std::ptr::null() };
    // SAFETY: as documented.
    if let Some(sz) = unsafe { addrsz.as_mut() } {
        *sz = len as c_int;
    }
    address
}

/// Registers how OBJECT buffers are read and freed (our extension: upstream keeps this
/// inside its socket server). NULL, or NULL members, removes it.
///
/// # Safety
/// `soi` is NULL or points to a readable socket_object_interface.
#[no_mangle]
pub unsafe extern "C" fn skynet_socket_userobject(soi: *const CObjectInterface) {
    // SAFETY: as documented.
    let i = unsafe { soi.as_ref() }.and_then(|s| {
        Some(ObjectInterface { buffer: s.buffer?, size: s.size?, free: s.free? })
    });
    socket::set_object_interface(i);
}

/// A new zeroed entry in front of `last`.
#[no_mangle]
pub extern "C" fn socket_info_create(last: *mut CSocketInfo) -> *mut CSocketInfo {
    // SAFETY: a zeroed block the size of socket_info (all-zero is a valid entry).
    let si = unsafe { libc::calloc(1, std::mem::size_of::<CSocketInfo>()) as *mut CSocketInfo };
    if !si.is_null() {
        // SAFETY: `si` is a live, writable entry.
        unsafe { (*si).next = last };
    }
    si
}

/// # Safety
/// `si` is NULL or a list built by socket_info_create / skynet_socket_info.
#[no_mangle]
pub unsafe extern "C" fn socket_info_release(mut si: *mut CSocketInfo) {
    while !si.is_null() {
        // SAFETY: each entry is a live calloc'd block, freed once.
        let next = unsafe { (*si).next };
        // SAFETY: as above.
        unsafe { libc::free(si as *mut c_void) };
        si = next;
    }
}

fn fill(si: &mut CSocketInfo, i: &Info) {
    si.id = i.id;
    si.kind = i.kind;
    si.opaque = i.opaque;
    si.read = i.read;
    si.write = i.write;
    si.rtime = i.rtime;
    si.wtime = i.wtime;
    si.wbuffer = i.wbuffer;
    si.reading = i.reading as u8;
    si.writing = i.writing as u8;
    let n = i.name.len().min(si.name.len() - 1);
    for (d, s) in si.name.iter_mut().zip(&i.name.as_bytes()[..n]) {
        *d = *s as c_char;
    }
    si.name[n] = 0;
}

/// Every socket as a list (freed with socket_info_release); NULL when there is none.
#[no_mangle]
pub extern "C" fn skynet_socket_info() -> *mut CSocketInfo {
    let mut head: *mut CSocketInfo = std::ptr::null_mut();
    for i in socket::info() {
        let si = socket_info_create(head);
        if si.is_null() {
            break;
        }
        // SAFETY: `si` is the live entry just created.
        fill(unsafe { &mut *si }, &i);
        head = si;
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_event_is_logged_as_upstream_logs_it() {
        let text = SocketEvent::new(2, 5, 0, None, b"127.0.0.1").into_payload();
        assert_eq!(describe_event(text.bytes()), "[socket] 2 5 0 [127.0.0.1]");
        let data = SocketEvent::new(1, 7, 3, Some(Payload::copy_of(b"\x01\xab\xff")), &[]);
        let data = data.into_payload();
        assert_eq!(describe_event(data.bytes()), "[socket] 1 7 3 01abff");
        assert_eq!(describe_event(b"short"), "[socket] (malformed)");
        // An event dropped undelivered frees its data buffer too (ASan runs would see a leak).
        drop(SocketEvent(data));
    }
}
