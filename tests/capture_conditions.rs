//! Capture conditions made outside the project: several capture points in
//! one file (a router captured on two interfaces, `tcpdump -i any`), a
//! capture that starts mid-connection, and a small snap length. Captures
//! are built in memory (or cut from the lab's in memory); the lab's own
//! captures are checked against tshark's figures, given with the command
//! that produced them.

use rdptriage::analyze::{analyze_reader, FileResult, Options};
use rdptriage::flow::TcpEventKind;
use rdptriage::proto::Anomaly;
use rdptriage::timeline::EventKind;
use std::path::PathBuf;

fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/captures")
        .join(name)
}

fn analyze_bytes(name: &str, bytes: &[u8]) -> FileResult {
    analyze_reader(name, bytes, &Options::default())
}

fn analyze_lab(name: &str) -> FileResult {
    let bytes = std::fs::read(lab(name)).expect("lab capture");
    analyze_bytes(name, &bytes)
}

/// Retransmissions (SYN and SYN/ACK repeats included) of every connection.
fn retransmissions(r: &FileResult) -> usize {
    r.connections
        .iter()
        .flat_map(|c| &c.timeline.events)
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Tcp(
                    TcpEventKind::Retransmission { .. }
                        | TcpEventKind::Syn {
                            retransmission: true
                        }
                        | TcpEventKind::SynAck {
                            retransmission: true
                        }
                )
            )
        })
        .count()
}

// ---- packets built by hand ----

const CLIENT: [u8; 4] = [192, 0, 2, 10];
const SERVER: [u8; 4] = [198, 51, 100, 20];

/// An IPv4/TCP packet (no options) from the client (`up`) or the server.
fn ipv4_tcp(up: bool, ttl: u8, id: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if up {
        (CLIENT, SERVER, 50000u16, 3389u16)
    } else {
        (SERVER, CLIENT, 3389, 50000)
    };
    let total = (40 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&[0x40, 0, ttl, 6, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    v.extend_from_slice(payload);
    v
}

fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 12];
    v.extend_from_slice(&[0x08, 0x00]);
    v.extend_from_slice(ip);
    v
}

