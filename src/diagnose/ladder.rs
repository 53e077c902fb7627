//! Where a connection got to on the ladder ([`Step`]): which steps the
//! capture shows, the path the negotiation chose (Standard RDP Security,
//! TLS, or TLS + CredSSP), the last step completed and the next one.
//!
//! A step counts as completed when the capture shows it, or when a later
//! step on the same path is shown (it must have happened: the capture
//! may have missed it).

use super::step::{path_of, Paths};
use super::{Certainty, Step};
use crate::common::{Dir, Timestamp};
use crate::flow::TcpEventKind;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::inner::AUTHZ_SUCCESS;
use crate::proto::mcs::McsEvent;
use crate::proto::tls::{ServerHello, TlsEvent};
use crate::proto::x224::{ConnectionConfirm, Protocols, X224Event};
use crate::proto::{NlaEvent, ProtoEvent};
use crate::timeline::{Event, EventKind, Timeline};

/// Where a step was seen, and how sure the capture makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub step: Step,
    pub frame: u64,
    pub ts: Timestamp,
    pub certainty: Certainty,
}

impl Mark {
    pub fn new(step: Step, frame: u64, ts: Timestamp, certainty: Certainty) -> Mark {
        Mark {
            step,
            frame,
            ts,
            certainty,
        }
    }
}

/// What the reports need of a connection's ladder: its path and the
/// steps the capture shows. The diagnosis keeps them
/// ([`super::Diagnosis::ladder`], taken from its ladder by
/// [`Ladder::into_marks`]) so that the reports tell the steps reached
/// ([`LadderMarks::reached`]) without building the ladder again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LadderMarks {
    /// [`Ladder::path`].
    pub path: std::borrow::Cow<'static, [Step]>,
    /// [`Ladder::seen`].
    pub seen: Marks,
}

/// Marks a diagnosis keeps in place rather than in a vector of their
/// own: the steps up to the X.224 Connection Confirm, the TCP handshake
/// and the negotiation that open every RDP connection (MS-RDPBCGR
/// 1.3.1.1, the Connection Initiation phase), so that a connection that
/// ends there, refused or negotiating, keeps its marks in place. (Each
/// diagnosis kept its marks in a new allocation, made on the thread that
/// reads the capture and freed on the one that writes the report; the
/// ladder's vector now goes back to the thread's spares instead.)
pub const INLINE_MARKS: usize = Step::ConnectionConfirm as usize + 1;

/// The steps a diagnosis keeps of its ladder, in the ladder's order: in
/// place up to [`INLINE_MARKS`], in a vector past them. Read as a slice;
/// two are equal when their marks are, however they are held.
#[derive(Clone, Debug)]
pub enum Marks {
    Inline {
        len: u8,
        marks: [Mark; INLINE_MARKS],
    },
    Heap(Vec<Mark>),
}

/// What fills the unused places of [`Marks::Inline`] (never read).
const NO_MARK: Mark = Mark {
    step: Step::Syn,
    frame: 0,
    ts: Timestamp(0),
    certainty: Certainty::Seen,
};

impl Marks {
    /// `seen` kept in place when it fits; otherwise its vector is taken
    /// (left empty).
    pub fn take_from(seen: &mut Vec<Mark>) -> Marks {
        if seen.len() > INLINE_MARKS {
            return Marks::Heap(std::mem::take(seen));
        }
        let mut marks = [NO_MARK; INLINE_MARKS];
        marks[..seen.len()].copy_from_slice(seen);
        Marks::Inline {
            // At most INLINE_MARKS.
            len: seen.len() as u8,
            marks,
        }
    }

    pub fn as_slice(&self) -> &[Mark] {
        match self {
            Marks::Inline { len, marks } => &marks[..usize::from(*len)],
            Marks::Heap(v) => v,
        }
    }
}

impl Default for Marks {
    fn default() -> Self {
        Marks::Inline {
            len: 0,
            marks: [NO_MARK; INLINE_MARKS],
        }
    }
}

impl std::ops::Deref for Marks {
    type Target = [Mark];
    fn deref(&self) -> &[Mark] {
        self.as_slice()
    }
}

