//! Record formats for pipelines, printed file by file: JSON Lines (one
//! object per connection, per file that could not be read, per file
//! skipped, per file read; docs/json-schema.md, "JSON Lines") and CSV (one row per
//! connection, fixed columns; docs/csv-columns.md).
//!
//! Both render one [`FileReport`] at a time, so the command line can print
//! each file as soon as it and the files before it are done and need not
//! keep a whole archive's results.

mod compact;

use super::model::*;
use super::text::escape_unsafe;
use serde::Serialize;

/// `record` of a connection.
pub const RECORD_CONNECTION: &str = "connection";
/// `record` of a file that could not be read, or not to its end.
pub const RECORD_ERROR: &str = "error";
/// `record` of a file skipped as not a capture.
pub const RECORD_IGNORED: &str = "ignored";
/// `record` closing each file that was read (completely or not).
pub const RECORD_FILE: &str = "file";
/// `record` of an attempt across protocols (DNS, Kerberos, RDP-UDP, TCP).
pub const RECORD_ATTEMPT: &str = "attempt";

#[derive(Serialize)]
struct AttemptRecord<'a> {
    record: &'static str,
    schema_version: u32,
    file: &'a str,
    #[serde(flatten)]
    attempt: &'a super::neighbours::NeighbourAttempt,
}

#[derive(Serialize)]
struct ConnectionRecord<'a> {
    record: &'static str,
    schema_version: u32,
    file: &'a str,
    #[serde(flatten)]
    connection: &'a ConnectionReport,
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    record: &'static str,
    schema_version: u32,
    file: &'a str,
    input_index: u64,
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    redacted: bool,
    /// Read part-way (`true`: its connections precede this record) or
    /// not at all.
    partial: bool,
    packets: Option<u64>,
    connections: usize,
    error: &'a FileError,
}

#[derive(Serialize)]
struct IgnoredRecord<'a> {
    record: &'static str,
    schema_version: u32,
    file: &'a str,
    input_index: u64,
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    redacted: bool,
    ignored: &'a FileError,
}

/// What one file held, so that a file without any RDP connection still
/// shows in the records (and a consumer knows the file is done).
#[derive(Serialize)]
struct FileRecord<'a> {
    record: &'static str,
    schema_version: u32,
    file: &'a str,
    input_index: u64,
    #[serde(skip_serializing_if = "is_false")]
    redacted: bool,
    format: Option<&'a str>,
    compression: Option<&'a str>,
    packets: Option<u64>,
    bytes: Option<u64>,
    first_ts: Option<&'a str>,
    last_ts: Option<&'a str>,
    complete: bool,
    warnings_total: u64,
    skipped: &'a Skipped,
    flow: &'a FlowCounts,
    connections: usize,
    outcomes: OutcomeCounts,
    /// SHA-256 of the file as stored (null when not read to its end).
    sha256: Option<&'a str>,
    /// Connections the filters hid; absent when none did.
    #[serde(skip_serializing_if = "is_zero")]
    filtered_out: u64,
    // What the other formats show of a file beyond the counts above, so
    // that `rdptriage report` renders them from JSON Lines.
    duration_s: Option<f64>,
    link_types: &'a [LinkTypeCount],
    warnings: &'a [Warning],
    // Then `attempts` and `neighbours`, written after these fields by
    // [`file_record`] (the list of attempts may be long).
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn line<T: Serialize + ?Sized>(out: &mut String, v: &T) {
    // A record of a few KiB is written into a buffer kept by the thread,
    // not into a new string grown by doubling for each record.
    LINE.with_borrow_mut(|buf| {
        buf.clear();
        // The compact writer first (a file record lists every attempt of
        // the file), serde_json for what it refuses.
        let json = compact::write(&mut *buf, v)
            .or_else(|_| {
                buf.clear();
                serde_json::to_writer(&mut *buf, v)
            })
            .map_err(|e| e.to_string())
            .and_then(|()| std::str::from_utf8(buf).map_err(|e| e.to_string()));
        match json {
            Ok(s) => out.push_str(s),
            // Plain structs of strings and numbers cannot fail to
            // serialise; if one ever did, the line says so and stays
            // valid JSON.
            Err(e) => out.push_str(
                &serde_json::json!({
                    "record": RECORD_ERROR,
                    "schema_version": SCHEMA_VERSION,
                    "internal_error": e,
                })
                .to_string(),
            ),
        }
        if buf.capacity() > LINE_KEPT {
            *buf = Vec::new();
        }
    });
    out.push('\n');
}

