//! TLS record layer and handshake (RFC 5246, RFC 8446) as seen without
//! keys, on top of tls-parser. Records are framed across segment
//! boundaries and handshake messages defragmented across records.
//!
//! One pass per direction over its contiguous bytes: each record is framed
//! by its header; clear handshake record bodies go to a bounded buffer from
//! which complete messages are taken (a Certificate split over several
//! records is the common case), each placed from the record that began it
//! to the record that completed it. After ChangeCipherSpec (or a TLS 1.3
//! ServerHello) only record headers are read; the protected records are
//! kept as [`RecordRef`]s for the CredSSP shape. Hello bodies, extensions
//! and the Certificate list are parsed by tls-parser except the
//! ServerHello, parsed by hand so that unknown versions survive.

use super::cert::CertInfo;
use super::{Anomaly, Decoded, Trailer};
use crate::common::Dir;

/// A TLS protocol version (open: unknown values survive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    pub fn name(self) -> String {
        match self.0 {
            0x0002 => "SSL 2.0".into(),
            0x0300 => "SSL 3.0".into(),
            0x0301 => "TLS 1.0".into(),
            0x0302 => "TLS 1.1".into(),
            0x0303 => "TLS 1.2".into(),
            0x0304 => "TLS 1.3".into(),
            v => super::unknown_hex(v as u64),
        }
    }
}

/// A ClientHello (or an SSLv2-compatible hello).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    pub record_version: TlsVersion,
    pub legacy_version: TlsVersion,
    /// The supported_versions extension, in client order (empty if absent).
    pub supported_versions: Vec<TlsVersion>,
    pub cipher_suites: Vec<u16>,
    pub sni: Option<String>,
    pub signature_algorithms: Vec<u16>,
    pub alpn: Vec<String>,
    /// An SSLv2-compatible ClientHello.
    pub sslv2: bool,
}

impl ClientHello {
    /// The highest version the client offers.
    pub fn max_version(&self) -> TlsVersion {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| v.0 & 0x0a0a != 0x0a0a) // skip GREASE
            .max()
            .unwrap_or(self.legacy_version)
    }
    /// The lowest version the client offers (supported_versions if present).
    pub fn min_version(&self) -> TlsVersion {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| v.0 & 0x0a0a != 0x0a0a)
            .min()
            .unwrap_or(self.legacy_version)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: TlsVersion,
    /// The negotiated version: supported_versions if present, else legacy.
    pub version: TlsVersion,
    pub cipher_suite: u16,
    /// The protocol the server selected by ALPN (RFC 7301 3.1: exactly
    /// one name), lossily decoded as UTF-8.
    pub alpn: Option<String>,
}

/// IANA name of a cipher suite, or `unknown (0x....)`.
pub fn cipher_suite_name(id: u16) -> String {
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(cs) => cs.name.to_string(),
        None => format!("unknown (0x{id:04x})"),
    }
}

/// TLS alert description name (RFC 8446 6.2), or `unknown (N)`.
pub fn alert_name(desc: u8) -> String {
    let n = match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => return format!("unknown ({desc})"),
    };
    n.to_string()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsEvent {
    /// Boxed: a hello is 128 bytes, more than twice any other TLS event,
    /// and inline it made every timeline event 152 bytes, past what a
    /// move copies without a call to `memcpy`.
    ClientHello(Box<ClientHello>),
    ServerHello(ServerHello),
    /// The Certificate message: the chain, leaf first.
    Certificate(Vec<CertInfo>),
    ServerKeyExchange,
    CertificateRequest,
    ServerHelloDone,
    ClientKeyExchange,
    ChangeCipherSpec,
    /// An encrypted handshake record (Finished, or TLS 1.3's encrypted
    /// flight); only its length is visible.
    EncryptedHandshake {
        len: u32,
    },
    /// A clear-text alert.
    Alert {
        level: u8,
        description: u8,
    },
    /// An alert record that cannot be read: after ChangeCipherSpec, in a
    /// direction whose handshake the capture did not see, or not 2 bytes
    /// long. Only its length is visible.
    EncryptedAlert {
        len: u32,
    },
    /// A protected alert record that decryption opened (its MAC or tag
    /// verified): the alert the [`TlsEvent::EncryptedAlert`] of the same
    /// record hides. Emitted only with keys, by `proto::decrypt`.
    DecryptedAlert {
        level: u8,
        description: u8,
    },
    /// The capture started after this direction's TLS handshake: its
    /// first record seen is already protected (application data, an
    /// alert, or a handshake record that is no clear handshake message),
    /// so every record of the direction is encrypted, alerts included.
    /// Placed at that first record.
    HandshakeNotCaptured,
    /// A clear record (handshake, or a 2-byte alert) whose body the snap
    /// length cut: framed by its header, never read as the message it
    /// might be. `msg_type` is the first handshake message's type when
    /// that byte was captured.
    HiddenRecord {
        content_type: u8,
        len: u32,
        msg_type: Option<u8>,
    },
    /// Totals of the records framed in this direction (emitted once, at
    /// the end of the decoded part): records whose header was read, their
    /// payload bytes, records whose body the snap length cut, and the
    /// times framing was lost to a record header the snap length hid and
    /// found again at a later segment.
    Records {
        records: u64,
        bytes: u64,
        body_cut: u64,
        headers_hidden: u64,
    },
    /// An application-data record (after the handshake). Only the first
    /// few per direction are emitted; `ApplicationDataSummary` counts all.
    ApplicationData {
        len: u32,
    },
    /// Totals for application data in this direction (emitted once, at the
    /// end of the decoded part of the stream).
    ApplicationDataSummary {
        records: u64,
        bytes: u64,
    },
    /// A handshake message type we do not interpret.
    OtherHandshake {
        msg_type: u8,
    },
}

/// The letter of a handshake message type in a connection's TLS history
/// (RFC 8446 4 / RFC 5246 7.4 message types), in the alphabet Zeek's
/// `ssl_history` uses so the two compare: lower case here, upper case
/// when the client sent it. Unassigned types are `z`.
const HISTORY_LETTERS: &[(u8, char)] = &[
    (0, 'h'),   // hello_request
    (1, 'c'),   // client_hello
    (2, 's'),   // server_hello
    (3, 'v'),   // hello_verify_request (DTLS)
    (4, 't'),   // new_session_ticket
    (5, 'e'),   // end_of_early_data
    (6, 'j'),   // hello_retry_request (draft TLS 1.3)
    (8, 'o'),   // encrypted_extensions
    (11, 'x'),  // certificate
    (12, 'k'),  // server_key_exchange
    (13, 'r'),  // certificate_request
    (14, 'n'),  // server_hello_done
    (15, 'y'),  // certificate_verify
    (16, 'g'),  // client_key_exchange
    (20, 'f'),  // finished
    (21, 'w'),  // certificate_url
    (22, 'u'),  // certificate_status
    (23, 'a'),  // supplemental_data
    (24, 'p'),  // key_update
    (254, 'm'), // message_hash
];

impl TlsEvent {
    /// This event's letter in the TLS history (see [`HISTORY_LETTERS`]):
    /// clear handshake messages, ChangeCipherSpec `i` and clear alerts
    /// `l`; a ServerHello that is a HelloRetryRequest is `j`. Encrypted
    /// records and totals have none: the history is what the capture
    /// shows in the clear.
    pub fn history_letter(&self, hello_retry: bool) -> Option<char> {
        let msg_type = match self {
            TlsEvent::ServerHello(_) if hello_retry => return Some('j'),
            TlsEvent::ChangeCipherSpec => return Some('i'),
            TlsEvent::Alert { .. } => return Some('l'),
            TlsEvent::ClientHello(_) => 1,
            TlsEvent::ServerHello(_) => 2,
            TlsEvent::Certificate(_) => 11,
            TlsEvent::ServerKeyExchange => 12,
            TlsEvent::CertificateRequest => 13,
            TlsEvent::ServerHelloDone => 14,
            TlsEvent::ClientKeyExchange => 16,
            TlsEvent::OtherHandshake { msg_type } => *msg_type,
            _ => return None,
        };
        Some(
            HISTORY_LETTERS
                .iter()
                .find(|(t, _)| *t == msg_type)
                .map_or('z', |&(_, l)| l),
        )
    }
}

/// A TLS record seen after the handshake (or after ChangeCipherSpec),
/// placed in the direction's stream. CredSSP shape analysis reads these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef {
    /// Stream offset of the record header.
    pub start: u64,
    /// Stream offset one past the record.
    pub end: u64,
    pub content_type: u8,
    /// Record payload length (ciphertext).
    pub len: u32,
}

/// What TLS decoding of one direction gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TlsDirection {
    /// Events in stream order (the caller fills in `dir`).
    pub events: Vec<super::Decoded>,
    /// Encrypted records after this direction's ChangeCipherSpec (or after
    /// a TLS 1.3 ServerHello), in order, at most [`MAX_RECORD_REFS`].
    pub encrypted_records: Vec<RecordRef>,
    /// Stream offset where decoding stopped (end of input, hole, garbage).
    pub stopped_at: u64,
    /// Decoding began mid-connection and the first record was already
    /// protected ([`TlsEvent::HandshakeNotCaptured`]).
    pub encrypted_from_start: bool,
    /// The [`TlsEvent::Records`] totals of the direction (None when no
    /// record was framed); the caller places it over the decoded part.
    pub records: Option<TlsEvent>,
}

/// Encrypted records kept per direction for shape analysis.
pub const MAX_RECORD_REFS: usize = 64;

/// Application-data records emitted as events per direction (the rest are
/// only counted in [`TlsEvent::ApplicationDataSummary`]).
pub const MAX_APPDATA_EVENTS: usize = 8;

/// Bound of the per-direction handshake reassembly buffer. A Certificate
/// chain of a few certificates is 2-10 KB; 256 KiB is far beyond any real
/// handshake message while bounding memory on hostile input.
pub const MAX_HANDSHAKE_BUFFER: usize = 256 * 1024;

/// Events emitted per direction at most (a stream of tiny alert or
/// renegotiation records cannot grow memory without bound).
const MAX_EVENTS: usize = 1024;

/// Largest TLSCiphertext.length allowed: 2^14 + 2048 (RFC 5246 6.2.3; RFC
/// 8446 5.2 lowers it to 2^14 + 256, older stacks use the full margin).
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Record header length: type(1) version(2) length(2) (RFC 5246 6.2.1).
const RECORD_HEADER_LEN: usize = 5;

/// ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest")
/// (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// ContentType values (RFC 5246 6.2.1, RFC 6520 for heartbeat).
mod content_type {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

impl TlsDirection {
    /// The ServerHello decoded in this direction, if any.
    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.events.iter().find_map(|d| match &d.event {
            super::ProtoEvent::Tls(TlsEvent::ServerHello(sh)) => Some(sh),
            _ => None,
        })
    }

    /// True if this direction carries a ServerHello that selected TLS 1.3
    /// (decode the server direction first, then pass this as `tls13` for
    /// the client direction).
    pub fn selected_tls13(&self) -> bool {
        self.server_hello().is_some_and(|sh| is_tls13(sh.version))
    }
}

/// TLS 1.3, or one of its drafts (0x7fNN).
/// A protected TLS 1.3 alert record's length: alert (2) + inner content
/// type (1) + a 16-byte AEAD tag (RFC 8446 5.2, 5.3; RFC 5116).
pub const TLS13_PROTECTED_ALERT_LEN: usize = 2 + 1 + 16;

fn is_tls13(v: TlsVersion) -> bool {
    v.0 == 0x0304 || (v.0 & 0xff00) == 0x7f00
}

/// One TLS record header (RFC 5246 6.2.1), as [`frame_record`] read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RecordHeader {
    content_type: u8,
    version: TlsVersion,
    len: usize,
}

enum Framing {
    Record(RecordHeader),
    /// Fewer bytes than a header or than the record announces.
    NeedMore {
        have: usize,
        need: usize,
    },
    /// Not a TLS record header.
    Garbage(String),
}

