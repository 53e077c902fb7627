//! TLS decryption: the ciphertext streams of one connection -> plaintext
//! streams for the decoders, with a map back to the records that carried
//! each plaintext byte.
//!
//! Bytes -> bytes between the flow stage and the decoders: the handshake
//! is read again here (client and server randoms, the suite, the
//! encrypt-then-MAC and extended-master-secret extensions, the server's
//! certificate key, the RSA ClientKeyExchange), the secrets are looked up
//! in [`Keys`], and every protected record is opened in order with its MAC
//! or tag checked. A record that does not verify becomes an
//! `Anomaly::RecordNotAuthentic` event and a hole in the plaintext; it is
//! never decoded. Called only when keys were given: without keys nothing
//! here runs.

pub mod keys;
pub mod record;
pub mod schedule;

use self::keys::{Keys, Label, Origin};
use self::record::{split_inner, RecordState};
use self::schedule::{key_block, tls13_keys, tls13_next_secret, KeyExchange, Prf, Suite};
use super::tls::TlsEvent;
use super::{Anomaly, Decoded, ProtoEvent, StreamInput};
use crate::common::{Dir, KeepLimit};
use zeroize::Zeroizing;

/// Which secret decrypted a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretUsed {
    /// Key log lines for the connection's client random.
    KeyLog { label: Label, origin: Origin },
    /// The server's RSA private key, matched by the certificate's modulus.
    RsaKey { origin: Origin },
}

impl std::fmt::Display for SecretUsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretUsed::KeyLog { label, origin } => {
                write!(
                    f,
                    "the {label} key log line of its client random ({origin})"
                )
            }
            SecretUsed::RsaKey { origin } => {
                write!(
                    f,
                    "the server's RSA private key ({origin}), matching its certificate"
                )
            }
        }
    }
}

/// Per connection: what decrypted it, or why nothing did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecryptStatus {
    Decrypted {
        with: SecretUsed,
    },
    /// The connection carries no TLS (Standard RDP Security, a refused
    /// negotiation, no payload).
    NoTls,
    /// The capture does not hold the ClientHello and ServerHello the keys
    /// are derived from (it started later, or they were lost).
    NoHandshake,
    /// No key log line for this client random, and no RSA key applies.
    NoKeyForClientRandom,
    /// A TLS 1.3 connection whose key log lacks this secret.
    MissingTls13Secret {
        label: Label,
    },
    /// A protocol version this decryptor does not implement: SSL 3.0
    /// (its MAC and key derivation are not TLS's HMAC and PRF, RFC 6101
    /// 5.2.3.1 and 6.2.2; RFC 7568 forbids it) or a version no RFC
    /// defines.
    UnsupportedVersion {
        version: u16,
    },
    /// A suite this decryptor does not implement.
    UnsupportedSuite {
        suite: u16,
    },
    /// An RSA-key-exchange suite, and no RSA key given matches the server
    /// certificate's public key.
    RsaKeyDoesNotMatchCertificate,
    /// An RSA key was given but the suite's key exchange is ephemeral
    /// ((EC)DHE or TLS 1.3): only a key log decrypts it.
    EphemeralKeyExchange {
        suite: u16,
    },
    /// An abbreviated handshake resuming an earlier session: its master
    /// secret is that of the session resumed, which the RSA key cannot
    /// give (a key log line for this client random would).
    ResumedSession,
    /// The RSA key matched the certificate but the ClientKeyExchange did
    /// not decrypt to a pre-master secret.
    PremasterNotDecrypted,
}

