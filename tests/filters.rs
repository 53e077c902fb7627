//! `--only`, `--server`, `--client` and `--stream` in every format: the
//! connections each format shows are those the labels of the lab captures
//! (testdata/captures/labels.tsv: what really happened) say must appear,
//! and a filter matching nothing says so.
//!
//! The lab's addressing is a fact of the lab (testdata/captures/README.md):
//! client 192.0.2.10, server 198.51.100.20:3389, and for the IPv6 capture
//! the server 2001:db8:5::20.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

#[allow(dead_code)]
mod run_cli;
use run_cli::{bin, code, stderr, stdout};

const CAPTURES: [&str; 9] = [
    "01-success-tls.pcap",
    "05-nla-wrong-password.pcap",
    "06-port-closed.pcap",
    "12-tls-version-mismatch.pcap",
    "21-stall-after-tcp-handshake.pcap",
    "24-capture-mid-connection.pcap",
    "33-capture-ends-early.pcap",
    "38-idle-timeout.pcap",
    "65-ipv6.pcap",
];

const FORMATS: [&str; 7] = [
    "table", "json", "jsonl", "csv", "markdown", "html", "summary",
];

fn path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/captures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// (file name, stream, outcome) of every labelled connection of CAPTURES.
fn labels() -> Vec<(String, u64, String)> {
    let text = std::fs::read_to_string(path("labels.tsv")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if CAPTURES.contains(&cols[0]) {
            out.push((
                cols[0].to_string(),
                cols[1].parse().unwrap(),
                cols[4].to_string(),
            ));
        }
    }
    out
}

type Shown = BTreeSet<(String, u64)>;

fn name_of(p: &str) -> String {
    Path::new(p)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The (file, stream) pairs a report shows, read the way a reader of that
/// format would; for the summary, the number shown per file instead
/// (stream 0 standing for "count").
fn shown(format: &str, out: &str, files: &[String]) -> Shown {
    let mut s = Shown::new();
    match format {
        "json" => {
            let v: Value = serde_json::from_str(out).unwrap();
            for f in v["files"].as_array().unwrap() {
                for c in f["connections"].as_array().unwrap() {
                    s.insert((
                        name_of(f["path"].as_str().unwrap()),
                        c["stream"].as_u64().unwrap(),
                    ));
                }
            }
        }
        "jsonl" => {
            for l in out.lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                if v["record"] == "connection" {
                    s.insert((
                        name_of(v["file"].as_str().unwrap()),
                        v["stream"].as_u64().unwrap(),
                    ));
                }
            }
        }
        "csv" => {
            for l in out.lines().skip(1) {
                let cols: Vec<&str> = l.split(',').collect();
                if l.contains(",connection,") {
                    s.insert((name_of(cols[0]), cols[1].parse().unwrap()));
                }
            }
        }
        "html" => {
            // Each connection's section is `c{file index}-{stream}`.
            for part in out.split("id=\"c").skip(1) {
                let id: String = part.chars().take_while(|c| *c != '"').collect();
                if let Some((i, st)) = id.split_once('-') {
                    if let (Ok(i), Ok(st)) = (i.parse::<usize>(), st.parse()) {
                        s.insert((name_of(&files[i]), st));
                    }
                }
            }
        }
        "table" | "markdown" => {
            // Rows of the connections table under each file's heading.
            let mut file = String::new();
            for l in out.lines() {
                let heading = if format == "table" {
                    files.iter().find(|f| l == f.as_str())
                } else {
                    files.iter().find(|f| l == format!("## Capture `{f}`"))
                };
                if let Some(f) = heading {
                    file = name_of(f);
                    continue;
                }
                let cell = if format == "table" {
                    l.strip_prefix("│ ").and_then(|r| r.split_once(' '))
                } else {
                    l.strip_prefix("| ").and_then(|r| r.split_once(' '))
                };
                if let Some(n) = cell.and_then(|(n, _)| n.parse().ok()) {
                    s.insert((file.clone(), n));
                }
            }
        }
        "summary" => {
            for l in out.lines() {
                let get = |k: &str| {
                    l.split(' ')
                        .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                        .unwrap()
                        .to_string()
                };
                let n: u64 = get("connections").parse().unwrap();
                if n > 0 {
                    s.insert((name_of(&get("file")), n));
                }
            }
        }
        _ => unreachable!(),
    }
    s
}

fn run_filtered(format: &str, filter: &[&str], files: &[String]) -> std::process::Output {
    let mut c = bin();
    c.env("COLUMNS", "250")
        .args(["--format", format])
        .args(filter);
    c.args(files);
    c.output().unwrap()
}

