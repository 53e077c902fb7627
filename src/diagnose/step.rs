//! The connection ladder as data: one table says, for every step, its
//! stable id, its label, its phase, who sends it, which security paths
//! include it and how a capture can show it. Everything else (the path a
//! connection must climb, the sender of a step, its JSON id) reads this
//! table; no other code spells these facts again.
//!
//! Sources: MS-RDPBCGR 1.3.1.1 (connection sequence), 5.3 (Standard RDP
//! Security), 5.4 (Enhanced RDP Security: TLS, CredSSP); MS-CSSP 3.1.5
//! (the TSRequest exchange); RFC 5246 7.3 and RFC 8446 2 (handshake flights).

use super::Party;

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

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The steps of the ladder, in order (the order of [`STEPS`]).
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
    /// The client accepted the server's certificate. Never on the wire:
    /// implied by the client's next step (its first CredSSP or RDP record),
    /// and the step a client that rejects the certificate fails.
    CertificateAccepted,
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

/// Which security paths include a step (bit set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paths(u8);

impl Paths {
    /// Every path (TCP and X.224 steps).
    pub const ALL: Paths = Paths(0b1111_1111);
    /// No security protocol known yet.
    pub const NONE: Paths = Paths(0);
    /// Standard RDP Security (MCS in the clear).
    pub const STANDARD: Paths = Paths(1);
    /// TLS 1.0 to 1.2 handshakes.
    pub const TLS12: Paths = Paths(2);
    /// TLS 1.3 handshakes.
    pub const TLS13: Paths = Paths(4);
    /// CredSSP (PROTOCOL_HYBRID and HYBRID_EX).
    pub const NLA: Paths = Paths(8);
    /// HYBRID_EX only (Early User Authorization Result).
    pub const NLA_EX: Paths = Paths(16);
    /// RDP inside TLS (SSL, HYBRID, HYBRID_EX, RDSTLS).
    pub const IN_TLS: Paths = Paths(32);
    /// The TLS handshake, whatever its version.
    pub const TLS: Paths = Paths(2 | 4);

    pub const fn or(self, o: Paths) -> Paths {
        Paths(self.0 | o.0)
    }
    pub fn meets(self, o: Paths) -> bool {
        self.0 & o.0 != 0
    }
}

/// How a capture without keys can show a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Decoded from a clear-text message (TCP flags, X.224, TLS handshake
    /// messages before ChangeCipherSpec, MCS under Standard RDP Security).
    Decoded,
    /// Told from encrypted records by their place in the exchange: seen as
    /// records, their meaning fixed by the protocol's order (CredSSP legs
    /// after a HYBRID selection; MCS inside TLS is only *inferred*).
    Position,
    /// Never on the wire; only implied by a later step.
    Never,
}

/// One row of the ladder table.
#[derive(Debug)]
pub struct StepInfo {
    pub step: Step,
    /// Stable identifier (JSON, labels), e.g. `x224_connection_confirm`.
    pub id: &'static str,
    /// Human label, e.g. `X.224 Connection Confirm`.
    pub label: &'static str,
    pub phase: Phase,
    /// Who sends the message that completes this step.
    pub sender: Party,
    pub paths: Paths,
    pub shown: Shown,
}

const fn row(
    step: Step,
    id: &'static str,
    label: &'static str,
    phase: Phase,
    sender: Party,
    paths: Paths,
    shown: Shown,
) -> StepInfo {
    StepInfo {
        step,
        id,
        label,
        phase,
        sender,
        paths,
        shown,
    }
}

use Party::{Client as C, Server as S};
use Phase as Ph;
use Shown::{Decoded as Dec, Never, Position as Pos};

const MCS: Paths = Paths::STANDARD.or(Paths::IN_TLS);

