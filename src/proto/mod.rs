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
        why: String,
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
