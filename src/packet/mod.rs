//! Stage 2: frames -> IP packets with TCP segments or ICMP errors.
//!
//! Slices link, IP and transport headers (zero-copy where possible),
//! reassembles IPv4 fragments within a bound, and hands the flow stage a
//! [`Packet`]. Knows nothing of connections or RDP.
//!
//! The common case (Ethernet/VLAN, Linux cooked, loopback or raw IP, then
//! IPv4/IPv6 and TCP) is sliced with etherparse's `LaxSlicedPacket`
//! (`lax.rs`). The rest stays hand-written, each for a stated reason
//! (`lax.rs` lists them): `link.rs`, `ip.rs`, `tcp.rs` (also the TCP
//! option reader of both paths), `icmp.rs` (error messages and the TCP
//! header they quote, usually only 8 bytes of it) and `defrag.rs` (bounded
//! reassembly).

use std::net::IpAddr;

mod defrag;
mod icmp;
mod ip;
mod lax;
mod link;
mod tcp;

/// TCP header flags (the low 9 bits of the flags field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
}

/// The IP-level facts the later stages need (for middlebox detection and
/// path-MTU analysis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpInfo {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (None for IPv6).
    pub ip_id: Option<u16>,
    /// IPv4 Don't Fragment flag (false for IPv6).
    pub dont_fragment: bool,
    /// Total length of the IP datagram per its header.
    pub total_len: u32,
    /// True if this packet was rebuilt from fragments (IPv4 or IPv6).
    pub reassembled: bool,
}

/// A TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Raw window field (not scaled).
    pub window: u16,
    /// MSS option (SYN/SYN-ACK only).
    pub mss: Option<u16>,
    /// Window-scale option shift (SYN/SYN-ACK only).
    pub window_scale: Option<u8>,
    /// SACK permitted / SACK blocks present.
    pub sack: bool,
    /// The captured payload bytes.
    pub payload: &'a [u8],
    /// Payload length per the IP and TCP headers. Larger than
    /// `payload.len()` when the snap length cut the packet.
    pub payload_len: u32,
}

/// The TCP header quoted inside an ICMP error (first 8 bytes at least).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedTcp {
    /// Addresses of the quoted (original) packet.
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
}

/// An ICMP or ICMPv6 error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// Next-hop MTU for "fragmentation needed" / "packet too big".
    pub mtu: Option<u32>,
    /// The TCP packet it quotes, if it quotes one.
    pub quoted: Option<QuotedTcp>,
}

impl IcmpError {
    /// e.g. `destination unreachable: port unreachable (3/3)`.
    pub fn describe(&self) -> String {
        let s = if !self.v6 {
            match (self.icmp_type, self.code) {
                (3, 0) => "destination unreachable: network unreachable",
                (3, 1) => "destination unreachable: host unreachable",
                (3, 2) => "destination unreachable: protocol unreachable",
                (3, 3) => "destination unreachable: port unreachable",
                (3, 4) => "destination unreachable: fragmentation needed",
                (3, 9) | (3, 10) | (3, 13) => {
                    "destination unreachable: administratively prohibited"
                }
                (3, _) => "destination unreachable",
                (11, _) => "time exceeded",
                (12, _) => "parameter problem",
                (5, _) => "redirect",
                _ => "ICMP error",
            }
        } else {
            match (self.icmp_type, self.code) {
                (1, 0) => "destination unreachable: no route",
                (1, 1) => "destination unreachable: administratively prohibited",
                (1, 3) => "destination unreachable: address unreachable",
                (1, 4) => "destination unreachable: port unreachable",
                (1, _) => "destination unreachable",
                (2, _) => "packet too big",
                (3, _) => "time exceeded",
                (4, _) => "parameter problem",
                _ => "ICMPv6 error",
            }
        };
        format!("{s} ({}/{})", self.icmp_type, self.code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    IcmpError(IcmpError),
    /// A UDP datagram (RFC 768): its ports and the payload captured
    /// (within the UDP length; empty for a fragment's first piece).
    /// `complete`: the capture holds the whole payload the UDP length
    /// announces.
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
        complete: bool,
    },
    /// UDP, ICMP echo, anything else: only counted.
    Other {
        protocol: u8,
    },
}

/// Where in the network a frame was captured, as far as the capture
/// file tells: the pcapng interface (numbered across sections, as
/// Wireshark's `frame.interface_id`) and, in Linux cooked captures
/// (`tcpdump -i any`), the interface index (SLL2 only) and the packet
/// type (SLL and SLL2: 0 to this host, 1 broadcast, 2 multicast, 3 to
/// another host, 4 sent by this host). A router captured on two
/// interfaces sees each forwarded packet at two points: once arriving,
/// once leaving. A legacy pcap of another link type has one point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CapturePoint {
    pub interface: u32,
    pub ifindex: Option<u32>,
    pub packet_type: Option<u16>,
}

