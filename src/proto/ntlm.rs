//! NTLMSSP messages ([MS-NLMP] 2.2.1.1 NEGOTIATE_MESSAGE, 2.2.1.2
//! CHALLENGE_MESSAGE, 2.2.1.3 AUTHENTICATE_MESSAGE, 2.2.2.1 AV_PAIR,
//! 2.2.2.10 VERSION) as CredSSP carries them in a TSRequest's negoToken.
//!
//! Kept: message type, flags, the names (domain, user, workstation, the
//! server's target name and computer names), the VERSION structures (the
//! client's and the server's OS build) and the kind of the NT response.
//! Never kept: the challenge, the LM/NT responses, the encrypted session
//! key and the MIC — what an attacker could crack or replay stays out of
//! every event.

use super::tpkt::{invalid, PduResult, Reader};

/// "NTLMSSP\0" ([MS-NLMP] 2.2.1.1 Signature).
pub const NTLMSSP_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NegotiateFlags bits read here ([MS-NLMP] 2.2.2.5).
pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;

/// The VERSION structure ([MS-NLMP] 2.2.2.10): the sender's OS version
/// and the NTLM revision (15 for NTLMSSP_REVISION_W2K3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtlmVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
    pub revision: u8,
}

impl std::fmt::Display for NtlmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{} (NTLM revision {})",
            self.major, self.minor, self.build, self.revision
        )
    }
}

/// What the NtChallengeResponse field says about the protocol, never its
/// bytes ([MS-NLMP] 3.3: 24 bytes is NTLMv1, longer is an NTLMv2
/// response with its blob; empty with an empty user is anonymous).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NtResponseKind {
    Empty,
    V1,
    V2 { len: u16 },
}

impl std::fmt::Display for NtResponseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NtResponseKind::Empty => f.write_str("empty (anonymous)"),
            NtResponseKind::V1 => f.write_str("NTLMv1"),
            NtResponseKind::V2 { len } => write!(f, "NTLMv2 ({len} bytes)"),
        }
    }
}

/// A payload field of a message whose offset and length do not fit the
/// message: it is left out, the rest is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NtlmField {
    DomainName,
    UserName,
    Workstation,
    TargetName,
    TargetInfo,
    NtChallengeResponse,
}

impl std::fmt::Display for NtlmField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NtlmField::DomainName => "DomainName",
            NtlmField::UserName => "UserName",
            NtlmField::Workstation => "Workstation",
            NtlmField::TargetName => "TargetName",
            NtlmField::TargetInfo => "TargetInfo",
            NtlmField::NtChallengeResponse => "NtChallengeResponse",
        })
    }
}

/// CHALLENGE_MESSAGE: what the server says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NtlmChallenge {
    pub flags: u32,
    pub target_name: Option<String>,
    /// AV pairs MsvAvNbDomainName (2), MsvAvNbComputerName (1),
    /// MsvAvDnsComputerName (3), MsvAvDnsDomainName (4).
    pub nb_domain: Option<String>,
    pub nb_computer: Option<String>,
    pub dns_computer: Option<String>,
    pub dns_domain: Option<String>,
    /// MsvAvTimestamp (7): the server's clock as a FILETIME.
    pub timestamp: Option<u64>,
    /// The server's OS version.
    pub version: Option<NtlmVersion>,
    pub bad_fields: Vec<NtlmField>,
}

/// AUTHENTICATE_MESSAGE: who the client says it is (never its proof).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NtlmAuthenticate {
    pub flags: u32,
    pub domain: Option<String>,
    pub user: Option<String>,
    pub workstation: Option<String>,
    pub response: Option<NtResponseKind>,
    /// The client's OS version.
    pub version: Option<NtlmVersion>,
    pub bad_fields: Vec<NtlmField>,
}

