//! The rules: from the ladder and the facts of one connection to a verdict
//! (outcome, ending, probable cause with evidence, benign kind).
//!
//! Order matters and follows the strength of the evidence: an explicit
//! refusal (RDP_NEG_FAILURE, a clear-text TLS alert) beats an inference
//! from packet shape; packet-level signatures that name the path (a forged
//! RST, an idle timeout, a zero window, a path-MTU black hole, an ICMP
//! error) beat the step-by-step reading; the step that did not complete
//! and who ended the connection decide the rest.

use super::evidence::{Clue, EndNote, NotRdpClue, RdpClue, Since, StepNote};
use super::facts::{dur, ev, party, Facts, Term, TermKind};
use super::ladder::{Ladder, Mark};
use super::nla::{logon_succeeded, nla_refusal, redirected};
use super::path::{idle_timeout, middlebox_reset, mtu_black_hole, zero_window};
use super::rdp::{licensing_or_error_info, session_end};
use super::remedy::remediation;
use super::steps::{nothing_placed, step_rules};
use super::tcp::{handshake_unfinished, syn_unanswered};
use super::tls::alert_rule;
use super::x224::negotiation_failure;
use super::{
    Benign, Cause, CauseId, Certainty, Confidence, Ending, Evidence, Grounds, Outcome, Party, Step,
};
use crate::common::{Dir, Duration};
use crate::proto::mcs::McsEvent;

/// A client that waited at least this long for the server before closing
/// gave up on it (rather than aborting on its own): one initial
/// retransmission timeout (RFC 6298 2.1: 1 s), the time a stack itself
/// waits before deciding a segment went unanswered.
pub const GAVE_UP: Duration = Duration::from_millis(1000);
/// A step unanswered for this long before the capture ended is a timeout,
/// not a capture that ended too early: five initial retransmission
/// timeouts (RFC 6298 2.1), while every RDP set-up step before the session
/// is answered within a round trip (MS-RDPBCGR 1.3.1.1: none waits on a
/// person).
pub const STALL: Duration = Duration::from_secs(5);
/// A server that closes within this time of a request reacted to it: one
/// initial retransmission timeout (RFC 6298 2.1).
pub const PROMPT: Duration = Duration::from_millis(1000);
/// A silence this long, with nothing from either side, followed by a reset
/// or by data nobody answers (while everything before the silence was
/// answered) means the connection's state was lost during the silence.
/// A silence this long cannot be a sender waiting to retransmit: with an
/// initial RTO of 1 s doubling on each retry (RFC 6298 2.1, 5.5), the
/// first four retransmissions of anything outstanding come within 15 s, so
/// 20 s with nothing either way means nothing was outstanding: the
/// connection was idle, not a transfer stalled by loss.
pub const IDLE: Duration = Duration::from_secs(20);
/// The shortest default idle timeout of the stateful devices RDP commonly
/// crosses: Azure Load Balancer drops idle TCP flows after 4 minutes by
/// default (AWS NAT Gateway after 350 s; firewalls typically after an
/// hour). A state lost after a shorter silence needs a device configured
/// below its default: the capture alone makes that only Low.
pub const IDLE_DEFAULT_MIN: Duration = Duration::from_secs(240);
/// A zero window held this long is a stall: the sender's persist timer
/// probes a zero window after one RTO (RFC 9293 3.8.6.1; at least 1 s,
/// RFC 6298 2.4), so a window still shut after two such intervals is a
/// reader that stopped, not flow control at work.
pub const ZERO_WINDOW: Duration = Duration::from_secs(2);
/// The capture continued this long after a lone SYN: the client gave up.
/// Stacks retransmit an unanswered SYN after 1 s (RFC 6298 2.1) or, in
/// older ones, 3 s (RFC 1122 4.2.3.1's initial RTO): a SYN not repeated
/// within 3 s was not being retried.
pub const SYN_QUIET: Duration = Duration::from_secs(3);

