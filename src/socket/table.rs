//! The socket table: 65536 slots (made in chunks on first use), each a socket's whole state behind its own lock.
//!
//! Ids come from a counter and a socket lives in slot `id % 65536`, so a slot is only
//! reused after 65535 other sockets were opened, and then under a new id. Every operation
//! names the id it means and checks it against the slot under the lock: a request, event or
//! send for a socket that is gone never touches the socket that took its slot.

use super::addr::{Protocol, UdpAddress};
use super::buffer::WriteLists;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};

pub const MAX_SOCKET: usize = 1 << 16;
/// The first read of a TCP socket asks for this many bytes; full reads double it, reads
/// that fill less than half halve it, never below this.
pub const MIN_READ_BUFFER: usize = 64;
/// ... and never above this.
pub const MAX_READ_BUFFER: usize = 1 << 23;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    /// Id taken, socket being set up by the thread that took it.
    Reserve,
    /// Listening, not accepting until started.
    PListen,
    Listen,
    Connecting,
    Connected,
    /// The read side is closed (the peer's FIN, or our close waiting to flush).
    HalfCloseRead,
    /// Writing failed; reads may go on.
    HalfCloseWrite,
    /// Accepted, not read until started.
    PAccept,
    /// A descriptor given to us (`bind`), never closed by us.
    Bind,
}

#[derive(Clone, Copy, Default)]
pub struct Stat {
    pub read: u64,
    pub write: u64,
    pub rtime: u64,
    pub wtime: u64,
}

pub struct State {
    pub id: i32,
    pub kind: Kind,
    pub fd: RawFd,
    /// The descriptor came from `bind`: never closed by us.
    pub external: bool,
    pub protocol: Protocol,
    /// The service events go to.
    pub opaque: u32,
    /// Reads are wanted (not paused).
    pub reading: bool,
    /// `close` was asked while data was still pending.
    pub closing: bool,
    /// Readiness the watching thread was told of and has not used up. The poller is
    /// edge-triggered: `readable` stays set until a read comes back short or would block,
    /// `writable` until a write would block.
    pub readable: bool,
    pub writable: bool,
    pub hangup: bool,
    pub error: bool,
    /// The peer's end of stream was seen: a short read does not mean there is nothing left
    /// to read (the end itself gives no new edge).
    pub read_closed: bool,
    /// In the event loop's list of sockets with work.
    pub queued: bool,
    /// Read errors in a row (a socket that keeps failing is stopped).
    pub read_errors: u8,
    pub lists: WriteLists,
    /// Pending bytes at which the next WARNING goes out (0: none sent).
    pub warn_size: i64,
    pub read_size: usize,
    /// UDP: the default peer (udp_connect / udp_dial).
    pub peer: Option<UdpAddress>,
    pub stat: Stat,
}

impl State {
    fn empty() -> State {
        State {
            id: 0,
            kind: Kind::Invalid,
            fd: -1,
            external: false,
            protocol: Protocol::Unknown,
            opaque: 0,
            reading: false,
            closing: false,
            readable: false,
            writable: false,
            hangup: false,
            error: false,
            read_closed: false,
            queued: false,
            read_errors: 0,
            lists: WriteLists::default(),
            warn_size: 0,
            read_size: MIN_READ_BUFFER,
            peer: None,
            stat: Stat::default(),
        }
    }

    /// Fresh state for socket `id` (kind Reserve).
    fn reset(&mut self, id: i32) {
        self.lists.clear();
        *self = State::empty();
        self.id = id;
        self.kind = Kind::Reserve;
    }

    /// Is this a live socket (not free, not being set up)?
    pub fn live(&self) -> bool {
        !matches!(self.kind, Kind::Invalid | Kind::Reserve)
    }

    /// Nothing left to write (or writing is over for good).
    pub fn nothing_to_send(&self) -> bool {
        self.lists.is_empty() || self.kind == Kind::HalfCloseWrite
    }
}

/// Slots come in chunks made on first use, so an idle node doesn't carry all 65,536.
const CHUNK: usize = 1024;

