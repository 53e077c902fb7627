//! The progress bar on standard error: files and bytes done, rate and time
//! left. Drawn only on a terminal and without `--quiet`; otherwise every
//! call is a cheap no-op.
//!
//! Bytes are the files' sizes as stored (compressed captures count their
//! compressed size), counted as the analysis reads them, so the rate and
//! the time left follow the real work; a file the reader gives up on early
//! (not a capture) counts whole when it is done. Standard input has no
//! size and only counts as a file.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Progress {
    bar: ProgressBar,
    files_total: u64,
    files_done: AtomicU64,
}

impl Progress {
    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            files_total: 0,
            files_done: AtomicU64::new(0),
        }
    }

    /// A bar on standard error for `files` files of `bytes` bytes in all.
    pub fn stderr(files: u64, bytes: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        let template = "{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, {eta} left";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        let p = Progress {
            bar,
            files_total: files,
            files_done: AtomicU64::new(0),
        };
        p.bar.set_message(p.message(0));
        p
    }

    fn message(&self, done: u64) -> String {
        format!("{done}/{} files", self.files_total)
    }

    /// Bytes read.
    pub fn add_bytes(&self, n: u64) {
        self.bar.inc(n);
    }

    /// A file is done; `unread` of its bytes were never read.
    pub fn file_done(&self, unread: u64) {
        if unread > 0 {
            self.bar.inc(unread);
        }
        let done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.bar.is_hidden() {
            self.bar.set_message(self.message(done));
        }
    }

    /// Run `f` (which writes to the terminal) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A reader that tells the progress bar how much went through it.
pub struct Counting<'a, R> {
    pub inner: R,
    pub progress: &'a Progress,
    pub count: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if super::interrupt::interrupted() {
            return Err(io::Error::other("interrupted (SIGINT)"));
        }
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        self.progress.add_bytes(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_it_reads() {
        let p = Progress::hidden();
        let mut c = Counting {
            inner: &b"0123456789"[..],
            progress: &p,
            count: 0,
        };
        let mut buf = [0u8; 4];
        assert_eq!(c.read(&mut buf).unwrap(), 4);
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert_eq!(c.count, 10);
        p.file_done(0);
        assert_eq!(p.files_done.load(Ordering::Relaxed), 1);
    }
}