impl PartialEq for Marks {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl From<Vec<Mark>> for Marks {
    fn from(mut v: Vec<Mark>) -> Self {
        Marks::take_from(&mut v)
    }
}

/// A step a connection completed ([`LadderMarks::reached`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reached {
    pub step: Step,
    pub certainty: Certainty,
    /// The frame and time it was seen at (None when implied).
    pub at: Option<(u64, Timestamp)>,
}

impl LadderMarks {
    /// The steps completed, in ladder order, up to `last` (the
    /// diagnosis' last step).
    pub fn reached(&self, last: Option<Step>) -> impl Iterator<Item = Reached> + '_ {
        let upto = last.map(|l| self.path.iter().position(|s| *s == l));
        let (on_path, off_path) = match upto {
            None => (&self.path[..0], None),
            Some(Some(i)) => (&self.path[..=i], None),
            // A step off the chosen path (a rule placed the connection
            // elsewhere): what the capture shows, up to it.
            Some(None) => (&self.path[..0], last),
        };
        // The marks' slice taken once, not at each step.
        let seen = self.seen.as_slice();
        let on_path = on_path.iter().filter_map(move |&step| {
            Some(Reached {
                step,
                certainty: certainty_in(&self.path, seen, step)?,
                at: mark_in(seen, step).map(|m| (m.frame, m.ts)),
            })
        });
        let off_path = off_path.into_iter().flat_map(move |last| {
            seen.iter()
                .filter(move |m| m.step <= last)
                .map(|m| Reached {
                    step: m.step,
                    certainty: m.certainty,
                    at: Some((m.frame, m.ts)),
                })
        });
        on_path.chain(off_path)
    }
}

/// Where `step` was seen, if it was.
fn mark_in(seen: &[Mark], step: Step) -> Option<Mark> {
    seen.iter().find(|m| m.step == step).copied()
}

/// How sure the capture makes `step` on `path` ([`Ladder::certainty`]).
fn certainty_in(path: &[Step], seen: &[Mark], step: Step) -> Option<Certainty> {
    if let Some(m) = mark_in(seen, step) {
        return Some(m.certainty);
    }
    let at = path.iter().position(|s| *s == step)?;
    seen.iter()
        .filter(|m| path.iter().position(|s| *s == m.step) > Some(at))
        .map(|m| m.certainty.min(Certainty::Implied))
        .max()
}

/// The security the negotiation chose (or the capture implies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Not known yet (no Connection Confirm and nothing after it).
    Unknown,
    /// Standard RDP Security: MCS in the clear.
    Standard,
    /// TLS without CredSSP (SSL, RDSTLS, RDSAAD).
    Tls,
    /// TLS then CredSSP; `ex` for HYBRID_EX (Early User Authorization).
    Nla { ex: bool },
}

/// Server application data that means the session is running when RDP
/// travels inside TLS. The connection sequence's server PDUs (MCS Connect
/// Response, Attach User and Channel Join Confirms, licensing, Demand
/// Active, synchronise / control / font map: MS-RDPBCGR 1.3.1.1) total a
/// few kilobytes (2 to 5 kB in every capture at hand, CredSSP excluded);
/// screen updates come on top of them.
pub const SESSION_BYTES: u64 = 10_000;

