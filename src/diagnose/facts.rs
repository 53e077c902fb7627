//! Facts read once from a timeline for the rules, which see nothing else:
//! the packets that can end a connection, retransmissions, windows, gaps,
//! keep-alives, ICMP errors, the connection's place and times (`Conn`) and
//! what its clear-text protocol messages say (`Proto`).
use super::evidence::Clue;
use super::spare;
use super::{Evidence, Party};
use crate::common::{Dir, Duration, Endpoints, Timestamp};
use crate::flow::{Gap, GapKind, RoleSource, TcpEventKind};
use crate::packet::IcmpError;
use crate::proto::cert::CertInfo;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::mcs::{McsEvent, ServerCertificate, ServerSecurity};
use crate::proto::tls::{alert_name, ClientHello, TlsEvent};
use crate::proto::x224::{ConnectionConfirm, ConnectionRequest, NegFailureCode, X224Event};
use crate::proto::{NlaEvent, ProtoEvent, StopReason};
use crate::timeline::{DirSummary, Event, EventKind, Timeline};
use std::cell::Cell;
use std::fmt;

/// The party sending in a direction.
pub fn party(dir: Dir) -> Party {
    match dir {
        Dir::ToServer => Party::Client,
        Dir::ToClient => Party::Server,
    }
}

/// A packet that ends (or announces the end of) a connection.
#[derive(Clone, Debug, PartialEq)]
pub enum TermKind {
    Rst {
        ttl: u8,
        ip_id: Option<u16>,
        /// The sender's usual TTL and how many packets carry it, when this
        /// RST's TTL is not it: a device on the path forged it.
        forged: Option<(u8, u64)>,
    },
    Fin,
    /// A clear-text TLS alert.
    Alert {
        level: u8,
        description: u8,
    },
    /// An encrypted alert (after ChangeCipherSpec).
    EncryptedAlert,
    /// An encrypted alert that decryption read: seen, with its level and
    /// description. A fatal one ends the connection; close_notify (0)
    /// announces a close as an unread encrypted alert does.
    DecryptedAlert {
        level: u8,
        description: u8,
    },
    /// An encrypted alert that the other side answered by closing: the
    /// sender began a graceful close (a close_notify, RFC 8446 6.1).
    CloseNotify,
    Icmp(IcmpError),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub frame: u64,
    pub ts: Timestamp,
    pub dir: Dir,
    pub kind: TermKind,
}

impl Term {
    pub fn is_rst(&self) -> bool {
        matches!(self.kind, TermKind::Rst { .. })
    }
    pub fn is_close(&self) -> bool {
        matches!(self.kind, TermKind::Rst { .. } | TermKind::Fin)
    }
    /// A FIN or RST, or a close_notify the other side answered by closing.
    pub fn closes(&self) -> bool {
        self.is_close() || matches!(self.kind, TermKind::CloseNotify)
    }
    /// A close, or an encrypted alert standing for one.
    pub fn ends(&self) -> bool {
        self.is_close()
            || matches!(
                self.kind,
                TermKind::EncryptedAlert | TermKind::CloseNotify | TermKind::DecryptedAlert { .. }
            )
    }
    /// An alert that only announces a close (an unread encrypted alert, a
    /// clear close_notify, a decrypted alert that is not fatal: RFC 8446
    /// 6.1-6.2, a warning alert does not end the connection) rather than
    /// ending the connection itself.
    pub fn announces_close(&self) -> bool {
        match self.kind {
            TermKind::EncryptedAlert | TermKind::Alert { description: 0, .. } => true,
            TermKind::DecryptedAlert { level, .. } => level != 2,
            _ => false,
        }
    }
    /// e.g. `RST from server (TTL 128)`, `FIN from client`,
    /// `TLS alert handshake_failure (40) from server`.
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

/// What [`Term::describe`] says, written straight into an evidence
/// sentence.
impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.dir.sender();
        match &self.kind {
            TermKind::Rst { ttl, .. } => write!(f, "RST from {who} (TTL {ttl})"),
            TermKind::Fin => write!(f, "FIN from {who}"),
            TermKind::Alert { level, description } => write!(
                f,
                "{} TLS alert {} ({description}) from {who}",
                if *level == 2 { "fatal" } else { "warning" },
                alert_name(*description)
            ),
            TermKind::EncryptedAlert => write!(f, "encrypted TLS alert from {who}"),
            TermKind::DecryptedAlert { level, description } => write!(
                f,
                "{} TLS alert {} ({description}) from {who}, decrypted",
                if *level == 2 { "fatal" } else { "warning" },
                alert_name(*description)
            ),
            TermKind::CloseNotify => write!(
                f,
                "encrypted TLS alert (close_notify) from {who}, answered by the {}'s close",
                self.dir.reverse().sender()
            ),
            TermKind::Icmp(i) => write!(f, "ICMP {} quoting the {who}'s packet", i.describe()),
        }
    }
}

