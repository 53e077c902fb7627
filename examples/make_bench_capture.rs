//! Builds the benchmark inputs of rdptriage from real RDP captures.
//!
//! Two outputs, either or both in one run:
//!
//! * `--out FILE --size SIZE`: one large legacy pcap (Ethernet, microsecond
//!   timestamps). Copies of the RDP captures given with `--rdp-from` are
//!   interleaved with synthetic bulk TCP traffic. Each copy gets fresh
//!   addresses (IPv4 from 10.0.0.0/8, IPv6 from fd00:bec::/32) and fresh
//!   client ports, rewritten consistently in every packet of the copy,
//!   including the headers quoted inside ICMP errors; the IPv4 header checksum
//!   is recomputed and the TCP/UDP/ICMP checksums are adjusted incrementally
//!   (RFC 1624), so a checksum that was valid stays valid and one that was
//!   wrong (offload) stays wrong. Timing inside a copy is preserved; the file
//!   starts at the latest start time of the sources, so copies move forward
//!   in time by little (certificates keep their validity). The bulk
//!   traffic is made of HTTP-, TLS-, SMB-, SSH-like and other TCP
//!   connections with three-way handshakes, consistent sequence and
//!   acknowledgement numbers, full-size 1460-byte segments, delayed ACKs and
//!   FIN or RST closes. RDP copies make `--rdp-share` percent of the bytes.
//!   The file is streamed: memory holds the input captures and the live
//!   connections, never the output.
//! * `--archive DIR --count N`: N small captures, each one copy (fresh
//!   addresses and ports, original timestamps) of one input capture of at
//!   most `--archive-max-source` bytes, taken in turn; every
//!   `--gzip-every`-th file is gzip-compressed (`.pcap.gz`).
//!
//! Deterministic: the same arguments and inputs give byte-identical files.
//! A summary (`key=value` lines) is printed and, for `--out`, written next to
//! the capture as `FILE.meta`.
//!
//! Inputs: legacy pcap (all magics) or pcapng, optionally gzip-compressed;
//! link types Ethernet, Linux SLL/SLL2, BSD loopback and raw IP (converted to
//! Ethernet frames).
//!
//! ```text
//! cargo run --release --example make_bench_capture -- \
//!     --out bench-data/mixed-1g.pcap --size 1G --rdp-from testdata/captures \
//!     --archive bench-data/archive-2000 --count 2000
//! ```

use clap::Parser;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(about = "Build rdptriage benchmark captures from real RDP captures")]
struct Args {
    /// Mixed capture to write (legacy pcap, Ethernet, usec).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Minimum size of the mixed capture: bytes, or with a K/M/G suffix
    /// (powers of 1024).
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    size: u64,
    /// RDP captures to copy: files (pcap/pcapng, optionally gzip) or
    /// directories (the capture files under them, sorted by path).
    #[arg(long = "rdp-from", required = true, num_args = 1..)]
    rdp_from: Vec<PathBuf>,
    /// Percent of the mixed capture's bytes made of RDP copies.
    #[arg(long, default_value_t = 3.0)]
    rdp_share: f64,
    /// Bulk traffic rate in capture time, bytes per second (K/M/G allowed).
    #[arg(long, default_value = "20M", value_parser = parse_size)]
    bulk_rate: u64,
    /// Bulk TCP connections open at any time.
    #[arg(long, default_value_t = 48)]
    bulk_conns: usize,
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 0x5eed_2026)]
    seed: u64,
    /// Directory to fill with small captures made from the RDP captures.
    #[arg(long)]
    archive: Option<PathBuf>,
    /// Number of files in the archive.
    #[arg(long, default_value_t = 2000)]
    count: usize,
    /// Every N-th archive file is gzip-compressed (0: none).
    #[arg(long, default_value_t = 4)]
    gzip_every: usize,
    /// Archive files are made from the input captures of at most this size
    /// (the smallest input is used if none is that small).
    #[arg(long, default_value = "2M", value_parser = parse_size)]
    archive_max_source: u64,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in {s:?}")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 20M, 1G, 4G)"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("size must be positive: {s:?}"));
    }
    Ok((n * mult as f64) as u64)
}

// ------------------------------------------------------------------ random

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// Inclusive range.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = (lo.max(1) as f64, hi.max(lo) as f64);
        (lo * (hi / lo).powf(self.unit())) as u64
    }
}

// ------------------------------------------------------------ byte helpers

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    if let Some(d) = b.get_mut(off..off + 2) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

fn rd32(b: &[u8], off: usize, big: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

fn rd16(b: &[u8], off: usize, big: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

/// Internet checksum partial sum (RFC 1071) of `data`, as 32-bit words
/// folded at the end.
fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    acc + u64::from(u32::from_be_bytes(tail))
}

fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn checksum(data: &[u8]) -> u16 {
    !fold(sum_words(0, data))
}

/// RFC 1624 eqn. 3: the checksum `hc` after the bytes `old` (word-aligned
/// within the checksummed data) became `new` (same length).
fn adjust(hc: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut acc = u64::from(!hc);
    for (o, n) in old.chunks(2).zip(new.chunks(2)) {
        let ow = u16::from_be_bytes([o[0], o.get(1).copied().unwrap_or(0)]);
        let nw = u16::from_be_bytes([n[0], n.get(1).copied().unwrap_or(0)]);
        if ow != nw {
            acc += u64::from(!ow) + u64::from(nw);
        }
    }
    !fold(acc)
}

// ------------------------------------------------------------ input files

/// One packet record of an input capture.
struct RawPacket {
    ts_ns: i64,
    orig_len: u32,
    link: u32,
    data: Vec<u8>,
}

fn read_input(path: &Path) -> Result<Vec<RawPacket>, String> {
    let mut bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| format!("{}: gzip: {e}", path.display()))?;
        bytes = out;
    }
    match rd32(&bytes, 0, false) {
        Some(0x0A0D_0D0A) => parse_pcapng(&bytes),
        Some(_) => parse_pcap(&bytes),
        None => Err("too short to be a capture".into()),
    }
    .map_err(|e| format!("{}: {e}", path.display()))
}

fn parse_pcap(b: &[u8]) -> Result<Vec<RawPacket>, String> {
    let (big, nano, modified) = match rd32(b, 0, false) {
        Some(0xa1b2_c3d4) => (false, false, false),
        Some(0xd4c3_b2a1) => (true, false, false),
        Some(0xa1b2_3c4d) => (false, true, false),
        Some(0x4d3c_b2a1) => (true, true, false),
        Some(0xa1b2_cd34) => (false, false, true),
        Some(0x34cd_b2a1) => (true, false, true),
        _ => return Err("not a pcap or pcapng file".into()),
    };
    let link = rd32(b, 20, big).ok_or("truncated file header")? & 0xffff;
    let rec = if modified { 24 } else { 16 };
    let mut out = Vec::new();
    let mut off = 24usize;
    while let (Some(sec), Some(frac), Some(incl), Some(orig)) = (
        rd32(b, off, big),
        rd32(b, off + 4, big),
        rd32(b, off + 8, big),
        rd32(b, off + 12, big),
    ) {
        let start = off + rec;
        let Some(data) = b.get(start..start + incl as usize) else {
            eprintln!("warning: capture cut inside a record at offset {off}");
            break;
        };
        let frac_ns = if nano {
            i64::from(frac)
        } else {
            i64::from(frac) * 1000
        };
        out.push(RawPacket {
            ts_ns: i64::from(sec) * 1_000_000_000 + frac_ns,
            orig_len: orig.max(incl),
            link,
            data: data.to_vec(),
        });
        off = start + incl as usize;
    }
    Ok(out)
}

