//! TPKT (RFC 1006) and X.224 (ITU-T X.224 / ISO 8073 class 0) framing, and
//! the RDP negotiation structures carried in the Connection Request and
//! Connection Confirm TPDUs ([MS-RDPBCGR] 2.2.1.1 and 2.2.1.2).

/// Requested protocols: a bit set (RDP_NEG_REQ.requestedProtocols).
/// Selected protocol: a value (RDP_NEG_RSP.selectedProtocol), 0 = Standard
/// RDP Security. Both kept raw; unknown bits survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Protocols(pub u32);

impl Protocols {
    pub const RDP: u32 = 0x0000_0000;
    pub const SSL: u32 = 0x0000_0001;
    pub const HYBRID: u32 = 0x0000_0002;
    pub const RDSTLS: u32 = 0x0000_0004;
    pub const HYBRID_EX: u32 = 0x0000_0008;
    pub const RDSAAD: u32 = 0x0000_0010;

    /// Names of the bits of a requested set, e.g. `["SSL", "HYBRID"]`;
    /// an empty set is `["RDP"]` (Standard RDP Security only); unknown
    /// bits as `unknown (0x..)`.
    pub fn requested_names(self) -> Vec<String> {
        let mut v = Vec::new();
        self.each_requested(|name| v.push(name.to_string()));
        v
    }

    /// The names of [`Protocols::requested_names`] joined by `|`,
    /// written without a vector or a string per name (the negotiation's
    /// sentence and evidence print it for every connection).
    pub fn requested_joined(self) -> RequestedNames {
        RequestedNames(self)
    }

    /// Call `f` with the name of each bit of a requested set, in the
    /// order of [`Protocols::requested_names`].
    fn each_requested(self, mut f: impl FnMut(&str)) {
        if self.0 == 0 {
            f("RDP");
            return;
        }
        for (bit, name) in [
            (Self::SSL, "SSL"),
            (Self::HYBRID, "HYBRID"),
            (Self::RDSTLS, "RDSTLS"),
            (Self::HYBRID_EX, "HYBRID_EX"),
            (Self::RDSAAD, "RDSAAD"),
        ] {
            if self.0 & bit != 0 {
                f(name);
            }
        }
        let rest = self.0 & !0x1f;
        if rest != 0 {
            f(&super::unknown_hex(rest as u64));
        }
    }

    /// What [`RequestedNames`]' `Display` writes, pushed straight onto
    /// `out` (the negotiation sentence of every connection names it).
    pub fn push_requested(self, out: &mut String) {
        let mut first = true;
        self.each_requested(|name| {
            if !std::mem::take(&mut first) {
                out.push('|');
            }
            out.push_str(name);
        });
    }

    /// What [`SelectedName`]'s `Display` writes, pushed straight onto `out`.
    pub fn push_selected(self, out: &mut String) {
        match self.selected_known() {
            Some(name) => out.push_str(name),
            None => out.push_str(&super::unknown_hex(self.0 as u64)),
        }
    }

    /// Name of a selected protocol value.
    pub fn selected_name(self) -> String {
        self.selected_display().to_string()
    }

    /// [`Protocols::selected_name`] as a `Display`, without a string.
    pub fn selected_display(self) -> SelectedName {
        SelectedName(self)
    }

    /// The name of a selected protocol value the specification defines.
    fn selected_known(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "RDP",
            1 => "SSL",
            2 => "HYBRID",
            4 => "RDSTLS",
            8 => "HYBRID_EX",
            0x10 => "RDSAAD",
            _ => return None,
        })
    }

    /// Whether a requested set includes CredSSP (HYBRID or HYBRID_EX).
    pub fn offers_nla(self) -> bool {
        self.0 & (Self::HYBRID | Self::HYBRID_EX) != 0
    }
    /// Whether a requested set includes TLS in any form.
    pub fn offers_tls(self) -> bool {
        self.0 & (Self::SSL | Self::HYBRID | Self::HYBRID_EX | Self::RDSTLS | Self::RDSAAD) != 0
    }
}

/// A requested set's names joined by `|` (`SSL|HYBRID`), as printed.
#[derive(Clone, Copy, Debug)]
pub struct RequestedNames(Protocols);