impl std::fmt::Display for DecryptStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use DecryptStatus as S;
        match self {
            S::Decrypted { with } => write!(f, "decrypted with {with}"),
            S::NoTls => f.write_str("not decrypted: the connection carries no TLS"),
            S::NoHandshake => f.write_str(
                "not decrypted: the capture does not hold the TLS ClientHello and ServerHello",
            ),
            S::NoKeyForClientRandom => {
                f.write_str("not decrypted: no key log line for its client random")
            }
            S::MissingTls13Secret { label } => {
                write!(f, "not decrypted: the key log lacks its {label}")
            }
            S::UnsupportedVersion { version } => write!(
                f,
                "not decrypted: {} is not supported",
                super::tls::TlsVersion(*version).name()
            ),
            S::UnsupportedSuite { suite } => write!(
                f,
                "not decrypted: cipher suite {} is not supported",
                super::tls::cipher_suite_name(*suite)
            ),
            S::RsaKeyDoesNotMatchCertificate => f.write_str(
                "not decrypted: no RSA key given matches the server certificate's public key",
            ),
            S::EphemeralKeyExchange { suite } => write!(
                f,
                "not decrypted: {} uses an ephemeral key exchange; an RSA key cannot decrypt it, a key log can",
                super::tls::cipher_suite_name(*suite)
            ),
            S::ResumedSession => f.write_str(
                "not decrypted: a resumed TLS session (its master secret is the earlier session's)",
            ),
            S::PremasterNotDecrypted => f.write_str(
                "not decrypted: the ClientKeyExchange did not decrypt with the matching RSA key",
            ),
        }
    }
}

impl DecryptStatus {
    /// A stable identifier for the JSON report.
    pub fn id(&self) -> &'static str {
        use DecryptStatus as S;
        match self {
            S::Decrypted {
                with: SecretUsed::KeyLog { .. },
            } => "decrypted_key_log",
            S::Decrypted {
                with: SecretUsed::RsaKey { .. },
            } => "decrypted_rsa_key",
            S::NoTls => "no_tls",
            S::NoHandshake => "no_handshake",
            S::NoKeyForClientRandom => "no_key_for_client_random",
            S::MissingTls13Secret { .. } => "missing_tls13_secret",
            S::UnsupportedVersion { .. } => "unsupported_version",
            S::UnsupportedSuite { .. } => "unsupported_suite",
            S::RsaKeyDoesNotMatchCertificate => "rsa_key_does_not_match_certificate",
            S::EphemeralKeyExchange { .. } => "ephemeral_key_exchange",
            S::ResumedSession => "resumed_session",
            S::PremasterNotDecrypted => "premaster_not_decrypted",
        }
    }
}

/// Records opened in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Protected records that verified.
    pub decrypted: u64,
    /// Protected records that did not (each an anomaly event).
    pub failed: u64,
    /// Application-data plaintext bytes.
    pub plaintext_bytes: u64,
}

/// What decryption says about one connection (the report shows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptSummary {
    pub status: DecryptStatus,
    /// The negotiated version and suite, when the hellos were seen.
    pub version: Option<u16>,
    pub suite: Option<u16>,
    /// `[to server, to client]`.
    pub records: [RecordCounts; 2],
}

/// A plaintext byte range and the ciphertext record that carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub plain_start: u64,
    pub plain_end: u64,
    /// Stream offsets of the record (header included) in the ciphertext.
    pub cipher_start: u64,
    pub cipher_end: u64,
}

/// One direction's application-data plaintext.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plaintext {
    /// Plaintext from its first byte; holes zero-filled.
    pub data: Vec<u8>,
    /// Where records could not be opened (or the ciphertext had a hole):
    /// (offset, len), sorted. A final hole at `data.len()` says the
    /// plaintext stops there because bytes are missing.
    pub holes: Vec<(u64, u64)>,
    /// The bound that stopped the ciphertext being kept, if any.
    pub limit: Option<KeepLimit>,
    /// Record spans in plaintext order.
    pub spans: Vec<Span>,
}

