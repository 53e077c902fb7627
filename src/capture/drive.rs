//! Driving pcap-parser's streaming readers (`LegacyPcapReader`,
//! `PcapNGReader`) the way a long-running analyzer needs:
//!
//! - the crate's `refill()` turns every read error into a bare
//!   `PcapError::ReadError`; [`Source`] keeps the `io::Error` so the
//!   warning can say what went wrong (a cut gzip stream is a truncation, a
//!   failing disk is not), and retries `Interrupted` reads;
//! - `Incomplete` asks for `refill()`, `BufferTooSmall` for `grow()`, which
//!   is capped at [`MAX_BUFFER`]; two `Incomplete`s with nothing changed in
//!   between mean no progress, and reading stops instead of spinning;
//! - the crate gives no stream offsets: the callers use `consumed()`, which
//!   counts from the first byte because the file header (read here first,
//!   see [`read_prefix`]) is chained back in front of the stream.

use super::stream::MAX_RECORD;
use super::{CaptureWarning, WarningKind};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::PcapError;
use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

/// Largest buffer the crate's reader may grow to: one maximal record plus
/// room for the block framing.
pub(crate) const MAX_BUFFER: usize = MAX_RECORD + 4096;

/// Where [`Source`] leaves the read error the crate drops.
pub(crate) type ErrorSlot = Rc<RefCell<Option<io::Error>>>;

/// A reader that retries interrupted reads and remembers its last error.
pub(crate) struct Source<R> {
    inner: R,
    slot: ErrorSlot,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R) -> (Self, ErrorSlot) {
        let slot = ErrorSlot::default();
        (
            Source {
                inner,
                slot: slot.clone(),
            },
            slot,
        )
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let kind = e.kind();
                    let text = e.to_string();
                    *self.slot.borrow_mut() = Some(e);
                    return Err(io::Error::new(kind, text));
                }
                ok => return ok,
            }
        }
    }
}

/// Read up to `buf.len()` bytes, retrying short reads; returns how many.
pub(crate) fn read_prefix<R: Read>(src: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(space) = buf.get_mut(n..) else { break };
        match src.read(space) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n.min(buf.len()))
}

/// A `PcapError`, without the borrow of the reader's buffer.
#[derive(Debug)]
pub(crate) enum ErrKind {
    Eof,
    Incomplete,
    BufferTooSmall,
    UnexpectedEof,
    ReadError,
    /// A parse error (nom error kind, or header not recognised).
    Parse(String),
}

impl ErrKind {
    pub(crate) fn of<I>(e: PcapError<I>) -> ErrKind {
        match e {
            PcapError::Eof => ErrKind::Eof,
            PcapError::Incomplete(_) => ErrKind::Incomplete,
            PcapError::BufferTooSmall => ErrKind::BufferTooSmall,
            PcapError::UnexpectedEof => ErrKind::UnexpectedEof,
            PcapError::ReadError => ErrKind::ReadError,
            PcapError::HeaderNotRecognized => ErrKind::Parse("header not recognized".into()),
            PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
                ErrKind::Parse(format!("parse error ({k:?})"))
            }
        }
    }
}

/// Why reading stopped, short of the end of the stream.
#[derive(Debug)]
pub(crate) enum Why {
    /// The stream ended inside a record or block.
    Truncated,
    /// The buffer would have to grow past [`MAX_BUFFER`].
    TooBig,
    /// Two `Incomplete`s with no progress in between.
    Stalled,
    /// Reading the stream failed.
    Read(io::Error),
}

/// Refill and growth of a crate reader, with the stall check.
pub(crate) struct Pump {
    slot: ErrorSlot,
    capacity: usize,
    /// (consumed, buffered, capacity) at the last `Incomplete`.
    last: Option<(usize, usize, usize)>,
}

impl Pump {
    pub(crate) fn new(slot: ErrorSlot, capacity: usize) -> Self {
        Pump {
            slot,
            capacity,
            last: None,
        }
    }

    /// Answer an `Incomplete` or `BufferTooSmall`: grow if asked (within
    /// the cap), then refill. `Err` says why reading must stop.
    pub(crate) fn more<I: PcapReaderIterator>(
        &mut self,
        r: &mut I,
        too_small: bool,
    ) -> Result<(), Why> {
        if too_small {
            if self.capacity >= MAX_BUFFER {
                return Err(Why::TooBig);
            }
            let new = (self.capacity * 2).min(MAX_BUFFER);
            r.grow(new);
            self.capacity = new;
        }
        let state = (r.consumed(), r.data().len(), self.capacity);
        if self.last == Some(state) {
            return Err(Why::Stalled);
        }
        self.last = Some(state);
        if r.refill().is_err() {
            let e = self
                .slot
                .borrow_mut()
                .take()
                .unwrap_or_else(|| io::Error::other("read failed"));
            return Err(Why::Read(e));
        }
        Ok(())
    }

