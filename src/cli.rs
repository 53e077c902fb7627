//! The command line: arguments, the inputs (files, directories, glob
//! patterns, `--files-from` lists, `--shard`), the parallel run over files,
//! printing and the exit code. `main.rs` only calls [`main_from_env`].
//!
//! Files run in parallel on one rayon pool of `--threads` threads, and so
//! do the connections inside a file. Results are handed over in input
//! order ([`ordered`]), so the output does not depend on the number of
//! threads. Each connection is turned into its report record on the
//! worker as soon as its attempt grouping makes its verdict final, and its
//! timeline dropped there. JSON Lines, CSV, the JSON document, the
//! summary, Markdown and the table (on a terminal or not) render that
//! record at once into a spill (memory, then a temporary file), or keep it
//! whole in one under `--redact` (redacted and rendered on the output
//! thread when the file's turn comes), and are printed file by file as
//! soon as a file and all before it are done; JSON Lines (not redacted)
//! of the file whose turn has come skip the spill and go to the output
//! as they come (`ordered::run_ordered_parts`). HTML and `--ladder` keep
//! the records and print one document at the end.
//!
//! Exit codes: 0 no failed connection; 1 at least one failed connection;
//! 2 an input could not be analysed (not opened, not a capture, read
//! incompletely), no input file at all (an empty directory or list: "no
//! capture files found in ...", never a silent clean run) or bad
//! arguments. 2 wins over 1. A file found rather than
//! named (met while walking a directory, or matched by a glob pattern)
//! that is not a capture (or is empty) and is not named like one (`.pcap`,
//! `.pcapng`, `.cap`, `.ntar`, optionally `.gz`/`.zst`) is listed as
//! skipped and does not make the exit code 2: archives hold notes and
//! checksums beside their captures, while a `.pcap` that is not one is
//! damage worth an error.
//!
//! Every format but the table carries each file's SHA-256: the file is hashed
//! while the analysis reads it (a hashing reader), so standard input is
//! hashed too and nothing is read twice. When the capture reader stopped
//! before the end (not a capture, damage), nothing more is read and the
//! hash is not given: the input may be endless (`/dev/zero`).
//!
//! Every message on standard error starts with `rdptriage: `, with control
//! characters of file names escaped. A file's error is said there unless
//! the table report is on the same terminal, whose file block tells it.

mod inputs;
pub mod interrupt;
mod merge;
mod ordered;
mod output;
mod progress;
mod render;
#[cfg(test)]
mod stream_tests;

pub use inputs::{
    display_path, expand, expand_with_lists, fnv1a64, parse_shard, read_list, Item, Origin, Shard,
};
pub use ordered::run_ordered;
use ordered::{run_ordered_parts, Handed, Parts};
pub use progress::Progress;

use crate::analyze::{self, ConnectionResult, FileResult, Options};
use crate::capture::OpenError;
use crate::diagnose::attempts::{Grouper, Member};
use crate::diagnose::{group_attempts, Attempt, Diagnosis, Outcome};
use crate::flow::FlowStats;
use crate::proto::decrypt::keys::{self as tls_keys, Keys};
use crate::report::filter::{self, AddrMatch, Filter};
use crate::report::html_stream::{HtmlPage, HtmlRecords};
use crate::report::model::{self, FileReport};
use crate::report::redact::Redactor;
use crate::report::stream::{self, FileRecords};
use crate::report::text::escape_unsafe;
use crate::report::{self, Format, Input, ReportOptions, TermStyle};
use crate::timeline::Timeline;
use clap::{Parser, ValueEnum};
use progress::Counting;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};

/// Exit code: nothing failed.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one connection failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: an input could not be analysed, or bad arguments.
pub const EXIT_ERROR: i32 = 2;

/// Says why RDP connections in packet captures failed.
#[derive(Debug, Parser)]
#[command(
    name = "rdptriage",
    version,
    about,
    long_about = None,
    after_help = "rdptriage report [OPTIONS] FILE.jsonl... prints JSON Lines written by rdptriage (one run, or its --shard parts in any order; - for standard input) in any --format, as one run over the same files prints them."
)]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally gzip- or zstd-compressed),
    /// directories (walked recursively, sorted by name) or quoted glob
    /// patterns (`'archive/**/*.pcap*'`); `-` reads standard input.
    #[arg(
        value_name = "FILE",
        required_unless_present_any = ["files_from", "explain_client_error", "print_causes_md"]
    )]
    pub files: Vec<String>,

    /// Also read the inputs listed in FILE, one per line (`-`: standard
    /// input), after those on the command line.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<String>,

    /// Analyse only part K of N of the inputs (1 <= K <= N), chosen by a
    /// stable hash of each file's path, to spread an archive over N runs.
    /// `auto` (or `auto/N`) reads the part from a Kubernetes Indexed Job,
    /// a Slurm job array or an AWS Batch array job.
    #[arg(long, value_name = "K/N|auto", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Also analyse TCP connections on this port (repeatable; 3389 always).
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,

    /// Threads for the analysis (default: one per CPU; at most 4 per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,

    /// When to colour the table: `auto` (on a terminal, unless NO_COLOR is
    /// set or TERM is dumb; CLICOLOR_FORCE forces it), `always` (also into
    /// a pipe, for `less -R`), `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// The same as `--color never`.
    #[arg(long)]
    pub no_color: bool,

    /// Replace addresses, user, host and certificate names with stable pseudonyms.
    #[arg(long)]
    pub redact: bool,

    /// Bytes reassembled per direction of a connection (e.g. 1048576, 512KiB, 4MiB).
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = parse_size)]
    pub depth_cap: usize,

    /// An NSS key log (SSLKEYLOGFILE: CLIENT_RANDOM and the TLS 1.3 traffic
    /// secrets): decrypts the TLS of the connections it has lines for.
    /// Repeatable.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylog: Vec<std::path::PathBuf>,

    /// A server's RSA private key (PEM, PKCS#1 or PKCS#8): decrypts the
    /// connections with an RSA-key-exchange suite whose server certificate
    /// has its public key. Repeatable.
    #[arg(long = "rsa-key", value_name = "FILE")]
    pub rsa_key: Vec<std::path::PathBuf>,

    /// An RD Gateway the client connects through, HOST[:PORT] (an address
    /// or a name; port 443 by default): connections to it are analysed as
    /// gateway connections (a name matches through the capture's DNS
    /// answers, the TLS SNI or the certificate). Repeatable.
    #[arg(long = "gateway", value_name = "HOST[:PORT]")]
    pub gateway: Vec<crate::diagnose::gateway::GatewaySpec>,

    /// Only failed connections and problems (table format); no progress bar.
    #[arg(short, long)]
    pub quiet: bool,

    /// Say what a Windows client error code means and which verdicts
    /// produce it, then exit: `0x904` (disconnect reason), `0x904/0x7`
    /// (with the extended reason) or `ext:0x7` (extended reason only).
    #[arg(long, value_name = "CODE", conflicts_with_all = ["files", "files_from", "print_causes_md"])]
    pub explain_client_error: Option<String>,

    /// Print docs/causes.md (every cause, what the wire shows, what the
    /// user saw, what to do, the source), generated from the remedy table,
    /// then exit.
    #[arg(long, conflicts_with_all = ["files", "files_from"])]
    pub print_causes_md: bool,

    /// Write the report to FILE instead of standard output (any format),
    /// atomically: a temporary file beside it, renamed when complete.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,

    /// Show only the connections with this outcome: failed, incomplete,
    /// established, benign, not_rdp (repeatable, or a comma list).
    #[arg(long = "only", value_name = "OUTCOME", value_delimiter = ',', value_parser = filter::parse_outcome)]
    pub only: Vec<Outcome>,

    /// Show only the connections to this server: an address (any port),
    /// `ADDR:PORT` (`[v6]:PORT`) or a CIDR prefix (repeatable, or a comma list).
    #[arg(long = "server", value_name = "ADDR", value_delimiter = ',', value_parser = filter::parse_addr)]
    pub server: Vec<AddrMatch>,

    /// Show only the connections from this client (as `--server`).
    #[arg(long = "client", value_name = "ADDR", value_delimiter = ',', value_parser = filter::parse_addr)]
    pub client: Vec<AddrMatch>,

    /// Show only the connection(s) with this `tcp.stream` number, as
    /// Wireshark numbers them (repeatable, or a comma list).
    #[arg(long = "stream", value_name = "N", value_delimiter = ',')]
    pub stream: Vec<u64>,

    /// Print, instead of the report, the ladder of connection STREAM
    /// (Wireshark's tcp.stream) as plain text: one per file that has it.
    #[arg(long, value_name = "STREAM")]
    pub ladder: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Header, table and paragraphs per file, totals at the end.
    Table,
    /// One JSON document (docs/json-schema.md).
    Json,
    /// A report to paste into a ticket.
    Markdown,
    /// One JSON object per line (connections, unreadable files), streamed.
    Jsonl,
    /// One row per connection, streamed.
    Csv,
    /// One self-contained HTML page with each connection's ladder drawn.
    Html,
    /// One line per file (`key=value`: packets, connections, outcomes,
    /// the worst verdict and its cause, the error), streamed.
    Summary,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Csv => Format::Csv,
            FormatArg::Html => Format::Html,
            FormatArg::Summary => Format::Summary,
        }
    }
}

