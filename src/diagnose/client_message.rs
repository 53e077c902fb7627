//! What the Windows client (mstsc) most likely showed for each cause, and
//! Microsoft's two published code tables the client's messages come from.
//!
//! Primary sources:
//! - `IMsTscAxEvents::OnDisconnected` (the disconnect reason, "Error code"
//!   in the client's dialog):
//!   <https://learn.microsoft.com/en-us/windows/win32/termserv/imstscaxevents-ondisconnected>
//!   (the same list as the older `OnConnectionTerminated` page).
//! - `ExtendedDisconnectReasonCode` ("Extended error code"):
//!   <https://learn.microsoft.com/en-us/windows/win32/termserv/extendeddisconnectreasoncode>.
//!   Its values 1 to 12, 256 to 267 and the protocol range repeat the
//!   server's Set Error Info codes (MS-RDPBCGR 2.2.5.1.1).
//!
//! A mapping from a cause to a code is given only where a source supports
//! it, with a confidence; where none does, the cause's entry says so
//! ("none known"). Nothing here is guessed from forum posts.

use super::error_info::{error_info_codes, error_info_verdict, ErrorInfoVerdict};
use super::{CauseId, Confidence};

/// Source of the disconnect reason table.
pub const SOURCE_DISCONNECT: &str = "Microsoft Learn, IMsTscAxEvents::OnDisconnected \
     (https://learn.microsoft.com/en-us/windows/win32/termserv/imstscaxevents-ondisconnected)";
/// Source of the extended reason table.
pub const SOURCE_EXTENDED: &str = "Microsoft Learn, ExtendedDisconnectReasonCode \
     (https://learn.microsoft.com/en-us/windows/win32/termserv/extendeddisconnectreasoncode)";

/// One documented code of either table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: u32,
    pub name: &'static str,
    pub meaning: &'static str,
}

const fn code(code: u32, name: &'static str, meaning: &'static str) -> Code {
    Code {
        code,
        name,
        meaning,
    }
}

/// `IMsTscAxEvents::OnDisconnected` disconnect reasons, every one
/// Microsoft lists.
pub const DISCONNECT_REASONS: &[Code] = &[
    code(
        0x0,
        "disconnectReasonNoInfo",
        "No information is available.",
    ),
    code(
        0x1,
        "disconnectReasonLocalNotError",
        "Local disconnection (not an error code).",
    ),
    code(
        0x2,
        "disconnectReasonRemoteByUser",
        "Remote disconnection by user (not an error code).",
    ),
    code(
        0x3,
        "disconnectReasonByServer",
        "Remote disconnection by server (not an error code).",
    ),
    code(
        0x104,
        "disconnectReasonDNSLookupFailed",
        "DNS name lookup failure.",
    ),
    code(0x106, "disconnectReasonOutOfMemory", "Out of memory."),
    code(
        0x108,
        "disconnectReasonConnectionTimedOut",
        "Connection timed out.",
    ),
    code(
        0x204,
        "disconnectReasonSocketConnectFailed",
        "Windows Sockets connect failed.",
    ),
    code(0x206, "disconnectReasonOutOfMemory2", "Out of memory."),
    code(
        0x208,
        "disconnectReasonHostNotFound",
        "Host not found error.",
    ),
    code(
        0x304,
        "disconnectReasonWinsockSendFailed",
        "Windows Sockets send call failed.",
    ),
    code(0x306, "disconnectReasonOutOfMemory3", "Out of memory."),
    code(
        0x308,
        "disconnectReasonInvalidIPAddr",
        "Invalid IP address specified.",
    ),
    code(
        0x404,
        "disconnectReasonSocketRecvFailed",
        "Windows Sockets recv call failed.",
    ),
    code(
        0x406,
        "disconnectReasonInvalidSecurityData",
        "Invalid security data.",
    ),
    code(0x408, "disconnectReasonInternalError", "Internal error."),
    code(
        0x506,
        "disconnectReasonInvalidEncryption",
        "The encryption method specified is not valid.",
    ),
    code(
        0x508,
        "disconnectReasonDNSLookupFailed2",
        "DNS lookup failed.",
    ),
    code(
        0x604,
        "disconnectReasonGetHostByNameFailed",
        "Windows Sockets gethostbyname call failed.",
    ),
    code(
        0x606,
        "disconnectReasonInvalidServerSecurityInfo",
        "Invalid server security data.",
    ),
    code(0x608, "disconnectReasonTimerError", "Internal timer error."),
    code(
        0x704,
        "disconnectReasonTimeoutOccurred",
        "Time-out occurred.",
    ),
    code(
        0x706,
        "disconnectReasonServerCertificateUnpackErr",
        "Failed to unpack server certificate.",
    ),
    code(
        0x804,
        "disconnectReasonInvalidIP",
        "Bad IP address specified.",
    ),
    code(
        0x808,
        "disconnectReasonLicensingFailed",
        "License negotiation failed.",
    ),
    code(
        0x904,
        "disconnectReasonAtClientWinsockFDCLOSE",
        "Socket closed.",
    ),
    code(
        0x906,
        "disconnectReasonInternalSecurityError",
        "Internal security error.",
    ),
    code(
        0x908,
        "disconnectReasonLicensingTimeout",
        "Licensing time-out.",
    ),
    code(
        0xA06,
        "disconnectReasonInternalSecurityError2",
        "Internal security error.",
    ),
    code(
        0xB06,
        "disconnectReasonEncryptionError",
        "Encryption error.",
    ),
    code(
        0xC06,
        "disconnectReasonDecryptionError",
        "Decryption error.",
    ),
    code(
        0xC08,
        "disconnectReasonClientDecompressionError",
        "Decompression error.",
    ),
];