/// What the rules decide; the caller adds caveats and the negotiation.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    pub ending: Ending,
    pub ending_frame: Option<u64>,
    pub failed_step: Option<Step>,
    /// Overrides the ladder's last step (when the capture shows a step
    /// that did not reach the other side).
    pub last_step: Option<Option<Step>>,
    pub cause: Option<Cause>,
    pub benign: Option<Benign>,
    pub evidence: Vec<Evidence>,
    pub caveats: Vec<String>,
    /// How sure the capture makes the evidence the cause rests on.
    pub basis: Certainty,
    pub grounds: Grounds,
}

impl Verdict {
    pub(super) fn new(outcome: Outcome, ending: Ending, ending_frame: Option<u64>) -> Self {
        Verdict {
            outcome,
            ending,
            ending_frame,
            failed_step: None,
            last_step: None,
            cause: None,
            benign: None,
            evidence: Vec::new(),
            caveats: Vec::new(),
            basis: Certainty::Seen,
            grounds: Grounds::Explicit,
        }
    }
    /// The cause rests on the ladder position `m` (and who closed).
    pub(super) fn at(mut self, m: &Mark) -> Self {
        self.basis = m.certainty;
        self.grounds = Grounds::Position;
        self
    }
    pub(super) fn failed(
        ending: Ending,
        frame: Option<u64>,
        id: CauseId,
        c: Confidence,
        s: String,
    ) -> Self {
        let mut v = Verdict::new(Outcome::Failed, ending, frame).room_for_two();
        v.cause = Some(cause(id, c, s));
        v
    }
    pub(super) fn benign(kind: Benign, ending: Ending, frame: Option<u64>) -> Self {
        let mut v = Verdict::new(Outcome::Benign, ending, frame).room_for_two();
        v.benign = Some(kind);
        v
    }
    /// A failure or a benign ending shows its evidence, most often two
    /// frames (the last step, or the SYN, and the packet that ended the
    /// connection): room for two from the start, where the first push
    /// would make room for four (a few hundred bytes of the diagnosis,
    /// which the report frees on its own thread).
    fn room_for_two(mut self) -> Self {
        self.evidence.reserve_exact(2);
        self
    }
    /// A session that ran and ended normally.
    pub(super) fn session_end(ending: Ending, frame: Option<u64>) -> Self {
        let mut v = Verdict::new(Outcome::Established, ending, frame);
        v.benign = Some(Benign::SessionEnd);
        v
    }
    pub(super) fn incomplete(ending: Ending, frame: Option<u64>) -> Self {
        Verdict::new(Outcome::Incomplete, ending, frame)
    }
    pub(super) fn with(mut self, e: Evidence) -> Self {
        self.evidence.push(e);
        self
    }
    pub(super) fn with_all(mut self, es: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(es);
        self
    }
}

pub fn cause(id: CauseId, confidence: Confidence, summary: String) -> Cause {
    Cause {
        id,
        confidence,
        summary,
        remediation: remediation(id),
        basis: Certainty::Seen,
        grounds: Grounds::Explicit,
    }
}

/// How a terminating packet ends the connection.
pub fn ending_of(t: &Term) -> Ending {
    match &t.kind {
        TermKind::Rst { .. } => {
            if forged(t).is_some() {
                Ending::ResetBy(Party::Middlebox)
            } else {
                Ending::ResetBy(party(t.dir))
            }
        }
        TermKind::Fin => Ending::ClosedBy(party(t.dir)),
        TermKind::Alert { description, .. } => Ending::TlsAlert {
            from: party(t.dir),
            description: Some(*description),
        },
        TermKind::EncryptedAlert => Ending::TlsAlert {
            from: party(t.dir),
            description: None,
        },
        TermKind::DecryptedAlert { description, .. } => Ending::TlsAlert {
            from: party(t.dir),
            description: Some(*description),
        },
        TermKind::CloseNotify => Ending::ClosedBy(party(t.dir)),
        TermKind::Icmp(i) => Ending::IcmpError {
            icmp_type: i.icmp_type,
            code: i.code,
        },
    }
}

/// A RST whose TTL differs from the usual TTL of its sender's other
/// packets (at least two of them): (usual TTL, packets with it).
pub fn forged(t: &Term) -> Option<(u8, u64)> {
    match t.kind {
        TermKind::Rst { forged, .. } => forged,
        _ => None,
    }
}

pub(super) fn term_ev(t: &Term, since: Option<&Mark>) -> Evidence {
    end_ev(t, since.filter(|m| m.frame <= t.frame), EndNote::None)
}