/// A Linux cooked v2 header (`tcpdump -i any`): interface index and
/// packet type (0 to this host, 4 sent by this host).
fn sll2(ifindex: u32, packet_type: u8, ip: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0x00, 0, 0];
    v.extend_from_slice(&ifindex.to_be_bytes());
    v.extend_from_slice(&[0, 1, packet_type, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(ip);
    v
}

/// A little-endian pcapng file: one section, Ethernet interfaces with the
/// given names, then (interface, microseconds, frame) packets.
fn pcapng(names: &[&str], packets: &[(u32, u64, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, btype: u32, mut body: Vec<u8>) {
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = (12 + body.len()) as u32;
        out.extend_from_slice(&btype.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, shb);
    for n in names {
        let mut idb = vec![1, 0, 0, 0, 0, 0, 0, 0];
        idb.extend_from_slice(&2u16.to_le_bytes());
        idb.extend_from_slice(&(n.len() as u16).to_le_bytes());
        idb.extend_from_slice(n.as_bytes());
        while idb.len() % 4 != 0 {
            idb.push(0);
        }
        idb.extend_from_slice(&[0, 0, 0, 0]);
        block(&mut out, 1, idb);
    }
    for (iface, us, data) in packets {
        let mut epb = iface.to_le_bytes().to_vec();
        epb.extend_from_slice(&((us >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*us as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut out, 6, epb);
    }
    out
}

/// A legacy pcap (microseconds) of one link type.
fn pcap(link: u32, packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, link] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    for (us, data) in packets {
        for w in [
            (us / 1_000_000) as u32,
            (us % 1_000_000) as u32,
            data.len() as u32,
            data.len() as u32,
        ] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v.extend_from_slice(data);
    }
    v
}

/// One short connection as (client?, IP ID, seq, ack, flags, payload, µs):
/// handshake, an X.224 Connection Request and Confirm, a server segment
/// sent again 300 ms later (a real retransmission, new IP ID), FIN/ACKs.
type Step = (bool, u16, u32, u32, u8, Vec<u8>, u64);

fn conversation() -> Vec<Step> {
    let cr =
        b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00".to_vec();
    let cc =
        b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00".to_vec();
    let data = vec![0x17u8; 20];
    vec![
        (true, 1, 100, 0, 0x02, vec![], 0),
        (false, 0, 5000, 101, 0x12, vec![], 100),
        (true, 2, 101, 5001, 0x10, vec![], 200),
        (true, 3, 101, 5001, 0x18, cr, 300),
        (false, 7, 5001, 120, 0x18, cc, 10_000),
        (false, 8, 5020, 120, 0x18, data.clone(), 20_000),
        (false, 9, 5020, 120, 0x18, data, 320_000),
        (true, 4, 120, 5040, 0x10, vec![], 320_100),
        (true, 5, 120, 5040, 0x11, vec![], 400_000),
        (false, 10, 5040, 121, 0x11, vec![], 400_100),
        (true, 6, 121, 5041, 0x10, vec![], 400_200),
    ]
}

/// A router captured on both interfaces (`dumpcap -i rc -i rs`): every
/// packet twice, TTL one lower beyond the router, the second interface's
/// packets written in batches after the first's. The copies are counted,
/// not analysed; the one real retransmission still is.
#[test]
fn two_interfaces_copies_are_counted_not_retransmissions() {
    let conv = conversation();
    let mut packets = Vec::new();
    for chunk in conv.chunks(4) {
        for (up, id, seq, ack, fl, pl, us) in chunk {
            let ttl = if *up { 64 } else { 63 };
            let f = ethernet(&ipv4_tcp(*up, ttl, *id, *seq, *ack, *fl, pl));
            packets.push((0u32, *us, f));
        }
        for (up, id, seq, ack, fl, pl, us) in chunk {
            let ttl = if *up { 63 } else { 64 };
            let f = ethernet(&ipv4_tcp(*up, ttl, *id, *seq, *ack, *fl, pl));
            packets.push((1u32, us + 15, f));
        }
    }
    let r = analyze_bytes("two.pcapng", &pcapng(&["rc", "rs"], &packets));
    assert_eq!(r.connections.len(), 1);
    let tl = &r.connections[0].timeline;
    assert_eq!(retransmissions(&r), 1);
    assert_eq!(r.flow.vantage_copies, conv.len() as u64);
    assert_eq!(tl.vantage_copies(), conv.len() as u64);
    assert!(tl.seen_from_several_points());
    assert_eq!(tl.capture_points.len(), 2);
    // TTLs from the first interface only: one population each way.
    assert_eq!(tl.dirs[0].ttls, vec![(64, 6)]);
    assert_eq!(tl.dirs[1].ttls, vec![(63, 5)]);
    let names: Vec<_> = r
        .read
        .as_ref()
        .unwrap()
        .interfaces
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(names, vec![Some("rc".to_string()), Some("rs".to_string())]);
    // The same packets on one interface only: nothing is a copy.
    let one: Vec<_> = packets.iter().filter(|p| p.0 == 0).cloned().collect();
    let r1 = analyze_bytes("one.pcapng", &pcapng(&["rc"], &one));
    assert_eq!((r1.flow.vantage_copies, retransmissions(&r1)), (0, 1));
}

/// `tcpdump -i any` on a router (Linux cooked v2): each forwarded packet
/// once arriving (packet type 0) on one interface index, once leaving
/// (packet type 4) on the other.
#[test]
fn linux_cooked_any_on_a_router_copies() {
    let conv = conversation();
    let mut packets = Vec::new();
    for (up, id, seq, ack, fl, pl, us) in &conv {
        let (inif, outif) = if *up { (2, 3) } else { (3, 2) };
        packets.push((
            *us,
            sll2(inif, 0, &ipv4_tcp(*up, 64, *id, *seq, *ack, *fl, pl)),
        ));
        packets.push((
            us + 9,
            sll2(outif, 4, &ipv4_tcp(*up, 63, *id, *seq, *ack, *fl, pl)),
        ));
    }
    let r = analyze_bytes("any.pcap", &pcap(276, &packets));
    assert_eq!(r.flow.vantage_copies, conv.len() as u64);
    assert_eq!(retransmissions(&r), 1);
    assert_eq!(r.connections[0].timeline.capture_points.len(), 4);
}

/// The lab's router capture. The oracle for copies is not tshark's
/// retransmission flag (tshark flags the copies as retransmissions too)
/// but the frame pairs with equal IP ID, sequence number and length on
/// different interfaces:
///
/// ```sh
/// tshark -r 25-two-interfaces.pcapng -T fields -e frame.interface_id \
///     -e ip.id -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e tcp.len |
///   awk '{k=$2" "$3" "$4" "$5" "$6} k in s && s[k]!=$1 {n++} {s[k]=$1} END {print n}'
/// ```
///
/// prints 189 (378 frames, 189 per interface). The real retransmissions
/// are those tshark flags on each interface alone (`tshark -r 25... -Y
/// 'frame.interface_id==0' -w rc.pcapng; tshark -r rc.pcapng -Y
/// tcp.analysis.retransmission`): 2 (server seq 3085, client seq 2785),
/// the same two on interface 1.
#[test]
fn lab_two_interfaces_against_tshark() {
    let r = analyze_lab("25-two-interfaces.pcapng");
    assert_eq!(r.flow.vantage_copies, 189);
    assert_eq!(retransmissions(&r), 2);
    let tl = &r.connections[0].timeline;
    assert_eq!(tl.vantage_copies(), 189);
    assert!(tl.seen_from_several_points());
    // One TTL per direction: the client's 64 and the server's 63 at rc.
    assert_eq!(tl.dirs[0].ttls.len(), 1, "{:?}", tl.dirs[0].ttls);
    assert_eq!(tl.dirs[1].ttls.len(), 1, "{:?}", tl.dirs[1].ttls);
}

/// The lab's `tcpdump -i any` captures were made on the client, one
/// interface: no copies. Oracle: frame pairs with equal IP ID, sequence
/// number and length on a different `sll.ifindex`/`sll.pkttype`
/// (`tshark -r F -T fields -e sll.ifindex -e sll.pkttype -e ip.id -e
/// tcp.seq_raw -e tcp.len -e ip.src`): 0 in both; the retransmissions
/// are tshark's `tcp.analysis.retransmission` frames (2 in each).
#[test]
fn lab_linux_cooked_has_no_copies() {
    for f in ["27-linux-cooked-sll2.pcap", "28-linux-cooked-sll.pcap"] {
        let r = analyze_lab(f);
        assert_eq!(r.flow.vantage_copies, 0, "{f}");
        assert_eq!(retransmissions(&r), 2, "{f}");
    }
}

// ---- a capture that starts mid-connection ----

/// The lab capture started 0.8 s after the connection: no handshake in
/// either direction, and the server's last record is its encrypted
/// close_notify. tshark agrees (`tshark -r 24-capture-mid-connection.pcap
/// -d tcp.port==3389,tls -Y tls.record.content_type==21 -T fields -e
/// frame.number -e tls.record.length` prints `166 26`, "Encrypted Alert").
#[test]
fn lab_mid_connection_alert_is_encrypted() {
    use rdptriage::common::Dir;
    use rdptriage::proto::tls::TlsEvent;
    use rdptriage::proto::ProtoEvent;
    let r = analyze_lab("24-capture-mid-connection.pcap");
    let tl = &r.connections[0].timeline;
    assert!(tl.encrypted_from_start(Dir::ToServer));
    assert!(tl.encrypted_from_start(Dir::ToClient));
    let alerts: Vec<_> = tl
        .proto_events()
        .filter_map(|(e, p)| match p {
            ProtoEvent::Tls(TlsEvent::Alert { .. }) => Some((e.frame, 0)),
            ProtoEvent::Tls(TlsEvent::EncryptedAlert { len }) => Some((e.frame, *len)),
            _ => None,
        })
        .collect();
    assert_eq!(alerts, vec![(166, 26)]);
    assert!(!tl.proto_events().any(|(_, p)| matches!(
        p,
        ProtoEvent::Anomaly {
            what: Anomaly::AppDataBeforeCcs
                | Anomaly::AlertRecordSize { .. }
                | Anomaly::UnfinishedHandshakeBeforeCcs { .. }
        }
    )));
}

// ---- snap length ----

/// A legacy pcap re-cut in memory as `tcpdump -s SNAP` would have
/// written it: every record's captured length at most `snap`.
fn recut(pcap: &[u8], snap: u32) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    out[16..20].copy_from_slice(&snap.to_le_bytes());
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let incl = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap());
        let keep = incl.min(snap);
        let mut hdr = pcap[at..at + 16].to_vec();
        hdr[8..12].copy_from_slice(&keep.to_le_bytes());
        out.extend_from_slice(&hdr);
        out.extend_from_slice(&pcap[at + 16..at + 16 + keep as usize]);
        at += 16 + incl as usize;
    }
    out
}

/// What must hold whatever the snap length: the healthy session stays
/// established, nothing is read as an alert or a clear handshake message
/// it could not be, and what was hidden says so.
/// `payload`: some payload was captured (at 64 bytes not even the TCP
/// header with its timestamps, 32 bytes, is whole: no record is framed).
fn check_cut(name: &str, r: &FileResult, payload: bool) {
    use rdptriage::common::Dir;
    use rdptriage::diagnose::Outcome;
    use rdptriage::proto::tls::TlsEvent;
    use rdptriage::proto::ProtoEvent;
    assert_eq!(r.connections.len(), 1, "{name}");
    let c = &r.connections[0];
    assert_eq!(
        c.diagnosis.outcome,
        Outcome::Established,
        "{name}: {:?}",
        c.diagnosis
    );
    let tl = &c.timeline;
    for (e, p) in tl.proto_events() {
        assert!(
            !matches!(
                p,
                ProtoEvent::Tls(
                    TlsEvent::Alert { .. }
                        | TlsEvent::ClientHello(_)
                        | TlsEvent::ServerHello(_)
                        | TlsEvent::Certificate(_)
                )
            ),
            "{name}: frame {} {p:?}",
            e.frame
        );
        assert!(
            !matches!(
                p,
                ProtoEvent::Anomaly {
                    what: Anomaly::AppDataBeforeCcs
                        | Anomaly::AlertRecordSize { .. }
                        | Anomaly::UnfinishedHandshakeBeforeCcs { .. }
                }
            ),
            "{name}: frame {} {p:?}",
            e.frame
        );
    }
    for d in [Dir::ToServer, Dir::ToClient] {
        assert!(tl.snaplen_hid_payload(d), "{name}");
        assert!(tl.dir(d).snaplen_hidden > 0, "{name}");
        if payload {
            assert!(
                tl.tls_records(d)
                    .is_some_and(|(n, cut, _)| n > 0 && cut > 0),
                "{name}"
            );
        }
    }
}

/// The lab's `tcpdump -s 96` capture. Record counts per direction against
/// tshark: `tshark -r 23-snaplen-96.pcap -d tcp.port==3389,tls -Y
/// 'ip.src==A' -T fields -e tls.record.length` gives one length per frame
/// that starts with a record header (the headers further into a frame
/// were cut): 24 from the client, 56 from the server. We frame the same
/// 24 client records. From the server we frame 62: the 64 server frames
/// whose captured payload starts with a record header (`-e tcp.payload`),
/// less 2 retransmissions (frames 59 and 162); tshark prints no length
/// for the 6 of them (frames 65, 81, 96, 126, 145, 155) whose record runs
/// on into later frames, as it waits for a reassembly the cut prevents.
#[test]
fn lab_snaplen_96_records_against_tshark() {
    use rdptriage::common::Dir;
    let r = analyze_lab("23-snaplen-96.pcap");
    check_cut("23", &r, true);
    let tl = &r.connections[0].timeline;
    assert_eq!(tl.tls_records(Dir::ToServer).map(|t| t.0), Some(24));
    assert_eq!(tl.tls_records(Dir::ToClient).map(|t| t.0), Some(62));
}

/// The lab's healthy TLS session (01) re-cut at 64, 96 and 128 bytes.
/// Uncut, every record is framed: 26 from the client and 68 from the
/// server, as `tshark -r 01-success-tls.pcap -d tcp.port==3389,tls -Y
/// 'ip.src==A' -T fields -e tls.record.length` counts them.
#[test]
fn lab_success_recut_at_small_snap_lengths() {
    use rdptriage::common::Dir;
    let bytes = std::fs::read(lab("01-success-tls.pcap")).unwrap();
    let full = analyze_bytes("01", &bytes);
    let tl = &full.connections[0].timeline;
    assert_eq!(tl.tls_records(Dir::ToServer), Some((26, 0, 0)));
    assert_eq!(tl.tls_records(Dir::ToClient), Some((68, 0, 0)));
    assert!(!tl.snaplen_hid_payload(Dir::ToServer));
    for snap in [64, 96, 128] {
        let r = analyze_bytes("cut", &recut(&bytes, snap));
        check_cut(&format!("01 cut at {snap}"), &r, snap > 66);
    }
}
