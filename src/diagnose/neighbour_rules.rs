//! The causes an attempt's neighbours show, strongest evidence first: a
//! KDC's KRB-ERROR (explicit), a KDC that never answered repeated
//! requests (silence), a failed or mismatched DNS look-up, and RDP-UDP
//! SYNs nobody answered (informational). The caps of the evidence model
//! apply as for the TCP verdicts (`docs/verdicts.md`).

use super::gateway::{GatewayPart, GatewayStep};
use super::neighbours::{CrossAttempt, KrbExchange, Lookup, LookupResult, Part, TcpPart, Tie};
use super::neighbours::{SideClue, SideEvidence};
use super::{remediation, CauseId, Certainty, Confidence, Grounds, Outcome, Phase};
use crate::proto::neighbour::KrbErrorCode;

/// KRB-ERROR codes (RFC 4120 7.5.9) and the cause each names. A code not
/// here (KDC_ERR_PREAUTH_REQUIRED: the normal first answer to an AS-REQ
/// without pre-authentication) is shown as a part, not as a cause.
const KRB_CAUSES: &[(KrbErrorCode, CauseId)] = &[
    (
        KrbErrorCode::S_PRINCIPAL_UNKNOWN,
        CauseId::KerberosSpnUnknown,
    ),
    (KrbErrorCode::AP_ERR_SKEW, CauseId::KerberosClockSkew),
    (KrbErrorCode::PREAUTH_FAILED, CauseId::KerberosPasswordWrong),
    (
        KrbErrorCode::CLIENT_REVOKED,
        CauseId::KerberosAccountRevoked,
    ),
    (KrbErrorCode::KEY_EXPIRED, CauseId::KerberosPasswordExpired),
    (
        KrbErrorCode::ETYPE_NOSUPP,
        CauseId::KerberosEtypeUnsupported,
    ),
];

/// How the attempt's TCP connections ended, as far as a neighbour's
/// cause is concerned.
enum Tcp<'a> {
    /// No TCP connection: the neighbours are all there is.
    None,
    /// The last connection reached the session or was benign: a
    /// neighbour's error was recovered from (NTLM after Kerberos, another
    /// address) and is no cause.
    Fine,
    /// The last connection failed or is incomplete.
    NotFine(&'a TcpPart),
}

fn tcp(a: &CrossAttempt) -> Tcp<'_> {
    let last = a.parts.iter().rev().find_map(|p| match p {
        Part::Tcp(t) => Some(t),
        _ => None,
    });
    match last {
        None => Tcp::None,
        Some(t) if matches!(t.outcome, Outcome::Established | Outcome::Benign) => Tcp::Fine,
        Some(t) => Tcp::NotFine(t),
    }
}

/// The cause of an attempt from its neighbours, if they show one.
pub fn decide(a: &CrossAttempt) -> Option<super::neighbours::SideCause> {
    let rules: &[fn(&CrossAttempt) -> Option<Found>] = &[
        gateway_failed,
        krb_error,
        kdc_unreachable,
        redirect_failed,
        dns_failed,
        dns_mismatch,
        udp_blocked,
    ];
    let f = rules.iter().find_map(|r| r(a))?;
    Some(f.into_cause(a))
}

/// What a rule found, before the caps.
struct Found {
    id: CauseId,
    confidence: Confidence,
    basis: Certainty,
    grounds: Grounds,
    summary: String,
    evidence: Vec<SideEvidence>,
    /// Time of the neighbour's decisive frame, for the relation to TCP.
    at: crate::common::Timestamp,
    what: String,
}

impl Found {
    fn into_cause(self, a: &CrossAttempt) -> super::neighbours::SideCause {
        let mut confidence = self.confidence;
        if self.basis == Certainty::Inferred {
            confidence = confidence.min(Confidence::Low);
        }
        if self.grounds == Grounds::Silence {
            confidence = confidence.min(Confidence::Medium);
        }
        let relation = match tcp(a) {
            Tcp::NotFine(t) => Some(relation(t, self.at, &self.what)),
            Tcp::Fine => a.parts.iter().rev().find_map(|p| match p {
                Part::Tcp(t) => Some(format!(
                    "the TCP connection (tcp.stream {}) was {} regardless: the client went on \
                     without it (NLA without Kerberos)",
                    t.stream,
                    t.outcome.name()
                )),
                _ => None,
            }),
            Tcp::None => None,
        };
        super::neighbours::SideCause {
            id: self.id,
            confidence,
            basis: self.basis,
            grounds: self.grounds,
            summary: self.summary,
            remediation: remediation(self.id).to_string(),
            evidence: self.evidence,
            relation,
        }
    }
}