/// The ladder, in order. `Step as usize` indexes it.
#[rustfmt::skip]
pub const STEPS: [StepInfo; 29] = [
    row(Step::Syn, "tcp_syn", "TCP SYN", Ph::Tcp, C, Paths::ALL, Dec),
    row(Step::SynAck, "tcp_syn_ack", "TCP SYN/ACK", Ph::Tcp, S, Paths::ALL, Dec),
    row(Step::HandshakeAck, "tcp_ack", "TCP handshake ACK", Ph::Tcp, C, Paths::ALL, Dec),
    row(Step::ConnectionRequest, "x224_connection_request", "X.224 Connection Request", Ph::X224, C, Paths::ALL, Dec),
    row(Step::ConnectionConfirm, "x224_connection_confirm", "X.224 Connection Confirm", Ph::X224, S, Paths::ALL, Dec),
    row(Step::ClientHello, "tls_client_hello", "TLS ClientHello", Ph::Tls, C, Paths::TLS, Dec),
    row(Step::ServerHello, "tls_server_hello", "TLS ServerHello", Ph::Tls, S, Paths::TLS, Dec),
    row(Step::ServerCertificate, "tls_server_certificate", "TLS server Certificate", Ph::Tls, S, Paths::TLS12, Dec),
    row(Step::ServerHelloDone, "tls_server_hello_done", "TLS ServerHelloDone", Ph::Tls, S, Paths::TLS12, Dec),
    row(Step::ClientKeyExchange, "tls_client_key_exchange", "TLS ClientKeyExchange", Ph::Tls, C, Paths::TLS12, Dec),
    row(Step::ClientFinished, "tls_client_finished", "TLS client ChangeCipherSpec/Finished", Ph::Tls, C, Paths::TLS, Dec),
    row(Step::ServerFinished, "tls_server_finished", "TLS server ChangeCipherSpec/Finished", Ph::Tls, S, Paths::TLS, Dec),
    row(Step::CertificateAccepted, "tls_certificate_accepted", "server certificate check by the client", Ph::Tls, C, Paths::TLS, Never),
    row(Step::CredsspNegotiate, "credssp_negotiate", "CredSSP negotiate", Ph::Credssp, C, Paths::NLA, Pos),
    row(Step::CredsspChallenge, "credssp_challenge", "CredSSP challenge", Ph::Credssp, S, Paths::NLA, Pos),
    row(Step::CredsspAuthenticate, "credssp_authenticate", "CredSSP authenticate", Ph::Credssp, C, Paths::NLA, Pos),
    row(Step::CredsspServerPubKeyAuth, "credssp_server_pubkeyauth", "CredSSP server pubKeyAuth", Ph::Credssp, S, Paths::NLA, Pos),
    row(Step::CredsspCredentials, "credssp_credentials", "CredSSP credentials", Ph::Credssp, C, Paths::NLA, Pos),
    row(Step::EarlyUserAuthResult, "credssp_early_user_auth_result", "Early User Authorization Result", Ph::Credssp, S, Paths::NLA_EX, Pos),
    row(Step::McsConnectInitial, "mcs_connect_initial", "MCS Connect Initial", Ph::Rdp, C, MCS, Dec),
    row(Step::McsConnectResponse, "mcs_connect_response", "MCS Connect Response", Ph::Rdp, S, MCS, Dec),
    row(Step::ErectDomain, "mcs_erect_domain", "MCS Erect Domain", Ph::Rdp, C, Paths::STANDARD, Dec),
    row(Step::AttachUser, "mcs_attach_user", "MCS Attach User", Ph::Rdp, S, Paths::STANDARD, Dec),
    row(Step::ChannelJoin, "mcs_channel_join", "MCS Channel Join", Ph::Rdp, S, Paths::STANDARD, Dec),
    row(Step::SecurityExchange, "rdp_security_exchange", "RDP Security Exchange", Ph::Rdp, C, Paths::STANDARD, Dec),
    row(Step::ClientInfo, "rdp_client_info", "RDP Client Info", Ph::Rdp, C, Paths::STANDARD, Dec),
    row(Step::Licensing, "rdp_licensing", "RDP Licensing", Ph::Rdp, S, Paths::STANDARD, Dec),
    row(Step::Capabilities, "rdp_capabilities", "RDP capability exchange", Ph::Rdp, S, Paths::STANDARD, Dec),
    row(Step::SessionData, "session_data", "session data", Ph::Session, S, MCS, Dec),
];

