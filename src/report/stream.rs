//! Streamed output: a file's connections rendered one at a time, as they
//! are diagnosed, into a [`Spill`] (memory up to a bound, then an
//! anonymous temporary file), with the few counts the records around them
//! need. The command line writes a file's head, its spilled connections
//! and its tail when the file's turn comes, so no format that allows it
//! keeps a file's connections in memory.

use super::markdown as md;
use super::model::{self, ConnectionReport, FileReport, OutcomeCounts, TotalsAcc};
use super::redact::Redactor;
use super::terminal::{self, PlainTable, TableForm, TermStyle};
use super::{records, text, Format};
use crate::common::temp_file;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

/// Bytes a spill keeps in memory before moving to a temporary file.
pub const SPILL_IN_MEMORY: usize = 256 << 10;

/// Bytes written in order, in memory up to [`SPILL_IN_MEMORY`], then in a
/// temporary file. The file is removed from its directory as soon as it
/// is created (Unix), so nothing is left behind however the process ends
/// (an error, Ctrl-C, a crash); elsewhere it is removed when dropped.
#[derive(Debug, Default)]
pub struct Spill {
    mem: Vec<u8>,
    file: Option<(BufWriter<File>, std::path::PathBuf)>,
    len: u64,
    spilled: bool,
}

impl Spill {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the bytes went to a temporary file.
    pub fn spilled(&self) -> bool {
        self.spilled
    }

    /// Bytes held in memory (at most [`SPILL_IN_MEMORY`]; none once they
    /// went to a temporary file).
    pub fn in_memory(&self) -> usize {
        self.mem.len()
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        if let Some((w, _)) = &mut self.file {
            return w.write_all(bytes);
        }
        self.mem.extend_from_slice(bytes);
        if self.mem.len() > SPILL_IN_MEMORY {
            let (mut w, path) = temp_file()?;
            w.write_all(&self.mem)?;
            self.mem = Vec::new();
            self.file = Some((w, path));
            self.spilled = true;
        }
        Ok(())
    }

    /// Copy everything written, in order, to `out`.
    pub fn copy_to(&mut self, out: &mut dyn Write) -> io::Result<()> {
        io::copy(&mut self.reader()?, out).map(|_| ())
    }

    /// Call `f` with every line written (without its `\n`), in order.
    pub fn for_each_line(&mut self, f: &mut dyn FnMut(&str) -> io::Result<()>) -> io::Result<()> {
        let mut r = self.reader()?;
        let mut line = String::new();
        while r.read_line(&mut line)? > 0 {
            f(line.strip_suffix('\n').unwrap_or(&line))?;
            line.clear();
        }
        Ok(())
    }

    /// A reader of every byte written, from the first.
    fn reader(&mut self) -> io::Result<Box<dyn io::BufRead + '_>> {
        match &mut self.file {
            None => Ok(Box::new(&self.mem[..])),
            Some((w, _)) => {
                w.flush()?;
                let f = w.get_mut();
                f.seek(SeekFrom::Start(0))?;
                Ok(Box::new(io::BufReader::with_capacity(1 << 16, f)))
            }
        }
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        if let Some((_, path)) = &self.file {
            if !cfg!(unix) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Whole connection records kept out of memory, for what cannot render a
/// connection as it comes: a format that orders or counts across a file
/// or the run before its first connection (Markdown, HTML), or
/// `--redact`, which names every value of a file before rewriting any.
/// Each record is one line of compact JSON in a [`Spill`], read back in
/// the order written, as often as needed (the JSON is the record's whole
/// contract: `rdptriage report` reads the same back).
#[derive(Debug, Default)]
pub struct RecordSpill {
    lines: Spill,
    count: usize,
}

impl RecordSpill {
    pub fn push(&mut self, c: &ConnectionReport) -> io::Result<()> {
        self.push_tagged(c, 0)
    }

    /// [`RecordSpill::push`] with a number kept beside the record (its
    /// attempt): the line is the number, a tab, then the record.
    pub fn push_tagged(&mut self, c: &ConnectionReport, tag: u64) -> io::Result<()> {
        let mut line = format!("{tag}\t").into_bytes();
        records::json_bytes(&mut line, c);
        line.push(b'\n');
        self.count += 1;
        self.lines.write(&line)
    }

    /// Records pushed.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the records went to a temporary file.
    pub fn spilled(&self) -> bool {
        self.lines.spilled()
    }

    /// Bytes of records held in memory (none once they went to a
    /// temporary file).
    pub fn in_memory(&self) -> usize {
        self.lines.in_memory()
    }

    /// Call `f` with every record, in the order pushed.
    pub fn for_each(
        &mut self,
        f: &mut dyn FnMut(ConnectionReport) -> io::Result<()>,
    ) -> io::Result<()> {
        self.for_each_tagged(&mut |c, _| f(c))
    }

    /// Call `f` with every record and its number, in the order pushed.
    pub fn for_each_tagged(
        &mut self,
        f: &mut dyn FnMut(ConnectionReport, u64) -> io::Result<()>,
    ) -> io::Result<()> {
        self.lines.for_each_line(&mut |line| {
            let (c, tag) = record_of_line(line)?;
            f(c, tag)
        })
    }

    /// Move the records of `other` after these (their bytes copied, not
    /// read back; taken whole when there are none here), leaving `other`
    /// empty.
    pub fn append(&mut self, other: &mut RecordSpill) -> io::Result<()> {
        if self.is_empty() {
            *self = std::mem::take(other);
            return Ok(());
        }
        struct To<'a>(&'a mut Spill);
        impl Write for To<'_> {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.write(b).map(|()| b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        other.lines.copy_to(&mut To(&mut self.lines))?;
        self.count += std::mem::take(other).count;
        Ok(())
    }

    /// The records, in the order pushed, one at a time as asked for (to
    /// read several spills side by side).
    pub fn records(&mut self) -> io::Result<Records<'_>> {
        Ok(Records {
            lines: self.lines.reader()?,
            line: String::new(),
        })
    }
}

