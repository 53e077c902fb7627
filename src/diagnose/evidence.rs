//! What an evidence frame shows, as a typed value: [`Clue`]. Each variant
//! carries the values it rests on (frames, steps, senders, durations, TCP
//! terms, codes, certificates) and its `Display` is the sentence the reports
//! print. Rules build clues; tests match variants and values.

use super::facts::{date, date_secs, Term};
use super::ladder::Mark;
use super::rdp::license_error_name;
use super::{Party, Step};
use crate::common::{Dir, Duration, Endpoint, Timestamp};
use crate::packet::IcmpError;
use crate::proto::cert::CertInfo;
use crate::proto::credssp::CredsspLeg;
use crate::proto::inner::early_user_auth_result_name;
use crate::proto::mcs::{disconnect_reason_name, error_info_name};
use crate::proto::ntstatus::NtStatus;
use crate::proto::rdpdata::SaveSessionInfo;
use crate::proto::tls::ClientHello;
use crate::proto::x224::{NegFailureCode, Protocols};
use std::fmt;

/// The time from a step to a later packet: `0.40 ms after ClientHello
/// (frame 15)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Since {
    pub elapsed: Duration,
    pub step: Step,
    pub frame: u64,
}

impl Since {
    /// From mark `m` to `ts`.
    pub fn mark(ts: Timestamp, m: &Mark) -> Since {
        Since {
            elapsed: ts.since(m.ts),
            step: m.step,
            frame: m.frame,
        }
    }
}

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {} (frame {})",
            self.elapsed,
            self.step.label(),
            self.frame
        )
    }
}

/// What a frame shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Clue {
    /// A step of the ladder the capture shows, from its sender.
    Step {
        step: Step,
        note: StepNote,
    },
    /// A packet that ends (or announces the end of) the connection, timed
    /// from a step when one is given, with what it means.
    End {
        term: Term,
        since: Option<Since>,
        note: EndNote,
    },
    Tcp(TcpClue),
    Silence(SilenceClue),
    Negotiation(NegotiationClue),
    Tls(TlsClue),
    Rdp(RdpClue),
    NotRdp(NotRdpClue),
    Capture(CaptureClue),
}

/// What a step mark says beyond the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepNote {
    None,
    LastCompleted,
    LastThrough,
}

/// What the packet ending a connection means, printed after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndNote {
    None,
    /// Connection Request, then the client closed without data.
    HealthCheck,
    /// Handshake done, then the client closed without data.
    HandshakeHealthCheck,
    HalfOpenScan,
    NoConnectionConfirm,
    NoServerHello,
    NtlmProbe,
    NoPubKeyAuth,
    CredentialPrecheck,
    CredentialCheck,
    DataBothWays,
    /// A reset after a silence; the usual TTL when the reset was forged.
    AfterSilence {
        idle: Duration,
        usual_ttl: Option<u8>,
    },
    ClientEndedSession,
    ServerEndedSession,
    DuringSession,
    TlsClose,
    NoGoodbye,
    BeforeSessionData,
    AbortBeforeSessionData,
    ConnectionEnds,
}

impl EndNote {
    /// What `Display` writes, when it is a fixed text (all but a reset
    /// after a silence).
    fn fixed_text(&self) -> Option<&'static str> {
        use EndNote::*;
        Some(match self {
            None => "",
            HealthCheck => "; no data either way: a load-balancer health check or port probe",
            HandshakeHealthCheck => {
                " with no data either way: a load-balancer health check or port probe"
            }
            HalfOpenScan => " without completing the handshake: a half-open (SYN) port scan",
            NoConnectionConfirm => ", no Connection Confirm",
            NoServerHello => ", no ServerHello",
            NtlmProbe => {
                " instead of answering the NTLM challenge: a probe reading the server's NTLM \
                 information"
            }
            NoPubKeyAuth => ", no pubKeyAuth back",
            CredentialPrecheck => {
                " without sending credentials: the client's NLA credential pre-check"
            }
            CredentialCheck => " after NLA completed, without starting RDP: a credential check",
            DataBothWays => " after data flowed both ways",
            AfterSilence { .. } => return Option::None,
            ClientEndedSession => " after the session ran: the client ended the session",
            ServerEndedSession => {
                " after the session ran: the server ended the session (logoff or disconnect)"
            }
            DuringSession => " during the session",
            TlsClose => " (TLS close)",
            NoGoodbye => " with no close_notify or disconnect PDU before it",
            BeforeSessionData => " before any session data",
            AbortBeforeSessionData => {
                " with no FIN or close_notify before it, before any session data"
            }
            ConnectionEnds => ": the connection ends",
        })
    }
}

impl fmt::Display for EndNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let EndNote::AfterSilence { idle, usual_ttl } = self {
            if let Some(u) = usual_ttl {
                write!(f, " (usual TTL {u})")?;
            }
            return write!(f, " after {idle} of silence");
        }
        f.write_str(self.fixed_text().unwrap_or_default())
    }
}

