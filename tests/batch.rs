//! Whole archives: a directory tree of captures (the lab's own, copied into
//! a scratch directory), a gzip-compressed one, one cut in the middle of a
//! packet and files that are not captures, in nested folders, analysed as
//! a user or a job runner would: by directory, by glob pattern, from a
//! list, in shards, in every output format, with any number of threads.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

mod run_cli;
use run_cli::{code, run, run_stdin, stderr, stdout};

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

fn jsonl(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/captures")
        .join(name)
}

/// Offsets of the packet records of a little-endian pcap file.
fn pcap_records(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let incl = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push((off, incl));
        off += 16 + incl;
    }
    out
}

/// Where the truncated capture is cut: in the middle of the data of its
/// tenth packet record (frame 10).
struct Cut {
    record_offset: u64,
    frame: u64,
}

/// The scratch tree (fresh for each test):
///
/// ```text
/// a/01-success-tls.pcap          established
/// a/README.txt                   not a capture (skipped)
/// a/b/06-port-closed.pcap        2 failed (port_closed)
/// a/b/c/13-cert-expired.pcap     1 failed (cert_rejected_expired)
/// a/b/empty                      empty (skipped)
/// c/26-success-tls-gzip.pcap.gz  gzip, established
/// c/cut.pcap                     05-nla-wrong-password cut inside frame 10
/// ```
fn tree(name: &str) -> (PathBuf, Cut) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("batch-{name}"));
    let _ = std::fs::remove_dir_all(&root);
    for d in ["a/b/c", "c"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let copy = |from: &str, to: &str| {
        std::fs::copy(capture(from), root.join(to)).expect("copy a lab capture");
    };
    copy("01-success-tls.pcap", "a/01-success-tls.pcap");
    copy("06-port-closed.pcap", "a/b/06-port-closed.pcap");
    copy("13-cert-expired.pcap", "a/b/c/13-cert-expired.pcap");
    copy(
        "26-success-tls-gzip.pcap.gz",
        "c/26-success-tls-gzip.pcap.gz",
    );
    std::fs::write(root.join("a/README.txt"), "captures of the 14th\n").unwrap();
    std::fs::write(root.join("a/b/empty"), "").unwrap();
    let data = std::fs::read(capture("05-nla-wrong-password.pcap")).unwrap();
    let recs = pcap_records(&data);
    let (off, len) = recs[9];
    std::fs::write(root.join("c/cut.pcap"), &data[..off + 16 + len / 2]).unwrap();
    (
        root,
        Cut {
            record_offset: off as u64,
            frame: 10,
        },
    )
}

/// The tree's files in walk order, relative to the root.
const WALK: [&str; 7] = [
    "a/01-success-tls.pcap",
    "a/README.txt",
    "a/b/06-port-closed.pcap",
    "a/b/c/13-cert-expired.pcap",
    "a/b/empty",
    "c/26-success-tls-gzip.pcap.gz",
    "c/cut.pcap",
];

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 scratch path")
}

fn paths(root: &Path, rel: &[&str]) -> Vec<String> {
    rel.iter().map(|r| s(&root.join(r)).to_string()).collect()
}

