//! The progress bar on standard error: files and bytes done, rate and time
//! left. Drawn only on a terminal and without `--quiet`; otherwise every
//! call is a cheap no-op.
//!
//! Bytes are the files' sizes as stored (compressed captures count their
//! compressed size), counted as the analysis reads them, so the rate and
//! the time left follow the real work; a file the reader gives up on early
//! (not a capture) counts whole when it is done. Standard input has no
//! size and only counts as a file.

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::{self, Read};
use std::sync::Mutex;
use std::time::Duration;

pub struct Progress {
    bar: ProgressBar,
    files_total: u64,
    /// Files done. Counted and shown under one lock: two workers ending
    /// together must not show 4/61 and then 3/61.
    files_done: Mutex<u64>,
}

/// Before this much time and this share of the bytes, the rate is a guess
/// from the first file's first reads (often its header only): the time
/// left is not shown. Three seconds is the first window over which the
/// bar's own rate estimate has averaged several refreshes.
const ETA_AFTER: Duration = Duration::from_secs(3);
const ETA_AFTER_FRACTION: f32 = 0.02;

/// The time left as the bar shows it.
fn time_left(elapsed: Duration, fraction: f32, eta: Duration) -> String {
    if elapsed < ETA_AFTER || fraction < ETA_AFTER_FRACTION {
        "estimating time left".to_string()
    } else {
        format!("{} left", HumanDuration(eta))
    }
}

impl Progress {
    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            files_total: 0,
            files_done: Mutex::new(0),
        }
    }

    /// A bar on standard error for `files` files of `bytes` bytes in all.
    pub fn stderr(files: u64, bytes: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        let template =
            "{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, {left}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.with_key(
                "left",
                |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&time_left(s.elapsed(), s.fraction(), s.eta()));
                },
            ));
        }
        let p = Progress {
            bar,
            files_total: files,
            files_done: Mutex::new(0),
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
        let mut done = self.files_done.lock().unwrap_or_else(|e| e.into_inner());
        *done += 1;
        if self.files_total > 0 {
            self.bar.set_message(self.message(*done));
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
        assert_eq!(*p.files_done.lock().unwrap(), 1);
    }

    #[test]
    fn the_count_shown_never_goes_back() {
        // Workers ending at once: the message is set under the lock that
        // counts, so the last message is the final count and each worker
        // saw a count no smaller than the one before it.
        let p = Progress::stderr(400, 0);
        p.bar.set_draw_target(ProgressDrawTarget::hidden());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        p.file_done(0);
                    }
                });
            }
        });
        assert_eq!(*p.files_done.lock().unwrap(), 400);
        assert_eq!(p.bar.message(), "400/400 files");
    }

    #[test]
    fn no_time_left_from_the_first_reads() {
        let eta = Duration::from_secs(7200);
        let s = Duration::from_secs;
        assert_eq!(time_left(s(1), 0.5, eta), "estimating time left");
        assert_eq!(time_left(s(10), 0.01, eta), "estimating time left");
        assert_eq!(time_left(s(10), 0.3, s(40)), "40 seconds left");
    }
}