/// TCP-level observations: the handshake, retransmissions, keep-alives,
/// windows, holes.
#[derive(Clone, Debug, PartialEq)]
pub enum TcpClue {
    Syn {
        server: std::net::SocketAddr,
    },
    /// The one SYN, and the capture ended before an answer could come.
    SynCaptureEnds {
        after: Duration,
    },
    /// The client sent the SYN more than once before an answer.
    SynRepeated {
        frames: Vec<u64>,
    },
    /// The SYN sent several times and never answered.
    SynUnanswered {
        frames: Vec<u64>,
        intervals: Vec<Duration>,
    },
    SingleSynUnanswered {
        quiet: Duration,
    },
    NoHandshakeAck {
        syn_rtx: usize,
        synack_rtx: usize,
    },
    /// A RST whose TTL is not its sender's usual TTL.
    ForgedRst {
        dir: Dir,
        ttl: u8,
        usual: u8,
        others: u64,
        /// The RST's IP ID and the sender's last one.
        ip_ids: Option<(u16, u16)>,
        since: Option<Since>,
    },
    FirstRetransmission {
        dir: Dir,
        len: u32,
        offset: u64,
    },
    LastRetransmission {
        count: usize,
        after_first: Duration,
        silent: Party,
    },
    KeepAliveUnanswered {
        dir: Dir,
    },
    LastKeepAlive {
        count: usize,
        dir: Dir,
        after_first: Duration,
        silent: Party,
    },
    KeepAlivesWhileWaiting {
        frames: Vec<u64>,
        server_packets: u64,
    },
    ZeroWindow {
        dir: Dir,
        held: Duration,
        until_end: bool,
    },
    ZeroWindowProbes {
        count: usize,
        dir: Dir,
    },
    /// A large segment retransmitted after the first loss (MTU black hole).
    LargeRetransmission {
        dir: Dir,
        len: u32,
        offset: u64,
        mss: Option<u16>,
        after_loss: Duration,
    },
    SameSegment {
        count: usize,
    },
    /// Bytes the sender's later packets went past.
    Hole {
        dir: Dir,
        len: u64,
        offset: u64,
    },
    FragmentationNeeded(IcmpError),
    SmallPacketsPass {
        dir: Dir,
    },
}

/// How long a side said nothing, and what ended the silence.
#[derive(Clone, Debug, PartialEq)]
pub enum SilenceClue {
    /// The last step placed, and how long the capture went on after it.
    LastStep {
        step: Step,
        waited: Duration,
    },
    NothingFrom {
        party: Party,
        waited: Duration,
    },
    FirstPacketAfter {
        idle: Duration,
        start: Timestamp,
    },
    RetransmissionsAfter {
        count: usize,
        dir: Dir,
    },
    KeepAlivesAfter {
        count: usize,
    },
}

/// What the client offered and the server chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offered {
    Requested(Protocols),
    NoNegReq,
    NotCaptured,
}

impl Offered {
    /// The text of every value but a set of protocols named bit by bit.
    fn fixed_text(&self) -> Option<&'static str> {
        match self {
            // An empty set is named `RDP` alone.
            Offered::Requested(p) if p.0 == Protocols::RDP => Some("RDP only"),
            Offered::Requested(_) => None,
            Offered::NoNegReq => Some("no RDP_NEG_REQ (Standard RDP Security only)"),
            Offered::NotCaptured => {
                Some("an unknown set of protocols (Connection Request not captured)")
            }
        }
    }

    /// What `Display` writes, pushed straight onto `out` (the negotiation
    /// sentence of every connection begins with it).
    pub fn push_to(&self, out: &mut String) {
        match (self.fixed_text(), self) {
            (Some(t), _) => out.push_str(t),
            (None, Offered::Requested(p)) => p.push_requested(out),
            (None, _) => {}
        }
    }
}

impl fmt::Display for Offered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.fixed_text(), self) {
            (Some(t), _) => f.write_str(t),
            (None, Offered::Requested(p)) => p.requested_joined().fmt(f),
            (None, _) => Ok(()),
        }
    }
}