/// A record and its number from its line in a [`RecordSpill`] (see
/// [`RecordSpill::push_tagged`]), its labels restored.
fn record_of_line(line: &str) -> io::Result<(ConnectionReport, u64)> {
    let (tag, json) = line.split_once('\t').unwrap_or(("0", line));
    let tag = tag.parse().map_err(io::Error::other)?;
    let mut c: ConnectionReport = serde_json::from_str(json).map_err(io::Error::other)?;
    c.labels = model::StepLabels::of(&c);
    Ok((c, tag))
}

/// The records of a [`RecordSpill`] read back one at a time.
pub struct Records<'a> {
    lines: Box<dyn io::BufRead + 'a>,
    line: String,
}

impl Iterator for Records<'_> {
    type Item = io::Result<ConnectionReport>;

    fn next(&mut self) -> Option<Self::Item> {
        self.line.clear();
        match self.lines.read_line(&mut self.line) {
            Ok(0) => None,
            Ok(_) => {
                let line = self.line.strip_suffix('\n').unwrap_or(&self.line);
                Some(record_of_line(line).map(|(c, _)| c))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Bytes of JSON Lines rendered before they are handed on, to the output
/// or to the spill: writes this large cost few system calls, and a worker
/// holds no more than this of a file whose turn has come. Each part
/// handed on wakes the thread that writes: 3.6 GB of records (refused-1m
/// .pcap) are 6,900 parts of 512 KiB. Parts of 64 KiB took the writing
/// thread 0.36 s of CPU (waking, locking the channel) on two CPUs that
/// the analysis keeps busy; parts of 256 KiB still took the rendering
/// thread 65 to 80 ms of waking and the writing thread 155 to 170 ms,
/// against about 30 and 110 ms with 512 KiB. Parts of 1 MiB saved little
/// more (20 to 40 and 100 ms) and raised confirm-1m.pcap's peak memory
/// by 11 to 33 MiB (BENCHMARKS.md).
pub const CHUNK: usize = 512 << 10;

/// Buffers of parts written, kept for the next parts to fill: a buffer
/// of [`CHUNK`] bytes is a large block to the allocator, handed back to
/// the system when freed, so that each new one was paid again in page
/// faults. At most [`SPARE_LINES`] wait (a few MiB), whatever the number
/// of files.
static SPARE: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// The most buffers [`SPARE`] keeps: as many as parts may be on their
/// way to the output at once (`cli::ordered::IN_FLIGHT`) would do; a few
/// suffice, as one thread writes them in turn.
const SPARE_LINES: usize = 4;

/// An empty buffer for the next part's lines: a spare one if any.
fn lines_buffer() -> Vec<u8> {
    let spare = SPARE.lock().ok().and_then(|mut s| s.pop());
    spare.unwrap_or_else(|| Vec::with_capacity(CHUNK + CHUNK / 4))
}

/// Keep `b` (written) for a next part, unless enough are kept.
fn keep_spare(mut b: Vec<u8>) {
    if let Ok(mut s) = SPARE.lock() {
        if s.len() < SPARE_LINES {
            b.clear();
            s.push(b);
        }
    }
}

/// A piece of a file's JSON Lines handed straight to the output while the
/// file is analysed ([`Outlet`]).
#[derive(Debug)]
pub enum Part {
    /// What the file spilled before its turn came.
    Spilled(Spill),
    /// Whole records rendered since.
    Lines(Vec<u8>),
}

impl Part {
    pub fn write_to(self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Part::Spilled(mut s) => s.copy_to(out),
            Part::Lines(b) => {
                let written = out.write_all(&b);
                keep_spare(b);
                written
            }
        }
    }
}

/// Where a file's JSON Lines go straight once the file's turn has come
/// (every file before it written): then nothing is spilled.
pub trait Outlet {
    /// Whether the file's turn has come (once true, it stays true).
    fn live(&self) -> bool;
    /// Hand `part` on, after those handed before; false when the output
    /// wants no more.
    fn send(&self, part: Part) -> bool;
}

/// How the files of a run keep their connections while they come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streamed {
    pub format: Format,
    /// How the table is drawn (the table format only).
    pub style: TermStyle,
    /// `--redact`: each record is kept whole (in a [`RecordSpill`]) until
    /// the file's turn comes, then redacted and rendered
    /// ([`FileRecords::redact`]).
    pub redact: bool,
}

/// The connections of one file in a streamed format (JSON Lines, CSV, the
/// JSON document's `connections` array, the table, the summary line or
/// Markdown), and what the records around them need: their number,
/// outcomes and totals.
#[derive(Debug)]
pub struct FileRecords {
    format: Format,
    path: String,
    pub connections: usize,
    pub outcomes: OutcomeCounts,
    pub totals: TotalsAcc,
    body: Spill,
    /// JSON Lines rendered and not handed on yet (at most [`CHUNK`] and
    /// one record).
    lines: Vec<u8>,
    /// Connections whose records were handed straight to the output.
    sent: usize,
    /// The output wants no more of this file's records.
    gone: bool,
    text: String,
    table: Option<TableParts>,
    markdown: Option<MarkdownParts>,
    summary: records::SummaryAcc,
    /// Under `--redact`: the records, each with its attempt, not rendered
    /// yet, and how to render them.
    kept: Option<(RecordSpill, Streamed)>,
}

/// The formats [`FileRecords`] renders.
pub fn streams_records(format: Format) -> bool {
    matches!(
        format,
        Format::Jsonl
            | Format::Csv
            | Format::Json
            | Format::Table
            | Format::Summary
            | Format::Markdown
    )
}

/// What the table format keeps of a file while its connections come: the
/// rows (cells apart by a unit separator, which display cleaning never
/// leaves in a cell) and the widest cell of each column, the paragraphs,
/// and for each attempt and kind of failure the first stream that failed
/// so (a later one is told as a repeat).
#[derive(Debug)]
struct TableParts {
    style: TermStyle,
    rows: Spill,
    widths: [usize; 7],
    shown: usize,
    /// What the narrow table's arrangement reads of the rows.
    narrow: terminal::NarrowLayout,
    /// See [`TableHeld::rows_peak`].
    rows_peak: usize,
    paragraphs: Spill,
    /// The "TLS decryption:" lines, of every connection (shown or not).
    decryption: Spill,
    first_failed: FirstFailed,
}

/// For each attempt and kind of failure (failed step, ending, cause), the
/// first stream that failed so: a later one is told as its repeat.
///
/// This is [`text::Repeats::of`] for connections seen one at a time:
/// that walks each attempt's streams in order and takes the first failed
/// stream of each kind; here the connections come in stream order, which
/// is the order of an attempt's streams (grouping lists them as they
/// come), and one key per attempt and kind keeps attempts apart. A
/// connection outside every attempt has an attempt number of its own, so
/// it repeats nothing, as there.
#[derive(Debug, Default)]
struct FirstFailed {
    /// Each kind of failure met (failed step, ending, cause): a few
    /// dozen, however many connections.
    kinds: HashMap<FailureKind, u32>,
    /// Per attempt and kind, the first stream: one entry per attempt
    /// with a failure, a few dozen bytes, like the file's attempts.
    first: HashMap<(u64, u32), u64>,
    /// The last failure's kind and its number: most failures repeat it.
    last: Option<(FailureKind, u32)>,
}

/// A kind of failure: failed step, ending, cause.
type FailureKind = (Option<String>, String, Option<String>);

impl FirstFailed {
    /// The earlier stream `c`, of attempt `attempt`, repeats, if any.
    fn repeats(&mut self, c: &ConnectionReport, attempt: u64) -> Option<u64> {
        if c.outcome != "failed" {
            return None;
        }
        let step = c.failed_step.as_deref();
        let ending: &str = &c.ended_by.id;
        let cause = c.cause.as_ref().map(|k| &*k.id);
        let kind = match &self.last {
            Some(((s, e, k), kind))
                if s.as_deref() == step && e == ending && k.as_deref() == cause =>
            {
                *kind
            }
            _ => {
                let key = (
                    step.map(str::to_string),
                    ending.to_string(),
                    cause.map(str::to_string),
                );
                let next = self.kinds.len() as u32;
                let kind = *self.kinds.entry(key.clone()).or_insert(next);
                self.last = Some((key, kind));
                kind
            }
        };
        match self.first.entry((attempt, kind)) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(c.stream);
                None
            }
        }
    }
}