/// One NTLMSSP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NtlmMessage {
    Negotiate {
        flags: u32,
        version: Option<NtlmVersion>,
    },
    Challenge(Box<NtlmChallenge>),
    Authenticate(Box<NtlmAuthenticate>),
    /// A MessageType [MS-NLMP] does not define.
    Other {
        message_type: u32,
    },
}

impl NtlmMessage {
    /// MessageType ([MS-NLMP] 2.2.1: 1, 2, 3), as tshark's
    /// `ntlmssp.messagetype`.
    pub fn message_type(&self) -> u32 {
        match self {
            NtlmMessage::Negotiate { .. } => 1,
            NtlmMessage::Challenge(_) => 2,
            NtlmMessage::Authenticate(_) => 3,
            NtlmMessage::Other { message_type } => *message_type,
        }
    }
}

impl std::fmt::Display for NtlmMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NtlmMessage::Negotiate { .. } => f.write_str("NTLMSSP_NEGOTIATE"),
            NtlmMessage::Challenge(_) => f.write_str("NTLMSSP_CHALLENGE"),
            NtlmMessage::Authenticate(_) => f.write_str("NTLMSSP_AUTH"),
            NtlmMessage::Other { message_type } => {
                write!(f, "NTLMSSP message type 0x{message_type:08x}")
            }
        }
    }
}

/// Whether `b` starts with the NTLMSSP signature.
pub fn is_ntlmssp(b: &[u8]) -> bool {
    b.starts_with(NTLMSSP_SIGNATURE)
}

/// Decode one NTLMSSP message. `Err` only when the fixed header (signature
/// and type) or a message's fixed fields are cut; a payload field out of
/// range is left out and named in `bad_fields`.
pub fn decode_ntlm(msg: &[u8]) -> PduResult<NtlmMessage> {
    let mut r = Reader::new(msg);
    if r.take(8)? != NTLMSSP_SIGNATURE {
        return invalid("no NTLMSSP signature");
    }
    Ok(match r.u32_le()? {
        1 => {
            let flags = r.u32_le()?;
            r.skip(16)?; // DomainNameFields, WorkstationFields
            NtlmMessage::Negotiate {
                flags,
                version: version(&mut r, flags),
            }
        }
        2 => NtlmMessage::Challenge(Box::new(challenge(msg, &mut r)?)),
        3 => NtlmMessage::Authenticate(Box::new(authenticate(msg, &mut r)?)),
        message_type => NtlmMessage::Other { message_type },
    })
}

/// Length, MaxLength, BufferOffset ([MS-NLMP] 2.2.1.1 "Fields").
fn fields(r: &mut Reader<'_>) -> PduResult<(usize, usize)> {
    let len = r.u16_le()? as usize;
    let _max = r.u16_le()?;
    let off = r.u32_le()? as usize;
    Ok((off, len))
}

fn payload(msg: &[u8], (off, len): (usize, usize)) -> Option<&[u8]> {
    msg.get(off..off.checked_add(len)?)
}

/// The VERSION field, present when NTLMSSP_NEGOTIATE_VERSION is set (and
/// the bytes are there; a message cut there keeps what came before).
fn version(r: &mut Reader<'_>, flags: u32) -> Option<NtlmVersion> {
    if flags & NTLMSSP_NEGOTIATE_VERSION == 0 {
        return None;
    }
    let b = r.take(8).ok()?;
    Some(NtlmVersion {
        major: b[0],
        minor: b[1],
        build: u16::from_le_bytes([b[2], b[3]]),
        revision: b[7],
    })
}

fn text(b: &[u8], unicode: bool) -> String {
    if unicode {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(b).into_owned()
    }
}

/// A name field: its text, or `None` and a note in `bad` when it does
/// not fit the message. An empty field is `None`.
fn name(
    msg: &[u8],
    f: (usize, usize),
    unicode: bool,
    field: NtlmField,
    bad: &mut Vec<NtlmField>,
) -> Option<String> {
    if f.1 == 0 {
        return None;
    }
    match payload(msg, f) {
        Some(b) => Some(text(b, unicode)),
        None => {
            bad.push(field);
            None
        }
    }
}

