//! Opening a capture: compression and format recognised by magic bytes.
//!
//! gzip (RFC 1952 magic `1f 8b`) and zstd (RFC 8878 frame magic
//! `28 b5 2f fd`) are recognised from a prefix read here (a decompressor or
//! a pipe may return short reads), which is then chained back in front of
//! the rest of the stream.

use super::collect::Collector;
use super::drive;
use super::stream::{Fill, StreamBuf};
use super::{pcap, pcapng};
use super::{CaptureWarning, Compression, Frame, OpenError, ReadSummary, WarningKind};
use std::io::{self, Cursor, Read};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

pub(crate) fn open<R: Read, F: FnMut(&Frame<'_>)>(
    mut src: R,
    on_frame: F,
    on_secrets: Option<super::SecretsSink>,
) -> Result<ReadSummary, OpenError> {
    let mut prefix = [0u8; 4];
    let n = drive::read_prefix(&mut src, &mut prefix)?;
    let head = prefix.get(..n).unwrap_or(&[]);
    let read = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let chained = CountRead {
        inner: Cursor::new(head.to_vec()).chain(src),
        read: read.clone(),
    };
    let (r, compression) = if head.starts_with(&GZIP_MAGIC) {
        let dec = flate2::read::MultiGzDecoder::new(chained);
        (
            read_stream(dec, Compression::Gzip, on_frame, on_secrets),
            "gzip",
        )
    } else if head == ZSTD_MAGIC {
        let dec = zstd::stream::read::Decoder::new(chained)?;
        (
            read_stream(dec, Compression::Zstd, on_frame, on_secrets),
            "zstd",
        )
    } else {
        return read_stream(chained, Compression::None, on_frame, on_secrets);
    };
    // A compressed stream cut before its first block decompressed (a zstd
    // block holds up to 128 KiB: a small file cut anywhere gives nothing)
    // is cut short, not empty and not unreadable: say where it ended.
    match r {
        Err(OpenError::Io(e)) => Err(OpenError::CutBeforeData {
            compression,
            offset: read.get(),
            why: e.to_string(),
        }),
        r => r,
    }
}

/// Counts the bytes read through it.
struct CountRead<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for CountRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// Known formats that are not captures, by their first 4 bytes: what they
/// are and how to make a capture of them.
const KNOWN_FORMATS: &[(&[u8], &str)] = &[
    (
        b"GMBU",
        "a Network Monitor capture (.cap), not a pcap or pcapng capture: convert it with Wireshark's editcap (`editcap -F pcapng FILE.cap FILE.pcapng`)",
    ),
    (
        b"RTSS",
        "a Network Monitor 1.x capture, not a pcap or pcapng capture: convert it with Wireshark's editcap (`editcap -F pcapng FILE.cap FILE.pcapng`)",
    ),
    (
        b"PK\x03\x04",
        "a zip archive, not a capture: unzip it first and give the captures inside",
    ),
    (
        b"PK\x05\x06",
        "an empty zip archive, not a capture",
    ),
    (
        b"\xfd7zX",
        "xz-compressed: decompress it first (`xz -dk FILE.xz`); gzip and zstd are read directly",
    ),
    (
        b"BZh",
        "bzip2-compressed: decompress it first (`bunzip2 -k FILE.bz2`); gzip and zstd are read directly",
    ),
    (
        b"\x04\x22\x4d\x18",
        "lz4-compressed: decompress it first (`lz4 -d FILE.lz4`); gzip and zstd are read directly",
    ),
    (
        b"\x02\x21\x4c\x18",
        "lz4-compressed (legacy frame): decompress it first (`lz4 -d FILE.lz4`); gzip and zstd are read directly",
    ),
];

