//! Every labelled connection (the lab's in `testdata/captures/labels.tsv`,
//! the public corpus's in `tests/corpus-verdicts.tsv`) against the verdict
//! rdptriage gives, under the evidence model of `docs/verdicts.md`:
//!
//! - each field equals its label (`*` in a label: not checked); a label
//!   whose failure may be claimed with low confidence at most also accepts
//!   the same outcome with the cause left unnamed ("we cannot tell");
//! - no failure is claimed above the label's `max_failure_confidence`
//!   (`none`: no failure and no cause at all);
//! - every medium or high cause rests on seen or implied evidence;
//! - the confusion table in `docs/verdicts.md` is the one these verdicts
//!   give (`UPDATE_VERDICTS=1 cargo test --test verdicts` rewrites it).
//!
//! Verdicts are read after attempt grouping, as every report shows them.
//! The labels come from what really happened in the lab and from tshark,
//! never from rdptriage's output.

use rdptriage::analyze::{analyze_path, FileResult, Options};
use rdptriage::diagnose::{Certainty, Confidence, Diagnosis};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;

const OUTCOMES: [&str; 5] = ["established", "failed", "incomplete", "benign", "not_rdp"];

#[derive(Debug, Clone)]
struct Label {
    source: &'static str,
    file: String,
    stream: u64,
    fields: [String; 5],
    max_failure: String,
}

const NAMES: [&str; 5] = ["outcome", "last_step", "failed_step", "ended_by", "cause"];

fn read_labels(path: &Path, source: &'static str) -> Vec<Label> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{} has no column {name}", path.display()))
    };
    let cols = NAMES.map(col);
    let (c_file, c_stream, c_max) = (col("file"), col("stream"), col("max_failure_confidence"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").trim().to_string();
            Label {
                source,
                file: get(c_file),
                stream: get(c_stream).parse().unwrap_or(u64::MAX),
                fields: cols.map(get),
                max_failure: get(c_max),
            }
        })
        .filter(|l| l.fields[0] != "not_made")
        .collect()
}

fn lab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/captures")
}

/// Every labelled connection whose capture is here, with where to read it.
fn all_labels() -> (Vec<(Label, PathBuf)>, bool) {
    let mut out: Vec<(Label, PathBuf)> = read_labels(&lab_dir().join("labels.tsv"), "lab")
        .into_iter()
        .map(|l| {
            let p = lab_dir().join(&l.file);
            (l, p)
        })
        .collect();
    let corpus = common::corpus_dir();
    if let Some(dir) = &corpus {
        let tsv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-verdicts.tsv");
        for l in read_labels(&tsv, "corpus") {
            let p = dir.join(&l.file);
            out.push((l, p));
        }
    } else {
        common::skip_note("the corpus half of the verdict tests");
    }
    (out, corpus.is_some())
}

/// Each file analysed once, attempts grouped and relabels applied.
fn analyse(labels: &[(Label, PathBuf)]) -> BTreeMap<PathBuf, FileResult> {
    let mut out = BTreeMap::new();
    for (_, p) in labels {
        if !out.contains_key(p) {
            let mut r = analyze_path(&p.to_string_lossy(), &Options::default());
            rdptriage::cli::group_and_relabel(&mut r);
            out.insert(p.clone(), r);
        }
    }
    out
}

fn fields(d: &Diagnosis) -> [String; 5] {
    let dash = |s: Option<&str>| s.unwrap_or("-").to_string();
    [
        d.outcome.name().to_string(),
        dash(d.last_step.map(|s| s.id())),
        dash(d.failed_step.map(|s| s.id())),
        d.ending.id().to_string(),
        dash(d.cause.as_ref().map(|c| c.id.id())),
    ]
}

fn confidence_rank(name: &str) -> Option<u8> {
    match name {
        "none" => Some(0),
        "low" => Some(1),
        "medium" => Some(2),
        "high" => Some(3),
        _ => None,
    }
}

fn rank(c: Confidence) -> u8 {
    match c {
        Confidence::Low => 1,
        Confidence::Medium => 2,
        Confidence::High => 3,
    }
}

struct Checked {
    failures: Vec<String>,
    /// (labelled outcome, reported outcome) -> count.
    confusion: BTreeMap<(String, String), usize>,
    failure_labels: usize,
    cause_agrees: usize,
    claims_within_bound: usize,
    connections: usize,
}