impl std::fmt::Display for RequestedNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = Ok(());
        let mut first = true;
        self.0.each_requested(|name| {
            if !std::mem::take(&mut first) {
                out = out.and_then(|()| f.write_str("|"));
            }
            out = out.and_then(|()| f.write_str(name));
        });
        out
    }
}

/// A selected protocol's name, as printed.
#[derive(Clone, Copy, Debug)]
pub struct SelectedName(Protocols);

impl std::fmt::Display for SelectedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.selected_known() {
            Some(name) => f.write_str(name),
            None => f.write_str(&super::unknown_hex(self.0 .0 as u64)),
        }
    }
}

/// RDP_NEG_REQ ([MS-RDPBCGR] 2.2.1.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegReq {
    /// RESTRICTED_ADMIN_MODE_REQUIRED 0x01, REDIRECTED_AUTHENTICATION_MODE_REQUIRED
    /// 0x02, CORRELATION_INFO_PRESENT 0x08; other bits kept.
    pub flags: u8,
    pub requested: Protocols,
}

/// X.224 Connection Request with its RDP payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRequest {
    /// The user name in `Cookie: mstshash=<user>`.
    pub cookie: Option<String>,
    /// A routing token line (`Cookie: msts=...`), raw text.
    pub routing_token: Option<String>,
    pub neg_req: Option<NegReq>,
    /// RDP_NEG_CORRELATION_INFO correlation id, as 32 hex digits.
    pub correlation_id: Option<String>,
}

/// RDP_NEG_FAILURE failureCode ([MS-RDPBCGR] 2.2.1.2.2), open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NegFailureCode(pub u32);

impl NegFailureCode {
    pub const SSL_REQUIRED_BY_SERVER: u32 = 1;
    pub const SSL_NOT_ALLOWED_BY_SERVER: u32 = 2;
    pub const SSL_CERT_NOT_ON_SERVER: u32 = 3;
    pub const INCONSISTENT_FLAGS: u32 = 4;
    pub const HYBRID_REQUIRED_BY_SERVER: u32 = 5;
    pub const SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: u32 = 6;

    pub fn name(self) -> String {
        match self.0 {
            1 => "SSL_REQUIRED_BY_SERVER".into(),
            2 => "SSL_NOT_ALLOWED_BY_SERVER".into(),
            3 => "SSL_CERT_NOT_ON_SERVER".into(),
            4 => "INCONSISTENT_FLAGS".into(),
            5 => "HYBRID_REQUIRED_BY_SERVER".into(),
            6 => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER".into(),
            v => super::unknown_hex(v as u64),
        }
    }
}

/// X.224 Connection Confirm with its RDP payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionConfirm {
    /// RDP_NEG_RSP: flags (EXTENDED_CLIENT_DATA_SUPPORTED 0x01,
    /// DYNVC_GFX_PROTOCOL_SUPPORTED 0x02, RDP_NEGRSP_RESERVED 0x04,
    /// RESTRICTED_ADMIN_MODE_SUPPORTED 0x08, REDIRECTED_AUTHENTICATION_MODE_SUPPORTED 0x10)
    /// and the selected protocol.
    Selected { flags: u8, selected: Protocols },
    /// RDP_NEG_FAILURE.
    Failure { code: NegFailureCode },
    /// No negotiation data: an old server, Standard RDP Security.
    NoNegotiation,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum X224Event {
    ConnectionRequest(ConnectionRequest),
    ConnectionConfirm(ConnectionConfirm),
    /// Disconnect Request TPDU (0x80) with its reason code.
    DisconnectRequest {
        reason: u8,
    },
    /// Error TPDU (0x70) with its reject cause.
    Error {
        cause: u8,
    },
}

use super::tpkt::{invalid, PduError, PduResult, Reader, TPKT_HEADER_LEN};
use super::{Anomaly, Trailer};

/// X.224 TPDU codes (ITU-T X.224 section 13, high nibble of the code byte).
pub const TPDU_CONNECTION_REQUEST: u8 = 0xe0;
pub const TPDU_CONNECTION_CONFIRM: u8 = 0xd0;
pub const TPDU_DISCONNECT_REQUEST: u8 = 0x80;
pub const TPDU_DATA: u8 = 0xf0;
pub const TPDU_ERROR: u8 = 0x70;

