//! MS-RDPEUDP handshake datagrams: the SYN and SYN+ACK that open the UDP
//! transport of RDP (MS-RDPEUDP 3.1.5.1.1-2), in clear text. Every
//! datagram starts with the RDPUDP_FEC_HEADER (2.2.2.1: snSourceAck,
//! uReceiveWindowSize, uFlags, network byte order); the SYN and SYN+ACK
//! carry the RDPUDP_SYNDATA_PAYLOAD (2.2.2.5) and, with RDPUDP_FLAG_SYNEX,
//! the RDPUDP_SYNDATAEX_PAYLOAD (2.2.2.9) whose uUdpVer says whether the
//! rest of the exchange is RDPEUDP2 (MS-RDPEUDP2, version 3).

pub const FLAG_SYN: u16 = 0x0001;
pub const FLAG_ACK: u16 = 0x0004;
pub const FLAG_SYNLOSSY: u16 = 0x0200;
pub const FLAG_CORRELATION_ID: u16 = 0x0800;
pub const FLAG_SYNEX: u16 = 0x1000;

/// Which handshake datagram this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UdpKind {
    /// The client's SYN (snSourceAck -1, SYN without ACK).
    Syn,
    /// The server's SYN+ACK.
    SynAck,
    /// Anything after the handshake (data, acknowledgements, RDPEUDP2
    /// packets): counted, not decoded.
    Other,
}

/// One RDP-UDP datagram, as far as the handshake goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpHandshake {
    pub kind: UdpKind,
    /// uFlags of the FEC header (0 when the datagram is shorter than it).
    pub flags: u16,
    /// uUpStreamMtu and uDownStreamMtu of the SYN data (1132..1232).
    pub mtu: Option<(u16, u16)>,
    /// uUdpVer of the SYNEX payload: 1, 2, or 0x101 (version 3: the
    /// transport continues as MS-RDPEUDP2).
    pub version: Option<u16>,
}

impl UdpHandshake {
    /// The protocol the version names.
    pub fn rdpeudp2(&self) -> bool {
        self.version == Some(0x0101)
    }
}

impl std::fmt::Display for UdpHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            UdpKind::Syn => "RDP-UDP SYN",
            UdpKind::SynAck => "RDP-UDP SYN+ACK",
            UdpKind::Other => return f.write_str("RDP-UDP datagram"),
        };
        f.write_str(what)?;
        if self.flags & FLAG_SYNLOSSY != 0 {
            f.write_str(" (lossy)")?;
        }
        match self.version {
            Some(0x0101) => f.write_str(", RDPEUDP2"),
            Some(v) => write!(f, ", version {v}"),
            None => Ok(()),
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

/// Decode one datagram on the RDP UDP port.
pub fn decode(b: &[u8]) -> UdpHandshake {
    let other = UdpHandshake {
        kind: UdpKind::Other,
        flags: be16(b, 6).unwrap_or(0),
        mtu: None,
        version: None,
    };
    let (Some(ack), Some(flags)) = (b.get(..4), be16(b, 6)) else {
        return other;
    };
    let kind = match (flags & FLAG_SYN != 0, flags & FLAG_ACK != 0) {
        // 3.1.5.1.1: the SYN's snSourceAck is -1.
        (true, false) if ack == [0xff; 4] => UdpKind::Syn,
        (true, true) => UdpKind::SynAck,
        _ => return other,
    };
    // FEC header (8), SYN data: snInitialSequenceNumber (4), MTUs (2+2).
    let mtu = be16(b, 12).zip(be16(b, 14));
    // Then the correlation id (16 bytes and 16 reserved), then SYNEX:
    // uSynExFlags (2), uUdpVer (2).
    let mut at = 16;
    if flags & FLAG_CORRELATION_ID != 0 {
        at += 32;
    }
    let version = if flags & FLAG_SYNEX != 0 {
        be16(b, at + 2)
    } else {
        None
    };
    UdpHandshake {
        kind,
        flags,
        mtu,
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 84 bytes of frame 1 of zeek/rdpeudp2-handshake-success.pcap
    /// (UDP payload), which tshark's rdpudp dissector reads as: flags
    /// 0x1801 (Syn, Correlation id, SynEx), MTUs 1232/1232, version UDPv2
    /// (0x0101).
    const SYN: &str = concat!(
        "ffffffff00401801a7eb5da404d004d0a2e2c8186de34f1e8d0f9175e4cd0000",
        "0000000000000000000000000000000000010101000000000000000000000000",
        "0000000000000000000000000000000000000000",
    );

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_syn_of_an_rdpeudp2_handshake() {
        let h = decode(&hex(SYN));
        assert_eq!(h.kind, UdpKind::Syn);
        assert_eq!(h.flags, 0x1801);
        assert_eq!(h.mtu, Some((1232, 1232)));
        assert_eq!(h.version, Some(0x0101));
        assert!(h.rdpeudp2());
        assert_eq!(h.to_string(), "RDP-UDP SYN, RDPEUDP2");
    }

    #[test]
    fn a_syn_ack_and_data_and_a_runt() {
        // Frame 2 of zeek/rdpeudp-handshake-success.pcap: flags 0x1005.
        let h = decode(&hex("0b127f15004010050f94ea0b04d004d000010002"));
        assert_eq!((h.kind, h.version), (UdpKind::SynAck, Some(2)));
        // Flags 0x000c (ACK, DATA): after the handshake.
        assert_eq!(decode(&hex("0f94ea0b0040000c")).kind, UdpKind::Other);
        // A SYN whose snSourceAck is not -1 is not a client SYN.
        assert_eq!(decode(&hex("0000000100401801")).kind, UdpKind::Other);
        assert_eq!(decode(&[1, 2, 3]).kind, UdpKind::Other);
    }
}