/// A retransmitted segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rtx {
    pub frame: u64,
    pub ts: Timestamp,
    pub dir: Dir,
    pub offset: u64,
    pub len: u32,
}

/// Where and when the connection ran, and what each direction carried
/// (the timeline's summaries, borrowed).
#[derive(Clone, Debug)]
pub struct Conn<'a> {
    pub endpoints: Endpoints,
    pub first_ts: Timestamp,
    pub last_frame: u64,
    pub last_ts: Timestamp,
    /// The last packet of the whole capture: how long it went on.
    pub capture_end: Timestamp,
    dirs: &'a [DirSummary; 2],
    /// The longest silence and the frame that ended it.
    pub max_idle: Option<(Duration, u64)>,
    /// When the first event at or after the frame that ended the longest
    /// silence happened.
    pub idle_resumed: Option<Timestamp>,
    /// TCP events not kept (the per-connection bound).
    pub events_dropped: u64,
}

impl<'a> Conn<'a> {
    fn of(tl: &'a Timeline) -> Conn<'a> {
        Conn {
            endpoints: tl.endpoints,
            first_ts: tl.first_ts,
            last_frame: tl.last_frame,
            last_ts: tl.last_ts,
            capture_end: tl.capture_end,
            dirs: &tl.dirs,
            max_idle: tl.max_idle,
            idle_resumed: tl
                .max_idle
                .and_then(|(_, fr)| tl.events.iter().find(|e| e.frame >= fr))
                .map(|e| e.ts),
            events_dropped: tl.events_dropped,
        }
    }

    pub fn dir(&self, d: Dir) -> &DirSummary {
        &self.dirs[d.index()]
    }
}

/// A protocol fact with its place: frame, time, sender.
#[derive(Clone, Debug, PartialEq)]
pub struct At<T> {
    pub frame: u64,
    pub ts: Timestamp,
    pub dir: Dir,
    pub what: T,
}

impl<T> At<T> {
    fn of(e: &Event, what: T) -> At<T> {
        At {
            frame: e.frame,
            ts: e.ts,
            dir: e.dir,
            what,
        }
    }
}

/// What the clear-text protocol messages say, read once (the messages
/// themselves borrowed from the timeline).
#[derive(Clone, Debug, Default)]
pub struct Proto<'a> {
    pub request: Option<At<&'a ConnectionRequest>>,
    /// The first RDP_NEG_FAILURE.
    pub neg_failure: Option<At<NegFailureCode>>,
    pub client_hello: Option<At<&'a ClientHello>>,
    pub server_hello: Option<At<()>>,
    /// The server's certificate chain, leaf first (TLS, or the GCC
    /// security data).
    pub certificates: Option<At<&'a [CertInfo]>>,
    pub credssp_legs: Vec<At<CredsspLeg>>,
    /// The sentence on what the client offered and the server chose.
    pub negotiation: Option<String>,
    /// Where decoding of a direction stopped, and why.
    pub decode_stops: Vec<At<StopReason>>,
    /// Whether any protocol message was decoded from each direction (by
    /// `Dir::index`).
    pub decoded_from: [bool; 2],
}

