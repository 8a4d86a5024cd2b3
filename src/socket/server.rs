//! The socket server: the table, the poller registry, the request queue to the watching
//! thread, and the operations on one locked socket that both the watching thread and the
//! calling services use (attach, close, write out, warnings).
//!
//! Threads: services act on a socket directly, under its lock (sends write straight to the
//! kernel when nothing is pending; start/pause/close change the state at once). Events are
//! pushed while the lock is held, so a service sees them in the order they happened. The
//! thread watching the sockets (an idle worker or the socket thread, see watch.rs) runs the
//! poller and does everything readiness drives: reads, accepts, connect completion,
//! flushing pending writes. A service that makes work for it (start on a socket with unread
//! data) sends a `Kick` through the request queue and its Waker.

use super::addr::Protocol;
use super::buffer::{Flush, Sent};
use super::poller::Loop;
use super::report::{self, Payload};
use super::sys;
use super::table::{Kind, State, Table, MIN_READ_BUFFER};
use super::watch::Watch;
use crate::log;
use mio::unix::SourceFd;
use mio::{Interest, Token, Waker};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Pending writes at which a socket's owner first gets a WARNING (then at each doubling).
pub const WARNING_SIZE: i64 = 1024 * 1024;
pub const WAKER: Token = Token(usize::MAX);

pub enum Request {
    /// The socket has work the watching thread must look at.
    Kick(i32),
}

pub struct Server {
    pub table: Table,
    registry: mio::Registry,
    waker: Waker,
    requests: Mutex<Vec<Request>>,
    wake_pending: AtomicBool,
    time: AtomicU64,
    exiting: AtomicBool,
    /// The event loop, held by the thread watching the sockets (see watch.rs).
    pub(super) event_loop: Mutex<Loop>,
    pub(super) watch: Watch,
}

impl Server {
    pub fn new() -> io::Result<Server> {
        let event_loop = Loop::new()?;
        let registry = event_loop.registry().try_clone()?;
        let waker = Waker::new(&registry, WAKER)?;
        Ok(Server {
            table: Table::new(),
            registry,
            waker,
            requests: Mutex::new(Vec::new()),
            wake_pending: AtomicBool::new(false),
            time: AtomicU64::new(0),
            exiting: AtomicBool::new(false),
            event_loop: Mutex::new(event_loop),
            watch: Watch::default(),
        })
    }

    pub fn now(&self) -> u64 {
        self.time.load(Ordering::Relaxed)
    }

    pub fn set_time(&self, t: u64) {
        self.time.store(t, Ordering::Relaxed);
    }

    /// Tells whoever watches the sockets to stop.
    pub fn exit(&self) {
        self.exiting.store(true, Ordering::SeqCst);
        self.wake_watcher();
        self.watch.call_guard();
    }

    pub fn exiting(&self) -> bool {
        self.exiting.load(Ordering::SeqCst)
    }

    /// Ends the poll wait of the thread watching the sockets (its next wait returns at once
    /// if it is not waiting yet).
    pub fn wake_watcher(&self) {
        if let Err(e) = self.waker.wake() {
            log::error(0, &format!("socket: waking the watching thread failed: {e}"));
        }
    }

