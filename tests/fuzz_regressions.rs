//! Replays every input saved under `testdata/fuzz-regressions/<target>/`
//! through the same harness the fuzz target runs (`fuzz/src/lib.rs`,
//! included here by path), so a crash the fuzzer once found stays fixed
//! under plain `cargo test`. Each folder also holds a few interesting
//! inputs that never crashed, so no test runs on nothing.
//!
//! `write_fuzz_seeds` (ignored) builds the fuzzers' seed corpora from real
//! captures: `RDPTRIAGE_FUZZ_SEEDS=fuzz/corpus cargo test --test
//! fuzz_regressions -- --ignored write_fuzz_seeds`.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An input must replay within this (debug build), else it is a hang.
const PER_INPUT: Duration = Duration::from_secs(20);

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fuzz-regressions")
        .join(target)
}

/// Run `f` on every file of the target's folder; the number of files.
fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = regressions(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for p in &files {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let t0 = Instant::now();
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            panic!("{target}: {} panics", p.display());
        }
        let took = t0.elapsed();
        assert!(took < PER_INPUT, "{target}: {} took {took:?}", p.display());
    }
    assert!(!files.is_empty(), "{target}: no input in {}", dir.display());
    files.len()
}

#[test]
fn capture_read() {
    replay("capture_read", harness::capture_read);
}

#[test]
fn packet_slice() {
    replay("packet_slice", harness::packet_slice);
}

#[test]
fn flow_reassembly() {
    replay("flow_reassembly", harness::flow_reassembly);
}

#[test]
fn x224_mcs() {
    replay("x224_mcs", harness::x224_mcs);
}

#[test]
fn proto_connection() {
    replay("proto_connection", harness::proto_connection);
}

#[test]
fn proto_inner() {
    replay("proto_inner", harness::proto_inner);
}

#[test]
fn tls_direction() {
    replay("tls_direction", harness::tls_direction);
}

#[test]
fn cert_summarize() {
    replay("cert_summarize", harness::cert_summarize);
}

#[test]
fn analyze_file() {
    replay("analyze_file", harness::analyze_file);
}

/// The segment encoding of the flow target reads back what it wrote.
#[test]
fn flow_records_round_trip() {
    let s = harness::SegSpec {
        conn: 2,
        from_server: true,
        ipv6: false,
        icmp: false,
        sack: true,
        flags: 0x18,
        seq: 0xffff_fff0,
        ack: 7,
        window: 0,
        ttl: 128,
        step: 3,
        cut: 9,
        payload: b"\x03\x00\x00\x0b".to_vec(),
    };
    let mut bytes = s.encode();
    bytes.extend(s.encode());
    let (a, rest) = harness::SegSpec::decode(&bytes).expect("first record");
    let (b, rest) = harness::SegSpec::decode(rest).expect("second record");
    assert_eq!((a, b, rest.len()), (s.clone(), s, 0));
    let c = harness::ConnSpec {
        hole: [Some((1, 2)), None],
        capped: [false, true],
        ..harness::ConnSpec::clean(b"abc".to_vec(), b"defg".to_vec())
    };
    assert_eq!(harness::ConnSpec::decode(&c.encode()), Some(c));
}

// ---------------------------------------------------------------------------
// Seed corpora from real captures.

