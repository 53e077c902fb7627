//! From the command line's inputs to the ordered list of files to analyse.
//!
//! An input is `-` (standard input), a file, a directory (walked
//! recursively, entries sorted by name, so a directory's files come at its
//! place in the order), or, when no file of that name exists and it holds
//! `*`, `?` or `[`, a glob pattern expanded here (`**` crosses
//! directories; matches sorted; a matched directory is walked). Inputs
//! come from the arguments and from `--files-from` (one per line), in that
//! order; a listed line is a path as written, never a pattern ([`read_list`]
//! says how lines are read). A file met twice (the same path, as written) is analysed once,
//! at its first place.
//!
//! `--shard K/N` then keeps the files whose path (as printed) hashes to
//! part K: FNV-1a (64-bit) of the path's bytes, modulo N. A stable hash of
//! the path rather than the position in the list: each file's shard does
//! not depend on the other files, so N machines agree on who takes which
//! file even when the archive gains files while they start, and a file is
//! never analysed by two shards or by none. Parts are balanced by the
//! hash, not exactly.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// How an input was named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// On the command line or in a `--files-from` list, by its name.
    Named,
    /// Matched by a glob pattern.
    Glob,
    /// Met while walking a directory.
    Directory,
}

/// One file to analyse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// What to open; `-` is standard input.
    pub path: PathBuf,
    /// The path as printed ([`display_path`]: a name that is not UTF-8 is
    /// shown with `\xNN` escapes, distinct from any other).
    pub display: String,
    pub origin: Origin,
    /// The input could not be expanded (a pattern matching nothing, a
    /// directory entry that could not be read): this is its error, and
    /// nothing is opened.
    pub problem: Option<Problem>,
}

/// Why an input could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: io::ErrorKind,
    pub message: String,
}

/// A path as printed: as is when it is UTF-8 without a backslash;
/// otherwise bytes that are not UTF-8 are written `\xNN` and a backslash
/// `\\`, so two different names never print the same.
pub fn display_path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if let Some(s) = path.to_str() {
            if !s.contains('\\') {
                return s.to_string();
            }
        }
        let mut out = String::with_capacity(bytes.len() + 8);
        for chunk in bytes.utf8_chunks() {
            out.push_str(&chunk.valid().replace('\\', "\\\\"));
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned()
    }
}

impl Item {
    fn new(path: PathBuf, origin: Origin) -> Self {
        Item {
            display: display_path(&path),
            path,
            origin,
            problem: None,
        }
    }

    fn problem(path: PathBuf, origin: Origin, kind: io::ErrorKind, message: String) -> Self {
        Item {
            problem: Some(Problem { kind, message }),
            ..Item::new(path, origin)
        }
    }

    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// `--shard K/N`: part K (1-based) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

/// Parse `K/N` with 1 <= K <= N, or `auto` / `auto/N` (see
/// [`shard_from_env`]).
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    if let Some(rest) = s.trim().strip_prefix("auto") {
        return shard_from_env(rest, &|k| std::env::var(k).ok());
    }
    let bad = || format!("`{s}` is not K/N with 1 <= K <= N (e.g. 2/8)");
    let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok(Shard { k, n })
}

/// The part of an array job, from the variables the job system sets in
/// each task (`rest` is what follows `auto`: empty, or `/N`):
/// - Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (0-based); the count
///   is the Job's `completions`, which Kubernetes does not put in the
///   environment: give it as `auto/N`.
/// - Slurm job array: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`,
///   `SLURM_ARRAY_TASK_STEP` (default 1) and `SLURM_ARRAY_TASK_COUNT`; the
///   part is the task's position in the range (`--array=0-15:4` has 4
///   parts). A list of ids (`--array=1,5,9`) has no step to place a task
///   by: use `K/N` there.
/// - AWS Batch array job: `AWS_BATCH_JOB_ARRAY_INDEX` (0-based) and
///   `AWS_BATCH_JOB_ARRAY_SIZE`.
pub fn shard_from_env(rest: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let given: Option<u64> = match rest.trim() {
        "" => None,
        r => Some(
            r.strip_prefix('/')
                .and_then(|n| n.trim().parse().ok())
                .filter(|&n: &u64| n > 0)
                .ok_or_else(|| format!("`auto{r}` is not `auto` or `auto/N` with N >= 1"))?,
        ),
    };
    let num = |k: &str| -> Result<Option<u64>, String> {
        match env(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{k}={v:?} is not a number")),
        }
    };
    let (index, count, from) = if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        (i, given, "JOB_COMPLETION_INDEX (Kubernetes Indexed Job)")
    } else if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let off = id
            .checked_sub(min)
            .filter(|o| o % step == 0)
            .ok_or_else(|| {
                format!(
                    "SLURM_ARRAY_TASK_ID {id} is not in the range from {min} by {step}: \
                 give the part as --shard K/N"
                )
            })?;
        (
            off / step,
            given.or(num("SLURM_ARRAY_TASK_COUNT")?),
            "SLURM_ARRAY_TASK_ID (Slurm job array)",
        )
    } else if let Some(i) = num("AWS_BATCH_JOB_ARRAY_INDEX")? {
        (
            i,
            given.or(num("AWS_BATCH_JOB_ARRAY_SIZE")?),
            "AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)",
        )
    } else {
        return Err("--shard auto: none of JOB_COMPLETION_INDEX (Kubernetes), \
                    SLURM_ARRAY_TASK_ID (Slurm) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch) \
                    is set: give the part as --shard K/N"
            .to_string());
    };
    let n = count.ok_or_else(|| {
        format!("--shard auto: {from} gives the index but not the count: use --shard auto/N")
    })?;
    if index >= n {
        return Err(format!(
            "--shard auto: index {index} from {from} is not below the count {n}"
        ));
    }
    Ok(Shard { k: index + 1, n })
}

