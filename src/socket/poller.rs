//! The event loop: one mio poller (edge-triggered epoll) over every socket, run a round at
//! a time by whichever thread watches the sockets (watch.rs).
//!
//! Each round waits for readiness and notes it in the sockets' state; a socket with an event
//! takes its turn at once: one read, and more while the reads fill their buffers, up to
//! 1 MiB (or up to 32 accepts, or one datagram), then as much writing as the kernel takes. Then come the requests other threads queued, then one more
//! turn for each socket left in the ready list because it had more to do. While that list
//! is not empty the next round polls without waiting, so one busy peer cannot starve the
//! others; and nothing here ever waits on a service or runs one.

use super::addr::{self, Protocol, UdpAddress};
use super::busy_poll::BusyPoll;
use super::report::{self, Payload};
use super::server::{Request, Server, WAKER};
use super::sys;
use super::table::{Kind, State, MAX_READ_BUFFER, MIN_READ_BUFFER};
use crate::log;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Bytes a stream socket may read in one turn while its reads keep filling their buffers.
const TURN_READ_BYTES: u64 = 1 << 20;

/// How long a deferred socket waits before it is tried again.
const RETRY: Duration = Duration::from_millis(100);

const MAX_EVENTS: usize = 256;
const MAX_UDP_PACKAGE: usize = 65535;
/// Connections a listener may take per turn: enough to keep its backlog from overflowing
/// under a connection storm, few enough to leave the other sockets their turn.
const ACCEPT_BATCH: usize = 32;

pub struct Loop {
    poll: mio::Poll,
    events: mio::Events,
    work: Work,
    /// Whether idle workers poll a while before they block (busy_poll.rs).
    pub(super) busy: BusyPoll,
}

/// The event loop's working state (apart from the poller, so events can be handled
/// while their list is borrowed).
struct Work {
    ready: VecDeque<i32>,
    /// Sockets to look at again a little later (a listener out of descriptors with no
    /// spare to drop a connection with), and when they were put there.
    deferred: Vec<i32>,
    deferred_at: Option<Instant>,
    udp_buffer: Vec<u8>,
    /// Kept open so that, out of descriptors, accept can still take a connection off the
    /// backlog and close it rather than leave the listener ready forever.
    spare_fd: RawFd,
    /// Out-of-descriptor drops since the last log line, and when that line was written.
    dropped: u64,
    dropped_logged_at: Option<u64>,
}

impl Loop {
    pub fn new() -> io::Result<Loop> {
        Ok(Loop {
            poll: mio::Poll::new()?,
            events: mio::Events::with_capacity(MAX_EVENTS),
            work: Work::new(),
            busy: BusyPoll::default(),
        })
    }

    /// The last round's poll returned readiness of some socket.
    pub fn had_events(&self) -> bool {
        self.events.iter().any(|e| e.token() != WAKER)
    }

    pub fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }
}

impl Work {
    fn new() -> Work {
        Work {
            ready: VecDeque::new(),
            deferred: Vec::new(),
            deferred_at: None,
            udp_buffer: vec![0; MAX_UDP_PACKAGE],
            spare_fd: sys::open_spare(),
            dropped: 0,
            dropped_logged_at: None,
        }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if self.spare_fd >= 0 {
            sys::close(self.spare_fd);
        }
    }
}

/// What a read did to the socket.
enum ReadOutcome {
    Data,
    Drained,
    Closed,
}

impl Server {
    /// One round over the sockets by whichever thread holds the loop (see watch.rs): waits
    /// for readiness (at most `cap`, None for no limit), calls `woke` as soon as the wait is
    /// over, then handles what came. False once the server is told to exit.
    pub(super) fn round(&self, lp: &mut Loop, cap: Option<Duration>, woke: &mut dyn FnMut()) -> bool {
        let Loop { poll, events, work, .. } = lp;
        let timeout = if !work.ready.is_empty() {
            Some(Duration::ZERO)
        } else {
            match (work.deferred_at.map(|t| RETRY.saturating_sub(t.elapsed())), cap) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let polled = poll.poll(events, timeout);
        woke();
        if let Err(e) = polled {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error(0, &format!("socket: poll failed: {e}"));
            }
            return !self.exiting();
        }
        // A socket not waiting in the ready list takes its turn right away; one that is
        // only has its readiness noted.
        for ev in events.iter() {
            if ev.token() == WAKER {
                continue;
            }
            let id = ev.token().0 as i32;
            let Some(mut st) = self.table.lock(id) else { continue };
            let read_closed = ev.is_read_closed();
            st.readable |= ev.is_readable() || read_closed;
            st.read_closed |= read_closed;
            st.writable |= ev.is_writable();
            st.error |= ev.is_error();
            st.hangup |= read_closed && ev.is_write_closed();
            if !st.queued {
                self.turn(work, &mut st);
            }
        }
        if work.deferred_at.is_some_and(|t| t.elapsed() >= RETRY) {
            work.deferred_at = None;
            let retry = std::mem::take(&mut work.deferred);
            work.ready.extend(retry);
        }
        for Request::Kick(id) in self.take_requests() {
            work.ready.push_back(id);
        }
        if self.exiting() {
            return false;
        }
        for _ in 0..work.ready.len() {
            let Some(id) = work.ready.pop_front() else { break };
            if let Some(mut st) = self.table.lock(id) {
                self.turn(work, &mut st);
            }
        }
        // After the events: what workers left to free waits less than the data that came.
        super::reclaim::drain();
        true
    }