impl CapturePoint {
    /// The capture point of a frame (reads the Linux cooked header, which
    /// the slicer otherwise skips).
    pub fn of(frame: &crate::capture::Frame<'_>) -> CapturePoint {
        let d = frame.data;
        let be16 = |o: usize| d.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let (ifindex, packet_type) = match frame.link.0 {
            // SLL: packet type (2 bytes) first; no interface index.
            113 => (None, be16(0)),
            // SLL2: protocol, reserved, interface index (4), ARPHRD type,
            // packet type (1 byte).
            276 => (
                d.get(4..8)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                d.get(10).map(|&t| u16::from(t)),
            ),
            _ => (None, None),
        };
        CapturePoint {
            interface: frame.interface,
            ifindex,
            packet_type,
        }
    }
}

/// A sliced IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub ip: IpInfo,
    pub transport: Transport<'a>,
    /// Where the frame was captured ([`CapturePoint::of`]; the default
    /// point until [`Slicer::slice`] sets it).
    pub point: CapturePoint,
}

/// Why a frame produced no packet. Counted per file; none is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Skip {
    /// Not IP (ARP, LLDP, ...).
    NotIp,
    /// A link type we do not slice.
    UnsupportedLink,
    /// An IP fragment held for reassembly (the datagram comes later).
    FragmentHeld,
    /// Fragments dropped because a reassembly bound was reached.
    FragmentDropped,
    /// Headers cut or invalid.
    Malformed,
}

/// The result of slicing one frame.
#[derive(Debug)]
pub enum Sliced<'a> {
    Packet(Packet<'a>),
    Skip(Skip),
}

/// Bounds for IPv4 fragment reassembly.
#[derive(Clone, Copy, Debug)]
pub struct SlicerConfig {
    /// Datagrams being reassembled at once.
    pub max_fragment_datagrams: usize,
    /// Bytes buffered for reassembly at once.
    pub max_fragment_bytes: usize,
}

impl Default for SlicerConfig {
    fn default() -> Self {
        SlicerConfig {
            max_fragment_datagrams: 1024,
            max_fragment_bytes: 8 << 20,
        }
    }
}

/// Slices frames into packets; owns the IPv4 defragmentation buffers.
#[derive(Debug, Default)]
pub struct Slicer {
    pub config: SlicerConfig,
    defrag: defrag::Defrag,
}

impl Slicer {
    pub fn new(config: SlicerConfig) -> Self {
        Slicer {
            config,
            defrag: defrag::Defrag::default(),
        }
    }

    /// Partial datagrams discarded (too old, or overlapping fragments that
    /// disagree) after their fragments were counted as held.
    pub fn fragments_discarded(&self) -> u64 {
        self.defrag.discarded
    }

    /// Partial datagrams currently held for reassembly.
    pub fn fragments_pending(&self) -> usize {
        self.defrag.held()
    }