/// FNV-1a, 64 bits: fixed by its definition, the same on every machine
/// and Rust version (unlike the standard library's hasher).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Shard {
    /// Whether a path (as printed) belongs to this part.
    pub fn holds(&self, display: &str) -> bool {
        fnv1a64(display.as_bytes()) % self.n == self.k - 1
    }
}

/// The entries of a `--files-from` list, one path per line, as lists
/// are written on Windows too: a UTF-8 byte-order mark is dropped; a
/// UTF-16 list (little- or big-endian, with its byte-order mark, or
/// without one when every other byte is NUL) is decoded; lines end with
/// `\r\n` or `\n`; spaces and tabs around a path are trimmed; blank lines
/// and lines starting with `#` are left out. A line that is not UTF-8 is
/// kept as bytes on Unix. Each entry is a path, never a pattern.
pub fn read_list<R: BufRead>(mut r: R) -> io::Result<Vec<OsString>> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    let text: Vec<u8> = match utf16_order(&bytes) {
        Some((big_endian, skip)) => {
            let units = bytes.get(skip..).unwrap_or(&[]).chunks(2).map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            });
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect::<String>()
                .into_bytes()
        }
        None => bytes
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(&bytes)
            .to_vec(),
    };
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        out.push(os_from_bytes(line));
    }
    Ok(out)
}

/// Whether a list is UTF-16: its byte order, and the length of its
/// byte-order mark. Without a mark, a list whose bytes at even (odd)
/// offsets are NUL in most pairs is taken as big- (little-) endian.
fn utf16_order(b: &[u8]) -> Option<(bool, usize)> {
    if b.starts_with(&[0xff, 0xfe]) {
        return Some((false, 2));
    }
    if b.starts_with(&[0xfe, 0xff]) {
        return Some((true, 2));
    }
    let pairs = b.len() / 2;
    if pairs < 2 {
        return None;
    }
    let even = b.chunks_exact(2).filter(|c| c[0] == 0 && c[1] != 0).count();
    let odd = b.chunks_exact(2).filter(|c| c[1] == 0 && c[0] != 0).count();
    if odd * 10 >= pairs * 9 {
        Some((false, 0))
    } else if even * 10 >= pairs * 9 {
        Some((true, 0))
    } else {
        None
    }
}

#[cfg(unix)]
fn os_from_bytes(b: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(b).to_os_string()
}

#[cfg(not(unix))]
fn os_from_bytes(b: &[u8]) -> OsString {
    OsString::from(String::from_utf8_lossy(b).into_owned())
}

/// Whether an input is a glob pattern (when no file has that name).
fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// What makes two spellings of a path the same file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Identity {
    /// Device and inode (Unix).
    Inode(u64, u64),
    /// The canonical path, where there is no inode to compare.
    Canonical(PathBuf),
    /// A path that cannot be resolved (missing, unreadable) or standard
    /// input: compared as written.
    Written(PathBuf),
}

fn identity(it: &Item) -> Identity {
    if it.problem.is_some() || it.is_stdin() {
        return Identity::Written(it.path.clone());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(&it.path) {
            return Identity::Inode(m.dev(), m.ino());
        }
    }
    match std::fs::canonicalize(&it.path) {
        Ok(c) => Identity::Canonical(c),
        Err(_) => Identity::Written(it.path.clone()),
    }
}