fn file_paths(doc: &Value) -> Vec<String> {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_directory_is_walked_in_order_and_every_file_is_accounted_for() {
    let (root, cut) = tree("walk");
    let o = run(&["--format", "json", s(&root)]);
    // The truncated capture makes it 2; skipped files do not.
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(file_paths(&doc), paths(&root, &WALK));
    let files = doc["files"].as_array().unwrap();
    let by = |rel: &str| {
        files
            .iter()
            .find(|f| f["path"] == s(&root.join(rel)))
            .unwrap()
    };

    // Good captures are analysed.
    for (rel, outcomes) in [
        ("a/01-success-tls.pcap", &["established"][..]),
        ("a/b/06-port-closed.pcap", &["failed", "failed"]),
        ("a/b/c/13-cert-expired.pcap", &["failed"]),
        ("c/26-success-tls-gzip.pcap.gz", &["established"]),
    ] {
        let f = by(rel);
        assert_eq!(f["complete"], true, "{rel}");
        assert_eq!(f["error"], Value::Null, "{rel}");
        let got: Vec<&str> = f["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(got, outcomes, "{rel}");
    }
    assert_eq!(by("c/26-success-tls-gzip.pcap.gz")["compression"], "gzip");
    assert_eq!(
        by("a/b/06-port-closed.pcap")["connections"][0]["cause"]["id"],
        "port_closed"
    );

    // The truncated capture: reported with its offset, analysed up to the cut.
    let c = by("c/cut.pcap");
    assert_eq!(c["complete"], false);
    assert_eq!(c["error"]["kind"], "truncated");
    assert_eq!(c["error"]["offset"], cut.record_offset);
    assert_eq!(c["error"]["frame"], cut.frame);
    assert_eq!(c["packets"], cut.frame - 1);
    let conns = c["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["last_frame"], cut.frame - 1);
    // tshark reads the same 9 frames of the cut file; frame 8 is the
    // client's TLS ClientHello, the last step before the cut.
    assert_eq!(conns[0]["last_step"], "tls_client_hello");

    // Not captures: listed as skipped, not errors.
    for (rel, kind) in [("a/README.txt", "not_a_capture"), ("a/b/empty", "empty")] {
        let f = by(rel);
        assert_eq!(f["error"], Value::Null, "{rel}");
        assert_eq!(f["ignored"]["kind"], kind, "{rel}");
        assert!(f["connections"].as_array().unwrap().is_empty());
    }

    // Standard error names the one file that could not be read whole.
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with(&format!("rdptriage: {}: ", s(&root.join("c/cut.pcap")))),
        "{err}"
    );
    assert!(
        lines[0].contains(&format!("byte offset {}", cut.record_offset)),
        "{err}"
    );

    // Totals.
    let t = &doc["totals"];
    assert_eq!(t["files"], 7);
    assert_eq!(t["files_ignored"], 2);
    assert_eq!(t["files_unreadable"], 0);
    assert_eq!(t["files_incomplete"], 1);
    assert_eq!(t["connections"], 6);
    assert_eq!(t["outcomes"]["failed"], 3);
    assert_eq!(t["outcomes"]["established"], 2);
    assert_eq!(t["outcomes"]["incomplete"], 1);
    assert_eq!(
        t["failures_by_phase"],
        // The client refusing the certificate fails in the TLS phase.
        serde_json::json!([{"id": "tcp", "count": 2}, {"id": "tls", "count": 1}])
    );
    assert_eq!(
        t["failures_by_cause"],
        serde_json::json!([
            {"id": "port_closed", "count": 2},
            {"id": "cert_rejected_expired", "count": 1}
        ])
    );
    let servers = t["failures_by_server"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["server"], "198.51.100.20:3389");
    assert_eq!(servers[0]["failed"], 3);
    assert_eq!(servers[0]["connections"], 6);
    let problems = t["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["kind"], "incomplete");
    let ignored: Vec<&str> = t["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(ignored, paths(&root, &["a/README.txt", "a/b/empty"]));

    // The table says the same in words.
    let o = run(&[s(&root)]);
    assert_eq!(code(&o), 2);
    // Lines are wrapped to the width (100 columns in a pipe): compare words.
    let out = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("7 files, 1 read incompletely, 2 skipped (not captures); 6 connections analysed: 3 failed, 2 established, 1 incomplete"),
        "{out}"
    );
    assert!(
        out.contains("Servers with the most failures: 198.51.100.20:3389: 3 of 6 failed (port_closed 2, cert_rejected_expired 1)"),
        "{out}"
    );
}

#[test]
fn files_that_are_not_captures_do_not_fail_a_directory_run() {
    let (root, _) = tree("exit");
    // a/ holds failures and two non-captures: exit 1, not 2.
    let o = run(&["--format", "json", s(&root.join("a"))]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert_eq!(json(&o)["totals"]["files_ignored"], 2);
    // Only the successful capture and a note: exit 0.
    let o = run(&[
        "--format",
        "json",
        s(&root.join("c/26-success-tls-gzip.pcap.gz")),
        s(&root.join("a/b/empty")),
    ]);
    // ... but named on the command line, the empty file is an error.
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // A file named like a capture that is not one, met in a directory, is an error.
    std::fs::write(root.join("c/broken.pcap"), "not really").unwrap();
    let o = run(&["--format", "json", s(&root.join("c"))]);
    assert_eq!(code(&o), 2);
    let doc = json(&o);
    assert_eq!(
        doc["files"][0]["path"],
        s(&root.join("c/26-success-tls-gzip.pcap.gz"))
    );
    assert_eq!(doc["files"][1]["error"]["kind"], "not_a_capture");
    assert_eq!(doc["files"][1]["ignored"], Value::Null);
    // A directory of nothing but the tree's two notes: exit 0.
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::copy(root.join("a/README.txt"), root.join("notes/README.txt")).unwrap();
    let o = run(&["--format", "csv", s(&root.join("notes"))]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 file found (not named) is not a capture and was skipped"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn jsonl_records_every_connection_error_and_skipped_file() {
    let (root, cut) = tree("jsonl");
    let o = run(&["--format", "jsonl", s(&root)]);
    assert_eq!(code(&o), 2);
    let recs = jsonl(&o);
    let kinds: Vec<(String, String)> = recs
        .iter()
        .map(|r| {
            let f = r["file"].as_str().unwrap();
            let rel = f.strip_prefix(s(&root)).unwrap().trim_start_matches('/');
            (r["record"].as_str().unwrap().to_string(), rel.to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("connection", "a/01-success-tls.pcap"),
        ("file", "a/01-success-tls.pcap"),
        ("ignored", "a/README.txt"),
        ("connection", "a/b/06-port-closed.pcap"),
        ("connection", "a/b/06-port-closed.pcap"),
        ("file", "a/b/06-port-closed.pcap"),
        ("connection", "a/b/c/13-cert-expired.pcap"),
        ("file", "a/b/c/13-cert-expired.pcap"),
        ("ignored", "a/b/empty"),
        ("connection", "c/26-success-tls-gzip.pcap.gz"),
        ("file", "c/26-success-tls-gzip.pcap.gz"),
        ("connection", "c/cut.pcap"),
        ("error", "c/cut.pcap"),
        ("file", "c/cut.pcap"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(kinds, want);
    assert!(recs.iter().all(|r| r["schema_version"] == 1));
    // Read part-way: the error follows the connections it counts.
    let err = &recs[12];
    assert_eq!(err["partial"], true);
    assert_eq!(err["connections"], 1);
    assert_eq!(err["error"]["offset"], cut.record_offset);
    // Connection records are the document's connections, with the file.
    let doc = json(&run(&["--format", "json", s(&root)]));
    let ported = &doc["files"][2]["connections"][1];
    let mut rec = recs[4].clone();
    for k in ["record", "schema_version", "file"] {
        rec.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(&rec, ported);
    assert_eq!(rec["stream"], 1);
    assert_eq!(rec["cause"]["id"], "port_closed");
}

#[test]
fn sha256_in_json_and_jsonl_is_the_file_as_stored() {
    let (root, _) = tree("sha256");
    let doc = json(&run(&["--format", "json", s(&root)]));
    let recs = jsonl(&run(&["--format", "jsonl", s(&root)]));
    let mut hashed = 0;
    for f in doc["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        if path.ends_with("README.txt") {
            // Rejected as not a capture: nothing more was read, no hash.
            assert!(f["sha256"].is_null(), "{path}");
            continue;
        }
        hashed += 1;
        let want = sha256sum(path);
        assert_eq!(f["sha256"], want.as_str(), "{path}");
        if f["format"].is_null() {
            // The empty file was read to its end: it has the hash of nothing.
            continue;
        }
        let rec = recs
            .iter()
            .find(|r| r["record"] == "file" && r["file"] == path)
            .unwrap();
        assert_eq!(rec["sha256"], want.as_str(), "{path}");
    }
    // The five captures (the gzip one and the cut one included) and the
    // empty file.
    assert_eq!(hashed, 6);
}

/// RFC 4180 rows (CRLF) of fields.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.split_terminator("\r\n")
        .map(|line| {
            let mut fields = vec![String::new()];
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' if quoted && chars.peek() == Some(&'"') => {
                        chars.next();
                        fields.last_mut().unwrap().push('"');
                    }
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields.push(String::new()),
                    c => fields.last_mut().unwrap().push(c),
                }
            }
            fields
        })
        .collect()
}

/// The SHA-256 of a file by coreutils' `sha256sum`, the oracle.
fn sha256sum(path: &str) -> String {
    let o = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

const CSV_HEADER: &str = "file,stream,client,server,first_frame,first_ts,outcome,phase,last_step,failed_step,ended_by,ending_frame,cause,confidence,benign,cookie,requested,selected,tls_version,cipher,cert_subject,cert_not_after,summary,client_message,record,sha256";

#[test]
fn csv_has_one_row_per_connection() {
    let (root, _) = tree("csv");
    let o = run(&["--format", "csv", s(&root)]);
    assert_eq!(code(&o), 2);
    let text = stdout(&o);
    assert!(text.starts_with(&format!("{CSV_HEADER}\r\n")), "{text}");
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 1 + 6, "{text}");
    assert!(rows.iter().all(|r| r.len() == 26), "{rows:?}");
    // Each row carries its file's SHA-256 as `sha256sum` gives it: of the
    // file as stored, the compressed bytes for a gzip file.
    for r in &rows[1..] {
        assert_eq!(r[25], sha256sum(&r[0]), "{r:?}");
    }
    assert!(rows.iter().any(|r| r[0].ends_with(".pcap.gz")));
    let expired = rows
        .iter()
        .find(|r| r[0].ends_with("13-cert-expired.pcap"))
        .unwrap();
    assert_eq!(expired[6], "failed");
    assert_eq!(expired[12], "cert_rejected_expired");
    assert_eq!(expired[16], "SSL");
    assert_eq!(expired[18], "TLS 1.2");
    assert_eq!(expired[21], "2021-01-01T00:00:00.000000Z");
    assert!(expired[22].starts_with("Failed at"), "{expired:?}");
    let files: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted, "rows in walk order");
    // The skipped files are told on standard error, with the truncated one.
    let err = stderr(&o);
    assert!(err.contains("cut.pcap: capture cut short"), "{err}");
    assert!(
        err.contains("2 files found (not named) are not captures and were skipped"),
        "{err}"
    );
}

#[test]
fn shards_cover_everything_exactly_once() {
    let (root, _) = tree("shard");
    let all = json(&run(&["--format", "json", s(&root)]));
    let all_files = file_paths(&all);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut records = Vec::new();
    for k in ["1/2", "2/2"] {
        let o = run(&["--format", "json", "--shard", k, s(&root)]);
        let doc = json(&o);
        let files = file_paths(&doc);
        // Each shard keeps the input order.
        let order: Vec<usize> = files
            .iter()
            .map(|f| all_files.iter().position(|a| a == f).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{k}: {files:?}");
        for f in files {
            *seen.entry(f).or_default() += 1;
        }
        records.extend(jsonl(&run(&["--format", "jsonl", "--shard", k, s(&root)])));
    }
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), {
        let mut v = all_files.clone();
        v.sort();
        v
    });
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    // The concatenated JSON Lines hold every record of the whole run once.
    let whole = jsonl(&run(&["--format", "jsonl", s(&root)]));
    let key = |r: &Value| {
        (
            r["file"].to_string(),
            r["record"].to_string(),
            r["stream"].to_string(),
        )
    };
    let mut a: Vec<_> = records.iter().map(key).collect();
    let mut b: Vec<_> = whole.iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // One part of one is everything.
    let one = json(&run(&["--format", "json", "--shard", "1/1", s(&root)]));
    assert_eq!(file_paths(&one), all_files);
}

#[test]
fn bad_shards_are_usage_errors() {
    for bad in ["0/2", "3/2", "1/0", "x", "1/2/3", ""] {
        let o = run(&["--shard", bad, "x.pcap"]);
        assert_eq!(code(&o), 2, "{bad}");
        assert!(
            stderr(&o).starts_with("rdptriage: "),
            "{bad}: {}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn files_from_a_list_or_standard_input() {
    let (root, _) = tree("list");
    let list = [
        s(&root.join("c/26-success-tls-gzip.pcap.gz")).to_string(),
        String::new(),
        s(&root.join("a/b")).to_string(),
        // Met twice: analysed once, at its first place.
        s(&root.join("c/26-success-tls-gzip.pcap.gz")).to_string(),
    ];
    let text = list.join("\r\n") + "\n";
    let want = paths(
        &root,
        &[
            "a/01-success-tls.pcap",
            "c/26-success-tls-gzip.pcap.gz",
            "a/b/06-port-closed.pcap",
            "a/b/c/13-cert-expired.pcap",
            "a/b/empty",
        ],
    );
    let list_file = root.join("list.txt");
    std::fs::write(&list_file, &text).unwrap();
    let first = root.join("a/01-success-tls.pcap");
    let first = s(&first);
    let o = run(&["--format", "json", "--files-from", s(&list_file), first]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(file_paths(&json(&o)), want);
    let o = run_stdin(
        &["--format", "json", "--files-from", "-", first],
        text.as_bytes(),
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(file_paths(&json(&o)), want);
    // No argument is needed with a list.
    let o = run(&["--format", "json", "--files-from", s(&list_file)]);
    assert_eq!(file_paths(&json(&o)).len(), 4);
    // Standard input cannot be both the list and a capture.
    let o = run_stdin(&["--files-from", "-", "-"], b"x.pcap\n");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).starts_with("rdptriage: "), "{}", stderr(&o));
    // A list that cannot be read is a usage error.
    let o = run(&["--files-from", s(&root.join("no-such-list"))]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cannot read the list of files"));
}

#[test]
fn glob_patterns_are_expanded_by_rdptriage() {
    let (root, _) = tree("glob");
    let pattern = format!("{}/**/*.pcap*", s(&root));
    let o = run(&["--format", "json", &pattern]);
    assert_eq!(code(&o), 2);
    assert_eq!(
        file_paths(&json(&o)),
        paths(
            &root,
            &[
                "a/01-success-tls.pcap",
                "a/b/06-port-closed.pcap",
                "a/b/c/13-cert-expired.pcap",
                "c/26-success-tls-gzip.pcap.gz",
                "c/cut.pcap",
            ]
        )
    );
    // `*` does not cross directories; `?` and `[...]` work.
    let o = run(&["--format", "json", &format!("{}/a/*", s(&root))]);
    let got = file_paths(&json(&o));
    // a/b is a directory the pattern matched: walked.
    assert_eq!(
        got,
        paths(
            &root,
            &[
                "a/01-success-tls.pcap",
                "a/README.txt",
                "a/b/06-port-closed.pcap",
                "a/b/c/13-cert-expired.pcap",
                "a/b/empty",
            ]
        )
    );
    // A file matched by a pattern was found, not named: a non-capture not
    // named like a capture is skipped; one named like a capture is an error.
    let o = run(&["--format", "json", &format!("{}/a/READ?E.[tx]xt", s(&root))]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["files"][0]["ignored"]["kind"], "not_a_capture");
    std::fs::write(root.join("a/fake.pcap"), "not really").unwrap();
    let o = run(&["--format", "json", &format!("{}/a/f*.pcap", s(&root))]);
    assert_eq!(code(&o), 2);
    assert_eq!(json(&o)["files"][0]["error"]["kind"], "not_a_capture");
    // A pattern that matches nothing is an input error; the rest go on.
    let none = format!("{}/nothing/*.pcap", s(&root));
    let o = run(&[
        "--format",
        "json",
        &none,
        s(&root.join("a/01-success-tls.pcap")),
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(&format!(
            "{none}: cannot open: no file matches this pattern"
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        json(&o)["files"][1]["connections"][0]["outcome"],
        "established"
    );
    // A malformed pattern is a usage error.
    let o = run(&[&format!("{}/[", s(&root))]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).starts_with("rdptriage: bad pattern"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let (root, _) = tree("threads");
    // One thread renders inline; two render beside the analysis; four
    // also split the analysis's batches over the pool.
    for format in ["table", "json", "markdown", "jsonl", "csv", "html"] {
        let mut outs = Vec::new();
        for threads in ["1", "2", "4"] {
            let o = run(&["--format", format, "--threads", threads, s(&root)]);
            outs.push((code(&o), o.stdout, o.stderr));
        }
        assert_eq!(outs[0], outs[1], "{format}");
        assert_eq!(outs[0], outs[2], "{format}");
        assert_eq!(outs[0].0, 2);
    }
}

#[test]
fn redaction_holds_in_jsonl_and_csv() {
    let (root, _) = tree("redact");
    for format in ["jsonl", "csv"] {
        let plain = stdout(&run(&["--format", format, s(&root)]));
        assert!(plain.contains("198.51.100.20") && plain.contains("192.0.2.10"));
        let out = stdout(&run(&["--format", format, "--redact", s(&root)]));
        for secret in ["198.51.100.20", "192.0.2.10", "root"] {
            assert!(!out.contains(secret), "{format}: {secret} in\n{out}");
        }
        assert!(out.contains("ip-1:") && out.contains(":3389"), "{out}");
    }
    // Pseudonyms hold across files: the one server is the same everywhere.
    let recs = jsonl(&run(&["--format", "jsonl", "--redact", s(&root)]));
    let servers: std::collections::BTreeSet<&str> = recs
        .iter()
        .filter(|r| r["record"] == "connection")
        .map(|r| r["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers.len(), 1, "{servers:?}");
}

/// A capture read completely that holds no RDP connection still has a
/// record in JSON Lines: its `file` record, with its counts.
#[test]
fn jsonl_has_a_file_record_for_a_capture_without_rdp() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("batch-no-rdp");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The lab capture's own header, and no packet.
    let data = std::fs::read(capture("01-success-tls.pcap")).unwrap();
    let path = dir.join("no-packets.pcap");
    std::fs::write(&path, &data[..24]).unwrap();
    let o = run(&["--format", "jsonl", s(&path)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let recs = jsonl(&o);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!(r["record"], "file");
    assert_eq!(r["file"], s(&path));
    assert_eq!(r["complete"], true);
    assert_eq!(r["packets"], 0);
    assert_eq!(r["connections"], 0);
    assert_eq!(r["outcomes"]["failed"], 0);
}

/// A fresh scratch directory.
fn scratch_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("batch-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[cfg(unix)]
#[test]
fn a_glob_over_a_symlink_loop_ends_and_visits_each_directory_once() {
    let root = scratch_dir("glob-loop");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::copy(capture("06-port-closed.pcap"), root.join("a/b/x.pcap")).unwrap();
    // A loop (a/b/up -> a) and a second way into b (a/again -> b).
    std::os::unix::fs::symlink("..", root.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink("b", root.join("a/again")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let pattern = format!("{}/**/*.pcap", s(&root));
    std::thread::spawn(move || {
        let _ = tx.send(run(&["--format", "jsonl", &pattern]));
    });
    let o = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the glob over a symlink loop did not end");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let files: Vec<String> = jsonl(&o)
        .iter()
        .filter(|r| r["record"] == "file")
        .map(|r| r["file"].as_str().unwrap().to_string())
        .collect();
    // One file, analysed once (the first spelling met: a/again/x.pcap
    // sorts before a/b/x.pcap).
    assert_eq!(files.len(), 1, "{files:?}");
}

#[cfg(unix)]
#[test]
fn one_file_spelled_five_ways_is_analysed_once() {
    let root = scratch_dir("spellings");
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::copy(capture("06-port-closed.pcap"), root.join("a/x.pcap")).unwrap();
    std::os::unix::fs::symlink("a", root.join("link")).unwrap();
    let abs = root.join("a/x.pcap");
    let o = run_cli::bin()
        .current_dir(&root)
        .args([
            "--format",
            "json",
            "a/x.pcap",
            "./a/x.pcap",
            s(&abs),
            "link/x.pcap",
            "a/../a/x.pcap",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(file_paths(&doc), ["a/x.pcap"]);
    assert_eq!(doc["totals"]["files"], 1);
}

#[test]
fn markdown_of_an_endless_input_finishes() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run(&["--format", "markdown", "/dev/zero"]));
    });
    let o = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("markdown on /dev/zero did not finish");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stdout(&o).contains("not computed"), "{}", stdout(&o));
}

/// An empty batch is no clean bill of health: an empty directory (a wrong
/// mount path) or an empty list says so and exits 2, while a capture
/// without RDP still says so and exits 0.
#[test]
fn an_empty_batch_is_an_error_not_a_clean_bill_of_health() {
    let dir = scratch_dir("empty-batch");
    let empty = dir.join("mnt");
    std::fs::create_dir_all(&empty).unwrap();
    for format in ["table", "json", "jsonl", "csv"] {
        let o = run(&["--format", format, s(&empty)]);
        assert_eq!(code(&o), 2, "{format}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!("rdptriage: no capture files found in {}\n", s(&empty)),
            "{format}"
        );
        assert!(o.stdout.is_empty(), "{format}: {}", stdout(&o));
    }
    let o = run_stdin(&["--files-from", "-"], b"");
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("rdptriage: no capture files found in the list on standard input"),
        "{}",
        stderr(&o)
    );
    // A list of comments only is empty too.
    let list = dir.join("list.txt");
    std::fs::write(&list, "# nothing today\r\n\r\n").unwrap();
    let o = run(&["--files-from", s(&list)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no capture files found"),
        "{}",
        stderr(&o)
    );
    // A capture without RDP is analysed: it says so and exits 0.
    let data = std::fs::read(capture("01-success-tls.pcap")).unwrap();
    std::fs::write(empty.join("no-rdp.pcap"), &data[..24]).unwrap();
    let o = run(&[s(&empty)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("no RDP connection found"),
        "{}",
        stdout(&o)
    );
    // A shard that holds none of the files found is no error.
    let mut empty_shard = false;
    for k in 1..=4 {
        let o = run(&["--format", "json", "--shard", &format!("{k}/4"), s(&empty)]);
        let files = json(&o)["files"].as_array().unwrap().len();
        if files == 0 {
            empty_shard = true;
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
    }
    assert!(empty_shard);
}

/// `--files-from` lists as Windows writes them: byte-order marks, UTF-16,
/// CRLF, comments, blank lines, spaces around names; each entry is a path,
/// never a pattern, and a bad one does not stop the batch.
#[test]
fn files_from_lists_written_on_windows() {
    let dir = scratch_dir("windows-list");
    let a = dir.join("a.pcap");
    let b = dir.join("b [1].pcap");
    std::fs::copy(capture("06-port-closed.pcap"), &a).unwrap();
    std::fs::copy(capture("01-success-tls.pcap"), &b).unwrap();
    let gone = dir.join("gone[.pcap");
    let text = format!(
        "# captures from the ticket\r\n  {} \r\n\r\n{}\r\n\t{}\r\n# end\r\n",
        s(&a),
        s(&gone),
        s(&b)
    );
    let mut utf8_bom = "\u{feff}".to_string();
    utf8_bom.push_str(&text);
    let mut utf16le = vec![0xff, 0xfe];
    utf16le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut utf16be = vec![0xfe, 0xff];
    utf16be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for (name, bytes) in [
        ("utf8-bom", utf8_bom.into_bytes()),
        ("utf16le", utf16le),
        ("utf16be", utf16be),
    ] {
        let list = dir.join(format!("{name}.txt"));
        std::fs::write(&list, &bytes).unwrap();
        let o = run(&["--format", "json", "--files-from", s(&list)]);
        // The missing entry is an error (exit 2), and the batch went on.
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        let doc = json(&o);
        assert_eq!(
            file_paths(&doc),
            [s(&a), s(&gone), s(&b)],
            "{name}: {}",
            stderr(&o)
        );
        assert_eq!(doc["files"][1]["error"]["kind"], "io", "{name}");
        assert!(!doc["files"][0]["connections"]
            .as_array()
            .unwrap()
            .is_empty());
        assert_eq!(doc["files"][2]["complete"], true, "{name}");
        assert_eq!(
            stderr(&o).lines().count(),
            1,
            "{name}: the one bad entry, once: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).starts_with(&format!("rdptriage: {}: cannot open", s(&gone))),
            "{name}: {}",
            stderr(&o)
        );
    }
}