    /// One turn of a socket; if it has more to do, it goes (back) to the ready list.
    fn turn(&self, lp: &mut Work, st: &mut State) {
        st.queued = false;
        let more = match st.kind {
            Kind::Connecting => {
                if !(st.writable || st.error || st.hangup) {
                    return;
                }
                if !self.finish_connect(st) {
                    return;
                }
                self.io(lp, st)
            }
            Kind::Listen => {
                let mut more = false;
                for _ in 0..ACCEPT_BATCH {
                    more = st.reading && st.readable && self.accept(lp, st);
                    if !more {
                        break;
                    }
                }
                more
            }
            Kind::PListen | Kind::Invalid | Kind::Reserve => false,
            _ => self.io(lp, st),
        };
        if more && st.live() && !st.queued {
            st.queued = true;
            lp.ready.push_back(st.id);
        }
    }

    /// Reads, writes and hang-ups of an open socket; true if it has more to do now.
    fn io(&self, lp: &mut Work, st: &mut State) -> bool {
        let mut taken = 0;
        while st.reading && st.readable {
            let before = st.stat.read;
            let outcome =
                if st.protocol == Protocol::Tcp { self.read_stream(st) } else { self.read_datagram(lp, st) };
            if !st.live() {
                return false;
            }
            match outcome {
                // The read side is over; writing may go on below.
                ReadOutcome::Closed => st.readable = false,
                // A stream read that filled its buffer left more in the kernel: take it now,
                // up to a turn's share. Left there, it keeps the peer's window shut, and a
                // window that reopens a little at a time waits for a delayed ACK (40 ms).
                ReadOutcome::Data if st.protocol == Protocol::Tcp => {
                    taken += st.stat.read - before;
                    if taken < TURN_READ_BYTES {
                        continue;
                    }
                }
                _ => {}
            }
            break;
        }
        let writes = !matches!(st.kind, Kind::Connecting | Kind::PListen | Kind::Listen | Kind::HalfCloseWrite);
        if writes && st.writable && !st.lists.is_empty() {
            self.flush(st);
            if !st.live() {
                return false;
            }
        }
        let unread = st.reading && st.readable;
        if st.error && !unread {
            st.error = false;
            let code = match sys::take_error(st.fd) {
                Ok(code) => code,
                Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
            };
            if code != 0 {
                report::error(st.opaque, st.id, &sys::strerror(code));
            }
        }
        if st.hangup && !unread {
            // Both directions are gone (or the peer reset): close now. The owner was told
            // already if the read side had closed before.
            if st.kind == Kind::HalfCloseRead {
                self.force_close(st);
            } else {
                self.close_and_report(st);
            }
            return false;
        }
        unread || (writes && st.writable && !st.lists.is_empty())
    }