/// "the TCP connection (tcp.stream 3) failed in credssp; the KDC answered
/// KRB_AP_ERR_SKEW 40.0 ms before its end".
fn relation(t: &TcpPart, at: crate::common::Timestamp, what: &str) -> String {
    let verb = match t.outcome {
        Outcome::Failed => format!("failed in {}", t.phase.name()),
        o => o.name().to_string(),
    };
    let d = t.last_ts.since(at);
    let when = if d.0 >= 0 {
        format!("{d} before its end")
    } else {
        format!("{} after its end", crate::common::Duration(-d.0))
    };
    format!(
        "the TCP connection (tcp.stream {}) {verb}; {what} {when}",
        t.stream
    )
}

/// How sure a neighbour's error makes the attempt's cause. The error is
/// seen; that it is why the attempt failed is read from the order of
/// things, since NLA is encrypted: medium when the TCP connection failed
/// in NLA (where Kerberos is used) after it, or when there is no TCP
/// connection and the request was for a Remote Desktop server; low when
/// nothing says the request was for Remote Desktop, when the connection's
/// verdict is incomplete, or when the connection went on regardless
/// (NLA without Kerberos: the error is worth fixing, it stopped nothing);
/// none when the TCP connection failed elsewhere, for a cause of its own.
fn krb_confidence(a: &CrossAttempt) -> Option<Confidence> {
    let for_rdp = exchanges(a).any(|k| k.request.rdp_service_host().is_some());
    match tcp(a) {
        Tcp::None if for_rdp => Some(Confidence::Medium),
        Tcp::None | Tcp::Fine => Some(Confidence::Low),
        Tcp::NotFine(t) if t.outcome == Outcome::Failed && t.phase == Phase::Credssp => {
            Some(Confidence::Medium)
        }
        Tcp::NotFine(t) if t.outcome == Outcome::Failed => None,
        Tcp::NotFine(_) => Some(Confidence::Low),
    }
}

fn exchanges(a: &CrossAttempt) -> impl Iterator<Item = &KrbExchange> {
    a.parts.iter().filter_map(|p| match p {
        Part::Kerberos(k) => Some(k.as_ref()),
        _ => None,
    })
}

fn lookups(a: &CrossAttempt) -> impl Iterator<Item = &Lookup> {
    a.parts.iter().filter_map(|p| match p {
        Part::Dns(l) => Some(l),
        _ => None,
    })
}

/// A KRB-ERROR the attempt did not recover from: no later reply without
/// error for the same kind of request and service.
fn krb_error(a: &CrossAttempt) -> Option<Found> {
    let confidence = krb_confidence(a)?;
    let ex: Vec<&KrbExchange> = exchanges(a).collect();
    ex.iter().enumerate().find_map(|(i, k)| {
        let code = k.error()?;
        let id = KRB_CAUSES.iter().find(|(c, _)| *c == code)?.1;
        let recovered = ex[i + 1..].iter().any(|l| {
            l.reply.as_ref().is_some_and(|r| r.2.error.is_none())
                && l.request.kind == k.request.kind
                && l.request.service == k.request.service
        });
        if recovered {
            return None;
        }
        let (frame, ts, reply) = k.reply.as_ref()?;
        let mut summary = format!(
            "The KDC {} answered {} with {code}",
            k.kdc.ip(),
            k.request.kind
        );
        if let Some(s) = &k.request.service {
            summary.push_str(&format!(" for {s}"));
        }
        if let Some(c) = &k.request.client {
            summary.push_str(&format!(" (client {c})"));
        }
        summary.push('.');
        if code == KrbErrorCode::AP_ERR_SKEW {
            summary.push_str(&skew_text(reply, *ts));
        }
        Some(Found {
            id,
            confidence,
            basis: Certainty::Seen,
            grounds: Grounds::Explicit,
            summary,
            evidence: vec![
                SideEvidence::new(
                    k.request_frames[0],
                    SideClue::KrbRequest {
                        kind: k.request.kind,
                        kdc: k.kdc,
                    },
                ),
                SideEvidence::new(*frame, SideClue::KrbError { code }),
            ],
            at: *ts,
            what: format!("the KDC answered {code}"),
        })
    })
}

