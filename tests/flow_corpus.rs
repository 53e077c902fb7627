//! The flow stage against Wireshark on the public corpus.
//!
//! For every capture of `../shared/corpus` (MANIFEST.tsv), the port-3389
//! TCP connections found by `capture::read_capture` + `packet::Slicer` +
//! `flow::FlowTable` must be the ones `tshark -q -z conv,tcp` reports:
//! same `tcp.stream` index, endpoints, and packets and frame bytes each
//! way; the same reassembled bytes as `tshark -z follow,tcp,raw`; the same
//! TCP analysis counts (retransmissions, lost segments, duplicate ACKs...).
//! Over all ports, every TCP frame must get tshark's `tcp.stream`. The
//! expected rows were taken from tshark 4.0.17;
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
type Row = (
    &'static str,
    u64,
    &'static str,
    &'static str,
    u64,
    u64,
    u64,
    u64,
);

/// The same, owned, for comparison.
type OwnedRow = (String, u64, String, String, u64, u64, u64, u64);

const EXPECTED: &[Row] = &[
    (
        "suricata-verify/RDP-003.pcap",
        0,
        "10.226.41.226:13178",
        "10.226.29.74:3389",
        218,
        49818,
        211,
        39196,
    ),
    (
        "wireshark-wiki/MINET-SAC-Traces.pcap",
        0,
        "10.112.75.222:3389",
        "10.112.91.55:4400",
        137,
        13350,
        134,
        8040,
    ),
    (
        "wireshark-wiki/RDP-002.pcap.gz",
        0,
        "10.226.41.226:10446",
        "10.226.24.52:3389",
        207,
        19373,
        241,
        104420,
    ),
    (
        "wireshark-wiki/RDP-003.pcap.gz",
        0,
        "10.226.41.226:13178",
        "10.226.29.74:3389",
        218,
        49818,
        211,
        39196,
    ),
    (
        "wireshark-wiki/RDP-004.pcap.gz",
        0,
        "172.21.128.16:1311",
        "10.226.24.52:3389",
        4,
        275,
        4,
        247,
    ),
    (
        "wireshark-wiki/RDP-004.pcap.gz",
        1,
        "172.21.128.16:1312",
        "10.226.24.52:3389",
        239,
        41244,
        295,
        92448,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        3,
        "10.102.81.22:15670",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        6,
        "10.103.24.35:50185",
        "10.102.81.51:3389",
        355,
        39022,
        259,
        32339,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        7,
        "10.103.24.35:7936",
        "200.200.201.11:3389",
        355,
        39022,
        259,
        32339,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        9,
        "10.102.81.22:24065",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        14,
        "10.102.81.22:3352",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        21,
        "10.102.81.22:6714",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        25,
        "10.102.81.22:6955",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        29,
        "10.102.81.22:3513",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        35,
        "10.102.81.22:13294",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        39,
        "10.102.81.22:3955",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        46,
        "10.102.81.22:20681",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        49,
        "10.102.81.22:9834",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        51,
        "10.102.81.22:12754",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        54,
        "10.102.81.22:3164",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        57,
        "10.102.81.22:5442",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        61,
        "10.102.81.22:17576",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        65,
        "10.102.81.22:1752",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        66,
        "10.102.81.22:19204",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        70,
        "10.102.81.22:4615",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        71,
        "10.102.81.22:1404",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        75,
        "10.102.81.22:28339",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        76,
        "10.102.81.22:14485",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        80,
        "10.102.81.22:7945",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        83,
        "10.102.81.22:12766",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        85,
        "10.102.81.22:12392",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        88,
        "10.102.81.22:16296",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        91,
        "10.102.81.22:4805",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        94,
        "10.102.81.22:6976",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        96,
        "10.102.81.22:4830",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        99,
        "10.102.81.22:4039",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        101,
        "10.102.81.22:9117",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        105,
        "10.102.81.22:1291",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        110,
        "10.102.81.22:5692",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        114,
        "10.102.81.22:15722",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        118,
        "10.102.81.22:17750",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        119,
        "10.102.81.22:5924",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        123,
        "10.102.81.22:10444",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        124,
        "10.102.81.22:1479",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        129,
        "10.102.81.22:24448",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        130,
        "10.102.81.22:1752",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        134,
        "10.102.81.22:3658",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        135,
        "10.102.81.22:24006",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        139,
        "10.102.81.22:20760",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        143,
        "10.102.81.22:4204",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        146,
        "10.102.81.22:14445",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        149,
        "10.102.81.22:6015",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        153,
        "10.102.81.22:4721",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        156,
        "10.102.81.22:11575",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        158,
        "10.102.81.22:11986",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        162,
        "10.102.81.22:1930",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        165,
        "10.102.81.22:6494",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        167,
        "10.102.81.22:7315",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        172,
        "10.102.81.22:5279",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        175,
        "10.102.81.22:17447",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        178,
        "10.102.81.22:12824",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        181,
        "10.102.81.22:11625",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        184,
        "10.102.81.22:10802",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        188,
        "10.102.81.22:7936",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        193,
        "10.102.81.22:1919",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        194,
        "10.102.81.22:24812",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        198,
        "10.102.81.22:2263",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        201,
        "10.102.81.22:13031",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        203,
        "10.102.81.22:14719",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        206,
        "10.102.81.22:9117",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        209,
        "10.102.81.22:14944",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        212,
        "10.102.81.22:14485",
        "200.200.201.11:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        215,
        "10.102.81.22:6494",
        "200.200.201.13:3389",
        2,
        120,
        3,
        166,
    ),
    (
        "wireshark-wiki/c06-ldapv3-app-r1.pcap.gz",
        3311,
        "192.168.0.2:3389",
        "192.168.0.1:389",
        26,
        34466,
        9,
        548,
    ),
    (
        "wireshark-wiki/rdp-ssl.pcap.gz",
        0,
        "192.168.1.109:49181",
        "10.0.2.15:3389",
        42,
        6660,
        29,
        13802,
    ),
    (
        "zeek/nla_win7_win2k8r2.pcap",
        0,
        "192.168.1.200:49206",
        "192.168.1.150:3389",
        9,
        2010,
        10,
        2195,
    ),
    (
        "zeek/nla_win7_win2k8r2.pcap",
        1,
        "192.168.1.200:49207",
        "192.168.1.150:3389",
        236,
        27433,
        403,
        92792,
    ),
    (
        "zeek/rdp-invalid-length.pcap",
        0,
        "10.0.0.1:45257",
        "10.0.0.2:3389",
        4,
        666,
        3,
        263,
    ),
    (
        "zeek/rdp-no-cookie-mstshash.pcap",
        0,
        "10.128.36.245:50204",
        "10.132.153.76:3389",
        12,
        1664,
        8,
        2340,
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        0,
        "172.21.128.16:1311",
        "10.226.24.52:3389",
        4,
        275,
        4,
        247,
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        1,
        "172.21.128.16:1312",
        "10.226.24.52:3389",
        239,
        41244,
        295,
        92448,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-fail.pcap",
        0,
        "192.168.38.1:49541",
        "192.168.38.102:3389",
        1899,
        174205,
        1454,
        1093276,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-success.pcap",
        0,
        "[::1]:55275",
        "[::1]:3389",
        373,
        43207,
        371,
        43161,
    ),
    (
        "zeek/rdp-to-ssl.pcap",
        0,
        "192.168.1.200:49206",
        "192.168.1.150:3389",
        9,
        2010,
        10,
        2195,
    ),
    (
        "zeek/rdp-to-ssl.pcap",
        1,
        "192.168.1.200:49207",
        "192.168.1.150:3389",
        236,
        27433,
        403,
        92792,
    ),
    (
        "zeek/rdp-unknown-keyboard.pcap",
        0,
        "192.168.1.1:54990",
        "192.168.1.2:3389",
        6,
        894,
        5,
        338,
    ),
    (
        "zeek/rdp-x509.pcap",
        0,
        "192.168.1.1:54990",
        "192.168.1.2:3389",
        7,
        960,
        8,
        1911,
    ),
];

