//! What decryption shows of the logon: the cause each CredSSP errorCode
//! (an NTSTATUS, [MS-CSSP] 2.2.1) names, and the rules that read the
//! server's errorCode, the Early User Authorization Result, the Server
//! Redirection PDU and the Save Session Info logon notification.

use super::evidence::RdpClue;
use super::facts::{ev, Facts, TermKind};
use super::ladder::Ladder;
use super::rules::{ending_of, term_ev, Verdict};
use super::{Benign, CauseId, Confidence, Ending, Evidence, Step};
use crate::common::Dir;
use crate::proto::inner::{early_user_auth_result_name, AUTHZ_SUCCESS};
use crate::proto::mcs::McsEvent;
use crate::proto::ntlm::NtlmMessage;
use crate::proto::ntstatus::NtStatus;
use crate::proto::tsrequest::Mechanism;
use crate::proto::NlaEvent;

/// The cause each errorCode names. Meanings: Microsoft Learn, "4625(F):
/// An account failed to log on" (Status and Sub Status codes) and
/// [MS-ERREF] 2.3.1; the names and values are in
/// `proto::ntstatus::NTSTATUS_TABLE`.
const NTSTATUS_CAUSES: &[(u32, CauseId)] = &[
    (0xC000_0022, CauseId::AccessDenied), // STATUS_ACCESS_DENIED
    (0xC000_005E, CauseId::DomainUnreachable), // STATUS_NO_LOGON_SERVERS
    (0xC000_0064, CauseId::CredentialsRejected), // STATUS_NO_SUCH_USER
    (0xC000_006A, CauseId::CredentialsRejected), // STATUS_WRONG_PASSWORD
    (0xC000_006D, CauseId::CredentialsRejected), // STATUS_LOGON_FAILURE
    (0xC000_006E, CauseId::AccountRestriction), // STATUS_ACCOUNT_RESTRICTION
    (0xC000_006F, CauseId::LogonHoursRestriction), // STATUS_INVALID_LOGON_HOURS
    (0xC000_0070, CauseId::AccountRestriction), // STATUS_INVALID_WORKSTATION
    (0xC000_0071, CauseId::PasswordExpired), // STATUS_PASSWORD_EXPIRED
    (0xC000_0072, CauseId::AccountDisabled), // STATUS_ACCOUNT_DISABLED
    (0xC000_0133, CauseId::DomainUnreachable), // STATUS_TIME_DIFFERENCE_AT_DC
    (0xC000_015B, CauseId::LogonTypeNotGranted), // STATUS_LOGON_TYPE_NOT_GRANTED
    (0xC000_018D, CauseId::DomainUnreachable), // STATUS_TRUSTED_RELATIONSHIP_FAILURE
    (0xC000_0193, CauseId::AccountExpired), // STATUS_ACCOUNT_EXPIRED
    (0xC000_0224, CauseId::PasswordMustChange), // STATUS_PASSWORD_MUST_CHANGE
    (0xC000_0234, CauseId::AccountLockedOut), // STATUS_ACCOUNT_LOCKED_OUT
    (0xC000_0413, CauseId::AccountRestriction), // STATUS_AUTHENTICATION_FIREWALL_FAILED
];

/// The cause an errorCode names, and whether the table has the code
/// (an error code it does not know still says the server refused the
/// authentication: credentials rejected, less sure).
pub fn ntstatus_cause(code: NtStatus) -> (CauseId, bool) {
    match NTSTATUS_CAUSES.iter().find(|(c, _)| *c == code.0) {
        Some(&(_, id)) => (id, true),
        None => (CauseId::CredentialsRejected, false),
    }
}

/// The errorCodes that name a cause (for the cause table).
pub fn ntstatus_codes(id: CauseId) -> impl Iterator<Item = NtStatus> {
    NTSTATUS_CAUSES
        .iter()
        .filter(move |(_, c)| *c == id)
        .map(|&(v, _)| NtStatus(v))
}

