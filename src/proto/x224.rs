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
        if self.0 == 0 {
            v.push("RDP".to_string());
            return v;
        }
        for (bit, name) in [
            (Self::SSL, "SSL"),
            (Self::HYBRID, "HYBRID"),
            (Self::RDSTLS, "RDSTLS"),
            (Self::HYBRID_EX, "HYBRID_EX"),
            (Self::RDSAAD, "RDSAAD"),
        ] {
            if self.0 & bit != 0 {
                v.push(name.to_string());
            }
        }
        let rest = self.0 & !0x1f;
        if rest != 0 {
            v.push(super::unknown_hex(rest as u64));
        }
        v
    }

    /// Name of a selected protocol value.
    pub fn selected_name(self) -> String {
        match self.0 {
            0 => "RDP".into(),
            1 => "SSL".into(),
            2 => "HYBRID".into(),
            4 => "RDSTLS".into(),
            8 => "HYBRID_EX".into(),
            0x10 => "RDSAAD".into(),
            v => super::unknown_hex(v as u64),
        }
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
