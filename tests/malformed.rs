//! Malformed captures, generated from good ones: every truncation point,
//! byte flips (fixed seed), oversized length fields, zero and giant snap
//! lengths, pcapng interface ids that point nowhere, timestamps going
//! backwards, and one packet repeated 100,000 times.
//!
//! For each: no panic, bounded time, bounded memory (the flow stage stays
//! under its caps), a message naming the file and the frame or byte
//! offset, and the connections that ended before the damage keep the
//! verdict they have in the undamaged capture.
//!
//! The base captures are built here (a small RDP capture of three
//! connections, as pcap and pcapng), plus the small captures of
//! `testdata/captures/` and of the shared corpus (`../shared/corpus/`)
//! when present; the tests say so when they are absent.

use rdptriage::analyze::{analyze_reader, FileResult, Options};
use rdptriage::capture::{read_capture, WarningKind};
use rdptriage::cli::error_message;
use rdptriage::common::KeepLimit;
use rdptriage::diagnose::Outcome;
use rdptriage::flow::{Connection, FlowConfig, FlowTable};
use rdptriage::packet::{Sliced, Slicer, SlicerConfig};
use rdptriage::proto;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Building captures.

/// One packet of a capture to build.
#[derive(Clone, Debug)]
struct Rec {
    ts_us: i64,
    data: Vec<u8>,
    /// pcapng interface id.
    iface: u32,
}

const LE_USEC: u32 = 0xa1b2_c3d4;

fn pcap_header(snaplen: u32, link: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&LE_USEC.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&0i32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&link.to_le_bytes());
    v
}

fn pcap_record(ts_us: i64, caplen: u32, orig_len: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    v.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    v.extend_from_slice(&caplen.to_le_bytes());
    v.extend_from_slice(&orig_len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// A little-endian microsecond pcap of Ethernet frames, and the byte
/// offset where each record starts (plus the file's end).
fn pcap(snaplen: u32, recs: &[Rec]) -> (Vec<u8>, Vec<usize>) {
    let mut v = pcap_header(snaplen, 1);
    let mut at = Vec::new();
    for r in recs {
        at.push(v.len());
        let n = r.data.len() as u32;
        v.extend(pcap_record(r.ts_us, n, n, &r.data));
    }
    at.push(v.len());
    (v, at)
}

fn block(ty: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut v = Vec::new();
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(body);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(&len.to_le_bytes());
    v
}

fn shb() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    block(0x0a0d_0d0a, &b)
}

fn idb(link: u16, snaplen: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&link.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&snaplen.to_le_bytes());
    block(1, &b)
}

