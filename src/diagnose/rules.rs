//! The rules: from the ladder and the facts of one connection to a verdict
//! (outcome, ending, probable cause with evidence, benign kind).
//!
//! Order matters and follows the strength of the evidence: an explicit
//! refusal (RDP_NEG_FAILURE, a clear-text TLS alert) beats an inference
//! from packet shape; packet-level signatures that name the path (a forged
//! RST, an idle timeout, a zero window, a path-MTU black hole, an ICMP
//! error) beat the step-by-step reading; the step that did not complete
//! and who ended the connection decide the rest.

use super::facts::{after, date, date_secs, dur, ev, party, Facts, Rtx, Term, TermKind};
use super::ladder::{Ladder, Mark, Security, LICENSE_VALID_CLIENT};
use super::remedy::remediation;
use super::{Benign, Cause, CauseId, Confidence, Ending, Evidence, Outcome, Party, Step};
use crate::common::{Dir, Duration, Timestamp};
use crate::proto::cert::CertInfo;
use crate::proto::mcs::{error_info_name, McsEvent};
use crate::proto::tls::{alert_name, ClientHello, TlsVersion};
use crate::proto::x224::{ConnectionConfirm, NegFailureCode, X224Event};
use crate::proto::ProtoEvent;
use crate::timeline::Timeline;

/// A client that waited at least this long for the server before closing
/// gave up on it (rather than aborting on its own).
pub const GAVE_UP: Duration = Duration::from_millis(1000);
/// A step unanswered for this long before the capture ended is a timeout,
/// not a capture that ended too early.
pub const STALL: Duration = Duration::from_secs(5);
/// A server that closes within this time of a request reacted to it.
pub const PROMPT: Duration = Duration::from_millis(1000);
/// A silence this long followed by a reset or retransmissions is an idle
/// timeout.
pub const IDLE: Duration = Duration::from_secs(60);
/// A zero window held this long is a stall.
pub const ZERO_WINDOW: Duration = Duration::from_secs(2);
/// The capture continued this long after a lone SYN: the client gave up.
pub const SYN_QUIET: Duration = Duration::from_secs(3);

/// What the rules decide; the caller adds caveats and the negotiation.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    pub ending: Ending,
    pub ending_frame: Option<u64>,
    pub failed_step: Option<Step>,
    pub cause: Option<Cause>,
    pub benign: Option<Benign>,
    pub evidence: Vec<Evidence>,
    pub caveats: Vec<String>,
}

impl Verdict {
    fn new(outcome: Outcome, ending: Ending, ending_frame: Option<u64>) -> Self {
        Verdict {
            outcome,
            ending,
            ending_frame,
            failed_step: None,
            cause: None,
            benign: None,
            evidence: Vec::new(),
            caveats: Vec::new(),
        }
    }
    fn failed(ending: Ending, frame: Option<u64>, id: CauseId, c: Confidence, s: String) -> Self {
        let mut v = Verdict::new(Outcome::Failed, ending, frame);
        v.cause = Some(cause(id, c, s));
        v
    }
    fn benign(kind: Benign, ending: Ending, frame: Option<u64>) -> Self {
        let mut v = Verdict::new(Outcome::Benign, ending, frame);
        v.benign = Some(kind);
        v
    }
    fn incomplete(ending: Ending, frame: Option<u64>) -> Self {
        Verdict::new(Outcome::Incomplete, ending, frame)
    }
    fn with(mut self, e: Evidence) -> Self {
        self.evidence.push(e);
        self
    }
    fn with_all(mut self, es: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(es);
        self
    }
}

pub fn cause(id: CauseId, confidence: Confidence, summary: String) -> Cause {
    Cause {
        id,
        confidence,
        summary,
        remediation: remediation(id).to_string(),
    }
}

