//! Corpus verdicts that need more than one row of `tests/corpus-verdicts.tsv`
//! (which `tests/verdicts.rs` checks connection by connection): the 65 SASP
//! health checks and the like. The corpus is read in place from
//! `../shared/corpus/`.

use rdptriage::analyze::{analyze_path, Options};

mod common;

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
