//! `--format summary`: one `key=value` line per file, checked against the
//! labels of the lab captures (testdata/captures/labels.tsv): counts per
//! outcome, the worst outcome and its most frequent cause.

use std::collections::BTreeMap;
use std::path::Path;

#[allow(dead_code)]
mod run_cli;
use run_cli::{code, run, stdout};

const CAPTURES: [&str; 8] = [
    "01-success-tls.pcap",
    "05-nla-wrong-password.pcap",
    "06-port-closed.pcap",
    "12-tls-version-mismatch.pcap",
    "21-stall-after-tcp-handshake.pcap",
    "33-capture-ends-early.pcap",
    "38-idle-timeout.pcap",
    "65-ipv6.pcap",
];

const KEYS: [&str; 13] = [
    "file",
    "status",
    "packets",
    "connections",
    "failed",
    "incomplete",
    "established",
    "benign",
    "not_rdp",
    "filtered_out",
    "worst",
    "cause",
    "error",
];

fn path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/captures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The `key=value` pairs of a line, in order (values unquoted).
fn pairs(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (k, r) = rest.split_once('=').unwrap();
        let (v, r) = if let Some(q) = r.strip_prefix('"') {
            let end = q.find('"').unwrap();
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = r.find(' ').unwrap_or(r.len());
            (r[..end].to_string(), &r[end..])
        };
        out.push((k.to_string(), v));
        rest = r.trim_start();
    }
    out
}

#[test]
fn one_line_per_file_as_the_labels_say() {
    let labels = std::fs::read_to_string(path("labels.tsv")).unwrap();
    // file -> outcome -> causes of that outcome's connections.
    let mut want: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for l in labels.lines().skip(1) {
        let c: Vec<&str> = l.split('\t').collect();
        if CAPTURES.contains(&c[0]) {
            want.entry(c[0])
                .or_default()
                .entry(c[4])
                .or_default()
                .push(c[8]);
        }
    }
    let missing = std::env::temp_dir().join("rdptriage-summary-missing.pcap");
    let _ = std::fs::remove_file(&missing);
    let mut args: Vec<String> = vec!["--format".into(), "summary".into()];
    args.extend(CAPTURES.iter().map(|c| path(c)));
    args.push(missing.to_string_lossy().into_owned());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&argv);
    assert_eq!(code(&o), 2, "a file could not be read");
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), CAPTURES.len() + 1, "{out}");
    for (line, name) in lines.iter().zip(CAPTURES) {
        let p = pairs(line);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, KEYS, "{line}");
        let get = |k: &str| p.iter().find(|(key, _)| key == k).unwrap().1.as_str();
        assert_eq!(get("file"), path(name));
        assert_eq!(get("status"), "ok");
        assert_eq!(get("error"), "-");
        let outcomes = &want[name];
        let n = |o: &str| outcomes.get(o).map_or(0, Vec::len).to_string();
        for o in ["failed", "incomplete", "established", "benign", "not_rdp"] {
            assert_eq!(get(o), n(o), "{o}: {line}");
        }
        let total: usize = outcomes.values().map(Vec::len).sum();
        assert_eq!(get("connections"), total.to_string());
        // The worst outcome, and the most frequent labelled cause of it.
        let worst = ["failed", "incomplete", "not_rdp", "benign", "established"]
            .into_iter()
            .find(|o| outcomes.contains_key(o))
            .unwrap();
        assert_eq!(get("worst"), worst, "{line}");
        let mut causes: Vec<&str> = outcomes[worst].clone();
        causes.sort();
        let top = causes
            .iter()
            .max_by_key(|c| causes.iter().filter(|d| d == c).count())
            .unwrap();
        assert_eq!(get("cause"), *top, "{line}");
    }
    let last = pairs(lines[CAPTURES.len()]);
    assert_eq!(last[1], ("status".to_string(), "unreadable".to_string()));
    assert!(last[12].1.starts_with("cannot open"), "{last:?}");
}
