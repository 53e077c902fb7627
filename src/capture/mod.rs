//! Stage 1: capture files -> frames.
//!
//! Reads pcap (all magics, both byte orders, modified/Kuznetsov), pcapng
//! (several sections and interfaces) and gzip/zstd-compressed copies of
//! either, recognised by magic bytes. A capture is streamed once, front to
//! back, through a bounded buffer; it is never loaded whole.
//!
//! Records and blocks are read by pcap-parser's streaming readers
//! (`LegacyPcapReader`, `PcapNGReader`; see `drive.rs` for how they are
//! driven). Kept by hand: gzip/zstd sniffing, frame numbering, warnings and
//! byte offsets, and the few cases the crate reads wrong or not at all
//! (big-endian modified pcap, the obsolete pcapng Packet Block, if_tsoffset
//! in big-endian sections; see `pcap.rs` and `pcapng.rs`).
//!
//! Knows nothing of IP, TCP or RDP. Frames are numbered 1-based in file
//! order, as Wireshark numbers them.
//!
//! Choices where the formats leave room:
//! - A record whose captured length exceeds its original length is cut to
//!   the original length (LengthMismatch warning); one longer than the snap
//!   length is delivered whole, with the same warning.
//! - A legacy pcap record claiming more than 262144 bytes (Wireshark's
//!   limit; larger for USB and D-Bus) or any record above 16 MiB is taken
//!   for corruption: reading stops there, as Wireshark does.
//! - A pcapng Simple Packet Block has no timestamp: it gets the latest
//!   timestamp seen so far (0 if none).
//! - A pcapng packet naming an unknown interface is numbered and warned
//!   about, but not delivered (its link type is unknown).
//! - A first section header of a version other than 1.x is refused
//!   (`OpenError::Other`), like Wireshark; a later one ends reading as
//!   corrupt.
//! - Timestamps past the range of `Timestamp` (about year 2262) saturate.

use crate::common::Timestamp;
use std::io::Read;

mod collect;
mod decompress;
mod drive;
mod pcap;
mod pcapng;
mod stream;

/// A link-layer type as stored in the capture (pcap LINKTYPE_* value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW_12: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Wireshark-style name, or `unknown (N)`.
    pub fn name(self) -> String {
        match self.0 {
            0 => "NULL (BSD loopback)".into(),
            1 => "EN10MB (Ethernet)".into(),
            12 | 14 | 101 => "RAW (raw IP)".into(),
            108 => "LOOP (OpenBSD loopback)".into(),
            113 => "LINUX_SLL".into(),
            228 => "IPV4".into(),
            229 => "IPV6".into(),
            276 => "LINUX_SLL2".into(),
            n => format!("unknown ({n})"),
        }
    }

    /// Whether the packet stage slices this link type. Packets of any
    /// other link type are still delivered as frames, but warned about once.
    pub fn is_sliced(self) -> bool {
        matches!(self.0, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
    }
}

/// One packet record of the capture, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number, as Wireshark's `frame.number`.
    pub number: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// pcapng interface, numbered across sections as Wireshark's
    /// `frame.interface_id` (0 for legacy pcap).
    pub interface: u32,
    /// Length of the packet on the wire; `data.len()` may be smaller
    /// (snap length).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// How the file was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The capture format, as recognised from the file's magic bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap {
        nanosecond: bool,
        big_endian: bool,
        /// The modified (Kuznetsov) pcap record format.
        modified: bool,
    },
    PcapNg {
        sections: u32,
        interfaces: u32,
    },
}

impl CaptureFormat {
    /// Short human name, e.g. `pcap (LE, usec)` or `pcapng`.
    pub fn describe(&self, compression: Compression) -> String {
        let base = match self {
            CaptureFormat::Pcap {
                nanosecond,
                big_endian,
                modified,
            } => format!(
                "pcap{} ({}, {})",
                if *modified { " modified" } else { "" },
                if *big_endian { "BE" } else { "LE" },
                if *nanosecond { "nsec" } else { "usec" }
            ),
            CaptureFormat::PcapNg { .. } => "pcapng".to_string(),
        };
        match compression {
            Compression::None => base,
            Compression::Gzip => format!("{base}, gzip"),
            Compression::Zstd => format!("{base}, zstd"),
        }
    }
}

/// What kind of odd thing the reader met. Each is a warning: the reader
/// carries on where it can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// The file ends inside a block or record (cut capture).
    Truncated,
    /// A block or record that cannot be parsed; reading stopped there.
    Corrupt,
    /// A packet of a link type we do not slice (counted, skipped).
    UnsupportedLinkType(LinkType),
    /// A pcapng packet names an interface that was never described.
    UnknownInterface(u32),
    /// A record whose captured length exceeds the snap length or its
    /// original length.
    LengthMismatch,
    /// A timestamp earlier than the previous frame's.
    TimeWentBackwards,
    /// A pcapng Decryption Secrets Block (e.g. a TLS key log).
    DecryptionSecrets,
    /// Anything else worth telling.
    Other,
}

/// A warning about the capture, placed by byte offset and (if a packet is
/// concerned) frame number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureWarning {
    /// Byte offset in the (decompressed) capture stream.
    pub offset: u64,
    pub frame: Option<u64>,
    pub kind: WarningKind,
    pub message: String,
}