/// Expand inputs in order and drop repeats: one file is analysed once,
/// at its first place, however it is spelled (`x.pcap`, `./x.pcap`, an
/// absolute path, through a symbolic link or `a/../a/x.pcap`): files are
/// told apart by device and inode (by canonical path where there are
/// none). Errors are usage errors (a malformed pattern); inputs that
/// cannot be expanded become items with a [`Problem`].
pub fn expand(inputs: &[OsString]) -> Result<Vec<Item>, String> {
    expand_with_lists(inputs, &[])
}

/// [`expand`] the arguments, then the entries of a `--files-from` list:
/// those are literal paths (a file or a directory), never patterns, so a
/// name holding `[` is looked for as it is and, missing, is reported as
/// that file's error while the batch goes on.
pub fn expand_with_lists(inputs: &[OsString], listed: &[OsString]) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for i in inputs {
        expand_one(i, false, &mut out)?;
    }
    for i in listed {
        expand_one(i, true, &mut out)?;
    }
    let mut seen: HashSet<Identity> = HashSet::new();
    out.retain(|it| seen.insert(identity(it)));
    Ok(out)
}

fn expand_one(input: &OsString, literal: bool, out: &mut Vec<Item>) -> Result<(), String> {
    let path = PathBuf::from(input);
    if input == "-" {
        out.push(Item::new(path, Origin::Named));
        return Ok(());
    }
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => walk(&path, out),
        Ok(_) => out.push(Item::new(path, Origin::Named)),
        Err(_) => match input.to_str() {
            Some(p) if !literal && is_pattern(p) => glob(p, out)?,
            // Opening it tells what is wrong (missing, no permission).
            _ => out.push(Item::new(path, Origin::Named)),
        },
    }
    Ok(())
}

/// The directory a pattern's matches all lie under (its leading
/// components without `*`, `?` or `[`), how many components below it a
/// match can be (None with `**`: any), and whether the pattern is
/// absolute.
fn pattern_base(pattern: &str) -> (PathBuf, Option<usize>) {
    let comps: Vec<&str> = pattern.split('/').collect();
    let lit = comps
        .iter()
        .take(comps.len().saturating_sub(1))
        .take_while(|c| !is_pattern(c))
        .count();
    let base = comps[..lit].join("/");
    let base = if base.is_empty() {
        if pattern.starts_with('/') {
            PathBuf::from("/")
        } else {
            PathBuf::from(".")
        }
    } else {
        PathBuf::from(base)
    };
    let rest = &comps[lit..];
    let depth = if rest.contains(&"**") {
        None
    } else {
        Some(rest.iter().filter(|c| !c.is_empty()).count())
    };
    (base, depth)
}

/// Expand a glob pattern by walking the directory it is rooted at: symbolic
/// links are followed, a link back to an ancestor (a loop) is not walked
/// (and is reported if it matches), and a directory reached twice (two
/// links to it) is walked once.
fn glob(pattern: &str, out: &mut Vec<Item>) -> Result<(), String> {
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let pat = glob::Pattern::new(pattern).map_err(|e| format!("bad pattern `{pattern}`: {e}"))?;
    let (base, depth) = pattern_base(pattern);
    // Matches are compared as the pattern spells them: without a leading
    // `./` when the pattern has none.
    let strip_dot = base == Path::new(".") && !pattern.starts_with("./");
    let mut walker = walkdir::WalkDir::new(&base)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1);
    if let Some(d) = depth {
        walker = walker.max_depth(d);
    }
    let mut dirs = DirsOnce::default();
    let mut found: Vec<Item> = Vec::new();
    let mut it = walker.into_iter();
    loop {
        let entry = match it.next() {
            None => break,
            Some(e) => e,
        };
        let shown = |p: &Path| -> PathBuf {
            match p.strip_prefix(".") {
                Ok(r) if strip_dot => r.to_path_buf(),
                _ => p.to_path_buf(),
            }
        };
        match entry {
            Ok(e) => {
                let p = shown(e.path());
                let matches = p.to_str().is_some_and(|s| pat.matches_with(s, opts));
                if e.file_type().is_dir() {
                    if !dirs.first_visit(e.path()) {
                        it.skip_current_dir();
                        continue;
                    }
                    if matches {
                        // A matched directory is walked whole, at its place.
                        walk(&p, &mut found);
                        it.skip_current_dir();
                    }
                } else if matches {
                    found.push(Item::new(p, Origin::Glob));
                }
            }
            Err(e) => {
                let p = shown(e.path().unwrap_or(&base));
                if p.to_str().is_some_and(|s| pat.matches_with(s, opts)) {
                    let kind = e.io_error().map_or(io::ErrorKind::Other, io::Error::kind);
                    let msg = match e.io_error() {
                        Some(io) => io.to_string(),
                        None => e.to_string(),
                    };
                    found.push(Item::problem(p, Origin::Glob, kind, msg));
                }
            }
        }
    }
    if found.is_empty() {
        out.push(Item::problem(
            PathBuf::from(pattern),
            Origin::Glob,
            io::ErrorKind::NotFound,
            "no file matches this pattern".to_string(),
        ));
    }
    out.extend(found);
    Ok(())
}

