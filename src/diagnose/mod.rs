//! Stage 6: where on the ladder a connection stopped, how it ended, the
//! probable cause with its evidence, and what to do.
//!
//! [`diagnose`] is a pure function of a [`Timeline`]: no I/O, no global
//! state, so each rule is unit-tested with a timeline built by hand.
//! Vocabulary and remedies follow the domain guide (phases `tcp`, `x224`,
//! `tls`, `credssp`, `rdp`, `session`).
//!
//! How a verdict is reached:
//! - `ladder`: the path the negotiation chose (Standard RDP Security, TLS,
//!   TLS + CredSSP), the steps the capture shows (a later step implies the
//!   earlier ones), the last completed step and the next one. Inside TLS,
//!   RDP set-up is told from the first application records each way and the
//!   session from the server's volume (records, bytes).
//! - `facts`: the packets that end a connection (RST with its TTL, FIN,
//!   alerts, ICMP errors), retransmissions, zero windows, gaps, keep-alives.
//! - `rules` applies, strongest evidence first: the TCP handshake
//!   (`tcp`: refused, filtered, ICMP, scanner, half-open, health check),
//!   RDP_NEG_FAILURE codes (`x224`), clear-text TLS alerts (`tls`),
//!   licensing / Set Error Info (`rdp`), then path signatures (`path`: idle
//!   timeout, forged RST by TTL, zero window, MTU black hole, unanswered
//!   retransmissions), then the step-by-step reading (`steps`): whose turn
//!   it was and who ended the connection, with the certificate judged
//!   against the capture's clock (`cert`).
//! - `caveats`: mid-stream start, capture loss in the failing step, one
//!   direction only, snap length; they lower confidence or withdraw a
//!   verdict.
//! - `attempts` groups retries and confirms credential pre-checks;
//!   `remedy` holds the one remediation table; `negotiation` the sentence
//!   on what was offered and chosen.

use crate::common::Duration;
use crate::timeline::Timeline;

pub mod attempts;
mod caveats;
mod cert;
pub mod client_message;
pub mod error_info;
mod facts;
mod ladder;
mod negotiation;
mod path;
mod rdp;
pub mod remedy;
mod rules;
mod steps;
mod tcp;
#[cfg(test)]
pub mod testkit;
#[cfg(test)]
mod tests;
mod tls;
mod x224;

pub use attempts::{group_attempts, Attempt, Relabel};
pub use negotiation::negotiation;
pub use remedy::remediation;

/// The phases of the connection ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Tcp,
    X224,
    Tls,
    Credssp,
    Rdp,
    Session,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Tcp => "tcp",
            Phase::X224 => "x224",
            Phase::Tls => "tls",
            Phase::Credssp => "credssp",
            Phase::Rdp => "rdp",
            Phase::Session => "session",
        }
    }
}

/// The steps of the ladder, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Syn,
    SynAck,
    HandshakeAck,
    ConnectionRequest,
    ConnectionConfirm,
    ClientHello,
    ServerHello,
    ServerCertificate,
    ServerHelloDone,
    ClientKeyExchange,
    ClientFinished,
    ServerFinished,
    CredsspNegotiate,
    CredsspChallenge,
    CredsspAuthenticate,
    CredsspServerPubKeyAuth,
    CredsspCredentials,
    EarlyUserAuthResult,
    McsConnectInitial,
    McsConnectResponse,
    ErectDomain,
    AttachUser,
    ChannelJoin,
    SecurityExchange,
    ClientInfo,
    Licensing,
    Capabilities,
    /// Session traffic (graphics and input) flowing.
    SessionData,
}