/// How a Connection Request named its destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named {
    Cookie(String),
    RoutingToken(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum NegotiationClue {
    Request {
        offered: Offered,
        named: Option<Named>,
    },
    Failure {
        code: NegFailureCode,
        since: Option<Since>,
    },
    /// The server chose Standard RDP Security for a client that asked for
    /// TLS.
    StandardChosen { offered: Offered },
}

#[derive(Clone, Debug, PartialEq)]
pub enum TlsClue {
    /// Boxed, as in [`crate::proto::tls::TlsEvent::ClientHello`]: inline,
    /// every evidence item was 136 bytes.
    ClientHello(Option<Box<ClientHello>>),
    /// The server's leaf certificate judged at the capture's time.
    Certificate {
        /// Boxed: a certificate is several times larger than any other
        /// clue.
        cert: Box<CertInfo>,
        at: Timestamp,
    },
    /// The FIN or RST that followed an encrypted alert.
    CloseAfterAlert { dir: Dir, rst: bool },
}

#[derive(Clone, Debug, PartialEq)]
pub enum RdpClue {
    LicenseError {
        code: u32,
        state_transition: Option<u32>,
    },
    ConnectResponse {
        result: u8,
    },
    SetErrorInfo {
        code: u32,
    },
    DisconnectUltimatum {
        dir: Dir,
        reason: u8,
    },
    DisconnectRequest {
        dir: Dir,
        reason: u8,
    },
    SessionData {
        server_bytes: u64,
        client_bytes: u64,
    },
    CredsspLeg {
        leg: CredsspLeg,
        dir: Dir,
    },
    FirstClientRecords,
    FirstServerRecords,
    LastServerData,
    ClientStillSending,
    /// Decrypted: the server's TSRequest errorCode.
    NlaErrorCode {
        code: NtStatus,
    },
    /// Decrypted: the HYBRID_EX Early User Authorization Result.
    EarlyUserAuthResult {
        result: u32,
    },
    /// Decrypted: the client's NTLM AUTHENTICATE and the account it names
    /// (`DOMAIN\user`).
    NtlmAuthenticate {
        account: String,
    },
    /// Decrypted: a Server Redirection PDU and where it sends the client.
    ServerRedirection {
        target: Option<String>,
    },
    /// Decrypted: a Save Session Info logon notification.
    LogonSucceeded {
        info_type: u32,
    },
    /// Decrypted: the server's TSRequest with pubKeyAuth answering the
    /// client's NTLM AUTHENTICATE (the frame): the server accepted the
    /// credentials ([MS-CSSP] 3.1.5: it sends pubKeyAuth only once the
    /// authentication succeeded).
    NlaAccepted {
        authenticate_frame: u64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum NotRdpClue {
    /// The server answered a Connection Request with something else; `why`
    /// is what the decoder recognised.
    Answer {
        after: Duration,
        request_frame: u64,
        why: String,
    },
    Data {
        dir: Dir,
        why: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum CaptureClue {
    Loss { dir: Dir, len: u64, offset: u64 },
    EndsOpen { after: Duration },
}

impl Clue {
    /// Every value of [`Clue::kind`], for the JSON schema.
    pub const KINDS: &'static [&'static str] = &[
        "step",
        "ending",
        "tcp.syn",
        "tcp.syn_capture_ends",
        "tcp.syn_repeated",
        "tcp.syn_unanswered",
        "tcp.single_syn_unanswered",
        "tcp.no_handshake_ack",
        "tcp.forged_rst",
        "tcp.first_retransmission",
        "tcp.last_retransmission",
        "tcp.keep_alive_unanswered",
        "tcp.last_keep_alive",
        "tcp.keep_alives_while_waiting",
        "tcp.zero_window",
        "tcp.zero_window_probes",
        "tcp.large_retransmission",
        "tcp.same_segment",
        "tcp.hole",
        "tcp.fragmentation_needed",
        "tcp.small_packets_pass",
        "silence.last_step",
        "silence.nothing_from",
        "silence.first_packet_after",
        "silence.retransmissions_after",
        "silence.keep_alives_after",
        "negotiation.request",
        "negotiation.failure",
        "negotiation.standard_chosen",
        "tls.client_hello",
        "tls.certificate",
        "tls.close_after_alert",
        "rdp.license_error",
        "rdp.connect_response",
        "rdp.set_error_info",
        "rdp.disconnect_ultimatum",
        "rdp.disconnect_request",
        "rdp.session_data",
        "rdp.credssp_leg",
        "rdp.first_client_records",
        "rdp.first_server_records",
        "rdp.last_server_data",
        "rdp.client_still_sending",
        "rdp.nla_error_code",
        "rdp.early_user_auth_result",
        "rdp.ntlm_authenticate",
        "rdp.server_redirection",
        "rdp.logon_succeeded",
        "rdp.nla_accepted",
        "not_rdp.answer",
        "not_rdp.data",
        "capture.loss",
        "capture.ends_open",
    ];

    /// Stable identifier of what the frame shows (JSON `kind`): `step`,
    /// `ending`, or the group and the observation, e.g.
    /// `tcp.syn_unanswered`.
    pub fn kind(&self) -> &'static str {
        match self {
            Clue::Step { .. } => "step",
            Clue::End { .. } => "ending",
            Clue::Tcp(c) => match c {
                TcpClue::Syn { .. } => "tcp.syn",
                TcpClue::SynCaptureEnds { .. } => "tcp.syn_capture_ends",
                TcpClue::SynRepeated { .. } => "tcp.syn_repeated",
                TcpClue::SynUnanswered { .. } => "tcp.syn_unanswered",
                TcpClue::SingleSynUnanswered { .. } => "tcp.single_syn_unanswered",
                TcpClue::NoHandshakeAck { .. } => "tcp.no_handshake_ack",
                TcpClue::ForgedRst { .. } => "tcp.forged_rst",
                TcpClue::FirstRetransmission { .. } => "tcp.first_retransmission",
                TcpClue::LastRetransmission { .. } => "tcp.last_retransmission",
                TcpClue::KeepAliveUnanswered { .. } => "tcp.keep_alive_unanswered",
                TcpClue::LastKeepAlive { .. } => "tcp.last_keep_alive",
                TcpClue::KeepAlivesWhileWaiting { .. } => "tcp.keep_alives_while_waiting",
                TcpClue::ZeroWindow { .. } => "tcp.zero_window",
                TcpClue::ZeroWindowProbes { .. } => "tcp.zero_window_probes",
                TcpClue::LargeRetransmission { .. } => "tcp.large_retransmission",
                TcpClue::SameSegment { .. } => "tcp.same_segment",
                TcpClue::Hole { .. } => "tcp.hole",
                TcpClue::FragmentationNeeded(_) => "tcp.fragmentation_needed",
                TcpClue::SmallPacketsPass { .. } => "tcp.small_packets_pass",
            },
            Clue::Silence(c) => match c {
                SilenceClue::LastStep { .. } => "silence.last_step",
                SilenceClue::NothingFrom { .. } => "silence.nothing_from",
                SilenceClue::FirstPacketAfter { .. } => "silence.first_packet_after",
                SilenceClue::RetransmissionsAfter { .. } => "silence.retransmissions_after",
                SilenceClue::KeepAlivesAfter { .. } => "silence.keep_alives_after",
            },
            Clue::Negotiation(c) => match c {
                NegotiationClue::Request { .. } => "negotiation.request",
                NegotiationClue::Failure { .. } => "negotiation.failure",
                NegotiationClue::StandardChosen { .. } => "negotiation.standard_chosen",
            },
            Clue::Tls(c) => match c {
                TlsClue::ClientHello(_) => "tls.client_hello",
                TlsClue::Certificate { .. } => "tls.certificate",
                TlsClue::CloseAfterAlert { .. } => "tls.close_after_alert",
            },
            Clue::Rdp(c) => match c {
                RdpClue::LicenseError { .. } => "rdp.license_error",
                RdpClue::ConnectResponse { .. } => "rdp.connect_response",
                RdpClue::SetErrorInfo { .. } => "rdp.set_error_info",
                RdpClue::DisconnectUltimatum { .. } => "rdp.disconnect_ultimatum",
                RdpClue::DisconnectRequest { .. } => "rdp.disconnect_request",
                RdpClue::SessionData { .. } => "rdp.session_data",
                RdpClue::CredsspLeg { .. } => "rdp.credssp_leg",
                RdpClue::FirstClientRecords => "rdp.first_client_records",
                RdpClue::FirstServerRecords => "rdp.first_server_records",
                RdpClue::LastServerData => "rdp.last_server_data",
                RdpClue::ClientStillSending => "rdp.client_still_sending",
                RdpClue::NlaErrorCode { .. } => "rdp.nla_error_code",
                RdpClue::EarlyUserAuthResult { .. } => "rdp.early_user_auth_result",
                RdpClue::NtlmAuthenticate { .. } => "rdp.ntlm_authenticate",
                RdpClue::ServerRedirection { .. } => "rdp.server_redirection",
                RdpClue::LogonSucceeded { .. } => "rdp.logon_succeeded",
                RdpClue::NlaAccepted { .. } => "rdp.nla_accepted",
            },
            Clue::NotRdp(c) => match c {
                NotRdpClue::Answer { .. } => "not_rdp.answer",
                NotRdpClue::Data { .. } => "not_rdp.data",
            },
            Clue::Capture(c) => match c {
                CaptureClue::Loss { .. } => "capture.loss",
                CaptureClue::EndsOpen { .. } => "capture.ends_open",
            },
        }
    }
}

fn frames(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

impl Clue {
    /// The sentence `Display` writes, appended to `out`. The clues nearly
    /// every connection shows (a step, the packet that ended it, the SYN)
    /// are written piece by piece, without the formatting machinery (two
    /// sentences a connection, written by the million); the others go
    /// through `Display`.
    pub fn push_to(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Clue::Step { step, note } => {
                out.push_str(step.label());
                out.push_str(" from ");
                out.push_str(step.sender().name());
                out.push_str(note.text());
            }
            Clue::End { term, since, note } => {
                push_term(out, term);
                if let Some(s) = since {
                    out.push(' ');
                    s.push_to(out);
                }
                match note.fixed_text() {
                    Some(text) => out.push_str(text),
                    None => {
                        let _ = write!(out, "{note}");
                    }
                }
            }
            Clue::Tcp(TcpClue::Syn { server }) => {
                out.push_str("SYN from client to ");
                Endpoint(*server).push_to(out);
            }
            _ => {
                let _ = write!(out, "{self}");
            }
        }
    }
}

/// [`Term`]'s `Display` appended to `out`: a FIN's or a RST's text, which
/// depends on its direction (and a RST's TTL) alone, made by `Display` the
/// first time on a thread and copied after; other terms written by
/// `Display` each time.
fn push_term(out: &mut String, term: &Term) {
    use super::facts::TermKind;
    use std::fmt::Write;
    /// Per direction, a RST's text by TTL (an 8-bit field: IPv4's TTL,
    /// RFC 791, and IPv6's Hop Limit, RFC 8200: 256 slots) and a FIN's in the last slot, each
    /// made when first met. No verdict reads it: it only saves writing
    /// the same text again.
    type Texts = [[Option<Box<str>>; 257]; 2];
    thread_local! {
        static TEXTS: std::cell::RefCell<Option<Box<Texts>>> = const { std::cell::RefCell::new(None) };
    }
    let at = match term.kind {
        TermKind::Rst { ttl, .. } => usize::from(ttl),
        TermKind::Fin => 256,
        _ => {
            let _ = write!(out, "{term}");
            return;
        }
    };
    TEXTS.with_borrow_mut(|texts| {
        let texts = texts.get_or_insert_with(|| {
            Box::new(std::array::from_fn(|_| std::array::from_fn(|_| None)))
        });
        let Some(slot) = texts.get_mut(term.dir.index()).and_then(|d| d.get_mut(at)) else {
            let _ = write!(out, "{term}");
            return;
        };
        out.push_str(slot.get_or_insert_with(|| term.to_string().into_boxed_str()));
    });
}

impl StepNote {
    /// What `Display` writes after the step and its sender.
    fn text(self) -> &'static str {
        match self {
            StepNote::None => "",
            StepNote::LastCompleted => ": last step completed",
            StepNote::LastThrough => ": last step that got through",
        }
    }
}

impl Since {
    /// What `Display` writes, appended to `out`.
    pub fn push_to(&self, out: &mut String) {
        self.elapsed.push_to(out);
        out.push_str(" after ");
        out.push_str(self.step.label());
        out.push_str(" (frame ");
        out.push_str(itoa::Buffer::new().format(self.frame));
        out.push(')');
    }
}

impl fmt::Display for Clue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clue::Step { step, note } => {
                write!(f, "{} from {}", step.label(), step.sender().name())?;
                f.write_str(note.text())
            }
            Clue::End { term, since, note } => {
                term.fmt(f)?;
                if let Some(s) = since {
                    write!(f, " {s}")?;
                }
                write!(f, "{note}")
            }
            Clue::Tcp(c) => c.fmt(f),
            Clue::Silence(c) => c.fmt(f),
            Clue::Negotiation(c) => c.fmt(f),
            Clue::Tls(c) => c.fmt(f),
            Clue::Rdp(c) => c.fmt(f),
            Clue::NotRdp(c) => c.fmt(f),
            Clue::Capture(c) => c.fmt(f),
        }
    }
}

