//! The CredSSP TSRequest ([MS-CSSP] 2.2.1) and the security token it
//! carries in negoTokens: raw NTLMSSP ([MS-NLMP] 2.2.1), SPNEGO
//! NegTokenInit / NegTokenResp (RFC 4178 4.2) and the Kerberos messages
//! of RFC 4121 4.1 / RFC 4120 5.5 recognised by their tags.
//!
//! ```text
//! TSRequest ::= SEQUENCE {
//!     version    [0] INTEGER,
//!     negoTokens [1] NegoData OPTIONAL,
//!     authInfo   [2] OCTET STRING OPTIONAL,
//!     pubKeyAuth [3] OCTET STRING OPTIONAL,
//!     errorCode  [4] INTEGER OPTIONAL,          -- version 3 and later
//!     clientNonce [5] OCTET STRING OPTIONAL }   -- version 5 and later
//! NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
//! ```
//!
//! authInfo (the TSCredentials: user name, domain and password, encrypted
//! once more with the authentication's session key), pubKeyAuth and
//! clientNonce are recorded as present, never kept.

use super::ber::{self, Tlv};
use super::ntlm::{self, NtlmMessage};
use super::ntstatus::NtStatus;
use super::tpkt::{invalid, PduError, PduResult, Reader};

/// How the token travels: raw (as mstsc and FreeRDP send NTLM) or inside
/// SPNEGO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenWrapping {
    Raw,
    SpnegoInit,
    SpnegoResp,
}

/// What the token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Ntlm(NtlmMessage),
    /// Kerberos KRB_AP_REQ ([APPLICATION 14], TOK_ID 01 00).
    KerberosApReq,
    /// Kerberos KRB_AP_REP ([APPLICATION 15], TOK_ID 02 00).
    KerberosApRep,
    /// Kerberos KRB_ERROR ([APPLICATION 30], TOK_ID 03 00).
    KerberosError,
    /// A SPNEGO message without an inner token (e.g. the final
    /// accept-completed).
    Empty,
    /// Bytes none of the above, by their first octet.
    Unknown {
        first: u8,
    },
    /// A token that looked like one of the above but could not be read.
    Undecodable {
        why: String,
    },
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mechanism::Ntlm(m) => write!(f, "{m}"),
            Mechanism::KerberosApReq => f.write_str("Kerberos AP-REQ"),
            Mechanism::KerberosApRep => f.write_str("Kerberos AP-REP"),
            Mechanism::KerberosError => f.write_str("Kerberos KRB-ERROR"),
            Mechanism::Empty => f.write_str("no inner token"),
            Mechanism::Unknown { first } => write!(f, "unknown token (first octet 0x{first:02x})"),
            Mechanism::Undecodable { why } => write!(f, "undecodable token: {why}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegoToken {
    pub wrapping: TokenWrapping,
    pub mech: Mechanism,
}

/// One TSRequest, with presence flags for what must never be kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsRequest {
    pub version: u32,
    pub token: Option<NegoToken>,
    /// authInfo: the encrypted TSCredentials (presence only).
    pub credentials: bool,
    pub pub_key_auth: bool,
    pub error_code: Option<NtStatus>,
    pub client_nonce: bool,
}

/// The size of the BER TLV starting `b` (header and value), or
/// `Incomplete` when its header is cut.
pub fn tlv_size(b: &[u8]) -> PduResult<usize> {
    let mut r = Reader::new(b);
    let id = r.u8()?;
    if id & 0x1f == 0x1f {
        return invalid("high tag number where a TSRequest SEQUENCE was due");
    }
    let len = ber::read_length(&mut r)?;
    r.pos().checked_add(len).ok_or(PduError::Incomplete)
}

/// Whether `b` starts like a TSRequest: a SEQUENCE whose first field is
/// `[0]` holding an INTEGER.
pub fn looks_like_tsrequest(b: &[u8]) -> bool {
    let mut r = Reader::new(b);
    let Ok(0x30) = r.u8() else { return false };
    if ber::read_length(&mut r).is_err() {
        return false;
    }
    matches!(r.rest(), [] | [0xa0, ..])
}