impl Plaintext {
    /// The plaintext as a decoder's input.
    pub fn input(&self) -> StreamInput<'_> {
        StreamInput {
            data: &self.data,
            holes: &self.holes,
            limit: self.limit,
            from_start: true,
            hidden: &[],
        }
    }

    /// The ciphertext stream offsets of plaintext `start..end`: from the
    /// first byte of the record holding `start` to the last byte of the
    /// record holding `end - 1`, so an event falls in the frame that
    /// completed its last record.
    pub fn to_cipher(&self, start: u64, end: u64) -> Option<(u64, u64)> {
        let find = |at: u64| {
            let i = self.spans.partition_point(|s| s.plain_end <= at);
            self.spans.get(i).filter(|s| s.plain_start <= at)
        };
        let last = end.saturating_sub(1).max(start);
        let a = find(start).or_else(|| self.spans.iter().rev().find(|s| s.plain_end <= start))?;
        let b = find(last).unwrap_or(a);
        Some((a.cipher_start, b.cipher_end.max(a.cipher_end)))
    }
}

/// Decryption of one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Decryption {
    pub summary: DecryptSummary,
    /// `[to server, to client]`, when decrypted.
    pub plain: Option<[Plaintext; 2]>,
    /// Records that did not verify, and the alerts of those that did,
    /// placed at their ciphertext.
    pub events: Vec<Decoded>,
}

/// Decode both plaintext directions with `decoder` and place its events at
/// the ciphertext records that carried them.
pub fn decode_plaintext<F>(d: &Decryption, decoder: F) -> Vec<Decoded>
where
    F: FnOnce(StreamInput<'_>, StreamInput<'_>) -> Vec<Decoded>,
{
    let Some(plain) = &d.plain else {
        return Vec::new();
    };
    let mut out = decoder(plain[0].input(), plain[1].input());
    out.retain_mut(|e| {
        let p = &plain[dir_index(e.dir)];
        match p.to_cipher(e.start, e.end) {
            Some((s, t)) => {
                e.start = s;
                e.end = t;
                true
            }
            None => false,
        }
    });
    out
}

fn dir_index(d: Dir) -> usize {
    match d {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

/// One framed TLS record of a direction.
#[derive(Clone, Copy, Debug)]
struct Rec {
    start: usize,
    header: [u8; 5],
}

impl Rec {
    fn ty(&self) -> u8 {
        self.header[0]
    }
    fn len(&self) -> usize {
        u16::from_be_bytes([self.header[3], self.header[4]]) as usize
    }
    fn end(&self) -> usize {
        self.start + 5 + self.len()
    }
    fn body<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.start + 5..self.end()]
    }
}

/// Where TLS begins in a stream captured from its start: at 0 for direct
/// TLS, else after the X.224 TPDU (TPKT) that opens it.
fn tls_start(data: &[u8]) -> Option<usize> {
    match data.first()? {
        0x16 => Some(0),
        0x03 => {
            let len = u16::from_be_bytes([*data.get(2)?, *data.get(3)?]) as usize;
            (data.get(len) == Some(&0x16)).then_some(len)
        }
        _ => None,
    }
}

/// The records of a direction's contiguous bytes, and whether the bytes
/// end inside one (a hole or the end of what was kept).
fn frame(data: &[u8], from: usize) -> (Vec<Rec>, bool) {
    let mut recs = Vec::new();
    let mut at = from;
    while at + 5 <= data.len() {
        let header: [u8; 5] = data[at..at + 5].try_into().expect("5 bytes");
        let rec = Rec { start: at, header };
        if !(20..=24).contains(&header[0]) || header[1] != 3 || rec.end() > data.len() {
            return (recs, true);
        }
        recs.push(rec);
        at = rec.end();
    }
    (recs, at < data.len())
}

/// A handshake message: type and the whole message (header included).
struct Msg {
    ty: u8,
    raw: Vec<u8>,
}