/// The clock difference a KRB_AP_ERR_SKEW shows: the client's time the
/// KDC echoes (ctime), or else the capture's own clock at the error's
/// frame, against the KDC's (stime, RFC 4120 5.9.1).
fn skew_text(m: &crate::proto::neighbour::KrbMessage, ts: crate::common::Timestamp) -> String {
    let Some(stime) = m.server_time else {
        return String::new();
    };
    let (whose, t) = match m.client_time {
        Some(c) => ("the client's clock (as the KDC echoes it)", c),
        None => ("the capture's clock", ts.secs()),
    };
    let d = t - stime;
    // Without the client's own time, a capture whose clock agrees with
    // the KDC's (within the 5-minute tolerance, RFC 4120 1.6 leaves it to
    // policy; MIT and Windows default to 300 s) says nothing of the
    // client program's clock.
    if m.client_time.is_none() && d.abs() < 300 {
        return String::new();
    }
    let dir = if d >= 0 { "ahead of" } else { "behind" };
    format!(
        " {whose} is {} min {} s {dir} the KDC's.",
        d.abs() / 60,
        d.abs() % 60
    )
}

/// Requests to a KDC repeated without any answer: the client waited its
/// own timeout (RFC 4120 7.2.1: a client retries on timeout) and no KDC
/// answered anything in the attempt.
fn kdc_unreachable(a: &CrossAttempt) -> Option<Found> {
    let confidence = krb_confidence(a)?;
    if exchanges(a).any(|k| k.reply.is_some()) {
        return None;
    }
    let k = exchanges(a).find(|k| k.request_frames.len() >= 2)?;
    let last = *k.request_frames.last()?;
    Some(Found {
        id: CauseId::KerberosKdcUnreachable,
        confidence,
        basis: Certainty::Seen,
        grounds: Grounds::Silence,
        summary: format!(
            "{} Kerberos {} requests to {} went unanswered: no KDC was reachable.",
            k.request_frames.len(),
            k.request.kind,
            k.kdc
        ),
        evidence: vec![
            SideEvidence::new(
                k.request_frames[0],
                SideClue::KrbRequest {
                    kind: k.request.kind,
                    kdc: k.kdc,
                },
            ),
            SideEvidence::new(
                last,
                SideClue::KrbRepeated {
                    times: k.request_frames.len(),
                },
            ),
        ],
        at: k.first_ts,
        what: "the KDC did not answer".into(),
    })
}

/// The routing token format a broker issues: MSFT-SDLBTS's "Cookie:
/// msts=" and the target's address and port. A client holds one only because a
/// Server Redirection PDU gave it (its LoadBalanceInfo, [MS-RDPBCGR]
/// 2.2.13.1); the `tsv://` collection name of an .rdp file goes to the
/// broker itself and is not a `Cookie:` line.
const BROKER_TOKEN: &str = "Cookie: msts=";

/// The redirected leg of the attempt (its X.224 Connection Request
/// carries a routing token or offers RDSTLS) failed. How sure: seen and
/// high when the first connection's decrypted Server Redirection PDU
/// names the leg's server; implied and medium when the token is one a
/// broker issues (the PDU itself is encrypted); inferred (low) for any
/// other token or RDSTLS alone. Never above the confidence of the leg's
/// own verdict, whose failure it rests on.
fn redirect_failed(a: &CrossAttempt) -> Option<Found> {
    let (first, leg) = a.redirected_leg()?;
    if leg.outcome != Outcome::Failed {
        return None;
    }
    let target = leg.server.ip().to_string();
    let names_leg = |t: &str| t == target || a.names.iter().any(|n| n.eq_ignore_ascii_case(t));
    let pdu = first.redirection.as_ref();
    let token = leg.routing_token.as_ref();
    let (basis, mut confidence) = match pdu {
        Some((_, Some(t))) if names_leg(t) => (Certainty::Seen, Confidence::High),
        _ if token.is_some_and(|(_, t)| t.starts_with(BROKER_TOKEN)) => {
            (Certainty::Implied, Confidence::Medium)
        }
        _ => (Certainty::Inferred, Confidence::Low),
    };
    if let Some(c) = leg.confidence {
        confidence = confidence.min(c);
    }
    let mut evidence = vec![SideEvidence::new(
        first.last_frame,
        SideClue::FirstServer {
            server: first.server,
            stream: first.stream,
        },
    )];
    if let Some((frame, target)) = pdu {
        evidence.push(SideEvidence::new(
            *frame,
            SideClue::Redirection {
                target: target.clone(),
            },
        ));
    }
    match (token, leg.rdstls_offered) {
        (Some((frame, token)), _) => evidence.push(SideEvidence::new(
            *frame,
            SideClue::RoutingToken {
                server: leg.server,
                token: token.clone(),
            },
        )),
        (None, Some(frame)) => evidence.push(SideEvidence::new(
            frame,
            SideClue::RdstlsOffered { server: leg.server },
        )),
        (None, None) => return None,
    }
    evidence.push(SideEvidence::new(
        leg.last_frame,
        SideClue::LegFailed {
            stream: leg.stream,
            phase: leg.phase,
            cause: leg.cause,
        },
    ));
    let why = leg
        .cause
        .map(|c| format!(" ({})", c.id()))
        .unwrap_or_default();
    Some(Found {
        id: CauseId::RedirectFailed,
        confidence,
        basis,
        grounds: Grounds::Explicit,
        summary: format!(
            "After its connection to {} (tcp.stream {}), the client connected to {} as a \
             redirected client does: the redirected connection (tcp.stream {}) failed in {}{why}.",
            first.server,
            first.stream,
            leg.server,
            leg.stream,
            leg.phase.name()
        ),
        evidence,
        at: first.last_ts,
        what: format!("the connection to {} ended", first.server.ip()),
    })
}