impl<'a> Proto<'a> {
    fn of(tl: &'a Timeline) -> Proto<'a> {
        // A connection with no protocol message (a refused or unanswered
        // SYN, a port scan: most of a scan's connections) has none of
        // these facts: its events are not searched nine times for them.
        if !tl
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Proto(_)))
        {
            return Proto::default();
        }
        Self::read(tl)
    }

    /// [`Proto::of`] in one pass over the protocol events (they were
    /// searched once a fact, nine times: [`Proto::read_each`]).
    fn read(tl: &'a Timeline) -> Proto<'a> {
        let mut p = Proto::default();
        let mut confirm = None;
        for (e, ev) in tl.proto_events() {
            p.decoded_from[e.dir.index()] = true;
            match ev {
                ProtoEvent::X224(X224Event::ConnectionRequest(r)) => {
                    p.request = p.request.take().or_else(|| Some(At::of(e, r)));
                }
                ProtoEvent::X224(X224Event::ConnectionConfirm(c)) => {
                    confirm = confirm.or(Some(c));
                    if let ConnectionConfirm::Failure { code } = c {
                        p.neg_failure = p.neg_failure.take().or_else(|| Some(At::of(e, *code)));
                    }
                }
                ProtoEvent::Tls(t) => p.note_tls(e, t),
                ProtoEvent::Mcs(McsEvent::ConnectResponse(g)) => {
                    if let Some(ServerSecurity {
                        certificate: Some(ServerCertificate::X509(c)),
                        ..
                    }) = &g.security
                    {
                        p.note_certificates(e, c);
                    }
                }
                ProtoEvent::Credssp(CredsspEvent::Leg { leg, .. }) => {
                    p.credssp_legs.push(At::of(e, *leg));
                }
                ProtoEvent::Stopped { why } => p.decode_stops.push(At::of(e, why.clone())),
                _ => {}
            }
        }
        p.negotiation =
            super::negotiation::negotiation_of(p.request.as_ref().map(|r| r.what), confirm);
        p
    }

    /// The first ClientHello, ServerHello and server Certificate.
    fn note_tls(&mut self, e: &Event, t: &'a TlsEvent) {
        match t {
            TlsEvent::ClientHello(h) if self.client_hello.is_none() => {
                self.client_hello = Some(At::of(e, &**h));
            }
            TlsEvent::ServerHello(_) if self.server_hello.is_none() => {
                self.server_hello = Some(At::of(e, ()));
            }
            TlsEvent::Certificate(c) if e.dir == Dir::ToClient => self.note_certificates(e, c),
            _ => {}
        }
    }

    /// The first chain of the server ([`Timeline::certificates`]).
    fn note_certificates(&mut self, e: &Event, chain: &'a [CertInfo]) {
        if self.certificates.is_none() {
            self.certificates = Some(At::of(e, chain));
        }
    }

    /// [`Proto::of`] by searching the events for each fact: the oracle
    /// of the one pass.
    #[cfg(test)]
    fn read_each(tl: &'a Timeline) -> Proto<'a> {
        Proto {
            request: tl.connection_request().map(|(e, r)| At::of(e, r)),
            neg_failure: tl.proto_events().find_map(|(e, p)| match p {
                ProtoEvent::X224(X224Event::ConnectionConfirm(ConnectionConfirm::Failure {
                    code,
                })) => Some(At::of(e, *code)),
                _ => None,
            }),
            client_hello: tl.client_hello().map(|(e, h)| At::of(e, h)),
            server_hello: tl.server_hello().map(|(e, _)| At::of(e, ())),
            certificates: tl.certificates().map(|(e, c)| At::of(e, c)),
            credssp_legs: tl.credssp_legs().map(|(e, l)| At::of(e, l)).collect(),
            negotiation: super::negotiation(tl),
            decode_stops: tl
                .proto_events()
                .filter_map(|(e, p)| match p {
                    ProtoEvent::Stopped { why } => Some(At::of(e, why.clone())),
                    _ => None,
                })
                .collect(),
            decoded_from: [Dir::ToServer, Dir::ToClient]
                .map(|d| tl.proto_events().any(|(e, _)| e.dir == d)),
        }
    }
}

impl Proto<'_> {
    /// The server's leaf certificate with its place.
    pub fn leaf_cert(&self) -> Option<(u64, &CertInfo)> {
        let c = self.certificates.as_ref()?;
        c.what.first().map(|l| (c.frame, l))
    }
}