/// A byte count with an optional binary suffix: `k`/`KiB`, `M`/`MiB`,
/// `G`/`GiB` (case-insensitive, `B`/`KB`/`MB` accepted as binary too).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("`{s}` is not a byte count"));
    }
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is too large"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit `{other}` (use KiB, MiB or GiB)")),
    };
    let v = n
        .checked_mul(mult)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| format!("`{s}` is too large"))?;
    if v == 0 {
        return Err("the depth cap must be at least 1 byte".to_string());
    }
    Ok(v)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// Width of the report when standard output is not a terminal (and
/// `COLUMNS` says nothing): wide enough for the seven-column table of
/// IPv4 connections, narrow enough to read in a ticket or a mail.
const PIPE_WIDTH: usize = 100;

/// What the environment says about colours and terminals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
    /// NO_COLOR is set to a non-empty value.
    pub no_color_env: bool,
    /// CLICOLOR_FORCE is set to a value other than `0`.
    pub clicolor_force: bool,
    /// TERM is `dumb`: a terminal that shows escape codes as text.
    pub term_dumb: bool,
    /// The terminal's columns (standard output), else `COLUMNS`.
    pub columns: Option<usize>,
}

impl Terminal {
    pub fn detect() -> Self {
        Terminal {
            stdout_is_terminal: io::stdout().is_terminal(),
            stderr_is_terminal: io::stderr().is_terminal(),
            no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            clicolor_force: std::env::var_os("CLICOLOR_FORCE")
                .is_some_and(|v| !v.is_empty() && v != "0"),
            term_dumb: std::env::var_os("TERM").is_some_and(|v| v == "dumb"),
            columns: comfy_table::Table::new()
                .width()
                .filter(|_| io::stdout().is_terminal())
                .map(usize::from)
                .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok()),
        }
    }

    /// Whether the table is coloured (`--color`, then the environment:
    /// NO_COLOR wins over CLICOLOR_FORCE, as both conventions ask).
    fn colour(&self, args: &Args) -> bool {
        match (args.color, args.no_color) {
            (_, true) | (ColorArg::Never, _) => false,
            (ColorArg::Always, _) => true,
            (ColorArg::Auto, _) if self.no_color_env => false,
            (ColorArg::Auto, _) if self.clicolor_force => true,
            (ColorArg::Auto, _) => self.stdout_is_terminal && !self.term_dumb,
        }
    }

    /// Columns to fit the report into.
    fn width(&self) -> usize {
        self.columns.filter(|&c| c > 0).unwrap_or(PIPE_WIDTH)
    }
}

/// Parse the process arguments, run, and return the exit code.
pub fn main_from_env() -> i32 {
    main_from(std::env::args_os())
}

/// Parse the given arguments (the first is the program name), run, and
/// return the exit code. Usage errors exit 2; `--help` and `--version` 0.
pub fn main_from<I, T>(argv: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    // `rdptriage report FILE.jsonl...`: a capture named `report` is
    // still analysed as `./report`.
    let report = argv.get(1).is_some_and(|a| a == "report");
    let parsed = if report {
        let rest = argv.iter().skip(2).cloned();
        Args::try_parse_from(std::iter::once(OsString::from("rdptriage report")).chain(rest))
    } else {
        Args::try_parse_from(argv)
    };
    match parsed {
        Ok(args) if report => run_with(args, execute_report),
        Ok(args) => run(args),
        Err(e) => {
            if e.use_stderr() {
                // One prefix for every message: `rdptriage: ...`, also for
                // the usage errors clap words.
                let text = e.render().to_string();
                let text = text.strip_prefix("error: ").unwrap_or(&text);
                eprint!("rdptriage: {text}");
                EXIT_ERROR
            } else {
                let _ = e.print();
                EXIT_OK
            }
        }
    }
}

/// Run with the process's standard output (or `-o FILE`), error and
/// terminal.
pub fn run(args: Args) -> i32 {
    run_with(args, execute)
}

/// What runs with the outputs: the analysis ([`execute`]) or
/// `rdptriage report` ([`execute_report`]).
type Exec = fn(&Args, Terminal, &mut dyn Write, &mut dyn Write) -> i32;

fn run_with(args: Args, exec: Exec) -> i32 {
    interrupt::install();
    let term = Terminal::detect();
    if let Some(path) = &args.output {
        // A file is no terminal: no colours, no terminal widths.
        let term = Terminal {
            stdout_is_terminal: false,
            columns: None,
            ..term
        };
        let mut err = io::stderr();
        return output::write_atomically(path, &mut io::stderr(), |out| {
            exec(&args, term, out, &mut err)
        });
    }
    let stdout = io::stdout();
    // Standard error is not locked for the run: the progress bar draws on
    // it from the worker threads, and would wait for the lock forever.
    exec(&args, term, &mut stdout.lock(), &mut io::stderr())
}

fn out_flush(sink: &mut Sink<'_>) -> io::Result<()> {
    sink.out.flush()
}

/// Where the report goes, and whether writing it still works. A closed
/// pipe (`| head`) stops the run quietly; any other failure (a full disk,
/// `/dev/full`, an I/O error) stops it with a message and exit code 2.
struct Sink<'a> {
    out: &'a mut dyn Write,
    closed: bool,
    failed: Option<io::Error>,
}