// The marks of the ladder last dropped on this thread, kept for the next.
thread_local! {
    static MARKS: std::cell::Cell<Vec<Mark>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Drop for Ladder {
    fn drop(&mut self) {
        super::spare::give(&MARKS, std::mem::take(&mut self.seen));
    }
}

#[derive(Clone, Debug)]
pub struct Ladder {
    pub security: Security,
    pub tls13: bool,
    /// The steps this connection must climb, in order (its paths' steps,
    /// and the session's data when only its volume shows it).
    pub path: std::borrow::Cow<'static, [Step]>,
    /// Steps the capture shows (first occurrence), in path order.
    pub seen: Vec<Mark>,
    /// The furthest step completed (shown or implied), with the place of
    /// the furthest shown step.
    pub last: Option<Mark>,
    /// The first step on the path after `last`.
    pub next: Option<Step>,
    /// Inside TLS: the client sent application data after the security
    /// handshake (TLS, then CredSSP when chosen) and the server answered
    /// with application data. Seen on the wire whatever the records hold:
    /// the connection went past security set-up.
    pub answered: Option<(Mark, Mark)>,
}

/// The step an event shows, if any.
fn step_of(kind: &EventKind, dir: Dir) -> Option<(Step, Certainty)> {
    use Dir::*;
    // CredSSP legs are encrypted records whose meaning the exchange's
    // order fixes; a leg whose sizes do not fit the textbook exchange is
    // only inferred.
    if let EventKind::Proto(ProtoEvent::Credssp(CredsspEvent::Leg { leg, certainty, .. })) = kind {
        let step = match leg {
            CredsspLeg::Negotiate => Step::CredsspNegotiate,
            CredsspLeg::Challenge => Step::CredsspChallenge,
            CredsspLeg::Authenticate => Step::CredsspAuthenticate,
            CredsspLeg::ServerPubKeyAuth => Step::CredsspServerPubKeyAuth,
            CredsspLeg::Credentials => Step::CredsspCredentials,
            CredsspLeg::EarlyUserAuthResult => Step::EarlyUserAuthResult,
            CredsspLeg::ServerError => return None,
        };
        // A record whose size does not fit the leg it would be is not
        // understood: it places nothing on the ladder.
        if *certainty == crate::proto::Certainty::Low {
            return None;
        }
        return Some((step, Certainty::Seen));
    }
    if let EventKind::Proto(ProtoEvent::Nla(n)) = kind {
        return nla_step(n, dir).map(|s| (s, Certainty::Seen));
    }
    let step = match (kind, dir) {
        (EventKind::Tcp(TcpEventKind::Syn { .. }), ToServer) => Step::Syn,
        (EventKind::Tcp(TcpEventKind::SynAck { .. }), ToClient) => Step::SynAck,
        (EventKind::Tcp(TcpEventKind::HandshakeAck), ToServer) => Step::HandshakeAck,
        (EventKind::Proto(p), _) => match (p, dir) {
            (ProtoEvent::X224(X224Event::ConnectionRequest(_)), ToServer) => {
                Step::ConnectionRequest
            }
            (ProtoEvent::X224(X224Event::ConnectionConfirm(c)), ToClient) => match c {
                ConnectionConfirm::Failure { .. } => return None,
                _ => Step::ConnectionConfirm,
            },
            (ProtoEvent::Tls(t), _) => match (t, dir) {
                (TlsEvent::ClientHello(_), ToServer) => Step::ClientHello,
                (TlsEvent::ServerHello(_), ToClient) => Step::ServerHello,
                (TlsEvent::Certificate(_), ToClient) => Step::ServerCertificate,
                (TlsEvent::ServerHelloDone, ToClient) => Step::ServerHelloDone,
                (TlsEvent::ClientKeyExchange, ToServer) => Step::ClientKeyExchange,
                (TlsEvent::ChangeCipherSpec | TlsEvent::EncryptedHandshake { .. }, ToServer) => {
                    Step::ClientFinished
                }
                (TlsEvent::ChangeCipherSpec | TlsEvent::EncryptedHandshake { .. }, ToClient) => {
                    Step::ServerFinished
                }
                _ => return None,
            },
            (ProtoEvent::Mcs(m), _) => match (m, dir) {
                (McsEvent::ConnectInitial(_), ToServer) => Step::McsConnectInitial,
                (McsEvent::ConnectResponse(g), ToClient) if g.result == 0 => {
                    Step::McsConnectResponse
                }
                (McsEvent::ErectDomainRequest, ToServer) => Step::ErectDomain,
                (McsEvent::AttachUserConfirm { result: 0, .. }, ToClient) => Step::AttachUser,
                (McsEvent::ChannelJoinConfirm { result: 0, .. }, ToClient) => Step::ChannelJoin,
                (McsEvent::SecurityExchange { .. }, ToServer) => Step::SecurityExchange,
                (McsEvent::ClientInfo(_) | McsEvent::EncryptedClientInfo { .. }, ToServer) => {
                    Step::ClientInfo
                }
                (McsEvent::Licensing(l), ToClient)
                    if l.msg_type != 0xff || l.error_code == Some(LICENSE_VALID_CLIENT) =>
                {
                    Step::Licensing
                }
                (McsEvent::DemandActive, ToClient) | (McsEvent::ConfirmActive, ToServer) => {
                    Step::Capabilities
                }
                _ => return None,
            },
            (ProtoEvent::FastPath { .. }, _) => Step::SessionData,
            _ => return None,
        },
        _ => return None,
    };
    Some((step, Certainty::Seen))
}

/// The CredSSP step a decrypted TSRequest or Early User Authorization
/// Result shows ([MS-CSSP] 3.1.5: token exchange, then pubKeyAuth both
/// ways, then authInfo). A server TSRequest with an errorCode and a
/// denied authorization complete nothing.
fn nla_step(n: &NlaEvent, dir: Dir) -> Option<Step> {
    match (n, dir) {
        (NlaEvent::EarlyUserAuthResult { result }, Dir::ToClient) => {
            (*result == AUTHZ_SUCCESS).then_some(Step::EarlyUserAuthResult)
        }
        (NlaEvent::TsRequest(t), Dir::ToServer) => Some(if t.credentials {
            Step::CredsspCredentials
        } else if t.pub_key_auth {
            Step::CredsspAuthenticate
        } else {
            t.token.as_ref()?;
            Step::CredsspNegotiate
        }),
        (NlaEvent::TsRequest(t), Dir::ToClient) if t.error_code.is_none() => {
            Some(if t.pub_key_auth {
                Step::CredsspServerPubKeyAuth
            } else {
                t.token.as_ref()?;
                Step::CredsspChallenge
            })
        }
        _ => None,
    }
}

/// The client's CredSSP message a server leg answers.
fn answered_by(step: Step) -> Option<Step> {
    match step {
        Step::CredsspChallenge => Some(Step::CredsspNegotiate),
        Step::CredsspServerPubKeyAuth => Some(Step::CredsspAuthenticate),
        Step::EarlyUserAuthResult => Some(Step::CredsspCredentials),
        _ => None,
    }
}

/// STATUS_VALID_CLIENT in a licensing ERROR_ALERT: the "no licence
/// needed" success ([MS-RDPELE] 2.2.2.7.1).
pub const LICENSE_VALID_CLIENT: u32 = 0x07;

/// The selected protocol from the Connection Confirm, if any.
pub fn selected(tl: &Timeline) -> Option<Protocols> {
    selected_by(tl.connection_confirm().map(|(_, c)| c))
}

/// What the ladder asks of a timeline's protocol events before placing
/// its steps, read in one pass (it searched them nine times, a pass a
/// question).
#[derive(Debug, Default, PartialEq)]
struct Signs<'a> {
    /// A TLS message.
    tls: bool,
    /// A CredSSP leg, and whether one is the Early User Authorization
    /// Result.
    credssp: bool,
    credssp_ex: bool,
    /// A decrypted NLA message, and whether one is the Early User
    /// Authorization Result.
    nla: bool,
    nla_ex: bool,
    /// MCS or fast-path PDUs in the clear.
    mcs_clear: bool,
    /// The first Connection Confirm ([`Timeline::connection_confirm`]).
    confirm: Option<(&'a Event, &'a ConnectionConfirm)>,
    /// The first ServerHello ([`Timeline::server_hello`]).
    server_hello: Option<&'a ServerHello>,
    /// A ClientHello.
    client_hello: bool,
}