#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub conn: Conn<'a>,
    pub proto: Proto<'a>,
    pub terms: Vec<Term>,
    pub rtx: Vec<Rtx>,
    /// SYN events (frame, ts, retransmission).
    pub syns: Vec<(u64, Timestamp)>,
    pub synacks: Vec<(u64, Timestamp)>,
    pub gaps: Vec<(Dir, Gap)>,
    /// Zero-window episodes: (dir, first frame, start, end or None if the
    /// window never opened again).
    pub zero_windows: Vec<(Dir, u64, Timestamp, Option<Timestamp>)>,
    pub keepalives: Vec<(u64, Timestamp, Dir)>,
    pub dupacks: Vec<(u64, Timestamp, Dir)>,
    pub out_of_order: Vec<(u64, Timestamp, Dir, u32)>,
    pub mid_stream: Option<u64>,
    /// The first NotRdp event: frame, time, direction, why.
    pub not_rdp: Option<(u64, Timestamp, Dir, String)>,
    /// Zero-window probes: frame, sender.
    pub zero_window_probes: Vec<(u64, Dir)>,
    /// The frame of the last event from each direction (by `Dir::index`).
    pub last_event: [Option<u64>; 2],
    /// Frames where a side showed it was alive in a way that answers the
    /// other side's keep-alives (a keep-alive ACK or a protocol message),
    /// with that side's direction.
    pub signs_of_life: Vec<(u64, Dir)>,
    /// Clear-text MCS PDUs, in order.
    pub mcs: Vec<At<McsEvent>>,
    /// X.224 Disconnect Requests: reason.
    pub x224_disconnects: Vec<At<u8>>,
    /// Decrypted NLA messages, in order.
    pub nla: Vec<At<NlaEvent>>,
}

// The lists most connections fill (a SYN, its answer, the packet that
// ends it, a protocol message), kept per thread between connections.
thread_local! {
    static SYNS: Cell<Vec<(u64, Timestamp)>> = const { Cell::new(Vec::new()) };
    static SYNACKS: Cell<Vec<(u64, Timestamp)>> = const { Cell::new(Vec::new()) };
    static TERMS: Cell<Vec<Term>> = const { Cell::new(Vec::new()) };
    static SIGNS_OF_LIFE: Cell<Vec<(u64, Dir)>> = const { Cell::new(Vec::new()) };
}

impl Drop for Facts<'_> {
    fn drop(&mut self) {
        spare::give(&SYNS, std::mem::take(&mut self.syns));
        spare::give(&SYNACKS, std::mem::take(&mut self.synacks));
        spare::give(&TERMS, std::mem::take(&mut self.terms));
        spare::give(&SIGNS_OF_LIFE, std::mem::take(&mut self.signs_of_life));
    }
}

