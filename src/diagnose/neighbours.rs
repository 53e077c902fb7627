//! Attempts across protocols: one user's attempt to reach a server is
//! often more than its TCP connection. Before it, the client looks the
//! server's name up (DNS) and may ask the KDC for a `TERMSRV/<name>`
//! ticket (Kerberos, for NLA); during it, the server may invite the client
//! to the UDP transport (MS-RDPEUDP). This module groups those parts per
//! client and time window into [`CrossAttempt`]s, in frame order, and
//! names a cause from the neighbours when they explain the attempt.
//!
//! A pure function of the neighbour timeline and the connections'
//! diagnoses: the TCP verdicts are not changed; an attempt carries the
//! neighbour's cause beside them.

use super::attempts::RETRY_WINDOW;
use super::evidence::{Clue, RdpClue};
use super::gateway::{GatewayPart, GatewaySpec, GatewayStep, GatewayTie};
use super::{CauseId, Certainty, Confidence, Diagnosis, Grounds, Outcome, Phase};
use crate::common::{Dir, Duration, Timestamp};
use crate::flow::FastMap;
use crate::proto::http::HttpMethod;
use crate::proto::neighbour::{
    DnsMessage, KrbErrorCode, KrbKind, KrbMessage, Rcode, SideMessage, UdpHandshake, UdpKind,
};
use crate::proto::x224::Protocols;
use crate::timeline::neighbours::{Carrier, Neighbours, SideEvent, UdpFlowCount};
use crate::timeline::Timeline;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

/// How long before a connection its look-up (and the Kerberos exchange
/// that follows the look-up) may start: a Windows client with one DNS
/// server gives up 10 s after its first query (Microsoft Learn, "DNS
/// client resolution timeouts", KB 2834226: queries at 0, 1, 2, 4 and
/// 8 s, stop at 10 s), and connects as soon as an answer comes. A look-up
/// that started earlier had been answered, and used, long before.
pub const LEAD: Duration = Duration::from_secs(10);

/// How soon after the client's connection to one server a connection
/// carrying a routing token may start and still be that connection's
/// redirected leg. On a Server Redirection PDU the client disconnects and
/// connects to the target on its own, with no prompt between
/// ([MS-RDPBCGR] 3.1.5.2.1); at most a look-up of the target's name lies
/// between, and a Windows client gives that up after [`LEAD`]. The lab's
/// legs (xfreerdp 2.11) started 0.5 s after the first connection closed.
pub const REDIRECT_WINDOW: Duration = LEAD;

/// Requests and look-ups searched back for a retry or the one an answer
/// belongs to: a bound on the work per message (a busy capture holds up
/// to 65,536 neighbour messages), far above the exchanges one client has
/// open at once. An answer found nowhere in it stays unpaired.
const PAIRING_SPAN: usize = 256;

/// One DNS look-up of a name by one client: the queries for its address
/// types (A, AAAA) and their answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub client: IpAddr,
    pub resolver: SocketAddr,
    pub name: String,
    pub first_ts: Timestamp,
    /// The time of its last query or answer.
    pub last_ts: Timestamp,
    pub query_frames: Vec<u64>,
    pub answer_frames: Vec<u64>,
    pub addresses: Vec<IpAddr>,
    /// The answers' codes, in order.
    pub rcodes: Vec<Rcode>,
    /// How the look-up was tied to its attempt.
    pub tie: Tie,
}

/// How a look-up was tied to its attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// Its answer holds the address the client connected to.
    Address,
    /// It asked for a name the attempt shows (SNI, certificate, ticket).
    Name,
    /// Only by time: the last look-up of the client before a connection
    /// that shows no name.
    Time,
    /// Not tied: an attempt of its own.
    Alone,
}

impl Tie {
    pub fn name(self) -> &'static str {
        match self {
            Tie::Address => "address",
            Tie::Name => "name",
            Tie::Time => "time",
            Tie::Alone => "alone",
        }
    }
}

/// How a look-up ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupResult {
    Resolved,
    NotFound,
    /// An answer without an address (NOERROR/NODATA) or an error code
    /// other than NXDOMAIN.
    NoAddress(Rcode),
    /// Queries, no answer.
    Unanswered,
}

impl Lookup {
    pub fn result(&self) -> LookupResult {
        if !self.addresses.is_empty() {
            LookupResult::Resolved
        } else if self.rcodes.contains(&Rcode::NXDOMAIN) {
            LookupResult::NotFound
        } else if let Some(&r) = self.rcodes.iter().find(|&&r| r != Rcode::NOERROR) {
            LookupResult::NoAddress(r)
        } else if let Some(&r) = self.rcodes.first() {
            LookupResult::NoAddress(r)
        } else {
            LookupResult::Unanswered
        }
    }
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DNS look-up of {} (server {}): ",
            self.name,
            self.resolver.ip()
        )?;
        match self.result() {
            LookupResult::Resolved => {
                let a: Vec<String> = self.addresses.iter().map(|a| a.to_string()).collect();
                write!(f, "{}", a.join(", "))
            }
            LookupResult::NotFound => f.write_str("NXDOMAIN"),
            LookupResult::NoAddress(r) => write!(f, "{r}, no address"),
            LookupResult::Unanswered => {
                write!(f, "{} queries, no answer", self.query_frames.len())
            }
        }
    }
}

/// One Kerberos request of a client, its retries and the KDC's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbExchange {
    pub client: IpAddr,
    pub kdc: SocketAddr,
    pub carrier: Carrier,
    pub request: KrbMessage,
    pub first_ts: Timestamp,
    /// The time of its last request.
    pub last_ts: Timestamp,
    pub request_frames: Vec<u64>,
    /// The reply, its frame and time.
    pub reply: Option<(u64, Timestamp, KrbMessage)>,
}

impl KrbExchange {
    pub fn error(&self) -> Option<KrbErrorCode> {
        self.reply.as_ref().and_then(|(_, _, m)| m.error)
    }
}

impl std::fmt::Display for KrbExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kerberos {}", self.request.kind)?;
        if let Some(s) = &self.request.service {
            write!(f, " for {s}")?;
        }
        if let Some(c) = &self.request.client {
            write!(f, " (client {c})")?;
        }
        write!(f, " to KDC {}: ", self.kdc.ip())?;
        match &self.reply {
            Some((_, _, m)) => match m.error {
                Some(e) => write!(f, "{e}"),
                None => write!(f, "{}", m.kind),
            },
            None => write!(f, "{} requests, no answer", self.request_frames.len()),
        }
    }
}

/// The UDP side channel of one client port (MS-RDPEUDP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpChannel {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_ts: Timestamp,
    pub syn_frames: Vec<u64>,
    pub syn: Option<UdpHandshake>,
    pub synack_frame: Option<u64>,
    pub synack: Option<UdpHandshake>,
    /// Datagrams after the handshake.
    pub data: UdpFlowCount,
}

impl UdpChannel {
    pub fn completed(&self) -> bool {
        self.synack_frame.is_some()
    }
}

impl std::fmt::Display for UdpChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RDP-UDP {} -> {}: ", self.client, self.server)?;
        let version = self
            .synack
            .as_ref()
            .or(self.syn.as_ref())
            .map(|h| h.rdpeudp2());
        if self.completed() {
            f.write_str("handshake completed")?;
            if version == Some(true) {
                f.write_str(" (RDPEUDP2)")?;
            }
            let n = self.data.to_server + self.data.to_client;
            write!(f, ", {n} datagrams after it")
        } else if self.syn_frames.is_empty() {
            f.write_str("datagrams without a handshake captured")
        } else {
            write!(f, "{} SYN, no SYN+ACK", self.syn_frames.len())
        }
    }
}

/// One TCP connection of an attempt, as its diagnosis reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpPart {
    pub stream: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first_frame: u64,
    pub first_ts: Timestamp,
    pub last_frame: u64,
    pub last_ts: Timestamp,
    pub outcome: Outcome,
    pub phase: Phase,
    pub cause: Option<CauseId>,
    /// The confidence of the connection's own cause.
    pub confidence: Option<Confidence>,
    /// The routing token of its X.224 Connection Request ([MS-RDPBCGR]
    /// 2.2.1.1 routingToken) and that request's frame.
    pub routing_token: Option<(u64, String)>,
    /// The frame of its X.224 Connection Request when that offers
    /// PROTOCOL_RDSTLS, which is "primarily used in the context of server
    /// redirection scenarios": a client redirected presents the
    /// redirection's GUID and password with it ([MS-RDPBCGR] 2.2.1.1.1,
    /// 5.4.5.3). Other uses exist, hence the low confidence alone.
    pub rdstls_offered: Option<u64>,
    /// A Server Redirection PDU the server sent on it (read only when
    /// decrypted): its frame and the target it names.
    pub redirection: Option<(u64, Option<String>)>,
}

impl TcpPart {
    /// Whether its Connection Request shows a redirected leg: a routing
    /// token, or PROTOCOL_RDSTLS offered.
    pub fn redirect_marked(&self) -> bool {
        self.routing_token.is_some() || self.rdstls_offered.is_some()
    }
}

impl std::fmt::Display for TcpPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TCP connection (tcp.stream {}) {} -> {}: {}",
            self.stream,
            self.client,
            self.server,
            self.outcome.name()
        )?;
        if self.outcome == Outcome::Failed {
            write!(f, " in {}", self.phase.name())?;
        }
        if let Some(c) = self.cause {
            write!(f, " ({})", c.id())?;
        }
        if let Some((_, t)) = &self.routing_token {
            write!(f, ", routing token \"{t}\"")?;
        }
        if self.rdstls_offered.is_some() {
            f.write_str(", RDSTLS offered")?;
        }
        match &self.redirection {
            Some((_, Some(t))) => write!(f, ", redirected the client to {t}"),
            Some((_, None)) => f.write_str(", redirected the client"),
            None => Ok(()),
        }
    }
}

/// One part of an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Dns(Lookup),
    Kerberos(Box<KrbExchange>),
    Udp(UdpChannel),
    Tcp(TcpPart),
    /// A connection to an RD Gateway (`gateway.rs`).
    Gateway(Box<GatewayPart>),
}