/// Frame the record at the front of `buf`: header checks (content type
/// 20..=24, major version 3, length bound), then the whole record present.
/// Done by hand rather than with tls-parser's `parse_tls_raw_record`, which
/// rejects TLS 1.2 ciphertext records above 2^14 + 256 bytes.
fn frame_record(buf: &[u8]) -> Framing {
    let (Some(&ct), Some(&vmaj), Some(&vmin)) = (buf.first(), buf.get(1), buf.get(2)) else {
        return Framing::NeedMore {
            have: buf.len(),
            need: RECORD_HEADER_LEN,
        };
    };
    if !(content_type::CHANGE_CIPHER_SPEC..=content_type::HEARTBEAT).contains(&ct) {
        return Framing::Garbage(format!("not a TLS record: content type 0x{ct:02x}"));
    }
    // Every SSL 3.0 / TLS record carries major version 3; TLS 1.3 freezes
    // the record version at 0x0301/0x0303. Unknown minor versions survive.
    if vmaj != 3 {
        return Framing::Garbage(format!(
            "not a TLS record: version 0x{vmaj:02x}{vmin:02x} (content type {ct})"
        ));
    }
    let (Some(&l0), Some(&l1)) = (buf.get(3), buf.get(4)) else {
        return Framing::NeedMore {
            have: buf.len(),
            need: RECORD_HEADER_LEN,
        };
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if len > MAX_RECORD_LEN {
        return Framing::Garbage(format!(
            "TLS record length {len} exceeds 2^14+2048 (content type {ct})"
        ));
    }
    if buf.len() < RECORD_HEADER_LEN + len {
        return Framing::NeedMore {
            have: buf.len(),
            need: RECORD_HEADER_LEN + len,
        };
    }
    Framing::Record(RecordHeader {
        content_type: ct,
        version: TlsVersion(u16::from_be_bytes([vmaj, vmin])),
        len,
    })
}

/// Where a piece of the handshake buffer came from.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    /// Offset in the handshake buffer of the chunk's first byte.
    buf_off: usize,
    /// Stream offset of the record header that carried it.
    record_start: u64,
    record_version: TlsVersion,
}

/// Decoding state of one direction.
struct DirDecoder {
    dir: Dir,
    out: TlsDirection,
    /// The peer's (or our) ServerHello selected TLS 1.3.
    tls13: bool,
    /// This direction's records are encrypted (after ChangeCipherSpec, or
    /// after a TLS 1.3 ServerHello in the server direction, or from the
    /// start of a direction whose handshake was not captured).
    encrypted: bool,
    /// Decoding began mid-connection: until a clear handshake message is
    /// read, the direction is not known to be before its ChangeCipherSpec.
    mid: bool,
    /// The direction is known to be before its ChangeCipherSpec (decoded
    /// from its first byte, or from a clear handshake record).
    known_clear: bool,
    /// The first record was looked at (mid-connection decoding).
    first_seen: bool,
    /// Records framed, their payload bytes, records whose body the snap
    /// length cut, framing lost to hidden headers.
    records: u64,
    record_bytes: u64,
    body_cut: u64,
    headers_hidden: u64,
    /// A handshake record was hidden: the next clear one must begin a
    /// message to be read.
    hs_after_hidden: bool,
    /// A TLS 1.3 ServerHello was seen here and NotObservable is still due.
    tls13_flight_pending: bool,
    /// TLS 1.3: the next content-type-23 record carries handshake messages
    /// (the client's Finished; the start of the server's encrypted flight,
    /// whose later records cannot be told from application data).
    first_protected_is_handshake: bool,
    hs_buf: Vec<u8>,
    chunks: Vec<Chunk>,
    /// Handshake reassembly gave up (bad length); records are still framed.
    hs_broken: bool,
    app_records: u64,
    app_bytes: u64,
    app_first: Option<u64>,
    app_last_end: u64,
    event_cap_hit: bool,
}

impl DirDecoder {
    fn push(&mut self, start: u64, end: u64, event: super::ProtoEvent) {
        if self.out.events.len() >= MAX_EVENTS {
            if !self.event_cap_hit {
                self.event_cap_hit = true;
                let what = super::Anomaly::TlsEventCap { max: MAX_EVENTS };
                self.out.events.push(Decoded {
                    dir: self.dir,
                    start,
                    end,
                    event: super::ProtoEvent::Anomaly { what },
                });
            }
            return;
        }
        self.out.events.push(Decoded {
            dir: self.dir,
            start,
            end,
            event,
        });
    }

    fn tls(&mut self, start: u64, end: u64, ev: TlsEvent) {
        self.push(start, end, super::ProtoEvent::Tls(ev));
    }

    fn anomaly(&mut self, start: u64, end: u64, what: Anomaly) {
        self.push(start, end, super::ProtoEvent::Anomaly { what });
    }

    fn record_ref(&mut self, start: u64, end: u64, hdr: &RecordHeader) {
        if self.out.encrypted_records.len() < MAX_RECORD_REFS {
            self.out.encrypted_records.push(RecordRef {
                start,
                end,
                content_type: hdr.content_type,
                len: hdr.len as u32,
            });
        }
    }

    /// Emit the pending TLS 1.3 NotObservable marker at `start..end`.
    fn flush_tls13_marker(&mut self, start: u64, end: u64) {
        if self.tls13_flight_pending {
            self.tls13_flight_pending = false;
            self.push(
                start,
                end,
                super::ProtoEvent::NotObservable {
                    what: "TLS 1.3 encrypted handshake (certificate not observable)".into(),
                },
            );
        }
    }

    fn on_record(&mut self, hdr: &RecordHeader, body: &[u8], start: u64, end: u64, cut: bool) {
        use content_type::*;
        self.records += 1;
        self.record_bytes += hdr.len as u64;
        if cut {
            self.body_cut += 1;
            // Only a record read by its length alone survives the cut:
            // ChangeCipherSpec, application data, anything encrypted.
            let clear_alert = hdr.content_type == ALERT
                && hdr.len == 2
                && (self.tls13 || (!self.encrypted && self.known_clear));
            let clear_hs = hdr.content_type == HANDSHAKE && !self.encrypted;
            if clear_alert || clear_hs {
                self.flush_tls13_marker(start, end);
                if clear_hs {
                    // Part of a message is lost: the buffer cannot go on.
                    self.hs_buf.clear();
                    self.chunks.clear();
                    self.hs_after_hidden = true;
                }
                let msg_type = if clear_hs {
                    body.first().copied()
                } else {
                    None
                };
                self.tls(
                    start,
                    end,
                    TlsEvent::HiddenRecord {
                        content_type: hdr.content_type,
                        len: hdr.len as u32,
                        msg_type,
                    },
                );
                return;
            }
        }
        if self.mid && !std::mem::replace(&mut self.first_seen, true) {
            // The first record of a direction captured mid-connection
            // says where it is: a clear handshake message (the capture
            // began during the handshake), a ChangeCipherSpec, or
            // anything else, already protected.
            match hdr.content_type {
                HANDSHAKE if plausible_handshake(body) => self.known_clear = true,
                CHANGE_CIPHER_SPEC => {}
                _ => {
                    self.encrypted = true;
                    self.out.encrypted_from_start = true;
                    self.tls(start, end, TlsEvent::HandshakeNotCaptured);
                }
            }
        }
        if hdr.content_type != CHANGE_CIPHER_SPEC {
            self.flush_tls13_marker(start, end);
        }
        match hdr.content_type {
            CHANGE_CIPHER_SPEC => {
                // RFC 5246 7.1: a single byte of value 1.
                if body != [1] && !cut {
                    self.anomaly(
                        start,
                        end,
                        Anomaly::ChangeCipherSpecBody { len: body.len() },
                    );
                }
                if !self.hs_buf.is_empty() {
                    self.anomaly(
                        start,
                        end,
                        Anomaly::UnfinishedHandshakeBeforeCcs {
                            len: self.hs_buf.len(),
                        },
                    );
                    self.hs_buf.clear();
                    self.chunks.clear();
                }
                self.tls(start, end, TlsEvent::ChangeCipherSpec);
                // In TLS 1.3 this is the middlebox-compatibility CCS (RFC
                // 8446 D.4): it changes nothing; the client's later
                // handshake records are content type 23.
                if !self.tls13 {
                    self.encrypted = true;
                }
            }
            ALERT => {
                // RFC 5246 7.2 / RFC 8446 6: a clear alert is level(1)
                // description(1), one per record (RFC 8446 5.1). It is
                // read only before this direction's ChangeCipherSpec, when
                // that is known (the direction was seen from its start or
                // from a clear handshake message); a protected alert
                // carries a MAC or tag. In TLS 1.3 a protected alert is
                // content type 23, so a type-21 record is in the clear.
                let clear = hdr.len == 2
                    && body.len() == 2
                    && (self.tls13 || (!self.encrypted && self.known_clear));
                if clear {
                    if let [level, description] = *body {
                        self.tls(start, end, TlsEvent::Alert { level, description });
                    }
                } else {
                    if !self.encrypted && self.known_clear {
                        self.anomaly(start, end, Anomaly::AlertRecordSize { len: body.len() });
                    }
                    self.record_ref(start, end, hdr);
                    self.tls(
                        start,
                        end,
                        TlsEvent::EncryptedAlert {
                            len: hdr.len as u32,
                        },
                    );
                }
            }
            HANDSHAKE => {
                if self.encrypted {
                    self.record_ref(start, end, hdr);
                    self.tls(
                        start,
                        end,
                        TlsEvent::EncryptedHandshake {
                            len: hdr.len as u32,
                        },
                    );
                } else if self.hs_after_hidden && !plausible_handshake(body) {
                    // The rest of a message whose start was hidden.
                    self.tls(
                        start,
                        end,
                        TlsEvent::HiddenRecord {
                            content_type: hdr.content_type,
                            len: hdr.len as u32,
                            msg_type: None,
                        },
                    );
                } else {
                    self.hs_after_hidden = false;
                    self.on_handshake_bytes(hdr, body, start, end);
                }
            }
            APPLICATION_DATA => {
                // TLS 1.3 hides the content type (RFC 8446 5.2): a protected
                // alert is a type-23 record whose plaintext is the alert's 2
                // bytes and the inner type byte, plus the AEAD tag (16 bytes
                // for every TLS 1.3 suite but TLS_AES_128_CCM_8, which no
                // RDP stack enables by default). No RDP PDU inside TLS is 2
                // bytes long, so a record of exactly that size is an alert
                // (close_notify, in practice).
                if self.tls13 && hdr.len == TLS13_PROTECTED_ALERT_LEN {
                    self.tls(
                        start,
                        end,
                        TlsEvent::EncryptedAlert {
                            len: hdr.len as u32,
                        },
                    );
                    return;
                }
                self.record_ref(start, end, hdr);

                if self.first_protected_is_handshake {
                    // RFC 8446 4.4.4 / 5.1: the first protected record
                    // carries the client's Finished or the server's
                    // EncryptedExtensions (and often the rest of its flight).
                    self.first_protected_is_handshake = false;
                    self.tls(
                        start,
                        end,
                        TlsEvent::EncryptedHandshake {
                            len: hdr.len as u32,
                        },
                    );
                    return;
                }
                if !self.encrypted && !self.tls13 {
                    if self.known_clear {
                        self.anomaly(start, end, Anomaly::AppDataBeforeCcs);
                    } else {
                        // Its ChangeCipherSpec was hidden (snap length).
                        self.encrypted = true;
                    }
                }
                self.app_records += 1;
                self.app_bytes += hdr.len as u64;
                if self.app_first.is_none() {
                    self.app_first = Some(start);
                }
                self.app_last_end = end;
                if self.app_records <= MAX_APPDATA_EVENTS as u64 {
                    self.tls(
                        start,
                        end,
                        TlsEvent::ApplicationData {
                            len: hdr.len as u32,
                        },
                    );
                }
            }
            _ => {
                // Heartbeat (RFC 6520): legal but unusual on RDP.
                self.anomaly(start, end, Anomaly::HeartbeatRecord { len: hdr.len });
            }
        }
    }

    fn on_handshake_bytes(&mut self, hdr: &RecordHeader, body: &[u8], start: u64, end: u64) {
        if self.hs_broken {
            return;
        }
        if body.is_empty() {
            // RFC 5246 6.2.1: zero-length handshake fragments are not sent.
            self.anomaly(start, end, Anomaly::EmptyHandshakeRecord);
            return;
        }
        if self.hs_buf.len() + body.len() > MAX_HANDSHAKE_BUFFER {
            self.hs_broken = true;
            self.anomaly(
                start,
                end,
                Anomaly::HandshakeTooLarge {
                    max: MAX_HANDSHAKE_BUFFER,
                },
            );
            return;
        }
        self.chunks.push(Chunk {
            buf_off: self.hs_buf.len(),
            record_start: start,
            record_version: hdr.version,
        });
        self.hs_buf.extend_from_slice(body);
        self.drain_handshake(end);
    }