/// The clear handshake messages of a direction (before its
/// ChangeCipherSpec or first protected record), and the index of the
/// first record after them.
fn clear_handshake(data: &[u8], recs: &[Rec]) -> (Vec<Msg>, usize) {
    let mut buf = Vec::new();
    let mut msgs = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        if r.ty() != 22 {
            return (msgs, i);
        }
        buf.extend_from_slice(r.body(data));
        while buf.len() >= 4 {
            let len = u32::from_be_bytes([0, buf[1], buf[2], buf[3]]) as usize;
            if buf.len() < 4 + len {
                break;
            }
            let raw: Vec<u8> = buf.drain(..4 + len).collect();
            msgs.push(Msg { ty: raw[0], raw });
        }
    }
    (msgs, recs.len())
}

/// What the hellos say.
struct Hello {
    random: [u8; 32],
    session_id: Vec<u8>,
    /// ServerHello only.
    suite: u16,
    /// The negotiated version (supported_versions when present).
    version: u16,
    extensions: Vec<u16>,
}

fn parse_hello(msg: &[u8], server: bool) -> Option<Hello> {
    let b = msg.get(4..)?;
    let legacy = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
    let random: [u8; 32] = b.get(2..34)?.try_into().ok()?;
    let sid_len = *b.get(34)? as usize;
    let session_id = b.get(35..35 + sid_len)?.to_vec();
    let mut at = 35 + sid_len;
    let mut suite = 0;
    if server {
        suite = u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]);
        at += 3;
    } else {
        let n = u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]) as usize;
        at += 2 + n;
        at += 1 + *b.get(at)? as usize;
    }
    let mut extensions = Vec::new();
    let mut version = legacy;
    if let Some(ext) = b.get(at + 2..) {
        let mut e = 0;
        while e + 4 <= ext.len() {
            let ty = u16::from_be_bytes([ext[e], ext[e + 1]]);
            let len = u16::from_be_bytes([ext[e + 2], ext[e + 3]]) as usize;
            let body = ext.get(e + 4..e + 4 + len)?;
            if server && ty == 43 && len == 2 {
                version = u16::from_be_bytes([body[0], body[1]]);
            }
            extensions.push(ty);
            e += 4 + len;
        }
    }
    Some(Hello {
        random,
        session_id,
        suite,
        version,
        extensions,
    })
}

/// The RSA modulus of the leaf certificate of a Certificate message.
fn leaf_modulus(msg: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::*;
    use x509_parser::public_key::PublicKey;
    let b = msg.get(7..)?;
    let len = u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]) as usize;
    let der = b.get(3..3 + len)?;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    match cert.public_key().parsed().ok()? {
        PublicKey::RSA(k) => Some(keys::trim_be(k.modulus).to_vec()),
        _ => None,
    }
}

