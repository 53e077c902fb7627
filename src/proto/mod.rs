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
pub mod decrypt;
pub mod http;
pub mod inner;
pub mod keyboard;
pub mod mcs;
pub mod neighbour;
pub mod ntlm;
pub mod ntstatus;
pub mod per;
pub mod propcert;
pub mod rdpdata;
pub mod session;
pub mod tls;
pub mod tpkt;
pub mod tsrequest;
pub mod x224;

pub use cert::CertInfo;
pub use credssp::{CredsspEvent, CredsspLeg};
pub use inner::{decode_inner, NlaEvent, SELECTED_UNKNOWN};
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
    /// A stream seen whole from its first byte: no hole, nothing cut.
    pub fn whole(data: &'a [u8]) -> Self {
        StreamInput {
            data,
            holes: &[],
            limit: None,
            from_start: true,
            hidden: &[],
        }
    }

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
    /// NLA as decryption shows it: TSRequests and the Early User
    /// Authorization Result.
    Nla(NlaEvent),
    /// The first fast-path PDU of a direction (session traffic has begun).
    FastPath {
        len: u32,
        encrypted: bool,
    },
    /// The fast-path PDUs of a direction of decrypted plaintext, counted,
    /// not decoded (session traffic: input and graphics updates).
    FastPathCount {
        pdus: u64,
        bytes: u64,
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
        what: Anomaly,
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
    /// An HTTP head of a decrypted RD Gateway connection (`http.rs`).
    Http(http::HttpEvent),
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
    /// Decrypted plaintext of a security protocol whose exchange inside
    /// TLS is not decoded: RDSTLS ([MS-RDPBCGR] 5.4.5.3, its
    /// authentication request carries the password) or RDSAAD (Azure AD
    /// authentication, [MS-RDPBCGR] 5.4.5.4). `protocol` is the
    /// Connection Confirm's selectedProtocol.
    SecurityProtocolNotDecoded { protocol: u32 },
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
            StopReason::SecurityProtocolNotDecoded { protocol } => write!(
                f,
                "the {} exchange inside TLS is not decoded",
                x224::Protocols(*protocol).selected_name()
            ),
        }
    }
}

/// A structure after which bytes were left over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trailer {
    McsConnectPdu,
    X224ConnectionRequest,
    X224ConnectionConfirm,
    CorrelationInfo,
    ConfirmNegStructure,
    ClientHelloExtensions,
    ServerHelloExtensions,
    CertificateChain,
}

impl std::fmt::Display for Trailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Trailer::McsConnectPdu => "the MCS connect PDU",
            Trailer::X224ConnectionRequest => "the X.224 Connection Request",
            Trailer::X224ConnectionConfirm => "the X.224 Connection Confirm",
            Trailer::CorrelationInfo => "RDP_NEG_CORRELATION_INFO",
            Trailer::ConfirmNegStructure => "the RDP_NEG structure of the Connection Confirm",
            Trailer::ClientHelloExtensions => "the ClientHello extensions",
            Trailer::ServerHelloExtensions => "the ServerHello extensions",
            Trailer::CertificateChain => "the Certificate message's chain",
        })
    }
}

/// A T.125 connect PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectPdu {
    ConnectInitial,
    ConnectResponse,
}

impl std::fmt::Display for ConnectPdu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectPdu::ConnectInitial => "Connect-Initial",
            ConnectPdu::ConnectResponse => "Connect-Response",
        })
    }
}

/// A clear-text RDP PDU of Standard RDP Security.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdpPdu {
    ClientInfo,
    Licensing,
    ShareControl,
}

impl std::fmt::Display for RdpPdu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RdpPdu::ClientInfo => "Client Info PDU",
            RdpPdu::Licensing => "licensing PDU",
            RdpPdu::ShareControl => "share control PDU",
        })
    }
}

