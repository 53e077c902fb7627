//! `rdptriage report FILE.jsonl...`: the JSON Lines of one run or of many
//! shards (`--shard K/N`), read back into file reports and printed in any
//! format exactly as one run over the same files prints them.
//!
//! Each file's records are consecutive in the JSON Lines (its `error` or
//! `ignored` record, its connections, its attempts across protocols, its
//! `file` record) and carry what every format shows. Files are put back in
//! the order of a single run by `input_index`, their place in the whole
//! input list before `--shard` kept a part of it; records from several
//! runs with the same index keep the order of the arguments.
//!
//! Everything is read before printing (the totals and the order need every
//! shard): memory grows with the records read, unlike an analysis.
//!
//! A line that is not rdptriage JSON Lines (not JSON, no `record`, another
//! `schema_version`, an unknown record kind, fields that do not parse) and
//! a file whose records stop before its closing record (a shard cut short)
//! are named on standard error with the input and line; the rest is read,
//! and the exit code is 2. JSON Lines written with `--redact` are refused:
//! each run numbers its pseudonyms on its own, so those of two shards do
//! not match; `report --redact` redacts as one run does.

use super::{new_records, Args, FileOut};
use crate::report::filter::Filter;
use crate::report::model::{
    Attempt, ConnectionReport, FileError, FileReport, FlowCounts, LinkTypeCount, Skipped,
    StepLabels, Warning,
};
use crate::report::neighbours::{NeighbourAttempt, NeighbourCounts};
use crate::report::records::{
    RECORD_ATTEMPT, RECORD_CONNECTION, RECORD_ERROR, RECORD_FILE, RECORD_IGNORED,
};
use crate::report::stream::Streamed;
use crate::report::text::escape_unsafe;
use crate::report::SCHEMA_VERSION;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, BufRead, Write};

/// A file of the merged run, with its connections.
#[derive(Debug)]
pub struct MergedFile {
    report: FileReport,
    connections: Vec<ConnectionReport>,
}

#[derive(Deserialize)]
struct ErrorLine {
    #[serde(default)]
    input_index: u64,
    sha256: Option<String>,
    #[serde(default)]
    redacted: bool,
    partial: bool,
    packets: Option<u64>,
    connections: usize,
    error: FileError,
}

#[derive(Deserialize)]
struct IgnoredLine {
    #[serde(default)]
    input_index: u64,
    sha256: Option<String>,
    #[serde(default)]
    redacted: bool,
    ignored: FileError,
}

#[derive(Deserialize)]
struct FileLine {
    #[serde(default)]
    input_index: u64,
    #[serde(default)]
    redacted: bool,
    format: Option<String>,
    compression: Option<String>,
    packets: Option<u64>,
    bytes: Option<u64>,
    first_ts: Option<String>,
    last_ts: Option<String>,
    complete: bool,
    warnings_total: u64,
    skipped: Skipped,
    flow: FlowCounts,
    connections: usize,
    sha256: Option<String>,
    #[serde(default)]
    filtered_out: u64,
    duration_s: Option<f64>,
    link_types: Vec<LinkTypeCount>,
    warnings: Vec<Warning>,
    attempts: Option<Vec<Attempt>>,
    #[serde(default)]
    neighbours: Option<NeighbourCounts>,
}

/// One file's records while they are read.
struct Group {
    path: String,
    /// Where its first record is: input number and line.
    start: (usize, u64),
    error: Option<ErrorLine>,
    ignored: Option<IgnoredLine>,
    file: Option<FileLine>,
    connections: Vec<ConnectionReport>,
    attempts: Vec<NeighbourAttempt>,
}

impl Group {
    fn new(path: &str, start: (usize, u64)) -> Self {
        Group {
            path: path.to_string(),
            start,
            error: None,
            ignored: None,
            file: None,
            connections: Vec::new(),
            attempts: Vec::new(),
        }
    }

    /// Whether the file's last record has been read.
    fn closed(&self) -> bool {
        self.file.is_some()
            || self.ignored.is_some()
            || self.error.as_ref().is_some_and(|e| !e.partial)
    }

    /// Why the file's records are not whole, if they are not.
    fn not_whole(&self) -> Option<String> {
        if !self.closed() {
            return Some(format!(
                "the records of {} stop before its `file` record (a run cut short?); it is left out",
                self.path
            ));
        }
        let counted = self
            .file
            .as_ref()
            .map(|f| f.connections)
            .or(self.error.as_ref().map(|e| e.connections))
            .unwrap_or(0);
        (counted != self.connections.len()).then(|| {
            format!(
                "{} has {} `connection` records where its records count {counted}; it is left out",
                self.path,
                self.connections.len()
            )
        })
    }

    fn input_index(&self) -> u64 {
        self.file
            .as_ref()
            .map(|f| f.input_index)
            .or(self.error.as_ref().map(|e| e.input_index))
            .or(self.ignored.as_ref().map(|i| i.input_index))
            .unwrap_or(u64::MAX)
    }