impl fmt::Display for TcpClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TcpClue::*;
        match self {
            Syn { server } => write!(f, "SYN from client to {}", Endpoint(*server)),
            SynCaptureEnds { after } => write!(
                f,
                "SYN from client; the capture ends {after} later with no answer"
            ),
            SynRepeated { frames: v } => write!(
                f,
                "client sent the SYN {} times (frames {})",
                v.len(),
                frames(v)
            ),
            SynUnanswered {
                frames: v,
                intervals,
            } => write!(
                f,
                "SYN sent {} times (frames {}), intervals {} s; no SYN/ACK, RST or ICMP error",
                v.len(),
                frames(v),
                intervals
                    .iter()
                    .map(|d| format!("{:.1}", d.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SingleSynUnanswered { quiet } => write!(
                f,
                "single SYN, no retransmission and no answer in the {quiet} the capture continued"
            ),
            NoHandshakeAck {
                syn_rtx,
                synack_rtx,
            } => write!(
                f,
                "{syn_rtx} SYN and {synack_rtx} SYN/ACK retransmissions, no handshake ACK"
            ),
            ForgedRst {
                dir,
                ttl,
                usual,
                others,
                ip_ids,
                since,
            } => {
                let sender = dir.sender();
                write!(
                    f,
                    "RST as if from {sender} with TTL {ttl}, while the {sender}'s other {others} \
                     packets have TTL {usual}"
                )?;
                if let Some((a, b)) = ip_ids {
                    write!(f, ", IP ID 0x{a:04x} vs the {sender}'s last 0x{b:04x}")?;
                }
                if let Some(s) = since {
                    write!(f, "; {s}")?;
                }
                Ok(())
            }
            FirstRetransmission { dir, len, offset } => write!(
                f,
                "first retransmission from {} ({len} bytes at offset {offset})",
                dir.sender()
            ),
            LastRetransmission {
                count,
                after_first,
                silent,
            } => write!(
                f,
                "retransmission {count} of {count}, {after_first} after the first; nothing from \
                 the {} since",
                silent.name()
            ),
            KeepAliveUnanswered { dir } => {
                write!(f, "keep-alive from {}, never answered", dir.sender())
            }
            LastKeepAlive {
                count,
                dir,
                after_first,
                silent,
            } => write!(
                f,
                "keep-alive {count} of {count} from {}, {after_first} after the first; nothing \
                 from the {} since",
                dir.sender(),
                silent.name()
            ),
            KeepAlivesWhileWaiting {
                frames: v,
                server_packets,
            } => write!(
                f,
                "{} TCP keep-alive(s) while waiting (frames {}); the server's TCP stack sent \
                 {server_packets} packets in all",
                v.len(),
                frames(v)
            ),
            ZeroWindow {
                dir,
                held,
                until_end,
            } => write!(
                f,
                "zero window from {}, held for {held}{}",
                dir.sender(),
                if *until_end { " until the end" } else { "" }
            ),
            ZeroWindowProbes { count, dir } => {
                write!(f, "{count} zero-window probe(s) from the {}", dir.sender())
            }
            LargeRetransmission {
                dir,
                len,
                offset,
                mss,
                after_loss,
            } => write!(
                f,
                "retransmission from {} of {len} bytes at offset {offset} (MSS {}), {after_loss} \
                 after the first loss",
                dir.sender(),
                mss.map(|m| m.to_string()).unwrap_or("unknown".into())
            ),
            SameSegment { count } => write!(
                f,
                "retransmission {count} of the same segment, never acknowledged"
            ),
            Hole { dir, len, offset } => {
                let who = dir.sender();
                write!(
                    f,
                    "{len} bytes from the {who} at offset {offset} never arrived (the {who}'s \
                     later packets are past them)"
                )
            }
            FragmentationNeeded(i) => {
                write!(f, "ICMP {}", i.describe())?;
                if let Some(m) = i.mtu {
                    write!(f, ", next-hop MTU {m}")?;
                }
                Ok(())
            }
            SmallPacketsPass { dir } => write!(
                f,
                "keep-alive from the {} gets through: small packets pass",
                dir.sender()
            ),
        }
    }
}

impl fmt::Display for SilenceClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SilenceClue::*;
        match self {
            LastStep { step, waited } => write!(
                f,
                "{} is the last step; the capture ends {waited} later",
                step.label()
            ),
            NothingFrom { party, waited } => write!(
                f,
                "nothing from the {} in the {waited} that followed",
                party.name()
            ),
            FirstPacketAfter { idle, start } => write!(
                f,
                "first packet after {idle} of silence (since {})",
                date(*start)
            ),
            RetransmissionsAfter { count, dir } => write!(
                f,
                "{count} retransmissions from {} after the silence, none answered",
                dir.sender()
            ),
            KeepAlivesAfter { count } => {
                write!(f, "{count} TCP keep-alive(s) after the silence")
            }
        }
    }
}

