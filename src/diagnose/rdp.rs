//! RDP set-up and session rules: licensing errors, MCS refusals, Set
//! Error Info codes, and how a running session ended.

use super::error_info::{error_info_verdict, ErrorInfoVerdict};
use super::evidence::{CaptureClue, EndNote, RdpClue};
use super::facts::{ev, Facts, Term, TermKind};
use super::ladder::{Ladder, LICENSE_VALID_CLIENT};
use super::path::path_lost;
use super::rules::{end_ev, ending_of, term_ev, Verdict};
use super::{Benign, CauseId, Confidence, Ending, Outcome, Step};
use crate::common::Dir;
use crate::proto::mcs::{error_info_name, McsEvent};

/// Licensing errors, MCS refusals and Set Error Info codes in the clear.
pub(super) fn licensing_or_error_info(lad: &Ladder, f: &Facts) -> Option<Verdict> {
    let end = |from: u64| match f.first_term_from(from) {
        Some(t) => (ending_of(t), Some(t.frame), Some(t.clone())),
        None => (Ending::CaptureEnded, None, None),
    };
    for e in &f.mcs {
        match &e.what {
            McsEvent::Licensing(l)
                if l.msg_type == 0xff
                    && l.error_code.is_some_and(|c| c != LICENSE_VALID_CLIENT) =>
            {
                let code = l.error_code.unwrap_or(0);
                let (ending, ef, t) = end(e.frame);
                let mut v = Verdict::failed(
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
                    RdpClue::LicenseError {
                        code,
                        state_transition: l.state_transition,
                    },
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
                .with(ev(e.frame, RdpClue::ConnectResponse { result: g.result }));
                v.failed_step = Some(Step::McsConnectResponse);
                return Some(v);
            }
            // The server's MCS Disconnect Provider Ultimatum during RDP
            // set-up (Standard RDP Security: MCS is in the clear): the
            // server ended the connection on purpose (MS-RDPBCGR 1.3.1.4.2).
            McsEvent::DisconnectProviderUltimatum { reason }
                if e.dir == Dir::ToClient
                    && lad.mark(Step::SessionData).is_none()
                    && lad.next.is_some_and(|s| s.phase() >= super::Phase::Rdp) =>
            {
                let (ending, ef, t) = end(e.frame);
                let mut v = Verdict::failed(
                    ending,
                    ef,
                    CauseId::ServerDeniedSession,
                    Confidence::High,
                    format!(
                        "The server ended the connection during RDP set-up with an MCS \
                         Disconnect Provider Ultimatum ({}) before {}.",
                        crate::proto::mcs::disconnect_reason_name(*reason),
                        lad.next.map(Step::label).unwrap_or("the session")
                    ),
                );
                if let Some(t) = t {
                    v.evidence.push(term_ev(&t, None));
                }
                v.failed_step = lad.next;
                return Some(v);
            }
            McsEvent::SetErrorInfo { code } if *code != 0 => {
                let name = error_info_name(*code);
                let (ending, ef, t) = end(e.frame);
                let text = ev(e.frame, RdpClue::SetErrorInfo { code: *code });
                let mut v = match error_info_verdict(*code) {
                    // Logoff or disconnect asked for by a user or administrator.
                    ErrorInfoVerdict::SessionEnd => {
                        if lad.established() {
                            Verdict::session_end(ending, ef)
                        } else {
                            Verdict::benign(Benign::SessionEnd, ending, ef)
                        }
                    }
                    ErrorInfoVerdict::Cause { id, specific } => Verdict::failed(
                        ending,
                        ef,
                        id,
                        if specific {
                            Confidence::High
                        } else {
                            Confidence::Medium
                        },
                        error_info_summary(id, &name, *code),
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

/// The summary of a failure named by a Set Error Info code
/// ([MS-RDPBCGR] 2.2.5.1.1).
fn error_info_summary(id: CauseId, name: &str, code: u32) -> String {
    let what = match id {
        CauseId::SessionTimeLimit => {
            "The server ended the session on its own Session Time Limits (idle or active-session \
             limit in Group Policy or the RDP-Tcp settings), not a device on the path"
        }
        CauseId::ReplacedByOtherConnection => {
            "Another connection (the same user from elsewhere) took over the session"
        }
        CauseId::ServerOutOfMemory => "The server ran out of memory",
        CauseId::AccessDenied => {
            "The server refused the session: the user lacks the privilege to log on remotely"
        }
        CauseId::FreshCredentialsRequired => {
            "The server requires the user to enter credentials again"
        }
        CauseId::ServerComponentFailure => {
            "A component of the remote session failed (display driver, DWM, Winlogon or CSRSS)"
        }
        CauseId::ServerShutdown => "The server was shutting down or restarting",
        CauseId::LicensingError => "The server ended the connection for licensing",
        CauseId::ConnectionBrokerError => {
            "The RD Connection Broker could not place the connection on a host"
        }
        CauseId::RdpProtocolError => "The server rejected RDP data the client sent",
        _ => "The server denied the connection",
    };
    format!("{what} ({name}, 0x{code:x}).")
}

/// [MS-RDPELE] 2.2.2.7.1 dwErrorCode.
pub(super) fn license_error_name(code: u32) -> String {
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
pub(super) fn session_end(lad: &Ladder, f: &Facts, term: Option<&Term>) -> Verdict {
    let sess = lad.mark(Step::SessionData);
    let sess_ev = sess.map(|m| {
        ev(
            m.frame,
            RdpClue::SessionData {
                server_bytes: f.conn.dir(Dir::ToClient).payload_bytes,
                client_bytes: f.conn.dir(Dir::ToServer).payload_bytes,
            },
        )
    });
    if let Some(v) = super::path::unanswered_keepalives(f, term.filter(|t| t.is_close())) {
        return v.with_all(sess_ev);
    }
    // A fatal alert that decryption read ended the session (RFC 8446 6.2,
    // RFC 5246 7.2.2: both sides close at once): it ran, and ended on the
    // error the alert names, not as a user chose.
    if let Some(t) = term.filter(|t| matches!(t.kind, TermKind::DecryptedAlert { level: 2, .. })) {
        return Verdict::new(Outcome::Established, ending_of(t), Some(t.frame))
            .with(term_ev(t, None))
            .with_all(sess_ev);
    }
    if let Some(t) = term.filter(|t| t.closes()) {
        let ending = ending_of(t);
        let mut v = if t.dir == Dir::ToClient && sess.is_none() {
            set_up_refused(lad, t)
        } else if t.dir == Dir::ToServer && sess.is_none() && t.is_rst() && !graceful(f, t) {
            set_up_aborted(lad, t)
        } else if t.dir == Dir::ToServer {
            Verdict::session_end(ending, Some(t.frame)).with(end_ev(
                t,
                None,
                EndNote::ClientEndedSession,
            ))
        } else if t.is_rst() {
            Verdict::failed(
                ending,
                Some(t.frame),
                CauseId::ServerReset,
                Confidence::Medium,
                "The server reset the connection during the session.".into(),
            )
            .with(end_ev(t, None, EndNote::DuringSession))
        } else if let Some(v) = server_cut(f, t, sess.map_or(0, |m| m.frame)) {
            v
        } else {
            Verdict::session_end(ending, Some(t.frame)).with(end_ev(
                t,
                None,
                EndNote::ServerEndedSession,
            ))
        };
        if let Some(s) = f.soft_alert_from(sess.map(|m| m.frame).unwrap_or(0)) {
            if s.frame <= t.frame {
                v.evidence.push(end_ev(s, None, EndNote::TlsClose));
            }
        }
        return v.with_all(sess_ev);
    }
    // Retransmissions at the end that nobody acknowledged: the path or host
    // went away.
    if let Some(v) = path_lost(f, sess.as_ref()) {
        return v.with_all(sess_ev);
    }
    // Past security set-up but no session data before the capture ended:
    // whether the session came up is not in the capture.
    let outcome = if sess.is_some() {
        Outcome::Established
    } else {
        Outcome::Incomplete
    };
    let mut v = Verdict::new(outcome, Ending::CaptureEnded, None);
    v.evidence.extend(sess_ev);
    v.evidence.push(ev(
        f.conn.last_frame,
        CaptureClue::EndsOpen {
            after: f.conn.capture_end.since(f.conn.last_ts),
        },
    ));
    v
}

/// The server closed a running session with no protocol goodbye while the
/// client was still sending: no TLS close_notify (RFC 8446 6.1, RFC 5246
/// 7.2.1: each side sends one before closing its write side) and no MCS
/// Disconnect Provider Ultimatum (MS-RDPBCGR 1.3.1.4: how a server ends a
/// session) before its FIN, and client data after the server's last data.
/// That is what a crashed or killed server process, or a host dropping
/// the connection, looks like; the user sees "the connection was lost".
fn server_cut(f: &Facts, fin: &Term, since: u64) -> Option<Verdict> {
    let goodbye = f.terms.iter().any(|t| {
        t.dir == Dir::ToClient && t.frame >= since && t.frame <= fin.frame && !t.is_close()
    }) || f.mcs.iter().any(|e| {
        e.dir == Dir::ToClient
            && e.frame <= fin.frame
            && matches!(e.what, McsEvent::DisconnectProviderUltimatum { .. })
    });
    if goodbye {
        return None;
    }
    let client = f.conn.dir(Dir::ToServer).last_payload?;
    let server = f.conn.dir(Dir::ToClient).last_payload?;
    if client.0 <= server.0 {
        return None;
    }
    let mut v = Verdict::failed(
        ending_of(fin),
        Some(fin.frame),
        CauseId::ServerClosed,
        Confidence::Medium,
        "The server closed the running session without any goodbye (no TLS close_notify, no \
         Disconnect Provider Ultimatum) while the client was still sending: the server's RDP \
         process ended or was killed, or its host dropped the connection."
            .into(),
    );
    v.evidence.push(ev(server.0, RdpClue::LastServerData));
    v.evidence.push(end_ev(fin, None, EndNote::NoGoodbye));
    v.evidence.push(ev(client.0, RdpClue::ClientStillSending));
    Some(v)
}

/// Inside TLS, the server ended the connection after answering the
/// client's first records and before any session volume: it refused
/// during RDP set-up (licensing, a session limit, a policy or logon that
/// denies the user). The records' content is hidden, so the step is only
/// inferred.
fn set_up_refused(lad: &Ladder, t: &Term) -> Verdict {
    let v = Verdict::failed(
        ending_of(t),
        Some(t.frame),
        CauseId::ServerDeniedSession,
        Confidence::Low,
        "The server ended the connection during RDP set-up, after answering the client's first \
         records and before any session data: licensing, a session limit, or a logon or \
         policy that denies the user (the records' content is not visible without keys)."
            .into(),
    );
    during_set_up(v, lad, t, EndNote::BeforeSessionData)
}

/// The side that sent `t` announced its close first (FIN or close_notify).
fn graceful(f: &Facts, t: &Term) -> bool {
    f.terms.iter().any(|x| {
        x.dir == t.dir
            && x.frame < t.frame
            && !x.is_rst()
            && !matches!(x.kind, super::facts::TermKind::Icmp(_))
    })
}

/// Inside TLS, the client reset the connection (an abortive close, RFC
/// 9293 3.6: no FIN, no close_notify) during RDP set-up, before any
/// session data: it gave up on the connection. The step is inferred.
fn set_up_aborted(lad: &Ladder, t: &Term) -> Verdict {
    let v = Verdict::failed(
        ending_of(t),
        Some(t.frame),
        CauseId::ClientAborted,
        Confidence::Low,
        "The client reset the connection during RDP set-up, before any session data, without \
         closing it first: the client gave up (a user who quit, or a client error)."
            .into(),
    );
    during_set_up(v, lad, t, EndNote::AbortBeforeSessionData)
}

/// The evidence of an end during RDP set-up inside TLS: the records both
/// ways after the security handshake (the cause rests on their inferred
/// place), then the packet that ended it.
fn during_set_up(mut v: Verdict, lad: &Ladder, t: &Term, note: EndNote) -> Verdict {
    if let Some((i, r)) = lad.answered {
        v.evidence.push(ev(i.frame, RdpClue::FirstClientRecords));
        v.evidence.push(ev(r.frame, RdpClue::FirstServerRecords));
        v = v.at(&r);
    }
    v.evidence.push(end_ev(t, None, note));
    v
}