/// How a terminating packet ends the connection.
pub fn ending_of(tl: &Timeline, t: &Term) -> Ending {
    match &t.kind {
        TermKind::Rst { .. } => {
            if forged(tl, t).is_some() {
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
        TermKind::Icmp(i) => Ending::IcmpError {
            icmp_type: i.icmp_type,
            code: i.code,
        },
    }
}

/// A RST whose TTL differs from the usual TTL of its sender's other
/// packets (at least two of them): (usual TTL, packets with it).
pub fn forged(tl: &Timeline, t: &Term) -> Option<(u8, u64)> {
    let TermKind::Rst { ttl, .. } = t.kind else {
        return None;
    };
    let d = tl.dir(t.dir);
    let usual = d.usual_ttl()?;
    let n = d
        .ttls
        .iter()
        .find(|(v, _)| *v == usual)
        .map(|(_, n)| *n)
        .unwrap_or(0);
    (usual != ttl && n >= 2).then_some((usual, n))
}

fn term_ev(t: &Term, since: Option<&Mark>) -> Evidence {
    match since {
        Some(m) if m.frame <= t.frame => {
            ev(t.frame, format!("{} {}", t.describe(), after(t.ts, m)))
        }
        _ => ev(t.frame, t.describe()),
    }
}

fn mark_ev(m: &Mark, text: &str) -> Evidence {
    let who = m.step.sender().name();
    if text.is_empty() {
        ev(m.frame, format!("{} from {who}", m.step.label()))
    } else {
        ev(m.frame, format!("{} from {who}: {text}", m.step.label()))
    }
}

fn lower(c: Confidence) -> Confidence {
    match c {
        Confidence::High => Confidence::Medium,
        _ => Confidence::Low,
    }
}

/// Decide one connection.
pub fn decide(tl: &Timeline, lad: &Ladder, f: &Facts) -> Verdict {
    if let Some((frame, why)) = &f.not_rdp {
        let (ending, ef) = match f.first_term_from(0) {
            Some(t) => (ending_of(tl, t), Some(t.frame)),
            None => (Ending::CaptureEnded, None),
        };
        return Verdict::new(Outcome::NotRdp, ending, ef)
            .with(ev(*frame, format!("data on the port is not RDP: {why}")));
    }
    let mut v = decide_inner(tl, lad, f);
    if v.failed_step.is_none() && !lad.established() {
        v.failed_step = lad.next;
    }
    v
}

fn decide_inner(tl: &Timeline, lad: &Ladder, f: &Facts) -> Verdict {
    let stop = lad.last;
    let from = stop.map(|m| m.frame).unwrap_or(0);
    let term = f.first_term_from(from).cloned();

    // The TCP handshake has its own signatures (a scanner's RST would look
    // forged: raw-socket tools pick their own TTL).
    match lad.next {
        Some(Step::SynAck) => return syn_unanswered(tl, f, lad),
        Some(Step::HandshakeAck) => return handshake_unfinished(tl, f, lad),
        _ => {}
    }
    if let Some(v) = negotiation_failure(tl, f) {
        return v;
    }
    if let Some(t) = &term {
        if let TermKind::Alert { description, .. } = t.kind {
            return alert_rule(tl, lad, t, description);
        }
    }
    if let Some(v) = licensing_or_error_info(tl, lad, f) {
        return v;
    }
    if let Some(v) = idle_timeout(tl, f, term.as_ref()) {
        return v;
    }
    if let Some(t) = &term {
        if let Some((usual, n)) = forged(tl, t) {
            return middlebox_reset(tl, lad, t, usual, n);
        }
    }
    if let Some(v) = zero_window(tl, f, stop.as_ref(), term.as_ref()) {
        return v;
    }
    if !lad.established() {
        if let Some(v) = mtu_black_hole(tl, lad, f, term.as_ref()) {
            return v;
        }
    }
    if let Some(t) = &term {
        if let TermKind::Icmp(i) = &t.kind {
            return Verdict::failed(
                ending_of(tl, t),
                Some(t.frame),
                CauseId::IcmpUnreachable,
                Confidence::High,
                format!("A device on the path answered with ICMP {}.", i.describe()),
            )
            .with(term_ev(t, stop.as_ref()));
        }
    }
    if lad.established() {
        return session_end(tl, lad, f, term.as_ref());
    }
    if lad.last.is_none() {
        return nothing_placed(tl, f, term.as_ref());
    }
    step_rules(tl, lad, f, term.as_ref())
}

// ---------------------------------------------------------------- tcp ----

fn syn_unanswered(tl: &Timeline, f: &Facts, lad: &Ladder) -> Verdict {
    let Some(&(first_frame, first_ts)) = f.syns.first() else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let answer = f
        .terms
        .iter()
        .find(|t| t.dir == Dir::ToClient || matches!(t.kind, TermKind::Icmp(_)));
    let n = f.syns.len();
    let syn_list = f
        .syns
        .iter()
        .map(|(fr, _)| fr.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(t) = answer {
        // The SYN that the answer follows.
        let last_syn = f
            .syns
            .iter()
            .rev()
            .find(|(fr, _)| *fr <= t.frame)
            .copied()
            .unwrap_or((first_frame, first_ts));
        let m = Mark {
            step: Step::Syn,
            frame: last_syn.0,
            ts: last_syn.1,
        };
        let mut v = match &t.kind {
            TermKind::Icmp(i) => Verdict::failed(
                ending_of(tl, t),
                Some(t.frame),
                CauseId::IcmpUnreachable,
                Confidence::High,
                format!(
                    "The SYN was answered by ICMP {}: a router or firewall on the path names \
                     the reason.",
                    i.describe()
                ),
            ),
            _ => Verdict::failed(
                Ending::Refused,
                Some(t.frame),
                CauseId::PortClosed,
                Confidence::High,
                format!(
                    "The server refused the connection: nothing listens on port {} or a host \
                     firewall rejects it.",
                    tl.endpoints.server.port()
                ),
            ),
        };
        v.evidence.push(ev(
            m.frame,
            format!("SYN from client to {}", tl.endpoints.server),
        ));
        v.evidence.push(term_ev(t, Some(&m)));
        if n > 1 {
            v.evidence.push(ev(
                f.syns[n - 1].0,
                format!("client sent the SYN {n} times (frames {syn_list})"),
            ));
        }
        return v;
    }
    let (last_frame, last_ts) = f.syns[n - 1];
    let quiet = tl.capture_end.since(last_ts);
    let rtx = (n - 1) as u32;
    if n == 1 && quiet < SYN_QUIET {
        return Verdict::incomplete(Ending::CaptureEnded, Some(last_frame)).with(ev(
            first_frame,
            format!(
                "SYN from client; the capture ends {} later with no answer",
                dur(tl.capture_end, first_ts)
            ),
        ));
    }
    let waited = if n > 1 {
        last_ts.since(first_ts)
    } else {
        tl.capture_end.since(first_ts)
    };
    let conf = match n {
        1 => Confidence::Low,
        2 => Confidence::Medium,
        _ => Confidence::High,
    };
    let gaps: Vec<String> = f
        .syns
        .windows(2)
        .map(|w| format!("{:.1}", w[1].1.since(w[0].1).as_secs_f64()))
        .collect();
    let mut v = Verdict::failed(
        Ending::Timeout {
            waited,
            retransmissions: rtx,
        },
        Some(last_frame),
        CauseId::Filtered,
        conf,
        format!(
            "The SYN to {} was never answered ({} retransmission{} over {}): a firewall or \
             security group drops it, the host is down, or the address or route is wrong.",
            tl.endpoints.server,
            rtx,
            if rtx == 1 { "" } else { "s" },
            waited
        ),
    )
    .with(ev(
        first_frame,
        format!("SYN from client to {}", tl.endpoints.server),
    ));
    if n > 1 {
        v.evidence.push(ev(
            last_frame,
            format!(
                "SYN sent {n} times (frames {syn_list}), intervals {} s; no SYN/ACK, RST or ICMP \
                 error",
                gaps.join(", ")
            ),
        ));
    } else {
        v.evidence.push(ev(
            first_frame,
            format!(
                "single SYN, no retransmission and no answer in the {} the capture continued",
                quiet
            ),
        ));
    }
    let _ = lad;
    v
}

fn handshake_unfinished(tl: &Timeline, f: &Facts, lad: &Ladder) -> Verdict {
    let synack = lad.mark(Step::SynAck);
    let from = synack.map(|m| m.frame).unwrap_or(0);
    if let Some(t) = f.terms.iter().find(|t| t.frame >= from && t.is_close()) {
        if t.dir == Dir::ToServer && t.is_rst() {
            let mut v = Verdict::benign(
                Benign::Scanner,
                Ending::ResetBy(Party::Client),
                Some(t.frame),
            );
            if let Some(m) = synack {
                v.evidence.push(mark_ev(&m, ""));
            }
            v.evidence.push(ev(
                t.frame,
                format!(
                    "{} {} without completing the handshake: a half-open (SYN) port scan",
                    t.describe(),
                    synack.map(|m| after(t.ts, &m)).unwrap_or_default()
                ),
            ));
            return v;
        }
        return Verdict::failed(
            ending_of(tl, t),
            Some(t.frame),
            CauseId::Unknown,
            Confidence::Low,
            "The TCP handshake did not complete.".into(),
        )
        .with(term_ev(t, synack.as_ref()));
    }
    let retries = f.synacks.len().saturating_sub(1) + f.syns.len().saturating_sub(1);
    let last = synack.map(|m| m.ts).unwrap_or(tl.first_ts);
    if retries >= 2 || tl.capture_end.since(last) >= STALL {
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: tl.last_ts.since(tl.first_ts),
                retransmissions: retries as u32,
            },
            Some(tl.last_frame),
            CauseId::Filtered,
            if retries >= 2 {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            "The server answered the SYN but the handshake never completed: the SYN/ACK did \
             not reach the client, or the client's ACK did not reach the server (a firewall \
             dropping one direction, asymmetric routing)."
                .into(),
        );
        if let Some(m) = synack {
            v.evidence.push(mark_ev(&m, ""));
        }
        v.evidence.push(ev(
            tl.last_frame,
            format!(
                "{} SYN and {} SYN/ACK retransmissions, no handshake ACK",
                f.syns.len().saturating_sub(1),
                f.synacks.len().saturating_sub(1)
            ),
        ));
        return v;
    }
    Verdict::incomplete(Ending::CaptureEnded, None)
}

// --------------------------------------------------------------- x224 ----

fn negotiation_failure(tl: &Timeline, f: &Facts) -> Option<Verdict> {
    let (e, code) = tl.proto_events().find_map(|(e, p)| match p {
        ProtoEvent::X224(X224Event::ConnectionConfirm(ConnectionConfirm::Failure { code })) => {
            Some((e, *code))
        }
        _ => None,
    })?;
    let requested = tl
        .connection_request()
        .and_then(|(_, r)| r.neg_req.as_ref().map(|n| n.requested));
    let offers_tls = requested.is_some_and(|r| r.offers_tls());
    let offers_nla = requested.is_some_and(|r| r.offers_nla());
    let offered = offered_text(tl);
    use NegFailureCode as N;
    let (id, conf, summary) = match code.0 {
        N::SSL_REQUIRED_BY_SERVER => (
            CauseId::SslRequiredByServer,
            if offers_tls { Confidence::Medium } else { Confidence::High },
            format!(
                "The server requires TLS (SSL_REQUIRED_BY_SERVER) and the client offered {offered}."
            ),
        ),
        N::SSL_NOT_ALLOWED_BY_SERVER => (
            CauseId::SslNotAllowedByServer,
            Confidence::High,
            format!(
                "The server allows Standard RDP Security only (SSL_NOT_ALLOWED_BY_SERVER) and the \
                 client offered {offered} without accepting it."
            ),
        ),
        N::SSL_CERT_NOT_ON_SERVER => (
            CauseId::CertNotOnServer,
            Confidence::High,
            "The server has no usable TLS certificate (SSL_CERT_NOT_ON_SERVER): the Remote \
             Desktop certificate is missing or its private key cannot be read."
                .into(),
        ),
        N::INCONSISTENT_FLAGS => (
            CauseId::InconsistentFlags,
            Confidence::High,
            format!("The client's requested protocols ({offered}) contradict each other (INCONSISTENT_FLAGS)."),
        ),
        N::HYBRID_REQUIRED_BY_SERVER => (
            CauseId::NlaRequired,
            if offers_nla { Confidence::Medium } else { Confidence::High },
            format!(
                "The server requires Network Level Authentication (HYBRID_REQUIRED_BY_SERVER) \
                 and the client offered {offered}, without CredSSP."
            ),
        ),
        N::SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER => (
            CauseId::SslWithUserAuthRequired,
            Confidence::High,
            format!(
                "The server requires TLS with user authentication \
                 (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER); the client offered {offered}."
            ),
        ),
        _ => (
            CauseId::NegotiationFailureOther,
            Confidence::Medium,
            format!("The server refused the negotiation with failure code {}.", code.name()),
        ),
    };
    let mut v = Verdict::failed(
        Ending::NegotiationFailure { code: code.0 },
        Some(e.frame),
        id,
        conf,
        summary,
    );
    v.failed_step = Some(Step::ConnectionConfirm);
    let cr = tl.connection_request().map(|(ce, _)| Mark {
        step: Step::ConnectionRequest,
        frame: ce.frame,
        ts: ce.ts,
    });
    if let Some(m) = &cr {
        v.evidence.push(ev(
            m.frame,
            format!("X.224 Connection Request from client offering {offered}"),
        ));
    }
    v.evidence.push(ev(
        e.frame,
        format!(
            "X.224 Connection Confirm from server with RDP_NEG_FAILURE {} ({}){}",
            code.name(),
            code.0,
            cr.map(|m| format!(", {}", after(e.ts, &m)))
                .unwrap_or_default()
        ),
    ));
    if let Some(t) = f.terms.iter().find(|t| t.frame >= e.frame && t.is_close()) {
        v.evidence.push(ev(
            t.frame,
            format!("{}: the connection ends", t.describe()),
        ));
    }
    Some(v)
}

/// `SSL|HYBRID`, or `RDP only` / `no RDP_NEG_REQ (Standard RDP Security only)`.
pub fn offered_text(tl: &Timeline) -> String {
    match tl.connection_request() {
        Some((_, r)) => match &r.neg_req {
            Some(n) => {
                let names = n.requested.requested_names();
                if names == ["RDP"] {
                    "RDP only".into()
                } else {
                    names.join("|")
                }
            }
            None => "no RDP_NEG_REQ (Standard RDP Security only)".into(),
        },
        None => "an unknown set of protocols (Connection Request not captured)".into(),
    }
}

// ---------------------------------------------------------------- tls ----

/// A clear-text TLS alert ends the connection.
fn alert_rule(tl: &Timeline, lad: &Ladder, t: &Term, desc: u8) -> Verdict {
    let stop = lad.last;
    let name = alert_name(desc);
    let ending = ending_of(tl, t);
    let mut evidence = vec![term_ev(t, stop.as_ref())];
    if let Some((e, ch)) = tl.client_hello() {
        evidence.push(ev(
            e.frame,
            format!("ClientHello from client: {}", hello_text(ch)),
        ));
    }
    let (id, conf, summary) = if t.dir == Dir::ToClient {
        let old_only = tl.client_hello().is_some_and(|(_, h)| offers_only_old(h));
        match desc {
            70 => (
                CauseId::TlsVersionMismatch,
                Confidence::High,
                format!(
                    "The server refused the client's TLS versions (alert protocol_version): no \
                     version in common{}.",
                    version_hint(tl)
                ),
            ),
            40 | 71 if old_only => (
                CauseId::TlsVersionMismatch,
                Confidence::Medium,
                format!(
                    "The server ended the TLS handshake with alert {name} and the client offers \
                     only old TLS versions{}.",
                    version_hint(tl)
                ),
            ),
            40 | 71 => (
                CauseId::TlsCipherMismatch,
                Confidence::High,
                format!(
                    "The server ended the TLS handshake with alert {name}: no cipher suite (or \
                     parameters) in common with the client."
                ),
            ),
            80 => (
                CauseId::TlsServerInternalError,
                Confidence::High,
                "The server's TLS stack failed (alert internal_error), usually because it cannot \
                 use its certificate's private key."
                    .into(),
            ),
            _ => (
                CauseId::Unknown,
                Confidence::Medium,
                format!("The server ended the TLS handshake with alert {name} ({desc})."),
            ),
        }
    } else {
        let certs = tl
            .certificates()
            .map(|(_, c)| c.to_vec())
            .unwrap_or_default();
        let judged = judge_cert(tl, &certs, t.ts);
        match desc {
            45 => (
                CauseId::CertRejectedExpired,
                Confidence::High,
                format!(
                    "The client rejected the server's certificate as expired (alert \
                     certificate_expired){}.",
                    judged
                        .as_ref()
                        .filter(|j| j.0 == CauseId::CertRejectedExpired)
                        .map(|j| format!(": {}", j.1))
                        .unwrap_or_default()
                ),
            ),
            44 => (
                CauseId::CertRejected,
                Confidence::High,
                "The client rejected the server's certificate as revoked (alert \
                 certificate_revoked)."
                    .into(),
            ),
            42 | 43 | 46 | 48 => match judged {
                Some((id, why)) => (
                    id,
                    Confidence::High,
                    format!("The client rejected the server's certificate (alert {name}): {why}."),
                ),
                None => (
                    CauseId::CertRejected,
                    Confidence::Medium,
                    format!("The client rejected the server's certificate (alert {name})."),
                ),
            },
            70 => (
                CauseId::TlsVersionMismatch,
                Confidence::High,
                "The client refused the TLS version the server chose (alert protocol_version)."
                    .into(),
            ),
            40 | 71 => (
                CauseId::TlsCipherMismatch,
                Confidence::Medium,
                format!("The client refused the server's TLS parameters (alert {name})."),
            ),
            _ => (
                CauseId::ClientAborted,
                Confidence::Medium,
                format!("The client ended the TLS handshake with alert {name} ({desc})."),
            ),
        }
    };
    if t.dir == Dir::ToServer {
        if let Some((e, c)) = tl.certificates() {
            if let Some(leaf) = c.first() {
                evidence.push(ev(e.frame, cert_text(leaf, t.ts)));
            }
        }
    }
    Verdict::failed(ending, Some(t.frame), id, conf, summary).with_all(evidence)
}

fn version_hint(tl: &Timeline) -> String {
    match tl.client_hello() {
        Some((_, h)) => format!(
            " (the client offers {} to {})",
            h.min_version().name(),
            h.max_version().name()
        ),
        None => String::new(),
    }
}

/// The ClientHello offers nothing newer than TLS 1.1.
pub fn offers_only_old(h: &ClientHello) -> bool {
    h.max_version() < TlsVersion(0x0303)
}

/// The ClientHello offers no AEAD (GCM, ChaCha20, CCM) or TLS 1.3 suite:
/// only CBC, RC4, 3DES and the like, which hardened servers refuse.
pub fn offers_only_weak_ciphers(h: &ClientHello) -> bool {
    !h.cipher_suites.is_empty()
        && !h.cipher_suites.iter().any(|&id| {
            let n = crate::proto::tls::cipher_suite_name(id);
            n.contains("GCM")
                || n.contains("CHACHA20")
                || n.contains("CCM")
                || (0x1301..=0x1305).contains(&id)
        })
}

fn hello_text(h: &ClientHello) -> String {
    let mut s = format!(
        "versions {} to {}, {} cipher suites",
        h.min_version().name(),
        h.max_version().name(),
        h.cipher_suites.len()
    );
    if let Some(sni) = &h.sni {
        s.push_str(&format!(", SNI {sni}"));
    }
    s
}

fn cert_text(c: &CertInfo, now: Timestamp) -> String {
    format!(
        "server Certificate: subject {}, issuer {}{}, valid {} to {} (capture time {})",
        c.subject,
        c.issuer,
        if c.self_signed { " (self-signed)" } else { "" },
        date_secs(c.not_before),
        date_secs(c.not_after),
        date(now)
    )
}

/// Judge the leaf certificate against the capture's clock and the name the
/// client dialled. The first defect found, by weight.
pub fn judge_cert(tl: &Timeline, certs: &[CertInfo], now: Timestamp) -> Option<(CauseId, String)> {
    let leaf = certs.first()?;
    let secs = now.secs();
    if leaf.not_after < secs {
        return Some((
            CauseId::CertRejectedExpired,
            format!(
                "it expired on {}, before the capture time {}",
                date_secs(leaf.not_after),
                date(now)
            ),
        ));
    }
    if leaf.not_before > secs {
        return Some((
            CauseId::CertRejectedNotYetValid,
            format!(
                "it is valid only from {}, after the capture time {}",
                date_secs(leaf.not_before),
                date(now)
            ),
        ));
    }
    if let Some(name) = dialled_name(tl) {
        if !cert_names(leaf).iter().any(|n| name_matches(n, &name)) {
            return Some((
                CauseId::CertRejectedNameMismatch,
                format!(
                    "the client asked for {name} (SNI) but the certificate names {}",
                    cert_names(leaf).join(", ")
                ),
            ));
        }
    }
    if leaf.self_signed && certs.len() == 1 {
        return Some((
            CauseId::CertRejectedSelfSigned,
            format!(
                "it is self-signed ({}), so the client cannot trust it",
                leaf.subject
            ),
        ));
    }
    if leaf.key_algorithm.starts_with("RSA") && leaf.key_bits.is_some_and(|b| b < 2048) {
        return Some((
            CauseId::CertRejected,
            format!("its RSA key has only {} bits", leaf.key_bits.unwrap_or(0)),
        ));
    }
    if leaf
        .signature_algorithm
        .to_ascii_lowercase()
        .contains("sha1")
        || leaf
            .signature_algorithm
            .to_ascii_lowercase()
            .contains("md5")
    {
        return Some((
            CauseId::CertRejected,
            format!("it is signed with {}", leaf.signature_algorithm),
        ));
    }
    None
}

/// The host name the client dialled, when the capture shows it (TLS SNI).
fn dialled_name(tl: &Timeline) -> Option<String> {
    tl.client_hello()
        .and_then(|(_, h)| h.sni.clone())
        .filter(|s| !s.is_empty())
}

/// The names a certificate is valid for: SANs, else the subject CN.
fn cert_names(c: &CertInfo) -> Vec<String> {
    let sans: Vec<String> = c
        .sans
        .iter()
        .map(|s| {
            s.trim_start_matches("DNS:")
                .trim_start_matches("IP:")
                .trim()
                .to_string()
        })
        .collect();
    if !sans.is_empty() {
        return sans;
    }
    c.subject
        .split(',')
        .filter_map(|p| p.trim().strip_prefix("CN=").map(|s| s.trim().to_string()))
        .collect()
}

fn name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let n = name.to_ascii_lowercase();
    if p == n {
        return true;
    }
    // A single left-most wildcard label (RFC 6125 6.4.3).
    match (p.strip_prefix("*."), n.split_once('.')) {
        (Some(rest), Some((_, nrest))) => rest == nrest,
        _ => false,
    }
}

/// The server closed right after the ClientHello without a ServerHello.
fn server_closed_after_hello(tl: &Timeline, stop: &Mark, t: &Term) -> Verdict {
    let waited = t.ts.since(stop.ts);
    let hello = tl.client_hello().map(|(_, h)| h.clone());
    let (id, conf, summary) = match &hello {
        Some(h) if offers_only_old(h) => (
            CauseId::TlsVersionMismatch,
            Confidence::Medium,
            format!(
                "The server closed without a ServerHello and the client offers only {} to {}: \
                 the server has old TLS versions disabled.",
                h.min_version().name(),
                h.max_version().name()
            ),
        ),
        Some(h) if offers_only_weak_ciphers(h) => (
            CauseId::TlsCipherMismatch,
            Confidence::Medium,
            "The server closed without a ServerHello and the client offers only old cipher \
             suites (no AES-GCM or ChaCha20): no cipher suite in common."
                .into(),
        ),
        _ => (
            CauseId::ServerCertUnusable,
            if waited <= PROMPT {
                Confidence::High
            } else {
                Confidence::Medium
            },
            "The server could not build its side of TLS: most often the Remote Desktop \
             certificate's private key is unusable (MachineKeys folder corrupt or without \
             permissions) or the certificate was deleted or expired and not regenerated."
                .into(),
        ),
    };
    let mut v = Verdict::failed(ending_of(tl, t), Some(t.frame), id, conf, summary);
    v.evidence.push(ev(
        stop.frame,
        format!(
            "ClientHello from client{}",
            hello
                .as_ref()
                .map(|h| format!(": {}", hello_text(h)))
                .unwrap_or_default()
        ),
    ));
    v.evidence.push(ev(
        t.frame,
        format!("{} {}, no ServerHello", t.describe(), after(t.ts, stop)),
    ));
    v
}

/// The client ended the connection after seeing the server's certificate
/// (FIN or RST, no alert).
fn client_left_after_cert(tl: &Timeline, stop: &Mark, t: &Term, in_credssp: bool) -> Verdict {
    let certs = tl
        .certificates()
        .map(|(_, c)| c.to_vec())
        .unwrap_or_default();
    let judged = judge_cert(tl, &certs, t.ts);
    let (id, conf, summary) = match judged {
        Some((id, why)) => {
            let conf = match (id, in_credssp) {
                (CauseId::CertRejectedExpired | CauseId::CertRejectedNotYetValid, false) => {
                    Confidence::High
                }
                (CauseId::CertRejected, _) | (_, true) => Confidence::Low,
                _ => Confidence::Medium,
            };
            (
                id,
                conf,
                format!("The client rejected the server's certificate: {why}."),
            )
        }
        None if certs.is_empty() => (
            CauseId::CertRejected,
            Confidence::Low,
            "The client ended the connection after the server's TLS flight; the certificate is \
             not visible (TLS 1.3 or not captured), so the reason cannot be checked."
                .into(),
        ),
        None => (
            CauseId::ClientAborted,
            Confidence::Low,
            "The client ended the connection after the server's certificate, which shows no \
             defect the capture can judge (the client may not trust its issuer)."
                .into(),
        ),
    };
    let mut v = Verdict::failed(ending_of(tl, t), Some(t.frame), id, conf, summary);
    if let Some((e, c)) = tl.certificates() {
        if let Some(leaf) = c.first() {
            v.evidence.push(ev(e.frame, cert_text(leaf, t.ts)));
        }
    }
    v.evidence.push(term_ev(t, Some(stop)));
    v
}

// ------------------------------------------------------------ credssp ----

fn leg_ev(tl: &Timeline) -> Vec<Evidence> {
    tl.credssp_legs()
        .map(|(e, l)| {
            ev(
                e.frame,
                format!("CredSSP {} from {} (encrypted)", l.name(), e.dir.sender()),
            )
        })
        .collect()
}

// ------------------------------------------------------- rdp / session ----

/// Licensing errors, MCS refusals and Set Error Info codes in the clear.
fn licensing_or_error_info(tl: &Timeline, lad: &Ladder, f: &Facts) -> Option<Verdict> {
    let end = |from: u64| match f.first_term_from(from) {
        Some(t) => (ending_of(tl, t), Some(t.frame), Some(t.clone())),
        None => (Ending::CaptureEnded, None, None),
    };
    for (e, p) in tl.proto_events() {
        let ProtoEvent::Mcs(m) = p else { continue };
        match m {
            McsEvent::Licensing(l)
                if l.msg_type == 0xff
                    && l.error_code.is_some_and(|c| c != LICENSE_VALID_CLIENT) =>
            {
                let code = l.error_code.unwrap_or(0);
                let (ending, ef, t) = end(e.frame);
                let mut v =
                    Verdict::failed(
                        ending,
                        ef,
                        CauseId::LicensingError,
                        Confidence::High,
                        format!(
                            "The server's licensing failed with {} (0x{code:02x}).",
                            license_error_name(code)
                        ),
                    )
                    .with(ev(
                        e.frame,
                        format!(
                        "Licensing ERROR_ALERT from server: {} (0x{code:02x}), state transition {}",
                        license_error_name(code),
                        l.state_transition.map(|s| s.to_string()).unwrap_or("-".into())
                    ),
                    ));
                if let Some(t) = t {
                    v.evidence.push(term_ev(&t, None));
                }
                v.failed_step = Some(Step::Licensing);
                return Some(v);
            }
            McsEvent::ConnectResponse(g) if g.result != 0 => {
                let (ending, ef, _) = end(e.frame);
                let mut v = Verdict::failed(
                    ending,
                    ef,
                    CauseId::ServerDeniedSession,
                    Confidence::High,
                    format!(
                        "The server refused the MCS connection (Connect-Response result {}).",
                        g.result
                    ),
                )
                .with(ev(
                    e.frame,
                    format!("MCS Connect Response from server with result {}", g.result),
                ));
                v.failed_step = Some(Step::McsConnectResponse);
                return Some(v);
            }
            McsEvent::SetErrorInfo { code } if *code != 0 => {
                let name = error_info_name(*code);
                let (ending, ef, t) = end(e.frame);
                let text = ev(
                    e.frame,
                    format!("Set Error Info PDU from server: {name} (0x{code:x})"),
                );
                let mut v = match *code {
                    // Logoff or disconnect asked for by a user or administrator.
                    0x1 | 0x2 | 0xB | 0xC => {
                        let mut v = Verdict::benign(Benign::SessionEnd, ending, ef);
                        v.failed_step = None;
                        v
                    }
                    0x3 | 0x4 => Verdict::failed(
                        ending,
                        ef,
                        CauseId::IdleTimeout,
                        Confidence::High,
                        format!(
                            "The server ended the session on its own time limit ({name}): a \
                             session or logon time limit in Group Policy."
                        ),
                    ),
                    0x100..=0x10A => Verdict::failed(
                        ending,
                        ef,
                        CauseId::LicensingError,
                        Confidence::High,
                        format!("The server ended the connection for licensing ({name})."),
                    ),
                    _ => Verdict::failed(
                        ending,
                        ef,
                        CauseId::ServerDeniedSession,
                        Confidence::High,
                        format!("The server ended the connection with {name}."),
                    ),
                };
                v.evidence.push(text);
                if let Some(t) = t {
                    v.evidence.push(term_ev(&t, None));
                }
                if !lad.established() {
                    v.failed_step = lad.next;
                }
                return Some(v);
            }
            _ => {}
        }
    }
    None
}

/// [MS-RDPELE] 2.2.2.7.1 dwErrorCode.
fn license_error_name(code: u32) -> String {
    match code {
        0x01 => "ERR_INVALID_SERVER_CERTIFICATE".into(),
        0x02 => "ERR_NO_LICENSE".into(),
        0x03 => "ERR_INVALID_MAC".into(),
        0x04 => "ERR_INVALID_SCOPE".into(),
        0x06 => "ERR_NO_LICENSE_SERVER".into(),
        0x07 => "STATUS_VALID_CLIENT".into(),
        0x08 => "ERR_INVALID_CLIENT".into(),
        0x0B => "ERR_INVALID_PRODUCTID".into(),
        0x0C => "ERR_INVALID_MESSAGE_LEN".into(),
        v => crate::proto::unknown_hex(v as u64),
    }
}

/// Connection ended after session data flowed.
fn session_end(tl: &Timeline, lad: &Ladder, f: &Facts, term: Option<&Term>) -> Verdict {
    let sess = lad.mark(Step::SessionData);
    let sess_ev = sess.map(|m| {
        ev(
            m.frame,
            format!(
                "session data: {} bytes from server, {} from client",
                tl.dir(Dir::ToClient).payload_bytes,
                tl.dir(Dir::ToServer).payload_bytes
            ),
        )
    });
    if let Some(t) = term.filter(|t| t.is_close()) {
        let ending = ending_of(tl, t);
        let mut v = if t.dir == Dir::ToServer {
            Verdict::benign(Benign::SessionEnd, ending, Some(t.frame)).with(ev(
                t.frame,
                format!(
                    "{} after the session ran: the client ended the session",
                    t.describe()
                ),
            ))
        } else if t.is_rst() {
            Verdict::failed(
                ending,
                Some(t.frame),
                CauseId::ServerReset,
                Confidence::Medium,
                "The server reset the connection during the session.".into(),
            )
            .with(ev(t.frame, format!("{} during the session", t.describe())))
        } else {
            Verdict::benign(Benign::SessionEnd, ending, Some(t.frame)).with(ev(
                t.frame,
                format!(
                    "{} after the session ran: the server ended the session (logoff or \
                     disconnect)",
                    t.describe()
                ),
            ))
        };
        if let Some(s) = f.soft_alert_from(sess.map(|m| m.frame).unwrap_or(0)) {
            if s.frame <= t.frame {
                v.evidence
                    .push(ev(s.frame, format!("{} (TLS close)", s.describe())));
            }
        }
        return v.with_all(sess_ev);
    }
    // Retransmissions at the end that nobody acknowledged: the path or host
    // went away.
    if let Some(v) = path_lost(tl, f, sess.as_ref()) {
        return v.with_all(sess_ev);
    }
    let mut v = Verdict::new(Outcome::Established, Ending::CaptureEnded, None);
    v.evidence.extend(sess_ev);
    v
}

/// Repeated retransmissions in one direction at the end of the capture
/// with nothing from the other side after them.
fn path_lost(tl: &Timeline, f: &Facts, since: Option<&Mark>) -> Option<Verdict> {
    let from = since.map(|m| m.frame).unwrap_or(0);
    for dir in [Dir::ToServer, Dir::ToClient] {
        let r: Vec<&Rtx> = f
            .rtx
            .iter()
            .filter(|r| r.dir == dir && r.frame >= from)
            .collect();
        if r.len() < 2 {
            continue;
        }
        let first = r[0];
        let last = r[r.len() - 1];
        let answered = tl
            .events
            .iter()
            .any(|e| e.dir == dir.reverse() && e.frame > first.frame);
        if answered {
            continue;
        }
        let other = party(dir.reverse()).name();
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: last.ts.since(first.ts),
                retransmissions: r.len() as u32,
            },
            Some(last.frame),
            CauseId::PathLost,
            if r.len() >= 3 {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            format!(
                "The {} stopped acknowledging: {} retransmissions from the {} over {} got no \
                 answer (host down or path broken).",
                other,
                r.len(),
                dir.sender(),
                last.ts.since(first.ts)
            ),
        );
        v.evidence.push(ev(
            first.frame,
            format!(
                "first retransmission from {} ({} bytes at offset {})",
                dir.sender(),
                first.len,
                first.offset
            ),
        ));
        v.evidence.push(ev(
            last.frame,
            format!(
                "retransmission {} of {}, {} after the first; nothing from the {} since",
                r.len(),
                r.len(),
                last.ts.since(first.ts),
                other
            ),
        ));
        return Some(v);
    }
    None
}

