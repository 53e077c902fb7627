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
//! - `facts`: read once from the timeline, the only input of the rules:
//!   the packets that end a connection (RST with its TTL and whether it was
//!   forged, FIN, alerts, ICMP errors), retransmissions, zero windows, gaps,
//!   keep-alives, the two directions' summaries and the clear-text protocol
//!   messages.
//! - `evidence`: what each evidence frame shows, as a typed `Clue` whose
//!   `Display` is the sentence the reports print.
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
pub mod evidence;
mod facts;
pub mod gateway;
pub mod ladder;
mod negotiation;
mod neighbour_rules;
pub mod neighbours;
pub mod nla;
mod path;
mod rdp;
pub mod remedy;
mod rules;
mod spare;
mod step;
mod steps;
mod tcp;
#[cfg(test)]
pub mod testkit;
#[cfg(test)]
mod tests;
mod tls;
mod x224;

pub use attempts::{group_attempts, Attempt, Relabel};
pub use evidence::Clue;
pub use facts::{Term, TermKind};
pub use negotiation::negotiation;
pub use remedy::remediation;
pub use step::{Certainty, Phase, Step, StepInfo, STEPS};

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
    /// A probe that reads what the server offers and leaves: a burst of
    /// connections each offering other security protocols (security
    /// enumeration), or an NTLM challenge read and not answered.
    Probe,
    /// A client closing or resetting at the end of a finished session
    /// (or a server logoff). Goes with [`Outcome::Established`]: the
    /// session ran; the close is named so nobody counts it as a failure.
    SessionEnd,
    /// The server (an RD Connection Broker or a farm member) sent the
    /// client to another server with a Server Redirection PDU: the client
    /// connects there next.
    Redirected,
}

