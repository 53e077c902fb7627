//! The streamed formats (Markdown, and every format under `--redact`)
//! print what the whole document printed: each run here is compared with
//! the report built whole from the same analysis (each file's report with
//! all its connections, [`report::render_document`]), redacted as the run
//! redacted before its records were streamed.

use super::*;
use crate::report::redact;

/// What the run prints on standard output (no terminal), and its exit code.
fn streamed(argv: &[&str]) -> (String, i32) {
    let args = Args::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(&args, Terminal::default(), &mut out, &mut err);
    (String::from_utf8(out).unwrap(), code)
}

/// The same run printed from the whole document: each file analysed into
/// its whole report (connections kept), then rendered at once. Under
/// `--redact`, one file in the JSON document, the table or Markdown is
/// redacted as a whole document ([`redact::redact`]); otherwise file by
/// file, then the run's totals ([`Redactor`]), as JSON Lines, CSV and the
/// summary always were.
fn whole(argv: &[&str]) -> String {
    let args = Args::try_parse_from(argv).unwrap();
    let term = Terminal::default();
    let format: Format = args.format.into();
    let mut opts = options(&args);
    opts.keys = load_keys(&args, &mut Vec::new()).unwrap();
    let filter = connection_filter(&args);
    let items = input_list_indexed(&args).unwrap();
    let progress = progress_bar(&args, term, &items);
    let hash = format != Format::Table;
    let files: Vec<FileReport> = items
        .iter()
        .map(|(i, item)| {
            let mut out = report_item(item, &opts, hash, &progress, &filter, Keep::default());
            out.report.input_index = *i;
            out.report
        })
        .collect();
    let mut doc = model::document(files);
    if args.redact {
        if doc.files.len() == 1 && !format.streams() {
            redact::redact(&mut doc);
        } else {
            let mut r = Redactor::new();
            for f in &mut doc.files {
                r.file(f);
                f.redacted = true;
            }
            r.register_totals(&mut doc.totals);
            r.rewrite_totals(&mut doc.totals);
        }
    }
    let ropts = ReportOptions {
        format,
        style: TermStyle {
            color: term.colour(&args),
            terminal: term.stdout_is_terminal,
            quiet: args.quiet,
            width: term.width(),
        },
        redact: false,
    };
    report::render_document(&doc, &ropts)
}

fn same(argv: &[&str]) {
    let (got, _) = streamed(argv);
    let want = whole(argv);
    if got != want {
        let at = got
            .bytes()
            .zip(want.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let from = at.saturating_sub(300);
        panic!(
            "{argv:?}: differs at byte {at}\n--- streamed:\n{}\n--- whole:\n{}",
            got.get(from..(at + 300).min(got.len())).unwrap_or(""),
            want.get(from..(at + 300).min(want.len())).unwrap_or("")
        );
    }
}

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

/// Every capture under testdata/ (the lab's, the neighbours', the
/// decryption ones, the fuzzers' regressions), in name order.
fn captures() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Some(s) = p.to_str() {
                if [".pcap", ".pcapng", ".pcap.gz", ".pcap.zst"]
                    .iter()
                    .any(|x| s.ends_with(x))
                {
                    out.push(s.to_string());
                }
            }
        }
    }
    let mut v = Vec::new();
    walk(std::path::Path::new(DATA), &mut v);
    v.sort();
    assert!(v.len() > 100, "{} captures", v.len());
    v
}

const STREAMED_FORMATS: [&str; 6] = ["jsonl", "csv", "json", "table", "summary", "markdown"];

#[test]
fn markdown_streamed_is_the_whole_documents_markdown_for_every_capture() {
    for c in captures() {
        same(&["rdptriage", "--format", "markdown", &c]);
    }
}

#[test]
fn redacted_streamed_is_the_redacted_document_for_every_capture_and_format() {
    for c in captures() {
        for format in STREAMED_FORMATS {
            same(&["rdptriage", "--redact", "--format", format, &c]);
        }
    }
}

/// Several files in a run (a directory with captures, files that are not
/// captures and the neighbours' folder), with and without filters, keys
/// and `--quiet`.
#[test]
fn streamed_runs_of_several_files_are_the_whole_documents() {
    let captures = format!("{DATA}/captures");
    let decrypt = format!("{DATA}/decrypt");
    let keys = format!("{DATA}/decrypt/rdp-nla-ok.keys");
    let nla = format!("{DATA}/decrypt/rdp-nla-ok.pcap");
    let runs: [&[&str]; 5] = [
        &[&captures],
        &["--only", "failed", &captures],
        &["--quiet", "--server", "192.168.0.0/16", &captures],
        &["--keylog", &keys, &nla, &decrypt],
        &["--stream", "0", &captures, &nla],
    ];
    for extra in runs {
        for format in STREAMED_FORMATS {
            for redact in [false, true] {
                let mut argv = vec!["rdptriage", "--format", format];
                if redact {
                    argv.push("--redact");
                } else if format != "markdown" {
                    // Streamed without --redact since before: checked by
                    // their own tests.
                    continue;
                }
                argv.extend_from_slice(extra);
                same(&argv);
            }
        }
    }
}

/// JSON Lines of many files, written straight from the file whose turn
/// has come and spilled by those after it, are the whole documents' with
/// 1, 2 and 4 threads (files read part-way among them: their `error`
/// record after their connections in both).
#[test]
fn json_lines_of_several_files_are_the_whole_documents_whatever_the_threads() {
    let captures = format!("{DATA}/captures");
    let decrypt = format!("{DATA}/decrypt");
    for threads in ["1", "2", "4"] {
        same(&[
            "rdptriage",
            "--threads",
            threads,
            "--format",
            "jsonl",
            &captures,
            &decrypt,
        ]);
    }
}