impl Sink<'_> {
    fn ok(&self) -> bool {
        !self.closed && self.failed.is_none()
    }

    /// Write and flush `bytes`; false when writing is over.
    fn write(&mut self, bytes: &[u8]) -> bool {
        self.write_with(|o| o.write_all(bytes))
    }

    /// Write with `w` (whole records, not cut by Ctrl-C) and flush; false
    /// when writing is over.
    fn write_with(&mut self, w: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> bool {
        if !self.ok() {
            return false;
        }
        let _whole = interrupt::writing();
        if interrupt::interrupted() {
            return false;
        }
        match w(&mut *self.out).and_then(|_| self.out.flush()) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                false
            }
            Err(e) => {
                self.failed = Some(e);
                false
            }
        }
    }
}

/// Analyse one input, hashing it if asked. Returns the result and the
/// SHA-256 (lower-case hex) of the bytes read, when the whole input could
/// be read.
pub fn analyze_input(path: &str, opts: &Options, hash: bool) -> (FileResult, Option<String>) {
    let item = Item {
        path: path.into(),
        display: path.to_string(),
        origin: Origin::Named,
        problem: None,
    };
    analyze_item(&item, opts, hash, &Progress::hidden())
}

fn unopened(path: &str, e: io::Error) -> FileResult {
    FileResult {
        path: path.to_string(),
        read: Err(OpenError::Io(e)),
        skipped: Default::default(),
        flow: FlowStats::default(),
        connections: Vec::new(),
        capture_key_logs: Vec::new(),
        side: Default::default(),
    }
}

/// Analyse one item of the input list, telling `progress` about the bytes
/// read and the file done.
pub fn analyze_item(
    item: &Item,
    opts: &Options,
    hash: bool,
    progress: &Progress,
) -> (FileResult, Option<String>) {
    let mut connections = Vec::new();
    let (mut r, sha) = analyze_item_with(item, opts, hash, progress, &mut |c| connections.push(*c));
    r.connections = connections;
    (r, sha)
}

/// [`analyze_item`], handing each connection to `emit` in stream order as
/// soon as it is diagnosed (the result's `connections` stays empty).
pub fn analyze_item_with(
    item: &Item,
    opts: &Options,
    hash: bool,
    progress: &Progress,
    emit: &mut dyn FnMut(Box<ConnectionResult>),
) -> (FileResult, Option<String>) {
    let name = item.display.as_str();
    if let Some(p) = &item.problem {
        progress.file_done(0);
        return (
            unopened(name, io::Error::new(p.kind, p.message.clone())),
            None,
        );
    }
    if item.is_stdin() {
        let stdin = io::stdin();
        let hidden = Progress::hidden();
        let counted = Counting {
            inner: stdin.lock(),
            progress: &hidden,
            count: 0,
        };
        let r = analyze_counted(name, counted, opts, hash, emit);
        progress.file_done(0);
        return r;
    }
    match std::fs::File::open(&item.path) {
        Ok(f) => {
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let mut c = Counting {
                inner: f,
                progress,
                count: 0,
            };
            let r = analyze_counted(name, &mut c, opts, hash, emit);
            progress.file_done(size.saturating_sub(c.count));
            r
        }
        Err(e) => {
            progress.file_done(0);
            (unopened(name, e), None)
        }
    }
}

fn analyze_counted<R: Read>(
    name: &str,
    src: R,
    opts: &Options,
    hash: bool,
    emit: &mut dyn FnMut(Box<ConnectionResult>),
) -> (FileResult, Option<String>) {
    if hash {
        analyze_hashed_with(name, src, opts, emit)
    } else {
        (analyze::analyze_streaming(name, src, opts, emit).0, None)
    }
}

/// Group a file's connections into attempts (retries between the same
/// client and server) and apply the verdicts the grouping corrects (a
/// short NLA connection followed by the real one is the client's
/// credential pre-check, and the like). Exit codes and reports then see
/// the corrected verdicts.
pub fn group_and_relabel(r: &mut FileResult) -> Vec<Attempt> {
    let items: Vec<(&Timeline, &Diagnosis)> = r
        .connections
        .iter()
        .map(|c| (&c.timeline, &c.diagnosis))
        .collect();
    let attempts = group_attempts(&items);
    let index: std::collections::HashMap<u64, usize> = r
        .connections
        .iter()
        .enumerate()
        .map(|(i, c)| (c.timeline.stream, i))
        .collect();
    for rl in attempts.iter().flat_map(|a| &a.relabels) {
        if let Some(c) = index
            .get(&rl.stream)
            .and_then(|&i| r.connections.get_mut(i))
        {
            // Applied once, even if the analysis already applied it.
            if !c.diagnosis.caveats.contains(&rl.note) {
                c.diagnosis = rl.apply(&c.diagnosis);
            }
        }
    }
    attempts
}

/// A reader that hashes what passes through it. The hashing runs on a
/// thread of its own, fed the bytes read through a bounded channel: SHA-256
/// costs about as much CPU as reading and parsing a capture, and would
/// otherwise slow the reading thread (and so the analysis of one large
/// file) by as much.
struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    failed: bool,
    /// The end of the input was reached.
    at_end: bool,
}

/// SHA-256 on a thread of its own.
struct Hasher {
    /// Chunks to hash; None once finished.
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<Sha256>>,
    /// Hashing on this thread, when no thread could be started.
    inline: Option<Sha256>,
}

/// Chunks waiting to be hashed: bounds the memory the hasher may lag
/// behind by (a read is at most a buffer of a few hundred KiB).
const HASH_QUEUE: usize = 16;

impl Hasher {
    fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
        let thread = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                let mut h = Sha256::new();
                for chunk in rx {
                    h.update(&chunk);
                }
                h
            })
            .ok();
        match thread {
            Some(t) => Hasher {
                tx: Some(tx),
                thread: Some(t),
                inline: None,
            },
            None => Hasher {
                tx: None,
                thread: None,
                inline: Some(Sha256::new()),
            },
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.inline {
            h.update(bytes);
        } else if let Some(tx) = &self.tx {
            if tx.send(bytes.to_vec()).is_err() {
                self.tx = None;
            }
        }
    }

    /// The digest, lower-case hex (None if the hashing thread failed).
    fn finish(mut self) -> Option<String> {
        if let Some(h) = self.inline.take() {
            return Some(hex(&h.finalize()));
        }
        let sent = self.tx.take().is_some();
        let h = self.thread.take()?.join().ok()?;
        sent.then(|| hex(&h.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.at_end |= n == 0 && !buf.is_empty();
                self.hasher.update(buf.get(..n).unwrap_or(&[]));
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.failed = true;
                }
                Err(e)
            }
        }
    }
}

/// Analyse while hashing what the analysis reads. The hash is given only
/// when the analysis read the input to its end: after a rejection or
/// damage nothing more is read (the input may be endless, `/dev/zero`),
/// and the report says the hash was not computed.
#[cfg(test)]
fn analyze_hashed<R: Read>(path: &str, src: R, opts: &Options) -> (FileResult, Option<String>) {
    let mut connections = Vec::new();
    let (mut r, sha) = analyze_hashed_with(path, src, opts, &mut |c| connections.push(*c));
    r.connections = connections;
    (r, sha)
}