/// What a file that is not a capture is, when its first bytes say.
fn known_format(magic: &[u8; 4]) -> Option<&'static str> {
    KNOWN_FORMATS
        .iter()
        .find(|(m, _)| magic.starts_with(m))
        .map(|(_, advice)| *advice)
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
    on_secrets: Option<super::SecretsSink>,
) -> Result<ReadSummary, OpenError> {
    let (mut src, slot) = drive::Source::new(src);
    let mut magic = [0u8; 4];
    let n = match drive::read_prefix(&mut src, &mut magic) {
        Ok(n) => n,
        Err(_) => {
            let e = slot.borrow_mut().take();
            return Err(OpenError::Io(
                e.unwrap_or_else(|| io::Error::other("read failed")),
            ));
        }
    };
    if n == 0 {
        return Err(OpenError::Empty);
    }
    if n < 4 {
        return Err(OpenError::NotACapture(hex_prefix(
            magic.get(..n).unwrap_or(&[]),
        )));
    }
    let mut coll = Collector::new(on_frame);
    coll.on_secrets = on_secrets;
    let (format, incomplete, bytes) = if let Some(kind) = pcap::Magic::recognise(magic) {
        if kind.crate_reads() {
            pcap::read(src, slot, &mut coll, kind, magic)?
        } else {
            let mut sb = StreamBuf::new(Cursor::new(magic).chain(src));
            let (format, incomplete) = pcap::read_by_hand(&mut sb, &mut coll, kind)?;
            (format, incomplete, sb.offset())
        }
    } else if magic == pcapng::SHB_TYPE {
        pcapng::read(src, slot, &mut coll)?
    } else if let Some(advice) = known_format(&magic) {
        return Err(OpenError::OtherFormat(advice.to_string()));
    } else {
        // Read a little more for the message.
        let mut more = [0u8; 16];
        more[..4].copy_from_slice(&magic);
        let k = drive::read_prefix(&mut src, &mut more[4..]).unwrap_or(0);
        return Err(OpenError::NotACapture(hex_prefix(
            more.get(..4 + k).unwrap_or(&[]),
        )));
    };
    Ok(ReadSummary {
        format,
        compression,
        packets: coll.packets,
        bytes,
        first_ts: coll.first_ts,
        last_ts: coll.max_ts,
        warnings: coll.warnings,
        warnings_total: coll.warnings_total,
        link_types: coll.link_types,
        interfaces: coll.interfaces,
        incomplete,
    })
}