/// The packet `t` that ended the connection, timed from `since`, with what
/// it means.
pub(super) fn end_ev(t: &Term, since: Option<&Mark>, note: EndNote) -> Evidence {
    ev(
        t.frame,
        Clue::End {
            term: t.clone(),
            since: since.map(|m| Since::mark(t.ts, m)),
            note,
        },
    )
}

pub(super) fn mark_ev(m: &Mark, note: StepNote) -> Evidence {
    ev(m.frame, Clue::Step { step: m.step, note })
}

/// The connection stopped in the TLS handshake or right after it, before
/// any RDP or CredSSP data.
pub(super) fn in_tls_handshake(lad: &Ladder) -> bool {
    match lad.next {
        Some(s) if s.phase() == super::Phase::Tls => true,
        Some(Step::CredsspNegotiate) => true,
        Some(Step::McsConnectInitial) => lad.security == super::ladder::Security::Tls,
        _ => false,
    }
}

pub(super) fn lower(c: Confidence) -> Confidence {
    match c {
        Confidence::High => Confidence::Medium,
        _ => Confidence::Low,
    }
}

/// Decide one connection.
pub fn decide(lad: &Ladder, f: &Facts) -> Verdict {
    if let Some((frame, ts, dir, why)) = &f.not_rdp {
        let (ending, ef, term) = match f.first_term_from(*frame) {
            Some(t) => (ending_of(t), Some(t.frame), Some(t.clone())),
            None => (Ending::CaptureEnded, None, None),
        };
        // An RDP client answered by something else: a failure of the
        // server side, not a false positive on the port.
        if let (Dir::ToClient, Some(cr)) = (dir, &f.proto.request) {
            let mut v = Verdict::failed(
                ending,
                ef,
                CauseId::NotRdpServer,
                Confidence::High,
                format!(
                    "The client sent an RDP Connection Request and the server answered with \
                     something that is not RDP ({why}): another service listens on port {}.",
                    f.conn.endpoints.server.port()
                ),
            )
            .with(ev(
                cr.frame,
                Clue::Step {
                    step: Step::ConnectionRequest,
                    note: StepNote::None,
                },
            ))
            .with(ev(
                *frame,
                NotRdpClue::Answer {
                    after: dur(*ts, cr.ts),
                    request_frame: cr.frame,
                    why: why.clone(),
                },
            ));
            if let Some(t) = term {
                v.evidence.push(term_ev(&t, None));
            }
            v.failed_step = Some(Step::ConnectionConfirm);
            return v;
        }
        return Verdict::new(Outcome::NotRdp, ending, ef).with(ev(
            *frame,
            NotRdpClue::Data {
                dir: *dir,
                why: why.clone(),
            },
        ));
    }
    let mut v = decide_inner(lad, f);
    // A clear-text disconnect PDU just before the end says who hung up.
    if v.outcome == Outcome::Failed {
        let from = lad.last.map(|m| m.frame).unwrap_or(0);
        let until = v.ending_frame.unwrap_or(u64::MAX);
        let ultimatums = f.mcs.iter().filter_map(|e| match e.what {
            McsEvent::DisconnectProviderUltimatum { reason } => {
                Some((e.frame, RdpClue::DisconnectUltimatum { dir: e.dir, reason }))
            }
            _ => None,
        });
        let requests = f.x224_disconnects.iter().map(|e| {
            (
                e.frame,
                RdpClue::DisconnectRequest {
                    dir: e.dir,
                    reason: e.what,
                },
            )
        });
        let mut goodbyes: Vec<(u64, RdpClue)> = ultimatums
            .chain(requests)
            .filter(|(frame, _)| (from..=until).contains(frame))
            .collect();
        goodbyes.sort_by_key(|(frame, _)| *frame);
        v.evidence
            .extend(goodbyes.into_iter().map(|(frame, clue)| ev(frame, clue)));
    }
    if v.failed_step.is_none() && lad.mark(Step::SessionData).is_none() {
        v.failed_step = lad.next;
    }
    // A session that ran and then broke is established, with the cause of
    // its end.
    if lad.mark(Step::SessionData).is_some() && v.outcome == Outcome::Failed {
        v.outcome = Outcome::Established;
    }
    // A session whose set-up the capture did not see and whose end it did
    // not see either: no verdict on it.
    if f.mid_stream.is_some()
        && v.outcome == Outcome::Established
        && v.ending == Ending::CaptureEnded
    {
        v.outcome = Outcome::Incomplete;
        v.benign = None;
    }
    // Only a failure has a step that failed.
    if v.outcome != Outcome::Failed {
        v.failed_step = None;
    }
    // A session whose logon the server confirmed says so.
    if v.outcome == Outcome::Established {
        if let Some(e) = logon_succeeded(f) {
            let at = v.evidence.partition_point(|x| x.frame <= e.frame);
            v.evidence.insert(at, e);
        }
    }
    v
}

