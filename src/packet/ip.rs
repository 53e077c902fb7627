//! IPv4 (RFC 791 section 3.1) and IPv6 (RFC 8200 sections 3 and 4) headers.
//!
//! Lengths come from the headers: link padding after the datagram is not
//! payload, and a snap length may leave fewer bytes than the header says.

use super::{IpInfo, Skip};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMPV6: u8 = 58;

/// An IPv4 header, sliced.
#[derive(Clone, Copy, Debug)]
pub(crate) struct V4<'a> {
    pub(crate) info: IpInfo,
    pub(crate) protocol: u8,
    /// The captured payload, at most what the header's total length allows.
    pub(crate) payload: &'a [u8],
    /// Payload length per the header.
    pub(crate) payload_len: u32,
    pub(crate) more_fragments: bool,
    /// Fragment offset in bytes.
    pub(crate) frag_offset: u32,
    /// The header bytes (for rebuilding a reassembled datagram's facts).
    pub(crate) header_len: usize,
}

impl V4<'_> {
    pub(crate) fn is_fragment(&self) -> bool {
        self.more_fragments || self.frag_offset != 0
    }
}

pub(crate) fn v4(b: &[u8]) -> Result<V4<'_>, Skip> {
    let h: &[u8; 20] = b
        .get(..20)
        .and_then(|h| h.try_into().ok())
        .ok_or(Skip::Malformed)?;
    if h[0] >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let ihl = ((h[0] & 0x0f) as usize) * 4;
    if ihl < 20 || b.len() < ihl {
        return Err(Skip::Malformed);
    }
    let mut total = u16::from_be_bytes([h[2], h[3]]) as usize;
    if total == 0 {
        // Segmentation offload on the capturing host: the length is unset.
        total = b.len();
    }
    if total < ihl {
        return Err(Skip::Malformed);
    }
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let payload = b.get(ihl..total.min(b.len())).unwrap_or(&[]);
    Ok(V4 {
        info: IpInfo {
            src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
            dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
            ttl: h[8],
            ip_id: Some(u16::from_be_bytes([h[4], h[5]])),
            dont_fragment: frag & 0x4000 != 0,
            total_len: total as u32,
            reassembled: false,
        },
        protocol: h[9],
        payload,
        payload_len: (total - ihl) as u32,
        more_fragments: frag & 0x2000 != 0,
        frag_offset: ((frag & 0x1fff) as u32) * 8,
        header_len: ihl,
    })
}

/// An IPv6 packet, its extension headers walked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct V6<'a> {
    pub(crate) info: IpInfo,
    /// The upper-layer protocol (after extension headers).
    pub(crate) protocol: u8,
    pub(crate) payload: &'a [u8],
    pub(crate) payload_len: u32,
    /// A Fragment header with a non-zero offset or M set: `protocol` is
    /// then its Next Header and `payload` the fragment's data.
    pub(crate) fragment: Option<Frag6>,
    /// Bytes before `payload`: fixed header and extension headers.
    pub(crate) header_len: usize,
}

/// An IPv6 Fragment header (RFC 8200 section 4.5) of a real fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frag6 {
    /// Fragment offset in bytes.
    pub(crate) offset: u32,
    pub(crate) more: bool,
    pub(crate) id: u32,
}

fn addr6(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// Extension headers walked before giving up.
const MAX_EXT: usize = 16;

/// Where an IPv6 extension-header walk ends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Upper<'a> {
    /// The upper-layer protocol (or a fragment's Next Header).
    pub(crate) protocol: u8,
    pub(crate) payload: &'a [u8],
    /// Extension-header bytes skipped.
    pub(crate) skipped: usize,
    pub(crate) fragment: Option<Frag6>,
}

/// Walk IPv6 extension headers from `next` over `rest`; returns the
/// upper-layer protocol, its bytes, the bytes skipped, and the Fragment
/// header of a real fragment, where the walk stops (the rest is fragment
/// data; the protocol returned is the Fragment header's Next Header).
pub(crate) fn walk_ext(mut next: u8, mut rest: &[u8]) -> Result<Upper<'_>, Skip> {
    let mut skipped = 0usize;
    for _ in 0..MAX_EXT {
        let len = match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6:
            // length in 8-octet units, not counting the first 8.
            0 | 43 | 60 | 135 | 139 | 140 => {
                (*rest.get(1).ok_or(Skip::Malformed)? as usize + 1) * 8
            }
            // Authentication header: 4-octet units, minus 2.
            51 => (*rest.get(1).ok_or(Skip::Malformed)? as usize + 2) * 4,
            // Fragment header: next header, reserved, offset and M flag,
            // identification; 8 bytes.
            44 => {
                let f: [u8; 8] = rest
                    .get(..8)
                    .and_then(|f| f.try_into().ok())
                    .ok_or(Skip::Malformed)?;
                let off_m = u16::from_be_bytes([f[2], f[3]]);
                let frag = Frag6 {
                    offset: ((off_m >> 3) as u32) * 8,
                    more: off_m & 1 != 0,
                    id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                };
                if frag.offset != 0 || frag.more {
                    let data = rest.get(8..).unwrap_or(&[]);
                    return Ok(Upper {
                        protocol: f[0],
                        payload: data,
                        skipped: skipped + 8,
                        fragment: Some(frag),
                    });
                }
                // An atomic fragment (RFC 6946): read on.
                8
            }
            _ => {
                return Ok(Upper {
                    protocol: next,
                    payload: rest,
                    skipped,
                    fragment: None,
                })
            }
        };
        next = *rest.first().ok_or(Skip::Malformed)?;
        rest = rest.get(len..).ok_or(Skip::Malformed)?;
        skipped += len;
    }
    Err(Skip::Malformed)
}