    fn read_stream(&self, st: &mut State) -> ReadOutcome {
        let size = st.read_size;
        let data = match sys::read_payload(st.fd, size) {
            Ok(data) if !data.is_empty() => data,
            other => {
                return match other {
                    Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                        log::error(0, &format!("socket: out of memory reading socket {}", st.id));
                        ReadOutcome::Drained
                    }
                    Ok(_) => self.end_of_stream(st),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Data,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        st.readable = false;
                        ReadOutcome::Drained
                    }
                    Err(e) => {
                        // Reported as upstream does; the socket stays for its owner to close.
                        // The next read usually sees the end of the stream; a second error
                        // in a row stops reading.
                        st.read_errors = st.read_errors.saturating_add(1);
                        if st.read_errors > 1 {
                            st.readable = false;
                        }
                        report::error(st.opaque, st.id, &sys::error_text(&e));
                        ReadOutcome::Drained
                    }
                };
            }
        };
        let n = data.len();
        st.read_errors = 0;
        st.stat.read += n as u64;
        st.stat.rtime = self.now();
        if n == size {
            st.read_size = (size * 2).min(MAX_READ_BUFFER);
        } else {
            // A short read took everything the kernel had: new data brings a new edge. The
            // end of the stream does not, so once it was seen, read on until it shows.
            st.readable = st.read_closed;
            if size > MIN_READ_BUFFER && n * 2 < size {
                st.read_size = size / 2;
            }
        }
        report::forward(st.opaque, report::TYPE_DATA, st.id, n as i32, Payload::Buffer(data));
        ReadOutcome::Data
    }

    /// The peer finished sending.
    fn end_of_stream(&self, st: &mut State) -> ReadOutcome {
        st.readable = false;
        if st.closing {
            // Our close already reported CLOSE; finish once the writes are out.
            if st.nothing_to_send() {
                self.force_close(st);
            }
            return ReadOutcome::Closed;
        }
        match st.kind {
            Kind::HalfCloseRead => {}
            Kind::HalfCloseWrite => self.close_and_report(st),
            _ => {
                self.close_read(st);
                report::forward(st.opaque, report::TYPE_CLOSE, st.id, 0, Payload::None);
            }
        }
        ReadOutcome::Closed
    }

    fn read_datagram(&self, lp: &mut Work, st: &mut State) -> ReadOutcome {
        let (n, from) = match sys::recv_from(st.fd, &mut lp.udp_buffer) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return ReadOutcome::Data,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                st.readable = false;
                return ReadOutcome::Drained;
            }
            Err(e) => {
                let (owner, id) = (st.opaque, st.id);
                self.force_close(st);
                report::error(owner, id, &sys::error_text(&e));
                return ReadOutcome::Closed;
            }
        };
        st.stat.read += n as u64;
        st.stat.rtime = self.now();
        let Some(address) = UdpAddress::from_sockaddr(&from) else { return ReadOutcome::Data };
        if address.protocol() != st.protocol as u8 {
            return ReadOutcome::Data;
        }
        let tail = address.as_bytes();
        let data = crate::message::Payload::concat(&lp.udp_buffer[..n], tail);
        report::forward(st.opaque, report::TYPE_UDP, st.id, n as i32, Payload::Buffer(data));
        ReadOutcome::Data
    }

    /// The connect finished (or failed); true if the socket is now connected.
    fn finish_connect(&self, st: &mut State) -> bool {
        let code = match sys::take_error(st.fd) {
            Ok(code) => code,
            Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
        };
        if code != 0 {
            let (owner, id) = (st.opaque, st.id);
            self.force_close(st);
            report::error(owner, id, &sys::strerror(code));
            return false;
        }
        st.kind = Kind::Connected;
        st.error = false;
        let ip = sys::peer_addr(st.fd).ok().and_then(|a| a.to_std()).map(|a| a.ip().to_string());
        report::text(st.opaque, report::TYPE_CONNECT, st.id, 0, ip.as_deref().unwrap_or(""));
        true
    }

    /// Takes one connection off a listener's backlog; true if there may be more.
    fn accept(&self, lp: &mut Work, st: &mut State) -> bool {
        match sys::accept(st.fd) {
            Ok((fd, peer)) => {
                st.stat.read += 1;
                st.stat.rtime = self.now();
                sys::set_keepalive(fd);
                let name = peer.to_std().map(|a| addr::name(&a)).unwrap_or_default();
                let Some((id, mut ns)) = self.table.reserve() else {
                    sys::close(fd);
                    log::error(0, &format!("socket: all {} socket ids in use, connection from {name} closed", super::table::MAX_SOCKET));
                    return true;
                };
                if let Err(e) = self.attach(&mut ns, fd, Protocol::Tcp, st.opaque, false, Kind::PAccept) {
                    sys::close(fd);
                    log::error(0, &format!("socket: can't watch the connection from {name}: {e}"));
                    return true;
                }
                drop(ns);
                report::text(st.opaque, report::TYPE_ACCEPT, st.id, id, &name);
                true
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => {
                    st.readable = false;
                    false
                }
                Some(libc::EINTR) | Some(libc::ECONNABORTED) | Some(libc::EPROTO) => true,
                Some(code @ (libc::EMFILE | libc::ENFILE)) => self.out_of_descriptors(lp, st, code),
                _ => {
                    st.readable = false;
                    log::error(0, &format!("socket: accept on socket {} failed: {}", st.id, sys::error_text(&e)));
                    false
                }
            },
        }
    }

    /// accept ran out of descriptors: tell the owner (an ERROR on the listener, as upstream),
    /// and drop the waiting connection with the spare descriptor so the listener does not
    /// stay ready for nothing. The log says so at most once a second.
    fn out_of_descriptors(&self, lp: &mut Work, st: &mut State, code: i32) -> bool {
        let text = sys::strerror(code);
        report::error(st.opaque, st.id, &text);
        let mut more = false;
        if lp.spare_fd < 0 {
            lp.spare_fd = sys::open_spare();
        }
        if lp.spare_fd < 0 {
            // No spare (another thread took the descriptor it left): try again later
            // rather than spin on a listener that stays ready.
            lp.deferred.push(st.id);
            lp.deferred_at.get_or_insert_with(Instant::now);
        } else {
            sys::close(lp.spare_fd);
            match sys::accept(st.fd) {
                Ok((fd, _)) => {
                    sys::close(fd);
                    lp.dropped += 1;
                    more = true;
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => st.readable = false,
                Err(_) => more = true,
            }
            lp.spare_fd = sys::open_spare();
        }
        let now = self.now();
        if lp.dropped_logged_at.is_none_or(|t| now >= t + 100) {
            log::error(
                0,
                &format!(
                    "socket: accept on socket {}: {text}; {} connection(s) refused (closed at once) since the last report",
                    st.id, lp.dropped
                ),
            );
            lp.dropped = 0;
            lp.dropped_logged_at = Some(now);
        }
        more
    }
}