// ------------------------------------------------ path-level signatures ----

fn middlebox_reset(tl: &Timeline, lad: &Ladder, t: &Term, usual: u8, n: u64) -> Verdict {
    let TermKind::Rst { ttl, ip_id } = t.kind else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let at = match lad.next {
        Some(s) if s.phase() == super::Phase::Tls => {
            "during the TLS handshake: an IPS or TLS-inspecting firewall"
        }
        Some(Step::ConnectionConfirm) => {
            "right after the RDP request: a firewall or IPS inspecting RDP"
        }
        None => "during the session: a firewall, IPS or load balancer",
        _ => "a firewall, IPS or load balancer",
    };
    let sender = t.dir.sender();
    let mut v = Verdict::failed(
        Ending::ResetBy(Party::Middlebox),
        Some(t.frame),
        CauseId::MiddleboxReset,
        if n >= 5 {
            Confidence::High
        } else {
            Confidence::Medium
        },
        format!(
            "A device on the path forged the reset, not the {sender}: its TTL {ttl} differs from \
             the {sender}'s usual {usual}; {at}."
        ),
    );
    let ipid = match (ip_id, tl.dir(t.dir).last_ip_id) {
        (Some(a), Some(b)) => format!(", IP ID 0x{a:04x} vs the {sender}'s last 0x{b:04x}"),
        _ => String::new(),
    };
    v.evidence.push(ev(
        t.frame,
        format!(
            "RST as if from {sender} with TTL {ttl}, while the {sender}'s other {n} packets have \
             TTL {usual}{ipid}{}",
            lad.last
                .map(|m| format!("; {}", after(t.ts, &m)))
                .unwrap_or_default()
        ),
    ));
    if let Some(m) = lad.last {
        v.evidence.push(mark_ev(&m, "last step completed"));
    }
    v
}

