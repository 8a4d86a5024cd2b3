//! Thin wrappers over the socket system calls the server uses. Every raw libc call of the
//! socket server goes through here, so the rest of the module works with `io::Result`s,
//! `RawFd`s and `SockAddr`s.

use std::ffi::{CStr, CString};
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::RawFd;

/// A socket address as the kernel gives and takes it.
#[derive(Clone, Copy)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    fn empty() -> SockAddr {
        // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid (unspecified) value.
        SockAddr { storage: unsafe { zeroed() }, len: size_of::<libc::sockaddr_storage>() as libc::socklen_t }
    }

    /// # Safety
    /// `addr` points to `len` readable bytes of a socket address.
    unsafe fn from_raw(addr: *const libc::sockaddr, len: libc::socklen_t) -> SockAddr {
        let mut a = SockAddr::empty();
        let n = (len as usize).min(size_of::<libc::sockaddr_storage>());
        std::ptr::copy_nonoverlapping(addr as *const u8, &mut a.storage as *mut _ as *mut u8, n);
        a.len = n as libc::socklen_t;
        a
    }

    pub fn from_std(sa: SocketAddr) -> SockAddr {
        let mut a = SockAddr::empty();
        match sa {
            SocketAddr::V4(v4) => {
                // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
                let sin = unsafe { &mut *(&mut a.storage as *mut _ as *mut libc::sockaddr_in) };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = v4.port().to_be();
                sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
                a.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(v6) => {
                // SAFETY: as above, for a sockaddr_in6.
                let sin6 = unsafe { &mut *(&mut a.storage as *mut _ as *mut libc::sockaddr_in6) };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = v6.port().to_be();
                sin6.sin6_addr.s6_addr = v6.ip().octets();
                sin6.sin6_flowinfo = v6.flowinfo();
                sin6.sin6_scope_id = v6.scope_id();
                a.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        a
    }

    pub fn family(&self) -> i32 {
        self.storage.ss_family as i32
    }

    /// The address as std's type, for IPv4 and IPv6 only.
    pub fn to_std(self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        &self.storage as *const _ as *const libc::sockaddr
    }
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn check_size(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// The C library's text for an errno value ("Connection refused"), as upstream reports it.
pub fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: the buffer is ours and its length is passed; the XSI strerror_r NUL-terminates.
    let r = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if r != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: NUL-terminated by strerror_r.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// The text of an io error without Rust's " (os error N)" suffix.
pub fn error_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => strerror(n),
        None => e.to_string(),
    }
}

pub fn socket(family: i32, kind: i32) -> io::Result<RawFd> {
    // SAFETY: plain system call.
    check(unsafe { libc::socket(family, kind | libc::SOCK_CLOEXEC, 0) })
}

pub fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and gives it up here.
    unsafe { libc::close(fd) };
}

pub fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we were handed; failure leaves it unchanged.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL, 0);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: the option value is a live int of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &value as *const i32 as *const libc::c_void,
            size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

pub fn set_keepalive(fd: RawFd) {
    let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
}

pub fn set_reuseaddr(fd: RawFd) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
}

pub fn set_nodelay(fd: RawFd) {
    let _ = setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
}

/// SO_ERROR: the pending error of a socket (0 for none), clearing it.
pub fn take_error(fd: RawFd) -> io::Result<i32> {
    let mut err: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `err` and `len` are live and sized for the option.
    check(unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, &mut err as *mut i32 as *mut libc::c_void, &mut len)
    })?;
    Ok(err)
}

pub fn bind(fd: RawFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: the address is valid for its recorded length.
    check(unsafe { libc::bind(fd, addr.as_ptr(), addr.len) }).map(|_| ())
}

pub fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: plain system call.
    check(unsafe { libc::listen(fd, backlog) }).map(|_| ())
}

/// A non-blocking connect: Ok(true) when connected at once, Ok(false) while in progress.
pub fn connect(fd: RawFd, addr: &SockAddr) -> io::Result<bool> {
    // SAFETY: the address is valid for its recorded length.
    match check(unsafe { libc::connect(fd, addr.as_ptr(), addr.len) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) => Err(e),
    }
}