fn parse_pcapng(b: &[u8]) -> Result<Vec<RawPacket>, String> {
    // (link type, ticks per second)
    let mut ifaces: Vec<(u32, u64)> = Vec::new();
    let mut big = false;
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 12 <= b.len() {
        let btype = rd32(b, off, big).ok_or("truncated block")?;
        if btype == 0x0A0D_0D0A {
            big = match rd32(b, off + 8, false) {
                Some(0x1A2B_3C4D) => false,
                Some(0x4D3C_2B1A) => true,
                _ => return Err(format!("bad byte-order magic at {off}")),
            };
            ifaces.clear();
        }
        let blen = rd32(b, off + 4, big).ok_or("truncated block")? as usize;
        if blen < 12 || blen % 4 != 0 {
            return Err(format!("bad block length {blen} at {off}"));
        }
        let Some(block) = b.get(off..off + blen) else {
            eprintln!("warning: capture cut inside a block at offset {off}");
            break;
        };
        let body_end = blen - 4;
        match btype {
            1 => {
                let link = u32::from(rd16(block, 8, big).ok_or("short IDB")?);
                let mut tps = 1_000_000u64;
                let mut o = 16;
                while o + 4 <= body_end {
                    let (Some(code), Some(len)) = (rd16(block, o, big), rd16(block, o + 2, big))
                    else {
                        break;
                    };
                    if code == 0 {
                        break;
                    }
                    if code == 9 && len >= 1 {
                        if let Some(&r) = block.get(o + 4) {
                            let e = u32::from(r & 0x7f).min(19);
                            tps = if r & 0x80 == 0 {
                                10u64.pow(e)
                            } else {
                                1u64 << e.min(63)
                            };
                        }
                    }
                    o += 4 + usize::from(len).div_ceil(4) * 4;
                }
                ifaces.push((link, tps.max(1)));
            }
            6 => {
                let (Some(ifid), Some(hi), Some(lo), Some(cap), Some(orig)) = (
                    rd32(block, 8, big),
                    rd32(block, 12, big),
                    rd32(block, 16, big),
                    rd32(block, 20, big),
                    rd32(block, 24, big),
                ) else {
                    return Err(format!("short EPB at {off}"));
                };
                let Some(&(link, tps)) = ifaces.get(ifid as usize) else {
                    return Err(format!("EPB names unknown interface {ifid} at {off}"));
                };
                let data = block
                    .get(28..(28 + cap as usize).min(body_end))
                    .ok_or("short EPB data")?;
                let ticks = (u128::from(hi) << 32) | u128::from(lo);
                out.push(RawPacket {
                    ts_ns: (ticks * 1_000_000_000 / u128::from(tps)) as i64,
                    orig_len: orig.max(cap),
                    link,
                    data: data.to_vec(),
                });
            }
            3 => {
                let orig = rd32(block, 8, big).ok_or("short SPB")?;
                let link = ifaces.first().map_or(1, |i| i.0);
                let end = (12 + orig as usize).min(body_end);
                let data = block.get(12..end).ok_or("short SPB data")?;
                let ts_ns = out.last().map_or(0, |p: &RawPacket| p.ts_ns);
                out.push(RawPacket {
                    ts_ns,
                    orig_len: orig,
                    link,
                    data: data.to_vec(),
                });
            }
            _ => {}
        }
        off += blen;
    }
    Ok(out)
}

// ------------------------------------------------- link layer to Ethernet

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0a, 0x01];
const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x0a, 0x02];

/// The packet as an Ethernet frame, and the offset of its IP header if it
/// carries IPv4 or IPv6. `None` for link types that cannot be converted.
fn to_ethernet(link: u32, data: &[u8]) -> Option<(Vec<u8>, Option<usize>)> {
    let wrap = |ethertype: u16, payload: &[u8]| {
        let mut f = Vec::with_capacity(14 + payload.len());
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&MAC_B);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        let l3 = matches!(ethertype, ETH_IPV4 | ETH_IPV6).then_some(14);
        (f, l3)
    };
    let by_version = |payload: &[u8]| match payload.first().map(|v| v >> 4) {
        Some(4) => Some(wrap(ETH_IPV4, payload)),
        Some(6) => Some(wrap(ETH_IPV6, payload)),
        _ => None,
    };
    match link {
        1 => {
            let mut off = 12;
            let mut et = be16(data, off)?;
            let mut tags = 0;
            while matches!(et, 0x8100 | 0x88a8 | 0x9100) && tags < 4 {
                off += 4;
                tags += 1;
                et = be16(data, off)?;
            }
            let l3 = (matches!(et, ETH_IPV4 | ETH_IPV6) && data.len() > off + 2).then_some(off + 2);
            Some((data.to_vec(), l3))
        }
        113 => Some(wrap(be16(data, 14)?, data.get(16..)?)),
        276 => Some(wrap(be16(data, 0)?, data.get(20..)?)),
        0 | 108 => {
            let fam = rd32(data, 0, false)?;
            let fam = if fam > 0xffff { fam.swap_bytes() } else { fam };
            match fam {
                2 => Some(wrap(ETH_IPV4, data.get(4..)?)),
                24 | 28 | 30 => Some(wrap(ETH_IPV6, data.get(4..)?)),
                _ => None,
            }
        }
        12 | 14 | 101 | 228 | 229 => by_version(data),
        _ => None,
    }
}

// -------------------------------------------------- address/port rewriting

/// What to put in place of each address and port.
trait Mapper {
    fn v4(&mut self, a: [u8; 4]) -> [u8; 4];
    fn v6(&mut self, a: [u8; 16]) -> [u8; 16];
    fn port(&mut self, p: u16) -> u16;
}

/// Rewrites the IPv4 or IPv6 packet starting at `p[0]`, its TCP/UDP ports
/// and, inside ICMP errors, the quoted header. `quoted` is set for a header
/// quoted inside an ICMP error (no nested ICMP is followed there).
fn rewrite_ip(p: &mut [u8], m: &mut dyn Mapper, quoted: bool) {
    match p.first().map(|v| v >> 4) {
        Some(4) => rewrite_v4(p, m, quoted),
        Some(6) => rewrite_v6(p, m, quoted),
        _ => {}
    }
}

fn rewrite_v4(p: &mut [u8], m: &mut dyn Mapper, quoted: bool) {
    let Some(&vihl) = p.first() else { return };
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 || p.len() < ihl {
        return;
    }
    let mut old = [0u8; 8];
    old.copy_from_slice(&p[12..20]);
    let src = m.v4([old[0], old[1], old[2], old[3]]);
    let dst = m.v4([old[4], old[5], old[6], old[7]]);
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    put16(p, 10, 0);
    let c = checksum(&p[..ihl]);
    put16(p, 10, c);
    let new = [src, dst].concat();
    let proto = p[9];
    let frag_off = be16(p, 6).unwrap_or(0) & 0x1fff;
    if frag_off != 0 {
        return;
    }
    let total = usize::from(be16(p, 2).unwrap_or(0));
    let end = if total >= ihl {
        total.min(p.len())
    } else {
        p.len()
    };
    let l4 = &mut p[ihl..end];
    rewrite_l4(proto, l4, m, &old, &new, quoted, false);
}

fn rewrite_v6(p: &mut [u8], m: &mut dyn Mapper, quoted: bool) {
    if p.len() < 40 {
        return;
    }
    let mut old = [0u8; 32];
    old.copy_from_slice(&p[8..40]);
    let mut a = [0u8; 16];
    a.copy_from_slice(&old[..16]);
    let src = m.v6(a);
    a.copy_from_slice(&old[16..]);
    let dst = m.v6(a);
    p[8..24].copy_from_slice(&src);
    p[24..40].copy_from_slice(&dst);
    let new = [src, dst].concat();
    let payload_len = usize::from(be16(p, 4).unwrap_or(0));
    let end = if payload_len == 0 {
        p.len()
    } else {
        (40 + payload_len).min(p.len())
    };
    let mut next = p[6];
    let mut off = 40;
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let (Some(&nh), Some(&len)) = (p.get(off), p.get(off + 1)) else {
                    return;
                };
                next = nh;
                off += (usize::from(len) + 1) * 8;
            }
            44 => {
                let (Some(&nh), Some(fo)) = (p.get(off), be16(p, off + 2)) else {
                    return;
                };
                if fo & 0xfff8 != 0 {
                    return;
                }
                next = nh;
                off += 8;
            }
            _ => break,
        }
    }
    if off >= end {
        return;
    }
    let l4 = &mut p[off..end];
    rewrite_l4(next, l4, m, &old, &new, quoted, true);
}