pub(super) fn decide_inner(lad: &Ladder, f: &Facts) -> Verdict {
    // The TCP handshake has its own signatures (a scanner's RST would look
    // forged: raw-socket tools pick their own TTL). Its rules read the
    // facts and the ladder only: decided before the packet that ended the
    // connection is looked for and copied (a refused connection, the most
    // common failure of a scan, needs none of it).
    match lad.next {
        Some(Step::SynAck) => return syn_unanswered(f, lad),
        Some(Step::HandshakeAck) => return handshake_unfinished(f, lad),
        _ => {}
    }
    let stop = lad.last;
    // The packet that ended the connection comes after the last step; for
    // a session, after the set-up (the session mark may sit on the last
    // data frame, which a FIN can precede).
    let from = if lad.established() {
        lad.seen
            .iter()
            .rev()
            .nth(1)
            .or(lad.seen.last())
            .map(|m| m.frame)
            .unwrap_or(0)
    } else {
        stop.map(|m| m.frame).unwrap_or(0)
    };
    // Borrowed from the facts, not copied: only a close begun by an alert
    // is a packet made anew.
    let mut ended_by = f.first_term_from(from);
    // Around the TLS handshake an encrypted alert is how a TLS stack
    // aborts (the certificate was refused): it, not the FIN after it, ends
    // the connection.
    if let (Some(soft), true) = (f.soft_alert_from(from), in_tls_handshake(lad)) {
        if ended_by.map_or(true, |t| {
            t.dir == soft.dir && t.frame >= soft.frame && t.is_close()
        }) {
            ended_by = Some(soft);
        }
    }
    // Whoever sent the first close_notify closed the connection; the other
    // side's FIN answers it.
    let begun = ended_by
        .filter(|t| t.is_close())
        .and_then(|t| f.close_begun_before(t, from));
    let term: Option<&Term> = begun.as_ref().or(ended_by);

    if let Some(v) = negotiation_failure(f) {
        return v;
    }
    if let Some(t) = term {
        if let TermKind::Alert { description, .. } = t.kind {
            return alert_rule(f, lad, t, description);
        }
    }
    if let Some(v) = nla_refusal(lad, f) {
        return v;
    }
    if let Some(v) = licensing_or_error_info(lad, f) {
        return v;
    }
    if let Some(v) = redirected(lad, f) {
        return v;
    }
    if let Some(v) = idle_timeout(f, term) {
        return v;
    }
    if let Some(t) = term {
        if let Some((usual, n)) = forged(t) {
            return middlebox_reset(f, lad, t, usual, n);
        }
    }
    if let Some(v) = zero_window(f, stop.as_ref(), term) {
        return v;
    }
    if !lad.established() {
        if let Some(v) = mtu_black_hole(lad, f, term) {
            return v;
        }
    }
    if let Some(t) = term {
        if let TermKind::Icmp(i) = &t.kind {
            return Verdict::failed(
                ending_of(t),
                Some(t.frame),
                CauseId::IcmpUnreachable,
                Confidence::High,
                format!("A device on the path answered with ICMP {}.", i.describe()),
            )
            .with(term_ev(t, stop.as_ref()));
        }
    }
    if lad.established() {
        return session_end(lad, f, term);
    }
    if lad.last.is_none() {
        return nothing_placed(f, term);
    }
    step_rules(lad, f, term)
}

pub fn lower_confidence(c: &mut Cause) {
    c.confidence = lower(c.confidence);
}
