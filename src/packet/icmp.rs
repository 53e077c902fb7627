//! ICMP (RFC 792; "fragmentation needed" MTU per RFC 1191 section 4) and
//! ICMPv6 (RFC 4443 sections 3.1-3.4) error messages, with the TCP header
//! of the packet they quote.

use super::ip::{self, PROTO_TCP};
use super::{IcmpError, QuotedTcp};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parse an ICMPv4 message; `None` if it is not an error message (echo,
/// timestamp, ...) or too short.
pub(crate) fn v4(b: &[u8]) -> Option<IcmpError> {
    let h = b.get(..8)?;
    let (t, code) = (*h.first()?, *h.get(1)?);
    // Destination unreachable, source quench, redirect, time exceeded,
    // parameter problem.
    if !matches!(t, 3 | 4 | 5 | 11 | 12) {
        return None;
    }
    let mtu = match (t, code) {
        (3, 4) => {
            let m = u16::from_be_bytes([*h.get(6)?, *h.get(7)?]);
            (m != 0).then_some(m as u32)
        }
        _ => None,
    };
    Some(IcmpError {
        v6: false,
        icmp_type: t,
        code,
        mtu,
        quoted: quoted_v4(b.get(8..).unwrap_or(&[])),
    })
}

/// The quoted IPv4 header and the first 8 bytes of its TCP header.
fn quoted_v4(q: &[u8]) -> Option<QuotedTcp> {
    let h = q.get(..20)?;
    if h.first()? >> 4 != 4 {
        return None;
    }
    let ihl = ((h.first()? & 0x0f) as usize) * 4;
    if ihl < 20 || *h.get(9)? != PROTO_TCP {
        return None;
    }
    // Only the first fragment holds the TCP header.
    let frag = u16::from_be_bytes([*h.get(6)?, *h.get(7)?]);
    if frag & 0x1fff != 0 {
        return None;
    }
    let src = Ipv4Addr::new(*h.get(12)?, *h.get(13)?, *h.get(14)?, *h.get(15)?);
    let dst = Ipv4Addr::new(*h.get(16)?, *h.get(17)?, *h.get(18)?, *h.get(19)?);
    tcp_quote(IpAddr::V4(src), IpAddr::V4(dst), q.get(ihl..)?)
}

fn tcp_quote(src: IpAddr, dst: IpAddr, t: &[u8]) -> Option<QuotedTcp> {
    let t: &[u8; 8] = t.get(..8)?.try_into().ok()?;
    Some(QuotedTcp {
        src,
        dst,
        src_port: u16::from_be_bytes([t[0], t[1]]),
        dst_port: u16::from_be_bytes([t[2], t[3]]),
        seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
    })
}

/// Parse an ICMPv6 message; `None` unless it is an error (types 1-4).
pub(crate) fn v6(b: &[u8]) -> Option<IcmpError> {
    let h = b.get(..8)?;
    let (t, code) = (*h.first()?, *h.get(1)?);
    if !matches!(t, 1..=4) {
        return None;
    }
    let mtu = if t == 2 {
        Some(u32::from_be_bytes([
            *h.get(4)?,
            *h.get(5)?,
            *h.get(6)?,
            *h.get(7)?,
        ]))
    } else {
        None
    };
    Some(IcmpError {
        v6: true,
        icmp_type: t,
        code,
        mtu,
        quoted: quoted_v6(b.get(8..).unwrap_or(&[])),
    })
}

fn quoted_v6(q: &[u8]) -> Option<QuotedTcp> {
    let h = q.get(..40)?;
    if h.first()? >> 4 != 6 {
        return None;
    }
    let src: [u8; 16] = h.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = h.get(24..40)?.try_into().ok()?;
    let up = ip::walk_ext(*h.get(6)?, q.get(40..)?).ok()?;
    // A first fragment still starts with the TCP header.
    if up.protocol != PROTO_TCP || up.fragment.is_some_and(|f| f.offset != 0) {
        return None;
    }
    tcp_quote(
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
        up.payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ip::tests::{v4_packet, v6_packet};
    use crate::packet::tcp::tests::header;

    fn icmp(t: u8, code: u8, rest: [u8; 4], quote: &[u8]) -> Vec<u8> {
        let mut v = vec![t, code, 0, 0];
        v.extend_from_slice(&rest);
        v.extend_from_slice(quote);
        v
    }

    #[test]
    fn frag_needed_with_tcp_quote() {
        let tcp = header(50000, 3389, 0xdead_beef, 0x18, &[], b"payload");
        let quote = v4_packet(6, 1, 0x4000, &tcp);
        let m = icmp(3, 4, [0, 0, 0x05, 0x78], &quote[..28]);
        let e = v4(&m).unwrap();
        assert_eq!(
            (e.icmp_type, e.code, e.mtu, e.v6),
            (3, 4, Some(1400), false)
        );
        let q = e.quoted.unwrap();
        assert_eq!((q.src_port, q.dst_port, q.seq), (50000, 3389, 0xdead_beef));
        assert_eq!(q.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            e.describe(),
            "destination unreachable: fragmentation needed (3/4)"
        );
        // Every truncation: no panic, the quote only when 28 bytes remain.
        for cut in 0..m.len() {
            let r = v4(&m[..cut]);
            assert_eq!(r.is_some(), cut >= 8);
            assert_eq!(r.and_then(|e| e.quoted).is_some(), cut >= 36);
        }
        // Time exceeded quoting UDP: no TCP quote.
        let udp = v4_packet(17, 1, 0, &[0; 8]);
        let e = v4(&icmp(11, 0, [0; 4], &udp)).unwrap();
        assert_eq!((e.icmp_type, e.quoted), (11, None));
        // Echo reply is not an error.
        assert!(v4(&icmp(0, 0, [0; 4], b"")).is_none());
    }

    #[test]
    fn v6_packet_too_big_and_unreachable() {
        let tcp = header(3389, 50001, 77, 0x10, &[], b"");
        let mut ext = vec![6, 0, 1, 4, 0, 0, 0, 0];
        ext.extend_from_slice(&tcp);
        let quote = v6_packet(60, &ext);
        let m = icmp(2, 0, 1280u32.to_be_bytes(), &quote);
        let e = v6(&m).unwrap();
        assert_eq!((e.icmp_type, e.mtu, e.v6), (2, Some(1280), true));
        let q = e.quoted.unwrap();
        assert_eq!((q.src_port, q.dst_port, q.seq), (3389, 50001, 77));
        assert_eq!(e.describe(), "packet too big (2/0)");
        let e = v6(&icmp(1, 4, [0; 4], &quote)).unwrap();
        assert_eq!(
            (e.mtu, e.describe().as_str()),
            (None, "destination unreachable: port unreachable (1/4)")
        );
        for cut in 0..m.len() {
            let r = v6(&m[..cut]);
            assert_eq!(r.and_then(|e| e.quoted).is_some(), cut >= 8 + 40 + 8 + 8);
        }
        assert!(v6(&icmp(128, 0, [0; 4], b"")).is_none());
    }
}