/// RDP_NEG_* structure types ([MS-RDPBCGR] 2.2.1.1.1, 2.2.1.1.2,
/// 2.2.1.2.1, 2.2.1.2.2).
const TYPE_RDP_NEG_REQ: u8 = 0x01;
const TYPE_RDP_NEG_RSP: u8 = 0x02;
const TYPE_RDP_NEG_FAILURE: u8 = 0x03;
const TYPE_RDP_CORRELATION_INFO: u8 = 0x06;
/// RDP_NEG_REQ flag: an RDP_NEG_CORRELATION_INFO follows.
pub const CORRELATION_INFO_PRESENT: u8 = 0x08;

/// One X.224 TPDU carried in a TPKT packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tpdu<'a> {
    ConnectionRequest(ConnectionRequest),
    ConnectionConfirm(ConnectionConfirm),
    /// Data TPDU (class 0): the user data and the end-of-TSDU mark.
    Data {
        eot: bool,
        user_data: &'a [u8],
    },
    DisconnectRequest {
        reason: u8,
    },
    Error {
        cause: u8,
    },
    /// A TPDU code RDP does not use.
    Other {
        code: u8,
    },
}

/// A decoded TPDU and the oddities met on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TpduDecoded<'a> {
    pub tpdu: Tpdu<'a>,
    /// Offset of `Data::user_data` within the TPKT packet.
    pub user_data_offset: usize,
    pub anomalies: Vec<Anomaly>,
}

/// Decode one TPKT packet (header included; `pkt` is exactly the packet,
/// as long as its TPKT length says) and the X.224 TPDU inside it.
pub fn decode_tpkt(pkt: &[u8]) -> PduResult<TpduDecoded<'_>> {
    let mut r = Reader::new(pkt);
    let hdr = r.take(TPKT_HEADER_LEN)?;
    if hdr[0] != 3 {
        return invalid(format!("TPKT version {}, expected 3", hdr[0]));
    }
    let tpkt_len = u16::from_be_bytes([hdr[2], hdr[3]]) as usize;
    let mut anomalies = Vec::new();
    if tpkt_len > pkt.len() {
        return Err(PduError::Incomplete);
    }
    let body = pkt
        .get(TPKT_HEADER_LEN..tpkt_len)
        .ok_or(PduError::Incomplete)?;
    let mut r = Reader::new(body);
    // X.224: length indicator (header length without itself), TPDU code.
    let li = r.u8()? as usize;
    let code_byte = r.u8()?;
    if li + 1 > body.len() {
        return invalid(format!(
            "X.224 length indicator {li} exceeds the TPKT payload of {} bytes",
            body.len()
        ));
    }
    if li == 0 {
        return invalid("X.224 length indicator 0");
    }
    // The TPDU as the length indicator delimits it (code byte included).
    let hdr_rest = body.get(2..li + 1).ok_or(PduError::Incomplete)?;
    let trailing = body.get(li + 1..).unwrap_or(&[]);
    let code = code_byte & 0xf0;
    let tpdu = match code {
        TPDU_CONNECTION_REQUEST => {
            let cr = decode_connection_request(hdr_rest, &mut anomalies)?;
            if !trailing.is_empty() {
                anomalies.push(Anomaly::BytesAfter {
                    len: trailing.len(),
                    after: Trailer::X224ConnectionRequest,
                });
            }
            Tpdu::ConnectionRequest(cr)
        }
        TPDU_CONNECTION_CONFIRM => {
            let cc = decode_connection_confirm(hdr_rest, &mut anomalies)?;
            if !trailing.is_empty() {
                anomalies.push(Anomaly::BytesAfter {
                    len: trailing.len(),
                    after: Trailer::X224ConnectionConfirm,
                });
            }
            Tpdu::ConnectionConfirm(cc)
        }
        TPDU_DATA => {
            // Class 0 Data: LI = 2, code, EOT/NR byte.
            let eot_byte = *hdr_rest.first().ok_or(PduError::Incomplete)?;
            if li != 2 {
                anomalies.push(Anomaly::DataLengthIndicator { li });
            }
            return Ok(TpduDecoded {
                tpdu: Tpdu::Data {
                    eot: eot_byte & 0x80 != 0,
                    user_data: trailing,
                },
                user_data_offset: TPKT_HEADER_LEN + li + 1,
                anomalies,
            });
        }
        TPDU_DISCONNECT_REQUEST => {
            // DST-REF (2), SRC-REF (2), reason (1) (X.224 13.5).
            let mut h = Reader::new(hdr_rest);
            h.skip(4)?;
            let reason = h.u8()?;
            Tpdu::DisconnectRequest { reason }
        }
        TPDU_ERROR => {
            // DST-REF (2), reject cause (1) (X.224 13.12).
            let mut h = Reader::new(hdr_rest);
            h.skip(2)?;
            let cause = h.u8()?;
            Tpdu::Error { cause }
        }
        c => Tpdu::Other { code: c },
    };
    Ok(TpduDecoded {
        tpdu,
        user_data_offset: TPKT_HEADER_LEN + li + 1,
        anomalies,
    })
}