/// `old_ph`/`new_ph`: the pseudo-header addresses before and after.
fn rewrite_l4(
    proto: u8,
    l4: &mut [u8],
    m: &mut dyn Mapper,
    old_ph: &[u8],
    new_ph: &[u8],
    quoted: bool,
    v6: bool,
) {
    match proto {
        6 | 17 => {
            let (Some(sp), Some(dp)) = (be16(l4, 0), be16(l4, 2)) else {
                return;
            };
            let (nsp, ndp) = (m.port(sp), m.port(dp));
            put16(l4, 0, nsp);
            put16(l4, 2, ndp);
            let pos = if proto == 6 { 16 } else { 6 };
            if let Some(hc) = be16(l4, pos) {
                if proto == 17 && hc == 0 && !v6 {
                    return; // no UDP checksum
                }
                let mut c = adjust(hc, old_ph, new_ph);
                c = adjust(
                    c,
                    &[sp.to_be_bytes(), dp.to_be_bytes()].concat(),
                    &[nsp.to_be_bytes(), ndp.to_be_bytes()].concat(),
                );
                if proto == 17 && c == 0 {
                    c = 0xffff;
                }
                put16(l4, pos, c);
            }
        }
        1 | 58 if !quoted => {
            let Some(&ty) = l4.first() else { return };
            let is_error = if proto == 1 {
                matches!(ty, 3 | 4 | 5 | 11 | 12)
            } else {
                (1..=4).contains(&ty)
            };
            if !is_error || l4.len() < 8 + 20 {
                return;
            }
            let before = l4.to_vec();
            rewrite_ip(&mut l4[8..], m, true);
            if let Some(hc) = be16(l4, 2) {
                let mut c = adjust(hc, &before, l4);
                if proto == 58 {
                    c = adjust(c, old_ph, new_ph);
                }
                put16(l4, 2, c);
            }
        }
        _ => {}
    }
}

/// Records every address in order of first appearance (identity mapping).
#[derive(Default)]
struct Collector {
    v4: HashMap<[u8; 4], u32>,
    v6: HashMap<[u8; 16], u32>,
}

impl Mapper for Collector {
    fn v4(&mut self, a: [u8; 4]) -> [u8; 4] {
        let n = self.v4.len() as u32;
        self.v4.entry(a).or_insert(n);
        a
    }
    fn v6(&mut self, a: [u8; 16]) -> [u8; 16] {
        let n = self.v6.len() as u32;
        self.v6.entry(a).or_insert(n);
        a
    }
    fn port(&mut self, p: u16) -> u16 {
        p
    }
}

/// The mapping of one copy of one source.
struct CopyMap<'a> {
    src: &'a Source,
    v4_base: u32,
    v6_base: u32,
    port_salt: u32,
}

fn fresh_v4(n: u32) -> [u8; 4] {
    let net = n / 254;
    [10, (net >> 8) as u8, net as u8, (n % 254 + 1) as u8]
}

fn fresh_v6(n: u32) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0xfd, 0x00, 0x0b, 0xec]);
    a[12..].copy_from_slice(&(n + 1).to_be_bytes());
    a
}

impl Mapper for CopyMap<'_> {
    fn v4(&mut self, a: [u8; 4]) -> [u8; 4] {
        match self.src.v4.get(&a) {
            Some(&i) => fresh_v4(self.v4_base.wrapping_add(i)),
            None => a,
        }
    }
    fn v6(&mut self, a: [u8; 16]) -> [u8; 16] {
        match self.src.v6.get(&a) {
            Some(&i) => fresh_v6(self.v6_base.wrapping_add(i)),
            None => a,
        }
    }
    fn port(&mut self, p: u16) -> u16 {
        if p < 1024 || self.src.server_ports.contains(&p) {
            return p;
        }
        let mut n = 1024 + (u32::from(p) - 1024 + self.port_salt) % 64512;
        while self.src.server_ports.contains(&(n as u16)) {
            n = 1024 + (n - 1024 + 1) % 64512;
        }
        n as u16
    }
}

// ------------------------------------------------------------------ sources

struct SrcPacket {
    /// Time since the source's first packet.
    rel_ns: i64,
    orig_len: u32,
    frame: Vec<u8>,
    l3: Option<usize>,
}

/// One input capture, ready to be copied.
struct Source {
    name: String,
    packets: Vec<SrcPacket>,
    v4: HashMap<[u8; 4], u32>,
    v6: HashMap<[u8; 16], u32>,
    /// Ports kept as they are: 3389 and every port a SYN was sent to.
    server_ports: HashSet<u16>,
    /// Bytes the source takes in a pcap file (record headers included).
    file_bytes: u64,
    /// TCP conversations (address/port pairs) with port 3389.
    conversations_3389: u64,
    /// Time of the first packet.
    first_ts_ns: i64,
}

fn syn_dst_port(frame: &[u8], l3: usize) -> Option<u16> {
    let ip = frame.get(l3..)?;
    let (proto, l4) = match ip.first()? >> 4 {
        4 => (ip[9], usize::from(ip.first()? & 0x0f) * 4),
        6 => (*ip.get(6)?, 40),
        _ => return None,
    };
    if proto != 6 {
        return None;
    }
    let flags = *ip.get(l4 + 13)?;
    (flags & 0x12 == 0x02).then(|| be16(ip, l4 + 2)).flatten()
}

/// The TCP address/port pair of a packet with port 3389, in a canonical
/// order (the same for both directions).
fn tcp_3389_pair(frame: &[u8], l3: usize) -> Option<Vec<u8>> {
    let ip = frame.get(l3..)?;
    let (proto, l4, a, b) = match ip.first()? >> 4 {
        4 => (
            *ip.get(9)?,
            usize::from(ip.first()? & 0x0f) * 4,
            ip.get(12..16)?,
            ip.get(16..20)?,
        ),
        6 => (*ip.get(6)?, 40, ip.get(8..24)?, ip.get(24..40)?),
        _ => return None,
    };
    let (sp, dp) = (be16(ip, l4)?, be16(ip, l4 + 2)?);
    if proto != 6 || (sp != 3389 && dp != 3389) {
        return None;
    }
    let x = [a, &sp.to_be_bytes()].concat();
    let y = [b, &dp.to_be_bytes()].concat();
    Some(if x <= y {
        [x, y].concat()
    } else {
        [y, x].concat()
    })
}

fn load_source(path: &Path) -> Result<Source, String> {
    let raw = read_input(path)?;
    let first_ts = raw.iter().map(|p| p.ts_ns).min().unwrap_or(0);
    let mut packets = Vec::with_capacity(raw.len());
    let mut skipped = 0usize;
    for p in raw {
        let Some((frame, l3)) = to_ethernet(p.link, &p.data) else {
            skipped += 1;
            continue;
        };
        let grown = frame.len() as i64 - p.data.len() as i64;
        let orig_len = (i64::from(p.orig_len) + grown).max(frame.len() as i64) as u32;
        packets.push(SrcPacket {
            rel_ns: p.ts_ns - first_ts,
            orig_len,
            frame,
            l3,
        });
    }
    if skipped > 0 {
        eprintln!(
            "warning: {}: {skipped} packets of unsupported link types left out",
            path.display()
        );
    }
    let mut col = Collector::default();
    let mut server_ports = HashSet::from([3389u16]);
    let mut pairs = HashSet::new();
    for p in &packets {
        if let Some(l3) = p.l3 {
            if let Some(pair) = tcp_3389_pair(&p.frame, l3) {
                pairs.insert(pair);
            }
            let mut f = p.frame.clone();
            if let Some(ip) = f.get_mut(l3..) {
                rewrite_ip(ip, &mut col, false);
            }
            if let Some(port) = syn_dst_port(&p.frame, l3) {
                server_ports.insert(port);
            }
        }
    }
    let file_bytes = packets.iter().map(|p| 16 + p.frame.len() as u64).sum();
    Ok(Source {
        name: path.display().to_string(),
        packets,
        v4: col.v4,
        v6: col.v6,
        server_ports,
        file_bytes,
        conversations_3389: pairs.len() as u64,
        first_ts_ns: first_ts,
    })
}

fn is_capture_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [
        ".pcap",
        ".pcapng",
        ".cap",
        ".pcap.gz",
        ".pcapng.gz",
        ".cap.gz",
    ]
    .iter()
    .any(|e| n.ends_with(e))
}

/// Capture files under `dir`, recursively, sorted by path.
fn capture_files(dir: &Path, out: &mut Vec<PathBuf>, depth: u32) -> Result<(), String> {
    let mut list: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    list.sort();
    for p in list {
        if p.is_dir() && depth < 8 {
            capture_files(&p, out, depth + 1)?;
        } else if p.is_file() && is_capture_name(&p) {
            out.push(p);
        }
    }
    Ok(())
}