/// accept4: a non-blocking, close-on-exec connection and its peer address.
pub fn accept(fd: RawFd) -> io::Result<(RawFd, SockAddr)> {
    let mut addr = SockAddr::empty();
    // SAFETY: `addr` has room for any address; the kernel writes at most `len` bytes.
    let r = check(unsafe {
        libc::accept4(
            fd,
            &mut addr.storage as *mut _ as *mut libc::sockaddr,
            &mut addr.len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    Ok((r, addr))
}

pub fn local_addr(fd: RawFd) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: as in accept.
    check(unsafe { libc::getsockname(fd, &mut addr.storage as *mut _ as *mut libc::sockaddr, &mut addr.len) })?;
    Ok(addr)
}

pub fn peer_addr(fd: RawFd) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: as in accept.
    check(unsafe { libc::getpeername(fd, &mut addr.storage as *mut _ as *mut libc::sockaddr, &mut addr.len) })?;
    Ok(addr)
}

pub fn shutdown(fd: RawFd, how: i32) {
    // SAFETY: plain system call; an error (not a socket, not connected) changes nothing.
    unsafe { libc::shutdown(fd, how) };
}

/// read(2) into `len` bytes at `buf`.
///
/// # Safety
/// `buf` must be valid for `len` writable bytes.
pub unsafe fn read_raw(fd: RawFd, buf: *mut u8, len: usize) -> io::Result<usize> {
    check_size(libc::read(fd, buf as *mut libc::c_void, len))
}

/// read(2) of up to `size` bytes into a fresh payload (empty at the end of the stream).
/// An allocation failure is ErrorKind::OutOfMemory.
pub fn read_payload(fd: RawFd, size: usize) -> io::Result<crate::message::Payload> {
    // SAFETY: a fresh block for the read, freed below unless handed to the payload.
    let buf = unsafe { libc::malloc(size.max(1)) };
    if buf.is_null() {
        return Err(io::ErrorKind::OutOfMemory.into());
    }
    // SAFETY: `buf` has `size` writable bytes.
    match unsafe { read_raw(fd, buf as *mut u8, size) } {
        // SAFETY: a malloc'd block with `n` bytes read into it, handed over.
        Ok(n) if n > 0 => Ok(unsafe { crate::message::Payload::from_raw(buf, n) }),
        other => {
            // SAFETY: nothing was handed over.
            unsafe { libc::free(buf) };
            other.map(|_| crate::message::Payload::empty())
        }
    }
}

pub fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: the slice is readable for its length.
    check_size(unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) })
}

pub fn send_to(fd: RawFd, data: &[u8], addr: &SockAddr) -> io::Result<usize> {
    // SAFETY: the slice and the address are valid for their lengths.
    check_size(unsafe {
        libc::sendto(fd, data.as_ptr() as *const libc::c_void, data.len(), 0, addr.as_ptr(), addr.len)
    })
}

pub fn recv_from(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
    let mut addr = SockAddr::empty();
    // SAFETY: the buffer and the address storage are writable for the lengths passed.
    let n = check_size(unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            0,
            &mut addr.storage as *mut _ as *mut libc::sockaddr,
            &mut addr.len,
        )
    })?;
    Ok((n, addr))
}

/// An fd kept open to be given back when accept runs out of descriptors (see the accept path).
pub fn open_spare() -> RawFd {
    let path = CString::new("/dev/null").unwrap_or_default();
    // SAFETY: the path is NUL-terminated.
    unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }
}

/// One result of a name lookup.
pub struct Resolved {
    pub family: i32,
    pub addr: SockAddr,
}

/// getaddrinfo for `host`:`port` with the given socket type; the error is gai_strerror's text.
pub fn resolve(host: &str, port: i32, socktype: i32) -> Result<Vec<Resolved>, String> {
    let chost = CString::new(host).map_err(|_| "Invalid host".to_string())?;
    let cport = CString::new(port.to_string()).unwrap_or_default();
    // SAFETY: addrinfo is plain old data; zero is the documented "no hints" value.
    let mut hints: libc::addrinfo = unsafe { zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_protocol = if socktype == libc::SOCK_STREAM { libc::IPPROTO_TCP } else { libc::IPPROTO_UDP };
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and the hints live across the call.
    let status = unsafe { libc::getaddrinfo(chost.as_ptr(), cport.as_ptr(), &hints, &mut list) };
    if status != 0 {
        // SAFETY: gai_strerror returns a static string.
        let text = unsafe { CStr::from_ptr(libc::gai_strerror(status)) };
        return Err(text.to_string_lossy().into_owned());
    }
    let mut out = Vec::new();
    let mut p = list;
    while !p.is_null() {
        // SAFETY: `p` walks the list getaddrinfo built; it stays valid until freeaddrinfo.
        let ai = unsafe { &*p };
        if !ai.ai_addr.is_null() {
            // SAFETY: ai_addr is valid for ai_addrlen bytes.
            let addr = unsafe { SockAddr::from_raw(ai.ai_addr, ai.ai_addrlen) };
            out.push(Resolved { family: ai.ai_family, addr });
        }
        p = ai.ai_next;
    }
    // SAFETY: the list came from getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    if out.is_empty() {
        return Err("No address associated with hostname".into());
    }
    Ok(out)
}

/// Times the kernel has preempted the calling thread so far (another runnable thread
/// wanted its core).
pub fn involuntary_switches() -> i64 {
    // SAFETY: rusage is plain data that getrusage fills in.
    let mut ru: libc::rusage = unsafe { zeroed() };
    // SAFETY: a valid pointer to a rusage the call may write.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    ru.ru_nivcsw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for text in ["127.0.0.1:8080", "[::1]:1", "[fe80::1:2]:65535"] {
            let sa: SocketAddr = text.parse().unwrap();
            assert_eq!(SockAddr::from_std(sa).to_std(), Some(sa));
        }
    }

    #[test]
    fn errors_read_like_strerror() {
        assert_eq!(strerror(libc::ECONNREFUSED), "Connection refused");
        assert!(resolve("127.0.0.1", 80, libc::SOCK_STREAM).is_ok());
    }
}