mod seeds {
    use super::harness::{ConnSpec, SegSpec, FRAME_SEPARATOR, LINK_TYPES};
    use rdptriage::capture::read_capture;
    use rdptriage::flow::{FlowConfig, FlowTable};
    use rdptriage::packet::{Sliced, Slicer, SlicerConfig, Transport};
    use rdptriage::proto::{self, tpkt, x224};
    use std::collections::{BTreeMap, BTreeSet};
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};

    pub struct Seeds {
        pub dir: PathBuf,
        pub written: BTreeMap<&'static str, usize>,
        seen: BTreeSet<(&'static str, Vec<u8>)>,
    }

    impl Seeds {
        pub fn new(dir: PathBuf) -> Self {
            Seeds {
                dir,
                written: BTreeMap::new(),
                seen: BTreeSet::new(),
            }
        }

        pub fn put(&mut self, target: &'static str, name: &str, data: Vec<u8>) {
            if data.is_empty() || !self.seen.insert((target, data.clone())) {
                return;
            }
            let d = self.dir.join(target);
            std::fs::create_dir_all(&d).expect("seed folder");
            let n = self.written.entry(target).or_default();
            std::fs::write(d.join(format!("{name}-{n:04}")), data).expect("seed file");
            *n += 1;
        }
    }

    /// Every capture below `dir` (recursively).
    pub fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        for p in v {
            if p.is_dir() {
                captures(&p, out);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["pcap", "pcapng", "gz", "zst", "ntar", "cap"].contains(&e))
            {
                out.push(p);
            }
        }
    }

    /// DER certificates found in a byte stream (SEQUENCE of SEQUENCE with
    /// long lengths, as a TLS Certificate message carries them).
    fn certs_in(d: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 8 <= d.len() {
            if d[i] == 0x30 && d[i + 1] == 0x82 && d[i + 4] == 0x30 && d[i + 5] == 0x82 {
                let len = usize::from(u16::from_be_bytes([d[i + 2], d[i + 3]])) + 4;
                if let Some(c) = d.get(i..i + len) {
                    out.push(c);
                    i += len;
                    continue;
                }
            }
            i += 1;
        }
        out
    }

    /// The TPKT packets at the start of a stream.
    fn tpkts(d: &[u8], max: usize) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut at = 0;
        while out.len() < max {
            let Some(rest) = d.get(at..) else { break };
            match tpkt::find_size(rest) {
                Ok(tpkt::Frame::Tpkt { len }) if len >= 4 && len <= rest.len() => {
                    out.push(&rest[..len]);
                    at += len;
                }
                _ => break,
            }
        }
        out
    }

    pub fn from_capture(s: &mut Seeds, path: &Path) {
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        let name: String = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("capture")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        // Whole files (cut to 64 KiB: the fuzzers' max_len).
        let cut = bytes[..bytes.len().min(1 << 16)].to_vec();
        s.put("capture_read", &name, cut.clone());
        s.put("analyze_file", &name, cut);

        let mut slicer = Slicer::new(SlicerConfig::default());
        let mut flows = FlowTable::new(FlowConfig {
            first_payload: Some(proto::session::looks_like_rdp_request),
            ..FlowConfig::default()
        });
        let mut segs: Vec<u8> = Vec::new();
        let mut nsegs = 0;
        let mut tuples: Vec<(SocketAddr, SocketAddr)> = Vec::new();
        let mut last_ts = None;
        let mut frames_by_link: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        let mut singles = 0;
        let _ = read_capture(&bytes[..], |f| {
            if let Some(i) = LINK_TYPES.iter().position(|l| *l == f.link) {
                // Single frames, and the first frames of each link type
                // joined (fragments need their siblings).
                if singles < 40 {
                    let mut v = vec![i as u8];
                    v.extend_from_slice(f.data);
                    s.put("packet_slice", &name, v);
                    singles += 1;
                }
                let joined = frames_by_link
                    .entry(i as u32)
                    .or_insert_with(|| vec![i as u8]);
                if joined.len() < 16 << 10 {
                    if joined.len() > 1 {
                        joined.extend_from_slice(FRAME_SEPARATOR);
                    }
                    joined.extend_from_slice(f.data);
                }
            }
            let Sliced::Packet(p) = slicer.slice(f) else {
                return;
            };
            flows.on_packet(f.number, f.ts, f.orig_len, &p);
            let Transport::Tcp(t) = p.transport else {
                return;
            };
            if nsegs >= 300 || segs.len() > 60 << 10 {
                return;
            }
            let a = SocketAddr::new(p.ip.src, t.src_port);
            let b = SocketAddr::new(p.ip.dst, t.dst_port);
            let (idx, from_server) = match tuples
                .iter()
                .position(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a))
            {
                Some(i) => (i, tuples[i].0 != a),
                None => {
                    tuples.push((a, b));
                    (tuples.len() - 1, false)
                }
            };
            let step = match last_ts {
                Some(l) if f.ts.0 < l => 255,
                Some(l) => ((f.ts.0 - l) / 50_000_000).min(254) as u8,
                None => 0,
            };
            last_ts = Some(f.ts.0);
            let spec = SegSpec {
                conn: (idx % 4) as u8,
                from_server,
                ipv6: p.ip.src.is_ipv6(),
                icmp: false,
                sack: t.sack,
                flags: t.flags.0 as u8,
                seq: t.seq,
                ack: t.ack,
                window: t.window,
                ttl: p.ip.ttl,
                step,
                cut: t
                    .payload_len
                    .saturating_sub(t.payload.len() as u32)
                    .min(255) as u8,
                payload: t.payload[..t.payload.len().min(1500)].to_vec(),
            };
            segs.extend(spec.encode());
            nsegs += 1;
        });
        for (_, v) in frames_by_link {
            s.put("packet_slice", &name, v);
        }
        s.put("flow_reassembly", &name, segs);

        let (conns, _) = flows.finish();
        for c in conns.iter().take(12) {
            let d = |i: usize| {
                let h = &c.half[i];
                h.data[..h.data.len().min(32 << 10)].to_vec()
            };
            let hole = |i: usize| {
                c.half[i]
                    .gaps
                    .first()
                    .map(|g| (g.offset.min(0xffff) as u16, g.len.min(0xffff) as u16))
            };
            let spec = ConnSpec {
                to_server: d(0),
                to_client: d(1),
                capped: [c.half[0].limit.is_some(), c.half[1].limit.is_some()],
                from_start: [c.half[0].from_start, c.half[1].from_start],
                hole: [hole(0), hole(1)],
            };
            s.put("proto_connection", &name, spec.encode());
            for (i, h) in c.half.iter().enumerate() {
                let data = &h.data;
                // X.224 / MCS: each TPKT packet, and the MCS user data of
                // each Data TPDU.
                for p in tpkts(data, 12) {
                    s.put("x224_mcs", &name, [&[0u8][..], p].concat());
                    if let Ok(t) = x224::decode_tpkt(p) {
                        match t.tpdu {
                            x224::Tpdu::Data { user_data, .. } => {
                                s.put("x224_mcs", &name, [&[3u8][..], user_data].concat());
                            }
                            x224::Tpdu::ConnectionRequest(_) => {
                                if let Some(b) = p.get(6..) {
                                    s.put("x224_mcs", &name, [&[1u8][..], b].concat());
                                }
                            }
                            x224::Tpdu::ConnectionConfirm(_) => {
                                if let Some(b) = p.get(6..) {
                                    s.put("x224_mcs", &name, [&[2u8][..], b].concat());
                                }
                            }
                            _ => {}
                        }
                    }
                }
                // TLS: from the first handshake record on.
                if let Some(at) = data
                    .windows(3)
                    .position(|w| w[0] == 0x16 && w[1] == 3 && w[2] <= 4)
                {
                    let t = &data[at..data.len().min(at + (24 << 10))];
                    s.put("tls_direction", &name, [&[i as u8][..], t].concat());
                }
                for cert in certs_in(data).into_iter().take(4) {
                    s.put("cert_summarize", &name, cert.to_vec());
                }
            }
        }
    }

    pub fn run(out: PathBuf) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        captures(&root.join("testdata/captures"), &mut files);
        for c in ["../shared/corpus", "../../shared/corpus"] {
            captures(&root.join(c), &mut files);
        }
        let mut s = Seeds::new(out);
        for f in &files {
            from_capture(&mut s, f);
        }
        // Hand-made X.224 negotiations (the shapes of the unit-test
        // vectors): every protocol selection, and a negotiation failure.
        use super::properties::{cc, cr};
        let fail = vec![
            3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 3, 0, 8, 0, 5, 0, 0, 0,
        ];
        for (req, sel) in [(0u32, 0u32), (1, 1), (3, 2), (11, 8), (3, 0)] {
            let (a, b) = (cr(req, b"Cookie: mstshash=seed\r\n"), cc(sel));
            s.put("x224_mcs", "made", [&[0u8][..], &a].concat());
            s.put("x224_mcs", "made", [&[0u8][..], &b].concat());
            s.put("x224_mcs", "made", [&[1u8][..], &a[6..]].concat());
            s.put("x224_mcs", "made", [&[2u8][..], &b[6..]].concat());
            s.put("proto_connection", "made", ConnSpec::clean(a, b).encode());
        }
        s.put("x224_mcs", "made", [&[0u8][..], &fail].concat());
        s.put(
            "proto_connection",
            "made",
            ConnSpec::clean(cr(3, b""), fail).encode(),
        );
        println!("{} captures -> {:?}", files.len(), s.written);
    }
}

