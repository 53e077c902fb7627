//! The plaintext of a TLS-protected RDP connection, once decrypted: what
//! the record sizes of `credssp` could only guess.
//!
//! - PROTOCOL_HYBRID and HYBRID_EX ([MS-RDPBCGR] 5.4.5.2, [MS-CSSP] 3.1.5):
//!   each direction opens with CredSSP TSRequests (`tsrequest`, with the
//!   NTLM or Kerberos token inside); for HYBRID_EX the server then sends
//!   the 4-byte Early User Authorization Result ([MS-RDPBCGR] 2.2.10.2).
//!   After them the RDP connection sequence follows.
//! - PROTOCOL_SSL: the RDP connection sequence from the first byte.
//! - PROTOCOL_RDSTLS and RDSAAD: not decoded (a `Stopped` event per
//!   direction says so); their exchange carries the password or tokens.
//! - The connection sequence (TPKT, X.224, MCS, the slow-path PDUs, the
//!   first fast-path PDU) goes to the decoders the clear-text path uses.
//!
//! Holes are records that could not be decrypted: decoding of the CredSSP
//! part stops at the first one; the RDP part stops and resumes as the
//! clear-text slow path does. Offsets are plaintext offsets; the caller
//! maps them to frames.

use super::ntlm::NtlmMessage;
use super::tpkt::PduError;
use super::tsrequest::{self, Mechanism, TsRequest};
use super::x224::Protocols;
use super::{Anomaly, Decoded, ProtoEvent, StopReason, StreamInput};
use crate::common::Dir;

/// What decryption shows of NLA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NlaEvent {
    /// One CredSSP TSRequest ([MS-CSSP] 2.2.1).
    TsRequest(Box<TsRequest>),
    /// HYBRID_EX: the server's Early User Authorization Result
    /// ([MS-RDPBCGR] 2.2.10.2): 0 AUTHZ_SUCCESS, 5 AUTHZ_ACCESS_DENIED.
    EarlyUserAuthResult { result: u32 },
}

/// Early User Authorization Result values ([MS-RDPBCGR] 2.2.10.2).
pub const AUTHZ_SUCCESS: u32 = 0x0000_0000;
pub const AUTHZ_ACCESS_DENIED: u32 = 0x0000_0005;

/// Name of an Early User Authorization Result, or `unknown (0x..)`.
pub fn early_user_auth_result_name(v: u32) -> String {
    match v {
        AUTHZ_SUCCESS => "AUTHZ_SUCCESS".into(),
        AUTHZ_ACCESS_DENIED => "AUTHZ_ACCESS_DENIED".into(),
        v => super::unknown_hex(v as u64),
    }
}

/// The selected protocol of a connection whose Connection Confirm the
/// capture does not hold (it started mid-connection): the plaintext's
/// first bytes decide.
pub const SELECTED_UNKNOWN: u32 = u32::MAX;

/// How the plaintext of a direction begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nla {
    /// No CredSSP: RDP PDUs from the first byte (PROTOCOL_SSL).
    No,
    /// CredSSP TSRequests first (PROTOCOL_HYBRID).
    Hybrid,
    /// CredSSP, then the server's Early User Authorization Result
    /// (PROTOCOL_HYBRID_EX).
    HybridEx,
    /// Not known: TSRequests if the stream starts with one, and an Early
    /// User Authorization Result only if its value is one 2.2.10.2
    /// defines and a TPKT header or the end follows.
    Unknown,
}

/// Decode both directions' plaintext. `selected_protocol` is the
/// Connection Confirm's selectedProtocol, or [`SELECTED_UNKNOWN`].
pub fn decode_inner(
    to_server: StreamInput<'_>,
    to_client: StreamInput<'_>,
    selected_protocol: u32,
) -> Vec<Decoded> {
    let mut out = Vec::new();
    // RDSTLS and RDSAAD exchange their own PDUs inside TLS (an RDSTLS
    // authentication request carries the password): not decoded, and
    // said so once per direction.
    if matches!(selected_protocol, Protocols::RDSTLS | Protocols::RDSAAD) {
        for dir in [Dir::ToServer, Dir::ToClient] {
            out.push(at(
                dir,
                0,
                0,
                ProtoEvent::Stopped {
                    why: StopReason::SecurityProtocolNotDecoded {
                        protocol: selected_protocol,
                    },
                },
            ));
        }
        return out;
    }
    let mode = match selected_protocol {
        SELECTED_UNKNOWN => Nla::Unknown,
        p if p & Protocols::HYBRID_EX != 0 => Nla::HybridEx,
        p if p & Protocols::HYBRID != 0 => Nla::Hybrid,
        _ => Nla::No,
    };
    let nla = mode != Nla::No;
    let (mut cs, mut ss) = (Some(0), Some(0));
    if nla {
        cs = credssp_part(Dir::ToServer, &to_server, Nla::Hybrid, &mut out);
        ss = credssp_part(Dir::ToClient, &to_client, mode, &mut out);
    }
    // A direction whose CredSSP part stopped gives the RDP part nothing.
    let empty = StreamInput::whole(&[]);
    let (c, cs) = cs.map_or((empty, 0), |o| (to_server, o));
    let (s, ss) = ss.map_or((empty, 0), |o| (to_client, o));
    super::session::decode_plaintext_slow_path(c, cs, s, ss, &mut out);
    out
}

