//! The neighbours of an RDP connection that a client-side capture holds in
//! clear text: the DNS look-up of the server's name (UDP/TCP 53), the
//! Kerberos exchange for its `TERMSRV/` ticket (UDP/TCP 88) and the
//! MS-RDPEUDP handshake of the UDP side channel (UDP 3389).
//!
//! Pure decoders, like the rest of `proto/`: a datagram's payload or a
//! TCP stream's bytes in, [`SideMessage`]s out. Only what the diagnosis
//! needs is kept (names, codes, addresses, flags), so a message is a few
//! dozen bytes whatever its size on the wire. The caller says which
//! protocol a port carries ([`Service`]).

pub mod dns;
pub mod kerberos;
pub mod rdpeudp;

pub use dns::{DnsMessage, Rcode};
pub use kerberos::{KrbErrorCode, KrbKind, KrbMessage};
pub use rdpeudp::{UdpHandshake, UdpKind};

/// The protocol a neighbour port carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// DNS (RFC 1035), UDP or TCP 53.
    Dns,
    /// Kerberos V5 (RFC 4120), UDP or TCP 88.
    Kerberos,
    /// MS-RDPEUDP, the UDP transport of RDP (UDP 3389).
    RdpUdp,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Service::Dns => "DNS",
            Service::Kerberos => "Kerberos",
            Service::RdpUdp => "RDP-UDP",
        })
    }
}

/// One decoded neighbour message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideMessage {
    Dns(DnsMessage),
    Kerberos(KrbMessage),
    RdpUdp(UdpHandshake),
    /// Bytes on a neighbour port that do not decode as its protocol: the
    /// protocol, and the decoder's reason.
    Undecoded {
        service: Service,
        why: String,
    },
}

impl std::fmt::Display for SideMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SideMessage::Dns(m) => m.fmt(f),
            SideMessage::Kerberos(m) => m.fmt(f),
            SideMessage::RdpUdp(m) => m.fmt(f),
            SideMessage::Undecoded { service, why } => {
                write!(f, "{service} message not decoded: {why}")
            }
        }
    }
}

/// Decode one UDP datagram's payload.
pub fn decode_datagram(service: Service, payload: &[u8]) -> SideMessage {
    let undecoded = |why: String| SideMessage::Undecoded { service, why };
    match service {
        Service::Dns => dns::decode(payload).map_or_else(undecoded, SideMessage::Dns),
        Service::Kerberos => {
            kerberos::decode(payload).map_or_else(undecoded, SideMessage::Kerberos)
        }
        Service::RdpUdp => SideMessage::RdpUdp(rdpeudp::decode(payload)),
    }
}

/// Decode one direction of a TCP connection on a neighbour port: DNS
/// (RFC 1035 4.2.2) and Kerberos (RFC 4120 7.2.2) both frame each message
/// with its length, 2 and 4 bytes big-endian. Returns each message with
/// the stream offset just past its last byte. Stops at the first length
/// that runs past the bytes kept (a hole or the end of the capture): what
/// follows is not framed, and is not guessed at.
pub fn decode_stream(service: Service, data: &[u8]) -> Vec<(u64, SideMessage)> {
    let prefix = match service {
        Service::Dns => 2,
        Service::Kerberos => 4,
        Service::RdpUdp => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(head) = data.get(at..at + prefix) {
        // RFC 4120 7.2.2: the high bit of Kerberos' length is reserved
        // (set only in an error reply to a request that used it).
        let len = head.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
            & if prefix == 4 { 0x7fff_ffff } else { 0xffff };
        let Some(body) = data.get(at + prefix..at + prefix + len) else {
            break;
        };
        at += prefix + len;
        out.push((at as u64, decode_datagram(service, body)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_framing_cuts_messages_by_their_length_and_stops_at_a_short_one() {
        // Two DNS messages of 12 bytes (headers only), then a length of
        // 40 with 3 bytes behind it.
        let mut v = Vec::new();
        for id in [1u8, 2] {
            v.extend_from_slice(&[0, 12, 0, id, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
        v.extend_from_slice(&[0, 40, 1, 2, 3]);
        let got = decode_stream(Service::Dns, &v);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 14);
        assert_eq!(got[1].0, 28);
        let SideMessage::Dns(m) = &got[1].1 else {
            panic!("{:?}", got[1].1)
        };
        assert_eq!((m.id, m.response, m.rcode), (2, true, Rcode(3)));
    }

    proptest::proptest! {
        /// Any bytes on any neighbour port decode to a message or to
        /// `Undecoded`, never a panic; a stream never yields a message
        /// ending past its bytes.
        #[test]
        fn any_bytes_decode_without_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            for s in [Service::Dns, Service::Kerberos, Service::RdpUdp] {
                let _ = decode_datagram(s, &b);
                for (end, _) in decode_stream(s, &b) {
                    proptest::prop_assert!(end as usize <= b.len());
                }
            }
            // A Kerberos-looking start (KRB-ERROR's tag) goes deeper.
            let mut k = vec![0x7e, 0x81, 0xd6];
            k.extend_from_slice(&b);
            let _ = decode_datagram(Service::Kerberos, &k);
        }
    }

    #[test]
    fn kerberos_length_ignores_the_reserved_high_bit() {
        let mut v = vec![0x80, 0, 0, 2, 0x30, 0];
        v.extend_from_slice(&[0, 0, 0, 9]);
        let got = decode_stream(Service::Kerberos, &v);
        assert_eq!(got.len(), 1);
        assert!(matches!(
            got[0].1,
            SideMessage::Undecoded {
                service: Service::Kerberos,
                ..
            }
        ));
    }
}
