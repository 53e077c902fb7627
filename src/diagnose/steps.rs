//! The step-by-step reading: the step that did not complete, whose turn it
//! was, and who ended the connection (or that nobody did).

use super::evidence::{EndNote, Named, NegotiationClue, RdpClue, SilenceClue, StepNote, TcpClue};
use super::facts::{ev, Facts, Term};
use super::ladder::{Ladder, Mark, Security};
use super::path::path_lost;
use super::rules::{cause, end_ev, ending_of, mark_ev, term_ev, Verdict, GAVE_UP, PROMPT, STALL};
use super::tls::{client_left_after_cert, server_closed_after_hello};
use super::x224::offered;
use super::{Benign, CauseId, Confidence, Ending, Evidence, Grounds, Outcome, Party, Step};
use crate::common::{Dir, Duration, Timestamp};

/// The CredSSP legs the capture shows, as evidence.
pub(super) fn leg_ev(f: &Facts) -> Vec<Evidence> {
    f.proto
        .credssp_legs
        .iter()
        .map(|l| {
            ev(
                l.frame,
                RdpClue::CredsspLeg {
                    leg: l.what,
                    dir: l.dir,
                },
            )
        })
        .collect()
}

/// Nothing of the ladder was seen (capture started late and nothing could
/// be decoded): only path-level signatures could have told more.
pub(super) fn nothing_placed(f: &Facts, term: Option<&Term>) -> Verdict {
    let both =
        f.conn.dir(Dir::ToServer).payload_bytes > 0 && f.conn.dir(Dir::ToClient).payload_bytes > 0;
    match term.filter(|t| t.closes()) {
        Some(t) if both && t.dir == Dir::ToServer => Verdict::session_end(
            ending_of(t),
            Some(t.frame),
        )
        .with(end_ev(t, None, EndNote::DataBothWays)),
        Some(t) => Verdict::incomplete(ending_of(t), Some(t.frame)).with(term_ev(t, None)),
        None => {
            if let Some(v) = path_lost(f, None) {
                return v;
            }
            let mut v = Verdict::incomplete(Ending::CaptureEnded, None);
            if both {
                v.outcome = Outcome::Established;
            }
            v
        }
    }
}

/// The step-by-step reading. Its causes rest on the ladder position (how
/// sure the capture makes the last step) and, for a side that did not
/// answer, on a silence.
pub(super) fn step_rules(lad: &Ladder, f: &Facts, term: Option<&Term>) -> Verdict {
    let Some(stop) = lad.last else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let Some(next) = lad.next else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let v = match term.filter(|t| t.ends()) {
        Some(t) => closed_at(lad, f, &stop, next, t),
        None => stalled(lad, f, &stop, next),
    };
    let grounds = match v.cause.as_ref().map(|c| c.id) {
        Some(CauseId::ServiceUnresponsive | CauseId::PathLost) => Grounds::Silence,
        // A Connection Confirm choosing what the client did not offer says
        // so itself.
        Some(CauseId::SslNotAllowedByServer) => Grounds::Explicit,
        _ => Grounds::Position,
    };
    let mut v = v.at(&stop);
    v.grounds = grounds;
    v
}

/// The server's last packet carrying data, when it came after `stop`.
fn server_spoke_after(f: &Facts, stop: &Mark) -> Option<(u64, Timestamp)> {
    f.conn
        .dir(Dir::ToClient)
        .last_payload
        .filter(|(frame, _)| *frame > stop.frame)
}

/// A client that closes this soon after the server's pubKeyAuth without
/// sending credentials has decided at once (the Windows client's
/// credential pre-check verifies pubKeyAuth and leaves); two initial RTOs
/// (RFC 6298) leave room for the close to cross the path.
pub const PRECHECK_CLOSE: Duration = Duration::from_secs(2);

/// What the step reading knows when someone ended the connection: the last
/// step placed, the step that did not come, the packet that ended it.
pub(super) struct Closed<'a> {
    lad: &'a Ladder,
    f: &'a Facts<'a>,
    stop: Mark,
    next: Step,
    t: &'a Term,
    /// The server's last data when it came after `stop` (it was not silent).
    spoke: Option<(u64, Timestamp)>,
    /// How long the silent side was silent before the end: from the
    /// server's last data after `stop` when there was some, else from
    /// `stop`.
    waited: Duration,
}