/// `ExtendedDisconnectReasonCode`, every value Microsoft lists (the
/// protocol range as its two bounds; [`extended_reason`] answers for the
/// codes between).
pub const EXTENDED_REASONS: &[Code] = &[
    code(
        0,
        "exDiscReasonNoInfo",
        "No additional information is available.",
    ),
    code(
        1,
        "exDiscReasonAPIInitiatedDisconnect",
        "An application initiated the disconnection.",
    ),
    code(
        2,
        "exDiscReasonAPIInitiatedLogoff",
        "An application logged off the client.",
    ),
    code(
        3,
        "exDiscReasonServerIdleTimeout",
        "The server disconnected the client because it had been idle longer than the \
         designated time-out period.",
    ),
    code(
        4,
        "exDiscReasonServerLogonTimeout",
        "The server disconnected the client because it exceeded the period designated for \
         connection.",
    ),
    code(
        5,
        "exDiscReasonReplacedByOtherConnection",
        "The client's connection was replaced by another connection.",
    ),
    code(6, "exDiscReasonOutOfMemory", "No memory is available."),
    code(
        7,
        "exDiscReasonServerDeniedConnection",
        "The server denied the connection.",
    ),
    code(
        8,
        "exDiscReasonServerDeniedConnectionFips",
        "The server denied the connection for security reasons.",
    ),
    code(
        9,
        "exDiscReasonServerInsufficientPrivileges",
        "The user account is not authorized for remote login.",
    ),
    code(
        10,
        "exDiscReasonServerFreshCredsRequired",
        "Fresh credentials are required.",
    ),
    code(
        11,
        "exDiscReasonRpcInitiatedDisconnectByUser",
        "User activity has initiated the disconnect.",
    ),
    code(
        12,
        "exDiscReasonLogoffByUser",
        "The user logged off, disconnecting the session.",
    ),
    code(
        256,
        "exDiscReasonLicenseInternal",
        "Internal licensing error.",
    ),
    code(
        257,
        "exDiscReasonLicenseNoLicenseServer",
        "No license server was available.",
    ),
    code(
        258,
        "exDiscReasonLicenseNoLicense",
        "No valid software license was available.",
    ),
    code(
        259,
        "exDiscReasonLicenseErrClientMsg",
        "The remote computer received a not valid licensing message.",
    ),
    code(
        260,
        "exDiscReasonLicenseHwidDoesntMatchLicense",
        "The hardware ID does not match the one designated on the software license.",
    ),
    code(
        261,
        "exDiscReasonLicenseErrClientLicense",
        "Client license error.",
    ),
    code(
        262,
        "exDiscReasonLicenseCantFinishProtocol",
        "Network problems occurred during the licensing protocol.",
    ),
    code(
        263,
        "exDiscReasonLicenseClientEndedProtocol",
        "The client ended the licensing protocol prematurely.",
    ),
    code(
        264,
        "exDiscReasonLicenseErrClientEncryption",
        "A licensing message was encrypted incorrectly.",
    ),
    code(
        265,
        "exDiscReasonLicenseCantUpgradeLicense",
        "The local computer's client access license could not be upgraded or renewed.",
    ),
    code(
        266,
        "exDiscReasonLicenseNoRemoteConnections",
        "The remote computer is not licensed to accept remote connections.",
    ),
    code(
        267,
        "exDiscReasonLicenseCreatingLicStoreAccDenied",
        "An access denied error was received while creating a registry key for the license \
         store.",
    ),
    code(
        768,
        "exDiscReasonRdpEncInvalidCredentials",
        "Invalid credentials were encountered.",
    ),
    code(
        4096,
        "exDiscReasonProtocolRangeStart",
        "Start of the range of protocol-level reasons (an internal protocol error).",
    ),
    code(
        32767,
        "exDiscReasonProtocolRangeEnd",
        "End of the range of protocol-level reasons.",
    ),
];

