//! Error text to the logger service, and the per-service message logs of LOGON/LOGOFF.

use crate::context;
use crate::env;
use crate::handle::registry;
use crate::message::{Message, Payload, PTYPE_SOCKET, PTYPE_TEXT};
use crate::timer;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

static LOGGER: AtomicU32 = AtomicU32::new(0);

/// Sends `text` from service `source` to the logger; before there is a logger, or after it is
/// gone, the line goes to stderr so nothing is silently lost.
pub fn error(source: u32, text: &str) {
    push_text(source, Payload::copy_of(text.as_bytes()));
}

/// Like `error`, for a text the logger message takes over.
pub fn push_text(source: u32, text: Payload) {
    let mut logger = LOGGER.load(Ordering::Relaxed);
    if logger == 0 {
        logger = registry().find_name("logger");
        LOGGER.store(logger, Ordering::Relaxed);
    }
    let msg = Message::new(source, 0, text, PTYPE_TEXT);
    let failed = if logger == 0 { Some(msg) } else { context::push(logger, msg).err() };
    if let Some(m) = failed {
        LOGGER.store(0, Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[:{source:08x}] {}", String::from_utf8_lossy(m.payload.bytes()));
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

    pub fn output(&mut self, source: u32, ptype: i32, session: i32, payload: &[u8]) {
        let line = if ptype == PTYPE_SOCKET {
            crate::ffi::socket::describe_event(payload)
        } else {
            format!(":{source:08x} {ptype} {session} {} {}", timer::now() as u32, hex(payload))
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `ctime` format ("Wed Jun 30 21:49:08 1993"), in local time.
fn ctime(secs: u64) -> String {
    crate::ffi::sys::ctime(secs)
}