/// What Markdown keeps of a file while its connections come: each part
/// of the file's section that has a piece per connection, rendered, in
/// its own spill (written in the section's order when the file's turn
/// comes), and what tells repeats.
#[derive(Debug, Default)]
struct MarkdownParts {
    failed: usize,
    /// The verdict's lines (one per failed connection).
    verdicts: Spill,
    /// The connections table's rows.
    rows: Spill,
    /// The TLS decryption lines.
    decryption: Spill,
    /// Each connection's own section.
    sections: Spill,
    first_failed: FirstFailed,
}

const CELL_SEPARATOR: char = '\u{1f}';

/// The JSON document's indentation of a connection inside a file.
const JSON_CONNECTION_INDENT: &str = "        ";

impl FileRecords {
    pub fn new(format: Format, path: &str) -> Self {
        FileRecords {
            format,
            path: path.to_string(),
            connections: 0,
            outcomes: OutcomeCounts::default(),
            totals: TotalsAcc::default(),
            body: Spill::default(),
            lines: Vec::new(),
            sent: 0,
            gone: false,
            text: String::new(),
            table: None,
            markdown: None,
            summary: records::SummaryAcc::default(),
            kept: None,
        }
    }

    /// The records of a file of a run whose files are kept as `how`.
    pub fn of(path: &str, how: Streamed) -> Self {
        let mut r = match how.format {
            Format::Table => FileRecords::table(path, how.style),
            Format::Markdown => FileRecords {
                markdown: Some(MarkdownParts::default()),
                ..FileRecords::new(Format::Markdown, path)
            },
            f => FileRecords::new(f, path),
        };
        if how.redact {
            r.kept = Some((RecordSpill::default(), how));
        }
        r
    }

