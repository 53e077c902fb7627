//! MCS (T.125, BER and PER) and GCC (T.124) as used by RDP, and the RDP
//! PDUs that travel in the clear under Standard RDP Security
//! ([MS-RDPBCGR] 2.2.1.3 to 2.2.1.12, 2.2.5.1).

use super::cert::CertInfo;
pub use super::propcert::{ProprietaryCert, SignatureCheck};

/// TS_UD_CS_CORE ([MS-RDPBCGR] 2.2.1.3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCore {
    /// RDP version (e.g. 0x00080004 = RDP 5.0+).
    pub version: u32,
    pub desktop_width: u16,
    pub desktop_height: u16,
    /// High colour depth (postBeta2ColorDepth / highColorDepth), bits.
    pub color_depth: Option<u16>,
    /// Keyboard layout (LCID-style, e.g. 0x409 = US English).
    pub keyboard_layout: u32,
    pub client_build: u32,
    pub client_name: String,
    pub keyboard_type: u32,
    pub client_product_id: Option<u16>,
    pub client_dig_product_id: Option<String>,
    pub early_capability_flags: Option<u16>,
    pub server_selected_protocol: Option<u32>,
}

/// earlyCapabilityFlags RNS_UD_CS_WANT_32BPP_SESSION ([MS-RDPBCGR]
/// 2.2.1.3.2): the client asks for a 32 bpp session; highColorDepth is
/// then only the fallback.
pub const RNS_UD_CS_WANT_32BPP_SESSION: u16 = 0x0002;

impl ClientCore {
    /// The colour depth the client asks for: 32 when it sets
    /// RNS_UD_CS_WANT_32BPP_SESSION, else its (high) colour depth.
    pub fn requested_color_depth(&self) -> Option<u16> {
        match self.early_capability_flags {
            Some(f) if f & RNS_UD_CS_WANT_32BPP_SESSION != 0 => Some(32),
            _ => self.color_depth,
        }
    }
}

/// TS_UD_CS_SEC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSecurity {
    pub encryption_methods: u32,
    pub ext_encryption_methods: u32,
}

/// TS_UD_CS_CLUSTER.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCluster {
    pub flags: u32,
    pub redirected_session_id: u32,
}

impl ClientCluster {
    /// REDIRECTION_SUPPORTED ([MS-RDPBCGR] 2.2.1.3.5): the client can be
    /// redirected by a connection broker.
    pub fn redirection_supported(&self) -> bool {
        self.flags & 0x01 != 0
    }
    /// REDIRECTED_SESSIONID_FIELD_VALID: redirectedSessionID holds the
    /// session to reconnect to.
    pub fn session_id_present(&self) -> bool {
        self.flags & 0x02 != 0
    }
    /// ServerSessionRedirectionVersionMask (bits 2 to 5): the redirection
    /// PDU version the client supports, 1 (REDIRECTION_VERSION1 = 0) to 6.
    pub fn redirection_version(&self) -> u32 {
        ((self.flags & 0x3c) >> 2) + 1
    }
    /// REDIRECTED_SMARTCARD: the client logged on with a smart card.
    pub fn redirected_smartcard(&self) -> bool {
        self.flags & 0x40 != 0
    }
}

/// Name of a T.125 Connect-Response result (Result, [T.125] 7), or
/// `unknown (0x..)`.
pub fn connect_result_name(result: u8) -> String {
    const NAMES: [&str; 16] = [
        "rt-successful",
        "rt-domain-merging",
        "rt-domain-not-hierarchical",
        "rt-no-such-channel",
        "rt-no-such-domain",
        "rt-no-such-user",
        "rt-not-admitted",
        "rt-other-user-id",
        "rt-parameters-unacceptable",
        "rt-token-not-available",
        "rt-token-not-possessed",
        "rt-too-many-channels",
        "rt-too-many-tokens",
        "rt-too-many-users",
        "rt-unspecified-failure",
        "rt-user-rejected",
    ];
    match NAMES.get(result as usize) {
        Some(n) => (*n).to_string(),
        None => super::unknown_hex(result as u64),
    }
}

/// Name of an ENCRYPTION_METHOD_* value ([MS-RDPBCGR] 2.2.1.4.3:
/// encryptionMethod, one value), or `unknown (0x..)`.
pub fn encryption_method_name(m: u32) -> String {
    match m {
        0 => "none".into(),
        0x01 => "40bit".into(),
        0x02 => "128bit".into(),
        0x08 => "56bit".into(),
        0x10 => "fips".into(),
        v => super::unknown_hex(v as u64),
    }
}

/// Names of the ENCRYPTION_METHOD_* flags a client offers ([MS-RDPBCGR]
/// 2.2.1.3.3 encryptionMethods), in bit order; unknown bits as
/// `unknown (0x..)`. Empty for 0 (the client offers no encryption).
pub fn encryption_methods_names(bits: u32) -> Vec<String> {
    let mut v = Vec::new();
    for bit in 0..32 {
        let f = 1u32 << bit;
        if bits & f != 0 {
            v.push(encryption_method_name(f));
        }
    }
    v
}

/// Name of an ENCRYPTION_LEVEL_* value ([MS-RDPBCGR] 2.2.1.4.3
/// encryptionLevel), or `unknown (0x..)`.
pub fn encryption_level_name(l: u32) -> String {
    match l {
        0 => "none".into(),
        1 => "low".into(),
        2 => "client_compatible".into(),
        3 => "high".into(),
        4 => "fips".into(),
        v => super::unknown_hex(v as u64),
    }
}

/// The GCC Conference Create Request user data of MCS Connect Initial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientGcc {
    pub core: Option<ClientCore>,
    pub security: Option<ClientSecurity>,
    /// Static virtual channel names (TS_UD_CS_NET).
    pub channels: Vec<String>,
    pub cluster: Option<ClientCluster>,
    /// Monitors in TS_UD_CS_MONITOR.
    pub monitors: Option<u32>,
    /// Types of user-data blocks we skipped by their length.
    pub unknown_blocks: Vec<u16>,
}

/// The server's certificate in TS_UD_SC_SEC1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCertificate {
    /// Proprietary certificate: an RSA key signed with the Terminal
    /// Services signing key.
    Proprietary(ProprietaryCert),
    /// An X.509 chain (leaf first as far as the order can be told).
    X509(Vec<CertInfo>),
    /// Present but not decoded.
    Other { len: u32 },
}

/// TS_UD_SC_SEC1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSecurity {
    /// ENCRYPTION_METHOD_* (0 none, 1 40-bit, 2 128-bit, 8 56-bit, 0x10 FIPS).
    pub encryption_method: u32,
    /// ENCRYPTION_LEVEL_* (0 none, 1 low, 2 client compatible, 3 high, 4 FIPS).
    pub encryption_level: u32,
    pub certificate: Option<ServerCertificate>,
    /// The certificate's dwVersion top bit clear: permanently issued
    /// ([MS-RDPBCGR] 2.2.1.4.3.1: 0 permanent, 1 temporary); None without
    /// a certificate.
    pub certificate_permanent: Option<bool>,
}

/// The GCC Conference Create Response user data of MCS Connect Response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerGcc {
    /// MCS Connect-Response result (0 = rt-successful).
    pub result: u8,
    /// TS_UD_SC_CORE version and the client's requested protocols echoed.
    pub version: Option<u32>,
    pub client_requested_protocols: Option<u32>,
    pub early_capability_flags: Option<u32>,
    pub security: Option<ServerSecurity>,
    /// TS_UD_SC_NET: the I/O channel and the channel ids.
    pub io_channel: Option<u16>,
    pub channel_ids: Vec<u16>,
    pub unknown_blocks: Vec<u16>,
}

/// Licensing PDU ([MS-RDPELE] / [MS-RDPBCGR] 2.2.1.12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Licensing {
    /// bMsgType (0x01 LICENSE_REQUEST, 0x02 PLATFORM_CHALLENGE, 0x03
    /// NEW_LICENSE, 0x04 UPGRADE_LICENSE, 0x12 LICENSE_INFO, 0x13
    /// NEW_LICENSE_REQUEST, 0x15 PLATFORM_CHALLENGE_RESPONSE, 0xFF ERROR_ALERT).
    pub msg_type: u8,
    /// For ERROR_ALERT: dwErrorCode (e.g. 0x07 STATUS_VALID_CLIENT) and
    /// dwStateTransition.
    pub error_code: Option<u32>,
    pub state_transition: Option<u32>,
}

