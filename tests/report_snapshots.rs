//! The three report formats on real lab captures, end to end: one success
//! and three different failures. Each snapshot was read and checked against
//! the capture (tshark) before it was accepted; a change to any of them is
//! a change of what users see and must be reviewed the same way.

use clap::Parser;
use rdptriage::cli::{execute, Args, Terminal};

/// One success (TLS), an NLA negotiation failure, a server that cannot use
/// its key (the MachineKeys analogue) and a certificate the client rejects.
const CAPTURES: &[&str] = &[
    "testdata/captures/01-success-tls.pcap",
    "testdata/captures/11-hybrid-required-by-server.pcap",
    "testdata/captures/17-key-mismatch.pcap",
    "testdata/captures/13-cert-expired.pcap",
];

fn run(format: &str) -> (String, i32) {
    let mut argv = vec!["rdptriage", "--no-color", "--format", format];
    argv.extend_from_slice(CAPTURES);
    let args = Args::try_parse_from(argv).expect("valid arguments");
    let term = Terminal {
        stdout_is_terminal: false,
        stderr_is_terminal: false,
        no_color_env: false,
        ..Terminal::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(&args, term, &mut out, &mut err);
    assert!(err.is_empty(), "stderr: {}", String::from_utf8_lossy(&err));
    (String::from_utf8(out).expect("UTF-8 output"), code)
}

#[test]
fn terminal_report_of_lab_captures() {
    let (out, code) = run("table");
    assert_eq!(code, 1, "three of the four captures hold a failure");
    insta::assert_snapshot!("lab_table", out);
}

#[test]
fn json_report_of_lab_captures() {
    let (out, code) = run("json");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["schema_version"], 1);
    // The version of the tool changes with every release: not part of the
    // snapshot.
    let out = out.replace(env!("CARGO_PKG_VERSION"), "[version]");
    insta::assert_snapshot!("lab_json", out);
}

#[test]
fn markdown_report_of_lab_captures() {
    let (out, code) = run("markdown");
    assert_eq!(code, 1);
    let out = out.replace(env!("CARGO_PKG_VERSION"), "[version]");
    insta::assert_snapshot!("lab_markdown", out);
}
