//! pcapng (draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File
//! Format").
//!
//! Every block (section 3.1) is: type (4), total length (4), body, total
//! length again (4), in the byte order of its section. Read here: Section
//! Header (4.1), Interface Description (4.2; options if_tsresol 9 and
//! if_tsoffset 14), Enhanced Packet (4.3), Simple Packet (4.4), the
//! obsolete Packet Block (appendix A) and Decryption Secrets (4.7, noted).
//! Every other block is skipped by its length.
//!
//! Blocks are read and parsed by pcap-parser's `PcapNGReader`. Kept by
//! hand: the framing checks that give a corrupt block its offset and frame
//! number, the first Section Header (read whole before the crate's reader
//! is created), the obsolete Packet Block (no parser in the crate), and a
//! fallback for well-framed blocks the crate rejects (see [`read`]).

use super::collect::Collector;
use super::drive::{self, ErrKind, Pump, Why};
use super::pcap::{u16_at, u32_at};
use super::stream::{INITIAL_BUFFER, MAX_RECORD};
use super::{CaptureFormat, CaptureWarning, Frame, LinkType, OpenError, WarningKind};
use crate::common::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapNGReader};
use std::io::{Cursor, Read};

/// The Section Header Block type, a byte palindrome.
pub(crate) const SHB_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const BT_IDB: u32 = 1;
const BT_PB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;
const BT_DSB: u32 = 0x0000_000a;

