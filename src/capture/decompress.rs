//! Opening a capture: compression and format recognised by magic bytes.
//!
//! gzip (RFC 1952 magic `1f 8b`) and zstd (RFC 8878 frame magic
//! `28 b5 2f fd`) are recognised from a prefix read here (a decompressor or
//! a pipe may return short reads), which is then chained back in front of
//! the rest of the stream.

use super::collect::Collector;
use super::stream::{Fill, StreamBuf};
use super::{pcap, pcapng};
use super::{CaptureWarning, Compression, Frame, OpenError, ReadSummary, WarningKind};
use std::io::{self, Cursor, Read};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Read up to `buf.len()` bytes, retrying short reads; returns how many.
fn read_prefix<R: Read>(src: &mut R, buf: &mut [u8]) -> io::Result<usize> {
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

pub(crate) fn open<R: Read, F: FnMut(&Frame<'_>)>(
    mut src: R,
    on_frame: F,
) -> Result<ReadSummary, OpenError> {
    let mut prefix = [0u8; 4];
    let n = read_prefix(&mut src, &mut prefix)?;
    let head = prefix.get(..n).unwrap_or(&[]);
    let chained = Cursor::new(head.to_vec()).chain(src);
    if head.starts_with(&GZIP_MAGIC) {
        let dec = flate2::read::MultiGzDecoder::new(chained);
        read_stream(dec, Compression::Gzip, on_frame)
    } else if head == ZSTD_MAGIC {
        let dec = zstd::stream::read::Decoder::new(chained)?;
        read_stream(dec, Compression::Zstd, on_frame)
    } else {
        read_stream(chained, Compression::None, on_frame)
    }
}

/// Hex of the first bytes, for "not a capture" messages.
pub(crate) fn hex_prefix(b: &[u8]) -> String {
    let mut s = String::new();
    for (i, x) in b.iter().take(16).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn read_stream<R: Read, F: FnMut(&Frame<'_>)>(
    src: R,
    compression: Compression,
    on_frame: F,
) -> Result<ReadSummary, OpenError> {
    let mut sb = StreamBuf::new(src);
    match sb.ensure(4) {
        Fill::Ready => {}
        Fill::Eof => {
            if sb.available().is_empty() {
                return Err(OpenError::Empty);
            }
            return Err(OpenError::NotACapture(hex_prefix(sb.available())));
        }
        Fill::TooBig => return Err(OpenError::Other("read buffer too small".into())),
        Fill::Error(e) => return Err(OpenError::Io(e)),
    }
    let mut coll = Collector::new(on_frame);
    let magic: [u8; 4] = match sb.available().get(..4).map(<[u8; 4]>::try_from) {
        Some(Ok(m)) => m,
        _ => return Err(OpenError::Other("read buffer too small".into())),
    };
    let (format, incomplete) = if let Some(kind) = pcap::Magic::recognise(magic) {
        pcap::read(&mut sb, &mut coll, kind)?
    } else if magic == pcapng::SHB_TYPE {
        pcapng::read(&mut sb, &mut coll)?
    } else {
        // Read a little more for the message.
        let _ = sb.ensure(16);
        return Err(OpenError::NotACapture(hex_prefix(sb.available())));
    };
    Ok(ReadSummary {
        format,
        compression,
        packets: coll.packets,
        bytes: sb.offset(),
        first_ts: coll.first_ts,
        last_ts: coll.max_ts,
        warnings: coll.warnings,
        warnings_total: coll.warnings_total,
        link_types: coll.link_types,
        incomplete,
    })
}

/// The warning for a stream that could not be read further at `offset`,
/// where frame `frame` (if a packet record) was expected.
pub(crate) fn stream_stop(
    fill: Fill,
    offset: u64,
    frame: Option<u64>,
    what: &str,
    need: usize,
    have: usize,
) -> CaptureWarning {
    let at = match frame {
        Some(n) => format!("frame {n} (byte offset {offset})"),
        None => format!("byte offset {offset}"),
    };
    let (kind, message) = match fill {
        Fill::Eof => (
            WarningKind::Truncated,
            format!("capture cut short at {at}: {what} needs {need} bytes, only {have} left"),
        ),
        Fill::TooBig => (
            WarningKind::Corrupt,
            format!(
                "corrupt capture at {at}: {what} claims {need} bytes, more than any real record"
            ),
        ),
        Fill::Error(e) if e.kind() == io::ErrorKind::UnexpectedEof => (
            WarningKind::Truncated,
            format!("capture cut short at {at}: {what}: compressed stream ends early ({e})"),
        ),
        Fill::Error(e) => (
            WarningKind::Corrupt,
            format!("cannot read on at {at}: {what}: {e}"),
        ),
        Fill::Ready => (WarningKind::Other, format!("stopped at {at}")),
    };
    CaptureWarning {
        offset,
        frame,
        kind,
        message,
    }
}