/// The X.224 fixed part of a CR/CC after the code byte: DST-REF (2),
/// SRC-REF (2), class and options (1).
fn skip_cr_cc_fixed(r: &mut Reader<'_>, anomalies: &mut Vec<Anomaly>) -> PduResult<()> {
    r.skip(4)?;
    let class = r.u8()?;
    if class >> 4 != 0 {
        anomalies.push(Anomaly::X224Class { class: class >> 4 });
    }
    Ok(())
}

/// [MS-RDPBCGR] 2.2.1.1 Client X.224 Connection Request PDU: the fixed
/// part, then an optional `Cookie:` line (routingToken or cookie), an
/// optional RDP_NEG_REQ and an optional RDP_NEG_CORRELATION_INFO.
/// `tpdu` starts after the code byte and ends where the length indicator
/// says.
pub fn decode_connection_request(
    tpdu: &[u8],
    anomalies: &mut Vec<Anomaly>,
) -> PduResult<ConnectionRequest> {
    let mut r = Reader::new(tpdu);
    skip_cr_cc_fixed(&mut r, anomalies)?;
    let mut cr = ConnectionRequest {
        cookie: None,
        routing_token: None,
        neg_req: None,
        correlation_id: None,
    };
    // Text lines end with CR LF and never start with an RDP_NEG type. The
    // spec allows one (routing token or cookie); more are noted and read.
    let mut lines = 0;
    while r.peek_u8().is_ok_and(|b| b != TYPE_RDP_NEG_REQ) {
        let rest = r.rest();
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            // No line end: perhaps a broken cookie line before an
            // RDP_NEG_REQ that still closes the TPDU.
            anomalies.push(Anomaly::UnframedRequestBytes { len: rest.len() });
            let tail = rest.len().checked_sub(8).and_then(|t| rest.get(t..));
            match tail {
                Some([TYPE_RDP_NEG_REQ, _, 8, 0, ..]) => {
                    r.skip(rest.len() - 8)?;
                    break;
                }
                _ => return Ok(cr),
            }
        };
        let line = rest.get(..eol).unwrap_or(&[]);
        let text = String::from_utf8_lossy(line);
        if let Some(user) = text.strip_prefix("Cookie: mstshash=") {
            cr.cookie = Some(user.to_string());
        } else if text.starts_with("Cookie: ") {
            cr.routing_token = Some(text.into_owned());
        } else {
            anomalies.push(Anomaly::UnknownTextLine {
                line: truncate(&text, 64).into(),
            });
        }
        lines += 1;
        if lines == 2 {
            anomalies.push(Anomaly::SeveralTextLines);
        }
        r.skip(eol + 2)?;
    }
    if r.remaining() == 0 {
        return Ok(cr);
    }
    // RDP_NEG_REQ (2.2.1.1.1): type, flags, length (8), requestedProtocols.
    let ty = r.u8()?;
    if ty != TYPE_RDP_NEG_REQ {
        anomalies.push(Anomaly::RequestNegType { ty });
        return Ok(cr);
    }
    let flags = r.u8()?;
    let len = r.u16_le()?;
    if len != 8 {
        anomalies.push(Anomaly::NegReqLength { len });
    }
    let requested = Protocols(r.u32_le()?);
    cr.neg_req = Some(NegReq { flags, requested });
    if r.remaining() == 0 {
        if flags & CORRELATION_INFO_PRESENT != 0 {
            anomalies.push(Anomaly::CorrelationFlagWithoutInfo);
        }
        return Ok(cr);
    }
    // RDP_NEG_CORRELATION_INFO (2.2.1.1.2): type 6, flags, length 36,
    // correlationId (16), reserved (16).
    let ty = r.u8()?;
    if ty != TYPE_RDP_CORRELATION_INFO {
        anomalies.push(Anomaly::BytesAfterNegReq {
            len: r.remaining() + 1,
            ty,
        });
        return Ok(cr);
    }
    let _flags = r.u8()?;
    let len = r.u16_le()?;
    if len != 36 {
        anomalies.push(Anomaly::CorrelationInfoLength { len });
    }
    let id = r.take(16)?;
    cr.correlation_id = Some(id.iter().map(|b| format!("{b:02x}")).collect());
    if flags & CORRELATION_INFO_PRESENT == 0 {
        anomalies.push(Anomaly::CorrelationInfoWithoutFlag);
    }
    let _reserved = r.take(16)?;
    if r.remaining() != 0 {
        anomalies.push(Anomaly::BytesAfter {
            len: r.remaining(),
            after: Trailer::CorrelationInfo,
        });
    }
    Ok(cr)
}