#[test]
#[ignore = "writes fuzz seed corpora; set RDPTRIAGE_FUZZ_SEEDS"]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("RDPTRIAGE_FUZZ_SEEDS") else {
        println!("RDPTRIAGE_FUZZ_SEEDS not set: nothing written");
        return;
    };
    seeds::run(PathBuf::from(dir));
}

// ---------------------------------------------------------------------------
// The non-crashing examples under testdata/fuzz-regressions/, made here from
// a synthetic capture (no third-party capture is copied): one connection
// with SYN, X.224 negotiation selecting TLS, a ClientHello, the server's
// ServerHello / Certificate (a generated self-signed P-256 certificate) /
// ServerHelloDone split over two segments, a client alert and a RST.

mod examples {
    use super::harness::{ConnSpec, SegSpec, FRAME_SEPARATOR};
    use super::properties::{cc, cr};
    use std::io::Write;
    use std::path::Path;

    pub const CERT: &[u8] =
        include_bytes!("../testdata/fuzz-regressions/cert_summarize/ok-selfsigned-p256.der");

    fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty];
        v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    pub fn client_hello() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0x11; 32]);
        b.extend_from_slice(&[0, 0, 2, 0x00, 0x2f, 1, 0]);
        record(22, &handshake(1, &b))
    }

    pub fn server_flight() -> Vec<u8> {
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[0x22; 32]);
        sh.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        let mut certs = (CERT.len() as u32).to_be_bytes()[1..].to_vec();
        certs.extend_from_slice(CERT);
        let mut chain = (certs.len() as u32).to_be_bytes()[1..].to_vec();
        chain.extend(certs);
        let mut hs = handshake(2, &sh);
        hs.extend(handshake(11, &chain));
        hs.extend(handshake(14, &[]));
        record(22, &hs)
    }

    /// The two streams of the connection.
    pub fn streams() -> (Vec<u8>, Vec<u8>) {
        let mut a = cr(3, b"Cookie: mstshash=lab\r\n");
        a.extend(client_hello());
        a.extend(record(21, &[2, 48]));
        let mut b = cc(1);
        b.extend(server_flight());
        (a, b)
    }

    /// The connection as flow-target records.
    pub fn segments() -> Vec<SegSpec> {
        let (a, b) = streams();
        let (ncr, ncc) = (cr(3, b"Cookie: mstshash=lab\r\n").len(), cc(1).len());
        let seg = |from_server: bool, flags: u8, seq: u32, ack: u32, payload: &[u8]| SegSpec {
            conn: 0,
            from_server,
            ipv6: false,
            icmp: false,
            sack: false,
            flags,
            seq,
            ack,
            window: 64240,
            ttl: if from_server { 128 } else { 64 },
            step: 1,
            cut: 0,
            payload: payload.to_vec(),
        };
        let (c, s) = (0x1000_0000u32, 0x2000_0000u32);
        let half = ncc + (b.len() - ncc) / 2;
        let end_a = a.len() as u32;
        vec![
            seg(false, 0x02, c, 0, &[]),
            seg(true, 0x12, s, c + 1, &[]),
            seg(false, 0x10, c + 1, s + 1, &[]),
            seg(false, 0x18, c + 1, s + 1, &a[..ncr]),
            seg(true, 0x18, s + 1, c + 1 + ncr as u32, &b[..ncc]),
            seg(
                false,
                0x18,
                c + 1 + ncr as u32,
                s + 1 + ncc as u32,
                &a[ncr..end_a as usize - 7],
            ),
            seg(true, 0x10, s + 1 + ncc as u32, c + end_a - 6, &b[ncc..half]),
            seg(true, 0x18, s + 1 + half as u32, c + end_a - 6, &b[half..]),
            seg(
                false,
                0x18,
                c + end_a - 6,
                s + 1 + b.len() as u32,
                &a[end_a as usize - 7..],
            ),
            seg(false, 0x14, c + 1 + end_a, s + 1 + b.len() as u32, &[]),
        ]
    }

    /// An Ethernet / IPv4 / TCP frame for a segment.
    pub fn frame(sg: &SegSpec) -> Vec<u8> {
        let (src, dst, sp, dp) = if sg.from_server {
            ([10, 0, 0, 1], [10, 0, 0, 10], 3389u16, 40000u16)
        } else {
            ([10, 0, 0, 10], [10, 0, 0, 1], 40000, 3389)
        };
        let mut f = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00];
        let total = (40 + sg.payload.len()) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            sg.ttl,
            6,
            0,
            0,
        ]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&sg.seq.to_be_bytes());
        f.extend_from_slice(&sg.ack.to_be_bytes());
        f.extend_from_slice(&[0x50, sg.flags]);
        f.extend_from_slice(&sg.window.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&sg.payload);
        f
    }

    /// The connection as a little-endian microsecond pcap.
    pub fn pcap() -> Vec<u8> {
        let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, sg) in segments().iter().enumerate() {
            let f = frame(sg);
            v.extend_from_slice(&1_700_000_000u32.to_le_bytes());
            v.extend_from_slice(&(i as u32 * 20_000).to_le_bytes());
            v.extend_from_slice(&(f.len() as u32).to_le_bytes());
            v.extend_from_slice(&(f.len() as u32).to_le_bytes());
            v.extend(f);
        }
        v
    }

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len().div_ceil(4) * 4) as u32;
        let mut v = ty.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.resize(len as usize - 4, 0);
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    /// The same as pcapng: two interfaces (Ethernet and raw IPv4), the
    /// server's packets on the second one.
    pub fn pcapng() -> Vec<u8> {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&[0xff; 8]);
        let mut v = block(0x0a0d_0d0a, &shb);
        v.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
        v.extend(block(1, &[228, 0, 0, 0, 0, 0, 1, 0]));
        for (i, sg) in segments().iter().enumerate() {
            let f = frame(sg);
            let (iface, data) = if sg.from_server {
                (1u32, &f[14..])
            } else {
                (0, &f[..])
            };
            let ts = 1_700_000_000_000_000u64 + i as u64 * 20_000;
            let mut b = iface.to_le_bytes().to_vec();
            b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(ts as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            v.extend(block(6, &b));
        }
        v
    }

    pub fn write_all(root: &Path) {
        let put = |target: &str, name: &str, data: &[u8]| {
            let d = root.join(target);
            std::fs::create_dir_all(&d).expect("folder");
            std::fs::write(d.join(format!("ok-{name}")), data).expect("write");
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&pcap()).expect("gzip");
        let gz = gz.finish().expect("gzip");
        for t in ["capture_read", "analyze_file"] {
            put(t, "tls-rdp.pcap", &pcap());
            put(t, "tls-rdp.pcapng", &pcapng());
            put(t, "tls-rdp.pcap.gz", &gz);
        }
        let segs = segments();
        let frames: Vec<Vec<u8>> = segs.iter().map(frame).collect();
        put(
            "packet_slice",
            "ethernet-syn",
            &[&[1u8][..], &frames[0]].concat(),
        );
        put(
            "packet_slice",
            "raw-ipv4-data",
            &[&[7u8][..], &frames[6][14..]].concat(),
        );
        let mut joined = vec![1u8];
        for (i, f) in frames.iter().enumerate() {
            if i > 0 {
                joined.extend_from_slice(FRAME_SEPARATOR);
            }
            joined.extend_from_slice(f);
        }
        put("packet_slice", "ethernet-connection", &joined);
        put(
            "flow_reassembly",
            "tls-rdp",
            &segs.iter().flat_map(SegSpec::encode).collect::<Vec<u8>>(),
        );
        let mut reordered = segs.clone();
        reordered.swap(6, 7);
        reordered.insert(8, segs[6].clone());
        put(
            "flow_reassembly",
            "reordered-duplicated",
            &reordered
                .iter()
                .flat_map(SegSpec::encode)
                .collect::<Vec<u8>>(),
        );
        let (a, b) = streams();
        put(
            "proto_connection",
            "tls-rdp",
            &ConnSpec::clean(a.clone(), b.clone()).encode(),
        );
        let holed = ConnSpec {
            hole: [None, Some((40, 100))],
            ..ConnSpec::clean(a.clone(), b.clone())
        };
        put("proto_connection", "hole-in-certificate", &holed.encode());
        put(
            "tls_direction",
            "server-flight",
            &[&[1u8][..], &b[19..]].concat(),
        );
        put(
            "tls_direction",
            "client-hello-alert",
            &[&[0u8][..], &a[a.len() - client_hello().len() - 7..]].concat(),
        );
        put(
            "x224_mcs",
            "connection-request",
            &[&[0u8][..], &cr(11, b"Cookie: mstshash=lab\r\n")].concat(),
        );
        put(
            "x224_mcs",
            "connection-confirm",
            &[&[0u8][..], &cc(8)].concat(),
        );
    }
}