const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Timestamp resolution of an interface (if_tsresol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsResol {
    /// Units of 10^-n seconds.
    Dec(u8),
    /// Units of 2^-n seconds.
    Bin(u8),
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    resol: TsResol,
    /// if_tsoffset, signed seconds.
    offset_secs: i64,
    /// Number across sections, as Wireshark's `frame.interface_id`.
    global: u32,
}

/// Nanoseconds since the epoch for a 64-bit timestamp in the interface's
/// units plus its offset, saturating.
fn timestamp(units: u64, resol: TsResol, offset_secs: i64) -> Timestamp {
    let ns: i128 = match resol {
        TsResol::Dec(n) if n <= 9 => units as i128 * 10i128.pow(9 - n as u32),
        TsResol::Dec(n) => units as i128 / 10i128.pow((n as u32 - 9).min(38)),
        TsResol::Bin(n) if n < 128 => ((units as u128 * 1_000_000_000u128) >> n) as i128,
        TsResol::Bin(_) => 0,
    };
    let total = ns + offset_secs as i128 * 1_000_000_000;
    Timestamp::from_nanos(total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Parse the IDB options (section 4.2) for the timestamp settings and
/// the interface's name (`if_name`).
fn idb_options(mut opts: &[u8], be: bool, iface: &mut Interface, name: &mut Option<String>) {
    while let (Some(code), Some(len)) = (u16_at(opts, 0, be), u16_at(opts, 2, be)) {
        if code == OPT_ENDOFOPT {
            break;
        }
        let len = len as usize;
        let Some(value) = opts.get(4..4 + len) else {
            break;
        };
        match code {
            OPT_IF_TSRESOL => {
                if let Some(&v) = value.first() {
                    iface.resol = if v & 0x80 == 0 {
                        TsResol::Dec(v)
                    } else {
                        TsResol::Bin(v & 0x7f)
                    };
                }
            }
            OPT_IF_TSOFFSET => {
                if let Ok(a) = <[u8; 8]>::try_from(value) {
                    iface.offset_secs = if be {
                        i64::from_be_bytes(a)
                    } else {
                        i64::from_le_bytes(a)
                    };
                }
            }
            OPT_IF_NAME => *name = Some(if_name(value)),
            _ => {}
        }
        let padded = 4 + len.div_ceil(4) * 4;
        opts = opts.get(padded..).unwrap_or(&[]);
    }
}

/// An `if_name` option's value as text: UTF-8 (lossy), without the NUL
/// padding some writers leave, at most 64 characters.
fn if_name(value: &[u8]) -> String {
    let v = value.split(|&b| b == 0).next().unwrap_or(&[]);
    String::from_utf8_lossy(v).chars().take(64).collect()
}

/// Where, in an option list, an option's value runs past the end of the
/// list (its block): the position of that option's header. None when
/// every option fits (or the list ends with opt_endofopt).
fn option_overrun(mut opts: &[u8], be: bool) -> Option<usize> {
    let total = opts.len();
    while opts.len() >= 4 {
        let (Some(code), Some(len)) = (u16_at(opts, 0, be), u16_at(opts, 2, be)) else {
            break;
        };
        if code == OPT_ENDOFOPT {
            break;
        }
        let len = len as usize;
        if opts.len() < 4 + len {
            return Some(total - opts.len());
        }
        let padded = 4 + len.div_ceil(4) * 4;
        opts = opts.get(padded..).unwrap_or(&[]);
    }
    None
}

/// Warn about an Interface Description or packet block (whole, at
/// `offset`) one of whose options overruns the block; the block is still
/// read.
fn warn_option_overrun<F: FnMut(&Frame<'_>)>(
    coll: &mut Collector<F>,
    offset: u64,
    btype: u32,
    block: &[u8],
    be: bool,
    frame: Option<u64>,
) {
    let body = block.get(8..block.len().saturating_sub(4)).unwrap_or(&[]);
    let opts_at = match btype {
        BT_IDB => 8,
        BT_EPB | BT_PB => match u32_at(body, 12, be) {
            Some(caplen) => 20 + (caplen as usize).div_ceil(4) * 4,
            None => return,
        },
        _ => return,
    };
    let Some(opts) = body.get(opts_at..) else {
        return;
    };
    let list_offset = offset + 8 + opts_at as u64;
    if let Some(at) = option_overrun(opts, be) {
        let offset = list_offset + at as u64;
        coll.warn(
            offset,
            frame,
            WarningKind::Other,
            format!(
                "byte offset {offset}: a pcapng option runs past the end of its block \
                 (options from there on ignored)"
            ),
        );
    }
}

fn corrupt(offset: u64, frame: Option<u64>, what: String) -> CaptureWarning {
    CaptureWarning {
        offset,
        frame,
        kind: WarningKind::Corrupt,
        message: match frame {
            Some(n) => format!("corrupt block at frame {n} (byte offset {offset}): {what}"),
            None => format!("corrupt block at byte offset {offset}: {what}"),
        },
    }
}

fn is_packet_block(bt: u32) -> bool {
    matches!(bt, BT_PB | BT_SPB | BT_EPB)
}

/// Name a Decryption Secrets type (section 4.7).
fn secrets_name(t: u32) -> &'static str {
    match t {
        0x544c_534b => "TLS key log",
        0x5747_4b4c => "WireGuard key log",
        0x5a4e_574b => "ZigBee NWK key",
        0x5a41_5053 => "ZigBee APS key",
        0x6f73_6e6b => "OPC UA key log",
        _ => "unknown secrets",
    }
}

/// What is known of the block at the front of the buffer before parsing
/// it: its type and total length, in its section's byte order (a Section
/// Header states its own).
#[derive(Clone, Copy, Debug)]
struct Peek {
    btype: Option<u32>,
    is_shb: bool,
    /// A Section Header's byte order, `None` if not readable yet or unknown.
    shb_be: Option<bool>,
    blen: Option<usize>,
}

fn peek(data: &[u8], be: bool) -> Peek {
    let is_shb = data.get(..4) == Some(&SHB_TYPE[..]);
    let shb_be = match data.get(8..12) {
        Some([0x1a, 0x2b, 0x3c, 0x4d]) => Some(true),
        Some([0x4d, 0x3c, 0x2b, 0x1a]) => Some(false),
        _ => None,
    };
    let order = if is_shb { shb_be } else { Some(be) };
    Peek {
        btype: order.and_then(|o| u32_at(data, 0, o)),
        is_shb,
        shb_be,
        blen: order.and_then(|o| u32_at(data, 4, o)).map(|l| l as usize),
    }
}

/// Reading state across blocks.
struct Section {
    be: bool,
    ifaces: Vec<Interface>,
    sections: u32,
    interfaces: u32,
}

impl Section {
    fn format(&self) -> CaptureFormat {
        CaptureFormat::PcapNg {
            sections: self.sections,
            interfaces: self.interfaces,
        }
    }
}

fn resol_of(v: u8) -> TsResol {
    if v & 0x80 == 0 {
        TsResol::Dec(v)
    } else {
        TsResol::Bin(v & 0x7f)
    }
}

/// Read the first Section Header Block whole (the crate parses it from a
/// single read() when its reader is created, which a pipe or decompressor
/// may answer short). `Err(Ok(w))`: the stream stops inside it.
#[allow(clippy::type_complexity)]
fn first_section<R: Read>(
    src: &mut drive::Source<R>,
    slot: &drive::ErrorSlot,
) -> Result<Result<Vec<u8>, CaptureWarning>, OpenError> {
    let read_err = |slot: &drive::ErrorSlot, have: usize| {
        let e = slot
            .borrow_mut()
            .take()
            .unwrap_or_else(|| std::io::Error::other("read failed"));
        drive::stop_warning(Why::Read(e), 0, None, "section header", None, have)
    };
    let mut head = SHB_TYPE.to_vec();
    head.resize(12, 0);
    let n = match drive::read_prefix(src, head.get_mut(4..).unwrap_or(&mut [])) {
        Ok(n) => 4 + n,
        Err(_) => return Ok(Err(read_err(slot, 4))),
    };
    if n < 12 {
        let w = drive::stop_warning(Why::Truncated, 0, None, "block header", Some(12), n);
        return Ok(Err(w));
    }
    let p = peek(&head, false);
    let Some(be) = p.shb_be else {
        return Err(OpenError::Other(format!(
            "pcapng: section header with unknown byte-order magic {}",
            super::decompress::hex_prefix(head.get(8..12).unwrap_or(&[]))
        )));
    };
    let blen = u32_at(&head, 4, be).unwrap_or(0) as usize;
    if blen < 12 || blen % 4 != 0 {
        return Err(OpenError::Other(format!(
            "pcapng: block type 0xa0d0d0a has invalid length {blen}"
        )));
    }
    if blen > MAX_RECORD {
        let what = "block of type 0xa0d0d0a";
        let w = drive::stop_warning(Why::TooBig, 0, None, what, Some(blen), 12);
        return Ok(Err(w));
    }
    head.resize(blen, 0);
    let n = match drive::read_prefix(src, head.get_mut(12..).unwrap_or(&mut [])) {
        Ok(n) => 12 + n,
        Err(_) => return Ok(Err(read_err(slot, 12))),
    };
    if n < blen {
        let what = "block of type 0xa0d0d0a";
        let w = drive::stop_warning(Why::Truncated, 0, None, what, Some(blen), n);
        return Ok(Err(w));
    }
    let trailer = u32_at(&head, blen - 4, be).unwrap_or(0) as usize;
    if trailer != blen {
        let what = format!("block type 0xa0d0d0a: trailing length {trailer} differs from {blen}");
        return Ok(Err(corrupt(0, None, what)));
    }
    match pcap_parser::pcapng::parse_sectionheaderblock(&head) {
        Ok((_, shb)) if shb.major_version == 1 => {}
        Ok((_, shb)) => {
            return Err(OpenError::Other(format!(
                "pcapng: unsupported section version {}.{}",
                shb.major_version, shb.minor_version
            )))
        }
        Err(_) => {
            return Err(OpenError::Other(
                "pcapng: section header cannot be parsed".into(),
            ))
        }
    }
    Ok(Ok(head))
}

/// Read a pcapng stream with pcap-parser (its first 4 bytes, the SHB type,
/// were already read from `src`). Returns the format, how reading ended
/// and the bytes consumed.
pub(crate) fn read<R: Read, F: FnMut(&Frame<'_>)>(
    mut src: drive::Source<R>,
    slot: drive::ErrorSlot,
    coll: &mut Collector<F>,
) -> Result<(CaptureFormat, Option<CaptureWarning>, u64), OpenError> {
    let mut st = Section {
        be: false,
        ifaces: Vec::new(),
        sections: 0,
        interfaces: 0,
    };
    let shb = match first_section(&mut src, &slot)? {
        Ok(shb) => shb,
        Err(w) => return Ok((st.format(), Some(w), 0)),
    };
    let capacity = INITIAL_BUFFER.max(shb.len().saturating_mul(2));
    let mut reader = PcapNGReader::new(capacity, Cursor::new(shb).chain(src))
        .map_err(|e| OpenError::Other(format!("pcapng: {:?}", ErrKind::of(e))))?;
    let mut pump = Pump::new(slot, capacity);
    loop {
        let offset = reader.consumed() as u64;
        let data = reader.data();
        let have = data.len();
        let p = peek(data, st.be);
        let frame_if_packet = p
            .btype
            .filter(|&t| is_packet_block(t))
            .map(|_| coll.packets + 1);
        // Named only when reading stops (no formatting per block).
        let what = || match p.btype {
            Some(t) if have >= 12 => format!("block of type {t:#x}"),
            _ => "block header".to_string(),
        };
        if p.is_shb && have >= 12 && p.shb_be.is_none() {
            let what = format!(
                "section header with unknown byte-order magic {}",
                super::decompress::hex_prefix(data.get(8..12).unwrap_or(&[]))
            );
            return Ok((st.format(), Some(corrupt(offset, None, what)), offset));
        }
        // The framing is checked here, for every block: the crate's parsers
        // do not check all of it (a length not a multiple of 4, the
        // trailing length of most block types).
        let mut complete = false;
        if let (Some(btype), Some(blen)) = (p.btype, p.blen) {
            if blen < 12 || blen % 4 != 0 {
                let what = format!("block type {btype:#x} has invalid length {blen}");
                let w = corrupt(offset, frame_if_packet, what);
                return Ok((st.format(), Some(w), offset));
            }
            if blen > MAX_RECORD {
                let w = drive::stop_warning(
                    Why::TooBig,
                    offset,
                    frame_if_packet,
                    &what(),
                    Some(blen),
                    have,
                );
                return Ok((st.format(), Some(w), offset));
            }
            if let Some(block) = data.get(..blen) {
                complete = true;
                let trailer = u32_at(block, blen - 4, p.shb_be.unwrap_or(st.be)).unwrap_or(0);
                if trailer as usize != blen {
                    let what = format!(
                        "block type {btype:#x}: trailing length {trailer} differs from {blen}"
                    );
                    let w = corrupt(offset, frame_if_packet, what);
                    return Ok((st.format(), Some(w), offset));
                }
                if !p.is_shb {
                    warn_option_overrun(coll, offset, btype, block, st.be, frame_if_packet);
                }
                if btype == BT_PB && !p.is_shb {
                    // pcap-parser 0.17 has no parser for the obsolete
                    // Packet Block (it gives `Block::Unknown`).
                    if let Some(w) = by_hand(&mut st, coll, offset, btype, p.is_shb, block) {
                        return Ok((st.format(), Some(w), offset));
                    }
                    reader.consume(blen);
                    pump.progressed();
                    continue;
                }
            }
        }
        match reader.next() {
            Ok((len, PcapBlockOwned::NG(block))) => {
                if let Some(w) = handle(&mut st, coll, offset, block) {
                    return Ok((st.format(), Some(w), offset));
                }
                reader.consume(len);
                pump.progressed();
            }
            Ok((len, _)) => {
                reader.consume(len);
                pump.progressed();
            }
            Err(e) => {
                let kind = ErrKind::of(e);
                if complete && !matches!(kind, ErrKind::Eof) {
                    // The crate rejects a block that is all there and
                    // framed right: its streaming parsers answer
                    // `Incomplete` for a captured length beyond the block,
                    // and fail on option lists we used to skip. Read that
                    // block by hand, as before.
                    let blen = p.blen.unwrap_or(0);
                    let block = reader.data().get(..blen).unwrap_or(&[]);
                    if let Some(w) =
                        by_hand(&mut st, coll, offset, p.btype.unwrap_or(0), p.is_shb, block)
                    {
                        return Ok((st.format(), Some(w), offset));
                    }
                    reader.consume(blen);
                    pump.progressed();
                    continue;
                }
                let why = match kind {
                    ErrKind::Eof => return Ok((st.format(), None, offset)),
                    ErrKind::Incomplete => pump.more(&mut reader, false),
                    ErrKind::BufferTooSmall => pump.more(&mut reader, true),
                    ErrKind::UnexpectedEof => Err(Why::Truncated),
                    ErrKind::ReadError => Err(Why::Read(
                        pump.take_error()
                            .unwrap_or_else(|| std::io::Error::other("read failed")),
                    )),
                    ErrKind::Parse(what) => {
                        let w = corrupt(offset, frame_if_packet, what);
                        return Ok((st.format(), Some(w), offset));
                    }
                };
                if let Err(why) = why {
                    let need = p.blen.or(Some(12));
                    let w = drive::stop_warning(why, offset, frame_if_packet, &what(), need, have);
                    return Ok((st.format(), Some(w), offset));
                }
            }
        }
    }
}

/// The interface's if_tsoffset, in the section's byte order.
/// pcap-parser 0.17 decodes it as little-endian in every section
/// (`if_extract_tsoffset_and_tsresol`), wrong for big-endian sections.
fn tsoffset(options: &[pcap_parser::PcapNGOption<'_>], be: bool) -> i64 {
    // The last valid one counts, as in the hand-written option walk.
    options
        .iter()
        .rev()
        .filter(|o| o.code.0 == OPT_IF_TSOFFSET)
        .filter_map(|o| o.as_bytes().ok())
        .find_map(|v| <[u8; 8]>::try_from(v).ok())
        .map_or(0, |a| {
            if be {
                i64::from_be_bytes(a)
            } else {
                i64::from_le_bytes(a)
            }
        })
}

/// Take in one block parsed by the crate.
fn handle<F: FnMut(&Frame<'_>)>(
    st: &mut Section,
    coll: &mut Collector<F>,
    offset: u64,
    block: Block<'_>,
) -> Option<CaptureWarning> {
    match block {
        Block::SectionHeader(shb) => {
            if shb.major_version != 1 {
                let what = format!(
                    "unsupported section version {}.{}",
                    shb.major_version, shb.minor_version
                );
                return Some(corrupt(offset, None, what));
            }
            st.be = shb.big_endian();
            st.sections += 1;
            st.ifaces.clear();
        }
        Block::InterfaceDescription(idb) => {
            let link = LinkType(idb.linktype.0 as u32 & 0xffff);
            st.ifaces.push(Interface {
                link,
                snaplen: idb.snaplen,
                resol: resol_of(idb.if_tsresol),
                offset_secs: tsoffset(&idb.options, st.be),
                global: st.interfaces,
            });
            let name = idb
                .options
                .iter()
                .rev()
                .filter(|o| o.code.0 == OPT_IF_NAME)
                .find_map(|o| o.as_bytes().ok())
                .map(if_name);
            coll.interface(st.interfaces, link, name);
            st.interfaces += 1;
        }
        Block::EnhancedPacket(epb) => {
            let number = coll.next_number();
            // The crate's `data` includes the padding.
            let Some(data) = epb.data.get(..epb.caplen as usize) else {
                let what = format!(
                    "captured length {} exceeds the block body ({} bytes)",
                    epb.caplen,
                    epb.data.len()
                );
                return Some(corrupt(offset, Some(number), what));
            };
            let units = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            deliver(
                coll,
                &st.ifaces,
                offset,
                number,
                epb.if_id,
                Some(units),
                epb.caplen,
                epb.origlen,
                data,
            );
        }
        Block::SimplePacket(spb) => {
            let number = coll.next_number();
            // The captured length is implied: min(original length, snap
            // length, what the block holds). Computed here: the crate's
            // `truncated()` is inverted in 0.17 and its data keeps the
            // block padding.
            let mut caplen = (spb.origlen as usize).min(spb.data.len());
            if let Some(i) = st.ifaces.first() {
                if i.snaplen != 0 {
                    caplen = caplen.min(i.snaplen as usize);
                }
            }
            let data = spb.data.get(..caplen).unwrap_or(&[]);
            deliver(
                coll,
                &st.ifaces,
                offset,
                number,
                0,
                None,
                caplen as u32,
                spb.origlen,
                data,
            );
        }
        Block::DecryptionSecrets(dsb) => {
            secrets(coll, offset, dsb.secrets_type.0, dsb.secrets_len);
            // The crate's `data` includes the padding to 4 bytes.
            let data = dsb.data.get(..dsb.secrets_len as usize);
            if let (Some(sink), Some(data)) = (coll.on_secrets.as_mut(), data) {
                if dsb.secrets_type.0 == super::SECRETS_TLS_KEY_LOG {
                    sink(offset, data);
                }
            }
        }
        _ => {}
    }
    None
}

fn secrets<F: FnMut(&Frame<'_>)>(coll: &mut Collector<F>, offset: u64, stype: u32, slen: u32) {
    coll.warn(
        offset,
        None,
        WarningKind::DecryptionSecrets,
        format!(
            "byte offset {offset}: decryption secrets block ({}, type {stype:#010x}, \
             {slen} bytes) after frame {}",
            secrets_name(stype),
            coll.packets
        ),
    );
}

/// Read one whole, well-framed block by hand: the obsolete Packet Block,
/// and any block the crate rejects (see `read`). `block` is the whole
/// block, its trailing length checked.
fn by_hand<F: FnMut(&Frame<'_>)>(
    st: &mut Section,
    coll: &mut Collector<F>,
    offset: u64,
    btype: u32,
    is_shb: bool,
    block: &[u8],
) -> Option<CaptureWarning> {
    let be = st.be;
    let body = block.get(8..block.len().saturating_sub(4)).unwrap_or(&[]);
    match btype {
        _ if is_shb => {
            let be = matches!(block.get(8..12), Some([0x1a, 0x2b, 0x3c, 0x4d]));
            let major = u16_at(body, 4, be).unwrap_or(0);
            let minor = u16_at(body, 6, be).unwrap_or(0);
            let what = format!("section header version {major}.{minor} cannot be parsed");
            return Some(corrupt(offset, None, what));
        }
        BT_IDB => {
            if body.len() < 8 {
                let what = "interface description shorter than 20 bytes".to_string();
                return Some(corrupt(offset, None, what));
            }
            let mut iface = Interface {
                link: LinkType(u16_at(body, 0, be).unwrap_or(0) as u32),
                snaplen: u32_at(body, 4, be).unwrap_or(0),
                resol: TsResol::Dec(6),
                offset_secs: 0,
                global: st.interfaces,
            };
            let mut name = None;
            idb_options(body.get(8..).unwrap_or(&[]), be, &mut iface, &mut name);
            st.ifaces.push(iface);
            coll.interface(st.interfaces, iface.link, name);
            st.interfaces += 1;
        }
        BT_EPB | BT_PB => {
            // EPB: interface (4), ts high, ts low, caplen, origlen.
            // PB:  interface (2), drops (2), ts high, ts low, caplen, origlen.
            let fields = if btype == BT_EPB {
                u32_at(body, 0, be)
            } else {
                u16_at(body, 0, be).map(u32::from)
            }
            .zip(u32_at(body, 4, be))
            .zip(u32_at(body, 8, be))
            .zip(u32_at(body, 12, be))
            .zip(u32_at(body, 16, be));
            let number = coll.next_number();
            let Some(((((if_id, ts_hi), ts_lo), caplen), origlen)) = fields else {
                let what = format!("packet block body of {} bytes is too short", body.len());
                return Some(corrupt(offset, Some(number), what));
            };
            let Some(data) = body.get(20..20 + caplen as usize) else {
                let what = format!(
                    "captured length {caplen} exceeds the block body ({} bytes)",
                    body.len()
                );
                return Some(corrupt(offset, Some(number), what));
            };
            let units = ((ts_hi as u64) << 32) | ts_lo as u64;
            deliver(
                coll,
                &st.ifaces,
                offset,
                number,
                if_id,
                Some(units),
                caplen,
                origlen,
                data,
            );
        }
        BT_SPB => {
            let number = coll.next_number();
            let Some(origlen) = u32_at(body, 0, be) else {
                let what = "simple packet block without length".to_string();
                return Some(corrupt(offset, Some(number), what));
            };
            let room = body.len().saturating_sub(4);
            let mut caplen = (origlen as usize).min(room);
            if let Some(i) = st.ifaces.first() {
                if i.snaplen != 0 {
                    caplen = caplen.min(i.snaplen as usize);
                }
            }
            let data = body.get(4..4 + caplen).unwrap_or(&[]);
            deliver(
                coll,
                &st.ifaces,
                offset,
                number,
                0,
                None,
                caplen as u32,
                origlen,
                data,
            );
        }
        BT_DSB => {
            let stype = u32_at(body, 0, be).unwrap_or(0);
            let slen = u32_at(body, 4, be).unwrap_or(0);
            secrets(coll, offset, stype, slen);
        }
        // Any other block is skipped by its length.
        _ => {}
    }
    None
}

/// Check and hand over one packet of a pcapng packet block. `units` is the
/// raw timestamp (None for Simple Packet Blocks, which have none: they get
/// the previous frame's time).
#[allow(clippy::too_many_arguments)]
fn deliver<F: FnMut(&Frame<'_>)>(
    coll: &mut Collector<F>,
    ifaces: &[Interface],
    offset: u64,
    number: u64,
    if_id: u32,
    units: Option<u64>,
    caplen: u32,
    origlen: u32,
    data: &[u8],
) {
    let Some(iface) = ifaces.get(if_id as usize) else {
        coll.warn(
            offset,
            Some(number),
            WarningKind::UnknownInterface(if_id),
            format!(
                "frame {number} (byte offset {offset}): packet names interface {if_id}, \
                 but the section describes {}; skipped",
                ifaces.len()
            ),
        );
        return;
    };
    let mut data = data;
    if caplen > origlen {
        coll.warn(
            offset,
            Some(number),
            WarningKind::LengthMismatch,
            format!(
                "frame {number} (byte offset {offset}): captured length {caplen} exceeds the \
                 original length {origlen}; using {origlen}"
            ),
        );
        data = data.get(..origlen as usize).unwrap_or(data);
    } else if iface.snaplen != 0 && caplen > iface.snaplen {
        coll.warn(
            offset,
            Some(number),
            WarningKind::LengthMismatch,
            format!(
                "frame {number} (byte offset {offset}): captured length {caplen} exceeds the \
                 interface's snap length {}",
                iface.snaplen
            ),
        );
    }
    let ts = match units {
        Some(u) => timestamp(u, iface.resol, iface.offset_secs),
        None => coll.max_ts.unwrap_or_default(),
    };
    let frame = Frame {
        number,
        ts,
        link: iface.link,
        interface: iface.global,
        orig_len: origlen,
        data,
    };
    coll.deliver(offset, &frame);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::capture::pcap::tests::read_all;

    /// Builds pcapng blocks in one byte order.
    pub(crate) struct Ng {
        pub(crate) be: bool,
        pub(crate) out: Vec<u8>,
    }

    impl Ng {
        pub(crate) fn new(be: bool) -> Self {
            Ng {
                be,
                out: Vec::new(),
            }
        }
        fn w32(&self, v: &mut Vec<u8>, x: u32) {
            v.extend_from_slice(&if self.be {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            });
        }
        fn w16(&self, v: &mut Vec<u8>, x: u16) {
            v.extend_from_slice(&if self.be {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            });
        }
        pub(crate) fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
            let mut body = body.to_vec();
            while body.len() % 4 != 0 {
                body.push(0);
            }
            let len = 12 + body.len() as u32;
            let mut v = Vec::new();
            self.w32(&mut v, btype);
            self.w32(&mut v, len);
            v.extend(body);
            self.w32(&mut v, len);
            self.out.extend(v);
            self
        }
        pub(crate) fn shb(&mut self) -> &mut Self {
            let mut b = Vec::new();
            self.w32(&mut b, 0x1a2b_3c4d);
            self.w16(&mut b, 1);
            self.w16(&mut b, 0);
            b.extend_from_slice(&u64::MAX.to_le_bytes());
            self.block(0x0a0d_0d0a, &b)
        }
        /// IDB with optional if_tsresol and if_tsoffset.
        pub(crate) fn idb(
            &mut self,
            link: u16,
            snaplen: u32,
            tsresol: Option<u8>,
            tsoffset: Option<i64>,
        ) -> &mut Self {
            let mut b = Vec::new();
            self.w16(&mut b, link);
            self.w16(&mut b, 0);
            self.w32(&mut b, snaplen);
            if let Some(r) = tsresol {
                self.w16(&mut b, 9);
                self.w16(&mut b, 1);
                b.extend_from_slice(&[r, 0, 0, 0]);
            }
            if let Some(o) = tsoffset {
                self.w16(&mut b, 14);
                self.w16(&mut b, 8);
                b.extend_from_slice(&if self.be {
                    o.to_be_bytes()
                } else {
                    o.to_le_bytes()
                });
            }
            if tsresol.is_some() || tsoffset.is_some() {
                self.w32(&mut b, 0);
            }
            self.block(1, &b)
        }
        pub(crate) fn epb(&mut self, iface: u32, ts: u64, data: &[u8], origlen: u32) -> &mut Self {
            let mut b = Vec::new();
            self.w32(&mut b, iface);
            self.w32(&mut b, (ts >> 32) as u32);
            self.w32(&mut b, ts as u32);
            self.w32(&mut b, data.len() as u32);
            self.w32(&mut b, origlen);
            b.extend_from_slice(data);
            self.block(6, &b)
        }
        pub(crate) fn opb(&mut self, iface: u16, ts: u64, data: &[u8], origlen: u32) -> &mut Self {
            let mut b = Vec::new();
            self.w16(&mut b, iface);
            self.w16(&mut b, 0);
            self.w32(&mut b, (ts >> 32) as u32);
            self.w32(&mut b, ts as u32);
            self.w32(&mut b, data.len() as u32);
            self.w32(&mut b, origlen);
            b.extend_from_slice(data);
            self.block(2, &b)
        }
        pub(crate) fn spb(&mut self, data: &[u8], origlen: u32) -> &mut Self {
            let mut b = Vec::new();
            self.w32(&mut b, origlen);
            b.extend_from_slice(data);
            self.block(3, &b)
        }
        pub(crate) fn dsb(&mut self, secrets: &[u8]) -> &mut Self {
            let mut b = Vec::new();
            self.w32(&mut b, 0x544c_534b);
            self.w32(&mut b, secrets.len() as u32);
            b.extend_from_slice(secrets);
            self.block(0xa, &b)
        }
    }

    #[test]
    fn timestamps_honour_resolution_and_offset() {
        assert_eq!(
            timestamp(1_500_000, TsResol::Dec(6), 0).nanos(),
            1_500_000_000
        );
        assert_eq!(timestamp(15, TsResol::Dec(1), 0).nanos(), 1_500_000_000);
        assert_eq!(
            timestamp(1_500_000_000_000, TsResol::Dec(12), 0).nanos(),
            1_500_000_000
        );
        assert_eq!(
            timestamp(3 << 20, TsResol::Bin(20), 0).nanos(),
            3_000_000_000
        );
        assert_eq!(timestamp(1, TsResol::Bin(1), -10).nanos(), -9_500_000_000);
        assert_eq!(
            timestamp(u64::MAX, TsResol::Dec(0), i64::MAX).nanos(),
            i64::MAX
        );
        assert_eq!(timestamp(u64::MAX, TsResol::Dec(200), 0).nanos(), 0);
        assert_eq!(timestamp(u64::MAX, TsResol::Bin(127), 0).nanos(), 0);
    }

    #[test]
    fn sections_interfaces_and_every_packet_block() {
        for be in [false, true] {
            let mut ng = Ng::new(be);
            ng.shb()
                .idb(1, 0, None, None)
                .idb(113, 0, Some(9), Some(100))
                .epb(0, 2_000_000, b"eth0", 4)
                .epb(1, 3_000_000_000, b"sll!", 10)
                .block(0x0bad, b"custom")
                .block(5, &[0u8; 20])
                .dsb(b"CLIENT_RANDOM 00 11\n")
                .opb(0, 4_000_000, b"old", 3)
                .spb(b"simple", 6)
                .epb(7, 5_000_000, b"nope", 4);
            // A second section in the other byte order resets interfaces.
            let mut ng2 = Ng::new(!be);
            ng2.shb()
                .idb(101, 0, Some(0x80 | 10), None)
                .epb(0, 3 << 10, b"\x45", 1)
                .epb(1, 0, b"x", 1);
            let mut f = ng.out.clone();
            f.extend(&ng2.out);
            let (r, seen) = read_all(&f);
            let s = r.unwrap();
            assert_eq!(
                s.format,
                CaptureFormat::PcapNg {
                    sections: 2,
                    interfaces: 3
                }
            );
            assert!(s.incomplete.is_none(), "{:?}", s.incomplete);
            assert_eq!(s.packets, 7);
            let got: Vec<_> = seen
                .iter()
                .map(|x| (x.0, x.1, x.2, x.3, x.4.as_slice()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (1, 2_000_000_000, 1, 4, &b"eth0"[..]),
                    (2, 103_000_000_000, 113, 10, &b"sll!"[..]),
                    (3, 4_000_000_000, 1, 3, &b"old"[..]),
                    (4, 103_000_000_000, 1, 6, &b"simple"[..]),
                    (6, 3_000_000_000, 101, 1, &b"\x45"[..]),
                ]
            );
            let kinds: Vec<_> = s
                .warnings
                .iter()
                .map(|w| (w.kind.clone(), w.frame))
                .collect();
            assert!(kinds.contains(&(WarningKind::DecryptionSecrets, None)));
            assert!(kinds.contains(&(WarningKind::UnknownInterface(7), Some(5))));
            assert!(kinds.contains(&(WarningKind::UnknownInterface(1), Some(7))));
            assert!(kinds.contains(&(WarningKind::TimeWentBackwards, Some(3))));
        }
    }

    #[test]
    fn interfaces_numbered_across_sections_with_their_names() {
        for be in [false, true] {
            let opt = |ng: &Ng, code: u16, v: &[u8]| {
                let mut b = Vec::new();
                ng.w16(&mut b, code);
                ng.w16(&mut b, v.len() as u16);
                b.extend_from_slice(v);
                while b.len() % 4 != 0 {
                    b.push(0);
                }
                b
            };
            let idb = |ng: &Ng, name: Option<&[u8]>| {
                let mut b = Vec::new();
                ng.w16(&mut b, 1);
                ng.w16(&mut b, 0);
                ng.w32(&mut b, 0);
                if let Some(n) = name {
                    b.extend(opt(ng, 2, n));
                }
                b.extend(opt(ng, 0, &[]));
                b
            };
            let mut ng = Ng::new(be);
            let (a, b) = (idb(&ng, Some(b"rc")), idb(&ng, Some(b"rs\0")));
            ng.shb()
                .block(1, &a)
                .block(1, &b)
                .epb(1, 1, b"x", 1)
                .epb(0, 2, b"y", 1);
            let c = idb(&ng, None);
            ng.shb().block(1, &c).epb(0, 3, b"z", 1);
            let mut ifs = Vec::new();
            let s = crate::capture::read_capture(&ng.out[..], |f| ifs.push(f.interface)).unwrap();
            assert_eq!(ifs, vec![1, 0, 2]);
            let names: Vec<_> = s
                .interfaces
                .iter()
                .map(|i| (i.id, i.name.as_deref()))
                .collect();
            assert_eq!(names, vec![(0, Some("rc")), (1, Some("rs")), (2, None)]);
        }
    }

    #[test]
    fn simple_packet_cut_by_snaplen() {
        let mut ng = Ng::new(false);
        ng.shb().idb(1, 4, None, None).spb(b"abcd", 9);
        let (r, seen) = read_all(&ng.out);
        assert!(r.unwrap().incomplete.is_none());
        assert_eq!(seen[0].3, 9);
        assert_eq!(seen[0].4, b"abcd");
        // Padding is not data: 3 bytes on the wire, block padded to 4.
        let mut ng = Ng::new(false);
        ng.shb().idb(1, 0, None, None).spb(b"abc", 3);
        let (_, seen) = read_all(&ng.out);
        assert_eq!(seen[0].4, b"abc");
    }

    #[test]
    fn every_truncation_reports_truncated() {
        let mut ng = Ng::new(false);
        ng.shb()
            .idb(1, 0, None, None)
            .epb(0, 1, b"abcdefgh", 8)
            .epb(0, 2, b"ij", 2);
        let f = ng.out;
        let shb_len = 28;
        let idb_end = shb_len + 20;
        let epb1_end = idb_end + 32 + 8;
        for cut in 1..f.len() {
            let (r, seen) = read_all(&f[..cut]);
            if cut < 4 {
                assert!(matches!(r, Err(OpenError::NotACapture(_))));
                continue;
            }
            let s = r.unwrap();
            if [shb_len, idb_end, epb1_end].contains(&cut) {
                assert!(s.incomplete.is_none(), "cut {cut}");
            } else {
                let w = s.incomplete.unwrap();
                assert_eq!(w.kind, WarningKind::Truncated, "cut {cut}");
                if cut > epb1_end {
                    assert_eq!(w.offset, epb1_end as u64);
                    if cut >= epb1_end + 4 {
                        assert_eq!(w.frame, Some(2));
                        assert!(w.message.contains("frame 2"));
                    }
                } else if cut > idb_end {
                    assert_eq!(w.offset, idb_end as u64);
                }
            }
            assert_eq!(seen.len(), usize::from(cut >= epb1_end));
        }
    }

    #[test]
    fn corrupt_blocks_stop_reading_after_delivered_packets() {
        let mut ng = Ng::new(false);
        ng.shb().idb(1, 0, None, None).epb(0, 1, b"ok", 2);
        let good = ng.out.len();
        // Bad trailing length.
        let mut f = ng.out.clone();
        f.extend_from_slice(&[6, 0, 0, 0, 36, 0, 0, 0]);
        f.extend_from_slice(&[0u8; 24]);
        f.extend_from_slice(&[40, 0, 0, 0]);
        let (r, seen) = read_all(&f);
        let w = r.unwrap().incomplete.unwrap();
        assert_eq!(
            (w.kind, w.offset, w.frame),
            (WarningKind::Corrupt, good as u64, Some(2))
        );
        assert_eq!(seen.len(), 1);
        // Length not a multiple of 4.
        let mut f = ng.out.clone();
        f.extend_from_slice(&[0xbb, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0]);
        let w = read_all(&f).0.unwrap().incomplete.unwrap();
        assert_eq!((w.kind, w.offset), (WarningKind::Corrupt, good as u64));
        // Captured length beyond the block.
        let mut f = ng.out.clone();
        let mut bad = Ng::new(false);
        bad.epb(0, 1, b"abcd", 4);
        bad.out[20] = 200;
        f.extend(&bad.out);
        let w = read_all(&f).0.unwrap().incomplete.unwrap();
        assert_eq!(w.kind, WarningKind::Corrupt);
    }

    /// A reader that returns one byte per call.
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
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
    fn short_reads_change_nothing() {
        let mut ng = Ng::new(true);
        ng.shb()
            .idb(1, 0, Some(9), Some(-3))
            .epb(0, 5_000_000_000, b"abcdefgh", 8)
            .block(0x0bad, &[7u8; 300])
            .spb(b"xyz", 3)
            .opb(0, 6_000_000_000, b"old", 3);
        let (whole, seen) = read_all(&ng.out);
        let whole = whole.unwrap();
        let mut dribbled = Vec::new();
        let s = crate::capture::read_capture(OneByte(&ng.out), |f| {
            dribbled.push((f.number, f.ts.nanos(), f.data.to_vec()))
        })
        .unwrap();
        assert!(s.incomplete.is_none(), "{:?}", s.incomplete);
        assert_eq!((s.packets, s.bytes), (whole.packets, whole.bytes));
        assert_eq!(s.bytes, ng.out.len() as u64);
        let expect: Vec<_> = seen.iter().map(|x| (x.0, x.1, x.4.clone())).collect();
        assert_eq!(dribbled, expect);
        assert_eq!(dribbled[0].1, 2_000_000_000);
    }

    #[test]
    fn packet_with_unreadable_options_is_still_delivered() {
        // An EPB whose option list runs past the block: the options are
        // not needed, the packet is delivered as before.
        let mut ng = Ng::new(false);
        ng.shb().idb(1, 0, None, None);
        let mut b = Vec::new();
        for x in [0u32, 0, 1_000_000, 4, 4] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b.extend_from_slice(b"data");
        b.extend_from_slice(&[1, 0, 200, 0, 0, 0, 0, 0]);
        ng.block(6, &b).epb(0, 2_000_000, b"next", 4);
        let (r, seen) = read_all(&ng.out);
        let s = r.unwrap();
        assert!(s.incomplete.is_none(), "{:?}", s.incomplete);
        assert_eq!(seen.len(), 2);
        assert_eq!(
            (seen[0].1, seen[0].4.as_slice()),
            (1_000_000_000, &b"data"[..])
        );
        assert_eq!(seen[1].4, b"next");
        // ... and the overrun is told, at the option's byte offset.
        let w: Vec<_> = s
            .warnings
            .iter()
            .filter(|w| w.message.contains("runs past the end of its block"))
            .collect();
        assert_eq!(w.len(), 1, "{:?}", s.warnings);
        // SHB (28 bytes) + IDB (20), then the EPB: 8 bytes of block header,
        // 20 of fields, 4 of data.
        assert_eq!(w[0].offset, 28 + 20 + 8 + 20 + 4);
        assert_eq!(w[0].frame, Some(1));
        assert!(w[0]
            .message
            .contains(&format!("byte offset {}", w[0].offset)));
    }

    #[test]
    fn oversized_block_is_corrupt_not_allocated() {
        let mut ng = Ng::new(false);
        ng.shb().idb(1, 0, None, None).epb(0, 1, b"ok", 2);
        let good = ng.out.len() as u64;
        let mut f = ng.out.clone();
        f.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0x40]);
        f.extend_from_slice(&[0u8; 64]);
        let (r, seen) = read_all(&f);
        let w = r.unwrap().incomplete.unwrap();
        assert_eq!(
            (w.kind, w.offset, w.frame),
            (WarningKind::Corrupt, good, Some(2))
        );
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn unknown_section_version_is_rejected() {
        let mut ng = Ng::new(true);
        ng.shb();
        ng.out[12] = 1; // major 256
        assert!(matches!(read_all(&ng.out).0, Err(OpenError::Other(_))));
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let mut ng = Ng::new(false);
        ng.shb()
            .idb(1, 0, Some(9), Some(-5))
            .epb(0, 1, b"abcdefgh", 8)
            .spb(b"xyz", 3)
            .opb(0, 2, b"ij", 2)
            .dsb(b"k");
        let good = ng.out;
        for pos in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut f = good.clone();
                f[pos] = v;
                let (r, seen) = read_all(&f);
                if let Ok(s) = r {
                    assert!(seen.len() as u64 <= s.packets);
                }
            }
        }
    }
}