/// Whether `p` (the Next Header of an IPv6 Fragment header) may lead to TCP
/// or ICMPv6, so that the fragments are worth reassembling.
pub(crate) fn v6_fragment_wanted(p: u8) -> bool {
    matches!(
        p,
        PROTO_TCP | PROTO_ICMPV6 | 0 | 43 | 51 | 60 | 135 | 139 | 140
    )
}

pub(crate) fn v6(b: &[u8]) -> Result<V6<'_>, Skip> {
    let h = b.get(..40).ok_or(Skip::Malformed)?;
    if h.first().map(|v| v >> 4) != Some(6) {
        return Err(Skip::Malformed);
    }
    let mut plen = h
        .get(4..6)
        .and_then(|x| <[u8; 2]>::try_from(x).ok())
        .map_or(0, u16::from_be_bytes) as usize;
    if plen == 0 {
        // Jumbogram or offload: take what was captured.
        plen = b.len() - 40;
    }
    let next = h.get(6).copied().unwrap_or(0);
    let hop = h.get(7).copied().unwrap_or(0);
    let src = addr6(h.get(8..).unwrap_or(&[])).ok_or(Skip::Malformed)?;
    let dst = addr6(h.get(24..).unwrap_or(&[])).ok_or(Skip::Malformed)?;
    let body = b.get(40..(40 + plen).min(b.len())).unwrap_or(&[]);
    let Upper {
        protocol,
        payload,
        skipped,
        fragment,
    } = walk_ext(next, body)?;
    if skipped > plen {
        return Err(Skip::Malformed);
    }
    Ok(V6 {
        info: IpInfo {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl: hop,
            ip_id: None,
            dont_fragment: false,
            total_len: (40 + plen) as u32,
            reassembled: false,
        },
        protocol,
        payload,
        payload_len: (plen - skipped) as u32,
        fragment,
        header_len: 40 + skipped,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IPv4 header + payload; `frag` is the flags/offset field.
    pub(crate) fn v4_packet(proto: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut v = vec![0x45, 0];
        v.extend_from_slice(&total.to_be_bytes());
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&frag.to_be_bytes());
        v.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(payload);
        v
    }

    /// An IPv6 header + extension bytes + payload.
    pub(crate) fn v6_packet(next: u8, ext_and_payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&(ext_and_payload.len() as u16).to_be_bytes());
        v.extend_from_slice(&[next, 57]);
        let mut a = [0u8; 16];
        a[0] = 0xfe;
        a[15] = 1;
        v.extend_from_slice(&a);
        a[15] = 2;
        v.extend_from_slice(&a);
        v.extend_from_slice(ext_and_payload);
        v
    }

    #[test]
    fn v4_lengths_and_flags() {
        let mut p = v4_packet(6, 0x1234, 0x4000, b"abcd");
        p.extend_from_slice(&[0; 6]); // Ethernet padding
        let h = v4(&p).unwrap();
        assert_eq!(h.payload, b"abcd");
        assert_eq!(h.payload_len, 4);
        assert!(h.info.dont_fragment);
        assert!(!h.is_fragment());
        assert_eq!(h.info.ip_id, Some(0x1234));
        assert_eq!(h.info.ttl, 64);
        assert_eq!(h.info.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        // Cut by the snap length.
        let h = v4(&p[..22]).unwrap();
        assert_eq!((h.payload, h.payload_len), (&b"ab"[..], 4));
        let fragment = v4_packet(6, 1, 0x2000 | 3, b"");
        let h = v4(&fragment).unwrap();
        assert!(h.more_fragments && h.frag_offset == 24 && h.is_fragment());
        for cut in 0..20 {
            assert!(v4(&p[..cut]).is_err());
        }
        let mut bad = p.clone();
        bad[3] = 10; // total length below header length
        assert!(v4(&bad).is_err());
    }

    #[test]
    fn v6_extension_headers() {
        // Hop-by-hop (8), destination options (16), routing (8), then TCP.
        let mut e = vec![60, 0, 1, 4, 0, 0, 0, 0];
        e.extend_from_slice(&[43, 1, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(&[51, 0, 0, 0, 0, 0, 0, 0]);
        // AH: payload length 1 -> (1+2)*4 = 12 bytes.
        e.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(b"tcp!");
        let p = v6_packet(0, &e);
        let h = v6(&p).unwrap();
        assert_eq!(h.protocol, 6);
        assert_eq!(h.payload, b"tcp!");
        assert_eq!(h.payload_len, 4);
        assert!(h.fragment.is_none());
        assert_eq!(h.header_len, 40 + 8 + 16 + 8 + 12);
        assert_eq!(h.info.ttl, 57);
        // Fragment header: an atomic fragment is not a fragment.
        let p = v6_packet(44, &[6, 0, 0, 0, 0, 0, 0, 1, 1, 2]);
        let h = v6(&p).unwrap();
        assert!(h.fragment.is_none());
        assert_eq!(h.payload, &[1, 2]);
        let p = v6_packet(44, &[6, 0, 0x01, 0x09, 0, 0, 0, 1, 1, 2]);
        let h = v6(&p).unwrap();
        assert_eq!(
            h.fragment,
            Some(Frag6 {
                offset: 264,
                more: true,
                id: 1
            })
        );
        assert_eq!(
            (h.protocol, h.payload, h.payload_len),
            (6, &[1u8, 2][..], 2)
        );
        // Every truncation.
        let p = v6_packet(0, &e);
        for cut in 0..p.len() {
            let _ = v6(&p[..cut]);
        }
        for cut in 0..40 {
            assert!(v6(&p[..cut]).is_err());
        }
    }
}