impl Step {
    /// Every step, in ladder order.
    pub const ALL: &'static [Step] = &[
        Step::Syn,
        Step::SynAck,
        Step::HandshakeAck,
        Step::ConnectionRequest,
        Step::ConnectionConfirm,
        Step::ClientHello,
        Step::ServerHello,
        Step::ServerCertificate,
        Step::ServerHelloDone,
        Step::ClientKeyExchange,
        Step::ClientFinished,
        Step::ServerFinished,
        Step::CredsspNegotiate,
        Step::CredsspChallenge,
        Step::CredsspAuthenticate,
        Step::CredsspServerPubKeyAuth,
        Step::CredsspCredentials,
        Step::EarlyUserAuthResult,
        Step::McsConnectInitial,
        Step::McsConnectResponse,
        Step::ErectDomain,
        Step::AttachUser,
        Step::ChannelJoin,
        Step::SecurityExchange,
        Step::ClientInfo,
        Step::Licensing,
        Step::Capabilities,
        Step::SessionData,
    ];

    pub fn phase(self) -> Phase {
        use Step::*;
        match self {
            Syn | SynAck | HandshakeAck => Phase::Tcp,
            ConnectionRequest | ConnectionConfirm => Phase::X224,
            ClientHello | ServerHello | ServerCertificate | ServerHelloDone | ClientKeyExchange
            | ClientFinished | ServerFinished => Phase::Tls,
            CredsspNegotiate
            | CredsspChallenge
            | CredsspAuthenticate
            | CredsspServerPubKeyAuth
            | CredsspCredentials
            | EarlyUserAuthResult => Phase::Credssp,
            McsConnectInitial | McsConnectResponse | ErectDomain | AttachUser | ChannelJoin
            | SecurityExchange | ClientInfo | Licensing | Capabilities => Phase::Rdp,
            SessionData => Phase::Session,
        }
    }

    /// Stable identifier (JSON), e.g. `x224_connection_confirm`.
    pub fn id(self) -> &'static str {
        use Step::*;
        match self {
            Syn => "tcp_syn",
            SynAck => "tcp_syn_ack",
            HandshakeAck => "tcp_ack",
            ConnectionRequest => "x224_connection_request",
            ConnectionConfirm => "x224_connection_confirm",
            ClientHello => "tls_client_hello",
            ServerHello => "tls_server_hello",
            ServerCertificate => "tls_server_certificate",
            ServerHelloDone => "tls_server_hello_done",
            ClientKeyExchange => "tls_client_key_exchange",
            ClientFinished => "tls_client_finished",
            ServerFinished => "tls_server_finished",
            CredsspNegotiate => "credssp_negotiate",
            CredsspChallenge => "credssp_challenge",
            CredsspAuthenticate => "credssp_authenticate",
            CredsspServerPubKeyAuth => "credssp_server_pubkeyauth",
            CredsspCredentials => "credssp_credentials",
            EarlyUserAuthResult => "credssp_early_user_auth_result",
            McsConnectInitial => "mcs_connect_initial",
            McsConnectResponse => "mcs_connect_response",
            ErectDomain => "mcs_erect_domain",
            AttachUser => "mcs_attach_user",
            ChannelJoin => "mcs_channel_join",
            SecurityExchange => "rdp_security_exchange",
            ClientInfo => "rdp_client_info",
            Licensing => "rdp_licensing",
            Capabilities => "rdp_capabilities",
            SessionData => "session_data",
        }
    }

    /// Human label, e.g. `X.224 Connection Confirm`.
    pub fn label(self) -> &'static str {
        use Step::*;
        match self {
            Syn => "TCP SYN",
            SynAck => "TCP SYN/ACK",
            HandshakeAck => "TCP handshake ACK",
            ConnectionRequest => "X.224 Connection Request",
            ConnectionConfirm => "X.224 Connection Confirm",
            ClientHello => "TLS ClientHello",
            ServerHello => "TLS ServerHello",
            ServerCertificate => "TLS server Certificate",
            ServerHelloDone => "TLS ServerHelloDone",
            ClientKeyExchange => "TLS ClientKeyExchange",
            ClientFinished => "TLS client ChangeCipherSpec/Finished",
            ServerFinished => "TLS server ChangeCipherSpec/Finished",
            CredsspNegotiate => "CredSSP negotiate",
            CredsspChallenge => "CredSSP challenge",
            CredsspAuthenticate => "CredSSP authenticate",
            CredsspServerPubKeyAuth => "CredSSP server pubKeyAuth",
            CredsspCredentials => "CredSSP credentials",
            EarlyUserAuthResult => "Early User Authorization Result",
            McsConnectInitial => "MCS Connect Initial",
            McsConnectResponse => "MCS Connect Response",
            ErectDomain => "MCS Erect Domain",
            AttachUser => "MCS Attach User",
            ChannelJoin => "MCS Channel Join",
            SecurityExchange => "RDP Security Exchange",
            ClientInfo => "RDP Client Info",
            Licensing => "RDP Licensing",
            Capabilities => "RDP capability exchange",
            SessionData => "session data",
        }
    }
}

