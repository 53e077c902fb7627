//! Every RDP connection in the public corpus gets the verdict a person
//! reading the capture in Wireshark agrees with.
//!
//! The expected verdicts below were written by reading each capture with
//! tshark (`-d tcp.port==3389,tls`, `-z conv,tcp`, frame by frame) and the
//! corpus MANIFEST.tsv; the comment on each row says what the capture shows.
//! The corpus is read in place from `../shared/corpus/`.

use rdptriage::analyze::{analyze_path, Options};

mod common;

/// (file, tcp.stream, outcome, last_step, failed_step, ended_by, cause)
/// `*` means "not checked" for that field.
const EXPECTED: &[(&str, u64, &str, &str, &str, &str, &str)] = &[
    // XP client, legacy CR/CC without negotiation: Standard RDP Security,
    // full session to logoff, client FIN.
    (
        "suricata-verify/RDP-003.pcap",
        0,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    (
        "wireshark-wiki/RDP-003.pcap.gz",
        0,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    (
        "wireshark-wiki/RDP-002.pcap.gz",
        0,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    // Conn 1: client asks for TLS, Win2003 answers SSL_NOT_ALLOWED_BY_SERVER;
    // conn 2: the client retries with Standard Security and gets a session.
    (
        "wireshark-wiki/RDP-004.pcap.gz",
        0,
        "failed",
        "x224_connection_request",
        "x224_connection_confirm",
        "negotiation_failure",
        "ssl_not_allowed_by_server",
    ),
    (
        "wireshark-wiki/RDP-004.pcap.gz",
        1,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        0,
        "failed",
        "x224_connection_request",
        "x224_connection_confirm",
        "negotiation_failure",
        "ssl_not_allowed_by_server",
    ),
    (
        "zeek/rdp-proprietary-encryption.pcap",
        1,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    // Mid-stream: server sends RDP session data, no handshake, no close.
    (
        "wireshark-wiki/MINET-SAC-Traces.pcap",
        0,
        "incomplete",
        "session_data",
        "-",
        "capture_ended",
        "-",
    ),
    // Two mid-stream sessions (same session before/after NAT).
    (
        "wireshark-wiki/SASP.pcap",
        6,
        "incomplete",
        "session_data",
        "-",
        "capture_ended",
        "-",
    ),
    (
        "wireshark-wiki/SASP.pcap",
        7,
        "incomplete",
        "session_data",
        "-",
        "capture_ended",
        "-",
    ),
    // Load-balancer health checks: SYN, SYN/ACK, client FIN, server RST.
    (
        "wireshark-wiki/SASP.pcap",
        3,
        "benign",
        "*",
        "-",
        "closed_by_client",
        "-",
    ),
    (
        "wireshark-wiki/SASP.pcap",
        215,
        "benign",
        "*",
        "-",
        "closed_by_client",
        "-",
    ),
    // LDAP with 3389 as the client's ephemeral port: not RDP.
    (
        "wireshark-wiki/c06-ldapv3-app-r1.pcap.gz",
        3311,
        "not_rdp",
        "*",
        "*",
        "*",
        "*",
    ),
    // Starts at the ClientHello; TLS (no NLA) completes, RDP inside TLS, no close.
    (
        "wireshark-wiki/rdp-ssl.pcap.gz",
        0,
        "incomplete",
        "session_data",
        "-",
        "capture_ended",
        "-",
    ),
    // RDP probe on port 502: the server answers 9 bytes of Modbus, the client
    // idles 30 s and closes.
    (
        "zeek/modbus-and-non-modbus-p502.pcap",
        6,
        "failed",
        "x224_connection_request",
        "x224_connection_confirm",
        "closed_by_client",
        "not_rdp_server",
    ),
    // Win7 -> 2008R2 NLA: conn 1 is mstsc's credential pre-check (CredSSP up
    // to the server's pubKeyAuth, client closes); conn 2 is the real session.
    (
        "zeek/rdp-to-ssl.pcap",
        0,
        "benign",
        "credssp_server_pubkeyauth",
        "-",
        "closed_by_client",
        "-",
    ),
    (
        "zeek/rdp-to-ssl.pcap",
        1,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    // Same bytes with zeroed checksums: must not change anything.
    (
        "zeek/nla_win7_win2k8r2.pcap",
        0,
        "benign",
        "credssp_server_pubkeyauth",
        "-",
        "closed_by_client",
        "-",
    ),
    (
        "zeek/nla_win7_win2k8r2.pcap",
        1,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    // Fuzzed garbage on 3389: the client's first bytes are not TPKT.
    (
        "zeek/rdp-invalid-length.pcap",
        0,
        "not_rdp",
        "*",
        "*",
        "*",
        "*",
    ),
    // Every frame duplicated. HYBRID_EX, TLS 1.2 completes, then the client
    // resets 22 us after the server's Finished, before any CredSSP: the
    // certificate (valid at capture time) is self-signed.
    (
        "zeek/rdp-no-cookie-mstshash.pcap",
        0,
        "failed",
        "tls_server_finished",
        "credssp_negotiate",
        "reset_by_client",
        "cert_rejected_self_signed",
    ),
    // HYBRID_EX NLA session of 114 s, client FIN (the UDP side is not TCP).
    (
        "zeek/rdp-rdpeudp-handshake-fail.pcap",
        0,
        "established",
        "session_data",
        "-",
        "closed_by_client",
        "-",
    ),
    // IPv6 loopback NLA session of 24 s ending with a client RST.
    (
        "zeek/rdp-rdpeudp-handshake-success.pcap",
        0,
        "established",
        "session_data",
        "-",
        "reset_by_client",
        "-",
    ),
    // Capture ends right after the client's MCS Connect Initial.
    (
        "zeek/rdp-unknown-keyboard.pcap",
        0,
        "incomplete",
        "mcs_connect_initial",
        "-",
        "capture_ended",
        "-",
    ),
    // Capture ends right after the server's MCS Connect Response.
    (
        "zeek/rdp-x509.pcap",
        0,
        "incomplete",
        "mcs_connect_response",
        "-",
        "capture_ended",
        "-",
    ),
];

#[test]
fn corpus_connections_get_the_verdicts_a_reader_agrees_with() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    let mut failures = Vec::new();
    let mut last: Option<(String, rdptriage::analyze::FileResult)> = None;
    for &(file, stream, outcome, last_step, failed_step, ended_by, cause) in EXPECTED {
        if last.as_ref().map(|(f, _)| f.as_str()) != Some(file) {
            let r = analyze_path(&dir.join(file).to_string_lossy(), &Options::default());
            last = Some((file.to_string(), r));
        }
        let (_, fr) = last.as_ref().expect("just set");
        let Some(c) = fr.connections.iter().find(|c| c.timeline.stream == stream) else {
            failures.push(format!(
                "{file} stream {stream}: not reported (streams: {:?})",
                fr.connections
                    .iter()
                    .map(|c| c.timeline.stream)
                    .collect::<Vec<_>>()
            ));
            continue;
        };
        let d = &c.diagnosis;
        let got = [
            d.outcome.name().to_string(),
            d.last_step.map_or("-".to_string(), |s| s.id().to_string()),
            d.failed_step
                .map_or("-".to_string(), |s| s.id().to_string()),
            d.ending.id(),
            d.cause
                .as_ref()
                .map_or("-".to_string(), |c| c.id.id().to_string()),
        ];
        let want = [outcome, last_step, failed_step, ended_by, cause];
        let names = ["outcome", "last_step", "failed_step", "ended_by", "cause"];
        for i in 0..5 {
            if want[i] != "*" && got[i] != want[i] {
                failures.push(format!(
                    "{file} stream {stream}: {} is {:?}, expected {:?}",
                    names[i], got[i], want[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sasp_health_checks_are_benign_not_failures() {
    let Some(path) = common::corpus_dir()
        .map(|dir| dir.join("wireshark-wiki/SASP.pcap"))
        .filter(|p| p.exists())
    else {
        common::skip_note("corpus tests");
        return;
    };
    let r = analyze_path(&path.to_string_lossy(), &Options::default());
    let checks: Vec<_> = r
        .connections
        .iter()
        .filter(|c| c.timeline.stream != 6 && c.timeline.stream != 7)
        .collect();
    assert_eq!(checks.len(), 65, "65 health-check connections to 3389");
    for c in checks {
        assert_eq!(
            c.diagnosis.benign.map(|b| b.id()),
            Some("health_check"),
            "stream {}: {:?}",
            c.timeline.stream,
            c.diagnosis
        );
    }
}

#[test]
fn gzip_copy_gives_the_same_verdicts_as_the_original() {
    let Some(dir) = common::corpus_dir() else {
        common::skip_note("corpus tests");
        return;
    };
    let a = dir.join("wireshark-wiki/RDP-004.pcap.gz");
    let b = dir.join("zeek/rdp-proprietary-encryption.pcap");
    if !a.exists() || !b.exists() {
        common::skip_note("corpus tests");
        return;
    }
    let ra = analyze_path(&a.to_string_lossy(), &Options::default());
    let rb = analyze_path(&b.to_string_lossy(), &Options::default());
    let va: Vec<String> = ra
        .connections
        .iter()
        .map(|c| format!("{:?}", c.diagnosis))
        .collect();
    let vb: Vec<String> = rb
        .connections
        .iter()
        .map(|c| format!("{:?}", c.diagnosis))
        .collect();
    assert_eq!(va.len(), 2);
    assert_eq!(va, vb);
}