/// [MS-RDPBCGR] 2.2.1.2 Server X.224 Connection Confirm PDU: the fixed
/// part and an optional RDP_NEG_RSP (2.2.1.2.1) or RDP_NEG_FAILURE
/// (2.2.1.2.2).
pub fn decode_connection_confirm(
    tpdu: &[u8],
    anomalies: &mut Vec<Anomaly>,
) -> PduResult<ConnectionConfirm> {
    let mut r = Reader::new(tpdu);
    skip_cr_cc_fixed(&mut r, anomalies)?;
    if r.remaining() == 0 {
        return Ok(ConnectionConfirm::NoNegotiation);
    }
    let ty = r.u8()?;
    let flags = r.u8()?;
    let len = r.u16_le()?;
    let value = r.u32_le()?;
    if len != 8 {
        anomalies.push(Anomaly::NegLength { len });
    }
    if r.remaining() != 0 {
        anomalies.push(Anomaly::BytesAfter {
            len: r.remaining(),
            after: Trailer::ConfirmNegStructure,
        });
    }
    Ok(match ty {
        TYPE_RDP_NEG_RSP => ConnectionConfirm::Selected {
            flags,
            selected: Protocols(value),
        },
        TYPE_RDP_NEG_FAILURE => ConnectionConfirm::Failure {
            code: NegFailureCode(value),
        },
        t => {
            anomalies.push(Anomaly::ConfirmNegType { ty: t });
            ConnectionConfirm::NoNegotiation
        }
    })
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Whether `buf` starts like a TPKT-framed X.224 Connection Request, even
/// when cut short (by the snap length): TPKT version 3, reserved 0, a
/// length that can hold a CR, a length indicator that fits in it, the CR
/// code, and (when present) zero DST-REF and a class-0 option byte.
pub fn looks_like_connection_request(buf: &[u8]) -> bool {
    let (Some(&v), Some(&res), Some(&l0), Some(&l1), Some(&li), Some(&code)) = (
        buf.first(),
        buf.get(1),
        buf.get(2),
        buf.get(3),
        buf.get(4),
        buf.get(5),
    ) else {
        return false;
    };
    let tpkt_len = u16::from_be_bytes([l0, l1]) as usize;
    if v != 3 || res != 0 || tpkt_len < 11 || li < 6 || li as usize + 5 != tpkt_len {
        return false;
    }
    if code & 0xf0 != TPDU_CONNECTION_REQUEST {
        return false;
    }
    // DST-REF is 0 in a CR (X.224 13.3.3); class 0 in the option byte.
    let dst_ok = buf.get(6..8).map_or(true, |d| d == [0, 0]);
    let class_ok = buf.get(10).map_or(true, |c| c >> 4 == 0);
    dst_ok && class_ok
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::tpkt::{hex, relength};

    #[test]
    fn protocol_names_are_pushed_as_displayed() {
        for bits in (0..=0x3f).chain([0x80, 0x1_0000, 0x8000_0000, 0x8000_0003, u32::MAX]) {
            let p = Protocols(bits);
            let mut requested = String::from("x");
            p.push_requested(&mut requested);
            assert_eq!(requested, format!("x{}", p.requested_joined()), "{bits:#x}");
            let mut selected = String::from("x");
            p.push_selected(&mut selected);
            assert_eq!(selected, format!("x{}", p.selected_display()), "{bits:#x}");
        }
    }

    /// [MS-RDPBCGR] 4.1.1: cookie "eltons", RDP_NEG_REQ requesting
    /// PROTOCOL_RDP.
    pub(crate) const SPEC_CR: &str =
        "0300002c27e00000000000436f6f6b69653a206d737473686173683d656c746f6e730d0a0100080000000000";
    /// [MS-RDPBCGR] 4.1.2: RDP_NEG_RSP selecting PROTOCOL_RDP.
    pub(crate) const SPEC_CC: &str = "030000130ed000001234000200080000000000";
    /// zeek/rdp-x509.pcap frame 6: the cookie keeps its trailing blanks.
    pub(crate) const X509_CR: &str = "0300002f2ae00000000000436f6f6b69653a206d737473686173683d4a4f484e2d504320200d0a0100080000000000";
    /// suricata-verify/RDP-003.pcap frames 4 and 6: no RDP_NEG data.
    pub(crate) const LEGACY_CR: &str =
        "030000241fe00000000000436f6f6b69653a206d737473686173683d4137303036370d0a";
    pub(crate) const LEGACY_CC: &str = "0300000b06d00000123400";
    /// zeek/rdp-proprietary-encryption.pcap frames 4 and 5: SSL requested,
    /// RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER.
    pub(crate) const FAIL_CR: &str = "0300002f2ae00000000000436f6f6b69653a206d737473686173683d465442434f5c4137300d0a0100080001000000";
    pub(crate) const FAIL_CC: &str = "030000130ed000001234000300080002000000";
    /// zeek/rdp-to-ssl.pcap frame 6: flags EXTENDED_CLIENT_DATA_SUPPORTED,
    /// HYBRID selected.
    pub(crate) const NLA_CC: &str = "030000130ed000001234000201080002000000";
    /// Built from the 2.2.1.1 layout: a routing token, RDP_NEG_REQ with
    /// CORRELATION_INFO_PRESENT and an unknown bit (0x80) requesting
    /// SSL|HYBRID|HYBRID_EX plus an unknown bit 0x40, then
    /// RDP_NEG_CORRELATION_INFO.
    pub(crate) const TOKEN_CORR_CR: &str = "0300005b 56 e0 0000 0000 00
        436f6f6b69653a206d7374733d333634303230353232382e31353632392e303030300d0a
        01 88 0800 4b000000
        06 00 2400 00112233445566778899aabbccddeeff 00000000000000000000000000000000";

    fn cr(h: &str) -> (ConnectionRequest, Vec<Anomaly>) {
        let v = hex(h);
        let d = decode_tpkt(&v).unwrap();
        match d.tpdu {
            Tpdu::ConnectionRequest(cr) => (cr, d.anomalies),
            other => panic!("not a CR: {other:?}"),
        }
    }

    fn cc(h: &str) -> (ConnectionConfirm, Vec<Anomaly>) {
        let v = hex(h);
        let d = decode_tpkt(&v).unwrap();
        match d.tpdu {
            Tpdu::ConnectionConfirm(cc) => (cc, d.anomalies),
            other => panic!("not a CC: {other:?}"),
        }
    }

    #[test]
    fn spec_connection_request() {
        let (c, a) = cr(SPEC_CR);
        assert_eq!(c.cookie.as_deref(), Some("eltons"));
        assert_eq!(c.routing_token, None);
        assert_eq!(
            c.neg_req,
            Some(NegReq {
                flags: 0,
                requested: Protocols(0)
            })
        );
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn capture_connection_requests() {
        let (c, a) = cr(X509_CR);
        assert_eq!(c.cookie.as_deref(), Some("JOHN-PC  "));
        assert_eq!(c.neg_req.map(|n| n.requested), Some(Protocols(0)));
        assert!(a.is_empty());
        let (c, a) = cr(LEGACY_CR);
        assert_eq!(c.cookie.as_deref(), Some("A70067"));
        assert_eq!(c.neg_req, None);
        assert!(a.is_empty());
        let (c, _) = cr(FAIL_CR);
        assert_eq!(c.cookie.as_deref(), Some("FTBCO\\A70"));
        assert_eq!(c.neg_req.map(|n| n.requested), Some(Protocols(1)));
    }

    #[test]
    fn routing_token_correlation_and_unknown_bits() {
        let (c, a) = cr(TOKEN_CORR_CR);
        assert_eq!(c.cookie, None);
        assert_eq!(
            c.routing_token.as_deref(),
            Some("Cookie: msts=3640205228.15629.0000")
        );
        let n = c.neg_req.unwrap();
        assert_eq!(n.flags, 0x88);
        assert_eq!(n.requested, Protocols(0x4b));
        assert_eq!(
            n.requested.requested_names(),
            ["SSL", "HYBRID", "HYBRID_EX", "unknown (0x40)"]
        );
        assert_eq!(
            c.correlation_id.as_deref(),
            Some("00112233445566778899aabbccddeeff")
        );
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn odd_text_lines() {
        // A routing token and a cookie (the spec allows only one): both
        // read, noted, and the RDP_NEG_REQ after them still found.
        let body = "436f6f6b69653a206d7374733d31320d0a 436f6f6b69653a206d737473686173683d610d0a 0100080003000000";
        let n = hex(body).len() + 11;
        let v = hex(&format!("030000{:02x}{:02x}e00000000000{body}", n, n - 5));
        let d = decode_tpkt(&v).unwrap();
        let Tpdu::ConnectionRequest(c) = d.tpdu else {
            panic!()
        };
        assert_eq!(c.routing_token.as_deref(), Some("Cookie: msts=12"));
        assert_eq!(c.cookie.as_deref(), Some("a"));
        assert_eq!(c.neg_req.map(|n| n.requested), Some(Protocols(3)));
        assert_eq!(d.anomalies, [Anomaly::SeveralTextLines]);
        // A cookie line without CR LF: the RDP_NEG_REQ closing the TPDU is
        // still read.
        let body = "436f6f6b69653a206d737473686173683d61 0100080001000000";
        let n = hex(body).len() + 11;
        let v = hex(&format!("030000{:02x}{:02x}e00000000000{body}", n, n - 5));
        let d = decode_tpkt(&v).unwrap();
        let Tpdu::ConnectionRequest(c) = d.tpdu else {
            panic!()
        };
        assert_eq!(c.cookie, None);
        assert_eq!(c.neg_req.map(|n| n.requested), Some(Protocols(1)));
        assert_eq!(d.anomalies, [Anomaly::UnframedRequestBytes { len: 26 }]);
    }

    #[test]
    fn connection_confirms() {
        assert_eq!(
            cc(SPEC_CC).0,
            ConnectionConfirm::Selected {
                flags: 0,
                selected: Protocols(0)
            }
        );
        assert_eq!(
            cc(NLA_CC).0,
            ConnectionConfirm::Selected {
                flags: 1,
                selected: Protocols(2)
            }
        );
        assert_eq!(
            cc(FAIL_CC).0,
            ConnectionConfirm::Failure {
                code: NegFailureCode(2)
            }
        );
        assert_eq!(cc(LEGACY_CC).0, ConnectionConfirm::NoNegotiation);
    }

    #[test]
    fn unknown_values_survive() {
        // Selected protocol 0x20 and failure code 9: kept as numbers.
        let (c, a) = cc("030000130ed000001234000200080020000000");
        assert_eq!(
            c,
            ConnectionConfirm::Selected {
                flags: 0,
                selected: Protocols(0x20)
            }
        );
        assert_eq!(Protocols(0x20).selected_name(), "unknown (0x20)");
        assert!(a.is_empty());
        let (c, _) = cc("030000130ed000001234000300080009000000");
        assert_eq!(
            c,
            ConnectionConfirm::Failure {
                code: NegFailureCode(9)
            }
        );
        // An RDP_NEG length of 0 is odd but the value is still read.
        let (c, a) = cc("030000130ed000001234000203000001000000");
        assert_eq!(
            c,
            ConnectionConfirm::Selected {
                flags: 3,
                selected: Protocols(1)
            }
        );
        assert_eq!(a.len(), 1, "{a:?}");
        // An unknown RDP_NEG type: an anomaly, no negotiation data.
        let (c, a) = cc("030000130ed000001234000700080001000000");
        assert_eq!(c, ConnectionConfirm::NoNegotiation);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn protocol_names_as_printed() {
        // The names MS-RDPBCGR 2.2.1.1.1 gives the bits, in bit order.
        for (bits, joined) in [
            (0, "RDP"),
            (0x3, "SSL|HYBRID"),
            (0x1f, "SSL|HYBRID|RDSTLS|HYBRID_EX|RDSAAD"),
            (0x8, "HYBRID_EX"),
            (0x41, "SSL|unknown (0x40)"),
        ] {
            let p = Protocols(bits);
            assert_eq!(p.requested_joined().to_string(), joined);
            assert_eq!(p.requested_names().join("|"), joined);
        }
        for (value, name) in [
            (0, "RDP"),
            (2, "HYBRID"),
            (0x10, "RDSAAD"),
            (3, "unknown (0x03)"),
        ] {
            let p = Protocols(value);
            assert_eq!(p.selected_display().to_string(), name);
            assert_eq!(p.selected_name(), name);
        }
    }

    #[test]
    fn disconnect_error_and_data() {
        let v = hex("0300000b06800000123401");
        assert_eq!(
            decode_tpkt(&v).unwrap().tpdu,
            Tpdu::DisconnectRequest { reason: 1 }
        );
        let v = hex("0300000a05700000 02 00");
        assert_eq!(decode_tpkt(&v).unwrap().tpdu, Tpdu::Error { cause: 2 });
        let v = hex("0300000802f08028");
        let d = decode_tpkt(&v).unwrap();
        assert_eq!(
            d.tpdu,
            Tpdu::Data {
                eot: true,
                user_data: &[0x28]
            }
        );
        assert_eq!(d.user_data_offset, 7);
        let v = hex("0300000802108028");
        assert_eq!(decode_tpkt(&v).unwrap().tpdu, Tpdu::Other { code: 0x10 });
    }

    #[test]
    fn bad_lengths_are_errors_not_panics() {
        // LI beyond the TPKT payload.
        let v = hex("030000130fd000001234000200080000000000");
        assert!(matches!(decode_tpkt(&v), Err(PduError::Invalid(_))));
        // LI 0.
        let v = hex("0300000800f08028");
        assert!(matches!(decode_tpkt(&v), Err(PduError::Invalid(_))));
        // TPKT version 2.
        let v = hex("0200000802f08028");
        assert!(matches!(decode_tpkt(&v), Err(PduError::Invalid(_))));
    }

    #[test]
    fn every_truncation() {
        for h in [
            SPEC_CR,
            SPEC_CC,
            X509_CR,
            LEGACY_CR,
            LEGACY_CC,
            FAIL_CR,
            FAIL_CC,
            NLA_CC,
            TOKEN_CORR_CR,
        ] {
            let v = hex(h);
            assert!(decode_tpkt(&v).is_ok());
            for n in 0..v.len() {
                // Cut bytes: the TPKT length says more is needed.
                assert_eq!(
                    decode_tpkt(&v[..n]),
                    Err(PduError::Incomplete),
                    "{h} cut at {n}"
                );
                // Cut and re-lengthed: any answer but a panic, and a
                // cut fixed part is Incomplete or Invalid.
                let r = relength(&v, n);
                let res = decode_tpkt(&r);
                if n < 11 {
                    assert!(res.is_err(), "{h} relength {n}: {res:?}");
                }
                // Cut inside the TPDU with the length indicator matching:
                // never the full answer, never a panic.
                if n >= 6 {
                    let mut r = relength(&v, n);
                    r[4] = (n - 5) as u8;
                    let full = decode_tpkt(&v).unwrap();
                    assert_ne!(decode_tpkt(&r).as_ref(), Ok(&full), "{h} LI cut at {n}");
                }
            }
        }
    }

    #[test]
    fn request_sniffing() {
        for h in [SPEC_CR, X509_CR, LEGACY_CR, FAIL_CR, TOKEN_CORR_CR] {
            let v = hex(h);
            assert!(looks_like_connection_request(&v));
            // Cut by a snap length: still a CR as far as it goes.
            assert!(looks_like_connection_request(&v[..6]));
            assert!(looks_like_connection_request(&v[..12]));
            assert!(!looks_like_connection_request(&v[..5]));
        }
        assert!(!looks_like_connection_request(&hex(SPEC_CC)));
        assert!(!looks_like_connection_request(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_connection_request(&hex(
            "160301007a010000760301"
        )));
        assert!(!looks_like_connection_request(b"SSH-2.0-OpenSSH_9.6\r\n"));
        // TPKT version 5 (zeek/rdp-invalid-length.pcap style junk).
        assert!(!looks_like_connection_request(&hex("0500002f2ae000000000")));
        // LI that does not match the TPKT length.
        assert!(!looks_like_connection_request(&hex("0300002f20e000000000")));
    }
}
