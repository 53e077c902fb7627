//! Reads every capture of the shared corpus (../shared/corpus/MANIFEST.tsv)
//! and checks the reader and the slicer against Wireshark's counts:
//! packets per `capinfos -c -M`, TCP frames per
//! `tshark -Y 'tcp && !icmp && !icmpv6'`, ICMP errors per
//! `tshark -Y 'icmp.type in {3 4 5 11 12} || icmpv6.type in {1 2 3 4}'`.
//! The expected numbers are embedded below; `scripts/check-corpus-counts.sh`
//! recomputes them live with capinfos and tshark.
//!
//! When the corpus is absent the test says so and returns.

use rdptriage::capture::{read_capture, OpenError, ReadSummary, WarningKind};
use rdptriage::packet::{Skip, Sliced, Slicer, SlicerConfig, Transport};
use std::collections::BTreeMap;
use std::path::PathBuf;

mod common;

/// (file, packets per capinfos or None if capinfos cannot read it,
/// TCP frames, ICMP error frames, how the reading ends).
type Expected = (&'static str, Option<u64>, u64, u64, Option<WarningKind>);

const EXPECTED: &[Expected] = &[
    ("arkime/bigendian.pcap", Some(2), 0, 0, None),
    ("arkime/empty.pcap", Some(0), 0, 0, None),
    (
        "rusticata-pcap-analyzer/frag_tcp_80_ipv4.pcap",
        Some(5),
        4,
        0,
        None,
    ),
    (
        "rusticata-pcap-analyzer/nmap_tcp_22_ipv6.pcap",
        Some(771),
        10,
        0,
        None,
    ),
    (
        "rusticata-pcap-parser/modified-format.pcap",
        Some(1),
        0,
        0,
        None,
    ),
    ("suricata-verify/RDP-003.pcap", Some(435), 435, 0, None),
    (
        "suricata-verify/tls-pre-1970-input.pcap",
        Some(17),
        17,
        0,
        None,
    ),
    ("tcpdump/tcp-handshake-nano.pcap", Some(3), 3, 0, None),
    ("wireshark-wiki/ED01Moving.pcap", Some(10182), 0, 0, None),
    (
        "wireshark-wiki/MINET-SAC-Traces.pcap",
        Some(1179),
        903,
        0,
        None,
    ),
    ("wireshark-wiki/RDP-002.pcap.gz", Some(448), 448, 0, None),
    ("wireshark-wiki/RDP-003.pcap.gz", Some(435), 435, 0, None),
    ("wireshark-wiki/RDP-004.pcap.gz", Some(542), 542, 0, None),
    ("wireshark-wiki/SASP.pcap", Some(4863), 4499, 0, None),
    ("wireshark-wiki/TNS_Oracle2.pcap", Some(36), 36, 0, None),
    (
        "wireshark-wiki/c06-ldapv3-app-r1.pcap.gz",
        Some(77285),
        77285,
        0,
        None,
    ),
    ("wireshark-wiki/dhcp_big_endian.pcapng", Some(4), 0, 0, None),
    // tshark counts frame 1 as TCP although its data offset is 0 (an
    // invalid header); the slicer rejects it as malformed.
    (
        "wireshark-wiki/ejemplo.pcap",
        Some(2),
        0,
        0,
        Some(WarningKind::Corrupt),
    ),
    ("wireshark-wiki/http.bigendian.ntar", None, 0, 0, None),
    (
        "wireshark-wiki/many_interfaces.pcapng",
        Some(64),
        32,
        0,
        None,
    ),
    (
        "wireshark-wiki/pcapng-example.pcapng",
        Some(631),
        453,
        0,
        None,
    ),
    ("wireshark-wiki/rdp-ssl.pcap.gz", Some(71), 71, 0, None),
    (
        "wireshark-wiki/ssl.dump.pcap",
        Some(14),
        14,
        0,
        Some(WarningKind::Truncated),
    ),
    ("zeek/communityid-tcp.pcap", Some(12), 12, 0, None),
    ("zeek/get-to-ssh-server.pcap", Some(9), 9, 0, None),
    (
        "zeek/modbus-and-non-modbus-p502.pcap",
        Some(86),
        86,
        0,
        None,
    ),
    ("zeek/nla_win7_win2k8r2.pcap", Some(658), 658, 0, None),
    ("zeek/openjdk-25.0.2-zeek.org.pcap", Some(6), 6, 0, None),
    ("zeek/rdp-invalid-length.pcap", Some(7), 7, 0, None),
    ("zeek/rdp-no-cookie-mstshash.pcap", Some(20), 20, 0, None),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        Some(542),
        542,
        0,
        None,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-fail.pcap",
        Some(3356),
        3353,
        0,
        None,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-success.pcap",
        Some(1625),
        744,
        0,
        None,
    ),
    ("zeek/rdp-to-ssl.pcap", Some(658), 658, 0, None),
    ("zeek/rdp-unknown-keyboard.pcap", Some(11), 11, 0, None),
    ("zeek/rdp-x509.pcap", Some(15), 15, 0, None),
    ("zeek/rdpeudp-handshake-fail.pcap", Some(3), 0, 0, None),
    ("zeek/rdpeudp-handshake-success.pcap", Some(10), 0, 0, None),
    ("zeek/rdpeudp2-handshake-success.pcap", Some(10), 0, 0, None),
    ("zeek/truncated-header.pcap", Some(24), 24, 0, None),
];