/// A documented disconnect reason.
pub fn disconnect_reason(c: u32) -> Option<&'static Code> {
    DISCONNECT_REASONS.iter().find(|d| d.code == c)
}

/// A documented extended reason; codes inside the protocol range answer
/// with the range's start.
pub fn extended_reason(c: u32) -> Option<&'static Code> {
    EXTENDED_REASONS
        .iter()
        .find(|d| d.code == c)
        .or_else(|| (4096..=32767).contains(&c).then(|| &EXTENDED_REASONS[26]))
}

/// The extended reason a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extended {
    /// None known.
    None,
    /// The Set Error Info code the server sent, repeated by the client
    /// (only when the capture shows one).
    ServerErrorInfo,
}

/// One message the client most likely showed for a cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientMessage {
    /// The disconnect reason ("Error code"), when a source supports it.
    pub disconnect_reason: Option<u32>,
    pub extended: Extended,
    /// The dialog's text, where a source quotes it.
    pub text: Option<&'static str>,
    pub confidence: Confidence,
    /// What supports the mapping, and what is inferred.
    pub source: &'static str,
}

const fn disc(code: u32, confidence: Confidence, source: &'static str) -> ClientMessage {
    ClientMessage {
        disconnect_reason: Some(code),
        extended: Extended::None,
        text: None,
        confidence,
        source,
    }
}

const fn text(text: &'static str, confidence: Confidence, source: &'static str) -> ClientMessage {
    ClientMessage {
        disconnect_reason: None,
        extended: Extended::None,
        text: Some(text),
        confidence,
        source,
    }
}

const SERVER_CODE: ClientMessage = ClientMessage {
    disconnect_reason: None,
    extended: Extended::ServerErrorInfo,
    text: None,
    confidence: Confidence::Medium,
    source: "ExtendedDisconnectReasonCode repeats the server's Set Error Info code (MS-RDPBCGR \
             2.2.5.1.1): Microsoft Learn, ExtendedDisconnectReasonCode; the equality is read from \
             the two tables' numbering, Microsoft does not state it",
};

const SOCKET_CONNECT: &str = "Microsoft Learn, IMsTscAxEvents::OnDisconnected documents 0x204 as \
     'Windows Sockets connect failed'; that this connection's failure gives it is inferred (the TCP \
     connection never opened)";
const DNS_LOOKUP: &str = "Microsoft Learn, IMsTscAxEvents::OnDisconnected documents 0x104 as \
     'DNS name lookup failure'; that this look-up's failure gives it is inferred (the client had no \
     address to connect to)";
const SOCKET_CLOSED: &str = "Microsoft Learn, IMsTscAxEvents::OnDisconnected documents 0x904 as \
     'Socket closed'; that this ending gives it is inferred (the TCP connection was closed under \
     the client)";
const INTERNAL_ERROR: &str = "Microsoft Learn, \"An internal error has occurred\" \
     (internal-error-has-occurred-connecting-remote-machine): the article for this message covers \
     the Remote Desktop certificate, its private key and TLS settings";
