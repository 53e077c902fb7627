//! TLS record layer and handshake (RFC 5246, RFC 8446) as seen without
//! keys, on top of tls-parser. Records are framed across segment
//! boundaries and handshake messages defragmented across records.

use super::cert::CertInfo;
use super::Decoded;
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
    ClientHello(ClientHello),
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
    /// An alert record after ChangeCipherSpec: only its length is visible.
    EncryptedAlert {
        len: u32,
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
fn is_tls13(v: TlsVersion) -> bool {
    v.0 == 0x0304 || (v.0 & 0xff00) == 0x7f00
}

/// A view of one TLS record header (RFC 5246 6.2.1). `parse` checks the
/// length before any access.
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
    /// after a TLS 1.3 ServerHello in the server direction).
    encrypted: bool,
    /// A TLS 1.3 ServerHello was seen here and NotObservable is still due.
    tls13_flight_pending: bool,
    /// The client's TLS 1.3 Finished (its first encrypted record) is due.
    tls13_client_finished_pending: bool,
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
                let what = format!("more than {MAX_EVENTS} TLS events: further ones not listed");
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

    fn anomaly(&mut self, start: u64, end: u64, what: String) {
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

    fn on_record(&mut self, hdr: &RecordHeader, body: &[u8], start: u64, end: u64) {
        use content_type::*;
        if hdr.content_type != CHANGE_CIPHER_SPEC {
            self.flush_tls13_marker(start, end);
        }
        match hdr.content_type {
            CHANGE_CIPHER_SPEC => {
                // RFC 5246 7.1: a single byte of value 1.
                if body != [1] {
                    self.anomaly(
                        start,
                        end,
                        format!("ChangeCipherSpec record of {} bytes is not [1]", body.len()),
                    );
                }
                if !self.hs_buf.is_empty() {
                    self.anomaly(
                        start,
                        end,
                        format!(
                            "{} bytes of an unfinished handshake message before ChangeCipherSpec",
                            self.hs_buf.len()
                        ),
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
                if self.encrypted || body.len() % 2 != 0 || body.is_empty() {
                    if !self.encrypted {
                        self.anomaly(
                            start,
                            end,
                            format!(
                                "alert record of {} bytes before ChangeCipherSpec",
                                body.len()
                            ),
                        );
                    }
                    self.record_ref(start, end, hdr);
                    self.tls(
                        start,
                        end,
                        TlsEvent::EncryptedAlert {
                            len: hdr.len as u32,
                        },
                    );
                } else {
                    // RFC 5246 7.2: level(1) description(1), possibly
                    // several in one record.
                    for pair in body.chunks_exact(2) {
                        if let [level, description] = *pair {
                            self.tls(start, end, TlsEvent::Alert { level, description });
                        }
                    }
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
                } else {
                    self.on_handshake_bytes(hdr, body, start, end);
                }
            }
            APPLICATION_DATA => {
                self.record_ref(start, end, hdr);
                if self.tls13_client_finished_pending {
                    // RFC 8446 4.4.4: the client's first protected record
                    // carries its Finished.
                    self.tls13_client_finished_pending = false;
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
                    self.anomaly(
                        start,
                        end,
                        "application data before ChangeCipherSpec".into(),
                    );
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
                self.anomaly(
                    start,
                    end,
                    format!("TLS heartbeat record ({} bytes)", hdr.len),
                );
            }
        }
    }

    fn on_handshake_bytes(&mut self, hdr: &RecordHeader, body: &[u8], start: u64, end: u64) {
        if self.hs_broken {
            return;
        }
        if body.is_empty() {
            // RFC 5246 6.2.1: zero-length handshake fragments are not sent.
            self.anomaly(start, end, "empty handshake record".into());
            return;
        }
        if self.hs_buf.len() + body.len() > MAX_HANDSHAKE_BUFFER {
            self.hs_broken = true;
            self.anomaly(
                start,
                end,
                format!(
                    "handshake message larger than {MAX_HANDSHAKE_BUFFER} bytes: handshake decoding stops"
                ),
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
            let (Some(&msg_type), Some(l)) = (rest.first(), rest.get(1..4)) else {
                break;
            };
            let mlen = (usize::from(l[0]) << 16) | (usize::from(l[1]) << 8) | usize::from(l[2]);
            if mlen + 4 > MAX_HANDSHAKE_BUFFER {
                let (s, _) = self.origin(consumed);
                self.hs_broken = true;
                self.anomaly(
                    s,
                    record_end,
                    format!(
                        "handshake message type {msg_type} claims {mlen} bytes: handshake decoding stops"
                    ),
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
                    self.tls(start, end, TlsEvent::ClientHello(ch));
                    for n in notes {
                        self.anomaly(start, end, n);
                    }
                }
                Err(e) => self.anomaly(start, end, format!("malformed ClientHello: {e}")),
            },
            2 => match parse_server_hello(body) {
                Ok((sh, hrr, notes)) => {
                    let v13 = is_tls13(sh.version);
                    self.tls(start, end, TlsEvent::ServerHello(sh));
                    for n in notes {
                        self.anomaly(start, end, n);
                    }
                    if hrr {
                        self.anomaly(
                            start,
                            end,
                            "ServerHello is a TLS 1.3 HelloRetryRequest (a second ClientHello must follow)".into(),
                        );
                    } else if v13 {
                        self.tls13 = true;
                        self.encrypted = true;
                        self.tls13_flight_pending = true;
                    }
                }
                Err(e) => self.anomaly(start, end, format!("malformed ServerHello: {e}")),
            },
            11 => self.on_certificate(msg, start, end),
            12 => self.tls(start, end, TlsEvent::ServerKeyExchange),
            13 => self.tls(start, end, TlsEvent::CertificateRequest),
            14 => {
                if !body.is_empty() {
                    self.anomaly(
                        start,
                        end,
                        format!("ServerHelloDone with {} body bytes", body.len()),
                    );
                }
                self.tls(start, end, TlsEvent::ServerHelloDone);
            }
            16 => self.tls(start, end, TlsEvent::ClientKeyExchange),
            t => self.tls(start, end, TlsEvent::OtherHandshake { msg_type: t }),
        }
    }

    fn on_certificate(&mut self, msg: &[u8], start: u64, end: u64) {
        use tls_parser::{parse_tls_message_handshake, TlsMessage, TlsMessageHandshake};
        // `msg` is exactly one complete message: any parse error (even
        // "incomplete") means the message itself is malformed.
        match parse_tls_message_handshake(msg) {
            Ok((rest, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) => {
                let mut infos = Vec::with_capacity(c.cert_chain.len());
                let mut notes = Vec::new();
                for (i, raw) in c.cert_chain.iter().enumerate() {
                    match super::cert::summarize(raw.data) {
                        Ok(ci) => infos.push(ci),
                        Err(e) => notes.push(format!("certificate #{i} of the chain: {e}")),
                    }
                }
                if !rest.is_empty() {
                    notes.push(format!(
                        "{} bytes after the Certificate message's chain",
                        rest.len()
                    ));
                }
                self.tls(start, end, TlsEvent::Certificate(infos));
                for n in notes {
                    self.anomaly(start, end, n);
                }
            }
            _ => self.anomaly(start, end, "malformed Certificate message".into()),
        }
    }

    /// SSLv2-compatible CLIENT-HELLO (RFC 5246 E.2, RFC 6101 E.1): a
    /// 2-byte header with the high bit set, msg_type 1, version,
    /// cipher_spec_length, session_id_length, challenge_length, then the
    /// 3-byte cipher specs, session id and challenge.
    fn try_sslv2_hello(&mut self, data: &[u8], base: u64) -> Sslv2 {
        let (Some(&h0), Some(&h1), Some(&mt)) = (data.first(), data.get(1), data.get(2)) else {
            return Sslv2::NeedMore;
        };
        if h0 & 0x80 == 0 || mt != 1 {
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
        self.tls(base, end, TlsEvent::ClientHello(ch));
        Sslv2::Done(2 + len)
    }
}

enum Sslv2 {
    No,
    NeedMore,
    Malformed(String),
    Done(usize),
}

/// ClientHello body (RFC 5246 7.4.1.2, RFC 8446 4.1.2) through tls-parser;
/// extensions: server_name (RFC 6066 3), signature_algorithms (RFC 5246
/// 7.4.1.4.1), ALPN (RFC 7301), supported_versions (RFC 8446 4.2.1).
fn parse_client_hello(
    body: &[u8],
    record_version: TlsVersion,
) -> Result<(ClientHello, Vec<String>), String> {
    use tls_parser::{
        parse_tls_extensions, parse_tls_handshake_client_hello, SNIType, TlsExtension,
    };
    let (rest, ch) = parse_tls_handshake_client_hello(body).map_err(|e| nom_why(&e))?;
    let mut notes = Vec::new();
    if !rest.is_empty() {
        notes.push(format!(
            "{} bytes after the ClientHello extensions",
            rest.len()
        ));
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
                    notes.push(format!(
                        "ClientHello extensions: {} bytes not parseable",
                        left.len()
                    ));
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
            Err(e) => notes.push(format!("ClientHello extensions: {}", nom_why(&e))),
        }
    }
    Ok((out, notes))
}

/// ServerHello body by hand (RFC 5246 7.4.1.3, RFC 8446 4.1.3), so that
/// unknown legacy versions survive: version(2) random(32) session_id<0..32>
/// cipher_suite(2) compression(1) [extensions<0..2^16-1>].
/// Returns the hello, whether it is a HelloRetryRequest, and notes.
fn parse_server_hello(body: &[u8]) -> Result<(ServerHello, bool, Vec<String>), String> {
    let short = || format!("ServerHello of {} bytes is too short", body.len());
    let legacy = u16::from_be_bytes([
        *body.first().ok_or_else(short)?,
        *body.get(1).ok_or_else(short)?,
    ]);
    let random = body.get(2..34).ok_or_else(short)?;
    let sid_len = usize::from(*body.get(34).ok_or_else(short)?);
    if sid_len > 32 {
        return Err(format!("session id length {sid_len} > 32"));
    }
    let p = 35 + sid_len;
    let cipher = u16::from_be_bytes([
        *body.get(p).ok_or_else(short)?,
        *body.get(p + 1).ok_or_else(short)?,
    ]);
    let _compression = *body.get(p + 2).ok_or_else(short)?;
    let mut notes = Vec::new();
    let mut version = TlsVersion(legacy);
    let ext_at = p + 3;
    if body.len() > ext_at {
        let (Some(&e0), Some(&e1)) = (body.get(ext_at), body.get(ext_at + 1)) else {
            return Err("ServerHello extensions length cut".into());
        };
        let elen = usize::from(u16::from_be_bytes([e0, e1]));
        let exts = body
            .get(ext_at + 2..ext_at + 2 + elen)
            .ok_or_else(|| format!("ServerHello extensions claim {elen} bytes"))?;
        if body.len() > ext_at + 2 + elen {
            notes.push(format!(
                "{} bytes after the ServerHello extensions",
                body.len() - ext_at - 2 - elen
            ));
        }
        // Walk type(2) length(2) data.
        let mut q = 0usize;
        while q < exts.len() {
            let (Some(t), Some(l)) = (exts.get(q..q + 2), exts.get(q + 2..q + 4)) else {
                notes.push("ServerHello extension header cut".into());
                break;
            };
            let ty = u16::from_be_bytes([t[0], t[1]]);
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            let Some(data) = exts.get(q + 4..q + 4 + len) else {
                notes.push(format!("ServerHello extension {ty} claims {len} bytes"));
                break;
            };
            if ty == 43 {
                // supported_versions in a ServerHello: selected_version (2).
                match *data {
                    [a, b] => version = TlsVersion(u16::from_be_bytes([a, b])),
                    _ => notes.push(format!(
                        "ServerHello supported_versions of {} bytes",
                        data.len()
                    )),
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

/// Decode the TLS records of one direction, starting at stream offset
/// `base` (where `data[0]` sits). `tls13` says the ServerHello selected TLS
/// 1.3 (everything after it is encrypted). Never panics.
///
/// In the server direction the ServerHello itself switches to TLS 1.3
/// mode; in the client direction `tls13` makes the first protected record
/// the client's Finished ([`TlsEvent::EncryptedHandshake`]) and keeps the
/// compatibility ChangeCipherSpec from hiding a second ClientHello.
pub fn decode_direction(dir: Dir, data: &[u8], base: u64, tls13: bool) -> TlsDirection {
    let mut d = DirDecoder {
        dir,
        out: TlsDirection::default(),
        tls13,
        encrypted: false,
        tls13_flight_pending: false,
        tls13_client_finished_pending: tls13 && dir == Dir::ToServer,
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
                    super::ProtoEvent::Stopped { why },
                );
                stopped = true;
            }
            Sslv2::No | Sslv2::NeedMore => {}
        }
    }

    while !stopped {
        let rest = data.get(pos..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
        let start = base + pos as u64;
        match frame_record(rest) {
            Framing::Record(hdr) => {
                let body = rest
                    .get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + hdr.len)
                    .unwrap_or(&[]);
                let end = start + (RECORD_HEADER_LEN + hdr.len) as u64;
                d.on_record(&hdr, body, start, end);
                pos += RECORD_HEADER_LEN + hdr.len;
            }
            Framing::NeedMore { have, need } => {
                let why = format!("data ends inside a TLS record ({have} of {need} bytes)");
                d.push(
                    start,
                    base + data.len() as u64,
                    super::ProtoEvent::Stopped { why },
                );
                stopped = true;
            }
            Framing::Garbage(why) => {
                d.push(
                    start,
                    base + data.len() as u64,
                    super::ProtoEvent::Stopped { why },
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
        let (t, need) = match (d.hs_buf.first(), d.hs_buf.get(1..4)) {
            (Some(&t), Some(l)) => (
                t,
                4 + ((usize::from(l[0]) << 16) | (usize::from(l[1]) << 8) | usize::from(l[2])),
            ),
            (Some(&t), None) => (t, 4),
            _ => (0, 4),
        };
        d.push(
            s,
            end_of_decoded,
            super::ProtoEvent::Stopped {
                why: format!(
                    "data ends inside handshake message type {t} ({have} of {need} bytes)"
                ),
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