/// Client Info PDU fields readable when not encrypted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub domain: String,
    pub user: String,
    pub flags: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum McsEvent {
    ConnectInitial(Box<ClientGcc>),
    ConnectResponse(Box<ServerGcc>),
    ErectDomainRequest,
    AttachUserRequest,
    AttachUserConfirm {
        result: u8,
        user_id: Option<u16>,
    },
    ChannelJoinRequest {
        channel: u16,
    },
    ChannelJoinConfirm {
        result: u8,
        channel: u16,
    },
    /// Security Exchange PDU (encrypted client random), Standard Security.
    SecurityExchange {
        len: u32,
    },
    ClientInfo(ClientInfo),
    Licensing(Licensing),
    /// Set Error Info PDU with its errorInfo code.
    SetErrorInfo {
        code: u32,
    },
    DemandActive,
    ConfirmActive,
    /// A slow-path PDU whose body is encrypted (SEC_ENCRYPT).
    EncryptedPdu {
        len: u32,
    },
    /// A Client Info PDU whose body is encrypted (SEC_INFO_PKT with
    /// SEC_ENCRYPT, [MS-RDPBCGR] 2.2.1.11): its place in the sequence is
    /// seen, its content is not.
    EncryptedClientInfo {
        len: u32,
    },
    /// Disconnect Provider Ultimatum with its reason.
    DisconnectProviderUltimatum {
        reason: u8,
    },
    /// Another MCS domain PDU (type number per T.125).
    OtherDomainPdu {
        pdu_type: u8,
    },
    /// Save Session Info PDU ([MS-RDPBCGR] 2.2.10.1).
    SaveSessionInfo(super::rdpdata::SaveSessionInfo),
    /// Deactivate All PDU ([MS-RDPBCGR] 2.2.3.1).
    DeactivateAll,
    /// Enhanced Security Server Redirection PDU ([MS-RDPBCGR] 2.2.13.3.1).
    ServerRedirection(Box<super::rdpdata::ServerRedirection>),
}

/// Name of a T.125 (MCS) disconnect reason (Disconnect Provider
/// Ultimatum, [T.125] 7, Reason), or `unknown (0x..)`.
pub fn disconnect_reason_name(reason: u8) -> String {
    match reason {
        0 => "rn-domain-disconnected".into(),
        1 => "rn-provider-initiated".into(),
        2 => "rn-token-purged".into(),
        3 => "rn-user-requested".into(),
        4 => "rn-channel-purged".into(),
        v => super::unknown_hex(v as u64),
    }
}

/// Name of an MS-RDPBCGR 2.2.5.1.1 errorInfo code, or `unknown (0x..)`.
pub fn error_info_name(code: u32) -> String {
    let n = match code {
        0x0000_0000 => "ERRINFO_NONE",
        0x0000_0001 => "ERRINFO_RPC_INITIATED_DISCONNECT",
        0x0000_0002 => "ERRINFO_RPC_INITIATED_LOGOFF",
        0x0000_0003 => "ERRINFO_IDLE_TIMEOUT",
        0x0000_0004 => "ERRINFO_LOGON_TIMEOUT",
        0x0000_0005 => "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION",
        0x0000_0006 => "ERRINFO_OUT_OF_MEMORY",
        0x0000_0007 => "ERRINFO_SERVER_DENIED_CONNECTION",
        0x0000_0009 => "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES",
        0x0000_000A => "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED",
        0x0000_000B => "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER",
        0x0000_000C => "ERRINFO_LOGOFF_BY_USER",
        0x0000_000F => "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY",
        0x0000_0010 => "ERRINFO_SERVER_DWM_CRASH",
        0x0000_0011 => "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE",
        0x0000_0012 => "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE",
        0x0000_0017 => "ERRINFO_SERVER_WINLOGON_CRASH",
        0x0000_0018 => "ERRINFO_SERVER_CSRSS_CRASH",
        0x0000_0019 => "ERRINFO_SERVER_SHUTDOWN",
        0x0000_001A => "ERRINFO_SERVER_REBOOT",
        0x0000_0100 => "ERRINFO_LICENSE_INTERNAL",
        0x0000_0101 => "ERRINFO_LICENSE_NO_LICENSE_SERVER",
        0x0000_0102 => "ERRINFO_LICENSE_NO_LICENSE",
        0x0000_0103 => "ERRINFO_LICENSE_BAD_CLIENT_MSG",
        0x0000_0104 => "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
        0x0000_0105 => "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
        0x0000_0106 => "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
        0x0000_0107 => "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
        0x0000_0108 => "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
        0x0000_0109 => "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
        0x0000_010A => "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
        0x0000_0400 => "ERRINFO_CB_DESTINATION_NOT_FOUND",
        0x0000_0402 => "ERRINFO_CB_LOADING_DESTINATION",
        0x0000_0404 => "ERRINFO_CB_REDIRECTING_TO_DESTINATION",
        0x0000_0405 => "ERRINFO_CB_SESSION_ONLINE_VM_WAKE",
        0x0000_0406 => "ERRINFO_CB_SESSION_ONLINE_VM_BOOT",
        0x0000_0407 => "ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS",
        0x0000_0408 => "ERRINFO_CB_DESTINATION_POOL_NOT_FREE",
        0x0000_0409 => "ERRINFO_CB_CONNECTION_CANCELLED",
        0x0000_0410 => "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS",
        0x0000_0411 => "ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT",
        0x0000_0412 => "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED",
        0x0000_1000..=0x0000_10FF => return format!("ERRINFO protocol error (0x{code:04x})"),
        _ => return super::unknown_hex(code as u64),
    };
    n.to_string()
}

use super::tpkt::{invalid, PduError, PduResult, Reader};
use super::{ber, per, Anomaly, ConnectPdu, ProtoEvent, RdpPdu, Trailer};

/// What the decoders of one connection learn from the server's MCS Connect
/// Response and need for the later slow-path PDUs of both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlowPathContext {
    /// TS_UD_SC_SEC1 encryptionLevel, once seen. At level 0 (none) only
    /// the Security Exchange, Client Info and licensing PDUs carry a
    /// security header ([MS-RDPBCGR] 2.2.8.1.1.2.1).
    pub encryption_level: Option<u32>,
    /// The MCS I/O channel (TS_UD_SC_NET MCSChannelId), once seen.
    pub io_channel: Option<u16>,
}

/// MCS domain PDU numbers (T.125 section 7, DomainMCSPDU CHOICE index).
pub const MCS_ERECT_DOMAIN_REQUEST: u8 = 1;
pub const MCS_DISCONNECT_PROVIDER_ULTIMATUM: u8 = 8;
pub const MCS_ATTACH_USER_REQUEST: u8 = 10;
pub const MCS_ATTACH_USER_CONFIRM: u8 = 11;
pub const MCS_CHANNEL_JOIN_REQUEST: u8 = 14;
pub const MCS_CHANNEL_JOIN_CONFIRM: u8 = 15;
pub const MCS_SEND_DATA_REQUEST: u8 = 25;
pub const MCS_SEND_DATA_INDICATION: u8 = 26;

/// Lower bound of an MCS UserId (T.125: DynamicChannelId 1001..65535).
const MCS_BASE_CHANNEL_ID: u16 = 1001;

/// Basic security header flags ([MS-RDPBCGR] 2.2.8.1.1.2.1).
pub const SEC_EXCHANGE_PKT: u16 = 0x0001;
pub const SEC_ENCRYPT: u16 = 0x0008;
pub const SEC_INFO_PKT: u16 = 0x0040;
pub const SEC_LICENSE_PKT: u16 = 0x0080;

/// Licensing bMsgType ERROR_ALERT ([MS-RDPBCGR] 2.2.1.12.1.1).
pub const LICENSE_ERROR_ALERT: u8 = 0xff;

/// Share control pduType ([MS-RDPBCGR] 2.2.8.1.1.1.1), low 4 bits.
const PDUTYPE_DEMANDACTIVEPDU: u16 = 0x1;
const PDUTYPE_CONFIRMACTIVEPDU: u16 = 0x3;
const PDUTYPE_DEACTIVATEALLPDU: u16 = 0x6;
const PDUTYPE_DATAPDU: u16 = 0x7;
const PDUTYPE_SERVER_REDIR_PKT: u16 = 0xA;
/// PDUTYPE2_SAVE_SESSION_INFO ([MS-RDPBCGR] 2.2.8.1.1.1.2).
const PDUTYPE2_SAVE_SESSION_INFO: u8 = 0x26;
/// Share data pduType2 PDUTYPE2_SET_ERROR_INFO_PDU ([MS-RDPBCGR] 2.2.8.1.1.1.2).
const PDUTYPE2_SET_ERROR_INFO_PDU: u8 = 0x2f;

/// Decode the user data of one X.224 Data TPDU: an MCS Connect-Initial or
/// Connect-Response (BER, T.125 part 1), or an MCS domain PDU (PER) with
/// the RDP PDU it carries. Events and anomalies go to `out` in order.
/// `Err` only when the MCS layer itself cannot be read.
pub fn decode_mcs(
    data: &[u8],
    ctx: &mut SlowPathContext,
    out: &mut Vec<ProtoEvent>,
) -> PduResult<()> {
    let first = *data.first().ok_or(PduError::Incomplete)?;
    if first == 0x7f {
        // [APPLICATION 101] Connect-Initial / [APPLICATION 102] Connect-Response.
        let mut r = Reader::new(data);
        let tlv = ber::read_tlv(&mut r)?;
        if r.remaining() != 0 {
            push_anomaly(
                out,
                Anomaly::BytesAfter {
                    len: r.remaining(),
                    after: Trailer::McsConnectPdu,
                },
            );
        }
        return match (tlv.class, tlv.tag) {
            (1, 101) => {
                let gcc = decode_connect_initial(tlv.value, out)?;
                out.push(ProtoEvent::Mcs(McsEvent::ConnectInitial(Box::new(gcc))));
                Ok(())
            }
            (1, 102) => {
                let gcc = decode_connect_response(tlv.value, out)?;
                if let Some(sec) = &gcc.security {
                    ctx.encryption_level = Some(sec.encryption_level);
                }
                if gcc.io_channel.is_some() {
                    ctx.io_channel = gcc.io_channel;
                }
                out.push(ProtoEvent::Mcs(McsEvent::ConnectResponse(Box::new(gcc))));
                Ok(())
            }
            (c, t) => invalid(format!("MCS connect PDU with BER class {c} tag {t}")),
        };
    }
    decode_domain_pdu(data, ctx, out)
}