fn at(dir: Dir, start: usize, end: usize, event: ProtoEvent) -> Decoded {
    Decoded {
        dir,
        start: start as u64,
        end: end as u64,
        event,
    }
}

/// Why the PDU at `at` could not be read whole from `input`'s
/// contiguous bytes.
fn cut(input: &StreamInput<'_>, at: usize) -> StopReason {
    match (input.holes.first(), input.limit) {
        (Some(&(hole, _)), _) => StopReason::BytesMissing { at: hole },
        (None, Some(limit)) => StopReason::Bound {
            limit,
            at: at as u64,
        },
        (None, None) => StopReason::EndsInsidePdu { at: at as u64 },
    }
}

/// The TSRequests at the start of one direction (and, for the server
/// under HYBRID_EX, the Early User Authorization Result after them).
/// Returns where the RDP part starts, or None when decoding stopped.
fn credssp_part(
    dir: Dir,
    input: &StreamInput<'_>,
    mode: Nla,
    out: &mut Vec<Decoded>,
) -> Option<usize> {
    let data = input.contiguous();
    let mut off = 0;
    let mut requests = 0;
    loop {
        let rest = data.get(off..).unwrap_or(&[]);
        if rest.is_empty() {
            // The end of what was decrypted, between PDUs.
            if off < input.data.len() || !input.holes.is_empty() {
                let why = cut(input, off);
                out.push(at(dir, off, off, ProtoEvent::Stopped { why }));
                return None;
            }
            return Some(off);
        }
        if !tsrequest::looks_like_tsrequest(rest) {
            break;
        }
        let size = match tsrequest::tlv_size(rest) {
            Ok(n) if n <= rest.len() => n,
            Ok(_) | Err(PduError::Incomplete) => {
                let why = cut(input, off);
                out.push(at(dir, off, data.len(), ProtoEvent::Stopped { why }));
                return None;
            }
            Err(PduError::Invalid(what)) => {
                let why = StopReason::Undecodable {
                    at: off as u64,
                    what,
                };
                out.push(at(dir, off, off + 1, ProtoEvent::Stopped { why }));
                return None;
            }
        };
        let end = off + size;
        push_tsrequest(dir, off, end, &rest[..size], out);
        requests += 1;
        off = end;
    }
    let rest = &data[off..];
    let early_result = match mode {
        Nla::HybridEx => rest.first().is_some_and(|&b| b != 0x03),
        Nla::Unknown => {
            let v = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            matches!(v, Some(AUTHZ_SUCCESS | AUTHZ_ACCESS_DENIED))
                && matches!(rest.get(4..), Some([] | [0x03, 0x00, ..]))
        }
        Nla::No | Nla::Hybrid => false,
    };
    if early_result && requests > 0 {
        let Some(b) = rest.get(..4) else {
            let why = cut(input, off);
            out.push(at(dir, off, data.len(), ProtoEvent::Stopped { why }));
            return None;
        };
        let result = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let ev = ProtoEvent::Nla(NlaEvent::EarlyUserAuthResult { result });
        out.push(at(dir, off, off + 4, ev));
        off += 4;
    }
    Some(off)
}

