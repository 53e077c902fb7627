//! Link layers: from a frame to its IPv4 or IPv6 header.
//!
//! Ethernet II (IEEE 802.3 clause 3) with 802.1Q / 802.1ad (QinQ, also the
//! pre-standard 0x9100 and 0x9200) tags, 802.2 LLC/SNAP, PPPoE session
//! (RFC 2516 section 4) and MPLS label stacks (RFC 3032); Linux cooked
//! capture v1 (LINKTYPE_LINUX_SLL, 16-byte header, protocol at offset 14)
//! and v2 (LINKTYPE_LINUX_SLL2, 20-byte header, protocol at offset 0); BSD
//! loopback (LINKTYPE_NULL / LINKTYPE_LOOP, a 4-byte address family in
//! either byte order); raw IP (LINKTYPE_RAW and the DLT 12/14 aliases,
//! LINKTYPE_IPV4, LINKTYPE_IPV6).

use super::Skip;
use crate::capture::LinkType;

/// The network-layer packet a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum L3<'a> {
    V4(&'a [u8]),
    V6(&'a [u8]),
}

pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD1: u16 = 0x9100;
const ETHERTYPE_QINQ_OLD2: u16 = 0x9200;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;

/// Tags, labels and encapsulations followed before giving up.
const MAX_LAYERS: usize = 8;

#[inline]
fn be16(b: &[u8], off: usize) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(a))
}

/// Find the IP packet in a frame of link type `link`.
pub(crate) fn network(link: LinkType, data: &[u8]) -> Result<L3<'_>, Skip> {
    match link.0 {
        1 => {
            let et = be16(data, 12).ok_or(Skip::Malformed)?;
            from_ethertype(et, data.get(14..).unwrap_or(&[]))
        }
        113 => {
            // Linux SLL: packet type, ARPHRD type, address length, 8-byte
            // address, protocol.
            let hatype = be16(data, 2).ok_or(Skip::Malformed)?;
            let proto = be16(data, 14).ok_or(Skip::Malformed)?;
            if hatype == 824 {
                // ARPHRD_NETLINK: the protocol is a netlink family.
                return Err(Skip::NotIp);
            }
            from_ethertype(proto, data.get(16..).unwrap_or(&[]))
        }
        276 => {
            // Linux SLL2: protocol, reserved, ifindex, ARPHRD type, packet
            // type, address length, 8-byte address.
            let proto = be16(data, 0).ok_or(Skip::Malformed)?;
            let hatype = be16(data, 8).ok_or(Skip::Malformed)?;
            if data.len() < 20 {
                return Err(Skip::Malformed);
            }
            if hatype == 824 {
                return Err(Skip::NotIp);
            }
            from_ethertype(proto, data.get(20..).unwrap_or(&[]))
        }
        0 | 108 => {
            let fam: [u8; 4] = data
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(Skip::Malformed)?;
            let mut f = u32::from_le_bytes(fam);
            if f & 0xffff_0000 != 0 {
                f = f.swap_bytes();
            }
            let rest = data.get(4..).unwrap_or(&[]);
            match f {
                2 => Ok(L3::V4(rest)),
                // AF_INET6: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
                10 | 24 | 28 | 30 => Ok(L3::V6(rest)),
                _ => Err(Skip::NotIp),
            }
        }
        12 | 14 | 101 => by_version(data),
        228 => Ok(L3::V4(data)),
        229 => Ok(L3::V6(data)),
        _ => Err(Skip::UnsupportedLink),
    }
}

/// Raw IP: the version nibble decides.
fn by_version(data: &[u8]) -> Result<L3<'_>, Skip> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Ok(L3::V4(data)),
        Some(6) => Ok(L3::V6(data)),
        Some(_) => Err(Skip::NotIp),
        None => Err(Skip::Malformed),
    }
}

