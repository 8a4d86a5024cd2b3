//! Addresses as services see them: the binary UDP address appended to UDP events and taken
//! by `udp_sendbuffer`, and the "ip:port" text of ACCEPT events and socket info.
//!
//! A UDP address is one protocol byte (1 for IPv4, 2 for IPv6), the port in network byte
//! order (2 bytes), then the 4 or 16 bytes of the IP address: 7 or 19 bytes in all.

use super::sys::SockAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The protocol of a socket, with the values the UDP address encoding uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Tcp = 0,
    Udp = 1,
    Udpv6 = 2,
    Unknown = 255,
}

impl Protocol {
    pub fn is_udp(self) -> bool {
        matches!(self, Protocol::Udp | Protocol::Udpv6)
    }

    pub fn for_family(family: i32) -> Protocol {
        if family == libc::AF_INET6 {
            Protocol::Udpv6
        } else {
            Protocol::Udp
        }
    }
}

pub const UDP_ADDRESS_MAX: usize = 19;
const V4_LEN: usize = 1 + 2 + 4;
const V6_LEN: usize = 1 + 2 + 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UdpAddress {
    bytes: [u8; UDP_ADDRESS_MAX],
}

/// Bytes of the encoded address that starts with `first` (its protocol byte), or None.
pub fn encoded_len(first: u8) -> Option<usize> {
    match first {
        1 => Some(V4_LEN),
        2 => Some(V6_LEN),
        _ => None,
    }
}

impl UdpAddress {
    pub fn from_std(sa: &SocketAddr) -> UdpAddress {
        let mut bytes = [0u8; UDP_ADDRESS_MAX];
        bytes[1..3].copy_from_slice(&sa.port().to_be_bytes());
        match sa.ip() {
            IpAddr::V4(ip) => {
                bytes[0] = Protocol::Udp as u8;
                bytes[3..7].copy_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                bytes[0] = Protocol::Udpv6 as u8;
                bytes[3..19].copy_from_slice(&ip.octets());
            }
        }
        UdpAddress { bytes }
    }

    pub fn from_sockaddr(sa: &SockAddr) -> Option<UdpAddress> {
        sa.to_std().map(|a| UdpAddress::from_std(&a))
    }

    /// Decodes an address a service passed in; None for an unknown protocol byte or too
    /// few bytes.
    pub fn from_bytes(b: &[u8]) -> Option<UdpAddress> {
        let len = encoded_len(*b.first()?)?;
        if b.len() < len {
            return None;
        }
        let mut bytes = [0u8; UDP_ADDRESS_MAX];
        bytes[..len].copy_from_slice(&b[..len]);
        Some(UdpAddress { bytes })
    }

    pub fn protocol(&self) -> u8 {
        self.bytes[0]
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..encoded_len(self.bytes[0]).unwrap_or(0)]
    }

    pub fn to_std(self) -> Option<SocketAddr> {
        let port = u16::from_be_bytes([self.bytes[1], self.bytes[2]]);
        match self.bytes[0] {
            1 => {
                let ip = Ipv4Addr::new(self.bytes[3], self.bytes[4], self.bytes[5], self.bytes[6]);
                Some(SocketAddr::new(IpAddr::V4(ip), port))
            }
            2 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&self.bytes[3..19]);
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
            }
            _ => None,
        }
    }

    /// The kernel address for a socket of `protocol`; None when the families differ.
    pub fn to_sockaddr(self, protocol: Protocol) -> Option<SockAddr> {
        if self.bytes[0] != protocol as u8 {
            return None;
        }
        self.to_std().map(SockAddr::from_std)
    }
}

/// "ip:port", the form ACCEPT events and socket info use (IPv6 without brackets).
pub fn name(sa: &SocketAddr) -> String {
    format!("{}:{}", sa.ip(), sa.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_address_encoding() {
        let a = UdpAddress::from_std(&"127.0.0.1:4660".parse().unwrap());
        assert_eq!(a.as_bytes(), &[1, 0x12, 0x34, 127, 0, 0, 1]);
        let b = UdpAddress::from_std(&"[::1]:2".parse().unwrap());
        assert_eq!(b.as_bytes().len(), 19);
        assert_eq!(&b.as_bytes()[..3], &[2, 0, 2]);
        assert_eq!(b.as_bytes()[18], 1);
        assert_eq!(UdpAddress::from_bytes(a.as_bytes()), Some(a));
        assert_eq!(UdpAddress::from_bytes(&[1, 0, 0]), None);
        assert_eq!(UdpAddress::from_bytes(&[3; 19]), None);
        assert!(a.to_sockaddr(Protocol::Udp).is_some());
        assert!(a.to_sockaddr(Protocol::Udpv6).is_none());
        assert_eq!(name(&b.to_std().unwrap()), "::1:2");
    }
}