    pub fn request(&self, r: Request) {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).push(r);
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            self.wake_watcher();
        }
    }

    /// The requests sent since the last call (watching thread).
    pub(super) fn take_requests(&self) -> Vec<Request> {
        if !self.wake_pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.requests.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(super) fn clear_requests(&self) {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.wake_pending.store(false, Ordering::Release);
    }

    /// Asks the watching thread to look at this socket (once until it has).
    pub fn kick(&self, st: &mut State) {
        if !st.queued {
            st.queued = true;
            self.request(Request::Kick(st.id));
        }
    }

    /// Makes a reserved slot the socket `fd` and registers it with the poller.
    pub fn attach(
        &self,
        st: &mut State,
        fd: RawFd,
        protocol: Protocol,
        opaque: u32,
        reading: bool,
        kind: Kind,
    ) -> io::Result<()> {
        debug_assert_eq!(st.kind, Kind::Reserve);
        st.fd = fd;
        st.external = kind == Kind::Bind;
        st.protocol = protocol;
        st.opaque = opaque;
        st.reading = reading;
        st.read_size = MIN_READ_BUFFER;
        // Assume a new socket can take data; the first write that would block says otherwise
        // (and arms the edge that says when it can again). A connecting one waits for the
        // edge that tells the connection is made.
        st.writable = kind != Kind::Connecting;
        if let Err(e) = self.registry.register(
            &mut SourceFd(&fd),
            Token(st.id as u32 as usize),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            st.kind = Kind::Invalid;
            return Err(e);
        }
        st.kind = kind;
        Ok(())
    }

    /// Closes the socket now: pending writes are dropped, the descriptor closed (unless it
    /// was bound from outside) and the slot freed. Sends no event.
    pub fn force_close(&self, st: &mut State) {
        if !st.live() {
            return;
        }
        let _ = self.registry.deregister(&mut SourceFd(&st.fd));
        if !st.external {
            sys::close(st.fd);
        }
        st.lists.clear();
        st.kind = Kind::Invalid;
        st.fd = -1;
        st.reading = false;
        st.closing = false;
        st.peer = None;
    }

    /// Force-closes and tells the owner with a CLOSE event.
    pub fn close_and_report(&self, st: &mut State) {
        let (owner, id) = (st.opaque, st.id);
        self.force_close(st);
        report::forward(owner, report::TYPE_CLOSE, id, 0, Payload::None);
    }

    /// No more reads: the peer's FIN arrived, or `close` waits for writes to finish.
    pub fn close_read(&self, st: &mut State) {
        st.kind = Kind::HalfCloseRead;
        st.reading = false;
        sys::shutdown(st.fd, libc::SHUT_RD);
    }

    /// A write failed: stop writing; report it unless the socket was on its way out anyway.
    pub fn close_write(&self, st: &mut State, e: &io::Error) {
        if st.closing || st.kind == Kind::HalfCloseRead {
            self.force_close(st);
            return;
        }
        if st.kind == Kind::HalfCloseWrite {
            return;
        }
        // Nothing will be written any more: what is pending is dropped now.
        st.kind = Kind::HalfCloseWrite;
        st.lists.clear();
        sys::shutdown(st.fd, libc::SHUT_WR);
        report::error(st.opaque, st.id, &sys::error_text(e));
    }

    pub fn count_write(&self, st: &mut State, n: usize) {
        st.stat.write += n as u64;
        st.stat.wtime = self.now();
    }

    /// After queueing: a WARNING when pending writes reach 1 MiB, then 2, 4, 8 MiB...
    /// (`ud` is the pending size in KiB, rounded up).
    pub fn check_warning(&self, st: &mut State) {
        let size = st.lists.size();
        if size >= WARNING_SIZE && size >= st.warn_size {
            st.warn_size = if st.warn_size == 0 { WARNING_SIZE * 2 } else { st.warn_size * 2 };
            let kib = (size + 1023) / 1024;
            report::forward(st.opaque, report::TYPE_WARNING, st.id, kib.min(i32::MAX as i64) as i32, Payload::None);
        }
    }

    /// Writes what is pending while the socket takes it. When all is written: a closing
    /// socket is closed, and an owner that was warned gets a WARNING with ud 0.
    pub fn flush(&self, st: &mut State) {
        if !st.writable || st.lists.is_empty() {
            return;
        }
        let now = self.now();
        let fd = st.fd;
        let done = if st.protocol == Protocol::Tcp {
            let stat = &mut st.stat;
            match st.lists.flush_stream(
                |b| sys::write(fd, b),
                |n| {
                    stat.write += n as u64;
                    stat.wtime = now;
                },
            ) {
                Flush::Done => true,
                Flush::Blocked => {
                    st.writable = false;
                    false
                }
                Flush::Failed(e) => {
                    self.close_write(st, &e);
                    return;
                }
            }
        } else {
            let (id, protocol, peer) = (st.id, st.protocol, st.peer);
            let stat = &mut st.stat;
            let mut blocked = false;
            let all = st.lists.flush_datagrams(|b| {
                let Some(to) = b.udp.or(peer).and_then(|a| a.to_sockaddr(protocol)) else {
                    log::error(0, &format!("socket: udp {id}: datagram dropped, its address does not match the socket's family"));
                    return Sent::Dropped;
                };
                match sys::send_to(fd, b.bytes(), &to) {
                    Ok(n) => {
                        stat.write += n as u64;
                        stat.wtime = now;
                        Sent::Ok
                    }
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                        blocked = e.kind() == io::ErrorKind::WouldBlock;
                        Sent::Blocked
                    }
                    Err(e) => {
                        log::error(0, &format!("socket: udp {id}: sendto failed: {}", sys::error_text(&e)));
                        Sent::Dropped
                    }
                }
            });
            if blocked {
                st.writable = false;
            }
            all
        };
        if done {
            if st.closing {
                self.force_close(st);
            } else if st.warn_size > 0 {
                st.warn_size = 0;
                report::forward(st.opaque, report::TYPE_WARNING, st.id, 0, Payload::None);
            }
        }
    }

    /// Closes every socket without events (the node is stopping).
    pub fn close_all(&self) {
        self.table.for_each(|st| {
            if st.live() {
                self.force_close(st);
            } else if st.kind == Kind::Reserve {
                st.kind = Kind::Invalid;
            }
        });
        self.clear_requests();
    }
}
