//! Where a connection got to on the ladder ([`Step`]): which steps the
//! capture shows, the path the negotiation chose (Standard RDP Security,
//! TLS, or TLS + CredSSP), the last step completed and the next one.
//!
//! A step counts as completed when the capture shows it, or when a later
//! step on the same path is shown (it must have happened: the capture
//! may have missed it).

use super::{Party, Step};
use crate::common::{Dir, Timestamp};
use crate::flow::TcpEventKind;
use crate::proto::credssp::{CredsspEvent, CredsspLeg};
use crate::proto::mcs::McsEvent;
use crate::proto::tls::TlsEvent;
use crate::proto::x224::{ConnectionConfirm, Protocols, X224Event};
use crate::proto::ProtoEvent;
use crate::timeline::{EventKind, Timeline};

impl Step {
    /// Who sends the message that completes this step.
    pub fn sender(self) -> Party {
        use Step::*;
        match self {
            Syn | HandshakeAck | ConnectionRequest | ClientHello | ClientKeyExchange
            | ClientFinished | CredsspNegotiate | CredsspAuthenticate | CredsspCredentials
            | McsConnectInitial | ErectDomain | SecurityExchange | ClientInfo => Party::Client,
            SynAck
            | ConnectionConfirm
            | ServerHello
            | ServerCertificate
            | ServerHelloDone
            | ServerFinished
            | CredsspChallenge
            | CredsspServerPubKeyAuth
            | EarlyUserAuthResult
            | McsConnectResponse
            | AttachUser
            | ChannelJoin
            | Licensing
            | Capabilities
            | SessionData => Party::Server,
        }
    }
}

/// Where a step was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub step: Step,
    pub frame: u64,
    pub ts: Timestamp,
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

/// Server application data (records or bytes) that means the session is
/// running when RDP travels inside TLS. Set-up takes about 15 small server
/// records (MCS Connect Response, Attach User and Channel Join Confirms,
/// licensing, Demand Active, synchronisation) and 2 to 5 kB; the first
/// graphics updates are several kilobytes each. A Windows 7 TLS session
/// in the corpus shows 24 records and 11 kB by its first bitmaps.
pub const SESSION_RECORDS: u64 = 20;
pub const SESSION_BYTES: u64 = 10_000;

#[derive(Clone, Debug)]
pub struct Ladder {
    pub security: Security,
    pub tls13: bool,
    /// The steps this connection must climb, in order.
    pub path: Vec<Step>,
    /// Steps the capture shows (first occurrence), in path order.
    pub seen: Vec<Mark>,
    /// The furthest step completed (shown or implied), with the place of
    /// the furthest shown step.
    pub last: Option<Mark>,
    /// The first step on the path after `last`.
    pub next: Option<Step>,
}

const TCP: &[Step] = &[Step::Syn, Step::SynAck, Step::HandshakeAck];
const X224: &[Step] = &[Step::ConnectionRequest, Step::ConnectionConfirm];
const TLS12: &[Step] = &[
    Step::ClientHello,
    Step::ServerHello,
    Step::ServerCertificate,
    Step::ServerHelloDone,
    Step::ClientKeyExchange,
    Step::ClientFinished,
    Step::ServerFinished,
];
/// TLS 1.3: the server's certificate and Finished travel encrypted in one
/// flight right after the ServerHello; the client finishes last.
const TLS13: &[Step] = &[
    Step::ClientHello,
    Step::ServerHello,
    Step::ServerFinished,
    Step::ClientFinished,
];
const CREDSSP: &[Step] = &[
    Step::CredsspNegotiate,
    Step::CredsspChallenge,
    Step::CredsspAuthenticate,
    Step::CredsspServerPubKeyAuth,
    Step::CredsspCredentials,
];
const MCS_CLEAR: &[Step] = &[
    Step::McsConnectInitial,
    Step::McsConnectResponse,
    Step::ErectDomain,
    Step::AttachUser,
    Step::ChannelJoin,
    Step::SecurityExchange,
    Step::ClientInfo,
    Step::Licensing,
    Step::Capabilities,
    Step::SessionData,
];
/// Inside TLS only the start of MCS (first records each way) and the bulk
/// of the session can be told apart.
const MCS_TLS: &[Step] = &[
    Step::McsConnectInitial,
    Step::McsConnectResponse,
    Step::SessionData,
];

