//! The lab captures give the same verdicts whatever the number of threads.
//! (Each labelled verdict is checked in `tests/verdicts.rs`.)
//!
//! The captures in `testdata/captures/` were made by
//! `testdata/lab/make-captures.sh` with a real RDP server and client; each
//! row of `labels.tsv` was checked against tshark's dissection.

use rdptriage::analyze::{analyze_path, FileResult, Options};
use std::collections::BTreeMap;
use std::path::Path;

const DIR: &str = "testdata/captures";

/// The lab captures named in labels.tsv, each once.
fn files() -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(DIR).join("labels.tsv"))
        .expect("testdata/captures/labels.tsv is part of the repo");
    let mut out: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect();
    out.dedup();
    out
}

fn analyse_all(opts: &Options) -> BTreeMap<String, FileResult> {
    files()
        .into_iter()
        .map(|f| {
            let r = analyze_path(&format!("{DIR}/{f}"), opts);
            (f, r)
        })
        .collect()
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