/// A BER INTEGER of at most 4 octets (5 with a leading zero) as the
/// 32-bit pattern it encodes: negative values are sign-extended, so
/// 0xC000006D reads the same whether written in 4 octets or 5.
fn int32(v: &[u8]) -> PduResult<u32> {
    match v {
        [] => invalid("empty INTEGER"),
        [0, rest @ ..] if rest.len() == 4 => {
            Ok(u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]))
        }
        _ if v.len() <= 4 => {
            let fill = if v[0] & 0x80 != 0 { 0xff } else { 0 };
            let mut b = [fill; 4];
            b[4 - v.len()..].copy_from_slice(v);
            Ok(u32::from_be_bytes(b))
        }
        _ => invalid(format!("INTEGER of {} octets", v.len())),
    }
}

/// The value of the universal TLV inside a context-tagged field.
fn inner<'a>(field: &Tlv<'a>) -> PduResult<Tlv<'a>> {
    ber::read_tlv(&mut Reader::new(field.value))
}

/// Decode one whole TSRequest. Fields other than [0]..[5] are skipped;
/// an undecodable token is kept as `Mechanism::Undecodable`.
pub fn decode_tsrequest(b: &[u8]) -> PduResult<TsRequest> {
    let outer = ber::read_tlv(&mut Reader::new(b))?;
    if (outer.class, outer.tag) != (0, ber::TAG_SEQUENCE) {
        return invalid("not a SEQUENCE");
    }
    let mut r = Reader::new(outer.value);
    let mut t = TsRequest::default();
    while r.remaining() > 0 {
        let f = ber::read_tlv(&mut r)?;
        if f.class != 2 {
            continue;
        }
        match f.tag {
            0 => t.version = int32(inner(&f)?.value)?,
            1 => t.token = first_nego_token(f.value).map(token),
            2 => t.credentials = true,
            3 => t.pub_key_auth = true,
            4 => t.error_code = Some(NtStatus(int32(inner(&f)?.value)?)),
            5 => t.client_nonce = true,
            _ => {}
        }
    }
    Ok(t)
}

/// NegoData: the first item's `negoToken [0] OCTET STRING`.
fn first_nego_token(nego_data: &[u8]) -> Option<&[u8]> {
    let seq_of = ber::read_tlv(&mut Reader::new(nego_data)).ok()?;
    let item = ber::read_tlv(&mut Reader::new(seq_of.value)).ok()?;
    let tagged = ber::read_tlv(&mut Reader::new(item.value)).ok()?;
    Some(inner(&tagged).ok()?.value)
}

/// OIDs (DER contents): SPNEGO 1.3.6.1.5.5.2, Kerberos 5
/// 1.2.840.113554.1.2.2 and Microsoft's 1.2.840.48018.1.2.2.
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

fn token(b: &[u8]) -> NegoToken {
    match b.first() {
        Some(0x60) => match gss_framed(b) {
            Ok(t) => t,
            Err(e) => raw(undecodable(e)),
        },
        Some(0xa1) => NegoToken {
            wrapping: TokenWrapping::SpnegoResp,
            mech: spnego_inner(b, 2).unwrap_or_else(undecodable),
        },
        _ => raw(mechanism(b)),
    }
}

fn raw(mech: Mechanism) -> NegoToken {
    NegoToken {
        wrapping: TokenWrapping::Raw,
        mech,
    }
}

fn undecodable(e: PduError) -> Mechanism {
    Mechanism::Undecodable {
        why: match e {
            PduError::Incomplete => "cut short".to_string(),
            PduError::Invalid(w) => w,
        },
    }
}

/// A token without wrapping: NTLMSSP or a bare Kerberos message.
fn mechanism(b: &[u8]) -> Mechanism {
    if ntlm::is_ntlmssp(b) {
        return match ntlm::decode_ntlm(b) {
            Ok(m) => Mechanism::Ntlm(m),
            Err(e) => undecodable(e),
        };
    }
    match b.first() {
        None => Mechanism::Empty,
        Some(0x6e) => Mechanism::KerberosApReq,
        Some(0x6f) => Mechanism::KerberosApRep,
        Some(0x7e) => Mechanism::KerberosError,
        Some(&first) => Mechanism::Unknown { first },
    }
}

