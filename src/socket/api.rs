//! What services call (any thread): open, close, start/pause, send. Each works on the
//! socket under its lock and reports through events exactly where upstream reports.

use super::addr::{Protocol, UdpAddress};
use super::buffer::{SendBuffer, WriteBuf};
use super::report::{self, Payload};
use super::server::Server;
use super::sys::{self, Resolved};
use super::table::{Guard, Kind, State};
use crate::log;
use std::io;
use std::os::fd::RawFd;

/// Longest host name accepted (a DNS name has at most 253 characters).
const MAX_HOST: usize = 255;

fn check_host(what: &str, host: &str, port: i32) -> Result<(), String> {
    if host.len() > MAX_HOST {
        let op = what.split(' ').next().unwrap_or(what);
        return Err(format!("socket: {op}: host name of {} bytes is too long", host.len()));
    }
    if !(0..=65535).contains(&port) {
        return Err(format!("socket: {what}: port {port} out of range"));
    }
    Ok(())
}

/// Resolves `host`, preferring an address of `family` (0: any) when there is one.
fn resolve_one(host: &str, port: i32, socktype: i32, family: i32) -> Result<Resolved, String> {
    let mut all = sys::resolve(host, port, socktype)?;
    let pick = all.iter().position(|r| family == 0 || r.family == family).unwrap_or(0);
    Ok(all.swap_remove(pick))
}

/// A socket of `socktype` bound to host:port (an empty host is 0.0.0.0), and its family.
fn bound_socket(host: &str, port: i32, socktype: i32) -> Result<(RawFd, i32), String> {
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let r = resolve_one(host, port, socktype, 0)?;
    let fd = sys::socket(r.family, socktype).map_err(|e| sys::error_text(&e))?;
    let bound = sys::set_reuseaddr(fd).and_then(|_| sys::bind(fd, &r.addr));
    if let Err(e) = bound {
        sys::close(fd);
        return Err(sys::error_text(&e));
    }
    Ok((fd, r.family))
}

impl Server {
    fn reserve_or_log(&self, what: &str) -> Option<(i32, Guard<'_>)> {
        let r = self.table.reserve();
        if r.is_none() {
            log::error(0, &format!("socket: {what}: all {} socket ids are in use", super::table::MAX_SOCKET));
        }
        r
    }

    pub fn listen(&self, opaque: u32, host: &str, port: i32, backlog: i32) -> i32 {
        let what = format!("listen on {host}:{port}");
        if let Err(e) = check_host(&what, host, port) {
            log::error(opaque, &e);
            return -1;
        }
        let fd = match bound_socket(host, port, libc::SOCK_STREAM)
            .and_then(|(fd, _)| match sys::listen(fd, backlog) {
                Ok(()) => Ok(fd),
                Err(e) => {
                    sys::close(fd);
                    Err(sys::error_text(&e))
                }
            }) {
            Ok(fd) => fd,
            Err(e) => {
                log::error(opaque, &format!("socket: {what} failed: {e}"));
                return -1;
            }
        };
        sys::set_nonblocking(fd);
        let Some((id, mut st)) = self.reserve_or_log(&what) else {
            sys::close(fd);
            return -1;
        };
        if let Err(e) = self.attach(&mut st, fd, Protocol::Tcp, opaque, false, Kind::PListen) {
            sys::close(fd);
            report::error(opaque, id, &sys::error_text(&e));
            return id;
        }
        // Like upstream: a CONNECT event with the address listened on, and the port in ud.
        match sys::local_addr(fd).ok().and_then(|a| a.to_std()) {
            Some(a) => report::text(opaque, report::TYPE_CONNECT, id, a.port() as i32, &a.ip().to_string()),
            None => report::error(opaque, id, "getsockname failed"),
        }
        id
    }

