//! RDP set-up and session rules: licensing errors, MCS refusals, Set
//! Error Info codes, and how a running session ended.

use super::error_info::{error_info_verdict, ErrorInfoVerdict};
use super::facts::{ev, Facts, Term};
use super::ladder::{Ladder, LICENSE_VALID_CLIENT};
use super::path::path_lost;
use super::rules::{ending_of, term_ev, Verdict};
use super::{Benign, CauseId, Confidence, Ending, Outcome, Step};
use crate::common::Dir;
use crate::proto::mcs::{error_info_name, McsEvent};
use crate::proto::ProtoEvent;
use crate::timeline::Timeline;

/// Licensing errors, MCS refusals and Set Error Info codes in the clear.
pub(super) fn licensing_or_error_info(tl: &Timeline, lad: &Ladder, f: &Facts) -> Option<Verdict> {
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
pub(super) fn session_end(tl: &Timeline, lad: &Ladder, f: &Facts, term: Option<&Term>) -> Verdict {
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
    if let Some(v) = super::path::unanswered_keepalives(tl, term.filter(|t| t.is_close())) {
        return v.with_all(sess_ev);
    }
    if let Some(t) = term.filter(|t| t.is_close()) {
        let ending = ending_of(tl, t);
        let mut v = if t.dir == Dir::ToServer {
            Verdict::session_end(ending, Some(t.frame)).with(ev(
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
            Verdict::session_end(ending, Some(t.frame)).with(ev(
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
