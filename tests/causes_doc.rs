//! docs/causes.md is generated from the remediation and client-message
//! tables; this test fails when the file no longer matches them.
//! Regenerate with `cargo run -- --print-causes-md > docs/causes.md`.

use rdptriage::diagnose::client_message::client_messages;
use rdptriage::diagnose::remedy::remedy;
use rdptriage::diagnose::CauseId;
use rdptriage::report::causes::{causes_markdown, CAUSES_MD_COMMAND};

#[test]
fn docs_causes_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/causes.md");
    let on_disk = std::fs::read_to_string(&path).expect("docs/causes.md exists");
    let generated = causes_markdown();
    assert!(
        on_disk == generated,
        "docs/causes.md is not current: regenerate it with `{CAUSES_MD_COMMAND}`"
    );
}

#[test]
fn every_cause_has_a_remedy_a_source_and_a_client_message_entry() {
    for id in CauseId::ALL {
        let r = remedy(*id).unwrap_or_else(|| panic!("{} has no remedy", id.id()));
        assert!(!r.remedy.is_empty(), "{}", id.id());
        assert!(!r.source.is_empty(), "{} has no source", id.id());
        assert!(!r.wire.is_empty(), "{}", id.id());
        let msgs = client_messages(*id);
        assert!(!msgs.is_empty(), "{} has no client-message entry", id.id());
        assert!(msgs.iter().all(|m| !m.source.is_empty()), "{}", id.id());
    }
}

fn run(argv: &[&str]) -> (i32, String, String) {
    use clap::Parser;
    let args = rdptriage::cli::Args::try_parse_from(argv).expect("arguments parse");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = rdptriage::cli::execute(
        &args,
        rdptriage::cli::Terminal::default(),
        &mut out,
        &mut err,
    );
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn the_command_line_explains_a_client_error() {
    let (code, out, _) = run(&["rdptriage", "--explain-client-error", "0x904/0x7"]);
    assert_eq!(code, 0);
    assert!(out.contains("Socket closed."), "{out}");
    assert!(out.contains("server_denied_session"), "{out}");
    let (code, _, err) = run(&["rdptriage", "--explain-client-error", "nonsense"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a code"), "{err}");
    // No capture is needed, and none may be given.
    use clap::Parser;
    assert!(rdptriage::cli::Args::try_parse_from([
        "rdptriage",
        "--explain-client-error",
        "1",
        "x.pcap"
    ])
    .is_err());
    assert!(rdptriage::cli::Args::try_parse_from(["rdptriage"]).is_err());
}

#[test]
fn the_command_line_prints_the_causes_document() {
    let (code, out, _) = run(&["rdptriage", "--print-causes-md"]);
    assert_eq!(code, 0);
    assert_eq!(out, causes_markdown());
}