/// The verdict on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Reached the session (or at least completed set-up) as far as the
    /// capture can tell.
    Established,
    /// Stopped before the session for a reason the capture shows.
    Failed,
    /// The capture started late or ended early: no verdict on the failure.
    Incomplete,
    /// Looks like a failure but is normal (see [`Benign`]).
    Benign,
    /// Not RDP at all (a false positive on the port).
    NotRdp,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Established => "established",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
            Outcome::Benign => "benign",
            Outcome::NotRdp => "not_rdp",
        }
    }
}

/// Normal traffic that ends early.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Benign {
    /// The Windows client's NLA credential pre-check: a short NLA
    /// connection the client closes, followed by the real connection.
    CredentialPrecheck,
    /// Connect and close with no data (load-balancer health check).
    HealthCheck,
    /// SYN, SYN/ACK, RST from the client (a port scan).
    Scanner,
    /// A client closing or resetting at the end of a finished session
    /// (or a server logoff). Goes with [`Outcome::Established`]: the
    /// session ran; the close is named so nobody counts it as a failure.
    SessionEnd,
}

impl Benign {
    pub fn id(self) -> &'static str {
        match self {
            Benign::CredentialPrecheck => "credential_precheck",
            Benign::HealthCheck => "health_check",
            Benign::Scanner => "scanner",
            Benign::SessionEnd => "session_end",
        }
    }
}

/// Who sent the packet that ended the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Party {
    Client,
    Server,
    /// A device on the path (forged RST, ICMP from a router).
    Middlebox,
}

impl Party {
    pub fn name(self) -> &'static str {
        match self {
            Party::Client => "client",
            Party::Server => "server",
            Party::Middlebox => "middlebox",
        }
    }
}

/// How the connection ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// RST answered the SYN.
    Refused,
    /// No answer: how long the client waited and how many retransmissions.
    Timeout {
        waited: Duration,
        retransmissions: u32,
    },
    ResetBy(Party),
    ClosedBy(Party),
    /// RDP_NEG_FAILURE with its code.
    NegotiationFailure {
        code: u32,
    },
    /// A TLS alert (clear-text description, or None if encrypted).
    TlsAlert {
        from: Party,
        description: Option<u8>,
    },
    /// An ICMP error quoting the connection.
    IcmpError {
        icmp_type: u8,
        code: u8,
    },
    /// The capture ended with the connection still open.
    CaptureEnded,
}

