//! The command line: arguments, the parallel run over files, printing and
//! the exit code. `main.rs` only calls [`main_from_env`].
//!
//! Files are analysed in parallel (one rayon task per file, on a pool of
//! `--threads` threads); results are printed in input order once all are
//! done, so the output does not depend on the number of threads.
//!
//! Exit codes: 0 no failed connection; 1 at least one failed connection;
//! 2 an input could not be analysed (not opened, not a capture, read
//! incompletely) or bad arguments. 2 wins over 1.
//!
//! The Markdown report carries each file's SHA-256: the file is hashed
//! while the analysis reads it (a hashing reader, then the rest of the file
//! is read to its end if the capture reader stopped early), so standard
//! input is hashed too and nothing is read twice.

use crate::analyze::{self, FileResult, Options};
use crate::capture::OpenError;
use crate::diagnose::{group_attempts, Attempt, Diagnosis};
use crate::flow::FlowStats;
use crate::report::{self, Format, Input, ReportOptions, TermStyle};
use crate::timeline::Timeline;
use clap::{Parser, ValueEnum};
use rayon::prelude::*;
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
#[command(name = "rdptriage", version, about, long_about = None)]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally gzip- or zstd-compressed);
    /// `-` reads standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,

    /// Also analyse TCP connections on this port (repeatable; 3389 always).
    #[arg(long = "port", value_name = "N")]
    pub ports: Vec<u16>,

    /// Threads for the analysis (default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,

    /// No colours (colours are only used on a terminal anyway; NO_COLOR is honoured).
    #[arg(long)]
    pub no_color: bool,

    /// Replace addresses, user, host and certificate names with stable pseudonyms.
    #[arg(long)]
    pub redact: bool,

    /// Bytes reassembled per direction of a connection (e.g. 1048576, 512KiB, 4MiB).
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = parse_size)]
    pub depth_cap: usize,

    /// Only failed connections and problems (table format).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
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

/// What the environment says about colours and terminals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
    /// NO_COLOR is set to a non-empty value.
    pub no_color_env: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        Terminal {
            stdout_is_terminal: io::stdout().is_terminal(),
            stderr_is_terminal: io::stderr().is_terminal(),
            no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
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
    match Args::try_parse_from(argv) {
        Ok(args) => run(args),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_OK
            }
        }
    }
}

/// Run with the process's standard output, error and terminal.
pub fn run(args: Args) -> i32 {
    let term = Terminal::detect();
    let stdout = io::stdout();
    let stderr = io::stderr();
    execute(&args, term, &mut stdout.lock(), &mut stderr.lock())
}

/// Analyse one input, hashing it if asked. Returns the result and the
/// SHA-256 (lower-case hex) of the bytes read, when the whole input could
/// be read.
pub fn analyze_input(path: &str, opts: &Options, hash: bool) -> (FileResult, Option<String>) {
    if !hash {
        return (analyze::analyze_path(path, opts), None);
    }
    if path == "-" {
        let stdin = io::stdin();
        let lock = stdin.lock();
        return analyze_hashed(path, lock, opts);
    }
    match std::fs::File::open(path) {
        Ok(f) => analyze_hashed(path, f, opts),
        Err(e) => (
            FileResult {
                path: path.to_string(),
                read: Err(OpenError::Io(e)),
                skipped: Default::default(),
                flow: FlowStats::default(),
                connections: Vec::new(),
            },
            None,
        ),
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
    for rl in attempts.iter().flat_map(|a| &a.relabels) {
        if let Some(c) = r
            .connections
            .iter_mut()
            .find(|c| c.timeline.stream == rl.stream)
        {
            // Applied once, even if the analysis already applied it.
            if !c.diagnosis.caveats.contains(&rl.note) {
                c.diagnosis = rl.apply(&c.diagnosis);
            }
        }
    }
    attempts
}

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    failed: bool,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
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

fn analyze_hashed<R: Read>(path: &str, src: R, opts: &Options) -> (FileResult, Option<String>) {
    let mut hr = HashingReader {
        inner: src,
        hasher: Sha256::new(),
        failed: false,
    };
    let result = analyze::analyze_reader(path, &mut hr, opts);
    // The capture reader may stop early (corrupt data): hash the rest.
    let drained = io::copy(&mut hr, &mut io::sink()).is_ok();
    let sha = (drained && !hr.failed).then(|| hex(&hr.hasher.finalize()));
    (result, sha)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        ..Options::default()
    }
}

/// The exit code for a set of results.
pub fn exit_code(results: &[FileResult]) -> i32 {
    if results.iter().any(|r| !r.complete()) {
        EXIT_ERROR
    } else if results.iter().any(|r| {
        r.connections
            .iter()
            .any(|c| c.diagnosis.outcome == crate::diagnose::Outcome::Failed)
    }) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// The stderr line for a file that could not be analysed (whole or part).
pub fn error_message(r: &FileResult) -> Option<String> {
    let e = report::model::file_error(&r.read)?;
    Some(format!(
        "rdptriage: {}: {}",
        r.path,
        report::text::error_line(&e)
    ))
}

/// Run the analysis and print; the core of [`run`], with its outputs given.
pub fn execute(args: &Args, term: Terminal, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let opts = options(args);
    let format: Format = args.format.into();
    let hash = format == Format::Markdown;

    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(n) = args.threads {
            b = b.num_threads(n as usize);
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

    let progress = progress_bar(args, term);
    let results: Vec<(FileResult, Option<String>, Vec<Attempt>)> = pool.install(|| {
        args.files
            .par_iter()
            .map(|path| {
                let (mut r, sha) = analyze_input(path, &opts, hash);
                let attempts = group_and_relabel(&mut r);
                progress.inc(1);
                (r, sha, attempts)
            })
            .collect()
    });
    progress.finish_and_clear();

    for (r, _, _) in &results {
        if let Some(m) = error_message(r) {
            let _ = writeln!(err, "{m}");
        }
    }

    let inputs: Vec<Input<'_>> = results
        .iter()
        .map(|(r, sha, attempts)| Input {
            result: r,
            sha256: sha.as_deref(),
            attempts: Some(attempts),
        })
        .collect();
    let ropts = ReportOptions {
        format,
        style: TermStyle {
            color: term.stdout_is_terminal && !args.no_color && !term.no_color_env,
            terminal: term.stdout_is_terminal,
            quiet: args.quiet,
        },
        redact: args.redact,
    };
    let text = report::render(&inputs, &ropts);
    // A closed pipe (`| head`) is not an error of the analysis.
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());

    let files: Vec<FileResult> = results.into_iter().map(|(r, _, _)| r).collect();
    exit_code(&files)
}

fn progress_bar(args: &Args, term: Terminal) -> indicatif::ProgressBar {
    if args.quiet || !term.stderr_is_terminal || args.files.len() < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(args.files.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("analysing {pos}/{len} files {bar:30}")
    {
        pb.set_style(style);
    }
    pb
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
            &["rdptriage", "--bogus", "x"],
        ] {
            assert_eq!(main_from(bad.iter().copied()), EXIT_ERROR, "{bad:?}");
        }
    }

    #[test]
    fn hashing_reader_hashes_everything() {
        // Not a capture: the reader stops at once, the rest is drained.
        let data = b"GET / HTTP/1.1\r\n\r\n".repeat(1000);
        let (r, sha) = analyze_hashed("x", &data[..], &Options::default());
        assert!(r.read.is_err());
        let want = hex(&Sha256::digest(&data));
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
}