fn analyze_hashed_with<R: Read>(
    path: &str,
    src: R,
    opts: &Options,
    emit: &mut dyn FnMut(Box<ConnectionResult>),
) -> (FileResult, Option<String>) {
    let mut hr = HashingReader {
        inner: src,
        hasher: Hasher::new(),
        failed: false,
        at_end: false,
    };
    let result = analyze::analyze_streaming(path, &mut hr, opts, emit).0;
    // A capture read completely may leave a few bytes unread (a gzip
    // reader stops at its trailer): those are hashed; after a rejection or
    // damage nothing more is read.
    if result.complete() && !hr.at_end && !hr.failed {
        let _ = io::copy(&mut hr, &mut io::sink());
    }
    let whole = hr.at_end && !hr.failed;
    let sha = hr.hasher.finish().filter(|_| whole);
    (result, sha)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The connections the arguments ask to show.
pub fn connection_filter(args: &Args) -> Filter {
    Filter {
        outcomes: args.only.clone(),
        servers: args.server.clone(),
        clients: args.client.clone(),
        streams: args.stream.clone(),
    }
}

/// The analysis options the arguments ask for.
pub fn options(args: &Args) -> Options {
    let mut ports = vec![3389u16];
    for p in &args.ports {
        if !ports.contains(p) {
            ports.push(*p);
        }
    }
    Options {
        ports,
        depth_cap: args.depth_cap,
        // One budget of reassembled bytes for the whole run, whatever the
        // number of files and threads.
        shared_budget: Some(Default::default()),
        gateways: args.gateway.clone(),
        ..Options::default()
    }
}

/// Read the key logs and RSA keys named by `--keylog` and `--rsa-key`
/// (None when there are none: nothing is decrypted). A file that cannot
/// be read, or an RSA key that does not parse, is an error naming it; a
/// key log's skipped lines are counted on standard error.
fn load_keys(args: &Args, err: &mut dyn Write) -> Result<Option<std::sync::Arc<Keys>>, ()> {
    if args.keylog.is_empty() && args.rsa_key.is_empty() {
        return Ok(None);
    }
    let mut keys = Keys::default();
    for path in &args.keylog {
        let name = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| {
            let _ = writeln!(err, "rdptriage: --keylog {}: {e}", escape_unsafe(&name));
        })?;
        let st = keys.add_key_log(
            &String::from_utf8_lossy(&text),
            tls_keys::Origin::File(name.clone()),
        );
        let _ = writeln!(err, "rdptriage: --keylog {}: {}", escape_unsafe(&name), st);
    }
    for path in &args.rsa_key {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            let _ = writeln!(err, "rdptriage: --rsa-key {}: {e}", escape_unsafe(&name));
        })?;
        keys.add_rsa_pem(&text, tls_keys::Origin::File(name.clone()))
            .map_err(|e| {
                let _ = writeln!(err, "rdptriage: --rsa-key {}: {e}", escape_unsafe(&name));
            })?;
    }
    Ok(Some(std::sync::Arc::new(keys)))
}

/// The exit code for a set of results (files named by the user).
pub fn exit_code(results: &[FileResult]) -> i32 {
    if results.iter().any(|r| !r.complete()) {
        EXIT_ERROR
    } else if results.iter().any(|r| {
        r.connections
            .iter()
            .any(|c| c.diagnosis.outcome == Outcome::Failed)
    }) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// The exit code, gathered file by file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCode {
    error: bool,
    failed: bool,
}

impl ExitCode {
    /// Take a file's report into account.
    pub fn note(&mut self, f: &FileReport) {
        self.error |= f.error.is_some();
        self.failed |= f
            .connections
            .iter()
            .any(|c| c.outcome == Outcome::Failed.name());
    }

    pub fn code(self) -> i32 {
        if self.error {
            EXIT_ERROR
        } else if self.failed {
            EXIT_FAILED
        } else {
            EXIT_OK
        }
    }
}

/// The stderr line for a file that could not be analysed (whole or part).
pub fn error_message(r: &FileResult) -> Option<String> {
    let e = report::model::file_error(&r.read)?;
    Some(format!(
        "rdptriage: {}: {}",
        escape_unsafe(&r.path),
        escape_unsafe(&report::text::error_line(&e))
    ))
}

/// Where the inputs were looked for, for "no capture files found in ...":
/// the inputs named and the `--files-from` list.
fn where_looked(args: &Args) -> String {
    let mut places: Vec<String> = args.files.clone();
    match args.files_from.as_deref() {
        Some("-") => places.push("the list on standard input (--files-from -)".to_string()),
        Some(list) => places.push(format!("the list {list} (--files-from)")),
        None => {}
    }
    places.join(", ")
}

/// The list of files the arguments name, after expansion, without
/// repeats, and only this shard's. An `Err` is a usage error.
pub fn input_list(args: &Args) -> Result<Vec<Item>, String> {
    Ok(input_list_indexed(args)?
        .into_iter()
        .map(|(_, it)| it)
        .collect())
}

/// [`input_list`], each file with its place in the whole list (before
/// `--shard` kept a part of it): the order of a run over every part.
pub fn input_list_indexed(args: &Args) -> Result<Vec<(u64, Item)>, String> {
    let all: Vec<OsString> = args.files.iter().map(OsString::from).collect();
    let mut listed: Vec<OsString> = Vec::new();
    if let Some(list) = &args.files_from {
        let lines = if list == "-" {
            if args.files.iter().any(|f| f == "-") {
                return Err(
                    "standard input cannot be both the list of files (--files-from -) and a capture (-)"
                        .to_string(),
                );
            }
            read_list(io::stdin().lock())
        } else {
            std::fs::File::open(list).and_then(|f| read_list(io::BufReader::new(f)))
        };
        let lines = lines.map_err(|e| format!("cannot read the list of files {list}: {e}"))?;
        if list == "-" && lines.iter().any(|l| l == "-") {
            return Err(
                "standard input cannot be both the list of files (--files-from -) and a capture (-)"
                    .to_string(),
            );
        }
        listed = lines;
    }
    let mut items = expand_with_lists(&all, &listed)?;
    if items.is_empty() {
        // Nothing to analyse is no clean bill of health: a wrong mount
        // path or an empty list must not read as "no failures". (A shard
        // may well hold none of the files found: that is no error.)
        return Err(format!("no capture files found in {}", where_looked(args)));
    }
    let mut items: Vec<(u64, Item)> = (0..).zip(items.drain(..)).collect();
    if let Some(shard) = &args.shard {
        items.retain(|(_, it)| shard.holds(&it.display));
    }
    Ok(items)
}

/// A file's report and, when its connections were rendered as they came
/// (`records`), those records; the report's `connections` is then empty.
struct FileOut {
    report: FileReport,
    records: Option<FileRecords>,
    /// The connections kept for the HTML page (its `connections` is then
    /// empty).
    html: Option<HtmlRecords>,
    /// Writing the records to a temporary file failed.
    spill_error: Option<io::Error>,
}

/// How a file's connections are kept while they come.
#[derive(Clone, Copy, Default)]
struct Keep<'a> {
    /// Rendered as records of a streamed format.
    records: Option<stream::Streamed>,
    /// Kept for the HTML page.
    html: bool,
    /// Where JSON Lines go straight once the file's turn has come.
    outlet: Option<&'a (dyn stream::Outlet + Sync)>,
}