fn challenge(msg: &[u8], r: &mut Reader<'_>) -> PduResult<NtlmChallenge> {
    let target = fields(r)?;
    let flags = r.u32_le()?;
    r.skip(8 + 8)?; // ServerChallenge, Reserved
    let info = fields(r)?;
    let mut c = NtlmChallenge {
        flags,
        version: version(r, flags),
        ..Default::default()
    };
    let unicode = flags & NTLMSSP_NEGOTIATE_UNICODE != 0;
    c.target_name = name(
        msg,
        target,
        unicode,
        NtlmField::TargetName,
        &mut c.bad_fields,
    );
    if info.1 > 0 {
        match payload(msg, info) {
            Some(b) => av_pairs(b, &mut c),
            None => c.bad_fields.push(NtlmField::TargetInfo),
        }
    }
    Ok(c)
}

/// AV_PAIRs ([MS-NLMP] 2.2.2.1) up to MsvAvEOL; names are always
/// UTF-16LE. A pair cut short ends the list.
fn av_pairs(b: &[u8], c: &mut NtlmChallenge) {
    let mut r = Reader::new(b);
    while let (Ok(id), Ok(len)) = (r.u16_le(), r.u16_le()) {
        let Ok(v) = r.take(len as usize) else {
            c.bad_fields.push(NtlmField::TargetInfo);
            return;
        };
        let s = || Some(text(v, true));
        match id {
            0 => return,
            1 => c.nb_computer = s(),
            2 => c.nb_domain = s(),
            3 => c.dns_computer = s(),
            4 => c.dns_domain = s(),
            7 if v.len() == 8 => {
                c.timestamp = Some(u64::from_le_bytes(v.try_into().unwrap_or([0; 8])))
            }
            _ => {}
        }
    }
}