fn push_anomaly(out: &mut Vec<ProtoEvent>, what: Anomaly) {
    out.push(ProtoEvent::Anomaly { what });
}

/// Up to this many BER fields are read from a connect PDU.
const MAX_CONNECT_FIELDS: usize = 12;

/// The fields of a T.125 connect PDU, compared with the order T.125
/// gives; a different order is an anomaly, not a failure. The user data
/// is the last OCTET STRING.
fn connect_fields<'a>(
    value: &'a [u8],
    pdu: ConnectPdu,
    expected: &[u32],
    out: &mut Vec<ProtoEvent>,
) -> PduResult<[Option<ber::Tlv<'a>>; MAX_CONNECT_FIELDS]> {
    let mut fields = [None; MAX_CONNECT_FIELDS];
    let mut n = 0;
    let mut r = Reader::new(value);
    while r.remaining() > 0 {
        let t = ber::read_tlv(&mut r)?;
        let Some(slot) = fields.get_mut(n) else {
            push_anomaly(
                out,
                Anomaly::TooManyConnectFields {
                    pdu,
                    max: MAX_CONNECT_FIELDS,
                },
            );
            break;
        };
        *slot = Some(t);
        n += 1;
    }
    let tags = fields.iter().flatten().map(|t| (t.class, t.tag));
    if !tags.eq(expected.iter().map(|&t| (0, t))) {
        push_anomaly(out, Anomaly::ConnectFieldOrder { pdu });
    }
    Ok(fields)
}

fn last_octet_string<'a>(fields: &[Option<ber::Tlv<'a>>]) -> Option<&'a [u8]> {
    fields
        .iter()
        .flatten()
        .rev()
        .find(|t| t.class == 0 && t.tag == ber::TAG_OCTET_STRING)
        .map(|t| t.value)
}

/// T.125 7 Connect-Initial (the value inside [APPLICATION 101]):
/// callingDomainSelector, calledDomainSelector, upwardFlag,
/// targetParameters, minimumParameters, maximumParameters, userData
/// ([MS-RDPBCGR] 2.2.1.3). The user data is a GCC Conference Create
/// Request.
pub fn decode_connect_initial(value: &[u8], out: &mut Vec<ProtoEvent>) -> PduResult<ClientGcc> {
    use ber::{TAG_BOOLEAN as B, TAG_OCTET_STRING as O, TAG_SEQUENCE as S};
    let fields = connect_fields(
        value,
        ConnectPdu::ConnectInitial,
        &[O, O, B, S, S, S, O],
        out,
    )?;
    let Some(user) = last_octet_string(&fields) else {
        return invalid("Connect-Initial without user data");
    };
    let blocks = gcc_user_data(user, GccPdu::CreateRequest, out)?;
    Ok(decode_client_blocks(blocks, out))
}

/// T.125 7 Connect-Response (the value inside [APPLICATION 102]): result,
/// calledConnectId, domainParameters, userData ([MS-RDPBCGR] 2.2.1.4).
/// The user data is a GCC Conference Create Response.
pub fn decode_connect_response(value: &[u8], out: &mut Vec<ProtoEvent>) -> PduResult<ServerGcc> {
    use ber::{TAG_ENUMERATED as E, TAG_INTEGER as I, TAG_OCTET_STRING as O, TAG_SEQUENCE as S};
    let fields = connect_fields(value, ConnectPdu::ConnectResponse, &[E, I, S, O], out)?;
    let result = fields
        .iter()
        .flatten()
        .find(|t| t.class == 0 && t.tag == E)
        .map(|t| ber::uint(t.value))
        .transpose()?;
    let Some(result) = result else {
        return invalid("Connect-Response without a result");
    };
    let mut gcc = ServerGcc {
        result: u8::try_from(result).unwrap_or(u8::MAX),
        ..Default::default()
    };
    match last_octet_string(&fields) {
        Some(user) => {
            let blocks = gcc_user_data(user, GccPdu::CreateResponse, out)?;
            decode_server_blocks(blocks, &mut gcc, out);
        }
        // A failed Connect-Response may carry no user data.
        None if result != 0 => {}
        None => push_anomaly(out, Anomaly::ConnectResponseWithoutUserData),
    }
    Ok(gcc)
}

/// Which GCC PDU a ConnectData carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GccPdu {
    /// Conference Create Request, user data keyed "Duca".
    CreateRequest,
    /// Conference Create Response, user data keyed "McDn".
    CreateResponse,
}

impl GccPdu {
    fn h221_key(self) -> &'static [u8; 4] {
        match self {
            GccPdu::CreateRequest => b"Duca",
            GccPdu::CreateResponse => b"McDn",
        }
    }
}

/// T.124 ConnectData ([MS-RDPBCGR] 2.2.1.3.1, 2.2.1.4.1): the T.124
/// object key (0.0.20.124.0.1), a PER length, then the ConnectGCCPDU whose
/// one user-data set carries the client or server data blocks. Returns the
/// blocks.
fn gcc_user_data<'a>(
    data: &'a [u8],
    pdu: GccPdu,
    out: &mut Vec<ProtoEvent>,
) -> PduResult<&'a [u8]> {
    let mut r = Reader::new(data);
    let key_choice = r.u8()?;
    let oid_len = r.u8()? as usize;
    let oid = r.take(oid_len)?;
    if key_choice != 0 || oid != [0x00, 0x14, 0x7c, 0x00, 0x01] {
        push_anomaly(out, Anomaly::GccKeyNotT124);
    }
    // connectPDU length: Windows servers write 0x2a whatever the real
    // length, so only a length beyond the bytes present is worth a note;
    // the PDU runs to the end of the user data either way.
    let pdu_len = per::read_length(&mut r)?;
    if pdu_len > r.remaining() {
        push_anomaly(
            out,
            Anomaly::GccPduLength {
                len: pdu_len,
                present: r.remaining(),
            },
        );
    }
    let body = r.rest();
    let mut g = Reader::new(body);
    let parsed = match pdu {
        GccPdu::CreateRequest => gcc_create_request_header(&mut g),
        GccPdu::CreateResponse => gcc_create_response_header(&mut g, out),
    };
    let value_at = match parsed {
        Ok(()) => g.pos(),
        Err(PduError::Incomplete) => return Err(PduError::Incomplete),
        Err(PduError::Invalid(why)) => {
            // Another encoder's layout: find the H.221 key (preceded by its
            // length octet, 4 - 4 = 0) within the short fixed part.
            let key = pdu.h221_key();
            let window = body.get(..body.len().min(32)).unwrap_or(body);
            let Some(pos) = window.windows(5).position(|w| w[0] == 0 && &w[1..5] == key) else {
                return invalid(format!("GCC header not understood: {why}"));
            };
            push_anomaly(out, Anomaly::GccHeaderUnusual { why });
            pos + 5
        }
    };
    let mut r = Reader::new(body);
    r.skip(value_at)?;
    let ud_len = per::read_length(&mut r)?;
    if ud_len != r.remaining() {
        push_anomaly(
            out,
            Anomaly::GccUserDataLength {
                len: ud_len,
                present: r.remaining(),
            },
        );
    }
    let n = ud_len.min(r.remaining());
    r.take(n)
}

/// The fixed GCC fields of a Conference Create Request as RDP encodes them
/// (T.124 8.7 in ALIGNED PER; [MS-RDPBCGR] 2.2.1.3.1 and the annotated
/// 4.1.3): ConnectGCCPDU choice conferenceCreateRequest (0x00), the
/// optional-fields bitmap with only userData present (0x08), the
/// conference name as a numeric string (length - 1, then packed digits),
/// the booleans and termination method (one octet), one user-data set
/// (0x01), the h221NonStandard key choice with value present (0xc0), the
/// key (length - 4 = 0, "Duca"). Leaves `r` at the value's PER length.
fn gcc_create_request_header(r: &mut Reader<'_>) -> PduResult<()> {
    let choice = r.u8()?;
    if choice != 0x00 {
        return invalid(format!("ConnectGCCPDU choice 0x{choice:02x}"));
    }
    let optional = r.u8()?;
    if optional != 0x08 {
        return invalid(format!("optional-fields bitmap 0x{optional:02x}"));
    }
    let digits = r.u8()? as usize + 1;
    r.skip(digits.div_ceil(2))?;
    let _flags = r.u8()?;
    gcc_user_data_set(r, b"Duca")
}

/// One UserData set holding the h221NonStandard key `key` with a value.
fn gcc_user_data_set(r: &mut Reader<'_>, key: &[u8; 4]) -> PduResult<()> {
    let sets = r.u8()?;
    if sets != 1 {
        return invalid(format!("{sets} user-data sets"));
    }
    let choice = r.u8()?;
    if choice != 0xc0 {
        return invalid(format!("user-data key choice 0x{choice:02x}"));
    }
    let key_len = r.u8()? as usize + 4;
    let k = r.take(key_len)?;
    if k != key {
        return invalid(format!("H.221 key {:?}", String::from_utf8_lossy(k)));
    }
    Ok(())
}