fn load_sources(inputs: &[PathBuf]) -> Result<Vec<Source>, String> {
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            capture_files(p, &mut files, 0)?;
        } else {
            files.push(p.clone());
        }
    }
    let mut sources = Vec::new();
    for f in &files {
        match load_source(f) {
            Ok(s) if !s.packets.is_empty() => sources.push(s),
            Ok(_) => eprintln!("warning: {}: no packets, left out", f.display()),
            Err(e) => eprintln!("warning: {e}; left out"),
        }
    }
    if sources.is_empty() {
        return Err("no usable RDP capture among the inputs".into());
    }
    Ok(sources)
}

// ------------------------------------------------------------------ output

/// Legacy pcap writer (little-endian, microseconds, Ethernet).
struct PcapWriter<W: Write> {
    w: W,
    bytes: u64,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    fn new(mut w: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            bytes: 24,
            packets: 0,
        })
    }

    fn packet(&mut self, ts_ns: i64, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let ts = ts_ns.max(0);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(((ts % 1_000_000_000) / 1000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        self.bytes += 16 + data.len() as u64;
        self.packets += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

// -------------------------------------------------------------- RDP copies

/// Address blocks handed out to copies, so that no two copies share one.
#[derive(Default)]
struct Allocator {
    v4: u32,
    v6: u32,
    copies: u32,
}

impl Allocator {
    fn copy<'a>(&mut self, src: &'a Source) -> CopyMap<'a> {
        let m = CopyMap {
            src,
            v4_base: self.v4,
            v6_base: self.v6,
            port_salt: (self.copies + 1).wrapping_mul(7919) % 64512,
        };
        self.v4 = self.v4.wrapping_add(src.v4.len() as u32);
        self.v6 = self.v6.wrapping_add(src.v6.len() as u32);
        self.copies += 1;
        m
    }
}

/// A copy of a source being written out.
struct RdpCopy<'a> {
    map: CopyMap<'a>,
    start_ns: i64,
    next: usize,
}

impl RdpCopy<'_> {
    fn ts_of(&self, i: usize) -> Option<i64> {
        self.map
            .src
            .packets
            .get(i)
            .map(|p| self.start_ns + p.rel_ns)
    }

    /// Writes the next packet; returns the time of the one after, if any.
    fn step<W: Write>(
        &mut self,
        out: &mut PcapWriter<W>,
        scratch: &mut Vec<u8>,
    ) -> io::Result<Option<i64>> {
        let src = self.map.src;
        if let Some(p) = src.packets.get(self.next) {
            scratch.clear();
            scratch.extend_from_slice(&p.frame);
            if let Some(ip) = p.l3.and_then(|l3| scratch.get_mut(l3..)) {
                rewrite_ip(ip, &mut self.map, false);
            }
            out.packet(self.start_ns + p.rel_ns, p.orig_len, scratch)?;
            self.next += 1;
        }
        Ok(self.ts_of(self.next))
    }
}

// ------------------------------------------------------------- bulk traffic

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const MSS: usize = 1460;
const GATEWAY_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x01, 0xfe];
const SYN_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2];

struct Host {
    mac: [u8; 6],
    ip: [u8; 4],
    ttl: u8,
    id: u16,
}

/// One TCP segment to build.
struct Seg<'a> {
    from: &'a Host,
    to: &'a Host,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &'a [u8],
    payload: &'a [u8],
}

/// Ethernet + IPv4 (DF) + TCP with correct checksums.
fn build_tcp(s: &Seg<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&s.dst_mac);
    out.extend_from_slice(&s.src_mac);
    out.extend_from_slice(&ETH_IPV4.to_be_bytes());
    let thl = 20 + s.options.len();
    let total = (20 + thl + s.payload.len()) as u16;
    let ip_start = out.len();
    out.extend_from_slice(&[0x45, 0]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&s.from.id.to_be_bytes());
    out.extend_from_slice(&[0x40, 0, s.from.ttl, 6, 0, 0]);
    out.extend_from_slice(&s.from.ip);
    out.extend_from_slice(&s.to.ip);
    let c = checksum(&out[ip_start..]);
    put16(out, ip_start + 10, c);
    let tcp_start = out.len();
    out.extend_from_slice(&s.sport.to_be_bytes());
    out.extend_from_slice(&s.dport.to_be_bytes());
    out.extend_from_slice(&s.seq.to_be_bytes());
    out.extend_from_slice(&s.ack.to_be_bytes());
    out.extend_from_slice(&[((thl / 4) as u8) << 4, s.flags]);
    out.extend_from_slice(&s.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(s.options);
    out.extend_from_slice(s.payload);
    let tcp_len = (thl + s.payload.len()) as u32;
    let mut ph = [0u8; 12];
    ph[..4].copy_from_slice(&s.from.ip);
    ph[4..8].copy_from_slice(&s.to.ip);
    ph[9] = 6;
    ph[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    let c = !fold(sum_words(sum_words(0, &ph), &out[tcp_start..]));
    put16(out, tcp_start + 16, c);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Syn,
    SynAck,
    Ack,
    Request,
    Data,
    DataAck,
    Close,
    Fin2,
    LastAck,
}

/// A synthetic non-RDP TCP connection: handshake, a request, one bulk
/// transfer (download or upload) in full-size segments with an ACK every
/// second segment, then FIN/FIN/ACK or a client RST.
struct Bulk {
    client: Host,
    server: Host,
    cport: u16,
    sport: u16,
    /// Next sequence number each side sends.
    cseq: u32,
    sseq: u32,
    /// Bytes the client sends first.
    request: Vec<u8>,
    /// The start of the bulk stream (e.g. a response header).
    header: Vec<u8>,
    /// After `header`, the stream is made of records: this header, then
    /// `record_body` random bytes (none: random bytes only).
    record: Vec<u8>,
    record_body: usize,
    upload: bool,
    total: u64,
    sent: u64,
    unacked: u32,
    phase: Phase,
    rtt_ns: i64,
    pace_ns: i64,
    salt: usize,
    rst: bool,
}

impl Bulk {
    /// Appends the `n` bulk-stream bytes from offset `self.sent`.
    fn fill(&self, payload: &mut Vec<u8>, n: usize, block: &[u8]) {
        let (start, end) = (self.sent as usize, self.sent as usize + n);
        let hlen = self.header.len();
        let rec = self.record.len() + self.record_body;
        let mut k = start;
        while k < end {
            let take: &[u8] =
                if let Some(h) = self.header.get(k..hlen.min(end)).filter(|h| !h.is_empty()) {
                    h
                } else if self.record.is_empty() || rec == 0 {
                    let off = (self.salt + k) % (block.len() - MSS);
                    &block[off..off + (end - k).min(MSS)]
                } else {
                    let pos = (k - hlen) % rec;
                    if pos < self.record.len() {
                        &self.record[pos..self.record.len().min(pos + end - k)]
                    } else {
                        let off = (self.salt + k) % (block.len() - MSS);
                        &block[off..off + (rec - pos).min(end - k).min(MSS)]
                    }
                };
            payload.extend_from_slice(take);
            k += take.len();
        }
    }

    fn finish_soon(&mut self) {
        self.total = self.total.min(self.sent + 2 * MSS as u64);
    }

    fn seg<'a>(
        &'a self,
        to_server: bool,
        flags: u8,
        options: &'a [u8],
        payload: &'a [u8],
    ) -> Seg<'a> {
        if to_server {
            Seg {
                from: &self.client,
                to: &self.server,
                src_mac: self.client.mac,
                dst_mac: GATEWAY_MAC,
                sport: self.cport,
                dport: self.sport,
                seq: self.cseq,
                ack: if flags & ACK != 0 { self.sseq } else { 0 },
                flags,
                window: 502,
                options,
                payload,
            }
        } else {
            Seg {
                from: &self.server,
                to: &self.client,
                src_mac: GATEWAY_MAC,
                dst_mac: self.client.mac,
                sport: self.sport,
                dport: self.cport,
                seq: self.sseq,
                ack: self.cseq,
                flags,
                window: 509,
                options,
                payload,
            }
        }
    }

    /// Builds the next packet into `out`; returns its direction (true: to
    /// the server) and the delay until the following one (None: closed).
    fn step(&mut self, out: &mut Vec<u8>, payload: &mut Vec<u8>, block: &[u8]) -> Option<i64> {
        const GAP: i64 = 20_000;
        let (to_server, flags, len, next): (bool, u8, usize, Option<(Phase, i64)>) =
            match self.phase {
                Phase::Syn => (true, SYN, 0, Some((Phase::SynAck, self.rtt_ns))),
                Phase::SynAck => (false, SYN | ACK, 0, Some((Phase::Ack, GAP))),
                Phase::Ack => (true, ACK, 0, Some((Phase::Request, GAP))),
                Phase::Request => {
                    payload.clear();
                    payload.extend_from_slice(&self.request);
                    (
                        true,
                        PSH | ACK,
                        payload.len(),
                        Some((Phase::Data, self.rtt_ns)),
                    )
                }
                Phase::Data => {
                    let n = (self.total - self.sent).min(MSS as u64) as usize;
                    payload.clear();
                    self.fill(payload, n, block);
                    self.sent += n as u64;
                    self.unacked += 1;
                    let last = self.sent >= self.total;
                    let flags = if last { PSH | ACK } else { ACK };
                    let next = if last || self.unacked >= 2 {
                        (Phase::DataAck, GAP)
                    } else {
                        (Phase::Data, self.pace_ns)
                    };
                    (self.upload, flags, n, Some(next))
                }
                Phase::DataAck => {
                    self.unacked = 0;
                    let next = if self.sent >= self.total {
                        (Phase::Close, self.rtt_ns)
                    } else {
                        (Phase::Data, (self.pace_ns - GAP).max(1_000))
                    };
                    (!self.upload, ACK, 0, Some(next))
                }
                Phase::Close if self.rst => (true, RST | ACK, 0, None),
                Phase::Close => (
                    false,
                    FIN | ACK,
                    0,
                    Some((Phase::Fin2, self.rtt_ns / 2 + GAP)),
                ),
                Phase::Fin2 => (true, FIN | ACK, 0, Some((Phase::LastAck, self.rtt_ns / 2))),
                Phase::LastAck => (false, ACK, 0, None),
            };
        let opts: &[u8] = if flags & SYN != 0 { &SYN_OPTIONS } else { &[] };
        let body: &[u8] = if len > 0 { &payload[..len] } else { &[] };
        build_tcp(&self.seg(to_server, flags, opts, body), out);
        let consumed = len as u32 + u32::from(flags & (SYN | FIN) != 0);
        let host = if to_server {
            self.cseq = self.cseq.wrapping_add(consumed);
            &mut self.client
        } else {
            self.sseq = self.sseq.wrapping_add(consumed);
            &mut self.server
        };
        host.id = host.id.wrapping_add(1);
        let (phase, delay) = next?;
        self.phase = phase;
        Some(delay)
    }
}