impl Part {
    /// The protocol's name in the JSON contract.
    pub fn kind(&self) -> &'static str {
        match self {
            Part::Dns(_) => "dns",
            Part::Kerberos(_) => "kerberos",
            Part::Udp(_) => "rdp_udp",
            Part::Tcp(_) => "tcp",
            Part::Gateway(_) => "gateway",
        }
    }

    /// Every frame of the part, in order.
    pub fn frames(&self) -> Vec<u64> {
        let mut v = match self {
            Part::Dns(l) => [&l.query_frames[..], &l.answer_frames[..]].concat(),
            Part::Kerberos(k) => {
                let mut v = k.request_frames.clone();
                v.extend(k.reply.as_ref().map(|r| r.0));
                v
            }
            Part::Udp(u) => {
                let mut v = u.syn_frames.clone();
                v.extend(u.synack_frame);
                v
            }
            Part::Tcp(t) => vec![t.first_frame, t.last_frame],
            Part::Gateway(g) => {
                let mut v = g.syns.clone();
                v.extend(
                    [
                        g.synack,
                        g.refused,
                        g.client_hello,
                        g.server_hello,
                        g.client_finished,
                        g.request.as_ref().map(|r| r.0),
                        g.response.as_ref().map(|r| r.0),
                        g.client_alert,
                        g.client_close,
                    ]
                    .into_iter()
                    .flatten(),
                );
                v.extend([g.first_frame, g.last_frame]);
                v
            }
        };
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn first_ts(&self) -> Timestamp {
        match self {
            Part::Dns(l) => l.first_ts,
            Part::Kerberos(k) => k.first_ts,
            Part::Udp(u) => u.first_ts,
            Part::Tcp(t) => t.first_ts,
            Part::Gateway(g) => g.first_ts,
        }
    }

    /// The time of its last request, answer or packet.
    pub fn last_ts(&self) -> Timestamp {
        match self {
            Part::Dns(l) => l.last_ts,
            Part::Kerberos(k) => k.reply.as_ref().map_or(k.last_ts, |r| r.1),
            Part::Udp(u) => u.first_ts,
            Part::Tcp(t) => t.last_ts,
            Part::Gateway(g) => g.last_ts,
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Dns(l) => l.fmt(f),
            Part::Kerberos(k) => k.fmt(f),
            Part::Udp(u) => u.fmt(f),
            Part::Tcp(t) => t.fmt(f),
            Part::Gateway(g) => g.fmt(f),
        }
    }
}

/// What a neighbour's evidence frame shows, as values; its `Display` is
/// the sentence the reports print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SideClue {
    KrbRequest {
        kind: KrbKind,
        kdc: SocketAddr,
    },
    KrbError {
        code: KrbErrorCode,
    },
    /// The request sent again, `times` in all, and no answer.
    KrbRepeated {
        times: usize,
    },
    DnsQuery {
        name: String,
        resolver: IpAddr,
    },
    DnsAnswer {
        name: String,
        result: LookupResult,
        addresses: Vec<IpAddr>,
    },
    /// The client's connection to this address.
    Connect {
        server: IpAddr,
    },
    UdpSynUnanswered,
    /// The last frame of the client's connection to the first server.
    FirstServer {
        server: SocketAddr,
        stream: u64,
    },
    /// A decrypted Server Redirection PDU on the first connection.
    Redirection {
        target: Option<String>,
    },
    /// The leg's X.224 Connection Request and its routing token.
    RoutingToken {
        server: SocketAddr,
        token: String,
    },
    /// The leg's Connection Request offers PROTOCOL_RDSTLS (no token).
    RdstlsOffered {
        server: SocketAddr,
    },
    /// A step of the client's connection to an RD Gateway.
    Gateway {
        step: GatewayStep,
        server: SocketAddr,
    },
    /// The client's decrypted HTTP request to the gateway (never its
    /// headers: `Authorization` carries the user's token).
    HttpRequest {
        method: HttpMethod,
        path: String,
    },
    /// The gateway's decrypted HTTP status line.
    HttpStatus {
        status: u16,
        reason: String,
    },
    /// The leg's last frame: how its TCP verdict ended.
    LegFailed {
        stream: u64,
        phase: Phase,
        cause: Option<CauseId>,
    },
}

impl SideClue {
    /// A stable identifier of what the frame shows (JSON `kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            SideClue::KrbRequest { .. } => "kerberos.request",
            SideClue::KrbError { .. } => "kerberos.error",
            SideClue::KrbRepeated { .. } => "kerberos.repeated",
            SideClue::DnsQuery { .. } => "dns.query",
            SideClue::DnsAnswer { .. } => "dns.answer",
            SideClue::Connect { .. } => "attempt.connect",
            SideClue::UdpSynUnanswered => "rdp_udp.syn_unanswered",
            SideClue::FirstServer { .. } => "attempt.first_server",
            SideClue::Redirection { .. } => "rdp.server_redirection",
            SideClue::RoutingToken { .. } => "x224.routing_token",
            SideClue::RdstlsOffered { .. } => "x224.rdstls_offered",
            SideClue::LegFailed { .. } => "attempt.leg_failed",
            SideClue::Gateway { .. } => "gateway.connection",
            SideClue::HttpRequest { .. } => "http.request",
            SideClue::HttpStatus { .. } => "http.status",
        }
    }
}

impl std::fmt::Display for SideClue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SideClue::KrbRequest { kind, kdc } => write!(f, "Kerberos {kind} to {kdc}"),
            SideClue::KrbError { code } => write!(f, "KRB-ERROR {code} from the KDC"),
            SideClue::KrbRepeated { times } => {
                write!(f, "the same request again ({times} in all): no answer came")
            }
            SideClue::DnsQuery { name, resolver } => {
                write!(f, "DNS query for {name} to {resolver}")
            }
            SideClue::DnsAnswer {
                name,
                result,
                addresses,
            } => {
                write!(f, "DNS answer for {name}: ")?;
                match result {
                    LookupResult::Resolved => {
                        let a: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
                        f.write_str(&a.join(", "))
                    }
                    LookupResult::NotFound => f.write_str("NXDOMAIN"),
                    LookupResult::NoAddress(r) => write!(f, "{r} without an address"),
                    LookupResult::Unanswered => f.write_str("none"),
                }
            }
            SideClue::Connect { server } => write!(f, "the client connects to {server}"),
            SideClue::UdpSynUnanswered => f.write_str("RDP-UDP SYN, not answered"),
            SideClue::FirstServer { server, stream } => write!(
                f,
                "the client's connection to {server} (tcp.stream {stream}) ends"
            ),
            SideClue::Redirection { target: Some(t) } => {
                write!(f, "Server Redirection PDU: the client is sent to {t}")
            }
            SideClue::Redirection { target: None } => {
                f.write_str("Server Redirection PDU (no target named)")
            }
            SideClue::RoutingToken { server, token } => write!(
                f,
                "X.224 Connection Request to {server} with the routing token \"{token}\""
            ),
            SideClue::RdstlsOffered { server } => write!(
                f,
                "X.224 Connection Request to {server} offering RDSTLS (used primarily after a \
                 redirection, MS-RDPBCGR 5.4.5.3)"
            ),
            SideClue::Gateway { step, server } => write!(f, "{step} (gateway {server})"),
            SideClue::HttpRequest { method, path } => write!(f, "HTTP request {method} {path}"),
            SideClue::HttpStatus { status, reason } => {
                write!(f, "HTTP status {status} {reason} from the gateway")
            }
            SideClue::LegFailed {
                stream,
                phase,
                cause,
            } => {
                write!(
                    f,
                    "the redirected connection (tcp.stream {stream}) fails in {}",
                    phase.name()
                )?;
                match cause {
                    Some(c) => write!(f, " ({})", c.id()),
                    None => Ok(()),
                }
            }
        }
    }
}

/// One evidence frame of a neighbour's cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideEvidence {
    pub frame: u64,
    pub clue: SideClue,
}

impl SideEvidence {
    pub fn new(frame: u64, clue: SideClue) -> Self {
        SideEvidence { frame, clue }
    }
}

/// A cause a neighbour shows, in the evidence model of the TCP verdicts.
#[derive(Clone, Debug, PartialEq)]
pub struct SideCause {
    pub id: CauseId,
    pub confidence: Confidence,
    pub basis: Certainty,
    pub grounds: Grounds,
    pub summary: String,
    pub remediation: String,
    pub evidence: Vec<SideEvidence>,
    /// How it stands to the attempt's TCP connection, e.g. "the TCP
    /// connection failed in credssp; the KDC answered KRB_AP_ERR_SKEW
    /// 40.0 ms before its end".
    pub relation: Option<String>,
}

/// One client's attempt to reach one server, across protocols.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossAttempt {
    pub client: IpAddr,
    /// The server's address when a TCP or UDP part shows it.
    pub server: Option<IpAddr>,
    /// The names the server went by: looked up, asked a ticket for, sent
    /// as SNI, or on its certificate.
    pub names: Vec<String>,
    /// In order of their first frame.
    pub parts: Vec<Part>,
    pub cause: Option<SideCause>,
    /// Set when the attempt is one to an RD Gateway: why it is taken for
    /// one (the user's `--gateway`, or the decrypted HTTP method).
    pub gateway: Option<GatewayTie>,
}

impl CrossAttempt {
    fn span(&self) -> (Timestamp, Timestamp) {
        let mut lo = Timestamp(i64::MAX);
        let mut hi = Timestamp(i64::MIN);
        for p in &self.parts {
            lo = lo.min(p.first_ts());
            hi = hi.max(p.last_ts());
        }
        (lo, hi)
    }

    /// Whether a part active from `first` to `last` falls in this
    /// attempt's window: from [`LEAD`] before its first part to its last
    /// (a look-up or a KDC still retrying when the window opens counts).
    fn covers(&self, first: Timestamp, last: Timestamp) -> bool {
        let (lo, hi) = self.span();
        last.0 >= lo.0.saturating_sub(LEAD.0) && first.0 <= hi.0
    }

    /// The connection the client was redirected from and the redirected
    /// leg (the first connection carrying a routing token to another
    /// server), when the attempt holds both.
    pub fn redirected_leg(&self) -> Option<(&TcpPart, &TcpPart)> {
        let tcp = || {
            self.parts.iter().filter_map(|p| match p {
                Part::Tcp(t) => Some(t),
                _ => None,
            })
        };
        let first = tcp().next()?;
        let leg = tcp().find(|t| {
            t.redirect_marked()
                && t.server.ip() != first.server.ip()
                && t.first_ts >= first.first_ts
        })?;
        let from = tcp()
            .rev()
            .find(|t| t.server.ip() != leg.server.ip() && t.first_ts <= leg.first_ts)?;
        Some((from, leg))
    }

