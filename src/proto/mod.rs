//! Stage 4: byte streams -> protocol events.
//!
//! Pure decoders over the two reassembled directions of a connection:
//! X.224/RDP negotiation, MCS/GCC and the clear-text RDP PDUs of Standard
//! RDP Security, TLS records and handshake, X.509 certificates, and the
//! shape of CredSSP (NLA) inside TLS. No I/O, no knowledge of pcap or of
//! flows: input is bytes with holes, output is events placed by stream
//! offset. Decoders never panic, keep unknown values, and never reject a
//! whole PDU for one odd field.

pub mod ber;
pub mod cert;
pub mod credssp;
pub mod keyboard;
pub mod mcs;
pub mod per;
pub mod propcert;
pub mod session;
pub mod tls;
pub mod tpkt;
pub mod x224;

pub use cert::CertInfo;
pub use credssp::{CredsspEvent, CredsspLeg};
pub use mcs::McsEvent;
pub use session::decode_connection;
pub use tls::TlsEvent;
pub use x224::X224Event;

use crate::common::{Dir, KeepLimit};

/// One direction's bytes as the flow stage rebuilt them.
#[derive(Clone, Copy, Debug)]
pub struct StreamInput<'a> {
    /// Bytes from stream offset 0; holes are zero-filled.
    pub data: &'a [u8],
    /// Holes as (offset, len), sorted. Bytes there are not real.
    pub holes: &'a [(u64, u64)],
    /// Set if bytes were not kept because a bound was reached (the depth
    /// cap, a hole limit, the memory budget): what follows `data`, and
    /// what its holes cover, was not kept.
    pub limit: Option<KeepLimit>,
    /// True if offset 0 is the first byte after the SYN (a capture that
    /// started mid-connection is false: framing must be found, not assumed).
    pub from_start: bool,
    /// The holes the snap length made (some of `holes`): the sender sent
    /// these bytes, the capture cut them. A PDU header before such a hole
    /// still frames the PDU; its hidden content is not decoded.
    pub hidden: &'a [(u64, u64)],
}

impl<'a> StreamInput<'a> {
    /// The contiguous bytes before the first hole.
    pub fn contiguous(&self) -> &'a [u8] {
        match self.holes.first() {
            Some(&(off, _)) => &self.data[..(off as usize).min(self.data.len())],
            None => self.data,
        }
    }
}

/// Confidence of an inference made from shape rather than content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Certainty {
    Low,
    Medium,
    High,
}

/// A protocol event found in one direction's stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub dir: Dir,
    /// Stream offset of the first byte of the PDU.
    pub start: u64,
    /// Stream offset one past its last byte (the frame carrying byte
    /// `end - 1` is the one Wireshark shows the PDU in).
    pub end: u64,
    pub event: ProtoEvent,
}

/// Everything the decoders can say.
#[derive(Clone, Debug, PartialEq)]
pub enum ProtoEvent {
    X224(X224Event),
    Mcs(McsEvent),
    Tls(TlsEvent),
    Credssp(CredsspEvent),
    /// The first fast-path PDU of a direction (session traffic has begun).
    FastPath {
        len: u32,
        encrypted: bool,
    },
    /// Something that exists but cannot be seen without keys (TLS 1.3
    /// handshake after the ServerHello, records after ChangeCipherSpec,
    /// Standard RDP Security encrypted PDUs). Never "missing".
    NotObservable {
        what: String,
    },
    /// The bytes do not look like RDP at all (a false positive on the port).
    NotRdp {
        why: String,
    },
    /// Odd data: a field out of range, a length that does not fit, bytes
    /// after a PDU. Decoding went on where it could.
    Anomaly {
        what: String,
    },
    /// Decoding of this direction stopped here (a hole, the depth cap, an
    /// undecodable PDU); what follows is not decoded.
    Stopped {
        why: StopReason,
    },
    /// A PDU whose header was captured but whose content the snap length
    /// cut: where it ends is known, what it says is not (never read as
    /// the message it might be).
    HiddenBySnaplen {
        what: String,
    },
}

/// An open enum value printed as its name or `unknown (0x..)`.
pub fn unknown_hex(v: u64) -> String {
    format!("unknown (0x{v:02x})")
}

/// Why decoding of one direction stopped: a value tests can match, with
/// the sentence the report prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Bytes of the stream are missing at this offset (a hole).
    BytesMissing { at: u64 },
    /// A memory bound stopped keeping bytes inside the PDU at `at`.
    Bound {
        limit: crate::common::KeepLimit,
        at: u64,
    },
    /// The stream (as captured) ends inside the PDU at `at`.
    EndsInsidePdu { at: u64 },
    /// A stream captured mid-connection in which no TPKT or TLS framing
    /// could be found.
    NoFramingMidConnection,
    /// A server stream captured mid-connection with no X.224 Connection
    /// Confirm to start from.
    NoConfirmMidConnection,
    /// Bytes that are not TLS where a TLS record was due.
    NotTls { at: u64 },
    /// Bytes no decoder could frame, and why.
    Undecodable { at: u64, what: String },
    /// An SSLv2-compatible ClientHello that could not be read.
    Sslv2Malformed(String),
    /// The data ends inside an SSLv2-compatible ClientHello.
    Sslv2Cut,
    /// The snap length hid a TLS record header and no later one was found.
    RecordHeaderHidden { at: u64 },
    /// The data ends inside a TLS record.
    RecordCut { have: usize, need: usize },
    /// Bytes that are not a TLS record header, and why.
    NotARecord(String),
    /// The data ends inside a TLS handshake message.
    HandshakeCut {
        msg_type: u8,
        have: usize,
        need: usize,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::BytesMissing { at } => write!(f, "bytes missing at offset {at}"),
            StopReason::Bound { limit, at } => write!(f, "{limit} inside the PDU at offset {at}"),
            StopReason::EndsInsidePdu { at } => {
                write!(f, "stream ends inside the PDU at offset {at}")
            }
            StopReason::NoFramingMidConnection => {
                f.write_str("no TPKT or TLS framing found in a stream captured mid-connection")
            }
            StopReason::NoConfirmMidConnection => {
                f.write_str("no X.224 Connection Confirm found in a stream captured mid-connection")
            }
            StopReason::NotTls { at } => write!(f, "bytes that are not TLS at offset {at}"),
            StopReason::Undecodable { at, what } => {
                write!(f, "undecodable bytes at offset {at}: {what}")
            }
            StopReason::Sslv2Malformed(why) => f.write_str(why),
            StopReason::Sslv2Cut => f.write_str("data ends inside an SSLv2-compatible ClientHello"),
            StopReason::RecordHeaderHidden { at } => {
                write!(
                    f,
                    "the snap length hid the TLS record header at offset {at}"
                )
            }
            StopReason::RecordCut { have, need } => {
                write!(f, "data ends inside a TLS record ({have} of {need} bytes)")
            }
            StopReason::NotARecord(why) => f.write_str(why),
            StopReason::HandshakeCut {
                msg_type,
                have,
                need,
            } => write!(
                f,
                "data ends inside handshake message type {msg_type} ({have} of {need} bytes)"
            ),
        }
    }
}
