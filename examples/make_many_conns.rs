//! Builds a capture of many short RDP connections, for the
//! many-connections benchmark (memory bounded by live connections, cost
//! linear in connections).
//!
//! * `--kind refused`: each connection is a SYN to port 3389 answered by
//!   RST/ACK (a stopped service, a port scan): 2 packets.
//! * `--kind confirm`: each connection reaches the X.224 Connection
//!   Confirm: three-way handshake, Connection Request (cookie
//!   `mstshash=userN`, RDP_NEG_REQ for TLS and CredSSP), Connection Confirm
//!   (RDP_NEG_RSP selecting TLS), then the client resets: 6 packets.
//!
//! Connections follow one another `--gap-us` apart (100 µs by default:
//! 10,000 a second, about one alive at a time). Each client address makes
//! 4 connections in a row (a client retrying), then the next client takes
//! over; client addresses come back after 65,536 clients. One server,
//! 192.0.2.1:3389. Legacy pcap, Ethernet, microseconds; deterministic.
//!
//! ```text
//! cargo run --release --example make_many_conns -- \
//!     --out bench-data/refused-1m.pcap --count 1000000 --kind refused
//! ```

use clap::{Parser, ValueEnum};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    Refused,
    Confirm,
}

#[derive(Parser, Debug)]
#[command(about = "Build a capture of many short RDP connections")]
struct Args {
    /// Capture to write (`-`: standard output).
    #[arg(long)]
    out: PathBuf,
    /// Number of connections.
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    #[arg(long, value_enum, default_value_t = Kind::Refused)]
    kind: Kind,
    /// Microseconds between the starts of two connections.
    #[arg(long, default_value_t = 100)]
    gap_us: u64,
}

const SERVER: [u8; 4] = [192, 0, 2, 1];
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn checksum(data: &[u8], mut acc: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        acc += u32::from(*b) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

struct Seg<'a> {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &'a [u8],
}

/// An Ethernet/IPv4/TCP frame with valid checksums.
fn frame(s: &Seg<'_>, ip_id: u16, ttl: u8) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + s.payload.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + 20 + s.payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
    ip[6] = 0x40;
    ip[8] = ttl;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&s.src);
    ip[16..20].copy_from_slice(&s.dst);
    let c = checksum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut tcp = Vec::with_capacity(20 + s.payload.len());
    tcp.extend_from_slice(&s.sport.to_be_bytes());
    tcp.extend_from_slice(&s.dport.to_be_bytes());
    tcp.extend_from_slice(&s.seq.to_be_bytes());
    tcp.extend_from_slice(&s.ack.to_be_bytes());
    tcp.extend_from_slice(&[0x50, s.flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    tcp.extend_from_slice(s.payload);
    let mut pseudo = 0u32;
    for w in [&s.src[..], &s.dst[..]] {
        pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
        pseudo += u32::from(u16::from_be_bytes([w[2], w[3]]));
    }
    pseudo += 6 + tcp.len() as u32;
    let c = checksum(&tcp, pseudo);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&tcp);
    f
}

/// X.224 Connection Request with a cookie and RDP_NEG_REQ (TLS | CredSSP).
fn connection_request(user: &str) -> Vec<u8> {
    let cookie = format!("Cookie: mstshash={user}\r\n");
    let neg = [0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00];
    let li = 6 + cookie.len() + neg.len();
    let total = 4 + 1 + li;
    let mut v = vec![0x03, 0x00];
    v.extend_from_slice(&(total as u16).to_be_bytes());
    v.push(li as u8);
    v.extend_from_slice(&[0xe0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(cookie.as_bytes());
    v.extend_from_slice(&neg);
    v
}

/// X.224 Connection Confirm with RDP_NEG_RSP selecting TLS.
fn connection_confirm() -> Vec<u8> {
    let neg = [0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00];
    let li = 6 + neg.len();
    let mut v = vec![0x03, 0x00];
    v.extend_from_slice(&((4 + 1 + li) as u16).to_be_bytes());
    v.push(li as u8);
    v.extend_from_slice(&[0xd0, 0, 0, 0x12, 0x34, 0]);
    v.extend_from_slice(&neg);
    v
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let sink: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(&args.out)?)
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        w.write_all(&v.to_le_bytes())?;
    }
    // Magic, version 2.4 (two u16 in one u32), thiszone, sigfigs, snaplen,
    // link type 1 (Ethernet).
    let start_s: u64 = 1_790_000_000;
    let mut packets = 0u64;
    let mut bytes = 0u64;
    let cc = connection_confirm();
    for i in 0..args.count {
        let client_no = (i / 4) % 65_536;
        let client = [10, 1, (client_no >> 8) as u8, client_no as u8];
        let cport = 20_000 + (i % 40_000) as u16;
        let t0 = start_s * 1_000_000 + i * args.gap_us;
        let cseq = (i as u32).wrapping_mul(2_654_435_761);
        let sseq = cseq ^ 0x5a5a_5a5a;
        let to_s = |seq, ack, flags, payload| Seg {
            src: client,
            dst: SERVER,
            sport: cport,
            dport: 3389,
            seq,
            ack,
            flags,
            payload,
        };
        let to_c = |seq, ack, flags, payload| Seg {
            src: SERVER,
            dst: client,
            sport: 3389,
            dport: cport,
            seq,
            ack,
            flags,
            payload,
        };
        let id = i as u16;
        let mut frames: Vec<(u64, Vec<u8>)> = Vec::with_capacity(6);
        match args.kind {
            Kind::Refused => {
                frames.push((0, frame(&to_s(cseq, 0, SYN, &[]), id, 128)));
                frames.push((
                    20,
                    frame(&to_c(0, cseq.wrapping_add(1), RST | ACK, &[]), id, 64),
                ));
            }
            Kind::Confirm => {
                let cr = connection_request(&format!("user{}", i % 1000));
                let c1 = cseq.wrapping_add(1);
                let s1 = sseq.wrapping_add(1);
                let c2 = c1.wrapping_add(cr.len() as u32);
                let s2 = s1.wrapping_add(cc.len() as u32);
                frames.push((0, frame(&to_s(cseq, 0, SYN, &[]), id, 128)));
                frames.push((10, frame(&to_c(sseq, c1, SYN | ACK, &[]), id, 64)));
                frames.push((20, frame(&to_s(c1, s1, ACK, &[]), id, 128)));
                frames.push((25, frame(&to_s(c1, s1, PSH | ACK, &cr), id, 128)));
                frames.push((40, frame(&to_c(s1, c2, PSH | ACK, &cc), id, 64)));
                frames.push((50, frame(&to_s(c2, s2, RST | ACK, &[]), id, 128)));
            }
        }
        for (dt, f) in frames {
            let t = t0 + dt;
            for v in [(t / 1_000_000) as u32, (t % 1_000_000) as u32] {
                w.write_all(&v.to_le_bytes())?;
            }
            let n = f.len() as u32;
            w.write_all(&n.to_le_bytes())?;
            w.write_all(&n.to_le_bytes())?;
            w.write_all(&f)?;
            packets += 1;
            bytes += 16 + u64::from(n);
        }
    }
    w.flush()?;
    eprintln!(
        "connections={} kind={:?} packets={packets} bytes={}",
        args.count,
        args.kind,
        bytes + 24
    );
    Ok(())
}