/// The server refused the NLA logon in so many words: a TSRequest with
/// an error errorCode ([MS-CSSP] 3.1.5: the server sends the errorCode
/// and closes), or an Early User Authorization Result other than
/// AUTHZ_SUCCESS ([MS-RDPBCGR] 2.2.10.2). Seen, explicit.
pub(super) fn nla_refusal(lad: &Ladder, f: &Facts) -> Option<Verdict> {
    let e = f
        .nla
        .iter()
        .find(|e| e.dir == Dir::ToClient && refuses(&e.what))?;
    let (id, specific, summary, clue, failed) = match &e.what {
        NlaEvent::TsRequest(t) => {
            let code = t.error_code?;
            let (id, specific) = ntstatus_cause(code);
            let meaning = code.meaning().unwrap_or("an error the table does not name");
            (
                id,
                specific,
                format!("The server refused the NLA logon with errorCode {code}: {meaning}."),
                RdpClue::NlaErrorCode { code },
                lad.next,
            )
        }
        NlaEvent::EarlyUserAuthResult { result } => (
            CauseId::AccessDenied,
            true,
            format!(
                "The server authenticated the user but refused the logon: Early User \
                 Authorization Result {}.",
                early_user_auth_result_name(*result)
            ),
            RdpClue::EarlyUserAuthResult { result: *result },
            Some(Step::EarlyUserAuthResult),
        ),
    };
    let (ending, ef, term) = match f.first_term_from(e.frame) {
        Some(t) => (ending_of(t), Some(t.frame), Some(t.clone())),
        None => (Ending::CaptureEnded, None, None),
    };
    let confidence = if specific {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut v = Verdict::failed(ending, ef, id, confidence, summary);
    v.evidence.extend(authenticate_ev(f, e.frame));
    v.evidence.push(ev(e.frame, clue));
    if let Some(t) = term {
        v.evidence.push(term_ev(&t, None));
    }
    v.failed_step = failed;
    Some(v)
}

fn refuses(n: &NlaEvent) -> bool {
    match n {
        NlaEvent::TsRequest(t) => t.error_code.is_some_and(NtStatus::is_error),
        NlaEvent::EarlyUserAuthResult { result } => *result != AUTHZ_SUCCESS,
    }
}

/// The client's NTLM AUTHENTICATE before `until`, naming the account.
fn authenticate_ev(f: &Facts, until: u64) -> Option<Evidence> {
    f.nla
        .iter()
        .filter(|e| e.frame < until && e.dir == Dir::ToServer)
        .find_map(|e| {
            let NlaEvent::TsRequest(t) = &e.what else {
                return None;
            };
            let Mechanism::Ntlm(NtlmMessage::Authenticate(a)) = &t.token.as_ref()?.mech else {
                return None;
            };
            let account = match (&a.domain, &a.user) {
                (Some(d), Some(u)) => format!("{d}\\{u}"),
                (None, Some(u)) => u.clone(),
                _ => "an empty user (anonymous)".to_string(),
            };
            Some(ev(e.frame, RdpClue::NtlmAuthenticate { account }))
        })
}

/// The server sent the client elsewhere (a Server Redirection PDU
/// without LB_NOREDIRECT, [MS-RDPBCGR] 2.2.13.1 and 3.1.5.2.1: the
/// client disconnects and connects to the target) before any session
/// data: the connection did its job.
pub(super) fn redirected(lad: &Ladder, f: &Facts) -> Option<Verdict> {
    if lad.mark(Step::SessionData).is_some() {
        return None;
    }
    let (e, r) = f.mcs.iter().find_map(|e| match &e.what {
        McsEvent::ServerRedirection(r) if !r.no_redirect() => Some((e, r)),
        _ => None,
    })?;
    let (ending, ef, term) = match f.first_term_from(e.frame) {
        Some(t) => (ending_of(t), Some(t.frame), Some(t.clone())),
        None => (Ending::CaptureEnded, None, None),
    };
    let target = r.target().map(str::to_string);
    let mut v = Verdict::benign(Benign::Redirected, ending, ef)
        .with(ev(e.frame, RdpClue::ServerRedirection { target }));
    if let Some(t) = term {
        v.evidence.push(term_ev(&t, None));
    }
    Some(v)
}

/// A Save Session Info logon notification ([MS-RDPBCGR] 3.3.5.10: sent
/// once the user has logged on): evidence a session's logon succeeded.
/// A server that sends none (freerdp-shadow-cli does not) still shows the
/// NLA logon accepted: its pubKeyAuth answering the client's NTLM
/// AUTHENTICATE.
pub(super) fn logon_succeeded(f: &Facts) -> Option<Evidence> {
    f.mcs
        .iter()
        .find_map(|e| match &e.what {
            McsEvent::SaveSessionInfo(s) if e.dir == Dir::ToClient && s.is_logon_notification() => {
                Some(ev(
                    e.frame,
                    RdpClue::LogonSucceeded {
                        info_type: s.info_type,
                    },
                ))
            }
            _ => None,
        })
        .or_else(|| nla_accepted(f))
}

/// The server's TSRequest with pubKeyAuth (and no error) after the
/// client's NTLM AUTHENTICATE: [MS-CSSP] 3.1.5 step 3, the server sends
/// pubKeyAuth once the SPNEGO/NTLM authentication has succeeded.
fn nla_accepted(f: &Facts) -> Option<Evidence> {
    let auth = f
        .nla
        .iter()
        .find(|e| e.dir == Dir::ToServer && is_authenticate(&e.what))?;
    f.nla.iter().find_map(|e| match &e.what {
        NlaEvent::TsRequest(t)
            if e.dir == Dir::ToClient
                && e.frame > auth.frame
                && t.pub_key_auth
                && !t.error_code.is_some_and(NtStatus::is_error) =>
        {
            Some(ev(
                e.frame,
                RdpClue::NlaAccepted {
                    authenticate_frame: auth.frame,
                },
            ))
        }
        _ => None,
    })
}

fn is_authenticate(n: &NlaEvent) -> bool {
    matches!(n, NlaEvent::TsRequest(t) if matches!(
        t.token.as_ref().map(|k| &k.mech),
        Some(Mechanism::Ntlm(NtlmMessage::Authenticate(_)))
    ))
}

/// What decryption shows of an NLA exchange the server ended without an
/// errorCode: the client's NTLM AUTHENTICATE (the account) and the
/// decrypted alerts the server sent after it, up to the close at `until`
/// (a close_notify: the server closed the TLS session cleanly instead of
/// answering with pubKeyAuth). Empty without keys.
pub(super) fn exchange_ev(f: &Facts, until: u64) -> Vec<Evidence> {
    let Some(auth) = authenticate_ev(f, until) else {
        return Vec::new();
    };
    let alerts = f.terms.iter().filter(|t| {
        t.dir == Dir::ToClient
            && t.frame > auth.frame
            && t.frame <= until
            && matches!(t.kind, TermKind::DecryptedAlert { .. })
    });
    let alerts: Vec<Evidence> = alerts.map(|t| term_ev(t, None)).collect();
    std::iter::once(auth).chain(alerts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_code_has_a_name_and_every_nla_cause_a_code() {
        for &(v, _) in NTSTATUS_CAUSES {
            assert!(NtStatus(v).name().is_some(), "0x{v:08x}");
        }
        for id in [
            CauseId::AccountLockedOut,
            CauseId::PasswordExpired,
            CauseId::PasswordMustChange,
            CauseId::AccountDisabled,
            CauseId::AccountExpired,
            CauseId::LogonTypeNotGranted,
            CauseId::AccountRestriction,
            CauseId::LogonHoursRestriction,
            CauseId::DomainUnreachable,
        ] {
            assert!(ntstatus_codes(id).next().is_some(), "{id:?}");
            // The remedy row names each of its codes.
            let wire = super::super::remedy::remedy(id).unwrap().wire;
            for c in ntstatus_codes(id) {
                assert!(wire.contains(&format!("0x{:08X}", c.0)), "{id:?} {wire}");
            }
        }
        assert_eq!(
            ntstatus_cause(NtStatus(0xC000_006D)),
            (CauseId::CredentialsRejected, true)
        );
        assert_eq!(
            ntstatus_cause(NtStatus(0xC000_9999)),
            (CauseId::CredentialsRejected, false)
        );
    }
}