/// The whole-file result of reading a capture to the end (or as far as it
/// could be read).
#[derive(Clone, Debug)]
pub struct ReadSummary {
    pub format: CaptureFormat,
    pub compression: Compression,
    /// Packet records delivered as frames (the last frame number).
    pub packets: u64,
    /// Bytes read from the (decompressed) stream.
    pub bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Warnings, the first [`MAX_WARNINGS`] of them; `warnings_total` counts all.
    pub warnings: Vec<CaptureWarning>,
    pub warnings_total: u64,
    /// Packets per link type (including ones we do not slice).
    pub link_types: Vec<(LinkType, u64)>,
    /// pcapng interfaces in order of description, the first 256 of them
    /// (empty for legacy pcap).
    pub interfaces: Vec<CaptureInterface>,
    /// Set when the file could not be read to its end (truncated or corrupt):
    /// everything before it was delivered.
    pub incomplete: Option<CaptureWarning>,
}

/// A pcapng interface (Interface Description Block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureInterface {
    /// Numbered across sections, as Wireshark's `frame.interface_id`.
    pub id: u32,
    pub link: LinkType,
    /// The `if_name` option (e.g. `eth0`), if the writer gave one.
    pub name: Option<String>,
}

/// Warnings kept in a [`ReadSummary`]; past this they are only counted.
pub const MAX_WARNINGS: usize = 100;

/// Errors that prevent reading a capture at all.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a capture file (first bytes {0})")]
    NotACapture(String),
    /// A known format that is not pcap or pcapng (Network Monitor, ETW,
    /// an archive or a compression not read here): what it is and how to
    /// convert it.
    #[error("{0}")]
    OtherFormat(String),
    #[error("empty file")]
    Empty,
    /// A compressed stream that ends (or breaks) before its first capture
    /// bytes could be decompressed: `offset` is where the compressed
    /// bytes ended.
    #[error("capture cut short at byte offset {offset} of the {compression} stream, before anything could be decompressed ({why})")]
    CutBeforeData {
        compression: &'static str,
        offset: u64,
        why: String,
    },
    #[error("{0}")]
    Other(String),
}

/// Read a whole capture from `src`, calling `on_frame` for every packet
/// record in file order. Decompresses gzip/zstd by magic. Never panics;
/// returns `Err` only when nothing could be read (not a capture, empty,
/// unreadable); a capture cut or corrupt part-way returns `Ok` with
/// `incomplete` set.
///
/// Frames are numbered like Wireshark's `frame.number`: every packet record
/// counts, also one naming an unknown pcapng interface (which is counted and
/// warned about but not handed to `on_frame`). `ReadSummary::packets` is the
/// last frame number; `last_ts` is the latest timestamp seen.
pub fn read_capture<R: Read>(
    src: R,
    on_frame: impl FnMut(&Frame<'_>),
) -> Result<ReadSummary, OpenError> {
    decompress::open(src, on_frame, None)
}

/// The type of a Decryption Secrets Block holding a TLS key log
/// ("TLSK", pcapng draft §4.7).
pub const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;

/// Takes the TLS key log of each Decryption Secrets Block as it is read
/// (before the packets it decrypts): its byte offset and its text.
pub type SecretsSink = Box<dyn FnMut(u64, &[u8])>;

/// As [`read_capture`], handing the TLS key log of every Decryption
/// Secrets Block to `on_secrets` when the block is read, so that the
/// packets after it can be decrypted with it.
pub fn read_capture_with_secrets<R: Read>(
    src: R,
    on_frame: impl FnMut(&Frame<'_>),
    on_secrets: SecretsSink,
) -> Result<ReadSummary, OpenError> {
    decompress::open(src, on_frame, Some(on_secrets))
}

/// What to say of an `.etl` file (Event Trace Log, from `netsh trace` or
/// `pktmon`) that is not a capture: ETW traces have no magic number to
/// tell them by, so they are told by their name.
pub const ETL_ADVICE: &str = "an Event Trace Log (.etl, from netsh trace or pktmon), not a pcap or pcapng capture: convert it with `pktmon etl2pcap FILE.etl --out FILE.pcapng` (Windows 10 2004 or later)";

/// Name the format of a file that is not a capture when its name says
/// what it is (an `.etl` file), instead of a hex dump of its first bytes.
pub fn name_the_format(
    read: Result<ReadSummary, OpenError>,
    path: &str,
) -> Result<ReadSummary, OpenError> {
    match read {
        Err(OpenError::NotACapture(_)) if path.to_ascii_lowercase().ends_with(".etl") => {
            Err(OpenError::OtherFormat(ETL_ADVICE.to_string()))
        }
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAGICS: [[u8; 4]; 7] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x34, 0xcd, 0xb2, 0xa1],
        [0x0a, 0x0d, 0x0d, 0x0a],
        [0x1f, 0x8b, 0x08, 0x00],
    ];

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(m in 0usize..7, body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut f = MAGICS[m].to_vec();
            if m == 5 {
                // A plausible section header start, so blocks get parsed.
                f.extend_from_slice(&[28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]);
            }
            f.extend_from_slice(&body);
            let mut last = 0u64;
            let mut delivered = 0u64;
            let r = read_capture(&f[..], |fr| {
                assert!(fr.number > last);
                assert!(fr.data.len() as u64 <= fr.orig_len as u64);
                last = fr.number;
                delivered += 1;
            });
            if let Ok(s) = r {
                prop_assert!(s.packets >= delivered);
                prop_assert!(s.warnings.len() as u64 <= s.warnings_total);
                prop_assert!(s.bytes <= f.len() as u64 || m == 6);
            }
        }
    }

    #[test]
    fn link_type_names() {
        assert_eq!(LinkType::LINUX_SLL2.name(), "LINUX_SLL2");
        assert_eq!(LinkType(147).name(), "unknown (147)");
        assert!(LinkType::RAW_14.is_sliced() && !LinkType(147).is_sliced());
    }
}