fn epb(r: &Rec) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&r.iface.to_le_bytes());
    b.extend_from_slice(&((r.ts_us as u64 >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(r.ts_us as u32).to_le_bytes());
    b.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
    b.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
    b.extend_from_slice(&r.data);
    block(6, &b)
}

/// A pcapng (one section, `ifaces` Ethernet interfaces) and the offset of
/// each Enhanced Packet Block (plus the file's end).
fn pcapng(ifaces: usize, snaplen: u32, recs: &[Rec]) -> (Vec<u8>, Vec<usize>) {
    let mut v = shb();
    for _ in 0..ifaces {
        v.extend(idb(1, snaplen));
    }
    let mut at = Vec::new();
    for r in recs {
        at.push(v.len());
        v.extend(epb(r));
    }
    at.push(v.len());
    (v, at)
}

const CLIENT: [u8; 4] = [10, 0, 0, 2];
const SERVER: [u8; 4] = [10, 0, 0, 1];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN_ACK: u8 = 0x11;
const RST_ACK: u8 = 0x14;
const SYN_ACK: u8 = 0x12;
const PSH_ACK: u8 = 0x18;

/// An Ethernet / IPv4 / TCP frame.
fn tcp(to_server: bool, cport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if to_server {
        (CLIENT, SERVER, cport, 3389)
    } else {
        (SERVER, CLIENT, 3389, cport)
    };
    let mut f = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00];
    let total = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0]);
    f.extend_from_slice(&[if to_server { 128 } else { 64 }, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// [MS-RDPBCGR] 2.2.1.1 X.224 Connection Request with a cookie and an
/// RDP_NEG_REQ asking for SSL | HYBRID.
fn connection_request() -> Vec<u8> {
    let cookie = b"Cookie: mstshash=alice\r\n";
    let mut x = vec![0xe0, 0, 0, 0, 0, 0];
    x.extend_from_slice(cookie);
    x.extend_from_slice(&[0x01, 0x00, 0x08, 0x00, 0x03, 0, 0, 0]);
    let mut t = vec![3, 0, 0, 0, x.len() as u8];
    t.extend(x);
    let n = t.len() as u16;
    t[2..4].copy_from_slice(&n.to_be_bytes());
    t
}

/// [MS-RDPBCGR] 2.2.1.2.2 Connection Confirm with RDP_NEG_FAILURE
/// HYBRID_REQUIRED_BY_SERVER (5).
fn connection_confirm_failure() -> Vec<u8> {
    vec![
        3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 0x03, 0x00, 0x08, 0x00, 0x05, 0, 0, 0,
    ]
}

/// Three connections to 3389: stream 0 is refused by the security layer
/// (RDP_NEG_FAILURE, then FIN both ways), stream 1 is refused (RST), and
/// stream 2 is a SYN retried without answer.
fn rdp_records() -> Vec<Rec> {
    let cr = connection_request();
    let cc = connection_confirm_failure();
    let (c, s) = (1000u32, 5000u32);
    let ncr = cr.len() as u32;
    let ncc = cc.len() as u32;
    let t0 = 1_700_000_000_000_000i64;
    let pkts: Vec<(i64, Vec<u8>)> = vec![
        (0, tcp(true, 50000, c, 0, SYN, &[])),
        (1_000, tcp(false, 50000, s, c + 1, SYN_ACK, &[])),
        (2_000, tcp(true, 50000, c + 1, s + 1, ACK, &[])),
        (3_000, tcp(true, 50000, c + 1, s + 1, PSH_ACK, &cr)),
        (5_000, tcp(false, 50000, s + 1, c + 1 + ncr, PSH_ACK, &cc)),
        (
            6_000,
            tcp(false, 50000, s + 1 + ncc, c + 1 + ncr, FIN_ACK, &[]),
        ),
        (
            7_000,
            tcp(true, 50000, c + 1 + ncr, s + 2 + ncc, FIN_ACK, &[]),
        ),
        (8_000, tcp(false, 50000, s + 2 + ncc, c + 2 + ncr, ACK, &[])),
        (1_000_000, tcp(true, 50001, 7000, 0, SYN, &[])),
        (1_001_000, tcp(false, 50001, 0, 7001, RST_ACK, &[])),
        (2_000_000, tcp(true, 50002, 9000, 0, SYN, &[])),
        (5_000_000, tcp(true, 50002, 9000, 0, SYN, &[])),
    ];
    pkts.into_iter()
        .map(|(dt, data)| Rec {
            ts_us: t0 + dt,
            data,
            iface: 0,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Running and checking.

fn analyze(name: &str, bytes: &[u8]) -> FileResult {
    analyze_reader(name, bytes, &Options::default())
}

/// What must not change for a connection that ended before the damage.
fn verdict(r: &FileResult, stream: u64) -> Option<String> {
    let c = r.connections.iter().find(|c| c.timeline.stream == stream)?;
    let d = &c.diagnosis;
    Some(format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        d.outcome,
        d.failed_step,
        d.last_step,
        d.ending,
        d.cause.as_ref().map(|c| format!("{c:?}")),
        d.ending_frame
    ))
}

/// Connections of `full` whose frames all come before frame `frames + 1`,
/// and which were closed (FIN or RST): their verdict cannot depend on
/// what follows.
fn ended_before(full: &FileResult, frames: u64) -> Vec<u64> {
    full.connections
        .iter()
        .filter(|c| c.timeline.last_frame <= frames)
        .filter(|c| {
            use rdptriage::diagnose::Ending;
            !matches!(
                c.diagnosis.ending,
                Ending::CaptureEnded | Ending::Timeout { .. }
            )
        })
        .map(|c| c.timeline.stream)
        .collect()
}

/// Caps used by [`flow_within_caps`]: small, so a hostile capture reaches them.
fn small_caps() -> FlowConfig {
    FlowConfig {
        first_payload: Some(proto::session::looks_like_rdp_request),
        depth_cap: 8 << 10,
        max_events: 256,
        max_live: 64,
        ..FlowConfig::default()
    }
}

/// Run capture -> packet -> flow with small caps and check that no bound
/// is exceeded at any point. Returns the connections handed out.
fn flow_within_caps(bytes: &[u8]) -> Vec<Connection> {
    let cfg = small_caps();
    let scfg = SlicerConfig {
        max_fragment_datagrams: 16,
        max_fragment_bytes: 64 << 10,
    };
    let mut slicer = Slicer::new(scfg);
    let mut flows = FlowTable::new(cfg.clone());
    let mut out = Vec::new();
    let _ = read_capture(bytes, |f| {
        if let Sliced::Packet(p) = slicer.slice(f) {
            flows.on_packet(f.number, f.ts, f.orig_len, &p);
        }
        assert!(slicer.fragments_pending() <= scfg.max_fragment_datagrams);
        assert!(
            flows.live() <= cfg.max_live,
            "live connections past max_live"
        );
        flows.drain_finished(&mut out);
    });
    let (rest, _) = flows.finish();
    out.extend(rest);
    for c in &out {
        for h in &c.half {
            assert!(h.data.len() <= cfg.depth_cap, "reassembled past depth_cap");
        }
        // The EventsTruncated marker comes on top of `max_events`.
        assert!(
            c.events.len() <= cfg.max_events + 1,
            "events past max_events"
        );
    }
    out
}

/// A damaged file's message names the file and the byte offset (and the
/// frame when a packet record is concerned).
fn check_message(r: &FileResult, want_frame: Option<u64>) {
    let Ok(s) = &r.read else {
        // Not readable at all: the message still names the file.
        let m = error_message(r).expect("an unreadable file has a message");
        assert!(m.contains(&r.path), "{m}");
        return;
    };
    let Some(w) = &s.incomplete else {
        return;
    };
    let m = error_message(r).expect("an incomplete file has a message");
    assert!(m.contains(&r.path), "no file name in {m:?}");
    assert!(
        m.contains(&format!("byte offset {}", w.offset)),
        "no offset in {m:?}"
    );
    if let Some(f) = want_frame {
        assert_eq!(w.frame, Some(f), "{m}");
        assert!(m.contains(&format!("frame {f}")), "no frame in {m:?}");
    }
}

fn timed<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let t0 = Instant::now();
    let v = f();
    let took = t0.elapsed();
    assert!(took < limit, "{what} took {took:?} (limit {limit:?})");
    v
}

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `analyze(name, bytes)` within `limit`, its peak resident memory
/// growing by less than 256 MiB (checked where /proc tells it).
fn analyze_bounded(what: &str, limit: Duration, name: &str, bytes: &[u8]) -> FileResult {
    let rss0 = peak_rss_kib();
    let r = timed(what, limit, || analyze(name, bytes));
    if let (Some(a), Some(b)) = (rss0, peak_rss_kib()) {
        assert!(
            b.saturating_sub(a) < 256 << 10,
            "{what}: peak RSS grew {} KiB",
            b - a
        );
    }
    r
}

/// Small real captures: the lab's (`testdata/captures/`, at most
/// `lab_max` bytes) and the shared corpus's (at most `max` bytes). Says
/// which folders are absent.
fn small_real_captures(lab_max: u64, max: u64) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = ["../shared/corpus", "../../shared/corpus"]
        .iter()
        .map(|c| root.join(c))
        .find(|d| d.join("MANIFEST.tsv").is_file());
    let mut dirs = vec![root.join("testdata/captures")];
    match corpus {
        Some(c) => dirs.push(c),
        None => println!("../shared/corpus absent: corpus captures not used"),
    }
    let mut out = Vec::new();
    for (i, d) in dirs.into_iter().enumerate() {
        if !d.is_dir() {
            println!("{} absent: its captures not used", d.display());
            continue;
        }
        let max = if i == 0 { lab_max } else { max };
        let mut stack = vec![d];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| ["pcap", "pcapng", "gz", "zst", "ntar"].contains(&e))
                    && e.metadata().is_ok_and(|m| m.len() <= max)
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Deterministic xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------
// The tests.

/// The base capture itself: the verdicts the damaged copies are held to.
#[test]
fn base_capture_verdicts() {
    let (bytes, _) = pcap(65535, &rdp_records());
    let r = analyze("base.pcap", &bytes);
    assert!(r.complete());
    assert_eq!(r.connections.len(), 3, "{:#?}", r.connections);
    let out: Vec<Outcome> = r.connections.iter().map(|c| c.diagnosis.outcome).collect();
    assert!(out.iter().all(|o| *o == Outcome::Failed), "{out:?}");
    for s in 0..3 {
        println!("stream {s}: {}", verdict(&r, s).unwrap_or_default());
    }
    assert_eq!(ended_before(&r, 12), vec![0, 1]);
    let (ng, _) = pcapng(1, 0, &rdp_records());
    let rn = analyze("base.pcapng", &ng);
    for s in 0..3 {
        assert_eq!(verdict(&r, s), verdict(&rn, s));
    }
}

/// Cut the capture at every byte: frames before the cut are delivered,
/// the cut is reported at the record where it falls, and connections that
/// ended before it keep their verdict.
/// `header`: bytes of a record's header the reader needs before it can
/// tell a packet record (pcap: 0, every record is one; pcapng: the 12-byte
/// block header), so before that the cut names no frame.
fn every_truncation(name: &str, bytes: &[u8], starts: &[usize], header: usize) {
    let full = analyze(name, bytes);
    assert!(full.complete(), "{name}: the base capture is complete");
    for cut in 0..bytes.len() {
        let r = timed(name, Duration::from_secs(5), || {
            analyze(name, &bytes[..cut])
        });
        // Whole records before the cut.
        let whole = starts.iter().skip(1).filter(|&&e| e <= cut).count() as u64;
        let at_boundary = starts.contains(&cut);
        match &r.read {
            Ok(s) => {
                assert!(
                    s.packets >= whole,
                    "{name} cut {cut}: {} < {whole}",
                    s.packets
                );
                if cut >= starts[0] {
                    assert_eq!(
                        s.incomplete.is_none(),
                        at_boundary,
                        "{name} cut {cut}: {:?}",
                        s.incomplete
                    );
                }
                if let Some(w) = &s.incomplete {
                    assert!(
                        w.offset <= cut as u64,
                        "{name} cut {cut}: offset {}",
                        w.offset
                    );
                    if cut > starts[0] {
                        assert_eq!(w.kind, WarningKind::Truncated, "{name} cut {cut}");
                        assert_eq!(w.offset, starts[whole as usize] as u64, "{name} cut {cut}");
                    }
                }
                let into = cut.saturating_sub(starts[(whole as usize).min(starts.len() - 1)]);
                let named = cut > starts[0] && !at_boundary && into >= header;
                check_message(&r, named.then_some(whole + 1));
            }
            Err(_) => {
                assert!(cut < starts[0], "{name} cut {cut}: not read at all");
                check_message(&r, None);
            }
        }
        for st in ended_before(&full, whole) {
            assert_eq!(
                verdict(&r, st),
                verdict(&full, st),
                "{name} cut {cut}: stream {st} changed"
            );
        }
    }
}

#[test]
fn every_truncation_of_a_small_pcap() {
    let (bytes, starts) = pcap(65535, &rdp_records());
    every_truncation("small.pcap", &bytes, &starts, 0);
}

#[test]
fn every_truncation_of_a_small_pcapng() {
    let (bytes, starts) = pcapng(1, 0, &rdp_records());
    every_truncation("small.pcapng", &bytes, &starts, 12);
}

/// Every cut of small real captures: no panic, bounded time, a message
/// with the offset, caps held.
#[test]
fn every_truncation_of_small_real_captures() {
    let files = small_real_captures(64 << 10, 8 << 10);
    let t0 = Instant::now();
    for p in &files {
        let bytes = std::fs::read(p).expect("capture");
        let name = p.display().to_string();
        let compressed = bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(&[0x28, 0xb5]);
        let full = analyze(&name, &bytes);
        // Every cut of a file up to 8 KiB; 400 evenly spread cuts of a
        // bigger one (the debug build reads it whole 400 times).
        let step = if bytes.len() <= 8 << 10 {
            1
        } else {
            bytes.len() / 400
        };
        for cut in (0..bytes.len()).step_by(step) {
            let r = timed(&name, Duration::from_secs(5), || {
                analyze(&name, &bytes[..cut])
            });
            check_message(&r, None);
            if let (Ok(s), Ok(fs)) = (&r.read, &full.read) {
                if !compressed {
                    assert!(s.packets <= fs.packets, "{name} cut {cut}");
                }
                if let Some(w) = &s.incomplete {
                    assert!(w.offset <= cut as u64 || compressed, "{name} cut {cut}");
                }
                let delivered = if s.incomplete.is_some() {
                    s.packets.saturating_sub(1)
                } else {
                    s.packets
                };
                if fs.incomplete.is_none() {
                    for st in ended_before(&full, delivered) {
                        assert_eq!(verdict(&r, st), verdict(&full, st), "{name} cut {cut}");
                    }
                }
            }
        }
    }
    println!(
        "{} small real captures, every cut, in {:?}",
        files.len(),
        t0.elapsed()
    );
}

/// Random byte flips (fixed seed) in the base captures and small real
/// ones: no panic, bounded time, caps held, damage reported with its place.
#[test]
fn random_byte_flips() {
    let mut bases: Vec<(String, Vec<u8>)> = vec![
        ("flips.pcap".into(), pcap(65535, &rdp_records()).0),
        ("flips.pcapng".into(), pcapng(1, 0, &rdp_records()).0),
    ];
    for p in small_real_captures(16 << 10, 4 << 10) {
        if let Ok(b) = std::fs::read(&p) {
            bases.push((p.display().to_string(), b));
        }
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let t0 = Instant::now();
    let rounds = 3000 / bases.len().max(1);
    for (name, base) in &bases {
        for _ in 0..rounds {
            let mut b = base.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            let r = timed(name, Duration::from_secs(5), || analyze(name, &b));
            check_message(&r, None);
            flow_within_caps(&b);
        }
    }
    println!(
        "{} bases x {rounds} flipped copies in {:?}",
        bases.len(),
        t0.elapsed()
    );
}

/// A record claiming 0xFFFFFFF0 captured bytes (frame 11): reading stops
/// there without allocating it, names frame and offset, and the first two
/// connections keep their verdict.
#[test]
fn oversized_pcap_record_length() {
    let recs = rdp_records();
    let (good, starts) = pcap(65535, &recs);
    let full = analyze("good.pcap", &good);
    let mut bad = good[..starts[10]].to_vec();
    bad.extend(pcap_record(recs[10].ts_us, 0xffff_fff0, 60, &recs[10].data));
    bad.extend_from_slice(&good[starts[11]..]);
    let r = analyze_bounded("oversized", Duration::from_secs(2), "oversized.pcap", &bad);
    let s = r.read.as_ref().expect("read up to the damage");
    let w = s.incomplete.as_ref().expect("reported");
    assert_eq!(
        (w.kind.clone(), w.offset, w.frame),
        (WarningKind::Corrupt, starts[10] as u64, Some(11))
    );
    check_message(&r, Some(11));
    for st in [0, 1] {
        assert_eq!(verdict(&r, st), verdict(&full, st));
    }
}

/// A pcapng block whose length is huge (0xFFFFFFF0), and one whose length
/// is not a multiple of 4 or smaller than a block can be.
#[test]
fn oversized_pcapng_block_length() {
    let recs = rdp_records();
    let (good, starts) = pcapng(1, 0, &recs);
    let full = analyze("good.pcapng", &good);
    for len in [0xffff_fff0u32, 0x7fff_fffc, 13, 8] {
        let mut bad = good.clone();
        bad[starts[10] + 4..starts[10] + 8].copy_from_slice(&len.to_le_bytes());
        let r = analyze_bounded(
            "huge block",
            Duration::from_secs(2),
            "huge-block.pcapng",
            &bad,
        );
        let s = r.read.as_ref().expect("read up to the damage");
        let w = s.incomplete.as_ref().expect("reported");
        assert_eq!(w.offset, starts[10] as u64, "block length {len:#x}: {w:?}");
        assert!(s.packets >= 10, "block length {len:#x}");
        check_message(&r, None);
        for st in [0, 1] {
            assert_eq!(verdict(&r, st), verdict(&full, st), "block length {len:#x}");
        }
    }
    // An EPB whose captured length exceeds its block.
    let mut bad = good.clone();
    let at = starts[10] + 8 + 12;
    bad[at..at + 4].copy_from_slice(&0x0010_0000u32.to_le_bytes());
    let r = analyze("caplen-past-block.pcapng", &bad);
    let s = r.read.as_ref().expect("read up to the damage");
    assert!(!s.warnings.is_empty() || s.incomplete.is_some());
    for st in [0, 1] {
        assert_eq!(verdict(&r, st), verdict(&full, st));
    }
}

/// Snap length 0 (no limit declared), 1 (every record longer) and
/// 0xFFFFFFFF in the pcap header and in the pcapng interface: the packets
/// are still read whole and the verdicts do not change; a smaller snap
/// length than the records is warned about per frame.
#[test]
fn zero_and_giant_snap_lengths() {
    let recs = rdp_records();
    let full = analyze("good.pcap", &pcap(65535, &recs).0);
    for snap in [0u32, 1, 0xffff_ffff] {
        for (name, bytes) in [
            (format!("snap-{snap}.pcap"), pcap(snap, &recs).0),
            (format!("snap-{snap}.pcapng"), pcapng(1, snap, &recs).0),
        ] {
            let r = analyze(&name, &bytes);
            let s = r.read.as_ref().expect("readable");
            assert!(s.incomplete.is_none(), "{name}: {:?}", s.incomplete);
            assert_eq!(s.packets, recs.len() as u64, "{name}");
            for w in &s.warnings {
                assert!(w.frame.is_some(), "{name}: warning without frame {w:?}");
            }
            if snap == 1 && name.ends_with(".pcap") {
                // Every record is longer than the declared snap length.
                assert!(s.warnings_total >= recs.len() as u64, "{name}");
            } else {
                for st in 0..3 {
                    assert_eq!(verdict(&r, st), verdict(&full, st), "{name} stream {st}");
                }
            }
            flow_within_caps(&bytes);
        }
    }
    // Zero-length records: delivered, counted as malformed, nothing else.
    let mut v = pcap_header(65535, 1);
    for i in 0..50 {
        v.extend(pcap_record(i, 0, 60, &[]));
    }
    let r = analyze("zero-length.pcap", &v);
    let s = r.read.as_ref().expect("readable");
    assert_eq!((s.packets, r.connections.len()), (50, 0));
    assert_eq!(
        r.skipped.malformed + r.skipped.not_ip,
        50,
        "{:?}",
        r.skipped
    );
}

/// pcapng packets naming interfaces that were never described: counted
/// as frames, warned about with their frame number, not analysed; the
/// rest is.
#[test]
fn pcapng_interface_ids_pointing_nowhere() {
    let mut recs = rdp_records();
    let full = analyze("good.pcapng", &pcapng(1, 0, &recs).0);
    for (i, r) in recs.iter_mut().enumerate().skip(8) {
        r.iface = if i % 2 == 0 { 1 } else { 0xffff_ffff };
    }
    let (bytes, starts) = pcapng(1, 0, &recs);
    let r = analyze("nowhere.pcapng", &bytes);
    let s = r.read.as_ref().expect("readable");
    assert!(s.incomplete.is_none());
    assert_eq!(s.packets, 12);
    let unknown: Vec<(Option<u64>, u64)> = s
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, WarningKind::UnknownInterface(_)))
        .map(|w| (w.frame, w.offset))
        .collect();
    let want: Vec<(Option<u64>, u64)> = (9..=12)
        .map(|f| (Some(f), starts[f as usize - 1] as u64))
        .collect();
    assert_eq!(unknown, want);
    assert_eq!(
        r.connections.len(),
        1,
        "only stream 0's frames were analysed"
    );
    assert_eq!(verdict(&r, 0), verdict(&full, 0));
    flow_within_caps(&bytes);
}

/// Timestamps going backwards (by a second, and by 54 years): warned
/// about with frame and offset; nothing panics and the connection whose
/// frames are in order keeps its verdict.
#[test]
fn timestamps_going_backwards() {
    let base = rdp_records();
    let full = analyze("good.pcap", &pcap(65535, &base).0);
    // By a second, and back to the first seconds of 1970 (neither format
    // stores earlier times).
    for back in [1_000_000i64, 1_700_000_000_000_000 - 10_000_000] {
        let mut recs = base.clone();
        for r in recs.iter_mut().skip(9) {
            r.ts_us -= back;
        }
        for (name, (bytes, starts)) in [
            ("backwards.pcap", pcap(65535, &recs)),
            ("backwards.pcapng", pcapng(1, 0, &recs)),
        ] {
            let r = analyze(name, &bytes);
            let s = r.read.as_ref().expect("readable");
            let w = s
                .warnings
                .iter()
                .find(|w| w.kind == WarningKind::TimeWentBackwards)
                .unwrap_or_else(|| panic!("{name}: no warning in {:?}", s.warnings));
            assert_eq!((w.frame, w.offset), (Some(10), starts[9] as u64), "{name}");
            assert_eq!(verdict(&r, 0), verdict(&full, 0), "{name}");
            assert_eq!(r.connections.len(), 3, "{name}");
            flow_within_caps(&bytes);
        }
    }
}

/// The same packet 100,000 times (a data segment of an established
/// connection, so each copy is a retransmission): bounded time, the
/// events past the bound counted, memory under the caps.
#[test]
fn one_packet_repeated_100000_times() {
    let recs = rdp_records();
    let mut v = pcap_header(65535, 1);
    for r in &recs[..4] {
        v.extend(pcap_record(
            r.ts_us,
            r.data.len() as u32,
            r.data.len() as u32,
            &r.data,
        ));
    }
    let dup = &recs[3];
    for i in 0..100_000i64 {
        let n = dup.data.len() as u32;
        v.extend(pcap_record(dup.ts_us + i, n, n, &dup.data));
    }
    let r = timed("100,000 copies", Duration::from_secs(30), || {
        analyze("loop.pcap", &v)
    });
    let s = r.read.as_ref().expect("readable");
    assert_eq!(s.packets, 100_004);
    assert_eq!(r.connections.len(), 1);
    let tl = &r.connections[0].timeline;
    assert!(tl.events.len() < 10_000, "{} events kept", tl.events.len());
    assert!(
        tl.events_dropped > 0,
        "events past the bound are counted ({} kept)",
        tl.events.len()
    );
    let conns = timed(
        "100,000 copies, small caps",
        Duration::from_secs(30),
        || flow_within_caps(&v),
    );
    assert_eq!(conns.len(), 1);
    assert!(conns[0].events_dropped > 0);
}

/// `n` connections to 3389, each a handshake and two one-byte segments
/// `gap` bytes apart: the bytes between are a hole, kept zero-filled up to
/// the depth cap.
fn sparse_connections(n: u16, gap: u32) -> Vec<u8> {
    let mut v = pcap_header(65535, 1);
    let t0 = 1_700_000_000_000_000i64;
    for i in 0..n {
        let port = 10_000 + i;
        let (c, s) = (1000u32, 5000u32);
        for (k, f) in [
            tcp(true, port, c, 0, SYN, &[]),
            tcp(false, port, s, c + 1, SYN_ACK, &[]),
            tcp(true, port, c + 1, s + 1, ACK, &[]),
            tcp(true, port, c + 1, s + 1, PSH_ACK, b"\x03"),
            tcp(true, port, c + 1 + gap, s + 1, PSH_ACK, b"\x00"),
        ]
        .into_iter()
        .enumerate()
        {
            let n = f.len() as u32;
            v.extend(pcap_record(t0 + i64::from(i) * 10 + k as i64, n, n, &f));
        }
    }
    v
}

/// Reassembly memory stays under the depth cap per direction, whatever
/// the capture claims; how much a small capture can make the flow stage
/// hold is measured and printed.
#[test]
fn sparse_segments_stay_under_the_depth_cap() {
    let bytes = sparse_connections(8, 10 << 20);
    let conns = flow_within_caps(&bytes);
    assert_eq!(conns.len(), 8);
    let cap = small_caps().depth_cap;
    for c in &conns {
        assert_eq!(
            c.half[0].data.len(),
            1,
            "a segment past the cap keeps nothing"
        );
        assert!(c.half[0].limit.is_some());
    }
    // Within the cap: the hole is held zero-filled.
    let bytes = sparse_connections(8, cap as u32 - 2);
    let held: usize = flow_within_caps(&bytes)
        .iter()
        .map(|c| c.half[0].data.len() + c.half[1].data.len())
        .sum();
    assert_eq!(held, 8 * (cap - 1));
    println!(
        "{} capture bytes hold {held} reassembly bytes ({}x)",
        bytes.len(),
        held / bytes.len()
    );
}

/// Memory is bounded in total, not only per connection: 1,000 live
/// connections of five small packets each (a 0.4 MB capture), each with a
/// hole of almost 1 MiB, once made the default flow stage hold 1,000 x
/// 1 MiB of zero-filled holes. Holes are now bounded per direction
/// (MAX_HOLE_BYTES) and all reassembly by FlowConfig::max_buffered.
#[test]
fn total_reassembly_memory_is_bounded() {
    let bytes = sparse_connections(1000, (1 << 20) - 2);
    let cfg = FlowConfig::default();
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(cfg);
    let _ = read_capture(&bytes[..], |f| {
        if let Sliced::Packet(p) = slicer.slice(f) {
            flows.on_packet(f.number, f.ts, f.orig_len, &p);
        }
    });
    let (conns, _) = flows.finish();
    let held: usize = conns.iter().map(|c| c.half[0].data.len()).sum();
    assert!(
        held <= 256 << 20,
        "{} capture bytes made the flow stage hold {held} bytes",
        bytes.len()
    );
}

/// 100,000 one-byte segments of one direction in a shuffled order (fixed
/// seed): holes come and go up to their bound; time stays bounded, the
/// stream is whole in the end or the direction names the limit reached.
#[test]
fn hundred_thousand_segments_shuffled() {
    let n = 100_000u32;
    let mut order: Vec<u32> = (0..n).collect();
    let mut rng = Rng(0xdead_beef_0042);
    for k in (1..order.len()).rev() {
        order.swap(k, rng.below(k + 1));
    }
    let mut v = pcap_header(65535, 1);
    let t0 = 1_700_000_000_000_000i64;
    let (c, s) = (1000u32, 5000u32);
    let mut push = |i: i64, f: Vec<u8>| {
        let n = f.len() as u32;
        v.extend(pcap_record(t0 + i, n, n, &f));
    };
    push(0, tcp(true, 50000, c, 0, SYN, &[]));
    push(1, tcp(false, 50000, s, c + 1, SYN_ACK, &[]));
    push(2, tcp(true, 50000, c + 1, s + 1, ACK, &[]));
    for (i, &o) in order.iter().enumerate() {
        let b = [(o % 251) as u8];
        push(
            3 + i as i64,
            tcp(true, 50000, c + 1 + o, s + 1, PSH_ACK, &b),
        );
    }
    let r = timed("100,000 shuffled segments", Duration::from_secs(30), || {
        analyze("shuffled.pcap", &v)
    });
    assert_eq!(r.connections.len(), 1);
    let conns = timed(
        "100,000 shuffled segments, flow",
        Duration::from_secs(30),
        || flow_within_caps(&v),
    );
    let h = &conns[0].half[0];
    let cap = small_caps().depth_cap;
    assert!(h.data.len() <= cap);
    let whole = h
        .data
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i % 251) as u8);
    assert!(
        whole || h.limit.is_some(),
        "bytes lost without the direction saying which limit"
    );
}