fn idle_timeout(tl: &Timeline, f: &Facts, term: Option<&Term>) -> Option<Verdict> {
    let (idle, idle_frame) = tl.max_idle?;
    if idle < IDLE {
        return None;
    }
    let resumed = tl.events.iter().find(|e| e.frame >= idle_frame)?;
    let start = Timestamp(resumed.ts.0.saturating_sub(idle.0));
    let ka: Vec<_> = f
        .keepalives
        .iter()
        .filter(|(fr, _, _)| *fr >= idle_frame)
        .collect();
    let rtx_after: Vec<&Rtx> = f.rtx.iter().filter(|r| r.frame >= idle_frame).collect();
    // What ended the silence: a reset (within a few seconds), or
    // retransmissions nobody answered.
    let rst =
        term.filter(|t| t.is_rst() && t.frame >= idle_frame && t.ts.since(resumed.ts) <= STALL);
    let mut v = if let Some(t) = rst {
        let forged_by = forged(tl, t);
        let (conf, who) = match forged_by {
            Some(_) => (Confidence::High, "a stateful firewall or load balancer on the path (the RST's TTL is not the sender's)"),
            None => (Confidence::Medium, "a stateful device on the path, or the peer, after"),
        };
        let mut v = Verdict::failed(
            ending_of(tl, t),
            Some(t.frame),
            CauseId::IdleTimeout,
            conf,
            format!(
                "The connection was silent for {idle}, then reset: {who} timed the idle \
                 connection out."
            ),
        );
        let extra = forged_by
            .map(|(u, _)| format!(" (usual TTL {u})"))
            .unwrap_or_default();
        v.evidence.push(ev(
            t.frame,
            format!("{}{} after {} of silence", t.describe(), extra, idle),
        ));
        v
    } else if rtx_after.len() >= 2 {
        let last = rtx_after[rtx_after.len() - 1];
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: last.ts.since(resumed.ts),
                retransmissions: rtx_after.len() as u32,
            },
            Some(last.frame),
            CauseId::IdleTimeout,
            Confidence::Medium,
            format!(
                "The connection was silent for {idle}; the next data was retransmitted {} times \
                 without answer: a stateful device dropped the idle connection (or the path \
                 broke).",
                rtx_after.len()
            ),
        );
        v.evidence.push(ev(
            last.frame,
            format!(
                "{} retransmissions from {} after the silence, none answered",
                rtx_after.len(),
                last.dir.sender()
            ),
        ));
        v
    } else {
        return None;
    };
    v.evidence.push(ev(
        idle_frame,
        format!(
            "first packet after {} of silence (since {})",
            idle,
            date(start)
        ),
    ));
    if !ka.is_empty() {
        v.evidence.push(ev(
            ka[0].0,
            format!("{} TCP keep-alive(s) after the silence", ka.len()),
        ));
    }
    Some(v)
}