/// One chunk of slots, made on first use.
type Chunk = OnceLock<Box<[Mutex<State>]>>;

pub struct Table {
    chunks: Box<[Chunk]>,
    next_id: AtomicI32,
}

pub type Guard<'a> = MutexGuard<'a, State>;

impl Table {
    pub fn new() -> Table {
        Table { chunks: (0..MAX_SOCKET / CHUNK).map(|_| OnceLock::new()).collect(), next_id: AtomicI32::new(0) }
    }

    fn slot(&self, id: i32) -> &Mutex<State> {
        let i = id as u32 as usize % MAX_SOCKET;
        let chunk = self.chunks[i / CHUNK].get_or_init(|| (0..CHUNK).map(|_| Mutex::new(State::empty())).collect());
        &chunk[i % CHUNK]
    }

    /// The slot of `id`, locked, whatever it holds.
    pub fn lock_slot(&self, id: i32) -> Guard<'_> {
        self.slot(id).lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Socket `id` locked, if it is live.
    pub fn lock(&self, id: i32) -> Option<Guard<'_>> {
        if id < 0 {
            return None;
        }
        let g = self.lock_slot(id);
        (g.id == id && g.live()).then_some(g)
    }

    /// Socket `id` locked while it is still reserved by the caller.
    pub fn lock_reserved(&self, id: i32) -> Option<Guard<'_>> {
        let g = self.lock_slot(id);
        (g.id == id && g.kind == Kind::Reserve).then_some(g)
    }

    /// Takes a new id and its slot (kind Reserve), returned locked; None when every slot
    /// is in use. Busy slots are skipped rather than waited for, so this may run while
    /// holding another slot's lock.
    pub fn reserve(&self) -> Option<(i32, Guard<'_>)> {
        for _ in 0..MAX_SOCKET {
            let mut id = self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if id < 0 {
                id = self.next_id.fetch_and(0x7fff_ffff, Ordering::Relaxed) & 0x7fff_ffff;
            }
            let mut g = match self.slot(id).try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            if g.kind == Kind::Invalid {
                g.reset(id);
                return Some((id, g));
            }
        }
        None
    }

    /// Gives back a reserved id whose socket could not be set up.
    pub fn unreserve(&self, id: i32) {
        if let Some(mut g) = self.lock_reserved(id) {
            g.kind = Kind::Invalid;
        }
    }

    /// Every slot in turn, locked (for info and shutdown).
    pub fn for_each(&self, mut f: impl FnMut(&mut State)) {
        for s in self.chunks.iter().filter_map(|c| c.get()).flat_map(|c| c.iter()) {
            let mut g = s.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_slots_reused_under_new_ids() {
        let t = Table::new();
        let (a, g) = t.reserve().unwrap();
        drop(g);
        assert!(t.lock(a).is_none(), "a reserved id is not live yet");
        t.lock_reserved(a).unwrap().kind = Kind::Connected;
        assert!(t.lock(a).is_some());
        t.lock(a).unwrap().kind = Kind::Invalid;
        // Walk the counter once around the table: the slot comes back under another id.
        let mut again = None;
        for _ in 0..MAX_SOCKET {
            let (id, g) = t.reserve().unwrap();
            drop(g);
            if id as usize % MAX_SOCKET == a as usize % MAX_SOCKET {
                again = Some(id);
            }
            t.unreserve(id);
        }
        let b = again.unwrap();
        assert_ne!(a, b);
        t.lock_slot(b).kind = Kind::Connected;
        assert!(t.lock(a).is_none(), "the old id does not reach the new socket");
        assert!(t.lock(b).is_some());
    }

    #[test]
    fn reserve_skips_busy_slots() {
        let t = Table::new();
        let (a, g) = t.reserve().unwrap();
        drop(g);
        let held = t.lock_slot(a + 1);
        let (b, _g) = t.reserve().unwrap();
        assert_eq!(b, a + 2, "the busy slot was skipped");
        drop(held);
    }
}