#[derive(Debug, Default)]
struct Counts {
    frames: u64,
    tcp: u64,
    icmp_errors: u64,
    skips: BTreeMap<String, u64>,
}

fn read(path: &PathBuf) -> (Result<ReadSummary, OpenError>, Counts) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut c = Counts::default();
    let mut last = 0u64;
    let r = read_capture(file, |f| {
        assert!(f.number > last, "frame numbers must increase");
        last = f.number;
        c.frames += 1;
        assert!(
            f.data.len() as u64 <= f.orig_len as u64,
            "frame {}",
            f.number
        );
        match slicer.slice(f) {
            Sliced::Packet(p) => match p.transport {
                Transport::Tcp(t) => {
                    c.tcp += 1;
                    assert!(t.payload.len() as u64 <= t.payload_len as u64);
                }
                Transport::IcmpError(_) => c.icmp_errors += 1,
                Transport::Udp { .. } | Transport::Other { .. } => {}
            },
            Sliced::Skip(s) => *c.skips.entry(format!("{s:?}")).or_default() += 1,
        }
    });
    (r, c)
}

#[test]
fn corpus_counts_match_wireshark() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    let listed: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty())
        .collect();
    let mut failures = Vec::new();
    for file in &listed {
        let Some(&(_, packets, tcp, icmp, ref ending)) = EXPECTED.iter().find(|e| e.0 == *file)
        else {
            failures.push(format!("{file}: listed in MANIFEST.tsv but not in EXPECTED (run scripts/check-corpus-counts.sh)"));
            continue;
        };
        let (r, c) = read(&dir.join(file));
        let got = match (&r, packets) {
            (Err(e), None) => format!("error ({e})"),
            (Ok(s), Some(n)) => {
                let mut bad = Vec::new();
                if s.packets != n {
                    bad.push(format!("packets {} != capinfos {n}", s.packets));
                }
                if c.tcp != tcp {
                    bad.push(format!("tcp {} != tshark {tcp}", c.tcp));
                }
                if c.icmp_errors != icmp {
                    bad.push(format!("icmp errors {} != tshark {icmp}", c.icmp_errors));
                }
                let kind = s.incomplete.as_ref().map(|w| w.kind.clone());
                if kind != *ending {
                    bad.push(format!("incomplete {:?} != {ending:?}", s.incomplete));
                }
                if let Some(w) = &s.incomplete {
                    if !w.message.contains(&format!("byte offset {}", w.offset)) {
                        bad.push(format!("message does not name the offset: {}", w.message));
                    }
                }
                if !bad.is_empty() {
                    failures.push(format!("{file}: {}", bad.join("; ")));
                }
                format!("{} packets, {} tcp, skips {:?}", s.packets, c.tcp, c.skips)
            }
            (r, p) => {
                failures.push(format!(
                    "{file}: got {:?}, capinfos {p:?}",
                    r.as_ref().map(|s| s.packets)
                ));
                String::new()
            }
        };
        println!("{file}: {got}");
    }
    assert!(
        failures.is_empty(),
        "corpus mismatches:\n{}",
        failures.join("\n")
    );
}

