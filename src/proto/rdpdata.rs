//! Server PDUs of the connection sequence that say how the logon went:
//! the Save Session Info PDU ([MS-RDPBCGR] 2.2.10.1) and the Server
//! Redirection packet ([MS-RDPBCGR] 2.2.13.1). They travel in share
//! control PDUs (dispatched by `mcs`), in the clear at encryption level
//! none and inside TLS.
//!
//! Never kept: the auto-reconnect cookie (ARC_SC_PRIVATE_PACKET, a secret
//! that lets a client reconnect), and the redirection's user name,
//! domain and password.

use super::tpkt::{PduResult, Reader};

/// infoType values ([MS-RDPBCGR] 2.2.10.1.1).
pub const INFOTYPE_LOGON: u32 = 0;
pub const INFOTYPE_LOGON_LONG: u32 = 1;
pub const INFOTYPE_LOGON_PLAINNOTIFY: u32 = 2;
pub const INFOTYPE_LOGON_EXTENDED_INFO: u32 = 3;

/// TS_LOGON_ERRORS_INFO ([MS-RDPBCGR] 2.2.10.1.1.4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogonErrors {
    /// ErrorNotificationType: LOGON_FAILED_BAD_PASSWORD (0),
    /// LOGON_FAILED_UPDATE_PASSWORD (1), LOGON_FAILED_OTHER (2),
    /// LOGON_WARNING (3).
    pub notification_type: u32,
    /// ErrorNotificationData: a LOGON_MSG_* value or a session id.
    pub notification_data: u32,
}

impl LogonErrors {
    pub fn type_name(self) -> String {
        match self.notification_type {
            0 => "LOGON_FAILED_BAD_PASSWORD".into(),
            1 => "LOGON_FAILED_UPDATE_PASSWORD".into(),
            2 => "LOGON_FAILED_OTHER".into(),
            3 => "LOGON_WARNING".into(),
            v => super::unknown_hex(v as u64),
        }
    }

    pub fn data_name(self) -> String {
        match self.notification_data {
            0xFFFF_FFF8 => "LOGON_MSG_SESSION_BUSY_OPTIONS".into(),
            0xFFFF_FFF9 => "LOGON_MSG_DISCONNECT_REFUSED".into(),
            0xFFFF_FFFA => "LOGON_MSG_NO_PERMISSION".into(),
            0xFFFF_FFFB => "LOGON_MSG_BUMP_OPTIONS".into(),
            0xFFFF_FFFC => "LOGON_MSG_RECONNECT_OPTIONS".into(),
            0xFFFF_FFFD => "LOGON_MSG_SESSION_TERMINATE".into(),
            0xFFFF_FFFE => "LOGON_MSG_SESSION_CONTINUE".into(),
            v => format!("session {v}"),
        }
    }
}

impl std::fmt::Display for LogonErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.type_name(), self.data_name())
    }
}

/// TS_SAVE_SESSION_INFO_PDU_DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveSessionInfo {
    pub info_type: u32,
    /// LOGON_EX_LOGONERRORS of an INFOTYPE_LOGON_EXTENDED_INFO.
    pub logon_errors: Option<LogonErrors>,
}

impl SaveSessionInfo {
    /// A logon notification: [MS-RDPBCGR] 3.3.5.10 "the server sends
    /// the Save Session Info PDU ... to notify the client that the user
    /// has logged on" (infoType logon, logon long, plain notify).
    pub fn is_logon_notification(self) -> bool {
        self.info_type <= INFOTYPE_LOGON_PLAINNOTIFY
    }

    pub fn info_type_name(self) -> String {
        match self.info_type {
            INFOTYPE_LOGON => "INFOTYPE_LOGON".into(),
            INFOTYPE_LOGON_LONG => "INFOTYPE_LOGON_LONG".into(),
            INFOTYPE_LOGON_PLAINNOTIFY => "INFOTYPE_LOGON_PLAINNOTIFY".into(),
            INFOTYPE_LOGON_EXTENDED_INFO => "INFOTYPE_LOGON_EXTENDED_INFO".into(),
            v => super::unknown_hex(v as u64),
        }
    }
}

/// infoType, and for extended info its fields: Length, FieldsPresent,
/// then per field cbFieldData and the data (2.2.10.1.1.4). The
/// auto-reconnect cookie is skipped by its length, never read.
pub fn decode_save_session_info(d: &[u8]) -> PduResult<SaveSessionInfo> {
    const LOGON_EX_AUTORECONNECTCOOKIE: u32 = 0x1;
    const LOGON_EX_LOGONERRORS: u32 = 0x2;
    let mut r = Reader::new(d);
    let info_type = r.u32_le()?;
    let mut s = SaveSessionInfo {
        info_type,
        logon_errors: None,
    };
    if info_type == INFOTYPE_LOGON_EXTENDED_INFO {
        let _len = r.u16_le()?;
        let present = r.u32_le()?;
        if present & LOGON_EX_AUTORECONNECTCOOKIE != 0 {
            let n = r.u32_le()? as usize;
            r.skip(n)?;
        }
        if present & LOGON_EX_LOGONERRORS != 0 {
            let _n = r.u32_le()?;
            s.logon_errors = Some(LogonErrors {
                notification_type: r.u32_le()?,
                notification_data: r.u32_le()?,
            });
        }
    }
    Ok(s)
}