/// Makes bulk connections between a pool of clients and a pool of servers.
struct BulkFactory {
    rng: Rng,
    client_ports: Vec<u16>,
    pace_ns: f64,
}

impl BulkFactory {
    const CLIENTS: u32 = 400;
    const SERVERS: u32 = 120;

    fn new(seed: u64, bulk_rate: u64, conns: usize) -> Self {
        let mut rng = Rng(seed ^ 0xb01c);
        let client_ports = (0..Self::CLIENTS)
            .map(|_| rng.range(32768, 60999) as u16)
            .collect();
        BulkFactory {
            rng,
            client_ports,
            pace_ns: (MSS + 54) as f64 * 1e9 * conns as f64 / bulk_rate.max(1) as f64,
        }
    }

    fn make(&mut self) -> Bulk {
        let r = &mut self.rng;
        let ci = r.below(u64::from(Self::CLIENTS)) as u32;
        let si = r.below(u64::from(Self::SERVERS)) as u32;
        let cip = [192, 168, (ci / 250) as u8, (ci % 250 + 1) as u8];
        let sip = [198, 18, (si / 250) as u8, (si % 250 + 1) as u8];
        let port = &mut self.client_ports[ci as usize];
        *port = if *port >= 60999 {
            32768
        } else {
            *port + 1 + r.below(5) as u16
        };
        let cport = *port;
        let kind = r.below(100);
        // Uploads (the client sends the bulk) for HTTP PUT and other ports.
        let mut upload = r.chance(0.15);
        let total = match r.below(100) {
            0..=69 => r.log_uniform(1 << 10, 256 << 10),
            70..=94 => r.log_uniform(256 << 10, 8 << 20),
            _ => r.log_uniform(8 << 20, 128 << 20),
        };
        let id = r.next_u64() & 0xffff_ffff;
        let host = format!("{}.{}.{}.{}", sip[0], sip[1], sip[2], sip[3]);
        let random_bytes = |r: &mut Rng, n: usize| -> Vec<u8> {
            (0..n).map(|_| r.next_u64() as u8 | 0x80).collect()
        };
        let (sport, request, header) = match kind {
            0..=44 => {
                let sport = if r.chance(0.8) { 80 } else { 8080 };
                if upload {
                    let req = format!(
                        "PUT /upload/{id:08x}.bin HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\nContent-Length: {total}\r\n\r\n"
                    );
                    (sport, req.into_bytes(), Vec::new())
                } else {
                    let req = format!(
                        "GET /files/{id:08x}.bin HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
                    );
                    let hdr = format!(
                        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
                    );
                    (sport, req.into_bytes(), hdr.into_bytes())
                }
            }
            45..=74 => {
                upload = false;
                let sni = format!("cdn{}.example.net", id % 97);
                (443, tls_client_hello(r, &sni), tls_server_hello(r))
            }
            75..=84 => {
                upload = false;
                let mut req = vec![0x00, 0x00, 0x00, 0x64];
                req.extend(random_bytes(r, 0x64));
                (445, req, Vec::new())
            }
            85..=89 => {
                upload = false;
                (
                    22,
                    b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
                    b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".to_vec(),
                )
            }
            _ => {
                let sport = r.range(5000, 9999) as u16;
                let n = r.range(40, 400) as usize;
                (sport, random_bytes(r, n), Vec::new())
            }
        };
        let (record, record_body): (Vec<u8>, usize) = match sport {
            // TLS 1.3 application data records of 2^14 bytes plus the tag.
            443 => (vec![0x17, 0x03, 0x03, 0x40, 0x11], 0x4011),
            // NetBIOS session messages (direct-hosted SMB framing).
            445 => (vec![0x00, 0x00, 0xff, 0xfc], 0xfffc),
            _ => (Vec::new(), 0),
        };
        let rec = (record.len() + record_body) as u64;
        let total = if rec > 0 {
            total.div_ceil(rec) * rec
        } else {
            total
        };
        let total = total + header.len() as u64;
        let rtt_ns = r.log_uniform(200_000, 60_000_000) as i64;
        let pace_ns = (self.pace_ns * (0.5 + r.unit())) as i64;
        Bulk {
            client: Host {
                mac: [0x02, 0x00, cip[0], cip[1], cip[2], cip[3]],
                ip: cip,
                ttl: 64,
                id: r.next_u64() as u16,
            },
            server: Host {
                mac: GATEWAY_MAC,
                ip: sip,
                ttl: 128 - r.range(1, 20) as u8,
                id: r.next_u64() as u16,
            },
            cport,
            sport,
            cseq: r.next_u64() as u32,
            sseq: r.next_u64() as u32,
            request,
            header,
            record,
            record_body,
            upload,
            total,
            sent: 0,
            unacked: 0,
            phase: Phase::Syn,
            rtt_ns,
            pace_ns: pace_ns.max(2_000),
            salt: r.below(1 << 20) as usize,
            rst: r.chance(0.05),
        }
    }
}

/// A TLS 1.2-record ClientHello offering TLS 1.3, with SNI.
fn tls_client_hello(r: &mut Rng, sni: &str) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend((0..32).map(|_| r.next_u64() as u8));
    body.push(32);
    body.extend((0..32).map(|_| r.next_u64() as u8));
    body.extend_from_slice(&[0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f, 0x01, 0x00]);
    let name = sni.as_bytes();
    let mut ext = Vec::new();
    let n = name.len() as u16;
    ext.extend_from_slice(&[0x00, 0x00]);
    ext.extend_from_slice(&(n + 5).to_be_bytes());
    ext.extend_from_slice(&(n + 3).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&n.to_be_bytes());
    ext.extend_from_slice(name);
    ext.extend_from_slice(&[0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03]);
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d]);
    let mut share = vec![0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20];
    share.extend((0..32).map(|_| r.next_u64() as u8));
    ext.extend_from_slice(&share);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    tls_handshake(1, &body)
}

