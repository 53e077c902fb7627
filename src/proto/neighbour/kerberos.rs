//! Kerberos V5 messages (RFC 4120 5.4, 5.9), read with rusticata's
//! `kerberos-parser`: which message, for which principal, and the error
//! code and server time of a KRB-ERROR. Everything else (tickets,
//! encrypted parts) stays on the wire.

use kerberos_parser::krb5::{KdcRep, KdcReq, KrbError, MessageType};
use kerberos_parser::krb5_parser;
use x509_parser::der_parser::asn1_rs::FromDer;

/// Encryption types kept per request.
const MAX_ETYPES: usize = 8;

/// The Kerberos message kinds the diagnosis reads (RFC 4120 5.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KrbKind {
    AsReq,
    AsRep,
    TgsReq,
    TgsRep,
    Error,
}

impl std::fmt::Display for KrbKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KrbKind::AsReq => "AS-REQ",
            KrbKind::AsRep => "AS-REP",
            KrbKind::TgsReq => "TGS-REQ",
            KrbKind::TgsRep => "TGS-REP",
            KrbKind::Error => "KRB-ERROR",
        })
    }
}

/// A KRB-ERROR code (RFC 4120 7.5.9): open, unknown values survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KrbErrorCode(pub i32);

impl KrbErrorCode {
    pub const C_PRINCIPAL_UNKNOWN: KrbErrorCode = KrbErrorCode(6);
    pub const S_PRINCIPAL_UNKNOWN: KrbErrorCode = KrbErrorCode(7);
    pub const ETYPE_NOSUPP: KrbErrorCode = KrbErrorCode(14);
    pub const CLIENT_REVOKED: KrbErrorCode = KrbErrorCode(18);
    pub const KEY_EXPIRED: KrbErrorCode = KrbErrorCode(23);
    pub const PREAUTH_FAILED: KrbErrorCode = KrbErrorCode(24);
    pub const PREAUTH_REQUIRED: KrbErrorCode = KrbErrorCode(25);
    pub const AP_ERR_SKEW: KrbErrorCode = KrbErrorCode(37);
    pub const ERR_RESPONSE_TOO_BIG: KrbErrorCode = KrbErrorCode(52);
}

impl std::fmt::Display for KrbErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
            7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
            12 => "KDC_ERR_POLICY",
            14 => "KDC_ERR_ETYPE_NOSUPP",
            18 => "KDC_ERR_CLIENT_REVOKED",
            23 => "KDC_ERR_KEY_EXPIRED",
            24 => "KDC_ERR_PREAUTH_FAILED",
            25 => "KDC_ERR_PREAUTH_REQUIRED",
            37 => "KRB_AP_ERR_SKEW",
            52 => "KRB_ERR_RESPONSE_TOO_BIG",
            60 => "KRB_ERR_GENERIC",
            n => return write!(f, "unknown ({n})"),
        };
        f.write_str(name)
    }
}

/// What one Kerberos message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbMessage {
    pub kind: KrbKind,
    /// The realm of the request or error (the server's realm).
    pub realm: String,
    /// The service principal (`sname`), components joined by `/`, e.g.
    /// `TERMSRV/rdp.lab.test` or `krbtgt/LAB.TEST`.
    pub service: Option<String>,
    /// The client principal (`cname`) when the message carries it.
    pub client: Option<String>,
    pub error: Option<KrbErrorCode>,
    /// The encryption types a request offers, in its order.
    pub etypes: Vec<i32>,
    /// KRB-ERROR: the KDC's clock (`stime`), and the client's (`ctime`)
    /// when echoed, in seconds since the epoch (RFC 4120 5.9.1).
    pub server_time: Option<i64>,
    pub client_time: Option<i64>,
}

impl KrbMessage {
    /// A ticket request for a Remote Desktop server: `TERMSRV/<host>` (or
    /// `HOST/<host>`, which Windows also maps TERMSRV to).
    pub fn rdp_service_host(&self) -> Option<&str> {
        let s = self.service.as_deref()?;
        let (class, host) = s.split_once('/')?;
        (class.eq_ignore_ascii_case("TERMSRV") || class.eq_ignore_ascii_case("HOST"))
            .then_some(host)
    }
}

impl std::fmt::Display for KrbMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kerberos {}", self.kind)?;
        if let Some(e) = self.error {
            write!(f, " {e}")?;
        }
        if let Some(s) = &self.service {
            write!(f, " for {s}@{}", self.realm)?;
        }
        if let Some(c) = &self.client {
            write!(f, " (client {c})")?;
        }
        Ok(())
    }
}

