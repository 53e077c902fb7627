//! Legacy pcap (draft-ietf-opsawg-pcap, "PCAP Capture File Format").
//!
//! File header (section 4): magic, version, reserved, SnapLen, LinkType
//! and additional information, 24 bytes. Packet record (section 5):
//! timestamp seconds, timestamp micro- or nanoseconds, captured length,
//! original length, then the packet data. The magic gives the byte order
//! and the timestamp unit. The modified (Kuznetsov, magic `a1b2cd34`)
//! format of old Linux patches adds interface index (4), protocol (2),
//! packet type (1) and padding (1) to each record header: 24 bytes.
//!
//! Records are read by pcap-parser's `LegacyPcapReader` (every magic, both
//! byte orders, and the modified format in little-endian). pcap-parser 0.17
//! does not read the modified format in big-endian: `parse_pcap_header`
//! refuses its magic (`34 cd b2 a1` read as little-endian is not one it
//! knows) and `parse_pcap_frame_modified` reads its fields little-endian
//! only. That one format keeps the hand-written reader
//! ([`read_by_hand`]).

use super::collect::Collector;
use super::decompress::stream_stop;
use super::drive::{self, ErrKind, Pump, Why};
use super::stream::{Fill, StreamBuf, INITIAL_BUFFER};
use super::{CaptureFormat, CaptureWarning, Frame, LinkType, OpenError, WarningKind};
use crate::common::Timestamp;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned};
use std::io::{Cursor, Read};

const FILE_HEADER_LEN: usize = 24;

/// What the magic number says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Magic {
    pub(crate) big_endian: bool,
    pub(crate) nanosecond: bool,
    pub(crate) modified: bool,
}

impl Magic {
    pub(crate) fn recognise(b: [u8; 4]) -> Option<Magic> {
        let (nanosecond, modified) = match u32::from_be_bytes(b) {
            0xa1b2_c3d4 | 0xd4c3_b2a1 => (false, false),
            0xa1b2_3c4d | 0x4d3c_b2a1 => (true, false),
            0xa1b2_cd34 | 0x34cd_b2a1 => (false, true),
            _ => return None,
        };
        Some(Magic {
            big_endian: b[0] == 0xa1,
            nanosecond,
            modified,
        })
    }

    fn format(self) -> CaptureFormat {
        CaptureFormat::Pcap {
            nanosecond: self.nanosecond,
            big_endian: self.big_endian,
            modified: self.modified,
        }
    }

    /// Whether pcap-parser reads this format (see the module comment).
    pub(crate) fn crate_reads(self) -> bool {
        !(self.modified && self.big_endian)
    }

    fn record_header_len(self) -> usize {
        if self.modified {
            24
        } else {
            16
        }
    }
}

#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize, be: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize, be: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

/// The largest captured length accepted for a link type: libpcap's and
/// Wireshark's maximum snapshot length (262144), larger for the few link
/// types whose records may be bigger (USB, D-Bus, EBHSCR), as Wireshark
/// does; a larger record is taken for corruption.
fn max_caplen(link: LinkType) -> u32 {
    match link.0 {
        // USB Linux (189, 220), USBPcap (249), D-Bus (231), EBHSCR (279).
        189 | 220 | 231 | 249 | 279 => super::stream::MAX_RECORD as u32 - 64,
        _ => 262_144,
    }
}

/// A record header, decoded.
struct Record {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    origlen: u32,
}

fn record_header(b: &[u8], be: bool) -> Option<Record> {
    Some(Record {
        ts_sec: u32_at(b, 0, be)?,
        ts_frac: u32_at(b, 4, be)?,
        caplen: u32_at(b, 8, be)?,
        origlen: u32_at(b, 12, be)?,
    })
}

/// The corruption warning for a record whose captured length is more than
/// its link type allows (checked before the reader grows its buffer).
fn oversized(offset: u64, number: u64, caplen: u32, link: LinkType) -> CaptureWarning {
    CaptureWarning {
        offset,
        frame: Some(number),
        kind: WarningKind::Corrupt,
        message: format!(
            "corrupt capture at frame {number} (byte offset {offset}): packet record \
             claims {caplen} captured bytes, more than the {} a {} capture can hold",
            max_caplen(link),
            link.name()
        ),
    }
}

