//! The common path of the slicer, on etherparse 0.21's lax slices:
//! Ethernet II and VLAN tags, IPv4 and IPv6, TCP, and the ICMP and other
//! protocols behind them.
//!
//! Linux cooked headers (SLL, SLL2) and BSD loopback have no (lax) entry
//! point in etherparse 0.21: they are stripped here and slicing continues
//! from the EtherType or the IP header.
//!
//! [`slice`] answers only where its answer is the one the hand-written
//! slicer gives; everything else returns `None` and goes the hand-written
//! way (`link`, `ip`, `tcp`, `defrag`):
//! - encapsulations etherparse does not follow (802.2 LLC/SNAP, PPPoE,
//!   MPLS, the 0x9200 tag, more than 3 tags);
//! - an IP header whose version is not the one the link announces;
//! - IP fragments (reassembly, bounded, is ours; etherparse's
//!   `IpDefragPool` has no bound);
//! - IPv6 extension headers (etherparse does not walk mobility, HIP and
//!   shim6 headers) and the IPv4 Authentication Header (etherparse walks
//!   it, we report protocol 51);
//! - an IPv4 total length below the header length, which etherparse
//!   replaces by the captured length and we reject;
//! - a TCP header cut by the snap length (etherparse's `TcpSlice` needs
//!   the whole header; we read what was captured) and any other TCP error.
//!
//! Checksums are not checked (offload makes them wrong in captures).

use super::{icmp, ip, tcp, IpInfo, Packet, Sliced, TcpFlags, TcpSegment, Transport};
use crate::capture::LinkType;
use etherparse::{Ethernet2Slice, LaxIpSlice, SingleVlanSlice, TcpSlice};
use std::net::IpAddr;

#[inline]
fn be16(b: &[u8], off: usize) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(a))
}

/// The IP version a frame's link header announces, if it names one.
fn version(b: &[u8]) -> Option<u8> {
    b.first().map(|v| v >> 4)
}

/// Most VLAN tags followed (as `LaxSlicedPacket` does).
const MAX_TAGS: usize = 3;

/// Follow an EtherType and up to [`MAX_TAGS`] VLAN tags to an IP packet;
/// returns the IP version the EtherType announces and its bytes.
fn from_ether_type(mut et: u16, mut rest: &[u8]) -> Option<(u8, &[u8])> {
    for _ in 0..=MAX_TAGS {
        match et {
            0x0800 => return Some((4, rest)),
            0x86dd => return Some((6, rest)),
            // 802.1Q, 802.1ad, and the pre-standard 0x9100 (not 0x9200,
            // which etherparse does not know).
            0x8100 | 0x88a8 | 0x9100 => {
                let tag = SingleVlanSlice::from_slice(rest).ok()?;
                et = tag.ether_type().0;
                rest = tag.payload_slice();
            }
            _ => return None,
        }
    }
    None
}