    /// Decode every complete handshake message at the front of the
    /// buffer (RFC 5246 7.4: type(1) length(3) body), keeping the tail.
    fn drain_handshake(&mut self, record_end: u64) {
        let mut consumed = 0usize;
        loop {
            let rest = self.hs_buf.get(consumed..).unwrap_or(&[]);
            let (Some(&msg_type), Some(mlen)) = (rest.first(), be_u24(rest, 1)) else {
                break;
            };
            if mlen + 4 > MAX_HANDSHAKE_BUFFER {
                let (s, _) = self.origin(consumed);
                self.hs_broken = true;
                self.anomaly(
                    s,
                    record_end,
                    Anomaly::HandshakeClaims {
                        msg_type,
                        len: mlen,
                    },
                );
                consumed = self.hs_buf.len();
                break;
            }
            let Some(msg) = rest.get(..4 + mlen) else {
                break;
            };
            let msg = msg.to_vec();
            let (s, rv) = self.origin(consumed);
            self.on_handshake_message(msg_type, &msg, s, record_end, rv);
            consumed += 4 + mlen;
        }
        if consumed > 0 {
            let consumed = consumed.min(self.hs_buf.len());
            self.hs_buf.drain(..consumed);
            // Re-base the chunks: keep the one holding the new first byte.
            let keep_from = self
                .chunks
                .iter()
                .rposition(|c| c.buf_off <= consumed)
                .unwrap_or(0);
            self.chunks.drain(..keep_from);
            for c in &mut self.chunks {
                c.buf_off = c.buf_off.saturating_sub(consumed);
            }
            if self.hs_buf.is_empty() {
                self.chunks.clear();
            }
        }
    }

    /// Stream offset and version of the record that carried buffer byte `off`.
    fn origin(&self, off: usize) -> (u64, TlsVersion) {
        self.chunks
            .iter()
            .rev()
            .find(|c| c.buf_off <= off)
            .map(|c| (c.record_start, c.record_version))
            .unwrap_or((0, TlsVersion(0)))
    }

    fn on_handshake_message(
        &mut self,
        msg_type: u8,
        msg: &[u8],
        start: u64,
        end: u64,
        record_version: TlsVersion,
    ) {
        let body = msg.get(4..).unwrap_or(&[]);
        match msg_type {
            1 => match parse_client_hello(body, record_version) {
                Ok((ch, notes)) => {
                    self.tls(start, end, TlsEvent::ClientHello(Box::new(ch)));
                    for n in notes {
                        self.anomaly(start, end, n);
                    }
                }
                Err(why) => self.anomaly(start, end, Anomaly::MalformedClientHello { why }),
            },
            2 => match parse_server_hello(body) {
                Ok((sh, hrr, notes)) => {
                    let v13 = is_tls13(sh.version);
                    self.tls(start, end, TlsEvent::ServerHello(sh));
                    for n in notes {
                        self.anomaly(start, end, n);
                    }
                    if hrr {
                        self.anomaly(start, end, Anomaly::HelloRetryRequest);
                    } else if v13 {
                        self.tls13 = true;
                        self.encrypted = true;
                        self.tls13_flight_pending = true;
                        self.first_protected_is_handshake = true;
                    }
                }
                Err(why) => self.anomaly(start, end, Anomaly::MalformedServerHello { why }),
            },
            11 => self.on_certificate(msg, start, end),
            12 => self.tls(start, end, TlsEvent::ServerKeyExchange),
            13 => self.tls(start, end, TlsEvent::CertificateRequest),
            14 => {
                if !body.is_empty() {
                    self.anomaly(start, end, Anomaly::ServerHelloDoneBody { len: body.len() });
                }
                self.tls(start, end, TlsEvent::ServerHelloDone);
            }
            16 => self.tls(start, end, TlsEvent::ClientKeyExchange),
            t => self.tls(start, end, TlsEvent::OtherHandshake { msg_type: t }),
        }
        // RFC 5246 7.3 / RFC 8446 4: who sends what.
        let sender_ok = match msg_type {
            1 | 16 => self.dir == Dir::ToServer,
            2 | 12 | 13 | 14 => self.dir == Dir::ToClient,
            _ => true,
        };
        if !sender_ok {
            self.anomaly(
                start,
                end,
                Anomaly::WrongSender {
                    msg_type,
                    dir: self.dir,
                },
            );
        }
    }

    /// Certificate (RFC 5246 7.4.2): certificate_list<0..2^24-1> of
    /// ASN.1Cert<1..2^24-1>, parsed by tls-parser; each DER summarised.
    fn on_certificate(&mut self, msg: &[u8], start: u64, end: u64) {
        use tls_parser::{parse_tls_handshake_msg_certificate, TlsMessageHandshake};
        let body = msg.get(4..).unwrap_or(&[]);
        // `body` is exactly one complete message: any parse error (even
        // "incomplete") means the message itself is malformed.
        match parse_tls_handshake_msg_certificate(body) {
            Ok((rest, TlsMessageHandshake::Certificate(c))) => {
                let mut infos = Vec::with_capacity(c.cert_chain.len());
                let mut notes = Vec::new();
                for (i, raw) in c.cert_chain.iter().enumerate() {
                    match super::cert::summarize(raw.data) {
                        Ok(ci) => infos.push(ci),
                        Err(why) => notes.push(Anomaly::ChainCertificate { index: i, why }),
                    }
                }
                if !rest.is_empty() {
                    notes.push(Anomaly::BytesAfter {
                        len: rest.len(),
                        after: Trailer::CertificateChain,
                    });
                }
                if c.cert_chain.is_empty() && self.dir == Dir::ToClient {
                    notes.push(Anomaly::EmptyServerCertificate);
                }
                self.tls(start, end, TlsEvent::Certificate(infos));
                for n in notes {
                    self.anomaly(start, end, n);
                }
            }
            _ => self.anomaly(start, end, Anomaly::MalformedCertificate),
        }
    }

    /// SSLv2-compatible CLIENT-HELLO (RFC 5246 E.2, RFC 6101 E.1): a
    /// 2-byte header with the high bit set, msg_type 1, version,
    /// cipher_spec_length, session_id_length, challenge_length, then the
    /// 3-byte cipher specs, session id and challenge.
    fn try_sslv2_hello(&mut self, data: &[u8], base: u64) -> Sslv2 {
        match data.first() {
            Some(&h0) if h0 & 0x80 != 0 => {}
            _ => return Sslv2::No,
        }
        let (Some(&h0), Some(&h1), Some(&mt)) = (data.first(), data.get(1), data.get(2)) else {
            return Sslv2::NeedMore;
        };
        if mt != 1 {
            return Sslv2::No;
        }
        let len = (usize::from(h0 & 0x7f) << 8) | usize::from(h1);
        let Some(msg) = data.get(2..2 + len) else {
            return Sslv2::NeedMore;
        };
        let be16 = |o: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*msg.get(o)?, *msg.get(o + 1)?]))
        };
        let (Some(ver), Some(cs_len), Some(sid_len), Some(ch_len)) =
            (be16(1), be16(3), be16(5), be16(7))
        else {
            return Sslv2::Malformed("SSLv2 CLIENT-HELLO shorter than its fixed fields".into());
        };
        let (cs_len, sid_len, ch_len) = (
            usize::from(cs_len),
            usize::from(sid_len),
            usize::from(ch_len),
        );
        if cs_len % 3 != 0 || 9 + cs_len + sid_len + ch_len != msg.len() {
            return Sslv2::Malformed(format!(
                "SSLv2 CLIENT-HELLO lengths do not add up (specs {cs_len}, session id {sid_len}, challenge {ch_len}, message {})",
                msg.len()
            ));
        }
        let specs = msg.get(9..9 + cs_len).unwrap_or(&[]);
        // Only specs of the form {0x00, hi, lo} name TLS cipher suites;
        // SSL 2.0-only kinds cannot be expressed as a u16 and are skipped.
        let cipher_suites = specs
            .chunks_exact(3)
            .filter_map(|c| match *c {
                [0, hi, lo] => Some(u16::from_be_bytes([hi, lo])),
                _ => None,
            })
            .collect();
        let ch = ClientHello {
            record_version: TlsVersion(0x0002),
            legacy_version: TlsVersion(ver),
            supported_versions: Vec::new(),
            cipher_suites,
            sni: None,
            signature_algorithms: Vec::new(),
            alpn: Vec::new(),
            sslv2: true,
        };
        let end = base + 2 + len as u64;
        self.tls(base, end, TlsEvent::ClientHello(Box::new(ch)));
        Sslv2::Done(2 + len)
    }
}

enum Sslv2 {
    No,
    NeedMore,
    Malformed(String),
    Done(usize),
}

/// Big-endian u16 at `at`, if the bytes are there.
/// Whether a handshake record's body starts with a clear handshake
/// message (RFC 5246 7.4, RFC 8446 4): a known type sent in the clear
/// and a length within bounds. A protected record's first bytes (an
/// explicit nonce, often zero, or ciphertext) rarely pass.
fn plausible_handshake(body: &[u8]) -> bool {
    let (Some(&t), Some(len)) = (body.first(), be_u24(body, 1)) else {
        return false;
    };
    matches!(t, 1 | 2 | 4 | 11 | 12 | 13 | 14 | 15 | 16 | 20 | 22)
        && len + 4 <= MAX_HANDSHAKE_BUFFER
        && (t != 14 || len == 0)
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at.checked_add(2)?)? {
        &[x, y] => Some(u16::from_be_bytes([x, y])),
        _ => None,
    }
}

/// Big-endian u24 at `at` (handshake lengths), if the bytes are there.
fn be_u24(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at..at.checked_add(3)?)? {
        &[x, y, z] => Some(usize::from(x) << 16 | usize::from(y) << 8 | usize::from(z)),
        _ => None,
    }
}