fn zero_window(
    tl: &Timeline,
    f: &Facts,
    stop: Option<&Mark>,
    term: Option<&Term>,
) -> Option<Verdict> {
    let from = stop.map(|m| m.frame).unwrap_or(0);
    let (dir, frame, start, end) = f.zero_windows.iter().find(|(_, fr, s, e)| {
        let held = e.unwrap_or(tl.capture_end).since(*s);
        held >= ZERO_WINDOW && (e.is_none() || *fr >= from)
    })?;
    let held = end.unwrap_or(tl.capture_end).since(*start);
    let who = dir.sender();
    let (ending, ef) = match term {
        Some(t) => (ending_of(tl, t), Some(t.frame)),
        None => (
            Ending::Timeout {
                waited: held,
                retransmissions: 0,
            },
            None,
        ),
    };
    let mut v = Verdict::failed(
        ending,
        ef,
        CauseId::ZeroWindowStall,
        if end.is_none() {
            Confidence::High
        } else {
            Confidence::Medium
        },
        format!(
            "The {who} stopped reading: its receive window stayed at zero for {held}{}.",
            if *dir == Dir::ToClient {
                " (the session host is hung or overloaded)"
            } else {
                ""
            }
        ),
    );
    v.evidence.push(ev(
        *frame,
        format!(
            "zero window from {who}, held for {held}{}",
            if end.is_none() { " until the end" } else { "" }
        ),
    ));
    let probes = tl
        .tcp_events()
        .filter(|(e, k)| {
            e.frame >= *frame
                && matches!(k, crate::flow::TcpEventKind::ZeroWindowProbe)
                && e.dir == dir.reverse()
        })
        .count();
    if probes > 0 {
        v.evidence.push(ev(
            *frame,
            format!(
                "{probes} zero-window probe(s) from the {}",
                dir.reverse().sender()
            ),
        ));
    }
    if let Some(t) = term {
        v.evidence.push(term_ev(t, None));
    }
    Some(v)
}