    fn redacted(&self) -> bool {
        self.file.as_ref().is_some_and(|f| f.redacted)
            || self.error.as_ref().is_some_and(|e| e.redacted)
            || self.ignored.as_ref().is_some_and(|i| i.redacted)
    }

    /// The file's report, as the analysis made it.
    fn finish(self) -> MergedFile {
        let f = self.file;
        let e = self.error;
        let i = self.ignored;
        let sha256 = f
            .as_ref()
            .and_then(|f| f.sha256.clone())
            .or_else(|| e.as_ref().and_then(|e| e.sha256.clone()))
            .or_else(|| i.as_ref().and_then(|i| i.sha256.clone()));
        let input_index = f
            .as_ref()
            .map(|f| f.input_index)
            .or(e.as_ref().map(|e| e.input_index))
            .or(i.as_ref().map(|i| i.input_index))
            .unwrap_or(u64::MAX);
        let packets = f
            .as_ref()
            .and_then(|f| f.packets)
            .or(e.as_ref().and_then(|e| e.packets));
        let report = match f {
            Some(f) => FileReport {
                path: self.path,
                sha256,
                format: f.format,
                compression: f.compression,
                link_types: f.link_types,
                packets,
                bytes: f.bytes,
                first_ts: f.first_ts,
                last_ts: f.last_ts,
                duration_s: f.duration_s,
                complete: f.complete,
                error: e.map(|e| e.error),
                ignored: i.map(|i| i.ignored),
                warnings: f.warnings,
                warnings_total: f.warnings_total,
                skipped: f.skipped,
                flow: f.flow,
                connections: Vec::new(),
                attempts: f.attempts,
                neighbours: f.neighbours,
                neighbour_attempts: self.attempts,
                filtered_out: f.filtered_out,
                input_index,
                redacted: false,
            },
            // Not read at all, or skipped: what the analysis reports of
            // a file it could not read.
            None => FileReport {
                path: self.path,
                sha256,
                format: None,
                compression: None,
                link_types: Vec::new(),
                packets,
                bytes: None,
                first_ts: None,
                last_ts: None,
                duration_s: None,
                complete: false,
                error: e.map(|e| e.error),
                ignored: i.map(|i| i.ignored),
                warnings: Vec::new(),
                warnings_total: 0,
                skipped: Skipped::default(),
                flow: FlowCounts::default(),
                connections: Vec::new(),
                attempts: Some(Vec::new()),
                neighbours: None,
                neighbour_attempts: self.attempts,
                filtered_out: 0,
                input_index,
                redacted: false,
            },
        };
        MergedFile {
            report,
            connections: self.connections,
        }
    }
}

impl MergedFile {
    /// The file as the analysis hands it to the printer: its connections
    /// through the filters (the same as a run's), rendered as records when
    /// the format streams them.
    pub(super) fn into_out(self, records: Option<Streamed>, filter: &Filter) -> FileOut {
        let mut report = self.report;
        let mut recs = records.map(|r| new_records(&report.path, r));
        // The attempt of each stream: any identifier shared by the
        // connections of one attempt draws the same report.
        let attempt_of: HashMap<u64, u64> = report
            .attempts
            .iter()
            .flatten()
            .zip(0u64..)
            .flat_map(|(a, i)| a.streams.iter().map(move |s| (*s, i)))
            .collect();
        let (mut shown, mut hidden, mut spill_error) = (Vec::new(), 0u64, None);
        let mut kept = Vec::new();
        for c in self.connections {
            if !filter.is_empty() {
                if !filter.shows(&c) {
                    hidden += 1;
                    continue;
                }
                shown.push(c.stream);
            }
            let attempt = attempt_of
                .get(&c.stream)
                .copied()
                .unwrap_or(u64::MAX - c.stream);
            match &mut recs {
                Some(r) => {
                    if let Err(e) = r.add(c, attempt) {
                        spill_error.get_or_insert(e);
                    }
                }
                None => kept.push(c),
            }
        }
        report.connections = kept;
        report.filtered_out += hidden;
        if let Some(a) = &mut report.attempts {
            filter.attempts(a, &shown);
        }
        filter.neighbour_attempts(&mut report.neighbour_attempts, &shown);
        FileOut {
            report,
            records: recs,
            html: None,
            spill_error,
        }
    }
}

/// What was read from the JSON Lines, and how many problems were told.
pub struct Read {
    pub files: Vec<MergedFile>,
    pub problems: u64,
    /// Some input was written with `--redact`.
    pub redacted: Option<String>,
}

