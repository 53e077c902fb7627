//! Every labelled lab capture gets the verdict its label states.
//!
//! The captures in `testdata/captures/` were made by
//! `testdata/lab/make-captures.sh` with a real RDP server and client; each
//! row of `labels.tsv` was checked against tshark's dissection. This test
//! runs the library over each capture and compares the verdict on the
//! labelled connection field by field.

use rdptriage::analyze::{analyze_path, FileResult, Options};
use rdptriage::diagnose::Diagnosis;
use std::collections::BTreeMap;
use std::path::Path;

const DIR: &str = "testdata/captures";

#[derive(Debug)]
struct Label {
    file: String,
    stream: u64,
    scenario: String,
    outcome: String,
    last_step: String,
    failed_step: String,
    ended_by: String,
    cause: String,
    evidence_frames: Vec<u64>,
}

fn labels() -> Vec<Label> {
    let text = std::fs::read_to_string(Path::new(DIR).join("labels.tsv"))
        .expect("testdata/captures/labels.tsv is part of the repo");
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("labels.tsv has no column {name}"))
    };
    let (c_file, c_stream, c_scn, c_out, c_last, c_fail, c_end, c_cause, c_ev) = (
        col("file"),
        col("stream"),
        col("scenario"),
        col("outcome"),
        col("last_step"),
        col("failed_step"),
        col("ended_by"),
        col("cause"),
        col("evidence_frames"),
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").trim().to_string();
            Label {
                file: get(c_file),
                stream: get(c_stream).parse().unwrap_or(u64::MAX),
                scenario: get(c_scn),
                outcome: get(c_out),
                last_step: get(c_last),
                failed_step: get(c_fail),
                ended_by: get(c_end),
                cause: get(c_cause),
                evidence_frames: get(c_ev)
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter_map(|s| s.trim().parse().ok())
                    .collect(),
            }
        })
        .collect()
}

fn dash(s: Option<&str>) -> String {
    s.unwrap_or("-").to_string()
}

fn verdict(d: &Diagnosis) -> [String; 5] {
    [
        d.outcome.name().to_string(),
        dash(d.last_step.map(|s| s.id())),
        dash(d.failed_step.map(|s| s.id())),
        d.ending.id(),
        dash(d.cause.as_ref().map(|c| c.id.id())),
    ]
}

fn analyse_all(opts: &Options) -> BTreeMap<String, FileResult> {
    let mut out = BTreeMap::new();
    for l in labels() {
        if l.outcome == "not_made" || out.contains_key(&l.file) {
            continue;
        }
        let path = format!("{DIR}/{}", l.file);
        out.insert(l.file.clone(), analyze_path(&path, opts));
    }
    out
}

#[test]
fn every_lab_capture_gets_its_labelled_verdict() {
    let labels = labels();
    let made: Vec<&Label> = labels.iter().filter(|l| l.outcome != "not_made").collect();
    assert!(
        made.len() >= 20,
        "the lab should hold at least 20 real scenarios"
    );
    let results = analyse_all(&Options::default());
    let mut failures = Vec::new();
    for l in made {
        let fr = &results[&l.file];
        assert!(
            fr.read.is_ok(),
            "{}: could not be read: {:?}",
            l.file,
            fr.read.as_ref().err()
        );
        let Some(c) = fr
            .connections
            .iter()
            .find(|c| c.timeline.stream == l.stream)
        else {
            failures.push(format!(
                "{} stream {}: connection not found",
                l.file, l.stream
            ));
            continue;
        };
        let got = verdict(&c.diagnosis);
        let want = [
            l.outcome.clone(),
            l.last_step.clone(),
            l.failed_step.clone(),
            l.ended_by.clone(),
            l.cause.clone(),
        ];
        let names = ["outcome", "last_step", "failed_step", "ended_by", "cause"];
        for i in 0..5 {
            if got[i] != want[i] {
                failures.push(format!(
                    "{} stream {} ({}): {} is {:?}, label says {:?}",
                    l.file, l.stream, l.scenario, names[i], got[i], want[i]
                ));
            }
        }
        // The evidence must point at the frames the label names.
        if !l.evidence_frames.is_empty() {
            let cited: Vec<u64> = c
                .diagnosis
                .evidence
                .iter()
                .map(|e| e.frame)
                .chain(c.diagnosis.ending_frame)
                .collect();
            let missing: Vec<u64> = l
                .evidence_frames
                .iter()
                .copied()
                .filter(|f| !cited.contains(f))
                .collect();
            if missing.len() == l.evidence_frames.len() {
                failures.push(format!(
                    "{} stream {} ({}): evidence cites frames {:?}, none of the labelled {:?}",
                    l.file, l.stream, l.scenario, cited, l.evidence_frames
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
fn verdicts_do_not_depend_on_the_number_of_threads() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| {
            analyse_all(&Options::default())
                .into_iter()
                .map(|(f, r)| {
                    let v: Vec<String> = r
                        .connections
                        .iter()
                        .map(|c| format!("{} {:?}", c.timeline.stream, c.diagnosis))
                        .collect();
                    (f, v)
                })
                .collect::<BTreeMap<_, _>>()
        })
    };
    let one = run(1);
    let four = run(4);
    assert!(!one.is_empty());
    assert_eq!(one, four);
}