/// Slice `data` of link type `link`, or `None` to let the hand-written
/// slicer answer.
///
/// The layers are sliced with etherparse's `Ethernet2Slice`,
/// `SingleVlanSlice`, `LaxIpSlice` and `TcpSlice`, the pieces
/// `LaxSlicedPacket` is made of: `LaxSlicedPacket` itself (about 300
/// bytes, passed by value from layer to layer) made slicing twice as slow
/// in the measurement on a 100 MB capture, and it treats an IPv6 packet
/// behind EtherType 0x0800 as IPv6, where we call it malformed.
pub(crate) fn slice(link: LinkType, data: &[u8]) -> Option<Sliced<'_>> {
    let (want, b) = match link.0 {
        1 => {
            let eth = Ethernet2Slice::from_slice_without_fcs(data).ok()?;
            from_ether_type(eth.ether_type().0, eth.payload_slice())?
        }
        113 => {
            // Linux SLL: ARPHRD type at 2 (netlink is not IP), protocol at 14.
            if be16(data, 2)? == 824 {
                return None;
            }
            from_ether_type(be16(data, 14)?, data.get(16..)?)?
        }
        276 => {
            // Linux SLL2: protocol at 0, ARPHRD type at 8, 20 bytes.
            let et = be16(data, 0)?;
            if data.len() < 20 || be16(data, 8)? == 824 {
                return None;
            }
            from_ether_type(et, data.get(20..)?)?
        }
        0 | 108 => {
            // A 4-byte address family, in either byte order.
            let fam: [u8; 4] = data.get(..4)?.try_into().ok()?;
            let mut f = u32::from_le_bytes(fam);
            if f & 0xffff_0000 != 0 {
                f = f.swap_bytes();
            }
            let want = match f {
                2 => 4,
                10 | 24 | 28 | 30 => 6,
                _ => return None,
            };
            (want, data.get(4..)?)
        }
        12 | 14 | 101 => (version(data)?, data),
        228 => (4, data),
        229 => (6, data),
        _ => return None,
    };
    // The link says which IP version; the header must agree.
    if version(b)? != want {
        return None;
    }
    let (ip, _) = LaxIpSlice::from_slice(b).ok()?;
    match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let ihl = h.slice().len();
            let mut total = h.total_len() as usize;
            if total == 0 {
                // Segmentation offload: the length is unset.
                total = ihl + v4.payload().payload.len();
            } else if total < ihl {
                return None;
            }
            let pl = v4.payload();
            if v4.extensions().auth.is_some() || pl.fragmented {
                return None;
            }
            let info = IpInfo {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                ttl: h.ttl(),
                ip_id: Some(h.identification()),
                dont_fragment: h.dont_fragment(),
                total_len: total as u32,
                reassembled: false,
            };
            let payload_len = (total - ihl) as u32;
            transport(info, pl.ip_number.0, false, pl.payload, payload_len)
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let next = h.next_header().0;
            let pl = v6.payload();
            // Extension headers (or what might be one) go the hand-written
            // way, which walks all of them.
            if matches!(next, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140) || pl.ip_number.0 != next {
                return None;
            }
            let plen = match h.payload_length() as usize {
                0 => pl.payload.len(),
                n => n,
            };
            let info = IpInfo {
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                ttl: h.hop_limit(),
                ip_id: None,
                dont_fragment: false,
                total_len: (40 + plen) as u32,
                reassembled: false,
            };
            transport(info, next, true, pl.payload, plen as u32)
        }
    }
}

/// The transport layer of an unfragmented packet. `payload` is the
/// captured IP payload, `payload_len` its length per the IP header.
fn transport(
    ip: IpInfo,
    protocol: u8,
    v6: bool,
    payload: &[u8],
    payload_len: u32,
) -> Option<Sliced<'_>> {
    let transport = match protocol {
        ip::PROTO_TCP => {
            // A cut or invalid header: the hand-written slicer decides.
            let t = TcpSlice::from_slice(payload).ok()?;
            let doff = t.header_len() as u32;
            let raw = t.slice();
            let mut seg = TcpSegment {
                src_port: t.source_port(),
                dst_port: t.destination_port(),
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                // The low 9 bits of the flags field (NS included).
                flags: TcpFlags(be16(raw, 12)? & 0x01ff),
                window: t.window_size(),
                mss: None,
                window_scale: None,
                sack: false,
                payload: t.payload(),
                payload_len: payload_len.checked_sub(doff)?,
            };
            // Options read as the hand-written slicer reads them: past
            // option kinds it does not know, stopping at a bad length.
            tcp::options(t.options(), &mut seg);
            Transport::Tcp(seg)
        }
        ip::PROTO_ICMP if !v6 => match icmp::v4(payload) {
            Some(e) => Transport::IcmpError(e),
            None => Transport::Other { protocol },
        },
        ip::PROTO_ICMPV6 if v6 => match icmp::v6(payload) {
            Some(e) => Transport::IcmpError(e),
            None => Transport::Other { protocol },
        },
        ip::PROTO_UDP => super::udp(payload).unwrap_or(Transport::Other { protocol }),
        _ => Transport::Other { protocol },
    };
    Some(Sliced::Packet(Packet {
        ip,
        transport,
        point: Default::default(),
    }))
}
