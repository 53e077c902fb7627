//! Streamed output: a file's connections rendered one at a time, as they
//! are diagnosed, into a [`Spill`] (memory up to a bound, then an
//! anonymous temporary file), with the few counts the records around them
//! need. The command line writes a file's head, its spilled connections
//! and its tail when the file's turn comes, so no format that allows it
//! keeps a file's connections in memory.

use super::model::{self, ConnectionReport, FileReport, OutcomeCounts, TotalsAcc};
use super::{records, Format};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

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
        match &mut self.file {
            None => out.write_all(&self.mem),
            Some((w, _)) => {
                w.flush()?;
                let f = w.get_mut();
                f.seek(SeekFrom::Start(0))?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    out.write_all(buf.get(..n).unwrap_or(&[]))?;
                }
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

/// A new temporary file, already unlinked on Unix.
fn temp_file() -> io::Result<(BufWriter<File>, std::path::PathBuf)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".rdptriage-{}-{n}.spill", std::process::id()));
        match File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                if cfg!(unix) {
                    let _ = std::fs::remove_file(&path);
                }
                return Ok((BufWriter::with_capacity(1 << 16, f), path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a temporary file"))
}

/// The connections of one file in a streamed format (JSON Lines, CSV, or
/// the JSON document's `connections` array), and what the records around
/// them need: their number, outcomes and totals.
#[derive(Debug)]
pub struct FileRecords {
    format: Format,
    path: String,
    pub connections: usize,
    pub outcomes: OutcomeCounts,
    pub totals: TotalsAcc,
    body: Spill,
    text: String,
}

/// The formats [`FileRecords`] renders.
pub fn streams_records(format: Format) -> bool {
    matches!(format, Format::Jsonl | Format::Csv | Format::Json)
}

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
            text: String::new(),
        }
    }

    /// Render one more connection.
    pub fn add(&mut self, c: &ConnectionReport) -> io::Result<()> {
        self.text.clear();
        match self.format {
            Format::Jsonl => records::jsonl_connection(&mut self.text, &self.path, c),
            Format::Csv => records::csv_row(&mut self.text, &self.path, c),
            _ => {
                if self.connections > 0 {
                    self.text.push_str(",\n");
                }
                let json = serde_json::to_string_pretty(c).map_err(io::Error::other)?;
                indent(&mut self.text, &json, JSON_CONNECTION_INDENT);
            }
        }
        self.connections += 1;
        self.outcomes.add(&c.outcome);
        self.totals.connection(c);
        self.body.write(self.text.as_bytes())
    }

    /// Whether the connections went to a temporary file.
    pub fn spilled(&self) -> bool {
        self.body.spilled()
    }

    /// Write the file's records: `f` is its report without connections.
    pub fn write_to(&mut self, f: &FileReport, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                out.write_all(records::jsonl_head(f, self.connections).as_bytes())?;
                self.body.copy_to(out)?;
                let tail = records::jsonl_tail(f, self.connections, self.outcomes.clone());
                out.write_all(tail.as_bytes())
            }
            Format::Csv => self.body.copy_to(out),
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