/// The most [`line`] keeps between records (a file record listing many
/// attempts can be far longer than a connection record).
const LINE_KEPT: usize = 64 * 1024;

thread_local! {
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The JSON Lines of one file: its `ignored` record, or the `error`
/// record of a file that could not be read at all; else one `connection`
/// record per connection, by stream, then the `error` record of a file
/// read part-way, one `attempt` record per attempt across protocols and
/// the `file` record.
pub fn jsonl_file(f: &FileReport) -> String {
    let mut outcomes = OutcomeCounts::default();
    let mut body = String::new();
    for c in &f.connections {
        outcomes.add(&c.outcome);
        jsonl_connection(&mut body, &f.path, c);
    }
    let n = f.connections.len();
    let mut out = jsonl_head(f, n);
    out.push_str(&body);
    out.push_str(&jsonl_tail(f, n, outcomes));
    out
}

/// Whether the file was read, completely or part-way: its `error` record
/// (if any) then comes after its connections, which are written as they
/// come, before the error at the end of the file is known.
fn read_at_all(f: &FileReport) -> bool {
    f.format.is_some()
}

/// The `error` record of `f`, whose `connections` connection records
/// precede it.
fn error_record(out: &mut String, f: &FileReport, e: &FileError, connections: usize) {
    line(
        out,
        &ErrorRecord {
            record: RECORD_ERROR,
            schema_version: SCHEMA_VERSION,
            file: &f.path,
            input_index: f.input_index,
            sha256: f.sha256.as_deref(),
            redacted: f.redacted,
            partial: read_at_all(f),
            packets: f.packets,
            connections,
            error: e,
        },
    );
}

/// The records of a file before its connections: the `error` record of a
/// file that could not be read at all (it has no connection: only an
/// internal error met part-way has `connections` written before it), or
/// the `ignored` record.
pub fn jsonl_head(f: &FileReport, connections: usize) -> String {
    let mut out = String::new();
    if let Some(e) = f.error.as_ref().filter(|_| !read_at_all(f)) {
        error_record(&mut out, f, e, connections);
    }
    if let Some(i) = &f.ignored {
        line(
            &mut out,
            &IgnoredRecord {
                record: RECORD_IGNORED,
                schema_version: SCHEMA_VERSION,
                file: &f.path,
                input_index: f.input_index,
                sha256: f.sha256.as_deref(),
                redacted: f.redacted,
                ignored: i,
            },
        );
    }
    out
}

/// The `connection` record of one connection of `file`.
pub fn jsonl_connection(out: &mut String, file: &str, c: &ConnectionReport) {
    line(out, &connection_record(file, c));
}

fn connection_record<'a>(file: &'a str, c: &'a ConnectionReport) -> ConnectionRecord<'a> {
    ConnectionRecord {
        record: RECORD_CONNECTION,
        schema_version: SCHEMA_VERSION,
        file,
        connection: c,
    }
}

/// [`jsonl_connection`] appended to bytes: serialised in place, with no
/// copy through a string (a million records are 3.5 GB), long texts
/// copied whole ([`compact`]).
pub fn jsonl_connection_bytes(out: &mut Vec<u8>, file: &str, c: &ConnectionReport) {
    let start = out.len();
    if compact::connection_record(out, file, c).is_ok() {
        out.push(b'\n');
        return;
    }
    out.truncate(start);
    // What `#[serde(flatten)]` writes (the record's own keys, then the
    // connection's fields), without serde's flattening, which hands the
    // connection's fields over one map entry at a time.
    json_bytes(out, &RecordHead::of(RECORD_CONNECTION, file));
    let inner = out.len() - 1;
    out.truncate(inner);
    json_bytes(out, c);
    let opens = out.get(inner) == Some(&b'{') && out.get(inner + 1) != Some(&b'}');
    match out.get_mut(inner) {
        Some(b) if opens => *b = b',',
        _ => {
            // Not an object with fields: as serde writes it.
            out.truncate(start);
            let mut s = String::new();
            line(&mut s, &connection_record(file, c));
            out.extend_from_slice(s.trim_end_matches('\n').as_bytes());
        }
    }
    out.push(b'\n');
}

/// The keys every record starts with.
#[derive(Serialize)]
struct RecordHead<'a> {
    record: &'static str,
    schema_version: u32,
    file: &'a str,
}

