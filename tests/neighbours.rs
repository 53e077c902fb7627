//! The neighbours of RDP connections (DNS, Kerberos, RDP-UDP) against
//! independent oracles:
//! - what tshark reads in each neighbour message of the lab's neighbour
//!   captures and of the public RDP-UDP captures
//!   (`testdata/expected/neighbours-tshark.tsv`, written by
//!   `scripts/neighbours-from-tshark.sh`);
//! - the labels of the lab's attempts (`testdata/captures/neighbours/
//!   labels.tsv`), written from what each scenario of
//!   `testdata/lab/make-neighbour-captures.sh` and
//!   `testdata/lab/make-redirect-captures.sh` did.

mod common;

use rdptriage::analyze::{analyze_path, FileResult, Options};
use rdptriage::diagnose::Confidence;
use rdptriage::proto::neighbour::{SideMessage, UdpKind};
use std::path::PathBuf;

const LAB: &str = "testdata/captures/neighbours";

fn path_of(file: &str) -> Option<PathBuf> {
    match file.strip_prefix("corpus/") {
        Some(rel) => common::corpus_dir().map(|d| d.join(rel)),
        None => Some(PathBuf::from("testdata/captures").join(file)),
    }
}

fn analyze(p: &std::path::Path) -> FileResult {
    let r = analyze_path(&p.to_string_lossy(), &Options::default());
    assert!(r.complete(), "{}: {:?}", p.display(), r.read);
    r
}