    /// For the table format, drawn in `style` (neither coloured nor
    /// fitted to a terminal).
    pub fn table(path: &str, style: TermStyle) -> Self {
        FileRecords {
            table: Some(TableParts {
                style,
                rows: Spill::default(),
                widths: terminal::COLUMNS.map(terminal::cell_width),
                shown: 0,
                narrow: terminal::NarrowLayout::default(),
                rows_peak: 0,
                paragraphs: Spill::default(),
                decryption: Spill::default(),
                first_failed: FirstFailed::default(),
            }),
            ..FileRecords::new(Format::Table, path)
        }
    }

    /// Render one more connection, of attempt `attempt`.
    pub fn add(&mut self, mut c: ConnectionReport, attempt: u64) -> io::Result<()> {
        self.add_to(&mut c, attempt, None)
    }

    /// [`FileRecords::add`]; JSON Lines go to `outlet` once the file's
    /// turn has come (and to the spill before), [`CHUNK`] at a time. The
    /// report is borrowed (the table cleans its texts in place): a
    /// report is a kilobyte, not moved again for each connection.
    pub fn add_to(
        &mut self,
        c: &mut ConnectionReport,
        attempt: u64,
        outlet: Option<&dyn Outlet>,
    ) -> io::Result<()> {
        self.text.clear();
        self.connections += 1;
        self.outcomes.add(&c.outcome);
        self.totals.connection(c);
        if let Some((kept, _)) = &mut self.kept {
            return kept.push_tagged(c, attempt);
        }
        if let Some(t) = &mut self.table {
            text::clean_connection(c);
            return t.add(c, attempt, &mut self.text);
        }
        if let Some(m) = &mut self.markdown {
            text::clean_connection(c);
            return m.add(c, attempt, &mut self.text);
        }
        match self.format {
            Format::Jsonl => {
                records::jsonl_connection_bytes(&mut self.lines, &self.path, c);
                if self.lines.len() >= CHUNK {
                    self.pass_on(outlet)?;
                }
                return Ok(());
            }
            Format::Csv => {
                // The row's last cell, the file's SHA-256, is added when
                // the file is written (the file is still being read).
                records::csv_row_head(&mut self.text, &self.path, c);
                self.text.push('\n');
            }
            Format::Summary => self.summary.add(c),
            _ => {
                if self.connections > 1 {
                    self.text.push_str(",\n");
                }
                let json = serde_json::to_string_pretty(c).map_err(io::Error::other)?;
                indent(&mut self.text, &json, JSON_CONNECTION_INDENT);
            }
        }
        self.body.write(self.text.as_bytes())
    }