/// Decode one Kerberos message (the body of a datagram, or of a TCP
/// record without its length).
pub fn decode(b: &[u8]) -> Result<KrbMessage, String> {
    // The APPLICATION tag of the outer element says which message it is
    // (RFC 4120 5.10): 0x6a AS-REQ (10) ... 0x7e KRB-ERROR (30).
    match b.first() {
        Some(0x6a) => krb5_parser::parse_as_req(b).map(|(_, r)| request(KrbKind::AsReq, &r)),
        Some(0x6c) => krb5_parser::parse_tgs_req(b).map(|(_, r)| request(KrbKind::TgsReq, &r)),
        Some(0x6b) => krb5_parser::parse_as_rep(b).map(|(_, r)| reply(KrbKind::AsRep, &r)),
        Some(0x6d) => krb5_parser::parse_tgs_rep(b).map(|(_, r)| reply(KrbKind::TgsRep, &r)),
        Some(0x7e) => KrbError::from_der(b).map(|(_, e)| error(&e)),
        Some(&t) => return Err(format!("tag 0x{t:02x} is not a KDC message")),
        None => return Err("empty".into()),
    }
    .map_err(|e| format!("{e}"))
}

fn request(kind: KrbKind, r: &KdcReq<'_>) -> KrbMessage {
    KrbMessage {
        kind,
        realm: r.req_body.realm.0.clone(),
        service: r.req_body.sname.as_ref().map(|n| n.to_string()),
        client: r.req_body.cname.as_ref().map(|n| n.to_string()),
        error: None,
        etypes: r
            .req_body
            .etype
            .iter()
            .take(MAX_ETYPES)
            .map(|e| e.0)
            .collect(),
        server_time: None,
        client_time: None,
    }
}

fn reply(kind: KrbKind, r: &KdcRep<'_>) -> KrbMessage {
    KrbMessage {
        kind,
        realm: r.ticket.realm.0.clone(),
        service: Some(r.ticket.sname.to_string()),
        client: Some(r.cname.to_string()),
        error: None,
        etypes: Vec::new(),
        server_time: None,
        client_time: None,
    }
}

fn error(e: &KrbError<'_>) -> KrbMessage {
    debug_assert_eq!(e.msg_type, MessageType::KRB_ERROR);
    KrbMessage {
        kind: KrbKind::Error,
        realm: e.realm.0.clone(),
        service: Some(e.sname.to_string()),
        client: e.cname.as_ref().map(|n| n.to_string()),
        error: Some(KrbErrorCode(e.error_code.0)),
        etypes: Vec::new(),
        server_time: epoch_secs(&e.stime.0),
        client_time: e.ctime.as_ref().and_then(|t| epoch_secs(&t.0)),
    }
}

/// Seconds since 1970 of a KerberosTime (GeneralizedTime in UTC, RFC 4120
/// 5.2.3), by the civil-from-days arithmetic of the proleptic Gregorian
/// calendar.
fn epoch_secs(t: &x509_parser::der_parser::asn1_rs::ASN1DateTime) -> Option<i64> {
    let (y, m, d) = (i64::from(t.year), i64::from(t.month), i64::from(t.day));
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UDP payload of frame 4 of
    /// testdata/captures/neighbours/n01-kerberos-password-wrong.pcap, which
    /// tshark reads as KRB-ERROR, error_code 24 (KDC_ERR_PREAUTH_FAILED),
    /// realm LAB.TEST, sname krbtgt/LAB.TEST, cname lab, stime
    /// 2026-12-05 10:44:05 UTC, no ctime.
    const PREAUTH_FAILED: &str = concat!(
        "7e81d63081d3a003020105a10302011ea411180f32303236313230353130343430",
        "355aa50502030610d2a603020118a70a1b084c41422e54455354a810300ea00302",
        "0101a10730051b036c6162a90a1b084c41422e54455354aa1d301ba003020102a1",
        "1430121b066b72627467741b084c41422e54455354ab101b0e505245415554485f",
        "4641494c4544ac4d044b3049300aa10402020088a20204003021a103020113a21a",
        "041830163014a003020112a10d1b0b4c41422e544553546c61623009a103020102",
        "a2020400300da10402020085a20504034d4954",
    );

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_krb_error_as_tshark_reads_it() {
        let m = decode(&hex(PREAUTH_FAILED)).unwrap();
        assert_eq!(m.kind, KrbKind::Error);
        assert_eq!(m.error, Some(KrbErrorCode::PREAUTH_FAILED));
        assert_eq!(m.realm, "LAB.TEST");
        assert_eq!(m.service.as_deref(), Some("krbtgt/LAB.TEST"));
        assert_eq!(m.client.as_deref(), Some("lab"));
        // date -u -d '2026-12-05 10:44:05' +%s
        assert_eq!(m.server_time, Some(1_796_467_445));
        assert_eq!(m.client_time, None);
        assert_eq!(m.rdp_service_host(), None);
        assert_eq!(
            m.to_string(),
            "Kerberos KRB-ERROR KDC_ERR_PREAUTH_FAILED for krbtgt/LAB.TEST@LAB.TEST (client lab)"
        );
    }

    #[test]
    fn cut_or_foreign_bytes_are_an_error_not_a_panic() {
        let b = hex(PREAUTH_FAILED);
        for n in 0..b.len() {
            let _ = decode(&b[..n]);
        }
        assert!(decode(&[0x30, 0x03, 0x02, 0x01, 0x05]).is_err());
        assert!(decode(&[]).is_err());
        assert_eq!(KrbErrorCode(99).to_string(), "unknown (99)");
    }
}