/// Analyse one item and turn it into its report (on a worker thread: the
/// timelines stay there). Each connection is grouped into its attempt,
/// corrected, and turned into its report record as soon as its verdict is
/// final; with `records` (a streamed format) the record is rendered at
/// once and only counts are kept. A panic in the analysis, which no input
/// should cause, becomes this file's error instead of ending the batch.
fn report_item(
    item: &Item,
    opts: &Options,
    hash: bool,
    progress: &Progress,
    filter: &Filter,
    keep: Keep<'_>,
) -> FileOut {
    let Keep {
        records,
        html,
        outlet,
    } = keep;
    let new_records = |r| new_records(&item.display, r);
    // Outside the analysis, so that after a panic the records already
    // written straight to the output are still counted.
    let mut recs = records.map(new_records);
    let run = || {
        let recs = &mut recs;
        let mut render = render::Render::new(filter, outlet, recs, html);
        // Rendering beside the analysis pays when a second thread may run.
        let beside = rayon::current_num_threads() > 1;
        // The grouper runs on the rendering side too: what the reading
        // thread does per connection ends with its diagnosis. A connection
        // is boxed once, when it is made, and only the box moves on; once
        // rendered it goes back to the reading thread to be freed where it
        // was made (`render::run`). (Boxed there and freed here, its
        // memory waited for the allocator to collect it across threads:
        // confirm-1m.pcap's peak RSS ran from 220 to 270 MiB, against 216
        // to 246 boxed here; BENCHMARKS.md.)
        let mut grouper: Grouper<Box<ConnectionResult>> = Grouper::new();
        let mut take = |c: Box<ConnectionResult>, spent: &mut Vec<Box<ConnectionResult>>| {
            let m = Member::of(&c.timeline, &c.diagnosis);
            grouper.push(m, c, &mut |c, rl, attempt| {
                render.take((c, rl, attempt), spent)
            });
        };
        let (r, sha) = render::run(&mut take, beside, |emit| {
            analyze_item_with(item, opts, hash, progress, emit)
        });
        let mut spent = Vec::new();
        let attempts = grouper.finish(&mut |c, rl, attempt| {
            render.take((c, rl, attempt), &mut spent);
            spent.clear();
        });
        render.pass_on();
        let render::Render {
            html,
            reports,
            shown,
            hidden,
            spill_error,
            ..
        } = render;
        let mut report = model::file_report(&Input {
            result: &r,
            sha256: sha.as_deref(),
            attempts: Some(&attempts),
            found: item.origin != Origin::Named,
        });
        report.connections = reports;
        report.filtered_out = hidden;
        if let Some(a) = &mut report.attempts {
            filter.attempts(a, &shown);
        }
        filter.neighbour_attempts(&mut report.neighbour_attempts, &shown);
        FileOut {
            report,
            records: recs.take(),
            html,
            spill_error,
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(f) => f,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let r = FileResult {
                read: Err(OpenError::Other(format!(
                    "internal error while analysing this file (please report it): {what}"
                ))),
                ..unopened(&item.display, io::Error::other(""))
            };
            // Its error record follows the records already written.
            let sent = recs.as_ref().map_or(0, FileRecords::sent);
            FileOut {
                report: model::file_report(&Input::new(&r)),
                records: records.map(new_records).map(|mut r| {
                    r.connections = sent;
                    r
                }),
                html: None,
                spill_error: None,
            }
        }
    }
}

/// The records of a file of a streamed format.
fn new_records(path: &str, how: stream::Streamed) -> FileRecords {
    FileRecords::of(path, how)
}

/// A file's JSON Lines go straight to the output once its turn has come.
impl stream::Outlet for Parts<'_, stream::Part, FileOut> {
    fn live(&self) -> bool {
        Parts::live(self)
    }
    fn send(&self, part: stream::Part) -> bool {
        Parts::send(self, part)
    }
}

/// `--threads` is capped at this many threads per CPU: more only adds
/// stacks and contention (and memory held by files under way).
pub const THREADS_PER_CPU: usize = 4;

/// The most threads `--threads` may ask for on `cpus` CPUs.
pub fn max_threads(cpus: usize) -> usize {
    THREADS_PER_CPU * cpus.max(1)
}

/// Run the analysis and print; the core of [`run`], with its outputs given.
pub fn execute(args: &Args, term: Terminal, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    execute_from(args, term, out, err, None)
}

/// `rdptriage report FILE.jsonl...`: print, in any format, the JSON
/// Lines of one run or of the shards of one ([`merge`]), as one run over
/// the same files prints them. Exit code as a run's, and 2 when a line
/// or an input could not be read.
pub fn execute_report(
    args: &Args,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if let Some(opt) = merge::analysis_only(args) {
        let _ = writeln!(
            err,
            "rdptriage: report: {opt} belongs to an analysis; report reads JSON Lines already written"
        );
        return EXIT_ERROR;
    }
    let read = merge::read(&args.files, err);
    if let Some(name) = &read.redacted {
        let _ = writeln!(
            err,
            "rdptriage: report: {} was written with --redact: each run numbers its pseudonyms on its own, so those of separate runs do not match; write the JSON Lines without --redact and give report --redact",
            escape_unsafe(name)
        );
        return EXIT_ERROR;
    }
    if read.files.is_empty() {
        let _ = writeln!(
            err,
            "rdptriage: report: no rdptriage JSON Lines records found in {}",
            escape_unsafe(&args.files.join(", "))
        );
        return EXIT_ERROR;
    }
    let problems = read.problems > 0;
    let code = execute_from(args, term, out, err, Some(read.files));
    if problems {
        EXIT_ERROR
    } else {
        code
    }
}