const AUTH_AZURE: &str = "Microsoft Learn, \"Troubleshoot authentication errors when you use RDP \
     to connect to Azure VM\" (https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/windows/cannot-connect-rdp-azure-vm): \
     quoted for NLA failures including a server that cannot reach a domain controller and TLS \
     versions disabled on the server";
const NO_SOURCE: &str = "No source: no Microsoft table or article ties this verdict to a client \
     message";

/// "None known": no source maps the cause to a client message.
/// FreeRDP's client turns the server's NLA errorCode into its own
/// connect error, one per NTSTATUS.
const FREERDP_NLA: &str = "FreeRDP libfreerdp/core/nla.c maps the server's TSRequest errorCode \
     (STATUS_LOGON_FAILURE, STATUS_ACCOUNT_RESTRICTION, STATUS_PASSWORD_EXPIRED, \
     STATUS_PASSWORD_MUST_CHANGE, STATUS_ACCOUNT_DISABLED, STATUS_ACCOUNT_EXPIRED, \
     STATUS_ACCOUNT_LOCKED_OUT, STATUS_LOGON_TYPE_NOT_GRANTED, STATUS_ACCESS_DENIED, \
     STATUS_WRONG_PASSWORD) to FREERDP_ERROR_CONNECT_* errors its clients print as ERRCONNECT_*";

const NONE_KNOWN: ClientMessage = ClientMessage {
    disconnect_reason: None,
    extended: Extended::None,
    text: None,
    confidence: Confidence::Low,
    source: NO_SOURCE,
};

