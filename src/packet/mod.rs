//! Stage 2: frames -> IP packets with TCP segments or ICMP errors.
//!
//! Slices link, IP and transport headers (zero-copy where possible),
//! reassembles IPv4 fragments within a bound, and hands the flow stage a
//! [`Packet`]. Knows nothing of connections or RDP.

use std::net::IpAddr;

mod defrag;
mod icmp;
mod ip;
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
    /// True if this packet was rebuilt from IPv4 fragments.
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
    /// UDP, ICMP echo, anything else: only counted.
    Other {
        protocol: u8,
    },
}

/// A sliced IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub ip: IpInfo,
    pub transport: Transport<'a>,
}

/// Why a frame produced no packet. Counted per file; none is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Skip {
    /// Not IP (ARP, LLDP, ...).
    NotIp,
    /// A link type we do not slice.
    UnsupportedLink,
    /// An IPv4 fragment held for reassembly (the datagram comes later).
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
    /// fragments are not reassembled). IPv6 fragments of TCP are not
    /// reassembled: they count as [`Skip::FragmentDropped`].
    pub fn slice<'a>(&'a mut self, frame: &crate::capture::Frame<'a>) -> Sliced<'a> {
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
                    return other(h.info, h.protocol);
                }
                if !h.is_fragment() {
                    return transport(h.info, h.protocol, false, h.payload, h.payload_len);
                }
                match self.defrag.insert(&self.config, frame.number, &h) {
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
                if !matches!(h.protocol, ip::PROTO_TCP | ip::PROTO_ICMPV6) {
                    return other(h.info, h.protocol);
                }
                if h.fragment {
                    return Sliced::Skip(Skip::FragmentDropped);
                }
                transport(h.info, h.protocol, true, h.payload, h.payload_len)
            }
        }
    }
}

fn other(ip: IpInfo, protocol: u8) -> Sliced<'static> {
    Sliced::Packet(Packet {
        ip,
        transport: Transport::Other { protocol },
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
        _ => Transport::Other { protocol },
    };
    Sliced::Packet(Packet { ip, transport })
}