/// What is odd in the data: a value tests can match, with the sentence
/// the report prints. Offsets are stream offsets, lengths are bytes.
/// Where the reason comes from a parser (a certificate or TLS parser
/// crate, or a decoder's own `PduError::Invalid` text), it is kept as
/// `why`; the kind is always the variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anomaly {
    // Session and framing.
    /// The client began with a TLS record (no X.224 negotiation).
    DirectTls,
    /// The Connection Confirm selected a protocol this tool does not know.
    UnknownSelectedProtocol { protocol: u32 },
    /// The first TPDU of the direction sent by `dir`'s sender is not the
    /// Connection Request (client) or Connection Confirm (server).
    FirstTpduUnexpected { dir: Dir },
    /// TPKT-framed data where a TLS record was due.
    ClearTextWhereTlsExpected { at: usize },
    /// Decoding found a header again after a hole.
    ResumedAfterMissingBytes { at: usize },
    /// Bytes before the first recognisable header (mid-connection).
    SkippedBeforeHeader { len: usize },
    /// An X.224 TPDU after the negotiation cut short.
    TpduCut,
    /// An X.224 TPDU after the negotiation that could not be read.
    TpduNotUnderstood { why: String },
    /// A Data TPDU without the end-of-TSDU flag.
    DataWithoutEot,
    /// An MCS PDU cut short.
    McsCut,
    /// An MCS PDU that could not be read.
    McsNotUnderstood { why: String },
    /// A Connection Request or Confirm after the negotiation.
    SecondConnectionTpdu,
    /// An X.224 TPDU code RDP does not use after the negotiation.
    OtherTpdu { code: u8 },

    // X.224 and RDP negotiation.
    /// Bytes left over after a structure.
    BytesAfter { len: usize, after: Trailer },
    /// An X.224 Data TPDU whose length indicator is not 2.
    DataLengthIndicator { li: usize },
    /// An X.224 class other than 0.
    X224Class { class: u8 },
    /// Bytes in the Connection Request that are neither a cookie line
    /// nor an RDP_NEG_REQ.
    UnframedRequestBytes { len: usize },
    /// A text line in the Connection Request that is not a cookie
    /// (kept truncated, as printed).
    UnknownTextLine { line: String },
    /// More than one text line in the Connection Request.
    SeveralTextLines,
    /// An RDP_NEG type other than RDP_NEG_REQ in the Connection Request.
    RequestNegType { ty: u8 },
    /// An RDP_NEG_REQ whose length is not 8.
    NegReqLength { len: u16 },
    /// CORRELATION_INFO_PRESENT without the correlation info.
    CorrelationFlagWithoutInfo,
    /// Bytes after RDP_NEG_REQ that are not a correlation info.
    BytesAfterNegReq { len: usize, ty: u8 },
    /// An RDP_NEG_CORRELATION_INFO whose length is not 36.
    CorrelationInfoLength { len: u16 },
    /// A correlation info without CORRELATION_INFO_PRESENT.
    CorrelationInfoWithoutFlag,
    /// An RDP_NEG structure in a Connection Confirm whose length is not 8.
    NegLength { len: u16 },
    /// An RDP_NEG type in the Connection Confirm that is neither
    /// RDP_NEG_RSP nor RDP_NEG_FAILURE.
    ConfirmNegType { ty: u8 },

    // MCS, GCC and Standard RDP Security.
    /// More BER fields in a connect PDU than are read.
    TooManyConnectFields { pdu: ConnectPdu, max: usize },
    /// Connect PDU fields not in T.125 order.
    ConnectFieldOrder { pdu: ConnectPdu },
    /// A successful Connect-Response without user data.
    ConnectResponseWithoutUserData,
    /// The GCC ConnectData key is not the T.124 object identifier.
    GccKeyNotT124,
    /// A GCC connectPDU length beyond the bytes present.
    GccPduLength { len: usize, present: usize },
    /// A GCC header in another encoder's layout, and what differed.
    GccHeaderUnusual { why: String },
    /// A GCC user-data length that is not the bytes present.
    GccUserDataLength { len: usize, present: usize },
    /// A Conference Create Response whose result is not success.
    GccCreateResult { result: u8 },
    /// Bytes after the user-data blocks too few for a block header.
    StrayBytesAfterBlocks { len: usize },
    /// A user-data block whose length is below its header's 4 bytes.
    BlockLengthTooSmall { ty: u16, len: usize },
    /// A user-data block whose length exceeds the bytes left.
    BlockLengthExceeds { ty: u16, len: usize, left: usize },
    /// A user-data block cut short.
    BlockCut { ty: u16 },
    /// A user-data block that could not be read.
    BlockInvalid { ty: u16, why: String },
    /// The serverRandom of the server security data cut short.
    ServerRandomCut { len: usize },
    /// A serverCertificate length beyond the bytes left.
    ServerCertificateLength { len: usize, left: usize },
    /// A server certificate shorter than its version field.
    ServerCertificateNoVersion,
    /// A proprietary certificate whose key magic is not RSA1.
    ProprietaryKeyMagic { magic: u32 },
    /// A proprietary server certificate cut short.
    ProprietaryCertificateCut,
    /// An X.509 certificate chain cut short before its count.
    X509ChainCut,
    /// An X.509 chain claiming more certificates than are read.
    X509ChainCount { count: u32, max: u32 },
    /// Certificate `index` of an X.509 chain cut short.
    X509ChainCertificateCut { index: u32 },
    /// Certificate `index` of an X.509 chain that could not be read.
    X509ChainCertificate { index: u32, why: String },
    /// A server certificate version other than 1 or 2.
    ServerCertificateVersion { version: u32 },
    /// An MCS send-data length that is not the bytes present.
    SendDataLength { len: usize, present: usize },
    /// An RDP PDU too short for its security header.
    NoSecurityHeader { len: usize },
    /// A clear-text RDP PDU cut short.
    RdpPduCut { pdu: RdpPdu },
    /// A clear-text RDP PDU that could not be read.
    RdpPduInvalid { pdu: RdpPdu, why: String },
    /// Security header flags not understood.
    SecurityFlags { flags: u16 },

    // CredSSP.
    /// A first CredSSP record too large for NTLM NEGOTIATE.
    CredsspFirstRecordLarge { len: u32 },
    /// A decrypted TSRequest that could not be read.
    TsRequestNotUnderstood { why: String },
    /// A payload field of an NTLM message whose offset and length do not
    /// fit the message (left out).
    NtlmFieldOutOfRange { field: ntlm::NtlmField },

    // TLS.
    /// The bound on TLS events was reached.
    TlsEventCap { max: usize },
    /// A ChangeCipherSpec record that is not the single byte 1.
    ChangeCipherSpecBody { len: usize },
    /// Part of a handshake message when ChangeCipherSpec came.
    UnfinishedHandshakeBeforeCcs { len: usize },
    /// An alert record of the wrong size before ChangeCipherSpec.
    AlertRecordSize { len: usize },
    /// An application data record before ChangeCipherSpec.
    AppDataBeforeCcs,
    /// A record of another content type (heartbeat).
    HeartbeatRecord { len: usize },
    /// A zero-length handshake record.
    EmptyHandshakeRecord,
    /// The handshake buffer bound was reached.
    HandshakeTooLarge { max: usize },
    /// A handshake message claiming more than the buffer bound.
    HandshakeClaims { msg_type: u8, len: usize },
    /// A ClientHello tls-parser could not read, with its reason.
    MalformedClientHello { why: String },
    /// A ServerHello that could not be read, with the reason.
    MalformedServerHello { why: String },
    /// A TLS 1.3 HelloRetryRequest.
    HelloRetryRequest,
    /// A ServerHelloDone with a body.
    ServerHelloDoneBody { len: usize },
    /// A handshake message sent by the wrong side.
    WrongSender { msg_type: u8, dir: Dir },
    /// Certificate `index` of the TLS chain could not be read.
    ChainCertificate { index: usize, why: String },
    /// The server's Certificate message is empty.
    EmptyServerCertificate,
    /// A Certificate message tls-parser could not read.
    MalformedCertificate,
    /// ClientHello extension bytes tls-parser left unparsed.
    ClientHelloExtensionsLeft { len: usize },
    /// ClientHello extensions tls-parser could not read, with its reason.
    ClientHelloExtensions { why: String },
    /// ServerHello extensions cut.
    ServerHelloExtensionsCut { len: usize },
    /// A ServerHello extension header cut.
    ServerHelloExtensionHeaderCut,
    /// A ServerHello extension longer than the bytes left.
    ServerHelloExtensionClaims { ty: u16, len: usize },
    /// A ServerHello supported_versions extension of the wrong size.
    ServerHelloSupportedVersions { len: usize },
    /// A TLS record that did not decrypt with the connection's keys: its
    /// MAC or tag does not verify, or its padding or length is wrong. Its
    /// bytes are never decoded.
    RecordNotAuthentic {
        seq: u64,
        content_type: u8,
        why: decrypt::record::RecordError,
    },
    /// A ServerHello ALPN extension that is not one protocol name
    /// (RFC 7301 3.1).
    ServerHelloAlpn { len: usize },
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Anomaly as A;
        match self {
            A::DirectTls => f.write_str("direct TLS without X.224 negotiation; decoded as TLS"),
            A::RecordNotAuthentic {
                seq,
                content_type,
                why,
            } => write!(
                f,
                "TLS record {seq} (content type {content_type}) did not decrypt: {why}; not decoded"
            ),
            A::UnknownSelectedProtocol { protocol } => write!(
                f,
                "selected protocol {}: guessing the security layer from the bytes",
                unknown_hex(u64::from(*protocol))
            ),
            A::FirstTpduUnexpected { dir } => write!(
                f,
                "the first TPDU is not an X.224 {}",
                match dir {
                    Dir::ToServer => "Connection Request",
                    Dir::ToClient => "Connection Confirm",
                }
            ),
            A::ClearTextWhereTlsExpected { at } => write!(
                f,
                "clear-text X.224/MCS data at offset {at} where a TLS record was expected"
            ),
            A::ResumedAfterMissingBytes { at } => {
                write!(f, "decoding resumed at offset {at} after missing bytes")
            }
            A::SkippedBeforeHeader { len } => write!(
                f,
                "{len} bytes before the first recognisable header were skipped"
            ),
            A::TpduCut => f.write_str("X.224 TPDU cut short"),
            A::TpduNotUnderstood { why } => f.write_str(why),
            A::DataWithoutEot => f.write_str("X.224 Data TPDU without end-of-TSDU"),
            A::McsCut => f.write_str("MCS PDU cut short"),
            A::McsNotUnderstood { why } => write!(f, "MCS PDU not understood: {why}"),
            A::SecondConnectionTpdu => f.write_str("a second X.224 connection TPDU"),
            A::OtherTpdu { code } => write!(f, "X.224 TPDU code 0x{code:02x}"),
            A::BytesAfter { len, after } => write!(f, "{len} bytes after {after}"),
            A::DataLengthIndicator { li } => {
                write!(f, "X.224 Data length indicator {li}, expected 2")
            }
            A::X224Class { class } => write!(f, "X.224 class {class} (RDP uses class 0)"),
            A::UnframedRequestBytes { len } => write!(
                f,
                "{len} bytes in the Connection Request are neither a cookie line nor RDP_NEG_REQ"
            ),
            A::UnknownTextLine { line } => {
                write!(f, "unknown text line in the Connection Request: {line:?}")
            }
            A::SeveralTextLines => f.write_str("more than one text line in the Connection Request"),
            A::RequestNegType { ty } => write!(
                f,
                "RDP_NEG type 0x{ty:02x} in the Connection Request, expected RDP_NEG_REQ"
            ),
            A::NegReqLength { len } => write!(f, "RDP_NEG_REQ length {len}, expected 8"),
            A::CorrelationFlagWithoutInfo => {
                f.write_str("CORRELATION_INFO_PRESENT set but no RDP_NEG_CORRELATION_INFO")
            }
            A::BytesAfterNegReq { len, ty } => {
                write!(f, "{len} bytes after RDP_NEG_REQ (type 0x{ty:02x})")
            }
            A::CorrelationInfoLength { len } => {
                write!(f, "RDP_NEG_CORRELATION_INFO length {len}, expected 36")
            }
            A::CorrelationInfoWithoutFlag => {
                f.write_str("RDP_NEG_CORRELATION_INFO without CORRELATION_INFO_PRESENT")
            }
            A::NegLength { len } => write!(f, "RDP_NEG length {len}, expected 8"),
            A::ConfirmNegType { ty } => write!(
                f,
                "RDP_NEG type 0x{ty:02x} in the Connection Confirm (expected RSP or FAILURE)"
            ),
            A::TooManyConnectFields { pdu, max } => write!(f, "more than {max} fields in {pdu}"),
            A::ConnectFieldOrder { pdu } => write!(f, "{pdu} fields are not in T.125 order"),
            A::ConnectResponseWithoutUserData => f.write_str("Connect-Response without user data"),
            A::GccKeyNotT124 => {
                f.write_str("GCC ConnectData key is not the T.124 object identifier")
            }
            A::GccPduLength { len, present } => write!(
                f,
                "GCC connectPDU length {len} exceeds the {present} bytes present"
            ),
            A::GccHeaderUnusual { why } => write!(f, "GCC header in an unusual form ({why})"),
            A::GccUserDataLength { len, present } => {
                write!(f, "GCC user data length {len}, {present} bytes present")
            }
            A::GccCreateResult { result } => {
                write!(f, "GCC Conference Create Response result {result}")
            }
            A::StrayBytesAfterBlocks { len } => {
                write!(f, "{len} stray bytes after the user-data blocks")
            }
            A::BlockLengthTooSmall { ty, len } => {
                write!(f, "user-data block 0x{ty:04x} with length {len}")
            }
            A::BlockLengthExceeds { ty, len, left } => write!(
                f,
                "user-data block 0x{ty:04x} length {len} exceeds the {left} bytes left"
            ),
            A::BlockCut { ty } => write!(f, "user-data block 0x{ty:04x} is cut short"),
            A::BlockInvalid { ty, why } => write!(f, "user-data block 0x{ty:04x}: {why}"),
            A::ServerRandomCut { len } => write!(f, "serverRandom of {len} bytes is cut short"),
            A::ServerCertificateLength { len, left } => write!(
                f,
                "serverCertificate length {len} exceeds the {left} bytes left"
            ),
            A::ServerCertificateNoVersion => {
                f.write_str("server certificate shorter than its version field")
            }
            A::ProprietaryKeyMagic { magic } => write!(
                f,
                "proprietary certificate key magic 0x{magic:08x}, expected RSA1"
            ),
            A::ProprietaryCertificateCut => {
                f.write_str("proprietary server certificate is cut short")
            }
            A::X509ChainCut => f.write_str("X.509 certificate chain is cut short"),
            A::X509ChainCount { count, max } => {
                write!(f, "X.509 chain claims {count} certificates (at most {max})")
            }
            A::X509ChainCertificateCut { index } => {
                write!(f, "X.509 chain certificate {index} is cut short")
            }
            A::X509ChainCertificate { index, why } => {
                write!(f, "X.509 chain certificate {index}: {why}")
            }
            A::ServerCertificateVersion { version } => {
                write!(f, "server certificate version {version}")
            }
            A::SendDataLength { len, present } => {
                write!(f, "MCS send-data length {len}, {present} bytes present")
            }
            A::NoSecurityHeader { len } => {
                write!(f, "RDP PDU of {len} bytes has no security header")
            }
            A::RdpPduCut { pdu } => write!(f, "{pdu} is cut short"),
            A::RdpPduInvalid { pdu, why } => write!(f, "{pdu}: {why}"),
            A::SecurityFlags { flags } => write!(
                f,
                "RDP PDU with security flags 0x{flags:04x} not understood"
            ),
            A::CredsspFirstRecordLarge { len } => write!(
                f,
                "first CredSSP record of {len} bytes is too large for NTLM NEGOTIATE \
                 (Kerberos?): legs mapped by position only"
            ),
            A::TsRequestNotUnderstood { why } => {
                write!(f, "CredSSP TSRequest not understood: {why}")
            }
            A::NtlmFieldOutOfRange { field } => {
                write!(f, "NTLM {field} field lies outside the message")
            }
            A::TlsEventCap { max } => {
                write!(f, "more than {max} TLS events: further ones not listed")
            }
            A::ChangeCipherSpecBody { len } => {
                write!(f, "ChangeCipherSpec record of {len} bytes is not [1]")
            }
            A::UnfinishedHandshakeBeforeCcs { len } => write!(
                f,
                "{len} bytes of an unfinished handshake message before ChangeCipherSpec"
            ),
            A::AlertRecordSize { len } => {
                write!(f, "alert record of {len} bytes before ChangeCipherSpec")
            }
            A::AppDataBeforeCcs => f.write_str("application data before ChangeCipherSpec"),
            A::HeartbeatRecord { len } => write!(f, "TLS heartbeat record ({len} bytes)"),
            A::EmptyHandshakeRecord => f.write_str("empty handshake record"),
            A::HandshakeTooLarge { max } => write!(
                f,
                "handshake message larger than {max} bytes: handshake decoding stops"
            ),
            A::HandshakeClaims { msg_type, len } => write!(
                f,
                "handshake message type {msg_type} claims {len} bytes: handshake decoding stops"
            ),
            A::MalformedClientHello { why } => write!(f, "malformed ClientHello: {why}"),
            A::MalformedServerHello { why } => write!(f, "malformed ServerHello: {why}"),
            A::HelloRetryRequest => f.write_str(
                "ServerHello is a TLS 1.3 HelloRetryRequest (a second ClientHello must follow)",
            ),
            A::ServerHelloDoneBody { len } => {
                write!(f, "ServerHelloDone with {len} body bytes")
            }
            A::WrongSender { msg_type, dir } => write!(
                f,
                "handshake message type {msg_type} sent by the {}",
                dir.sender()
            ),
            A::ChainCertificate { index, why } => {
                write!(f, "certificate #{index} of the chain: {why}")
            }
            A::EmptyServerCertificate => f.write_str("the server's Certificate message is empty"),
            A::MalformedCertificate => f.write_str("malformed Certificate message"),
            A::ClientHelloExtensionsLeft { len } => {
                write!(f, "ClientHello extensions: {len} bytes not parseable")
            }
            A::ClientHelloExtensions { why } => write!(f, "ClientHello extensions: {why}"),
            A::ServerHelloExtensionsCut { len } => write!(
                f,
                "ServerHello extensions cut ({len} bytes after the fixed fields)"
            ),
            A::ServerHelloExtensionHeaderCut => f.write_str("ServerHello extension header cut"),
            A::ServerHelloExtensionClaims { ty, len } => {
                write!(f, "ServerHello extension {ty} claims {len} bytes")
            }
            A::ServerHelloSupportedVersions { len } => {
                write!(f, "ServerHello supported_versions of {len} bytes")
            }
            A::ServerHelloAlpn { len } => {
                write!(
                    f,
                    "ServerHello ALPN extension of {len} bytes is not one protocol name"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every anomaly prints the sentence the decoders wrote before the
    /// anomalies were typed (reports must not change).
    #[test]
    fn anomaly_sentences() {
        use Anomaly as A;
        let s = |w: &str| w.to_string();
        let cases: Vec<(Anomaly, &str)> = vec![
            (
                A::DirectTls,
                "direct TLS without X.224 negotiation; decoded as TLS",
            ),
            (
                A::UnknownSelectedProtocol { protocol: 0x40 },
                "selected protocol unknown (0x40): guessing the security layer from the bytes",
            ),
            (
                A::FirstTpduUnexpected { dir: Dir::ToServer },
                "the first TPDU is not an X.224 Connection Request",
            ),
            (
                A::FirstTpduUnexpected { dir: Dir::ToClient },
                "the first TPDU is not an X.224 Connection Confirm",
            ),
            (
                A::ClearTextWhereTlsExpected { at: 19 },
                "clear-text X.224/MCS data at offset 19 where a TLS record was expected",
            ),
            (
                A::ResumedAfterMissingBytes { at: 700 },
                "decoding resumed at offset 700 after missing bytes",
            ),
            (
                A::SkippedBeforeHeader { len: 3 },
                "3 bytes before the first recognisable header were skipped",
            ),
            (A::TpduCut, "X.224 TPDU cut short"),
            (
                A::TpduNotUnderstood {
                    why: s("X.224 length indicator 0"),
                },
                "X.224 length indicator 0",
            ),
            (A::DataWithoutEot, "X.224 Data TPDU without end-of-TSDU"),
            (A::McsCut, "MCS PDU cut short"),
            (
                A::McsNotUnderstood { why: s("x") },
                "MCS PDU not understood: x",
            ),
            (A::SecondConnectionTpdu, "a second X.224 connection TPDU"),
            (A::OtherTpdu { code: 0x50 }, "X.224 TPDU code 0x50"),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::McsConnectPdu,
                },
                "2 bytes after the MCS connect PDU",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::X224ConnectionRequest,
                },
                "2 bytes after the X.224 Connection Request",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::X224ConnectionConfirm,
                },
                "2 bytes after the X.224 Connection Confirm",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::CorrelationInfo,
                },
                "2 bytes after RDP_NEG_CORRELATION_INFO",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::ConfirmNegStructure,
                },
                "2 bytes after the RDP_NEG structure of the Connection Confirm",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::ClientHelloExtensions,
                },
                "2 bytes after the ClientHello extensions",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::ServerHelloExtensions,
                },
                "2 bytes after the ServerHello extensions",
            ),
            (
                A::BytesAfter {
                    len: 2,
                    after: Trailer::CertificateChain,
                },
                "2 bytes after the Certificate message's chain",
            ),
            (
                A::DataLengthIndicator { li: 3 },
                "X.224 Data length indicator 3, expected 2",
            ),
            (
                A::X224Class { class: 4 },
                "X.224 class 4 (RDP uses class 0)",
            ),
            (
                A::UnframedRequestBytes { len: 26 },
                "26 bytes in the Connection Request are neither a cookie line nor RDP_NEG_REQ",
            ),
            (
                A::UnknownTextLine { line: s("Foo: b") },
                "unknown text line in the Connection Request: \"Foo: b\"",
            ),
            (
                A::SeveralTextLines,
                "more than one text line in the Connection Request",
            ),
            (
                A::RequestNegType { ty: 2 },
                "RDP_NEG type 0x02 in the Connection Request, expected RDP_NEG_REQ",
            ),
            (
                A::NegReqLength { len: 9 },
                "RDP_NEG_REQ length 9, expected 8",
            ),
            (
                A::CorrelationFlagWithoutInfo,
                "CORRELATION_INFO_PRESENT set but no RDP_NEG_CORRELATION_INFO",
            ),
            (
                A::BytesAfterNegReq { len: 4, ty: 7 },
                "4 bytes after RDP_NEG_REQ (type 0x07)",
            ),
            (
                A::CorrelationInfoLength { len: 35 },
                "RDP_NEG_CORRELATION_INFO length 35, expected 36",
            ),
            (
                A::CorrelationInfoWithoutFlag,
                "RDP_NEG_CORRELATION_INFO without CORRELATION_INFO_PRESENT",
            ),
            (A::NegLength { len: 9 }, "RDP_NEG length 9, expected 8"),
            (
                A::ConfirmNegType { ty: 1 },
                "RDP_NEG type 0x01 in the Connection Confirm (expected RSP or FAILURE)",
            ),
            (
                A::TooManyConnectFields {
                    pdu: ConnectPdu::ConnectInitial,
                    max: 12,
                },
                "more than 12 fields in Connect-Initial",
            ),
            (
                A::ConnectFieldOrder {
                    pdu: ConnectPdu::ConnectResponse,
                },
                "Connect-Response fields are not in T.125 order",
            ),
            (
                A::ConnectResponseWithoutUserData,
                "Connect-Response without user data",
            ),
            (
                A::GccKeyNotT124,
                "GCC ConnectData key is not the T.124 object identifier",
            ),
            (
                A::GccPduLength {
                    len: 42,
                    present: 40,
                },
                "GCC connectPDU length 42 exceeds the 40 bytes present",
            ),
            (
                A::GccHeaderUnusual { why: s("w") },
                "GCC header in an unusual form (w)",
            ),
            (
                A::GccUserDataLength {
                    len: 10,
                    present: 9,
                },
                "GCC user data length 10, 9 bytes present",
            ),
            (
                A::GccCreateResult { result: 1 },
                "GCC Conference Create Response result 1",
            ),
            (
                A::StrayBytesAfterBlocks { len: 3 },
                "3 stray bytes after the user-data blocks",
            ),
            (
                A::BlockLengthTooSmall { ty: 0xc001, len: 2 },
                "user-data block 0xc001 with length 2",
            ),
            (
                A::BlockLengthExceeds {
                    ty: 0xc001,
                    len: 20,
                    left: 8,
                },
                "user-data block 0xc001 length 20 exceeds the 8 bytes left",
            ),
            (
                A::BlockCut { ty: 0x0c02 },
                "user-data block 0x0c02 is cut short",
            ),
            (
                A::BlockInvalid {
                    ty: 0x0c02,
                    why: s("w"),
                },
                "user-data block 0x0c02: w",
            ),
            (
                A::ServerRandomCut { len: 32 },
                "serverRandom of 32 bytes is cut short",
            ),
            (
                A::ServerCertificateLength { len: 100, left: 50 },
                "serverCertificate length 100 exceeds the 50 bytes left",
            ),
            (
                A::ServerCertificateNoVersion,
                "server certificate shorter than its version field",
            ),
            (
                A::ProprietaryKeyMagic { magic: 0x3241_5352 },
                "proprietary certificate key magic 0x32415352, expected RSA1",
            ),
            (
                A::ProprietaryCertificateCut,
                "proprietary server certificate is cut short",
            ),
            (A::X509ChainCut, "X.509 certificate chain is cut short"),
            (
                A::X509ChainCount {
                    count: 201,
                    max: 200,
                },
                "X.509 chain claims 201 certificates (at most 200)",
            ),
            (
                A::X509ChainCertificateCut { index: 1 },
                "X.509 chain certificate 1 is cut short",
            ),
            (
                A::X509ChainCertificate {
                    index: 1,
                    why: s("w"),
                },
                "X.509 chain certificate 1: w",
            ),
            (
                A::ServerCertificateVersion { version: 3 },
                "server certificate version 3",
            ),
            (
                A::SendDataLength {
                    len: 10,
                    present: 8,
                },
                "MCS send-data length 10, 8 bytes present",
            ),
            (
                A::NoSecurityHeader { len: 3 },
                "RDP PDU of 3 bytes has no security header",
            ),
            (
                A::RdpPduCut {
                    pdu: RdpPdu::ClientInfo,
                },
                "Client Info PDU is cut short",
            ),
            (
                A::RdpPduInvalid {
                    pdu: RdpPdu::Licensing,
                    why: s("w"),
                },
                "licensing PDU: w",
            ),
            (
                A::RdpPduCut {
                    pdu: RdpPdu::ShareControl,
                },
                "share control PDU is cut short",
            ),
            (
                A::SecurityFlags { flags: 0x0400 },
                "RDP PDU with security flags 0x0400 not understood",
            ),
            (
                A::CredsspFirstRecordLarge { len: 2100 },
                "first CredSSP record of 2100 bytes is too large for NTLM NEGOTIATE \
                 (Kerberos?): legs mapped by position only",
            ),
            (
                A::TsRequestNotUnderstood { why: s("w") },
                "CredSSP TSRequest not understood: w",
            ),
            (
                A::NtlmFieldOutOfRange {
                    field: ntlm::NtlmField::UserName,
                },
                "NTLM UserName field lies outside the message",
            ),
            (
                A::TlsEventCap { max: 1024 },
                "more than 1024 TLS events: further ones not listed",
            ),
            (
                A::ChangeCipherSpecBody { len: 2 },
                "ChangeCipherSpec record of 2 bytes is not [1]",
            ),
            (
                A::UnfinishedHandshakeBeforeCcs { len: 5 },
                "5 bytes of an unfinished handshake message before ChangeCipherSpec",
            ),
            (
                A::AlertRecordSize { len: 26 },
                "alert record of 26 bytes before ChangeCipherSpec",
            ),
            (
                A::AppDataBeforeCcs,
                "application data before ChangeCipherSpec",
            ),
            (
                A::HeartbeatRecord { len: 3 },
                "TLS heartbeat record (3 bytes)",
            ),
            (A::EmptyHandshakeRecord, "empty handshake record"),
            (
                A::HandshakeTooLarge { max: 65536 },
                "handshake message larger than 65536 bytes: handshake decoding stops",
            ),
            (
                A::HandshakeClaims {
                    msg_type: 11,
                    len: 16_777_215,
                },
                "handshake message type 11 claims 16777215 bytes: handshake decoding stops",
            ),
            (
                A::MalformedClientHello { why: s("w") },
                "malformed ClientHello: w",
            ),
            (
                A::MalformedServerHello { why: s("w") },
                "malformed ServerHello: w",
            ),
            (
                A::HelloRetryRequest,
                "ServerHello is a TLS 1.3 HelloRetryRequest (a second ClientHello must follow)",
            ),
            (
                A::ServerHelloDoneBody { len: 1 },
                "ServerHelloDone with 1 body bytes",
            ),
            (
                A::WrongSender {
                    msg_type: 1,
                    dir: Dir::ToClient,
                },
                "handshake message type 1 sent by the server",
            ),
            (
                A::ChainCertificate {
                    index: 0,
                    why: s("w"),
                },
                "certificate #0 of the chain: w",
            ),
            (
                A::EmptyServerCertificate,
                "the server's Certificate message is empty",
            ),
            (A::MalformedCertificate, "malformed Certificate message"),
            (
                A::ClientHelloExtensionsLeft { len: 2 },
                "ClientHello extensions: 2 bytes not parseable",
            ),
            (
                A::ClientHelloExtensions { why: s("w") },
                "ClientHello extensions: w",
            ),
            (
                A::ServerHelloExtensionsCut { len: 1 },
                "ServerHello extensions cut (1 bytes after the fixed fields)",
            ),
            (
                A::ServerHelloExtensionHeaderCut,
                "ServerHello extension header cut",
            ),
            (
                A::ServerHelloExtensionClaims { ty: 43, len: 9 },
                "ServerHello extension 43 claims 9 bytes",
            ),
            (
                A::ServerHelloSupportedVersions { len: 3 },
                "ServerHello supported_versions of 3 bytes",
            ),
            (
                A::ServerHelloAlpn { len: 2 },
                "ServerHello ALPN extension of 2 bytes is not one protocol name",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(a.to_string(), want, "{a:?}");
        }
    }
}