impl<'a> Signs<'a> {
    fn of(tl: &'a Timeline) -> Signs<'a> {
        let mut s = Signs::default();
        for (e, p) in tl.proto_events() {
            match p {
                ProtoEvent::Tls(t) => {
                    s.tls = true;
                    match t {
                        TlsEvent::ServerHello(h) => {
                            s.server_hello = s.server_hello.or(Some(h));
                        }
                        TlsEvent::ClientHello(_) => s.client_hello = true,
                        _ => {}
                    }
                }
                ProtoEvent::Credssp(CredsspEvent::Leg { leg, .. }) => {
                    s.credssp = true;
                    s.credssp_ex |= *leg == CredsspLeg::EarlyUserAuthResult;
                }
                ProtoEvent::Nla(n) => {
                    s.nla = true;
                    s.nla_ex |= matches!(n, NlaEvent::EarlyUserAuthResult { .. });
                }
                ProtoEvent::Mcs(_) | ProtoEvent::FastPath { .. } => s.mcs_clear = true,
                ProtoEvent::X224(X224Event::ConnectionConfirm(c)) => {
                    s.confirm = s.confirm.or(Some((e, c)));
                }
                _ => {}
            }
        }
        s
    }
}

/// [`selected`] of a Connection Confirm.
fn selected_by(confirm: Option<&ConnectionConfirm>) -> Option<Protocols> {
    confirm.and_then(|c| match c {
        ConnectionConfirm::Selected { selected, .. } => Some(*selected),
        ConnectionConfirm::NoNegotiation => Some(Protocols(Protocols::RDP)),
        ConnectionConfirm::Failure { .. } => None,
    })
}

impl Ladder {
    pub fn build(tl: &Timeline) -> Ladder {
        let signs = Signs::of(tl);
        let security = match selected_by(signs.confirm.map(|(_, c)| c)) {
            Some(p) => match p.0 {
                Protocols::RDP => Security::Standard,
                Protocols::HYBRID => Security::Nla { ex: false },
                Protocols::HYBRID_EX => Security::Nla { ex: true },
                _ => Security::Tls,
            },
            None if signs.credssp => Security::Nla {
                ex: signs.credssp_ex,
            },
            // Decrypted TSRequests without the Connection Confirm.
            None if signs.nla => Security::Nla { ex: signs.nla_ex },
            None if signs.tls => Security::Tls,
            // MCS or fast-path PDUs in the clear: Standard RDP Security
            // (also what a capture that starts mid-session shows).
            None if signs.mcs_clear => Security::Standard,
            None => Security::Unknown,
        };
        let tls13 = signs.server_hello.is_some_and(|h| h.version.0 == 0x0304);
        let path = path_of(paths_of(security, tls13));

        // Room for every step of the path (and the session's volume) at
        // once: grown from empty it was reallocated three or four times.
        // The thread's spare list when it has one.
        let mut seen: Vec<Mark> = super::spare::take(&MARKS);
        seen.reserve(path.len() + 1);
        for e in &tl.events {
            if let Some((step, certainty)) = step_of(&e.kind, e.dir) {
                // A server's CredSSP answer comes after the client message
                // it answers (MS-CSSP 3.1.5); one placed before it is a
                // record mistaken for it (a TLS 1.3 session ticket).
                let answers = answered_by(step);
                let in_order = answers.map_or(true, |a| {
                    seen.iter().any(|m| m.step == a && m.frame < e.frame)
                });
                if in_order && path.contains(&step) && !seen.iter().any(|m| m.step == step) {
                    seen.push(Mark::new(step, e.frame, e.ts, certainty));
                }
            }
        }
        // After an RDP_NEG_FAILURE the negotiation is over: what the client
        // sends regardless climbs nothing unless the server went on too
        // (answered a ClientHello, say).
        if let Some((cc, ConnectionConfirm::Failure { .. })) = signs.confirm {
            let server_went_on = seen
                .iter()
                .any(|m| m.frame > cc.frame && m.step.sender() == super::Party::Server);
            if !server_went_on {
                seen.retain(|m| m.frame <= cc.frame);
            }
        }
        let (initial, answered) = if matches!(security, Security::Tls | Security::Nla { .. }) {
            encrypted_rdp_marks(tl, security, &seen)
        } else {
            (None, None)
        };
        // The client's first record after the security handshake: it went
        // on (it accepted the certificate), whether or not an answer came.
        seen.extend(initial);
        if let Some((_, response)) = answered {
            seen.push(response);
        }
        let mut path = std::borrow::Cow::Borrowed(path);
        // Session volume places the session even when nothing of the set-up
        // could be read (TLS without its handshake, payloads cut by the snap
        // length). Inside TLS it counts only once the security handshake is
        // over and both sides talked: before that, large records are the
        // handshake's or CredSSP's own.
        let handshake_seen = signs.client_hello || signs.server_hello.is_some();
        let volume_counts = match security {
            Security::Standard | Security::Unknown => true,
            Security::Tls | Security::Nla { .. } => answered.is_some() || !handshake_seen,
        };
        if !seen.iter().any(|m| m.step == Step::SessionData) && volume_counts {
            if let Some(m) = session_volume(tl).or_else(|| mid_session(tl, handshake_seen)) {
                if !path.contains(&Step::SessionData) {
                    path.to_mut().push(Step::SessionData);
                }
                seen.push(m);
            }
        }
        let idx = |s: Step| path.iter().position(|p| *p == s).unwrap_or(0);
        seen.sort_by_key(|m| (idx(m.step), m.frame));
        let last = seen.last().copied();
        let next = match last {
            Some(m) => path.get(idx(m.step) + 1).copied(),
            None => path.first().copied(),
        };
        Ladder {
            security,
            tls13,
            path,
            seen,
            last,
            next,
            answered,
        }
    }