/// The master secret and where it came from, or why there is none.
fn master_secret(
    keys: &Keys,
    suite: Suite,
    prf: Prf,
    ch: &Hello,
    sh: &Hello,
    client: &[Msg],
    server: &[Msg],
) -> Result<(Zeroizing<Vec<u8>>, SecretUsed), DecryptStatus> {
    if let Some((ms, o)) = keys.secret(Label::ClientRandom, &ch.random) {
        let used = SecretUsed::KeyLog {
            label: Label::ClientRandom,
            origin: keys.origin_of(o).clone(),
        };
        return Ok((Zeroizing::new(ms.to_vec()), used));
    }
    if suite.kx != KeyExchange::Rsa || !keys.has_rsa() {
        return Err(if keys.has_rsa() && suite.kx != KeyExchange::Rsa {
            DecryptStatus::EphemeralKeyExchange { suite: suite.id }
        } else {
            DecryptStatus::NoKeyForClientRandom
        });
    }
    let Some(cke_at) = client.iter().position(|m| m.ty == 16) else {
        let resumed = !ch.session_id.is_empty() && ch.session_id == sh.session_id;
        return Err(if resumed {
            DecryptStatus::ResumedSession
        } else {
            DecryptStatus::NoHandshake
        });
    };
    let modulus = server
        .iter()
        .find(|m| m.ty == 11)
        .and_then(|m| leaf_modulus(&m.raw))
        .ok_or(DecryptStatus::RsaKeyDoesNotMatchCertificate)?;
    let (key, o) = keys
        .rsa_for(&modulus)
        .ok_or(DecryptStatus::RsaKeyDoesNotMatchCertificate)?;
    let cke = &client[cke_at].raw;
    // TLS 1.0+ prefixes the encrypted pre-master secret with its length
    // (RFC 5246 §7.4.7.1).
    let enc = cke.get(6..).ok_or(DecryptStatus::PremasterNotDecrypted)?;
    let pms = Zeroizing::new(
        key.decrypt(rsa::Pkcs1v15Encrypt, enc)
            .map_err(|_| DecryptStatus::PremasterNotDecrypted)?,
    );
    if pms.len() != 48 {
        return Err(DecryptStatus::PremasterNotDecrypted);
    }
    let ms = if ch.extensions.contains(&23) && sh.extensions.contains(&23) {
        // RFC 7627 §4: the hash of the handshake up to the ClientKeyExchange.
        let mut transcript = Vec::new();
        transcript.extend_from_slice(&client[0].raw);
        // The server's first flight ends at ServerHelloDone; what it sends
        // later (a NewSessionTicket) follows the ClientKeyExchange.
        let shd = server
            .iter()
            .position(|m| m.ty == 14)
            .map_or(server.len(), |i| i + 1);
        server[..shd]
            .iter()
            .for_each(|m| transcript.extend_from_slice(&m.raw));
        client[1..=cke_at]
            .iter()
            .for_each(|m| transcript.extend_from_slice(&m.raw));
        prf.derive(
            &pms,
            "extended master secret",
            &prf.session_hash(&transcript),
            48,
        )
    } else {
        let mut seed = ch.random.to_vec();
        seed.extend_from_slice(&sh.random);
        prf.derive(&pms, "master secret", &seed, 48)
    };
    Ok((
        ms,
        SecretUsed::RsaKey {
            origin: keys.origin_of(o).clone(),
        },
    ))
}

/// One direction being opened.
struct Opener<'a> {
    dir: Dir,
    data: &'a [u8],
    out: Plaintext,
    counts: RecordCounts,
    events: Vec<Decoded>,
}

impl<'a> Opener<'a> {
    fn new(dir: Dir, input: &StreamInput<'a>) -> Self {
        Opener {
            dir,
            data: input.contiguous(),
            out: Plaintext {
                limit: input.limit,
                ..Plaintext::default()
            },
            counts: RecordCounts::default(),
            events: Vec::new(),
        }
    }

    fn push_plain(&mut self, r: &Rec, pt: &[u8]) {
        let start = self.out.data.len() as u64;
        self.out.data.extend_from_slice(pt);
        self.counts.plaintext_bytes += pt.len() as u64;
        self.out.spans.push(Span {
            plain_start: start,
            plain_end: start + pt.len() as u64,
            cipher_start: r.start as u64,
            cipher_end: r.end() as u64,
        });
    }

    fn failed(&mut self, r: &Rec, seq: u64, why: record::RecordError) {
        self.counts.failed += 1;
        self.events.push(Decoded {
            dir: self.dir,
            start: r.start as u64,
            end: r.end() as u64,
            event: ProtoEvent::Anomaly {
                what: Anomaly::RecordNotAuthentic {
                    seq,
                    content_type: r.ty(),
                    why,
                },
            },
        });
        // What the record carried is unknown: a hole, as long as its
        // ciphertext (an upper bound of its plaintext).
        let at = self.out.data.len() as u64;
        let len = r.len() as u64;
        self.out.data.resize(self.out.data.len() + r.len(), 0);
        self.out.holes.push((at, len));
    }

