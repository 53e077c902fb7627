//! A capture built in the tests: `n` refused connections (a SYN answered
//! by RST/ACK), for what must not grow with the connections of a file.

/// A legacy pcap (Ethernet, microseconds) of `n` refused connections, one
/// every `gap_ms`: client 10.1.x.y (4 connections per client in a row, as
/// a client retrying), servers 192.0.2.1 to 192.0.2.`servers`, port 3389,
/// in turn.
pub fn refused(n: u32, gap_ms: u32, servers: u8) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.truncate(20);
    v.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..n {
        let client_no = (i / 4) as u16;
        let client = [10, 1, (client_no >> 8) as u8, client_no as u8];
        let server = [192, 0, 2, 1 + (i % u32::from(servers.max(1))) as u8];
        let port = 20_000 + (i % 40_000) as u16;
        let seq = i.wrapping_mul(2_654_435_761);
        let t_us = u64::from(i) * u64::from(gap_ms) * 1000;
        for (dt, syn) in [(0u64, true), (20, false)] {
            let (src, dst, sport, dport) = if syn {
                (client, server, port, 3389)
            } else {
                (server, client, 3389, port)
            };
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&dst);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            let (s, a, flags) = if syn {
                (seq, 0, 0x02)
            } else {
                (0, seq.wrapping_add(1), 0x14)
            };
            f.extend_from_slice(&s.to_be_bytes());
            f.extend_from_slice(&a.to_be_bytes());
            f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
            let t = t_us + dt;
            for w in [
                (t / 1_000_000) as u32,
                (t % 1_000_000) as u32,
                f.len() as u32,
                f.len() as u32,
            ] {
                v.extend_from_slice(&w.to_le_bytes());
            }
            v.extend_from_slice(&f);
        }
    }
    v
}
