//! What each Set Error Info code ([MS-RDPBCGR] 2.2.5.1.1, `errorInfo`)
//! means for the verdict: a normal end of session, or a cause of its own.
//!
//! One table for the rule that reads the PDU (`rdp`) and for the reverse
//! look-up of a client's extended disconnect reason, which repeats the
//! server's code (`client_message`). Names and values: MS-RDPBCGR
//! 2.2.5.1.1 (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/a21a1bd9-2303-49c1-90ec-3932435c248c)
//! and FreeRDP `include/freerdp/error.h`.

use super::CauseId;

/// What a Set Error Info code says about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorInfoVerdict {
    /// A logoff or disconnect asked for by a user or an administrator:
    /// the end of a session, not a failure.
    SessionEnd,
    /// A failure with this cause. `specific` is false when the code has
    /// no entry of its own and the catch-all cause is used.
    Cause { id: CauseId, specific: bool },
}

/// The verdict for a non-zero Set Error Info code.
pub fn error_info_verdict(code: u32) -> ErrorInfoVerdict {
    use ErrorInfoVerdict::*;
    let cause = |id| Cause { id, specific: true };
    match code {
        // RPC_INITIATED_DISCONNECT, RPC_INITIATED_LOGOFF,
        // RPC_INITIATED_DISCONNECT_BYUSER, LOGOFF_BY_USER.
        0x1 | 0x2 | 0xB | 0xC => SessionEnd,
        // IDLE_TIMEOUT, LOGON_TIMEOUT: the server's Session Time Limits.
        0x3 | 0x4 => cause(CauseId::SessionTimeLimit),
        0x5 => cause(CauseId::ReplacedByOtherConnection),
        0x6 => cause(CauseId::ServerOutOfMemory),
        0x7 => cause(CauseId::ServerDeniedSession),
        0x9 => cause(CauseId::AccessDenied),
        0xA => cause(CauseId::FreshCredentialsRequired),
        // CLOSE_STACK_ON_DRIVER_NOT_READY, SERVER_DWM_CRASH,
        // CLOSE_STACK_ON_DRIVER_FAILURE, CLOSE_STACK_ON_DRIVER_IFACE_FAILURE,
        // SERVER_WINLOGON_CRASH, SERVER_CSRSS_CRASH.
        0xF..=0x12 | 0x17 | 0x18 => cause(CauseId::ServerComponentFailure),
        // SERVER_SHUTDOWN, SERVER_REBOOT.
        0x19 | 0x1A => cause(CauseId::ServerShutdown),
        // LICENSE_INTERNAL .. LICENSE_NO_REMOTE_CONNECTIONS.
        0x100..=0x10A => cause(CauseId::LicensingError),
        // CB_DESTINATION_NOT_FOUND .. CB_CONNECTION_ERROR_INVALID_SETTINGS
        // and the rest of the RD Connection Broker range.
        0x400..=0x4FF => cause(CauseId::ConnectionBrokerError),
        // Protocol errors: UNKNOWNPDUTYPE2 (0x10C9) and up; the client's
        // ExtendedDisconnectReasonCode calls 4096-32767 the protocol range.
        0x1000..=0x7FFF => cause(CauseId::RdpProtocolError),
        _ => Cause {
            id: CauseId::ServerDeniedSession,
            specific: false,
        },
    }
}