    fn knows_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| same_host(n, name))
            || self.server.is_some_and(|s| s.to_string() == name)
    }
}

/// Two host names for one server: equal, or one the other's first label
/// (a short name the resolver completed with a search suffix).
fn same_host(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('.'), b.trim_end_matches('.'));
    a.eq_ignore_ascii_case(b)
        || a.split('.')
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case(b))
        || b.split('.')
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case(a))
}

/// Group the neighbours and the connections into attempts. Empty when the
/// capture holds no neighbour: the TCP attempts say everything then.
pub fn cross_attempts(side: &Neighbours, conns: &[(&Timeline, &Diagnosis)]) -> Vec<CrossAttempt> {
    let parts = conns.iter().map(|(t, d)| TcpSummary::of(t, d)).collect();
    cross_attempts_of(side, parts, Vec::new(), &[])
}

/// What the attempts across protocols keep of one RDP connection: its
/// TCP part and the names it shows for its server.
#[derive(Clone, Debug)]
pub struct TcpSummary {
    part: TcpPart,
    names: Vec<String>,
}

impl TcpSummary {
    pub fn of(tl: &Timeline, d: &Diagnosis) -> Self {
        TcpSummary {
            part: TcpPart {
                stream: tl.stream,
                client: tl.endpoints.client,
                server: tl.endpoints.server,
                first_frame: tl.first_frame,
                first_ts: tl.first_ts,
                last_frame: tl.last_frame,
                last_ts: tl.last_ts,
                outcome: d.outcome,
                phase: d.phase,
                cause: d.cause.as_ref().map(|c| c.id),
                confidence: d.cause.as_ref().map(|c| c.confidence),
                routing_token: tl
                    .connection_request()
                    .and_then(|(e, r)| Some((e.frame, r.routing_token.clone()?))),
                rdstls_offered: tl.connection_request().and_then(|(e, r)| {
                    let p = r.neg_req.as_ref()?.requested;
                    (p.0 & Protocols::RDSTLS != 0).then_some(e.frame)
                }),
                redirection: d.evidence.iter().find_map(|e| match &e.clue {
                    Clue::Rdp(RdpClue::ServerRedirection { target }) => {
                        Some((e.frame, target.clone()))
                    }
                    _ => None,
                }),
            },
            names: tcp_names(tl),
        }
    }
}

/// A connection's verdict as its TCP part reads it: outcome, phase,
/// cause and the cause's confidence.
type Verdict = (Outcome, Phase, Option<CauseId>, Option<Confidence>);

/// The fixed part of a [`TcpSummary`] (56 bytes): addresses and verdicts
/// are numbers into the tables of [`TcpSummaries`].
#[derive(Clone, Copy, Debug)]
struct Row {
    stream: u64,
    first_frame: u64,
    last_frame: u64,
    first_ts: Timestamp,
    last_ts: Timestamp,
    client: u32,
    server: u32,
    client_port: u16,
    server_port: u16,
    verdict: u16,
}

/// What few connections carry beside their [`Row`]: a routing token, an
/// RDSTLS offer, a Server Redirection PDU, names for the server; and its
/// client, so that the clients with a redirected leg are known without
/// reading the rows back.
#[derive(Clone, Debug)]
struct Extra {
    client: u32,
    routing_token: Option<(u64, String)>,
    rdstls_offered: Option<u64>,
    redirection: Option<(u64, Option<String>)>,
    names: Vec<String>,
}

impl Extra {
    fn redirect_marked(&self) -> bool {
        self.routing_token.is_some() || self.rdstls_offered.is_some()
    }
}

/// Rows are kept in chunks of this many: the store grows without
/// copying what it holds (a vector doubling would hold both copies).
const CHUNK: usize = 4096;

/// Full chunks of rows kept in memory; past them the oldest go to a
/// temporary file (3.5 MiB of rows, 65,536 connections). A capture of
/// fewer connections (every capture of the corpus, most captures taken by
/// hand) never writes one; a larger one costs 54 bytes of disk a
/// connection, not of memory, and one write of 216 KiB per 4,096
/// connections. The rows are read back once, at the end of the file, and
/// only when some client has a neighbour or a redirected leg.
pub const CHUNKS_IN_MEMORY: usize = 16;

/// Bytes of a [`Row`] in the temporary file (its fields, no padding).
const ROW_BYTES: usize = 54;

impl Row {
    fn write_to(&self, out: &mut Vec<u8>) {
        for v in [self.stream, self.first_frame, self.last_frame] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for t in [self.first_ts, self.last_ts] {
            out.extend_from_slice(&t.0.to_le_bytes());
        }
        for v in [self.client, self.server] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.client_port, self.server_port, self.verdict] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn read_from(b: &[u8; ROW_BYTES]) -> Row {
        let mut at = 0;
        let mut take = |n: usize| {
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(&b[at..at + n]);
            at += n;
            u64::from_le_bytes(v)
        };
        Row {
            stream: take(8),
            first_frame: take(8),
            last_frame: take(8),
            first_ts: Timestamp(take(8) as i64),
            last_ts: Timestamp(take(8) as i64),
            client: take(4) as u32,
            server: take(4) as u32,
            client_port: take(2) as u16,
            server_port: take(2) as u16,
            verdict: take(2) as u16,
        }
    }
}

/// The rows moved out of memory, oldest first: an anonymous temporary
/// file (unlinked on Unix as soon as it is made).
#[derive(Debug)]
struct RowFile {
    w: std::io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
    /// Rows written whole.
    rows: usize,
}

impl Drop for RowFile {
    fn drop(&mut self) {
        if !cfg!(unix) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where the rows past the memory bound go.
#[derive(Debug)]
enum Overflow {
    /// None yet: the next full chunk past the bound makes the file.
    NotYet,
    File(RowFile),
    /// The file could not be made or written: the rows stay in memory.
    Failed,
}

/// A temporary file of summaries that failed; the attempts across
/// protocols are then told without what it lost.
#[derive(Debug)]
pub enum SummaryFault {
    /// Making or writing the file failed: the rows from then on were kept
    /// in memory (none lost, but memory grew with the connections).
    Write(std::io::Error),
    /// Reading it back failed: the rows of `lost` connections were not
    /// read, so the DNS, Kerberos and RDP-UDP messages of their clients
    /// are not tied to them.
    Read { error: std::io::Error, lost: usize },
}

impl std::fmt::Display for SummaryFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SummaryFault::Write(e) => write!(
                f,
                "cannot write the connection summaries for the attempts across protocols \
                 to a temporary file ({e}): kept in memory"
            ),
            SummaryFault::Read { error, lost } => write!(
                f,
                "cannot read back the summaries of {lost} connections from their temporary \
                 file ({error}): the attempts across protocols leave them out"
            ),
        }
    }
}

/// The id of each distinct address: an IPv4 address keyed by its four
/// bytes (a bucket of 8 bytes where an `IpAddr`'s is 24, so that a
/// file's tens of thousands of clients take a third of the cache), any
/// other by the address (an IPv4-mapped IPv6 address stays apart from
/// its IPv4 address, as `IpAddr` tells them apart).
#[derive(Debug, Default)]
struct AddrIds {
    v4: FastMap<u32, u32>,
    other: FastMap<IpAddr, u32>,
}

impl AddrIds {
    fn get(&self, a: &IpAddr) -> Option<u32> {
        match a {
            IpAddr::V4(v4) => self.v4.get(&u32::from(*v4)).copied(),
            IpAddr::V6(_) => self.other.get(a).copied(),
        }
    }

    /// The id of `a`, given `next` if it is new.
    fn get_or_insert(&mut self, a: IpAddr, next: u32) -> u32 {
        match a {
            IpAddr::V4(v4) => *self.v4.entry(u32::from(v4)).or_insert(next),
            IpAddr::V6(_) => *self.other.entry(a).or_insert(next),
        }
    }
}

/// The [`TcpSummary`] of every connection of a file, kept compactly (56
/// bytes a connection, and each distinct address and verdict once; the
/// rare routing tokens, redirections and names apart): what the attempts
/// across protocols need of them, until the file's neighbours are known.
/// Past [`CHUNKS_IN_MEMORY`] chunks of rows, the oldest go to a temporary
/// file. [`cross_attempts_kept`] then reads back only the connections of
/// the clients that have a neighbour part or a redirected leg: no other
/// TCP attempt can be kept.
#[derive(Debug)]
pub struct TcpSummaries {
    /// The rows in memory, after those in the file.
    rows: std::collections::VecDeque<Vec<Row>>,
    overflow: Overflow,
    /// Full chunks kept in memory before the oldest go to the file.
    bound: usize,
    addrs: Vec<IpAddr>,
    addr_ids: AddrIds,
    /// The last address looked up as a client and as a server, with its
    /// id: a client retrying, and the one server of most captures, skip
    /// the map.
    last_ids: [Option<(IpAddr, u32)>; 2],
    /// Whether each address is a client of some connection.
    is_client: Vec<bool>,
    verdicts: Vec<Verdict>,
    extras: HashMap<usize, Extra>,
    len: usize,
    fault: Option<SummaryFault>,
    /// Where the temporary file goes (None: the system's temporary
    /// directory, `TMPDIR` on Unix).
    dir: Option<std::path::PathBuf>,
}

impl Default for TcpSummaries {
    fn default() -> Self {
        Self::with_bound(CHUNKS_IN_MEMORY)
    }
}

impl TcpSummaries {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store keeping `chunks` full chunks of rows in memory before the
    /// oldest go to a temporary file (`usize::MAX`: never).
    pub fn with_bound(chunks: usize) -> Self {
        TcpSummaries {
            rows: Default::default(),
            overflow: Overflow::NotYet,
            bound: chunks,
            addrs: Vec::new(),
            addr_ids: AddrIds::default(),
            last_ids: [None, None],
            is_client: Vec::new(),
            verdicts: Vec::new(),
            extras: HashMap::new(),
            len: 0,
            fault: None,
            dir: None,
        }
    }

    /// The same store, its temporary file made in `dir`.
    pub fn in_dir(self, dir: std::path::PathBuf) -> Self {
        TcpSummaries {
            dir: Some(dir),
            ..self
        }
    }

    /// Connections kept.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Distinct addresses and verdicts kept (each once, however many
    /// connections share it).
    pub fn distinct(&self) -> (usize, usize) {
        (self.addrs.len(), self.verdicts.len())
    }