    /// Forget the stall state once a block was read.
    pub(crate) fn progressed(&mut self) {
        self.last = None;
    }

    pub(crate) fn take_error(&self) -> Option<io::Error> {
        self.slot.borrow_mut().take()
    }
}

/// The warning for a reader stopped at `offset`, where frame `frame` (if a
/// packet record) was expected. `need` is the record's length when known.
pub(crate) fn stop_warning(
    why: Why,
    offset: u64,
    frame: Option<u64>,
    what: &str,
    need: Option<usize>,
    have: usize,
) -> CaptureWarning {
    let at = match frame {
        Some(n) => format!("frame {n} (byte offset {offset})"),
        None => format!("byte offset {offset}"),
    };
    let (kind, message) = match why {
        Why::Truncated => {
            (
                WarningKind::Truncated,
                match need {
                    Some(need) => {
                        format!("capture cut short at {at}: {what} needs {need} bytes, only {have} left")
                    }
                    None => format!("capture cut short at {at}: {what}: only {have} bytes left"),
                },
            )
        }
        Why::TooBig => (
            WarningKind::Corrupt,
            format!(
                "corrupt capture at {at}: {what} claims {} bytes, more than any real record",
                need.unwrap_or(MAX_BUFFER)
            ),
        ),
        Why::Stalled => (
            WarningKind::Corrupt,
            format!("corrupt capture at {at}: {what} cannot be parsed (no progress)"),
        ),
        Why::Read(e) if e.kind() == io::ErrorKind::UnexpectedEof => (
            WarningKind::Truncated,
            format!("capture cut short at {at}: {what}: compressed stream ends early ({e})"),
        ),
        Why::Read(e) => (
            WarningKind::Corrupt,
            format!("cannot read on at {at}: {what}: {e}"),
        ),
    };
    CaptureWarning {
        offset,
        frame,
        kind,
        message,
    }
}

/// A corrupt-record warning.
pub(crate) fn corrupt(offset: u64, frame: Option<u64>, what: String) -> CaptureWarning {
    CaptureWarning {
        offset,
        frame,
        kind: WarningKind::Corrupt,
        message: match frame {
            Some(n) => format!("corrupt capture at frame {n} (byte offset {offset}): {what}"),
            None => format!("corrupt capture at byte offset {offset}: {what}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_parser::LegacyPcapReader;

    struct Failing(io::ErrorKind);
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(self.0, "disk on fire"))
        }
    }

    #[test]
    fn source_keeps_the_error_the_crate_drops() {
        let (mut src, slot) = Source::new(Failing(io::ErrorKind::UnexpectedEof));
        assert!(src.read(&mut [0u8; 4]).is_err());
        let e = slot.borrow_mut().take().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let w = stop_warning(Why::Read(e), 24, Some(1), "packet record", None, 0);
        assert_eq!(w.kind, WarningKind::Truncated);
        let w = stop_warning(
            Why::Read(io::Error::other("disk on fire")),
            24,
            Some(1),
            "packet record",
            None,
            0,
        );
        assert_eq!(w.kind, WarningKind::Corrupt);
        assert!(w.message.contains("byte offset 24") && w.message.contains("disk on fire"));
    }

    #[test]
    fn pump_refills_grows_within_the_cap_and_reports_read_errors() {
        let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        header.extend_from_slice(&[0u8; 8]);
        header.extend_from_slice(&65535u32.to_le_bytes());
        header.extend_from_slice(&1u32.to_le_bytes());
        let (src, slot) = Source::new(io::Cursor::new(header).chain(Failing(io::ErrorKind::Other)));
        let mut r = LegacyPcapReader::new(64, src).unwrap();
        let mut pump = Pump::new(slot, 64);
        assert!(r.next().is_ok());
        r.consume(24);
        match pump.more(&mut r, true) {
            Err(Why::Read(e)) => assert!(e.to_string().contains("disk on fire")),
            other => panic!("{other:?}"),
        }
        assert_eq!(pump.capacity, 128);
        // Growth stops at the cap.
        let mut at_cap = Pump::new(ErrorSlot::default(), MAX_BUFFER);
        assert!(matches!(at_cap.more(&mut r, true), Err(Why::TooBig)));
    }

    #[test]
    fn no_progress_twice_is_a_stall() {
        struct Empty;
        impl Read for Empty {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Ok(0)
            }
        }
        let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        header.extend_from_slice(&[0u8; 16]);
        let (src, slot) = Source::new(io::Cursor::new(header).chain(Empty));
        let mut r = LegacyPcapReader::new(64, src).unwrap();
        let mut pump = Pump::new(slot, 64);
        // Nothing consumed, nothing new: the second call stops.
        assert!(pump.more(&mut r, false).is_ok());
        assert!(matches!(pump.more(&mut r, false), Err(Why::Stalled)));
        pump.progressed();
        assert!(pump.more(&mut r, false).is_ok());
    }
}