impl Benign {
    pub fn id(self) -> &'static str {
        match self {
            Benign::CredentialPrecheck => "credential_precheck",
            Benign::HealthCheck => "health_check",
            Benign::Scanner => "scanner",
            Benign::Probe => "probe",
            Benign::SessionEnd => "session_end",
            Benign::Redirected => "redirected",
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
    pub fn id(&self) -> &'static str {
        match self {
            Ending::Refused => "refused",
            Ending::Timeout { .. } => "timeout",
            // `reset_by_` or `closed_by_` and the party's name, spelt out:
            // the id is static, never built per connection.
            Ending::ResetBy(Party::Client) => "reset_by_client",
            Ending::ResetBy(Party::Server) => "reset_by_server",
            Ending::ResetBy(Party::Middlebox) => "reset_by_middlebox",
            Ending::ClosedBy(Party::Client) => "closed_by_client",
            Ending::ClosedBy(Party::Server) => "closed_by_server",
            Ending::ClosedBy(Party::Middlebox) => "closed_by_middlebox",
            Ending::NegotiationFailure { .. } => "negotiation_failure",
            Ending::TlsAlert { .. } => "tls_alert",
            Ending::IcmpError { .. } => "icmp_error",
            Ending::CaptureEnded => "capture_ended",
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
    /// NLA errorCode STATUS_ACCOUNT_LOCKED_OUT: too many bad passwords locked the account.
    AccountLockedOut,
    /// NLA errorCode STATUS_PASSWORD_EXPIRED.
    PasswordExpired,
    /// NLA errorCode STATUS_PASSWORD_MUST_CHANGE: the password must be changed before the first logon.
    PasswordMustChange,
    /// NLA errorCode STATUS_ACCOUNT_DISABLED.
    AccountDisabled,
    /// NLA errorCode STATUS_ACCOUNT_EXPIRED.
    AccountExpired,
    /// NLA errorCode STATUS_LOGON_TYPE_NOT_GRANTED: the account lacks the remote interactive logon right.
    LogonTypeNotGranted,
    /// NLA errorCode STATUS_ACCOUNT_RESTRICTION or STATUS_INVALID_WORKSTATION: valid credentials an account policy refuses.
    AccountRestriction,
    /// NLA errorCode STATUS_INVALID_LOGON_HOURS: outside the account's logon hours.
    LogonHoursRestriction,
    /// NLA errorCode STATUS_NO_LOGON_SERVERS, STATUS_TRUSTED_RELATIONSHIP_FAILURE or STATUS_TIME_DIFFERENCE_AT_DC: the server could not check the logon with a domain controller.
    DomainUnreachable,
    /// The name's look-up was answered NXDOMAIN.
    DnsNameNotFound,
    /// The name's look-up gave no address: SERVFAIL, REFUSED, an empty answer, or no answer.
    DnsNoAnswer,
    /// The client connected to an address the name did not resolve to.
    DnsAddressMismatch,
    /// The KDC does not know the TERMSRV/ (or HOST/) principal asked for.
    KerberosSpnUnknown,
    /// The KDC answered KRB_AP_ERR_SKEW: the clocks are too far apart.
    KerberosClockSkew,
    /// The KDC answered KDC_ERR_PREAUTH_FAILED: wrong password.
    KerberosPasswordWrong,
    /// The KDC answered KDC_ERR_CLIENT_REVOKED: account disabled or locked.
    KerberosAccountRevoked,
    /// The KDC answered KDC_ERR_KEY_EXPIRED: password expired.
    KerberosPasswordExpired,
    /// Kerberos requests were repeated and no KDC answered.
    KerberosKdcUnreachable,
    /// The KDC answered KDC_ERR_ETYPE_NOSUPP: no common encryption type.
    KerberosEtypeUnsupported,
    /// RDP-UDP SYNs went unanswered: the session runs on TCP only (informational).
    UdpTransportBlocked,
    /// The connection a redirection sent the client to (routing token) failed.
    RedirectFailed,
    /// The connection to the RD Gateway failed: refused, unanswered, its
    /// name not found, closed after TLS, or an HTTP error status.
    GatewayFailed,
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
        CauseId::AccountLockedOut,
        CauseId::PasswordExpired,
        CauseId::PasswordMustChange,
        CauseId::AccountDisabled,
        CauseId::AccountExpired,
        CauseId::LogonTypeNotGranted,
        CauseId::AccountRestriction,
        CauseId::LogonHoursRestriction,
        CauseId::DomainUnreachable,
        CauseId::DnsNameNotFound,
        CauseId::DnsNoAnswer,
        CauseId::DnsAddressMismatch,
        CauseId::KerberosSpnUnknown,
        CauseId::KerberosClockSkew,
        CauseId::KerberosPasswordWrong,
        CauseId::KerberosAccountRevoked,
        CauseId::KerberosPasswordExpired,
        CauseId::KerberosKdcUnreachable,
        CauseId::KerberosEtypeUnsupported,
        CauseId::UdpTransportBlocked,
        CauseId::RedirectFailed,
        CauseId::GatewayFailed,
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
            AccountLockedOut => "account_locked_out",
            PasswordExpired => "password_expired",
            PasswordMustChange => "password_must_change",
            AccountDisabled => "account_disabled",
            AccountExpired => "account_expired",
            LogonTypeNotGranted => "logon_type_not_granted",
            AccountRestriction => "account_restriction",
            LogonHoursRestriction => "logon_hours_restriction",
            DomainUnreachable => "domain_unreachable",
            DnsNameNotFound => "dns_name_not_found",
            DnsNoAnswer => "dns_no_answer",
            DnsAddressMismatch => "dns_address_mismatch",
            KerberosSpnUnknown => "kerberos_spn_unknown",
            KerberosClockSkew => "kerberos_clock_skew",
            KerberosPasswordWrong => "kerberos_password_wrong",
            KerberosAccountRevoked => "kerberos_account_revoked",
            KerberosPasswordExpired => "kerberos_password_expired",
            KerberosKdcUnreachable => "kerberos_kdc_unreachable",
            KerberosEtypeUnsupported => "kerberos_etype_unsupported",
            UdpTransportBlocked => "udp_transport_blocked",
            RedirectFailed => "redirect_failed",
            GatewayFailed => "gateway_failed",
        }
    }
}