impl fmt::Display for NegotiationClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationClue::Request { offered, named } => {
                write!(f, "X.224 Connection Request from client offering {offered}")?;
                match named {
                    Some(Named::Cookie(k)) => write!(f, ", mstshash={k}"),
                    Some(Named::RoutingToken(k)) => write!(f, ", routing token {k}"),
                    None => Ok(()),
                }
            }
            NegotiationClue::Failure { code, since } => {
                write!(
                    f,
                    "X.224 Connection Confirm from server with RDP_NEG_FAILURE {} ({})",
                    code.name(),
                    code.0
                )?;
                if let Some(s) = since {
                    write!(f, ", {s}")?;
                }
                Ok(())
            }
            NegotiationClue::StandardChosen { offered } => write!(
                f,
                "X.224 Connection Confirm from server selecting RDP (Standard RDP Security) for a \
                 client that offered {offered}"
            ),
        }
    }
}

impl fmt::Display for TlsClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsClue::ClientHello(None) => f.write_str("ClientHello from client"),
            TlsClue::ClientHello(Some(h)) => {
                write!(
                    f,
                    "ClientHello from client: versions {} to {}, {} cipher suites",
                    h.min_version().name(),
                    h.max_version().name(),
                    h.cipher_suites.len()
                )?;
                if let Some(sni) = &h.sni {
                    write!(f, ", SNI {sni}")?;
                }
                Ok(())
            }
            TlsClue::Certificate { cert: c, at } => write!(
                f,
                "server Certificate: subject {}, issuer {}{}, valid {} to {} (capture time {})",
                c.subject,
                c.issuer,
                if c.self_signed { " (self-signed)" } else { "" },
                date_secs(c.not_before),
                date_secs(c.not_after),
                date(*at)
            ),
            TlsClue::CloseAfterAlert { dir, rst } => write!(
                f,
                "{} from {} after its alert",
                if *rst { "RST" } else { "FIN" },
                dir.sender()
            ),
        }
    }
}