/// (file, distinct tcp.stream values over all ports, TCP frames, FNV-1a
/// 64 digest of the lines "FRAME STREAM\n" of every TCP frame as
/// `tshark -Y 'tcp && !icmp && !icmpv6' -T fields -e frame.number -e
/// tcp.stream` prints them).
const STREAMS: &[(&str, u64, u64, u64)] = &[
    ("arkime/bigendian.pcap", 0, 0, 0xcbf29ce484222325),
    ("arkime/empty.pcap", 0, 0, 0xcbf29ce484222325),
    (
        "rusticata-pcap-analyzer/frag_tcp_80_ipv4.pcap",
        2,
        4,
        0x10287dedf68ea8ff,
    ),
    (
        "rusticata-pcap-analyzer/nmap_tcp_22_ipv6.pcap",
        5,
        10,
        0x7328fffc96b71769,
    ),
    (
        "rusticata-pcap-parser/modified-format.pcap",
        0,
        0,
        0xcbf29ce484222325,
    ),
    ("suricata-verify/RDP-003.pcap", 2, 435, 0x24cc5a83f78efe75),
    (
        "suricata-verify/tls-pre-1970-input.pcap",
        1,
        17,
        0xea860bd3eca0b6d2,
    ),
    ("tcpdump/tcp-handshake-nano.pcap", 1, 3, 0x622fe8136e7a9aff),
    ("wireshark-wiki/ED01Moving.pcap", 0, 0, 0xcbf29ce484222325),
    (
        "wireshark-wiki/MINET-SAC-Traces.pcap",
        21,
        903,
        0x481f05a9163d8b59,
    ),
    ("wireshark-wiki/RDP-002.pcap.gz", 1, 448, 0xc815aa6586a6ee97),
    ("wireshark-wiki/RDP-003.pcap.gz", 2, 435, 0x24cc5a83f78efe75),
    ("wireshark-wiki/RDP-004.pcap.gz", 2, 542, 0x9fcce9d4e7a532c3),
    ("wireshark-wiki/SASP.pcap", 219, 4499, 0x6f5580861bc887f8),
    ("wireshark-wiki/TNS_Oracle2.pcap", 1, 36, 0x2ab10e4f5aca0c20),
    (
        "wireshark-wiki/c06-ldapv3-app-r1.pcap.gz",
        6689,
        77285,
        0x47ddbd0b5ff50434,
    ),
    (
        "wireshark-wiki/dhcp_big_endian.pcapng",
        0,
        0,
        0xcbf29ce484222325,
    ),
    ("wireshark-wiki/ejemplo.pcap", 1, 1, 0x988703f1476ae152),
    (
        "wireshark-wiki/http.bigendian.ntar",
        0,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/many_interfaces.pcapng",
        2,
        32,
        0xc9f5c96f7839ecc8,
    ),
    (
        "wireshark-wiki/pcapng-example.pcapng",
        2,
        453,
        0x0aa6e424ac89916a,
    ),
    ("wireshark-wiki/rdp-ssl.pcap.gz", 1, 71, 0xfeef4355a7b21def),
    ("wireshark-wiki/ssl.dump.pcap", 1, 14, 0x18dd85c33cd44cbb),
    ("zeek/communityid-tcp.pcap", 1, 12, 0x9474717baf553de0),
    ("zeek/get-to-ssh-server.pcap", 1, 9, 0x875f8b3457e03b4a),
    (
        "zeek/modbus-and-non-modbus-p502.pcap",
        7,
        86,
        0xcd9414cceea17772,
    ),
    ("zeek/nla_win7_win2k8r2.pcap", 2, 658, 0xf603f98685a6622e),
    (
        "zeek/openjdk-25.0.2-zeek.org.pcap",
        1,
        6,
        0x491cbb10422cd55a,
    ),
    ("zeek/rdp-invalid-length.pcap", 1, 7, 0xee83853098e03aef),
    (
        "zeek/rdp-no-cookie-mstshash.pcap",
        1,
        20,
        0x3ef88e5a926e4a7f,
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        2,
        542,
        0x9fcce9d4e7a532c3,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-fail.pcap",
        1,
        3353,
        0x97f1261671373399,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-success.pcap",
        1,
        744,
        0x9531e605f7d48c17,
    ),
    ("zeek/rdp-to-ssl.pcap", 2, 658, 0xf603f98685a6622e),
    ("zeek/rdp-unknown-keyboard.pcap", 1, 11, 0x903c20ae8a4665e5),
    ("zeek/rdp-x509.pcap", 1, 15, 0xb729e18da47e1a59),
    ("zeek/rdpeudp-handshake-fail.pcap", 0, 0, 0xcbf29ce484222325),
    (
        "zeek/rdpeudp-handshake-success.pcap",
        0,
        0,
        0xcbf29ce484222325,
    ),
    (
        "zeek/rdpeudp2-handshake-success.pcap",
        0,
        0,
        0xcbf29ce484222325,
    ),
    ("zeek/truncated-header.pcap", 1, 24, 0xe1cb407b677ff627),
];