/// Rows of a TSV, without comments and header.
fn rows(path: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect(path);
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// What rdptriage read at one frame, in the terms of the TSV: (protocol,
/// code, name).
fn ours(r: &FileResult, frame: u64) -> Vec<(String, String, String)> {
    r.side
        .neighbours
        .events
        .iter()
        .filter(|e| e.frame == frame)
        .filter_map(|e| match &e.msg {
            SideMessage::Kerberos(m) => {
                let msg_type = match m.kind {
                    rdptriage::proto::neighbour::KrbKind::AsReq => 10,
                    rdptriage::proto::neighbour::KrbKind::AsRep => 11,
                    rdptriage::proto::neighbour::KrbKind::TgsReq => 12,
                    rdptriage::proto::neighbour::KrbKind::TgsRep => 13,
                    rdptriage::proto::neighbour::KrbKind::Error => 30,
                };
                let code = m.error.map_or("-".to_string(), |c| c.0.to_string());
                Some(("kerberos".into(), code, msg_type.to_string()))
            }
            SideMessage::Dns(m) if m.response => Some((
                "dns".into(),
                m.rcode.0.to_string(),
                m.name.clone().unwrap_or_default(),
            )),
            SideMessage::RdpUdp(h) if h.kind != UdpKind::Other => Some((
                "rdpudp".into(),
                format!("0x{:04x}", h.flags),
                h.version.map_or("-".to_string(), |v| format!("0x{v:04x}")),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn neighbour_messages_decode_as_tshark_reads_them() {
    let expected = rows("testdata/expected/neighbours-tshark.tsv");
    assert!(expected.len() > 90, "{} rows", expected.len());
    let mut files: Vec<&str> = expected.iter().map(|r| r[0].as_str()).collect();
    files.dedup();
    let mut checked = 0;
    for file in files {
        let Some(p) = path_of(file) else {
            common::skip_note("RDP-UDP corpus rows");
            continue;
        };
        let r = analyze(&p);
        let want: Vec<&Vec<String>> = expected.iter().filter(|x| x[0] == file).collect();
        for w in &want {
            let frame: u64 = w[1].parse().unwrap();
            let got = ours(&r, frame);
            let row = (w[2].clone(), w[3].clone(), w[4].clone());
            assert!(
                got.contains(&row),
                "{file} frame {frame}: tshark {row:?}, we {got:?}"
            );
            checked += 1;
        }
        // Nothing decoded that tshark does not show.
        let frames: Vec<u64> = want.iter().map(|w| w[1].parse().unwrap()).collect();
        for e in &r.side.neighbours.events {
            let shown = match &e.msg {
                SideMessage::Kerberos(_) => true,
                SideMessage::Dns(m) => m.response,
                SideMessage::RdpUdp(h) => h.kind != UdpKind::Other,
                SideMessage::Undecoded { .. } => true,
            };
            assert!(
                !shown || frames.contains(&e.frame),
                "{file}: frame {} {}",
                e.frame,
                e.msg
            );
        }
    }
    assert!(checked >= 80, "{checked} rows checked");
}

fn confidence(s: &str) -> Option<Confidence> {
    match s {
        "low" => Some(Confidence::Low),
        "medium" => Some(Confidence::Medium),
        "high" => Some(Confidence::High),
        _ => None,
    }
}

#[test]
fn every_lab_attempt_is_grouped_and_diagnosed_as_labelled() {
    let labels = rows(&format!("{LAB}/labels.tsv"));
    assert_eq!(labels.len(), 15);
    for l in &labels {
        let (file, first, parts, cause, max, evidence) = (&l[0], &l[1], &l[2], &l[3], &l[4], &l[5]);
        let r = analyze(&PathBuf::from(LAB).join(file));
        let first: u64 = first.parse().unwrap();
        let a = r
            .side
            .attempts
            .iter()
            .find(|a| a.parts.first().and_then(|p| p.frames().first().copied()) == Some(first))
            .unwrap_or_else(|| panic!("{file}: no attempt starting at frame {first}"));
        let kinds: Vec<&str> = a.parts.iter().map(|p| p.kind()).collect();
        assert_eq!(kinds.join(","), *parts, "{file}");
        match (&a.cause, cause.as_str()) {
            (None, "-") => {}
            (Some(c), want) => {
                assert_eq!(c.id.id(), want, "{file}: {}", c.summary);
                let max = confidence(max).unwrap_or_else(|| panic!("{file}: bound {max}"));
                assert!(
                    c.confidence <= max,
                    "{file}: {:?} above {max:?}",
                    c.confidence
                );
                let frames: Vec<u64> = c.evidence.iter().map(|e| e.frame).collect();
                for f in evidence.split(',') {
                    let f: u64 = f.parse().unwrap();
                    assert!(
                        frames.contains(&f),
                        "{file}: frame {f} not in evidence {frames:?}"
                    );
                }
            }
            (None, want) => panic!("{file}: no cause, labelled {want}"),
        }
    }
}

/// DNS over TCP on real traffic (lab d01: glibc's resolver with
/// `options use-vc`): each DNS message is read from its TCP connection
/// after its 2-byte length, two pipelined queries in one segment
/// included. tshark -r d01-dns-over-tcp.pcap -Y dns -T fields
/// -e frame.number -e tcp.stream -e dns.flags.response: queries (A and
/// AAAA together) in frames 4 and 16, answers in 6, 8 (tcp.stream 0) and
/// 18, 20 (tcp.stream 1).
#[test]
fn dns_over_tcp_is_read_message_by_message() {
    use rdptriage::timeline::neighbours::Carrier;
    let r = analyze(&PathBuf::from(LAB).join("d01-dns-over-tcp.pcap"));
    let got: Vec<(u64, Carrier, bool)> = r
        .side
        .neighbours
        .events
        .iter()
        .filter_map(|e| match &e.msg {
            SideMessage::Dns(m) => Some((e.frame, e.carrier, m.response)),
            _ => None,
        })
        .collect();
    let tcp = |stream| Carrier::Tcp { stream };
    assert_eq!(
        got,
        [
            (4, tcp(0), false),
            (4, tcp(0), false),
            (6, tcp(0), true),
            (8, tcp(0), true),
            (16, tcp(1), false),
            (16, tcp(1), false),
            (18, tcp(1), true),
            (20, tcp(1), true),
        ]
    );
}

/// A redirected leg refused at TCP never sends its X.224 Connection
/// Request, so nothing in the capture says it was a redirection (lab
/// r01: xfreerdp with a routing token to an address where nothing
/// listens; tshark shows SYN then RST twice, `rdp.rt_cookie` only on the
/// first connection, `Cookie: mstshash=lab`): no attempt claims one, and
/// the TCP verdicts say what happened.
#[test]
fn a_leg_refused_before_its_routing_token_is_no_redirect() {
    let r = analyze(&PathBuf::from(LAB).join("r01-redirect-leg-refused.pcap"));
    assert!(r.side.attempts.is_empty(), "{:?}", r.side.attempts);
    let causes: Vec<Option<&str>> = r
        .connections
        .iter()
        .map(|c| c.diagnosis.cause.as_ref().map(|c| c.id.id()))
        .collect();
    assert_eq!(causes, [None, Some("port_closed"), Some("port_closed")]);
}

/// The public RDP-UDP captures (Zeek's test traces): three SYNs nobody
/// answered are reported as UDP blocked (informational, the session ran
/// on TCP); a SYN answered by a SYN+ACK as a completed handshake, and the
/// version says RDPEUDP2 when the SYNEX payload does (tshark's rdpudp
/// dissector: `rdpudp.synex.version`, see neighbours-tshark.tsv).
#[test]
fn rdpeudp_public_captures_report_the_udp_handshake() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("RDP-UDP corpus tests");
        return;
    };
    let cases = [
        ("zeek/rdpeudp-handshake-fail.pcap", false, false),
        ("zeek/rdp-rdpeudp-handshake-fail.pcap", false, false),
        ("zeek/rdpeudp-handshake-success.pcap", true, false),
        ("zeek/rdp-rdpeudp-handshake-success.pcap", true, false),
        ("zeek/rdpeudp2-handshake-success.pcap", true, true),
    ];
    for (file, completed, v2) in cases {
        let r = analyze(&dir.join(file));
        let udp: Vec<_> = r
            .side
            .attempts
            .iter()
            .flat_map(|a| a.parts.iter().map(move |p| (a, p)))
            .filter_map(|(a, p)| match p {
                rdptriage::diagnose::neighbours::Part::Udp(u) => Some((a, u)),
                _ => None,
            })
            .collect();
        assert_eq!(udp.len(), 1, "{file}");
        let (a, u) = udp[0];
        assert_eq!(u.completed(), completed, "{file}");
        let ver = u
            .synack
            .as_ref()
            .or(u.syn.as_ref())
            .is_some_and(|h| h.rdpeudp2());
        assert_eq!(ver, v2, "{file}");
        match &a.cause {
            Some(c) => {
                assert!(!completed, "{file}: {}", c.summary);
                assert_eq!(c.id.id(), "udp_transport_blocked");
                assert!(c.confidence <= Confidence::Medium, "a silence");
                assert_eq!(c.evidence.len(), 3, "{file}: the three SYNs");
            }
            None => assert!(completed, "{file}: unanswered SYNs without a cause"),
        }
        // The TCP verdict stays the TCP connection's own.
        for c in &r.connections {
            assert_ne!(
                c.diagnosis.cause.as_ref().map(|c| c.id.id()),
                Some("udp_transport_blocked")
            );
        }
    }
}

/// `--redact` covers the attempts across protocols: none of the
/// addresses, names, realm or user that tshark shows in the capture's
/// Kerberos and DNS messages is left in the JSON document.
#[test]
fn redaction_leaves_no_name_of_the_neighbours() {
    let r = analyze(&PathBuf::from(LAB).join("n01-kerberos-password-wrong.pcap"));
    let mut doc = rdptriage::report::build_document(&[rdptriage::report::Input::new(&r)]);
    rdptriage::report::redact::redact(&mut doc);
    let attempts = serde_json::to_string(&doc.files[0].neighbour_attempts).unwrap();
    assert!(attempts.contains("kerberos_password_wrong"), "{attempts}");
    // tshark -r n01-kerberos-password-wrong.pcap -Y 'kerberos || dns'
    //   -T fields -e ip.src -e ip.dst -e kerberos.realm -e kerberos.CNameString -e dns.qry.name
    for secret in [
        "192.0.2.",
        "198.51.100.",
        "LAB.TEST",
        "rdp.lab.test",
        "client lab",
        "\"lab\"",
    ] {
        assert!(!attempts.contains(secret), "{secret} left in {attempts}");
    }
}

/// The routing token of a redirected leg names the target's address
/// (MSFT-SDLBTS): `--redact` replaces it wherever the attempt shows it
/// (tshark -r r03-redirect-negotiation-failed.pcap -Y rdp.rt_cookie
/// -T fields -e rdp.rt_cookie -e ip.dst).
#[test]
fn redaction_covers_the_routing_token_of_a_redirected_leg() {
    let r = analyze(&PathBuf::from(LAB).join("r03-redirect-negotiation-failed.pcap"));
    let mut doc = rdptriage::report::build_document(&[rdptriage::report::Input::new(&r)]);
    rdptriage::report::redact::redact(&mut doc);
    let attempts = serde_json::to_string(&doc.files[0].neighbour_attempts).unwrap();
    assert!(attempts.contains("redirect_failed"), "{attempts}");
    for secret in ["392442822", "198.51.100.", "192.0.2."] {
        assert!(!attempts.contains(secret), "{secret} left in {attempts}");
    }
}

/// The CSV carries each attempt as a row of its own (`record` =
/// `attempt`), after the file's connection rows: the labelled cause and
/// the frame the attempt began at, as in the JSON.
#[test]
fn csv_has_a_row_per_attempt() {
    use rdptriage::report::{render, Format, Input, ReportOptions};
    for l in &rows(&format!("{LAB}/labels.tsv")) {
        let (file, first, cause) = (&l[0], &l[1], &l[3]);
        let r = analyze(&PathBuf::from(LAB).join(file));
        let opts = ReportOptions {
            format: Format::Csv,
            ..ReportOptions::default()
        };
        let out = render(&[Input::new(&r)], &opts);
        let mut lines = out.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let col = |n: &str| header.iter().position(|c| *c == n).expect(n);
        // The fields used here hold no comma or quote: a plain split does.
        let attempts: Vec<Vec<&str>> = lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            // `record` is the column before the last (`sha256`); counted
            // from the end, as the summary before it may hold commas.
            .filter(|c| c.len() >= 2 && c[c.len() - 2] == "attempt")
            .collect();
        let want = if cause == "-" { "" } else { cause.as_str() };
        assert!(
            attempts
                .iter()
                .any(|c| c[col("first_frame")] == first && c[col("cause")] == want),
            "{file}: no attempt row from frame {first} with cause {want:?}:\n{out}"
        );
    }
}

/// The lab's RD Gateway captures (`make-redirect-captures.sh` g01-g04:
/// xfreerdp 2.11 `/g:` to a gateway address where nothing listens, to a
/// gateway name that does not resolve, to a TLS server whose certificate
/// the client does not trust, and to an HTTPS server answering 403).
/// Without `--gateway` and without keys nothing says these connections
/// are a gateway's, so what is claimed is only what the capture shows by
/// itself: the NXDOMAIN of the gateway's name (tshark:
/// `dns.flags.rcode` 3 in frames 3 and 4, queries in 1 and 2), at low
/// confidence since nothing says the name was for Remote Desktop; the
/// HTTPS connections to 443 are not RDP connections and nothing is said
/// of them.
#[test]
fn gateway_captures_claim_only_what_they_show() {
    let r = analyze(&PathBuf::from(LAB).join("g02-gateway-name-not-found.pcap"));
    assert_eq!(r.side.attempts.len(), 1, "{:?}", r.side.attempts);
    let c = r.side.attempts[0].cause.as_ref().expect("a cause");
    assert_eq!(c.id.id(), "dns_name_not_found");
    assert_eq!(c.confidence, Confidence::Low);
    let frames: Vec<u64> = c.evidence.iter().map(|e| e.frame).collect();
    assert!(frames.contains(&1) && frames.contains(&3), "{frames:?}");
    for f in [
        "g01-gateway-refused.pcap",
        "g03-gateway-cert-untrusted.pcap",
        "g04-gateway-http-403.pcap",
    ] {
        let r = analyze(&PathBuf::from(LAB).join(f));
        assert!(r.connections.is_empty(), "{f}");
        assert!(r.side.attempts.is_empty(), "{f}: {:?}", r.side.attempts);
    }
}

fn analyze_with(file: &str, gateways: &[&str], keylog: Option<&str>) -> FileResult {
    let mut opts = Options {
        gateways: gateways.iter().map(|g| g.parse().unwrap()).collect(),
        ..Options::default()
    };
    if let Some(k) = keylog {
        let text = std::fs::read_to_string(PathBuf::from(LAB).join(k)).unwrap();
        let mut keys = rdptriage::proto::decrypt::keys::Keys::default();
        keys.add_key_log(
            &text,
            rdptriage::proto::decrypt::keys::Origin::File(k.to_string()),
        );
        opts.keys = Some(std::sync::Arc::new(keys));
    }
    let p = PathBuf::from(LAB).join(file);
    let r = analyze_path(&p.to_string_lossy(), &opts);
    assert!(r.complete(), "{file}: {:?}", r.read);
    r
}

/// The one attempt of a gateway capture: its parts and its cause.
fn gateway_attempt(r: &FileResult) -> &rdptriage::diagnose::neighbours::CrossAttempt {
    assert_eq!(r.side.attempts.len(), 1, "{:?}", r.side.attempts);
    assert!(r.connections.is_empty(), "a gateway connection is not RDP");
    &r.side.attempts[0]
}

/// With the gateway named (`--gateway`, by name or address) or its
/// request decrypted, each lab gateway capture gives the cause of its row
/// in `gateway-labels.tsv` (written from what each scenario did), with
/// the parts, the frames tshark shows and no more confidence than they
/// allow: g01 refused (SYN 5, RST 6), g02 the gateway's name NXDOMAIN
/// (queries 1, 2, answers 3, 4), g03 a complete TLS 1.3 handshake (8, 10,
/// 12) and the client's alert record and FIN with no request (19, 20;
/// why it closed is inferred), g04 `RDG_OUT_DATA` (14) answered 403 (16),
/// with or without `--gateway`.
#[test]
fn gateway_captures_give_their_labelled_cause_when_the_gateway_is_known() {
    let labels = rows(&format!("{LAB}/gateway-labels.tsv"));
    assert_eq!(labels.len(), 6);
    for l in &labels {
        let (file, gws, keys, first, parts, cause, max, evidence) =
            (&l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &l[6], &l[7]);
        let gws: Vec<&str> = gws.split(',').filter(|g| *g != "-").collect();
        let keys = (keys != "-").then_some(keys.as_str());
        let r = analyze_with(file, &gws, keys);
        let a = gateway_attempt(&r);
        assert!(a.gateway.is_some(), "{file}");
        let first: u64 = first.parse().unwrap();
        assert_eq!(a.parts[0].frames().first(), Some(&first), "{file}");
        let kinds: Vec<&str> = a.parts.iter().map(|p| p.kind()).collect();
        assert_eq!(kinds.join(","), *parts, "{file}");
        let c = a
            .cause
            .as_ref()
            .unwrap_or_else(|| panic!("{file}: no cause"));
        assert_eq!(c.id.id(), cause, "{file}: {}", c.summary);
        let max = confidence(max).unwrap();
        assert!(
            c.confidence <= max,
            "{file}: {:?} above {max:?}",
            c.confidence
        );
        let frames: Vec<u64> = c.evidence.iter().map(|e| e.frame).collect();
        for f in evidence.split(',') {
            let f: u64 = f.parse().unwrap();
            assert!(frames.contains(&f), "{file}: frame {f} not in {frames:?}");
        }
        if file.starts_with("g04") {
            assert!(c.summary.contains("403"), "{}", c.summary);
            assert!(c.summary.contains("RDG_OUT_DATA"), "{}", c.summary);
        }
    }
    // g03: the gateway closed first, and the summary says so.
    let r = analyze_with("g03-gateway-cert-untrusted.pcap", &["gw.lab.test"], None);
    let c = gateway_attempt(&r).cause.as_ref().unwrap();
    assert!(c.summary.contains("frame 16"), "{}", c.summary);
    assert!(
        c.evidence.iter().any(|e| e.frame == 15),
        "the gateway's alert"
    );
}

/// g04's decrypted request carries `Authorization: NTLM TlRMTVNTUAAB...`
/// (tshark -o tls.keylog_file:g04-gateway-http-403.keys -Y
/// frame.number==14 -x): no format prints it.
#[test]
fn the_gateway_request_token_is_never_printed() {
    use rdptriage::report::{render, Format, Input, ReportOptions};
    let r = analyze_with(
        "g04-gateway-http-403.pcap",
        &[],
        Some("g04-gateway-http-403.keys"),
    );
    for format in [
        Format::Table,
        Format::Json,
        Format::Jsonl,
        Format::Markdown,
        Format::Csv,
        Format::Html,
    ] {
        let out = render(
            &[Input::new(&r)],
            &ReportOptions {
                format,
                ..ReportOptions::default()
            },
        );
        assert!(out.contains("gateway_failed"), "{format:?}");
        assert!(
            !out.contains("TlRMTVNTUAAB"),
            "{format:?} prints the NTLM token"
        );
    }
}

/// What the capture cannot show is not claimed: g04 without its keys is
/// a TLS connection whose client sent a request (frame 14) and got an
/// answer (16); the 403 is encrypted. Another gateway named than the one
/// connected to claims nothing of it either.
#[test]
fn a_gateway_connection_without_what_shows_its_failure_claims_none() {
    let r = analyze_with("g04-gateway-http-403.pcap", &["gw.lab.test"], None);
    let a = gateway_attempt(&r);
    assert!(a.gateway.is_some());
    assert!(a.cause.is_none(), "{:?}", a.cause);
    let r = analyze_with("g01-gateway-refused.pcap", &["othergw.lab.test"], None);
    assert!(r
        .side
        .attempts
        .iter()
        .all(|a| a.gateway.is_none() && a.cause.is_none()));
    assert!(r.connections.is_empty());
}