    /// A protected alert record opened: an event at its ciphertext, so the
    /// diagnosis reads the alert the clear decoder could only count. An
    /// alert is level(1) description(1), one per record (RFC 5246 7.2,
    /// RFC 8446 5.1, 6); a plaintext of another length is not read as one.
    fn alert(&mut self, r: &Rec, pt: &[u8]) {
        if let [level, description] = *pt {
            self.events.push(Decoded {
                dir: self.dir,
                start: r.start as u64,
                end: r.end() as u64,
                event: ProtoEvent::Tls(TlsEvent::DecryptedAlert { level, description }),
            });
        }
    }

    /// The ciphertext ended inside a record: the plaintext stops there.
    fn cut(&mut self) {
        self.out.holes.push((self.out.data.len() as u64, 1));
    }

    /// TLS 1.0-1.2: open every record after the first (the Finished),
    /// which `recs` starts with.
    fn open_tls12(&mut self, recs: &[Rec], mut st: RecordState) {
        for r in recs {
            let seq = st.seq();
            match st.open(&r.header, r.body(self.data)) {
                Ok(pt) => {
                    self.counts.decrypted += 1;
                    match r.ty() {
                        23 => self.push_plain(r, &pt),
                        21 => self.alert(r, &pt),
                        _ => {}
                    }
                }
                Err(why) => self.failed(r, seq, why),
            }
        }
    }