impl<'a> RecordHead<'a> {
    fn of(record: &'static str, file: &'a str) -> Self {
        RecordHead {
            record,
            schema_version: SCHEMA_VERSION,
            file,
        }
    }
}

/// `v` as compact JSON appended to `out`, byte for byte what serde_json
/// writes ([`compact`]; serde_json itself for what that refuses; a value
/// serde_json refuses too is replaced by a record that says so, as in
/// [`line`]).
pub fn json_bytes<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let start = out.len();
    if compact::write(out, v).is_ok() {
        return;
    }
    out.truncate(start);
    if serde_json::to_writer(&mut *out, v).is_ok() {
        return;
    }
    out.truncate(start);
    let mut s = String::new();
    line(&mut s, v);
    out.extend_from_slice(s.trim_end_matches('\n').as_bytes());
}

/// The records after a file's connections: the `error` record of a file
/// read part-way, one `attempt` record per attempt across protocols, then
/// the `file` record closing a file that was read.
pub fn jsonl_tail(f: &FileReport, connections: usize, outcomes: OutcomeCounts) -> String {
    let bytes = jsonl_tail_bytes(f, connections, outcomes);
    // Serialised from Rust strings, escaped: always UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// [`jsonl_tail`] as bytes: a file record listing many attempts (31 MB
/// for the 65,536 attempts of refused-1m.pcap) is written where it is
/// handed on, not copied through a string.
pub fn jsonl_tail_bytes(f: &FileReport, connections: usize, outcomes: OutcomeCounts) -> Vec<u8> {
    let mut out = String::new();
    if let Some(e) = f.error.as_ref().filter(|_| read_at_all(f)) {
        error_record(&mut out, f, e, connections);
    }
    for a in &f.neighbour_attempts {
        line(
            &mut out,
            &AttemptRecord {
                record: RECORD_ATTEMPT,
                schema_version: SCHEMA_VERSION,
                file: &f.path,
                attempt: a,
            },
        );
    }
    let mut out = out.into_bytes();
    if f.format.is_some() {
        file_record(&mut out, f, connections, outcomes);
    }
    out
}

/// The `file` record, a line: the fields of [`FileRecord`], then the
/// attempts and the neighbour counts, as if they were its last fields.
fn file_record(out: &mut Vec<u8>, f: &FileReport, connections: usize, outcomes: OutcomeCounts) {
    json_bytes(out, &file_record_head(f, connections, outcomes));
    // The object's closing brace comes after the last two fields.
    if out.last() == Some(&b'}') {
        out.pop();
    }
    out.extend_from_slice(b",\"attempts\":");
    match f.attempts.as_deref() {
        Some(list) => attempts_json(out, list),
        None => out.extend_from_slice(b"null"),
    }
    if let Some(n) = &f.neighbours {
        out.extend_from_slice(b",\"neighbours\":");
        json_bytes(out, n);
    }
    out.extend_from_slice(b"}\n");
}

fn file_record_head(f: &FileReport, connections: usize, outcomes: OutcomeCounts) -> FileRecord<'_> {
    FileRecord {
        record: RECORD_FILE,
        schema_version: SCHEMA_VERSION,
        file: &f.path,
        input_index: f.input_index,
        redacted: f.redacted,
        format: f.format.as_deref(),
        compression: f.compression.as_deref(),
        packets: f.packets,
        bytes: f.bytes,
        first_ts: f.first_ts.as_deref(),
        last_ts: f.last_ts.as_deref(),
        complete: f.complete,
        warnings_total: f.warnings_total,
        skipped: &f.skipped,
        flow: &f.flow,
        connections,
        outcomes,
        sha256: f.sha256.as_deref(),
        filtered_out: f.filtered_out,
        duration_s: f.duration_s,
        link_types: &f.link_types,
        warnings: &f.warnings,
    }
}

