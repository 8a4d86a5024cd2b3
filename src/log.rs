//! Error text to the logger service, and the per-service message logs of LOGON/LOGOFF.

use crate::context;
use crate::env;
use crate::handle::registry;
use crate::message::{Message, PTYPE_SOCKET, PTYPE_TEXT};
use crate::timer;
use std::ffi::c_void;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

static LOGGER: AtomicU32 = AtomicU32::new(0);

/// Sends `text` from service `source` to the logger; before there is a logger, or after it is
/// gone, the line goes to stderr so nothing is silently lost.
pub fn error(source: u32, text: &str) {
    // SAFETY: malloc of len+1 bytes, filled below; ownership passes to the message.
    let data = unsafe { libc::malloc(text.len() + 1) as *mut u8 };
    if data.is_null() {
        eprintln!("[:{source:08x}] {text}");
        return;
    }
    // SAFETY: `data` has room for the text and its NUL.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), data, text.len());
        *data.add(text.len()) = 0;
    }
    push_text(source, data as *mut c_void, text.len());
}

/// Like `error`, for a malloc'd text buffer the logger message takes over.
pub fn push_text(source: u32, data: *mut c_void, len: usize) {
    let mut logger = LOGGER.load(Ordering::Relaxed);
    if logger == 0 {
        logger = registry().find_name("logger");
        LOGGER.store(logger, Ordering::Relaxed);
    }
    let msg = Message::new(source, 0, data, len, PTYPE_TEXT);
    let failed = if logger == 0 { Some(msg) } else { context::push(logger, msg).err() };
    if let Some(mut m) = failed {
        LOGGER.store(0, Ordering::Relaxed);
        // SAFETY: the buffer holds `len` bytes of text.
        let bytes = unsafe { std::slice::from_raw_parts(m.data as *const u8, len) };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[:{source:08x}] {}", String::from_utf8_lossy(bytes));
        m.free_payload();
    }
}

/// Forgets the cached logger handle (the logger was replaced or retired).
pub fn reset_logger() {
    LOGGER.store(0, Ordering::Relaxed);
}

/// A service's message log: `logpath/<handle>.log`, one line per message received.
pub struct ServiceLog<W: Write = File> {
    out: W,
}

impl ServiceLog<File> {
    pub fn open(handle: u32) -> Option<ServiceLog> {
        let dir = env::get("logpath")?;
        let path = format!("{dir}/{handle:08x}.log");
        match std::fs::OpenOptions::new().append(true).create(true).open(&path) {
            Ok(f) => {
                error(handle, &format!("Open log file {path}"));
                let mut log = ServiceLog { out: f };
                log.opened();
                Some(log)
            }
            Err(e) => {
                error(handle, &format!("Open log file {path} fail: {e}"));
                None
            }
        }
    }
}

impl<W: Write> ServiceLog<W> {
    pub fn new(out: W) -> ServiceLog<W> {
        ServiceLog { out }
    }

    pub fn opened(&mut self) {
        let now = timer::now();
        let wall = timer::start_time() as u64 + now / 100;
        let _ = writeln!(self.out, "open time: {} {}", now as u32, ctime(wall));
        let _ = self.out.flush();
    }

    pub fn close(mut self, handle: u32) {
        error(handle, &format!("Close log file :{handle:08x}"));
        let _ = writeln!(self.out, "close time: {}", timer::now() as u32);
        let _ = self.out.flush();
    }

    /// # Safety
    /// `data` points to `size` readable bytes (or is null); for PTYPE_SOCKET it is a socket
    /// message whose data buffer holds `ud` bytes.
    pub unsafe fn output(&mut self, source: u32, ptype: i32, session: i32, data: *const c_void, size: usize) {
        let line = if ptype == PTYPE_SOCKET {
            socket_line(data, size)
        } else {
            // SAFETY: a message payload of `size` bytes (or null with size 0).
            let bytes = unsafe { payload(data, size) };
            format!(":{source:08x} {ptype} {session} {} {}", timer::now() as u32, hex(bytes))
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

/// # Safety
/// `data` must point to `size` readable bytes, or be null.
unsafe fn payload<'a>(data: *const c_void, size: usize) -> &'a [u8] {
    if data.is_null() || size == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data as *const u8, size)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A socket event as upstream logs it: `[socket] type id ud` then the data.
fn socket_line(data: *const c_void, size: usize) -> String {
    #[repr(C)]
    struct SocketMessage {
        kind: i32,
        id: i32,
        ud: i32,
        buffer: *const u8,
    }
    let head = std::mem::size_of::<SocketMessage>();
    if data.is_null() || size < head {
        return "[socket] (malformed)".into();
    }
    // SAFETY: a PTYPE_SOCKET payload starts with a skynet_socket_message.
    let m = unsafe { &*(data as *const SocketMessage) };
    let body = if m.buffer.is_null() {
        // SAFETY: the text follows the header inside the same payload.
        let rest = unsafe { payload((data as *const u8).add(head) as *const c_void, size - head) };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        format!("[{}]", String::from_utf8_lossy(&rest[..end]))
    } else {
        // SAFETY: for data events the buffer holds `ud` bytes.
        hex(unsafe { payload(m.buffer as *const c_void, m.ud.max(0) as usize) })
    };
    format!("[socket] {} {} {} {body}", m.kind, m.id, m.ud)
}

/// `ctime` format ("Wed Jun 30 21:49:08 1993"), in local time.
fn ctime(secs: u64) -> String {
    let t = secs as libc::time_t;
    let mut buf = [0 as libc::c_char; 32];
    // SAFETY: ctime_r writes at most 26 bytes into the buffer.
    let p = unsafe { libc::ctime_r(&t, buf.as_mut_ptr()) };
    if p.is_null() {
        return secs.to_string();
    }
    // SAFETY: ctime_r NUL-terminates its output.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().trim_end().to_string()
}