/// TCP analysis of the port-3389 connections, as tshark flags frames:
/// (file, retransmissions (`tcp.analysis.retransmission`, fast or
/// spurious ones included, SYN and SYN/ACK repeats included),
/// segments above a hole (`tcp.analysis.lost_segment`: our OutOfOrder),
/// third and later duplicate ACKs (`tcp.analysis.duplicate_ack_num >= 3`),
/// keep-alives, zero windows, zero-window probes).
const ANALYSIS: &[(&str, u64, u64, u64, u64, u64, u64)] = &[
    ("suricata-verify/RDP-003.pcap", 0, 0, 0, 0, 0, 0),
    ("wireshark-wiki/MINET-SAC-Traces.pcap", 0, 0, 0, 0, 0, 0),
    ("wireshark-wiki/RDP-002.pcap.gz", 17, 12, 11, 0, 0, 0),
    ("wireshark-wiki/RDP-003.pcap.gz", 0, 0, 0, 0, 0, 0),
    ("wireshark-wiki/RDP-004.pcap.gz", 0, 9, 0, 0, 0, 0),
    ("wireshark-wiki/SASP.pcap", 0, 0, 0, 0, 0, 0),
    ("wireshark-wiki/c06-ldapv3-app-r1.pcap.gz", 0, 0, 0, 0, 0, 0),
    ("wireshark-wiki/rdp-ssl.pcap.gz", 0, 0, 0, 0, 0, 0),
    ("zeek/modbus-and-non-modbus-p502.pcap", 0, 0, 0, 0, 0, 0),
    ("zeek/nla_win7_win2k8r2.pcap", 0, 0, 0, 0, 0, 0),
    ("zeek/rdp-invalid-length.pcap", 0, 0, 0, 0, 0, 0),
    ("zeek/rdp-no-cookie-mstshash.pcap", 8, 0, 0, 0, 0, 0),
    ("zeek/rdp-proprietary-encryption.pcap", 0, 9, 0, 0, 0, 0),
    ("zeek/rdp-rdpeudp-handshake-fail.pcap", 1, 0, 0, 0, 0, 0),
    ("zeek/rdp-rdpeudp-handshake-success.pcap", 0, 0, 0, 0, 0, 0),
    ("zeek/rdp-to-ssl.pcap", 0, 0, 0, 0, 0, 0),
    ("zeek/rdp-unknown-keyboard.pcap", 4, 0, 0, 0, 0, 0),
    ("zeek/rdp-x509.pcap", 4, 0, 0, 0, 0, 0),
];

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

