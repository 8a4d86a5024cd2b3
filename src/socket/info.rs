//! skynet_socket_info: a snapshot of every socket with its counters.

use super::addr::{self, Protocol};
use super::sys;
use super::table::{Kind, Table};

pub const INFO_LISTEN: i32 = 1;
pub const INFO_TCP: i32 = 2;
pub const INFO_UDP: i32 = 3;
pub const INFO_BIND: i32 = 4;
pub const INFO_CLOSING: i32 = 5;

pub struct Info {
    pub id: i32,
    pub kind: i32,
    /// The owning service.
    pub opaque: u64,
    pub read: u64,
    pub write: u64,
    /// Ticks (centiseconds since start) of the last read and write.
    pub rtime: u64,
    pub wtime: u64,
    /// Bytes waiting to be written.
    pub wbuffer: i64,
    pub reading: bool,
    pub writing: bool,
    /// "ip:port": the local address of a listener, the peer of a connection or the
    /// default peer of a UDP socket; empty when there is none.
    pub name: String,
}

/// Every open socket, in slot order. Sockets still being set up are left out; accepted
/// sockets not yet started and connects in progress are listed as TCP.
pub fn collect(table: &Table) -> Vec<Info> {
    let mut out = Vec::new();
    table.for_each(|st| {
        let udp = st.protocol.is_udp();
        let (kind, name) = match st.kind {
            Kind::Invalid | Kind::Reserve => return,
            Kind::Bind => (INFO_BIND, None),
            Kind::PListen | Kind::Listen => (INFO_LISTEN, sys::local_addr(st.fd).ok().and_then(|a| a.to_std())),
            Kind::HalfCloseRead | Kind::HalfCloseWrite if !udp => {
                (INFO_CLOSING, sys::peer_addr(st.fd).ok().and_then(|a| a.to_std()))
            }
            _ if udp => (INFO_UDP, st.peer.and_then(|p| p.to_std())),
            _ => (INFO_TCP, sys::peer_addr(st.fd).ok().and_then(|a| a.to_std())),
        };
        debug_assert!(udp || st.protocol == Protocol::Tcp);
        out.push(Info {
            id: st.id,
            kind,
            opaque: st.opaque as u64,
            read: st.stat.read,
            write: st.stat.write,
            rtime: st.stat.rtime,
            wtime: st.stat.wtime,
            wbuffer: st.lists.size(),
            reading: st.reading,
            writing: !st.lists.is_empty(),
            name: name.map(|a| addr::name(&a)).unwrap_or_default(),
        });
    });
    out
}