/// The warning for a stream that could not be read further (hand-written
/// reader) at `offset`,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::pcap::tests::{file_header, read_all, record};
    use crate::capture::CaptureFormat;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        sample_n(200)
    }

    fn sample_n(n: u32) -> Vec<u8> {
        let mut f = file_header(0xa1b2c3d4, false, 65535, 1);
        // Incompressible bytes (an LCG), so compressed blocks are small.
        let mut x = 12345u32;
        for i in 0..n {
            let data: Vec<u8> = (0..(i % 251))
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            f.extend(record(false, i, 0, &data, data.len() as u32, false));
        }
        f
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    /// A reader that returns one byte per call.
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((b, rest)), Some(o)) => {
                    *o = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn gzip_and_zstd_by_magic() {
        let plain = sample();
        let (r, seen_plain) = read_all(&plain);
        let p = r.unwrap();
        for (bytes, comp) in [
            (gzip(&plain), Compression::Gzip),
            (zstd::encode_all(&plain[..], 3).unwrap(), Compression::Zstd),
        ] {
            let (r, seen) = read_all(&bytes);
            let s = r.unwrap();
            assert_eq!(s.compression, comp);
            assert_eq!((s.packets, s.bytes), (p.packets, p.bytes));
            assert_eq!(seen, seen_plain);
            assert!(s.incomplete.is_none());
            let name = if comp == Compression::Gzip {
                "gzip"
            } else {
                "zstd"
            };
            assert!(s.format.describe(comp).ends_with(name));
            // Short reads from the source (a pipe) change nothing.
            let mut n = 0;
            let s2 = crate::capture::read_capture(OneByte(&bytes), |_| n += 1).unwrap();
            assert_eq!((s2.packets, n), (200, 200));
        }
        // Concatenated gzip members read as one stream.
        let mut two = gzip(&plain[..1000]);
        two.extend(gzip(&plain[1000..]));
        let (r, seen) = read_all(&two);
        assert_eq!(r.unwrap().packets, 200);
        assert_eq!(seen, seen_plain);
        assert!(matches!(
            p.format,
            CaptureFormat::Pcap {
                modified: false,
                ..
            }
        ));
    }

    #[test]
    fn known_formats_are_named_with_how_to_convert_them() {
        let cases: &[(&[u8], &str)] = &[
            (b"GMBU\x00\x02\x00\x00", "Network Monitor"),
            (b"RTSS\x01\x01", "Network Monitor"),
            (b"PK\x03\x04\x14\x00", "unzip it first"),
            (b"\xfd7zXZ\x00\x00", "xz -dk"),
            (b"BZh91AY&SY", "bunzip2"),
            (b"\x04\x22\x4d\x18\x64\x40", "lz4 -d"),
        ];
        for (bytes, says) in cases {
            match read_all(bytes).0 {
                Err(OpenError::OtherFormat(m)) => {
                    assert!(m.contains(says), "{m}");
                    assert!(!m.contains("first bytes"), "{m}");
                }
                other => panic!("{says}: {other:?}"),
            }
        }
        // Inside gzip too.
        assert!(matches!(
            read_all(&gzip(b"GMBU\x00\x02\x00\x00")).0,
            Err(OpenError::OtherFormat(_))
        ));
        // An ETW trace is told by its name.
        let etl = crate::capture::name_the_format(
            Err(OpenError::NotACapture("00 00 01 00".into())),
            "C:/traces/NetTrace.ETL",
        );
        match etl {
            Err(OpenError::OtherFormat(m)) => {
                assert!(
                    m.contains("pktmon etl2pcap FILE.etl --out FILE.pcapng"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        // Anything else is still shown by its first bytes.
        assert!(matches!(
            read_all(b"GET / HTTP/1.1").0,
            Err(OpenError::NotACapture(_))
        ));
    }

    #[test]
    fn cut_compressed_streams_keep_what_was_read() {
        // Large enough for several zstd blocks (128 KiB each).
        let plain = sample_n(6000);
        for bytes in [gzip(&plain), zstd::encode_all(&plain[..], 3).unwrap()] {
            for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 5] {
                let (r, seen) = read_all(&bytes[..cut]);
                match r {
                    Ok(s) => {
                        let w = s.incomplete.expect("cut stream reported");
                        assert_eq!(w.kind, WarningKind::Truncated, "{}", w.message);
                        assert_eq!(seen.len() as u64, s.packets);
                        // Cut in the trailer only: every packet is there.
                        assert!(seen.len() < 6000 || cut == bytes.len() - 5);
                    }
                    Err(e) => panic!("cut {cut}: {e}"),
                }
            }
        }
    }

    #[test]
    fn a_small_compressed_capture_cut_anywhere_says_where() {
        // One zstd block: cut anywhere, nothing decompresses; the file is
        // cut short at the offset where its bytes end, not "unreadable".
        let plain = sample_n(20);
        for bytes in [gzip(&plain), zstd::encode_all(&plain[..], 3).unwrap()] {
            for cut in 5..bytes.len() {
                let (r, seen) = read_all(&bytes[..cut]);
                match r {
                    Ok(s) => {
                        let w = s.incomplete.expect("cut stream reported");
                        assert_eq!(w.kind, WarningKind::Truncated, "{}", w.message);
                        assert_eq!(seen.len() as u64, s.packets);
                    }
                    Err(OpenError::CutBeforeData { offset, .. }) => {
                        assert_eq!(offset, cut as u64, "cut {cut}");
                        assert!(seen.is_empty());
                    }
                    Err(e) => panic!("cut {cut} of {}: {e}", bytes.len()),
                }
            }
        }
    }

    #[test]
    fn empty_and_not_a_capture() {
        assert!(matches!(read_all(b"").0, Err(OpenError::Empty)));
        assert!(matches!(read_all(&gzip(b"")).0, Err(OpenError::Empty)));
        match read_all(&gzip(b"hello, world, not a capture")).0 {
            Err(OpenError::NotACapture(h)) => assert!(h.starts_with("68 65 6c 6c"), "{h}"),
            other => panic!("{other:?}"),
        }
        // A gzip magic followed by garbage is an error, not a panic.
        assert!(read_all(&[0x1f, 0x8b, 0, 0, 0]).0.is_err());
        assert!(read_all(&[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff]).0.is_err());
    }

    #[test]
    fn read_error_midway_is_reported() {
        struct FailAfter(Vec<u8>, usize);
        impl Read for FailAfter {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() {
                    return Err(io::Error::other("disk on fire"));
                }
                let k = out.len().min(self.0.len() - self.1).min(100);
                out[..k].copy_from_slice(&self.0[self.1..self.1 + k]);
                self.1 += k;
                Ok(k)
            }
        }
        let plain = sample();
        let mut n = 0;
        let s =
            crate::capture::read_capture(FailAfter(plain[..5000].to_vec(), 0), |_| n += 1).unwrap();
        let w = s.incomplete.unwrap();
        assert_eq!(w.kind, WarningKind::Corrupt);
        assert!(w.message.contains("disk on fire"));
        assert_eq!(n, s.packets);
        assert!(n > 0);
    }
}