    /// A non-blocking connect: the id now, a CONNECT or ERROR event later.
    pub fn connect(&self, opaque: u32, host: &str, port: i32) -> i32 {
        let what = format!("connect to {host}:{port}");
        if let Err(e) = check_host(&what, host, port) {
            log::error(opaque, &e);
            return -1;
        }
        let Some((id, st)) = self.reserve_or_log(&what) else { return -1 };
        // The slot stays reserved (and unlocked) while the name is looked up.
        drop(st);
        let fail = |text: &str| {
            self.table.unreserve(id);
            report::error(opaque, id, text);
            id
        };
        let list = match sys::resolve(host, port, libc::SOCK_STREAM) {
            Ok(l) => l,
            Err(e) => {
                log::error(opaque, &format!("socket: {what} failed: {e}"));
                return fail(&e);
            }
        };
        let mut last_error = io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        let mut opened = None;
        for r in &list {
            let fd = match sys::socket(r.family, libc::SOCK_STREAM) {
                Ok(fd) => fd,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            };
            sys::set_keepalive(fd);
            sys::set_nonblocking(fd);
            match sys::connect(fd, &r.addr) {
                Ok(done) => {
                    opened = Some((fd, done, r.addr));
                    break;
                }
                Err(e) => {
                    sys::close(fd);
                    last_error = e;
                }
            }
        }
        let Some((fd, done, addr)) = opened else {
            if matches!(last_error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                log::error(opaque, &format!("socket: {what} failed: {}", sys::error_text(&last_error)));
            }
            return fail(&sys::error_text(&last_error));
        };
        let Some(mut st) = self.table.lock_reserved(id) else {
            sys::close(fd);
            return -1;
        };
        let kind = if done { Kind::Connected } else { Kind::Connecting };
        if let Err(e) = self.attach(&mut st, fd, Protocol::Tcp, opaque, true, kind) {
            sys::close(fd);
            drop(st);
            return fail(&sys::error_text(&e));
        }
        if done {
            let ip = addr.to_std().map(|a| a.ip().to_string()).unwrap_or_default();
            report::text(opaque, report::TYPE_CONNECT, id, 0, &ip);
        }
        id
    }

    /// Takes over an existing descriptor (not closed by us at the end).
    pub fn bind(&self, opaque: u32, fd: RawFd) -> i32 {
        let Some((id, mut st)) = self.reserve_or_log("bind") else { return -1 };
        sys::set_nonblocking(fd);
        match self.attach(&mut st, fd, Protocol::Tcp, opaque, true, Kind::Bind) {
            Ok(()) => report::text(opaque, report::TYPE_CONNECT, id, 0, "binding"),
            Err(e) => {
                log::error(opaque, &format!("socket: bind of fd {fd} failed: {}", sys::error_text(&e)));
                report::error(opaque, id, &sys::error_text(&e));
            }
        }
        id
    }

    /// `close` (shutdown = false) writes out what is pending first, not reading meanwhile;
    /// `shutdown` drops it and closes now. The owner gets CLOSE unless it had it already.
    pub fn close(&self, id: i32, shutdown: bool) {
        let Some(mut guard) = self.table.lock(id) else { return };
        let st = &mut *guard;
        let read_closed = st.kind == Kind::HalfCloseRead;
        if shutdown || st.nothing_to_send() {
            if read_closed {
                self.force_close(st);
            } else {
                self.close_and_report(st);
            }
            return;
        }
        st.closing = true;
        if !read_closed {
            self.close_read(st);
            report::forward(st.opaque, report::TYPE_CLOSE, st.id, 0, Payload::None);
        }
    }

    /// Starts reading (an accepted socket or a listener) and makes `opaque` the owner.
    pub fn start(&self, opaque: u32, id: i32) {
        let Some(mut guard) = self.table.lock(id) else {
            report::error(opaque, id, "invalid socket");
            return;
        };
        let st = &mut *guard;
        if st.kind == Kind::HalfCloseRead {
            report::error(opaque, id, "socket closed");
            return;
        }
        st.reading = true;
        let said = match st.kind {
            Kind::PAccept => {
                st.kind = Kind::Connected;
                Some("start")
            }
            Kind::PListen => {
                st.kind = Kind::Listen;
                Some("start")
            }
            Kind::Connected => Some("transfer"),
            _ => None,
        };
        if let Some(text) = said {
            st.opaque = opaque;
            report::text(opaque, report::TYPE_CONNECT, id, 0, text);
        }
        if st.readable || st.hangup || st.error {
            self.kick(st);
        }
    }

    pub fn pause(&self, id: i32) {
        if let Some(mut st) = self.table.lock(id) {
            st.reading = false;
        }
    }

    pub fn nodelay(&self, id: i32) {
        if let Some(st) = self.table.lock(id) {
            if st.protocol == Protocol::Tcp {
                sys::set_nodelay(st.fd);
            }
        }
    }

