//! The HTML page written as it goes (each file's connections kept in
//! spills and read back) is byte for byte the page [`html::render`] draws
//! from the whole document: the run's JSON document read back, redacted
//! with [`redact::redact`] when `--redact` is given. Over every capture of
//! testdata one at a time, all of them in one run, a run of more than 200
//! connections (the lazy sections and the parts of the contents, records
//! past the spill's memory bound), with filters and with `--redact`.

use rdptriage::report::model::{Document, StepLabels};
use rdptriage::report::{redact, render_document, Format, ReportOptions};
use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod run_cli;
use run_cli::run;
#[path = "common/refused.rs"]
mod refused;
use refused::refused;

/// Every capture under testdata, in name order.
fn captures() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read testdata").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| ["pcap", "pcapng", "gz", "zst"].contains(&&*x.to_string_lossy()))
            {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")),
        &mut v,
    );
    v.sort();
    assert!(v.len() > 50, "testdata captures found: {}", v.len());
    v.into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// The page of the whole document of a run with `args`: its JSON document
/// read back (step labels restored, as for JSON Lines read back),
/// redacted if asked, drawn by the whole-document renderer.
fn whole_document_page(args: &[&str], redacted: bool) -> String {
    let o = run(&[args, &["--format", "json"]].concat());
    let mut doc: Document = serde_json::from_slice(&o.stdout).expect("the JSON document");
    for f in &mut doc.files {
        for c in &mut f.connections {
            c.labels = StepLabels::of(c);
        }
    }
    if redacted {
        redact::redact(&mut doc);
    }
    let opts = ReportOptions {
        format: Format::Html,
        ..ReportOptions::default()
    };
    render_document(&doc, &opts)
}

/// The page written by `--format html`, with `--redact` if asked.
fn written_page(args: &[&str], redacted: bool) -> String {
    let mut all = [args, &["--format", "html"]].concat();
    if redacted {
        all.push("--redact");
    }
    let o = run(&all);
    assert!(
        o.status.code().is_some_and(|c| c <= 1) || !o.stdout.is_empty(),
        "{all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 page")
}

/// Both pages of a run, with and without `--redact`, are the same bytes.
fn same_page(what: &str, args: &[&str]) {
    for redacted in [false, true] {
        let want = whole_document_page(args, redacted);
        let got = written_page(args, redacted);
        if got != want {
            let at = got
                .bytes()
                .zip(want.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            let around = |s: &str| {
                let b = s.as_bytes();
                let to = (at + 200).min(b.len());
                String::from_utf8_lossy(&b[at.saturating_sub(200).min(to)..to]).into_owned()
            };
            panic!(
                "{what} (redacted: {redacted}): pages differ at byte {at} (lengths {} and {})\nwritten: {}\nwhole:   {}",
                got.len(),
                want.len(),
                around(&got),
                around(&want)
            );
        }
    }
}

#[test]
fn each_capture_alone() {
    for c in captures() {
        same_page(&c, &[&c]);
    }
}

#[test]
fn every_capture_in_one_run() {
    let all = captures();
    let args: Vec<&str> = all.iter().map(String::as_str).collect();
    same_page("all captures", &args);
    // Filters: fewer connections, hidden ones counted.
    let filtered = [&args[..], &["--only", "failed,incomplete"]].concat();
    same_page("all captures, failed and incomplete", &filtered);
    let one_server = [&args[..], &["--server", "10.0.0.10"]].concat();
    same_page("all captures, one server", &one_server);
}

#[test]
fn more_than_200_connections_with_other_files() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let many = dir.join("html-stream-refused-450.pcap");
    std::fs::write(&many, refused(450, 1000, 3)).expect("write the capture");
    let many = many.to_string_lossy().into_owned();
    same_page("450 refused", &[&many]);
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/captures");
    let mut args = vec![many.as_str()];
    let names = [
        "05-nla-wrong-password.pcap",
        "13-cert-expired.pcap",
        "neighbours/n01-kerberos-password-wrong.pcap",
    ];
    let paths: Vec<String> = names.iter().map(|n| format!("{lab}/{n}")).collect();
    args.extend(paths.iter().map(String::as_str));
    same_page("450 refused and lab captures", &args);
    same_page(
        "450 refused and lab captures, one server",
        &[&args[..], &["--server", "192.0.2.2"]].concat(),
    );
}

/// What writing the page of `n` refused connections held: the records'
/// bytes kept in memory, whether they went to a temporary file, the
/// largest single write of the page, the sections written.
struct Held {
    in_memory: usize,
    spilled: bool,
    largest_write: usize,
    sections: usize,
}