    /// Slice one frame. A reassembled datagram borrows from `self`.
    ///
    /// Only TCP and ICMP/ICMPv6 are sliced further; any other protocol is
    /// reported as [`Transport::Other`] right after the IP header (and its
    /// fragments are not reassembled). IPv4 and IPv6 fragments of TCP and
    /// ICMP share one bounded reassembly pool ([`SlicerConfig`]).
    pub fn slice<'a>(&'a mut self, frame: &crate::capture::Frame<'a>) -> Sliced<'a> {
        // The common case, on etherparse; it declines what it would answer
        // differently (see `lax.rs`).
        let mut s = match lax::slice(frame.link, frame.data) {
            Some(s) => s,
            None => self.slice_by_hand(frame),
        };
        if let Sliced::Packet(p) = &mut s {
            p.point = CapturePoint::of(frame);
        }
        s
    }

    /// The hand-written slicer: link encapsulations, IPv6 extension
    /// headers, fragments and cut TCP headers that `lax::slice` declines.
    fn slice_by_hand<'a>(&'a mut self, frame: &crate::capture::Frame<'a>) -> Sliced<'a> {
        let l3 = match link::network(frame.link, frame.data) {
            Ok(l3) => l3,
            Err(s) => return Sliced::Skip(s),
        };
        match l3 {
            link::L3::V4(b) => {
                let h = match ip::v4(b) {
                    Ok(h) => h,
                    Err(s) => return Sliced::Skip(s),
                };
                if !matches!(h.protocol, ip::PROTO_TCP | ip::PROTO_ICMP) {
                    return other(h.info, h.protocol, (!h.is_fragment()).then_some(h.payload));
                }
                if !h.is_fragment() {
                    return transport(h.info, h.protocol, false, h.payload, h.payload_len);
                }
                let frag = defrag::Fragment::v4(&h);
                match self.defrag.insert(&self.config, frame.number, &frag) {
                    defrag::Outcome::Held => Sliced::Skip(Skip::FragmentHeld),
                    defrag::Outcome::Dropped => Sliced::Skip(Skip::FragmentDropped),
                    defrag::Outcome::Complete { info, protocol } => {
                        let data: &'a [u8] = &self.defrag.done;
                        transport(info, protocol, false, data, data.len() as u32)
                    }
                }
            }
            link::L3::V6(b) => {
                let h = match ip::v6(b) {
                    Ok(h) => h,
                    Err(s) => return Sliced::Skip(s),
                };
                let Some(f6) = h.fragment else {
                    if !matches!(h.protocol, ip::PROTO_TCP | ip::PROTO_ICMPV6) {
                        return other(h.info, h.protocol, Some(h.payload));
                    }
                    return transport(h.info, h.protocol, true, h.payload, h.payload_len);
                };
                if !ip::v6_fragment_wanted(h.protocol) {
                    return other(h.info, h.protocol, None);
                }
                let frag = defrag::Fragment::v6(&h, f6);
                match self.defrag.insert(&self.config, frame.number, &frag) {
                    defrag::Outcome::Held => Sliced::Skip(Skip::FragmentHeld),
                    defrag::Outcome::Dropped => Sliced::Skip(Skip::FragmentDropped),
                    defrag::Outcome::Complete { info, protocol } => {
                        let data: &'a [u8] = &self.defrag.done;
                        // The fragmentable part may start with extension
                        // headers (destination options, ...).
                        match ip::walk_ext(protocol, data) {
                            Ok(up) if up.fragment.is_some() => Sliced::Skip(Skip::Malformed),
                            Ok(up) if matches!(up.protocol, ip::PROTO_TCP | ip::PROTO_ICMPV6) => {
                                let len = up.payload.len() as u32;
                                transport(info, up.protocol, true, up.payload, len)
                            }
                            Ok(up) => other(info, up.protocol, Some(up.payload)),
                            Err(s) => Sliced::Skip(s),
                        }
                    }
                }
            }
        }
    }
}

/// A UDP header's ports, when they were captured, and the payload within
/// the UDP length (RFC 768: the length counts the 8-byte header).
pub(crate) fn udp(b: &[u8]) -> Option<Transport<'_>> {
    let h = b.get(..4)?;
    let len = b
        .get(4..6)
        .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    let end = len.min(b.len());
    Some(Transport::Udp {
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        payload: b.get(8..end).unwrap_or(&[]),
        complete: len >= 8 && b.len() >= len,
    })
}

