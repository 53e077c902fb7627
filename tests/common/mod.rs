//! What the integration tests that read the public corpus share.
//!
//! The corpus is read in place from `../shared/corpus` beside the
//! repository (`$RDPTRIAGE_CORPUS` overrides). When it is absent the corpus
//! tests say so plainly and pass, except in CI (`CI=true`), where a missing
//! corpus fails them.

use std::path::PathBuf;

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