/// One TSRequest's event, and an anomaly for each field left out.
fn push_tsrequest(dir: Dir, start: usize, end: usize, pdu: &[u8], out: &mut Vec<Decoded>) {
    match tsrequest::decode_tsrequest(pdu) {
        Ok(t) => {
            let bad = match t.token.as_ref().map(|t| &t.mech) {
                Some(Mechanism::Ntlm(NtlmMessage::Challenge(c))) => c.bad_fields.clone(),
                Some(Mechanism::Ntlm(NtlmMessage::Authenticate(a))) => a.bad_fields.clone(),
                _ => Vec::new(),
            };
            for field in bad {
                let what = Anomaly::NtlmFieldOutOfRange { field };
                out.push(at(dir, start, end, ProtoEvent::Anomaly { what }));
            }
            out.push(at(
                dir,
                start,
                end,
                ProtoEvent::Nla(NlaEvent::TsRequest(Box::new(t))),
            ));
        }
        Err(e) => {
            let what = Anomaly::TsRequestNotUnderstood {
                why: match e {
                    PduError::Incomplete => "cut short".to_string(),
                    PduError::Invalid(w) => w,
                },
            };
            out.push(at(dir, start, end, ProtoEvent::Anomaly { what }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::mcs::tests as m;
    use crate::proto::mcs::McsEvent;
    use crate::proto::ntlm::tests::{spec_authenticate, SPEC_CHALLENGE};
    use crate::proto::ntstatus::NtStatus;
    use crate::proto::tpkt::hex;
    use crate::proto::tsrequest::tests::ts_request;

    fn input(data: &[u8]) -> StreamInput<'_> {
        StreamInput::whole(data)
    }

    fn negotiate() -> Vec<u8> {
        // [MS-NLMP] 2.2.1.1 NEGOTIATE_MESSAGE with VERSION 6.1.7601.
        hex(
            "4e544c4d53535000 01000000 b78208e2 0000000000000000 0000000000000000
             0601b11d0000000f",
        )
    }

    /// A failed NLA logon as Windows answers it: NEGOTIATE, CHALLENGE,
    /// AUTHENTICATE with pubKeyAuth, then the server's errorCode.
    #[test]
    fn wrong_password_exchange() {
        let mut c = ts_request(6, Some(&negotiate()), false, false, None, false);
        c.extend(ts_request(
            6,
            Some(&spec_authenticate()),
            false,
            true,
            None,
            true,
        ));
        let mut s = ts_request(6, Some(&hex(SPEC_CHALLENGE)), false, false, None, false);
        s.extend(ts_request(6, None, false, false, Some(0xC000_006D), false));
        let out = decode_inner(input(&c), input(&s), Protocols::HYBRID);
        let nla: Vec<_> = out
            .iter()
            .filter_map(|d| match &d.event {
                ProtoEvent::Nla(NlaEvent::TsRequest(t)) => Some((d.dir, t)),
                _ => None,
            })
            .collect();
        assert_eq!(nla.len(), 4, "{out:#?}");
        let types: Vec<_> = nla
            .iter()
            .filter_map(|(_, t)| match &t.token.as_ref()?.mech {
                Mechanism::Ntlm(m) => Some(m.message_type()),
                _ => None,
            })
            .collect();
        assert_eq!(types, vec![1, 3, 2]);
        let err = nla.iter().find_map(|(d, t)| t.error_code.map(|e| (*d, e)));
        assert_eq!(err, Some((Dir::ToClient, NtStatus(0xC000_006D))));
        assert!(!out
            .iter()
            .any(|d| matches!(d.event, ProtoEvent::Stopped { .. })));
    }

    fn user_data_tpkts(pdus: &[&str]) -> Vec<u8> {
        pdus.iter().flat_map(|h| hex(h)).collect()
    }

    /// HYBRID_EX: TSCredentials, the Early User Authorization Result, then
    /// the connection sequence; a Set Error Info from the server.
    #[test]
    fn hybrid_ex_result_then_rdp() {
        let mut c = ts_request(6, Some(&spec_authenticate()), false, true, None, true);
        c.extend(ts_request(6, None, true, false, None, false));
        c.extend(user_data_tpkts(&[m::ERECT, m::ATTACH_REQ]));
        let mut s = ts_request(6, None, false, true, None, false);
        s.extend(AUTHZ_SUCCESS.to_le_bytes());
        s.extend(user_data_tpkts(&[m::ATTACH_CONFIRM, m::SET_ERROR_INFO]));
        let out = decode_inner(input(&c), input(&s), Protocols::HYBRID_EX);
        assert!(out.iter().any(|d| d.dir == Dir::ToClient
            && d.event == ProtoEvent::Nla(NlaEvent::EarlyUserAuthResult { result: 0 })));
        let creds = out
            .iter()
            .any(|d| matches!(&d.event, ProtoEvent::Nla(NlaEvent::TsRequest(t)) if t.credentials));
        assert!(creds);
        assert!(out
            .iter()
            .any(|d| d.event == ProtoEvent::Mcs(McsEvent::ErectDomainRequest)));
        assert!(out
            .iter()
            .any(|d| d.event == ProtoEvent::Mcs(McsEvent::SetErrorInfo { code: 0x102 })));
        // Without the Connection Confirm the bytes decide, the same way.
        assert_eq!(decode_inner(input(&c), input(&s), SELECTED_UNKNOWN), out);
    }

    /// PROTOCOL_SSL: RDP PDUs from the first byte; a hole (a record that
    /// could not be decrypted) stops decoding there.
    #[test]
    fn ssl_rdp_from_the_start_and_holes_stop() {
        let c = user_data_tpkts(&[m::ERECT, m::ATTACH_REQ]);
        let out = decode_inner(input(&c), input(&[]), Protocols::SSL);
        assert_eq!(
            out.iter()
                .filter(|d| matches!(d.event, ProtoEvent::Mcs(_)))
                .count(),
            2
        );
        let mut c = ts_request(6, Some(&negotiate()), false, false, None, false);
        let first = c.len() as u64;
        c.extend([0u8; 40]);
        let holes = [(first, 40)];
        let inp = StreamInput {
            holes: &holes,
            ..input(&c)
        };
        let out = decode_inner(inp, input(&[]), Protocols::HYBRID);
        assert!(out.iter().any(|d| d.event
            == ProtoEvent::Stopped {
                why: StopReason::BytesMissing { at: first }
            }));
    }

    /// Fast-path PDUs ([MS-RDPBCGR] 2.2.8.1.2: header, one-byte length)
    /// are counted, the first one reported.
    #[test]
    fn fast_path_is_counted() {
        let mut c = user_data_tpkts(&[m::ERECT]);
        c.extend([0x04, 0x05, 1, 2, 3, 0x04, 0x06, 1, 2, 3, 4]);
        let out = decode_inner(input(&c), input(&[]), Protocols::SSL);
        let count: Vec<_> = out
            .iter()
            .filter(|d| matches!(d.event, ProtoEvent::FastPathCount { .. }))
            .collect();
        assert_eq!(count.len(), 1, "{out:#?}");
        assert_eq!(
            count[0].event,
            ProtoEvent::FastPathCount { pdus: 2, bytes: 11 }
        );
        assert_eq!((count[0].start, count[0].end), (17, 23));
        assert_eq!(
            out.iter()
                .filter(|d| matches!(d.event, ProtoEvent::FastPath { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn cut_plaintext_never_panics() {
        let mut c = ts_request(6, Some(&negotiate()), false, false, None, false);
        c.extend(ts_request(
            6,
            Some(&spec_authenticate()),
            false,
            true,
            None,
            true,
        ));
        c.extend(user_data_tpkts(&[m::CLIENT_INFO]));
        for n in 0..c.len() {
            let _ = decode_inner(input(&c[..n]), input(&c[..n]), Protocols::HYBRID_EX);
        }
    }

    proptest::proptest! {
        /// Any bytes, with or without a TSRequest in front, in any mode:
        /// no panic, and every event lies inside its direction's bytes.
        #[test]
        fn any_plaintext_decodes_without_panic(
            c in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            framed in proptest::prelude::any::<bool>(),
            mode in 0usize..4,
        ) {
            let sel = [Protocols::SSL, Protocols::HYBRID, Protocols::HYBRID_EX, SELECTED_UNKNOWN][mode];
            let wrap = |b: &[u8]| if framed {
                let mut v = ts_request(6, Some(b), false, false, None, false);
                v.extend_from_slice(b);
                v
            } else {
                b.to_vec()
            };
            let (c, s) = (wrap(&c), wrap(&s));
            for d in decode_inner(input(&c), input(&s), sel) {
                let len = if d.dir == Dir::ToServer { c.len() } else { s.len() };
                proptest::prop_assert!(d.start <= d.end && d.end as usize <= len.max(1));
            }
        }
    }

    /// RDSTLS and RDSAAD plaintext is not decoded (an RDSTLS
    /// authentication request carries the password): one `Stopped` event
    /// per direction says so, nothing else is read.
    #[test]
    fn rdstls_and_rdsaad_are_not_decoded() {
        let c = user_data_tpkts(&[m::ERECT, m::ATTACH_REQ]);
        let s = user_data_tpkts(&[m::ATTACH_CONFIRM]);
        for p in [Protocols::RDSTLS, Protocols::RDSAAD] {
            let out = decode_inner(input(&c), input(&s), p);
            assert_eq!(out.len(), 2, "{out:#?}");
            for d in &out {
                assert_eq!(
                    d.event,
                    ProtoEvent::Stopped {
                        why: StopReason::SecurityProtocolNotDecoded { protocol: p }
                    }
                );
            }
        }
        let why = StopReason::SecurityProtocolNotDecoded {
            protocol: Protocols::RDSTLS,
        };
        assert_eq!(
            why.to_string(),
            "the RDSTLS exchange inside TLS is not decoded"
        );
    }
}
