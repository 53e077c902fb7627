//! The command line as a user runs it: exit codes, error messages, standard
//! input, output independent of the thread count.
//!
//! Tests under "needs the pipeline" analyse real capture bytes built here,
//! through every stage.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

mod run_cli;
use run_cli::{code, run, run_stdin, stderr, stdout};

#[path = "common/refused.rs"]
mod refused;

/// A file in this test binary's scratch directory.
fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

/// A legacy pcap global header: little-endian, microseconds, Ethernet.
fn pcap_header() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&0i32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += w as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One pcap record: Ethernet, IPv4, TCP without payload.
fn tcp_record(
    ts_usec: u32,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
) -> Vec<u8> {
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&src.1.to_be_bytes());
    tcp.extend_from_slice(&dst.1.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push(5 << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&64240u16.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.0);
    pseudo.extend_from_slice(&dst.0);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&tcp);
    let c = checksum(&pseudo);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());

    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
    ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&src.0);
    ip.extend_from_slice(&dst.0);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());

    let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&tcp);

    let mut rec = Vec::new();
    rec.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    rec.extend_from_slice(&ts_usec.to_le_bytes());
    rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    rec.extend_from_slice(&frame);
    rec
}

/// A capture of a refused connection: SYN to 3389, RST/ACK back.
fn refused_pcap() -> Vec<u8> {
    let c = ([10, 0, 0, 1], 50000);
    let s = ([10, 0, 0, 2], 3389);
    let mut v = pcap_header();
    v.extend(tcp_record(0, c, s, 1000, 0, 0x02));
    v.extend(tcp_record(400, s, c, 0, 1001, 0x14));
    v
}

const NOT_A_CAPTURE: &[u8] = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";

// ---------------------------------------------------------------- arguments

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &[][..],
        &["--format", "xml", "x.pcap"],
        &["--no-such-option", "x.pcap"],
        &["--port", "notaport", "x.pcap"],
        &["--threads", "0", "x.pcap"],
        &["--depth-cap", "lots", "x.pcap"],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("rdptriage: "),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn help_and_version_exit_0() {
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("--depth-cap"));
    let o = run(&["--version"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_names_the_batch_options() {
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    for opt in ["--files-from", "--shard", "jsonl", "csv", "glob patterns"] {
        assert!(out.contains(opt), "{opt} missing from --help:\n{out}");
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn missing_file_exits_2_and_the_others_are_still_reported() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-does-not-exist.pcap");
    let _ = std::fs::remove_file(&missing);
    let other = scratch("other.txt", NOT_A_CAPTURE);
    let (m, x) = (missing.to_str().unwrap(), other.to_str().unwrap());
    let o = run(&["--format", "json", m, x]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("rdptriage: {m}: cannot open")),
        "{err}"
    );
    // One line per file that could not be analysed, in input order.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[1].starts_with(&format!("rdptriage: {x}: ")), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["files"][0]["path"], m);
    assert_eq!(v["files"][0]["error"]["kind"], "io");
    assert_eq!(v["files"][1]["path"], x);
    assert_eq!(v["totals"]["files"], 2);
    assert_eq!(v["totals"]["files_unreadable"], 2);
}

#[test]
fn missing_file_in_table_format_still_prints_the_others() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-missing-2.pcap");
    let _ = std::fs::remove_file(&missing);
    let other = scratch("other2.txt", NOT_A_CAPTURE);
    let (m, x) = (missing.to_str().unwrap(), other.to_str().unwrap());
    let o = run(&[m, x]);
    assert_eq!(code(&o), 2);
    let out = stdout(&o);
    assert!(out.contains(m) && out.contains(x), "{out}");
    assert!(out.contains("Totals"), "{out}");
}

#[test]
fn stdin_dash_is_read() {
    // The Markdown report hashes what it read: the hash proves stdin was read.
    let pcap = refused_pcap();
    let o = run_stdin(&["--format", "markdown", "-"], &pcap);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("## Capture `-`"), "{out}");
    let want = sha256_hex(&pcap);
    assert!(out.contains(&format!("SHA-256: `{want}`")), "{out}");
    // Not a capture: rejected, nothing more is read, no hash.
    let o = run_stdin(&["--format", "markdown", "-"], NOT_A_CAPTURE);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).starts_with("rdptriage: -: "), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("SHA-256: not computed"),
        "{}",
        stdout(&o)
    );
}

/// SHA-256 via the system tool, to check against an independent
/// implementation.
fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let o = child.wait_with_output().unwrap();
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