    /// Hand the JSON Lines rendered so far on: to `outlet` when the
    /// file's turn has come (what was spilled before first), else to the
    /// spill. Called at the end of the file with what is left.
    pub fn pass_on(&mut self, outlet: Option<&dyn Outlet>) -> io::Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let Some(o) = outlet.filter(|o| o.live()) else {
            self.body.write(&self.lines)?;
            self.lines.clear();
            return Ok(());
        };
        if !self.body.is_empty() && !self.gone {
            self.gone = !o.send(Part::Spilled(std::mem::take(&mut self.body)));
        }
        if self.gone {
            // Nobody reads any more (a closed pipe, a write error).
            self.lines.clear();
        } else {
            let next = lines_buffer();
            self.gone = !o.send(Part::Lines(std::mem::replace(&mut self.lines, next)));
        }
        self.body = Spill::default();
        self.sent = self.connections;
        Ok(())
    }

    /// Connections whose records were handed straight to the output.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// What the table format held of this file's rows (none in the
    /// other formats).
    pub fn table_held(&self) -> TableHeld {
        self.table
            .as_ref()
            .map_or_else(TableHeld::default, |t| TableHeld {
                layout_lines: t.narrow.lines_kept(),
                rows_peak: t.rows_peak,
            })
    }

    /// Whether the connections went to a temporary file.
    pub fn spilled(&self) -> bool {
        match (&self.kept, &self.table, &self.markdown) {
            (Some((k, _)), _, _) => k.spilled(),
            (_, Some(t), _) => t.paragraphs.spilled(),
            (_, _, Some(m)) => m.sections.spilled(),
            _ => self.body.spilled(),
        }
    }

    /// Bytes of rendered or kept connections held in memory (each spill
    /// holds at most [`SPILL_IN_MEMORY`]).
    pub fn in_memory(&self) -> usize {
        let mut spills = vec![&self.body];
        if let Some((k, _)) = &self.kept {
            spills.push(&k.lines);
        }
        if let Some(t) = &self.table {
            spills.extend([&t.rows, &t.paragraphs, &t.decryption]);
        }
        if let Some(m) = &self.markdown {
            spills.extend([&m.verdicts, &m.rows, &m.decryption, &m.sections]);
        }
        spills.iter().map(|s| s.in_memory()).sum::<usize>() + self.lines.len()
    }

    /// For `--redact`: redact the kept records with the run's `redactor`
    /// and render them, and redact `f`, the file's report without its
    /// connections. The pseudonyms are those [`Redactor::file`] gives the
    /// whole file (all its values named, then all rewritten); the totals
    /// stay those of the records as they were (the run's totals are
    /// redacted once they are whole, as the whole document's are).
    pub fn redact(&mut self, redactor: &mut Redactor, f: &mut FileReport) -> io::Result<()> {
        let Some((mut kept, how)) = self.kept.take() else {
            return Ok(());
        };
        redactor.register_head(f);
        kept.for_each(&mut |mut c| {
            redactor.register_connection(&mut c);
            Ok(())
        })?;
        redactor.register_tail(f);
        redactor.rewrite_head(f);
        redactor.rewrite_tail(f);
        f.redacted = true;
        // The path is in every JSON Lines and CSV record: its redacted form.
        let mut out = FileRecords::of(
            &f.path,
            Streamed {
                redact: false,
                ..how
            },
        );
        kept.for_each_tagged(&mut |mut c, attempt| {
            redactor.rewrite_connection(&mut c);
            out.add(c, attempt)
        })?;
        out.totals = std::mem::take(&mut self.totals);
        *self = out;
        Ok(())
    }

    /// Whether the table format leaves the file out (`--quiet`: nothing
    /// failed and nothing went wrong, or skipped as not a capture).
    pub fn table_skips(&self, f: &FileReport) -> bool {
        self.table
            .as_ref()
            .is_some_and(|t| t.style.quiet && (f.ignored.is_some() || (t.shown == 0 && f.complete)))
    }

    /// Write the file's records: `f` is its report without connections.
    pub fn write_to(&mut self, f: &FileReport, out: &mut dyn Write) -> io::Result<()> {
        if let Some(t) = &mut self.table {
            return t.write_to(f, &self.outcomes, out);
        }
        if let Some(m) = &mut self.markdown {
            let counts = super::filter::counts_line(
                text::outcome_counts_of(&self.outcomes),
                self.connections as u64,
                f.filtered_out,
            );
            return m.write_to(f, &counts, self.connections, out);
        }
        match self.format {
            Format::Jsonl => {
                out.write_all(records::jsonl_head(f, self.connections).as_bytes())?;
                self.body.copy_to(out)?;
                out.write_all(&self.lines)?;
                let tail = records::jsonl_tail_bytes(f, self.connections, self.outcomes.clone());
                out.write_all(&tail)
            }
            Format::Csv => {
                let mut end = String::new();
                records::csv_row_end(&mut end, f.sha256.as_deref());
                self.body.for_each_line(&mut |row| {
                    out.write_all(row.as_bytes())?;
                    out.write_all(end.as_bytes())
                })?;
                out.write_all(records::csv_tail(f).as_bytes())
            }
            Format::Summary => out.write_all(records::summary_line(f, &self.summary).as_bytes()),
            _ => {
                let json = serde_json::to_string_pretty(f).map_err(io::Error::other)?;
                let mut text = String::new();
                indent(&mut text, &json, "    ");
                let empty = "\n      \"connections\": [],\n";
                let at = text.find(empty).filter(|_| self.connections > 0);
                match at {
                    None => out.write_all(text.as_bytes()),
                    Some(i) => {
                        let (head, rest) = text.split_at(i);
                        let rest = rest.get(empty.len()..).unwrap_or("");
                        out.write_all(head.as_bytes())?;
                        out.write_all(b"\n      \"connections\": [\n")?;
                        self.body.copy_to(out)?;
                        out.write_all(b"\n      ],\n")?;
                        out.write_all(rest.as_bytes())
                    }
                }
            }
        }
    }
}

impl TableParts {
    fn add(&mut self, c: &ConnectionReport, attempt: u64, buf: &mut String) -> io::Result<()> {
        if let Some(line) = text::connection_decryption(c) {
            buf.clear();
            terminal::decryption_line(buf, c.stream, &line);
            self.decryption.write(buf.as_bytes())?;
        }
        if self.style.quiet && c.outcome != "failed" {
            return Ok(());
        }
        self.shown += 1;
        buf.clear();
        terminal::push_row_cells(buf, c, CELL_SEPARATOR);
        let cells = cells_of(buf);
        for (w, cell) in self.widths.iter_mut().zip(cells) {
            *w = (*w).max(terminal::cell_width(cell));
        }
        self.narrow.add(cells);
        buf.push('\n');
        self.rows.write(buf.as_bytes())?;
        let repeats = self.first_failed.repeats(c, attempt);
        buf.clear();
        terminal::connection_paragraph(buf, c, repeats, self.style);
        self.paragraphs.write(buf.as_bytes())
    }