    /// Rows held in memory (at most [`CHUNKS_IN_MEMORY`] full chunks and
    /// the one being filled, unless the temporary file failed).
    pub fn rows_in_memory(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }

    /// Rows in the temporary file.
    pub fn rows_spilled(&self) -> usize {
        match &self.overflow {
            Overflow::File(f) => f.rows,
            _ => 0,
        }
    }

    pub fn push(&mut self, s: TcpSummary) {
        let TcpSummary { part: p, names } = s;
        let verdict = (p.outcome, p.phase, p.cause, p.confidence);
        let v = match self.verdicts.iter().position(|x| *x == verdict) {
            Some(v) => v,
            None => {
                self.verdicts.push(verdict);
                self.verdicts.len() - 1
            }
        };
        let client = self.addr_id_as(0, p.client.ip());
        if let Some(c) = self.is_client.get_mut(client as usize) {
            *c = true;
        }
        let row = Row {
            stream: p.stream,
            first_frame: p.first_frame,
            last_frame: p.last_frame,
            first_ts: p.first_ts,
            last_ts: p.last_ts,
            client,
            server: self.addr_id_as(1, p.server.ip()),
            client_port: p.client.port(),
            server_port: p.server.port(),
            // Outcomes x phases x causes x confidences are far fewer.
            verdict: u16::try_from(v).unwrap_or(u16::MAX),
        };
        let extra = p.routing_token.is_some()
            || p.rdstls_offered.is_some()
            || p.redirection.is_some()
            || !names.is_empty();
        if extra {
            self.extras.insert(
                self.len,
                Extra {
                    client,
                    routing_token: p.routing_token,
                    rdstls_offered: p.rdstls_offered,
                    redirection: p.redirection,
                    names,
                },
            );
        }
        match self.rows.back_mut() {
            Some(c) if c.len() < CHUNK => c.push(row),
            _ => {
                let mut c = self.next_chunk();
                c.push(row);
                self.rows.push_back(c);
            }
        }
        self.len += 1;
    }

    /// An empty chunk for the next rows: the oldest in memory, once
    /// written to the file, when the memory holds its bound.
    fn next_chunk(&mut self) -> Vec<Row> {
        if self.rows.len() <= self.bound || matches!(self.overflow, Overflow::Failed) {
            return Vec::with_capacity(CHUNK);
        }
        match self.spill_oldest() {
            Ok(mut c) => {
                c.clear();
                c
            }
            Err(e) => {
                self.overflow = Overflow::Failed;
                self.fault = Some(SummaryFault::Write(e));
                Vec::with_capacity(CHUNK)
            }
        }
    }

    /// Write the oldest chunk in memory to the file and take it out of
    /// memory. A chunk that could not be written whole stays in memory
    /// (the file's rows end before it).
    fn spill_oldest(&mut self) -> std::io::Result<Vec<Row>> {
        use std::io::Write;
        if matches!(self.overflow, Overflow::NotYet) {
            let (w, path) = match &self.dir {
                Some(d) => crate::common::temp_file_in(d)?,
                None => crate::common::temp_file()?,
            };
            self.overflow = Overflow::File(RowFile { w, path, rows: 0 });
        }
        let (Overflow::File(f), Some(oldest)) = (&mut self.overflow, self.rows.front()) else {
            return Ok(Vec::with_capacity(CHUNK));
        };
        let mut bytes = Vec::with_capacity(oldest.len() * ROW_BYTES);
        for r in oldest {
            r.write_to(&mut bytes);
        }
        f.w.write_all(&bytes)?;
        // Flushed at once: an error is this chunk's, not a later one's.
        f.w.flush()?;
        f.rows += oldest.len();
        Ok(self.rows.pop_front().unwrap_or_default())
    }

    /// [`TcpSummaries::addr_id`] of an address in `role` (0: client, 1:
    /// server), through the last one looked up in that role.
    fn addr_id_as(&mut self, role: usize, a: IpAddr) -> u32 {
        if let Some(Some((last, id))) = self.last_ids.get(role) {
            if *last == a {
                return *id;
            }
        }
        let id = self.addr_id(a);
        if let Some(slot) = self.last_ids.get_mut(role) {
            *slot = Some((a, id));
        }
        id
    }

    fn addr_id(&mut self, a: IpAddr) -> u32 {
        let next = u32::try_from(self.addrs.len()).unwrap_or(u32::MAX);
        let id = self.addr_ids.get_or_insert(a, next);
        if id == next {
            self.addrs.push(a);
            self.is_client.push(false);
        }
        id
    }

    fn addr(&self, id: u32) -> IpAddr {
        self.addrs
            .get(id as usize)
            .copied()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    /// Call `f` with every row and its index, in the order kept: those of
    /// the file first. Rows the file fails to give are left out, and
    /// counted in [`TcpSummaries::fault`].
    fn for_each_row(&mut self, f: &mut dyn FnMut(&Self, usize, &Row)) {
        let mut next = 0;
        // Taken out while it is read, so that `f` may look at the rest.
        let mut overflow = std::mem::replace(&mut self.overflow, Overflow::NotYet);
        if let Overflow::File(file) = &mut overflow {
            let read = read_rows(file, &mut |r| {
                f(self, next, &r);
                next += 1;
            });
            if let Err(error) = read {
                self.fault = Some(SummaryFault::Read {
                    error,
                    lost: file.rows - next,
                });
                next = file.rows;
            }
        }
        self.overflow = overflow;
        for r in self.rows.iter().flatten() {
            f(self, next, r);
            next += 1;
        }
    }

    /// Some connection shows a redirected leg's mark.
    fn redirect_marked(&self) -> bool {
        self.extras.values().any(Extra::redirect_marked)
    }

    /// The clients of the connections showing a redirected leg's mark.
    fn marked_clients(&self) -> Vec<IpAddr> {
        self.extras
            .values()
            .filter(|e| e.redirect_marked())
            .map(|e| self.addr(e.client))
            .collect()
    }

    /// Every client that made a connection.
    fn clients(&self) -> HashSet<IpAddr> {
        self.addrs
            .iter()
            .zip(&self.is_client)
            .filter(|(_, c)| **c)
            .map(|(a, _)| *a)
            .collect()
    }

    /// The summaries of the connections of these clients, in the order
    /// they were kept.
    fn of_clients(&mut self, clients: &HashSet<IpAddr>) -> Vec<TcpSummary> {
        let ids: HashSet<u32> = clients
            .iter()
            .filter_map(|a| self.addr_ids.get(a))
            .collect();
        let mut out = Vec::new();
        if ids.is_empty() {
            return out;
        }
        self.for_each_row(&mut |s, i, r| {
            if ids.contains(&r.client) {
                out.push(s.summary(i, r));
            }
        });
        out
    }

    /// What went wrong with the temporary file, if anything.
    pub fn fault(&self) -> Option<&SummaryFault> {
        self.fault.as_ref()
    }

    fn summary(&self, i: usize, r: &Row) -> TcpSummary {
        let (outcome, phase, cause, confidence) = self
            .verdicts
            .get(usize::from(r.verdict))
            .copied()
            .unwrap_or((Outcome::Incomplete, Phase::Tcp, None, None));
        let e = self.extras.get(&i);
        TcpSummary {
            part: TcpPart {
                stream: r.stream,
                client: SocketAddr::new(self.addr(r.client), r.client_port),
                server: SocketAddr::new(self.addr(r.server), r.server_port),
                first_frame: r.first_frame,
                first_ts: r.first_ts,
                last_frame: r.last_frame,
                last_ts: r.last_ts,
                outcome,
                phase,
                cause,
                confidence,
                routing_token: e.and_then(|e| e.routing_token.clone()),
                rdstls_offered: e.and_then(|e| e.rdstls_offered),
                redirection: e.and_then(|e| e.redirection.clone()),
            },
            names: e.map(|e| e.names.clone()).unwrap_or_default(),
        }
    }
}

/// Read the file's rows from the first, handing each to `f`.
fn read_rows(file: &mut RowFile, f: &mut dyn FnMut(Row)) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    file.w.flush()?;
    let mut handle = file.w.get_ref();
    handle.seek(SeekFrom::Start(0))?;
    let mut r = std::io::BufReader::with_capacity(1 << 16, handle);
    let mut b = [0u8; ROW_BYTES];
    for _ in 0..file.rows {
        r.read_exact(&mut b)?;
        f(Row::read_from(&b));
    }
    Ok(())
}

impl FromIterator<TcpSummary> for TcpSummaries {
    fn from_iter<I: IntoIterator<Item = TcpSummary>>(iter: I) -> Self {
        let mut s = TcpSummaries::new();
        for x in iter {
            s.push(x);
        }
        s
    }
}

impl From<Vec<TcpSummary>> for TcpSummaries {
    fn from(v: Vec<TcpSummary>) -> Self {
        v.into_iter().collect()
    }
}

/// [`cross_attempts`] from the connections' summaries, in stream order,
/// all in memory (no temporary file, hence no fault). `gateways` are the
/// connections to a possible RD Gateway (on a port of `specs`, or any
/// HTTPS connection decrypted); those `specs` or their decrypted method do
/// not show to be one are left out.
pub fn cross_attempts_of(
    side: &Neighbours,
    conns: Vec<TcpSummary>,
    gateways: Vec<GatewayPart>,
    specs: &[GatewaySpec],
) -> Vec<CrossAttempt> {
    let mut kept = TcpSummaries::with_bound(usize::MAX);
    for c in conns {
        kept.push(c);
    }
    cross_attempts_kept(side, kept, gateways, specs).0
}