/// Deliver one record (already checked against [`max_caplen`]).
#[allow(clippy::too_many_arguments)]
fn deliver_record<F: FnMut(&Frame<'_>)>(
    coll: &mut Collector<F>,
    offset: u64,
    link: LinkType,
    snaplen: u32,
    nanosecond: bool,
    rec: &Record,
    data: &[u8],
) {
    let number = coll.next_number();
    let mut caplen = rec.caplen;
    if caplen > rec.origlen {
        coll.warn(
            offset,
            Some(number),
            WarningKind::LengthMismatch,
            format!(
                "frame {number} (byte offset {offset}): captured length {caplen} exceeds \
                 the original length {}; using {}",
                rec.origlen, rec.origlen
            ),
        );
        caplen = rec.origlen;
    } else if snaplen != 0 && caplen > snaplen {
        coll.warn(
            offset,
            Some(number),
            WarningKind::LengthMismatch,
            format!(
                "frame {number} (byte offset {offset}): captured length {caplen} exceeds \
                 the file's snap length {snaplen}"
            ),
        );
    }
    let frac = if nanosecond {
        rec.ts_frac as i64
    } else {
        rec.ts_frac as i64 * 1000
    };
    let ts = Timestamp::from_nanos((rec.ts_sec as i64) * 1_000_000_000 + frac);
    let frame = Frame {
        number,
        ts,
        link,
        interface: 0,
        orig_len: rec.origlen,
        data: data.get(..caplen as usize).unwrap_or(data),
    };
    coll.deliver(offset, &frame);
}

/// Read a legacy pcap stream with pcap-parser. `magic` are the first 4
/// bytes, already read from `src`; `src` is the rest of the stream.
/// Returns the format, how reading ended and the bytes consumed.
pub(crate) fn read<R: Read, F: FnMut(&Frame<'_>)>(
    mut src: drive::Source<R>,
    slot: drive::ErrorSlot,
    coll: &mut Collector<F>,
    magic: Magic,
    magic_bytes: [u8; 4],
) -> Result<(CaptureFormat, Option<CaptureWarning>, u64), OpenError> {
    let format = magic.format();
    let be = magic.big_endian;
    // The file header is read here: the crate parses it from a single
    // read() when the reader is created, which a pipe or a decompressor
    // may answer short.
    let mut header = [0u8; FILE_HEADER_LEN];
    header[..4].copy_from_slice(&magic_bytes);
    let have = match drive::read_prefix(&mut src, &mut header[4..]) {
        Ok(n) => 4 + n,
        Err(_) => {
            let e = slot
                .borrow_mut()
                .take()
                .unwrap_or_else(|| std::io::Error::other("read failed"));
            let w = drive::stop_warning(Why::Read(e), 0, None, "pcap file header", None, 4);
            return Ok((format, Some(w), 0));
        }
    };
    if have < FILE_HEADER_LEN {
        let w = drive::stop_warning(
            Why::Truncated,
            0,
            None,
            "pcap file header",
            Some(FILE_HEADER_LEN),
            have,
        );
        return Ok((format, Some(w), 0));
    }
    let chained = Cursor::new(header).chain(src);
    let mut reader = LegacyPcapReader::new(INITIAL_BUFFER, chained)
        .map_err(|e| OpenError::Other(format!("pcap: {:?}", ErrKind::of(e))))?;
    let snaplen = u32_at(&header, 16, be).unwrap_or(0);
    // LinkType and additional information: the link type is the low 16
    // bits; the FCS bits above it do not change the link type.
    let link = LinkType(u32_at(&header, 20, be).unwrap_or(0) & 0xffff);
    let rec_len = magic.record_header_len();
    let mut pump = Pump::new(slot, INITIAL_BUFFER);
    loop {
        let offset = reader.consumed() as u64;
        // A record length no capture tool writes is corruption: checked
        // here, before the crate asks for a buffer that large.
        let data = reader.data();
        let head = if offset >= FILE_HEADER_LEN as u64 {
            record_header(data, be)
        } else {
            None
        };
        if let Some(rec) = &head {
            if rec.caplen > max_caplen(link) {
                let w = oversized(offset, coll.packets + 1, rec.caplen, link);
                return Ok((format, Some(w), offset));
            }
        }
        let have = data.len();
        match reader.next() {
            Ok((len, PcapBlockOwned::Legacy(b))) => {
                let rec = Record {
                    ts_sec: b.ts_sec,
                    ts_frac: b.ts_usec,
                    caplen: b.caplen,
                    origlen: b.origlen,
                };
                deliver_record(coll, offset, link, snaplen, magic.nanosecond, &rec, b.data);
                reader.consume(len);
                pump.progressed();
            }
            Ok((len, _)) => {
                // The file header (first call).
                reader.consume(len);
            }
            Err(e) => {
                let why = match ErrKind::of(e) {
                    ErrKind::Eof => return Ok((format, None, offset)),
                    ErrKind::Incomplete => pump.more(&mut reader, false),
                    ErrKind::BufferTooSmall => pump.more(&mut reader, true),
                    ErrKind::UnexpectedEof => Err(Why::Truncated),
                    ErrKind::ReadError => Err(Why::Read(
                        pump.take_error()
                            .unwrap_or_else(|| std::io::Error::other("read failed")),
                    )),
                    ErrKind::Parse(what) => {
                        let w = drive::corrupt(offset, Some(coll.packets + 1), what);
                        return Ok((format, Some(w), offset));
                    }
                };
                if let Err(why) = why {
                    let (what, need) = match &head {
                        Some(r) => ("packet record", rec_len.saturating_add(r.caplen as usize)),
                        None => ("packet record header", rec_len),
                    };
                    let w = drive::stop_warning(
                        why,
                        offset,
                        Some(coll.packets + 1),
                        what,
                        Some(need),
                        have,
                    );
                    return Ok((format, Some(w), offset));
                }
            }
        }
    }
}