/// [`execute`] over the files of `merged` (`rdptriage report`: file
/// reports read back from JSON Lines, in the order of a single run)
/// instead of the analysis of the inputs: the same printing, so that a
/// merge of shards prints what one run over their files prints.
fn execute_from(
    args: &Args,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
    merged: Option<Vec<merge::MergedFile>>,
) -> i32 {
    if let Some(code) = &args.explain_client_error {
        return match report::causes::explain_client_error(code) {
            Ok(text) => {
                let _ = out.write_all(text.as_bytes());
                EXIT_OK
            }
            Err(e) => {
                let _ = writeln!(err, "rdptriage: {e}");
                EXIT_ERROR
            }
        };
    }
    if args.print_causes_md {
        let _ = out.write_all(report::causes::causes_markdown().as_bytes());
        return EXIT_OK;
    }
    let mut opts = options(args);
    match load_keys(args, err) {
        Ok(keys) => opts.keys = keys,
        Err(()) => return EXIT_ERROR,
    }
    // `--ladder` prints from the whole document, never streamed.
    let format: Format = match args.ladder {
        Some(_) => Format::Table,
        None => args.format.into(),
    };
    // Every format that prints the capture's SHA-256 has it computed
    // while the analysis reads the file (the table does not print it).
    let hash = format != Format::Table;
    let filter = connection_filter(args);

    let items = match &merged {
        Some(_) => Vec::new(),
        None => match input_list_indexed(args) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(err, "rdptriage: {}", escape_unsafe(&e));
                return EXIT_ERROR;
            }
        },
    };
    let n_files = merged.as_ref().map_or(items.len(), Vec::len);

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = args.threads {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let max = max_threads(cpus);
            let n = n as usize;
            if n > max {
                let _ = writeln!(
                    err,
                    "rdptriage: --threads {n} is more than {THREADS_PER_CPU} per CPU ({cpus} CPUs): using {max}"
                );
            }
            b = b.num_threads(n.min(max));
        }
        b.build()
    };
    let pool = match pool {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(err, "rdptriage: cannot start threads: {e}");
            return EXIT_ERROR;
        }
    };
    // A file under way keeps two threads busy (reading and diagnosing; its
    // rendering beside it, `render::run`): its batches are split over the
    // pool only when the pool has more. On two CPUs, splitting them made
    // JSON Lines of a million short connections slower (BENCHMARKS.md).
    opts.split_batches = pool.current_num_threads() > 2;

    let ropts = ReportOptions {
        format,
        style: TermStyle {
            color: term.colour(args),
            terminal: term.stdout_is_terminal,
            quiet: args.quiet,
            width: term.width(),
        },
        redact: args.redact,
    };
    let progress = progress_bar(args, term, &items);
    // A file's error is said once, where it belongs: in the table when the
    // table is on the terminal standard error goes to (the file's block
    // tells it), on standard error otherwise (logs, pipes, files).
    let errors_to_stderr = !(format == Format::Table
        && args.ladder.is_none()
        && term.stdout_is_terminal
        && term.stderr_is_terminal);
    let mut exit = ExitCode::default();
    let mut reports: Vec<FileReport> = Vec::new();
    let mut redactor = Redactor::new();
    let mut ignored = 0u64;
    let (mut shown_total, mut hidden_total) = (0usize, 0u64);
    // A closed pipe (`| head`) is not an error of the analysis; for a
    // streamed format it stops the run (no new file is started). Any other
    // write error stops it too, and is told.
    let mut sink = Sink {
        out,
        closed: false,
        failed: None,
    };
    let mut write_ok = true;
    if format.streams() {
        write_ok = sink.write(report::header(format).as_bytes());
    }
    // Rendered connection by connection on the workers; when redacting,
    // kept whole in a spill and rendered here (pseudonyms are given in
    // output order, on this thread). The table too, on a terminal or not,
    // coloured or not.
    let records =
        (stream::streams_records(format) && args.ladder.is_none()).then_some(stream::Streamed {
            format,
            style: ropts.style,
            redact: args.redact,
        });
    let json_streamed = records.is_some_and(|r| r.format == Format::Json);
    let table_streamed = records.is_some_and(|r| r.format == Format::Table);
    let md_streamed = records.is_some_and(|r| r.format == Format::Markdown);
    let mut totals = model::TotalsAcc::default();
    let mut files_written = 0usize;
    // The HTML page: each file's connections kept out of memory until
    // the page is written at the end.
    let html = format == Format::Html;
    let mut page = html.then(HtmlPage::default);
    if json_streamed && write_ok {
        let (head, _) = stream::json_document_parts(model::Totals::default());
        write_ok = sink.write(head.as_bytes());
    } else if md_streamed && write_ok {
        write_ok = sink.write(stream::markdown_title().as_bytes());
    }
    let window = 2 * pool.current_num_threads().max(1);
    // JSON Lines (not redacted) go straight to the output from the file
    // whose turn has come: its records need nothing of the file's end.
    let straight = records.is_some_and(|r| r.format == Format::Jsonl && !r.redact);
    if write_ok {
        let mut emit = |_: usize, handed: Handed<stream::Part, FileOut>| {
            if interrupt::interrupted() {
                // Nothing more is written: what was is whole records.
                return false;
            }
            let out = match handed {
                Handed::Part(part) => {
                    // After a closed pipe the file's parts are dropped
                    // until its result comes: its failures still count in
                    // the exit code, as when the pipe closes on a whole
                    // file. Any other write error stops at once (exit 2).
                    let written =
                        sink.closed || progress.suspend(|| sink.write_with(|o| part.write_to(o)));
                    return written || sink.closed;
                }
                Handed::Done(out) => out,
            };
            let FileOut {
                report: mut f,
                records: recs,
                html: html_recs,
                spill_error,
            } = out;
            exit.note(&f);
            ignored += u64::from(f.ignored.is_some());
            hidden_total += f.filtered_out;
            shown_total += recs.as_ref().map_or(f.connections.len(), |r| r.connections);
            if let Some(e) = f.error.as_ref().filter(|_| errors_to_stderr) {
                progress.suspend(|| {
                    let _ = writeln!(
                        err,
                        "rdptriage: {}: {}",
                        escape_unsafe(&f.path),
                        escape_unsafe(&report::text::error_line(e))
                    );
                });
            }
            if let Some(e) = spill_error {
                sink.failed = Some(io::Error::new(
                    e.kind(),
                    format!("cannot write a temporary file: {e}"),
                ));
                return false;
            }
            if let Some(mut recs) = recs {
                exit.failed |= recs.outcomes.failed > 0;
                totals.file(&f);
                if let Err(e) = recs.redact(&mut redactor, &mut f) {
                    sink.failed = Some(io::Error::new(
                        e.kind(),
                        format!("cannot read a temporary file: {e}"),
                    ));
                    return false;
                }
                if recs.table_skips(&f) {
                    totals.merge_connections(std::mem::take(&mut recs.totals));
                    return true;
                }
                let sep = stream::file_separator(format, files_written == 0);
                files_written += 1;
                write_ok = progress.suspend(|| {
                    sink.write_with(|o| {
                        o.write_all(sep.as_bytes())?;
                        recs.write_to(&f, o)
                    })
                });
                totals.merge_connections(std::mem::take(&mut recs.totals));
                return write_ok;
            }
            if let Some(page) = &mut page {
                shown_total += html_recs.as_ref().map_or(0, HtmlRecords::len);
                exit.failed |= html_recs.as_ref().is_some_and(|h| h.failed() > 0);
                if let Err(e) = page.add(f, html_recs) {
                    sink.failed = Some(io::Error::new(
                        e.kind(),
                        format!("cannot write a temporary file: {e}"),
                    ));
                    return false;
                }
                return true;
            }
            // `--ladder`: drawn from the whole document at the end (every
            // other format came with its records or its page).
            reports.push(f);
            true
        };
        match merged {
            None => run_ordered_parts(
                &pool,
                items.len(),
                window,
                |i, parts| match items.get(i) {
                    Some((index, item)) => {
                        let keep = Keep {
                            records,
                            html,
                            outlet: straight.then_some(parts as &(dyn stream::Outlet + Sync)),
                        };
                        let mut out = report_item(item, &opts, hash, &progress, &filter, keep);
                        out.report.input_index = *index;
                        out
                    }
                    None => FileOut {
                        report: model::file_report(&Input::new(&unopened(
                            "?",
                            io::Error::other(""),
                        ))),
                        records: None,
                        html: None,
                        spill_error: None,
                    },
                },
                &mut emit,
            ),
            Some(files) => {
                for m in files {
                    if !emit(0, Handed::Done(m.into_out(records, &filter))) {
                        break;
                    }
                }
            }
        }
    }
    progress.finish();
    if interrupt::interrupted() {
        let _ = out_flush(&mut sink);
        let _ = writeln!(err, "rdptriage: interrupted");
        return interrupt::EXIT_INTERRUPTED;
    }

    // The run's totals, redacted once whole (as the whole document's).
    let mut totals = totals.finish();
    if args.redact {
        redactor.register_totals(&mut totals);
        redactor.rewrite_totals(&mut totals);
    }
    if json_streamed {
        if sink.ok() {
            let (_, tail) = stream::json_document_parts(totals);
            sink.write(tail.as_bytes());
        }
    } else if table_streamed {
        if n_files > 1 && !args.quiet && sink.ok() {
            let tail = stream::table_totals(totals, files_written > 0, ropts.style);
            sink.write(tail.as_bytes());
        }
    } else if md_streamed {
        if n_files > 1 && sink.ok() {
            sink.write(stream::markdown_totals(totals).as_bytes());
        }
    } else if let Some(page) = page {
        // Ctrl-C ends the page after a section or a part of its contents.
        sink.write_with(|o| page.write_to(args.redact, o, &interrupt::interrupted));
        if interrupt::interrupted() {
            let _ = out_flush(&mut sink);
            let _ = writeln!(err, "rdptriage: interrupted");
            return interrupt::EXIT_INTERRUPTED;
        }
    } else if !format.streams() {
        let mut doc = model::document(reports);
        if args.redact {
            report::redact::redact(&mut doc);
        }
        let text = match args.ladder {
            None => report::render_document(&doc, &ropts),
            Some(stream) => match report::ladder_text(&doc, stream) {
                Some(t) => t,
                None => {
                    let _ = writeln!(
                        err,
                        "rdptriage: no analysed connection has tcp.stream {stream}"
                    );
                    return EXIT_ERROR;
                }
            },
        };
        sink.write(text.as_bytes());
    } else if format == Format::Csv && ignored > 0 {
        // CSV has rows for connections only: say what was left out.
        let _ = if ignored == 1 {
            writeln!(
                err,
                "rdptriage: 1 file found (not named) is not a capture and was skipped"
            )
        } else {
            writeln!(
                err,
                "rdptriage: {ignored} files found (not named) are not captures and were skipped"
            )
        };
    }
    if let Some(e) = &sink.failed {
        let _ = writeln!(err, "rdptriage: cannot write the report: {e}");
        return EXIT_ERROR;
    }
    let s = |n: u64| if n == 1 { "" } else { "s" };
    if !filter.is_empty() && shown_total == 0 {
        // An empty report under a filter is no clean bill of health
        // either: say that the filters, not the captures, emptied it.
        let _ = writeln!(
            err,
            "rdptriage: no connection matched the filters ({filter}); {hidden_total} connection{} hidden",
            s(hidden_total)
        );
    } else if hidden_total > 0 {
        // Said for every format (CSV and HTML have no place for it).
        let _ = writeln!(
            err,
            "rdptriage: the filters ({filter}) show {shown_total} connection{} and hide {hidden_total}",
            s(shown_total as u64)
        );
    }
    exit.code()
}