/// The Set Error Info codes that lead to a cause, as ranges (for the
/// cause table and the reverse look-up).
pub fn error_info_codes(id: CauseId) -> &'static [(u32, u32)] {
    match id {
        CauseId::SessionTimeLimit => &[(0x3, 0x4)],
        CauseId::ReplacedByOtherConnection => &[(0x5, 0x5)],
        CauseId::ServerOutOfMemory => &[(0x6, 0x6)],
        CauseId::ServerDeniedSession => &[(0x7, 0x7)],
        CauseId::AccessDenied => &[(0x9, 0x9)],
        CauseId::FreshCredentialsRequired => &[(0xA, 0xA)],
        CauseId::ServerComponentFailure => &[(0xF, 0x12), (0x17, 0x18)],
        CauseId::ServerShutdown => &[(0x19, 0x1A)],
        CauseId::LicensingError => &[(0x100, 0x10A)],
        CauseId::ConnectionBrokerError => &[(0x400, 0x4FF)],
        CauseId::RdpProtocolError => &[(0x1000, 0x7FFF)],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_listed_code_gives_its_cause() {
        for id in CauseId::ALL {
            for &(lo, hi) in error_info_codes(*id) {
                for code in [lo, hi] {
                    assert_eq!(
                        error_info_verdict(code),
                        ErrorInfoVerdict::Cause {
                            id: *id,
                            specific: true
                        },
                        "0x{code:x}"
                    );
                }
            }
        }
    }

    #[test]
    fn session_limits_are_not_a_middlebox_and_logoffs_are_not_failures() {
        assert_eq!(
            error_info_verdict(0x3),
            ErrorInfoVerdict::Cause {
                id: CauseId::SessionTimeLimit,
                specific: true
            }
        );
        assert_eq!(error_info_verdict(0xC), ErrorInfoVerdict::SessionEnd);
        assert_eq!(
            error_info_verdict(0x9),
            ErrorInfoVerdict::Cause {
                id: CauseId::AccessDenied,
                specific: true
            }
        );
        assert_eq!(
            error_info_verdict(0x8),
            ErrorInfoVerdict::Cause {
                id: CauseId::ServerDeniedSession,
                specific: false
            }
        );
    }

    /// A Standard RDP Security set-up in the clear up to the Client Info,
    /// then a Set Error Info code from the server and its FIN.
    fn with_error_info(code: u32) -> crate::diagnose::Diagnosis {
        use crate::common::Dir::{ToClient, ToServer};
        use crate::diagnose::testkit::*;
        use crate::proto::mcs::McsEvent;
        crate::diagnose::diagnose(
            &TlBuilder::new()
                .handshake()
                .cr(4, 0.002, RDP)
                .cc(5, 0.004, RDP)
                .mcs(6, 0.01, ToServer, McsEvent::ConnectInitial(Box::default()))
                .mcs(7, 0.02, ToClient, McsEvent::ConnectResponse(Box::default()))
                .mcs(14, 0.2, ToClient, McsEvent::SetErrorInfo { code })
                .fin_s(15, 0.21)
                .build(),
        )
    }

    #[test]
    fn each_code_is_reported_as_its_own_cause() {
        use crate::diagnose::{Confidence, Outcome};
        for (code, id) in [
            (0x3, CauseId::SessionTimeLimit),
            (0x4, CauseId::SessionTimeLimit),
            (0x5, CauseId::ReplacedByOtherConnection),
            (0x6, CauseId::ServerOutOfMemory),
            (0x7, CauseId::ServerDeniedSession),
            (0x9, CauseId::AccessDenied),
            (0xA, CauseId::FreshCredentialsRequired),
            (0x10, CauseId::ServerComponentFailure),
            (0x1A, CauseId::ServerShutdown),
            (0x102, CauseId::LicensingError),
            (0x400, CauseId::ConnectionBrokerError),
            (0x10D3, CauseId::RdpProtocolError),
        ] {
            let d = with_error_info(code);
            assert_eq!(d.outcome, Outcome::Failed, "0x{code:x}");
            let c = d.cause.expect("a cause");
            assert_eq!(c.id, id, "0x{code:x}");
            assert_eq!(c.confidence, Confidence::High, "0x{code:x}");
            assert!(c.summary.contains(&format!("0x{code:x}")), "{}", c.summary);
            assert_eq!(c.remediation, crate::diagnose::remediation(id));
        }
        // A code without an entry of its own: the catch-all, less sure.
        let c = with_error_info(0x8).cause.expect("a cause");
        assert_eq!(c.id, CauseId::ServerDeniedSession);
        assert_eq!(c.confidence, Confidence::Medium);
    }
}