    /// Sends a buffer (ownership as its kind says). 0 when taken, -1 when refused (the
    /// buffer is freed then, and nothing else happens).
    pub fn send(&self, buf: SendBuffer, low: bool) -> i32 {
        let id = buf.id;
        let Some(mut guard) = self.table.lock(id) else {
            discard(buf);
            return -1;
        };
        let st = &mut *guard;
        match st.kind {
            Kind::PListen | Kind::Listen => {
                log::error(0, &format!("socket: write to listening socket {id} refused"));
                discard(buf);
                return -1;
            }
            Kind::HalfCloseWrite | Kind::PAccept => {
                discard(buf);
                return -1;
            }
            _ if st.closing => {
                discard(buf);
                return -1;
            }
            _ => {}
        }
        let wb = match buf.into_write() {
            Ok(wb) => wb,
            Err(_) => {
                log::error(0, &format!("socket: send to {id}: an OBJECT buffer needs an object interface"));
                return -1;
            }
        };
        if st.protocol.is_udp() {
            return self.send_datagram(st, wb, None, low);
        }
        self.send_stream(st, wb, low)
    }

    fn send_stream(&self, st: &mut State, mut wb: WriteBuf, low: bool) -> i32 {
        let direct = st.lists.is_empty()
            && st.writable
            && matches!(st.kind, Kind::Connected | Kind::HalfCloseRead | Kind::Bind);
        if direct {
            loop {
                match sys::write(st.fd, wb.bytes()) {
                    Ok(n) => {
                        self.count_write(st, n);
                        wb.advance(n);
                        if wb.is_empty() {
                            return 0;
                        }
                        st.writable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        st.writable = false;
                        break;
                    }
                    Err(e) => {
                        self.close_write(st, &e);
                        return 0;
                    }
                }
            }
        }
        wb.own();
        st.lists.push(wb, low);
        // The rest of a buffer the kernel took part of is no backlog of sends (nothing was
        // queued before it): one large reply, as a big redis command, must not warn. Upstream
        // warns only when a send is queued behind others; so do we (the next queued send
        // counts this rest, so a real backlog still warns).
        if !direct {
            self.check_warning(st);
        }
        0
    }

    fn send_datagram(&self, st: &mut State, mut wb: WriteBuf, to: Option<UdpAddress>, low: bool) -> i32 {
        let to = to.or(st.peer);
        if st.lists.is_empty() && st.writable && st.kind == Kind::Connected {
            let Some(sa) = to.and_then(|a| a.to_sockaddr(st.protocol)) else {
                log::error(
                    0,
                    &format!(
                        "socket: udp {}: datagram dropped: {}",
                        st.id,
                        if to.is_none() { "no address (udp_connect first)" } else { "address family mismatch" }
                    ),
                );
                return -1;
            };
            match sys::send_to(st.fd, wb.bytes(), &sa) {
                Ok(n) => {
                    self.count_write(st, n);
                    return 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => st.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::error(0, &format!("socket: udp {}: sendto failed: {}", st.id, sys::error_text(&e)));
                    return -1;
                }
            }
        }
        wb.udp = to;
        wb.own();
        st.lists.push(wb, low);
        if st.writable {
            self.kick(st);
        }
        self.check_warning(st);
        0
    }

    /// A UDP socket: bound to addr:port if either is given, else an unbound IPv4 one.
    pub fn udp(&self, opaque: u32, host: Option<&str>, port: i32) -> i32 {
        let what = match host {
            None if port == 0 => "udp (unbound)".to_string(),
            _ => format!("udp on {}:{port}", host.filter(|h| !h.is_empty()).unwrap_or("0.0.0.0")),
        };
        if let Err(e) = check_host(&what, host.unwrap_or(""), port) {
            log::error(opaque, &e);
            return -1;
        }
        let opened = if port != 0 || host.is_some() {
            bound_socket(host.unwrap_or(""), port, libc::SOCK_DGRAM)
        } else {
            sys::socket(libc::AF_INET, libc::SOCK_DGRAM).map(|fd| (fd, libc::AF_INET)).map_err(|e| sys::error_text(&e))
        };
        match opened {
            Ok((fd, family)) => self.add_udp(opaque, fd, family, None, &what),
            Err(e) => {
                log::error(opaque, &format!("socket: {what} failed: {e}"));
                -1
            }
        }
    }