/// The attempt's connection to the RD Gateway failed, or the gateway's
/// name did not resolve. How sure, by what the capture shows: an HTTP
/// error status (decrypted) or a RST answering the SYN states it (seen,
/// explicit); SYNs nobody answered are a silence (at most medium); a
/// completed TLS handshake after which the client closed without a
/// request is inferred (low): an untrusted certificate is the usual
/// reason, but the client's policy, a cancelled prompt or the server
/// closing first give the same packets. The NXDOMAIN of the name the user
/// gave for the gateway is explicit.
fn gateway_failed(a: &CrossAttempt) -> Option<Found> {
    use super::gateway::GatewayFailure as F;
    a.gateway.as_ref()?;
    let gw = a.parts.iter().rev().find_map(|p| match p {
        Part::Gateway(g) => Some(g),
        _ => None,
    });
    let Some(g) = gw else {
        return gateway_name_not_found(a);
    };
    let failure = g.failure()?;
    let (basis, grounds, evidence, summary, at) = match failure {
        F::HttpStatus(status) => gateway_http(g, status),
        F::Refused => (
            Certainty::Seen,
            Grounds::Explicit,
            gateway_syns(g)
                .chain([gateway_step(g, g.refused, GatewayStep::Refused)])
                .collect(),
            format!(
                "The RD Gateway {} refused the connection: a RST answered the SYN (nothing \
                 listens on the port, or a firewall rejects it).",
                g.server
            ),
            g.first_ts,
        ),
        F::Unanswered => (
            Certainty::Implied,
            Grounds::Silence,
            gateway_syns(g).collect(),
            format!(
                "The RD Gateway {} never answered: {} SYN, no SYN+ACK or RST (the gateway is \
                 down or the path to it drops the packets).",
                g.server,
                g.syns.len()
            ),
            g.first_ts,
        ),
        F::ClosedAfterHandshake => gateway_closed_after_handshake(g),
        F::NameNotFound => return None,
    };
    Some(Found {
        id: CauseId::GatewayFailed,
        confidence: Confidence::High,
        basis,
        grounds,
        summary,
        evidence: evidence.into_iter().flatten().collect(),
        at,
        what: format!("the gateway connection failed ({failure})"),
    })
}

/// What a gateway rule found: basis, grounds, evidence (steps the
/// connection may lack are None), summary and the decisive time.
type GatewayFound = (
    Certainty,
    Grounds,
    Vec<Option<SideEvidence>>,
    String,
    crate::common::Timestamp,
);

/// One frame of the gateway connection, as evidence.
fn gateway_step(g: &GatewayPart, frame: Option<u64>, step: GatewayStep) -> Option<SideEvidence> {
    frame.map(|f| {
        SideEvidence::new(
            f,
            SideClue::Gateway {
                step,
                server: g.server,
            },
        )
    })
}

fn gateway_syns(g: &GatewayPart) -> impl Iterator<Item = Option<SideEvidence>> + '_ {
    g.syns
        .iter()
        .map(|&f| gateway_step(g, Some(f), GatewayStep::Syn))
}

