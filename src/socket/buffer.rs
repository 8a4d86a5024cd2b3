//! Outgoing data: the buffers services hand over (socket_buffer.h) with their ownership
//! rules, and each socket's two write lists.
//!
//! Ownership: a MEMORY buffer is a malloc'd block the server frees once sent (or refused);
//! an OBJECT is resolved and freed through the registered object interface; a RAWPOINTER
//! is borrowed for the duration of the call only, so whatever is not written at once is
//! copied.
//!
//! The lists: everything goes to the high list, except a low-priority send made while data
//! is already pending, which goes to the low list. The high list is written first; the low
//! list only when the high one is empty. A low buffer that is partly written moves to the
//! (then empty) high list, so high-priority data never lands inside a low-priority buffer.

use super::addr::UdpAddress;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::io;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferKind {
    Memory,
    Object,
    RawPointer,
}

/// The user-object interface: how to find the bytes of an OBJECT buffer and free it.
#[derive(Clone, Copy)]
pub struct ObjectInterface {
    pub buffer: unsafe extern "C" fn(*const c_void) -> *const c_void,
    pub size: unsafe extern "C" fn(*const c_void) -> usize,
    pub free: unsafe extern "C" fn(*mut c_void),
}

static OBJECTS: Mutex<Option<ObjectInterface>> = Mutex::new(None);

pub fn set_object_interface(i: Option<ObjectInterface>) {
    *OBJECTS.lock().unwrap_or_else(|e| e.into_inner()) = i;
}

