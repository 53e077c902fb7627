//! The terminal report: per file a header, a table of connections
//! (comfy-table), then a paragraph for each failed connection (and a brief
//! one for benign and incomplete ones); totals after several files.

use super::model::*;
use super::text::*;
use comfy_table::{presets, Cell, Color, ColumnConstraint, ContentArrangement, Table};
use std::fmt::Write;

/// How the terminal report is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TermStyle {
    /// ANSI colours.
    pub color: bool,
    /// Output goes to a terminal: fit the table to its width.
    pub terminal: bool,
    /// Only failed connections (and file problems).
    pub quiet: bool,
    /// Columns to fit the table and paragraphs into; 0: no limit (tests).
    pub width: usize,
}

/// Below this width the table is no table: one block of lines per
/// connection (the narrow table needs its addresses on one line, and an
/// IPv4 endpoint is 21 characters).
const STACK_BELOW: usize = 60;

/// Wrap one logical line at `width` (0: as it is): words are never cut
/// (an address, a hash or a filter must stay whole to be copied), the
/// continuation lines are indented two more than the first. ANSI colour
/// codes take no width.
fn wrapped(out: &mut String, width: usize, indent: usize, text: &str) {
    let first = " ".repeat(indent);
    if width == 0 || width <= indent + 20 {
        let _ = writeln!(out, "{first}{text}");
        return;
    }
    let rest = " ".repeat(indent + 2);
    let opts = textwrap::Options::new(width)
        .initial_indent(&first)
        .subsequent_indent(&rest)
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    for l in textwrap::wrap(text, &opts) {
        let _ = writeln!(out, "{l}");
    }
}