/// Full-size segments retransmitted and never acknowledged while small
/// ones pass, during the handshake: a path-MTU black hole.
fn mtu_black_hole(tl: &Timeline, lad: &Ladder, f: &Facts, term: Option<&Term>) -> Option<Verdict> {
    let from = lad.last.map(|m| m.frame).unwrap_or(0);
    let frag_needed = f.terms.iter().find_map(|t| match &t.kind {
        TermKind::Icmp(i)
            if (!i.v6 && i.icmp_type == 3 && i.code == 4) || (i.v6 && i.icmp_type == 2) =>
        {
            Some((t.frame, *i))
        }
        _ => None,
    });
    for dir in [Dir::ToClient, Dir::ToServer] {
        let rx = tl.dir(dir.reverse());
        let tx = tl.dir(dir);
        let cap = rx
            .mss
            .map(u32::from)
            .filter(|m| *m > 0)
            .unwrap_or(tx.max_segment);
        let big = if cap >= 536 { cap * 9 / 10 } else { 1200 };
        let r: Vec<&Rtx> = f
            .rtx
            .iter()
            .filter(|r| r.dir == dir && r.frame >= from && r.len >= big)
            .collect();
        // A receiver-side capture shows the small segments after the lost
        // big one arriving out of order, and duplicate ACKs.
        let ooo = f
            .out_of_order
            .iter()
            .filter(|(fr, _, d, _)| *d == dir && *fr >= from)
            .count();
        let dup = f
            .dupacks
            .iter()
            .filter(|(fr, _, d)| *d == dir.reverse() && *fr >= from)
            .count();
        let shape = r.len() >= 2 || (ooo >= 1 && dup >= 2 && !r.is_empty());
        if !shape && !(frag_needed.is_some() && (!r.is_empty() || ooo >= 1)) {
            continue;
        }
        let conf = if frag_needed.is_some() || r.len() >= 3 {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let (ending, ef) = match term {
            Some(t) if !matches!(t.kind, TermKind::Icmp(_)) => (ending_of(tl, t), Some(t.frame)),
            _ => {
                let last = r.last().map(|x| (x.ts, x.frame));
                (
                    Ending::Timeout {
                        waited: last
                            .map(|(ts, _)| ts.since(lad.last.map(|m| m.ts).unwrap_or(tl.first_ts)))
                            .unwrap_or_default(),
                        retransmissions: r.len() as u32,
                    },
                    last.map(|(_, fr)| fr),
                )
            }
        };
        let who = dir.sender();
        let mut v = Verdict::failed(
            ending,
            ef,
            CauseId::MtuBlackHole,
            conf,
            format!(
                "Full-size segments from the {who} ({} bytes and more) were retransmitted and never \
                 acknowledged while small packets passed: a path-MTU black hole{}.",
                big,
                frag_needed
                    .and_then(|(_, i)| i.mtu)
                    .map(|m| format!(" (a router reports a next-hop MTU of {m})"))
                    .unwrap_or_default()
            ),
        );
        for x in r.iter().take(4) {
            v.evidence.push(ev(
                x.frame,
                format!(
                    "retransmission from {who} of {} bytes at offset {} (MSS {})",
                    x.len,
                    x.offset,
                    rx.mss.map(|m| m.to_string()).unwrap_or("unknown".into())
                ),
            ));
        }
        if ooo > 0 {
            if let Some((fr, _, _, len)) = f
                .out_of_order
                .iter()
                .find(|(fr, _, d, _)| *d == dir && *fr >= from)
            {
                v.evidence.push(ev(
                    *fr,
                    format!("small segment ({len} bytes) from {who} arrived past the hole"),
                ));
            }
        }
        if let Some((fr, i)) = frag_needed {
            v.evidence.push(ev(
                fr,
                format!(
                    "ICMP {}{}",
                    i.describe(),
                    i.mtu
                        .map(|m| format!(", next-hop MTU {m}"))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(m) = lad.last {
            v.evidence.push(mark_ev(&m, "last step completed"));
        }
        return Some(v);
    }
    None
}

// ------------------------------------------------------- step by step ----

/// Nothing of the ladder was seen (capture started late and nothing could
/// be decoded): only path-level signatures could have told more.
fn nothing_placed(tl: &Timeline, f: &Facts, term: Option<&Term>) -> Verdict {
    let both = tl.dir(Dir::ToServer).payload_bytes > 0 && tl.dir(Dir::ToClient).payload_bytes > 0;
    match term.filter(|t| t.is_close()) {
        Some(t) if both && t.dir == Dir::ToServer => {
            Verdict::benign(Benign::SessionEnd, ending_of(tl, t), Some(t.frame)).with(ev(
                t.frame,
                format!("{} after data flowed both ways", t.describe()),
            ))
        }
        Some(t) => Verdict::incomplete(ending_of(tl, t), Some(t.frame)).with(term_ev(t, None)),
        None => {
            if let Some(v) = path_lost(tl, f, None) {
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

fn step_rules(tl: &Timeline, lad: &Ladder, f: &Facts, term: Option<&Term>) -> Verdict {
    let Some(stop) = lad.last else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let Some(next) = lad.next else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let servers_turn = next.sender() == Party::Server;
    let Some(t) = term.filter(|t| t.is_close()) else {
        return stalled(tl, lad, f, &stop, next);
    };
    let waited = t.ts.since(stop.ts);
    let by_server = t.dir == Dir::ToClient;
    let end = ending_of(tl, t);
    let tev = term_ev(t, Some(&stop));
    let stop_ev = mark_ev(&stop, "");

    use Step::*;
    match next {
        ConnectionRequest => {
            if !by_server && tl.dir(Dir::ToServer).payload_bytes == 0 {
                return Verdict::benign(Benign::HealthCheck, end, Some(t.frame))
                    .with(stop_ev)
                    .with(ev(
                        t.frame,
                        format!(
                            "{} {}; no data either way: a load-balancer health check or port probe",
                            t.describe(),
                            after(t.ts, &stop)
                        ),
                    ));
            }
            if by_server && waited <= Duration::from_secs(2) {
                return Verdict::failed(
                    end,
                    Some(t.frame),
                    CauseId::ListenerRefused,
                    Confidence::Medium,
                    "The server dropped the connection before the client sent its request: a \
                     connection limit or an address filter on the listener."
                        .into(),
                )
                .with(stop_ev)
                .with(tev);
            }
        }
        ConnectionConfirm if by_server => {
            let cr = tl.connection_request().map(|(_, r)| r.clone());
            let mut v = Verdict::failed(
                end,
                Some(t.frame),
                CauseId::ListenerRefused,
                if waited <= PROMPT {
                    Confidence::High
                } else {
                    Confidence::Medium
                },
                "The listener refused the connection right after the Connection Request: \
                     something other than RDP listens on the port, a connection limit, or a load \
                     balancer / Connection Broker that cannot route the cookie."
                    .into(),
            );
            v.evidence.push(ev(
                stop.frame,
                format!(
                    "X.224 Connection Request from client offering {}{}",
                    offered_text(tl),
                    cr.as_ref()
                        .and_then(|r| r.cookie.as_ref())
                        .map(|c| format!(", mstshash={c}"))
                        .or_else(|| cr
                            .as_ref()
                            .and_then(|r| r.routing_token.as_ref())
                            .map(|c| format!(", routing token {c}")))
                        .unwrap_or_default()
                ),
            ));
            v.evidence.push(ev(
                t.frame,
                format!(
                    "{} {}, no Connection Confirm",
                    t.describe(),
                    after(t.ts, &stop)
                ),
            ));
            return v;
        }
        ServerHello if by_server => return server_closed_after_hello(tl, &stop, t),
        ClientKeyExchange if !by_server => return client_left_after_cert(tl, &stop, t, false),
        ClientFinished if !by_server && lad.tls13 => {
            return client_left_after_cert(tl, &stop, t, false)
        }
        ClientHello if !by_server => {
            return Verdict::failed(
                end,
                Some(t.frame),
                CauseId::ClientAborted,
                Confidence::Medium,
                format!(
                    "The client closed instead of starting TLS: it does not accept what the \
                     server chose ({}).",
                    super::negotiation(tl).unwrap_or_default()
                ),
            )
            .with(stop_ev)
            .with(tev);
        }
        CredsspNegotiate if !by_server => {
            let mut v = client_left_after_cert(tl, &stop, t, true);
            if v.cause
                .as_ref()
                .is_some_and(|c| c.id == CauseId::ClientAborted)
            {
                v.cause = Some(cause(
                    CauseId::ClientAborted,
                    Confidence::Medium,
                    "The client closed after the TLS handshake without starting NLA: it \
                     rejected the certificate or the user cancelled."
                        .into(),
                ));
            }
            return v;
        }
        CredsspChallenge if by_server => {
            return Verdict::failed(
                end,
                Some(t.frame),
                CauseId::ServerClosed,
                Confidence::Medium,
                "The server ended NLA at the client's first CredSSP message: no authentication \
                 package in common (NTLM disabled) or a CredSSP version mismatch."
                    .into(),
            )
            .with_all(leg_ev(tl))
            .with(tev);
        }
        CredsspServerPubKeyAuth if by_server => {
            let server_error = tl
                .credssp_legs()
                .any(|(_, l)| l == crate::proto::credssp::CredsspLeg::ServerError);
            return Verdict::failed(
                end,
                Some(t.frame),
                CauseId::CredentialsRejected,
                if server_error || waited <= STALL {
                    Confidence::High
                } else {
                    Confidence::Medium
                },
                "The server rejected the credentials during NLA: wrong password, expired or \
                 must-change password, locked or disabled account, no right to log on remotely, \
                 or a CredSSP version mismatch."
                    .into(),
            )
            .with_all(leg_ev(tl))
            .with(ev(
                t.frame,
                format!(
                    "{} {}, no pubKeyAuth back",
                    t.describe(),
                    after(t.ts, &stop)
                ),
            ));
        }
        CredsspCredentials if !by_server => {
            let soft = f.soft_alert_from(stop.frame).filter(|s| s.frame <= t.frame);
            if !t.is_rst() && waited <= Duration::from_secs(2) {
                let mut v = Verdict::benign(Benign::CredentialPrecheck, end, Some(t.frame))
                    .with_all(leg_ev(tl))
                    .with(ev(
                        t.frame,
                        format!(
                            "{} {} without sending credentials: the client's NLA credential \
                             pre-check",
                            t.describe(),
                            after(t.ts, &stop)
                        ),
                    ));
                if let Some(s) = soft {
                    v.evidence.push(ev(s.frame, s.describe()));
                }
                return v;
            }
            return Verdict::failed(
                end,
                Some(t.frame),
                CauseId::PubKeyAuthRejected,
                Confidence::Medium,
                "The client closed after the server's pubKeyAuth without sending credentials: \
                 it could not verify the server's public-key binding (TLS interception or a \
                 certificate swap)."
                    .into(),
            )
            .with_all(leg_ev(tl))
            .with(tev);
        }
        EarlyUserAuthResult if by_server => {
            return Verdict::failed(
                end,
                Some(t.frame),
                CauseId::AccessDenied,
                Confidence::Medium,
                "The server closed after receiving the credentials, before its authorization \
                 result: the logon with those credentials was refused."
                    .into(),
            )
            .with_all(leg_ev(tl))
            .with(tev);
        }
        McsConnectInitial => {
            if matches!(lad.security, Security::Nla { .. }) {
                let ex = stop.step == EarlyUserAuthResult;
                return Verdict::failed(
                    end,
                    Some(t.frame),
                    CauseId::AccessDenied,
                    if ex && waited <= STALL {
                        Confidence::High
                    } else {
                        Confidence::Medium
                    },
                    if ex {
                        "Authentication succeeded but the user is not authorised to log on to \
                         this host: the Early User Authorization Result was followed by the end \
                         of the connection (access denied)."
                            .into()
                    } else {
                        "NLA completed, then the connection ended before RDP started: the user \
                         may not log on to this host, or the server refused the session."
                            .into()
                    },
                )
                .with_all(leg_ev(tl))
                .with(tev);
            }
        }
        _ => {}
    }

    // Generic reading: whose turn it was and who ended the connection.
    let phase_rdp = next.phase() == super::Phase::Rdp || next == SessionData;
    let (id, conf, summary) = if by_server && servers_turn && phase_rdp {
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
    } else if by_server {
        (
            if t.is_rst() {
                CauseId::ServerReset
            } else {
                CauseId::ServerClosed
            },
            Confidence::Medium,
            format!(
                "The server ended the connection {} after {}, before {}.",
                waited,
                stop.step.label(),
                next.label()
            ),
        )
    } else if servers_turn && waited >= GAVE_UP {
        let rtx = f
            .rtx
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
            unresponsive(tl, f, &stop, next, waited, true)
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
                "The client ended the connection {} after {}, before {}.",
                waited,
                stop.step.label(),
                next.label()
            ),
        )
    };
    let mut v = Verdict::failed(end, Some(t.frame), id, conf, summary)
        .with(stop_ev)
        .with(tev);
    if matches!(next.phase(), super::Phase::Credssp) {
        v.evidence.extend(leg_ev(tl));
    }
    v.evidence.extend(keepalive_ev(tl, f, &stop));
    v
}

/// The server's TCP stack is alive but its RDP service does not answer.
fn unresponsive(
    tl: &Timeline,
    f: &Facts,
    stop: &Mark,
    next: Step,
    waited: Duration,
    client_gave_up: bool,
) -> (CauseId, Confidence, String) {
    let alive = server_alive(tl, f, stop);
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
        if alive {
            Confidence::High
        } else {
            Confidence::Medium
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
fn server_alive(tl: &Timeline, f: &Facts, stop: &Mark) -> bool {
    let ka = f
        .keepalives
        .iter()
        .any(|(fr, _, d)| *d == Dir::ToServer && *fr >= stop.frame);
    let server_packets = tl.dir(Dir::ToClient).packets;
    ka || server_packets as usize > f.synacks.len() + 1
}

fn keepalive_ev(tl: &Timeline, f: &Facts, stop: &Mark) -> Vec<Evidence> {
    let ka: Vec<&(u64, Timestamp, Dir)> = f
        .keepalives
        .iter()
        .filter(|(fr, _, _)| *fr >= stop.frame)
        .collect();
    let mut out = Vec::new();
    if let Some(first) = ka.first() {
        out.push(ev(
            first.0,
            format!(
                "{} TCP keep-alive(s) while waiting (frames {}); the server's TCP stack sent {} \
                 packets in all",
                ka.len(),
                ka.iter()
                    .map(|k| k.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                tl.dir(Dir::ToClient).packets
            ),
        ));
    }
    out
}

/// No packet ended the connection after the last step.
fn stalled(tl: &Timeline, lad: &Ladder, f: &Facts, stop: &Mark, next: Step) -> Verdict {
    let waited = tl.capture_end.since(stop.ts);
    let stop_ev = mark_ev(stop, "");
    if let Some(s) = f.soft_alert_from(stop.frame) {
        // An encrypted alert with no FIN/RST after it.
        return Verdict::failed(
            ending_of(tl, s),
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
            format!(
                "{} is the last step; the capture ends {} later",
                stop.step.label(),
                waited
            ),
        ));
    }
    if let Some(v) = path_lost(tl, f, Some(stop)) {
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
                unresponsive(tl, f, stop, next, waited, false)
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
        .with_all(keepalive_ev(tl, f, stop))
        .with(ev(
            stop.frame,
            format!(
                "nothing from the {} in the {} that followed",
                next.sender().name(),
                waited
            ),
        ))
}

pub fn lower_confidence(c: &mut Cause) {
    c.confidence = lower(c.confidence);
}