/// Attempts from which [`attempts_json`] writes the list's second half on
/// a thread of its own. A file's list is written after its last
/// connection, when its reading and rendering threads are done: a long
/// one (65,536 attempts, 31 MB of JSON, on refused-1m.pcap) was the last
/// twentieth of the run's time, on one CPU (BENCHMARKS.md). Below this,
/// starting a thread would cost more than it saves.
const ATTEMPTS_BESIDE: usize = 4096;

/// `list` as a JSON array, as [`json_bytes`] writes it: a long list in two
/// halves at once.
fn attempts_json(out: &mut Vec<u8>, list: &[Attempt]) {
    if list.len() < ATTEMPTS_BESIDE {
        return json_bytes(out, list);
    }
    let start = out.len();
    let (first, second) = list.split_at(list.len() / 2);
    let later = std::thread::scope(|s| {
        let beside = std::thread::Builder::new().spawn_scoped(s, || {
            let mut v = Vec::with_capacity(json_len(second));
            json_bytes(&mut v, second);
            v
        });
        out.reserve(json_len(first));
        json_bytes(out, first);
        beside.map(|h| h.join())
    });
    let later = match later {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        // No thread to be had: written here.
        Err(_) => {
            let mut v = Vec::new();
            json_bytes(&mut v, second);
            v
        }
    };
    // `[a,b]` and `[c,d]` are joined as `[a,b,c,d]`.
    match (out.last(), later.split_first()) {
        (Some(b']'), Some((b'[', rest))) => {
            out.pop();
            out.push(b',');
            out.extend_from_slice(rest);
        }
        // Not two arrays (one half refused by both writers): as a whole.
        _ => {
            out.truncate(start);
            json_bytes(out, list);
        }
    }
}

/// About the bytes `list` takes as JSON, made room for at once: the 31 MB
/// of refused-1m.pcap's attempts grown by doubling were copied and
/// faulted in again at each step, while the other threads waited. An
/// attempt is its texts, its streams (each at most as long as the last,
/// the largest, and a comma) and [`ATTEMPT_KEYS`]; texts needing escapes
/// may take more (the buffer then grows as before).
fn json_len(list: &[Attempt]) -> usize {
    let one = |a: &Attempt| {
        let digits = a
            .streams
            .last()
            .map_or(1, |&n| itoa::Buffer::new().format(n).len());
        let relabelled: usize = a
            .relabelled
            .iter()
            .map(|r| RELABELLED_KEYS + r.outcome.len() + r.note.len())
            .sum();
        ATTEMPT_KEYS
            + a.client.len()
            + a.server.len()
            + a.streams.len() * (digits + 1)
            + a.first_ts.len()
            + a.last_ts.len()
            + a.failed_step.as_ref().map_or(0, String::len)
            + a.summary.len()
            + relabelled
    };
    list.iter().map(one).sum::<usize>() + 2
}

/// The bytes of an attempt's JSON beyond its texts and streams: its keys,
/// quotes, counts (at most 20 digits each) and flags.
const ATTEMPT_KEYS: usize = 256;

/// The same for one relabelled connection: keys, quotes and its stream.
const RELABELLED_KEYS: usize = 64;

/// The CSV columns, in order (docs/csv-columns.md).
pub const CSV_COLUMNS: [&str; 26] = [
    "file",
    "stream",
    "client",
    "server",
    "first_frame",
    "first_ts",
    "outcome",
    "phase",
    "last_step",
    "failed_step",
    "ended_by",
    "ending_frame",
    "cause",
    "confidence",
    "benign",
    "cookie",
    "requested",
    "selected",
    "tls_version",
    "cipher",
    "cert_subject",
    "cert_not_after",
    "summary",
    "client_message",
    "record",
    "sha256",
];

/// The header row, CRLF-terminated.
pub fn csv_header() -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    out
}