/// RDP_SERVER_REDIRECTION_PACKET, what it says about where to go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerRedirection {
    pub session_id: u32,
    pub redir_flags: u32,
    pub target_net_address: Option<String>,
    /// LoadBalanceInfo as text when printable (a routing token or
    /// `tsv://` collection URL), else its length.
    pub load_balance_info: Option<String>,
    pub target_fqdn: Option<String>,
    pub target_netbios_name: Option<String>,
}

impl ServerRedirection {
    /// LB_NOREDIRECT: the packet only carries information, the client
    /// stays (2.2.13.1).
    pub fn no_redirect(&self) -> bool {
        self.redir_flags & LB_NOREDIRECT != 0
    }

    /// Where the client is sent, the most specific name first.
    pub fn target(&self) -> Option<&str> {
        self.target_fqdn
            .as_deref()
            .or(self.target_net_address.as_deref())
            .or(self.target_netbios_name.as_deref())
    }
}

const LB_TARGET_NET_ADDRESS: u32 = 0x1;
const LB_LOAD_BALANCE_INFO: u32 = 0x2;
const LB_USERNAME: u32 = 0x4;
const LB_DOMAIN: u32 = 0x8;
const LB_PASSWORD: u32 = 0x10;
const LB_NOREDIRECT: u32 = 0x80;
const LB_TARGET_FQDN: u32 = 0x100;
const LB_TARGET_NETBIOS_NAME: u32 = 0x200;

fn utf16z(b: &[u8]) -> String {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Flags (SEC_REDIRECTION_PKT), Length, SessionID, RedirFlags, then the
/// variable fields in the order 2.2.13.1 gives, each a 4-byte length and
/// its bytes; read up to TargetNetBiosName.
pub fn decode_server_redirection(d: &[u8]) -> PduResult<ServerRedirection> {
    let mut r = Reader::new(d);
    let _flags = r.u16_le()?;
    let _len = r.u16_le()?;
    let mut s = ServerRedirection {
        session_id: r.u32_le()?,
        redir_flags: r.u32_le()?,
        ..Default::default()
    };
    let f = s.redir_flags;
    let mut field = |bit: u32| -> PduResult<Option<&[u8]>> {
        if f & bit == 0 {
            return Ok(None);
        }
        let n = r.u32_le()? as usize;
        r.take(n).map(Some)
    };
    s.target_net_address = field(LB_TARGET_NET_ADDRESS)?.map(utf16z);
    s.load_balance_info = field(LB_LOAD_BALANCE_INFO)?.map(|b| {
        let t = b.strip_suffix(b"\r\n").unwrap_or(b);
        if t.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            String::from_utf8_lossy(t).into_owned()
        } else {
            format!("{} bytes", b.len())
        }
    });
    for secret in [LB_USERNAME, LB_DOMAIN, LB_PASSWORD] {
        field(secret)?;
    }
    s.target_fqdn = field(LB_TARGET_FQDN)?.map(utf16z);
    s.target_netbios_name = field(LB_TARGET_NETBIOS_NAME)?.map(utf16z);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tpkt::hex;

    #[test]
    fn logon_notification_and_extended_errors() {
        // 2.2.10.1.1: infoType INFOTYPE_LOGON_PLAINNOTIFY, then its pad.
        let s = decode_save_session_info(&hex("02000000 00000000")).unwrap();
        assert!(s.is_logon_notification());
        // 2.2.10.1.1.4: extended info with LOGON_EX_AUTORECONNECTCOOKIE |
        // LOGON_EX_LOGONERRORS: a 28-byte cookie (skipped), then
        // LOGON_FAILED_OTHER / LOGON_MSG_SESSION_TERMINATE.
        let d = hex(&format!(
            "03000000 2e00 03000000 1c000000 {} 08000000 02000000 fdffffff",
            "ab".repeat(28)
        ));
        let s = decode_save_session_info(&d).unwrap();
        assert!(!s.is_logon_notification());
        let e = s.logon_errors.unwrap();
        assert_eq!(
            e.to_string(),
            "LOGON_FAILED_OTHER, LOGON_MSG_SESSION_TERMINATE"
        );
        for n in 0..d.len() {
            let _ = decode_save_session_info(&d[..n]);
        }
    }

    #[test]
    fn redirection_target_and_load_balance_info() {
        let u16z = |s: &str| -> Vec<u8> {
            let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            v.extend([0, 0]);
            v
        };
        let lbi = b"Cookie: msts=3640205228.15629.0000\r\n".to_vec();
        let pw = vec![0x77u8; 16];
        let mut d = Vec::new();
        d.extend(0x0400u16.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(7u32.to_le_bytes());
        let flags = LB_TARGET_NET_ADDRESS | LB_LOAD_BALANCE_INFO | LB_PASSWORD | LB_TARGET_FQDN;
        d.extend(flags.to_le_bytes());
        for f in [u16z("10.0.0.5"), lbi, pw, u16z("rdsh1.corp.example")] {
            d.extend((f.len() as u32).to_le_bytes());
            d.extend(f);
        }
        let s = decode_server_redirection(&d).unwrap();
        assert_eq!(s.session_id, 7);
        assert_eq!(s.target_net_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(
            s.load_balance_info.as_deref(),
            Some("Cookie: msts=3640205228.15629.0000")
        );
        assert_eq!(s.target(), Some("rdsh1.corp.example"));
        assert!(!s.no_redirect());
        assert!(!format!("{s:?}").contains("wwww"));
        for n in 0..d.len() {
            let _ = decode_server_redirection(&d[..n]);
        }
    }
}