/// A packet whose transport is not TCP or an ICMP error: UDP keeps its
/// ports and payload when `payload` is the whole datagram (None for a
/// fragment: UDP is not reassembled).
fn other(ip: IpInfo, protocol: u8, payload: Option<&[u8]>) -> Sliced<'_> {
    let transport = match payload {
        Some(p) if protocol == ip::PROTO_UDP => udp(p).unwrap_or(Transport::Other { protocol }),
        _ => Transport::Other { protocol },
    };
    Sliced::Packet(Packet {
        ip,
        transport,
        point: CapturePoint::default(),
    })
}

/// Slice the transport header of an unfragmented (or reassembled) packet.
fn transport(ip: IpInfo, protocol: u8, v6: bool, payload: &[u8], payload_len: u32) -> Sliced<'_> {
    let transport = match protocol {
        ip::PROTO_TCP => match tcp::slice(payload, payload_len) {
            Ok(seg) => Transport::Tcp(seg),
            Err(s) => return Sliced::Skip(s),
        },
        ip::PROTO_ICMP if !v6 => match icmp::v4(payload) {
            Some(e) => Transport::IcmpError(e),
            None => Transport::Other { protocol },
        },
        ip::PROTO_ICMPV6 if v6 => match icmp::v6(payload) {
            Some(e) => Transport::IcmpError(e),
            None => Transport::Other { protocol },
        },
        ip::PROTO_UDP => udp(payload).unwrap_or(Transport::Other { protocol }),
        _ => Transport::Other { protocol },
    };
    Sliced::Packet(Packet {
        ip,
        transport,
        point: CapturePoint::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::ip::tests::{v4_packet, v6_packet};
    use super::tcp::tests::header;
    use super::*;
    use crate::capture::{Frame, LinkType};
    use crate::common::Timestamp;

    fn frame(number: u64, link: LinkType, data: &[u8]) -> Frame<'_> {
        Frame {
            number,
            ts: Timestamp(0),
            link,
            interface: 0,
            orig_len: data.len() as u32,
            data,
        }
    }

    fn eth(et: u16, l3: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(l3);
        v
    }

    fn tcp_of(s: Sliced<'_>) -> (IpInfo, TcpSegment<'_>) {
        match s {
            Sliced::Packet(Packet {
                ip,
                transport: Transport::Tcp(t),
                ..
            }) => (ip, t),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ethernet_ipv4_tcp_without_padding() {
        let tcp = header(
            50000,
            3389,
            10,
            TcpFlags::ACK | TcpFlags::PSH,
            &[],
            b"\x03\x00",
        );
        let mut f = eth(0x0800, &v4_packet(6, 9, 0x4000, &tcp));
        f.extend_from_slice(&[0; 4]); // padding up to 60 bytes
        let mut s = Slicer::default();
        let (ip, t) = tcp_of(s.slice(&frame(1, LinkType::ETHERNET, &f)));
        assert_eq!(t.payload, b"\x03\x00");
        assert_eq!(t.payload_len, 2);
        assert_eq!((t.src_port, t.dst_port, t.seq), (50000, 3389, 10));
        assert!(ip.dont_fragment && !ip.reassembled);
        assert_eq!(ip.total_len, 42);
        // Cut by the snap length: payload shorter than its length.
        let (_, t) = tcp_of(s.slice(&frame(2, LinkType::ETHERNET, &f[..f.len() - 5])));
        assert_eq!((t.payload, t.payload_len), (&b"\x03"[..], 2));
    }

    #[test]
    fn other_protocols_and_link_types() {
        let mut s = Slicer::default();
        // UDP keeps its ports (RFC 768: source port, destination port).
        let mut dgram = vec![0x0d, 0x3d, 0x0d, 0x3d, 0, 16, 0, 0];
        dgram.extend_from_slice(&[0; 8]);
        let udp = eth(0x0800, &v4_packet(17, 1, 0, &dgram));
        assert!(matches!(
            s.slice(&frame(1, LinkType::ETHERNET, &udp)),
            Sliced::Packet(Packet {
                transport: Transport::Udp {
                    src_port: 3389,
                    dst_port: 3389,
                    payload: &[0, 0, 0, 0, 0, 0, 0, 0],
                    complete: true,
                },
                ..
            })
        ));
        let arp = eth(0x0806, &[0; 28]);
        assert!(matches!(
            s.slice(&frame(2, LinkType::ETHERNET, &arp)),
            Sliced::Skip(Skip::NotIp)
        ));
        assert!(matches!(
            s.slice(&frame(3, LinkType(147), &udp)),
            Sliced::Skip(Skip::UnsupportedLink)
        ));
        // Raw IPv6 with a destination-options header before TCP.
        let tcp = header(1, 3389, 5, TcpFlags::SYN, &[2, 4, 5, 0x80], b"");
        let mut ext = vec![6, 0, 1, 4, 0, 0, 0, 0];
        ext.extend_from_slice(&tcp);
        let p6 = v6_packet(60, &ext);
        let (ip, t) = tcp_of(s.slice(&frame(4, LinkType::RAW, &p6)));
        assert_eq!((t.mss, ip.ip_id, ip.ttl), (Some(1408), None, 57));
        // ICMP echo is Other; an ICMP error is parsed.
        let echo = v4_packet(1, 1, 0, &[8, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(
            s.slice(&frame(5, LinkType::IPV4, &echo)),
            Sliced::Packet(Packet {
                transport: Transport::Other { protocol: 1 },
                ..
            })
        ));
        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&v4_packet(6, 1, 0, &header(40000, 3389, 99, 2, &[], b""))[..28]);
        match s.slice(&frame(6, LinkType::IPV4, &v4_packet(1, 2, 0, &icmp))) {
            Sliced::Packet(Packet {
                transport: Transport::IcmpError(e),
                ..
            }) => {
                assert_eq!(e.quoted.map(|q| (q.src_port, q.seq)), Some((40000, 99)));
            }
            other => panic!("{other:?}"),
        }
        // IPv6 fragments of TCP, behind a destination-options header in
        // the fragmentable part, are reassembled.
        let payload: Vec<u8> = (0..40u8).collect();
        let tcp = header(1, 3389, 5, TcpFlags::ACK, &[], &payload);
        let mut part = vec![6, 0, 1, 4, 0, 0, 0, 0];
        part.extend_from_slice(&tcp); // 8 + 60 bytes: fragments of 32 and 36
        let mut f1 = vec![60, 0, 0, 1, 0, 0, 0, 7];
        f1.extend_from_slice(&part[..32]);
        let mut f2 = vec![60, 0, 0, 32, 0, 0, 0, 7];
        f2.extend_from_slice(&part[32..]);
        assert!(matches!(
            s.slice(&frame(
                7,
                LinkType::IPV6,
                &v6_packet(0, &{
                    let mut hbh = vec![44, 0, 1, 4, 0, 0, 0, 0];
                    hbh.extend_from_slice(&f2);
                    hbh
                })
            )),
            Sliced::Skip(Skip::FragmentHeld)
        ));
        let first = v6_packet(44, &f1);
        let (ip, t) = tcp_of(s.slice(&frame(8, LinkType::IPV6, &first)));
        assert!(ip.reassembled);
        assert_eq!((t.payload, t.payload_len), (&payload[..], 40));
        // Fragments of UDP are not reassembled.
        let mut udp = vec![17, 0, 0, 1, 0, 0, 0, 8];
        udp.extend_from_slice(&[0; 16]);
        assert!(matches!(
            s.slice(&frame(9, LinkType::IPV6, &v6_packet(44, &udp))),
            Sliced::Packet(Packet {
                transport: Transport::Other { protocol: 17 },
                ..
            })
        ));
    }

    #[test]
    fn fragments_reassembled_into_one_tcp_segment() {
        let payload: Vec<u8> = (0..64u8).collect();
        let tcp = header(50000, 3389, 1, TcpFlags::ACK, &[], &payload);
        // 84 bytes of TCP: fragments of 40, 40, 4.
        let f1 = eth(0x0800, &v4_packet(6, 77, 0x2000, &tcp[..40]));
        let f2 = eth(0x0800, &v4_packet(6, 77, 0x2000 | 5, &tcp[40..80]));
        let f3 = eth(0x0800, &v4_packet(6, 77, 10, &tcp[80..]));
        let mut s = Slicer::default();
        assert!(matches!(
            s.slice(&frame(1, LinkType::ETHERNET, &f3)),
            Sliced::Skip(Skip::FragmentHeld)
        ));
        assert!(matches!(
            s.slice(&frame(2, LinkType::ETHERNET, &f1)),
            Sliced::Skip(Skip::FragmentHeld)
        ));
        assert_eq!(s.fragments_pending(), 1);
        let (ip, t) = tcp_of(s.slice(&frame(3, LinkType::ETHERNET, &f2)));
        assert!(ip.reassembled);
        assert_eq!(ip.total_len, 20 + 84);
        assert_eq!(t.payload, &payload[..]);
        assert_eq!(t.payload_len, 64);
        assert_eq!(s.fragments_pending(), 0);
        // Over the datagram bound: dropped.
        let mut s = Slicer::new(SlicerConfig {
            max_fragment_datagrams: 1,
            max_fragment_bytes: 1 << 20,
        });
        assert!(matches!(
            s.slice(&frame(1, LinkType::ETHERNET, &f1)),
            Sliced::Skip(Skip::FragmentHeld)
        ));
        let other = eth(0x0800, &v4_packet(6, 78, 0x2000, &tcp[..40]));
        assert!(matches!(
            s.slice(&frame(2, LinkType::ETHERNET, &other)),
            Sliced::Skip(Skip::FragmentDropped)
        ));
    }

    #[test]
    fn no_panic_on_any_truncation_or_garbage() {
        let tcp = header(
            50000,
            3389,
            1,
            TcpFlags::SYN,
            &[2, 4, 5, 0xb4, 4, 2, 1, 1],
            b"abc",
        );
        let mut s = Slicer::default();
        let frames = [
            (LinkType::ETHERNET, eth(0x0800, &v4_packet(6, 1, 0, &tcp))),
            (LinkType::ETHERNET, eth(0x86dd, &v6_packet(6, &tcp))),
            (LinkType::LINUX_SLL2, {
                let mut v = vec![
                    0x08, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
                ];
                v.extend_from_slice(&v4_packet(6, 1, 0x2000, &tcp[..24]));
                v
            }),
        ];
        for (link, f) in &frames {
            for cut in 0..f.len() {
                let _ = s.slice(&frame(cut as u64, *link, &f[..cut]));
            }
        }
        // Pseudo-random garbage on every link type.
        let mut x = 1u32;
        let mut buf = [0u8; 80];
        for n in 0..20_000u64 {
            for b in buf.iter_mut() {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (x >> 16) as u8;
            }
            // Make IP versions likely so deeper layers are exercised.
            buf[0] = if n % 2 == 0 { 0x45 } else { 0x60 };
            buf[14] = buf[0];
            let len = (x as usize) % buf.len();
            for link in [0, 1, 101, 108, 113, 228, 229, 276] {
                let _ = s.slice(&frame(n, LinkType(link), &buf[..len]));
            }
        }
    }
}

/// The etherparse path must answer exactly as the hand-written slicer
/// wherever it answers at all.
#[cfg(test)]
mod agreement {
    use super::*;
    use crate::capture::{Frame, LinkType};
    use crate::common::Timestamp;
    use proptest::prelude::*;

    /// The crate path's answer, if it gives one, next to the hand-written
    /// one (a fresh slicer, as the crate path holds no fragments).
    fn both(link: u32, data: &[u8]) -> Option<(String, String)> {
        let crate_says = lax::slice(LinkType(link), data)?;
        let f = Frame {
            number: 1,
            ts: Timestamp(0),
            link: LinkType(link),
            interface: 0,
            orig_len: data.len() as u32,
            data,
        };
        let mut s = Slicer::default();
        let hand = s.slice_by_hand(&f);
        Some((format!("{crate_says:?}"), format!("{hand:?}")))
    }

    /// The public corpus (`RDPTRIAGE_CORPUS`, else `../shared/corpus`
    /// beside the repository), if it is there.
    fn corpus_dir() -> Option<std::path::PathBuf> {
        let dir = std::env::var_os("RDPTRIAGE_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
            });
        let found = dir.join("MANIFEST.tsv").is_file();
        if !found {
            eprintln!("../shared/corpus not found: corpus tests skipped");
        }
        found.then_some(dir)
    }

    #[test]
    fn ip_version_must_match_the_link() {
        // An IPv6 header behind EtherType IPv4: malformed, on both paths.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend(super::ip::tests::v6_packet(59, &[]));
        assert!(lax::slice(LinkType::ETHERNET, &f).is_none());
        let fr = Frame {
            number: 1,
            ts: Timestamp(0),
            link: LinkType::ETHERNET,
            interface: 0,
            orig_len: f.len() as u32,
            data: &f,
        };
        assert!(matches!(
            Slicer::default().slice(&fr),
            Sliced::Skip(Skip::Malformed)
        ));
    }

    #[test]
    fn every_corpus_frame_sliced_alike() {
        let Some(dir) = corpus_dir() else {
            println!("corpus not found: skipped");
            return;
        };
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_default();
        let (mut by_crate, mut total) = (0u64, 0u64);
        for file in manifest
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next())
        {
            let Ok(f) = std::fs::File::open(dir.join(file)) else {
                continue;
            };
            let _ = crate::capture::read_capture(f, |fr| {
                total += 1;
                if let Some((c, h)) = both(fr.link.0, fr.data) {
                    by_crate += 1;
                    assert_eq!(c, h, "{file} frame {}", fr.number);
                }
            });
        }
        println!("{by_crate} of {total} corpus frames sliced by etherparse");
        assert!(by_crate * 10 > total * 9, "{by_crate} of {total}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn arbitrary_frames_sliced_alike(
            link in proptest::sample::select(vec![0u32, 1, 12, 101, 108, 113, 228, 229, 276]),
            version in proptest::sample::select(vec![0x45u8, 0x46, 0x60, 0x4f]),
            proto in proptest::sample::select(vec![6u8, 1, 17, 58, 44, 0, 51]),
            mut data in proptest::collection::vec(any::<u8>(), 0..120),
            mismatch in proptest::bool::weighted(0.2),
        ) {
            // The link mostly announces the version the header has.
            let v6 = (version == 0x60) != mismatch;
            // Steer the bytes towards plausible headers.
            let ip_at = match link { 1 => 14, 113 => 16, 276 => 20, 0 | 108 => 4, _ => 0 };
            if data.len() > ip_at + 9 {
                data[ip_at] = version;
                let p = if version == 0x60 { ip_at + 6 } else { ip_at + 9 };
                data[p] = proto;
                match link {
                    1 => { data[12] = if v6 { 0x86 } else { 0x08 }; data[13] = if v6 { 0xdd } else { 0 }; }
                    113 => { data[2] = 0; data[14] = if v6 { 0x86 } else { 0x08 }; data[15] = if v6 { 0xdd } else { 0 }; }
                    276 => { data[0] = if v6 { 0x86 } else { 0x08 }; data[1] = if v6 { 0xdd } else { 0 }; data[8] = 0; }
                    0 | 108 => data[..4].copy_from_slice(&(if v6 { 24u32 } else { 2 }).to_le_bytes()),
                    _ => {}
                }
            }
            if let Some((c, h)) = both(link, &data) {
                prop_assert_eq!(c, h);
            }
        }
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::capture::{Frame, LinkType};
    use crate::common::Timestamp;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(
            link in proptest::sample::select(vec![0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]),
            data in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut s = Slicer::default();
            let f = Frame { number: 1, ts: Timestamp(0), link: LinkType(link), interface: 0, orig_len: data.len() as u32, data: &data };
            if let Sliced::Packet(Packet { transport: Transport::Tcp(t), .. }) = s.slice(&f) {
                prop_assert!(t.payload.len() as u64 <= t.payload_len as u64);
            }
        }
    }
}