/// What a cause rests on, from strongest to weakest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grounds {
    /// A message or packet that states the failure: RDP_NEG_FAILURE, a
    /// clear-text TLS alert, an error PDU, a RST or ICMP error answering a
    /// request, a forged RST.
    Explicit,
    /// Where on the ladder the connection stopped and who closed it.
    Position,
    /// A silence: a side that did not answer, measured from its last
    /// packet.
    Silence,
}

impl Grounds {
    pub fn name(self) -> &'static str {
        match self {
            Grounds::Explicit => "explicit",
            Grounds::Position => "position",
            Grounds::Silence => "silence",
        }
    }
}

impl std::fmt::Display for Grounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The probable cause of a failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub id: CauseId,
    /// Never above what `basis` allows: a cause resting on an inferred
    /// step is at most Low.
    pub confidence: Confidence,
    /// How sure the capture makes the evidence the cause rests on.
    pub basis: Certainty,
    pub grounds: Grounds,
    /// One sentence for the reader, e.g. "The server requires Network Level
    /// Authentication and the client did not offer CredSSP."
    pub summary: String,
    /// What to check and change, in the administrator's words (the
    /// cause's entry of the remedy table).
    pub remediation: &'static str,
}

/// One frame and what it shows, e.g. frame 17: "RST from server 0.4 ms
/// after ClientHello (frame 15)".
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub frame: u64,
    /// What the frame shows, as values; its `Display` is the sentence.
    pub clue: Clue,
}

impl Evidence {
    /// The sentence the reports print.
    pub fn text(&self) -> String {
        self.clue.to_string()
    }
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
    /// How the capture shows `last_step`: seen, implied or inferred.
    pub last_step_certainty: Option<Certainty>,
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
    /// The path and marks of the diagnosis' ladder: kept for the reports,
    /// which tell the steps reached from them instead of building the
    /// ladder a second time.
    pub ladder: ladder::LadderMarks,
}

/// Decide the verdict for one connection. Pure and deterministic: the
/// same timeline always gives the same diagnosis.
pub fn diagnose(tl: &Timeline) -> Diagnosis {
    let lad = ladder::Ladder::build(tl);
    // Facts::build in two steps, the facts built in place.
    let mut f = facts::Facts::unread(tl);
    f.read_events(tl);
    let v = rules::decide(&lad, &f);
    let last_step = v.last_step.unwrap_or(lad.last.map(|m| m.step));
    let failed_step = v.failed_step;
    let phase = failed_step
        .or(last_step)
        .map(Step::phase)
        .unwrap_or(Phase::Tcp);
    let mut cause = v.cause;
    if let Some(c) = &mut cause {
        c.basis = v.basis;
        c.grounds = v.grounds;
    }
    let mut d = Diagnosis {
        outcome: v.outcome,
        phase,
        last_step,
        last_step_certainty: last_step.and_then(|s| lad.certainty(s)),
        failed_step,
        ending: v.ending,
        ending_frame: v.ending_frame,
        cause,
        benign: v.benign,
        evidence: v.evidence,
        caveats: v.caveats,
        negotiation: None,
        ladder: Default::default(),
    };
    caveats::apply(&lad, &f, &mut d);
    d.ladder = lad.into_marks();
    // The rules and caveats are done with the facts: their sentence moves.
    d.negotiation = f.proto.negotiation.take();
    // The evidence model: a cause is never surer than what it rests on.
    if let Some(c) = &mut d.cause {
        if c.basis == Certainty::Inferred {
            c.confidence = c.confidence.min(Confidence::Low);
        }
        // A silence is the absence of an answer, never a statement of
        // failure: what it means is an inference, at most Medium.
        if c.grounds == Grounds::Silence {
            c.confidence = c.confidence.min(Confidence::Medium);
        }
    }
    d.evidence.sort_by_key(|e| e.frame);
    d.evidence.dedup();
    d
}