/// An inner token: GSS-framed or bare.
fn inner_mechanism(b: &[u8]) -> Mechanism {
    match b.first() {
        Some(0x60) => gss_framed(b).map_or_else(undecodable, |t| t.mech),
        _ => mechanism(b),
    }
}

/// `[APPLICATION 0] { thisMech OID, innerToken }` (RFC 2743 3.1): SPNEGO's
/// NegTokenInit, or a Kerberos token with its TOK_ID (RFC 4121 4.1).
fn gss_framed(b: &[u8]) -> PduResult<NegoToken> {
    let app = ber::read_tlv(&mut Reader::new(b))?;
    let mut r = Reader::new(app.value);
    let oid = ber::read_tlv(&mut r)?;
    if oid.value == OID_SPNEGO {
        return Ok(NegoToken {
            wrapping: TokenWrapping::SpnegoInit,
            mech: spnego_inner(r.rest(), 2).unwrap_or_else(undecodable),
        });
    }
    if oid.value == OID_KRB5 || oid.value == OID_MS_KRB5 {
        let mech = match r.take(2)? {
            [1, 0] => Mechanism::KerberosApReq,
            [2, 0] => Mechanism::KerberosApRep,
            [3, 0] => Mechanism::KerberosError,
            _ => mechanism(r.rest()),
        };
        return Ok(raw(mech));
    }
    invalid("GSS-API token of an unknown mechanism")
}