/// The client messages of each cause. Every [`CauseId`] has one row
/// (checked by a test); a row holding only [`NONE_KNOWN`] says plainly
/// that no source supports a mapping.
pub const CLIENT_MESSAGES: &[(CauseId, &[ClientMessage])] = &[
    (
        CauseId::PortClosed,
        &[disc(0x204, Confidence::Medium, SOCKET_CONNECT)],
    ),
    (
        CauseId::Filtered,
        &[
            disc(0x204, Confidence::Medium, SOCKET_CONNECT),
            disc(
                0x108,
                Confidence::Low,
                "Microsoft Learn, IMsTscAxEvents::OnDisconnected documents 0x108 as 'Connection \
                 timed out'; which of 0x204 and 0x108 an unanswered SYN gives is not documented",
            ),
        ],
    ),
    (
        CauseId::IcmpUnreachable,
        &[disc(0x204, Confidence::Medium, SOCKET_CONNECT)],
    ),
    (CauseId::ServiceUnresponsive, &[NONE_KNOWN]),
    (
        CauseId::ListenerRefused,
        &[
            disc(0x904, Confidence::Medium, SOCKET_CLOSED),
            text(
                "Remote Desktop Disconnected. This computer can't connect to the remote computer. \
                 Try connecting again. If the problem continues, contact the owner of the remote \
                 computer or your network administrator.",
                Confidence::Low,
                "Microsoft Learn, \"Troubleshoot Remote Desktop disconnected errors\" (KB 2477176), \
                 quoted for limited connections; other refusals may show other text",
            ),
        ],
    ),
    (CauseId::SslRequiredByServer, &[NONE_KNOWN]),
    (CauseId::SslNotAllowedByServer, &[NONE_KNOWN]),
    (
        CauseId::CertNotOnServer,
        &[text(
            "An internal error has occurred.",
            Confidence::Low,
            INTERNAL_ERROR,
        )],
    ),
    (CauseId::InconsistentFlags, &[NONE_KNOWN]),
    (
        CauseId::NlaRequired,
        &[text(
            "The remote computer requires Network Level Authentication, which your computer does \
             not support.",
            Confidence::Low,
            "No Microsoft source ties this text to HYBRID_REQUIRED_BY_SERVER; it is the text \
             support tickets quote for a client without NLA",
        )],
    ),
    (CauseId::SslWithUserAuthRequired, &[NONE_KNOWN]),
    (CauseId::NegotiationFailureOther, &[NONE_KNOWN]),
    (
        CauseId::ServerCertUnusable,
        &[text(
            "An internal error has occurred.",
            Confidence::Medium,
            INTERNAL_ERROR,
        )],
    ),
    (
        CauseId::TlsVersionMismatch,
        &[
            text(
                "This computer can't connect to the remote computer. Try connecting again, if the \
                 problem continues, contact the owner of the remote computer or your network \
                 administrator.",
                Confidence::Low,
                AUTH_AZURE,
            ),
            text("An internal error has occurred.", Confidence::Low, INTERNAL_ERROR),
        ],
    ),
    (CauseId::TlsCipherMismatch, &[NONE_KNOWN]),
    (
        CauseId::TlsServerInternalError,
        &[text(
            "An internal error has occurred.",
            Confidence::Medium,
            INTERNAL_ERROR,
        )],
    ),
    (CauseId::CertRejectedExpired, &[NONE_KNOWN]),
    (CauseId::CertRejectedNotYetValid, &[NONE_KNOWN]),
    (CauseId::CertRejectedSelfSigned, &[NONE_KNOWN]),
    (CauseId::CertRejectedNameMismatch, &[NONE_KNOWN]),
    (CauseId::CertRejected, &[NONE_KNOWN]),
    (
        CauseId::CredentialsRejected,
        &[
            text(
                "An authentication error has occurred. The Local Security Authority cannot be \
                 contacted.",
                Confidence::Low,
                AUTH_AZURE,
            ),
            text(
                "The remote computer that you are trying to connect to requires Network Level \
                 Authentication (NLA), but your Windows domain controller cannot be contacted to \
                 perform NLA.",
                Confidence::Low,
                AUTH_AZURE,
            ),
        ],
    ),
    (CauseId::AccessDenied, &[SERVER_CODE]),
    (CauseId::PubKeyAuthRejected, &[NONE_KNOWN]),
    (
        CauseId::LicensingError,
        &[
            SERVER_CODE,
            disc(
                0x808,
                Confidence::Low,
                "Microsoft Learn, IMsTscAxEvents::OnDisconnected documents 0x808 as 'License \
                 negotiation failed'; that a licensing error gives it is inferred from the name",
            ),
        ],
    ),
    (CauseId::ServerDeniedSession, &[SERVER_CODE]),
    (
        CauseId::MiddleboxReset,
        &[disc(0x904, Confidence::Medium, SOCKET_CLOSED)],
    ),
    (CauseId::MtuBlackHole, &[NONE_KNOWN]),
    (
        CauseId::IdleTimeout,
        &[disc(0x904, Confidence::Low, SOCKET_CLOSED)],
    ),
    (CauseId::ZeroWindowStall, &[NONE_KNOWN]),
    (
        CauseId::ServerReset,
        &[disc(0x904, Confidence::Medium, SOCKET_CLOSED)],
    ),
    (
        CauseId::ServerClosed,
        &[disc(0x904, Confidence::Medium, SOCKET_CLOSED)],
    ),
    (
        CauseId::ClientAborted,
        &[text(
            "An authentication error has occurred. The function requested is not supported. \
             Remote computer: <name>. This could be due to CredSSP encryption oracle remediation.",
            Confidence::Low,
            "Microsoft Learn, \"CredSSP encryption oracle remediation\" \
             (credssp-encryption-oracle-remediation): shown when the client enforces the \
             remediation against an unpatched server; a client aborts for other reasons too",
        )],
    ),
    (CauseId::CaptureLossInFailingStep, &[NONE_KNOWN]),
    (CauseId::PathLost, &[NONE_KNOWN]),
    (CauseId::NotRdpServer, &[NONE_KNOWN]),
    (CauseId::Unknown, &[NONE_KNOWN]),
    (CauseId::SessionTimeLimit, &[SERVER_CODE]),
    (CauseId::ReplacedByOtherConnection, &[SERVER_CODE]),
    (CauseId::ServerOutOfMemory, &[SERVER_CODE]),
    (CauseId::FreshCredentialsRequired, &[SERVER_CODE]),
    (CauseId::ServerComponentFailure, &[SERVER_CODE]),
    (CauseId::ServerShutdown, &[SERVER_CODE]),
    (CauseId::ConnectionBrokerError, &[SERVER_CODE]),
    (CauseId::RdpProtocolError, &[SERVER_CODE]),
    (
        CauseId::AccountLockedOut,
        &[text(
            "ERRCONNECT_ACCOUNT_LOCKED_OUT (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (
        CauseId::PasswordExpired,
        &[text(
            "ERRCONNECT_PASSWORD_EXPIRED (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (
        CauseId::PasswordMustChange,
        &[text(
            "ERRCONNECT_PASSWORD_MUST_CHANGE (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (
        CauseId::AccountDisabled,
        &[text(
            "ERRCONNECT_ACCOUNT_DISABLED (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (
        CauseId::AccountExpired,
        &[text(
            "ERRCONNECT_ACCOUNT_EXPIRED (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (
        CauseId::LogonTypeNotGranted,
        &[text(
            "ERRCONNECT_LOGON_TYPE_NOT_GRANTED (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (
        CauseId::AccountRestriction,
        &[text(
            "ERRCONNECT_ACCOUNT_RESTRICTION (FreeRDP clients; what mstsc shows: none known)",
            Confidence::Medium,
            FREERDP_NLA,
        )],
    ),
    (CauseId::LogonHoursRestriction, &[NONE_KNOWN]),
    (CauseId::DomainUnreachable, &[NONE_KNOWN]),
    (
        CauseId::DnsNameNotFound,
        &[disc(0x104, Confidence::Medium, DNS_LOOKUP)],
    ),
    (
        CauseId::DnsNoAnswer,
        &[disc(0x104, Confidence::Low, DNS_LOOKUP)],
    ),
    (CauseId::DnsAddressMismatch, &[NONE_KNOWN]),
    (CauseId::KerberosSpnUnknown, &[NONE_KNOWN]),
    (CauseId::KerberosClockSkew, &[NONE_KNOWN]),
    (CauseId::KerberosPasswordWrong, &[NONE_KNOWN]),
    (CauseId::KerberosAccountRevoked, &[NONE_KNOWN]),
    (CauseId::KerberosPasswordExpired, &[NONE_KNOWN]),
    (CauseId::KerberosKdcUnreachable, &[NONE_KNOWN]),
    (CauseId::KerberosEtypeUnsupported, &[NONE_KNOWN]),
    (CauseId::UdpTransportBlocked, &[NONE_KNOWN]),
    (CauseId::RedirectFailed, &[NONE_KNOWN]),
    (CauseId::GatewayFailed, &[NONE_KNOWN]),
];

/// The client-message entries of a cause.
pub fn client_messages(id: CauseId) -> &'static [ClientMessage] {
    CLIENT_MESSAGES
        .iter()
        .find(|(c, _)| *c == id)
        .map(|(_, m)| *m)
        .unwrap_or(&[])
}

/// A message resolved for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub disconnect_reason: Option<u32>,
    pub extended_reason: Option<u32>,
    pub text: Option<&'static str>,
    pub confidence: Confidence,
    pub source: &'static str,
}

impl Resolved {
    /// Whether a source supports anything (false for "none known").
    pub fn known(&self) -> bool {
        self.disconnect_reason.is_some() || self.extended_reason.is_some() || self.text.is_some()
    }
}

/// The messages of one connection: the cause's entries, with the
/// extended reason filled in from the Set Error Info code the capture
/// shows (`error_info`). An entry that needs that code is left out when
/// the capture shows none; when nothing is left, one "none known" entry.
pub fn resolve(id: CauseId, error_info: Option<u32>) -> Vec<Resolved> {
    let mut out: Vec<Resolved> = client_messages(id)
        .iter()
        .filter_map(|m| {
            let extended_reason = match m.extended {
                Extended::None => None,
                Extended::ServerErrorInfo => Some(error_info?),
            };
            // A code outside Microsoft's published enum is an inference.
            let confidence = match extended_reason {
                Some(x) if extended_reason_in_enum(x) => m.confidence,
                Some(_) => Confidence::Low,
                None => m.confidence,
            };
            Some(Resolved {
                disconnect_reason: m.disconnect_reason,
                extended_reason,
                text: m.text,
                confidence,
                source: m.source,
            })
        })
        .filter(Resolved::known)
        .collect();
    if out.is_empty() {
        out.push(Resolved {
            disconnect_reason: None,
            extended_reason: None,
            text: None,
            confidence: Confidence::Low,
            source: NO_SOURCE,
        });
    }
    out
}

fn extended_reason_in_enum(x: u32) -> bool {
    EXTENDED_REASONS.iter().any(|c| c.code == x) || (4096..=32767).contains(&x)
}

/// Which verdicts produce a code, for the reverse look-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Producer {
    pub cause: CauseId,
    pub confidence: Confidence,
    pub source: &'static str,
}

/// The causes whose entries carry this disconnect reason.
pub fn producers_of_disconnect_reason(code: u32) -> Vec<Producer> {
    let mut out = Vec::new();
    for (cause, msgs) in CLIENT_MESSAGES {
        for m in msgs.iter() {
            if m.disconnect_reason == Some(code) {
                out.push(Producer {
                    cause: *cause,
                    confidence: m.confidence,
                    source: m.source,
                });
            }
        }
    }
    out
}

/// What rdptriage reports when a server sends the Set Error Info code
/// that the client repeats as this extended reason: a normal session
/// end, or the cause (None for 0, which the server does not send as an
/// error).
pub fn producers_of_extended_reason(code: u32) -> ExtendedProducer {
    if code == 0 {
        return ExtendedProducer::Nothing;
    }
    match error_info_verdict(code) {
        ErrorInfoVerdict::SessionEnd => ExtendedProducer::SessionEnd,
        ErrorInfoVerdict::Cause { id, specific } => ExtendedProducer::Cause {
            id,
            specific,
            listed: error_info_codes(id)
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&code)),
        },
    }
}

/// See [`producers_of_extended_reason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtendedProducer {
    /// Code 0: no information; no verdict produces it.
    Nothing,
    /// A logoff or disconnect by a user or administrator (benign).
    SessionEnd,
    /// A failure with this cause; `specific` false for the catch-all.
    Cause {
        id: CauseId,
        specific: bool,
        listed: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_a_client_message_entry() {
        for id in CauseId::ALL {
            let n = CLIENT_MESSAGES.iter().filter(|(c, _)| c == id).count();
            assert_eq!(n, 1, "{id:?}");
            let msgs = client_messages(*id);
            assert!(!msgs.is_empty(), "{id:?}");
            for m in msgs {
                assert!(m.source.len() > 10, "{id:?}");
                // Every code named is one Microsoft documents.
                if let Some(d) = m.disconnect_reason {
                    assert!(disconnect_reason(d).is_some(), "{id:?} 0x{d:x}");
                }
            }
            assert!(!resolve(*id, None).is_empty());
        }
        assert_eq!(CLIENT_MESSAGES.len(), CauseId::ALL.len());
    }

    #[test]
    fn the_two_tables_are_complete() {
        assert_eq!(DISCONNECT_REASONS.len(), 32);
        assert_eq!(EXTENDED_REASONS.len(), 28);
        assert_eq!(disconnect_reason(0x904).unwrap().meaning, "Socket closed.");
        assert_eq!(disconnect_reason(2308), disconnect_reason(0x904));
        assert_eq!(
            extended_reason(0x10D3).unwrap().name,
            "exDiscReasonProtocolRangeStart"
        );
        assert!(extended_reason(13).is_none());
    }

    #[test]
    fn the_server_code_becomes_the_extended_reason() {
        let r = resolve(CauseId::ServerDeniedSession, Some(7));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].extended_reason, Some(7));
        assert_eq!(r[0].confidence, Confidence::Medium);
        // Without a code in the capture: none known.
        let r = resolve(CauseId::ServerDeniedSession, None);
        assert_eq!(r.len(), 1);
        assert!(!r[0].known());
        // Outside the public enum: low.
        let r = resolve(CauseId::ServerComponentFailure, Some(0x11));
        assert_eq!(r[0].confidence, Confidence::Low);
        // Licensing without Set Error Info still has its disconnect reason.
        let r = resolve(CauseId::LicensingError, None);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].disconnect_reason, Some(0x808));
    }

    #[test]
    fn reverse_look_up() {
        let p = producers_of_disconnect_reason(0x904);
        assert!(p.iter().any(|p| p.cause == CauseId::ServerClosed));
        assert!(producers_of_disconnect_reason(0x706).is_empty());
        assert_eq!(
            producers_of_extended_reason(3),
            ExtendedProducer::Cause {
                id: CauseId::SessionTimeLimit,
                specific: true,
                listed: true
            }
        );
        assert_eq!(
            producers_of_extended_reason(12),
            ExtendedProducer::SessionEnd
        );
        assert_eq!(producers_of_extended_reason(0), ExtendedProducer::Nothing);
    }
}
