//! Memory bounded by live connections: on a capture of N sequential short
//! connections (a SYN answered by RST/ACK, one alive at a time), what the
//! pipeline holds at its peak does not grow with N. Counted, not timed:
//! the analysis reports the most finished connections it held at once,
//! the attempt grouper the most connections waiting for their verdict, and
//! a file's streamed records stay within the spill's memory bound.

#[path = "common/refused.rs"]
mod refused;
use refused::refused;

use rdptriage::analyze::{analyze_streaming, ConnectionResult, Options};
use rdptriage::diagnose::attempts::{Grouper, Member};
use rdptriage::diagnose::Outcome;
use rdptriage::report::model::{connection_report, file_report, Input};
use rdptriage::report::redact::Redactor;
use rdptriage::report::stream::{FileRecords, Streamed, TableHeld, SPILL_IN_MEMORY};
use rdptriage::report::{Format, TermStyle};

/// Peaks of one streamed run: finished connections held by the analysis,
/// connections held by the grouper, and what the JSON Lines records kept
/// in memory.
struct Run {
    connections: usize,
    analysis_peak: usize,
    grouper_peak: usize,
    /// The most checks the grouper had scheduled at once.
    scheduled_peak: usize,
    failed: usize,
    spilled: bool,
    in_order: bool,
    /// The table as written to a pipe (100 columns: the narrow table).
    pipe: TableHeld,
    pipe_text: String,
    /// Markdown, and JSON Lines under `--redact`: bytes held in memory
    /// once every connection was added (and, redacted, rendered), and
    /// what was written.
    markdown: (usize, String),
    redacted: (usize, String),
}

fn run(n: u32) -> Run {
    let bytes = refused(n, 1000, 1);
    let mut grouper: Grouper<Box<ConnectionResult>> = Grouper::new();
    let mut records = FileRecords::new(Format::Jsonl, "many.pcap");
    let mut table = FileRecords::table("many.pcap", TermStyle::default());
    // What the command line draws without a terminal: 100 columns.
    let piped = TermStyle {
        width: 100,
        ..TermStyle::default()
    };
    let mut pipe = FileRecords::table("many.pcap", piped);
    let mut markdown = FileRecords::of(
        "many.pcap",
        Streamed {
            format: Format::Markdown,
            style: TermStyle::default(),
            redact: false,
        },
    );
    let mut redacted = FileRecords::of(
        "many.pcap",
        Streamed {
            format: Format::Jsonl,
            style: TermStyle::default(),
            redact: true,
        },
    );
    let mut streams = Vec::new();
    let mut failed = 0;
    let mut on_final = |c: Box<ConnectionResult>, _, attempt| {
        streams.push(c.timeline.stream);
        failed += usize::from(c.diagnosis.outcome == Outcome::Failed);
        records.add(connection_report(&c), attempt).expect("record");
        table
            .add(connection_report(&c), attempt)
            .expect("table row");
        pipe.add(connection_report(&c), attempt).expect("pipe row");
        markdown
            .add(connection_report(&c), attempt)
            .expect("section");
        redacted
            .add(connection_report(&c), attempt)
            .expect("record");
    };
    let (file, held) = analyze_streaming("many.pcap", &bytes[..], &Options::default(), &mut |c| {
        grouper.push(Member::of(&c.timeline, &c.diagnosis), c, &mut on_final)
    });
    assert!(file.complete(), "{:?}", file.read);
    assert!(file.connections.is_empty(), "streamed, not kept");
    let grouper_peak = grouper.held_peak();
    let scheduled_peak = grouper.scheduled_peak();
    let attempts = grouper.finish(&mut on_final);
    // Four connections per client in a row: one attempt each.
    assert_eq!(attempts.len(), n.div_ceil(4) as usize);
    let head = file_report(&Input::new(&file));
    let mut text = Vec::new();
    pipe.write_to(&head, &mut text).expect("table written");
    let written = |recs: &mut FileRecords| {
        let mut head = head.clone();
        recs.redact(&mut Redactor::new(), &mut head)
            .expect("redacted");
        let held = recs.in_memory();
        let mut text = Vec::new();
        recs.write_to(&head, &mut text).expect("written");
        (held, String::from_utf8(text).expect("UTF-8"))
    };
    let markdown = written(&mut markdown);
    let redacted = written(&mut redacted);
    Run {
        connections: streams.len(),
        analysis_peak: held.connections_peak,
        grouper_peak,
        scheduled_peak,
        failed,
        spilled: records.spilled() && table.spilled(),
        in_order: streams.windows(2).all(|w| w[0] < w[1]),
        pipe: pipe.table_held(),
        pipe_text: String::from_utf8(text).expect("UTF-8"),
        markdown,
        redacted,
    }
}

