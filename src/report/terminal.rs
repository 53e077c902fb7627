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
pub fn wrapped(out: &mut String, width: usize, indent: usize, text: &str) {
    if width == 0 || width <= indent + 20 {
        let first = " ".repeat(indent);
        let _ = writeln!(out, "{first}{text}");
        return;
    }
    if fits(width, indent, text) {
        // What textwrap writes for a line that fits: the indent, the
        // text without its trailing spaces.
        out.extend(std::iter::repeat(' ').take(indent));
        out.push_str(text.trim_end_matches(' '));
        out.push('\n');
        return;
    }
    // A short line is wrapped again rather than looked up: it is most
    // often met once (it names a frame or a stream).
    if text.len() <= SHORT_LINE && wrap_printable(out, width, indent, text) {
        return;
    }
    WRAPPED.with_borrow_mut(|kept| kept.wrap(out, width, indent, text));
}

/// Whether `text` fits on one line of `width` after `indent` as it is:
/// one ASCII line (no line break, each byte one column or none), not
/// empty (textwrap writes an empty text without its indent).
fn fits(width: usize, indent: usize, text: &str) -> bool {
    !text.is_empty() && indent + text.len() <= width && text.is_ascii() && !text.contains('\n')
}

/// The longest line [`wrapped`] wraps without keeping it.
const SHORT_LINE: usize = 256;

thread_local! {
    static WRAPPED: std::cell::RefCell<Wrapped> = std::cell::RefCell::default();
}

/// Lines already wrapped, by width, indent and text: the paragraphs of
/// connections that failed the same way repeat the same summary, remedy
/// and client messages, and wrapping a remedy of 1 KB costs a hundred
/// times more than finding it. Emptied past [`WRAPPED_KEPT`] bytes of
/// text (a text met once, an evidence line, only passes through).
#[derive(Default)]
struct Wrapped {
    lines: std::collections::HashMap<(usize, usize), std::collections::HashMap<String, String>>,
    bytes: usize,
    /// The last few texts found or wrapped, with their width, indent and
    /// lines, newest first: a paragraph asks for the same few (its
    /// remedy, its client messages) as the one before, compared whole
    /// before any is hashed. At most [`RECENT`], each at most
    /// [`RECENT_BYTES`] with its lines.
    recent: Vec<(usize, usize, String, String)>,
}

/// The most text [`Wrapped`] keeps per thread.
const WRAPPED_KEPT: usize = 256 * 1024;

/// See [`Wrapped::recent`].
const RECENT: usize = 4;
const RECENT_BYTES: usize = 8 * 1024;

impl Wrapped {
    fn wrap(&mut self, out: &mut String, width: usize, indent: usize, text: &str) {
        let recent = self
            .recent
            .iter()
            .find(|(w, i, t, _)| *w == width && *i == indent && t == text);
        if let Some((_, _, _, lines)) = recent {
            out.push_str(lines);
            return;
        }
        let start = out.len();
        let found = self
            .lines
            .get(&(width, indent))
            .and_then(|texts| texts.get(text));
        if let Some(lines) = found {
            out.push_str(lines);
        } else {
            wrap_lines(out, width, indent, text);
            if self.bytes + text.len() > WRAPPED_KEPT {
                self.lines.clear();
                self.bytes = 0;
            }
            let lines = out.get(start..).unwrap_or_default().to_string();
            self.bytes += text.len() + lines.len();
            self.lines
                .entry((width, indent))
                .or_default()
                .insert(text.to_string(), lines);
        }
        let lines = out.get(start..).unwrap_or_default();
        if text.len() + lines.len() <= RECENT_BYTES {
            self.recent.truncate(RECENT - 1);
            self.recent
                .insert(0, (width, indent, text.to_string(), lines.to_string()));
        }
    }
}

/// [`wrapped`] for a width that leaves room for the text.
fn wrap_lines(out: &mut String, width: usize, indent: usize, text: &str) {
    if wrap_printable(out, width, indent, text) {
        return;
    }
    wrap_lines_textwrap(out, width, indent, text);
}

/// What [`wrap_lines_textwrap`] writes, for a text of printable ASCII
/// alone (false, nothing written, for any other): its words are the runs
/// of bytes other than a space, each with the spaces after it, a byte a
/// column; a word starts a new line when the line's words, their spaces
/// and it would pass the line's width (textwrap's first fit, the
/// algorithm it uses without its `smawk` feature); a line is its indent
/// and its words without the spaces after the last. Cheaper than textwrap
/// by the words it allocates and the widths it looks up.
fn wrap_printable(out: &mut String, width: usize, indent: usize, text: &str) -> bool {
    if !is_printable_ascii(text) {
        return false;
    }
    let bytes = text.as_bytes();
    if indent == 0 && text.len() < width {
        // textwrap's own shortcut for a short line without an indent.
        out.push_str(text.trim_end_matches(' '));
        out.push('\n');
        return true;
    }
    let widths = [
        width.saturating_sub(indent),
        width.saturating_sub(indent + 2),
    ];
    let mut lines = 0;
    // The current line: where its first word starts, where its last word
    // ends (without its spaces), and its width so far (words and spaces).
    let (mut start, mut end, mut used) = (0, 0, 0);
    let mut words = 0;
    let mut at = 0;
    while at < bytes.len() {
        let word_end = at + bytes[at..].iter().take_while(|&&b| b != b' ').count();
        let next = word_end + bytes[word_end..].iter().take_while(|&&b| b == b' ').count();
        let room = widths[lines.min(1)];
        if used + (word_end - at) > room && words > 0 {
            push_line(out, indent, lines, text.get(start..end).unwrap_or(""));
            lines += 1;
            (start, used, words) = (at, 0, 0);
        }
        used += next - at;
        end = word_end;
        words += 1;
        at = next;
    }
    if words == 0 {
        // No word at all: textwrap writes an empty line, without indent.
        out.push('\n');
    } else {
        push_line(out, indent, lines, text.get(start..end).unwrap_or(""));
    }
    true
}