fn authenticate(msg: &[u8], r: &mut Reader<'_>) -> PduResult<NtlmAuthenticate> {
    let _lm = fields(r)?;
    let nt = fields(r)?;
    let domain = fields(r)?;
    let user = fields(r)?;
    let ws = fields(r)?;
    let _session_key = fields(r)?;
    let flags = r.u32_le()?;
    let mut a = NtlmAuthenticate {
        flags,
        version: version(r, flags),
        ..Default::default()
    };
    let unicode = flags & NTLMSSP_NEGOTIATE_UNICODE != 0;
    let bad = &mut a.bad_fields;
    a.domain = name(msg, domain, unicode, NtlmField::DomainName, bad);
    a.user = name(msg, user, unicode, NtlmField::UserName, bad);
    a.workstation = name(msg, ws, unicode, NtlmField::Workstation, bad);
    a.response = match (nt.1, payload(msg, nt)) {
        (_, None) => {
            bad.push(NtlmField::NtChallengeResponse);
            None
        }
        (0, _) => Some(NtResponseKind::Empty),
        (24, _) => Some(NtResponseKind::V1),
        (len, _) => Some(NtResponseKind::V2 { len: len as u16 }),
    };
    Ok(a)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::tpkt::hex;

    /// [MS-NLMP] 4.2.4.3, the CHALLENGE_MESSAGE of the NTLMv2 example:
    /// TargetName "Server", flags 0xe28a8233, VERSION 6.0.6000 revision
    /// 15, AV pairs NbDomainName "Domain" and NbComputerName "Server".
    pub(crate) const SPEC_CHALLENGE: &str = "4e544c4d53535000 02000000 0c000c0038000000 33828ae2
        0123456789abcdef 0000000000000000 2400240044000000 060070170000000f
        530065007200760065007200
        02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000";

    /// An AUTHENTICATE_MESSAGE laid out as [MS-NLMP] 2.2.1.3 says, with
    /// the names of the 4.2.4 example (domain "Domain", user "User",
    /// workstation "COMPUTER") and a 44-byte NTLMv2 response.
    pub(crate) fn spec_authenticate() -> Vec<u8> {
        let u16s = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let (lm, nt) = (vec![0u8; 24], vec![0x5au8; 44]);
        let (dom, user, ws) = (u16s("Domain"), u16s("User"), u16s("COMPUTER"));
        let key = vec![0xa5u8; 16];
        let header = 8 + 4 + 6 * 8 + 4 + 8 + 16;
        let mut payload = Vec::new();
        let mut fields = Vec::new();
        for f in [&lm, &nt, &dom, &user, &ws, &key] {
            let off = header + payload.len();
            fields.extend_from_slice(&(f.len() as u16).to_le_bytes());
            fields.extend_from_slice(&(f.len() as u16).to_le_bytes());
            fields.extend_from_slice(&(off as u32).to_le_bytes());
            payload.extend_from_slice(f);
        }
        let mut m = NTLMSSP_SIGNATURE.to_vec();
        m.extend_from_slice(&3u32.to_le_bytes());
        m.extend_from_slice(&fields);
        m.extend_from_slice(&0xe288_8235u32.to_le_bytes());
        m.extend_from_slice(&[5, 0, 0x28, 0x0a, 0, 0, 0, 0x0f]);
        m.extend_from_slice(&[0u8; 16]); // MIC
        m.extend_from_slice(&payload);
        m
    }

    #[test]
    fn spec_challenge() {
        let NtlmMessage::Challenge(c) = decode_ntlm(&hex(SPEC_CHALLENGE)).unwrap() else {
            panic!("not a challenge")
        };
        assert_eq!(c.flags, 0xe28a_8233);
        assert_eq!(c.target_name.as_deref(), Some("Server"));
        assert_eq!(c.nb_domain.as_deref(), Some("Domain"));
        assert_eq!(c.nb_computer.as_deref(), Some("Server"));
        assert_eq!(
            c.version.unwrap().to_string(),
            "6.0.6000 (NTLM revision 15)"
        );
        assert!(c.bad_fields.is_empty());
    }

    #[test]
    fn authenticate_names_and_response_kind() {
        let NtlmMessage::Authenticate(a) = decode_ntlm(&spec_authenticate()).unwrap() else {
            panic!("not an authenticate")
        };
        assert_eq!(a.domain.as_deref(), Some("Domain"));
        assert_eq!(a.user.as_deref(), Some("User"));
        assert_eq!(a.workstation.as_deref(), Some("COMPUTER"));
        assert_eq!(a.response, Some(NtResponseKind::V2 { len: 44 }));
        assert_eq!(a.version.unwrap().build, 0x0a28);
    }

    #[test]
    fn a_field_out_of_range_is_left_out_not_fatal() {
        let mut m = spec_authenticate();
        // UserNameFields BufferOffset (at 12 + 3 * 8 + 4) far past the end.
        m[40..44].copy_from_slice(&0xffffu32.to_le_bytes());
        let NtlmMessage::Authenticate(a) = decode_ntlm(&m).unwrap() else {
            panic!()
        };
        assert_eq!(a.user, None);
        assert_eq!(a.domain.as_deref(), Some("Domain"));
        assert_eq!(a.bad_fields, vec![NtlmField::UserName]);
    }

    #[test]
    fn cut_messages_never_panic() {
        let full = hex(SPEC_CHALLENGE);
        let auth = spec_authenticate();
        for m in [&full, &auth] {
            for n in 0..m.len() {
                let _ = decode_ntlm(&m[..n]);
            }
        }
        assert!(decode_ntlm(b"NTLMSSQ\0\x01\0\0\0").is_err());
        assert_eq!(
            decode_ntlm(b"NTLMSSP\0\x09\0\0\0").unwrap(),
            NtlmMessage::Other { message_type: 9 }
        );
    }
}