/// ClientHello body (RFC 5246 7.4.1.2, RFC 8446 4.1.2) through tls-parser;
/// extensions: server_name (RFC 6066 3), signature_algorithms (RFC 5246
/// 7.4.1.4.1), ALPN (RFC 7301), supported_versions (RFC 8446 4.2.1).
fn parse_client_hello(
    body: &[u8],
    record_version: TlsVersion,
) -> Result<(ClientHello, Vec<Anomaly>), String> {
    use tls_parser::{
        parse_tls_extensions, parse_tls_handshake_client_hello, SNIType, TlsExtension,
    };
    let (rest, ch) = parse_tls_handshake_client_hello(body).map_err(|e| nom_why(&e))?;
    let mut notes = Vec::new();
    if !rest.is_empty() {
        notes.push(Anomaly::BytesAfter {
            len: rest.len(),
            after: Trailer::ClientHelloExtensions,
        });
    }
    let mut out = ClientHello {
        record_version,
        legacy_version: TlsVersion(ch.version.0),
        supported_versions: Vec::new(),
        cipher_suites: ch.ciphers.iter().map(|c| c.0).collect(),
        sni: None,
        signature_algorithms: Vec::new(),
        alpn: Vec::new(),
        sslv2: false,
    };
    if let Some(ext) = ch.ext {
        match parse_tls_extensions(ext) {
            Ok((left, exts)) => {
                if !left.is_empty() {
                    notes.push(Anomaly::ClientHelloExtensionsLeft { len: left.len() });
                }
                for e in exts {
                    match e {
                        TlsExtension::SNI(names) => {
                            out.sni = names
                                .iter()
                                .find(|(t, _)| *t == SNIType::HostName)
                                .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
                        }
                        TlsExtension::SignatureAlgorithms(v) => out.signature_algorithms = v,
                        TlsExtension::ALPN(v) => {
                            out.alpn = v
                                .iter()
                                .map(|p| String::from_utf8_lossy(p).into_owned())
                                .collect()
                        }
                        TlsExtension::SupportedVersions(v) => {
                            out.supported_versions = v.iter().map(|v| TlsVersion(v.0)).collect()
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => notes.push(Anomaly::ClientHelloExtensions { why: nom_why(&e) }),
        }
    }
    Ok((out, notes))
}

/// ServerHello body by hand (RFC 5246 7.4.1.3, RFC 8446 4.1.3), so that
/// unknown legacy versions survive: version(2) random(32) session_id<0..32>
/// cipher_suite(2) compression(1) [extensions<0..2^16-1>].
/// Returns the hello, whether it is a HelloRetryRequest, and notes.
fn parse_server_hello(body: &[u8]) -> Result<(ServerHello, bool, Vec<Anomaly>), String> {
    let short = || format!("ServerHello of {} bytes is too short", body.len());
    let legacy = be_u16(body, 0).ok_or_else(short)?;
    let random = body.get(2..34).ok_or_else(short)?;
    let sid_len = usize::from(*body.get(34).ok_or_else(short)?);
    if sid_len > 32 {
        return Err(format!("session id length {sid_len} > 32"));
    }
    let p = 35 + sid_len;
    let cipher = be_u16(body, p).ok_or_else(short)?;
    let _compression = *body.get(p + 2).ok_or_else(short)?;
    let mut notes = Vec::new();
    let mut version = TlsVersion(legacy);
    let mut alpn = None;
    let ext_at = p + 3;
    if body.len() > ext_at {
        // Extension problems are notes: the hello itself stands.
        let elen = match (body.get(ext_at), body.get(ext_at + 1)) {
            (Some(&e0), Some(&e1)) => usize::from(u16::from_be_bytes([e0, e1])),
            _ => 0,
        };
        let exts = match body.get(ext_at + 2..ext_at + 2 + elen) {
            Some(e) if body.len() >= ext_at + 2 => e,
            _ => {
                notes.push(Anomaly::ServerHelloExtensionsCut {
                    len: body.len() - ext_at,
                });
                &[]
            }
        };
        if !exts.is_empty() && body.len() > ext_at + 2 + elen {
            notes.push(Anomaly::BytesAfter {
                len: body.len() - ext_at - 2 - elen,
                after: Trailer::ServerHelloExtensions,
            });
        }
        // Walk type(2) length(2) data.
        let mut q = 0usize;
        while q < exts.len() {
            let (Some(ty), Some(len)) = (be_u16(exts, q), be_u16(exts, q + 2)) else {
                notes.push(Anomaly::ServerHelloExtensionHeaderCut);
                break;
            };
            let len = usize::from(len);
            let Some(data) = exts.get(q + 4..q + 4 + len) else {
                notes.push(Anomaly::ServerHelloExtensionClaims { ty, len });
                break;
            };
            if ty == 16 {
                // ALPN (RFC 7301 3.1): protocol_name_list<2..2^16-1> of
                // one ProtocolName<1..2^8-1> in a ServerHello.
                match data {
                    [_, _, n, name @ ..] if usize::from(*n) == name.len() && !name.is_empty() => {
                        alpn = Some(String::from_utf8_lossy(name).into_owned());
                    }
                    _ => notes.push(Anomaly::ServerHelloAlpn { len: data.len() }),
                }
            } else if ty == 43 {
                // supported_versions in a ServerHello: selected_version (2).
                match *data {
                    [a, b] => version = TlsVersion(u16::from_be_bytes([a, b])),
                    _ => notes.push(Anomaly::ServerHelloSupportedVersions { len: data.len() }),
                }
            }
            q += 4 + len;
        }
    }
    let hrr = random == HRR_RANDOM;
    Ok((
        ServerHello {
            legacy_version: TlsVersion(legacy),
            version,
            cipher_suite: cipher,
            alpn,
        },
        hrr,
        notes,
    ))
}

fn nom_why<E: std::fmt::Debug>(e: &tls_parser::nom::Err<E>) -> String {
    match e {
        tls_parser::nom::Err::Incomplete(_) => "shorter than its fields".into(),
        tls_parser::nom::Err::Error(e) | tls_parser::nom::Err::Failure(e) => format!("{e:?}"),
    }
}

/// For a stream whose start was not captured: the first offset in `data`
/// where TLS records frame cleanly: [`RESYNC_RECORDS`] in a row, or records
/// reaching exactly the end of `data`, or two followed by a cut record.
/// Searches the first `max_scan` bytes only.
pub fn find_record_boundary(data: &[u8], max_scan: usize) -> Option<usize> {
    (0..data.len().min(max_scan)).find(|&start| {
        let mut p = start;
        let mut n = 0usize;
        loop {
            let rest = data.get(p..).unwrap_or(&[]);
            if rest.is_empty() {
                return n > 0;
            }
            match frame_record(rest) {
                Framing::Record(h) => {
                    // A plausible record: no empty handshake/alert/CCS.
                    if h.len == 0 && h.content_type != content_type::APPLICATION_DATA {
                        return false;
                    }
                    n += 1;
                    if n >= RESYNC_RECORDS {
                        return true;
                    }
                    p += RECORD_HEADER_LEN + h.len;
                }
                Framing::NeedMore { .. } => return n >= 2,
                Framing::Garbage(_) => return false,
            }
        }
    })
}

/// Consecutive well-framed records [`find_record_boundary`] asks for.
pub const RESYNC_RECORDS: usize = 3;

/// Decode the TLS records of one direction, starting at stream offset
/// `base` (where `data[0]` sits). `tls13` says the ServerHello selected TLS
/// 1.3 (everything after it is encrypted). Never panics.
///
/// In the server direction the ServerHello itself switches to TLS 1.3
/// mode; in the client direction `tls13` makes the first protected record
/// the client's Finished ([`TlsEvent::EncryptedHandshake`]) and keeps the
/// compatibility ChangeCipherSpec from hiding a second ClientHello.
pub fn decode_direction(dir: Dir, data: &[u8], base: u64, tls13: bool) -> TlsDirection {
    decode_direction_from(dir, data, base, tls13, false, &[])
}

/// Whether stream bytes `a..b` meet a range of `hidden`.
fn meets(hidden: &[(u64, u64)], a: u64, b: u64) -> bool {
    hidden
        .iter()
        .any(|&(o, l)| o < b && o.saturating_add(l) > a)
}

/// [`decode_direction`] for a direction whose decoding may begin
/// mid-connection (`mid`: the capture started after the connection did,
/// and `data` begins at a record found by searching): until a clear
/// handshake message shows the handshake was captured, the direction is
/// not known to be before its ChangeCipherSpec, so no alert is read in
/// the clear; a first record that is already protected makes the whole
/// direction encrypted ([`TlsEvent::HandshakeNotCaptured`]).
///
/// `hidden` lists the stream ranges (offsets as `base`) the snap length
/// cut, zero-filled in `data`. A record whose header was captured is
/// framed by its length field even when its body was cut; a clear record
/// whose body was cut is a [`TlsEvent::HiddenRecord`]. A header the snap
/// length hid loses the framing, found again at the first captured bytes
/// of a later segment that begin with a record header.
pub fn decode_direction_from(
    dir: Dir,
    data: &[u8],
    base: u64,
    tls13: bool,
    mid: bool,
    hidden: &[(u64, u64)],
) -> TlsDirection {
    // A direction with nothing after the negotiation (most connections
    // that end before TLS): nothing to frame, and the decoder's few
    // hundred bytes of state are not worth setting up and copying out.
    if data.is_empty() {
        return TlsDirection {
            stopped_at: base,
            ..TlsDirection::default()
        };
    }
    decode_records(dir, data, base, tls13, mid, hidden)
}

/// [`decode_direction_from`] of a direction with bytes to read.
fn decode_records(
    dir: Dir,
    data: &[u8],
    base: u64,
    tls13: bool,
    mid: bool,
    hidden: &[(u64, u64)],
) -> TlsDirection {
    let mut d = DirDecoder {
        dir,
        out: TlsDirection::default(),
        tls13,
        encrypted: false,
        mid,
        known_clear: !mid,
        first_seen: false,
        records: 0,
        record_bytes: 0,
        body_cut: 0,
        headers_hidden: 0,
        hs_after_hidden: false,
        tls13_flight_pending: false,
        first_protected_is_handshake: tls13 && dir == Dir::ToServer,
        hs_buf: Vec::new(),
        chunks: Vec::new(),
        hs_broken: false,
        app_records: 0,
        app_bytes: 0,
        app_first: None,
        app_last_end: base,
        event_cap_hit: false,
    };
    let mut pos = 0usize;
    let mut stopped = false;

    if dir == Dir::ToServer {
        match d.try_sslv2_hello(data, base) {
            Sslv2::Done(n) => pos = n,
            Sslv2::Malformed(why) => {
                d.push(
                    base,
                    base + data.len() as u64,
                    super::ProtoEvent::Stopped {
                        why: super::StopReason::Sslv2Malformed(why),
                    },
                );
                stopped = true;
            }
            Sslv2::NeedMore => {
                d.push(
                    base,
                    base + data.len() as u64,
                    super::ProtoEvent::Stopped {
                        why: super::StopReason::Sslv2Cut,
                    },
                );
                stopped = true;
            }
            Sslv2::No => {}
        }
    }

    while !stopped {
        let rest = data.get(pos..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
        let start = base + pos as u64;
        if meets(hidden, start, start + RECORD_HEADER_LEN as u64) {
            // The snap length hid this record header: find the framing
            // again where a later segment's captured bytes begin.
            let found = hidden
                .iter()
                .map(|&(o, l)| o.saturating_add(l))
                .filter(|&e| e > start)
                .filter_map(|e| usize::try_from(e.checked_sub(base)?).ok())
                .find(|&p| {
                    let h = data.get(p..).unwrap_or(&[]);
                    let at = base + p as u64;
                    !meets(hidden, at, at + RECORD_HEADER_LEN as u64)
                        && matches!(
                            frame_record(h),
                            Framing::Record(_) | Framing::NeedMore { .. }
                        )
                        && h.len() >= RECORD_HEADER_LEN
                });
            d.headers_hidden += 1;
            match found {
                Some(p) => {
                    d.flush_tls13_marker(start, start);
                    d.hs_buf.clear();
                    d.chunks.clear();
                    d.hs_after_hidden = true;
                    // A ChangeCipherSpec may have been among the hidden
                    // records: no longer known to be before it.
                    d.known_clear = false;
                    pos = p;
                    continue;
                }
                None => {
                    d.flush_tls13_marker(start, start);
                    d.push(
                        start,
                        base + data.len() as u64,
                        super::ProtoEvent::Stopped {
                            why: super::StopReason::RecordHeaderHidden { at: start },
                        },
                    );
                    stopped = true;
                    continue;
                }
            }
        }
        match frame_record(rest) {
            Framing::Record(hdr) => {
                let body = rest
                    .get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + hdr.len)
                    .unwrap_or(&[]);
                let end = start + (RECORD_HEADER_LEN + hdr.len) as u64;
                let cut = meets(hidden, start + RECORD_HEADER_LEN as u64, end);
                d.on_record(&hdr, body, start, end, cut);
                pos += RECORD_HEADER_LEN + hdr.len;
            }
            Framing::NeedMore { have, need } => {
                d.flush_tls13_marker(start, start);
                d.push(
                    start,
                    base + data.len() as u64,
                    super::ProtoEvent::Stopped {
                        why: super::StopReason::RecordCut { have, need },
                    },
                );
                stopped = true;
            }
            Framing::Garbage(why) => {
                d.flush_tls13_marker(start, start);
                d.push(
                    start,
                    base + data.len() as u64,
                    super::ProtoEvent::Stopped {
                        why: super::StopReason::NotARecord(why),
                    },
                );
                stopped = true;
            }
        }
    }
    let end_of_decoded = base + pos as u64;

    // A handshake message still waiting for its next record.
    if !stopped && !d.hs_buf.is_empty() && !d.hs_broken {
        let (s, _) = d.origin(0);
        let have = d.hs_buf.len();
        let t = d.hs_buf.first().copied().unwrap_or(0);
        let need = 4 + be_u24(&d.hs_buf, 1).unwrap_or(0);
        d.push(
            s,
            end_of_decoded,
            super::ProtoEvent::Stopped {
                why: super::StopReason::HandshakeCut {
                    msg_type: t,
                    have,
                    need,
                },
            },
        );
    }
    // A TLS 1.3 ServerHello with nothing after it: the encrypted flight
    // is still not observable, never "missing".
    d.flush_tls13_marker(end_of_decoded, end_of_decoded);
    if d.app_records > 0 {
        let first = d.app_first.unwrap_or(base);
        let last = d.app_last_end;
        let (records, bytes) = (d.app_records, d.app_bytes);
        // The summary is always emitted, even past the event cap.
        d.out.events.push(Decoded {
            dir,
            start: first,
            end: last,
            event: super::ProtoEvent::Tls(TlsEvent::ApplicationDataSummary { records, bytes }),
        });
    }
    if d.records > 0 || d.headers_hidden > 0 {
        d.out.records = Some(TlsEvent::Records {
            records: d.records,
            bytes: d.record_bytes,
            body_cut: d.body_cut,
            headers_hidden: d.headers_hidden,
        });
    }
    d.out.stopped_at = end_of_decoded;
    d.out
}

/// Plaintext bytes a protected record of `record_len` ciphertext bytes
/// carries, as an inclusive (min, max), for the negotiated version and
/// cipher suite. `None` when the suite is unknown or the length cannot be
/// a record of that suite.
///
/// - AEAD, TLS 1.2 (RFC 5288 3, RFC 6655): 8-byte explicit nonce + 16-byte
///   tag (8 for `_CCM_8`); ChaCha20-Poly1305 (RFC 7905): 16-byte tag.
/// - TLS 1.3 (RFC 8446 5.2): 16-byte tag (8 for CCM_8) + 1 inner content
///   type; record padding is assumed absent (Windows and OpenSSL do not pad).
/// - CBC (RFC 5246 6.2.3.2): explicit IV of one block from TLS 1.1 on, MAC,
///   then padding of 1..=block bytes (minimal padding assumed; the spec
///   allows up to 255).
/// - Stream ciphers (RC4) and NULL: MAC only.
pub fn plaintext_range(version: TlsVersion, suite: u16, record_len: u32) -> Option<(u32, u32)> {
    use tls_parser::{TlsCipherEnc, TlsCipherEncMode, TlsCipherMac, TlsCipherSuite};
    let exact = |overhead: u32| record_len.checked_sub(overhead).map(|p| (p, p));
    if version.0 == 0x0304 || (0x1301..=0x1305).contains(&suite) {
        let tag = if suite == 0x1305 { 8 } else { 16 };
        return match suite {
            0x1301..=0x1305 => exact(tag + 1),
            _ => None,
        };
    }
    let cs = TlsCipherSuite::from_id(suite)?;
    let ccm8 = cs.name.ends_with("_CCM_8");
    match (cs.enc, cs.enc_mode) {
        (TlsCipherEnc::Chacha20_Poly1305, _) => exact(16),
        (_, TlsCipherEncMode::Gcm | TlsCipherEncMode::Ccm) => exact(8 + if ccm8 { 8 } else { 16 }),
        (enc, TlsCipherEncMode::Cbc) => {
            let block: u32 = match enc {
                TlsCipherEnc::Des
                | TlsCipherEnc::TripleDes
                | TlsCipherEnc::Idea
                | TlsCipherEnc::Rc2 => 8,
                _ => 16,
            };
            let iv = if version.0 >= 0x0302 { block } else { 0 };
            let mac = match cs.mac {
                TlsCipherMac::HmacMd5 => 16,
                TlsCipherMac::HmacSha1 => 20,
                TlsCipherMac::HmacSha256 => 32,
                TlsCipherMac::HmacSha384 => 48,
                TlsCipherMac::HmacSha512 => 64,
                _ => return None,
            };
            let body = record_len.checked_sub(iv)?;
            if body == 0 || body % block != 0 {
                return None;
            }
            let max = body.checked_sub(mac + 1)?;
            Some((body.saturating_sub(mac + block), max))
        }
        _ => {
            let mac = u32::from(cs.mac_size / 8);
            exact(match cs.mac {
                TlsCipherMac::Null | TlsCipherMac::Aead => 0,
                _ => mac,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ProtoEvent;

    /// zeek/rdp-to-ssl.pcap, tcp.stream 1, client bytes 47..494: ClientHello
    /// (121), then ClientKeyExchange + ChangeCipherSpec + Finished (326).
    const RDP_TO_SSL_CLIENT: &str = concat!(
        "16030100740100007003014d570ee7cd2be6ede85def1e3fcd80ddfc009abb89f5b91fb9c93971b36d9909000018002f",
        "00350005000ac013c014c009c00a00320038001300040100002f00000012001000000d3139322e3136382e312e313530",
        "000500050100000000000a0006000400170018000b0002010016030101061000010201003ab8a9f067ab057e90ad2c71",
        "6f02e8e04dd89cc40a130277ff59d60f61dd2a2ef05fa14c007812347a897999a59d83dde9f3acca6ac523b8f66a5671",
        "ec336292f5e1ed348fdf38dd09531953a60feb3c6261a2618989ba11ad6cdd0d70f22183c7d7a8ee36282598503e75c7",
        "5df595e2e17b4f5d3ae1b4bc5ce0e4e31eb30dce10d708bca2379de14d9a24c060f92d80c1747d6e7683acdfd244926c",
        "a3478029351a37e22e9a40899a8a91b5103bc821a979c623156bbe4159a0d2a2052ab586086e2c60bb33525fbd379a10",
        "10240f529ba4f2754827bc542d215871138703dd6933331e03fd5e398c77773e6b133d419467b97f8e8ad909df873754",
        "9c302ee5140301000101160301003048811a454f8e5029c867fe117f38a7db6c2864e7e0c32217e244b6023115a2364a",
        "22c19fdf8a2e2cca0cb90e0ead2ff5",
    );
    /// zeek/rdp-to-ssl.pcap, tcp.stream 1, server bytes 19..937: one record
    /// of 854 with ServerHello, Certificate, ServerHelloDone; then
    /// ChangeCipherSpec and the encrypted Finished (48).
    const RDP_TO_SSL_SERVER: &str = concat!(
        "16030103560200004603014d570ee752b38c81074c82d2fcc1853c9a492fffa4a7589b8d8fb1500dfa0f2d20ed030000",
        "c2a08249c4e1845d6f1e3008901e98a74caa8ec709af62761f24954b002f000b0003040003010002fe308202fa308201",
        "e2a003020102021016ed2aa0495f259d4f5d99edada570d1300d06092a864886f70d0101050500302631243022060355",
        "0403131b57494e324b3852322e6177616b65636f64696e672e6174682e6378301e170d3131303231323231333733355a",
        "170d3231303231323030303030305a3026312430220603550403131b57494e324b3852322e6177616b65636f64696e67",
        "2e6174682e637830820122300d06092a864886f70d01010105000382010f003082010a0282010100fb55c684d0ee3a06",
        "ddbbbe86b33ffa8494d047fe4e794e576e5f8a29819bf7b2f47bcd14d33818bd54ac62c9ad3ec9cde23d2838dd8d4062",
        "032597e04f15d3351901498fbd67ae1e23d019734ac54c29a85f889ce11b33f0dfb197cf497532b21cee9d85d81ee8d1",
        "eef5d444c78442506b7310704c33db5287fcc9f0d7f0fcb8bedf9e5542228092e876665d331f353c6e4e3abb5dd8d6aa",
        "59d23d7bdb06ba10ff4d6e575d9adbb3776ff5e0e1df4ec24fde665f88bee40e731a39a02036d607d127bdae1181aa5b",
        "7b99715bfdbbf55f4149da451d57e3a205311c75b673dd04e77bedc63a00bdb7837344f2fd3b2ae58db51963e02aa715",
        "aa42e3a3d5def1970203010001a3243022300b0603551d0f04040302043030130603551d25040c300a06082b06010505",
        "070301300d06092a864886f70d010105050003820101007c430c5abb0c7218c2bb3820a68af5995b588a445160ed4082",
        "238382ed517c69b9cadc358dc9d07921cdbdf34b3f8057c83523ff952ad201a8b6305065c46a5526d6d7a41834768d9d",
        "5c7399f4bc3fdfe31dbd1b7f1c7db02f50b448384b0ae83583aae53051cbc2616587ae857747f5d1ccec8983850e8beb",
        "252f25fa3535509fbd3672a3f6eee6b3e89936cc884485782fdcfdb9dd6b8e40e7586423de429ebaf5008da53755e659",
        "3b0fad9b0213fc8e49aee922b09c768e354de12a14a07e429e019ab8acd092a7c7858f43d88cd1308aa6f41a06348423",
        "e19289a536e1697557433fedc07576192259d1cd2875daf50238d25ac323742c40c7f1f1addf6c0e0000001403010001",
        "0116030100307ddc2a4891f3bdb0498010b3c7d78a83186433635a609b1a392b2ef819389591726a90da72a946d64016",
        "3bda7ac8f454",
    );
    /// zeek/openjdk-25.0.2-zeek.org.pcap, server bytes 0..133: TLS 1.3
    /// ServerHello (supported_versions 0x0304, TLS_AES_256_GCM_SHA384) and
    /// the compatibility ChangeCipherSpec.
    const JDK_TLS13_SH: &str = concat!(
        "160303007a020000760303391e35cc472a7a67098c6f6831d8a876203b0a93d3464c0da9b3d7deac02d15d20a14023ae",
        "bdc70f8d832511dd646b823f52c5afb346835af730d498318dcdc5ad130200002e002b0002030400330024001d0020cc",
        "30adaf1198c54a66db3d3fea75f8289e8133ef6ac6188b13f9e901897d4878140303000101",
    );
    /// zeek/openjdk-25.0.2-zeek.org.pcap, client bytes 0..457: ClientHello
    /// with SNI zeek.org, ALPN h2/http1.1, supported_versions 1.3/1.2.
    const JDK_TLS13_CH: &str = concat!(
        "16030301c4010001c00303a021a50627aaf47999a11177afaf134b1567779546868cdb06d4f4e71b53a6e720a14023ae",
        "bdc70f8d832511dd646b823f52c5afb346835af730d498318dcdc5ad003e130213011303c02cc02bcca9c030cca8c02f",
        "009fccaa00a3009e00a2c024c028c023c027006b006a00670040c00ac014c009c013003900380033003200ff01000139",
        "0000000d000b0000087a65656b2e6f7267000500050100000000000a00160014001d001700180019001e010001010102",
        "01030104000b000201000010000e000c02683208687474702f312e310011000900070200040000000000170000002300",
        "00000d00260024040305030603080708080804080508060809080a080b0401050106010402030303010302002b000504",
        "03040303002d000201010032002c002a040305030603080708080804080508060809080a080b04010501060104020303",
        "030103020203020102020033006b0069001d0020270663b763d4bc48328b250b6adc6903e1f50b5c38a1b8f777311243",
        "9287101800170041043b4fdbdeddcbc7f434455e6f5d3e5ab2c917a7852fb4f652554df46d17f1160e9b0af7153269f7",
        "4fa7588e876d923edac3fee9b8db107fcb6d4d8fa29dfafd58",
    );

    /// zeek/rdp-rdpeudp-handshake-fail.pcap, server bytes 19..1222 (HYBRID_EX,
    /// TLS 1.2): ServerHello, Certificate, ServerKeyExchange, ServerHelloDone
    /// in one 1147-byte record, then ChangeCipherSpec and Finished (40).
    const EUDP_SERVER: &str = concat!(
        "160303047b0200005103035e334bbcac80736c87c60116aa400296caa7d745ac6e03c11251ea0f95edc5e52040100000",
        "478a8f34a0c06d400e9e9fb40f9762cfef8986708348485e70f2803dc03000000900170000ff010001000b0002f20002",
        "ef0002ec308202e8308201d0a00302010202103e9748c0ef910f814a2e5862e8ce1d71300d06092a864886f70d01010b",
        "0500301d311b30190603550403131264632e77696e646f6d61696e2e6c6f63616c301e170d3139313132323136313130",
        "335a170d3230303532333136313130335a301d311b30190603550403131264632e77696e646f6d61696e2e6c6f63616c",
        "30820122300d06092a864886f70d01010105000382010f003082010a0282010100d95a6cf771aa3310d3d9bd0c673d58",
        "773be0fb03d6e80f7a46e3693cc929921f358b32b90002291f1f0f2981fe96a248b78bd7a263aaeb9faaf7c53bd6e299",
        "fe40da420e3afcb0a8904b34fed7be845cd3574104e91ffff2fc22fa2b5c05c9f6f9a5e2cb90b6c3cbc8df5c0ae02867",
        "7bb275c011ff89fb5844c3219ca459c08573bd6b0d62bbd8c2205cad89bdc09c83c9eb1a736bfa90e1eb6647ac294113",
        "b4f0ba6bf315f0fc1ef748f62cacda953b6e1827cbec4273d942dec02ef7efafef51f51049123cdeef27d727efe705eb",
        "5dfb07e440c193e95d36c8d72175936fb6d6e37f1a938fb1657290801398d2b7bd1303cf5a2bf545650f87fc5810c3a0",
        "350203010001a324302230130603551d25040c300a06082b06010505070301300b0603551d0f040403020430300d0609",
        "2a864886f70d01010b05000382010100832f55094ea6b41a487ebeadcd839463a32b535faf61b3d2ad3b794481c3edf2",
        "1c624ee22ed96de2e06496db69617060aaabb89aa35d919d1c3823f555eb6ef568c1b7e06ee02c553ed3381746e52ded",
        "9af5d44e3dd9d9c9b98a997ad5fade49011ac6c639f5f1378ba5a813cf0ef914a3883bc6cf5021777a62e986e145e3c8",
        "44422fb48c347df99fef34307ff09c9339787b507413c88a6087b169a50f0f0f392cad37a0c2493534ca72b1a1afa491",
        "634bcf419a94eaa34090aed34fded3a38c7db3beb291075be6a0fb7d0c976252f58de2668e80e4f8bbd2b5e3a3b25519",
        "be161fa5f800efff8d74a1c4e8b9fdacd1bde0d1a09afd95866a84285e144e6d0c00012803001d204a1b2d8aa2243b00",
        "34d61b2860a97c9aca0b066af3664928db4d39d9cbf2e343020101002bea311d0776df707b1b685577bab77b13d76817",
        "4ed744fb87f2b2c260220d7e8edd09d30214b618700cf904257e5101e42afbdafc51ffece2f98f787ecf26f4d960234f",
        "ea8d5d82600a9072227c2b420df37930d6e43c705fba8809d4162ddcfa8da9b6d85a68079e403e0ea54d8601715aac58",
        "78c73e4e813f84b2e554717ac945cff1075f9f841146eb3a619932745d790c1a539d030d89153ef1140e409de5c82a13",
        "786420e455c69e0121601f46f7b90e7b88da2305441f8833ada7152de36309a104a566179a2d9a1051c1586ee24d45c2",
        "32ca9c4b0ebf1c9a3f5ef31e13b36811f82a31b85b51eadf7a829359524fa1c509533eded4eb9e4d5b4172ec0e000000",
        "140303000101160303002800000000000000008f95b66092540bfec491ad63a81a6dea6d4e34cf7f68b22e129d0f6266",
        "abe0bc",
    );

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    fn tls_events(d: &TlsDirection) -> Vec<(u64, u64, TlsEvent)> {
        d.events
            .iter()
            .filter_map(|e| match &e.event {
                ProtoEvent::Tls(t) => Some((e.start, e.end, t.clone())),
                _ => None,
            })
            .collect()
    }

    fn kinds(d: &TlsDirection) -> Vec<String> {
        d.events
            .iter()
            .map(|e| match &e.event {
                ProtoEvent::Tls(t) => {
                    let s = format!("{t:?}");
                    s.split(['(', ' ']).next().unwrap_or("").to_string()
                }
                other => {
                    let s = format!("{other:?}");
                    s.split([' ', '{']).next().unwrap_or("").to_string()
                }
            })
            .collect()
    }

    fn record(ct: u8, ver: u16, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ct];
        v.extend_from_slice(&ver.to_be_bytes());
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    /// Handshake message bodies (type + length + body) of a stream of
    /// plaintext handshake records, for re-framing.
    fn handshake_payload(stream: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut p = 0;
        while p + 5 <= stream.len() && stream[p] == 22 {
            let len = u16::from_be_bytes([stream[p + 3], stream[p + 4]]) as usize;
            out.extend_from_slice(&stream[p + 5..p + 5 + len]);
            p += 5 + len;
        }
        (out, p)
    }

    #[test]
    fn client_flight_of_a_real_rdp_nla_connection() {
        let data = hex(RDP_TO_SSL_CLIENT);
        let d = decode_direction(Dir::ToServer, &data, 47, false);
        let ev = tls_events(&d);
        let TlsEvent::ClientHello(ch) = &ev[0].2 else {
            panic!("{ev:?}")
        };
        assert_eq!((ev[0].0, ev[0].1), (47, 47 + 121));
        assert_eq!(ch.record_version, TlsVersion(0x0301));
        assert_eq!(ch.legacy_version.name(), "TLS 1.0");
        assert_eq!(ch.max_version(), TlsVersion(0x0301));
        // tshark: 0x002f,0x0035,0x0005,0x000a,0xc013,0xc014,0xc009,0xc00a,
        // 0x0032,0x0038,0x0013,0x0004
        assert_eq!(
            ch.cipher_suites,
            vec![
                0x002f, 0x0035, 0x0005, 0x000a, 0xc013, 0xc014, 0xc009, 0xc00a, 0x0032, 0x0038,
                0x0013, 0x0004
            ]
        );
        assert_eq!(ch.sni.as_deref(), Some("192.168.1.150"));
        assert!(!ch.sslv2);
        assert_eq!(ev[1].2, TlsEvent::ClientKeyExchange);
        assert_eq!(ev[2].2, TlsEvent::ChangeCipherSpec);
        assert_eq!(ev[3].2, TlsEvent::EncryptedHandshake { len: 48 });
        assert_eq!((ev[3].0, ev[3].1), (47 + 121 + 267 + 6, 47 + 447));
        assert_eq!(ev.len(), 4);
        assert_eq!(d.stopped_at, 47 + 447);
        assert_eq!(
            d.encrypted_records,
            vec![RecordRef {
                start: 441,
                end: 494,
                content_type: 22,
                len: 48
            }]
        );
        assert!(d.events.iter().all(|e| e.dir == Dir::ToServer));
    }

    #[test]
    fn server_flight_of_a_real_rdp_nla_connection() {
        let data = hex(RDP_TO_SSL_SERVER);
        let d = decode_direction(Dir::ToClient, &data, 19, false);
        let ev = tls_events(&d);
        assert_eq!(ev.len(), 5, "{ev:?}");
        let TlsEvent::ServerHello(sh) = &ev[0].2 else {
            panic!()
        };
        assert_eq!(sh.version, TlsVersion(0x0301));
        assert_eq!(
            cipher_suite_name(sh.cipher_suite),
            "TLS_RSA_WITH_AES_128_CBC_SHA"
        );
        let TlsEvent::Certificate(chain) = &ev[1].2 else {
            panic!()
        };
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].subject, "CN=WIN2K8R2.awakecoding.ath.cx");
        assert_eq!(chain[0].sha1, "00ABBC7A0DCA04571CB2AB4BB0DC652775F9E20C");
        assert_eq!(ev[2].2, TlsEvent::ServerHelloDone);
        // All three messages share the 854-byte record.
        for e in &ev[..3] {
            assert_eq!((e.0, e.1), (19, 19 + 859));
        }
        assert_eq!(ev[3].2, TlsEvent::ChangeCipherSpec);
        assert_eq!(ev[4].2, TlsEvent::EncryptedHandshake { len: 48 });
        assert!(!d.selected_tls13());
        assert_eq!(d.server_hello().map(|s| s.cipher_suite), Some(0x002f));
    }

    /// Cutting the stream anywhere gives the events of the complete
    /// records before the cut (a prefix of the full decode), then Stopped;
    /// never a panic. This is also "records split across segments at every
    /// position": the bytes before a segment boundary decode the same.
    #[test]
    fn every_truncation_is_a_prefix_then_stopped() {
        for (dir, v) in [
            (Dir::ToServer, hex(RDP_TO_SSL_CLIENT)),
            (Dir::ToClient, hex(RDP_TO_SSL_SERVER)),
            (Dir::ToClient, hex(JDK_TLS13_SH)),
            (Dir::ToServer, hex(JDK_TLS13_CH)),
        ] {
            let full = decode_direction(dir, &v, 0, false);
            let full_tls = tls_events(&full);
            for cut in 0..v.len() {
                let d = decode_direction(dir, &v[..cut], 0, false);
                assert!(d.stopped_at <= cut as u64);
                let part = tls_events(&d);
                assert!(part.len() <= full_tls.len());
                assert_eq!(part[..], full_tls[..part.len()], "cut {cut}");
                let stopped = d
                    .events
                    .iter()
                    .any(|e| matches!(e.event, ProtoEvent::Stopped { .. }));
                assert_eq!(stopped, d.stopped_at != cut as u64, "cut {cut}");
            }
        }
    }

    /// The server's handshake messages re-framed into records of every
    /// size from 1 byte up: a Certificate spanning many records decodes to
    /// the same messages; each starts at the record that began it and ends
    /// at the record that completed it.
    #[test]
    fn handshake_messages_spanning_records() {
        let v = hex(RDP_TO_SSL_SERVER);
        let (hs, hs_end) = handshake_payload(&v);
        let tail = &v[hs_end..];
        let want: Vec<TlsEvent> = tls_events(&decode_direction(Dir::ToClient, &v, 0, false))
            .into_iter()
            .map(|e| e.2)
            .collect();
        for size in [1usize, 2, 3, 4, 5, 7, 100, 300, 500, 853] {
            let mut stream = Vec::new();
            let mut rec_starts = Vec::new();
            for chunk in hs.chunks(size) {
                rec_starts.push(stream.len() as u64);
                stream.extend(record(22, 0x0301, chunk));
            }
            stream.extend_from_slice(tail);
            let d = decode_direction(Dir::ToClient, &stream, 0, false);
            let got = tls_events(&d);
            assert_eq!(
                got.iter().map(|e| e.2.clone()).collect::<Vec<_>>(),
                want,
                "size {size}"
            );
            // The Certificate message begins at handshake byte 4+sh_len.
            let sh_len = 4 + (u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize);
            let cert_len = 4
                + (u32::from_be_bytes([0, hs[sh_len + 1], hs[sh_len + 2], hs[sh_len + 3]])
                    as usize);
            let first_rec = sh_len / size;
            let last_rec = (sh_len + cert_len - 1) / size;
            assert_eq!(got[1].0, rec_starts[first_rec], "size {size}");
            let last_end = rec_starts[last_rec] + 5 + hs[last_rec * size..].len().min(size) as u64;
            assert_eq!(got[1].1, last_end, "size {size}");
            assert!(d
                .events
                .iter()
                .all(|e| !matches!(e.event, ProtoEvent::Anomaly { .. })));
        }
    }

    #[test]
    fn a_tls13_record_of_an_alerts_size_is_an_encrypted_alert() {
        // RFC 8446 5.2: alert (2) + inner type (1) + 16-byte tag = 19. A
        // record one byte longer or shorter is data.
        let mut v = hex(JDK_TLS13_SH);
        v.extend(record(23, 0x0303, &[0xaa; 50]));
        v.extend(record(23, 0x0303, &[0xbb; 300]));
        v.extend(record(23, 0x0303, &[0xcc; 20]));
        v.extend(record(23, 0x0303, &[0xdd; 18]));
        v.extend(record(23, 0x0303, &[0xee; 19]));
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        let k = kinds(&d);
        assert_eq!(
            k.iter().filter(|k| **k == "EncryptedAlert").count(),
            1,
            "{k:?}"
        );
        assert_eq!(
            k.iter().filter(|k| **k == "ApplicationData").count(),
            3,
            "{k:?}"
        );
        // Before TLS 1.3 is known, a 19-byte record is data.
        let mut w = Vec::new();
        w.extend(record(23, 0x0303, &[0xee; 19]));
        let d = decode_direction(Dir::ToClient, &w, 0, false);
        assert!(!kinds(&d).iter().any(|k| k == "EncryptedAlert"));
    }

    #[test]
    fn tls13_server_hello_makes_the_rest_not_observable() {
        let v = hex(JDK_TLS13_SH);
        // ServerHello + CCS only: the marker still comes, at the end.
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        let TlsEvent::ServerHello(sh) = &tls_events(&d)[0].2 else {
            panic!()
        };
        assert_eq!(sh.legacy_version, TlsVersion(0x0303));
        assert_eq!(sh.version.name(), "TLS 1.3");
        assert_eq!(cipher_suite_name(sh.cipher_suite), "TLS_AES_256_GCM_SHA384");
        assert!(d.selected_tls13());
        let marks: Vec<_> = d
            .events
            .iter()
            .filter(|e| matches!(&e.event, ProtoEvent::NotObservable { what } if what.contains("certificate not observable")))
            .collect();
        assert_eq!(marks.len(), 1);
        assert_eq!((marks[0].start, marks[0].end), (133, 133));
        // With the encrypted flight: marker at the first protected record,
        // which is also kept for shape analysis; handshake records after a
        // TLS 1.3 ServerHello are never parsed in the clear.
        let mut v2 = v.clone();
        v2.extend(record(23, 0x0303, &[0xaa; 50]));
        v2.extend(record(22, 0x0303, &[0x0b, 0, 0, 1, 0]));
        v2.extend(record(23, 0x0303, &[0xbb; 300]));
        let d = decode_direction(Dir::ToClient, &v2, 0, false);
        assert_eq!(
            kinds(&d),
            [
                "ServerHello",
                "ChangeCipherSpec",
                "NotObservable",
                "EncryptedHandshake",
                "EncryptedHandshake",
                "ApplicationData",
                "ApplicationDataSummary"
            ]
        );
        let m = d
            .events
            .iter()
            .find(|e| matches!(e.event, ProtoEvent::NotObservable { .. }))
            .unwrap();
        assert_eq!((m.start, m.end), (133, 188));
        assert_eq!(d.encrypted_records.len(), 3);
        assert!(!kinds(&d).contains(&"Certificate".to_string()));
    }

    #[test]
    fn tls13_client_finished_and_compat_ccs() {
        let mut v = hex(JDK_TLS13_CH);
        v.extend(record(20, 0x0303, &[1]));
        v.extend(record(23, 0x0303, &[0x11; 53]));
        v.extend(record(23, 0x0303, &[0x22; 100]));
        let d = decode_direction(Dir::ToServer, &v, 0, true);
        assert_eq!(
            kinds(&d),
            [
                "ClientHello",
                "ChangeCipherSpec",
                "EncryptedHandshake",
                "ApplicationData",
                "ApplicationDataSummary"
            ]
        );
        let TlsEvent::ClientHello(ch) = &tls_events(&d)[0].2 else {
            panic!()
        };
        assert_eq!(
            ch.supported_versions,
            [TlsVersion(0x0304), TlsVersion(0x0303)]
        );
        assert_eq!(ch.max_version().name(), "TLS 1.3");
        assert_eq!(ch.min_version().name(), "TLS 1.2");
        assert_eq!(ch.sni.as_deref(), Some("zeek.org"));
        assert_eq!(ch.alpn, ["h2", "http/1.1"]);
        // tshark: 0x0403,0x0503,0x0603,0x0807,... 18 values.
        assert_eq!(ch.signature_algorithms.len(), 18);
        assert_eq!(ch.signature_algorithms[..3], [0x0403, 0x0503, 0x0603]);
        assert_eq!(ch.cipher_suites[..3], [0x1302, 0x1301, 0x1303]);
        // Without the flag the same records read as TLS 1.2 traffic.
        let d = decode_direction(Dir::ToServer, &v, 0, false);
        assert_eq!(
            kinds(&d),
            [
                "ClientHello",
                "ChangeCipherSpec",
                "ApplicationData",
                "ApplicationData",
                "ApplicationDataSummary"
            ]
        );
    }

    /// A ServerHello with one extension: TLS 1.2, cipher 0xc030.
    fn server_hello_with(ext_type: u16, ext: &[u8]) -> Vec<u8> {
        let mut sh = vec![0x03, 0x03];
        sh.extend([7u8; 32]);
        sh.extend([0, 0xc0, 0x30, 0]);
        let mut exts = ext_type.to_be_bytes().to_vec();
        exts.extend((ext.len() as u16).to_be_bytes());
        exts.extend(ext);
        sh.extend((exts.len() as u16).to_be_bytes());
        sh.extend(exts);
        let mut msg = vec![2, 0, 0, sh.len() as u8];
        msg.extend(&sh);
        record(22, 0x0303, &msg)
    }

    #[test]
    fn server_hello_alpn_is_the_selected_protocol() {
        // RFC 7301 3.1: ProtocolNameList of exactly one name, "h2".
        let v = server_hello_with(16, &[0, 3, 2, b'h', b'2']);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        let TlsEvent::ServerHello(sh) = &tls_events(&d)[0].2 else {
            panic!("{d:?}")
        };
        assert_eq!(sh.alpn.as_deref(), Some("h2"));
        assert!(!d
            .events
            .iter()
            .any(|e| matches!(e.event, ProtoEvent::Anomaly { .. })));
        // Two names (the server must select one): no protocol, a note.
        let v = server_hello_with(16, &[0, 6, 2, b'h', b'2', 2, b'h', b'3']);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        let TlsEvent::ServerHello(sh) = &tls_events(&d)[0].2 else {
            panic!("{d:?}")
        };
        assert_eq!(sh.alpn, None);
        assert!(d.events.iter().any(|e| e.event
            == ProtoEvent::Anomaly {
                what: Anomaly::ServerHelloAlpn { len: 8 }
            }));
    }

    #[test]
    fn history_letters_follow_the_handshake_types() {
        // RFC 8446 4 / RFC 5246 7.4 types, Zeek's letters.
        let ch = TlsEvent::OtherHandshake { msg_type: 15 };
        assert_eq!(ch.history_letter(false), Some('y'));
        assert_eq!(TlsEvent::ServerHelloDone.history_letter(false), Some('n'));
        assert_eq!(TlsEvent::ChangeCipherSpec.history_letter(false), Some('i'));
        assert_eq!(
            TlsEvent::OtherHandshake { msg_type: 99 }.history_letter(false),
            Some('z')
        );
        assert_eq!(
            TlsEvent::EncryptedHandshake { len: 40 }.history_letter(false),
            None
        );
        let sh = TlsEvent::ServerHello(ServerHello {
            legacy_version: TlsVersion(0x0303),
            version: TlsVersion(0x0304),
            cipher_suite: 0x1301,
            alpn: None,
        });
        assert_eq!(sh.history_letter(false), Some('s'));
        assert_eq!(sh.history_letter(true), Some('j'));
    }

    #[test]
    fn unknown_versions_ciphers_and_alerts_survive() {
        // ServerHello: version 0x0305, random, empty session id, cipher
        // 0xabcd, compression 0, no extensions.
        let mut sh = vec![0x03, 0x05];
        sh.extend([7u8; 32]);
        sh.extend([0, 0xab, 0xcd, 0]);
        let mut msg = vec![2, 0, 0, sh.len() as u8];
        msg.extend(&sh);
        let mut v = record(22, 0x0305, &msg);
        v.extend(record(21, 0x0305, &[2, 0xfe]));
        let d = decode_direction(Dir::ToClient, &v, 1000, false);
        let ev = tls_events(&d);
        assert_eq!(
            ev[0].2,
            TlsEvent::ServerHello(ServerHello {
                legacy_version: TlsVersion(0x0305),
                version: TlsVersion(0x0305),
                cipher_suite: 0xabcd,
                alpn: None,
            })
        );
        assert_eq!(TlsVersion(0x0305).name(), "unknown (0x305)");
        assert_eq!(cipher_suite_name(0xabcd), "unknown (0xabcd)");
        assert_eq!(
            ev[1].2,
            TlsEvent::Alert {
                level: 2,
                description: 0xfe
            }
        );
        assert_eq!(
            (ev[1].0, ev[1].1),
            (1000 + v.len() as u64 - 7, 1000 + v.len() as u64)
        );
        assert_eq!(alert_name(0xfe), "unknown (254)");
        assert_eq!(alert_name(40), "handshake_failure");
        // An unknown handshake type is kept by number.
        let v = record(22, 0x0303, &[0x63, 0, 0, 2, 1, 2]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(
            tls_events(&d)[0].2,
            TlsEvent::OtherHandshake { msg_type: 0x63 }
        );
    }

    #[test]
    fn alerts_clear_and_encrypted() {
        let mut v = record(21, 0x0303, &[2, 40]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(
            tls_events(&d)[0].2,
            TlsEvent::Alert {
                level: 2,
                description: 40
            }
        );
        assert!(d.encrypted_records.is_empty());
        v = record(20, 0x0303, &[1]);
        v.extend(record(21, 0x0303, &[0x5a; 26]));
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(tls_events(&d)[1].2, TlsEvent::EncryptedAlert { len: 26 });
        assert_eq!(d.encrypted_records[0].content_type, 21);
    }

    /// The shortcut for a direction with no bytes gives what the decoder
    /// itself gives, whatever the flags, offset and hidden spans.
    #[test]
    fn an_empty_direction_decodes_as_the_decoder_reads_it() {
        let hiddens: [&[(u64, u64)]; 4] = [&[], &[(0, 5)], &[(100, 1), (200, 3)], &[(7, 0)]];
        for dir in [Dir::ToServer, Dir::ToClient] {
            for base in [0, 1, 5, 100, 4096, u64::MAX - 1] {
                for tls13 in [false, true] {
                    for mid in [false, true] {
                        for hidden in hiddens {
                            assert_eq!(
                                decode_direction_from(dir, &[], base, tls13, mid, hidden),
                                decode_records(dir, &[], base, tls13, mid, hidden),
                                "{dir:?} {base} {tls13} {mid} {hidden:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// A capture that starts after the handshake and ends with the
    /// client's encrypted close_notify (a 26-byte alert record): one
    /// encrypted alert, not 13 clear ones.
    #[test]
    fn alerts_in_a_direction_captured_mid_connection() {
        let mut v = record(23, 0x0303, &[0x3c; 36]);
        v.extend(record(23, 0x0303, &[0x11; 40]));
        // 26 bytes that would read as 13 alerts (0x44d4 ...).
        let close: Vec<u8> = (0..26u8)
            .map(|i| 0x44u8.wrapping_add(i.wrapping_mul(37)))
            .collect();
        v.extend(record(21, 0x0303, &close));
        let d = decode_direction_from(Dir::ToServer, &v, 100, false, true, &[]);
        assert_eq!(
            kinds(&d),
            [
                "HandshakeNotCaptured",
                "ApplicationData",
                "ApplicationData",
                "EncryptedAlert",
                "ApplicationDataSummary"
            ]
        );
        assert!(d.encrypted_from_start);
        assert_eq!(tls_events(&d)[0].0, 100);
        // Even a 2-byte alert record is not read when the direction may
        // be past its ChangeCipherSpec.
        let v = record(21, 0x0303, &[1, 0]);
        let d = decode_direction_from(Dir::ToClient, &v, 0, false, true, &[]);
        assert_eq!(kinds(&d), ["HandshakeNotCaptured", "EncryptedAlert"]);
        // A capture that began during the handshake: the clear
        // ServerHelloDone shows it, so a later 2-byte alert is clear.
        let mut v = record(22, 0x0303, &[14, 0, 0, 0]);
        v.extend(record(21, 0x0303, &[2, 48]));
        let d = decode_direction_from(Dir::ToClient, &v, 0, false, true, &[]);
        assert_eq!(kinds(&d), ["ServerHelloDone", "Alert"]);
        assert!(!d.encrypted_from_start);
        // The same bytes decoded from the start of the direction.
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(kinds(&d), ["ServerHelloDone", "Alert"]);
    }

    /// Only a 2-byte alert record before ChangeCipherSpec is clear: after
    /// it even 2 bytes are protected, and a longer record before it is no
    /// list of clear alerts.
    #[test]
    fn clear_alerts_are_two_bytes_before_change_cipher_spec() {
        let mut v = record(20, 0x0303, &[1]);
        v.extend(record(21, 0x0303, &[1, 0]));
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(kinds(&d), ["ChangeCipherSpec", "EncryptedAlert"]);
        let v = record(21, 0x0303, &[2, 40, 2, 10]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(kinds(&d), ["Anomaly", "EncryptedAlert"]);
    }

    /// Records cut by the snap length: framed by their headers, a clear
    /// handshake or alert body never read, framing found again after a
    /// hidden header.
    #[test]
    fn records_framed_through_a_snap_length() {
        // Segment 1: ClientHello record (50-byte body), only 12 bytes
        // captured. Segment 2 (at 55, 7 bytes captured): an
        // application-data record of 20 then one of 25 whose header falls
        // in the hidden tail. Segment 3 (at 110): an alert record of 2.
        let mut ch = vec![1, 0, 0, 46];
        ch.resize(50, 0);
        let mut v = record(22, 0x0303, &ch);
        v.extend(record(23, 0x0303, &[9; 20]));
        v.extend(record(23, 0x0303, &[9; 25]));
        assert_eq!(v.len(), 110);
        v.extend(record(21, 0x0303, &[2, 40]));
        let hidden = [(12, 43), (62, 48)];
        let d = decode_direction_from(Dir::ToServer, &v, 0, false, false, &hidden);
        assert_eq!(
            kinds(&d),
            [
                "HiddenRecord",
                // No ChangeCipherSpec before it in these bytes.
                "Anomaly",
                "ApplicationData",
                // After a hidden header: maybe past ChangeCipherSpec.
                "EncryptedAlert",
                "ApplicationDataSummary"
            ]
        );
        assert_eq!(
            tls_events(&d)[0].2,
            TlsEvent::HiddenRecord {
                content_type: 22,
                len: 50,
                msg_type: Some(1)
            }
        );
        assert_eq!(
            d.records,
            Some(TlsEvent::Records {
                records: 3,
                bytes: 72,
                body_cut: 2,
                headers_hidden: 1
            })
        );
        // A 2-byte alert whose body was cut is not read either.
        let v = record(21, 0x0303, &[2, 40]);
        let d = decode_direction_from(Dir::ToClient, &v, 0, false, false, &[(5, 2)]);
        assert_eq!(kinds(&d), ["HiddenRecord"]);
    }

    #[test]
    fn sslv2_compatible_client_hello() {
        // RFC 5246 E.2: msg_length (high bit set, filled below), CLIENT-HELLO, version 3.1,
        // 3 cipher specs (9 bytes), no session id, 16-byte challenge.
        let mut v = vec![
            0x80, 0x00, 0x01, 0x03, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x10,
        ];
        v.extend([0x00, 0x00, 0x2f, 0x07, 0x00, 0xc0, 0x00, 0x00, 0x0a]);
        v.extend([0x42; 16]);
        v[1] = (v.len() - 2) as u8;
        v.extend(record(21, 0x0301, &[1, 0]));
        let d = decode_direction(Dir::ToServer, &v, 0, false);
        let ev = tls_events(&d);
        let TlsEvent::ClientHello(ch) = &ev[0].2 else {
            panic!("{ev:?}")
        };
        assert!(ch.sslv2);
        assert_eq!(ch.record_version.name(), "SSL 2.0");
        assert_eq!(ch.legacy_version.name(), "TLS 1.0");
        // The SSL 2.0-only spec 0x0700c0 has no TLS number.
        assert_eq!(ch.cipher_suites, [0x002f, 0x000a]);
        assert_eq!(
            ev[1].2,
            TlsEvent::Alert {
                level: 1,
                description: 0
            }
        );
        for cut in 1..v.len() - 7 {
            let d = decode_direction(Dir::ToServer, &v[..cut], 0, false);
            assert!(tls_events(&d).is_empty(), "cut {cut}");
            assert!(
                matches!(
                    &d.events[0].event,
                    ProtoEvent::Stopped {
                        why: super::super::StopReason::Sslv2Cut
                            | super::super::StopReason::Sslv2Malformed(_)
                    }
                ),
                "cut {cut}"
            );
            assert_eq!(d.stopped_at, 0);
        }
        // Lengths that do not add up: stopped, not a panic.
        let mut bad = v[..v.len() - 7].to_vec();
        bad[6] = 0x0a;
        let d = decode_direction(Dir::ToServer, &bad, 0, false);
        assert!(matches!(d.events[0].event, ProtoEvent::Stopped { .. }));
    }

    #[test]
    fn garbage_stops_without_panic() {
        for g in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            &[0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0][..],
            &[0x16, 0x02, 0x00, 0x00, 0x01, 0x00][..],
            &[0x17, 0x03, 0x03, 0xff, 0xff][..],
        ] {
            let d = decode_direction(Dir::ToClient, g, 10, false);
            assert!(
                matches!(
                    d.events.last().map(|e| &e.event),
                    Some(ProtoEvent::Stopped { .. })
                ),
                "{g:?}"
            );
            assert_eq!(d.stopped_at, 10);
        }
        // A handshake record whose message is malformed inside a complete
        // record: an anomaly, decoding goes on.
        let mut v = record(22, 0x0303, &[1, 0, 0, 3, 3, 3, 0]);
        v.extend(record(22, 0x0303, &[14, 0, 0, 0]));
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert!(matches!(d.events[0].event, ProtoEvent::Anomaly { .. }));
        assert_eq!(tls_events(&d)[0].2, TlsEvent::ServerHelloDone);
        // A message claiming more than the buffer bound.
        let v = record(22, 0x0303, &[11, 0x7f, 0xff, 0xff, 0]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert!(matches!(d.events[0].event, ProtoEvent::Anomaly { .. }));
    }

    #[test]
    fn application_data_events_are_bounded() {
        let mut v = record(20, 0x0303, &[1]);
        for i in 0..200u32 {
            v.extend(record(23, 0x0303, &vec![0; 30 + (i as usize % 5)]));
        }
        let d = decode_direction(Dir::ToServer, &v, 0, false);
        let n = d
            .events
            .iter()
            .filter(|e| matches!(e.event, ProtoEvent::Tls(TlsEvent::ApplicationData { .. })))
            .count();
        assert_eq!(n, MAX_APPDATA_EVENTS);
        let bytes: u64 = (0..200u64).map(|i| 30 + i % 5).sum();
        assert_eq!(
            d.events.last().map(|e| &e.event),
            Some(&ProtoEvent::Tls(TlsEvent::ApplicationDataSummary {
                records: 200,
                bytes
            }))
        );
        assert_eq!(d.encrypted_records.len(), MAX_RECORD_REFS);
        assert_eq!(d.stopped_at, v.len() as u64);
    }

    #[test]
    fn plaintext_sizes_per_cipher() {
        let v10 = TlsVersion(0x0301);
        let v12 = TlsVersion(0x0303);
        // AES128-SHA, TLS 1.0: no explicit IV, 20-byte MAC, 16-byte blocks.
        assert_eq!(plaintext_range(v10, 0x002f, 32), Some((0, 11)));
        assert_eq!(plaintext_range(v10, 0x002f, 80), Some((44, 59)));
        assert_eq!(plaintext_range(v10, 0x002f, 81), None);
        // TLS 1.2 adds a 16-byte IV.
        assert_eq!(plaintext_range(v12, 0x002f, 48), Some((0, 11)));
        // AES128-SHA256: 32-byte MAC.
        assert_eq!(plaintext_range(v12, 0x003c, 64), Some((0, 15)));
        // ECDHE-RSA-AES256-GCM-SHA384: 8 + 16.
        assert_eq!(plaintext_range(v12, 0xc030, 28), Some((4, 4)));
        // RC4-SHA: MAC only.
        assert_eq!(
            plaintext_range(TlsVersion(0x0300), 0x0005, 24),
            Some((4, 4))
        );
        // ChaCha20-Poly1305: tag only.
        assert_eq!(plaintext_range(v12, 0xcca8, 20), Some((4, 4)));
        // TLS 1.3: tag + inner content type.
        assert_eq!(
            plaintext_range(TlsVersion(0x0304), 0x1301, 21),
            Some((4, 4))
        );
        assert_eq!(plaintext_range(v12, 0xabcd, 100), None);
        assert_eq!(plaintext_range(v12, 0xc030, 10), None);
    }

    #[test]
    fn record_boundary_found_in_a_stream_captured_mid_way() {
        let v = hex(RDP_TO_SSL_CLIENT);
        // The ClientKeyExchange record starts at 121; cut in the middle of
        // the ClientHello.
        let mid = &v[40..];
        assert_eq!(find_record_boundary(mid, 4096), Some(121 - 40));
        assert_eq!(find_record_boundary(&v, 4096), Some(0));
        assert_eq!(find_record_boundary(mid, 10), None);
        assert_eq!(find_record_boundary(b"plain text, no TLS here", 100), None);
        assert_eq!(find_record_boundary(&[], 100), None);
        let d = decode_direction(Dir::ToServer, &mid[81..], 121, false);
        assert_eq!(
            kinds(&d),
            [
                "ClientKeyExchange",
                "ChangeCipherSpec",
                "EncryptedHandshake"
            ]
        );
    }

    #[test]
    fn alerts_after_a_tls13_server_hello_are_clear() {
        let mut v = hex(JDK_TLS13_SH);
        v.extend(record(21, 0x0303, &[2, 70]));
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert!(tls_events(&d).iter().any(|e| e.2
            == TlsEvent::Alert {
                level: 2,
                description: 70
            }));
    }

    #[test]
    fn hello_from_the_wrong_side_is_an_anomaly() {
        let v = hex(RDP_TO_SSL_CLIENT);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert!(matches!(
            &d.events[1].event,
            ProtoEvent::Anomaly {
                what: Anomaly::WrongSender {
                    msg_type: 1,
                    dir: Dir::ToClient
                }
            }
        ));
        assert_eq!(kinds(&d)[0], "ClientHello");
    }

    #[test]
    fn certificate_message_oddities() {
        // An empty chain from the server, then a chain with one entry that
        // is not a certificate, then trailing bytes after the list.
        let v = record(22, 0x0303, &[11, 0, 0, 3, 0, 0, 0]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(tls_events(&d)[0].2, TlsEvent::Certificate(vec![]));
        assert!(matches!(
            &d.events[1].event,
            ProtoEvent::Anomaly {
                what: Anomaly::EmptyServerCertificate
            }
        ));
        let v = record(22, 0x0303, &[11, 0, 0, 9, 0, 0, 6, 0, 0, 3, 1, 2, 3]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(tls_events(&d)[0].2, TlsEvent::Certificate(vec![]));
        assert!(matches!(
            &d.events[1].event,
            ProtoEvent::Anomaly {
                what: Anomaly::ChainCertificate { index: 0, .. }
            }
        ));
        let v = record(22, 0x0303, &[11, 0, 0, 5, 0, 0, 0, 0xee, 0xee]);
        let d = decode_direction(Dir::ToServer, &v, 0, false);
        assert_eq!(kinds(&d), ["Certificate", "Anomaly"]);
        assert!(matches!(
            &d.events[1].event,
            ProtoEvent::Anomaly {
                what: Anomaly::BytesAfter {
                    len: 2,
                    after: Trailer::CertificateChain
                }
            }
        ));
        // A list length larger than the message: malformed, not a panic.
        let v = record(22, 0x0303, &[11, 0, 0, 3, 0, 0, 9]);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(kinds(&d), ["Anomaly"]);
    }

    #[test]
    fn ecdhe_server_flight_with_server_key_exchange() {
        let v = hex(EUDP_SERVER);
        let d = decode_direction(Dir::ToClient, &v, 19, false);
        assert_eq!(
            kinds(&d),
            [
                "ServerHello",
                "Certificate",
                "ServerKeyExchange",
                "ServerHelloDone",
                "ChangeCipherSpec",
                "EncryptedHandshake"
            ]
        );
        // tshark: version 0x0303, cipher 0xc030, extensions 23 and 65281.
        let sh = d.server_hello().unwrap();
        assert_eq!((sh.version, sh.cipher_suite), (TlsVersion(0x0303), 0xc030));
        assert_eq!(
            cipher_suite_name(0xc030),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
        let ev = tls_events(&d);
        let TlsEvent::Certificate(chain) = &ev[1].2 else {
            panic!()
        };
        assert_eq!(chain[0].sha1, "0DCD3E9ED54CDD400E26F2F51A49000A09A343EB");
        assert_eq!((ev[5].0, ev[5].1), (19 + 1152 + 6, 19 + 1203));
    }

    #[test]
    fn certificate_request_and_unknown_record_version_minor() {
        // CertificateRequest (RFC 5246 7.4.4): types [rsa_sign],
        // sig algs [0x0401], no CAs.
        let cr = [13, 0, 0, 8, 1, 1, 0, 2, 4, 1, 0, 0];
        let v = record(22, 0x03ff, &cr);
        let d = decode_direction(Dir::ToClient, &v, 0, false);
        assert_eq!(kinds(&d), ["CertificateRequest"]);
    }

    /// Every truncation of a ServerHello body inside a complete record:
    /// the fixed fields missing give an anomaly, the extensions cut give
    /// an anomaly too; never a panic.
    #[test]
    fn every_truncation_of_hello_bodies() {
        let v = hex(EUDP_SERVER);
        let sh_len = u32::from_be_bytes([0, v[6], v[7], v[8]]) as usize;
        let body = &v[9..9 + sh_len];
        for cut in 0..=body.len() {
            let mut msg = vec![2, 0, (cut >> 8) as u8, cut as u8];
            msg.extend_from_slice(&body[..cut]);
            let d = decode_direction(Dir::ToClient, &record(22, 0x0303, &msg), 0, false);
            let ok = kinds(&d).first().map(String::as_str) == Some("ServerHello");
            // Whole extensions only: no note. A cut inside them: a note.
            let exts_whole = cut == 70 || cut == body.len();
            assert_eq!(
                kinds(&d).len(),
                if cut < 70 || exts_whole { 1 } else { 2 },
                "cut {cut}"
            );
            // 2 + 32 + 1 + 32 (session id) + 2 + 1 = 70 bytes of fixed fields.
            if cut < 70 {
                assert_eq!(kinds(&d), ["Anomaly"], "cut {cut}");
            } else {
                assert!(ok, "cut {cut}");
            }
        }
        let v = hex(JDK_TLS13_CH);
        let ch_len = u32::from_be_bytes([0, v[6], v[7], v[8]]) as usize;
        let body = &v[9..9 + ch_len];
        for cut in 0..body.len() {
            let mut msg = vec![1, 0, (cut >> 8) as u8, cut as u8];
            msg.extend_from_slice(&body[..cut]);
            let d = decode_direction(Dir::ToServer, &record(22, 0x0303, &msg), 0, false);
            assert!(!d.events.is_empty(), "cut {cut}");
            assert_eq!(d.stopped_at, 5 + 4 + cut as u64);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), tls13: bool, to_server: bool) {
            let dir = if to_server { Dir::ToServer } else { Dir::ToClient };
            let d = decode_direction(dir, &data, 5, tls13);
            proptest::prop_assert!(d.stopped_at >= 5 && d.stopped_at <= 5 + data.len() as u64);
            proptest::prop_assert!(d.encrypted_records.len() <= MAX_RECORD_REFS);
        }

        #[test]
        fn tls_shaped_bytes_never_panic(recs in proptest::collection::vec((20u8..25, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)), 0..12)) {
            let mut v = Vec::new();
            for (ct, body) in &recs {
                v.extend(record(*ct, 0x0303, body));
            }
            let d = decode_direction(Dir::ToClient, &v, 0, false);
            proptest::prop_assert_eq!(d.stopped_at, v.len() as u64);
        }
    }
}