/// An Ethernet / IPv4 first fragment (more fragments, offset 0) of a TCP
/// datagram with IP identification `id`.
fn first_fragment(id: u16) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00];
    let payload = [0u8; 24];
    let total = (20 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8]);
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&[0x20, 0x00, 64, 6, 0, 0]);
    f.extend_from_slice(&CLIENT);
    f.extend_from_slice(&SERVER);
    f.extend_from_slice(&payload);
    f
}

/// Each bound, once reached, shows somewhere the report reads: evicted
/// connections (FlowStats), events past the bound (events_dropped), IP
/// fragments past the pool (SkipCounts), the depth cap (the direction's
/// limit, counted per file, and a Stopped event naming it).
#[test]
fn reached_bounds_are_counted() {
    // max_live: 10 connections open at once in a table of 3.
    let mut v = pcap_header(65535, 1);
    for i in 0..10u16 {
        let f = tcp(true, 20_000 + i, 1, 0, SYN, &[]);
        let n = f.len() as u32;
        v.extend(pcap_record(1_700_000_000_000_000 + i64::from(i), n, n, &f));
    }
    let cfg = FlowConfig {
        max_live: 3,
        ..FlowConfig::default()
    };
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(cfg);
    let mut out = Vec::new();
    let _ = read_capture(&v[..], |f| {
        if let Sliced::Packet(p) = slicer.slice(f) {
            flows.on_packet(f.number, f.ts, f.orig_len, &p);
        }
        assert!(flows.live() <= 3);
        flows.drain_finished(&mut out);
    });
    let (rest, stats) = flows.finish();
    out.extend(rest);
    assert!(stats.evicted >= 7, "{stats:?}");
    assert_eq!(out.len(), 10, "evicted connections are still analysed");

    // Fragment pool: 2,000 first fragments that never complete.
    let mut v = pcap_header(65535, 1);
    for i in 0..2000u16 {
        let f = first_fragment(i);
        let n = f.len() as u32;
        v.extend(pcap_record(1_700_000_000_000_000 + i64::from(i), n, n, &f));
    }
    let r = analyze("fragments.pcap", &v);
    assert_eq!(r.skipped.fragments_held + r.skipped.fragments_dropped, 2000);
    assert!(
        r.skipped.fragments_dropped >= 2000 - 1024,
        "{:?}",
        r.skipped
    );

    // Depth cap: the server selects TLS and the client's first TLS record
    // is bigger than the cap.
    let recs = rdp_records();
    let cr = connection_request();
    let ncr = cr.len() as u32;
    let cc_ssl = vec![
        3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0,
    ];
    let mut rec = vec![0x16, 3, 1, 0x0b, 0xb3];
    rec.extend(vec![0x01; 2995]);
    let mut big = recs[..4].to_vec();
    big.push(Rec {
        data: tcp(false, 50000, 5001, 1001 + ncr, PSH_ACK, &cc_ssl),
        ..recs[4].clone()
    });
    big.push(Rec {
        data: tcp(true, 50000, 1001 + ncr, 5001 + 19, PSH_ACK, &rec),
        ..recs[5].clone()
    });
    let (bytes, _) = pcap(65535, &big);
    let opts = Options {
        depth_cap: 1000,
        ..Options::default()
    };
    let r = analyze_reader("capped.pcap", &bytes[..], &opts);
    let tl = &r.connections[0].timeline;
    assert_eq!(tl.dirs[0].limit, Some(KeepLimit::DepthCap { bytes: 1000 }));
    assert_eq!((r.flow.depth_capped, r.flow.hole_limited), (1, 0));
    let stopped: Vec<proto::StopReason> = tl
        .proto_events()
        .filter_map(|(_, p)| match p {
            proto::ProtoEvent::Stopped { why } => Some(why.clone()),
            _ => None,
        })
        .collect();
    assert!(
        stopped.iter().any(|w| matches!(
            w,
            proto::StopReason::Bound {
                limit: KeepLimit::DepthCap { .. },
                ..
            }
        )),
        "{stopped:?}"
    );
}