#[test]
fn output_does_not_depend_on_threads() {
    let a = scratch("t-a.txt", NOT_A_CAPTURE);
    let b = scratch("t-b.pcap", &pcap_header());
    let c = scratch("t-c.pcap", &refused_pcap());
    let files = [
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    ];
    for format in ["table", "json", "markdown"] {
        let mut outs = Vec::new();
        for threads in ["1", "3"] {
            let mut args = vec!["--format", format, "--threads", threads];
            args.extend(files);
            let o = run(&args);
            outs.push((code(&o), o.stdout, o.stderr));
        }
        assert_eq!(outs[0], outs[1], "{format}");
    }
}

#[test]
fn redact_hides_the_addresses_of_the_json_report() {
    let c = scratch("r-c.pcap", &refused_pcap());
    let o = run(&["--format", "json", "--redact", c.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(
        !out.contains("10.0.0.1") && !out.contains("10.0.0.2"),
        "{out}"
    );
    serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
}

// ------------------------------------------------- needs the pipeline

#[test]
fn empty_capture_exits_0() {
    let p = scratch("empty.pcap", &pcap_header());
    let o = run(&[p.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("no RDP connection found"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn empty_capture_on_stdin_exits_0() {
    let o = run_stdin(&["--format", "json", "-"], &pcap_header());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"][0]["path"], "-");
    assert_eq!(v["files"][0]["complete"], true);
    assert_eq!(v["files"][0]["packets"], 0);
}

#[test]
fn refused_connection_exits_1() {
    let p = scratch("refused.pcap", &refused_pcap());
    let o = run(&["--format", "json", p.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["files"][0]["connections"][0];
    assert_eq!(c["outcome"], "failed");
    assert_eq!(c["ended_by"]["id"], "refused");
    assert_eq!(c["client"], "10.0.0.1:50000");
    assert_eq!(c["display_filter"], "tcp.stream eq 0");
}

#[test]
fn truncated_capture_exits_2_with_offset() {
    let mut bytes = refused_pcap();
    bytes.truncate(bytes.len() - 10);
    let p = scratch("cut.pcap", &bytes);
    let o = run(&[p.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("rdptriage: {}: ", p.display())),
        "{err}"
    );
    assert!(err.contains("byte offset"), "{err}");
}

// ------------------------------------------------- the public corpus

/// The public corpus, read in place (`../shared/corpus` beside the
/// repository; `RDPTRIAGE_CORPUS` overrides). None, said plainly, when absent.
fn corpus(file: &str) -> Option<String> {
    let dir = std::env::var("RDPTRIAGE_CORPUS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus").to_string());
    let p = PathBuf::from(dir).join(file);
    if p.is_file() {
        Some(p.to_string_lossy().into_owned())
    } else {
        eprintln!("skipped: corpus file {} not found", p.display());
        None
    }
}

/// RDP-004 (Wireshark wiki): an XP-era client offers SSL to a server set to
/// Standard RDP Security only; tshark shows the cookie `FTBCO\A70` in
/// frame 4 and RDP_NEG_FAILURE failureCode 2 in frame 5.
#[test]
fn corpus_negotiation_failure_end_to_end() {
    let Some(p) = corpus("wireshark-wiki/RDP-004.pcap.gz") else {
        return;
    };
    let o = run(&["--format", "json", &p]);
    assert_eq!(code(&o), 1, "a failed connection: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["compression"], "gzip");
    assert_eq!(f["complete"], true);
    let c = &f["connections"][0];
    assert_eq!(c["stream"], 0);
    assert_eq!(c["client"], "172.21.128.16:1311");
    assert_eq!(c["server"], "10.226.24.52:3389");
    assert_eq!(c["outcome"], "failed");
    assert_eq!(c["ended_by"]["id"], "negotiation_failure");
    assert_eq!(c["ended_by"]["code"], 2);
    assert_eq!(c["ending_frame"], 5);
    assert_eq!(c["negotiation"]["cookie"], "FTBCO\\A70");
    assert_eq!(c["negotiation"]["request_frame"], 4);
    assert_eq!(c["negotiation"]["requested"], serde_json::json!(["SSL"]));
    assert_eq!(
        c["negotiation"]["failure"]["name"],
        "SSL_NOT_ALLOWED_BY_SERVER"
    );
    assert_eq!(c["display_filter"], "tcp.stream eq 0");
    let ef = c["evidence_filter"].as_str().unwrap();
    assert!(
        ef.starts_with("frame.number in {") && ef.contains('5'),
        "{ef}"
    );

    // The Markdown report carries the SHA-256 of the stored (compressed) file.
    let o = run(&["--format", "markdown", &p]);
    let md = stdout(&o);
    let want = sha256_hex(&std::fs::read(&p).unwrap());
    assert!(md.contains(&format!("SHA-256: `{want}`")), "{md}");
    assert!(md.contains("### Verdict"));
    assert!(
        md.contains("RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER (2)"),
        "{md}"
    );

    // Redaction leaves no address, user or domain in any format.
    for format in ["table", "json", "markdown", "html"] {
        let out = stdout(&run(&["--redact", "--format", format, &p]));
        for secret in ["172.21.128.16", "10.226.24.52", "FTBCO", "A70"] {
            assert!(!out.contains(secret), "{format}: {secret} in\n{out}");
        }
        assert!(out.contains(":1311") && out.contains(":3389"), "ports kept");
    }
}

/// rdp-x509 (Zeek): Standard RDP Security; tshark shows clientName
/// JOHN-PC-LAPTOP, keyboardLayout 1033, desktop 1920x1080 in the GCC
/// client core data.
#[test]
fn corpus_client_data_end_to_end() {
    let Some(p) = corpus("zeek/rdp-x509.pcap") else {
        return;
    };
    let o = run(&["--format", "json", &p]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["files"][0]["connections"][0];
    let d = &c["client_data"];
    assert_eq!(d["client_name"], "JOHN-PC-LAPTOP");
    assert_eq!(d["keyboard_layout"], "0x00000409");
    assert_eq!(d["desktop"], "1920x1080");
    assert!(!c["certificates"].as_array().unwrap().is_empty());
    let red = stdout(&run(&["--format", "json", "--redact", &p]));
    assert!(!red.contains("JOHN-PC"), "{red}");
    assert!(!red.contains("SERVR"), "{red}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_stops_the_run_with_exit_2_in_every_format() {
    let p = scratch("dev-full.pcap", &refused_pcap());
    let path = p.to_str().unwrap();
    for format in ["table", "json", "markdown", "jsonl", "csv"] {
        // Standard output on a device that is always full.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let o = run_cli::bin()
            .args(["--format", format, path])
            .stdout(full)
            .output()
            .expect("run");
        assert_eq!(code(&o), 2, "{format}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("cannot write the report"),
            "{format}: {}",
            stderr(&o)
        );
        // The same through -o.
        let o = run(&["--format", format, "-o", "/dev/full", path]);
        assert_eq!(code(&o), 2, "{format} -o: {}", stderr(&o));
        assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));
    }
    // A closed pipe stays quiet.
    let mut child = run_cli::bin()
        .args(["--format", "jsonl", path, path, path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert_ne!(code(&o), 2);
}

#[test]
fn output_option_writes_the_report_to_a_file() {
    let p = scratch("out-opt.pcap", &refused_pcap());
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-out-opt.jsonl");
    let o = run(&[
        "--format",
        "jsonl",
        "-o",
        out.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().count() >= 2, "{text}");
}

#[test]
fn threads_are_capped_at_four_per_cpu() {
    let p = scratch("threads-cap.pcap", &refused_pcap());
    let (tx, rx) = std::sync::mpsc::channel();
    let path = p.to_str().unwrap().to_string();
    std::thread::spawn(move || {
        let _ = tx.send(run(&["--threads", "10000", "--format", "jsonl", &path]));
    });
    let o = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("--threads 10000 took too long");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("per CPU"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn sigint_ends_json_lines_on_a_whole_record() {
    use std::io::BufRead;
    let p = scratch("sigint.pcap", &refused_pcap());
    let path = p.to_str().unwrap();
    // Three files, then standard input, which never ends: the run is
    // under way when the signal comes.
    let mut child = run_cli::bin()
        .args(["--format", "jsonl", "--threads", "1", path, "-"])
        .arg(scratch("sigint2.pcap", &refused_pcap()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&pcap_header()).unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    // The first file's records, then the signal.
    loop {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap() == 0 {
            break;
        }
        let done = l.contains("\"record\":\"file\"");
        lines.push(l);
        if done {
            break;
        }
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let all = lines.concat() + &rest;
    assert!(all.ends_with('\n'));
    for l in all.lines() {
        serde_json::from_str::<serde_json::Value>(l).expect("a whole record");
    }
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
}

/// Every message on standard error has one prefix, and a file name's
/// control characters are printed escaped, never raw.
#[cfg(unix)]
#[test]
fn messages_have_one_prefix_and_escaped_names() {
    let p = scratch("evil\x1b[31m\nname.pcap", NOT_A_CAPTURE);
    let o = run(&["--format", "json", p.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(!err.contains('\x1b'), "{err:?}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("rdptriage: "), "{err:?}");
    assert!(
        err.contains("evil\\u{1b}[31m\\nname.pcap: not a capture file"),
        "{err:?}"
    );
    for args in [
        &["--explain-client-error", "nonsense"][..],
        &["--ladder", "99", p.to_str().unwrap()],
        &["--bogus"],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}");
        for line in stderr(&o).lines().filter(|l| !l.is_empty()) {
            assert!(
                !line.starts_with("error:") && !line.starts_with("Error:"),
                "{args:?}: {}",
                stderr(&o)
            );
        }
        assert!(
            stderr(&o).starts_with("rdptriage: "),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// Formats that are not captures but are known are named, with how to
/// convert them, instead of a hex dump.
#[test]
fn known_formats_say_how_to_convert_them() {
    for (name, bytes, says) in [
        (
            "netmon.cap",
            &b"GMBU\x00\x02\x00\x00\x00\x00\x00\x00"[..],
            "editcap",
        ),
        (
            "trace.etl",
            &b"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"[..],
            "pktmon etl2pcap FILE.etl --out FILE.pcapng",
        ),
        (
            "caps.zip",
            &b"PK\x03\x04\x14\x00\x00\x00"[..],
            "unzip it first",
        ),
        (
            "cap.pcap.xz",
            &b"\xfd7zXZ\x00\x00\x04"[..],
            "decompress it first",
        ),
        ("cap.pcap.bz2", &b"BZh91AY&SY"[..], "decompress it first"),
        (
            "cap.pcap.lz4",
            &b"\x04\x22\x4d\x18\x64\x40\xa7"[..],
            "decompress it first",
        ),
    ] {
        let p = scratch(name, bytes);
        let o = run(&["--format", "json", p.to_str().unwrap()]);
        assert_eq!(code(&o), 2, "{name}");
        let err = stderr(&o);
        assert!(err.contains(says), "{name}: {err}");
        assert!(!err.contains("first bytes"), "{name}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["files"][0]["error"]["kind"], "not_a_capture", "{name}");
    }
}

/// JSON Lines of several large files: the file whose turn has come writes
/// its records straight to the output, a later one spills them (each file
/// here is past the spill's memory bound: 3.5 KB a record) until its turn
/// comes. The output is one thread's, with 2 and 4 threads, and holds
/// each file's records whole and in order (counted here, not by the run).
#[test]
fn json_lines_of_several_large_files_do_not_depend_on_the_threads() {
    let sizes = [1200u32, 300, 900, 600];
    let files: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let p = scratch(&format!("many-{i}.pcap"), &refused::refused(n, 10, 2));
            p.to_str().unwrap().to_string()
        })
        .collect();
    let runs: Vec<_> = ["1", "2", "4"]
        .iter()
        .map(|t| {
            let mut argv = vec!["--threads", t, "--format", "jsonl"];
            argv.extend(files.iter().map(String::as_str));
            run(&argv)
        })
        .collect();
    let one = &runs[0];
    assert_eq!(code(one), 1, "{}", stderr(one));
    let mut want = Vec::new();
    for (f, &n) in files.iter().zip(&sizes) {
        want.extend((0..n).map(|s| ("connection".to_string(), f.clone(), Some(u64::from(s)))));
        want.push(("file".to_string(), f.clone(), None));
    }
    let got: Vec<(String, String, Option<u64>)> = stdout(one)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a whole record");
            let kind = v["record"].as_str().unwrap().to_string();
            (
                kind,
                v["file"].as_str().unwrap().to_string(),
                v["stream"].as_u64(),
            )
        })
        .collect();
    assert!(got == want, "records out of order or missing");
    for (t, o) in ["2", "4"].iter().zip(&runs[1..]) {
        assert_eq!(code(o), 1, "{}", stderr(o));
        assert!(
            o.stdout == one.stdout,
            "--threads {t} differs from one thread"
        );
    }
}

/// A pipe closed while a file's records are written straight (`| head`):
/// the run stops quietly, and the exit code still counts the file's
/// failures (1: every connection refused), as when the pipe closes on a
/// whole file.
#[cfg(unix)]
#[test]
fn a_pipe_closed_mid_file_keeps_the_files_exit_code() {
    use std::io::BufRead;
    let p = scratch("head.pcap", &refused::refused(2000, 10, 1));
    let mut child = run_cli::bin()
        .args(["--format", "jsonl", p.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("\"record\":\"connection\""), "{first}");
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert_eq!(code(&o), 1);
}