impl Closed<'_> {
    fn by_server(&self) -> bool {
        self.t.dir == Dir::ToClient
    }
    fn end(&self) -> Ending {
        ending_of(self.t)
    }
    fn failed(&self, id: CauseId, c: Confidence, summary: impl Into<String>) -> Verdict {
        Verdict::failed(self.end(), Some(self.t.frame), id, c, summary.into())
    }
    fn benign(&self, kind: Benign) -> Verdict {
        Verdict::benign(kind, self.end(), Some(self.t.frame))
    }
    /// The ending packet, timed from the last step.
    fn tev(&self) -> Evidence {
        term_ev(self.t, Some(&self.stop))
    }
    /// The ending packet with what it means after its timing.
    fn tev_saying(&self, note: EndNote) -> Evidence {
        end_ev(self.t, Some(&self.stop), note)
    }
    fn stop_ev(&self) -> Evidence {
        mark_ev(&self.stop, StepNote::None)
    }
    fn nla(&self) -> bool {
        matches!(self.lad.security, Security::Nla { .. })
    }
}

/// A reading of its own for one step: the step that did not come and who
/// ended the connection. `None` falls through to the generic reading.
type StepRule = fn(&Closed) -> Option<Verdict>;

/// The steps that have their own reading, by who closed. Every other case
/// is read by [`generic`]: whose turn it was and who ended it.
const STEP_RULES: &[(Step, Party, StepRule)] = &[
    (Step::ConnectionRequest, Party::Client, health_check),
    (
        Step::ConnectionRequest,
        Party::Server,
        dropped_before_request,
    ),
    (Step::ConnectionConfirm, Party::Server, listener_refused),
    (Step::ClientHello, Party::Client, tls_not_started),
    (Step::ServerHello, Party::Server, |c| {
        Some(server_closed_after_hello(c.f, &c.stop, c.t))
    }),
    (Step::ClientKeyExchange, Party::Client, |c| {
        Some(client_left_after_cert(c.f, &c.stop, c.t, false))
    }),
    (Step::ClientFinished, Party::Client, |c| {
        c.lad
            .tls13
            .then(|| client_left_after_cert(c.f, &c.stop, c.t, false))
    }),
    (
        Step::CertificateAccepted,
        Party::Client,
        certificate_not_accepted,
    ),
    (
        Step::CredsspChallenge,
        Party::Server,
        nla_ended_at_negotiate,
    ),
    (Step::CredsspAuthenticate, Party::Client, ntlm_probe),
    (
        Step::CredsspServerPubKeyAuth,
        Party::Server,
        credentials_rejected,
    ),
    (
        Step::CredsspCredentials,
        Party::Server,
        authentication_refused,
    ),
    (
        Step::CredsspCredentials,
        Party::Client,
        precheck_or_binding_refused,
    ),
    (
        Step::EarlyUserAuthResult,
        Party::Server,
        refused_before_authorization,
    ),
    (
        Step::McsConnectInitial,
        Party::Client,
        standard_refused_or_credential_check,
    ),
    (Step::McsConnectInitial, Party::Server, nla_then_refused),
];

/// Someone ended the connection (`t`) after the last step `stop`.
fn closed_at(lad: &Ladder, f: &Facts, stop: &Mark, next: Step, t: &Term) -> Verdict {
    let servers_turn = next.sender() == Party::Server;
    // A silence is measured from the silent side's last packet: a server
    // that sent data after the last step we could place did answer.
    let spoke = server_spoke_after(f, stop).filter(|_| servers_turn);
    let waited = t.ts.since(match spoke {
        Some((_, ts)) if ts <= t.ts => ts,
        _ => stop.ts,
    });
    let c = Closed {
        lad,
        f,
        stop: *stop,
        next,
        t,
        spoke,
        waited,
    };
    let closer = super::facts::party(t.dir);
    STEP_RULES
        .iter()
        .filter(|(step, who, _)| *step == next && *who == closer)
        .find_map(|(_, _, rule)| rule(&c))
        .unwrap_or_else(|| generic(&c))
}

/// The client closed before sending anything: a health check or port
/// probe.
fn health_check(c: &Closed) -> Option<Verdict> {
    (c.f.conn.dir(Dir::ToServer).payload_bytes == 0).then(|| {
        c.benign(Benign::HealthCheck)
            .with(c.stop_ev())
            .with(c.tev_saying(EndNote::HealthCheck))
    })
}