    fn write_to(
        &mut self,
        f: &FileReport,
        counts: &OutcomeCounts,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut f = f.clone();
        text::clean_file(&mut f);
        let mut head = String::new();
        let more = terminal::file_head(
            &mut head,
            &f,
            &super::filter::counts_line(
                text::outcome_counts_of(counts),
                counts.established
                    + counts.failed
                    + counts.incomplete
                    + counts.benign
                    + counts.not_rdp,
                f.filtered_out,
            ),
            self.shown,
            self.style,
        );
        out.write_all(head.as_bytes())?;
        if !more {
            return Ok(());
        }
        let mut buf = String::from("\n");
        match TableForm::of(&self.widths, self.style) {
            TableForm::Wide => {
                let table = PlainTable {
                    widths: self.widths,
                    color: self.style.color,
                };
                table.head(&mut buf);
                buf.push('\n');
                out.write_all(buf.as_bytes())?;
                self.rows.for_each_line(&mut |line| {
                    let cells: Vec<&str> = line.split(CELL_SEPARATOR).collect();
                    buf.clear();
                    table.row(&mut buf, &cells);
                    buf.push('\n');
                    out.write_all(buf.as_bytes())
                })?;
                buf.clear();
                table.foot(&mut buf);
                buf.push('\n');
            }
            TableForm::Stacked => {
                out.write_all(buf.as_bytes())?;
                let style = self.style;
                self.rows.for_each_line(&mut |line| {
                    buf.clear();
                    terminal::stacked_row(&mut buf, &row_of(line), style);
                    out.write_all(buf.as_bytes())
                })?;
                buf.clear();
            }
            TableForm::Narrow => {
                // Arranged from what the rows showed, then drawn from the
                // spill (by hand where comfy-table's lines are certain).
                let widths = self.narrow.widths(self.style);
                let mut pen = terminal::NarrowPen::new(widths, self.style);
                pen.head(&mut buf);
                self.rows.for_each_line(&mut |line| {
                    pen.row(&mut buf, cells_of(line));
                    if buf.len() >= NARROW_WRITE {
                        out.write_all(buf.as_bytes())?;
                        buf.clear();
                    }
                    Ok(())
                })?;
                pen.foot(&mut buf);
                self.rows_peak = self.rows_peak.max(pen.waiting_peak());
                buf.push('\n');
            }
        }
        terminal::attempts_section(&mut buf, &f, self.style);
        if !self.decryption.is_empty() && !self.style.quiet {
            terminal::decryption_heading(&mut buf, self.style);
            out.write_all(buf.as_bytes())?;
            buf.clear();
            self.decryption.copy_to(out)?;
        }
        out.write_all(buf.as_bytes())?;
        self.paragraphs.copy_to(out)
    }
}

impl MarkdownParts {
    fn add(&mut self, c: &ConnectionReport, attempt: u64, buf: &mut String) -> io::Result<()> {
        if c.outcome == "failed" {
            self.failed += 1;
            buf.clear();
            md::verdict_line(buf, c);
            self.verdicts.write(buf.as_bytes())?;
        }
        buf.clear();
        md::connection_row(buf, c);
        self.rows.write(buf.as_bytes())?;
        if let Some(line) = text::connection_decryption(c) {
            buf.clear();
            md::decryption_line(buf, c.stream, &line);
            self.decryption.write(buf.as_bytes())?;
        }
        buf.clear();
        md::connection_part(buf, c, self.first_failed.repeats(c, attempt));
        self.sections.write(buf.as_bytes())
    }

    /// Write the file's section: `f` is its report without connections,
    /// `counts` the line of its outcome counts.
    fn write_to(
        &mut self,
        f: &FileReport,
        counts: &str,
        connections: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut f = f.clone();
        text::clean_file(&mut f);
        let mut buf = String::new();
        if !md::file_head(&mut buf, &f, counts) {
            return out.write_all(buf.as_bytes());
        }
        md::verdict_heading(&mut buf, self.failed == 0);
        out.write_all(buf.as_bytes())?;
        self.verdicts.copy_to(out)?;
        if connections > 0 {
            buf.clear();
            md::connections_heading(&mut buf);
            out.write_all(buf.as_bytes())?;
            self.rows.copy_to(out)?;
        }
        buf.clear();
        md::attempts_list(&mut buf, &f);
        if !self.decryption.is_empty() {
            md::decryption_heading(&mut buf);
        }
        out.write_all(buf.as_bytes())?;
        self.decryption.copy_to(out)?;
        self.sections.copy_to(out)
    }
}

/// What comes before a file's records: Markdown's blank line before
/// every file's section; between files, the JSON document's comma and
/// the table's blank line.
pub fn file_separator(format: Format, first: bool) -> &'static str {
    match format {
        Format::Markdown => "\n",
        Format::Json if !first => ",\n",
        Format::Table if !first => "\n",
        _ => "",
    }
}

/// The Markdown report's first line.
pub fn markdown_title() -> String {
    md::title(&model::document(Vec::new()))
}

/// The Markdown report's closing section (after several files), given
/// the totals.
pub fn markdown_totals(totals: model::Totals) -> String {
    let mut doc = model::document(Vec::new());
    doc.totals = totals;
    text::clean_for_display(&mut doc);
    let mut out = String::new();
    md::totals_section(&mut out, &doc.totals);
    out
}

/// What the table format holds of a file's rows, besides the spill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableHeld {
    /// Lines of cells kept to arrange the narrow table.
    pub layout_lines: usize,
    /// The most rows read back from the spill and held at once to be
    /// drawn (the narrow table's parts).
    pub rows_peak: usize,
}

/// Bytes of the narrow table gathered before they are written.
const NARROW_WRITE: usize = 64 * 1024;

/// A row's cells from its line in the rows' spill.
fn row_of(line: &str) -> [String; 7] {
    cells_of(line).map(str::to_string)
}

/// [`row_of`], borrowed from the line.
fn cells_of(line: &str) -> [&str; 7] {
    // The separator is one byte, a character of its own: the line is cut
    // at its bytes (a short search each, cheaper than a pattern's).
    let mut rest = line;
    std::array::from_fn(|_| {
        let end = rest.bytes().position(|b| b == CELL_SEPARATOR as u8);
        let cell = rest.get(..end.unwrap_or(rest.len())).unwrap_or("");
        rest = end.and_then(|e| rest.get(e + 1..)).unwrap_or("");
        cell
    })
}