/// A line of [`wrap_printable`]: the first (`line` 0) after `indent`
/// spaces, the others after two more.
fn push_line(out: &mut String, indent: usize, line: usize, words: &str) {
    let spaces = if line == 0 { indent } else { indent + 2 };
    out.extend(std::iter::repeat(' ').take(spaces));
    out.push_str(words);
    out.push('\n');
}

/// [`wrap_lines`] by textwrap itself.
fn wrap_lines_textwrap(out: &mut String, width: usize, indent: usize, text: &str) {
    let first = " ".repeat(indent);
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

/// `s` in bold when `style` is coloured.
pub fn bold(s: &str, style: TermStyle) -> String {
    Paint {
        on: style.color,
        width: style.width,
    }
    .bold(s)
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
        file_section(&mut out, f, &shown, style);
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

/// A file's block down to its outcome counts (`counts`); false when
/// nothing follows (no connection shown, or the file was not read).
pub fn file_head(
    out: &mut String,
    f: &FileReport,
    counts: &str,
    shown: usize,
    style: TermStyle,
) -> bool {
    let p = &Paint {
        on: style.color,
        width: style.width,
    };
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
        return false;
    }
    if !style.quiet {
        wrapped(out, p.width, 2, counts);
    }
    if !f.neighbour_attempts.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold("Attempts across protocols:"));
        for a in &f.neighbour_attempts {
            for l in super::neighbours::lines(a) {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    shown > 0
}

fn file_section(out: &mut String, f: &FileReport, shown: &[&ConnectionReport], style: TermStyle) {
    let counts = outcome_counts(&f.connections);
    let counts = super::filter::counts_line(counts, f.connections.len() as u64, f.filtered_out);
    if !file_head(out, f, &counts, shown.len(), style) {
        return;
    }
    out.push('\n');
    out.push_str(&table(shown, style));
    out.push('\n');
    let repeats = Repeats::of(f);
    attempts_section(out, f, style);
    let decryption = super::text::decryption_lines(f);
    if !decryption.is_empty() && !style.quiet {
        decryption_heading(out, style);
        for (stream, line) in decryption {
            decryption_line(out, stream, &line);
        }
    }
    for c in shown {
        connection_paragraph(out, c, repeats.of_connection(c), style);
    }
}

/// The "Attempts:" lines of a file.
pub fn attempts_section(out: &mut String, f: &FileReport, style: TermStyle) {
    let p = Paint {
        on: style.color,
        width: style.width,
    };
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
}

/// The "TLS decryption:" heading, before the lines of
/// [`decryption_line`] (not with `--quiet`).
pub fn decryption_heading(out: &mut String, style: TermStyle) {
    let p = Paint {
        on: style.color,
        width: style.width,
    };
    let _ = writeln!(out, "\n{}", p.bold("TLS decryption:"));
}

/// A connection's line under "TLS decryption:".
pub fn decryption_line(out: &mut String, stream: u64, line: &str) {
    let _ = writeln!(out, "  stream {stream}: {line}");
}

/// A shown connection's paragraph (with the blank line before it), if it
/// gets one; `repeats` is the earlier stream of its attempt it repeats.
pub fn connection_paragraph(
    out: &mut String,
    c: &ConnectionReport,
    repeats: Option<u64>,
    style: TermStyle,
) {
    let p = &Paint {
        on: style.color,
        width: style.width,
    };
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
        c.outcome.to_string(),
        phase_cell(c),
        ending_short(&c.ended_by),
        cause_cell(c),
    ]
}

/// The cells of [`row_cells`] written one after the other at the end of
/// `out`, `sep` between them.
pub fn push_row_cells(out: &mut String, c: &ConnectionReport, sep: char) {
    let _ = write!(out, "{}", c.stream);
    out.push(sep);
    out.push_str(&c.client);
    out.push(sep);
    out.push_str(&c.server);
    out.push(sep);
    out.push_str(&c.outcome);
    out.push(sep);
    push_phase_cell(out, c);
    out.push(sep);
    out.push_str(&ending_short(&c.ended_by));
    out.push(sep);
    push_cause_cell(out, c);
}

/// The width a cell takes (as comfy-table measures it).
pub fn cell_width(s: &str) -> usize {
    // Printable ASCII, what nearly every cell holds, is a column a byte.
    if is_printable_ascii(s) {
        return s.len();
    }
    unicode_width::UnicodeWidthStr::width(s)
}

/// The table's natural width: every column as wide as its widest cell
/// (what [`PlainTable`] and the wide table draw).
pub fn natural_width(widths: &[usize; 7]) -> usize {
    widths.iter().map(|w| w + 3).sum::<usize>() + 1
}

/// How a table of rows whose columns are `widths` wide is drawn in `style`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableForm {
    /// All seven columns at their content's width.
    Wide,
    /// Client and server stacked in one column, the texts wrapped.
    Narrow,
    /// No table: a few lines per connection.
    Stacked,
}

impl TableForm {
    pub fn of(widths: &[usize; 7], style: TermStyle) -> Self {
        if style.width == 0 || natural_width(widths) <= style.width {
            TableForm::Wide
        } else if style.width < STACK_BELOW {
            TableForm::Stacked
        } else {
            TableForm::Narrow
        }
    }
}

/// The table drawn without comfy-table, one row at a time, given every
/// column's width: what comfy-table draws for a table neither coloured
/// nor fitted to a terminal (each column as wide as its widest cell),
/// so a table of any length can be written from rows kept on disk.
pub struct PlainTable {
    pub widths: [usize; 7],
    /// The outcome cells coloured as comfy-table colours them.
    pub color: bool,
}