fn page_of_refused(n: u32) -> Held {
    use rdptriage::analyze::{analyze_streaming, ConnectionResult, Options};
    use rdptriage::diagnose::attempts::{Grouper, Member};
    use rdptriage::report::html_stream::{HtmlPage, HtmlRecords};
    use rdptriage::report::model::{connection_report, file_report, Input};

    /// What is written, and its largest single write.
    struct Largest(usize, Vec<u8>);
    impl std::io::Write for Largest {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.max(b.len());
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let bytes = refused(n, 1000, 3);
    let mut grouper: Grouper<Box<ConnectionResult>> = Grouper::new();
    let mut recs = HtmlRecords::default();
    let mut on_final = |c: Box<ConnectionResult>, _, _| {
        recs.push(&connection_report(&c)).expect("record kept");
    };
    let (file, _) = analyze_streaming("many.pcap", &bytes[..], &Options::default(), &mut |c| {
        grouper.push(Member::of(&c.timeline, &c.diagnosis), c, &mut on_final)
    });
    grouper.finish(&mut on_final);
    assert!(file.connections.is_empty(), "streamed, not kept");
    assert_eq!(recs.len(), n as usize);
    let (in_memory, spilled) = (recs.in_memory(), recs.spilled());
    let mut page = HtmlPage::default();
    page.add(file_report(&Input::new(&file)), Some(recs))
        .expect("file added");
    let mut out = Largest(0, Vec::new());
    page.write_to(false, &mut out, &|| false)
        .expect("page written");
    Held {
        in_memory,
        spilled,
        largest_write: out.0,
        sections: String::from_utf8_lossy(&out.1)
            .matches("<details class=\"conn ")
            .count(),
    }
}

/// The page holds no connection record in memory: past the spill's
/// bound they are all in the temporary file, for 400 connections as for
/// 4,000, and the page goes out a part at a time (its largest write does
/// not grow with the connections).
#[test]
fn the_page_holds_no_records_in_memory() {
    let small = page_of_refused(400);
    let large = page_of_refused(4_000);
    assert_eq!((small.sections, large.sections), (400, 4_000));
    assert!(small.spilled && large.spilled);
    assert_eq!(small.in_memory, 0);
    assert_eq!(large.in_memory, small.in_memory);
    // The header and a part of the contents (200 rows) at most.
    assert!(large.largest_write < 256 << 10, "{}", large.largest_write);
    assert!(
        large.largest_write <= small.largest_write + 1024,
        "{} vs {}",
        large.largest_write,
        small.largest_write
    );
}

/// Ctrl-C while the page is written: it ends after a section or a part
/// of the contents, with an `Interrupted` error; what was written is the
/// start of the whole page.
#[test]
fn a_stopped_page_ends_after_a_section_or_a_part() {
    use rdptriage::report::html_stream::{HtmlPage, HtmlRecords};
    use rdptriage::report::model::{file_report, Input};
    use std::cell::Cell;

    /// Asks to stop once `.2` bytes have come through.
    struct Stopping<'a>(Vec<u8>, &'a Cell<bool>, usize);
    impl std::io::Write for Stopping<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(b);
            self.1.set(self.0.len() >= self.2);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let bytes = refused(500, 1000, 3);
    let r = rdptriage::analyze::analyze_reader("x.pcap", &bytes[..], &Default::default());
    let page = || {
        let mut head = file_report(&Input::new(&r));
        let mut recs = HtmlRecords::default();
        for c in std::mem::take(&mut head.connections) {
            recs.push(&c).expect("kept");
        }
        let mut page = HtmlPage::default();
        page.add(head, Some(recs)).expect("added");
        page
    };
    let mut whole = Vec::new();
    page()
        .write_to(false, &mut whole, &|| false)
        .expect("written");
    let whole = String::from_utf8(whole).unwrap();
    let main = whole.find("<main").expect("sections");
    // Stopped in the contents, then among the sections.
    for (at, ends) in [(1, "<tbody>\n"), (main + 1, "</details>\n")] {
        let stop = Cell::new(false);
        let mut out = Stopping(Vec::new(), &stop, at);
        let e = page()
            .write_to(false, &mut out, &|| stop.get())
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted);
        let got = String::from_utf8(out.0).unwrap();
        assert!(got.ends_with(ends), "stopped at {at}");
        assert!(whole.starts_with(&got) && got.len() < whole.len());
        let sections = got.matches("<details class=\"conn ").count();
        assert_eq!(sections == 0, at == 1, "{sections} sections");
    }
}

/// However many files, the page holds one spill per outcome rank: its
/// records of 40 files (each past the spill's memory bound) in one
/// temporary file, nothing in memory, and the page is the whole
/// document's.
#[test]
fn a_page_of_many_files_keeps_one_temporary_file_per_outcome() {
    use rdptriage::report::html_stream::{HtmlPage, HtmlRecords};
    use rdptriage::report::model::{document, file_report, Input};
    use rdptriage::report::stream::SPILL_IN_MEMORY;

    let bytes = refused(120, 1000, 3);
    let r = rdptriage::analyze::analyze_reader("x.pcap", &bytes[..], &Default::default());
    let mut files = Vec::new();
    let mut page = HtmlPage::default();
    for i in 0..40 {
        let mut f = file_report(&Input::new(&r));
        f.path = format!("file-{i}.pcap");
        files.push(f.clone());
        let mut recs = HtmlRecords::default();
        for c in std::mem::take(&mut f.connections) {
            recs.push(&c).expect("kept");
        }
        assert!(recs.spilled(), "each file past the memory bound");
        page.add(f, Some(recs)).expect("added");
        assert!(page.temporary_files() <= 1 && page.in_memory() <= SPILL_IN_MEMORY);
    }
    assert_eq!((page.temporary_files(), page.in_memory()), (1, 0));
    let mut got = Vec::new();
    page.write_to(false, &mut got, &|| false).expect("written");
    let opts = ReportOptions {
        format: Format::Html,
        ..ReportOptions::default()
    };
    let want = render_document(&document(files), &opts);
    assert!(
        String::from_utf8(got).unwrap() == want,
        "the whole document's page"
    );
}