/// The TLS decoder's bounds (handshake buffer, events per direction) are
/// reported as anomalies when reached.
#[test]
fn tls_bounds_are_reported() {
    use rdptriage::common::Dir;
    use rdptriage::proto::{tls, Anomaly, ProtoEvent};
    let anomalies = |d: &tls::TlsDirection| -> Vec<Anomaly> {
        d.events
            .iter()
            .filter_map(|e| match &e.event {
                ProtoEvent::Anomaly { what } => Some(what.clone()),
                _ => None,
            })
            .collect()
    };
    // A Certificate message claiming 16 MiB, sent in 16 KiB records.
    let mut v = Vec::new();
    let mut first = vec![11, 0xff, 0xff, 0xff];
    first.extend(vec![0u8; 16_380]);
    for i in 0..20 {
        let body = if i == 0 {
            first.clone()
        } else {
            vec![0u8; 16_384]
        };
        v.extend_from_slice(&[22, 3, 3]);
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend(body);
    }
    let d = timed("16 MiB handshake", Duration::from_secs(5), || {
        tls::decode_direction(Dir::ToClient, &v, 0, false)
    });
    let a = anomalies(&d);
    assert!(
        a.iter().any(|w| matches!(
            w,
            Anomaly::HandshakeTooLarge { .. } | Anomaly::HandshakeClaims { .. }
        )),
        "{a:?}"
    );
    // 3,000 warning alerts.
    let mut v = Vec::new();
    for _ in 0..3000 {
        v.extend_from_slice(&[21, 3, 3, 0, 2, 1, 0]);
    }
    let d = tls::decode_direction(Dir::ToServer, &v, 0, false);
    assert!(d.events.len() <= 1025, "{} events", d.events.len());
    let a = anomalies(&d);
    assert!(
        a.iter().any(|w| matches!(w, Anomaly::TlsEventCap { .. })),
        "{a:?}"
    );
}