/// The server dropped the connection before the client's request.
fn dropped_before_request(c: &Closed) -> Option<Verdict> {
    (c.waited <= PROMPT).then(|| {
        c.failed(
            CauseId::ListenerRefused,
            Confidence::Medium,
            "The server dropped the connection before the client sent its request: a \
             connection limit or an address filter on the listener.",
        )
        .with(c.stop_ev())
        .with(c.tev())
    })
}

/// The server closed right after the Connection Request.
fn listener_refused(c: &Closed) -> Option<Verdict> {
    let cr = c.f.proto.request.as_ref().map(|r| r.what.clone());
    let named = cr
        .as_ref()
        .and_then(|r| r.cookie.clone())
        .map(Named::Cookie)
        .or_else(|| {
            cr.as_ref()
                .and_then(|r| r.routing_token.clone())
                .map(Named::RoutingToken)
        });
    Some(
        c.failed(
            CauseId::ListenerRefused,
            if c.waited <= PROMPT {
                Confidence::High
            } else {
                Confidence::Medium
            },
            "The listener refused the connection right after the Connection Request: something \
             other than RDP listens on the port, a connection limit, or a load balancer / \
             Connection Broker that cannot route the cookie.",
        )
        .with(ev(
            c.stop.frame,
            NegotiationClue::Request {
                offered: offered(c.f.proto.request.as_ref().map(|r| r.what)),
                named,
            },
        ))
        .with(c.tev_saying(EndNote::NoConnectionConfirm)),
    )
}

/// What [`tls_not_started`] says, with the negotiation's account: one
/// allocation, not a copy of the account and a formatted string.
fn client_left_before_tls(negotiation: &str) -> String {
    const HEAD: &str =
        "The client closed instead of starting TLS: it does not accept what the server chose (";
    let mut s = String::with_capacity(HEAD.len() + negotiation.len() + 2);
    s.push_str(HEAD);
    s.push_str(negotiation);
    s.push_str(").");
    s
}

/// The client closed instead of starting TLS.
fn tls_not_started(c: &Closed) -> Option<Verdict> {
    let mut v = c.failed(
        CauseId::ClientAborted,
        Confidence::Medium,
        client_left_before_tls(c.f.proto.negotiation.as_deref().unwrap_or_default()),
    );
    // Pushed in place rather than by `with`, which moves the whole verdict
    // in and out: every connection that ends at the Connection Confirm
    // comes here.
    v.evidence.push(c.stop_ev());
    v.evidence.push(c.tev());
    Some(v)
}

/// The handshake is done and the client leaves before its first CredSSP
/// or RDP record: it did not accept the certificate (or the user cancelled
/// at the prompt).
fn certificate_not_accepted(c: &Closed) -> Option<Verdict> {
    let mut v = client_left_after_cert(c.f, &c.stop, c.t, c.nla());
    if c.nla()
        && v.cause
            .as_ref()
            .is_some_and(|k| k.id == CauseId::ClientAborted)
    {
        v.cause = Some(cause(
            CauseId::ClientAborted,
            Confidence::Medium,
            "The client closed after the TLS handshake without starting NLA: it rejected the \
             certificate or the user cancelled."
                .into(),
        ));
    }
    Some(v)
}

/// The server ended NLA at the client's first CredSSP message.
fn nla_ended_at_negotiate(c: &Closed) -> Option<Verdict> {
    Some(
        c.failed(
            CauseId::ServerClosed,
            Confidence::Medium,
            "The server ended NLA at the client's first CredSSP message: no authentication \
             package in common (NTLM disabled) or a CredSSP version mismatch.",
        )
        .with_all(leg_ev(c.f))
        .with(c.tev()),
    )
}

/// The client read the server's NTLM challenge and left instead of
/// answering it: a client with credentials answers at once (MS-NLMP
/// 3.1.5.1.2), so this is a probe reading what the challenge says (the
/// server's names and version).
fn ntlm_probe(c: &Closed) -> Option<Verdict> {
    (!c.t.is_rst()).then(|| {
        c.benign(Benign::Probe)
            .with_all(leg_ev(c.f))
            .with(c.tev_saying(EndNote::NtlmProbe))
    })
}