    /// TLS 1.3: handshake keys until this side's Finished, then the
    /// traffic secrets, updated at each KeyUpdate; NewSessionTicket and
    /// other post-handshake messages are skipped.
    fn open_tls13(&mut self, recs: &[Rec], suite: Suite, hs: &[u8], app: &[u8]) {
        let Some(k) = tls13_keys(suite, hs) else {
            return;
        };
        let mut st = RecordState::new(suite, 0x0303, k, false, true);
        let mut secret = Zeroizing::new(app.to_vec());
        let mut handshake = true;
        let mut hs_buf: Vec<u8> = Vec::new();
        for r in recs {
            if r.ty() == 20 {
                continue; // middlebox-compatibility ChangeCipherSpec, clear
            }
            let seq = st.seq();
            let inner = st.open(&r.header, r.body(self.data)).map(split_inner);
            let (ty, pt) = match inner {
                Ok(Some(x)) => x,
                Ok(None) => {
                    self.failed(r, seq, record::RecordError::BadPadding);
                    continue;
                }
                Err(why) => {
                    self.failed(r, seq, why);
                    continue;
                }
            };
            self.counts.decrypted += 1;
            match ty {
                23 => self.push_plain(r, &pt),
                21 => self.alert(r, &pt),
                22 => {
                    hs_buf.extend_from_slice(&pt);
                    let mut switch = false;
                    while hs_buf.len() >= 4 {
                        let len = u32::from_be_bytes([0, hs_buf[1], hs_buf[2], hs_buf[3]]) as usize;
                        if hs_buf.len() < 4 + len {
                            break;
                        }
                        let t = hs_buf[0];
                        hs_buf.drain(..4 + len);
                        // Finished ends the handshake keys; KeyUpdate moves
                        // this side to the next traffic secret (RFC 8446 §4.6.3).
                        if (handshake && t == 20) || (!handshake && t == 24) {
                            switch = true;
                        }
                    }
                    if switch {
                        if !handshake {
                            match tls13_next_secret(suite, &secret) {
                                Some(n) => secret = n,
                                None => return,
                            }
                        }
                        handshake = false;
                        let Some(k) = tls13_keys(suite, &secret) else {
                            return;
                        };
                        st = RecordState::new(suite, 0x0303, k, false, true);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Decrypt one connection with the given keys.
pub fn decrypt_connection(
    to_server: StreamInput<'_>,
    to_client: StreamInput<'_>,
    keys: &Keys,
) -> Decryption {
    let fail = |status, version, suite| Decryption {
        summary: DecryptSummary {
            status,
            version,
            suite,
            records: [RecordCounts::default(); 2],
        },
        plain: None,
        events: Vec::new(),
    };
    let cdata = to_server.contiguous();
    let sdata = to_client.contiguous();
    let (Some(cs), Some(ss)) = (tls_start(cdata), tls_start(sdata)) else {
        // A stream from its SYN that opens with no TLS at either place
        // TLS could begin carries none (Standard RDP Security, a refused
        // negotiation); otherwise the handshake was not captured.
        let clear = to_server.from_start && to_client.from_start && cdata.first() != Some(&0x16);
        let status = if clear {
            DecryptStatus::NoTls
        } else {
            DecryptStatus::NoHandshake
        };
        return fail(status, None, None);
    };
    let (crecs, ccut) = frame(cdata, cs);
    let (srecs, scut) = frame(sdata, ss);
    let (cmsgs, cfirst) = clear_handshake(cdata, &crecs);
    let (smsgs_all, _) = clear_handshake(sdata, &srecs);
    let ch = cmsgs
        .first()
        .filter(|m| m.ty == 1)
        .and_then(|m| parse_hello(&m.raw, false));
    let sh = smsgs_all
        .iter()
        .find(|m| m.ty == 2)
        .and_then(|m| parse_hello(&m.raw, true));
    let (Some(ch), Some(sh)) = (ch, sh) else {
        return fail(DecryptStatus::NoHandshake, None, None);
    };
    let (version, sid) = (Some(sh.version), Some(sh.suite));
    if !(0x0301..=0x0304).contains(&sh.version) {
        return fail(
            DecryptStatus::UnsupportedVersion {
                version: sh.version,
            },
            version,
            sid,
        );
    }
    let Some(suite) = schedule::suite(sh.suite) else {
        return fail(
            DecryptStatus::UnsupportedSuite { suite: sh.suite },
            version,
            sid,
        );
    };
    let tls13 = sh.version == 0x0304;
    if tls13 != (suite.kx == KeyExchange::Tls13) {
        return fail(
            DecryptStatus::UnsupportedSuite { suite: sh.suite },
            version,
            sid,
        );
    }
    let mut c = Opener::new(Dir::ToServer, &to_server);
    let mut s = Opener::new(Dir::ToClient, &to_client);
    let used;
    if tls13 {
        // Every protected TLS 1.3 record is of outer type application_data
        // (RFC 8446 5.2); what comes before the first is clear: the hellos,
        // a HelloRetryRequest and the second ClientHello it asks for
        // (4.1.4: same client random, same cipher suite), the
        // middlebox-compatibility ChangeCipherSpec.
        let first_protected = |recs: &[Rec]| recs.iter().position(|r| r.ty() == 23);
        let cfirst = first_protected(&crecs).unwrap_or(crecs.len());
        let sfirst = first_protected(&srecs).unwrap_or(srecs.len());
        let mut secrets = Vec::new();
        for label in [
            Label::ClientHandshakeTrafficSecret,
            Label::ClientTrafficSecret0,
            Label::ServerHandshakeTrafficSecret,
            Label::ServerTrafficSecret0,
        ] {
            match keys.secret(label, &ch.random) {
                Some(x) => secrets.push(x),
                None if secrets.is_empty() && label == Label::ClientHandshakeTrafficSecret => {
                    return fail(DecryptStatus::NoKeyForClientRandom, version, sid)
                }
                None => return fail(DecryptStatus::MissingTls13Secret { label }, version, sid),
            }
        }
        c.open_tls13(&crecs[cfirst..], suite, secrets[0].0, secrets[1].0);
        s.open_tls13(&srecs[sfirst..], suite, secrets[2].0, secrets[3].0);
        used = SecretUsed::KeyLog {
            label: Label::ServerTrafficSecret0,
            origin: keys.origin_of(secrets[3].1).clone(),
        };
    } else {
        let (smsgs, sfirst) = clear_handshake(sdata, &srecs);
        let prf = if sh.version >= 0x0303 {
            Prf::Tls12(suite.prf_hash)
        } else {
            Prf::Md5Sha1
        };
        let (ms, with) = match master_secret(keys, suite, prf, &ch, &sh, &cmsgs, &smsgs) {
            Ok(x) => x,
            Err(status) => return fail(status, version, sid),
        };
        used = with;
        let kb = key_block(prf, suite, sh.version, &ms, &ch.random, &sh.random);
        let etm = matches!(suite.cipher, schedule::Cipher::AesCbc { .. })
            && ch.extensions.contains(&22)
            && sh.extensions.contains(&22);
        // Protected records start after each side's ChangeCipherSpec.
        let after_ccs = |recs: &[Rec], first: usize| {
            recs[first..]
                .iter()
                .position(|r| r.ty() == 20)
                .map_or(recs.len(), |i| first + i + 1)
        };
        let [ck, sk] = kb;
        let (ca, sa) = (after_ccs(&crecs, cfirst), after_ccs(&srecs, sfirst));
        c.open_tls12(
            &crecs[ca..],
            RecordState::new(suite, sh.version, ck, etm, false),
        );
        s.open_tls12(
            &srecs[sa..],
            RecordState::new(suite, sh.version, sk, etm, false),
        );
    }
    if ccut || !to_server.holes.is_empty() {
        c.cut();
    }
    if scut || !to_client.holes.is_empty() {
        s.cut();
    }
    let mut events = std::mem::take(&mut c.events);
    events.append(&mut s.events);
    Decryption {
        summary: DecryptSummary {
            status: DecryptStatus::Decrypted { with: used },
            version,
            suite: sid,
            records: [c.counts, s.counts],
        },
        plain: Some([c.out, s.out]),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handshake record holding one hello: `version`, a random of
    /// `fill`, no session id; the client offers `suite`, the server picks
    /// it.
    fn hello_record(server: bool, version: u16, suite: u16, fill: u8) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend([fill; 32]);
        body.push(0); // session id
        if server {
            body.extend(suite.to_be_bytes());
            body.push(0); // compression
        } else {
            body.extend([0, 2]);
            body.extend(suite.to_be_bytes());
            body.extend([1, 0]); // one compression method: null
        }
        let mut msg = vec![if server { 2 } else { 1 }, 0];
        msg.extend((body.len() as u16).to_be_bytes());
        msg.extend(body);
        let mut rec = vec![22];
        rec.extend(version.to_be_bytes());
        rec.extend((msg.len() as u16).to_be_bytes());
        rec.extend(msg);
        rec
    }

    fn input(data: &[u8]) -> StreamInput<'_> {
        StreamInput::whole(data)
    }

    /// SSL 3.0 (RFC 6101: its MAC and key derivation are not TLS's) is
    /// said to be unsupported, whatever the key log holds; TLS 1.0 with
    /// the same suite gets as far as the key look-up.
    #[test]
    fn ssl3_is_an_unsupported_version() {
        let mut keys = Keys::default();
        let line = format!("CLIENT_RANDOM {} {}\n", "11".repeat(32), "22".repeat(48));
        keys.add_key_log(&line, Origin::File("k".into()));
        let status = |version| {
            let c = hello_record(false, version, 0x002f, 0x11);
            let s = hello_record(true, version, 0x002f, 0x33);
            decrypt_connection(input(&c), input(&s), &keys)
                .summary
                .status
        };
        let ssl3 = status(0x0300);
        assert_eq!(ssl3, DecryptStatus::UnsupportedVersion { version: 0x0300 });
        assert_eq!(ssl3.id(), "unsupported_version");
        assert_eq!(ssl3.to_string(), "not decrypted: SSL 3.0 is not supported");
        assert_ne!(status(0x0301), ssl3);
    }
}