/// [`cross_attempts_of`] from the summaries a file kept, some maybe in a
/// temporary file; and what went wrong with that file, if anything.
pub fn cross_attempts_kept(
    side: &Neighbours,
    mut conns: TcpSummaries,
    gateways: Vec<GatewayPart>,
    specs: &[GatewaySpec],
) -> (Vec<CrossAttempt>, Option<SummaryFault>) {
    let lookups_all = lookups(&side.events);
    let gateways = identify_gateways(gateways, specs, &lookups_all);
    if side.is_empty() && gateways.is_empty() && !conns.redirect_marked() {
        return (Vec::new(), conns.fault.take());
    }
    let udp = udp_channels(side);
    let krb = krb_exchanges(&side.events);
    // A TCP attempt is kept only with a neighbour part of its client or a
    // redirected leg, and parts join only their own client's attempts:
    // the connections of other clients need not be read back.
    let mut wanted: HashSet<IpAddr> = conns.marked_clients().into_iter().collect();
    wanted.extend(udp.iter().map(|u| u.client.ip()));
    wanted.extend(krb.iter().map(|k| k.client));
    wanted.extend(lookups_all.iter().map(|l| l.client));
    let rdp_clients = conns.clients();
    let mut attempts = tcp_attempts(conns.of_clients(&wanted));
    let fault = conns.fault.take();
    drop(conns);
    join_redirects(&mut attempts);
    attempts.extend(gateway_attempts(gateways));
    for u in udp {
        attach(&mut attempts, Part::Udp(u));
    }
    for k in krb {
        attach(&mut attempts, Part::Kerberos(Box::new(k)));
    }
    // Answered look-ups first: they bring the names a failed one (a
    // search-suffix variant, an AAAA without answer) is then tied by.
    let mut ls = lookups_all;
    ls.sort_by_key(|l| l.result() != LookupResult::Resolved);
    for l in ls {
        attach_lookup(&mut attempts, l);
    }
    // A failed look-up alone is an attempt only for a client that made no
    // RDP connection in the capture: beside one, it is the resolver's
    // search suffixes, WPAD and the like, or a name typed wrong and then
    // right, and the connection says what matters.
    // (Every client of a TCP connection has an attempt with a TCP part.)
    attempts.retain(|a| {
        let dns_only = a.parts.iter().all(|p| matches!(p, Part::Dns(_)));
        (a.parts.iter().any(|p| !matches!(p, Part::Tcp(_))) || a.redirected_leg().is_some())
            && !(dns_only && rdp_clients.contains(&a.client))
    });
    for a in &mut attempts {
        a.parts
            .sort_by_key(|p| p.frames().first().copied().unwrap_or(0));
        if a.gateway.is_none() {
            a.gateway = named_gateway(a, specs);
        }
        a.cause = super::neighbour_rules::decide(a);
    }
    attempts.sort_by_key(|a| a.parts.first().and_then(|p| p.frames().first().copied()));
    (attempts, fault)
}

/// The connections that are a gateway's, each with its tie: the method
/// of its decrypted request, or the gateway the user named, matched by
/// the connection's address, SNI or certificate name, or by a DNS answer
/// for the gateway's name that gave the connection's address.
fn identify_gateways(
    parts: Vec<GatewayPart>,
    specs: &[GatewaySpec],
    lookups: &[Lookup],
) -> Vec<GatewayPart> {
    use super::gateway::GatewayHost;
    let resolved = |g: &GatewayPart, spec: &GatewaySpec| match &spec.host {
        GatewayHost::Name(n) => {
            g.server.port() == spec.port
                && lookups.iter().any(|l| {
                    l.client == g.client.ip()
                        && l.name.trim_end_matches('.').eq_ignore_ascii_case(n)
                        && l.addresses.contains(&g.server.ip())
                })
        }
        GatewayHost::Addr(_) => false,
    };
    parts
        .into_iter()
        .filter_map(|mut g| {
            let named = specs.iter().find(|s| g.matches(s) || resolved(&g, s));
            g.tie = match (named, &g.request) {
                (Some(s), _) => Some(GatewayTie::Named(s.to_string())),
                (None, Some((_, m, _))) if m.is_gateway() => Some(GatewayTie::Method(m.clone())),
                _ => None,
            };
            g.tie.is_some().then_some(g)
        })
        .collect()
}

/// The gateway connections as attempts: those of one client to one
/// gateway within [`RETRY_WINDOW`] of each other are one attempt (the
/// HTTP transport opens two, for RDG_OUT_DATA and RDG_IN_DATA).
fn gateway_attempts(mut parts: Vec<GatewayPart>) -> Vec<CrossAttempt> {
    parts.sort_by_key(|g| (g.client.ip(), g.first_ts));
    let mut out: Vec<CrossAttempt> = Vec::new();
    for g in parts {
        let joins = out.last().is_some_and(|a| {
            a.client == g.client.ip()
                && a.server == Some(g.server.ip())
                && g.first_ts.0 <= a.span().1 .0.saturating_add(RETRY_WINDOW.0)
        });
        if joins {
            let a = out.last_mut().expect("checked");
            add_names(&mut a.names, g.names.clone());
            a.parts.push(Part::Gateway(Box::new(g)));
        } else {
            out.push(CrossAttempt {
                client: g.client.ip(),
                server: Some(g.server.ip()),
                names: g.names.clone(),
                gateway: g.tie.clone(),
                parts: vec![Part::Gateway(Box::new(g))],
                cause: None,
            });
        }
    }
    out
}

/// An attempt with no gateway connection is a gateway's when it looked
/// up the name the user gave for the gateway (`--gateway NAME`): the
/// look-up failed, so the client had nowhere to connect.
fn named_gateway(a: &CrossAttempt, specs: &[GatewaySpec]) -> Option<GatewayTie> {
    use super::gateway::GatewayHost;
    specs.iter().find_map(|s| match &s.host {
        GatewayHost::Name(n) => a
            .parts
            .iter()
            .any(|p| matches!(p, Part::Dns(l) if l.name.trim_end_matches('.').eq_ignore_ascii_case(n)))
            .then(|| GatewayTie::Named(s.to_string())),
        GatewayHost::Addr(_) => None,
    })
}

/// The TCP connections as attempts: retries from one client to one
/// server within [`RETRY_WINDOW`] of each other are one attempt.
fn tcp_attempts(mut sorted: Vec<TcpSummary>) -> Vec<CrossAttempt> {
    sorted.sort_by_key(|s| (s.part.client.ip(), s.part.first_ts));
    let mut out: Vec<CrossAttempt> = Vec::new();
    for TcpSummary { part, names } in sorted {
        let joins = out.last().is_some_and(|a| {
            a.client == part.client.ip()
                && a.server == Some(part.server.ip())
                && part.first_ts.0 <= a.span().1 .0.saturating_add(RETRY_WINDOW.0)
        });
        if joins {
            let a = out.last_mut().expect("checked");
            a.parts.push(Part::Tcp(part));
            add_names(&mut a.names, names);
        } else {
            out.push(CrossAttempt {
                client: part.client.ip(),
                server: Some(part.server.ip()),
                names,
                parts: vec![Part::Tcp(part)],
                cause: None,
                gateway: None,
            });
        }
    }
    out
}

/// A connection whose X.224 Connection Request carries a routing token is
/// a redirected leg: the client puts there the load-balance information a
/// Server Redirection PDU gave it ([MS-RDPBCGR] 2.2.1.1 routingToken,
/// 2.2.13.1 LoadBalanceInfo, 3.1.5.2.1). Its attempt joins the client's
/// latest attempt to another server that started before it and ended at
/// most [`REDIRECT_WINDOW`] before it started: the connection the client
/// was sent away from. Attempts are sorted by client and time.
fn join_redirects(attempts: &mut Vec<CrossAttempt>) {
    let mut i = 1;
    while i < attempts.len() {
        let leg = match attempts[i].parts.first() {
            Some(Part::Tcp(t)) if t.redirect_marked() => t.clone(),
            _ => {
                i += 1;
                continue;
            }
        };
        let from = attempts[..i].iter().rposition(|a| {
            let (lo, hi) = a.span();
            a.client == leg.client.ip()
                && a.server != Some(leg.server.ip())
                && lo <= leg.first_ts
                && leg.first_ts.0 <= hi.0.saturating_add(REDIRECT_WINDOW.0)
        });
        match from {
            Some(j) => {
                let a = attempts.remove(i);
                let to = &mut attempts[j];
                to.parts.extend(a.parts);
                add_names(&mut to.names, a.names);
            }
            None => i += 1,
        }
    }
}

/// The names a connection shows for its server: the SNI, then the
/// certificate's subject common name and DNS names.
pub(super) fn tcp_names(tl: &Timeline) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(sni) = tl.client_hello().and_then(|(_, h)| h.sni.clone()) {
        names.push(sni.to_ascii_lowercase());
    }
    if let Some((_, certs)) = tl.certificates() {
        if let Some(c) = certs.first() {
            let cn = c
                .subject
                .split(',')
                .filter_map(|p| p.trim().strip_prefix("CN="))
                .map(|s| s.to_ascii_lowercase());
            let sans = c
                .sans
                .iter()
                .map(|s| s.trim_start_matches("DNS:").to_ascii_lowercase());
            add_names(&mut names, cn.chain(sans).collect());
        }
    }
    names
}

fn add_names(names: &mut Vec<String>, more: Vec<String>) {
    for n in more {
        if !names.contains(&n) {
            names.push(n);
        }
    }
}

/// Put a look-up in its attempt: by address or name, or, for an attempt
/// whose connections show no name, as the last look-up before it.
fn attach_lookup(attempts: &mut Vec<CrossAttempt>, mut l: Lookup) {
    let fits = |a: &CrossAttempt| a.client == l.client && a.covers(l.first_ts, l.last_ts);
    let tie = |a: &CrossAttempt| {
        if a.server.is_some_and(|s| l.addresses.contains(&s)) {
            Some(Tie::Address)
        } else if a.knows_name(&l.name) {
            Some(Tie::Name)
        } else if a.names.is_empty()
            && a.server.is_some()
            && l.result() == LookupResult::Resolved
            && l.first_ts <= a.span().0
        {
            Some(Tie::Time)
        } else {
            None
        }
    };
    let found = attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| fits(a))
        .filter_map(|(i, a)| tie(a).map(|t| (t, i)))
        .min_by_key(|&(t, _)| t as u8);
    match found {
        Some((t, i)) => {
            l.tie = t;
            let a = &mut attempts[i];
            if t == Tie::Time {
                // Only the last look-up before the connection.
                a.parts
                    .retain(|p| !matches!(p, Part::Dns(x) if x.tie == Tie::Time));
            } else {
                add_names(&mut a.names, vec![l.name.clone()]);
            }
            a.parts.push(Part::Dns(l));
        }
        None => attach(attempts, Part::Dns(l)),
    }
}