/// Read the JSON Lines `inputs` (`-`: standard input), telling problems on
/// `err`.
pub fn read(inputs: &[String], err: &mut dyn Write) -> Read {
    let mut groups: Vec<((u64, usize, usize), Group)> = Vec::new();
    let mut problems = 0u64;
    let mut redacted = None;
    let mut tell = |err: &mut dyn Write, name: &str, line: Option<u64>, why: &str| {
        problems += 1;
        let at = line.map(|l| format!(" line {l}")).unwrap_or_default();
        let _ = writeln!(
            err,
            "rdptriage: {}:{at}: {}",
            escape_unsafe(name),
            escape_unsafe(why)
        );
    };
    for (n, name) in inputs.iter().enumerate() {
        let reader: Box<dyn BufRead> = if name == "-" {
            Box::new(io::BufReader::new(io::stdin()))
        } else {
            match std::fs::File::open(name) {
                Ok(f) => Box::new(io::BufReader::new(f)),
                Err(e) => {
                    tell(err, name, None, &format!("cannot open: {e}"));
                    continue;
                }
            }
        };
        let mut open: Option<Group> = None;
        let mut close = |g: Group, groups: &mut Vec<_>| {
            let key = (g.input_index(), n, groups.len());
            if g.redacted() && redacted.is_none() {
                redacted = Some(name.clone());
            }
            groups.push((key, g));
        };
        for (line, text) in (1u64..).zip(reader.lines()) {
            let text = match text {
                Ok(t) => t,
                Err(e) => {
                    tell(err, name, Some(line), &format!("cannot read: {e}"));
                    break;
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let rec = match parse(&text) {
                Ok(r) => r,
                Err(why) => {
                    tell(err, name, Some(line), &why);
                    continue;
                }
            };
            let path = rec.file().to_string();
            if open.as_ref().is_some_and(|g| g.path != path || g.closed()) {
                if let Some(g) = open.take() {
                    match g.not_whole() {
                        Some(why) => tell(err, name, Some(g.start.1), &why),
                        None => close(g, &mut groups),
                    }
                }
            }
            let g = open.get_or_insert_with(|| Group::new(&path, (n, line)));
            rec.add_to(g);
        }
        if let Some(g) = open.take() {
            match g.not_whole() {
                Some(why) => tell(err, name, Some(g.start.1), &why),
                None => close(g, &mut groups),
            }
        }
    }
    groups.sort_by_key(|(k, _)| *k);
    Read {
        files: groups.into_iter().map(|(_, g)| g.finish()).collect(),
        problems,
        redacted,
    }
}

/// One record read.
enum Record {
    Connection(String, Box<ConnectionReport>),
    Attempt(String, Box<NeighbourAttempt>),
    Error(String, ErrorLine),
    Ignored(String, IgnoredLine),
    File(String, Box<FileLine>),
}

impl Record {
    fn file(&self) -> &str {
        match self {
            Record::Connection(f, _)
            | Record::Attempt(f, _)
            | Record::Error(f, _)
            | Record::Ignored(f, _)
            | Record::File(f, _) => f,
        }
    }

    fn add_to(self, g: &mut Group) {
        match self {
            Record::Connection(_, c) => g.connections.push(*c),
            Record::Attempt(_, a) => g.attempts.push(*a),
            Record::Error(_, e) => g.error = Some(e),
            Record::Ignored(_, i) => g.ignored = Some(i),
            Record::File(_, f) => g.file = Some(*f),
        }
    }
}

/// A line of rdptriage JSON Lines, or why it is not one.
fn parse(text: &str) -> Result<Record, String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("not rdptriage JSON Lines: not JSON ({e})"))?;
    let kind = v
        .get("record")
        .and_then(Value::as_str)
        .ok_or("not rdptriage JSON Lines: no `record` field")?
        .to_string();
    match v.get("schema_version").and_then(Value::as_u64) {
        Some(n) if n == u64::from(SCHEMA_VERSION) => {}
        other => {
            return Err(format!(
                "`schema_version` is {}, this version reads {SCHEMA_VERSION}",
                other.map_or("missing".to_string(), |n| n.to_string())
            ))
        }
    }
    let file = v
        .get("file")
        .and_then(Value::as_str)
        .ok_or("not rdptriage JSON Lines: no `file` field")?
        .to_string();
    let bad = |e: serde_json::Error| format!("a `{kind}` record that does not parse: {e}");
    Ok(match kind.as_str() {
        RECORD_CONNECTION => {
            let mut c: ConnectionReport = serde_json::from_value(v).map_err(bad)?;
            c.labels = StepLabels::of(&c);
            Record::Connection(file, Box::new(c))
        }
        RECORD_ATTEMPT => Record::Attempt(file, Box::new(serde_json::from_value(v).map_err(bad)?)),
        RECORD_ERROR => Record::Error(file, serde_json::from_value(v).map_err(bad)?),
        RECORD_IGNORED => Record::Ignored(file, serde_json::from_value(v).map_err(bad)?),
        RECORD_FILE => Record::File(file, Box::new(serde_json::from_value(v).map_err(bad)?)),
        other => return Err(format!("record kind `{other}` unknown to this version")),
    })
}

/// The options of an analysis that `report` has no use for.
pub fn analysis_only(args: &Args) -> Option<&'static str> {
    if args.shard.is_some() {
        Some("--shard")
    } else if args.files_from.is_some() {
        Some("--files-from")
    } else if !args.keylog.is_empty() {
        Some("--keylog")
    } else if !args.rsa_key.is_empty() {
        Some("--rsa-key")
    } else if !args.ports.is_empty() {
        Some("--port")
    } else if !args.gateway.is_empty() {
        Some("--gateway")
    } else {
        None
    }
}
