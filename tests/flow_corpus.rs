//! The flow stage against Wireshark on the public corpus.
//!
//! For every capture of `../shared/corpus` (MANIFEST.tsv), the port-3389
//! TCP connections found by `capture::read_capture` + `packet::Slicer` +
//! `flow::FlowTable` must be the ones `tshark -q -z conv,tcp` reports:
//! same `tcp.stream` index, endpoints, and packets and frame bytes each
//! way; the same reassembled bytes as `tshark -z follow,tcp,raw`; the same
//! TCP analysis counts (retransmissions, lost segments, duplicate ACKs...).
//! Over all ports, every TCP frame must get tshark's `tcp.stream`. The
//! expected tables are `testdata/expected/flow-corpus/*.tsv`, written from
//! tshark 4.0.17 by `scripts/flow-corpus-from-tshark.py`;
//! `scripts/compare-conversations.sh` recomputes the comparison live.
//!
//! Set RDPTRIAGE_CORPUS to use another corpus directory.

use rdptriage::capture;
use rdptriage::common::Dir;
use rdptriage::flow::{Connection, FlowConfig, FlowStats, FlowTable, GapKind, TcpEventKind};
use rdptriage::packet::{Sliced, Slicer, SlicerConfig, Transport};
use std::collections::BTreeSet;
use std::path::Path;

mod common;

/// (file, tcp.stream, A, B, packets A->B, bytes A->B, packets B->A,
/// bytes B->A), A being the source of the conversation's first packet.
type OwnedRow = (String, u64, String, String, u64, u64, u64, u64);

/// The same counts from our events.
fn analysis(conns: &[Connection]) -> (u64, u64, u64, u64, u64, u64) {
    let mut n = (0, 0, 0, 0, 0, 0);
    for e in conns.iter().filter(|c| is_3389(c)).flat_map(|c| &c.events) {
        match e.kind {
            TcpEventKind::Retransmission { .. }
            | TcpEventKind::Syn {
                retransmission: true,
            }
            | TcpEventKind::SynAck {
                retransmission: true,
            } => n.0 += 1,
            TcpEventKind::OutOfOrder { .. } => n.1 += 1,
            TcpEventKind::DupAck { .. } => n.2 += 1,
            TcpEventKind::KeepAlive => n.3 += 1,
            TcpEventKind::ZeroWindow => n.4 += 1,
            TcpEventKind::ZeroWindowProbe => n.5 += 1,
            _ => {}
        }
    }
    n
}