/// Put a neighbour part in the attempt it belongs to, or start one.
fn attach(attempts: &mut Vec<CrossAttempt>, part: Part) {
    let (client, first, last) = (part_client(&part), part.first_ts(), part.last_ts());
    let fits = |a: &CrossAttempt| a.client == client && a.covers(first, last);
    // By the server's address or name first, then by time alone for the
    // parts that name no server (AS exchanges, unanswered look-ups do
    // name one; an AS-REQ does not).
    let by_server = attempts
        .iter()
        .position(|a| fits(a) && names_server(&part, a));
    let by_time = || {
        attempts
            .iter()
            .position(|a| fits(a) && anonymous(&part) && a.server.is_some())
    };
    match by_server.or_else(by_time) {
        Some(i) => {
            let a = &mut attempts[i];
            add_names(&mut a.names, part_names(&part));
            a.parts.push(part);
        }
        None if stands_alone(&part) => attempts.push(CrossAttempt {
            client,
            server: match &part {
                Part::Udp(u) => Some(u.server.ip()),
                _ => None,
            },
            names: part_names(&part),
            parts: vec![part],
            cause: None,
            gateway: None,
        }),
        None => {}
    }
}

fn part_client(p: &Part) -> IpAddr {
    match p {
        Part::Dns(l) => l.client,
        Part::Kerberos(k) => k.client,
        Part::Udp(u) => u.client.ip(),
        Part::Tcp(t) => t.client.ip(),
        Part::Gateway(g) => g.client.ip(),
    }
}