/// Follow an EtherType (and any tags after it) to the IP packet.
fn from_ethertype(mut et: u16, mut rest: &[u8]) -> Result<L3<'_>, Skip> {
    for _ in 0..MAX_LAYERS {
        match et {
            ETHERTYPE_IPV4 => return Ok(L3::V4(rest)),
            ETHERTYPE_IPV6 => return Ok(L3::V6(rest)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD1 | ETHERTYPE_QINQ_OLD2 => {
                // Tag control information (2), then the inner EtherType.
                et = be16(rest, 2).ok_or(Skip::Malformed)?;
                rest = rest.get(4..).unwrap_or(&[]);
            }
            0..=1500 => {
                // An 802.3 length: LLC, and SNAP (AA AA 03 + OUI) if any.
                match rest.get(..3) {
                    Some([0xaa, 0xaa, 0x03]) => {
                        et = be16(rest, 6).ok_or(Skip::Malformed)?;
                        rest = rest.get(8..).unwrap_or(&[]);
                    }
                    Some(_) => return Err(Skip::NotIp),
                    None => return Err(Skip::Malformed),
                }
            }
            ETHERTYPE_PPPOE_SESSION => {
                // Ver/type, code, session id, length, then the PPP protocol.
                let ppp = be16(rest, 6).ok_or(Skip::Malformed)?;
                let inner = rest.get(8..).unwrap_or(&[]);
                return match ppp {
                    0x0021 => Ok(L3::V4(inner)),
                    0x0057 => Ok(L3::V6(inner)),
                    _ => Err(Skip::NotIp),
                };
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => {
                // Label stack entries until the bottom-of-stack bit.
                for _ in 0..MAX_LAYERS {
                    let entry = rest.get(..4).ok_or(Skip::Malformed)?;
                    let bottom = entry.get(2).is_some_and(|b| b & 1 == 1);
                    rest = rest.get(4..).unwrap_or(&[]);
                    if bottom {
                        return by_version(rest);
                    }
                }
                return Err(Skip::Malformed);
            }
            _ => return Err(Skip::NotIp),
        }
    }
    Err(Skip::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP4: &[u8] = &[0x45, 0, 0, 20];
    const IP6: &[u8] = &[0x60, 0, 0, 0];

    fn eth(et: u16, tail: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(tail);
        v
    }

    #[test]
    fn ethernet_and_tags() {
        assert_eq!(network(LinkType(1), &eth(0x0800, IP4)), Ok(L3::V4(IP4)));
        assert_eq!(network(LinkType(1), &eth(0x86dd, IP6)), Ok(L3::V6(IP6)));
        assert_eq!(network(LinkType(1), &eth(0x0806, IP4)), Err(Skip::NotIp));
        // 802.1Q
        let mut t = vec![0x00, 0x05, 0x08, 0x00];
        t.extend_from_slice(IP4);
        assert_eq!(network(LinkType(1), &eth(0x8100, &t)), Ok(L3::V4(IP4)));
        // QinQ with each outer type
        for outer in [0x88a8u16, 0x9100, 0x9200, 0x8100] {
            let mut t = vec![0x00, 0x07, 0x81, 0x00, 0x00, 0x05, 0x86, 0xdd];
            t.extend_from_slice(IP6);
            assert_eq!(
                network(LinkType(1), &eth(outer, &t)),
                Ok(L3::V6(IP6)),
                "{outer:#x}"
            );
        }
        // LLC/SNAP
        let mut t = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
        t.extend_from_slice(IP4);
        assert_eq!(network(LinkType(1), &eth(60, &t)), Ok(L3::V4(IP4)));
        assert_eq!(
            network(LinkType(1), &eth(60, &[0x42, 0x42, 0x03])),
            Err(Skip::NotIp)
        );
        // PPPoE session
        let mut t = vec![0x11, 0, 0, 1, 0, 6, 0x00, 0x21];
        t.extend_from_slice(IP4);
        assert_eq!(network(LinkType(1), &eth(0x8864, &t)), Ok(L3::V4(IP4)));
        // MPLS, two labels
        let mut t = vec![0, 0, 0x10, 64, 0, 0, 0x21, 64];
        t.extend_from_slice(IP4);
        assert_eq!(network(LinkType(1), &eth(0x8847, &t)), Ok(L3::V4(IP4)));
        // Endless tags stop.
        let mut t = Vec::new();
        for _ in 0..20 {
            t.extend_from_slice(&[0, 1, 0x81, 0]);
        }
        assert_eq!(network(LinkType(1), &eth(0x8100, &t)), Err(Skip::Malformed));
    }

    #[test]
    fn cooked_loopback_and_raw() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(IP4);
        assert_eq!(network(LinkType(113), &sll), Ok(L3::V4(IP4)));
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(IP6);
        assert_eq!(network(LinkType(276), &sll2), Ok(L3::V6(IP6)));
        for fam in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
            let mut v = fam.to_vec();
            v.extend_from_slice(IP4);
            assert_eq!(network(LinkType(0), &v), Ok(L3::V4(IP4)));
            assert_eq!(network(LinkType(108), &v), Ok(L3::V4(IP4)));
        }
        for fam in [24u32, 28, 30, 10] {
            let mut v = fam.to_be_bytes().to_vec();
            v.extend_from_slice(IP6);
            assert_eq!(network(LinkType(0), &v), Ok(L3::V6(IP6)));
        }
        for raw in [12, 14, 101] {
            assert_eq!(network(LinkType(raw), IP4), Ok(L3::V4(IP4)));
            assert_eq!(network(LinkType(raw), IP6), Ok(L3::V6(IP6)));
        }
        assert_eq!(network(LinkType(228), IP4), Ok(L3::V4(IP4)));
        assert_eq!(network(LinkType(229), IP6), Ok(L3::V6(IP6)));
        assert_eq!(network(LinkType(147), IP4), Err(Skip::UnsupportedLink));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut t = vec![0x00, 0x07, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00];
        t.extend_from_slice(IP4);
        let f = eth(0x88a8, &t);
        for cut in 0..f.len() {
            let r = network(LinkType(1), &f[..cut]);
            if cut >= 22 {
                assert!(matches!(r, Ok(L3::V4(_))));
            } else {
                assert_eq!(r, Err(Skip::Malformed), "cut {cut}");
            }
        }
        for link in [0, 108, 113, 276, 101, 1] {
            for cut in 0..24 {
                let _ = network(LinkType(link), &[0x45u8; 24][..cut]);
            }
        }
    }
}
