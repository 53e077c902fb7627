//! The shape of CredSSP (NLA, [MS-CSSP]) inside TLS, read without keys:
//! encrypted application-data records by direction, order and size, mapped
//! to the legs of the exchange.

use super::Certainty;

/// The legs of a CredSSP exchange ([MS-CSSP] 3.1.5), plus HYBRID_EX's
/// Early User Authorization Result ([MS-RDPBCGR] 2.2.10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredsspLeg {
    /// C->S TSRequest with the SPNEGO/NTLM NEGOTIATE token.
    Negotiate,
    /// S->C TSRequest with the NTLM CHALLENGE.
    Challenge,
    /// C->S TSRequest with the NTLM AUTHENTICATE token and pubKeyAuth.
    Authenticate,
    /// S->C TSRequest with the server's pubKeyAuth.
    ServerPubKeyAuth,
    /// C->S TSRequest with authInfo (the encrypted credentials).
    Credentials,
    /// S->C 4-byte Early User Authorization Result (HYBRID_EX only).
    EarlyUserAuthResult,
    /// A further S->C TSRequest that carries an error (its size says so
    /// only roughly).
    ServerError,
}

impl CredsspLeg {
    pub fn name(self) -> &'static str {
        match self {
            CredsspLeg::Negotiate => "negotiate",
            CredsspLeg::Challenge => "challenge",
            CredsspLeg::Authenticate => "authenticate (with pubKeyAuth)",
            CredsspLeg::ServerPubKeyAuth => "server pubKeyAuth",
            CredsspLeg::Credentials => "client credentials (authInfo)",
            CredsspLeg::EarlyUserAuthResult => "Early User Authorization Result",
            CredsspLeg::ServerError => "server error TSRequest",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredsspEvent {
    /// An encrypted record mapped to a leg.
    Leg {
        leg: CredsspLeg,
        /// TLS record payload length (ciphertext).
        record_len: u32,
        certainty: Certainty,
    },
}

/// Map the encrypted records after the TLS handshake to CredSSP legs, given
/// the selected protocol (HYBRID or HYBRID_EX). Returns events placed at
/// the records (direction filled in). Without the negotiated cipher the
/// TLS overhead is unknown: see [`map_legs_with`].
pub fn map_legs(
    selected: super::x224::Protocols,
    to_server: &[super::tls::RecordRef],
    to_client: &[super::tls::RecordRef],
) -> Vec<super::Decoded> {
    map_legs_with(selected, None, to_server, to_client)
}

// Sizes of the TSRequests ([MS-CSSP] 2.2.1) as plaintext, i.e. the TLS
// record length minus the cipher's overhead ([`super::tls::plaintext_range`]).
// Observed in the corpus (record length -> plaintext):
//
// | capture                          | cipher           | neg | chal | auth | srv pubKeyAuth | creds | early |
// |----------------------------------|------------------|-----|------|------|----------------|-------|-------|
// | zeek/rdp-to-ssl.pcap (Win7->2k8R2)| TLS1.0 AES128-SHA| 80  | 336  | 928  | 336            | 160   | -     |
// | zeek/rdp-rdpeudp-handshake-fail   | TLS1.2 0xc030 GCM| 81  | 275  | 885  | 327            | 104   | 28    |
// | zeek/rdp-rdpeudp-handshake-success| TLS1.2 0xc030 GCM| 81  | 275  | 847  | 327            | 134   | 28    |
//
// GCM plaintext = record - 24: negotiate 57, challenge 251, authenticate
// 823..861, pubKeyAuth 303 (CredSSP v2-4: the server's RSA-2048
// SubjectPublicKey, 270 bytes, +1 and sealed), credentials 80..110, Early
// User Authorization Result 4. The ranges below are those sizes with wide
// margins for other builds, user names, domains and keys.

/// NTLM NEGOTIATE (32-40 bytes) in SPNEGO NegTokenInit in a TSRequest.
const NEGOTIATE_PT: (u32, u32) = (30, 250);
/// NTLM CHALLENGE with target info (NetBIOS/DNS names, timestamp).
const CHALLENGE_PT: (u32, u32) = (100, 1200);
/// NTLM AUTHENTICATE (NTLMv2 response, MIC) plus pubKeyAuth.
const AUTHENTICATE_PT: (u32, u32) = (250, 6000);
/// Server pubKeyAuth: v2-4 the sealed SubjectPublicKey (~290 bytes for
/// RSA-2048, ~550 for RSA-4096); v5+ a sealed SHA-256 hash (16 + 32 bytes,
/// ~60 with the TSRequest around it).
const PUBKEYAUTH_PT: (u32, u32) = (56, 800);
/// TSCredentials (password or smart-card credentials), sealed.
const CREDENTIALS_PT: (u32, u32) = (40, 4000);
/// Early User Authorization Result ([MS-RDPBCGR] 2.2.10.2): a 4-byte
/// little-endian code, not a TSRequest.
const EARLY_RESULT_PT: u32 = 4;
/// The largest plaintext that cannot be a pubKeyAuth: an error TSRequest
/// (version + errorCode, [MS-CSSP] 2.2.1, v3+) is about 15 bytes.
const ERROR_MAX_PT: u32 = 55;
/// Overhead assumed when the cipher is unknown: 0 (NULL) up to 80 bytes
/// (TLS 1.1+ CBC with HMAC-SHA384: 16 IV + 48 MAC + up to 16 padding).
const MAX_UNKNOWN_OVERHEAD: u32 = 80;

/// Plaintext range of one record.
#[derive(Clone, Copy, Debug)]
struct Sized {
    rec: super::tls::RecordRef,
    pt: (u32, u32),
    /// The range comes from the known cipher (not from a guess).
    exact_cipher: bool,
}

impl Sized {
    fn fits(&self, r: (u32, u32)) -> bool {
        self.pt.0 <= r.1 && self.pt.1 >= r.0
    }
}

/// TLS 1.0 and SSL 3.0 CBC stacks may split each write into a record with
/// one byte of plaintext and one with the rest (the "1/n-1" split against
/// BEAST, e.g. SChannel after MS12-006). No TSRequest is that small, so a
/// record that holds at most 11 bytes of plaintext (16-byte blocks, SHA-1
/// MAC) is joined to the next one, for the first `legs` legs only (the
/// server's 4-byte Early User Authorization Result is a small record too).
fn join_split_records(v: Vec<Sized>, legs: usize) -> Vec<Sized> {
    let mut out: Vec<Sized> = Vec::with_capacity(v.len());
    let mut pending: Option<Sized> = None;
    for r in v {
        if let Some(p) = pending.take() {
            out.push(Sized {
                rec: super::tls::RecordRef {
                    start: p.rec.start,
                    end: r.rec.end,
                    content_type: r.rec.content_type,
                    len: p.rec.len.saturating_add(r.rec.len),
                },
                pt: (p.pt.0 + r.pt.0, p.pt.1.saturating_add(r.pt.1)),
                exact_cipher: r.exact_cipher,
            });
            continue;
        }
        if out.len() < legs && r.exact_cipher && r.pt.0 <= 1 && r.pt.1 <= 11 {
            pending = Some(r);
        } else {
            out.push(r);
        }
    }
    out.extend(pending);
    out
}

/// Like [`map_legs`], with the ServerHello that fixed version and cipher
/// suite, so that record sizes become plaintext sizes.
///
/// Heuristics (per direction, by order, since record offsets of the two
/// directions cannot be compared):
/// - client application-data records: 1st = Negotiate, 2nd =
///   Authenticate, 3rd = Credentials (only after a server pubKeyAuth);
///   later ones are RDP, not CredSSP;
/// - server records: 1st = Challenge, 2nd = ServerPubKeyAuth when it can
///   hold one, else ServerError (too small: an error TSRequest, e.g. a
///   wrong password), 3rd (HYBRID_EX, after Credentials) = Early User
///   Authorization Result when its plaintext can be 4 bytes;
/// - certainty High when every size fits the textbook exchange and the
///   order relations hold (challenge > negotiate, authenticate is the
///   largest client leg), Medium when one check fails or the cipher is
///   unknown for a size-only decision, Low when several fail or the first
///   client message is too large for NTLM (Kerberos: positions kept).
///
/// TLS 1.0 CBC "1/n-1" split writes (a 1-byte record, then the rest) are
/// joined first.
/// Alerts and encrypted handshake records (Finished) are not legs. With
/// TLS 1.3 the client's first protected record is its Finished and is
/// skipped; the server's encrypted flight is skipped through the record
/// whose size is exactly a Finished (else its first record only), a guess:
/// server legs are at most Medium.
pub fn map_legs_with(
    selected: super::x224::Protocols,
    server_hello: Option<&super::tls::ServerHello>,
    to_server: &[super::tls::RecordRef],
    to_client: &[super::tls::RecordRef],
) -> Vec<super::Decoded> {
    use super::x224::Protocols;
    use super::{Certainty, Decoded, ProtoEvent};
    use crate::common::Dir;

    let hybrid_ex = selected.0 & Protocols::HYBRID_EX != 0;
    if selected.0 & (Protocols::HYBRID | Protocols::HYBRID_EX) == 0 {
        return Vec::new();
    }
    let tls13 = server_hello.is_some_and(|sh| sh.version.0 == 0x0304);
    let sizer = |r: &super::tls::RecordRef| -> Sized {
        let known = server_hello
            .and_then(|sh| super::tls::plaintext_range(sh.version, sh.cipher_suite, r.len));
        match known {
            Some(pt) => Sized {
                rec: *r,
                pt,
                exact_cipher: true,
            },
            None => Sized {
                rec: *r,
                pt: (r.len.saturating_sub(MAX_UNKNOWN_OVERHEAD), r.len),
                exact_cipher: false,
            },
        }
    };
    // Application data only: content type 23.
    let mut c: Vec<Sized> = to_server
        .iter()
        .filter(|r| r.content_type == 23)
        .map(sizer)
        .collect();
    let mut s: Vec<Sized> = to_client
        .iter()
        .filter(|r| r.content_type == 23)
        .map(sizer)
        .collect();
    if tls13 && !c.is_empty() {
        c.remove(0); // the client's Finished (RFC 8446 4.4.4)
    }
    let split_cbc = server_hello.is_some_and(|sh| {
        sh.version.0 <= 0x0301
            && tls_parser::TlsCipherSuite::from_id(sh.cipher_suite)
                .is_some_and(|cs| cs.enc_mode == tls_parser::TlsCipherEncMode::Cbc)
    });
    if split_cbc {
        c = join_split_records(c, 3);
        s = join_split_records(s, 2);
    }
    if tls13 && !s.is_empty() {
        // The server's encrypted flight (EncryptedExtensions, Certificate,
        // CertificateVerify, Finished) comes first: skip through the record
        // that can be exactly its Finished (4 + hash length), else assume
        // the flight was sent as one record.
        let fin_pt = server_hello.map_or(36, |sh| if sh.cipher_suite == 0x1302 { 52 } else { 36 });
        let skip = s
            .iter()
            .take(6)
            .position(|r| r.exact_cipher && r.pt == (fin_pt, fin_pt))
            .map_or(1, |i| i + 1);
        s.drain(..skip.min(s.len()));
        // After its Finished a TLS 1.3 server may send NewSessionTicket
        // messages (RFC 8446 4.6.1) before any application data; OpenSSL
        // sends two, one record each, of the same size. A leading run of
        // two or more equal-sized records followed by more records is
        // taken as tickets, not as CredSSP.
        let run = s.iter().take_while(|r| r.rec.len == s[0].rec.len).count();
        if run >= 2 && s.len() > run {
            s.drain(..run);
        }
    }

    let mut out = Vec::new();
    let leg = |out: &mut Vec<Decoded>, dir: Dir, r: &Sized, leg: CredsspLeg, certainty| {
        out.push(Decoded {
            dir,
            start: r.rec.start,
            end: r.rec.end,
            event: ProtoEvent::Credssp(CredsspEvent::Leg {
                leg,
                record_len: r.rec.len,
                certainty,
            }),
        });
    };
    let grade = |misses: usize| match misses {
        0 => Certainty::High,
        1 => Certainty::Medium,
        _ => Certainty::Low,
    };
    // TLS 1.3: which server records were session tickets is judged by the
    // run of equal sizes above, so a server leg is never more than Medium;
    // its size still has to fit.
    let server_cap = if tls13 {
        Certainty::Medium
    } else {
        Certainty::High
    };

    let mut kerberos = false;
    'map: {
        // Client negotiate.
        let Some(neg) = c.first() else {
            break 'map;
        };
        kerberos = neg.pt.0 > NEGOTIATE_PT.1;
        let neg_misses = usize::from(!neg.fits(NEGOTIATE_PT)) + usize::from(kerberos);
        leg(
            &mut out,
            Dir::ToServer,
            neg,
            CredsspLeg::Negotiate,
            grade(neg_misses),
        );
        if kerberos {
            out.push(Decoded {
                dir: Dir::ToServer,
                start: neg.rec.start,
                end: neg.rec.end,
                event: ProtoEvent::Anomaly {
                    what: super::Anomaly::CredsspFirstRecordLarge { len: neg.rec.len },
                },
            });
        }

        // Server challenge, or an error right away.
        let Some(chal) = s.first() else {
            break 'map;
        };
        if chal.pt.1 <= ERROR_MAX_PT && !kerberos {
            let cert = if chal.exact_cipher {
                Certainty::High
            } else {
                Certainty::Medium
            };
            leg(
                &mut out,
                Dir::ToClient,
                chal,
                CredsspLeg::ServerError,
                cert.min(server_cap),
            );
            break 'map;
        }
        // More than twice the largest CHALLENGE is something else (an error
        // page, a ticket flight): a miss that counts double.
        let far_off = chal.pt.0 > 2 * CHALLENGE_PT.1;
        let chal_misses = usize::from(!chal.fits(CHALLENGE_PT) && !kerberos)
            + usize::from(far_off && !kerberos)
            + usize::from(chal.rec.len <= neg.rec.len && !kerberos);
        leg(
            &mut out,
            Dir::ToClient,
            chal,
            CredsspLeg::Challenge,
            grade(chal_misses + usize::from(kerberos)).min(server_cap),
        );

        // Client authenticate (+ pubKeyAuth): the largest client leg.
        let Some(auth) = c.get(1) else {
            break 'map;
        };
        let auth_misses = usize::from(!auth.fits(AUTHENTICATE_PT) && !kerberos)
            + usize::from(auth.rec.len <= chal.rec.len && !kerberos)
            + usize::from(kerberos);
        leg(
            &mut out,
            Dir::ToServer,
            auth,
            CredsspLeg::Authenticate,
            grade(auth_misses),
        );

        // Server pubKeyAuth, or an error TSRequest (wrong password, ...).
        let Some(spk) = s.get(1) else {
            break 'map;
        };
        if spk.pt.1 <= ERROR_MAX_PT {
            let cert = if spk.exact_cipher {
                Certainty::High
            } else {
                Certainty::Medium
            };
            leg(
                &mut out,
                Dir::ToClient,
                spk,
                CredsspLeg::ServerError,
                cert.min(server_cap),
            );
            break 'map;
        }
        let spk_misses = usize::from(!spk.fits(PUBKEYAUTH_PT))
            + usize::from(!spk.exact_cipher && spk.pt.0 <= ERROR_MAX_PT);
        leg(
            &mut out,
            Dir::ToClient,
            spk,
            CredsspLeg::ServerPubKeyAuth,
            grade(spk_misses).min(server_cap),
        );

        // Client credentials (absent: the client stopped after checking the
        // server's pubKeyAuth, e.g. a credential prompt or a pre-check).
        let Some(creds) = c.get(2) else {
            break 'map;
        };
        let creds_misses = usize::from(!creds.fits(CREDENTIALS_PT))
            + usize::from(creds.rec.len > auth.rec.len && !kerberos);
        leg(
            &mut out,
            Dir::ToServer,
            creds,
            CredsspLeg::Credentials,
            grade(creds_misses),
        );

        // HYBRID_EX: the 4-byte Early User Authorization Result. HYBRID: the
        // next server record is already RDP (MCS Connect Response).
        if !hybrid_ex {
            break 'map;
        }
        let Some(early) = s.get(2) else {
            break 'map;
        };
        let can_be_4 = early.pt.0 <= EARLY_RESULT_PT && early.pt.1 >= EARLY_RESULT_PT;
        if can_be_4 {
            let cert = if early.exact_cipher {
                Certainty::High
            } else {
                Certainty::Medium
            };
            leg(
                &mut out,
                Dir::ToClient,
                early,
                CredsspLeg::EarlyUserAuthResult,
                cert.min(server_cap),
            );
        } else if early.pt.1 <= ERROR_MAX_PT {
            leg(
                &mut out,
                Dir::ToClient,
                early,
                CredsspLeg::ServerError,
                Certainty::Low,
            );
        }
    }
    if kerberos {
        // The exchange is not NTLM's: every leg is placed by position only.
        for d in &mut out {
            if let ProtoEvent::Credssp(CredsspEvent::Leg { certainty, .. }) = &mut d.event {
                *certainty = (*certainty).min(Certainty::Medium);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::Dir;
    use crate::proto::tls::{RecordRef, ServerHello, TlsVersion};
    use crate::proto::x224::Protocols;
    use crate::proto::{Certainty, Decoded, ProtoEvent};

    /// Records of the given lengths, back to back from `base`.
    fn refs(base: u64, lens: &[(u8, u32)]) -> Vec<RecordRef> {
        let mut at = base;
        lens.iter()
            .map(|&(content_type, len)| {
                let r = RecordRef {
                    start: at,
                    end: at + 5 + u64::from(len),
                    content_type,
                    len,
                };
                at = r.end;
                r
            })
            .collect()
    }

    fn app(lens: &[u32]) -> Vec<(u8, u32)> {
        lens.iter().map(|&l| (23, l)).collect()
    }

    fn legs(out: &[Decoded]) -> Vec<(Dir, CredsspLeg, u32, Certainty)> {
        out.iter()
            .filter_map(|d| match d.event {
                ProtoEvent::Credssp(CredsspEvent::Leg {
                    leg,
                    record_len,
                    certainty,
                }) => Some((d.dir, leg, record_len, certainty)),
                _ => None,
            })
            .collect()
    }

    fn sh(version: u16, cipher_suite: u16) -> ServerHello {
        ServerHello {
            legacy_version: TlsVersion(version.min(0x0303)),
            version: TlsVersion(version),
            cipher_suite,
            alpn: None,
        }
    }

    use CredsspLeg::*;
    use Dir::{ToClient as S, ToServer as C};
    const HIGH: Certainty = Certainty::High;
    const MEDIUM: Certainty = Certainty::Medium;

    /// zeek/rdp-to-ssl.pcap tcp.stream 1 (Win7 -> 2008 R2, HYBRID, TLS 1.0
    /// AES128-SHA), record lengths from `tshark -T fields -e
    /// tls.record.length`: client Finished 48, then 80, 928, 160, 464
    /// (MCS Connect Initial), ...; server Finished 48, then 336, 336, 144
    /// (MCS Connect Response), ...
    #[test]
    fn full_nla_from_rdp_to_ssl() {
        let mut c = vec![(22, 48)];
        c.extend(app(&[80, 928, 160, 464, 48, 32]));
        let mut s = vec![(22, 48)];
        s.extend(app(&[336, 336, 144, 32, 48]));
        let (c, s) = (refs(441, &c), refs(884, &s));
        let sel = Protocols(Protocols::HYBRID);
        let want = vec![
            (C, Negotiate, 80, HIGH),
            (S, Challenge, 336, HIGH),
            (C, Authenticate, 928, HIGH),
            (S, ServerPubKeyAuth, 336, HIGH),
            (C, Credentials, 160, HIGH),
        ];
        let hello = sh(0x0301, 0x002f);
        let out = map_legs_with(sel, Some(&hello), &c, &s);
        assert_eq!(legs(&out), want);
        assert_eq!(legs(&map_legs(sel, &c, &s)), want);
        // Placed at the records themselves.
        assert_eq!((out[0].start, out[0].end), (c[1].start, c[1].end));
        assert_eq!((out[3].start, out[3].end), (s[2].start, s[2].end));
    }

    /// testdata/captures/05-nla-wrong-password.pcap tcp.stream 0
    /// (freerdp-shadow-cli with OpenSSL, TLS 1.3 TLS_AES_256_GCM_SHA384,
    /// HYBRID, wrong password). Server: EncryptedExtensions 23,
    /// Certificate 720, CertificateVerify 281, Finished 69, two
    /// NewSessionTickets of 250, challenge 179, then an encrypted
    /// close_notify of 19 and FIN. Client: Finished 69, negotiate 110,
    /// authenticate 450, close_notify 19.
    #[test]
    fn tls13_wrong_password_skips_the_flight_and_the_session_tickets() {
        let c = refs(200, &app(&[69, 110, 450, 19]));
        let s = refs(400, &app(&[23, 720, 281, 69, 250, 250, 179, 19]));
        let hello = sh(0x0304, 0x1302);
        let out = map_legs_with(Protocols(Protocols::HYBRID), Some(&hello), &c, &s);
        let got: Vec<_> = legs(&out)
            .into_iter()
            .map(|(d, l, n, _)| (d, l, n))
            .collect();
        assert_eq!(
            got,
            [
                (C, Negotiate, 110),
                (S, Challenge, 179),
                (C, Authenticate, 450),
                (S, ServerError, 19),
            ]
        );
        // One ticket only is not a run: it stays a candidate leg.
        let s1 = refs(400, &app(&[23, 720, 281, 69, 250, 179]));
        let out = map_legs_with(Protocols(Protocols::HYBRID), Some(&hello), &c, &s1);
        assert_eq!(legs(&out)[1].2, 250);
    }

    /// zeek/rdp-to-ssl.pcap tcp.stream 0: the client stops after the
    /// server's pubKeyAuth (80, 928 / 336, 336, then client FIN): the
    /// credential pre-check shape, no Credentials leg.
    #[test]
    fn credential_precheck_from_rdp_to_ssl() {
        let c = refs(441, &app(&[80, 928]));
        let s = refs(884, &app(&[336, 336]));
        let hello = sh(0x0301, 0x002f);
        let out = map_legs_with(Protocols(Protocols::HYBRID), Some(&hello), &c, &s);
        assert_eq!(
            legs(&out),
            [
                (C, Negotiate, 80, HIGH),
                (S, Challenge, 336, HIGH),
                (C, Authenticate, 928, HIGH),
                (S, ServerPubKeyAuth, 336, HIGH),
            ]
        );
    }

    /// zeek/rdp-rdpeudp-handshake-fail.pcap (HYBRID_EX, TLS 1.2
    /// ECDHE-RSA-AES256-GCM-SHA384): client 81, 885, 104, 486 (MCS CI);
    /// server 275, 327, 28 (Early User Authorization Result: 4 + 8 + 16),
    /// 150 (MCS CR).
    #[test]
    fn hybrid_ex_with_early_user_authorization_result() {
        let c = refs(317, &app(&[81, 885, 104, 486, 36]));
        let s = refs(1222, &app(&[275, 327, 28, 150, 35]));
        let sel = Protocols(Protocols::HYBRID_EX);
        let hello = sh(0x0303, 0xc030);
        let want = [
            (C, Negotiate, 81, HIGH),
            (S, Challenge, 275, HIGH),
            (C, Authenticate, 885, HIGH),
            (S, ServerPubKeyAuth, 327, HIGH),
            (C, Credentials, 104, HIGH),
            (S, EarlyUserAuthResult, 28, HIGH),
        ];
        assert_eq!(legs(&map_legs_with(sel, Some(&hello), &c, &s)), want);
        // Without the cipher the 28-byte record could still hold 4 bytes,
        // with less certainty.
        let mut loose = want.to_vec();
        loose[5].3 = MEDIUM;
        assert_eq!(legs(&map_legs(sel, &c, &s)), loose);
        // Under HYBRID the third server record is RDP, not a leg.
        assert_eq!(
            legs(&map_legs_with(
                Protocols(Protocols::HYBRID),
                Some(&hello),
                &c,
                &s
            ))
            .len(),
            5
        );
        // TLS 1.0 AES128-SHA: 4 + 20 + pad = 32; a 144-byte MCS Connect
        // Response cannot be the result.
        let hello10 = sh(0x0301, 0x002f);
        let c10 = refs(0, &app(&[80, 928, 160]));
        let s10 = refs(0, &app(&[336, 336, 32]));
        assert_eq!(
            legs(&map_legs_with(sel, Some(&hello10), &c10, &s10))[5],
            (S, EarlyUserAuthResult, 32, HIGH)
        );
        let s10b = refs(0, &app(&[336, 336, 144]));
        assert_eq!(
            legs(&map_legs_with(sel, Some(&hello10), &c10, &s10b)).len(),
            5
        );
    }

    /// Wrong password (hand-built on the GCM sizes above): after the
    /// authenticate the server answers with an error TSRequest (version +
    /// errorCode, ~15 bytes: record 39) and closes.
    #[test]
    fn wrong_password_error_tsrequest() {
        let c = refs(0, &app(&[81, 885]));
        let s = refs(0, &app(&[275, 39]));
        let hello = sh(0x0303, 0xc030);
        let sel = Protocols(Protocols::HYBRID_EX);
        assert_eq!(
            legs(&map_legs_with(sel, Some(&hello), &c, &s)),
            [
                (C, Negotiate, 81, HIGH),
                (S, Challenge, 275, HIGH),
                (C, Authenticate, 885, HIGH),
                (S, ServerError, 39, HIGH),
            ]
        );
        assert_eq!(
            legs(&map_legs(sel, &c, &s))[3],
            (S, ServerError, 39, MEDIUM)
        );
        // The server just closes: no fourth leg at all.
        let s = refs(0, &app(&[275]));
        assert_eq!(legs(&map_legs_with(sel, Some(&hello), &c, &s)).len(), 3);
        // An error right after the negotiate (CredSSP/SPNEGO refused).
        let c = refs(0, &app(&[81]));
        let s = refs(0, &app(&[39]));
        assert_eq!(
            legs(&map_legs_with(sel, Some(&hello), &c, &s)),
            [(C, Negotiate, 81, HIGH), (S, ServerError, 39, HIGH)]
        );
    }

    #[test]
    fn odd_shapes_lower_the_certainty() {
        let hello = sh(0x0303, 0xc030);
        let sel = Protocols(Protocols::HYBRID);
        // Challenge smaller than the negotiate and an authenticate smaller
        // than the challenge.
        let c = refs(0, &app(&[200, 150]));
        let s = refs(0, &app(&[180]));
        let got = legs(&map_legs_with(sel, Some(&hello), &c, &s));
        assert_eq!(got[1], (S, Challenge, 180, MEDIUM));
        assert_eq!(got[2], (C, Authenticate, 150, Certainty::Low));
        // A Kerberos-sized first message: positions kept, certainty low,
        // and an anomaly says why.
        let c = refs(0, &app(&[2100, 400, 120]));
        let s = refs(0, &app(&[230, 327]));
        let out = map_legs_with(sel, Some(&hello), &c, &s);
        assert!(out.iter().any(|d| matches!(
            &d.event,
            ProtoEvent::Anomaly {
                what: crate::proto::Anomaly::CredsspFirstRecordLarge { len: 2100 }
            }
        )));
        assert!(legs(&out).iter().all(|l| l.3 < HIGH));
        assert_eq!(legs(&out)[0].1, Negotiate);
    }

    #[test]
    fn not_nla_or_nothing_to_map() {
        let c = refs(0, &app(&[80, 928]));
        let s = refs(0, &app(&[336, 336]));
        for sel in [Protocols::RDP, Protocols::SSL, Protocols::RDSTLS] {
            assert!(map_legs(Protocols(sel), &c, &s).is_empty());
        }
        assert!(map_legs(Protocols(Protocols::HYBRID), &[], &[]).is_empty());
        // Finished and alerts are not legs.
        let c = refs(0, &[(22, 48), (21, 32)]);
        assert!(map_legs(Protocols(Protocols::HYBRID), &c, &s).is_empty());
    }

    /// A TLS 1.0 CBC client that splits every write 1/n-1 (hand-built
    /// from the rdp-to-ssl sizes: 32 = one byte of plaintext + MAC + pad).
    #[test]
    fn one_byte_split_records_are_joined() {
        let hello = sh(0x0301, 0x002f);
        let c = refs(0, &app(&[32, 80, 32, 928, 32, 160, 464]));
        let s = refs(0, &app(&[32, 336, 32, 336, 144]));
        let got = legs(&map_legs_with(
            Protocols(Protocols::HYBRID),
            Some(&hello),
            &c,
            &s,
        ));
        assert_eq!(
            got,
            [
                (C, Negotiate, 112, HIGH),
                (S, Challenge, 368, HIGH),
                (C, Authenticate, 960, HIGH),
                (S, ServerPubKeyAuth, 368, HIGH),
                (C, Credentials, 192, HIGH),
            ]
        );
        let out = map_legs_with(Protocols(Protocols::HYBRID), Some(&hello), &c, &s);
        assert_eq!((out[0].start, out[0].end), (c[0].start, c[1].end));
        // Not with TLS 1.2, where the explicit IV makes the split useless.
        let hello12 = sh(0x0303, 0x002f);
        let got = legs(&map_legs_with(
            Protocols(Protocols::HYBRID),
            Some(&hello12),
            &c,
            &s,
        ));
        assert_eq!(got[0].2, 32);
    }

    #[test]
    fn tls13_skips_the_client_finished_and_caps_server_legs() {
        let hello = sh(0x0304, 0x1302);
        // Client: Finished (53 + 17 overhead = 70), then the legs.
        let c = refs(0, &app(&[70, 74, 840, 97]));
        // Server: EncryptedExtensions 23, Certificate 790, CertificateVerify
        // 281, Finished 69 (52 + 17), then the CredSSP replies.
        let s = refs(0, &app(&[23, 790, 281, 69, 268, 320]));
        let sel = Protocols(Protocols::HYBRID);
        let got = legs(&map_legs_with(sel, Some(&hello), &c, &s));
        assert_eq!(got[0], (C, Negotiate, 74, HIGH));
        // Which server records were tickets is a judgement: at most Medium.
        assert_eq!(got[1], (S, Challenge, 268, Certainty::Medium));
        assert_eq!(got[2], (C, Authenticate, 840, HIGH));
        assert_eq!(got[3], (S, ServerPubKeyAuth, 320, Certainty::Medium));
        assert_eq!(got[4], (C, Credentials, 97, HIGH));
        // The flight in a single record.
        let s = refs(0, &app(&[1180, 268, 320]));
        let got = legs(&map_legs_with(sel, Some(&hello), &c, &s));
        assert_eq!(got[1], (S, Challenge, 268, Certainty::Medium));
    }
}
