//! What the decrypted NLA exchange says: the cause each CredSSP errorCode
//! (an NTSTATUS, [MS-CSSP] 2.2.1) names, and the rules that read the
//! server's errorCode and Early User Authorization Result.

use super::CauseId;
use crate::proto::ntstatus::NtStatus;

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
