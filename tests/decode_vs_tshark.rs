//! What rdptriage decodes in each RDP connection's set-up, field by field,
//! against what tshark dissects in the same connection.
//!
//! The expectations, `testdata/expected/decoding-tshark.tsv`, are tshark's
//! output, written by `scripts/compare-decoding.sh` (never edited by hand):
//! one row per capture and `tcp.stream`, `-` where tshark shows nothing.
//! Captures labelled `testdata/...` are always checked; `corpus/...` rows
//! only when the public corpus (`../shared/corpus`, or `$RDPTRIAGE_CORPUS`)
//! is present.

use rdptriage::analyze::{analyze_path, Options};
use rdptriage::proto::x224::ConnectionConfirm;
use rdptriage::timeline::Timeline;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod common;

const EXPECTED: &str = "testdata/expected/decoding-tshark.tsv";
const CAPTURES: &str = "testdata/captures";

/// The columns after `capture` and `stream`, in file order.
const COLUMNS: [&str; 22] = [
    "cookie",
    "requested",
    "selected",
    "failure",
    "ch_max_version",
    "sh_version",
    "sh_cipher",
    "cert_cn",
    "cert_not_before",
    "cert_not_after",
    "client_name",
    "client_build",
    "keyboard_layout",
    "desktop_width",
    "desktop_height",
    "cert_version",
    "cert_key_alg",
    "cert_exponent",
    "cert_ca",
    "cert_path_len",
    "alpn",
    "tls_history",
];

/// Fields one side shows and the other legitimately does not: (capture
/// label, stream, column, why). An entry only excuses a `-` on one side; two
/// different values are always a disagreement. Anywhere else a `-` from
/// tshark means we must show nothing too, and the reverse.
const EXCEPTIONS: &[(&str, u64, &str, &str)] = &[
    // The Connection Request (frame 4) is cut at 96 bytes inside the cookie
    // line: tshark shows the cut string "ro"; we decode no partial PDU.
    (
        "testdata/captures/23-snaplen-96.pcap",
        0,
        "cookie",
        "tshark shows the first bytes of a cookie cut by the snap length",
    ),
    // The same in the lab's NLA session captured with -s 96 (frame 4: the
    // cookie "lab" cut after "la").
    (
        "testdata/captures/62-snaplen-96-nla.pcap",
        0,
        "cookie",
        "tshark shows the first bytes of a cookie cut by the snap length",
    ),
    // tshark 4.0 shows the X.509 chain of the Server Security Data
    // ([MS-RDPBCGR] 2.2.1.4.3.1, dwVersion 0x80000002) only as bytes
    // (rdp.serverCertificate). Our values agree with `openssl x509` on the
    // terminal server's certificate extracted from those bytes:
    // CN=ncalrpc:SERVR, 2013-04-05T15:15:55Z .. 2016-12-31T23:59:59Z.
    (
        "corpus/zeek/rdp-x509.pcap",
        0,
        "cert_cn",
        "tshark does not dissect the proprietary X.509 chain",
    ),
    (
        "corpus/zeek/rdp-x509.pcap",
        0,
        "cert_not_before",
        "tshark does not dissect the proprietary X.509 chain",
    ),
    (
        "corpus/zeek/rdp-x509.pcap",
        0,
        "cert_not_after",
        "tshark does not dissect the proprietary X.509 chain",
    ),
    // Zeek's x509.log baseline for this certificate agrees (version 3):
    // tests/zeek_baselines.rs.
    (
        "corpus/zeek/rdp-x509.pcap",
        0,
        "cert_version",
        "tshark does not dissect the proprietary X.509 chain",
    ),
    // Zeek's x509.log baseline for this certificate agrees (md5WithRSAEncryption):
    // tests/zeek_baselines.rs.
    (
        "corpus/zeek/rdp-x509.pcap",
        0,
        "cert_key_alg",
        "tshark does not dissect the proprietary X.509 chain",
    ),
    // Zeek's x509.log baseline for this certificate agrees (exponent 65537):
    // tests/zeek_baselines.rs.
    (
        "corpus/zeek/rdp-x509.pcap",
        0,
        "cert_exponent",
        "tshark does not dissect the proprietary X.509 chain",
    ),
];