/// Directories seen in one walk, by device and inode: a directory reached
/// through two links is walked once.
#[derive(Default)]
struct DirsOnce(HashSet<(u64, u64)>);

impl DirsOnce {
    fn first_visit(&mut self, dir: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(m) = std::fs::metadata(dir) {
                return self.0.insert((m.dev(), m.ino()));
            }
        }
        let _ = dir;
        true
    }
}

/// Every file under `dir`, depth first, entries sorted by name (byte
/// order). Symbolic links are followed (loops are reported, not walked;
/// a directory reached through two links is walked once).
fn walk(dir: &Path, out: &mut Vec<Item>) {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name();
    let mut dirs = DirsOnce::default();
    let mut it = walker.into_iter();
    while let Some(entry) = it.next() {
        match entry {
            Ok(e) if e.file_type().is_dir() => {
                if !dirs.first_visit(e.path()) {
                    it.skip_current_dir();
                }
            }
            Ok(e) if e.file_type().is_file() => {
                out.push(Item::new(e.into_path(), Origin::Directory));
            }
            Ok(e) => {
                // A socket, a FIFO, a device: opening it could block.
                out.push(Item::problem(
                    e.into_path(),
                    Origin::Directory,
                    io::ErrorKind::InvalidInput,
                    "not a regular file".to_string(),
                ));
            }
            Err(e) => {
                let p = e.path().unwrap_or(dir).to_path_buf();
                let kind = e.io_error().map_or(io::ErrorKind::Other, io::Error::kind);
                let msg = match e.io_error() {
                    Some(io) => io.to_string(),
                    None => e.to_string(),
                };
                out.push(Item::problem(p, Origin::Directory, kind, msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        assert_eq!(parse_shard("1/2"), Ok(Shard { k: 1, n: 2 }));
        assert_eq!(parse_shard(" 3 / 3 "), Ok(Shard { k: 3, n: 3 }));
        for bad in ["0/2", "3/2", "1/0", "1", "a/b", "1/2/3", "-1/2", "", "/"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        // FNV-1a test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        // Every path is in exactly one part.
        for n in 1..6 {
            for i in 0..200 {
                let p = format!("archive/{i}.pcap");
                let parts = (1..=n).filter(|k| Shard { k: *k, n }.holds(&p)).count();
                assert_eq!(parts, 1, "{p} {n}");
            }
        }
    }

    #[test]
    fn lists() {
        let l = read_list(&b"a.pcap\r\n\nb c.pcap\n  \nlast"[..]).unwrap();
        assert_eq!(l, ["a.pcap", "b c.pcap", "last"]);
        assert!(read_list(&b""[..]).unwrap().is_empty());
        // As Windows writes them: a UTF-8 byte-order mark, CRLF, comments,
        // blank lines, spaces around names.
        let windows = "\u{feff}# captures from the ticket\r\n  C:\\caps\\a b.pcap \r\n\r\n\t# old\r\nx.pcapng\r\n";
        let want = ["C:\\caps\\a b.pcap", "x.pcapng"];
        assert_eq!(read_list(windows.as_bytes()).unwrap(), want);
        // UTF-16, little- and big-endian, with and without a byte-order mark.
        let le: Vec<u8> = windows.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = windows.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(read_list(&le[..]).unwrap(), want);
        assert_eq!(read_list(&be[..]).unwrap(), want);
        let le: Vec<u8> = "a.pcap\r\nb.pcap\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(read_list(&le[..]).unwrap(), ["a.pcap", "b.pcap"]);
    }

    #[cfg(unix)]
    #[test]
    fn walks_sorted_follows_links_and_reports_loops() {
        let root = std::env::temp_dir().join("rdptriage-inputs-walk");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        for f in ["b/z.pcap", "b/c/y.pcap", "a.pcap", "B.pcap"] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        std::os::unix::fs::symlink("..", root.join("b/up")).unwrap();
        std::os::unix::fs::symlink("z.pcap", root.join("b/link.pcap")).unwrap();
        let items = expand(&[root.clone().into_os_string()]).unwrap();
        let rel: Vec<(String, bool)> = items
            .iter()
            .map(|i| {
                let r = i.path.strip_prefix(&root).unwrap();
                (r.to_string_lossy().into_owned(), i.problem.is_some())
            })
            .collect();
        let want = [
            ("B.pcap", false),
            ("a.pcap", false),
            ("b/c/y.pcap", false),
            ("b/link.pcap", false),
            ("b/up", true),
            // b/z.pcap is the file b/link.pcap points to: met once.
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(p, e)| (p.to_string(), *e)).collect();
        assert_eq!(rel, want);
        assert!(items.iter().all(|i| i.origin == Origin::Directory));
        // Given twice (and once by a pattern), each file is listed once.
        let again = expand(&[
            root.join("a.pcap").into_os_string(),
            root.clone().into_os_string(),
            format!("{}/*.pcap", root.display()).into(),
        ])
        .unwrap();
        assert_eq!(again.len(), items.len());
        assert_eq!(again[0].origin, Origin::Named);
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_print_escaped_and_distinct() {
        use std::os::unix::ffi::OsStrExt;
        let a = Path::new(std::ffi::OsStr::from_bytes(b"cap\xff.pcap"));
        let b = Path::new(std::ffi::OsStr::from_bytes(b"cap\xfe.pcap"));
        let c = Path::new("cap\\xff.pcap");
        assert_eq!(display_path(a), "cap\\xff.pcap");
        assert_eq!(display_path(b), "cap\\xfe.pcap");
        assert_eq!(display_path(c), "cap\\\\xff.pcap");
        assert_eq!(display_path(Path::new("plain/é.pcap")), "plain/é.pcap");
    }

    #[test]
    fn patterns() {
        assert!(is_pattern("a/**/*.pcap*"));
        assert!(is_pattern("x?.pcap"));
        assert!(is_pattern("[ab].pcap"));
        assert!(!is_pattern("plain.pcap"));
        let mut out = Vec::new();
        assert!(glob("a/[", &mut out).is_err());
        // A listed entry is a path, never a pattern: a missing one is that
        // entry's error, and the others are still listed.
        let items = expand_with_lists(&[], &["gone[.pcap".into(), "*.nothing".into()]).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].display, "gone[.pcap");
        assert!(items
            .iter()
            .all(|i| i.origin == Origin::Named && i.problem.is_none()));
    }
}

#[cfg(test)]
mod shard_env_tests {
    use super::*;

    fn with<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_job_systems_give_the_part() {
        // Kubernetes: 0-based index, the count given.
        let k8s = with(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(shard_from_env("/8", &k8s), Ok(Shard { k: 3, n: 8 }));
        assert!(shard_from_env("", &k8s).unwrap_err().contains("auto/N"));
        // Slurm `--array=1-10`: ids 1..10, 10 tasks.
        let slurm = with(&[
            ("SLURM_ARRAY_TASK_ID", "10"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "10"),
        ]);
        assert_eq!(shard_from_env("", &slurm), Ok(Shard { k: 10, n: 10 }));
        // Slurm `--array=0-15:4`: ids 0, 4, 8, 12.
        let stepped = with(&[
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(shard_from_env("", &stepped), Ok(Shard { k: 3, n: 4 }));
        let off = with(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(shard_from_env("", &off).is_err());
        // AWS Batch: 0-based index and the array size.
        let aws = with(&[
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "5"),
        ]);
        assert_eq!(shard_from_env("", &aws), Ok(Shard { k: 1, n: 5 }));
    }

    #[test]
    fn without_a_job_system_or_with_nonsense_it_is_an_error() {
        let none = with(&[]);
        let e = shard_from_env("", &none).unwrap_err();
        assert!(
            e.contains("JOB_COMPLETION_INDEX") && e.contains("--shard K/N"),
            "{e}"
        );
        let bad = with(&[("AWS_BATCH_JOB_ARRAY_INDEX", "x")]);
        assert!(shard_from_env("", &bad)
            .unwrap_err()
            .contains("not a number"));
        let beyond = with(&[
            ("AWS_BATCH_JOB_ARRAY_INDEX", "5"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "5"),
        ]);
        assert!(shard_from_env("", &beyond)
            .unwrap_err()
            .contains("not below"));
        assert!(shard_from_env("/0", &with(&[("JOB_COMPLETION_INDEX", "0")])).is_err());
        assert!(parse_shard("auto/x").is_err());
    }
}