/// NegTokenInit `[0]` / NegTokenResp `[1]` CHOICE, a SEQUENCE, and in it
/// the field `[tag]` (mechToken and responseToken are both `[2]`).
fn spnego_inner(b: &[u8], tag: u32) -> PduResult<Mechanism> {
    let choice = ber::read_tlv(&mut Reader::new(b))?;
    let seq = inner(&choice)?;
    let mut r = Reader::new(seq.value);
    while r.remaining() > 0 {
        let f = ber::read_tlv(&mut r)?;
        if f.class == 2 && f.tag == tag {
            return Ok(inner_mechanism(inner(&f)?.value));
        }
    }
    Ok(Mechanism::Empty)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::ntlm::tests::{spec_authenticate, SPEC_CHALLENGE};
    use crate::proto::tpkt::hex;

    /// A DER TLV with a definite length (short or long form).
    pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        match value.len() {
            n if n < 0x80 => v.push(n as u8),
            n if n < 0x100 => v.extend([0x81, n as u8]),
            n => v.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        v.extend_from_slice(value);
        v
    }

    /// A TSRequest built from [MS-CSSP] 2.2.1: version, then optional
    /// negoTokens (one token), pubKeyAuth, errorCode (4-octet INTEGER),
    /// clientNonce.
    pub(crate) fn ts_request(
        version: u8,
        token: Option<&[u8]>,
        auth_info: bool,
        pub_key_auth: bool,
        error: Option<u32>,
        nonce: bool,
    ) -> Vec<u8> {
        let mut body = tlv(0xa0, &tlv(0x02, &[version]));
        if let Some(t) = token {
            let item = tlv(0x30, &tlv(0xa0, &tlv(0x04, t)));
            body.extend(tlv(0xa1, &tlv(0x30, &item)));
        }
        if auth_info {
            body.extend(tlv(0xa2, &tlv(0x04, &[0x11; 40])));
        }
        if pub_key_auth {
            body.extend(tlv(0xa3, &tlv(0x04, &[0x22; 32])));
        }
        if let Some(code) = error {
            body.extend(tlv(0xa4, &tlv(0x02, &code.to_be_bytes())));
        }
        if nonce {
            body.extend(tlv(0xa5, &tlv(0x04, &[0x33; 32])));
        }
        tlv(0x30, &body)
    }

    #[test]
    fn error_code_of_a_version_6_request() {
        // The server's answer to a bad password: errorCode 0xC000006D,
        // four octets, negative as a BER INTEGER.
        let b = ts_request(6, None, false, false, Some(0xC000_006D), false);
        assert_eq!(tlv_size(&b), Ok(b.len()));
        let t = decode_tsrequest(&b).unwrap();
        assert_eq!(t.version, 6);
        assert_eq!(t.error_code, Some(NtStatus(0xC000_006D)));
        assert_eq!(
            t.error_code.unwrap().to_string(),
            "STATUS_LOGON_FAILURE (0xc000006d)"
        );
        // The same value in 5 octets with a leading zero.
        let mut five = tlv(0xa0, &tlv(0x02, &[3]));
        five.extend(tlv(0xa4, &tlv(0x02, &[0, 0xc0, 0, 0x02, 0x34])));
        let t = decode_tsrequest(&tlv(0x30, &five)).unwrap();
        assert_eq!(t.error_code, Some(NtStatus(0xC000_0234)));
    }

    #[test]
    fn tokens_and_presence_flags() {
        let auth = spec_authenticate();
        let t = decode_tsrequest(&ts_request(5, Some(&auth), false, true, None, true)).unwrap();
        assert!(t.pub_key_auth && t.client_nonce && !t.credentials);
        let tok = t.token.unwrap();
        assert_eq!(tok.wrapping, TokenWrapping::Raw);
        let Mechanism::Ntlm(NtlmMessage::Authenticate(a)) = tok.mech else {
            panic!("{:?}", tok.mech)
        };
        assert_eq!(a.user.as_deref(), Some("User"));

        let ch = hex(SPEC_CHALLENGE);
        let t = decode_tsrequest(&ts_request(2, Some(&ch), false, false, None, false)).unwrap();
        assert!(matches!(
            t.token.unwrap().mech,
            Mechanism::Ntlm(NtlmMessage::Challenge(_))
        ));
        let t = decode_tsrequest(&ts_request(2, None, true, false, None, false)).unwrap();
        assert!(t.credentials && t.token.is_none());
    }

    #[test]
    fn spnego_and_kerberos_are_recognised() {
        // RFC 4178 NegTokenInit: [APPLICATION 0] { OID spnego, [0] {
        // SEQUENCE { [2] mechToken = GSS krb5 AP-REQ } } }.
        let mut krb = tlv(0x06, OID_KRB5);
        krb.extend([1, 0]);
        krb.extend(tlv(0x6e, &[0x30, 0x00]));
        let krb = tlv(0x60, &krb);
        let mut init = tlv(0x06, OID_SPNEGO);
        init.extend(tlv(0xa0, &tlv(0x30, &tlv(0xa2, &tlv(0x04, &krb)))));
        let init = tlv(0x60, &init);
        let t = decode_tsrequest(&ts_request(6, Some(&init), false, false, None, false)).unwrap();
        // The mechToken is itself GSS-framed: read by its inner message.
        assert_eq!(
            t.token.unwrap(),
            NegoToken {
                wrapping: TokenWrapping::SpnegoInit,
                mech: Mechanism::KerberosApReq
            }
        );
        // NegTokenResp with a raw AP-REP.
        let resp = tlv(
            0xa1,
            &tlv(0x30, &tlv(0xa2, &tlv(0x04, &tlv(0x6f, &[0x30, 0])))),
        );
        let t = decode_tsrequest(&ts_request(6, Some(&resp), false, false, None, false)).unwrap();
        assert_eq!(
            t.token.unwrap(),
            NegoToken {
                wrapping: TokenWrapping::SpnegoResp,
                mech: Mechanism::KerberosApRep
            }
        );
        // A bare GSS Kerberos token.
        let t = decode_tsrequest(&ts_request(6, Some(&krb), false, false, None, false)).unwrap();
        assert_eq!(t.token.unwrap().mech, Mechanism::KerberosApReq);
    }

    #[test]
    fn cut_and_odd_requests_never_panic() {
        let b = ts_request(6, Some(&spec_authenticate()), false, true, Some(1), true);
        for n in 0..b.len() {
            let _ = decode_tsrequest(&b[..n]);
            let _ = tlv_size(&b[..n]);
        }
        assert!(decode_tsrequest(&[0x31, 0]).is_err());
        assert_eq!(int32(&[0xff]), Ok(0xffff_ffff));
    }
}