#[test]
fn every_format_shows_what_the_labels_say() {
    let files: Vec<String> = CAPTURES.iter().map(|c| path(c)).collect();
    let labels = labels();
    assert_eq!(labels.len(), 11, "{labels:?}");
    let ipv6 = |f: &str| f == "65-ipv6.pcap";
    type Want = Box<dyn Fn(&(String, u64, String)) -> bool>;
    let cases: Vec<(Vec<&str>, Want)> = vec![
        (vec!["--only", "failed"], Box::new(|l| l.2 == "failed")),
        (
            vec!["--only", "incomplete,established"],
            Box::new(|l| l.2 == "incomplete" || l.2 == "established"),
        ),
        (vec!["--stream", "1"], Box::new(|l| l.1 == 1)),
        (
            vec!["--server", "2001:db8:5::/48"],
            Box::new(move |l| ipv6(&l.0)),
        ),
        (
            vec!["--server", "198.51.100.20:3389", "--only", "failed"],
            Box::new(move |l| !ipv6(&l.0) && l.2 == "failed"),
        ),
        (
            vec!["--client", "192.0.2.0/24", "--stream", "0"],
            Box::new(move |l| !ipv6(&l.0) && l.1 == 0),
        ),
    ];
    for (filter, want) in &cases {
        let expect: Shown = labels
            .iter()
            .filter(|l| want(l))
            .map(|l| (l.0.clone(), l.1))
            .collect();
        assert!(!expect.is_empty(), "{filter:?}");
        for format in FORMATS {
            let o = run_filtered(format, filter, &files);
            let out = stdout(&o);
            let got = shown(format, &out, &files);
            let expect = if format == "summary" {
                let mut per_file = std::collections::BTreeMap::new();
                for (f, _) in &expect {
                    *per_file.entry(f.clone()).or_insert(0u64) += 1;
                }
                per_file.into_iter().collect()
            } else {
                expect.clone()
            };
            assert_eq!(got, expect, "{format} {filter:?}\n{out}");
            let failed = expect.iter().any(|(f, s)| {
                labels
                    .iter()
                    .any(|l| &l.0 == f && (format == "summary" || l.1 == *s) && l.2 == "failed")
            });
            // The exit code is of the connections shown.
            if format != "summary" {
                assert_eq!(code(&o), i32::from(failed), "{format} {filter:?}");
            }
        }
    }
}

#[test]
fn totals_count_what_is_shown_and_say_what_was_hidden() {
    let files: Vec<String> = CAPTURES.iter().map(|c| path(c)).collect();
    let o = run_filtered("json", &["--only", "failed"], &files);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let labels = labels();
    let failed = labels.iter().filter(|l| l.2 == "failed").count() as u64;
    assert_eq!(v["totals"]["connections"], failed);
    assert_eq!(v["totals"]["outcomes"]["failed"], failed);
    assert_eq!(v["totals"]["outcomes"]["established"], 0);
    assert_eq!(
        v["totals"]["filtered_out"],
        labels.len() as u64 - failed,
        "{}",
        v["totals"]
    );
    // An attempt is listed when it holds a connection shown.
    for f in v["files"].as_array().unwrap() {
        let streams: Vec<&Value> = f["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["stream"])
            .collect();
        for a in f["attempts"].as_array().unwrap() {
            let held = a["streams"].as_array().unwrap();
            assert!(held.iter().any(|s| streams.contains(&s)), "{a}");
        }
    }
}

#[test]
fn a_filter_matching_nothing_says_so_in_every_format() {
    let files = vec![path("06-port-closed.pcap")];
    for format in FORMATS {
        let o = run_filtered(format, &["--only", "established"], &files);
        let err = stderr(&o);
        assert!(
            err.contains("rdptriage: no connection matched the filters (--only established); 2 connections hidden"),
            "{format}: {err}"
        );
        assert_eq!(code(&o), 0, "{format}");
        let got = shown(format, &stdout(&o), &files);
        assert!(got.is_empty(), "{format}: {got:?}");
    }
    // The table and Markdown say it beside the file too.
    for format in ["table", "markdown"] {
        let out = stdout(&run_filtered(format, &["--stream", "7"], &files));
        assert!(
            out.contains("no connection shown: 2 connections hidden by the filters"),
            "{format}: {out}"
        );
    }
}

#[test]
fn bad_filters_are_usage_errors() {
    let files = vec![path("06-port-closed.pcap")];
    for bad in [
        &["--only", "broken"][..],
        &["--server", "rdp.example"],
        &["--client", "192.0.2.0/33"],
        &["--stream", "x"],
    ] {
        let o = run_filtered("json", bad, &files);
        assert_eq!(code(&o), 2, "{bad:?}");
        assert!(stderr(&o).starts_with("rdptriage: "), "{}", stderr(&o));
    }
}
