//! What the integration tests that read the public corpus share.
//!
//! The corpus is read in place from `../shared/corpus` beside the
//! repository (`$RDPTRIAGE_CORPUS` overrides). When it is absent the corpus
//! tests say so plainly and pass, except in CI (`CI=true`), where a missing
//! corpus fails them.

use rdptriage::analyze::Options;
use rdptriage::capture;
use rdptriage::flow::{Connection, FlowConfig, FlowTable};
use rdptriage::packet::{Sliced, Slicer, SlicerConfig};
use std::path::{Path, PathBuf};

/// The corpus directory: `$RDPTRIAGE_CORPUS`, else `../shared/corpus`
/// beside the repository. None when it holds no `MANIFEST.tsv`.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("RDPTRIAGE_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    let found = dir.join("MANIFEST.tsv").is_file();
    // In CI the corpus is part of the test: its absence is a failure.
    if !found && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the corpus is missing ({}): the corpus tests must run in CI",
            dir.display()
        );
    }
    found.then_some(dir)
}

/// Say plainly that `what` (e.g. "corpus tests") did not run.
pub fn skip_note(what: &str) {
    eprintln!("../shared/corpus not found: {what} skipped");
}

/// The connections of one capture as the flow stage hands them to the
/// decoders (same stages and configuration as `analyze_path`), so a test
/// can change what the decoders receive.
#[allow(dead_code)]
pub fn flow_connections(path: &Path) -> Vec<Connection> {
    let opts = Options::default();
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(FlowConfig {
        ports: opts.ports.clone(),
        first_payload: Some(rdptriage::proto::session::looks_like_rdp_request),
        depth_cap: opts.depth_cap,
        ..FlowConfig::default()
    });
    let mut out = Vec::new();
    let file = std::fs::File::open(path).expect("open capture");
    let read = capture::read_capture(file, |frame| {
        if let Sliced::Packet(p) = slicer.slice(frame) {
            flows.on_packet(frame.number, frame.ts, frame.orig_len, &p);
        }
        flows.drain_finished(&mut out);
    });
    assert!(read.is_ok(), "{}: {read:?}", path.display());
    let (rest, _) = flows.finish();
    out.extend(rest);
    out.sort_by_key(|c| c.stream);
    out
}