fn object_interface() -> Option<ObjectInterface> {
    *OBJECTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// One send as a service hands it to the server.
pub struct SendBuffer {
    pub id: i32,
    pub kind: BufferKind,
    pub ptr: *const c_void,
    pub size: usize,
}

/// What to release once a buffer is written or dropped.
enum Owner {
    Nothing,
    Malloc(*mut c_void),
    Object(*mut c_void, unsafe extern "C" fn(*mut c_void)),
}

/// Bytes waiting to be written, and the allocation they came from.
pub struct WriteBuf {
    owner: Owner,
    data: *const u8,
    len: usize,
    /// Some bytes were written already.
    started: bool,
    /// For UDP: where this datagram goes (None: the socket's default peer).
    pub udp: Option<UdpAddress>,
}

// SAFETY: a WriteBuf exclusively owns (or, for a raw pointer inside one call, borrows) its bytes,
// and moves with its socket's state between threads.
unsafe impl Send for WriteBuf {}

impl SendBuffer {
    /// The bytes to send, taking over the caller's buffer; None (the buffer left to the
    /// caller's rules, see `discard`) for an OBJECT with no interface registered.
    pub fn into_write(self) -> Result<WriteBuf, SendBuffer> {
        match self.kind {
            BufferKind::Memory => Ok(WriteBuf {
                owner: Owner::Malloc(self.ptr as *mut c_void),
                data: self.ptr as *const u8,
                len: self.size,
                started: false,
                udp: None,
            }),
            BufferKind::RawPointer => {
                Ok(WriteBuf { owner: Owner::Nothing, data: self.ptr as *const u8, len: self.size, started: false, udp: None })
            }
            BufferKind::Object => {
                let Some(soi) = object_interface() else { return Err(self) };
                // SAFETY: the registered interface resolves the objects services send.
                let (data, len) = unsafe { ((soi.buffer)(self.ptr), (soi.size)(self.ptr)) };
                Ok(WriteBuf { owner: Owner::Object(self.ptr as *mut c_void, soi.free), data: data as *const u8, len, started: false, udp: None })
            }
        }
    }

    /// Releases a refused buffer as its kind says (a raw pointer stays with the caller).
    /// Returns false for an OBJECT that could not be freed for want of an interface.
    pub fn discard(self) -> bool {
        match self.kind {
            BufferKind::Memory => {
                // SAFETY: a MEMORY buffer is a malloc'd block now owned by the server.
                unsafe { libc::free(self.ptr as *mut c_void) };
                true
            }
            BufferKind::RawPointer => true,
            BufferKind::Object => match object_interface() {
                Some(soi) => {
                    // SAFETY: the object belongs to the server now; its interface frees it.
                    unsafe { (soi.free)(self.ptr as *mut c_void) };
                    true
                }
                None => false,
            },
        }
    }
}

impl WriteBuf {
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 || self.data.is_null() {
            &[]
        } else {
            // SAFETY: `data` is valid for `len` bytes while the buffer lives (owned, or
            // borrowed for the current call before `own` is required).
            unsafe { std::slice::from_raw_parts(self.data, self.len) }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `n` bytes of the front were written.
    pub fn advance(&mut self, n: usize) {
        let n = n.min(self.len);
        // SAFETY: stays within (or one past) the same allocation.
        self.data = unsafe { self.data.add(n) };
        self.len -= n;
        self.started |= n > 0;
    }

    /// Makes sure the remaining bytes belong to the server: a borrowed buffer is copied
    /// before the call that lent it returns.
    pub fn own(&mut self) {
        if matches!(self.owner, Owner::Nothing) {
            // SAFETY: a fresh block of `len` bytes (at least 1 so a NULL means failure).
            let copy = unsafe { libc::malloc(self.len.max(1)) as *mut u8 };
            if copy.is_null() {
                self.len = 0;
                return;
            }
            // SAFETY: `data` is readable for `len` bytes (the borrow is still live).
            unsafe { std::ptr::copy_nonoverlapping(self.data, copy, self.len) };
            self.owner = Owner::Malloc(copy as *mut c_void);
            self.data = copy;
        }
    }
}

impl Drop for WriteBuf {
    fn drop(&mut self) {
        match self.owner {
            Owner::Nothing => {}
            // SAFETY: the block was malloc'd and is owned by this buffer.
            Owner::Malloc(p) => unsafe { super::reclaim::free(p) },
            // SAFETY: the object is owned by this buffer; its interface frees it.
            Owner::Object(p, free) => unsafe { free(p) },
        }
    }
}

/// How a flush ended.
#[derive(Debug)]
pub enum Flush {
    /// Both lists are empty.
    Done,
    /// The socket cannot take more now.
    Blocked,
    /// A stream write failed; the data stays queued.
    Failed(io::Error),
}

/// What sending one datagram did.
pub enum Sent {
    Ok,
    /// Try again when the socket is writable.
    Blocked,
    /// Dropped (address mismatch or send error): go on with the next one.
    Dropped,
}

#[derive(Default)]
pub struct WriteLists {
    high: VecDeque<WriteBuf>,
    low: VecDeque<WriteBuf>,
    /// Bytes queued in both lists.
    size: i64,
}

impl WriteLists {
    pub fn is_empty(&self) -> bool {
        self.high.is_empty() && self.low.is_empty()
    }

    pub fn size(&self) -> i64 {
        self.size
    }

    /// Queues `buf` (already owned): to the low list only if `low` and data is pending.
    pub fn push(&mut self, buf: WriteBuf, low: bool) {
        self.size += buf.len() as i64;
        if low && !self.is_empty() {
            self.low.push_back(buf);
        } else {
            self.high.push_back(buf);
        }
    }

    pub fn clear(&mut self) {
        self.high.clear();
        self.low.clear();
        self.size = 0;
    }

    /// Writes as much as `write` takes, high list first. `written` is told each byte count.
    pub fn flush_stream(
        &mut self,
        mut write: impl FnMut(&[u8]) -> io::Result<usize>,
        mut written: impl FnMut(usize),
    ) -> Flush {
        loop {
            let from_low = self.high.is_empty();
            let list = if from_low { &mut self.low } else { &mut self.high };
            let Some(head) = list.front_mut() else { return Flush::Done };
            if head.is_empty() {
                list.pop_front();
                continue;
            }
            match write(head.bytes()) {
                Ok(n) => {
                    written(n);
                    self.size -= n as i64;
                    head.advance(n);
                    if head.is_empty() {
                        list.pop_front();
                        continue;
                    }
                    if from_low && head.started {
                        // A partly written low buffer finishes before anything else.
                        if let Some(b) = self.low.pop_front() {
                            self.high.push_back(b);
                        }
                    }
                    return Flush::Blocked;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::Blocked,
                Err(e) => return Flush::Failed(e),
            }
        }
    }

    /// Sends whole datagrams, high list first, until `send` blocks. Returns true when both
    /// lists are empty.
    pub fn flush_datagrams(&mut self, mut send: impl FnMut(&WriteBuf) -> Sent) -> bool {
        loop {
            let list = if self.high.is_empty() { &mut self.low } else { &mut self.high };
            let Some(head) = list.front() else { return true };
            match send(head) {
                Sent::Blocked => return false,
                Sent::Ok | Sent::Dropped => {
                    self.size -= head.len() as i64;
                    list.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(bytes: &[u8]) -> WriteBuf {
        let mut b = SendBuffer { id: 1, kind: BufferKind::RawPointer, ptr: bytes.as_ptr() as *const c_void, size: bytes.len() }
            .into_write()
            .ok()
            .unwrap();
        b.own();
        b
    }

    /// A writer that takes at most `room` bytes per flush, then blocks.
    fn flush(lists: &mut WriteLists, out: &mut Vec<u8>, room: usize) -> Flush {
        let mut left = room;
        lists.flush_stream(
            |b| {
                if left == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = b.len().min(left);
                out.extend_from_slice(&b[..n]);
                left -= n;
                Ok(n)
            },
            |_| {},
        )
    }

    #[test]
    fn low_priority_waits_and_is_never_split() {
        let mut l = WriteLists::default();
        l.push(owned(b"AAAA"), false);
        l.push(owned(b"llll"), true);
        l.push(owned(b"BBBB"), false);
        let mut out = Vec::new();
        assert!(matches!(flush(&mut l, &mut out, 10), Flush::Blocked));
        // High first, then two bytes of the low buffer...
        assert_eq!(out, b"AAAABBBBll");
        // ...which now finishes before a later high-priority buffer.
        l.push(owned(b"CC"), false);
        assert!(matches!(flush(&mut l, &mut out, 100), Flush::Done));
        assert_eq!(out, b"AAAABBBBllllCC");
        assert_eq!(l.size(), 0);
    }

    #[test]
    fn low_on_empty_lists_goes_high() {
        let mut l = WriteLists::default();
        l.push(owned(b"x"), true);
        l.push(owned(b"y"), false);
        let mut out = Vec::new();
        assert!(matches!(flush(&mut l, &mut out, 100), Flush::Done));
        assert_eq!(out, b"xy");
    }

    #[test]
    fn datagrams_stop_when_blocked() {
        let mut l = WriteLists::default();
        l.push(owned(b"one"), false);
        l.push(owned(b"two"), true);
        let mut sent = 0;
        assert!(!l.flush_datagrams(|_| {
            sent += 1;
            if sent == 1 {
                Sent::Ok
            } else {
                Sent::Blocked
            }
        }));
        assert_eq!(l.size(), 3);
        assert!(l.flush_datagrams(|_| Sent::Dropped));
        assert!(l.is_empty());
    }
}
