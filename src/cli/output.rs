//! `--output FILE`: the report goes to a temporary file beside FILE and is
//! renamed over it only once complete, so a crash or a full disk never
//! leaves half a report under the name asked for.

use super::EXIT_ERROR;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A writer that remembers its first error (the report printers stop at a
/// write error without saying which).
struct Tracking<W: Write> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: Write> Tracking<W> {
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            if self.error.is_none() {
                self.error = Some(io::Error::new(e.kind(), e.to_string()));
            }
        }
        r
    }
}

impl<W: Write> Write for Tracking<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

/// The temporary file's name: hidden, beside the target, unique to this
/// process.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// Run `write` with a temporary file beside `path` as its output, then
/// rename it to `path`. Returns `write`'s exit code, or the error exit
/// code (with a message on `err`) when the file could not be written; the
/// temporary file is then removed and `path` left as it was.
pub fn write_atomically(
    path: &Path,
    err: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> i32,
) -> i32 {
    // Only a regular file (or a new name) is replaced by renaming: a device,
    // a pipe or a terminal (`-o /dev/stdout`, `-o /dev/full`) is written to
    // as it is; renaming over it would replace the device node itself.
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
    if special {
        return write_in_place(path, err, write);
    }
    let tmp = temp_path(path);
    let opened = File::options().write(true).create_new(true).open(&tmp);
    let finished = write_tracked(opened, write).and_then(|(code, file)| {
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(code)
    });
    finished.unwrap_or_else(|e| {
        let _ = std::fs::remove_file(&tmp);
        let _ = writeln!(err, "rdptriage: cannot write {}: {e}", path.display());
        EXIT_ERROR
    })
}

/// Write straight to `path` (a device or a pipe): errors are reported as
/// for a file, nothing is renamed.
fn write_in_place(
    path: &Path,
    err: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> i32,
) -> i32 {
    let opened = File::options().write(true).open(path);
    write_tracked(opened, write)
        .map(|(code, _)| code)
        .unwrap_or_else(|e| {
            let _ = writeln!(err, "rdptriage: cannot write {}: {e}", path.display());
            EXIT_ERROR
        })
}

/// Run `write` into `opened` (buffered), and give back its exit code and
/// the file, or the first error opening, writing or flushing it met.
fn write_tracked(
    opened: io::Result<File>,
    write: impl FnOnce(&mut dyn Write) -> i32,
) -> io::Result<(i32, File)> {
    let mut out = Tracking {
        inner: BufWriter::new(opened?),
        error: None,
    };
    let code = write(&mut out);
    let _ = out.flush();
    if let Some(e) = out.error.take() {
        return Err(e);
    }
    let file = out.inner.into_inner().map_err(|e| e.into_error())?;
    Ok((code, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("rdptriage-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn complete_reports_replace_the_file_and_leave_no_temporary() {
        let d = scratch("ok");
        let p = d.join("r.txt");
        std::fs::write(&p, "old").unwrap();
        let mut err = Vec::new();
        let code = write_atomically(&p, &mut err, |o| {
            o.write_all(b"new report\n").unwrap();
            1
        });
        assert_eq!(code, 1);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new report\n");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        assert!(err.is_empty());
    }

    /// A writer that fails like a full disk.
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::StorageFull.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_first_write_error_is_kept() {
        let mut t = Tracking {
            inner: Full,
            error: None,
        };
        assert!(t.write_all(b"report").is_err());
        assert!(t.flush().is_ok());
        assert_eq!(t.error.unwrap().kind(), io::ErrorKind::StorageFull);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_device_is_written_to_not_replaced() {
        let mut err = Vec::new();
        let code = write_atomically(Path::new("/dev/null"), &mut err, |o| {
            let _ = o.write_all(b"report");
            0
        });
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
        use std::os::unix::fs::FileTypeExt;
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(m.file_type().is_char_device());
    }

    #[test]
    fn an_unwritable_place_is_an_error_and_creates_nothing() {
        let d = scratch("fail");
        let missing = d.join("no/such/dir/r.html");
        let mut err = Vec::new();
        let code = write_atomically(&missing, &mut err, |o| {
            let _ = o.write_all(b"x");
            0
        });
        assert_eq!(code, EXIT_ERROR);
        assert!(String::from_utf8(err).unwrap().contains("cannot write"));
        assert!(!missing.exists());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    }
}