/// A ServerHello selecting TLS 1.3, then ChangeCipherSpec; what follows is
/// encrypted.
fn tls_server_hello(r: &mut Rng) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend((0..32).map(|_| r.next_u64() as u8));
    body.push(32);
    body.extend((0..32).map(|_| r.next_u64() as u8));
    body.extend_from_slice(&[0x13, 0x01, 0x00]);
    let mut ext = vec![0x00, 0x2b, 0x00, 0x02, 0x03, 0x04];
    ext.extend_from_slice(&[0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20]);
    ext.extend((0..32).map(|_| r.next_u64() as u8));
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut out = tls_handshake(2, &body);
    out.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    out
}

/// One handshake message in one TLS record.
fn tls_handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut out = vec![0x16, 0x03, 0x01];
    out.extend_from_slice(&((len + 4) as u16).to_be_bytes());
    out.push(msg_type);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

// ----------------------------------------------------------- mixed capture

enum Stream<'a> {
    Bulk(Box<Bulk>),
    Rdp(RdpCopy<'a>),
}

/// 2026-01-05 09:00:00 UTC (used by the tests).
#[cfg(test)]
const EPOCH_NS: i64 = 1_767_603_600 * 1_000_000_000;

/// Where the mixed capture starts: the latest start among the sources,
/// rounded down to the second. Copies are then moved forward in time by
/// little (the lab captures are all from about the same time), so a
/// certificate valid when a source was captured stays valid, and none is
/// placed before its own capture time ("not yet valid").
fn mixed_epoch(sources: &[Source]) -> i64 {
    let latest = sources.iter().map(|s| s.first_ts_ns).max().unwrap_or(0);
    latest.max(0) / 1_000_000_000 * 1_000_000_000
}

/// The live streams, by the time of their next packet (ties in the order
/// they were scheduled, so the output is deterministic).
#[derive(Default)]
struct Scheduler<'a> {
    streams: Vec<Option<Stream<'a>>>,
    free: Vec<usize>,
    heap: BinaryHeap<Reverse<(i64, u64, usize)>>,
    tick: u64,
}

impl<'a> Scheduler<'a> {
    fn add(&mut self, s: Stream<'a>, ts: i64) {
        let id = match self.free.pop() {
            Some(i) => {
                self.streams[i] = Some(s);
                i
            }
            None => {
                self.streams.push(Some(s));
                self.streams.len() - 1
            }
        };
        self.push(ts, id);
    }

    fn push(&mut self, ts: i64, id: usize) {
        self.tick += 1;
        self.heap.push(Reverse((ts, self.tick, id)));
    }

    fn remove(&mut self, id: usize) {
        if let Some(slot) = self.streams.get_mut(id) {
            *slot = None;
            self.free.push(id);
        }
    }
}

#[derive(Default)]
struct MixedStats {
    rdp_copies: u64,
    rdp_conversations: u64,
    rdp_packets: u64,
    rdp_bytes: u64,
    bulk_conns: u64,
    bulk_packets: u64,
    bulk_bytes: u64,
    last_ts: i64,
}

fn write_mixed(args: &Args, out: &Path, sources: &[Source]) -> Result<(), String> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = out.with_extension("pcap.part");
    let file = File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut w =
        PcapWriter::new(BufWriter::with_capacity(1 << 20, file)).map_err(|e| e.to_string())?;
    let mut rng = Rng(args.seed);
    let block: Vec<u8> = {
        let mut b = Vec::with_capacity((1 << 20) + 2 * MSS);
        while b.len() < (1 << 20) + 2 * MSS {
            b.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        b
    };
    let mut factory = BulkFactory::new(args.seed, args.bulk_rate, args.bulk_conns.max(1));
    let mut alloc = Allocator::default();
    let share = (args.rdp_share / 100.0).clamp(0.0, 1.0);
    let mut stats = MixedStats::default();
    let epoch = mixed_epoch(sources);
    let mut sched = Scheduler::default();
    for i in 0..args.bulk_conns.max(1) {
        let b = factory.make();
        let start = epoch + (factory.pace_ns * i as f64 / args.bulk_conns.max(1) as f64) as i64;
        sched.add(Stream::Bulk(Box::new(b)), start);
        stats.bulk_conns += 1;
    }
    let mut rdp_scheduled = 0u64;
    let mut finishing = false;
    let mut frame = Vec::with_capacity(2048);
    let mut payload = Vec::with_capacity(2048);
    while let Some(Reverse((ts, _, id))) = sched.heap.pop() {
        if !finishing {
            // Start copies until the RDP bytes promised reach the share of
            // the bytes written. A copy's first packet is at `ts`, never
            // before, so the file stays in time order.
            while share > 0.0 && (rdp_scheduled as f64) <= share * w.bytes as f64 {
                let src = &sources[rng.below(sources.len() as u64) as usize];
                let copy = RdpCopy {
                    map: alloc.copy(src),
                    start_ns: ts,
                    next: 0,
                };
                rdp_scheduled += src.file_bytes;
                stats.rdp_copies += 1;
                stats.rdp_conversations += src.conversations_3389;
                if let Some(t) = copy.ts_of(0) {
                    sched.add(Stream::Rdp(copy), t);
                }
            }
            if w.bytes >= args.size {
                finishing = true;
                for s in sched.streams.iter_mut().flatten() {
                    if let Stream::Bulk(b) = s {
                        b.finish_soon();
                    }
                }
            }
        }
        let before = w.bytes;
        let Some(stream) = sched.streams.get_mut(id).and_then(|s| s.as_mut()) else {
            continue;
        };
        let (next, was_bulk) = match stream {
            Stream::Bulk(b) => {
                let d = b.step(&mut frame, &mut payload, &block);
                w.packet(ts, frame.len() as u32, &frame)
                    .map_err(|e| e.to_string())?;
                stats.bulk_packets += 1;
                stats.bulk_bytes += w.bytes - before;
                (d.map(|d| ts + d), true)
            }
            Stream::Rdp(c) => {
                let n = c.step(&mut w, &mut frame).map_err(|e| e.to_string())?;
                stats.rdp_packets += 1;
                stats.rdp_bytes += w.bytes - before;
                (n, false)
            }
        };
        stats.last_ts = stats.last_ts.max(ts);
        match next {
            Some(t) => sched.push(t, id),
            None => {
                sched.remove(id);
                if was_bulk && !finishing {
                    let b = factory.make();
                    let start = ts + factory.rng.range(10_000, 2_000_000) as i64;
                    sched.add(Stream::Bulk(Box::new(b)), start);
                    stats.bulk_conns += 1;
                }
            }
        }
    }
    let bytes = w.bytes;
    let packets = w.packets;
    w.finish().map_err(|e| e.to_string())?;
    fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))?;
    let meta = format!(
        "file={}\nbytes={bytes}\npackets={packets}\nrdp_copies={}\nrdp_tcp_3389_conversations={}\nrdp_packets={}\nrdp_bytes={}\nrdp_share_percent={:.2}\nbulk_connections={}\nbulk_packets={}\nbulk_bytes={}\ncapture_seconds={:.1}\nsources={}\nseed={}\n",
        out.display(),
        stats.rdp_copies,
        stats.rdp_conversations,
        stats.rdp_packets,
        stats.rdp_bytes,
        100.0 * stats.rdp_bytes as f64 / bytes.max(1) as f64,
        stats.bulk_conns,
        stats.bulk_packets,
        stats.bulk_bytes,
        (stats.last_ts - epoch) as f64 / 1e9,
        sources.len(),
        args.seed,
    );
    print!("{meta}");
    let meta_path = PathBuf::from(format!("{}.meta", out.display()));
    fs::write(&meta_path, meta).map_err(|e| format!("{}: {e}", meta_path.display()))?;
    Ok(())
}

// ------------------------------------------------------------------ archive