    pub fn udp_listen(&self, opaque: u32, host: Option<&str>, port: i32) -> i32 {
        if port == 0 {
            log::error(opaque, "socket: udp_listen needs a port");
            return -1;
        }
        self.udp(opaque, host, port)
    }

    /// An unbound UDP socket whose default peer is host:port.
    pub fn udp_dial(&self, opaque: u32, host: &str, port: i32) -> i32 {
        let what = format!("udp_dial {host}:{port}");
        if let Err(e) = check_host(&what, host, port) {
            log::error(opaque, &e);
            return -1;
        }
        let r = match resolve_one(host, port, libc::SOCK_DGRAM, 0) {
            Ok(r) => r,
            Err(e) => {
                log::error(opaque, &format!("socket: {what} failed: {e}"));
                return -1;
            }
        };
        let Some(peer) = UdpAddress::from_sockaddr(&r.addr) else { return -1 };
        match sys::socket(r.family, libc::SOCK_DGRAM) {
            Ok(fd) => self.add_udp(opaque, fd, r.family, Some(peer), &what),
            Err(e) => {
                log::error(opaque, &format!("socket: {what} failed: {}", sys::error_text(&e)));
                -1
            }
        }
    }

    fn add_udp(&self, opaque: u32, fd: RawFd, family: i32, peer: Option<UdpAddress>, what: &str) -> i32 {
        sys::set_nonblocking(fd);
        let Some((id, mut st)) = self.reserve_or_log(what) else {
            sys::close(fd);
            return -1;
        };
        if let Err(e) = self.attach(&mut st, fd, Protocol::for_family(family), opaque, true, Kind::Connected) {
            sys::close(fd);
            log::error(opaque, &format!("socket: {what} failed: {}", sys::error_text(&e)));
            return -1;
        }
        st.peer = peer;
        id
    }

    /// Sets the default peer of UDP socket `id`. -1 if the name does not resolve or the
    /// socket is gone; a family mismatch is an ERROR event, as upstream.
    pub fn udp_connect(&self, id: i32, host: &str, port: i32) -> i32 {
        let what = format!("udp_connect {host}:{port}");
        if let Err(e) = check_host(&what, host, port) {
            log::error(0, &e);
            return -1;
        }
        let family = match self.table.lock(id) {
            Some(st) if st.protocol == Protocol::Udpv6 => libc::AF_INET6,
            Some(st) if st.protocol == Protocol::Udp => libc::AF_INET,
            _ => return -1,
        };
        let peer = match resolve_one(host, port, libc::SOCK_DGRAM, family) {
            Ok(r) => UdpAddress::from_sockaddr(&r.addr),
            Err(e) => {
                log::error(0, &format!("socket: {what} failed: {e}"));
                return -1;
            }
        };
        let Some(peer) = peer else { return -1 };
        let Some(mut st) = self.table.lock(id) else { return -1 };
        if peer.protocol() != st.protocol as u8 {
            report::error(st.opaque, id, "protocol mismatch");
            return 0;
        }
        st.peer = Some(peer);
        0
    }

    /// Sends a datagram to an encoded address (see `addr`).
    pub fn udp_send(&self, address: &[u8], buf: SendBuffer) -> i32 {
        let id = buf.id;
        let Some(to) = UdpAddress::from_bytes(address) else {
            discard(buf);
            return -1;
        };
        let Some(mut guard) = self.table.lock(id) else {
            discard(buf);
            return -1;
        };
        let st = &mut *guard;
        if !st.protocol.is_udp() || st.closing {
            discard(buf);
            return -1;
        }
        if to.protocol() != st.protocol as u8 {
            log::error(0, &format!("socket: udp {id}: datagram dropped: address family mismatch"));
            discard(buf);
            return -1;
        }
        match buf.into_write() {
            Ok(wb) => self.send_datagram(st, wb, Some(to), false),
            Err(_) => {
                log::error(0, &format!("socket: send to {id}: an OBJECT buffer needs an object interface"));
                -1
            }
        }
    }
}

fn discard(buf: SendBuffer) {
    let id = buf.id;
    if !buf.discard() {
        log::error(0, &format!("socket: send to {id}: an OBJECT buffer needs an object interface"));
    }
}