impl<'a> Facts<'a> {
    /// The facts of a timeline, in one call (tests; `diagnose` builds
    /// them in place).
    #[cfg(test)]
    pub fn build(tl: &'a Timeline) -> Facts<'a> {
        let mut f = Facts::unread(tl);
        f.read_events(tl);
        f
    }

    /// The facts before the events are read: the connection's summaries
    /// and protocol messages, and empty lists. Then
    /// [`Facts::read_events`]: `Facts::build` in two steps, so that a
    /// caller builds the facts (816 bytes) in place, where returned whole
    /// they were copied out twice.
    pub fn unread(tl: &'a Timeline) -> Facts<'a> {
        Facts {
            conn: Conn::of(tl),
            proto: Proto::of(tl),
            terms: spare::take(&TERMS),
            rtx: Vec::new(),
            syns: spare::take(&SYNS),
            synacks: spare::take(&SYNACKS),
            gaps: Vec::new(),
            zero_windows: Vec::new(),
            keepalives: Vec::new(),
            dupacks: Vec::new(),
            out_of_order: Vec::new(),
            mid_stream: None,
            not_rdp: None,
            zero_window_probes: Vec::new(),
            last_event: [None, None],
            signs_of_life: spare::take(&SIGNS_OF_LIFE),
            mcs: Vec::new(),
            x224_disconnects: Vec::new(),
            nla: Vec::new(),
        }
    }

    /// Read the timeline's events into the lists of [`Facts::unread`].
    pub fn read_events(&mut self, tl: &'a Timeline) {
        let f = self;
        let mut zw_open: [Option<(u64, Timestamp)>; 2] = [None, None];
        let mut decrypted_alerts: Vec<Term> = Vec::new();
        for e in &tl.events {
            f.last_event[e.dir.index()] = Some(e.frame);
            match &e.kind {
                EventKind::Tcp(TcpEventKind::KeepAliveAck) | EventKind::Proto(_) => {
                    f.signs_of_life.push((e.frame, e.dir))
                }
                _ => {}
            }
            match &e.kind {
                EventKind::Tcp(t) => match t {
                    TcpEventKind::Syn { .. } if e.dir == Dir::ToServer => {
                        f.syns.push((e.frame, e.ts))
                    }
                    TcpEventKind::SynAck { .. } if e.dir == Dir::ToClient => {
                        f.synacks.push((e.frame, e.ts))
                    }
                    TcpEventKind::Rst { ttl, ip_id, .. } => f.terms.push(Term {
                        frame: e.frame,
                        ts: e.ts,
                        dir: e.dir,
                        kind: TermKind::Rst {
                            ttl: *ttl,
                            ip_id: *ip_id,
                            forged: forged(tl.dir(e.dir), *ttl),
                        },
                    }),
                    TcpEventKind::Fin => f.terms.push(Term {
                        frame: e.frame,
                        ts: e.ts,
                        dir: e.dir,
                        kind: TermKind::Fin,
                    }),
                    TcpEventKind::Icmp(i) => f.terms.push(Term {
                        frame: e.frame,
                        ts: e.ts,
                        dir: e.dir,
                        kind: TermKind::Icmp(*i),
                    }),
                    TcpEventKind::Retransmission { offset, len } => f.rtx.push(Rtx {
                        frame: e.frame,
                        ts: e.ts,
                        dir: e.dir,
                        offset: *offset,
                        len: *len,
                    }),
                    TcpEventKind::OutOfOrder { len, .. } => {
                        f.out_of_order.push((e.frame, e.ts, e.dir, *len))
                    }
                    TcpEventKind::DupAck { .. } => f.dupacks.push((e.frame, e.ts, e.dir)),
                    TcpEventKind::KeepAlive => f.keepalives.push((e.frame, e.ts, e.dir)),
                    TcpEventKind::ZeroWindow => {
                        let slot = &mut zw_open[e.dir.index()];
                        if slot.is_none() {
                            *slot = Some((e.frame, e.ts));
                        }
                    }
                    TcpEventKind::WindowUpdate { .. } => {
                        if let Some((fr, ts)) = zw_open[e.dir.index()].take() {
                            f.zero_windows.push((e.dir, fr, ts, Some(e.ts)));
                        }
                    }
                    TcpEventKind::Gap(g) => f.gaps.push((e.dir, *g)),
                    TcpEventKind::ZeroWindowProbe => f.zero_window_probes.push((e.frame, e.dir)),
                    TcpEventKind::MidStream => {
                        f.mid_stream.get_or_insert(e.frame);
                    }
                    _ => {}
                },
                EventKind::Proto(p) => match p {
                    ProtoEvent::Tls(TlsEvent::Alert { level, description }) => f.terms.push(Term {
                        frame: e.frame,
                        ts: e.ts,
                        dir: e.dir,
                        kind: TermKind::Alert {
                            level: *level,
                            description: *description,
                        },
                    }),
                    ProtoEvent::Tls(TlsEvent::EncryptedAlert { .. }) => f.terms.push(Term {
                        frame: e.frame,
                        ts: e.ts,
                        dir: e.dir,
                        kind: TermKind::EncryptedAlert,
                    }),
                    ProtoEvent::Tls(TlsEvent::DecryptedAlert { level, description }) => {
                        decrypted_alerts.push(Term {
                            frame: e.frame,
                            ts: e.ts,
                            dir: e.dir,
                            kind: TermKind::DecryptedAlert {
                                level: *level,
                                description: *description,
                            },
                        })
                    }
                    ProtoEvent::NotRdp { why } if f.not_rdp.is_none() => {
                        f.not_rdp = Some((e.frame, e.ts, e.dir, why.clone()))
                    }
                    ProtoEvent::Mcs(m) => f.mcs.push(At::of(e, m.clone())),
                    ProtoEvent::Nla(n) => f.nla.push(At::of(e, n.clone())),
                    ProtoEvent::X224(X224Event::DisconnectRequest { reason }) => {
                        f.x224_disconnects.push(At::of(e, *reason))
                    }
                    _ => {}
                },
            }
        }
        // A decrypted alert is what the encrypted alert of its record (same
        // frame, same sender) hid: it takes that alert's place.
        for t in decrypted_alerts {
            match f.terms.iter_mut().find(|x| {
                x.frame == t.frame && x.dir == t.dir && x.kind == TermKind::EncryptedAlert
            }) {
                Some(x) => x.kind = t.kind,
                None => {
                    let at = f.terms.partition_point(|x| x.frame <= t.frame);
                    f.terms.insert(at, t);
                }
            }
        }
        for (i, open) in zw_open.iter().enumerate() {
            if let Some((fr, ts)) = open {
                let dir = if i == 0 { Dir::ToServer } else { Dir::ToClient };
                f.zero_windows.push((dir, *fr, *ts, None));
            }
        }
        if f.mid_stream.is_none()
            && !tl.events.is_empty()
            && (tl.roles != RoleSource::Syn || f.syns.is_empty())
        {
            f.mid_stream = Some(tl.first_frame);
        }
    }

    /// The first packet at or after `frame` that ends the connection: a RST,
    /// FIN, a clear-text alert other than close_notify, a decrypted fatal
    /// alert, or an ICMP error. Encrypted alerts, close_notify and other
    /// non-fatal decrypted alerts announce a close by the same side and
    /// are skipped (they are shown as evidence by the caller).
    pub fn first_term_from(&self, frame: u64) -> Option<&Term> {
        self.terms
            .iter()
            .find(|t| t.frame >= frame && !t.announces_close())
    }

    /// An encrypted alert or close_notify at or after `frame` (when no other
    /// ending exists it is the ending).
    pub fn soft_alert_from(&self, frame: u64) -> Option<&Term> {
        self.terms
            .iter()
            .find(|t| t.frame >= frame && t.announces_close())
    }

    /// Capture-loss gaps at or after `frame`.
    pub fn capture_loss_from(&self, frame: u64) -> Vec<(Dir, Gap)> {
        self.gaps
            .iter()
            .filter(|(_, g)| g.kind == GapKind::CaptureLoss && g.frame >= frame)
            .copied()
            .collect()
    }
}

/// A RST with TTL `ttl` whose sender's other packets (at least two) have
/// another usual TTL: (usual TTL, packets with it).
fn forged(d: &DirSummary, ttl: u8) -> Option<(u8, u64)> {
    let usual = d.usual_ttl()?;
    let count = |v: u8| {
        d.ttls
            .iter()
            .find(|(x, _)| *x == v)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let n = count(usual);
    // Two TTL populations of similar size are two paths or two capture
    // points (every packet seen twice), not a forger.
    let same_as_rst = count(ttl);
    let two_populations = same_as_rst >= 2 && same_as_rst * 2 >= n;
    (usual != ttl && n >= 2 && !two_populations).then_some((usual, n))
}

/// Human duration between two times (`0.40 ms`, `1.52 s`).
pub fn dur(later: Timestamp, earlier: Timestamp) -> Duration {
    later.since(earlier)
}

pub fn ev(frame: u64, clue: impl Into<Clue>) -> Evidence {
    Evidence {
        frame,
        clue: clue.into(),
    }
}

/// The capture's date of a timestamp, to the second (`2024-03-01 12:00:00 UTC`).
pub fn date(ts: Timestamp) -> String {
    let s = ts.to_rfc3339();
    match (s.get(..10), s.get(11..19)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => s,
    }
}

/// A date from seconds since the epoch.
pub fn date_secs(secs: i64) -> String {
    date(Timestamp::from_secs_nanos(secs, 0))
}

impl Facts<'_> {
    /// A close_notify (an encrypted alert) sent before the other side's
    /// `close`, by a side that had not closed yet: it began the close, the
    /// other side answered (RFC 8446 6.1). The term that stands for it.
    pub fn close_begun_before(&self, close: &Term, from: u64) -> Option<Term> {
        let soft = self.soft_alert_from(from)?;
        let first_by_sender = !self
            .terms
            .iter()
            .any(|x| x.dir == soft.dir && x.frame < soft.frame && x.is_close());
        (soft.dir != close.dir && soft.frame < close.frame && first_by_sender).then(|| Term {
            kind: TermKind::CloseNotify,
            ..soft.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::TlBuilder;
    use crate::diagnose::tests::props::{kind, timeline_of};
    use crate::flow::TcpEventKind;
    use crate::proto::mcs::ServerGcc;
    use proptest::prelude::*;

    /// The events of [`kind`], decoding stops, and Connect Responses with
    /// and without a certificate chain.
    fn any_kind(i: u8, p: u16) -> EventKind {
        let security = |certificate| ServerSecurity {
            encryption_method: 0,
            encryption_level: 0,
            certificate,
            certificate_permanent: None,
        };
        let response = |security| {
            EventKind::Proto(ProtoEvent::Mcs(McsEvent::ConnectResponse(Box::new(
                ServerGcc {
                    security,
                    ..ServerGcc::default()
                },
            ))))
        };
        match i % 35 {
            30 => EventKind::Proto(ProtoEvent::Stopped {
                why: StopReason::BytesMissing { at: u64::from(p) },
            }),
            31 => response(None),
            32 => response(Some(security(None))),
            33 => response(Some(security(Some(ServerCertificate::X509(Vec::new()))))),
            34 => response(Some(security(Some(ServerCertificate::Other { len: 9 })))),
            _ => kind(i, p),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        /// The one pass reads the facts each search reads (compared by
        /// their `Debug` text, as `Proto` has no equality).
        #[test]
        fn one_pass_reads_the_facts_each_search_reads(
            evs in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<bool>()), 0..24),
        ) {
            let tl = timeline_of(&evs, any_kind);
            prop_assert_eq!(
                format!("{:?}", Proto::read(&tl)),
                format!("{:?}", Proto::read_each(&tl))
            );
        }
    }

    /// The shortcut for a timeline without protocol messages gives the
    /// facts the full reading gives (compared by their `Debug` text, as
    /// `Proto` has no equality): TCP events of every kind, or none.
    #[test]
    fn without_protocol_messages_the_protocol_facts_are_the_ones_read() {
        let refused = TlBuilder::new().syn(1, 0.0).rst_s(2, 0.001).build();
        let unanswered = TlBuilder::new().syns(1, &[0.0, 1.0, 3.0]).end(10.0).build();
        let closed = TlBuilder::new()
            .handshake()
            .keepalive(4, 5.0)
            .rtx(5, 6.0, Dir::ToServer, 0, 10)
            .tcp(6, 7.0, Dir::ToClient, TcpEventKind::ZeroWindow)
            .fin_c(7, 8.0)
            .fin_s(8, 8.1)
            .build();
        let icmp = TlBuilder::new()
            .syn(1, 0.0)
            .icmp(2, 0.01, 3, 3, None)
            .build();
        let empty = TlBuilder::new().build();
        for tl in [refused, unanswered, closed, icmp, empty] {
            assert!(tl.proto_events().next().is_none());
            assert_eq!(
                format!("{:?}", Proto::of(&tl)),
                format!("{:?}", Proto::read_each(&tl))
            );
        }
        // With a protocol message the full reading is taken.
        let cr = TlBuilder::new().handshake().cr(4, 0.1, 3).build();
        assert!(Proto::of(&cr).request.is_some());
    }
}