/// The synthetic capture is what the examples say it is: the pipeline
/// finds the connection, its negotiation and the certificate.
#[test]
fn synthetic_example_capture_decodes() {
    use rdptriage::analyze::{analyze_reader, Options};
    for bytes in [examples::pcap(), examples::pcapng()] {
        let r = analyze_reader("example", &bytes[..], &Options::default());
        assert!(r.complete());
        assert_eq!(r.connections.len(), 1);
        let tl = &r.connections[0].timeline;
        let (_, certs) = tl.certificates().expect("a certificate event");
        assert_eq!(certs.len(), 1);
        assert!(format!("{:?}", certs[0]).contains("rdp-lab.example"));
    }
    assert!(rdptriage::proto::cert::summarize(examples::CERT).is_ok());
}

#[test]
#[ignore = "rewrites the examples under testdata/fuzz-regressions; set RDPTRIAGE_WRITE_EXAMPLES"]
fn write_examples() {
    if std::env::var_os("RDPTRIAGE_WRITE_EXAMPLES").is_none() {
        println!("RDPTRIAGE_WRITE_EXAMPLES not set: nothing written");
        return;
    }
    examples::write_all(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz-regressions"));
}

// ---------------------------------------------------------------------------
// Property tests: the decoders never panic on arbitrary or protocol-shaped
// bytes, and reassembly through the connection table does not depend on
// segmentation, order or duplication.

mod properties {
    use super::harness::{self, ConnSpec, SegSpec};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use rdptriage::capture::read_capture;
    use rdptriage::common::{Dir, KeepLimit, Timestamp};
    use rdptriage::flow::{FlowConfig, FlowTable, GapKind};
    use rdptriage::proto::{self, cert, tls, StreamInput};

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..max)
    }

    /// TPKT + X.224 Connection Request with an RDP_NEG_REQ.
    pub fn cr(protocols: u32, cookie: &[u8]) -> Vec<u8> {
        let mut x = vec![0xe0, 0, 0, 0, 0, 0];
        x.extend_from_slice(cookie);
        x.extend_from_slice(&[1, 0, 8, 0]);
        x.extend_from_slice(&protocols.to_le_bytes());
        tpkt(x)
    }

    /// TPKT + X.224 Connection Confirm with an RDP_NEG_RSP.
    pub fn cc(selected: u32) -> Vec<u8> {
        let mut x = vec![0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0];
        x.extend_from_slice(&selected.to_le_bytes());
        tpkt(x)
    }

    fn tpkt(x: Vec<u8>) -> Vec<u8> {
        let mut t = vec![3, 0, 0, 0, x.len() as u8];
        t.extend(x);
        let n = t.len() as u16;
        t[2..4].copy_from_slice(&n.to_be_bytes());
        t
    }

    /// TLS records of random types and versions around random bodies.
    fn tls_records() -> impl Strategy<Value = Vec<u8>> {
        vec((20u8..25, 0u8..5, bytes(200)), 0..10).prop_map(|recs| {
            let mut v = Vec::new();
            for (ty, minor, body) in recs {
                v.extend_from_slice(&[ty, 3, minor]);
                v.extend_from_slice(&(body.len() as u16).to_be_bytes());
                v.extend(body);
            }
            v
        })
    }

    /// Handshake messages (random types and bodies) cut into handshake
    /// records of random sizes, with a ChangeCipherSpec or alert between.
    fn handshake_flight() -> impl Strategy<Value = Vec<u8>> {
        (
            vec(
                (
                    prop_oneof![
                        Just(1u8),
                        Just(2),
                        Just(11),
                        Just(12),
                        Just(14),
                        Just(16),
                        any::<u8>()
                    ],
                    bytes(300),
                ),
                1..6,
            ),
            vec(1usize..120, 1..20),
            any::<bool>(),
        )
            .prop_map(|(msgs, cuts, ccs)| {
                let mut hs = Vec::new();
                for (ty, body) in msgs {
                    hs.push(ty);
                    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
                    hs.extend(body);
                }
                let mut v = Vec::new();
                let (mut at, mut k) = (0, 0);
                while at < hs.len() {
                    let n = cuts[k % cuts.len()].min(hs.len() - at);
                    v.extend_from_slice(&[22, 3, 3]);
                    v.extend_from_slice(&(n as u16).to_be_bytes());
                    v.extend_from_slice(&hs[at..at + n]);
                    at += n;
                    k += 1;
                }
                if ccs {
                    v.extend_from_slice(&[20, 3, 3, 0, 1, 1, 21, 3, 3, 0, 2, 2, 40]);
                }
                v
            })
    }

    /// Nested DER: a SEQUENCE of TLVs, some of them SEQUENCEs again.
    fn der(depth: u32) -> BoxedStrategy<Vec<u8>> {
        let leaf = (any::<u8>(), bytes(40))
            .prop_map(|(tag, v)| tlv(tag, &v))
            .boxed();
        if depth == 0 {
            return leaf;
        }
        prop_oneof![
            leaf,
            vec(der(depth - 1), 0..5).prop_map(|items| tlv(0x30, &items.concat())),
            (
                prop_oneof![Just(0xa0u8), Just(0xa3), Just(0x31)],
                der(depth - 1)
            )
                .prop_map(|(tag, inner)| tlv(tag, &inner)),
        ]
        .boxed()
    }

    fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match v.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
            n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(v);
        out
    }

    /// pcap: a header (any magic of the four, any snap length and link
    /// type) and records whose lengths mostly fit.
    fn pcap_like() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![
                Just(0xa1b2_c3d4u32),
                Just(0xd4c3_b2a1),
                Just(0xa1b2_3c4d),
                Just(0xa1b2_cd34)
            ],
            any::<u32>(),
            prop_oneof![
                Just(1u32),
                Just(0),
                Just(101),
                Just(113),
                Just(276),
                any::<u32>()
            ],
            vec((any::<u32>(), bytes(120), any::<bool>()), 0..12),
        )
            .prop_map(|(magic, snap, link, recs)| {
                let mut v = magic.to_le_bytes().to_vec();
                v.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                v.extend_from_slice(&snap.to_le_bytes());
                v.extend_from_slice(&link.to_le_bytes());
                let modified = magic == 0xa1b2_cd34;
                for (ts, data, lie) in recs {
                    v.extend_from_slice(&ts.to_le_bytes());
                    v.extend_from_slice(&0u32.to_le_bytes());
                    let n = if lie { ts } else { data.len() as u32 };
                    v.extend_from_slice(&n.to_le_bytes());
                    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
                    if modified {
                        v.extend_from_slice(&[0; 8]);
                    }
                    v.extend(data);
                }
                v
            })
    }

    /// pcapng: a section header and blocks of random types (interfaces,
    /// packets, statistics, ...) whose lengths mostly fit.
    fn pcapng_like() -> impl Strategy<Value = Vec<u8>> {
        vec(
            (
                prop_oneof![
                    Just(1u32),
                    Just(6),
                    Just(3),
                    Just(5),
                    Just(4),
                    Just(0x0a0d_0d0a),
                    any::<u32>()
                ],
                bytes(100),
                any::<bool>(),
            ),
            0..10,
        )
        .prop_map(|blocks| {
            let mut v = vec![
                0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
            ];
            v.extend_from_slice(&[0xff; 8]);
            v.extend_from_slice(&[28, 0, 0, 0]);
            for (ty, mut body, lie) in blocks {
                while body.len() % 4 != 0 {
                    body.push(0);
                }
                let len = 12 + body.len() as u32;
                let head = if lie { len.wrapping_mul(977) } else { len };
                v.extend_from_slice(&ty.to_le_bytes());
                v.extend_from_slice(&head.to_le_bytes());
                v.extend(body);
                v.extend_from_slice(&len.to_le_bytes());
            }
            v
        })
    }

    fn conn_spec(a: Vec<u8>, b: Vec<u8>, flags: u8, h: (u16, u16, u16, u16)) -> ConnSpec {
        ConnSpec {
            to_server: a,
            to_client: b,
            capped: [flags & 1 != 0, flags & 2 != 0],
            from_start: [flags & 4 == 0, flags & 8 == 0],
            hole: [
                (flags & 16 != 0).then_some((h.0, h.1)),
                (flags & 32 != 0).then_some((h.2, h.3)),
            ],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn decode_connection_arbitrary(a in bytes(1500), b in bytes(1500), flags: u8,
                                       h in (0u16..1500, 0u16..300, 0u16..1500, 0u16..300)) {
            harness::proto_connection(&conn_spec(a, b, flags, h).encode());
        }

        #[test]
        fn decode_connection_rdp_shaped(
            req: u32,
            sel in prop_oneof![Just(0u32), Just(1), Just(2), Just(8), any::<u32>()],
            client_tail in tls_records(),
            server_tail in prop_oneof![tls_records(), handshake_flight()],
            junk in bytes(60),
            flags in 0u8..64,
            h in (0u16..600, 0u16..100, 0u16..600, 0u16..100),
        ) {
            let mut a = cr(req, b"Cookie: mstshash=u\r\n");
            a.extend(client_tail);
            a.extend(&junk);
            let mut b = cc(sel);
            b.extend(server_tail);
            harness::proto_connection(&conn_spec(a, b, flags, h).encode());
        }

        #[test]
        fn tls_direction_arbitrary(d in bytes(1500), sel: u8) {
            harness::tls_direction(&[&[sel][..], &d].concat());
        }

        #[test]
        fn tls_direction_handshake_shaped(d in handshake_flight(), tail in tls_records(), sel: u8) {
            harness::tls_direction(&[&[sel][..], &d, &tail].concat());
            // The same bytes as both directions of a TLS connection.
            let input = |data: &'static [u8]| StreamInput { data, holes: &[], limit: None, from_start: true, hidden: &[] };
            let leaked: &'static [u8] = Box::leak([cc(1), d].concat().into_boxed_slice());
            let _ = proto::decode_connection(input(&[]), input(leaked));
            let r = tls::decode_direction(Dir::ToClient, leaked, 0, false);
            prop_assert!(r.encrypted_records.len() <= tls::MAX_RECORD_REFS);
        }

        #[test]
        fn cert_summarize_arbitrary(d in bytes(800)) {
            harness::cert_summarize(&d);
        }

        #[test]
        fn cert_summarize_der_shaped(d in der(4)) {
            let _ = cert::summarize(&d);
        }

        #[test]
        fn read_capture_arbitrary(d in bytes(800)) {
            harness::capture_read(&d);
        }

        #[test]
        fn read_capture_pcap_shaped(d in pcap_like()) {
            harness::capture_read(&d);
            harness::analyze_file(&d);
        }

        #[test]
        fn read_capture_pcapng_shaped(d in pcapng_like()) {
            harness::capture_read(&d);
            let _ = read_capture(&d[..], |_| {});
        }

        #[test]
        fn flow_records_arbitrary(d in bytes(2000)) {
            harness::flow_reassembly(&d);
        }
    }

    /// One connection's two streams, cut into segments at `cuts`, the data
    /// segments shuffled (seeded) and some sent twice, after a clean
    /// handshake and before both FINs.
    fn segments(
        client: &[u8],
        server: &[u8],
        cuts: &[usize],
        dups: &[usize],
        seed: u64,
    ) -> Vec<SegSpec> {
        const CISN: u32 = 0xffff_ff00; // wraps inside the stream
        const SISN: u32 = 77;
        let seg = |from_server: bool, flags: u8, seq: u32, ack: u32, payload: Vec<u8>| SegSpec {
            conn: 0,
            from_server,
            ipv6: false,
            icmp: false,
            sack: false,
            flags,
            seq,
            ack,
            window: 8192,
            ttl: 64,
            step: 1,
            cut: 0,
            payload,
        };
        let mut data = Vec::new();
        for (from_server, bytes, isn, peer) in
            [(false, client, CISN, SISN), (true, server, SISN, CISN)]
        {
            let mut at = 0;
            let mut k = 0;
            while at < bytes.len() {
                let n = cuts[k % cuts.len()].clamp(1, bytes.len() - at);
                let s = seg(
                    from_server,
                    0x18,
                    isn.wrapping_add(1 + at as u32),
                    peer.wrapping_add(1),
                    bytes[at..at + n].to_vec(),
                );
                if dups.contains(&k) {
                    data.push(s.clone());
                }
                data.push(s);
                at += n;
                k += 1;
            }
        }
        let mut st = seed | 1;
        for k in (1..data.len()).rev() {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            data.swap(k, (st % (k as u64 + 1)) as usize);
        }
        let (cl, sl) = (client.len() as u32, server.len() as u32);
        let mut v = vec![
            seg(false, 0x02, CISN, 0, vec![]),
            seg(true, 0x12, SISN, CISN.wrapping_add(1), vec![]),
            seg(
                false,
                0x10,
                CISN.wrapping_add(1),
                SISN.wrapping_add(1),
                vec![],
            ),
        ];
        v.extend(data);
        v.push(seg(
            false,
            0x11,
            CISN.wrapping_add(1 + cl),
            SISN.wrapping_add(1 + sl),
            vec![],
        ));
        v.push(seg(
            true,
            0x11,
            SISN.wrapping_add(1 + sl),
            CISN.wrapping_add(2 + cl),
            vec![],
        ));
        v
    }

    fn reassemble(segs: &[SegSpec], depth_cap: usize) -> rdptriage::flow::Connection {
        let mut t = FlowTable::new(FlowConfig {
            depth_cap,
            ..FlowConfig::default()
        });
        for (i, s) in segs.iter().enumerate() {
            s.feed(&mut t, i as u64 + 1, Timestamp(i as i64 * 1000));
        }
        let (mut conns, _) = t.finish();
        assert_eq!(conns.len(), 1);
        conns.remove(0)
    }

    /// Found by the property below: a segment past the depth cap that
    /// arrives before the one crossing it must not make the bytes below the
    /// cap that arrive later be dropped (they were, silently, as if the cap
    /// had been reached at the first hole).
    #[test]
    fn bytes_below_the_cap_after_a_segment_past_it_are_kept() {
        let server: Vec<u8> = (0..=255u8).collect();
        let mut segs = segments(&[], &server, &[54, 138], &[], 0);
        // Data segments are 3, 4, 5 (offsets 0, 54, 192): deliver 0, 192, 54.
        segs.swap(4, 5);
        assert_eq!(segs[4].seq, 77 + 1 + 192);
        let c = reassemble(&segs, 100);
        assert_eq!(c.half[1].data, server[..100]);
        assert_eq!(c.half[1].limit, Some(KeepLimit::DepthCap { bytes: 100 }));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

        #[test]
        fn table_reassembly_ignores_segmentation_order_duplication(
            client in bytes(600),
            server in bytes(900),
            cuts in vec(1usize..200, 1..8),
            dups in vec(0usize..20, 0..5),
            seed: u64,
            small_cap: bool,
        ) {
            let segs = segments(&client, &server, &cuts, &dups, seed);
            let cap = if small_cap { 100 } else { 1 << 20 };
            let c = reassemble(&segs, cap);
            for (h, want) in [(&c.half[0], &client), (&c.half[1], &server)] {
                let kept = want.len().min(cap);
                prop_assert_eq!(&h.data[..], &want[..kept]);
                prop_assert_eq!(h.limit.is_some(), want.len() > cap);
                prop_assert!(h.gaps.iter().all(|g| g.kind != GapKind::CaptureLoss
                    && g.kind != GapKind::Unknown), "{:?}", h.gaps);
                prop_assert_eq!(h.stream_len, want.len() as u64);
                prop_assert!(h.from_start);
            }
            // In order and without duplicates gives the same streams.
            let plain = segments(&client, &server, &[usize::MAX], &[], 0);
            let p = reassemble(&plain, cap);
            prop_assert_eq!(&p.half[0].data, &c.half[0].data);
            prop_assert_eq!(&p.half[1].data, &c.half[1].data);
        }
    }
}