/// Reassembled bytes of the port-3389 connections, as `tshark -q -z
/// follow,tcp,raw,STREAM` prints them: (file, tcp.stream, node 0 (the
/// first packet's source), bytes from node 0, their FNV-1a 64 digest,
/// bytes from node 1, their digest).
const FOLLOW: &[(&str, u64, &str, u64, u64, u64, u64)] = &[
    (
        "suricata-verify/RDP-003.pcap",
        0,
        "10.226.41.226:13178",
        38038,
        0xdf2ac49be760b544,
        27218,
        0x5cfc816f76149798,
    ),
    (
        "wireshark-wiki/MINET-SAC-Traces.pcap",
        0,
        "10.112.75.222:3389",
        5952,
        0x385faf8837a91e97,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/RDP-002.pcap.gz",
        0,
        "10.226.41.226:10446",
        7607,
        0x4e7e8109c93b710a,
        87653,
        0x9e21b13dcd60091d,
    ),
    (
        "wireshark-wiki/RDP-003.pcap.gz",
        0,
        "10.226.41.226:13178",
        38038,
        0xdf2ac49be760b544,
        27218,
        0x5cfc816f76149798,
    ),
    (
        "wireshark-wiki/RDP-004.pcap.gz",
        0,
        "172.21.128.16:1311",
        47,
        0x2bf4a24f94964e82,
        19,
        0xa8613d1296f8d648,
    ),
    (
        "wireshark-wiki/RDP-004.pcap.gz",
        1,
        "172.21.128.16:1312",
        28206,
        0xb30fbbb95a69c0e5,
        76506,
        0x7470275aef2515cb,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        3,
        "10.102.81.22:15670",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        6,
        "10.103.24.35:50185",
        19852,
        0x4e45cd25f03575ec,
        18353,
        0x87217af8ba2de3f8,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        7,
        "10.103.24.35:7936",
        19852,
        0x4e45cd25f03575ec,
        18353,
        0x87217af8ba2de3f8,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        9,
        "10.102.81.22:24065",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        14,
        "10.102.81.22:3352",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        21,
        "10.102.81.22:6714",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        25,
        "10.102.81.22:6955",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        29,
        "10.102.81.22:3513",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        35,
        "10.102.81.22:13294",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        39,
        "10.102.81.22:3955",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        46,
        "10.102.81.22:20681",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        49,
        "10.102.81.22:9834",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        51,
        "10.102.81.22:12754",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        54,
        "10.102.81.22:3164",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        57,
        "10.102.81.22:5442",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        61,
        "10.102.81.22:17576",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        65,
        "10.102.81.22:1752",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        66,
        "10.102.81.22:19204",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        70,
        "10.102.81.22:4615",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        71,
        "10.102.81.22:1404",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        75,
        "10.102.81.22:28339",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        76,
        "10.102.81.22:14485",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        80,
        "10.102.81.22:7945",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        83,
        "10.102.81.22:12766",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        85,
        "10.102.81.22:12392",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        88,
        "10.102.81.22:16296",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        91,
        "10.102.81.22:4805",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        94,
        "10.102.81.22:6976",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        96,
        "10.102.81.22:4830",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        99,
        "10.102.81.22:4039",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        101,
        "10.102.81.22:9117",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        105,
        "10.102.81.22:1291",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        110,
        "10.102.81.22:5692",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        114,
        "10.102.81.22:15722",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        118,
        "10.102.81.22:17750",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        119,
        "10.102.81.22:5924",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        123,
        "10.102.81.22:10444",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        124,
        "10.102.81.22:1479",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        129,
        "10.102.81.22:24448",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        130,
        "10.102.81.22:1752",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        134,
        "10.102.81.22:3658",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        135,
        "10.102.81.22:24006",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        139,
        "10.102.81.22:20760",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        143,
        "10.102.81.22:4204",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        146,
        "10.102.81.22:14445",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        149,
        "10.102.81.22:6015",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        153,
        "10.102.81.22:4721",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        156,
        "10.102.81.22:11575",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        158,
        "10.102.81.22:11986",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        162,
        "10.102.81.22:1930",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        165,
        "10.102.81.22:6494",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        167,
        "10.102.81.22:7315",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        172,
        "10.102.81.22:5279",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        175,
        "10.102.81.22:17447",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        178,
        "10.102.81.22:12824",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        181,
        "10.102.81.22:11625",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        184,
        "10.102.81.22:10802",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        188,
        "10.102.81.22:7936",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        193,
        "10.102.81.22:1919",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        194,
        "10.102.81.22:24812",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        198,
        "10.102.81.22:2263",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        201,
        "10.102.81.22:13031",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        203,
        "10.102.81.22:14719",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        206,
        "10.102.81.22:9117",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        209,
        "10.102.81.22:14944",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        212,
        "10.102.81.22:14485",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/SASP.pcap",
        215,
        "10.102.81.22:6494",
        0,
        0xcbf29ce484222325,
        0,
        0xcbf29ce484222325,
    ),
    (
        "wireshark-wiki/c06-ldapv3-app-r1.pcap.gz",
        3311,
        "192.168.0.2:3389",
        33042,
        0x19a0154c6105f756,
        14,
        0x66ef1a4340ecebfe,
    ),
    (
        "wireshark-wiki/rdp-ssl.pcap.gz",
        0,
        "192.168.1.109:49181",
        4248,
        0xed5121292eb396cb,
        12236,
        0xc8c2c10debdc6c36,
    ),
    (
        "zeek/nla_win7_win2k8r2.pcap",
        0,
        "192.168.1.200:49206",
        1512,
        0x31672a3226b47183,
        1619,
        0xef0004fd59338476,
    ),
    (
        "zeek/nla_win7_win2k8r2.pcap",
        1,
        "192.168.1.200:49207",
        14681,
        0xd6426ebabb23c39b,
        70854,
        0x8c82f09dbbbf0370,
    ),
    (
        "zeek/rdp-invalid-length.pcap",
        0,
        "10.0.0.1:45257",
        438,
        0x74c0da5453988cce,
        95,
        0x35c164724cd95b9f,
    ),
    (
        "zeek/rdp-no-cookie-mstshash.pcap",
        0,
        "10.128.36.245:50204",
        484,
        0xeaf78127100d59e2,
        942,
        0x3f95c3ca8f8bcb13,
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        0,
        "172.21.128.16:1311",
        47,
        0x2bf4a24f94964e82,
        19,
        0xa8613d1296f8d648,
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        1,
        "172.21.128.16:1312",
        28206,
        0xb30fbbb95a69c0e5,
        76506,
        0x7470275aef2515cb,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-fail.pcap",
        0,
        "192.168.38.1:49541",
        48816,
        0x9add916e0747e7ad,
        997304,
        0x3228f747d764b88b,
    ),
    (
        "zeek/rdp-rdpeudp-handshake-success.pcap",
        0,
        "[::1]:55275",
        15593,
        0x88d561f6a89e3832,
        15695,
        0x3976719772779de8,
    ),
    (
        "zeek/rdp-to-ssl.pcap",
        0,
        "192.168.1.200:49206",
        1512,
        0x31672a3226b47183,
        1619,
        0xef0004fd59338476,
    ),
    (
        "zeek/rdp-to-ssl.pcap",
        1,
        "192.168.1.200:49207",
        14681,
        0xd6426ebabb23c39b,
        70854,
        0x8c82f09dbbbf0370,
    ),
    (
        "zeek/rdp-unknown-keyboard.pcap",
        0,
        "192.168.1.1:54990",
        493,
        0x5bd0b7516216f763,
        19,
        0x3deb18fd6f3735fb,
    ),
    (
        "zeek/rdp-x509.pcap",
        0,
        "192.168.1.1:54990",
        493,
        0xf7aa1392af408dc4,
        1424,
        0xc2cfc593cc5ae819,
    ),
];

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
    for file in manifest(&dir) {
        let got = run(&dir.join(&file), false);
        let ours: BTreeSet<_> = our_rows(&file, &got.conns)
            .into_iter()
            .map(canonical)
            .collect();
        let theirs: BTreeSet<_> = EXPECTED
            .iter()
            .filter(|r| r.0 == file)
            .map(|r| {
                canonical((
                    r.0.to_string(),
                    r.1,
                    r.2.to_string(),
                    r.3.to_string(),
                    r.4,
                    r.5,
                    r.6,
                    r.7,
                ))
            })
            .collect();
        if ours != theirs {
            failures.push(format!(
                "{file}: only tshark {:?}, only ours {:?}",
                theirs.difference(&ours).collect::<Vec<_>>(),
                ours.difference(&theirs).collect::<Vec<_>>()
            ));
        }
        match STREAMS.iter().find(|s| s.0 == file) {
            None => failures.push(format!("{file}: not in STREAMS")),
            Some(&(_, streams, frames, digest)) => {
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
        for &(_, stream, node0, len0, fnv0, len1, fnv1) in FOLLOW.iter().filter(|r| r.0 == file) {
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
        let want = ANALYSIS
            .iter()
            .find(|r| r.0 == file)
            .map_or((0, 0, 0, 0, 0, 0), |r| (r.1, r.2, r.3, r.4, r.5, r.6));
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