/// The gateway answered the request with an HTTP error status (seen,
/// decrypted).
fn gateway_http(g: &GatewayPart, status: u16) -> GatewayFound {
    let meaning = match status {
        401 => "authentication to the gateway failed",
        // FreeRDP reads 403, 404 and 410 to RDG_OUT_DATA as a gateway
        // without the HTTP transport and falls back to RPC over HTTP
        // (libfreerdp/core/gateway/rdg.c).
        403 => {
            "the gateway does not authorise this user or target (its RD CAP or RD RAP), or it \
             does not offer this transport"
        }
        404 => "the path is not an RD Gateway's, or it does not offer this transport",
        s if s >= 500 => "the gateway failed",
        _ => "the gateway refused the request",
    };
    let reason = g.response.as_ref().map_or("", |(_, _, r)| r.as_str());
    let req = g
        .request
        .as_ref()
        .map_or_else(|| "the request".to_string(), |(_, m, p)| format!("{m} {p}"));
    let evidence = vec![
        g.request.as_ref().map(|(f, m, p)| {
            SideEvidence::new(
                *f,
                SideClue::HttpRequest {
                    method: m.clone(),
                    path: p.clone(),
                },
            )
        }),
        g.response.as_ref().map(|(f, s, r)| {
            SideEvidence::new(
                *f,
                SideClue::HttpStatus {
                    status: *s,
                    reason: r.clone(),
                },
            )
        }),
    ];
    (
        Certainty::Seen,
        Grounds::Explicit,
        evidence,
        format!(
            "The RD Gateway {} answered {req} with HTTP {status} {reason}: {meaning}.",
            g.server
        ),
        g.last_ts,
    )
}

/// The TLS handshake completed and the client closed without a request:
/// why is inferred. When the gateway closed first, that is said and shown.
fn gateway_closed_after_handshake(g: &GatewayPart) -> GatewayFound {
    let server_first = g.server_close.is_some_and(|s| {
        g.client_close.map_or(true, |c| s < c) && g.client_alert.map_or(true, |c| s < c)
    });
    let mut evidence = vec![
        gateway_step(g, g.client_hello, GatewayStep::ClientHello),
        gateway_step(g, g.server_hello, GatewayStep::ServerHello),
        gateway_step(g, g.client_finished, GatewayStep::ClientFinished),
    ];
    let mut also = String::new();
    if let (true, Some(f)) = (server_first, g.server_close) {
        evidence.push(gateway_step(g, g.server_alert, GatewayStep::ServerAlert));
        evidence.push(gateway_step(g, Some(f), GatewayStep::ServerClose));
        also = format!(
            " The gateway had closed its side first (frame {f}), which can be the reason too."
        );
    }
    evidence.push(gateway_step(g, g.client_alert, GatewayStep::ClientAlert));
    evidence.push(gateway_step(g, g.client_close, GatewayStep::ClientClose));
    (
        Certainty::Inferred,
        Grounds::Position,
        evidence,
        format!(
            "The TLS handshake with the RD Gateway {} completed and the client closed without \
             sending its gateway request: most likely the client does not trust the gateway's \
             certificate (name, issuer, expiry or revocation), though a client policy or a \
             cancelled prompt look the same.{also}",
            g.server
        ),
        g.last_ts,
    )
}

/// The name the user gave for the gateway was answered NXDOMAIN and no
/// connection followed: the user's word makes it the gateway's.
fn gateway_name_not_found(a: &CrossAttempt) -> Option<Found> {
    let mut f = dns_failed(a)?;
    if f.id != CauseId::DnsNameNotFound {
        return None;
    }
    f.id = CauseId::GatewayFailed;
    f.basis = Certainty::Seen;
    f.summary = format!("The RD Gateway's name does not resolve. {}", f.summary);
    Some(f)
}