/// The expected tables, written by `scripts/flow-corpus-from-tshark.py`
/// from tshark (provenance in each file's header).
fn table(name: &str) -> Vec<Vec<String>> {
    let path = format!(
        "{}/testdata/expected/flow-corpus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
}

fn hex64(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap_or_else(|_| panic!("not a hex digest: {s}"))
}

/// conversations.tsv as rows.
fn expected_rows() -> Vec<OwnedRow> {
    table("conversations.tsv")
        .into_iter()
        .map(|r| {
            (
                r[0].clone(),
                num(&r[1]),
                r[2].clone(),
                r[3].clone(),
                num(&r[4]),
                num(&r[5]),
                num(&r[6]),
                num(&r[7]),
            )
        })
        .collect()
}

/// Where the numbering differs for a reason outside the flow stage:
/// (file, our stream count, our TCP frames, why).
const KNOWN_STREAM_DIFFERENCES: &[(&str, u64, u64, &str)] = &[(
    "wireshark-wiki/ejemplo.pcap",
    0,
    0,
    "frame 1 has a TCP data offset of 0: Wireshark numbers a conversation \
     before it rejects the header; the packet stage drops it as malformed",
)];

fn manifest(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

/// Run capture -> packet -> flow over one file, draining as the analyser does.
/// What one run over a capture gave.
struct Run {
    conns: Vec<Connection>,
    stats: FlowStats,
    /// TCP frames, and the digest of their "FRAME STREAM\n" lines.
    tcp_frames: u64,
    digest: u64,
    /// (frame, stream) of every TCP frame, when asked for.
    frames: Vec<(u64, u64)>,
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Run capture -> packet -> flow over one file, draining as the analyser does.
fn run(path: &Path, keep_frames: bool) -> Run {
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut out = Vec::new();
    let mut digest = FNV_START;
    let mut tcp_frames = 0;
    let mut frames = Vec::new();
    let file = std::fs::File::open(path).expect("open capture");
    let _ = capture::read_capture(file, |frame| {
        if let Sliced::Packet(p) = slicer.slice(frame) {
            flows.on_packet(frame.number, frame.ts, frame.orig_len, &p);
            if matches!(p.transport, Transport::Tcp(_)) {
                if let Some(s) = flows.last_stream() {
                    tcp_frames += 1;
                    digest = fnv1a(digest, format!("{} {s}\n", frame.number).as_bytes());
                    if keep_frames {
                        frames.push((frame.number, s));
                    }
                }
            }
        }
        flows.drain_finished(&mut out);
    });
    let (rest, stats) = flows.finish();
    out.extend(rest);
    out.sort_by_key(|c| c.stream);
    Run {
        conns: out,
        stats,
        tcp_frames,
        digest,
        frames,
    }
}

fn is_3389(c: &Connection) -> bool {
    c.endpoints.client.port() == 3389 || c.endpoints.server.port() == 3389
}

/// A row with its endpoints in a canonical order (the counts follow).
fn canonical(r: OwnedRow) -> OwnedRow {
    let (f, s, a, b, fab, bab, fba, bba) = r;
    if a <= b {
        (f, s, a, b, fab, bab, fba, bba)
    } else {
        (f, s, b, a, fba, bba, fab, bab)
    }
}

fn our_rows(file: &str, conns: &[Connection]) -> Vec<OwnedRow> {
    conns
        .iter()
        .filter(|c| is_3389(c))
        .map(|c| {
            (
                file.to_string(),
                c.stream,
                c.endpoints.client.to_string(),
                c.endpoints.server.to_string(),
                c.half[0].packets,
                c.half[0].frame_bytes,
                c.half[1].packets,
                c.half[1].frame_bytes,
            )
        })
        .collect()
}

#[test]
fn corpus_conversations_match_tshark() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    let mut files = 0;
    let mut conns_checked = 0;
    let mut tcp_frames = 0;
    let mut followed = 0;
    let mut failures = Vec::new();
    let expected = expected_rows();
    let stream_rows = table("streams.tsv");
    let follow_rows = table("follow.tsv");
    let analysis_rows = table("analysis.tsv");
    for file in manifest(&dir) {
        let got = run(&dir.join(&file), false);
        let ours: BTreeSet<_> = our_rows(&file, &got.conns)
            .into_iter()
            .map(canonical)
            .collect();
        let theirs: BTreeSet<_> = expected
            .iter()
            .filter(|r| r.0 == file)
            .cloned()
            .map(canonical)
            .collect();
        if ours != theirs {
            failures.push(format!(
                "{file}: only tshark {:?}, only ours {:?}",
                theirs.difference(&ours).collect::<Vec<_>>(),
                ours.difference(&theirs).collect::<Vec<_>>()
            ));
        }
        match stream_rows.iter().find(|s| s[0] == file) {
            None => failures.push(format!("{file}: not in streams.tsv")),
            Some(row) => {
                let (streams, frames, digest) = (num(&row[1]), num(&row[2]), hex64(&row[3]));
                // UDP datagrams on port 3389 (RDP over UDP): counted, as
                // tshark counts `udp.port==3389`.
                if got.stats.udp_on_ports != num(&row[4]) {
                    failures.push(format!(
                        "{file}: {} UDP datagrams on port 3389, tshark has {}",
                        got.stats.udp_on_ports, row[4]
                    ));
                }
                match KNOWN_STREAM_DIFFERENCES.iter().find(|k| k.0 == file) {
                    Some(&(_, n, f, _)) => {
                        if (got.stats.tcp_streams, got.tcp_frames) != (n, f) {
                            failures.push(format!("{file}: known difference changed"));
                        }
                    }
                    None => {
                        if got.stats.tcp_streams != streams {
                            failures.push(format!(
                                "{file}: {} TCP conversations, tshark has {streams}",
                                got.stats.tcp_streams
                            ));
                        }
                        if (got.tcp_frames, got.digest) != (frames, digest) {
                            failures.push(format!(
                                "{file}: tcp.stream per frame differs ({} TCP frames, tshark {frames})",
                                got.tcp_frames
                            ));
                        }
                        tcp_frames += frames;
                    }
                }
            }
        }
        for row in follow_rows.iter().filter(|r| r[0] == file) {
            let (stream, node0) = (num(&row[1]), row[2].as_str());
            let (len0, fnv0, len1, fnv1) =
                (num(&row[3]), hex64(&row[4]), num(&row[5]), hex64(&row[6]));
            let Some(c) = got.conns.iter().find(|c| c.stream == stream) else {
                failures.push(format!("{file}: stream {stream} missing"));
                continue;
            };
            let (d0, d1) = if c.endpoints.client.to_string() == node0 {
                (&c.half[0].data, &c.half[1].data)
            } else {
                (&c.half[1].data, &c.half[0].data)
            };
            let ours = (
                d0.len() as u64,
                fnv1a(FNV_START, d0),
                d1.len() as u64,
                fnv1a(FNV_START, d1),
            );
            if ours != (len0, fnv0, len1, fnv1) {
                failures.push(format!(
                    "{file}: stream {stream} reassembled bytes differ from tshark's follow: \
                     ours {ours:x?}, tshark {:x?}",
                    (len0, fnv0, len1, fnv1)
                ));
            }
            followed += 1;
        }
        let a = analysis(&got.conns);
        let want = analysis_rows
            .iter()
            .find(|r| r[0] == file)
            .map_or((0, 0, 0, 0, 0, 0), |r| {
                (
                    num(&r[1]),
                    num(&r[2]),
                    num(&r[3]),
                    num(&r[4]),
                    num(&r[5]),
                    num(&r[6]),
                )
            });
        if a != want {
            failures.push(format!(
                "{file}: TCP analysis (retr, ooo, dup3, ka, zw, zwp) {a:?}, tshark {want:?}"
            ));
        }
        files += 1;
        conns_checked += theirs.len();
    }
    println!(
        "{files} files, {conns_checked} port-3389 connections ({followed} byte streams \
         followed) and the tcp.stream of {tcp_frames} TCP frames compared with tshark"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rows in the format of scripts/compare-conversations.sh (run with
/// `-- --ignored --nocapture`): "ROW ..." per port-3389 connection and
/// "STREAM file frame tcp.stream" per TCP frame, "FOLLOW file stream
/// node0 len0 sha256-0 len1 sha256-1" per port-3389 connection (node 0:
/// the first packet's source, as in tshark's follow output).
#[test]
#[ignore]
fn print_rows() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    for file in manifest(&dir) {
        let got = run(&dir.join(&file), true);
        for (frame, stream) in &got.frames {
            println!("STREAM {file} {frame} {stream}");
        }
        for c in got.conns.iter().filter(|c| is_3389(c)) {
            // A is the source of the first packet: the client unless the
            // first event of the first frame says the server sent it.
            let first_from_server = c
                .events
                .first()
                .is_some_and(|e| e.frame == c.first_frame && e.dir == Dir::ToClient);
            let (a, b, i, j) = if first_from_server {
                (c.endpoints.server, c.endpoints.client, 1, 0)
            } else {
                (c.endpoints.client, c.endpoints.server, 0, 1)
            };
            let (n0, n1) = if first_from_server { (1, 0) } else { (0, 1) };
            println!(
                "FOLLOW {file} {} {a} {} {} {} {}",
                c.stream,
                c.half[n0].data.len(),
                sha256_hex(&c.half[n0].data),
                c.half[n1].data.len(),
                sha256_hex(&c.half[n1].data)
            );
            println!(
                "ROW {file} {} {a} {b} {} {} {} {}",
                c.stream,
                c.half[i].packets,
                c.half[i].frame_bytes,
                c.half[j].packets,
                c.half[j].frame_bytes
            );
        }
    }
}

/// What to do with one frame when replaying a capture.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Keep,
    /// As if the capture had missed it.
    Drop,
    /// As if the snap length had cut its last N bytes.
    CutTail(usize),
}

/// Run the flow stage over a capture, editing frames on the way.
fn run_edited(path: &Path, edit: impl Fn(u64) -> Edit) -> Vec<Connection> {
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut out = Vec::new();
    let file = std::fs::File::open(path).expect("open capture");
    let _ = capture::read_capture(file, |frame| {
        let cut;
        let frame = match edit(frame.number) {
            Edit::Keep => frame,
            Edit::Drop => return,
            Edit::CutTail(n) => {
                let keep = frame.data.len().saturating_sub(n);
                cut = capture::Frame {
                    data: frame.data.get(..keep).unwrap_or(&[]),
                    ..*frame
                };
                &cut
            }
        };
        if let Sliced::Packet(p) = slicer.slice(frame) {
            flows.on_packet(frame.number, frame.ts, frame.orig_len, &p);
        }
        flows.drain_finished(&mut out);
    });
    let (rest, _) = flows.finish();
    out.extend(rest);
    out.sort_by_key(|c| c.stream);
    out
}

/// Missing and cut frames of a real capture give the gaps they should:
/// a server segment the client acknowledged but the capture lost is
/// capture loss at exactly its bytes; a segment cut by the snap length is
/// a snaplen gap at its tail. Everything else is unchanged.
#[test]
fn corpus_gaps_from_edited_frames() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    let path = dir.join("zeek/rdp-to-ssl.pcap");
    let whole = run_edited(&path, |_| Edit::Keep);
    let conn = whole.iter().find(|c| c.stream == 1).expect("stream 1");
    let down = conn.half(Dir::ToClient);
    assert!(down.gaps.is_empty());
    // A full-sized server segment in the middle of the stream.
    let seg = *down
        .segments
        .iter()
        .filter(|s| s.len > 1000)
        .nth(10)
        .expect("a large server segment");

    let dropped = run_edited(&path, |f| {
        if f == seg.frame {
            Edit::Drop
        } else {
            Edit::Keep
        }
    });
    let c = dropped.iter().find(|c| c.stream == 1).expect("stream 1");
    let d = c.half(Dir::ToClient);
    assert_eq!(d.gaps.len(), 1, "{:?}", d.gaps);
    let g = d.gaps[0];
    assert_eq!(
        (g.offset, g.len, g.kind),
        (seg.offset, u64::from(seg.len), GapKind::CaptureLoss)
    );
    assert!(g.frame > seg.frame, "the proving ACK comes later");
    let (a, b) = (seg.offset as usize, seg.offset as usize + seg.len as usize);
    assert_eq!(d.data.len(), down.data.len());
    assert_eq!(d.data[..a], down.data[..a]);
    assert!(d.data[a..b].iter().all(|&x| x == 0));
    assert_eq!(d.data[b..], down.data[b..]);
    assert!(c.events.iter().any(|e| e.kind == TcpEventKind::Gap(g)));
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e.kind, TcpEventKind::OutOfOrder { offset, .. } if offset == seg.offset + u64::from(seg.len))));

    let cut = run_edited(&path, |f| {
        if f == seg.frame {
            Edit::CutTail(100)
        } else {
            Edit::Keep
        }
    });
    let c = cut.iter().find(|c| c.stream == 1).expect("stream 1");
    let d = c.half(Dir::ToClient);
    let tail = seg.offset + u64::from(seg.len) - 100;
    assert_eq!(
        d.gaps
            .iter()
            .map(|g| (g.offset, g.len, g.kind, g.frame))
            .collect::<Vec<_>>(),
        vec![(tail, 100, GapKind::Snaplen, seg.frame)]
    );
    // Counters come from the headers: unchanged by the cut.
    assert_eq!(
        (d.packets, d.frame_bytes, d.payload_bytes, d.stream_len),
        (
            down.packets,
            down.frame_bytes,
            down.payload_bytes,
            down.stream_len
        )
    );
}
