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
}

struct Paint {
    on: bool,
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
    let p = Paint { on: style.color };
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
        file_section(&mut out, f, &shown, style);
    }
    if doc.files.len() > 1 && !style.quiet {
        if !first {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", p.bold("Totals"));
        for l in totals_lines(&doc.totals) {
            let _ = writeln!(out, "  {l}");
        }
    }
    out
}

/// A file's block down to its outcome counts (`counts`); false when
/// nothing follows (no connection shown, or the file was not read).
pub fn file_head(
    out: &mut String,
    f: &FileReport,
    counts: &str,
    shown: usize,
    style: TermStyle,
) -> bool {
    let p = &Paint { on: style.color };
    let _ = writeln!(out, "{}", p.bold(&f.path));
    if let Some(l) = file_line(f) {
        let _ = writeln!(out, "  {l}");
    }
    if let Some(t) = time_range(f) {
        let _ = writeln!(out, "  {t}");
    }
    if let Some(e) = &f.error {
        let head = if f.format.is_none() {
            "error"
        } else {
            "read incompletely"
        };
        let _ = writeln!(out, "  {}: {}", p.error(head), error_line(e));
    }
    if let Some(i) = &f.ignored {
        let _ = writeln!(out, "  {}", ignored_line(i));
    }
    if !style.quiet {
        for w in listed_warnings(f) {
            let _ = writeln!(
                out,
                "  {}: {}",
                p.warn("warning"),
                with_place(&w.message, Some(w.offset), w.frame)
            );
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
            let _ = writeln!(out, "  {}", flow_line(&f.flow));
        }
        if let Some(s) = skipped_line(&f.skipped) {
            let _ = writeln!(out, "  frames skipped: {s}");
        }
    }
    if f.format.is_none() {
        return false;
    }
    if !style.quiet {
        let _ = writeln!(out, "  {counts}");
    }
    shown > 0
}

fn file_section(out: &mut String, f: &FileReport, shown: &[&ConnectionReport], style: TermStyle) {
    if !file_head(out, f, &outcome_counts(&f.connections), shown.len(), style) {
        return;
    }
    out.push('\n');
    out.push_str(&table(shown, style));
    out.push('\n');
    let repeats = Repeats::of(f);
    attempts_section(out, f, style);
    for c in shown {
        connection_paragraph(out, c, repeats.of_connection(c), style);
    }
}

/// The "Attempts:" lines of a file.
pub fn attempts_section(out: &mut String, f: &FileReport, style: TermStyle) {
    let p = Paint { on: style.color };
    if !style.quiet {
        let mut first = true;
        for a in notable_attempts(f) {
            if first {
                let _ = writeln!(out, "\n{}", p.bold("Attempts:"));
                first = false;
            }
            let _ = writeln!(out, "  {} ({})", a.summary, streams_list(a));
        }
    }
}

/// A shown connection's paragraph (with the blank line before it), if it
/// gets one; `repeats` is the earlier stream of its attempt it repeats.
pub fn connection_paragraph(
    out: &mut String,
    c: &ConnectionReport,
    repeats: Option<u64>,
    style: TermStyle,
) {
    let p = &Paint { on: style.color };
    if let Some(brief) = paragraph_kind(c) {
        if style.quiet && brief {
            return;
        }
        out.push('\n');
        match repeats {
            Some(first) => repeat_paragraph(out, c, first, p),
            None => paragraph(out, c, brief, p),
        }
    }
}

/// The table's column titles.
pub const COLUMNS: [&str; 7] = [
    "stream",
    "client",
    "server",
    "outcome",
    "phase / failing step",
    "ended by",
    "cause",
];

/// The cells of a connection's row.
pub fn row_cells(c: &ConnectionReport) -> [String; 7] {
    [
        c.stream.to_string(),
        c.client.clone(),
        c.server.clone(),
        c.outcome.clone(),
        phase_cell(c),
        ending_short(&c.ended_by),
        cause_cell(c),
    ]
}

/// The width a cell takes (as comfy-table measures it).
pub fn cell_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// The table drawn without comfy-table, one row at a time, given every
/// column's width: what comfy-table draws for a table neither coloured
/// nor fitted to a terminal (each column as wide as its widest cell),
/// so a table of any length can be written from rows kept on disk.
pub struct PlainTable {
    pub widths: [usize; 7],
}

impl PlainTable {
    fn border(&self, out: &mut String, left: char, fill: char, mid: char, right: char) {
        out.push(left);
        for (i, w) in self.widths.iter().enumerate() {
            if i > 0 {
                out.push(mid);
            }
            out.extend(std::iter::repeat(fill).take(w + 2));
        }
        out.push(right);
    }

