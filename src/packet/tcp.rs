//! TCP header (RFC 9293 section 3.1) and the options the later stages use:
//! MSS (kind 2), window scale (kind 3, RFC 7323 section 2.2), SACK
//! permitted (kind 4) and SACK blocks (kind 5, RFC 2018).

use super::{Skip, TcpFlags, TcpSegment};

/// Bytes of a TCP header without options.
pub(crate) const MIN_HEADER: usize = 20;

/// Slice a TCP segment. `b` is the captured part of the IP payload (no
/// link padding), `ip_payload_len` its length per the IP header(s).
///
/// The 20-byte base header must be captured; options are read as far as
/// they were captured (a snap length may cut them).
pub(crate) fn slice(b: &[u8], ip_payload_len: u32) -> Result<TcpSegment<'_>, Skip> {
    let hdr: &[u8; MIN_HEADER] = b
        .get(..MIN_HEADER)
        .and_then(|h| h.try_into().ok())
        .ok_or(Skip::Malformed)?;
    let doff = ((hdr[12] >> 4) as usize) * 4;
    if doff < MIN_HEADER || (doff as u32) > ip_payload_len {
        return Err(Skip::Malformed);
    }
    let mut seg = TcpSegment {
        src_port: u16::from_be_bytes([hdr[0], hdr[1]]),
        dst_port: u16::from_be_bytes([hdr[2], hdr[3]]),
        seq: u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]),
        ack: u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]),
        flags: TcpFlags(u16::from_be_bytes([hdr[12], hdr[13]]) & 0x01ff),
        window: u16::from_be_bytes([hdr[14], hdr[15]]),
        mss: None,
        window_scale: None,
        sack: false,
        payload: b.get(doff..).unwrap_or(&[]),
        payload_len: ip_payload_len - doff as u32,
    };
    if doff > MIN_HEADER {
        let opts = b.get(MIN_HEADER..doff.min(b.len())).unwrap_or(&[]);
        options(opts, &mut seg);
    }
    Ok(seg)
}

pub(crate) fn options(mut o: &[u8], seg: &mut TcpSegment<'_>) {
    while let Some(&kind) = o.first() {
        match kind {
            0 => break,
            1 => {
                o = o.get(1..).unwrap_or(&[]);
                continue;
            }
            _ => {}
        }
        let Some(&len) = o.get(1) else { break };
        let len = len as usize;
        if len < 2 {
            break;
        }
        let Some(opt) = o.get(..len) else { break };
        match (kind, opt) {
            (2, [_, 4, a, b]) => seg.mss = Some(u16::from_be_bytes([*a, *b])),
            (3, [_, 3, s]) => seg.window_scale = Some(*s),
            (4, [_, 2]) => seg.sack = true,
            (5, _) => seg.sack = true,
            _ => {}
        }
        o = o.get(len..).unwrap_or(&[]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TCP header with the given options (padded) and payload.
    pub(crate) fn header(
        sport: u16,
        dport: u16,
        seq: u32,
        flags: u16,
        opts: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let mut o = opts.to_vec();
        while o.len() % 4 != 0 {
            o.push(0);
        }
        let doff = (20 + o.len()) / 4;
        let mut v = Vec::new();
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&7u32.to_be_bytes());
        v.extend_from_slice(&(((doff as u16) << 12) | flags).to_be_bytes());
        v.extend_from_slice(&8192u16.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend(o);
        v.extend_from_slice(payload);
        v
    }

    const SYN_OPTS: &[u8] = &[2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2];

    #[test]
    fn syn_options() {
        let h = header(50000, 3389, 1000, TcpFlags::SYN, SYN_OPTS, b"");
        let s = slice(&h, h.len() as u32).unwrap();
        assert_eq!(
            (s.src_port, s.dst_port, s.seq, s.ack),
            (50000, 3389, 1000, 7)
        );
        assert!(s.flags.syn() && !s.flags.ack());
        assert_eq!(s.mss, Some(1460));
        assert_eq!(s.window_scale, Some(8));
        assert!(s.sack);
        assert_eq!(s.window, 8192);
        assert_eq!(s.payload_len, 0);
    }

    #[test]
    fn payload_and_snaplen_cut() {
        let h = header(
            1,
            2,
            3,
            TcpFlags::ACK | TcpFlags::PSH,
            &[5, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            b"hello",
        );
        let s = slice(&h, h.len() as u32).unwrap();
        assert_eq!(s.payload, b"hello");
        assert_eq!(s.payload_len, 5);
        assert!(s.sack);
        // Cut by the snap length: fewer bytes than the header says.
        let s = slice(&h[..h.len() - 3], h.len() as u32).unwrap();
        assert_eq!(s.payload, b"he");
        assert_eq!(s.payload_len, 5);
    }

    #[test]
    fn every_truncation() {
        let h = header(50000, 3389, 1000, TcpFlags::SYN, SYN_OPTS, b"abc");
        for cut in 0..h.len() {
            let r = slice(&h[..cut], h.len() as u32);
            if cut < 20 {
                assert_eq!(r, Err(Skip::Malformed));
            } else {
                let s = r.unwrap();
                assert_eq!(s.payload_len, 3);
                assert_eq!(s.mss.is_some(), cut >= 24);
                assert_eq!(s.window_scale.is_some(), cut >= 28);
            }
        }
        // Data offset larger than the datagram.
        assert_eq!(slice(&h, 30), Err(Skip::Malformed));
        // Data offset below 5.
        let mut bad = h.clone();
        bad[12] = 0x40;
        assert_eq!(slice(&bad, bad.len() as u32), Err(Skip::Malformed));
        // Zero-length and overlong options do not loop or panic.
        let h = header(1, 2, 3, 0, &[2, 0, 9, 1, 3, 40], b"");
        let s = slice(&h, h.len() as u32).unwrap();
        assert_eq!(s.mss, None);
    }
}