impl fmt::Display for RdpClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RdpClue::*;
        match self {
            LicenseError {
                code,
                state_transition,
            } => write!(
                f,
                "Licensing ERROR_ALERT from server: {} (0x{code:02x}), state transition {}",
                license_error_name(*code),
                state_transition
                    .map(|s| s.to_string())
                    .unwrap_or("-".into())
            ),
            ConnectResponse { result } => {
                write!(f, "MCS Connect Response from server with result {result}")
            }
            SetErrorInfo { code } => write!(
                f,
                "Set Error Info PDU from server: {} (0x{code:x})",
                error_info_name(*code)
            ),
            DisconnectUltimatum { dir, reason } => write!(
                f,
                "MCS Disconnect Provider Ultimatum from {} (reason {}, {reason})",
                dir.sender(),
                disconnect_reason_name(*reason)
            ),
            DisconnectRequest { dir, reason } => write!(
                f,
                "X.224 Disconnect Request from {} (reason {reason})",
                dir.sender()
            ),
            SessionData {
                server_bytes,
                client_bytes,
            } => write!(
                f,
                "session data: {server_bytes} bytes from server, {client_bytes} from client"
            ),
            CredsspLeg { leg, dir } => write!(
                f,
                "CredSSP {} from {} (encrypted)",
                leg.name(),
                dir.sender()
            ),
            FirstClientRecords => {
                f.write_str("first application data from the client after the security handshake")
            }
            FirstServerRecords => f.write_str("first application data from the server in answer"),
            LastServerData => f.write_str("last data from the server before its close"),
            ClientStillSending => {
                f.write_str("the client was still sending data after the server's last data")
            }
            NlaErrorCode { code } => {
                write!(f, "CredSSP TSRequest from server with errorCode {code}")
            }
            EarlyUserAuthResult { result } => write!(
                f,
                "Early User Authorization Result from server: {} (0x{result:08x})",
                early_user_auth_result_name(*result)
            ),
            NtlmAuthenticate { account } => {
                write!(f, "NTLM AUTHENTICATE from client for {account}")
            }
            ServerRedirection { target } => write!(
                f,
                "Server Redirection PDU from server: connect to {}",
                target
                    .as_deref()
                    .unwrap_or("a target the PDU does not name")
            ),
            LogonSucceeded { info_type } => {
                let s = SaveSessionInfo {
                    info_type: *info_type,
                    logon_errors: None,
                };
                write!(
                    f,
                    "Save Session Info from server ({}): the logon succeeded",
                    s.info_type_name()
                )
            }
            NlaAccepted { authenticate_frame } => write!(
                f,
                "CredSSP pubKeyAuth from server answering the NTLM AUTHENTICATE (frame \
                 {authenticate_frame}): NLA accepted the credentials"
            ),
        }
    }
}