/// The progress bar: on a terminal, without `--quiet`.
fn progress_bar(args: &Args, term: Terminal, items: &[(u64, Item)]) -> Progress {
    if args.quiet || !term.stderr_is_terminal || items.is_empty() {
        return Progress::hidden();
    }
    let bytes = items
        .iter()
        .map(|(_, it)| it)
        .filter(|it| it.problem.is_none() && !it.is_stdin())
        .filter_map(|it| std::fs::metadata(&it.path).ok())
        .map(|m| m.len())
        .sum();
    Progress::stderr(items.len() as u64, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("2 M"), Ok(2 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn arguments() {
        let a = Args::try_parse_from([
            "rdptriage",
            "--port",
            "3390",
            "--port",
            "3389",
            "--depth-cap",
            "64KiB",
            "--format",
            "json",
            "a.pcap",
            "-",
        ])
        .unwrap();
        assert_eq!(a.files, ["a.pcap", "-"]);
        assert_eq!(a.format, FormatArg::Json);
        let o = options(&a);
        assert_eq!(o.ports, [3389, 3390]);
        assert_eq!(o.depth_cap, 64 << 10);
        let d = Args::try_parse_from(["rdptriage", "x"]).unwrap();
        assert_eq!(d.format, FormatArg::Table);
        assert_eq!(options(&d).depth_cap, 1 << 20);
        // Usage errors.
        for bad in [
            &["rdptriage"][..],
            &["rdptriage", "--format", "xml", "x"],
            &["rdptriage", "--threads", "0", "x"],
            &["rdptriage", "--port", "70000", "x"],
            &["rdptriage", "--gateway", "gw:0", "x"],
            &["rdptriage", "--gateway", "not a name", "x"],
            &["rdptriage", "--bogus", "x"],
        ] {
            assert_eq!(main_from(bad.iter().copied()), EXIT_ERROR, "{bad:?}");
        }
    }

    #[test]
    fn hashing_reader_hashes_what_was_read_to_the_end() {
        // Not a capture: the reader stops at once and nothing more is read;
        // no hash.
        let data = b"GET / HTTP/1.1\r\n\r\n".repeat(1000);
        let (r, sha) = analyze_hashed("x", &data[..], &Options::default());
        assert!(r.read.is_err());
        assert_eq!(sha, None);
        // An endless input is not read to its end either.
        let (r, sha) = analyze_hashed("zero", io::repeat(0), &Options::default());
        assert!(r.read.is_err());
        assert_eq!(sha, None);
        // A capture read to its end is hashed.
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/captures/06-port-closed.pcap"
        ))
        .unwrap();
        let (r, sha) = analyze_hashed("x", &bytes[..], &Options::default());
        assert!(r.complete());
        let want = hex(&Sha256::digest(&bytes));
        assert_eq!(sha.as_deref(), Some(want.as_str()));
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        let missing = std::env::temp_dir().join("rdptriage-cli-unit-colour.pcap");
        let _ = std::fs::remove_file(&missing);
        let path = missing.to_str().unwrap();
        let coloured = |extra: &[&str], term: Terminal| {
            let mut argv = vec!["rdptriage"];
            argv.extend(extra);
            argv.push(path);
            let args = Args::try_parse_from(argv).unwrap();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            execute(&args, term, &mut out, &mut err);
            out.contains(&0x1b)
        };
        let tty = Terminal {
            stdout_is_terminal: true,
            ..Terminal::default()
        };
        assert!(coloured(&[], tty));
        assert!(!coloured(&["--no-color"], tty));
        assert!(!coloured(
            &[],
            Terminal {
                no_color_env: true,
                ..tty
            }
        ));
        assert!(!coloured(&[], Terminal::default()));
        // --color decides over the environment; --no-color is "never".
        let pipe = Terminal::default();
        assert!(coloured(&["--color", "always"], pipe));
        assert!(!coloured(&["--color", "never"], tty));
        assert!(!coloured(&["--color", "always", "--no-color"], tty));
        // CLICOLOR_FORCE colours a pipe in auto; NO_COLOR beats it.
        let forced = Terminal {
            clicolor_force: true,
            ..pipe
        };
        assert!(coloured(&[], forced));
        assert!(!coloured(
            &[],
            Terminal {
                no_color_env: true,
                ..forced
            }
        ));
        // A dumb terminal shows escape codes as text: none.
        assert!(!coloured(
            &[],
            Terminal {
                term_dumb: true,
                ..tty
            }
        ));
        // Never in JSON or Markdown.
        assert!(!coloured(&["--format", "json"], tty));
        assert!(!coloured(&["--format", "markdown"], tty));
    }

    #[test]
    fn missing_file_is_reported_and_others_go_on() {
        let dir = std::env::temp_dir();
        let missing = dir.join("rdptriage-cli-unit-missing.pcap");
        let _ = std::fs::remove_file(&missing);
        let args =
            Args::try_parse_from(["rdptriage", "--format", "json", missing.to_str().unwrap()])
                .unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = execute(&args, Terminal::default(), &mut out, &mut err);
        assert_eq!(code, EXIT_ERROR);
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with(&format!("rdptriage: {}: cannot open", missing.display())));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["files"][0]["error"]["kind"], "io");
    }

    #[test]
    fn a_file_error_is_said_once_where_it_belongs() {
        let missing = std::env::temp_dir().join("rdptriage-cli-unit-once.pcap");
        let _ = std::fs::remove_file(&missing);
        let args = Args::try_parse_from(["rdptriage", missing.to_str().unwrap()]).unwrap();
        let run = |term: Terminal| {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = execute(&args, term, &mut out, &mut err);
            assert_eq!(code, EXIT_ERROR);
            let out = String::from_utf8(out).unwrap();
            let err = String::from_utf8(err).unwrap();
            (
                out.matches("cannot open").count(),
                err.matches("cannot open").count(),
            )
        };
        // The table on the terminal that standard error goes to: the
        // file's block tells it, standard error does not repeat it.
        let both = Terminal {
            stdout_is_terminal: true,
            stderr_is_terminal: true,
            ..Terminal::default()
        };
        assert_eq!(run(both), (1, 0));
        // The report piped or in a file: standard error tells it too.
        assert_eq!(run(Terminal::default()).1, 1);
        assert_eq!(
            run(Terminal {
                stdout_is_terminal: true,
                ..Terminal::default()
            })
            .1,
            1
        );
    }

    /// A scratch directory of `n` copies of a lab capture (one refused
    /// connection each: port closed).
    fn archive(name: &str, n: usize) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rdptriage-cli-unit-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/captures/06-port-closed.pcap"
        );
        for i in 0..n {
            std::fs::copy(src, dir.join(format!("{i:03}.pcap"))).unwrap();
        }
        dir
    }

    /// A writer that accepts `room` bytes, then fails like a closed pipe.
    struct ClosedAfter {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for ClosedAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written.len() + buf.len() > self.room {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_stops_a_streamed_run() {
        let dir = archive("closed", 40);
        let args = Args::try_parse_from([
            "rdptriage",
            "--threads",
            "2",
            "--format",
            "jsonl",
            dir.to_str().unwrap(),
        ])
        .unwrap();
        let mut out = ClosedAfter {
            room: 20_000,
            written: Vec::new(),
        };
        let mut err = Vec::new();
        let code = execute(&args, Terminal::default(), &mut out, &mut err);
        // What was written is whole records of the first files, in order.
        let text = String::from_utf8(out.written).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(!lines.is_empty() && lines.len() < 80, "{}", lines.len());
        assert!(lines[0].contains("000.pcap"), "{}", lines[0]);
        assert_eq!(code, EXIT_FAILED);
        assert!(err.is_empty());
    }

    #[test]
    fn shards_split_the_expanded_list() {
        let dir = archive("shards", 30);
        let d = dir.to_str().unwrap();
        let list = |extra: &[&str]| {
            let mut argv = vec!["rdptriage"];
            argv.extend(extra);
            argv.push(d);
            let a = Args::try_parse_from(argv).unwrap();
            input_list(&a)
                .unwrap()
                .into_iter()
                .map(|i| i.display)
                .collect::<Vec<_>>()
        };
        let all = list(&[]);
        assert_eq!(all.len(), 30);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        let parts: Vec<Vec<String>> = (1..=3)
            .map(|k| list(&["--shard", &format!("{k}/3")]))
            .collect();
        let mut joined: Vec<String> = parts.concat();
        joined.sort();
        assert_eq!(joined, all, "every file in exactly one part");
        // The hash spreads 30 files over 3 parts; none is empty.
        assert!(parts.iter().all(|p| !p.is_empty()), "{parts:?}");
        // A part is stable: the same files whatever else is in the list.
        let fewer =
            Args::try_parse_from(["rdptriage", "--shard", "2/3", &format!("{d}/00[0-9].pcap")])
                .unwrap();
        let got: Vec<String> = input_list(&fewer)
            .unwrap()
            .into_iter()
            .map(|i| i.display)
            .collect();
        let want: Vec<String> = parts[1]
            .iter()
            .filter(|p| p.contains("/00"))
            .cloned()
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn exit_code_gathered_file_by_file() {
        use crate::report::model::{document, FileReport};
        let mut e = ExitCode::default();
        assert_eq!(e.code(), EXIT_OK);
        let dir = archive("exit", 1);
        let (r, _) = analyze_input(
            dir.join("000.pcap").to_str().unwrap(),
            &options(&Args::try_parse_from(["rdptriage", "x"]).unwrap()),
            false,
        );
        let f: FileReport = model::file_report(&Input::new(&r));
        e.note(&f);
        assert_eq!(e.code(), EXIT_FAILED);
        let bad = unopened("gone.pcap", io::Error::from(io::ErrorKind::NotFound));
        e.note(&model::file_report(&Input::new(&bad)));
        assert_eq!(e.code(), EXIT_ERROR);
        // A skipped file leaves it alone.
        let mut e = ExitCode::default();
        let note = FileResult {
            read: Err(OpenError::Empty),
            ..unopened("dir/notes", io::Error::other(""))
        };
        let skipped = model::file_report(&Input {
            found: true,
            ..Input::new(&note)
        });
        assert!(skipped.ignored.is_some());
        e.note(&skipped);
        assert_eq!(e.code(), EXIT_OK);
        assert_eq!(document(vec![skipped]).totals.files_ignored, 1);
    }

    #[test]
    fn new_arguments() {
        let a = Args::try_parse_from([
            "rdptriage",
            "--files-from",
            "list.txt",
            "--shard",
            "2/5",
            "--format",
            "csv",
        ])
        .unwrap();
        assert!(a.files.is_empty());
        assert_eq!(a.files_from.as_deref(), Some("list.txt"));
        assert_eq!(a.shard, Some(Shard { k: 2, n: 5 }));
        assert_eq!(Format::from(a.format), Format::Csv);
        let j = Args::try_parse_from(["rdptriage", "--format", "jsonl", "x"]).unwrap();
        assert_eq!(Format::from(j.format), Format::Jsonl);
        for bad in [
            &["rdptriage", "--shard", "0/1", "x"][..],
            &["rdptriage", "--shard", "2/1", "x"],
            &["rdptriage", "--shard", "1-2", "x"],
            &["rdptriage", "--files-from"],
        ] {
            assert_eq!(main_from(bad.iter().copied()), EXIT_ERROR, "{bad:?}");
        }
    }
}