    /// Where a step was seen, if it was.
    pub fn mark(&self, step: Step) -> Option<Mark> {
        mark_in(&self.seen, step)
    }

    /// The session ran: session data was seen (or inferred from volume),
    /// or, inside TLS, both sides exchanged application data after the
    /// security handshake ([`Ladder::answered`]).
    pub fn established(&self) -> bool {
        self.last.is_some_and(|m| m.step == Step::SessionData) || self.answered.is_some()
    }

    /// How sure the capture makes a step on this connection's path: seen
    /// (or inferred) where marked, implied when a later step is marked,
    /// `None` when not reached.
    pub fn certainty(&self, step: Step) -> Option<Certainty> {
        certainty_in(&self.path, &self.seen, step)
    }

    /// The path and the marks, for the diagnosis to keep: copied in place
    /// when they fit ([`Marks`]), the ladder's vector then given back to
    /// the thread's spares as it drops.
    pub fn into_marks(mut self) -> LadderMarks {
        LadderMarks {
            path: std::mem::take(&mut self.path),
            seen: Marks::take_from(&mut self.seen),
        }
    }
}

/// The path bits of a security choice.
fn paths_of(security: Security, tls13: bool) -> Paths {
    let tls = if tls13 { Paths::TLS13 } else { Paths::TLS12 };
    match security {
        Security::Unknown => Paths::NONE,
        Security::Standard => Paths::STANDARD,
        Security::Tls => tls.or(Paths::IN_TLS),
        Security::Nla { ex: false } => tls.or(Paths::NLA).or(Paths::IN_TLS),
        Security::Nla { ex: true } => tls.or(Paths::NLA).or(Paths::NLA_EX).or(Paths::IN_TLS),
    }
}

/// Inside TLS, RDP set-up and the session are application data: the
/// client's first record after the security handshake starts MCS and the
/// server's first record after it answers. Both marks are *inferred* (the
/// records' content is not visible); that both sides talked is seen.
///
/// TLS 1.3 servers send NewSessionTicket messages as application-data
/// records right after the handshake (RFC 8446 4.6.1), whether or not the
/// RDP service ever answers. There the answer counts only when the client
/// went on with a further record after it: a client sends its next MCS
/// PDU (Erect Domain, Attach User) only once the Connect Response has
/// arrived (MS-RDPBCGR 1.3.1.1).
fn encrypted_rdp_marks(
    tl: &Timeline,
    security: Security,
    seen: &[Mark],
) -> (Option<Mark>, Option<(Mark, Mark)>) {
    let ends: &[Step] = match security {
        Security::Nla { ex: true } => &[Step::EarlyUserAuthResult],
        Security::Nla { ex: false } => &[Step::CredsspCredentials],
        _ => &[Step::ClientFinished, Step::ServerFinished],
    };
    // The security handshake is over at the last of its closing steps.
    let Some(start) = seen
        .iter()
        .filter(|m| ends.contains(&m.step))
        .map(|m| m.frame)
        .max()
    else {
        return (None, None);
    };
    let tls13 = tl
        .server_hello()
        .is_some_and(|(_, h)| h.version.0 == 0x0304);
    // Frames carrying CredSSP legs are not RDP data.
    let leg_frames: Vec<u64> = tl.credssp_legs().map(|(e, _)| e.frame).collect();
    let mut initial: Option<Mark> = None;
    let mut response: Option<Mark> = None;
    for (e, p) in tl.proto_events() {
        if e.frame <= start || leg_frames.contains(&e.frame) {
            continue;
        }
        if let ProtoEvent::Tls(TlsEvent::ApplicationData { .. }) = p {
            let mark = |step| Mark::new(step, e.frame, e.ts, Certainty::Inferred);
            match (e.dir, initial, response) {
                (Dir::ToServer, None, _) => initial = Some(mark(Step::McsConnectInitial)),
                (Dir::ToClient, Some(_), None) => response = Some(mark(Step::McsConnectResponse)),
                (Dir::ToServer, Some(i), Some(r)) if tls13 => {
                    return (Some(i), Some((i, r)));
                }
                _ => {}
            }
        }
    }
    match (initial, response) {
        (Some(i), Some(r)) if !tls13 => (Some(i), Some((i, r))),
        _ => (initial, None),
    }
}

/// The place where the server's application data reached session volume.
fn session_volume(tl: &Timeline) -> Option<Mark> {
    let summary = tl.proto_events().find_map(|(e, p)| match p {
        ProtoEvent::Tls(TlsEvent::ApplicationDataSummary { records, bytes })
            if e.dir == Dir::ToClient =>
        {
            Some((e, *records, *bytes))
        }
        _ => None,
    });
    // CredSSP records from the server are application data too.
    let server_leg_bytes: u64 = tl
        .proto_events()
        .filter(|(e, _)| e.dir == Dir::ToClient)
        .map(|(_, p)| match p {
            ProtoEvent::Credssp(CredsspEvent::Leg { record_len, .. }) => u64::from(*record_len),
            _ => 0,
        })
        .sum();
    match summary {
        Some((e, _, bytes)) if bytes.saturating_sub(server_leg_bytes) >= SESSION_BYTES => Some(
            Mark::new(Step::SessionData, e.frame, e.ts, Certainty::Inferred),
        ),
        Some(_) => None,
        None => {
            let d = tl.dir(Dir::ToClient);
            match d.last_payload {
                Some((frame, ts)) if d.payload_bytes >= 2 * SESSION_BYTES => {
                    Some(Mark::new(Step::SessionData, frame, ts, Certainty::Inferred))
                }
                _ => None,
            }
        }
    }
}

/// A capture that starts after the TLS handshake and shows application
/// data both ways: the security set-up was over before the capture began
/// and the session was running (inferred: the records could also be the
/// end of CredSSP).
fn mid_session(tl: &Timeline, handshake_seen: bool) -> Option<Mark> {
    if handshake_seen {
        return None;
    }
    let mut client = false;
    for (e, p) in tl.proto_events() {
        if let ProtoEvent::Tls(TlsEvent::ApplicationData { .. }) = p {
            match e.dir {
                Dir::ToServer => client = true,
                Dir::ToClient if client => {
                    return Some(Mark::new(
                        Step::SessionData,
                        e.frame,
                        e.ts,
                        Certainty::Inferred,
                    ))
                }
                Dir::ToClient => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod marks_tests {
    use super::*;

    /// `n` distinct marks, as a ladder's vector holds them.
    fn marks(n: usize) -> Vec<Mark> {
        (0..n)
            .map(|i| {
                let step = super::super::STEPS[i % super::super::STEPS.len()].step;
                Mark::new(step, i as u64 + 1, Timestamp(i as i64 * 7), Certainty::Seen)
            })
            .collect()
    }

    #[test]
    fn marks_read_as_the_vector_they_were_taken_from() {
        for n in 0..=INLINE_MARKS + 3 {
            let whole = marks(n);
            let mut v = whole.clone();
            let kept = Marks::take_from(&mut v);
            assert_eq!(kept.as_slice(), whole.as_slice(), "{n} marks");
            assert_eq!(&*kept, whole.as_slice());
            // In place when they fit, the vector left to its owner;
            // taken whole otherwise.
            if n <= INLINE_MARKS {
                assert!(matches!(kept, Marks::Inline { .. }));
                assert_eq!(v, whole);
            } else {
                assert!(matches!(kept, Marks::Heap(_)));
                assert!(v.is_empty());
            }
            // Equal however they are held; unequal when a mark differs.
            assert_eq!(kept, Marks::Heap(whole.clone()));
            assert_eq!(Marks::from(whole.clone()), kept);
            if let Some(first) = whole.first() {
                let mut other = whole.clone();
                other[0].frame = first.frame + 100;
                assert_ne!(Marks::from(other), kept);
            }
            assert_ne!(Marks::from(marks(n + 1)), kept);
        }
        assert_eq!(Marks::default().as_slice(), &[] as &[Mark]);
    }

    #[test]
    fn a_ladders_marks_go_back_to_the_threads_spares() {
        let tl = crate::diagnose::testkit::TlBuilder::new()
            .syn(1, 0.0)
            .rst_s(2, 0.001)
            .build();
        // The first ladder on this thread may make its vector; the next
        // takes the one the first gave back.
        let first = Ladder::build(&tl);
        let at = first.seen.as_ptr();
        let kept = first.into_marks();
        assert_eq!(kept.seen.len(), 1);
        let again = Ladder::build(&tl);
        assert_eq!(again.seen.as_ptr(), at);
        assert_eq!(again.into_marks(), kept);
    }
}

#[cfg(test)]
mod signs_tests {
    use super::*;
    use crate::diagnose::tests::props::{kind, timeline_of};
    use proptest::prelude::*;

    /// What [`Signs::of`] reads in one pass, each asked of the timeline
    /// on its own (as the ladder asked them).
    fn asked_one_by_one(tl: &Timeline) -> Signs<'_> {
        let any = |f: &dyn Fn(&ProtoEvent) -> bool| tl.proto_events().any(|(_, p)| f(p));
        Signs {
            tls: any(&|p| matches!(p, ProtoEvent::Tls(_))),
            credssp: tl.credssp_legs().next().is_some(),
            credssp_ex: tl
                .credssp_legs()
                .any(|(_, l)| l == CredsspLeg::EarlyUserAuthResult),
            nla: any(&|p| matches!(p, ProtoEvent::Nla(_))),
            nla_ex: any(&|p| matches!(p, ProtoEvent::Nla(NlaEvent::EarlyUserAuthResult { .. }))),
            mcs_clear: any(&|p| matches!(p, ProtoEvent::Mcs(_) | ProtoEvent::FastPath { .. })),
            confirm: tl.connection_confirm(),
            server_hello: tl.server_hello().map(|(_, h)| h),
            client_hello: tl.client_hello().is_some(),
        }
    }

    /// The events of [`kind`], and decrypted NLA messages.
    fn any_kind(i: u8, p: u16) -> EventKind {
        match i % 34 {
            30 => EventKind::Proto(ProtoEvent::Nla(NlaEvent::EarlyUserAuthResult {
                result: u32::from(p % 6),
            })),
            31 => EventKind::Proto(ProtoEvent::Nla(NlaEvent::TsRequest(Box::new(
                crate::proto::tsrequest::TsRequest {
                    version: 6,
                    token: None,
                    credentials: p % 2 == 0,
                    pub_key_auth: p % 3 == 0,
                    error_code: None,
                    client_nonce: false,
                },
            )))),
            _ => kind(i, p),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        #[test]
        fn one_pass_reads_what_each_question_reads(
            evs in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<bool>()), 0..24),
        ) {
            let tl = timeline_of(&evs, any_kind);
            let (once, each) = (Signs::of(&tl), asked_one_by_one(&tl));
            prop_assert_eq!(&once, &each);
            // The very events, not equal ones elsewhere in the timeline.
            prop_assert_eq!(
                once.confirm.map(|(e, _)| e as *const Event),
                each.confirm.map(|(e, _)| e as *const Event)
            );
            prop_assert_eq!(
                once.server_hello.map(|h| h as *const ServerHello),
                each.server_hello.map(|h| h as *const ServerHello)
            );
        }
    }
}