impl Ending {
    /// Stable identifier, e.g. `reset_by_server`.
    pub fn id(&self) -> String {
        match self {
            Ending::Refused => "refused".into(),
            Ending::Timeout { .. } => "timeout".into(),
            Ending::ResetBy(p) => format!("reset_by_{}", p.name()),
            Ending::ClosedBy(p) => format!("closed_by_{}", p.name()),
            Ending::NegotiationFailure { .. } => "negotiation_failure".into(),
            Ending::TlsAlert { .. } => "tls_alert".into(),
            Ending::IcmpError { .. } => "icmp_error".into(),
            Ending::CaptureEnded => "capture_ended".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// The causes rdptriage can name. Each has a stable id and a remediation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CauseId {
    PortClosed,
    Filtered,
    IcmpUnreachable,
    ServiceUnresponsive,
    ListenerRefused,
    SslRequiredByServer,
    SslNotAllowedByServer,
    CertNotOnServer,
    InconsistentFlags,
    NlaRequired,
    SslWithUserAuthRequired,
    NegotiationFailureOther,
    ServerCertUnusable,
    TlsVersionMismatch,
    TlsCipherMismatch,
    TlsServerInternalError,
    CertRejectedExpired,
    CertRejectedNotYetValid,
    CertRejectedSelfSigned,
    CertRejectedNameMismatch,
    CertRejected,
    CredentialsRejected,
    AccessDenied,
    PubKeyAuthRejected,
    LicensingError,
    ServerDeniedSession,
    MiddleboxReset,
    MtuBlackHole,
    IdleTimeout,
    ZeroWindowStall,
    ServerReset,
    ServerClosed,
    ClientAborted,
    CaptureLossInFailingStep,
    /// The connection was up, then one side stopped acknowledging (host
    /// down, path broken).
    PathLost,
    /// The client sent an RDP request and something other than RDP
    /// answered.
    NotRdpServer,
    Unknown,
    /// Set Error Info 0x3 / 0x4: the server's own Session Time Limits.
    SessionTimeLimit,
    /// Set Error Info 0x5: another connection took over the session.
    ReplacedByOtherConnection,
    /// Set Error Info 0x6: the server ran out of memory.
    ServerOutOfMemory,
    /// Set Error Info 0xA: the server wants credentials typed again.
    FreshCredentialsRequired,
    /// Set Error Info 0xF-0x12, 0x17, 0x18: a component of the remote
    /// session (display driver, DWM, Winlogon, CSRSS) failed.
    ServerComponentFailure,
    /// Set Error Info 0x19 / 0x1A: the server is shutting down or
    /// restarting.
    ServerShutdown,
    /// Set Error Info 0x400 and up: RD Connection Broker errors.
    ConnectionBrokerError,
    /// Set Error Info 0x1000 and up: the server rejected RDP data.
    RdpProtocolError,
}

impl CauseId {
    pub const ALL: &'static [CauseId] = &[
        CauseId::PortClosed,
        CauseId::Filtered,
        CauseId::IcmpUnreachable,
        CauseId::ServiceUnresponsive,
        CauseId::ListenerRefused,
        CauseId::SslRequiredByServer,
        CauseId::SslNotAllowedByServer,
        CauseId::CertNotOnServer,
        CauseId::InconsistentFlags,
        CauseId::NlaRequired,
        CauseId::SslWithUserAuthRequired,
        CauseId::NegotiationFailureOther,
        CauseId::ServerCertUnusable,
        CauseId::TlsVersionMismatch,
        CauseId::TlsCipherMismatch,
        CauseId::TlsServerInternalError,
        CauseId::CertRejectedExpired,
        CauseId::CertRejectedNotYetValid,
        CauseId::CertRejectedSelfSigned,
        CauseId::CertRejectedNameMismatch,
        CauseId::CertRejected,
        CauseId::CredentialsRejected,
        CauseId::AccessDenied,
        CauseId::PubKeyAuthRejected,
        CauseId::LicensingError,
        CauseId::ServerDeniedSession,
        CauseId::MiddleboxReset,
        CauseId::MtuBlackHole,
        CauseId::IdleTimeout,
        CauseId::ZeroWindowStall,
        CauseId::ServerReset,
        CauseId::ServerClosed,
        CauseId::ClientAborted,
        CauseId::CaptureLossInFailingStep,
        CauseId::PathLost,
        CauseId::NotRdpServer,
        CauseId::Unknown,
        CauseId::SessionTimeLimit,
        CauseId::ReplacedByOtherConnection,
        CauseId::ServerOutOfMemory,
        CauseId::FreshCredentialsRequired,
        CauseId::ServerComponentFailure,
        CauseId::ServerShutdown,
        CauseId::ConnectionBrokerError,
        CauseId::RdpProtocolError,
    ];

    /// Stable identifier (JSON, labels), e.g. `port_closed`.
    pub fn id(self) -> &'static str {
        use CauseId::*;
        match self {
            PortClosed => "port_closed",
            Filtered => "filtered",
            IcmpUnreachable => "icmp_unreachable",
            ServiceUnresponsive => "service_unresponsive",
            ListenerRefused => "listener_refused",
            SslRequiredByServer => "ssl_required_by_server",
            SslNotAllowedByServer => "ssl_not_allowed_by_server",
            CertNotOnServer => "cert_not_on_server",
            InconsistentFlags => "inconsistent_flags",
            NlaRequired => "nla_required",
            SslWithUserAuthRequired => "ssl_with_user_auth_required",
            NegotiationFailureOther => "negotiation_failure_other",
            ServerCertUnusable => "server_cert_unusable",
            TlsVersionMismatch => "tls_version_mismatch",
            TlsCipherMismatch => "tls_cipher_mismatch",
            TlsServerInternalError => "tls_server_internal_error",
            CertRejectedExpired => "cert_rejected_expired",
            CertRejectedNotYetValid => "cert_rejected_not_yet_valid",
            CertRejectedSelfSigned => "cert_rejected_self_signed",
            CertRejectedNameMismatch => "cert_rejected_name_mismatch",
            CertRejected => "cert_rejected",
            CredentialsRejected => "credentials_rejected",
            AccessDenied => "access_denied",
            PubKeyAuthRejected => "pubkeyauth_rejected",
            LicensingError => "licensing_error",
            ServerDeniedSession => "server_denied_session",
            MiddleboxReset => "middlebox_reset",
            MtuBlackHole => "mtu_black_hole",
            IdleTimeout => "idle_timeout",
            ZeroWindowStall => "zero_window_stall",
            ServerReset => "server_reset",
            ServerClosed => "server_closed",
            ClientAborted => "client_aborted",
            CaptureLossInFailingStep => "capture_loss",
            PathLost => "path_lost",
            NotRdpServer => "not_rdp_server",
            Unknown => "unknown",
            SessionTimeLimit => "session_time_limit",
            ReplacedByOtherConnection => "replaced_by_other_connection",
            ServerOutOfMemory => "server_out_of_memory",
            FreshCredentialsRequired => "fresh_credentials_required",
            ServerComponentFailure => "server_component_failure",
            ServerShutdown => "server_shutdown",
            ConnectionBrokerError => "connection_broker_error",
            RdpProtocolError => "rdp_protocol_error",
        }
    }
}