/// The table report's closing lines (after several files), given the
/// totals; `after_a_file`: a file block was written before.
pub fn table_totals(totals: model::Totals, after_a_file: bool, style: TermStyle) -> String {
    let mut doc = model::document(Vec::new());
    doc.totals = totals;
    text::clean_for_display(&mut doc);
    let mut out = String::new();
    if after_a_file {
        out.push('\n');
    }
    out.push_str(&terminal::bold("Totals", style));
    out.push('\n');
    for l in text::totals_lines(&doc.totals) {
        terminal::wrapped(&mut out, style.width, 2, &l);
    }
    out
}

/// Append `text` with every line prefixed by `prefix`.
fn indent(out: &mut String, text: &str, prefix: &str) {
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(prefix);
        out.push_str(l);
    }
}

/// The JSON document around its files: what comes before the first file
/// and, given the totals, what comes after the last.
pub fn json_document_parts(totals: model::Totals) -> (String, String) {
    let doc = model::document(Vec::new());
    let doc = model::Document { totals, ..doc };
    let text = super::to_json(&doc);
    let mark = "\n  \"files\": [],\n";
    match text.find(mark) {
        Some(i) => (
            format!("{}\n  \"files\": [\n", text.get(..i).unwrap_or("")),
            format!("\n  ],\n{}", text.get(i + mark.len()..).unwrap_or("")),
        ),
        None => (String::new(), text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(stream: u64, client: &str, outcome: &str, phase: &str) -> ConnectionReport {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/captures/06-port-closed.pcap"
        ))
        .unwrap();
        let r = crate::analyze::analyze_reader("x", &bytes[..], &Default::default());
        let mut c = model::connection_report(&r.connections[0]);
        c.stream = stream;
        c.client = client.to_string();
        c.outcome = outcome.to_string().into();
        c.phase = phase.to_string().into();
        c
    }

    /// The table drawn row by row from kept widths is what comfy-table
    /// draws for the same rows, wide characters included.
    #[test]
    fn plain_table_draws_what_comfy_table_draws() {
        let conns = [
            conn(0, "10.0.0.1:5000", "failed", "tls"),
            conn(7, "[2001:db8::1]:50000", "established", "session"),
            conn(123456, "ホスト:1", "benign", "x224"),
            conn(3, "é", "incomplete", "tcp"),
        ];
        let refs: Vec<&ConnectionReport> = conns.iter().collect();
        let want = terminal::table(&refs, TermStyle::default());
        let mut widths = terminal::COLUMNS.map(terminal::cell_width);
        let rows: Vec<[String; 7]> = conns.iter().map(terminal::row_cells).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(terminal::cell_width(c));
            }
        }
        let t = PlainTable {
            widths,
            color: false,
        };
        let mut got = String::new();
        t.head(&mut got);
        for r in &rows {
            got.push('\n');
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            t.row(&mut got, &cells);
        }
        got.push('\n');
        t.foot(&mut got);
        assert_eq!(got, want);
    }

    /// The table written from the spilled rows is the table drawn from
    /// the whole document, at every width: the seven columns, the narrow
    /// table and the stacked lines, with the attempts across protocols.
    #[test]
    fn the_streamed_table_is_the_documents_table_at_every_width() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/captures/neighbours/n01-kerberos-password-wrong.pcap"
        ))
        .unwrap();
        let r = crate::analyze::analyze_reader("n01.pcap", &bytes[..], &Default::default());
        let full = model::file_report(&model::Input::new(&r));
        assert!(full.connections.len() > 1 && !full.neighbour_attempts.is_empty());
        let styles = [(false, false), (true, false), (true, true)];
        for width in [0, 40, 59, 60, 80, 100, 250] {
            for (quiet, (terminal, color)) in [false, true]
                .into_iter()
                .flat_map(|q| styles.map(|s| (q, s)))
            {
                let style = TermStyle {
                    width,
                    quiet,
                    terminal,
                    color,
                };
                let mut doc = model::document(vec![full.clone()]);
                text::clean_for_display(&mut doc);
                let want = terminal::render(&doc, style);
                let mut recs = FileRecords::table("n01.pcap", style);
                for (i, c) in full.connections.iter().enumerate() {
                    recs.add(c.clone(), i as u64).unwrap();
                }
                let mut head = full.clone();
                head.connections.clear();
                let mut got = Vec::new();
                recs.write_to(&head, &mut got).unwrap();
                assert_eq!(String::from_utf8(got).unwrap(), want, "width {width}");
            }
        }
    }

    /// An outlet that is closed for its first `closed_for` checks (the
    /// file's turn has not come), then open, and keeps what it is handed.
    struct Turn {
        closed_for: std::cell::Cell<usize>,
        parts: std::cell::RefCell<Vec<Part>>,
    }

    impl Outlet for Turn {
        fn live(&self) -> bool {
            let n = self.closed_for.get();
            self.closed_for.set(n.saturating_sub(1));
            n == 0
        }
        fn send(&self, part: Part) -> bool {
            self.parts.borrow_mut().push(part);
            true
        }
    }

    /// JSON Lines handed on straight once the file's turn has come: what
    /// was spilled before first, then the records a chunk at a time, and
    /// together what the file's records are without an outlet.
    #[test]
    fn json_lines_go_straight_once_the_turn_has_come_after_what_was_spilled() {
        let base = conn(0, "10.0.0.1:5000", "failed", "tcp");
        // Past the spill's bound, and chunks enough for the turn to come
        // after five of them.
        let bytes_of_records = (3 * SPILL_IN_MEMORY).max(8 * CHUNK);
        let n = bytes_of_records / serde_json::to_string(&base).unwrap().len();
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/captures/06-port-closed.pcap"
        ))
        .unwrap();
        let r = crate::analyze::analyze_reader("x", &bytes[..], &Default::default());
        let mut head = model::file_report(&model::Input::new(&r));
        head.connections.clear();
        for closed_for in [0, 5, 1000] {
            let turn = Turn {
                closed_for: closed_for.into(),
                parts: Vec::new().into(),
            };
            let mut straight = FileRecords::new(Format::Jsonl, "x");
            let mut alone = FileRecords::new(Format::Jsonl, "x");
            let mut held = 0;
            for i in 0..n {
                let mut c = base.clone();
                c.stream = i as u64;
                straight.add_to(&mut c.clone(), 0, Some(&turn)).unwrap();
                alone.add(c, 0).unwrap();
                held = held.max(straight.in_memory());
            }
            straight.pass_on(Some(&turn)).unwrap();
            let mut got = Vec::new();
            let parts = turn.parts.take();
            let spilled = parts
                .iter()
                .filter(|p| matches!(p, Part::Spilled(_)))
                .count();
            for p in parts {
                p.write_to(&mut got).unwrap();
            }
            straight.write_to(&head, &mut got).unwrap();
            let mut want = Vec::new();
            alone.write_to(&head, &mut want).unwrap();
            assert!(got == want, "closed for {closed_for}");
            assert!(alone.spilled(), "the records are past the spill's bound");
            if closed_for == 0 {
                // Its turn from the start: nothing spilled, a chunk held.
                assert_eq!(spilled, 0);
                assert!(held < CHUNK + SPILL_IN_MEMORY / 16, "{held}");
                assert_eq!(straight.sent(), n);
            } else if closed_for == 5 {
                assert_eq!(spilled, 1, "what was spilled comes first, once");
                assert_eq!(straight.sent(), n);
            } else {
                // The turn never came while the file ran: all in the file's
                // own spill, written with its tail.
                assert_eq!(straight.sent(), 0);
                assert!(straight.spilled());
            }
        }
    }

    /// A row's cells cut at the separator's bytes are those `split`
    /// gives, with fewer or more separators than cells and around
    /// characters of several bytes.
    #[test]
    fn a_rows_cells_are_its_line_split() {
        let sep = CELL_SEPARATOR;
        for line in [
            String::new(),
            "a".to_string(),
            format!("{sep}"),
            format!("1{sep}é{sep}{sep}漢字{sep}x"),
            format!("1{sep}2{sep}3{sep}4{sep}5{sep}6{sep}7"),
            format!("1{sep}2{sep}3{sep}4{sep}5{sep}6{sep}7{sep}8{sep}9"),
            format!("{sep}{sep}{sep}{sep}{sep}{sep}{sep}{sep}"),
        ] {
            let mut split = line.split(sep);
            let want: [&str; 7] = std::array::from_fn(|_| split.next().unwrap_or(""));
            assert_eq!(cells_of(&line), want, "{line:?}");
        }
    }

    /// A record read back is the record pushed, labels included, past
    /// the memory bound too.
    #[test]
    fn a_record_spill_gives_back_each_record_whole() {
        let base = conn(0, "10.0.0.1:5000", "failed", "tcp");
        let mut spill = RecordSpill::default();
        let n = SPILL_IN_MEMORY / serde_json::to_string(&base).unwrap().len() + 5;
        for i in 0..n {
            let mut c = base.clone();
            c.stream = i as u64;
            spill.push(&c).unwrap();
        }
        assert!(spill.spilled());
        assert_eq!(spill.len(), n);
        for _ in 0..2 {
            let mut i = 0u64;
            spill
                .for_each(&mut |c| {
                    let mut want = base.clone();
                    want.stream = i;
                    assert_eq!(c, want);
                    i += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(i as usize, n);
        }
    }

    #[test]
    fn a_spill_past_its_memory_bound_gives_back_every_byte_in_order() {
        let mut s = Spill::default();
        let line = "x".repeat(999) + "\n";
        let n = SPILL_IN_MEMORY / line.len() + 10;
        for _ in 0..n {
            s.write(line.as_bytes()).unwrap();
        }
        assert!(s.spilled());
        let mut out = Vec::new();
        s.copy_to(&mut out).unwrap();
        assert_eq!(out, line.repeat(n).into_bytes());
        let mut lines = 0;
        s.for_each_line(&mut |l| {
            assert_eq!(l.len(), 999);
            lines += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, n);
        // Nothing of it is left in the temporary directory (Unix: the
        // file is unlinked as soon as it is created).
        if cfg!(unix) {
            let prefix = format!(".rdptriage-{}-", std::process::id());
            let left = std::fs::read_dir(std::env::temp_dir())
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count();
            assert_eq!(left, 0);
        }
    }
}