/// The server closed after the client's authenticate message, without its
/// pubKeyAuth.
fn credentials_rejected(c: &Closed) -> Option<Verdict> {
    let server_error =
        c.f.proto
            .credssp_legs
            .iter()
            .any(|l| l.what == crate::proto::credssp::CredsspLeg::ServerError);
    Some(
        c.failed(
            CauseId::CredentialsRejected,
            // The records are encrypted: that the server closed after the
            // authenticate message is seen, why is inferred.
            if server_error || c.waited <= STALL {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            "The server rejected the credentials during NLA: wrong password, expired or \
             must-change password, locked or disabled account, no right to log on remotely, or a \
             CredSSP version mismatch.",
        )
        .with_all(leg_ev(c.f))
        .with_all(super::nla::exchange_ev(c.f, c.t.frame))
        .with(c.tev_saying(EndNote::NoPubKeyAuth)),
    )
}

/// The server answered the client's authenticate message and then closed
/// instead of waiting for the credentials: its answer was an error (a
/// TSRequest with errorCode, MS-CSSP 2.2.1), not pubKeyAuth. The ladder
/// is put back where the capture shows it stopped.
fn authentication_refused(c: &Closed) -> Option<Verdict> {
    let mut v = c
        .failed(
            CauseId::CredentialsRejected,
            Confidence::Medium,
            "The server answered the client's NLA authenticate message and closed the connection \
             instead of waiting for its credentials: it rejected the authentication (wrong \
             password, expired, locked or disabled account, no right to log on remotely).",
        )
        .with_all(leg_ev(c.f))
        .with(c.tev_saying(EndNote::None));
    if c.lad.mark(Step::CredsspAuthenticate).is_some() {
        v.last_step = Some(Some(Step::CredsspAuthenticate));
        v.failed_step = Some(Step::CredsspServerPubKeyAuth);
    }
    Some(v)
}

/// The client closed after the server's pubKeyAuth without sending
/// credentials: the Windows client's pre-check when it closes at once,
/// else a public-key binding it could not verify.
fn precheck_or_binding_refused(c: &Closed) -> Option<Verdict> {
    if !c.t.is_rst() && c.waited <= PRECHECK_CLOSE {
        let mut v = c
            .benign(Benign::CredentialPrecheck)
            .with_all(leg_ev(c.f))
            .with(c.tev_saying(EndNote::CredentialPrecheck));
        if let Some(s) =
            c.f.soft_alert_from(c.stop.frame)
                .filter(|s| s.frame <= c.t.frame)
        {
            v.evidence.push(term_ev(s, None));
        }
        return Some(v);
    }
    Some(
        c.failed(
            CauseId::PubKeyAuthRejected,
            Confidence::Medium,
            "The client closed after the server's pubKeyAuth without sending credentials: it \
             could not verify the server's public-key binding (TLS interception or a certificate \
             swap).",
        )
        .with_all(leg_ev(c.f))
        .with(c.tev()),
    )
}

/// HYBRID_EX: the server closed after the credentials, before its
/// authorization result.
fn refused_before_authorization(c: &Closed) -> Option<Verdict> {
    Some(
        c.failed(
            CauseId::AccessDenied,
            Confidence::Medium,
            "The server closed after receiving the credentials, before its authorization result: \
             the logon with those credentials was refused.",
        )
        .with_all(leg_ev(c.f))
        .with(c.tev()),
    )
}

/// The client left where MCS should start: it refuses the Standard RDP
/// Security the server chose for a client that asked for TLS, or, after
/// NLA, it was only checking credentials.
fn standard_refused_or_credential_check(c: &Closed) -> Option<Verdict> {
    let request = c.f.proto.request.as_ref();
    let asked_tls = request
        .and_then(|r| r.what.neg_req.as_ref())
        .is_some_and(|n| n.requested.offers_tls());
    if c.lad.security == Security::Standard && asked_tls {
        let offered = offered(c.f.proto.request.as_ref().map(|r| r.what));
        return Some(
            c.failed(
                CauseId::SslNotAllowedByServer,
                Confidence::High,
                format!(
                    "The client asked for {offered} and the server chose Standard RDP Security, \
                     which the client refuses: the server allows only Standard RDP Security \
                     (SecurityLayer 0), or fell back to it because its TLS certificate or key is \
                     unusable."
                ),
            )
            .with_all(request.map(|e| {
                ev(
                    e.frame,
                    NegotiationClue::Request {
                        offered: offered.clone(),
                        named: None,
                    },
                )
            }))
            .with(ev(
                c.stop.frame,
                NegotiationClue::StandardChosen { offered },
            ))
            .with(c.tev()),
        );
    }
    // NLA completed and the client left without starting RDP: a credential
    // check (impacket's rdp_check and the like): the server accepted the
    // credentials.
    c.nla().then(|| {
        c.benign(Benign::CredentialPrecheck)
            .with_all(leg_ev(c.f))
            .with(c.tev_saying(EndNote::CredentialCheck))
    })
}

/// NLA completed, then the server ended the connection before RDP.
fn nla_then_refused(c: &Closed) -> Option<Verdict> {
    if !c.nla() {
        return None;
    }
    let ex = c.stop.step == Step::EarlyUserAuthResult;
    Some(
        c.failed(
            CauseId::AccessDenied,
            if ex && c.waited <= STALL {
                Confidence::High
            } else {
                Confidence::Medium
            },
            if ex {
                "Authentication succeeded but the user is not authorised to log on to this \
                 host: the Early User Authorization Result was followed by the end of the \
                 connection (access denied)."
            } else {
                "NLA completed, then the connection ended before RDP started: the user may not \
                 log on to this host, or the server refused the session."
            },
        )
        .with_all(leg_ev(c.f))
        .with(c.tev()),
    )
}

/// The generic reading: whose turn it was and who ended the connection.
fn generic(c: &Closed) -> Verdict {
    let (lad, stop, next, waited) = (c.lad, &c.stop, c.next, c.waited);
    let servers_turn = next.sender() == Party::Server;
    let phase_rdp = next.phase() >= super::Phase::Rdp;
    let (id, conf, summary) = if c.by_server() && servers_turn && phase_rdp {
        (
            CauseId::ServerDeniedSession,
            if matches!(lad.security, Security::Standard) {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            format!(
                "The server ended the connection during RDP set-up (before {}): licensing, a \
                 session limit or a policy that denies the user.",
                next.label()
            ),
        )
    } else if c.by_server() {
        (
            if c.t.is_rst() {
                CauseId::ServerReset
            } else {
                CauseId::ServerClosed
            },
            Confidence::Medium,
            format!(
                "The server ended the connection {waited} after {}, before {}.",
                stop.step.label(),
                next.label()
            ),
        )
    } else if let Some((frame, _)) = c.spoke {
        // The server sent data after the last step we could place: it was
        // not silent. Where the connection stood is not known, and the
        // client is the one who left.
        (
            CauseId::ClientAborted,
            Confidence::Low,
            format!(
                "The client ended the connection after {}; the server sent data after that step \
                 (up to frame {frame}) which could not be placed on the ladder.",
                stop.step.label()
            ),
        )
    } else if servers_turn && waited >= GAVE_UP {
        let rtx =
            c.f.rtx
                .iter()
                .filter(|r| r.dir == Dir::ToServer && r.frame >= stop.frame)
                .count();
        if rtx >= 2 {
            (
                CauseId::PathLost,
                Confidence::Medium,
                format!(
                    "The server stopped acknowledging after {}: the client retransmitted {rtx} \
                     times, then gave up after {waited}.",
                    stop.step.label()
                ),
            )
        } else {
            unresponsive(c.f, stop, next, waited, true)
        }
    } else {
        (
            CauseId::ClientAborted,
            if servers_turn {
                Confidence::Low
            } else {
                Confidence::Medium
            },
            format!(
                "The client ended the connection {waited} after {}, before {}.",
                stop.step.label(),
                next.label()
            ),
        )
    };
    let mut v = c.failed(id, conf, summary).with(c.stop_ev()).with(c.tev());
    if next.phase() == super::Phase::Credssp {
        v.evidence.extend(leg_ev(c.f));
    }
    v.evidence.extend(keepalive_ev(c.f, stop));
    v
}

/// The server's TCP stack is alive but its RDP service does not answer.
pub(super) fn unresponsive(
    f: &Facts,
    stop: &Mark,
    next: Step,
    waited: Duration,
    client_gave_up: bool,
) -> (CauseId, Confidence, String) {
    let alive = server_alive(f, stop);
    let what = match next {
        Step::ConnectionConfirm => "no X.224 Connection Confirm",
        Step::ServerHello => "no TLS ServerHello",
        Step::CredsspChallenge | Step::CredsspServerPubKeyAuth => {
            "no CredSSP answer (the server may be waiting for a domain controller)"
        }
        _ => "no answer",
    };
    (
        CauseId::ServiceUnresponsive,
        // A live TCP stack and a silence longer than any set-up step takes
        // (servers answer each request within a round trip; see STALL):
        // High. A shorter wait may be a user who cancelled.
        match (alive, waited >= STALL) {
            (true, true) => Confidence::High,
            (true, false) | (false, true) => Confidence::Medium,
            (false, false) => Confidence::Low,
        },
        format!(
            "The server's TCP stack answers but the RDP service does not: {what} {waited} after \
             {}{}.",
            stop.step.label(),
            if client_gave_up {
                ", and the client gave up"
            } else {
                ""
            }
        ),
    )
}

/// The server's host proved alive after the step: keep-alives from the
/// client, or server packets beyond the SYN/ACK with no data.
pub(super) fn server_alive(f: &Facts, stop: &Mark) -> bool {
    let ka = f
        .keepalives
        .iter()
        .any(|(fr, _, d)| *d == Dir::ToServer && *fr >= stop.frame);
    let server_packets = f.conn.dir(Dir::ToClient).sent_packets();
    ka || server_packets as usize > f.synacks.len() + 1
}

pub(super) fn keepalive_ev(f: &Facts, stop: &Mark) -> Vec<Evidence> {
    let ka: Vec<&(u64, Timestamp, Dir)> = f
        .keepalives
        .iter()
        .filter(|(fr, _, _)| *fr >= stop.frame)
        .collect();
    let mut out = Vec::new();
    if let Some(first) = ka.first() {
        out.push(ev(
            first.0,
            TcpClue::KeepAlivesWhileWaiting {
                frames: ka.iter().map(|k| k.0).collect(),
                server_packets: f.conn.dir(Dir::ToClient).sent_packets(),
            },
        ));
    }
    out
}

/// No packet ended the connection after the last step.
pub(super) fn stalled(lad: &Ladder, f: &Facts, stop: &Mark, next: Step) -> Verdict {
    let waited = f.conn.capture_end.since(stop.ts);
    let stop_ev = mark_ev(stop, StepNote::None);
    if let Some(s) = f.soft_alert_from(stop.frame) {
        // An encrypted alert with no FIN/RST after it.
        return Verdict::failed(
            ending_of(s),
            Some(s.frame),
            if s.dir == Dir::ToClient {
                CauseId::ServerClosed
            } else {
                CauseId::ClientAborted
            },
            Confidence::Low,
            format!(
                "The {} sent an encrypted TLS alert after {}; its content is not visible.",
                s.dir.sender(),
                stop.step.label()
            ),
        )
        .with(stop_ev)
        .with(term_ev(s, Some(stop)));
    }
    if waited < STALL {
        return Verdict::incomplete(Ending::CaptureEnded, None).with(ev(
            stop.frame,
            SilenceClue::LastStep {
                step: stop.step,
                waited,
            },
        ));
    }
    if let Some(v) = path_lost(f, Some(stop)) {
        return v.with(stop_ev);
    }
    let rtx = f.rtx.iter().filter(|r| r.frame >= stop.frame).count() as u32;
    let ending = Ending::Timeout {
        waited,
        retransmissions: rtx,
    };
    let (id, conf, summary) = if next.sender() == Party::Server {
        match next.phase() {
            super::Phase::X224 | super::Phase::Tls | super::Phase::Credssp => {
                unresponsive(f, stop, next, waited, false)
            }
            _ => (
                CauseId::ServerDeniedSession,
                Confidence::Low,
                format!(
                    "The server stopped answering during RDP set-up ({} after {}).",
                    waited,
                    stop.step.label()
                ),
            ),
        }
    } else {
        (
            CauseId::ClientAborted,
            Confidence::Low,
            format!(
                "The client did not continue after {} ({} of silence).",
                stop.step.label(),
                waited
            ),
        )
    };
    let _ = lad;
    Verdict::failed(ending, None, id, conf, summary)
        .with(stop_ev)
        .with_all(keepalive_ev(f, stop))
        .with(ev(
            stop.frame,
            SilenceClue::NothingFrom {
                party: next.sender(),
                waited,
            },
        ))
}

#[cfg(test)]
mod sentence_tests {
    #[test]
    fn the_client_left_before_tls_sentence_is_the_formatted_one() {
        for neg in [
            "",
            "client offered SSL|HYBRID, server chose SSL: TLS without NLA",
        ] {
            assert_eq!(
                super::client_left_before_tls(neg),
                format!(
                    "The client closed instead of starting TLS: it does not accept what the \
                     server chose ({neg})."
                )
            );
        }
    }
}