/// Read a legacy pcap stream by hand: only for the big-endian modified
/// format, which pcap-parser 0.17 does not read (see the module comment).
pub(crate) fn read_by_hand<R: Read, F: FnMut(&Frame<'_>)>(
    sb: &mut StreamBuf<R>,
    coll: &mut Collector<F>,
    magic: Magic,
) -> Result<(CaptureFormat, Option<CaptureWarning>), OpenError> {
    let format = magic.format();
    let be = magic.big_endian;
    let fill = sb.ensure(FILE_HEADER_LEN);
    if !matches!(fill, Fill::Ready) {
        let have = sb.available().len();
        let w = stream_stop(fill, 0, None, "pcap file header", FILE_HEADER_LEN, have);
        return Ok((format, Some(w)));
    }
    let hdr = sb.available();
    let snaplen = u32_at(hdr, 16, be).unwrap_or(0);
    // LinkType and additional information: the link type is the low 16
    // bits; the FCS bits above it do not change the link type.
    let link = LinkType(u32_at(hdr, 20, be).unwrap_or(0) & 0xffff);
    sb.consume(FILE_HEADER_LEN);

    let rec_len = magic.record_header_len();
    loop {
        let offset = sb.offset();
        let fill = sb.ensure(rec_len);
        if !matches!(fill, Fill::Ready) {
            let have = sb.available().len();
            if have == 0 && matches!(fill, Fill::Eof) {
                return Ok((format, None));
            }
            let w = stream_stop(
                fill,
                offset,
                Some(coll.packets + 1),
                "packet record header",
                rec_len,
                have,
            );
            return Ok((format, Some(w)));
        }
        let Some(rec) = record_header(sb.available(), be) else {
            return Ok((format, None));
        };
        if rec.caplen > max_caplen(link) {
            // A record length no capture tool writes: the file is corrupt
            // here (and reading on would only misread the rest).
            let w = oversized(offset, coll.packets + 1, rec.caplen, link);
            return Ok((format, Some(w)));
        }
        let total = rec_len.saturating_add(rec.caplen as usize);
        let fill = sb.ensure(total);
        if !matches!(fill, Fill::Ready) {
            let have = sb.available().len();
            let w = stream_stop(
                fill,
                offset,
                Some(coll.packets + 1),
                "packet record",
                total,
                have,
            );
            return Ok((format, Some(w)));
        }
        let data = sb.available().get(rec_len..total).unwrap_or(&[]);
        deliver_record(coll, offset, link, snaplen, magic.nanosecond, &rec, data);
        sb.consume(total);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::capture::{read_capture, Compression, ReadSummary};

    /// A pcap file header.
    pub(crate) fn file_header(magic: u32, be: bool, snaplen: u32, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        let p32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        p32(&mut v, magic);
        if be {
            v.extend_from_slice(&2u16.to_be_bytes());
            v.extend_from_slice(&4u16.to_be_bytes());
        } else {
            v.extend_from_slice(&2u16.to_le_bytes());
            v.extend_from_slice(&4u16.to_le_bytes());
        }
        p32(&mut v, 0);
        p32(&mut v, 0);
        p32(&mut v, snaplen);
        p32(&mut v, link);
        v
    }

    pub(crate) fn record(
        be: bool,
        sec: u32,
        frac: u32,
        data: &[u8],
        origlen: u32,
        modified: bool,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [sec, frac, data.len() as u32, origlen] {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        if modified {
            v.extend_from_slice(&[0, 0, 0, 2, 0x08, 0x00, 0, 0]);
        }
        v.extend_from_slice(data);
        v
    }

    type Seen = Vec<(u64, i64, u32, u32, Vec<u8>)>;

    pub(crate) fn read_all(bytes: &[u8]) -> (Result<ReadSummary, OpenError>, Seen) {
        let mut seen = Vec::new();
        let r = read_capture(bytes, |f| {
            seen.push((
                f.number,
                f.ts.nanos(),
                f.link.0,
                f.orig_len,
                f.data.to_vec(),
            ))
        });
        (r, seen)
    }

    fn sample(magic: u32, be: bool, modified: bool) -> Vec<u8> {
        let mut f = file_header(magic, be, 65535, 1);
        f.extend(record(be, 10, 500, b"abcdef", 6, modified));
        f.extend(record(be, 11, 7, b"xyz", 60, modified));
        f
    }

    #[test]
    fn every_magic_and_byte_order() {
        for (magic, nano, modified) in [
            (0xa1b2c3d4u32, false, false),
            (0xa1b23c4d, true, false),
            (0xa1b2cd34, false, true),
        ] {
            for be in [false, true] {
                let f = sample(magic, be, modified);
                let (r, seen) = read_all(&f);
                let s = r.unwrap();
                assert_eq!(
                    s.format,
                    CaptureFormat::Pcap {
                        nanosecond: nano,
                        big_endian: be,
                        modified
                    }
                );
                assert_eq!(s.compression, Compression::None);
                assert_eq!(s.packets, 2);
                assert!(s.incomplete.is_none());
                assert_eq!(s.bytes, f.len() as u64);
                let unit = if nano { 1 } else { 1000 };
                assert_eq!(
                    seen[0],
                    (1, 10_000_000_000 + 500 * unit, 1, 6, b"abcdef".to_vec())
                );
                assert_eq!(
                    seen[1],
                    (2, 11_000_000_000 + 7 * unit, 1, 60, b"xyz".to_vec())
                );
                assert_eq!(s.link_types, vec![(LinkType::ETHERNET, 2)]);
            }
        }
    }

    #[test]
    fn every_truncation_is_reported_not_panicking() {
        let f = sample(0xa1b2c3d4, false, false);
        let rec1_end = 24 + 16 + 6;
        for cut in 0..f.len() {
            let (r, seen) = read_all(&f[..cut]);
            match cut {
                0 => assert!(matches!(r, Err(OpenError::Empty))),
                1..=3 => assert!(matches!(r, Err(OpenError::NotACapture(_)))),
                _ => {
                    let s = r.unwrap();
                    let inc = s.incomplete.clone();
                    if cut == 24 || cut == rec1_end {
                        assert!(inc.is_none(), "cut {cut}");
                    } else {
                        let w = inc.unwrap_or_else(|| panic!("cut {cut}"));
                        assert_eq!(w.kind, WarningKind::Truncated);
                        if cut < 24 {
                            assert_eq!(w.offset, 0);
                        } else if cut < rec1_end {
                            assert_eq!((w.offset, w.frame), (24, Some(1)));
                            assert!(w.message.contains("byte offset 24"), "{}", w.message);
                            assert!(w.message.contains("frame 1"), "{}", w.message);
                        } else {
                            assert_eq!((w.offset, w.frame), (rec1_end as u64, Some(2)));
                        }
                    }
                    assert_eq!(seen.len(), if cut >= rec1_end { 1 } else { 0 });
                }
            }
        }
    }

    #[test]
    fn caplen_over_origlen_is_cut_and_warned() {
        let mut f = file_header(0xa1b2c3d4, false, 4, 1);
        f.extend(record(false, 1, 0, b"abcdef", 3, false));
        let (r, seen) = read_all(&f);
        let s = r.unwrap();
        assert_eq!(seen[0].4, b"abc");
        assert_eq!(s.warnings.len(), 1);
        assert_eq!(s.warnings[0].kind, WarningKind::LengthMismatch);
        assert_eq!(s.warnings[0].frame, Some(1));
        // Over the snap length only: warned, delivered whole.
        let mut f = file_header(0xa1b2c3d4, false, 4, 1);
        f.extend(record(false, 1, 0, b"abcdef", 6, false));
        let (r, seen) = read_all(&f);
        assert_eq!(seen[0].4, b"abcdef");
        assert_eq!(r.unwrap().warnings[0].kind, WarningKind::LengthMismatch);
    }

    #[test]
    fn giant_record_is_corrupt_not_allocated() {
        let mut f = sample(0xa1b2c3d4, true, false);
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x43, 0x6f, 0x6e, 0x74, 0, 0, 0, 1]);
        f.extend_from_slice(&[0u8; 100]);
        let (r, seen) = read_all(&f);
        let s = r.unwrap();
        assert_eq!(seen.len(), 2);
        let w = s.incomplete.unwrap();
        assert_eq!(w.kind, WarningKind::Corrupt);
        assert_eq!(w.frame, Some(3));
        assert_eq!(w.offset, (24 + 22 + 19) as u64);
    }

    #[test]
    fn record_over_the_maximum_snapshot_length_is_corrupt() {
        let mut f = file_header(0xa1b2c3d4, false, 0, 1);
        f.extend(record(false, 1, 0, &vec![0u8; 262_144], 262_144, false));
        let after_first = f.len() as u64;
        f.extend(record(false, 1, 0, &vec![0u8; 262_145], 262_145, false));
        let (r, seen) = read_all(&f);
        let w = r.unwrap().incomplete.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (w.kind, w.frame, w.offset),
            (WarningKind::Corrupt, Some(2), after_first)
        );
        // USB records may be larger.
        let mut f = file_header(0xa1b2c3d4, false, 0, 220);
        f.extend(record(false, 1, 0, &vec![0u8; 300_000], 300_000, false));
        let (r, seen) = read_all(&f);
        assert!(r.unwrap().incomplete.is_none());
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn time_going_backwards_warned_once_per_run() {
        let mut f = file_header(0xa1b2c3d4, false, 0, 1);
        for sec in [5, 4, 3, 6, 2, 7] {
            f.extend(record(false, sec, 0, b"a", 1, false));
        }
        let (r, seen) = read_all(&f);
        let s = r.unwrap();
        assert_eq!(seen.len(), 6);
        let back: Vec<_> = s
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::TimeWentBackwards)
            .map(|w| w.frame)
            .collect();
        assert_eq!(back, vec![Some(2), Some(5)]);
        assert_eq!(s.first_ts.unwrap().nanos(), 5_000_000_000);
        assert_eq!(s.last_ts.unwrap().nanos(), 7_000_000_000);
    }

    #[test]
    fn unsupported_link_type_warned_once_and_counted() {
        let mut f = file_header(0xa1b2c3d4, false, 0, 147);
        for _ in 0..3 {
            f.extend(record(false, 1, 0, b"a", 1, false));
        }
        let (r, seen) = read_all(&f);
        let s = r.unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(s.link_types, vec![(LinkType(147), 3)]);
        assert_eq!(s.warnings.len(), 1);
        assert_eq!(
            s.warnings[0].kind,
            WarningKind::UnsupportedLinkType(LinkType(147))
        );
    }

    #[test]
    fn warnings_are_bounded_but_counted() {
        let mut f = file_header(0xa1b2c3d4, false, 0, 1);
        for _ in 0..(crate::capture::MAX_WARNINGS + 50) {
            f.extend(record(false, 1, 0, b"ab", 1, false));
        }
        let s = read_all(&f).0.unwrap();
        assert_eq!(s.warnings.len(), crate::capture::MAX_WARNINGS);
        assert_eq!(s.warnings_total, crate::capture::MAX_WARNINGS as u64 + 50);
    }

    #[test]
    fn not_a_capture_names_first_bytes() {
        match read_all(b"GET / HTTP/1.1\r\n").0 {
            Err(OpenError::NotACapture(h)) => assert!(h.starts_with("47 45 54 20"), "{h}"),
            other => panic!("{other:?}"),
        }
    }
}