/// The column of the outcome, coloured in a coloured table.
const OUTCOME_COLUMN: usize = 3;

/// The ANSI foreground code comfy-table writes (through crossterm, as an
/// ANSI 256-colour index) for an outcome's colour, and the one that ends it.
fn outcome_sgr(outcome: &str) -> Option<&'static str> {
    match outcome_color(outcome)? {
        Color::Red => Some("\x1b[38;5;9m"),
        Color::Green => Some("\x1b[38;5;10m"),
        Color::Yellow => Some("\x1b[38;5;11m"),
        Color::Cyan => Some("\x1b[38;5;14m"),
        _ => None,
    }
}

const SGR_DEFAULT_FOREGROUND: &str = "\x1b[39m";

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
            // comfy-table colours the cell with its padding.
            let sgr = outcome_sgr(c).filter(|_| self.color && i == OUTCOME_COLUMN);
            if let Some(code) = sgr {
                out.push_str(code);
            }
            out.push(' ');
            out.push_str(c);
            let pad = w.saturating_sub(cell_width(c)) + 1;
            out.extend(std::iter::repeat(' ').take(pad));
            if sgr.is_some() {
                out.push_str(SGR_DEFAULT_FOREGROUND);
            }
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

/// The connections as a table that fits `style.width`: all seven
/// columns when they fit; else client and server stacked in one column and
/// the phase with the ending, the texts wrapped; below [`STACK_BELOW`]
/// columns one block of lines per connection.
pub fn table(conns: &[&ConnectionReport], style: TermStyle) -> String {
    let rows: Vec<[String; 7]> = conns.iter().map(|c| row_cells(c)).collect();
    table_of_rows(&rows, style)
}

/// [`table`] from the rows' cells ([`row_cells`]).
pub fn table_of_rows(rows: &[[String; 7]], style: TermStyle) -> String {
    let wide = wide_table(rows, style);
    let natural = wide.lines().next().map_or(0, |l| l.chars().count());
    if style.width == 0 || natural <= style.width {
        return wide;
    }
    if style.width < STACK_BELOW {
        let mut out = String::new();
        for r in rows {
            stacked_row(&mut out, r, style);
        }
        out.pop();
        return out;
    }
    narrow_table(rows, style)
}

