//! A fixed-size window over a byte stream, read once front to back.
//!
//! Used by the hand-written reader of the one format pcap-parser does not
//! read (big-endian modified pcap, see `pcap.rs`); the size limits serve
//! both readers.
//!
//! The reader asks for "the next `n` bytes" ([`StreamBuf::ensure`]), looks
//! at them in place and then consumes them. The window starts at
//! [`INITIAL_BUFFER`] bytes and grows only for a record larger than it, up
//! to [`MAX_RECORD`]; a record larger than that is reported, never loaded.

use std::io::{self, Read};

/// Initial size of the window.
pub(crate) const INITIAL_BUFFER: usize = 256 * 1024;

/// Largest record (pcap packet record or pcapng block) the reader accepts.
pub(crate) const MAX_RECORD: usize = 16 * 1024 * 1024 + 64 * 1024;

/// The outcome of [`StreamBuf::ensure`].
#[derive(Debug)]
pub(crate) enum Fill {
    /// At least the requested bytes are available.
    Ready,
    /// The stream ended first; `available()` holds what is left.
    Eof,
    /// The request exceeds [`MAX_RECORD`].
    TooBig,
    /// Reading failed.
    Error(io::Error),
}

pub(crate) struct StreamBuf<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    max: usize,
}

impl<R: Read> StreamBuf<R> {
    pub(crate) fn new(src: R) -> Self {
        Self::with_sizes(src, INITIAL_BUFFER, MAX_RECORD)
    }

    pub(crate) fn with_sizes(src: R, initial: usize, max: usize) -> Self {
        StreamBuf {
            src,
            buf: vec![0; initial.max(16)],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            max: max.max(16),
        }
    }

    /// Stream offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// The unconsumed bytes in the window.
    pub(crate) fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Make at least `n` unconsumed bytes available, reading as needed.
    ///
    /// The window grows (doubling, up to the maximum) only while data keeps
    /// coming, so a bogus length near the end of a stream costs nothing.
    pub(crate) fn ensure(&mut self, n: usize) -> Fill {
        if self.end - self.start >= n {
            return Fill::Ready;
        }
        if n > self.max {
            return Fill::TooBig;
        }
        if self.start + n > self.buf.len() && self.start > 0 {
            // Move the unconsumed tail to the front.
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            if self.eof {
                return Fill::Eof;
            }
            if self.end == self.buf.len() {
                let new_len = (self.buf.len() * 2).min(self.max).max(self.end + 1);
                self.buf.resize(new_len, 0);
            }
            let Some(space) = self.buf.get_mut(self.end..) else {
                return Fill::Eof;
            };
            match self.src.read(space) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k.min(space_len(self.buf.len(), self.end)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Fill::Error(e),
            }
        }
        Fill::Ready
    }

    /// Drop `n` bytes from the front of the window (at most what is there).
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }
}

fn space_len(len: usize, end: usize) -> usize {
    len.saturating_sub(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes per call.
    struct Dribble<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let k = self.step.min(out.len()).min(self.data.len());
            out[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }

    #[test]
    fn ensure_reads_short_reads_and_compacts() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut sb = StreamBuf::with_sizes(
            Dribble {
                data: &data,
                step: 3,
            },
            16,
            64,
        );
        assert!(matches!(sb.ensure(10), Fill::Ready));
        assert_eq!(&sb.available()[..10], &data[..10]);
        sb.consume(10);
        assert_eq!(sb.offset(), 10);
        // Needs compaction: 10 + 12 > 16.
        assert!(matches!(sb.ensure(12), Fill::Ready));
        assert_eq!(&sb.available()[..12], &data[10..22]);
        sb.consume(12);
        // Needs growth.
        assert!(matches!(sb.ensure(40), Fill::Ready));
        assert_eq!(&sb.available()[..40], &data[22..62]);
        assert!(matches!(sb.ensure(65), Fill::TooBig));
        sb.consume(40);
        assert!(matches!(sb.ensure(50), Fill::Eof));
        assert_eq!(sb.available(), &data[62..]);
        assert!(sb.buf.len() <= 64);
        sb.consume(1000);
        assert_eq!(sb.offset(), 100);
        assert!(sb.available().is_empty());
    }

    #[test]
    fn a_bogus_length_at_the_end_does_not_grow_the_window() {
        let data = [7u8; 100];
        let mut sb = StreamBuf::with_sizes(&data[..], 32, 1 << 24);
        assert!(matches!(sb.ensure(1 << 23), Fill::Eof));
        assert!(sb.buf.len() <= 128, "{}", sb.buf.len());
        assert_eq!(sb.available().len(), 100);
    }

    #[test]
    fn read_errors_are_reported() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::InvalidData, "bad"))
            }
        }
        let mut sb = StreamBuf::new(Failing);
        assert!(matches!(sb.ensure(1), Fill::Error(_)));
    }
}