/// The fixed GCC fields of a Conference Create Response as RDP encodes
/// them (T.124 8.7; [MS-RDPBCGR] 2.2.1.4.1 and 4.1.4): ConnectGCCPDU choice
/// conferenceCreateResponse with userData present (0x14), nodeID (two
/// octets + 1001), tag (INTEGER: length, value), result (0 = success), one
/// user-data set keyed "McDn". A failed result is an anomaly.
fn gcc_create_response_header(r: &mut Reader<'_>, out: &mut Vec<ProtoEvent>) -> PduResult<()> {
    let choice = r.u8()?;
    if choice != 0x14 {
        return invalid(format!("ConnectGCCPDU choice 0x{choice:02x}"));
    }
    let _node_id = per::read_u16(r, 1001)?;
    let tag_len = r.u8()? as usize;
    r.skip(tag_len)?;
    let result = r.u8()?;
    if result != 0 {
        push_anomaly(out, Anomaly::GccCreateResult { result });
    }
    gcc_user_data_set(r, b"McDn")
}

/// Iterate user-data blocks: TS_UD_HEADER type (2) and length (2, header
/// included) ([MS-RDPBCGR] 2.2.1.3.1). A block whose length does not fit
/// ends the walk with an anomaly; a cut block is passed on as it is.
fn for_each_block<'a>(
    mut data: &'a [u8],
    out: &mut Vec<ProtoEvent>,
    mut f: impl FnMut(u16, &'a [u8], &mut Vec<ProtoEvent>) -> PduResult<()>,
) {
    while !data.is_empty() {
        let mut r = Reader::new(data);
        let (Ok(ty), Ok(len)) = (r.u16_le(), r.u16_le()) else {
            push_anomaly(out, Anomaly::StrayBytesAfterBlocks { len: data.len() });
            return;
        };
        let len = len as usize;
        if len < 4 {
            push_anomaly(out, Anomaly::BlockLengthTooSmall { ty, len });
            return;
        }
        let body = if len > data.len() {
            push_anomaly(
                out,
                Anomaly::BlockLengthExceeds {
                    ty,
                    len,
                    left: data.len(),
                },
            );
            data.get(4..).unwrap_or(&[])
        } else {
            data.get(4..len).unwrap_or(&[])
        };
        let cut = len > data.len();
        match f(ty, body, out) {
            // A cut block was reported above.
            Err(PduError::Incomplete) if cut => {}
            Err(e) => push_anomaly(out, block_error(ty, e)),
            Ok(()) => {}
        }
        data = data.get(len..).unwrap_or(&[]);
    }
}

/// Client data block types ([MS-RDPBCGR] 2.2.1.3.1).
const CS_CORE: u16 = 0xc001;
const CS_SECURITY: u16 = 0xc002;
const CS_NET: u16 = 0xc003;
const CS_CLUSTER: u16 = 0xc004;
const CS_MONITOR: u16 = 0xc005;
/// Server data block types ([MS-RDPBCGR] 2.2.1.4.1).
const SC_CORE: u16 = 0x0c01;
const SC_SECURITY: u16 = 0x0c02;
const SC_NET: u16 = 0x0c03;

fn decode_client_blocks(blocks: &[u8], out: &mut Vec<ProtoEvent>) -> ClientGcc {
    let mut gcc = ClientGcc::default();
    for_each_block(blocks, out, |ty, body, _out| {
        let mut r = Reader::new(body);
        let res: PduResult<()> = match ty {
            CS_CORE => {
                let mut core = ClientCore::default();
                let res = decode_client_core(&mut r, &mut core);
                gcc.core = Some(core);
                res
            }
            CS_SECURITY => (|| {
                // TS_UD_CS_SEC (2.2.1.3.3).
                let mut s = ClientSecurity {
                    encryption_methods: r.u32_le()?,
                    ..Default::default()
                };
                gcc.security = Some(s.clone());
                s.ext_encryption_methods = r.u32_le()?;
                gcc.security = Some(s);
                Ok(())
            })(),
            CS_NET => (|| {
                // TS_UD_CS_NET (2.2.1.3.4): channelCount, CHANNEL_DEF
                // (name: 8 bytes ANSI, NUL-terminated; options: 4).
                let count = r.u32_le()?;
                for _ in 0..count.min(31) {
                    let name = r.take(8)?;
                    r.skip(4)?;
                    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                    let n = name.get(..end).unwrap_or(name);
                    gcc.channels.push(String::from_utf8_lossy(n).into_owned());
                }
                if count > 31 {
                    return invalid(format!("{count} static channels (at most 31)"));
                }
                Ok(())
            })(),
            CS_CLUSTER => (|| {
                // TS_UD_CS_CLUSTER (2.2.1.3.5).
                let flags = r.u32_le()?;
                let redirected_session_id = r.u32_le()?;
                gcc.cluster = Some(ClientCluster {
                    flags,
                    redirected_session_id,
                });
                Ok(())
            })(),
            CS_MONITOR => (|| {
                // TS_UD_CS_MONITOR (2.2.1.3.6): flags, monitorCount.
                r.skip(4)?;
                gcc.monitors = Some(r.u32_le()?);
                Ok(())
            })(),
            other => {
                gcc.unknown_blocks.push(other);
                Ok(())
            }
        };
        res
    });
    gcc
}

fn block_error(ty: u16, e: PduError) -> Anomaly {
    match e {
        PduError::Incomplete => Anomaly::BlockCut { ty },
        PduError::Invalid(why) => Anomaly::BlockInvalid { ty, why },
    }
}