fn write_archive(args: &Args, dir: &Path, sources: &[Source]) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut alloc = Allocator::default();
    let mut scratch = Vec::with_capacity(2048);
    let mut small: Vec<&Source> = sources
        .iter()
        .filter(|s| s.file_bytes <= args.archive_max_source)
        .collect();
    if small.is_empty() {
        small.extend(sources.iter().min_by_key(|s| s.file_bytes));
    }
    let (mut bytes, mut packets, mut gz, mut convs) = (0u64, 0u64, 0usize, 0u64);
    for i in 0..args.count {
        let src = small[i % small.len()];
        let stem = Path::new(&src.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = stem
            .trim_end_matches(".gz")
            .trim_end_matches(".pcapng")
            .trim_end_matches(".pcap")
            .trim_end_matches(".cap")
            .to_string();
        // One file in `gzip_every`, shifted each round so that every source
        // has compressed and plain copies.
        let compress =
            args.gzip_every > 0 && (i + i / small.len()) % args.gzip_every == args.gzip_every - 1;
        let name = format!("{i:04}-{stem}.pcap{}", if compress { ".gz" } else { "" });
        let path = dir.join(name);
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut copy = RdpCopy {
            map: alloc.copy(src),
            start_ns: src.first_ts_ns,
            next: 0,
        };
        let write = |copy: &mut RdpCopy<'_>, w: &mut dyn Write, scratch: &mut Vec<u8>| {
            let mut pw = PcapWriter::new(w)?;
            while copy.next < copy.map.src.packets.len() {
                copy.step(&mut pw, scratch)?;
            }
            let n = pw.packets;
            pw.finish()?;
            Ok::<u64, io::Error>(n)
        };
        let n = if compress {
            gz += 1;
            let mut enc =
                flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
            let n = write(&mut copy, &mut enc, &mut scratch);
            enc.finish()
                .and_then(|mut w| w.flush())
                .map_err(|e| e.to_string())?;
            n
        } else {
            let mut bw = BufWriter::new(file);
            let n = write(&mut copy, &mut bw, &mut scratch);
            bw.flush().map_err(|e| e.to_string())?;
            n
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
        packets += n;
        convs += src.conversations_3389;
        bytes += fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    let meta = format!(
        "archive={}\nfiles={}\ngzip_files={gz}\npackets={packets}\nrdp_tcp_3389_conversations={convs}\nbytes_on_disk={bytes}\nsources={}\n",
        dir.display(),
        args.count,
        small.len()
    );
    print!("{meta}");
    fs::write(dir.join("ARCHIVE.meta"), meta).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let args = Args::parse();
    if args.out.is_none() && args.archive.is_none() {
        eprintln!("error: nothing to do: give --out FILE and/or --archive DIR");
        std::process::exit(2);
    }
    let sources = match load_sources(&args.rdp_from) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    for s in &sources {
        eprintln!(
            "source {}: {} packets, {} bytes, {} IPv4 + {} IPv6 addresses",
            s.name,
            s.packets.len(),
            s.file_bytes,
            s.v4.len(),
            s.v6.len()
        );
    }
    let result = args
        .out
        .as_deref()
        .map_or(Ok(()), |out| write_mixed(&args, out, &sources))
        .and_then(|()| {
            args.archive
                .as_deref()
                .map_or(Ok(()), |dir| write_archive(&args, dir, &sources))
        });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_ip_checksum(ip: &[u8]) -> bool {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        fold(sum_words(0, &ip[..ihl])) == 0xffff
    }

    /// Sum over the IPv4 pseudo header and the TCP/UDP/ICMP segment.
    fn l4_sum(ip: &[u8]) -> u16 {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(be16(ip, 2).unwrap());
        let l4 = &ip[ihl..total];
        if ip[9] == 1 {
            return fold(sum_words(0, l4));
        }
        let mut ph = [0u8; 12];
        ph[..8].copy_from_slice(&ip[12..20]);
        ph[9] = ip[9];
        ph[10..].copy_from_slice(&(l4.len() as u16).to_be_bytes());
        fold(sum_words(sum_words(0, &ph), l4))
    }

    fn host(ip: [u8; 4]) -> Host {
        Host {
            mac: [2, 0, ip[0], ip[1], ip[2], ip[3]],
            ip,
            ttl: 64,
            id: 7,
        }
    }

    fn tcp_frame(
        from: [u8; 4],
        to: [u8; 4],
        sport: u16,
        dport: u16,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let (a, b) = (host(from), host(to));
        let mut out = Vec::new();
        build_tcp(
            &Seg {
                from: &a,
                to: &b,
                src_mac: a.mac,
                dst_mac: b.mac,
                sport,
                dport,
                seq: 1000,
                ack: 2000,
                flags,
                window: 100,
                options: &[],
                payload,
            },
            &mut out,
        );
        out
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("mbc-test-{}-{name}", std::process::id()))
    }

    fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.packet(EPOCH_NS + i as i64 * 1_000_000, f.len() as u32, f)
                .unwrap();
        }
        fs::write(path, w.finish().unwrap()).unwrap();
    }

    /// A small RDP-like source: client 192.0.2.1:50000 -> server
    /// 192.0.2.2:3389, handshake, a TPKT, and an ICMP error quoting it.
    fn sample_frames() -> Vec<Vec<u8>> {
        let (c, s) = ([192, 0, 2, 1], [192, 0, 2, 2]);
        let tpkt = [3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 0, 0];
        let syn = tcp_frame(c, s, 50000, 3389, SYN, &[]);
        let synack = tcp_frame(s, c, 3389, 50000, SYN | ACK, &[]);
        let data = tcp_frame(c, s, 50000, 3389, PSH | ACK, &tpkt);
        // ICMP port unreachable from a router 192.0.2.254, quoting `data`.
        let quoted = &data[14..14 + 28];
        let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(quoted);
        let c = checksum(&icmp);
        put16(&mut icmp, 2, c);
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, 1, 0, 0, 192, 0, 2, 254, 192, 0, 2, 1,
        ];
        let total = (20 + icmp.len()) as u16;
        put16(&mut ip, 2, total);
        let c = checksum(&ip);
        put16(&mut ip, 10, c);
        let mut f = data[..14].to_vec();
        f.extend_from_slice(&ip);
        f.extend_from_slice(&icmp);
        vec![syn, synack, data, f]
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20M"), Ok(20 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("x").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("5Q").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn built_segments_have_valid_checksums() {
        let f = tcp_frame(
            [10, 1, 2, 3],
            [10, 3, 2, 1],
            1234,
            80,
            PSH | ACK,
            b"hello, odd",
        );
        assert!(valid_ip_checksum(&f[14..]));
        assert_eq!(l4_sum(&f[14..]), 0xffff);
    }

    #[test]
    fn copies_rewrite_consistently_and_keep_checksums_valid() {
        let path = temp_path("src.pcap");
        write_pcap(&path, &sample_frames());
        let src = load_source(&path).unwrap();
        fs::remove_file(&path).ok();
        assert_eq!(src.packets.len(), 4);
        assert_eq!(src.v4.len(), 3);
        assert_eq!(src.conversations_3389, 1);
        assert!(src.server_ports.contains(&3389));
        let mut alloc = Allocator::default();
        let _first = alloc.copy(&src);
        let mut map = alloc.copy(&src);
        let mut out: Vec<Vec<u8>> = Vec::new();
        for p in &src.packets {
            let mut f = p.frame.clone();
            rewrite_ip(&mut f[p.l3.unwrap()..], &mut map, false);
            out.push(f);
        }
        let (syn, synack, data, icmp) =
            (&out[0][14..], &out[1][14..], &out[2][14..], &out[3][14..]);
        for ip in [syn, synack, data, icmp] {
            assert!(valid_ip_checksum(ip));
            assert_eq!(l4_sum(ip), 0xffff);
        }
        // Fresh addresses, the second copy's block.
        assert_eq!(&syn[12..16], &fresh_v4(3));
        assert_eq!(&syn[16..20], &fresh_v4(4));
        assert_eq!(
            (&synack[12..16], &synack[16..20]),
            (&syn[16..20], &syn[12..16])
        );
        // Client port rewritten the same way everywhere, server port kept.
        let cport = be16(syn, 20).unwrap();
        assert_ne!(cport, 50000);
        assert_eq!(be16(syn, 22), Some(3389));
        assert_eq!(be16(synack, 22), Some(cport));
        assert_eq!(be16(data, 20), Some(cport));
        // The quoted header inside the ICMP error follows the same mapping.
        let inner = &icmp[28..];
        assert_eq!(&inner[12..20], &data[12..20]);
        assert_eq!(be16(inner, 20), Some(cport));
        assert!(valid_ip_checksum(inner));
        // The router's address is fresh too, and differs from the others.
        assert_eq!(&icmp[12..16], &fresh_v4(5));
    }

    #[test]
    fn a_wrong_checksum_stays_wrong_by_the_same_amount() {
        let mut f = tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 40000, 3389, ACK, b"abc");
        let c = be16(&f, 14 + 20 + 16).unwrap();
        put16(&mut f, 14 + 20 + 16, c.wrapping_add(5));
        let before = l4_sum(&f[14..]);
        assert_ne!(before, 0xffff);
        struct Shift;
        impl Mapper for Shift {
            fn v4(&mut self, a: [u8; 4]) -> [u8; 4] {
                [a[0], a[1], a[2].wrapping_add(9), a[3]]
            }
            fn v6(&mut self, a: [u8; 16]) -> [u8; 16] {
                a
            }
            fn port(&mut self, p: u16) -> u16 {
                p ^ 0x0101
            }
        }
        rewrite_ip(&mut f[14..], &mut Shift, false);
        assert_eq!(l4_sum(&f[14..]), before);
        assert!(valid_ip_checksum(&f[14..]));
    }

    #[test]
    fn pcap_round_trip_and_every_truncation() {
        let frames = sample_frames();
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.packet(EPOCH_NS + i as i64 * 1_500, f.len() as u32 + 4, f)
                .unwrap();
        }
        let bytes = w.finish().unwrap();
        let back = parse_pcap(&bytes).unwrap();
        assert_eq!(back.len(), frames.len());
        assert_eq!(back[1].ts_ns, EPOCH_NS + 1_000); // microsecond file
        assert_eq!(back[2].data, frames[2]);
        assert_eq!(back[2].orig_len, frames[2].len() as u32 + 4);
        for n in 0..bytes.len() {
            if let Ok(p) = parse_pcap(&bytes[..n]) {
                assert!(p.len() <= frames.len());
            }
        }
    }

    #[test]
    fn pcapng_reading_and_every_truncation() {
        let frame = &sample_frames()[2];
        let mut b = Vec::new();
        let block = |b: &mut Vec<u8>, ty: u32, body: &[u8]| {
            let len = (12 + body.len().div_ceil(4) * 4) as u32;
            b.extend_from_slice(&ty.to_le_bytes());
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(body);
            b.resize(b.len() + (4 - body.len() % 4) % 4, 0);
            b.extend_from_slice(&len.to_le_bytes());
        };
        block(
            &mut b,
            0x0A0D_0D0A,
            &[
                0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        );
        // Ethernet, nanosecond resolution (if_tsresol = 9).
        block(
            &mut b,
            1,
            &[1, 0, 0, 0, 0, 0, 4, 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0],
        );
        let ts: u64 = 1_700_000_000_123_456_789;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(frame);
        block(&mut b, 6, &epb);
        let p = parse_pcapng(&b).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].ts_ns, ts as i64);
        assert_eq!(&p[0].data, frame);
        for n in 0..b.len() {
            if let Ok(p) = parse_pcapng(&b[..n]) {
                assert!(p.len() <= 1);
            }
        }
    }

    #[test]
    fn link_layers_become_ethernet_and_truncations_do_not_panic() {
        let eth = &sample_frames()[0];
        let ip = &eth[14..];
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        for (link, data) in [(1, eth.clone()), (113, sll), (0, null), (101, ip.to_vec())] {
            let (f, l3) = to_ethernet(link, &data).unwrap();
            assert_eq!(&f[l3.unwrap()..], ip, "link {link}");
            for n in 0..data.len() {
                let _ = to_ethernet(link, &data[..n]);
            }
        }
        // Every truncation of a packet goes through the rewriter unharmed.
        let frames = sample_frames();
        let mut m = Collector::default();
        for f in &frames {
            for n in 0..f.len() {
                let mut cut = f[14..n.max(14)].to_vec();
                rewrite_ip(&mut cut, &mut m, false);
            }
        }
    }

    /// Runs one bulk connection to its end and checks the TCP stream.
    #[test]
    fn bulk_connections_are_consistent_tcp() {
        let mut factory = BulkFactory::new(42, 20 << 20, 8);
        let block: Vec<u8> = (0..(1 << 20) + 2 * MSS)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for _ in 0..40 {
            let mut b = factory.make();
            let total = b.total;
            let (cport, sport, upload) = (b.cport, b.sport, b.upload);
            let (mut frame, mut payload) = (Vec::new(), Vec::new());
            let mut next_seq: HashMap<u16, u32> = HashMap::new();
            let (mut bulk, mut packets, mut fins) = (0u64, 0, 0);
            let mut stream = Vec::new();
            loop {
                let d = b.step(&mut frame, &mut payload, &block);
                packets += 1;
                let ip = &frame[14..];
                assert!(valid_ip_checksum(ip));
                assert_eq!(l4_sum(ip), 0xffff);
                let from = be16(ip, 20).unwrap();
                let seq = u32::from_be_bytes(ip[24..28].try_into().unwrap());
                let flags = ip[33];
                let len = ip.len() - 20 - usize::from(ip[32] >> 4) * 4;
                if flags & SYN == 0 {
                    assert_eq!(next_seq.get(&from), Some(&seq), "seq of {from}");
                }
                let consumed = len as u32 + u32::from(flags & (SYN | FIN) != 0);
                next_seq.insert(from, seq.wrapping_add(consumed));
                assert!(len <= MSS);
                let sender = if upload { cport } else { sport };
                if from == sender && flags & (SYN | FIN | RST) == 0 {
                    bulk += len as u64;
                    stream.extend_from_slice(&ip[ip.len() - len..]);
                }
                fins += u32::from(flags & FIN != 0);
                if d.is_none() {
                    break;
                }
                assert!(packets < 1_000_000);
            }
            assert!(fins == 2 || b.rst);
            // The request and the bulk stream (plus the request itself for
            // an upload, which the client sends first).
            let expected = if upload {
                total + b.request.len() as u64
            } else {
                total
            };
            assert_eq!(bulk, expected);
            if sport == 443 {
                // Server hello and CCS, then 16401-byte records back to back.
                let rest = &stream[b.header.len()..];
                for rec in rest.chunks(5 + 0x4011) {
                    assert_eq!(&rec[..5], &[0x17, 0x03, 0x03, 0x40, 0x11]);
                }
            }
        }
    }

    #[test]
    fn mixed_output_is_deterministic_ordered_and_shared() {
        let src_path = temp_path("mix-src.pcap");
        write_pcap(&src_path, &sample_frames());
        let sources = load_sources(std::slice::from_ref(&src_path)).unwrap();
        fs::remove_file(&src_path).ok();
        let args = Args::parse_from([
            "x",
            "--size",
            "2M",
            "--rdp-from",
            "unused",
            "--rdp-share",
            "5",
        ]);
        let mut outs = Vec::new();
        for i in 0..2 {
            let out = temp_path(&format!("mix-{i}.pcap"));
            write_mixed(&args, &out, &sources).unwrap();
            outs.push(fs::read(&out).unwrap());
            let meta = fs::read_to_string(format!("{}.meta", out.display())).unwrap();
            assert!(meta.contains("rdp_copies="));
            fs::remove_file(&out).ok();
            fs::remove_file(format!("{}.meta", out.display())).ok();
        }
        assert_eq!(outs[0], outs[1]);
        assert!(outs[0].len() as u64 >= 2 << 20);
        let packets = parse_pcap(&outs[0]).unwrap();
        assert!(packets.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        let rdp: u64 = packets
            .iter()
            .filter(|p| tcp_3389_pair(&p.data, 14).is_some() || p.data.get(14 + 9) == Some(&1))
            .map(|p| 16 + p.data.len() as u64)
            .sum();
        let share = rdp as f64 / outs[0].len() as f64;
        assert!((0.03..0.08).contains(&share), "share {share}");
    }
}