fn part_names(p: &Part) -> Vec<String> {
    match p {
        Part::Dns(l) => vec![l.name.clone()],
        Part::Kerberos(k) => k
            .request
            .rdp_service_host()
            .map(|h| vec![h.to_ascii_lowercase()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Whether a part names the attempt's server: a look-up answered with
/// its address or of one of its names, a ticket for one of its names, a
/// UDP channel to its address.
fn names_server(p: &Part, a: &CrossAttempt) -> bool {
    match p {
        Part::Dns(l) => a.server.is_none() && a.knows_name(&l.name),
        Part::Kerberos(k) => k
            .request
            .rdp_service_host()
            .is_some_and(|h| a.knows_name(h)),
        Part::Udp(u) => a.server == Some(u.server.ip()),
        Part::Tcp(_) | Part::Gateway(_) => false,
    }
}

/// Parts that name no server and join an attempt by time alone: the
/// Kerberos exchanges for the user's own ticket (AS) or for a host
/// service principal of an attempt that shows no name.
fn anonymous(p: &Part) -> bool {
    match p {
        Part::Kerberos(k) => {
            k.request.rdp_service_host().is_none() || k.request.kind == KrbKind::AsReq
        }
        _ => false,
    }
}

/// Parts that make an attempt of their own when nothing else of it is in
/// the capture: a UDP channel, a ticket request for a Remote Desktop
/// server, a Kerberos error or an unanswered KDC, a look-up that failed.
fn stands_alone(p: &Part) -> bool {
    match p {
        Part::Udp(_) => true,
        Part::Kerberos(k) => {
            k.request.rdp_service_host().is_some()
                || k.reply.is_none()
                || k.error()
                    .is_some_and(|e| e != KrbErrorCode::PREAUTH_REQUIRED)
        }
        Part::Dns(l) => l.result() != LookupResult::Resolved,
        Part::Tcp(_) | Part::Gateway(_) => false,
    }
}

/// The RDP-UDP channels: one per client socket.
fn udp_channels(side: &Neighbours) -> Vec<UdpChannel> {
    let mut out: Vec<UdpChannel> = Vec::new();
    for e in &side.events {
        let SideMessage::RdpUdp(h) = &e.msg else {
            continue;
        };
        let i = match out
            .iter()
            .position(|u| u.client == e.client && u.server == e.server)
        {
            Some(i) => i,
            None => {
                out.push(UdpChannel {
                    client: e.client,
                    server: e.server,
                    first_ts: e.ts,
                    syn_frames: Vec::new(),
                    syn: None,
                    synack_frame: None,
                    synack: None,
                    data: UdpFlowCount::default(),
                });
                out.len() - 1
            }
        };
        let u = &mut out[i];
        match h.kind {
            UdpKind::Syn => {
                u.syn_frames.push(e.frame);
                u.syn.get_or_insert_with(|| h.clone());
            }
            UdpKind::SynAck if u.synack_frame.is_none() => {
                u.synack_frame = Some(e.frame);
                u.synack = Some(h.clone());
            }
            _ => {}
        }
    }
    for (&(client, server), c) in &side.udp_flows {
        if let Some(u) = out
            .iter_mut()
            .find(|u| u.client == client && u.server == server)
        {
            u.data = *c;
        }
    }
    out
}

/// Kerberos requests paired with the reply that follows them on the same
/// client socket and KDC (or TCP connection); a request repeated before
/// any reply is a retry of the same exchange.
fn krb_exchanges(events: &[SideEvent]) -> Vec<KrbExchange> {
    let mut out: Vec<KrbExchange> = Vec::new();
    for e in events {
        let SideMessage::Kerberos(m) = &e.msg else {
            continue;
        };
        let same_path = |x: &KrbExchange| x.kdc == e.server && x.carrier == e.carrier;
        match e.dir {
            Dir::ToServer => {
                let retry = out.iter_mut().rev().take(PAIRING_SPAN).find(|x| {
                    x.reply.is_none()
                        && x.client == e.client.ip()
                        && x.request.kind == m.kind
                        && x.request.service == m.service
                        && x.request.client == m.client
                });
                match retry {
                    Some(x) => {
                        x.request_frames.push(e.frame);
                        x.last_ts = e.ts;
                    }
                    None => out.push(KrbExchange {
                        client: e.client.ip(),
                        kdc: e.server,
                        carrier: e.carrier,
                        request: m.clone(),
                        first_ts: e.ts,
                        last_ts: e.ts,
                        request_frames: vec![e.frame],
                        reply: None,
                    }),
                }
            }
            Dir::ToClient => {
                if let Some(x) = out
                    .iter_mut()
                    .rev()
                    .take(PAIRING_SPAN)
                    .find(|x| x.reply.is_none() && x.client == e.client.ip() && same_path(x))
                {
                    x.reply = Some((e.frame, e.ts, m.clone()));
                }
            }
        }
    }
    out
}

/// DNS look-ups of addresses: the queries of one client for one name
/// (A and AAAA, and their retries) within [`LEAD`] of the first, with
/// the answers to them.
fn lookups(events: &[SideEvent]) -> Vec<Lookup> {
    let mut out: Vec<Lookup> = Vec::new();
    // (client socket, resolver, id) of each query, and its look-up.
    let mut asked: HashMap<(SocketAddr, SocketAddr, u16), usize> = HashMap::new();
    for e in events {
        let SideMessage::Dns(m) = &e.msg else {
            continue;
        };
        match e.dir {
            Dir::ToServer if m.asks_address() && !m.response => {
                let Some(name) = m.name.clone() else { continue };
                let from = out.len().saturating_sub(PAIRING_SPAN);
                let i = out[from..]
                    .iter()
                    .position(|l| {
                        l.client == e.client.ip()
                            && l.name == name
                            && e.ts.0 <= l.first_ts.0.saturating_add(LEAD.0)
                    })
                    .map(|i| i + from)
                    .unwrap_or_else(|| {
                        out.push(Lookup {
                            client: e.client.ip(),
                            resolver: e.server,
                            name,
                            first_ts: e.ts,
                            last_ts: e.ts,
                            query_frames: Vec::new(),
                            answer_frames: Vec::new(),
                            addresses: Vec::new(),
                            rcodes: Vec::new(),
                            tie: Tie::Alone,
                        });
                        out.len() - 1
                    });
                out[i].query_frames.push(e.frame);
                out[i].last_ts = e.ts;
                asked.insert((e.client, e.server, m.id), i);
            }
            Dir::ToClient if m.response => answer(&mut out, &asked, e, m),
            _ => {}
        }
    }
    out
}

fn answer(
    out: &mut [Lookup],
    asked: &HashMap<(SocketAddr, SocketAddr, u16), usize>,
    e: &SideEvent,
    m: &DnsMessage,
) {
    let Some(&i) = asked.get(&(e.client, e.server, m.id)) else {
        return;
    };
    let l = &mut out[i];
    l.answer_frames.push(e.frame);
    l.last_ts = l.last_ts.max(e.ts);
    l.rcodes.push(m.rcode);
    for a in &m.addresses {
        if !l.addresses.contains(a) {
            l.addresses.push(*a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::{at, TlBuilder};
    use crate::proto::neighbour::{DnsMessage, KrbMessage, Service};

    const CLIENT: &str = "10.0.0.5:40000";
    const DC: &str = "10.0.0.1:53";
    const KDC: &str = "10.0.0.1:88";

    fn ev(
        frame: u64,
        t: f64,
        dir: Dir,
        server: &str,
        service: Service,
        msg: SideMessage,
    ) -> SideEvent {
        SideEvent {
            frame,
            ts: at(t),
            client: CLIENT.parse().unwrap(),
            server: server.parse().unwrap(),
            dir,
            carrier: Carrier::Udp,
            service,
            msg,
        }
    }

    fn dns(frame: u64, t: f64, id: u16, name: &str, rcode: Option<u8>, addr: &[&str]) -> SideEvent {
        let m = DnsMessage {
            id,
            response: rcode.is_some(),
            rcode: Rcode(rcode.unwrap_or(0)),
            name: Some(name.into()),
            qtype: 1,
            addresses: addr.iter().map(|a| a.parse().unwrap()).collect(),
            more_addresses: 0,
            aliases: Vec::new(),
        };
        let dir = if rcode.is_some() {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        ev(frame, t, dir, DC, Service::Dns, SideMessage::Dns(m))
    }

    fn krb(frame: u64, t: f64, kind: KrbKind, service: &str, error: Option<i32>) -> SideEvent {
        let m = KrbMessage {
            kind,
            realm: "LAB.TEST".into(),
            service: Some(service.into()),
            client: Some("lab".into()),
            error: error.map(KrbErrorCode),
            etypes: Vec::new(),
            server_time: None,
            client_time: None,
        };
        let dir = match kind {
            KrbKind::AsReq | KrbKind::TgsReq => Dir::ToServer,
            _ => Dir::ToClient,
        };
        ev(
            frame,
            t,
            dir,
            KDC,
            Service::Kerberos,
            SideMessage::Kerberos(m),
        )
    }

    fn side(events: Vec<SideEvent>) -> Neighbours {
        Neighbours {
            events,
            ..Neighbours::default()
        }
    }

    /// A connection refused by the server at `t` (SYN, RST).
    fn refused(t: f64, first_frame: u64) -> (Timeline, Diagnosis) {
        let tl = TlBuilder::between("10.0.0.5:50123", "10.0.0.9:3389")
            .syn(first_frame, t)
            .rst_s(first_frame + 1, t + 0.001)
            .build();
        let d = crate::diagnose::diagnose(&tl);
        (tl, d)
    }

    #[test]
    fn a_search_suffix_nxdomain_beside_an_answer_is_no_failure() {
        // The resolver tried rdp.corp.example first (NXDOMAIN), then rdp.
        let s = side(vec![
            dns(1, 0.0, 1, "rdp.corp.example", None, &[]),
            dns(2, 0.01, 1, "rdp.corp.example", Some(3), &[]),
            dns(3, 0.02, 2, "rdp", None, &[]),
            dns(4, 0.03, 2, "rdp", Some(0), &["10.0.0.9"]),
        ]);
        let (tl, d) = refused(0.1, 5);
        let a = cross_attempts(&s, &[(&tl, &d)]);
        assert_eq!(a.len(), 1, "{a:?}");
        let with_tcp = &a[0];
        assert_eq!(with_tcp.parts.len(), 3);
        // Tied by the address the client connected to.
        assert!(with_tcp
            .parts
            .iter()
            .any(|p| matches!(p, Part::Dns(l) if l.tie == Tie::Address)));
        assert!(with_tcp.cause.is_none(), "{:?}", with_tcp.cause);
    }

    #[test]
    fn nxdomain_alone_names_the_look_up_as_the_cause_but_only_inferred() {
        let s = side(vec![
            dns(1, 0.0, 1, "nosuch.lab.test", None, &[]),
            dns(2, 0.01, 1, "nosuch.lab.test", Some(3), &[]),
        ]);
        let a = cross_attempts(&s, &[]);
        assert_eq!(a.len(), 1);
        let c = a[0].cause.as_ref().unwrap();
        assert_eq!(c.id, CauseId::DnsNameNotFound);
        // Nothing says the name was meant for Remote Desktop.
        assert_eq!(
            (c.basis, c.confidence),
            (Certainty::Inferred, Confidence::Low)
        );
        // With a ticket request for TERMSRV/ of the name, it is seen.
        let mut ev = s.events.clone();
        ev.push(krb(
            3,
            0.02,
            KrbKind::TgsReq,
            "TERMSRV/nosuch.lab.test",
            None,
        ));
        ev.push(krb(
            4,
            0.03,
            KrbKind::Error,
            "TERMSRV/nosuch.lab.test",
            Some(7),
        ));
        let a = cross_attempts(&side(ev), &[]);
        assert_eq!(a.len(), 1, "{a:?}");
        let c = a[0].cause.as_ref().unwrap();
        // The KDC's explicit error comes first.
        assert_eq!(c.id, CauseId::KerberosSpnUnknown);
        assert_eq!(c.confidence, Confidence::Medium);
    }

    #[test]
    fn preauth_required_and_a_recovered_error_are_no_cause() {
        let s = side(vec![
            krb(1, 0.0, KrbKind::AsReq, "krbtgt/LAB.TEST", None),
            krb(2, 0.01, KrbKind::Error, "krbtgt/LAB.TEST", Some(25)),
            krb(3, 0.02, KrbKind::AsReq, "krbtgt/LAB.TEST", None),
            krb(4, 0.03, KrbKind::Error, "krbtgt/LAB.TEST", Some(37)),
            // The client corrected its clock and asked again.
            krb(5, 0.04, KrbKind::AsReq, "krbtgt/LAB.TEST", None),
            krb(6, 0.05, KrbKind::AsRep, "krbtgt/LAB.TEST", None),
        ]);
        let (tl, d) = refused(1.0, 10);
        let a = cross_attempts(&s, &[(&tl, &d)]);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(a[0].parts.len(), 4);
        assert!(a[0].cause.is_none(), "{:?}", a[0].cause);
    }

    #[test]
    fn the_window_opens_ten_seconds_before_the_connection() {
        let s = side(vec![
            krb(1, 0.0, KrbKind::AsReq, "krbtgt/LAB.TEST", None),
            krb(2, 0.01, KrbKind::Error, "krbtgt/LAB.TEST", Some(24)),
        ]);
        // 9 s later: one attempt; the TCP connection failed in TCP, for a
        // cause of its own, so the KDC's error is not the attempt's.
        let (tl, d) = refused(9.0, 10);
        let a = cross_attempts(&s, &[(&tl, &d)]);
        assert_eq!(a.len(), 1);
        assert!(a[0].cause.is_none());
        // 11 s later: two attempts, the Kerberos one with its own cause.
        let (tl, d) = refused(11.0, 10);
        let a = cross_attempts(&s, &[(&tl, &d)]);
        assert_eq!(a.len(), 1, "the TCP-only attempt is not reported: {a:?}");
        assert_eq!(
            a[0].cause.as_ref().map(|c| c.id),
            Some(CauseId::KerberosPasswordWrong)
        );
        assert_eq!(
            a[0].cause.as_ref().map(|c| c.confidence),
            Some(Confidence::Low)
        );
    }

    #[test]
    fn one_unanswered_kerberos_request_is_no_silence_yet() {
        let one = side(vec![krb(1, 0.0, KrbKind::AsReq, "krbtgt/LAB.TEST", None)]);
        let a = cross_attempts(&one, &[]);
        assert!(a[0].cause.is_none(), "{:?}", a[0].cause);
        let two = side(vec![
            krb(1, 0.0, KrbKind::AsReq, "krbtgt/LAB.TEST", None),
            krb(2, 1.0, KrbKind::AsReq, "krbtgt/LAB.TEST", None),
        ]);
        let a = cross_attempts(&two, &[]);
        let c = a[0].cause.as_ref().unwrap();
        assert_eq!(
            (c.id, c.grounds),
            (CauseId::KerberosKdcUnreachable, Grounds::Silence)
        );
        assert!(c.confidence <= Confidence::Medium);
    }

    #[test]
    fn a_failed_look_up_beside_a_connection_of_the_client_is_no_attempt() {
        let s = side(vec![
            dns(1, 0.0, 1, "wpad.corp.example", None, &[]),
            dns(2, 0.01, 1, "wpad.corp.example", Some(3), &[]),
        ]);
        assert_eq!(cross_attempts(&s, &[]).len(), 1);
        let tl = TlBuilder::between("10.0.0.5:50123", "10.0.0.9:3389")
            .syn(3, 60.0)
            .rst_s(4, 60.001)
            .build();
        let d = crate::diagnose::diagnose(&tl);
        assert!(cross_attempts(&s, &[(&tl, &d)]).is_empty());
    }

    /// A connection of CLIENT's address to `server` from `t0` to `t1`.
    fn conn(stream: u64, server: &str, t0: f64, t1: f64, outcome: Outcome) -> TcpPart {
        TcpPart {
            stream,
            client: format!("10.0.0.5:{}", 50000 + stream).parse().unwrap(),
            server: server.parse().unwrap(),
            first_frame: stream * 100 + 1,
            first_ts: at(t0),
            last_frame: stream * 100 + 50,
            last_ts: at(t1),
            outcome,
            phase: if outcome == Outcome::Failed {
                Phase::Tls
            } else {
                Phase::Session
            },
            cause: (outcome == Outcome::Failed).then_some(CauseId::ClientAborted),
            confidence: (outcome == Outcome::Failed).then_some(Confidence::Medium),
            routing_token: None,
            rdstls_offered: None,
            redirection: None,
        }
    }

    fn leg(t0: f64, token: &str) -> TcpPart {
        let mut l = conn(1, "10.0.0.23:3389", t0, t0 + 0.1, Outcome::Failed);
        l.routing_token = Some((103, token.into()));
        l
    }

    fn grouped(parts: Vec<TcpPart>) -> Vec<CrossAttempt> {
        let conns: Vec<TcpSummary> = parts
            .into_iter()
            .map(|part| TcpSummary {
                part,
                names: Vec::new(),
            })
            .collect();
        cross_attempts_of(&Neighbours::default(), conns, Vec::new(), &[])
    }

    const TOKEN: &str = "Cookie: msts=392442822.15629.0000";

    #[test]
    fn a_leg_with_a_routing_token_joins_the_connection_it_was_sent_from() {
        let broker = conn(0, "10.0.0.21:3389", 0.0, 3.5, Outcome::Established);
        let a = grouped(vec![broker.clone(), leg(4.0, TOKEN)]);
        assert_eq!(a.len(), 1, "{a:?}");
        let kinds: Vec<&str> = a[0].parts.iter().map(|p| p.kind()).collect();
        assert_eq!(kinds, ["tcp", "tcp"]);
        let c = a[0].cause.as_ref().expect("a cause");
        assert_eq!(c.id, CauseId::RedirectFailed);
        // The broker's token implies the redirection; no PDU was read.
        assert_eq!(
            (c.basis, c.confidence),
            (Certainty::Implied, Confidence::Medium)
        );
        let frames: Vec<u64> = c.evidence.iter().map(|e| e.frame).collect();
        assert_eq!(frames, [50, 103, 150]);
        // A leg whose target name took the DNS client's retries (the
        // fourth query goes out at 8 s) still joins: 9 s after the close.
        let late = grouped(vec![broker.clone(), leg(3.5 + 9.0, TOKEN)]);
        assert_eq!(late.len(), 1, "{late:?}");
        assert_eq!(late[0].parts.len(), 2);
        // Past the window the leg stands alone and nothing is claimed.
        assert!(grouped(vec![broker.clone(), leg(3.5 + 10.5, TOKEN)]).is_empty());
        // Without a routing token a second server is only a second server.
        let mut plain = leg(4.0, TOKEN);
        plain.routing_token = None;
        assert!(grouped(vec![broker, plain]).is_empty());
    }

    #[test]
    fn a_redirection_pdu_naming_the_leg_makes_it_seen_but_never_above_the_leg() {
        let mut broker = conn(0, "10.0.0.21:3389", 0.0, 3.5, Outcome::Benign);
        broker.redirection = Some((40, Some("10.0.0.23".into())));
        let mut l = leg(4.0, TOKEN);
        l.confidence = Some(Confidence::High);
        let a = grouped(vec![broker.clone(), l.clone()]);
        let c = a[0].cause.as_ref().unwrap();
        assert_eq!((c.basis, c.confidence), (Certainty::Seen, Confidence::High));
        assert!(c.evidence.iter().any(|e| e.frame == 40));
        l.confidence = Some(Confidence::Low);
        let a = grouped(vec![broker.clone(), l]);
        assert_eq!(a[0].cause.as_ref().unwrap().confidence, Confidence::Low);
        // A token of no broker's format: inferred, low.
        let a = grouped(vec![
            conn(0, "10.0.0.21:3389", 0.0, 3.5, Outcome::Established),
            leg(4.0, "Cookie: lb=farm1"),
        ]);
        let c = a[0].cause.as_ref().unwrap();
        assert_eq!(
            (c.basis, c.confidence),
            (Certainty::Inferred, Confidence::Low)
        );
        // No token, PROTOCOL_RDSTLS offered: inferred, low, the offer cited.
        let mut rdstls = leg(4.0, TOKEN);
        rdstls.routing_token = None;
        rdstls.rdstls_offered = Some(103);
        let a = grouped(vec![
            conn(0, "10.0.0.21:3389", 0.0, 3.5, Outcome::Established),
            rdstls,
        ]);
        let c = a[0].cause.as_ref().unwrap();
        assert_eq!(
            (c.basis, c.confidence),
            (Certainty::Inferred, Confidence::Low)
        );
        assert!(c
            .evidence
            .iter()
            .any(|e| e.frame == 103 && e.clue.kind() == "x224.rdstls_offered"));
        // A leg that succeeded: one attempt, no cause.
        let mut ok = leg(4.0, TOKEN);
        ok.outcome = Outcome::Established;
        let a = grouped(vec![broker, ok]);
        assert_eq!(a.len(), 1);
        assert!(a[0].cause.is_none());
    }

    #[test]
    fn names_match_their_short_form_only_at_a_label() {
        assert!(same_host("rdp.lab.test", "RDP"));
        assert!(same_host("rdp.lab.test.", "rdp.lab.test"));
        assert!(!same_host("rdp.lab.test", "rd"));
        assert!(!same_host("rdp2.lab.test", "rdp.lab.test"));
    }

    /// Connections of many kinds: IPv4 and IPv6, every outcome, with and
    /// without a routing token, an RDSTLS offer, a redirection, names.
    fn assorted() -> Vec<TcpSummary> {
        let outcomes = [
            Outcome::Established,
            Outcome::Failed,
            Outcome::Incomplete,
            Outcome::Benign,
            Outcome::NotRdp,
        ];
        (0..200u64)
            .map(|i| {
                let mut part = conn(
                    i,
                    if i % 3 == 0 {
                        "[2001:db8::9]:3389"
                    } else {
                        "10.0.0.9:3389"
                    },
                    i as f64,
                    i as f64 + 0.5,
                    outcomes[i as usize % outcomes.len()],
                );
                part.client = if i % 4 == 0 {
                    format!("[2001:db8::{:x}]:{}", i % 7, 40000 + i)
                        .parse()
                        .unwrap()
                } else {
                    format!("10.1.0.{}:{}", i % 7, 40000 + i).parse().unwrap()
                };
                if i % 5 == 0 {
                    part.routing_token = Some((i * 100 + 3, format!("Cookie: msts={i}")));
                }
                if i % 6 == 0 {
                    part.rdstls_offered = Some(i * 100 + 3);
                }
                if i % 11 == 0 {
                    part.redirection =
                        Some((i * 100 + 9, (i % 2 == 0).then(|| "t.example".into())));
                }
                let names = if i % 2 == 0 {
                    vec![format!("host{}.example", i % 5), "rds.example".into()]
                } else {
                    Vec::new()
                };
                TcpSummary { part, names }
            })
            .collect()
    }

    #[test]
    fn summaries_read_back_are_the_summaries_kept() {
        let kept = assorted();
        let mut s: TcpSummaries = kept.clone().into();
        assert_eq!(s.len(), kept.len());
        let mut back: Vec<TcpSummary> = Vec::new();
        s.for_each_row(&mut |s, i, r| back.push(s.summary(i, r)));
        assert_eq!(back.len(), kept.len());
        for (b, k) in back.iter().zip(&kept) {
            assert_eq!(b.part, k.part);
            assert_eq!(b.names, k.names);
        }
        // Each distinct address and verdict once: 7 + 7 clients and 2
        // servers; 5 outcomes, each with its phase and cause.
        assert_eq!(s.distinct(), (16, 5));
    }

    #[test]
    fn only_the_clients_named_are_read_back() {
        let kept = assorted();
        let mut s: TcpSummaries = kept.clone().into();
        let one: IpAddr = "10.1.0.3".parse().unwrap();
        let back = s.of_clients(&[one].into_iter().collect());
        let expected: Vec<u64> = kept
            .iter()
            .filter(|k| k.part.client.ip() == one)
            .map(|k| k.part.stream)
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            back.iter().map(|b| b.part.stream).collect::<Vec<u64>>(),
            expected
        );
        assert_eq!(s.clients().len(), 14);
        let marked: HashSet<IpAddr> = s.marked_clients().into_iter().collect();
        let expected: HashSet<IpAddr> = kept
            .iter()
            .filter(|k| k.part.redirect_marked())
            .map(|k| k.part.client.ip())
            .collect();
        assert_eq!(marked, expected);
        assert!(s.redirect_marked());
    }

    /// Many connections of many clients, some with a redirected leg's
    /// mark, and the client of the neighbours' messages (10.0.0.5)
    /// connecting now and then: from the first connection, which goes to
    /// the temporary file, to the last.
    fn many() -> Vec<TcpSummary> {
        let kept = assorted();
        (0..(5 * CHUNK as u64))
            .map(|i| {
                let mut s = kept[i as usize % kept.len()].clone();
                s.part.stream = i;
                s.part.first_frame = i * 100 + 1;
                s.part.last_frame = i * 100 + 50;
                s.part.first_ts = at(i as f64 * 0.01);
                s.part.last_ts = at(i as f64 * 0.01 + 0.005);
                if i % 997 == 0 {
                    s.part.client = format!("10.0.0.5:{}", 40000 + i % 20000).parse().unwrap();
                    s.part.server = "10.0.0.9:3389".parse().unwrap();
                } else {
                    let c = i % 3000;
                    s.part.client = SocketAddr::new(
                        IpAddr::V4(std::net::Ipv4Addr::new(10, 2, (c >> 8) as u8, c as u8)),
                        s.part.client.port(),
                    );
                }
                s
            })
            .collect()
    }

    /// The neighbours' messages of 10.0.0.5 about 10.0.0.9: a look-up and
    /// a Kerberos exchange before its first connection (spilled), and
    /// another look-up near its last (in memory).
    fn around_many() -> Neighbours {
        let last = (5 * CHUNK as u64 - 1) / 997 * 997;
        let t = last as f64 * 0.01;
        side(vec![
            dns(1, -1.0, 1, "rdp.example", None, &[]),
            dns(2, -0.99, 1, "rdp.example", Some(0), &["10.0.0.9"]),
            krb(3, -0.5, KrbKind::TgsReq, "TERMSRV/rdp.example", None),
            krb(4, -0.49, KrbKind::TgsRep, "TERMSRV/rdp.example", None),
            dns(last * 100 - 2, t - 0.5, 2, "rdp.example", None, &[]),
            dns(
                last * 100 - 1,
                t - 0.49,
                2,
                "rdp.example",
                Some(0),
                &["10.0.0.9"],
            ),
        ])
    }

    #[test]
    fn summaries_past_the_bound_stay_bounded_in_memory_and_give_the_same_attempts() {
        let conns = many();
        let mut s = TcpSummaries::with_bound(1);
        for (i, c) in conns.iter().enumerate() {
            s.push(c.clone());
            // One full chunk and the one being filled, whatever the count.
            assert!(s.rows_in_memory() <= 2 * CHUNK, "{i}");
            assert_eq!(s.rows_in_memory() + s.rows_spilled(), i + 1);
        }
        assert_eq!(s.rows_spilled(), 3 * CHUNK);
        // Every row comes back as it went in, in order.
        let mut back = Vec::new();
        s.for_each_row(&mut |s, i, r| back.push(s.summary(i, r)));
        assert!(s.fault().is_none(), "{:?}", s.fault());
        assert_eq!(back.len(), conns.len());
        for (b, k) in back.iter().zip(&conns) {
            assert_eq!(b.part, k.part);
            assert_eq!(b.names, k.names);
        }
        // The oracle: the same summaries, all kept in memory.
        let side = around_many();
        let in_memory = cross_attempts_of(&side, conns.clone(), Vec::new(), &[]);
        let spilled = TcpSummaries::with_bound(1);
        let spilled = conns.into_iter().fold(spilled, |mut s, c| {
            s.push(c);
            s
        });
        assert!(spilled.rows_spilled() > 0);
        let (attempts, fault) = cross_attempts_kept(&side, spilled, Vec::new(), &[]);
        assert!(fault.is_none(), "{fault:?}");
        assert!(
            attempts.iter().any(|a| a.client.to_string() == "10.0.0.5"),
            "{attempts:#?}"
        );
        // The look-up before the first connection (read back from the
        // file) joined it.
        let first = attempts
            .iter()
            .flat_map(|a| &a.parts)
            .any(|p| matches!(p, Part::Tcp(t) if t.stream == 0));
        assert!(first, "{attempts:#?}");
        assert_eq!(format!("{attempts:?}"), format!("{in_memory:?}"));
    }

    #[test]
    fn a_temporary_file_that_cannot_be_made_keeps_the_rows_in_memory_and_says_so() {
        let conns = many();
        let nowhere = std::env::temp_dir().join("rdptriage-no-such-directory/below");
        let mut s = TcpSummaries::with_bound(1).in_dir(nowhere);
        for c in conns.iter().cloned() {
            s.push(c);
        }
        assert_eq!(s.rows_spilled(), 0);
        assert_eq!(s.rows_in_memory(), conns.len());
        let fault = s.fault().map(|f| f.to_string()).unwrap_or_default();
        assert!(fault.contains("kept in memory"), "{fault}");
        let side = around_many();
        let (attempts, fault) = cross_attempts_kept(&side, s, Vec::new(), &[]);
        assert!(matches!(fault, Some(SummaryFault::Write(_))), "{fault:?}");
        let in_memory = cross_attempts_of(&side, conns, Vec::new(), &[]);
        assert_eq!(format!("{attempts:?}"), format!("{in_memory:?}"));
    }
}