/// The probable cause of a failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub id: CauseId,
    pub confidence: Confidence,
    /// One sentence for the reader, e.g. "The server requires Network Level
    /// Authentication and the client did not offer CredSSP."
    pub summary: String,
    /// What to check and change, in the administrator's words.
    pub remediation: String,
}

/// One frame and what it shows, e.g. frame 17: "RST from server 0.4 ms
/// after ClientHello (frame 15)".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub frame: u64,
    pub text: String,
}

/// The verdict on one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    pub outcome: Outcome,
    /// Where it stopped (the phase of `failed_step`, or of `last_step` when
    /// nothing failed).
    pub phase: Phase,
    /// The last step that completed.
    pub last_step: Option<Step>,
    /// The step that did not complete (None when established).
    pub failed_step: Option<Step>,
    pub ending: Ending,
    /// The frame that shows the ending (RST, FIN, alert, last SYN...).
    pub ending_frame: Option<u64>,
    pub cause: Option<Cause>,
    pub benign: Option<Benign>,
    /// The frames that prove the verdict, in frame order.
    pub evidence: Vec<Evidence>,
    /// Why the verdict may not be trusted (capture started mid-connection,
    /// capture loss in the failing step, one direction only, snap length).
    pub caveats: Vec<String>,
    /// A one-line account of the negotiation, e.g. "client offered
    /// SSL|HYBRID, server chose SSL: NLA is off on the server".
    pub negotiation: Option<String>,
}

/// Decide the verdict for one connection. Pure and deterministic: the
/// same timeline always gives the same diagnosis.
pub fn diagnose(tl: &Timeline) -> Diagnosis {
    let lad = ladder::Ladder::build(tl);
    let f = facts::Facts::build(tl);
    let v = rules::decide(tl, &lad, &f);
    let last_step = v.last_step.unwrap_or(lad.last.map(|m| m.step));
    let failed_step = v.failed_step;
    let phase = failed_step
        .or(last_step)
        .map(Step::phase)
        .unwrap_or(Phase::Tcp);
    let mut d = Diagnosis {
        outcome: v.outcome,
        phase,
        last_step,
        failed_step,
        ending: v.ending,
        ending_frame: v.ending_frame,
        cause: v.cause,
        benign: v.benign,
        evidence: v.evidence,
        caveats: v.caveats,
        negotiation: negotiation(tl),
    };
    caveats::apply(tl, &lad, &f, &mut d);
    d.evidence.sort_by_key(|e| e.frame);
    d.evidence.dedup();
    d
}

#[cfg(test)]
mod step_tests {
    use super::Step;

    #[test]
    fn all_steps_are_listed_once_in_ladder_order() {
        // Ord follows the declaration, which is the ladder's order.
        assert!(Step::ALL.windows(2).all(|w| w[0] < w[1]));
        let ids: std::collections::BTreeSet<&str> = Step::ALL.iter().map(|s| s.id()).collect();
        assert_eq!(ids.len(), Step::ALL.len());
        assert_eq!(Step::ALL.first(), Some(&Step::Syn));
        assert_eq!(Step::ALL.last(), Some(&Step::SessionData));
    }
}