impl fmt::Display for NotRdpClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotRdpClue::Answer {
                after,
                request_frame,
                why,
            } => write!(
                f,
                "server answers {after} after the Connection Request (frame {request_frame}) \
                 with data that is not RDP: {why}"
            ),
            NotRdpClue::Data { dir, why } => {
                write!(f, "data from the {} is not RDP: {why}", dir.sender())
            }
        }
    }
}

impl fmt::Display for CaptureClue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureClue::Loss { dir, len, offset } => write!(
                f,
                "capture loss: {len} bytes from the {} at offset {offset} acknowledged but not \
                 captured",
                dir.sender()
            ),
            CaptureClue::EndsOpen { after } => write!(
                f,
                "last packet of the connection; the capture ends {after} later with the \
                 connection open"
            ),
        }
    }
}

impl From<TcpClue> for Clue {
    fn from(c: TcpClue) -> Clue {
        Clue::Tcp(c)
    }
}
impl From<SilenceClue> for Clue {
    fn from(c: SilenceClue) -> Clue {
        Clue::Silence(c)
    }
}
impl From<NegotiationClue> for Clue {
    fn from(c: NegotiationClue) -> Clue {
        Clue::Negotiation(c)
    }
}
impl From<TlsClue> for Clue {
    fn from(c: TlsClue) -> Clue {
        Clue::Tls(c)
    }
}
impl From<RdpClue> for Clue {
    fn from(c: RdpClue) -> Clue {
        Clue::Rdp(c)
    }
}
impl From<NotRdpClue> for Clue {
    fn from(c: NotRdpClue) -> Clue {
        Clue::NotRdp(c)
    }
}
impl From<CaptureClue> for Clue {
    fn from(c: CaptureClue) -> Clue {
        Clue::Capture(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An evidence item moves in at most 128 bytes, which a move copies
    /// without a call to `memcpy`: a ClientHello inline made it 136.
    #[test]
    fn an_evidence_item_fits_128_bytes() {
        assert!(std::mem::size_of::<crate::diagnose::Evidence>() <= 128);
        assert!(std::mem::size_of::<TlsClue>() <= 32);
    }

    #[test]
    fn what_was_offered_is_pushed_as_displayed() {
        let mut all = vec![Offered::NoNegReq, Offered::NotCaptured];
        all.extend(
            (0..=0x3f)
                .chain([0x80, 0x1_0000, 0x8000_0000, 0x8000_0003, u32::MAX])
                .map(|bits| Offered::Requested(Protocols(bits))),
        );
        for o in all {
            let mut pushed = String::from("x");
            o.push_to(&mut pushed);
            assert_eq!(pushed, format!("x{o}"), "{o:?}");
        }
    }
    use crate::common::xorshift;
    use crate::diagnose::facts::TermKind;

    fn every_end_note(seed: &mut u64) -> Vec<EndNote> {
        use EndNote::*;
        let mut notes = vec![
            None,
            HealthCheck,
            HandshakeHealthCheck,
            HalfOpenScan,
            NoConnectionConfirm,
            NoServerHello,
            NtlmProbe,
            NoPubKeyAuth,
            CredentialPrecheck,
            CredentialCheck,
            DataBothWays,
            ClientEndedSession,
            ServerEndedSession,
            DuringSession,
            TlsClose,
            NoGoodbye,
            BeforeSessionData,
            AbortBeforeSessionData,
            ConnectionEnds,
        ];
        for ttl in [Option::None, Some(0), Some(64), Some(255)] {
            let idle = Duration((xorshift(seed) % 2_000_000_000_000) as i64);
            notes.push(AfterSilence {
                idle,
                usual_ttl: ttl,
            });
        }
        notes
    }

    fn every_term_kind(seed: &mut u64) -> Vec<TermKind> {
        let mut kinds = vec![
            TermKind::Fin,
            TermKind::EncryptedAlert,
            TermKind::CloseNotify,
            TermKind::Alert {
                level: 2,
                description: 40,
            },
            TermKind::Alert {
                level: 1,
                description: 0,
            },
            TermKind::DecryptedAlert {
                level: 2,
                description: 48,
            },
            TermKind::DecryptedAlert {
                level: 1,
                description: 0,
            },
            TermKind::Icmp(IcmpError {
                v6: false,
                icmp_type: 3,
                code: 3,
                mtu: None,
                quoted: None,
            }),
            TermKind::Icmp(IcmpError {
                v6: true,
                icmp_type: 2,
                code: 0,
                mtu: Some(1280),
                quoted: None,
            }),
        ];
        for ttl in 0..=255u8 {
            let r = xorshift(seed);
            kinds.push(TermKind::Rst {
                ttl,
                ip_id: (r % 2 == 0).then_some((r >> 8) as u16),
                forged: (r % 3 == 0).then_some(((r >> 24) as u8, r >> 40)),
            });
        }
        kinds
    }

    fn pushed(c: &Clue) -> String {
        let mut out = String::from("kept ");
        c.push_to(&mut out);
        out
    }

    /// Every step and note, every ending (each TTL of a RST, from both
    /// sides, its IP ID and forgery varied) with and without a time from
    /// a step, the SYN to many servers, and clues written by `Display`:
    /// the same sentence as `Display`'s, whatever was written before on
    /// the thread.
    #[test]
    fn clues_pushed_as_display_writes_them() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut clues = Vec::new();
        for step in Step::all() {
            for note in [
                StepNote::None,
                StepNote::LastCompleted,
                StepNote::LastThrough,
            ] {
                clues.push(Clue::Step { step, note });
            }
        }
        let steps: Vec<Step> = Step::all().collect();
        let notes = every_end_note(&mut seed);
        for kind in every_term_kind(&mut seed) {
            for dir in [Dir::ToServer, Dir::ToClient] {
                let r = xorshift(&mut seed);
                let term = Term {
                    frame: r % 1000,
                    ts: Timestamp((r >> 3) as i64),
                    dir,
                    kind: kind.clone(),
                };
                let since = (r % 4 != 0).then(|| Since {
                    elapsed: Duration(((r >> 5) % (1 << (r % 44))) as i64 - (r % 7 == 0) as i64),
                    step: steps[(r >> 11) as usize % steps.len()],
                    frame: r >> (r % 64),
                });
                let note = notes[(r >> 17) as usize % notes.len()];
                clues.push(Clue::End { term, since, note });
            }
        }
        for note in &notes {
            clues.push(Clue::End {
                term: Term {
                    frame: 1,
                    ts: Timestamp(0),
                    dir: Dir::ToClient,
                    kind: TermKind::Fin,
                },
                since: None,
                note: *note,
            });
        }
        for a in [
            "192.0.2.1:3389",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "[2001:db8::1]:3389",
            "[fe80::1%2]:443",
        ] {
            clues.push(Clue::Tcp(TcpClue::Syn {
                server: a.parse().unwrap(),
            }));
        }
        for _ in 0..200 {
            let r = xorshift(&mut seed);
            let ip = std::net::Ipv4Addr::from((r >> 16) as u32);
            clues.push(Clue::Tcp(TcpClue::Syn {
                server: std::net::SocketAddr::from((ip, r as u16)),
            }));
        }
        clues.push(Clue::Tcp(TcpClue::SynCaptureEnds {
            after: Duration(1_234_567),
        }));
        clues.push(Clue::Tcp(TcpClue::SynRepeated {
            frames: vec![1, 5, 9],
        }));
        clues.push(Clue::Silence(SilenceClue::LastStep {
            step: steps[1],
            waited: Duration(21_000_000_000),
        }));
        // In order, then in a shuffled order (the texts kept by the
        // thread found again or not).
        for c in &clues {
            assert_eq!(pushed(c), format!("kept {c}"), "{c:?}");
        }
        for _ in 0..clues.len() * 2 {
            let c = &clues[xorshift(&mut seed) as usize % clues.len()];
            assert_eq!(pushed(c), format!("kept {c}"), "{c:?}");
        }
    }
}