    /// One row, without a line end.
    pub fn row(&self, out: &mut String, cells: &[&str]) {
        out.push('│');
        for (i, (w, c)) in self.widths.iter().zip(cells).enumerate() {
            if i > 0 {
                out.push('┆');
            }
            out.push(' ');
            out.push_str(c);
            let pad = w.saturating_sub(cell_width(c)) + 1;
            out.extend(std::iter::repeat(' ').take(pad));
        }
        out.push('│');
    }

    /// The top border, the titles and the line under them, with line ends.
    pub fn head(&self, out: &mut String) {
        self.border(out, '┌', '─', '┬', '┐');
        out.push('\n');
        self.row(out, &COLUMNS);
        out.push('\n');
        self.border(out, '╞', '═', '╪', '╡');
    }

    /// The bottom border, without a line end.
    pub fn foot(&self, out: &mut String) {
        self.border(out, '└', '─', '┴', '┘');
    }
}

/// The table of shown connections (comfy-table).
pub fn table(conns: &[&ConnectionReport], style: TermStyle) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    if style.terminal {
        t.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.force_no_tty();
    }
    if style.color {
        t.enforce_styling();
    }
    t.set_header(COLUMNS.to_vec());
    // On a narrow terminal, wrap the texts, never the addresses.
    for i in 0..4 {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for c in conns {
        let mut outcome = Cell::new(&c.outcome);
        if style.color {
            if let Some(col) = outcome_color(&c.outcome) {
                outcome = outcome.fg(col);
            }
        }
        t.add_row(vec![
            Cell::new(c.stream),
            Cell::new(&c.client),
            Cell::new(&c.server),
            outcome,
            Cell::new(phase_cell(c)),
            Cell::new(ending_short(&c.ended_by)),
            Cell::new(cause_cell(c)),
        ]);
    }
    t.to_string()
}

fn paragraph(out: &mut String, c: &ConnectionReport, brief: bool, p: &Paint) {
    let label = match (c.outcome.as_str(), &c.benign) {
        ("failed", _) => format!("FAILED at {}", c.phase),
        ("benign", Some(b)) => format!("benign ({b})"),
        (o, _) => o.to_string(),
    };
    let _ = writeln!(
        out,
        "{} {} -> {}  {}",
        p.bold(&format!("stream {}:", c.stream)),
        c.client,
        c.server,
        p.outcome(&c.outcome, &label)
    );
    let _ = writeln!(out, "  {}", c.what_happened);
    if !brief {
        if let Some(cause) = &c.cause {
            let _ = writeln!(
                out,
                "  {} ({}, {}): {}",
                p.bold("Probable cause"),
                cause.id,
                cause.strength(),
                cause.summary
            );
        }
        if !c.evidence.is_empty() {
            let _ = writeln!(out, "  {}", p.bold("Evidence:"));
            for e in &c.evidence {
                let _ = writeln!(out, "    frame {}: {}", e.frame, e.text);
            }
        }
        if let Some(cause) = &c.cause {
            let _ = writeln!(out, "  {} {}", p.bold("What to do:"), cause.remediation);
            let _ = writeln!(out, "  {}", p.bold("What the user likely saw:"));
            for l in super::causes::client_message_lines(&cause.client_messages) {
                let _ = writeln!(out, "    - {l}");
            }
        }
    }
    if !c.caveats.is_empty() {
        let _ = writeln!(out, "  {}", p.bold("Caveats:"));
        for cv in &c.caveats {
            let _ = writeln!(out, "    - {cv}");
        }
    }
    if !brief {
        let facts = facts(c);
        if !facts.is_empty() {
            let _ = writeln!(out, "  {}", p.bold("Facts:"));
            for (k, v) in facts {
                let _ = writeln!(out, "    {k}: {v}");
            }
        }
    }
    let _ = writeln!(out, "  {} {}", p.bold("Wireshark:"), c.display_filter);
    if !brief {
        if let Some(ef) = &c.evidence_filter {
            let _ = writeln!(out, "    evidence: {ef}");
        }
    }
}

fn repeat_paragraph(out: &mut String, c: &ConnectionReport, first: u64, p: &Paint) {
    let _ = writeln!(
        out,
        "{} {} -> {}  {}",
        p.bold(&format!("stream {}:", c.stream)),
        c.client,
        c.server,
        p.outcome(&c.outcome, &format!("FAILED at {}", c.phase))
    );
    let at = c
        .ending_frame
        .map(|f| format!(" (frame {f})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  A retry: failed like stream {first}, {}{at}.",
        c.ended_by.text
    );
    let _ = writeln!(out, "  {} {}", p.bold("Wireshark:"), c.display_filter);
}