/// The file a capture label names, or None for a corpus row without corpus.
fn path_of(label: &str) -> Option<PathBuf> {
    match label.strip_prefix("corpus/") {
        Some(rel) => common::corpus_dir().map(|dir| dir.join(rel)),
        None => Some(PathBuf::from(label)),
    }
}

/// Every capture the check covers: the lab's, and the corpus files whose
/// MANIFEST.tsv entry says they carry TCP connections on an RDP port.
fn capture_labels() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(CAPTURES)
        .expect("testdata/captures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".pcap"))
        .map(|n| format!("{CAPTURES}/{n}"))
        .collect();
    v.sort();
    let manifest = common::corpus_dir().map(|dir| dir.join("MANIFEST.tsv"));
    if let Some(Ok(text)) = manifest.map(std::fs::read_to_string) {
        let mut c: Vec<String> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                let conns = cols.get(7)?;
                let tcp = conns
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("tcp="))?;
                let file = cols.first()?;
                (tcp.parse::<u32>().ok()? > 0).then(|| format!("corpus/{file}"))
            })
            .collect();
        c.sort();
        v.extend(c);
    }
    v
}

fn hex8(v: u32) -> String {
    format!("0x{v:08x}")
}
fn hex4(v: u16) -> String {
    format!("0x{v:04x}")
}

/// The common names in a subject as x509-parser prints it (`C=.., CN=..`).
fn cns(subject: &str) -> String {
    let v: Vec<&str> = subject
        .split(", ")
        .flat_map(|rdn| rdn.split(" + "))
        .filter_map(|a| a.strip_prefix("CN="))
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(";")
    }
}

/// Our decoding of one connection, normalised as the script normalises
/// tshark's.
fn ours(t: &Timeline) -> BTreeMap<&'static str, String> {
    let mut m: BTreeMap<&'static str, String> =
        COLUMNS.iter().map(|c| (*c, "-".to_string())).collect();
    let mut set = |k: &'static str, v: String| {
        m.insert(k, v);
    };
    if let Some((_, cr)) = t.connection_request() {
        if let Some(c) = cr.cookie.as_ref().or(cr.routing_token.as_ref()) {
            set("cookie", c.clone());
        }
        if let Some(n) = &cr.neg_req {
            set("requested", hex8(n.requested.0));
        }
    }
    match t.connection_confirm() {
        Some((_, ConnectionConfirm::Selected { selected, .. })) => {
            set("selected", hex8(selected.0))
        }
        Some((_, ConnectionConfirm::Failure { code })) => set("failure", hex8(code.0)),
        _ => {}
    }
    if let Some((_, ch)) = t.client_hello() {
        set("ch_max_version", hex4(ch.max_version().0));
    }
    if let Some((_, sh)) = t.server_hello() {
        set("sh_version", hex4(sh.version.0));
        set("sh_cipher", hex4(sh.cipher_suite));
        if let Some(p) = &sh.alpn {
            set("alpn", p.clone());
        }
    }
    if let Some((_, chain)) = t.certificates() {
        if let Some(leaf) = chain.first() {
            set("cert_cn", cns(&leaf.subject));
            set("cert_not_before", leaf.not_before.to_string());
            set("cert_not_after", leaf.not_after.to_string());
            set("cert_version", leaf.version.to_string());
            set("cert_key_alg", leaf.key_algorithm_oid.clone());
            if let Some(e) = leaf.key_exponent {
                set("cert_exponent", e.to_string());
            }
            if let Some(bc) = leaf.basic_constraints {
                set("cert_ca", bc.ca.to_string());
                if let Some(n) = bc.path_len {
                    set("cert_path_len", n.to_string());
                }
            }
        }
    }
    let history = t.tls_history();
    if !history.is_empty() {
        set("tls_history", history);
    }
    if let Some(core) = t.client_gcc().and_then(|(_, g)| g.core.as_ref()) {
        set("client_name", core.client_name.clone());
        set("client_build", core.client_build.to_string());
        set("keyboard_layout", hex8(core.keyboard_layout));
        set("desktop_width", core.desktop_width.to_string());
        set("desktop_height", core.desktop_height.to_string());
    }
    m
}

/// Connections rdptriage reports in one capture: stream -> our row.
fn analyse(path: &Path) -> BTreeMap<u64, (u16, BTreeMap<&'static str, String>)> {
    let r = analyze_path(&path.to_string_lossy(), &Options::default());
    r.connections
        .iter()
        .map(|c| {
            let t = &c.timeline;
            (t.stream, (t.endpoints.server.port(), ours(t)))
        })
        .collect()
}