/// One CSV field (RFC 4180): control characters and bidirectional marks
/// from the capture are first written as escapes (`\n`, `\u{1b}`), so a
/// row is always one line; a field that a spreadsheet would take for a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return,
/// as OWASP's CSV-injection guidance lists) gets a leading `'`; a field
/// holding `,`, `"` or a space at either end is quoted, with `"` doubled.
pub fn csv_field(s: &str) -> String {
    let formula = s.len() > 1 && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = escape_unsafe(s);
    let s = if formula { format!("'{s}") } else { s };
    let quote = s.contains([',', '"'])
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace);
    if quote {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// The cells of one connection, in [`CSV_COLUMNS`] order (unquoted).
/// The `sha256` cell (the file's) is left empty: the streamed CSV renders
/// a row before the file is read to its end ([`csv_row_head`]).
pub fn csv_cells(file: &str, c: &ConnectionReport) -> [String; 26] {
    let n = c.negotiation.as_ref();
    let t = c.tls.as_ref();
    let leaf = c.certificates.first();
    [
        file.to_string(),
        c.stream.to_string(),
        c.client.clone(),
        c.server.clone(),
        c.first_frame.to_string(),
        c.first_ts.clone(),
        c.outcome.to_string(),
        c.phase.to_string(),
        opt(&c.last_step),
        opt(&c.failed_step),
        c.ended_by.id.to_string(),
        opt(&c.ending_frame),
        opt(&c.cause.as_ref().map(|k| k.id.clone())),
        opt(&c.cause.as_ref().map(|k| k.confidence.clone())),
        opt(&c.benign),
        opt(&n.and_then(|n| n.cookie.clone())),
        opt(&n.and_then(|n| n.requested.as_ref().map(|r| r.join("|")))),
        opt(&n.and_then(|n| n.selected.clone())),
        opt(&t.and_then(|t| t.server_version.clone())),
        opt(&t.and_then(|t| t.cipher.clone())),
        opt(&leaf.map(|l| l.subject.clone())),
        opt(&leaf.map(|l| l.not_after.clone())),
        c.what_happened.clone(),
        opt(&c
            .cause
            .as_ref()
            .map(|k| super::causes::client_messages_cell(&k.client_messages))),
        "connection".to_string(),
        String::new(),
    ]
}

/// The cells of an attempt across protocols (DNS, Kerberos, RDP over UDP
/// and TCP parts), in [`CSV_COLUMNS`] order: its TCP streams, client and
/// server, where it began, the cause its neighbours show, and its parts in
/// order as the summary; the connection columns stay empty.
pub fn csv_attempt_cells(
    file: &str,
    a: &super::neighbours::NeighbourAttempt,
    sha256: Option<&str>,
) -> [String; 26] {
    let streams: Vec<String> = a
        .parts
        .iter()
        .filter_map(|p| p.stream.map(|s| s.to_string()))
        .collect();
    let first = a.parts.first();
    let mut summary: Vec<String> = a.parts.iter().map(|p| p.text.clone()).collect();
    summary.extend(a.relation.clone());
    let mut cells: [String; 26] = Default::default();
    for (column, value) in [
        ("file", file.to_string()),
        ("stream", streams.join(" ")),
        ("client", a.client.clone()),
        ("server", opt(&a.server)),
        ("first_frame", opt(&first.and_then(|p| p.frames.first()))),
        ("first_ts", opt(&first.map(|p| p.first_ts.clone()))),
        ("cause", opt(&a.cause.as_ref().map(|k| k.id.clone()))),
        (
            "confidence",
            opt(&a.cause.as_ref().map(|k| k.confidence.clone())),
        ),
        ("summary", summary.join("; ")),
        (
            "client_message",
            opt(&a
                .cause
                .as_ref()
                .map(|k| super::causes::client_messages_cell(&k.client_messages))),
        ),
        ("record", "attempt".to_string()),
        ("sha256", opt(&sha256)),
    ] {
        if let Some(i) = CSV_COLUMNS.iter().position(|c| *c == column) {
            cells[i] = value;
        }
    }
    cells
}

/// The attempt rows closing a file's CSV rows.
pub fn csv_tail(f: &FileReport) -> String {
    let mut out = String::new();
    for a in &f.neighbour_attempts {
        let cells: Vec<String> = csv_attempt_cells(&f.path, a, f.sha256.as_deref())
            .iter()
            .map(|s| csv_field(s))
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The CSV rows of one file (no header), CRLF-terminated.
pub fn csv_file(f: &FileReport) -> String {
    let mut out = String::new();
    for c in &f.connections {
        csv_row_head(&mut out, &f.path, c);
        csv_row_end(&mut out, f.sha256.as_deref());
    }
    out.push_str(&csv_tail(f));
    out
}

/// The CSV row of one connection of `file` up to its last cell, the
/// file's SHA-256, which is known only once the file is read to its end
/// ([`csv_row_end`] writes it): one line, as every cell is.
pub fn csv_row_head(out: &mut String, file: &str, c: &ConnectionReport) {
    let cells = csv_cells(file, c);
    let head = cells.get(..cells.len() - 1).unwrap_or(&[]);
    let cells: Vec<String> = head.iter().map(|s| csv_field(s)).collect();
    out.push_str(&cells.join(","));
}

/// The end of a row begun by [`csv_row_head`]: the `sha256` cell (empty
/// when the file was not read to its end) and CRLF.
pub fn csv_row_end(out: &mut String, sha256: Option<&str>) {
    out.push(',');
    out.push_str(&csv_field(sha256.unwrap_or("")));
    out.push_str("\r\n");
}

/// The outcomes from worst to best, as the summary line ranks them.
const WORST_FIRST: [&str; 5] = ["failed", "incomplete", "not_rdp", "benign", "established"];

/// What a file's summary line needs of its connections: counts per
/// outcome and, per outcome, the causes met (a few dozen at most).
#[derive(Clone, Debug, Default)]
pub struct SummaryAcc {
    outcomes: OutcomeCounts,
    /// (outcome, cause id, connections), in order of first appearance.
    causes: Vec<(String, String, u64)>,
}

impl SummaryAcc {
    pub fn add(&mut self, c: &ConnectionReport) {
        self.outcomes.add(&c.outcome);
        let Some(cause) = c.cause.as_ref() else {
            return;
        };
        match self
            .causes
            .iter_mut()
            .find(|(o, k, _)| *o == c.outcome && *k == cause.id)
        {
            Some((_, _, n)) => *n += 1,
            None => self
                .causes
                .push((c.outcome.to_string(), cause.id.to_string(), 1)),
        }
    }

    /// The worst outcome met, and its most frequent cause (the first met
    /// of those as frequent).
    fn worst(&self) -> (Option<&'static str>, Option<&str>) {
        let o = &self.outcomes;
        let counts = [o.failed, o.incomplete, o.not_rdp, o.benign, o.established];
        let Some(worst) = WORST_FIRST
            .iter()
            .zip(counts)
            .find(|(_, n)| *n > 0)
            .map(|(w, _)| *w)
        else {
            return (None, None);
        };
        let mut best: Option<(&str, u64)> = None;
        for (_, k, n) in self.causes.iter().filter(|(o, _, _)| o == worst) {
            if best.map_or(true, |(_, m)| *n > m) {
                best = Some((k, *n));
            }
        }
        (Some(worst), best.map(|(k, _)| k))
    }
}

/// The keys of a summary line, in order (README, "Summary lines").
pub const SUMMARY_KEYS: [&str; 13] = [
    "file",
    "status",
    "packets",
    "connections",
    "failed",
    "incomplete",
    "established",
    "benign",
    "not_rdp",
    "filtered_out",
    "worst",
    "cause",
    "error",
];

/// A value of a summary line: as it is when it is one plain word; else
/// in double quotes, `"` and `\` escaped with `\` (logfmt). Control
/// characters are escaped first, so a line is always one line; a missing
/// value is `-`.
pub fn summary_value(v: Option<&str>) -> String {
    let Some(v) = v else {
        return "-".to_string();
    };
    let v = escape_unsafe(v);
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || c == '"' || c == '=') {
        return v;
    }
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The summary line of file `f` whose connections `acc` counted: the
/// keys of [`SUMMARY_KEYS`], `key=value` apart by one space, `\n` at the
/// end. `status` is `ok` (read to its end), `incomplete` (read part-way),
/// `unreadable` or `skipped` (found, not a capture).
pub fn summary_line(f: &FileReport, acc: &SummaryAcc) -> String {
    let status = if f.ignored.is_some() {
        "skipped"
    } else if f.format.is_none() {
        "unreadable"
    } else if !f.complete {
        "incomplete"
    } else {
        "ok"
    };
    let o = &acc.outcomes;
    let n = o.established + o.failed + o.incomplete + o.benign + o.not_rdp;
    let (worst, cause) = acc.worst();
    let problem = f
        .error
        .as_ref()
        .or(f.ignored.as_ref())
        .map(super::text::error_line);
    let num = |v: u64| Some(v.to_string());
    let values: [Option<String>; 13] = [
        Some(f.path.clone()),
        Some(status.to_string()),
        f.packets.map(|p| p.to_string()),
        num(n),
        num(o.failed),
        num(o.incomplete),
        num(o.established),
        num(o.benign),
        num(o.not_rdp),
        num(f.filtered_out),
        worst.map(str::to_string),
        cause.map(str::to_string),
        problem,
    ];
    let mut out = String::new();
    for (i, (k, v)) in SUMMARY_KEYS.iter().zip(&values).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&summary_value(v.as_deref()));
    }
    out.push('\n');
    out
}

/// The summary line of a file whose report holds its connections.
pub fn summary_file(f: &FileReport) -> String {
    let mut acc = SummaryAcc::default();
    for c in &f.connections {
        acc.add(c);
    }
    summary_line(f, &acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(" lead"), "\" lead\"");
        // One row is one line, whatever the capture held.
        assert_eq!(csv_field("a\r\nb"), "a\\r\\nb");
        assert_eq!(csv_field("x\u{1b}[31m"), "x\\u{1b}[31m");
        assert_eq!(csv_field("CN=a, O=b"), "\"CN=a, O=b\"");
    }

    #[test]
    fn csv_cells_are_never_formulas() {
        // OWASP: cells starting with = + - @ tab or CR are neutralised.
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_field("+1+2"), "'+1+2");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\t=1"), "'\\t=1");
        assert_eq!(csv_field("\r=1"), "'\\r=1");
        // Standard input's name and plain values stay as they are.
        assert_eq!(csv_field("-"), "-");
        assert_eq!(csv_field("a=b"), "a=b");
    }

    #[test]
    fn summary_values_are_one_word() {
        assert_eq!(summary_value(None), "-");
        assert_eq!(summary_value(Some("a.pcap")), "a.pcap");
        assert_eq!(summary_value(Some("")), "\"\"");
        assert_eq!(summary_value(Some("my file.pcap")), "\"my file.pcap\"");
        assert_eq!(summary_value(Some("a=\"b\"\\")), "\"a=\\\"b\\\"\\\\\"");
        assert_eq!(summary_value(Some("x\ny")), "x\\ny");
    }

    #[test]
    fn header_matches_the_columns() {
        let h = csv_header();
        assert!(h.ends_with("\r\n"));
        assert_eq!(h.trim_end().split(',').count(), CSV_COLUMNS.len());
        assert!(h.starts_with("file,stream,client,server,"));
        assert!(h
            .trim_end()
            .ends_with(",cert_not_after,summary,client_message,record,sha256"));
    }

    /// The file record as one struct with every field, written by
    /// serde_json: what the record was before its attempts were written
    /// apart (and in two halves when many).
    #[derive(Serialize)]
    struct WholeFileRecord<'a> {
        #[serde(flatten)]
        head: FileRecord<'a>,
        attempts: &'a Option<Vec<Attempt>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        neighbours: &'a Option<crate::report::neighbours::NeighbourCounts>,
    }

    fn attempt(i: usize) -> Attempt {
        Attempt {
            client: format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            server: "192.0.2.1:3389".into(),
            streams: (0..(i % 5) as u64).map(|k| k * 65_536 + i as u64).collect(),
            first_ts: "2026-09-21T14:13:20.000000Z".into(),
            last_ts: "2026-09-21T14:14:38.643520Z".into(),
            failed: i % 7,
            benign: i % 3,
            established: i % 11 == 0,
            all_failed_same_step: i % 2 == 0,
            failed_step: (i % 4 != 0).then(|| "tcp_syn_ack".into()),
            summary: format!("{i} attempts \"quoted\" \\ caf\u{e9} \u{1}"),
            relabelled: (0..i % 3)
                .map(|k| Relabelled {
                    stream: k as u64,
                    outcome: "benign".into(),
                    note: "a probe\n".into(),
                })
                .collect(),
        }
    }

    fn file_with(attempts: Option<Vec<Attempt>>, neighbours: bool) -> FileReport {
        FileReport {
            path: "dir/a \"b\".pcap".into(),
            sha256: Some("ab".repeat(32)),
            format: Some("pcap (LE, usec)".into()),
            compression: Some("none".into()),
            link_types: Vec::new(),
            packets: Some(12),
            bytes: Some(3_400),
            first_ts: None,
            last_ts: None,
            duration_s: Some(1.25),
            complete: true,
            error: None,
            ignored: None,
            warnings: Vec::new(),
            warnings_total: 0,
            skipped: Skipped::default(),
            flow: FlowCounts::default(),
            connections: Vec::new(),
            attempts,
            neighbours: neighbours.then(|| crate::report::neighbours::NeighbourCounts {
                messages: 3,
                ..Default::default()
            }),
            neighbour_attempts: Vec::new(),
            filtered_out: 2,
            input_index: 4,
            redacted: false,
        }
    }

    /// The file record, its attempts written apart (two threads past
    /// [`ATTEMPTS_BESIDE`]), is what serde_json writes of the whole
    /// record, with no attempt, with some on either side of the bound, and
    /// with or without neighbour counts.
    #[test]
    fn file_record_is_the_whole_record_as_serde_json_writes_it() {
        let sizes = [
            0,
            1,
            2,
            ATTEMPTS_BESIDE - 1,
            ATTEMPTS_BESIDE,
            ATTEMPTS_BESIDE + 1,
            9_001,
        ];
        let lists = sizes
            .iter()
            .map(|&n| Some((0..n).map(attempt).collect::<Vec<_>>()))
            .chain([None]);
        for list in lists {
            for neighbours in [false, true] {
                let f = file_with(list.clone(), neighbours);
                let outcomes = OutcomeCounts::default();
                let mut expected = serde_json::to_string(&WholeFileRecord {
                    head: file_record_head(&f, 7, outcomes.clone()),
                    attempts: &f.attempts,
                    neighbours: &f.neighbours,
                })
                .unwrap();
                expected.push('\n');
                let got = jsonl_tail(&f, 7, outcomes);
                let n = f.attempts.as_ref().map(Vec::len);
                assert!(got == expected, "{n:?} attempts, neighbours {neighbours}");
            }
        }
    }

    /// The room made for a list of attempts holds it whole when its texts
    /// need no escapes: counts of 20 digits, streams of any length, no
    /// step, relabelled connections, IPv6 addresses.
    #[test]
    fn room_for_attempts_holds_them() {
        let plain = |i: usize| Attempt {
            client: if i % 2 == 0 {
                "fe80::1234:5678".into()
            } else {
                format!("10.0.{}.{}", i % 256, i % 7)
            },
            server: "[fe80::9]:3389".into(),
            streams: (0..(i % 40) as u64)
                // From 20 digits down to 3: the bound reads the last.
                .map(|k| (u64::MAX >> (i % 58)) - k)
                .rev()
                .collect(),
            first_ts: "2026-09-21T14:13:20.000000Z".into(),
            last_ts: "2026-09-21T14:14:38.643520Z".into(),
            failed: usize::MAX - i,
            benign: usize::MAX,
            established: i % 3 == 0,
            all_failed_same_step: i % 5 == 0,
            failed_step: (i % 4 == 0).then(|| "credssp_credentials".into()),
            summary: "4 attempts from 10.0.0.1 to 10.0.0.9:3389 within 2.0 s".repeat(i % 3),
            relabelled: (0..i % 4)
                .map(|k| Relabelled {
                    stream: u64::MAX - k as u64,
                    outcome: "incomplete".into(),
                    note: "a following connection from the same client sent its credentials".into(),
                })
                .collect(),
        };
        for n in [0, 1, 2, 3, 50, 999] {
            let list: Vec<Attempt> = (0..n).map(plain).collect();
            let written = serde_json::to_vec(&list).unwrap().len();
            assert!(
                json_len(&list) >= written,
                "{n} attempts: room {} for {written}",
                json_len(&list)
            );
        }
    }
}