impl Step {
    /// Every step, in ladder order.
    pub fn all() -> impl Iterator<Item = Step> {
        STEPS.iter().map(|r| r.step)
    }
    pub fn info(self) -> &'static StepInfo {
        &STEPS[self as usize]
    }
    pub fn phase(self) -> Phase {
        self.info().phase
    }
    pub fn id(self) -> &'static str {
        self.info().id
    }
    pub fn label(self) -> &'static str {
        self.info().label
    }
    pub fn sender(self) -> Party {
        self.info().sender
    }
    /// The step with this stable id.
    pub fn from_id(id: &str) -> Option<Step> {
        STEPS.iter().find(|r| r.id == id).map(|r| r.step)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// [`path_for`] these paths, made once per process for every set of
/// paths (a byte's worth): a ladder is built for each connection's
/// diagnosis and again for its report's steps, and made its path anew
/// each time.
pub fn path_of(paths: Paths) -> &'static [Step] {
    static EVERY: std::sync::OnceLock<Vec<Vec<Step>>> = std::sync::OnceLock::new();
    let every = EVERY.get_or_init(|| (0..=u8::MAX).map(|bits| path_for(Paths(bits))).collect());
    every.get(usize::from(paths.0)).map_or(&[], Vec::as_slice)
}

/// The steps a connection on these paths must climb, in order. TLS 1.3
/// differs from the table's order in one place: the server's Finished
/// comes in its first flight, before the client's (RFC 8446 2).
pub fn path_for(paths: Paths) -> Vec<Step> {
    let mut out: Vec<Step> = STEPS
        .iter()
        .filter(|r| r.paths == Paths::ALL || r.paths.meets(paths))
        .map(|r| r.step)
        .collect();
    if paths.meets(Paths::TLS13) {
        if let (Some(c), Some(s)) = (
            out.iter().position(|s| *s == Step::ClientFinished),
            out.iter().position(|s| *s == Step::ServerFinished),
        ) {
            out.swap(c, s);
        }
    }
    out
}

/// How sure the capture makes a step, or a verdict resting on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Certainty {
    /// From record sizes, order or timing only (e.g. "MCS Connect Initial"
    /// for the client's first encrypted record).
    Inferred,
    /// Not on the wire, but a later step that was seen requires it.
    Implied,
    /// Decoded on the wire (or a record whose meaning the protocol's order
    /// fixes).
    Seen,
}

impl Certainty {
    pub fn name(self) -> &'static str {
        match self {
            Certainty::Seen => "seen",
            Certainty::Implied => "implied",
            Certainty::Inferred => "inferred",
        }
    }
}

impl std::fmt::Display for Certainty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_made_once_are_the_paths_made_each_time() {
        for bits in 0..=u8::MAX {
            assert_eq!(
                path_of(Paths(bits)),
                path_for(Paths(bits)).as_slice(),
                "{bits:#b}"
            );
        }
    }

    #[test]
    fn the_table_is_in_ladder_order_and_indexed_by_step() {
        for (i, r) in STEPS.iter().enumerate() {
            assert_eq!(r.step as usize, i, "{} out of place", r.id);
        }
        let ids: std::collections::BTreeSet<&str> = STEPS.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), STEPS.len());
        assert_eq!(
            Step::from_id("tls_certificate_accepted"),
            Some(Step::CertificateAccepted)
        );
    }

    #[test]
    fn paths_follow_the_specifications() {
        use Step::*;
        let tls12_nla = path_for(Paths::TLS12.or(Paths::NLA).or(Paths::IN_TLS));
        assert_eq!(
            &tls12_nla[5..],
            &[
                ClientHello,
                ServerHello,
                ServerCertificate,
                ServerHelloDone,
                ClientKeyExchange,
                ClientFinished,
                ServerFinished,
                CertificateAccepted,
                CredsspNegotiate,
                CredsspChallenge,
                CredsspAuthenticate,
                CredsspServerPubKeyAuth,
                CredsspCredentials,
                McsConnectInitial,
                McsConnectResponse,
                SessionData
            ]
        );
        let tls13 = path_for(Paths::TLS13.or(Paths::IN_TLS));
        assert_eq!(
            &tls13[5..],
            &[
                ClientHello,
                ServerHello,
                ServerFinished,
                ClientFinished,
                CertificateAccepted,
                McsConnectInitial,
                McsConnectResponse,
                SessionData
            ]
        );
        let standard = path_for(Paths::STANDARD);
        assert_eq!(standard.len(), 5 + 10);
        assert!(!standard.contains(&CertificateAccepted));
        // Before the security protocol is known: TCP and X.224 only.
        assert_eq!(
            path_for(Paths::NONE),
            &[
                Syn,
                SynAck,
                HandshakeAck,
                ConnectionRequest,
                ConnectionConfirm
            ]
        );
    }
}
