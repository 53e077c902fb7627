//! MCS (T.125, BER and PER) and GCC (T.124) as used by RDP, and the RDP
//! PDUs that travel in the clear under Standard RDP Security
//! ([MS-RDPBCGR] 2.2.1.3 to 2.2.1.12, 2.2.5.1).

use super::cert::CertInfo;

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
    /// Proprietary certificate with an RSA key of this many bits.
    Proprietary { key_bits: u32 },
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
    /// Disconnect Provider Ultimatum with its reason.
    DisconnectProviderUltimatum {
        reason: u8,
    },
    /// Another MCS domain PDU (type number per T.125).
    OtherDomainPdu {
        pdu_type: u8,
    },
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
        0x0000_0014 => "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY",
        0x0000_0015 => "ERRINFO_SERVER_DWM_CRASH",
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
        0x0000_0407 => "ERRINFO_CB_LOADING_DESTINATION",
        0x0000_0409 => "ERRINFO_CB_REDIRECTING_TO_DESTINATION",
        0x0000_1000..=0x0000_10FF => return format!("ERRINFO protocol error (0x{code:04x})"),
        _ => return super::unknown_hex(code as u64),
    };
    n.to_string()
}