fn check(labels: &[(Label, PathBuf)], results: &BTreeMap<PathBuf, FileResult>) -> Checked {
    let mut ck = Checked {
        failures: Vec::new(),
        confusion: BTreeMap::new(),
        failure_labels: 0,
        cause_agrees: 0,
        claims_within_bound: 0,
        connections: 0,
    };
    for (l, p) in labels {
        let fr = &results[p];
        let at = format!("{} {} stream {}", l.source, l.file, l.stream);
        let Some(c) = fr
            .connections
            .iter()
            .find(|c| c.timeline.stream == l.stream)
        else {
            ck.failures.push(format!("{at}: connection not found"));
            continue;
        };
        ck.connections += 1;
        let d = &c.diagnosis;
        let got = fields(d);
        *ck.confusion
            .entry((l.fields[0].clone(), got[0].clone()))
            .or_default() += 1;
        if l.fields[0] == "failed" {
            ck.failure_labels += 1;
            if got[4] == l.fields[4] {
                ck.cause_agrees += 1;
            }
        }
        // "We cannot tell" is an honest answer where the label allows at
        // most a low-confidence claim: the cause may be left unnamed.
        let unnamed_ok = l.max_failure == "low" && got[0] == l.fields[0] && d.cause.is_none();
        for i in 0..5 {
            if l.fields[i] == "*" || got[i] == l.fields[i] || (i == 4 && unnamed_ok) {
                continue;
            }
            ck.failures.push(format!(
                "{at}: {} is {:?}, label says {:?}",
                NAMES[i], got[i], l.fields[i]
            ));
        }
        // No failure claimed beyond what the capture can show.
        let Some(bound) = confidence_rank(&l.max_failure) else {
            ck.failures
                .push(format!("{at}: max_failure_confidence {:?}", l.max_failure));
            continue;
        };
        let claimed = match &d.cause {
            Some(c) => rank(c.confidence),
            None if d.outcome == rdptriage::diagnose::Outcome::Failed => 1,
            None => 0,
        };
        if claimed > bound {
            ck.failures.push(format!(
                "{at}: claims {} ({}) but the capture allows at most {}",
                got[4],
                d.cause.as_ref().map_or("failed", |c| c.confidence.name()),
                l.max_failure
            ));
        } else {
            ck.claims_within_bound += 1;
        }
        // A medium or high cause rests on seen or implied evidence.
        if let Some(c) = &d.cause {
            if c.confidence > Confidence::Low && c.basis == Certainty::Inferred {
                ck.failures.push(format!(
                    "{at}: {} is {} but rests on inferred evidence",
                    got[4],
                    c.confidence.name()
                ));
            }
        }
    }
    ck
}

/// The confusion table and the agreement figures, as docs/verdicts.md
/// shows them.
fn table(ck: &Checked, with_corpus: bool) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} labelled connections ({}).\n\n",
        ck.connections,
        if with_corpus {
            "lab and public corpus"
        } else {
            "lab only"
        }
    ));
    s.push_str("| labelled \\ reported |");
    for o in OUTCOMES {
        s.push_str(&format!(" {o} |"));
    }
    s.push_str("\n|---|");
    for _ in OUTCOMES {
        s.push_str("---:|");
    }
    s.push('\n');
    for want in OUTCOMES {
        s.push_str(&format!("| {want} |"));
        for got in OUTCOMES {
            let n = ck
                .confusion
                .get(&(want.to_string(), got.to_string()))
                .copied()
                .unwrap_or(0);
            s.push_str(&format!(" {n} |"));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "\nLabelled failures whose cause is named as labelled: {} of {}. Failure \
         claims within the label's bound: {} of {}.\n",
        ck.cause_agrees, ck.failure_labels, ck.claims_within_bound, ck.connections
    ));
    s
}

const BEGIN: &str = "<!-- confusion table: made by tests/verdicts.rs -->\n";
const END: &str = "<!-- end of confusion table -->";

#[test]
fn every_labelled_connection_gets_an_honest_verdict() {
    let (labels, with_corpus) = all_labels();
    assert!(labels.len() >= 80, "{} labels", labels.len());
    let results = analyse(&labels);
    for (p, r) in &results {
        assert!(
            r.read.is_ok(),
            "{}: {:?}",
            p.display(),
            r.read.as_ref().err()
        );
    }
    let ck = check(&labels, &results);
    let t = table(&ck, with_corpus);
    println!("{t}");
    assert!(
        ck.failures.is_empty(),
        "{} mismatches:\n{}\n\n{t}",
        ck.failures.len(),
        ck.failures.join("\n")
    );
    // The table in the docs is this one.
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/verdicts.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/verdicts.md");
    let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/verdicts.md has no confusion-table markers");
    };
    let current = &doc[a + BEGIN.len()..b];
    if !with_corpus {
        eprintln!("docs/verdicts.md not compared: its table covers the corpus too");
        return;
    }
    if std::env::var_os("UPDATE_VERDICTS").is_some() {
        let new = format!("{}{BEGIN}{t}{}", &doc[..a], &doc[b..]);
        std::fs::write(&doc_path, new).expect("write docs/verdicts.md");
        return;
    }
    assert_eq!(
        current, t,
        "docs/verdicts.md's confusion table is stale: run UPDATE_VERDICTS=1 cargo test --test verdicts and review the change"
    );
}