struct Paint {
    on: bool,
    /// See [`TermStyle::width`].
    width: usize,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn outcome(&self, outcome: &str, s: &str) -> String {
        match outcome_color(outcome) {
            Some(Color::Red) => self.wrap("1;31", s),
            Some(Color::Green) => self.wrap("32", s),
            Some(Color::Yellow) => self.wrap("33", s),
            Some(Color::Cyan) => self.wrap("36", s),
            _ => self.dim(s),
        }
    }
    fn warn(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn error(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
}

fn outcome_color(outcome: &str) -> Option<Color> {
    match outcome {
        "failed" => Some(Color::Red),
        "established" => Some(Color::Green),
        "incomplete" => Some(Color::Yellow),
        "benign" => Some(Color::Cyan),
        _ => None,
    }
}

/// Render the whole document for a terminal (or a pipe).
pub fn render(doc: &Document, style: TermStyle) -> String {
    let p = Paint {
        on: style.color,
        width: style.width,
    };
    let mut out = String::new();
    let mut first = true;
    for f in &doc.files {
        let shown: Vec<&ConnectionReport> = f
            .connections
            .iter()
            .filter(|c| !style.quiet || c.outcome == "failed")
            .collect();
        if style.quiet && (f.ignored.is_some() || (shown.is_empty() && f.complete)) {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        file_section(&mut out, f, &shown, style, &p);
    }
    if doc.files.len() > 1 && !style.quiet {
        if !first {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", p.bold("Totals"));
        for l in totals_lines(&doc.totals) {
            wrapped(&mut out, p.width, 2, &l);
        }
    }
    out
}

fn file_section(
    out: &mut String,
    f: &FileReport,
    shown: &[&ConnectionReport],
    style: TermStyle,
    p: &Paint,
) {
    let _ = writeln!(out, "{}", p.bold(&f.path));
    if let Some(l) = file_line(f) {
        wrapped(out, p.width, 2, &l);
    }
    if let Some(t) = time_range(f) {
        wrapped(out, p.width, 2, &t);
    }
    if let Some(e) = &f.error {
        let head = if f.format.is_none() {
            "error"
        } else {
            "read incompletely"
        };
        let line = format!("{}: {}", p.error(head), error_line(e));
        wrapped(out, p.width, 2, &line);
    }
    if let Some(i) = &f.ignored {
        wrapped(out, p.width, 2, &ignored_line(i));
    }
    if !style.quiet {
        for w in listed_warnings(f) {
            let line = format!(
                "{}: {}",
                p.warn("warning"),
                with_place(&w.message, Some(w.offset), w.frame)
            );
            wrapped(out, p.width, 2, &line);
        }
        let kept = f.warnings.len() as u64;
        if f.warnings_total > kept {
            let _ = writeln!(
                out,
                "  {} more warning{} not listed",
                f.warnings_total - kept,
                plural(f.warnings_total - kept)
            );
        }
        if f.format.is_some() {
            wrapped(out, p.width, 2, &flow_line(&f.flow));
        }
        if let Some(s) = skipped_line(&f.skipped) {
            wrapped(out, p.width, 2, &format!("frames skipped: {s}"));
        }
    }
    if f.format.is_none() {
        return;
    }
    if !style.quiet {
        wrapped(out, p.width, 2, &outcome_counts(&f.connections));
    }
    if !f.neighbour_attempts.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold("Attempts across protocols:"));
        for a in &f.neighbour_attempts {
            for l in super::neighbours::lines(a) {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    if shown.is_empty() {
        return;
    }
    out.push('\n');
    out.push_str(&table(shown, style));
    out.push('\n');
    let repeats = Repeats::of(f);
    if !style.quiet {
        let mut first = true;
        for a in notable_attempts(f) {
            if first {
                let _ = writeln!(out, "\n{}", p.bold("Attempts:"));
                first = false;
            }
            let line = format!("{} ({})", a.summary, streams_list(a));
            wrapped(out, p.width, 2, &line);
        }
    }
    let decryption = super::text::decryption_lines(f);
    if !decryption.is_empty() && !style.quiet {
        let _ = writeln!(out, "\n{}", p.bold("TLS decryption:"));
        for (stream, line) in decryption {
            let _ = writeln!(out, "  stream {stream}: {line}");
        }
    }
    for c in shown {
        if let Some(brief) = paragraph_kind(c) {
            if style.quiet && brief {
                continue;
            }
            out.push('\n');
            match repeats.of_connection(c) {
                Some(first) => repeat_paragraph(out, c, first, p),
                None => paragraph(out, c, brief, p),
            }
        }
    }
}

/// The connections as a table that fits `style.width`: all seven
/// columns when they fit; else client and server stacked in one column and
/// the phase with the ending, the texts wrapped; below [`STACK_BELOW`]
/// columns one block of lines per connection.
fn table(conns: &[&ConnectionReport], style: TermStyle) -> String {
    let wide = wide_table(conns, style);
    let natural = wide.lines().next().map_or(0, |l| l.chars().count());
    if style.width == 0 || natural <= style.width {
        return wide;
    }
    if style.width < STACK_BELOW {
        return stacked(conns, style);
    }
    let mut t = new_table(style);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(u16::try_from(style.width).unwrap_or(u16::MAX));
    t.set_header(vec![
        "stream",
        "client / server",
        "outcome",
        "phase / failing step / ended by",
        "cause",
    ]);
    for i in 0..3 {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for c in conns {
        t.add_row(vec![
            Cell::new(c.stream),
            Cell::new(format!("{}\n{}", c.client, c.server)),
            outcome_cell(c, style),
            Cell::new(format!("{}\n{}", phase_cell(c), ending_short(&c.ended_by))),
            Cell::new(cause_cell(c)),
        ]);
    }
    t.to_string()
}

fn new_table(style: TermStyle) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    if !style.terminal {
        t.force_no_tty();
    }
    if style.color {
        t.enforce_styling();
    }
    t
}

fn outcome_cell(c: &ConnectionReport, style: TermStyle) -> Cell {
    let cell = Cell::new(&c.outcome);
    match outcome_color(&c.outcome) {
        Some(col) if style.color => cell.fg(col),
        _ => cell,
    }
}

/// All seven columns at their content's width.
fn wide_table(conns: &[&ConnectionReport], style: TermStyle) -> String {
    let mut t = new_table(style);
    t.set_header(vec![
        "stream",
        "client",
        "server",
        "outcome",
        "phase / failing step",
        "ended by",
        "cause",
    ]);
    for c in conns {
        t.add_row(vec![
            Cell::new(c.stream),
            Cell::new(&c.client),
            Cell::new(&c.server),
            outcome_cell(c, style),
            Cell::new(phase_cell(c)),
            Cell::new(ending_short(&c.ended_by)),
            Cell::new(cause_cell(c)),
        ]);
    }
    t.to_string()
}

/// A terminal too narrow for any table: each connection as lines.
fn stacked(conns: &[&ConnectionReport], style: TermStyle) -> String {
    let p = Paint {
        on: style.color,
        width: style.width,
    };
    let mut out = String::new();
    for c in conns {
        let head = format!(
            "{} {} {} -> {}",
            p.bold(&format!("stream {}", c.stream)),
            p.outcome(&c.outcome, &c.outcome),
            c.client,
            c.server
        );
        wrapped(&mut out, style.width, 0, &head);
        let at = format!("{}; {}", phase_cell(c), ending_short(&c.ended_by));
        wrapped(&mut out, style.width, 2, &at);
        let cause = cause_cell(c);
        if cause != "-" {
            wrapped(&mut out, style.width, 2, &format!("cause {cause}"));
        }
    }
    out.pop();
    out
}

fn paragraph(out: &mut String, c: &ConnectionReport, brief: bool, p: &Paint) {
    let w = p.width;
    let label = match (c.outcome.as_str(), &c.benign) {
        ("failed", _) => format!("FAILED at {}", c.phase),
        ("benign", Some(b)) => format!("benign ({b})"),
        (o, _) => o.to_string(),
    };
    let head = format!(
        "{} {} -> {}  {}",
        p.bold(&format!("stream {}:", c.stream)),
        c.client,
        c.server,
        p.outcome(&c.outcome, &label)
    );
    wrapped(out, w, 0, &head);
    wrapped(out, w, 2, &c.what_happened);
    if !brief {
        if let Some(cause) = &c.cause {
            let line = format!(
                "{} ({}, {}): {}",
                p.bold("Probable cause"),
                cause.id,
                cause.strength(),
                cause.summary
            );
            wrapped(out, w, 2, &line);
        }
        if !c.evidence.is_empty() {
            wrapped(out, w, 2, &p.bold("Evidence:"));
            for e in &c.evidence {
                wrapped(out, w, 4, &format!("frame {}: {}", e.frame, e.text));
            }
        }
        if let Some(cause) = &c.cause {
            let todo = format!("{} {}", p.bold("What to do:"), cause.remediation);
            wrapped(out, w, 2, &todo);
            wrapped(out, w, 2, &p.bold("What the user likely saw:"));
            for l in super::causes::client_message_lines(&cause.client_messages) {
                wrapped(out, w, 4, &format!("- {l}"));
            }
        }
    }
    if !c.caveats.is_empty() {
        wrapped(out, w, 2, &p.bold("Caveats:"));
        for cv in &c.caveats {
            wrapped(out, w, 4, &format!("- {cv}"));
        }
    }
    if !brief {
        let facts = facts(c);
        if !facts.is_empty() {
            wrapped(out, w, 2, &p.bold("Facts:"));
            for (k, v) in facts {
                wrapped(out, w, 4, &format!("{k}: {v}"));
            }
        }
    }
    let ws = format!("{} {}", p.bold("Wireshark:"), c.display_filter);
    wrapped(out, w, 2, &ws);
    if !brief {
        if let Some(ef) = &c.evidence_filter {
            wrapped(out, w, 4, &format!("evidence: {ef}"));
        }
    }
}

fn repeat_paragraph(out: &mut String, c: &ConnectionReport, first: u64, p: &Paint) {
    let w = p.width;
    let head = format!(
        "{} {} -> {}  {}",
        p.bold(&format!("stream {}:", c.stream)),
        c.client,
        c.server,
        p.outcome(&c.outcome, &format!("FAILED at {}", c.phase))
    );
    wrapped(out, w, 0, &head);
    let at = c
        .ending_frame
        .map(|f| format!(" (frame {f})"))
        .unwrap_or_default();
    let line = format!(
        "A retry: failed like stream {first}, {}{at}.",
        c.ended_by.text
    );
    wrapped(out, w, 2, &line);
    let ws = format!("{} {}", p.bold("Wireshark:"), c.display_filter);
    wrapped(out, w, 2, &ws);
}