/// Files of odd link types and layouts, checked in more detail.
#[test]
fn corpus_link_types_and_slicing_details() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    // Linux SLL, nanosecond pcap.
    let (r, c) = read(&dir.join("tcpdump/tcp-handshake-nano.pcap"));
    let s = r.expect("sll");
    assert_eq!(
        s.link_types,
        vec![(rdptriage::capture::LinkType::LINUX_SLL, 3)]
    );
    assert_eq!(c.tcp, 3);
    // SLL2.
    let (r, c) = read(&dir.join("zeek/openjdk-25.0.2-zeek.org.pcap"));
    assert_eq!(
        r.expect("sll2").link_types[0].0,
        rdptriage::capture::LinkType::LINUX_SLL2
    );
    assert_eq!(c.tcp, 6);
    // Raw IP.
    let (r, c) = read(&dir.join("suricata-verify/tls-pre-1970-input.pcap"));
    assert_eq!(
        r.expect("raw").link_types[0].0,
        rdptriage::capture::LinkType::RAW
    );
    assert_eq!(c.tcp, 17);
    // IPv4 fragments: the second fragment completes the datagram.
    let (r, c) = read(&dir.join("rusticata-pcap-analyzer/frag_tcp_80_ipv4.pcap"));
    assert!(r.expect("frag").incomplete.is_none());
    assert_eq!(c.tcp, 4);
    assert_eq!(c.skips.get(&format!("{:?}", Skip::FragmentHeld)), Some(&1));
    // pcapng: per-interface link types and a Decryption Secrets Block.
    let (r, _) = read(&dir.join("wireshark-wiki/pcapng-example.pcapng"));
    let s = r.expect("pcapng-example");
    assert!(s
        .warnings
        .iter()
        .any(|w| w.kind == WarningKind::DecryptionSecrets));
    let mut links = s.link_types.clone();
    links.sort();
    assert_eq!(
        links,
        vec![
            (rdptriage::capture::LinkType::ETHERNET, 453),
            (rdptriage::capture::LinkType::LINUX_SLL, 178)
        ]
    );
    // Many interfaces, NULL and raw(12) among them.
    let (r, _) = read(&dir.join("wireshark-wiki/many_interfaces.pcapng"));
    let s = r.expect("many_interfaces");
    assert!(matches!(
        s.format,
        rdptriage::capture::CaptureFormat::PcapNg {
            sections: 1,
            interfaces: 11
        }
    ));
    // Gzip gives the same frames as the plain copy.
    let (a, ca) = read(&dir.join("wireshark-wiki/RDP-003.pcap.gz"));
    let (b, cb) = read(&dir.join("suricata-verify/RDP-003.pcap"));
    let (a, b) = (a.expect("gz"), b.expect("plain"));
    assert_eq!(a.compression, rdptriage::capture::Compression::Gzip);
    assert_eq!(
        (a.packets, a.bytes, a.first_ts, a.last_ts),
        (b.packets, b.bytes, b.first_ts, b.last_ts)
    );
    assert_eq!((ca.tcp, ca.frames), (cb.tcp, cb.frames));
    // Snap length 68: every TCP header cut, still sliced.
    let (_, c) = read(&dir.join("zeek/truncated-header.pcap"));
    assert_eq!(c.tcp, 24);
    // Corrupt: stops after 2 packets without allocating 1 GB.
    let (r, c) = read(&dir.join("wireshark-wiki/ejemplo.pcap"));
    let w = r.expect("ejemplo").incomplete.expect("corrupt");
    assert_eq!(
        (w.kind, w.frame, c.frames),
        (WarningKind::Corrupt, Some(3), 2)
    );
    // Cut short in the middle of the 15th packet.
    let (r, c) = read(&dir.join("wireshark-wiki/ssl.dump.pcap"));
    let w = r.expect("ssl.dump").incomplete.expect("truncated");
    assert_eq!(
        (w.kind, w.frame, c.frames),
        (WarningKind::Truncated, Some(15), 14)
    );
    // Timestamps as tshark's frame.time_epoch (first and latest), for
    // nanosecond pcap, nanosecond if_tsresol and default microseconds.
    for (file, first, last) in [
        (
            "tcpdump/tcp-handshake-nano.pcap",
            1_418_145_369_924_505_488,
            1_418_145_370_052_115_157,
        ),
        (
            "wireshark-wiki/pcapng-example.pcapng",
            1_619_344_659_946_616_567,
            1_619_344_682_473_774_107,
        ),
        (
            "wireshark-wiki/many_interfaces.pcapng",
            1_439_753_725_701_607_000,
            1_439_753_728_292_345_000,
        ),
    ] {
        let s = read(&dir.join(file)).0.expect(file);
        assert_eq!(s.first_ts.map(|t| t.nanos()), Some(first), "{file}");
        assert_eq!(s.last_ts.map(|t| t.nanos()), Some(last), "{file}");
    }
    // Not readable at all: an unknown pcapng version.
    assert!(matches!(
        read(&dir.join("wireshark-wiki/http.bigendian.ntar")).0,
        Err(OpenError::Other(_))
    ));
}