/// For scripts/compare-decoding.sh: the connections to ask tshark about.
#[test]
#[ignore]
fn print_streams() {
    for label in capture_labels() {
        let Some(path) = path_of(&label) else {
            continue;
        };
        for (stream, (port, _)) in analyse(&path) {
            println!("STREAM\t{label}\t{stream}\t{port}");
        }
    }
}

struct Expected {
    /// capture label -> stream -> column -> tshark's value.
    rows: BTreeMap<String, BTreeMap<u64, BTreeMap<String, String>>>,
}

fn read_expected() -> Expected {
    let text = std::fs::read_to_string(EXPECTED).expect("testdata/expected/decoding-tshark.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let mut want = vec!["capture", "stream"];
    want.extend(COLUMNS);
    assert_eq!(header, want, "{EXPECTED}: unexpected header");
    let mut rows: BTreeMap<String, BTreeMap<u64, BTreeMap<String, String>>> = BTreeMap::new();
    for (i, l) in lines.enumerate() {
        let cols: Vec<&str> = l.split('\t').collect();
        assert_eq!(cols.len(), header.len(), "{EXPECTED} line {}: {l}", i + 2);
        let stream: u64 = cols[1].parse().expect("stream number");
        let fields = header[2..]
            .iter()
            .zip(&cols[2..])
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        rows.entry(cols[0].to_string())
            .or_default()
            .insert(stream, fields);
    }
    Expected { rows }
}

#[test]
fn decoding_agrees_with_tshark() {
    let expected = read_expected();
    let corpus_present = common::corpus_dir().is_some();
    if !corpus_present {
        common::skip_note("corpus rows");
    }
    let mut problems: Vec<String> = Vec::new();
    let mut used_exceptions: BTreeSet<usize> = BTreeSet::new();
    let (mut captures, mut connections, mut compared) = (0usize, 0usize, 0usize);

    // Every capture covered must have its rows, and no rows may name
    // captures that are not covered.
    let labels = capture_labels();
    for label in expected.rows.keys() {
        let checked = !label.starts_with("corpus/") || corpus_present;
        if checked && !labels.contains(label) {
            problems.push(format!("{label}: in {EXPECTED} but not a covered capture"));
        }
    }

    for label in &labels {
        let Some(path) = path_of(label) else { continue };
        captures += 1;
        let ours_by_stream = analyse(&path);
        let empty = BTreeMap::new();
        let theirs_by_stream = expected.rows.get(label).unwrap_or(&empty);
        let streams: BTreeSet<u64> = ours_by_stream
            .keys()
            .chain(theirs_by_stream.keys())
            .copied()
            .collect();
        for stream in streams {
            let (Some((_, ours)), Some(theirs)) =
                (ours_by_stream.get(&stream), theirs_by_stream.get(&stream))
            else {
                problems.push(format!(
                    "{label} stream {stream}: {}",
                    if ours_by_stream.contains_key(&stream) {
                        "reported by rdptriage, no row in the expectations (re-run the script)"
                    } else {
                        "row in the expectations, not reported by rdptriage"
                    }
                ));
                continue;
            };
            connections += 1;
            for col in COLUMNS {
                compared += 1;
                let o = &ours[col];
                let t = &theirs[col];
                if o == t {
                    continue;
                }
                let exc = EXCEPTIONS
                    .iter()
                    .position(|(l, s, c, _)| *l == label && *s == stream && *c == col);
                match exc {
                    Some(i) if t == "-" || o == "-" => {
                        used_exceptions.insert(i);
                    }
                    _ => problems.push(format!(
                        "{label} stream {stream} {col}: ours {o:?}, tshark {t:?}"
                    )),
                }
            }
        }
    }
    for (i, (l, s, c, why)) in EXCEPTIONS.iter().enumerate() {
        let checked = !l.starts_with("corpus/") || corpus_present;
        if checked && !used_exceptions.contains(&i) {
            problems.push(format!(
                "exception not needed any more: {l} stream {s} {c} ({why})"
            ));
        }
    }
    eprintln!(
        "decode_vs_tshark: {captures} captures, {connections} connections, {compared} fields compared, {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} disagreements with tshark:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