/// The step an event shows, if any.
fn step_of(kind: &EventKind, dir: Dir) -> Option<Step> {
    use Dir::*;
    Some(match (kind, dir) {
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
            (ProtoEvent::Credssp(CredsspEvent::Leg { leg, .. }), _) => match leg {
                CredsspLeg::Negotiate => Step::CredsspNegotiate,
                CredsspLeg::Challenge => Step::CredsspChallenge,
                CredsspLeg::Authenticate => Step::CredsspAuthenticate,
                CredsspLeg::ServerPubKeyAuth => Step::CredsspServerPubKeyAuth,
                CredsspLeg::Credentials => Step::CredsspCredentials,
                CredsspLeg::EarlyUserAuthResult => Step::EarlyUserAuthResult,
                CredsspLeg::ServerError => return None,
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
                (McsEvent::ClientInfo(_), ToServer) => Step::ClientInfo,
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
    })
}

/// STATUS_VALID_CLIENT in a licensing ERROR_ALERT: the "no licence
/// needed" success ([MS-RDPELE] 2.2.2.7.1).
pub const LICENSE_VALID_CLIENT: u32 = 0x07;

/// The selected protocol from the Connection Confirm, if any.
pub fn selected(tl: &Timeline) -> Option<Protocols> {
    tl.connection_confirm().and_then(|(_, c)| match c {
        ConnectionConfirm::Selected { selected, .. } => Some(*selected),
        ConnectionConfirm::NoNegotiation => Some(Protocols(Protocols::RDP)),
        ConnectionConfirm::Failure { .. } => None,
    })
}

impl Ladder {
    pub fn build(tl: &Timeline) -> Ladder {
        let has_tls = tl
            .proto_events()
            .any(|(_, p)| matches!(p, ProtoEvent::Tls(_)));
        let has_credssp = tl.credssp_legs().next().is_some();
        // MCS or fast-path PDUs in the clear: Standard RDP Security (also
        // what a capture that starts mid-session shows).
        let has_mcs_clear = tl
            .proto_events()
            .any(|(_, p)| matches!(p, ProtoEvent::Mcs(_) | ProtoEvent::FastPath { .. }));
        let security = match selected(tl) {
            Some(p) => match p.0 {
                Protocols::RDP => Security::Standard,
                Protocols::HYBRID => Security::Nla { ex: false },
                Protocols::HYBRID_EX => Security::Nla { ex: true },
                _ => Security::Tls,
            },
            None if has_credssp => Security::Nla {
                ex: tl
                    .credssp_legs()
                    .any(|(_, l)| l == CredsspLeg::EarlyUserAuthResult),
            },
            None if has_tls => Security::Tls,
            None if has_mcs_clear => Security::Standard,
            None => Security::Unknown,
        };
        let tls13 = tl
            .server_hello()
            .map(|(_, h)| h.version.0 == 0x0304)
            .unwrap_or(false);

        let mut path: Vec<Step> = Vec::new();
        path.extend_from_slice(TCP);
        path.extend_from_slice(X224);
        match security {
            Security::Unknown => {}
            Security::Standard => path.extend_from_slice(MCS_CLEAR),
            Security::Tls | Security::Nla { .. } => {
                path.extend_from_slice(if tls13 { TLS13 } else { TLS12 });
                if let Security::Nla { ex } = security {
                    path.extend_from_slice(CREDSSP);
                    if ex {
                        path.push(Step::EarlyUserAuthResult);
                    }
                }
                path.extend_from_slice(MCS_TLS);
            }
        }

        let mut seen: Vec<Mark> = Vec::new();
        for e in &tl.events {
            if let Some(step) = step_of(&e.kind, e.dir) {
                if path.contains(&step) && !seen.iter().any(|m| m.step == step) {
                    seen.push(Mark {
                        step,
                        frame: e.frame,
                        ts: e.ts,
                    });
                }
            }
        }
        if matches!(security, Security::Tls | Security::Nla { .. }) {
            encrypted_rdp_marks(tl, security, &seen.clone(), &mut seen);
        }
        // Session volume places the session even when nothing of the set-up
        // could be read (TLS without its handshake, payloads cut by the snap
        // length).
        if !seen.iter().any(|m| m.step == Step::SessionData) {
            if let Some(m) = session_volume(tl) {
                if !path.contains(&Step::SessionData) {
                    path.push(Step::SessionData);
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
        }
    }

    /// Where a step was seen, if it was.
    pub fn mark(&self, step: Step) -> Option<Mark> {
        self.seen.iter().find(|m| m.step == step).copied()
    }

    pub fn established(&self) -> bool {
        self.last.is_some_and(|m| m.step == Step::SessionData)
    }
}

/// Inside TLS, RDP set-up and the session are application data: the
/// client's first record after the security handshake starts MCS, the
/// server's first answer follows, and a large volume from the server is the
/// session itself.
fn encrypted_rdp_marks(tl: &Timeline, security: Security, seen: &[Mark], out: &mut Vec<Mark>) {
    let end_step = match security {
        Security::Nla { ex: true } => Step::EarlyUserAuthResult,
        Security::Nla { ex: false } => Step::CredsspCredentials,
        _ => Step::ClientFinished,
    };
    let Some(start) = seen.iter().find(|m| m.step == end_step).copied() else {
        return;
    };
    // Frames carrying CredSSP legs are not RDP data.
    let leg_frames: Vec<u64> = tl.credssp_legs().map(|(e, _)| e.frame).collect();
    let mut initial: Option<Mark> = None;
    let mut response: Option<Mark> = None;
    for (e, p) in tl.proto_events() {
        if e.frame < start.frame || leg_frames.contains(&e.frame) {
            continue;
        }
        if let ProtoEvent::Tls(TlsEvent::ApplicationData { .. }) = p {
            match (e.dir, initial) {
                (Dir::ToServer, None) => {
                    initial = Some(Mark {
                        step: Step::McsConnectInitial,
                        frame: e.frame,
                        ts: e.ts,
                    })
                }
                (Dir::ToClient, Some(_)) if response.is_none() => {
                    response = Some(Mark {
                        step: Step::McsConnectResponse,
                        frame: e.frame,
                        ts: e.ts,
                    })
                }
                _ => {}
            }
        }
    }
    out.extend(initial);
    out.extend(response);
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
    let server_legs = tl
        .credssp_legs()
        .filter(|(e, _)| e.dir == Dir::ToClient)
        .count() as u64;
    match summary {
        Some((e, records, bytes))
            if records.saturating_sub(server_legs) >= SESSION_RECORDS || bytes >= SESSION_BYTES =>
        {
            Some(Mark {
                step: Step::SessionData,
                frame: e.frame,
                ts: e.ts,
            })
        }
        Some(_) => None,
        None => {
            let d = tl.dir(Dir::ToClient);
            match d.last_payload {
                Some((frame, ts)) if d.payload_bytes >= 2 * SESSION_BYTES => Some(Mark {
                    step: Step::SessionData,
                    frame,
                    ts,
                }),
                _ => None,
            }
        }
    }
}