/// A look-up of the server's name that gave no address, in an attempt
/// with no connection (the client had nowhere to connect). Whether the
/// name was meant for Remote Desktop is known only when a ticket request
/// names it; otherwise it is inferred.
fn dns_failed(a: &CrossAttempt) -> Option<Found> {
    if !matches!(tcp(a), Tcp::None) || lookups(a).any(|l| l.result() == LookupResult::Resolved) {
        return None;
    }
    let l = lookups(a).find(|l| match l.result() {
        LookupResult::Unanswered => l.query_frames.len() >= 2,
        r => r != LookupResult::Resolved,
    })?;
    let (id, grounds, what) = match l.result() {
        LookupResult::NotFound => (
            CauseId::DnsNameNotFound,
            Grounds::Explicit,
            "NXDOMAIN".to_string(),
        ),
        LookupResult::NoAddress(r) => (
            CauseId::DnsNoAnswer,
            Grounds::Explicit,
            format!("{r} without an address"),
        ),
        _ => (
            CauseId::DnsNoAnswer,
            Grounds::Silence,
            "no answer".to_string(),
        ),
    };
    let for_rdp = exchanges(a).any(|k| k.request.rdp_service_host().is_some());
    let mut evidence = vec![SideEvidence::new(
        l.query_frames[0],
        SideClue::DnsQuery {
            name: l.name.clone(),
            resolver: l.resolver.ip(),
        },
    )];
    evidence.extend(l.answer_frames.first().map(|&f| {
        SideEvidence::new(
            f,
            SideClue::DnsAnswer {
                name: l.name.clone(),
                result: l.result(),
                addresses: Vec::new(),
            },
        )
    }));
    Some(Found {
        id,
        confidence: Confidence::High,
        basis: if for_rdp {
            Certainty::Seen
        } else {
            Certainty::Inferred
        },
        grounds,
        summary: format!(
            "The look-up of {} gave {what}; no connection followed.",
            l.name
        ),
        evidence,
        at: l.first_ts,
        what: format!("the look-up of {} gave {what}", l.name),
    })
}

/// The client connected to an address its look-up of the name did not
/// give, and the connection did not succeed.
fn dns_mismatch(a: &CrossAttempt) -> Option<Found> {
    let Tcp::NotFine(t) = tcp(a) else {
        return None;
    };
    let server = t.server.ip();
    let l = lookups(a).find(|l| {
        l.result() == LookupResult::Resolved
            && !l.addresses.contains(&server)
            && l.tie != Tie::Address
    })?;
    if lookups(a).any(|x| x.addresses.contains(&server)) {
        return None;
    }
    let resolved: Vec<String> = l.addresses.iter().map(|a| a.to_string()).collect();
    // The first connection to the address: where the client went instead.
    let first = a
        .parts
        .iter()
        .find_map(|p| match p {
            Part::Tcp(x) if x.server.ip() == server => Some(x.first_frame),
            _ => None,
        })
        .unwrap_or(t.first_frame);
    Some(Found {
        id: CauseId::DnsAddressMismatch,
        confidence: Confidence::Medium,
        basis: if l.tie == Tie::Name {
            Certainty::Seen
        } else {
            Certainty::Inferred
        },
        grounds: Grounds::Explicit,
        summary: format!(
            "{} resolved to {}, but the client connected to {server}.",
            l.name,
            resolved.join(", ")
        ),
        evidence: vec![
            SideEvidence::new(
                *l.answer_frames.first()?,
                SideClue::DnsAnswer {
                    name: l.name.clone(),
                    result: l.result(),
                    addresses: l.addresses.clone(),
                },
            ),
            SideEvidence::new(first, SideClue::Connect { server }),
        ],
        at: l.first_ts,
        what: format!("{} resolved to {}", l.name, resolved.join(", ")),
    })
}

/// RDP-UDP SYNs repeated with no SYN+ACK: the client waited its own
/// retransmission timer (MS-RDPEUDP 3.1.5.1.1) and the session went on
/// over TCP. Informational.
fn udp_blocked(a: &CrossAttempt) -> Option<Found> {
    let u = a.parts.iter().find_map(|p| match p {
        Part::Udp(u) if !u.completed() && u.syn_frames.len() >= 2 => Some(u),
        _ => None,
    })?;
    Some(Found {
        id: CauseId::UdpTransportBlocked,
        confidence: Confidence::High,
        basis: Certainty::Seen,
        grounds: Grounds::Silence,
        summary: format!(
            "{} RDP-UDP SYNs from {} to {} went unanswered: UDP is blocked or off, the session \
             uses TCP only (informational).",
            u.syn_frames.len(),
            u.client,
            u.server
        ),
        evidence: u
            .syn_frames
            .iter()
            .map(|&f| SideEvidence::new(f, SideClue::UdpSynUnanswered))
            .collect(),
        at: u.first_ts,
        what: "the RDP-UDP SYNs went unanswered".into(),
    })
}