/// UTF-16LE text of a fixed-size field, up to the first NUL.
fn utf16_field(b: &[u8]) -> String {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Bits per pixel of an RNS_UD_COLOR_* value ([MS-RDPBCGR] 2.2.1.3.2).
fn rns_color_bits(v: u16) -> Option<u16> {
    match v {
        0xca00 => Some(4),
        0xca01 => Some(8),
        0xca02 => Some(15),
        0xca03 => Some(16),
        0xca04 => Some(24),
        _ => None,
    }
}

/// TS_UD_CS_CORE ([MS-RDPBCGR] 2.2.1.3.2). Fields after imeFileName are
/// optional: each is read only if the block holds it. Fields read before a
/// cut stay in `core`.
fn decode_client_core(r: &mut Reader<'_>, core: &mut ClientCore) -> PduResult<()> {
    core.version = r.u32_le()?;
    core.desktop_width = r.u16_le()?;
    core.desktop_height = r.u16_le()?;
    let color = r.u16_le()?;
    core.color_depth = rns_color_bits(color);
    let _sas_sequence = r.u16_le()?;
    core.keyboard_layout = r.u32_le()?;
    core.client_build = r.u32_le()?;
    core.client_name = utf16_field(r.take(32)?);
    core.keyboard_type = r.u32_le()?;
    r.skip(4 + 4 + 64)?; // keyboardSubType, keyboardFunctionKey, imeFileName
    if r.remaining() == 0 {
        return Ok(());
    }
    let post_beta2 = r.u16_le()?;
    if let Some(bits) = rns_color_bits(post_beta2) {
        core.color_depth = Some(bits);
    }
    if r.remaining() == 0 {
        return Ok(());
    }
    core.client_product_id = Some(r.u16_le()?);
    if r.remaining() == 0 {
        return Ok(());
    }
    let _serial = r.u32_le()?;
    if r.remaining() == 0 {
        return Ok(());
    }
    let high = r.u16_le()?;
    if high != 0 {
        core.color_depth = Some(high);
    }
    if r.remaining() == 0 {
        return Ok(());
    }
    let _supported_depths = r.u16_le()?;
    if r.remaining() == 0 {
        return Ok(());
    }
    core.early_capability_flags = Some(r.u16_le()?);
    if r.remaining() == 0 {
        return Ok(());
    }
    core.client_dig_product_id = Some(utf16_field(r.take(64)?));
    if r.remaining() == 0 {
        return Ok(());
    }
    let _connection_type = r.u8()?;
    let _pad = r.u8()?;
    if r.remaining() == 0 {
        return Ok(());
    }
    core.server_selected_protocol = Some(r.u32_le()?);
    Ok(())
}

fn decode_server_blocks(blocks: &[u8], gcc: &mut ServerGcc, out: &mut Vec<ProtoEvent>) {
    for_each_block(blocks, out, |ty, body, out| {
        let mut r = Reader::new(body);
        let res: PduResult<()> = match ty {
            SC_CORE => (|| {
                // TS_UD_SC_CORE (2.2.1.4.2): version, then optional
                // clientRequestedProtocols and earlyCapabilityFlags.
                gcc.version = Some(r.u32_le()?);
                if r.remaining() >= 4 {
                    gcc.client_requested_protocols = Some(r.u32_le()?);
                }
                if r.remaining() >= 4 {
                    gcc.early_capability_flags = Some(r.u32_le()?);
                }
                Ok(())
            })(),
            SC_SECURITY => {
                let res = decode_server_security(&mut r, out);
                match res {
                    Ok(s) => {
                        gcc.security = Some(s);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            SC_NET => (|| {
                // TS_UD_SC_NET (2.2.1.4.4): MCSChannelId, channelCount,
                // channelIdArray, optional pad.
                gcc.io_channel = Some(r.u16_le()?);
                let count = r.u16_le()?;
                for _ in 0..count.min(31) {
                    gcc.channel_ids.push(r.u16_le()?);
                }
                if count > 31 {
                    return invalid(format!("{count} channel ids (at most 31)"));
                }
                Ok(())
            })(),
            other => {
                gcc.unknown_blocks.push(other);
                Ok(())
            }
        };
        res
    });
}

/// TS_UD_SC_SEC1 ([MS-RDPBCGR] 2.2.1.4.3): encryptionMethod,
/// encryptionLevel, then (unless both are 0) serverRandomLen,
/// serverCertLen, serverRandom and serverCertificate.
fn decode_server_security(
    r: &mut Reader<'_>,
    out: &mut Vec<ProtoEvent>,
) -> PduResult<ServerSecurity> {
    let encryption_method = r.u32_le()?;
    let encryption_level = r.u32_le()?;
    let mut sec = ServerSecurity {
        encryption_method,
        encryption_level,
        certificate: None,
        certificate_permanent: None,
    };
    if r.remaining() == 0 {
        return Ok(sec);
    }
    let random_len = r.u32_le()? as usize;
    let cert_len = r.u32_le()? as usize;
    if r.skip(random_len).is_err() {
        push_anomaly(out, Anomaly::ServerRandomCut { len: random_len });
        return Ok(sec);
    }
    if cert_len == 0 {
        return Ok(sec);
    }
    let cert = match r.take(cert_len) {
        Ok(c) => c,
        Err(_) => {
            push_anomaly(
                out,
                Anomaly::ServerCertificateLength {
                    len: cert_len,
                    left: r.remaining(),
                },
            );
            r.rest()
        }
    };
    sec.certificate = Some(decode_server_certificate(cert, out));
    if let Some(v) = cert.get(..4) {
        sec.certificate_permanent = Some(v[3] & 0x80 == 0);
    }
    Ok(sec)
}

/// At most this many certificates of an X.509 chain are read.
const MAX_CHAIN: u32 = 200;

/// SERVER_CERTIFICATE ([MS-RDPBCGR] 2.2.1.4.3.1): dwVersion (low 31
/// bits: 1 proprietary, 2 X.509 chain; top bit: temporary), then the
/// certificate. Proprietary (2.2.1.4.3.1.1): dwSigAlgId, dwKeyAlgId,
/// wPublicKeyBlobType, wPublicKeyBlobLen, RSA_PUBLIC_KEY (2.2.1.4.3.1.1.1:
/// magic "RSA1", keylen, bitlen, ...). X.509 chain ([MS-RDPELE] 2.2.1.4.2):
/// NumCertBlobs, then cbCert and abCert each, root first.
fn decode_server_certificate(cert: &[u8], out: &mut Vec<ProtoEvent>) -> ServerCertificate {
    let other = ServerCertificate::Other {
        len: cert.len() as u32,
    };
    let mut r = Reader::new(cert);
    let Ok(version) = r.u32_le() else {
        push_anomaly(out, Anomaly::ServerCertificateNoVersion);
        return other;
    };
    match version & 0x7fff_ffff {
        1 => match super::propcert::decode(cert) {
            Ok(p) => {
                if p.magic != super::propcert::RSA1_MAGIC {
                    push_anomaly(out, Anomaly::ProprietaryKeyMagic { magic: p.magic });
                }
                ServerCertificate::Proprietary(p)
            }
            Err(_) => {
                push_anomaly(out, Anomaly::ProprietaryCertificateCut);
                other
            }
        },
        2 => {
            let Ok(n) = r.u32_le() else {
                push_anomaly(out, Anomaly::X509ChainCut);
                return other;
            };
            if n > MAX_CHAIN {
                push_anomaly(
                    out,
                    Anomaly::X509ChainCount {
                        count: n,
                        max: MAX_CHAIN,
                    },
                );
            }
            let mut chain = Vec::new();
            for i in 0..n.min(MAX_CHAIN) {
                let der = r.u32_le().and_then(|len| r.take(len as usize));
                let Ok(der) = der else {
                    push_anomaly(out, Anomaly::X509ChainCertificateCut { index: i });
                    break;
                };
                match super::cert::summarize(der) {
                    Ok(c) => chain.push(c),
                    Err(why) => push_anomaly(out, Anomaly::X509ChainCertificate { index: i, why }),
                }
            }
            // The chain is root first; the server's certificate is last.
            chain.reverse();
            ServerCertificate::X509(chain)
        }
        v => {
            push_anomaly(out, Anomaly::ServerCertificateVersion { version: v });
            other
        }
    }
}

/// An MCS domain PDU (T.125 section 7, ALIGNED PER): the CHOICE index in
/// the top six bits of the first octet.
fn decode_domain_pdu(
    data: &[u8],
    ctx: &mut SlowPathContext,
    out: &mut Vec<ProtoEvent>,
) -> PduResult<()> {
    let mut r = Reader::new(data);
    let b0 = r.u8()?;
    let ty = b0 >> 2;
    let ev = match ty {
        MCS_ERECT_DOMAIN_REQUEST => {
            // subHeight, subInterval: PER integers (length + value).
            for _ in 0..2 {
                let n = per::read_length(&mut r)?;
                r.skip(n)?;
            }
            McsEvent::ErectDomainRequest
        }
        MCS_DISCONNECT_PROVIDER_ULTIMATUM => {
            // reason: 3-bit ENUMERATED straddling the first two octets.
            let b1 = r.u8()?;
            McsEvent::DisconnectProviderUltimatum {
                reason: ((b0 & 0x03) << 1) | (b1 >> 7),
            }
        }
        MCS_ATTACH_USER_REQUEST => McsEvent::AttachUserRequest,
        MCS_ATTACH_USER_CONFIRM => {
            // Bit 1 of b0: initiator present; result: 4-bit ENUMERATED
            // (bit 0 of b0, top 3 bits of b1); then initiator UserId.
            let b1 = r.u8()?;
            let result = ((b0 & 0x01) << 3) | (b1 >> 5);
            let user_id = if b0 & 0x02 != 0 {
                Some(per::read_u16(&mut r, MCS_BASE_CHANNEL_ID)?)
            } else {
                None
            };
            McsEvent::AttachUserConfirm { result, user_id }
        }
        MCS_CHANNEL_JOIN_REQUEST => {
            let _initiator = per::read_u16(&mut r, MCS_BASE_CHANNEL_ID)?;
            let channel = per::read_u16(&mut r, 0)?;
            McsEvent::ChannelJoinRequest { channel }
        }
        MCS_CHANNEL_JOIN_CONFIRM => {
            // Bit 1 of b0: channelId present; result as in AUcf; then
            // initiator, requested, and the optional channelId.
            let b1 = r.u8()?;
            let result = ((b0 & 0x01) << 3) | (b1 >> 5);
            let _initiator = per::read_u16(&mut r, MCS_BASE_CHANNEL_ID)?;
            let requested = per::read_u16(&mut r, 0)?;
            let channel = if b0 & 0x02 != 0 {
                per::read_u16(&mut r, 0)?
            } else {
                requested
            };
            McsEvent::ChannelJoinConfirm { result, channel }
        }
        MCS_SEND_DATA_REQUEST | MCS_SEND_DATA_INDICATION => {
            // initiator, channelId, dataPriority + segmentation (one
            // octet), userData (PER length + octets).
            let _initiator = per::read_u16(&mut r, MCS_BASE_CHANNEL_ID)?;
            let channel = per::read_u16(&mut r, 0)?;
            let _prio_seg = r.u8()?;
            let len = per::read_length(&mut r)?;
            let payload = if len != r.remaining() {
                push_anomaly(
                    out,
                    Anomaly::SendDataLength {
                        len,
                        present: r.remaining(),
                    },
                );
                r.rest().get(..len.min(r.remaining())).unwrap_or(&[])
            } else {
                r.rest()
            };
            if ctx.io_channel.is_some_and(|io| io != channel) {
                // Virtual channel data: not decoded; encrypted or not, it
                // says nothing about the connection sequence.
                return Ok(());
            }
            decode_rdp_payload(payload, ctx, out);
            return Ok(());
        }
        other => McsEvent::OtherDomainPdu { pdu_type: other },
    };
    out.push(ProtoEvent::Mcs(ev));
    Ok(())
}

/// The RDP PDU in an MCS send-data PDU on the I/O channel under Standard
/// RDP Security: a basic security header ([MS-RDPBCGR] 2.2.8.1.1.2.1)
/// unless the encryption level is none and the PDU is neither a Security
/// Exchange, Client Info nor licensing PDU; then a share control header.
fn decode_rdp_payload(data: &[u8], ctx: &SlowPathContext, out: &mut Vec<ProtoEvent>) {
    if looks_like_share_control(data) && matches!(ctx.encryption_level, None | Some(0)) {
        decode_share_control(data, out);
        return;
    }
    let mut r = Reader::new(data);
    let (Ok(flags), Ok(_flags_hi)) = (r.u16_le(), r.u16_le()) else {
        push_anomaly(out, Anomaly::NoSecurityHeader { len: data.len() });
        return;
    };
    let len = data.len() as u32;
    if flags & SEC_EXCHANGE_PKT != 0 {
        // TS_SECURITY_PACKET (2.2.1.10.1): length, encryptedClientRandom.
        let n = r.u32_le().unwrap_or(len.saturating_sub(4));
        out.push(ProtoEvent::Mcs(McsEvent::SecurityExchange { len: n }));
        return;
    }
    if flags & SEC_ENCRYPT != 0 {
        out.push(ProtoEvent::Mcs(if flags & SEC_INFO_PKT != 0 {
            McsEvent::EncryptedClientInfo { len }
        } else {
            McsEvent::EncryptedPdu { len }
        }));
        return;
    }
    if flags & SEC_INFO_PKT != 0 {
        match decode_client_info(r.rest()) {
            Ok(ci) => out.push(ProtoEvent::Mcs(McsEvent::ClientInfo(ci))),
            Err(e) => push_anomaly(out, pdu_error(RdpPdu::ClientInfo, e)),
        }
        return;
    }
    if flags & SEC_LICENSE_PKT != 0 {
        match decode_licensing(r.rest()) {
            Ok(l) => out.push(ProtoEvent::Mcs(McsEvent::Licensing(l))),
            Err(e) => push_anomaly(out, pdu_error(RdpPdu::Licensing, e)),
        }
        return;
    }
    // A clear PDU behind a security header (e.g. flags 0 at level low).
    if looks_like_share_control(r.rest()) {
        decode_share_control(r.rest(), out);
    } else {
        push_anomaly(out, Anomaly::SecurityFlags { flags });
    }
}

fn pdu_error(pdu: RdpPdu, e: PduError) -> Anomaly {
    match e {
        PduError::Incomplete => Anomaly::RdpPduCut { pdu },
        PduError::Invalid(why) => Anomaly::RdpPduInvalid { pdu, why },
    }
}

/// A share control header ([MS-RDPBCGR] 2.2.8.1.1.1.1) whose totalLength
/// is the PDU's length and whose version bits are TS_PROTOCOL_VERSION.
fn looks_like_share_control(d: &[u8]) -> bool {
    let mut r = Reader::new(d);
    match (r.u16_le(), r.u16_le()) {
        (Ok(total), Ok(ty)) => total as usize == d.len() && ty & 0xfff0 == 0x0010,
        _ => false,
    }
}

/// Share control header, then Demand Active, Confirm Active, Deactivate
/// All, Server Redirection (2.2.13.3.1: pad2Octets, then the packet), or
/// a data PDU whose share data header ([MS-RDPBCGR] 2.2.8.1.1.1.2) says
/// Set Error Info (2.2.5.1.1: errorInfo) or Save Session Info (2.2.10.1).
fn decode_share_control(d: &[u8], out: &mut Vec<ProtoEvent>) {
    let mut r = Reader::new(d);
    let res = (|| {
        let _total = r.u16_le()?;
        let ty = r.u16_le()? & 0x000f;
        let _source = r.u16_le()?;
        Ok(match ty {
            PDUTYPE_DEMANDACTIVEPDU => Some(McsEvent::DemandActive),
            PDUTYPE_CONFIRMACTIVEPDU => Some(McsEvent::ConfirmActive),
            PDUTYPE_DEACTIVATEALLPDU => Some(McsEvent::DeactivateAll),
            PDUTYPE_SERVER_REDIR_PKT => {
                r.skip(2)?;
                Some(McsEvent::ServerRedirection(Box::new(
                    super::rdpdata::decode_server_redirection(r.rest())?,
                )))
            }
            PDUTYPE_DATAPDU => {
                // shareId (4), pad1, streamId, uncompressedLength (2),
                // pduType2, compressedType, compressedLength (2).
                r.skip(4 + 1 + 1 + 2)?;
                let ty2 = r.u8()?;
                r.skip(1 + 2)?;
                match ty2 {
                    PDUTYPE2_SET_ERROR_INFO_PDU => {
                        Some(McsEvent::SetErrorInfo { code: r.u32_le()? })
                    }
                    PDUTYPE2_SAVE_SESSION_INFO => Some(McsEvent::SaveSessionInfo(
                        super::rdpdata::decode_save_session_info(r.rest())?,
                    )),
                    _ => None,
                }
            }
            _ => None,
        })
    })();
    match res {
        Ok(Some(ev)) => out.push(ProtoEvent::Mcs(ev)),
        Ok(None) => {}
        Err(e) => push_anomaly(out, pdu_error(RdpPdu::ShareControl, e)),
    }
}

/// TS_INFO_PACKET ([MS-RDPBCGR] 2.2.1.11.1.1): CodePage, flags, cbDomain,
/// cbUserName, cbPassword, cbAlternateShell, cbWorkingDir, then Domain and
/// UserName (each followed by a NUL; UTF-16LE when INFO_UNICODE).
pub fn decode_client_info(d: &[u8]) -> PduResult<ClientInfo> {
    const INFO_UNICODE: u32 = 0x0000_0010;
    let mut r = Reader::new(d);
    let _code_page = r.u32_le()?;
    let flags = r.u32_le()?;
    let cb_domain = r.u16_le()? as usize;
    let cb_user = r.u16_le()? as usize;
    r.skip(2 + 2 + 2)?;
    let unicode = flags & INFO_UNICODE != 0;
    let nul = if unicode { 2 } else { 1 };
    let text = |b: &[u8]| {
        if unicode {
            utf16_field(b)
        } else {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(b.get(..end).unwrap_or(b)).into_owned()
        }
    };
    let domain = text(r.take(cb_domain)?);
    r.skip(nul)?;
    let user = text(r.take(cb_user)?);
    Ok(ClientInfo {
        domain,
        user,
        flags,
    })
}

/// Licensing preamble ([MS-RDPBCGR] 2.2.1.12.1.1): bMsgType, flags,
/// wMsgSize; for ERROR_ALERT a LICENSE_ERROR_MESSAGE (2.2.1.12.1.3):
/// dwErrorCode, dwStateTransition, bbErrorInfo.
pub fn decode_licensing(d: &[u8]) -> PduResult<Licensing> {
    let mut r = Reader::new(d);
    let msg_type = r.u8()?;
    let _flags = r.u8()?;
    let _size = r.u16_le()?;
    let mut l = Licensing {
        msg_type,
        error_code: None,
        state_transition: None,
    };
    if msg_type == LICENSE_ERROR_ALERT {
        l.error_code = Some(r.u32_le()?);
        l.state_transition = Some(r.u32_le()?);
    }
    Ok(l)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::tpkt::hex;
    use crate::proto::x224::{decode_tpkt, Tpdu};

    /// suricata-verify/RDP-003.pcap (Windows XP client, Standard RDP
    /// Security), frames 7 to 26.
    pub(crate) const CI: &str = "0300019c02f0807f658201900401010401010101ff30190201220201020201000201010201000201010202ffff020102301902010102010102010102010102010002010102020420020102301c0202ffff0202fc170202ffff0201010201000201010202ffff0201020482012f000500147c00018126000800100001c00044756361811801c0d400040008008004600301ca03aa09040000280a000049005300440032002d004b004d0038003400310037003800000000000000000004000000000000000c0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001ca0100000000000f0007000100350035003200370034002d004f0045004d002d0030003000310031003900300033002d0030003000310030003700000000000000000000000000000000000000000004c00c00090000000000000002c00c000b0000000000000003c02c0003000000726470647200000000008080636c6970726472000000a0c0726470736e640000000000c0";
    pub(crate) const CR: &str = "0300014d02f0807f668201410a0100020100301a020122020103020100020101020100020101020300fff80201020482011b000500147c00012a14760a01010001c0004d63446e8104010c080004000800030c1000eb030300ec03ed03ee030000020cec00080000000200000020000000b8000000778e84ed14edf1083d361284c28dcd52da72301be1dc7fdf62accd22660b337201000000010000000100000006005c005253413148000000000200003f0000000100010083f6d4ca7c05975a72cb0b5ca0ece59d468470e83ac0589091a00c9119bcab88efc96b261a6290e8a9385b5aa4198f5f29caa6c62c91439003bda0a2e9b8a6c90000000000000000080048001b0c7249c4782f8c7d4c9fc6182f3164c66099979fa4f292683db067cfc711a7237512767a01199ca613beaf0647dd0120a94e54066f6a61018e57e725ee0f3f0000000000000000";
    pub(crate) const ERECT: &str = "0300000c02f0800401000100";
    pub(crate) const ATTACH_REQ: &str = "0300000802f08028";
    pub(crate) const ATTACH_CONFIRM: &str = "0300000b02f0802e000006";
    pub(crate) const JOIN_REQ: &str = "0300000c02f08038000603ef";
    pub(crate) const JOIN_CONFIRM: &str = "0300000f02f0803e00000603ef03ef";
    pub(crate) const SEC_EXCHANGE: &str = "0300005e02f08064000603eb705001020000480000004cecf8647da611d0ccca1f363c8b56ca7448fc6c23a0a57e3a24f2b6cecc9f90f5c915eedc55b1b8f4c02fe8fc3e5df98cd70e21d7421c1a1a9c7207921ec22b0000000000000000";
    /// A licensing ERROR_ALERT, STATUS_VALID_CLIENT, ST_NO_TRANSITION
    /// (Wireshark 4.0 misreads it as a Platform Challenge: it skips a
    /// signature that is not there).
    pub(crate) const LICENSE_VALID_CLIENT: &str =
        "0300002202f08068000103eb701480021000ff021000070000000200000038e20000";
    /// zeek/rdp-proprietary-encryption.pcap, last frame: Disconnect
    /// Provider Ultimatum, rn-user-requested.
    pub(crate) const DPUM: &str = "0300000902f0802180";
    /// Built: an encrypted slow-path PDU (SEC_ENCRYPT, 8-byte signature).
    pub(crate) const ENCRYPTED: &str =
        "0300001e02f08064000603eb7010 08000000 0102030405060708 aabbccdd";
    /// Built: an encrypted Client Info PDU (SEC_INFO_PKT | SEC_ENCRYPT,
    /// flags 0x0048, [MS-RDPBCGR] 2.2.1.11.1.1 and 2.2.8.1.1.2.1).
    pub(crate) const ENCRYPTED_CLIENT_INFO: &str =
        "0300001e02f08064000603eb7010 48000000 0102030405060708 aabbccdd";
    /// Built: Set Error Info (ERRINFO_LICENSE_NO_LICENSE) at encryption
    /// level none: a share control header straight after MCS.
    pub(crate) const SET_ERROR_INFO: &str =
        "0300002402f08068000103eb7016 1600 1700 ea03 ea030100 00 01 0800 2f 00 0000 02010000";
    /// Built: a Client Info PDU in the clear (SEC_INFO_PKT), Unicode,
    /// domain "DOM", user "user".
    pub(crate) const CLIENT_INFO: &str = "0300003c02f08064000603eb702e 40000000
        00000000 13000000 0600 0800 0000 0000 0000
        44004f004d000000 7500730065007200 0000 0000 0000 0000";

    fn user_data(h: &str) -> Vec<u8> {
        let v = hex(h);
        let d = decode_tpkt(&v).unwrap();
        match d.tpdu {
            Tpdu::Data { user_data, .. } => user_data.to_vec(),
            other => panic!("not data: {other:?}"),
        }
    }

    fn run(h: &str, ctx: &mut SlowPathContext) -> Vec<ProtoEvent> {
        let mut out = Vec::new();
        decode_mcs(&user_data(h), ctx, &mut out).unwrap();
        out
    }

    fn only_mcs(out: &[ProtoEvent]) -> Vec<&McsEvent> {
        out.iter()
            .filter_map(|e| match e {
                ProtoEvent::Mcs(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn connect_initial_from_capture() {
        let out = run(CI, &mut SlowPathContext::default());
        assert!(
            out.iter().all(|e| !matches!(e, ProtoEvent::Anomaly { .. })),
            "{out:?}"
        );
        let [McsEvent::ConnectInitial(gcc)] = only_mcs(&out)[..] else {
            panic!("{out:?}");
        };
        let core = gcc.core.as_ref().unwrap();
        // Values as tshark shows them for frame 7.
        assert_eq!(core.version, 0x0008_0004);
        assert_eq!((core.desktop_width, core.desktop_height), (1152, 864));
        assert_eq!(core.keyboard_layout, 1033);
        assert_eq!(core.client_build, 2600);
        assert_eq!(core.client_name, "ISD2-KM84178");
        assert_eq!(core.color_depth, Some(15));
        assert_eq!(
            core.client_dig_product_id.as_deref(),
            Some("55274-OEM-0011903-00107")
        );
        assert_eq!(core.server_selected_protocol, None);
        assert_eq!(gcc.security.as_ref().unwrap().encryption_methods, 0x0b);
        assert_eq!(gcc.channels, ["rdpdr", "cliprdr", "rdpsnd"]);
        assert!(gcc.unknown_blocks.is_empty());
    }

    #[test]
    fn connect_response_from_capture() {
        let mut ctx = SlowPathContext::default();
        let out = run(CR, &mut ctx);
        assert!(
            out.iter().all(|e| !matches!(e, ProtoEvent::Anomaly { .. })),
            "{out:?}"
        );
        let [McsEvent::ConnectResponse(gcc)] = only_mcs(&out)[..] else {
            panic!("{out:?}");
        };
        assert_eq!(gcc.result, 0);
        assert_eq!(gcc.version, Some(0x0008_0004));
        let sec = gcc.security.as_ref().unwrap();
        // 56-bit RC4, Client Compatible, proprietary 512-bit key.
        assert_eq!((sec.encryption_method, sec.encryption_level), (8, 2));
        let Some(ServerCertificate::Proprietary(p)) = &sec.certificate else {
            panic!("{sec:?}");
        };
        assert_eq!((p.key_bits, p.public_exponent), (512, 65537));
        // Signed with the Terminal Services signing key (5.3.3.1.1).
        assert_eq!(p.signature, SignatureCheck::Valid);
        assert_eq!(sec.certificate_permanent, Some(true));
        assert_eq!(gcc.io_channel, Some(1003));
        assert_eq!(gcc.channel_ids, [1004, 1005, 1006]);
        assert_eq!(
            ctx,
            SlowPathContext {
                encryption_level: Some(2),
                io_channel: Some(1003)
            }
        );
    }

    #[test]
    fn domain_pdus() {
        let mut ctx = SlowPathContext::default();
        let cases: [(&str, McsEvent); 6] = [
            (ERECT, McsEvent::ErectDomainRequest),
            (ATTACH_REQ, McsEvent::AttachUserRequest),
            (
                ATTACH_CONFIRM,
                McsEvent::AttachUserConfirm {
                    result: 0,
                    user_id: Some(1007),
                },
            ),
            (JOIN_REQ, McsEvent::ChannelJoinRequest { channel: 1007 }),
            (
                JOIN_CONFIRM,
                McsEvent::ChannelJoinConfirm {
                    result: 0,
                    channel: 1007,
                },
            ),
            (DPUM, McsEvent::DisconnectProviderUltimatum { reason: 3 }),
        ];
        for (h, want) in cases {
            assert_eq!(run(h, &mut ctx), [ProtoEvent::Mcs(want)], "{h}");
        }
        // A failed attach (rt-unspecified-failure, 14): the result spans
        // two octets.
        let mut out = Vec::new();
        decode_mcs(&hex("2fc00006"), &mut ctx, &mut out).unwrap();
        assert_eq!(
            out,
            [ProtoEvent::Mcs(McsEvent::AttachUserConfirm {
                result: 14,
                user_id: Some(1007)
            })]
        );
        // An MCS PDU RDP does not use keeps its number.
        out.clear();
        decode_mcs(&[0x48, 0x00], &mut ctx, &mut out).unwrap();
        assert_eq!(
            out,
            [ProtoEvent::Mcs(McsEvent::OtherDomainPdu { pdu_type: 18 })]
        );
    }

    #[test]
    fn security_layer_pdus() {
        let mut ctx = SlowPathContext {
            encryption_level: Some(2),
            io_channel: Some(1003),
        };
        assert_eq!(
            run(SEC_EXCHANGE, &mut ctx),
            [ProtoEvent::Mcs(McsEvent::SecurityExchange { len: 72 })]
        );
        assert_eq!(
            run(LICENSE_VALID_CLIENT, &mut ctx),
            [ProtoEvent::Mcs(McsEvent::Licensing(Licensing {
                msg_type: 0xff,
                error_code: Some(7),
                state_transition: Some(2),
            }))]
        );
        assert_eq!(
            run(ENCRYPTED, &mut ctx),
            [ProtoEvent::Mcs(McsEvent::EncryptedPdu { len: 16 })]
        );
        assert_eq!(
            run(ENCRYPTED_CLIENT_INFO, &mut ctx),
            [ProtoEvent::Mcs(McsEvent::EncryptedClientInfo { len: 16 })]
        );
        assert_eq!(
            run(CLIENT_INFO, &mut ctx),
            [ProtoEvent::Mcs(McsEvent::ClientInfo(ClientInfo {
                domain: "DOM".into(),
                user: "user".into(),
                flags: 0x13,
            }))]
        );
        // Other licensing messages keep their type, known or not.
        for ty in ["01", "7e"] {
            let h = format!("0300001a02f08068000103eb700c 80000000 {ty}030800 00000000");
            let [ProtoEvent::Mcs(McsEvent::Licensing(l))] = &run(&h, &mut ctx)[..] else {
                panic!("{ty}");
            };
            assert_eq!(l.msg_type, u8::from_str_radix(ty, 16).unwrap());
            assert_eq!(l.error_code, None);
        }
        // Virtual channel data is not decoded.
        let vc = "0300001e02f08064000603ec7010 08000000 0102030405060708 aabbccdd";
        assert_eq!(run(vc, &mut ctx), []);
    }

    #[test]
    fn security_data_names() {
        // Zeek's rdp-client-security-data baseline: 0x1b offers 40, 128,
        // 56 bit and FIPS.
        assert_eq!(
            encryption_methods_names(0x1b),
            ["40bit", "128bit", "56bit", "fips"]
        );
        assert!(encryption_methods_names(0).is_empty());
        assert_eq!(encryption_methods_names(0x22), ["128bit", "unknown (0x20)"]);
        assert_eq!(encryption_method_name(8), "56bit");
        assert_eq!(encryption_level_name(2), "client_compatible");
        assert_eq!(encryption_level_name(3), "high");
        assert_eq!(encryption_level_name(9), "unknown (0x09)");
        assert_eq!(connect_result_name(0), "rt-successful");
        assert_eq!(connect_result_name(14), "rt-unspecified-failure");
        assert_eq!(connect_result_name(16), "unknown (0x10)");
    }

    #[test]
    fn cluster_flags() {
        // zeek/rdp-proprietary-encryption.pcap stream 1: flags 0x0d,
        // REDIRECTION_SUPPORTED with REDIRECTION_VERSION4 (mask 3).
        let c = ClientCluster {
            flags: 0x0d,
            redirected_session_id: 0,
        };
        assert!(c.redirection_supported());
        assert!(!c.session_id_present());
        assert_eq!(c.redirection_version(), 4);
        assert!(!c.redirected_smartcard());
        let c = ClientCluster {
            flags: 0x43,
            redirected_session_id: 7,
        };
        assert!(c.session_id_present() && c.redirected_smartcard());
        assert_eq!(c.redirection_version(), 1);
    }

    #[test]
    fn requested_color_depth_follows_want_32bpp() {
        // [MS-RDPBCGR] 2.2.1.3.2: highColorDepth 24 with
        // RNS_UD_CS_WANT_32BPP_SESSION asks for 32.
        let mut c = ClientCore {
            color_depth: Some(24),
            early_capability_flags: Some(0x0003),
            ..Default::default()
        };
        assert_eq!(c.requested_color_depth(), Some(32));
        c.early_capability_flags = Some(0x0001);
        assert_eq!(c.requested_color_depth(), Some(24));
        c.early_capability_flags = None;
        assert_eq!(c.requested_color_depth(), Some(24));
    }

    #[test]
    fn disconnect_reasons_are_named_and_unknown_ones_kept() {
        assert_eq!(disconnect_reason_name(3), "rn-user-requested");
        assert_eq!(disconnect_reason_name(0), "rn-domain-disconnected");
        assert_eq!(disconnect_reason_name(9), "unknown (0x09)");
    }

    #[test]
    fn set_error_info_in_the_clear() {
        let mut ctx = SlowPathContext {
            encryption_level: Some(0),
            io_channel: Some(1003),
        };
        let out = run(SET_ERROR_INFO, &mut ctx);
        assert_eq!(
            out,
            [ProtoEvent::Mcs(McsEvent::SetErrorInfo { code: 0x102 })]
        );
        assert_eq!(error_info_name(0x102), "ERRINFO_LICENSE_NO_LICENSE");
        assert_eq!(error_info_name(0x10), "ERRINFO_SERVER_DWM_CRASH");
        assert_eq!(error_info_name(0x1A), "ERRINFO_SERVER_REBOOT");
        assert_eq!(
            error_info_name(0x404),
            "ERRINFO_CB_REDIRECTING_TO_DESTINATION"
        );
        assert_eq!(error_info_name(0x9999), "unknown (0x9999)");
    }

    #[test]
    fn demand_and_confirm_active_in_the_clear() {
        let mut ctx = SlowPathContext {
            encryption_level: Some(0),
            io_channel: Some(1003),
        };
        // Share control headers only (type 1 and 3 with version bits 0x10),
        // the capability sets cut off: the PDU type is what matters.
        let mut out = Vec::new();
        decode_mcs(
            &hex("680001 03eb 70 0a 0a00 1100 ea03 00000000"),
            &mut ctx,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [ProtoEvent::Mcs(McsEvent::DemandActive)]);
        out.clear();
        decode_mcs(
            &hex("640006 03eb 70 0a 0a00 1300 ef03 00000000"),
            &mut ctx,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [ProtoEvent::Mcs(McsEvent::ConfirmActive)]);
    }

    #[test]
    fn failed_connect_response() {
        // result rt-unspecified-failure (14), no user data.
        let mut out = Vec::new();
        let mut ctx = SlowPathContext::default();
        decode_mcs(&hex("7f6608 0a010e 020100 3000"), &mut ctx, &mut out).unwrap();
        let [ProtoEvent::Anomaly { .. }, ProtoEvent::Mcs(McsEvent::ConnectResponse(g))] = &out[..]
        else {
            panic!("{out:?}");
        };
        assert_eq!(g.result, 14);
        assert_eq!(g.security, None);
        assert_eq!(ctx, SlowPathContext::default());
        // Not a connect PDU at all.
        assert!(matches!(
            decode_mcs(&hex("7f670100"), &mut ctx, &mut out),
            Err(PduError::Invalid(_))
        ));
    }

    #[test]
    fn connect_initial_fields_out_of_order() {
        // The capture's Connect-Initial without its upwardFlag: noted,
        // and the client data is still read.
        let ud = user_data(CI);
        let mut r = Reader::new(&ud);
        let tlv = ber::read_tlv(&mut r).unwrap();
        let mut v = tlv.value.to_vec();
        let pos = v.windows(3).position(|w| w == [0x01, 0x01, 0xff]).unwrap();
        v.drain(pos..pos + 3);
        let mut out = Vec::new();
        let gcc = decode_connect_initial(&v, &mut out).unwrap();
        assert_eq!(gcc.core.unwrap().client_name, "ISD2-KM84178");
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn gcc_header_in_another_form() {
        // The capture's Connect-Initial with the GCC optional-fields bitmap
        // changed: noted, and the key still leads to the client data.
        let mut ud = user_data(CI);
        let pos = ud
            .windows(4)
            .position(|w| w == [0x00, 0x08, 0x00, 0x10])
            .unwrap();
        ud[pos + 1] = 0x0c;
        let mut out = Vec::new();
        decode_mcs(&ud, &mut SlowPathContext::default(), &mut out).unwrap();
        let [ProtoEvent::Anomaly { what }, ProtoEvent::Mcs(McsEvent::ConnectInitial(g))] = &out[..]
        else {
            panic!("{out:?}");
        };
        assert_eq!(
            *what,
            Anomaly::GccHeaderUnusual {
                why: "optional-fields bitmap 0x0c".into()
            }
        );
        assert_eq!(g.core.as_ref().unwrap().client_build, 2600);
        // Without the key the PDU is not understood.
        let k = ud.windows(4).position(|w| w == b"Duca").unwrap();
        ud[k] = b'X';
        out.clear();
        assert!(matches!(
            decode_mcs(&ud, &mut SlowPathContext::default(), &mut out),
            Err(PduError::Invalid(_))
        ));
    }

    #[test]
    fn unknown_and_odd_blocks() {
        // An unknown block (0xc0ff) is skipped by its length; a cluster
        // block after it is still read; then a block of length 2 ends the
        // walk with an anomaly.
        let blocks = hex("ffc00800 01020304  04c00c00 0d000000 07000000  06c00200");
        let mut out = Vec::new();
        let gcc = decode_client_blocks(&blocks, &mut out);
        assert_eq!(gcc.unknown_blocks, [0xc0ff]);
        assert_eq!(
            gcc.cluster,
            Some(ClientCluster {
                flags: 0x0d,
                redirected_session_id: 7
            })
        );
        assert_eq!(out.len(), 1, "{out:?}");
        // Monitors (2.2.1.3.6): flags, monitorCount, then the definitions.
        let mon = hex("05c03400 00000000 02000000
            00000000 00000000 7f070000 37040000 01000000
            80070000 00000000 ff0e0000 37040000 00000000");
        out.clear();
        let gcc = decode_client_blocks(&mon, &mut out);
        assert_eq!(gcc.monitors, Some(2));
        assert!(out.is_empty(), "{out:?}");
        // A core block cut inside clientName keeps what came before.
        for len in ["1a", "1c"] {
            let core = hex(&format!(
                "01c0{len}00 04000800 0004 0003 01ca 03aa 09040000 280a0000 4900"
            ));
            out.clear();
            let gcc = decode_client_blocks(&core, &mut out);
            let c = gcc.core.unwrap();
            assert_eq!((c.desktop_width, c.client_build), (1024, 2600));
            assert_eq!(out.len(), 1, "{out:?}");
        }
    }

    #[test]
    fn every_truncation() {
        for h in [
            CI,
            CR,
            ERECT,
            ATTACH_REQ,
            ATTACH_CONFIRM,
            JOIN_REQ,
            JOIN_CONFIRM,
            SEC_EXCHANGE,
            LICENSE_VALID_CLIENT,
            DPUM,
            ENCRYPTED,
            SET_ERROR_INFO,
            CLIENT_INFO,
        ] {
            let ud = user_data(h);
            let ctx0 = SlowPathContext {
                encryption_level: if h == SET_ERROR_INFO {
                    Some(0)
                } else {
                    Some(2)
                },
                io_channel: Some(1003),
            };
            let mut full = Vec::new();
            decode_mcs(&ud, &mut ctx0.clone(), &mut full).unwrap();
            for n in 0..ud.len() {
                let mut out = Vec::new();
                let res = decode_mcs(&ud[..n], &mut ctx0.clone(), &mut out);
                assert!(
                    res.is_err() || out != full,
                    "{h} cut at {n} gave the full answer"
                );
                if h == CI || h == CR {
                    // The outer BER length says more is needed.
                    assert_eq!(res, Err(PduError::Incomplete), "{h} cut at {n}");
                }
            }
        }
        // The GCC user-data blocks of the capture, cut anywhere.
        let ud = user_data(CI);
        let mut r = Reader::new(&ud);
        let tlv = ber::read_tlv(&mut r).unwrap();
        let mut sink = Vec::new();
        let mut v = Reader::new(tlv.value);
        for _ in 0..6 {
            ber::read_tlv(&mut v).unwrap();
        }
        let user = ber::read_tlv(&mut v).unwrap();
        let blocks = gcc_user_data(user.value, GccPdu::CreateRequest, &mut sink).unwrap();
        let full = decode_client_blocks(blocks, &mut sink);
        for n in 0..blocks.len() {
            let mut out = Vec::new();
            let g = decode_client_blocks(&blocks[..n], &mut out);
            assert!(g != full || !out.is_empty(), "blocks cut at {n}");
        }
    }
}