/// Client and server stacked in one column and the phase with the ending,
/// the texts wrapped to fit `style.width` (comfy-table arranges the
/// columns from every row: the rows are all in memory).
pub fn narrow_table(rows: &[[String; 7]], style: TermStyle) -> String {
    let mut t = new_table(style);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(u16::try_from(style.width).unwrap_or(u16::MAX));
    t.set_header(NARROW_COLUMNS.to_vec());
    for i in 0..3 {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for r in rows {
        narrow_row(&mut t, r, style);
    }
    t.to_string()
}

/// The narrow table's column titles.
const NARROW_COLUMNS: [&str; 5] = [
    "stream",
    "client / server",
    "outcome",
    "phase / failing step / ended by",
    "cause",
];

fn narrow_row(t: &mut Table, row: &[String; 7], style: TermStyle) {
    let [stream, client, server, outcome, phase, ended, cause] = row;
    t.add_row(vec![
        Cell::new(stream),
        Cell::new(format!("{client}\n{server}")),
        outcome_cell(outcome, style),
        Cell::new(format!("{phase}\n{ended}")),
        Cell::new(cause),
    ]);
}

/// What comfy-table's arrangement of the narrow table reads of its rows,
/// gathered one row at a time: the widest line of the first three
/// columns (sized to their content), and for the two columns it wraps the
/// distinct lines up to their digits (it measures how each line splits
/// at a width, which depends on the widths of its words and characters
/// alone; a digit is one column wide whichever it is). The lines come
/// from the verdict's names and numbers (steps, endings, causes), so
/// there are a few dozen of them however many rows.
#[derive(Debug, Default)]
pub struct NarrowLayout {
    widest: [String; 3],
    /// The width of each of `widest`.
    widest_width: [usize; 3],
    wrapped: [std::collections::BTreeSet<String>; 2],
    /// The last row's three wrapped cells, as they were: a row whose
    /// cell is the same adds no line (most rows repeat the one before).
    last: [String; 3],
    line: String,
}

impl NarrowLayout {
    pub fn add(&mut self, row: [&str; 7]) {
        let [stream, client, server, outcome, phase, ended, cause] = row;
        for (i, cell) in [stream, client, server, outcome].into_iter().enumerate() {
            let at = i.saturating_sub(usize::from(i >= 2));
            let width = cell_width(cell);
            if let (Some(w), Some(widest)) =
                (self.widest.get_mut(at), self.widest_width.get_mut(at))
            {
                if width > *widest {
                    w.clear();
                    w.push_str(cell);
                    *widest = width;
                }
            }
        }
        for (k, (i, cell)) in [(0, phase), (0, ended), (1, cause)].into_iter().enumerate() {
            let Some(last) = self.last.get_mut(k) else {
                continue;
            };
            if *last == cell && !last.is_empty() {
                continue;
            }
            last.clear();
            last.push_str(cell);
            self.line.clear();
            self.line.extend(
                cell.chars()
                    .map(|c| if c.is_ascii_digit() { '0' } else { c }),
            );
            if !self.wrapped[i].contains(&self.line) {
                self.wrapped[i].insert(self.line.clone());
            }
        }
    }

    /// The lines kept: the widest three and the distinct wrapped ones.
    pub fn lines_kept(&self) -> usize {
        3 + self.wrapped.iter().map(|w| w.len()).sum::<usize>()
    }

    /// Each column's width with its padding, as comfy-table arranges the
    /// narrow table of the rows given to [`NarrowLayout::add`] (a table of
    /// the same lines, one row per distinct line).
    pub fn widths(&self, style: TermStyle) -> [u16; 5] {
        let mut t = new_table(style);
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_width(u16::try_from(style.width).unwrap_or(u16::MAX));
        t.set_header(NARROW_COLUMNS.to_vec());
        for i in 0..3 {
            if let Some(col) = t.column_mut(i) {
                col.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        let [a, b] = &self.wrapped;
        let (mut a, mut b) = (a.iter(), b.iter());
        let mut first = true;
        loop {
            let (x, y) = (a.next(), b.next());
            if x.is_none() && y.is_none() && !first {
                break;
            }
            let cell = |s: Option<&String>| Cell::new(s.map_or("", String::as_str));
            let widest = |i: usize| Cell::new(if first { self.widest[i].as_str() } else { "" });
            t.add_row(vec![widest(0), widest(1), widest(2), cell(x), cell(y)]);
            first = false;
        }
        // The top border: `┌`, then per column its width of `─` and `┬`.
        let top = t.lines().next().unwrap_or_default();
        let mut widths = [0u16; 5];
        let segments = top.trim_start_matches('┌').trim_end_matches('┐').split('┬');
        for (w, seg) in widths.iter_mut().zip(segments) {
            *w = u16::try_from(seg.chars().count()).unwrap_or(u16::MAX);
        }
        widths
    }
}

/// Part of the narrow table: with `head`, its top border, titles and the
/// line under them; then `rows`; with `foot`, its bottom border (without
/// a line end). Columns `widths` wide ([`NarrowLayout::widths`]). Every
/// other line ends with a line end.
pub fn narrow_part(
    out: &mut String,
    rows: &[[String; 7]],
    widths: &[u16; 5],
    style: TermStyle,
    head: bool,
    foot: bool,
) {
    // comfy-table draws the rows with the columns fixed at `widths` (its
    // arrangement would need every row; this needs these rows only).
    let mut t = new_table(style);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(u16::try_from(style.width).unwrap_or(u16::MAX));
    if head {
        t.set_header(NARROW_COLUMNS.to_vec());
    }
    for r in rows {
        narrow_row(&mut t, r, style);
    }
    // (Set once the columns exist: comfy-table constrains those it has.)
    t.set_constraints(
        widths
            .iter()
            .map(|&w| ColumnConstraint::Absolute(comfy_table::Width::Fixed(w))),
    );
    let text = t.to_string();
    let mut lines: Vec<&str> = text.split('\n').collect();
    if !foot {
        lines.pop();
    }
    for (i, l) in lines.iter().enumerate() {
        if i == 0 && !head {
            continue;
        }
        out.push_str(l);
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
    if !foot {
        out.push('\n');
    }
}

/// The narrow table drawn without comfy-table where its result is
/// certain: the borders always; the titles and a row when each line of
/// each cell is printable ASCII (a byte a column, no escape, no tab) and
/// fits its column, so comfy-table would neither wrap nor measure it
/// otherwise. Such a line is what comfy-table writes: a space, the line,
/// spaces to the column's width; an outcome line of a coloured table
/// between the colour's code and the one that ends it, padding included
/// ([`outcome_sgr`]); a cell with fewer lines than its row, spaces,
/// uncoloured. The other rows wait (at most [`NARROW_CHUNK`]) to be
/// drawn together by [`narrow_part`]: comfy-table with the columns fixed
/// at the same widths, so a row is drawn alike alone or among others.
pub struct NarrowPen {
    /// Each column's width with its padding, as comfy-table draws a
    /// column fixed at [`NarrowLayout::widths`]: at least 3 (its content
    /// at least one column).
    widths: [usize; 5],
    /// The widths given, for [`narrow_part`].
    given: [u16; 5],
    style: TermStyle,
    /// Rows for comfy-table, in order, none drawn by hand since.
    waiting: Vec<[String; 7]>,
    /// The most rows that waited at once.
    waiting_peak: usize,
}

/// The most rows of the narrow table drawn by comfy-table at once.
const NARROW_CHUNK: usize = 256;

impl NarrowPen {
    pub fn new(widths: [u16; 5], style: TermStyle) -> Self {
        NarrowPen {
            widths: widths.map(|w| usize::from(w).max(3)),
            given: widths,
            style,
            waiting: Vec::new(),
            waiting_peak: 0,
        }
    }

    /// The top border, the titles and the line under them, each with its
    /// line end.
    pub fn head(&self, out: &mut String) {
        let titles = NARROW_COLUMNS.map(|t| [t, ""]);
        let lines = [1; 5];
        if !self.fit(&titles, &lines) {
            return narrow_part(out, &[], &self.given, self.style, true, false);
        }
        self.border(out, ['┌', '─', '┬', '┐']);
        out.push('\n');
        self.lines(out, &titles, &lines, 1, None);
        self.border(out, ['╞', '═', '╪', '╡']);
        out.push('\n');
    }

    /// A row's lines, each with its line end (or later, if it waits for
    /// comfy-table).
    pub fn row(&mut self, out: &mut String, row: [&str; 7]) {
        let cells = narrow_cells(row);
        if !self.fit(&cells, &NARROW_LINES) {
            self.waiting.push(row.map(str::to_string));
            self.waiting_peak = self.waiting_peak.max(self.waiting.len());
            if self.waiting.len() == NARROW_CHUNK {
                self.draw_waiting(out);
            }
            return;
        }
        self.draw_waiting(out);
        let sgr = outcome_sgr(row[3]).filter(|_| self.style.color);
        self.lines(out, &cells, &NARROW_LINES, 2, sgr);
    }

    /// The rows still waiting, then the bottom border, without a line end.
    pub fn foot(&mut self, out: &mut String) {
        self.draw_waiting(out);
        self.border(out, ['└', '─', '┴', '┘']);
    }

    /// The most rows that waited for comfy-table at once.
    pub fn waiting_peak(&self) -> usize {
        self.waiting_peak
    }

    fn draw_waiting(&mut self, out: &mut String) {
        if !self.waiting.is_empty() {
            narrow_part(out, &self.waiting, &self.given, self.style, false, false);
            self.waiting.clear();
        }
    }

    /// Whether each line of each cell (its first `lines`) is printable
    /// ASCII within its column.
    fn fit(&self, cells: &[[&str; 2]; 5], lines: &[usize; 5]) -> bool {
        cells
            .iter()
            .zip(lines)
            .zip(self.widths)
            .all(|((cell, &n), w)| {
                cell.iter()
                    .take(n)
                    .all(|l| l.len() + 2 <= w && is_printable_ascii(l))
            })
    }

    /// A row of `height` lines; `sgr`, the outcome column's colour.
    fn lines(
        &self,
        out: &mut String,
        cells: &[[&str; 2]; 5],
        lines: &[usize; 5],
        height: usize,
        sgr: Option<&str>,
    ) {
        for k in 0..height {
            out.push('│');
            for (i, ((cell, &n), w)) in cells.iter().zip(lines).zip(self.widths).enumerate() {
                if i > 0 {
                    out.push('┆');
                }
                let Some(line) = cell.get(k).filter(|_| k < n) else {
                    push_spaces(out, w);
                    continue;
                };
                let sgr = sgr.filter(|_| i == NARROW_OUTCOME_COLUMN);
                if let Some(code) = sgr {
                    out.push_str(code);
                }
                out.push(' ');
                out.push_str(line);
                push_spaces(out, w.saturating_sub(line.len() + 1));
                if sgr.is_some() {
                    out.push_str(SGR_DEFAULT_FOREGROUND);
                }
            }
            out.push_str("│\n");
        }
    }

    fn border(&self, out: &mut String, [left, fill, mid, right]: [char; 4]) {
        out.push(left);
        for (i, &w) in self.widths.iter().enumerate() {
            if i > 0 {
                out.push(mid);
            }
            out.extend(std::iter::repeat(fill).take(w));
        }
        out.push(right);
    }
}

/// `n` spaces.
fn push_spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(SPACES.get(..k).unwrap_or_default());
        n -= k;
    }
}

/// A row's cells in the narrow table, each of one or two lines.
fn narrow_cells(row: [&str; 7]) -> [[&str; 2]; 5] {
    let [stream, client, server, outcome, phase, ended, cause] = row;
    [
        [stream, ""],
        [client, server],
        [outcome, ""],
        [phase, ended],
        [cause, ""],
    ]
}

/// The lines of the cells of [`narrow_cells`].
const NARROW_LINES: [usize; 5] = [1, 2, 1, 2, 1];

/// The narrow table's column of the outcome.
const NARROW_OUTCOME_COLUMN: usize = 2;

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

fn outcome_cell(outcome: &str, style: TermStyle) -> Cell {
    let cell = Cell::new(outcome);
    match outcome_color(outcome) {
        Some(col) if style.color => cell.fg(col),
        _ => cell,
    }
}

/// All seven columns at their content's width.
fn wide_table(rows: &[[String; 7]], style: TermStyle) -> String {
    let mut t = new_table(style);
    t.set_header(COLUMNS.to_vec());
    for [stream, client, server, outcome, phase, ended, cause] in rows {
        t.add_row(vec![
            Cell::new(stream),
            Cell::new(client),
            Cell::new(server),
            outcome_cell(outcome, style),
            Cell::new(phase),
            Cell::new(ended),
            Cell::new(cause),
        ]);
    }
    t.to_string()
}

/// A terminal too narrow for any table: a connection's row as lines, each
/// ending in a line end.
pub fn stacked_row(out: &mut String, row: &[String; 7], style: TermStyle) {
    let p = Paint {
        on: style.color,
        width: style.width,
    };
    let [stream, client, server, outcome, phase, ended, cause] = row;
    let head = format!(
        "{} {} {} -> {}",
        p.bold(&format!("stream {stream}")),
        p.outcome(outcome, outcome),
        client,
        server
    );
    wrapped(out, style.width, 0, &head);
    let at = format!("{phase}; {ended}");
    wrapped(out, style.width, 2, &at);
    if cause != "-" {
        wrapped(out, style.width, 2, &format!("cause {cause}"));
    }
}

/// A logical line written by `f` straight into `out`, then wrapped as
/// [`wrapped`] wraps it: left where it is when it fits (the usual case),
/// else taken out and wrapped. No line is made apart for each text.
fn line_with(out: &mut String, width: usize, indent: usize, f: impl FnOnce(&mut String)) {
    let start = out.len();
    push_spaces(out, indent);
    let from = out.len();
    f(out);
    let text = out.get(from..).unwrap_or_default();
    if width == 0 || width <= indent + 20 {
        out.push('\n');
    } else if fits(width, indent, text) {
        let kept = text.trim_end_matches(' ').len();
        out.truncate(from + kept);
        out.push('\n');
    } else {
        let text = text.to_string();
        out.truncate(start);
        wrapped(out, width, indent, &text);
    }
}

impl Paint {
    /// What `f` writes, in the style of `code` when colours are on.
    fn paint_with(&self, out: &mut String, code: &str, f: impl FnOnce(&mut String)) {
        if self.on {
            out.push_str("\x1b[");
            out.push_str(code);
            out.push('m');
        }
        f(out);
        if self.on {
            out.push_str("\x1b[0m");
        }
    }

    /// [`Paint::outcome`]'s style.
    fn outcome_code(outcome: &str) -> &'static str {
        match outcome_color(outcome) {
            Some(Color::Red) => "1;31",
            Some(Color::Green) => "32",
            Some(Color::Yellow) => "33",
            Some(Color::Cyan) => "36",
            _ => "2",
        }
    }

    /// A paragraph's first line: the stream in bold, the endpoints, and
    /// `label` in the outcome's colour.
    fn paragraph_head(
        &self,
        out: &mut String,
        c: &ConnectionReport,
        label: impl FnOnce(&mut String),
    ) {
        line_with(out, self.width, 0, |o| {
            self.paint_with(o, "1", |o| {
                let _ = write!(o, "stream {}:", c.stream);
            });
            let _ = write!(o, " {} -> {}  ", c.client, c.server);
            self.paint_with(o, Paint::outcome_code(&c.outcome), label);
        });
    }
}

fn paragraph(out: &mut String, c: &ConnectionReport, brief: bool, p: &Paint) {
    let w = p.width;
    p.paragraph_head(out, c, |o| {
        let _ = match (c.outcome.as_ref(), &c.benign) {
            ("failed", _) => write!(o, "FAILED at {}", c.phase),
            ("benign", Some(b)) => write!(o, "benign ({b})"),
            (outcome, _) => write!(o, "{outcome}"),
        };
    });
    wrapped(out, w, 2, &c.what_happened);
    if !brief {
        if let Some(cause) = &c.cause {
            line_with(out, w, 2, |o| {
                p.paint_with(o, "1", |o| o.push_str("Probable cause"));
                let _ = write!(
                    o,
                    " ({}, {}): {}",
                    cause.id,
                    cause.strength(),
                    cause.summary
                );
            });
        }
        if !c.evidence.is_empty() {
            line_with(out, w, 2, |o| {
                p.paint_with(o, "1", |o| o.push_str("Evidence:"))
            });
            for e in &c.evidence {
                line_with(out, w, 4, |o| {
                    let _ = write!(o, "frame {}: {}", e.frame, e.text);
                });
            }
        }
        if let Some(cause) = &c.cause {
            line_with(out, w, 2, |o| {
                p.paint_with(o, "1", |o| o.push_str("What to do:"));
                let _ = write!(o, " {}", cause.remediation);
            });
            line_with(out, w, 2, |o| {
                p.paint_with(o, "1", |o| o.push_str("What the user likely saw:"))
            });
            for l in super::causes::client_message_lines(&cause.client_messages) {
                line_with(out, w, 4, |o| {
                    o.push_str("- ");
                    o.push_str(&l);
                });
            }
        }
    }
    if !c.caveats.is_empty() {
        line_with(out, w, 2, |o| {
            p.paint_with(o, "1", |o| o.push_str("Caveats:"))
        });
        for cv in &c.caveats {
            line_with(out, w, 4, |o| {
                let _ = write!(o, "- {cv}");
            });
        }
    }
    if !brief {
        let facts = facts(c);
        if !facts.is_empty() {
            line_with(out, w, 2, |o| {
                p.paint_with(o, "1", |o| o.push_str("Facts:"))
            });
            for (k, v) in facts {
                line_with(out, w, 4, |o| {
                    let _ = write!(o, "{k}: {v}");
                });
            }
        }
    }
    wireshark_line(out, c, p);
    if !brief {
        if let Some(ef) = &c.evidence_filter {
            line_with(out, w, 4, |o| {
                let _ = write!(o, "evidence: {ef}");
            });
        }
    }
}

/// A paragraph's "Wireshark:" line.
fn wireshark_line(out: &mut String, c: &ConnectionReport, p: &Paint) {
    line_with(out, p.width, 2, |o| {
        p.paint_with(o, "1", |o| o.push_str("Wireshark:"));
        o.push(' ');
        o.push_str(&c.display_filter);
    });
}

fn repeat_paragraph(out: &mut String, c: &ConnectionReport, first: u64, p: &Paint) {
    p.paragraph_head(out, c, |o| {
        let _ = write!(o, "FAILED at {}", c.phase);
    });
    line_with(out, p.width, 2, |o| {
        let _ = write!(
            o,
            "A retry: failed like stream {first}, {}",
            c.ended_by.text
        );
        if let Some(f) = c.ending_frame {
            let _ = write!(o, " (frame {f})");
        }
        o.push('.');
    });
    wireshark_line(out, c, p);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What textwrap writes for `text`, line by line.
    fn textwrap_lines(width: usize, indent: usize, text: &str) -> String {
        let mut out = String::new();
        wrap_lines_textwrap(&mut out, width, indent, text);
        out
    }

    /// [`wrapped`] three times (the text then comes from the kept lines)
    /// against textwrap's own lines.
    fn wraps_as_textwrap(width: usize, indent: usize, text: &str) {
        let want = textwrap_lines(width, indent, text);
        for _ in 0..3 {
            let mut got = String::new();
            wrapped(&mut got, width, indent, text);
            assert_eq!(got, want, "width {width}, indent {indent}: {text:?}");
        }
    }

    #[test]
    fn lines_are_wrapped_as_textwrap_wraps_them() {
        let remedy = "Nothing accepts connections on the port. On the server: enable Remote \
            Desktop (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\PortNumber, \
            `netstat -ano | findstr :3389`).";
        let texts = [
            "",
            " ",
            "   ",
            "word",
            "  leading",
            "trailing  ",
            "two  spaces inside",
            "a\nline break",
            "ends with a break\n",
            "\x1b[1mWhat to do:\x1b[0m bold",
            "wide 漢字 and é",
            "frame 17: SYN from client to 192.0.2.1:3389",
            remedy,
        ];
        for text in texts {
            for width in [21, 40, 44, 46, 60, 80, 100, 120] {
                for indent in [0, 2, 4] {
                    if width > indent + 20 {
                        wraps_as_textwrap(width, indent, text);
                    }
                }
            }
        }
        // A text exactly as long as the room, and one byte longer.
        for n in 30..40 {
            wraps_as_textwrap(40, 4, &"x".repeat(n));
            wraps_as_textwrap(40, 4, &format!("{} y", "x".repeat(n)));
        }
    }

    proptest! {
        #[test]
        fn a_cell_is_as_wide_as_unicode_width_says(s in any::<String>()) {
            prop_assert_eq!(cell_width(&s), unicode_width::UnicodeWidthStr::width(s.as_str()));
        }

        #[test]
        fn an_ascii_cell_is_as_wide_as_unicode_width_says(s in "[\\x00-\\x7f]{0,40}") {
            prop_assert_eq!(cell_width(&s), unicode_width::UnicodeWidthStr::width(s.as_str()));
        }

        #[test]
        fn any_line_is_wrapped_as_textwrap_wraps_it(
            text in "[a-z \n\\x1b漢é]{0,140}",
            width in 25usize..130,
            indent in 0usize..5,
        ) {
            wraps_as_textwrap(width, indent, &text);
        }

        #[test]
        fn a_printable_line_is_wrapped_as_textwrap_wraps_it(
            text in "( {1,3}|[a-z0-9]{1,12}|[!-~]{1,40}){0,40}",
            width in 0usize..130,
            indent in 0usize..7,
        ) {
            let mut got = String::new();
            prop_assert!(wrap_printable(&mut got, width, indent, &text));
            prop_assert_eq!(got, textwrap_lines(width, indent, &text));
            if width > indent + 20 {
                wraps_as_textwrap(width, indent, &text);
            }
        }
    }

    #[test]
    fn printable_lines_are_wrapped_as_textwrap_wraps_them() {
        let words = [
            "a",
            "bb",
            "frame",
            "(frame 19994).",
            "x".repeat(30).leak(),
            "",
            " ",
            "  ",
        ];
        // Every text of up to three of these words, at every width and
        // indent around their lengths; and no text but printable ASCII.
        let mut texts = vec![String::new()];
        for _ in 0..3 {
            let mut more = Vec::new();
            for t in &texts {
                for w in words {
                    more.push(format!("{t}{w}"));
                    more.push(format!("{t} {w}"));
                }
            }
            texts = more;
        }
        for text in &texts {
            for width in [
                0, 1, 2, 3, 5, 8, 13, 16, 19, 20, 21, 22, 25, 30, 31, 32, 33, 40, 64,
            ] {
                for indent in [0, 1, 2, 4] {
                    let mut got = String::new();
                    assert!(wrap_printable(&mut got, width, indent, text));
                    assert_eq!(
                        got,
                        textwrap_lines(width, indent, text),
                        "{width} {indent} {text:?}"
                    );
                }
            }
        }
        for text in ["a\tb", "a\nb", "é", "\x1b[1mx", "\x7f"] {
            assert!(!wrap_printable(&mut String::new(), 40, 2, text));
        }
    }

    /// Rows of every kind the narrow table wraps: endings with numbers
    /// of every length, wide characters, long words that must be cut.
    fn rows() -> Vec<[String; 7]> {
        let phases = [
            "tcp / TCP SYN-ACK",
            "tls / TLS ServerHello",
            "x224",
            "session",
            "nla / CredSSP server pubKeyAuth",
        ];
        let endings = [
            "refused (RST to SYN)".to_string(),
            "timeout (21.3 s, 4 retx)".to_string(),
            "timeout (1 s)".to_string(),
            "NEG_FAILURE HYBRID_REQUIRED_BY_SERVER".to_string(),
            "alert unknown_ca from client".to_string(),
            "ICMP 3/13".to_string(),
            "capture ended".to_string(),
        ];
        let causes = [
            "port_closed (high)",
            "-",
            "benign: scanner",
            "server_cert_unusable_because_of_a_very_long_reason (medium)",
        ];
        let addrs = ["10.0.0.1:5000", "[2001:db8::1]:50000", "ホスト:1", "é:3389"];
        (0..200u64)
            .map(|i| {
                let n = i as usize;
                let mut ended = endings[n % endings.len()].clone();
                if n % 11 == 0 {
                    ended = format!("timeout ({}.{} s, {} retx)", i * 37, i % 10, i * i);
                }
                [
                    (i * 7919).to_string(),
                    addrs[n % addrs.len()].to_string(),
                    addrs[(n / 3) % addrs.len()].to_string(),
                    ["failed", "established", "benign", "incomplete"][n % 4].to_string(),
                    phases[(n / 2) % phases.len()].to_string(),
                    ended,
                    causes[(n / 5) % causes.len()].to_string(),
                ]
            })
            .collect()
    }

    // The paragraphs as they were written before they were written in
    // place: the oracle of `paragraphs_are_written_as_before`.
    fn paragraph_before(out: &mut String, c: &ConnectionReport, brief: bool, p: &Paint) {
        let w = p.width;
        let label = match (c.outcome.as_ref(), &c.benign) {
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
                for l in crate::report::causes::client_message_lines(&cause.client_messages) {
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

    fn repeat_paragraph_before(out: &mut String, c: &ConnectionReport, first: u64, p: &Paint) {
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

    /// Every connection report of the lab captures, cleaned for display.
    fn lab_reports() -> Vec<ConnectionReport> {
        let mut reports = crate::report::lab_reports();
        for c in &mut reports {
            clean_connection(c);
        }
        reports
    }

    /// Each lab connection's paragraph, full and as a repeat, at every
    /// width, coloured or not, and again with endpoints long enough to
    /// wrap the first line (one of them not ASCII), is what the paragraph
    /// written through lines made apart wrote.
    #[test]
    fn paragraphs_are_written_as_before() {
        let mut reports = lab_reports();
        assert!(reports.len() > 100, "{}", reports.len());
        let more: Vec<_> = reports
            .iter()
            .take(40)
            .map(|c| ConnectionReport {
                client: format!("{}{}", c.client, " long-client-name".repeat(5)),
                server: "ホスト.example:3389 ".repeat(3),
                ..c.clone()
            })
            .collect();
        reports.extend(more);
        for c in &reports {
            for width in [0, 20, 40, 61, 80, 100, 120, 250] {
                for on in [false, true] {
                    let p = Paint { on, width };
                    for brief in [false, true] {
                        let (mut got, mut want) = (String::new(), String::new());
                        paragraph(&mut got, c, brief, &p);
                        paragraph_before(&mut want, c, brief, &p);
                        assert_eq!(got, want, "stream {}, width {width}", c.stream);
                    }
                    let (mut got, mut want) = (String::new(), String::new());
                    repeat_paragraph(&mut got, c, 7, &p);
                    repeat_paragraph_before(&mut want, c, 7, &p);
                    assert_eq!(got, want, "stream {}, width {width}", c.stream);
                }
            }
        }
    }

    /// Rows the narrow table draws by hand, among those it does not:
    /// printable ASCII cells of every length around their columns' widths
    /// (empty ones too), after the rows of [`rows`].
    fn rows_by_hand() -> Vec<[String; 7]> {
        let mut all = rows();
        for i in 0..90usize {
            let n = |k: usize| (i * k) % 47;
            all.push([
                (i * 997).to_string().repeat(1 + i % 3),
                format!("10.{}.0.{}:{}", i % 7, i, 40000 + i)
                    .chars()
                    .take(n(3) + 1)
                    .collect(),
                "192.0.2.1:3389".chars().take(n(5)).collect(),
                ["failed", "established", "benign", "incomplete", "", "other"][i % 6].to_string(),
                format!("tcp / {}", "p".repeat(n(7))),
                format!(
                    "timeout ({i}.{} s, {} retx) {}",
                    i % 10,
                    i * 3,
                    "e".repeat(n(11))
                ),
                "c".repeat(n(13)),
            ]);
        }
        all
    }

    /// What the streamed table draws of `rows`: the pen's head, rows and
    /// foot.
    fn pen_table(rows: &[[String; 7]], widths: [u16; 5], style: TermStyle) -> String {
        let mut pen = NarrowPen::new(widths, style);
        let mut got = String::new();
        pen.head(&mut got);
        let mut by_hand = 0;
        for r in rows {
            let cells = r.each_ref().map(String::as_str);
            by_hand += usize::from(pen.fit(&narrow_cells(cells), &NARROW_LINES));
            pen.row(&mut got, cells);
        }
        pen.foot(&mut got);
        BY_HAND.with(|n| n.set(n.get() + by_hand));
        got
    }

    thread_local! {
        /// Rows [`pen_table`] drew by hand.
        static BY_HAND: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The narrow table drawn by the pen (by hand, or by comfy-table for
    /// a row that does not qualify) is comfy-table's table of all the
    /// rows, at every width it is used at, coloured or not, on a terminal
    /// or not.
    #[test]
    fn the_narrow_table_by_hand_is_comfy_tables() {
        let all = rows_by_hand();
        for range in [0..1, 200..201, 200..210, 195..230, 0..all.len()] {
            let rows = &all[range.clone()];
            let mut layout = NarrowLayout::default();
            for r in rows {
                layout.add(r.each_ref().map(String::as_str));
            }
            for width in (STACK_BELOW..=160).chain([200, 250]) {
                for (color, terminal) in [(false, false), (true, false), (false, true)] {
                    let style = TermStyle {
                        width,
                        color,
                        terminal,
                        ..TermStyle::default()
                    };
                    let want = narrow_table(rows, style);
                    let got = pen_table(rows, layout.widths(style), style);
                    assert_eq!(got, want, "rows {range:?}, width {width}, {style:?}");
                }
            }
        }
        // Most rows of the second half were drawn by hand.
        assert!(BY_HAND.with(|n| n.get()) > 10_000);
    }

    /// At any widths, even below what comfy-table draws (3, with its
    /// padding), the pen draws what comfy-table draws with the columns
    /// fixed at them.
    #[test]
    fn the_narrow_table_by_hand_is_comfy_tables_at_any_widths() {
        let all = rows_by_hand();
        let widths = [
            [0, 1, 2, 3, 4],
            [3, 3, 3, 3, 3],
            [8, 20, 10, 30, 20],
            [9, 24, 13, 41, 24],
            [12, 30, 14, 50, 40],
        ];
        for widths in widths {
            for color in [false, true] {
                let style = TermStyle {
                    width: 100,
                    color,
                    ..TermStyle::default()
                };
                let mut want = String::new();
                narrow_part(&mut want, &all, &widths, style, true, true);
                assert_eq!(pen_table(&all, widths, style), want, "{widths:?}");
            }
        }
    }

    /// The narrow table drawn in parts from the layout gathered row by
    /// row is what comfy-table draws from all the rows, at every width
    /// it is used at, coloured or not, in parts of any size.
    #[test]
    fn the_narrow_table_in_parts_is_comfy_tables() {
        let all = rows();
        for n in [1, 2, 13, all.len()] {
            let rows = &all[..n];
            let mut layout = NarrowLayout::default();
            for r in rows {
                layout.add(r.each_ref().map(String::as_str));
            }
            for width in (STACK_BELOW..=160).chain([200, 250]) {
                for color in [false, true] {
                    let style = TermStyle {
                        width,
                        color,
                        ..TermStyle::default()
                    };
                    let want = narrow_table(rows, style);
                    let widths = layout.widths(style);
                    for chunk in [1, 7, 256] {
                        let mut got = String::new();
                        let parts: Vec<_> = rows.chunks(chunk).collect();
                        for (i, part) in parts.iter().enumerate() {
                            narrow_part(
                                &mut got,
                                part,
                                &widths,
                                style,
                                i == 0,
                                i + 1 == parts.len(),
                            );
                        }
                        assert_eq!(got, want, "{n} rows, width {width}, parts of {chunk}");
                    }
                }
            }
        }
    }
}