#[test]
fn what_the_pipeline_holds_does_not_grow_with_the_connections() {
    let small = run(400);
    let large = run(4000);
    for (n, r) in [(400, &small), (4000, &large)] {
        assert_eq!(r.connections, n, "every connection handed over");
        assert_eq!(r.failed, n, "every one refused: port closed");
        assert!(r.in_order, "handed over in stream order");
    }
    // Ten times the connections, the same peaks: a batch of finished
    // connections and the one being grouped, not the file.
    assert_eq!(small.analysis_peak, large.analysis_peak);
    assert!(large.analysis_peak < 400, "{}", large.analysis_peak);
    assert_eq!(small.grouper_peak, large.grouper_peak);
    assert!(large.grouper_peak <= 1, "{}", large.grouper_peak);
    // The grouper's checks follow its open attempts (a client's attempt
    // stays open for the 30 s retry window: 8 clients of 4 connections
    // 1 s apart), not its connections: two per connection in the window
    // would be 60.
    assert_eq!(small.scheduled_peak, large.scheduled_peak);
    assert!(large.scheduled_peak <= 12, "{}", large.scheduled_peak);
    // The records of 4,000 connections (JSON Lines, and the table's
    // paragraphs) are past the spill's memory bound: they went to a
    // temporary file, not into memory.
    assert!(
        large.spilled,
        "records spilled past {SPILL_IN_MEMORY} bytes"
    );
    // The table to a pipe is the narrow one (client and server in one
    // column), with every connection's row, drawn from the spill a part
    // at a time: what it held of the rows is the same for ten times the
    // rows, and a part is fewer rows than the small file has.
    for (n, r) in [(400, &small), (4000, &large)] {
        assert!(r.pipe_text.contains("┆ client / server "), "narrow table");
        let last = format!("│ {:<6} ┆", n - 1);
        assert!(r.pipe_text.contains(&last), "row of stream {}", n - 1);
        let rows = r
            .pipe_text
            .lines()
            .filter(|l| l.contains("┆ failed"))
            .count();
        assert_eq!(rows, n, "one row per connection");
    }
    assert_eq!(small.pipe, large.pipe);
    assert!(large.pipe.rows_peak < 400, "{:?}", large.pipe);
    assert!(large.pipe.layout_lines < 20, "{:?}", large.pipe);
    // Markdown and --redact: every connection is written (a row, a
    // section; a record with a pseudonym for each client), but what is
    // held in memory is the spills' bound, not the file: a small part of
    // what the large file writes.
    for (n, r) in [(400, &small), (4000, &large)] {
        let (_, md) = &r.markdown;
        let rows = md
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(" | failed | "))
            .count();
        assert_eq!(rows, n, "one row per connection");
        assert_eq!(md.matches("\n### Stream ").count(), n);
        let (_, jsonl) = &r.redacted;
        assert_eq!(jsonl.matches("\"record\":\"connection\"").count(), n);
        assert!(!jsonl.contains("10.1."), "clients redacted");
    }
    for (held, text) in [&large.markdown, &large.redacted] {
        assert!(*held <= 4 * SPILL_IN_MEMORY, "{held} bytes held");
        assert!(
            text.len() > 4 * held,
            "{held} bytes held for {}",
            text.len()
        );
    }
}

/// The flow table's connection states, on sequential refused connections
/// 100 ms apart: a connection closed by its RST keeps its state for the
/// 3 s grace (and until the next sweep of the table, which waits for a
/// quarter of its entries' worth of packets and a second of capture time),
/// then only a tombstone for the rest of the 10 s linger. So about 40
/// states at once however many connections, against the 100 the linger
/// alone would keep; ten times the connections, the same peak.
#[test]
fn connection_states_do_not_grow_with_sequential_reset_connections() {
    let peak = |n: u32| {
        let bytes = refused(n, 100, 1);
        let mut count = 0;
        let (file, _) =
            analyze_streaming("many.pcap", &bytes[..], &Options::default(), &mut |_| {
                count += 1
            });
        assert_eq!(count, n as usize, "every connection handed over");
        assert_eq!(file.flow.tcp_streams, u64::from(n));
        assert_eq!(file.flow.after_close, 0, "no packet after a close");
        file.flow.states_peak
    };
    let (small, large) = (peak(400), peak(4000));
    assert_eq!(small, large);
    assert!(large < 60, "{large} states at once");
}
