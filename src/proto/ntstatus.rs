//! NTSTATUS values a CredSSP server puts in a TSRequest's `errorCode`
//! ([MS-CSSP] 2.2.1: "errorCode ... an NTSTATUS code"), with their names
//! and meanings.
//!
//! Values and names: [MS-ERREF] 2.3.1
//! (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55)
//! and FreeRDP `winpr/include/winpr/nt.h`. Meanings of the logon codes:
//! Microsoft, "4625(F): An account failed to log on", table of Status and
//! Sub Status codes
//! (https://learn.microsoft.com/windows/security/threat-protection/auditing/event-4625),
//! and [MS-APDS] 2.2. One table: the decoder names a code, the diagnosis
//! maps it to a cause, the report prints both.

/// An NTSTATUS value as sent on the wire; open (unknown values print as
/// hex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NtStatus(pub u32);

/// (value, name, meaning).
pub const NTSTATUS_TABLE: &[(u32, &str, &str)] = &[
    (0x0000_0000, "STATUS_SUCCESS", "the operation succeeded"),
    (
        0xC000_0022,
        "STATUS_ACCESS_DENIED",
        "access denied: the account lacks a right or group the server requires",
    ),
    (
        0xC000_005E,
        "STATUS_NO_LOGON_SERVERS",
        "no domain controller was available to check the logon",
    ),
    (
        0xC000_0064,
        "STATUS_NO_SUCH_USER",
        "the user name does not exist",
    ),
    (
        0xC000_006A,
        "STATUS_WRONG_PASSWORD",
        "the user name is correct but the password is wrong",
    ),
    (
        0xC000_006D,
        "STATUS_LOGON_FAILURE",
        "unknown user name or bad password",
    ),
    (
        0xC000_006E,
        "STATUS_ACCOUNT_RESTRICTION",
        "the credentials are valid but an account restriction prevents the logon \
         (such as a blank password or a Protected Users rule)",
    ),
    (
        0xC000_006F,
        "STATUS_INVALID_LOGON_HOURS",
        "the account may not log on at this time of day",
    ),
    (
        0xC000_0070,
        "STATUS_INVALID_WORKSTATION",
        "the account may not log on from this workstation",
    ),
    (
        0xC000_0071,
        "STATUS_PASSWORD_EXPIRED",
        "the account's password has expired",
    ),
    (
        0xC000_0072,
        "STATUS_ACCOUNT_DISABLED",
        "the account is disabled",
    ),
    (
        0xC000_0133,
        "STATUS_TIME_DIFFERENCE_AT_DC",
        "the clocks of the server and the domain controller are too far apart",
    ),
    (
        0xC000_015B,
        "STATUS_LOGON_TYPE_NOT_GRANTED",
        "the account has not been granted the logon type it asked for \
         (remote interactive logon)",
    ),
    (
        0xC000_018D,
        "STATUS_TRUSTED_RELATIONSHIP_FAILURE",
        "the server's trust relationship with the domain failed",
    ),
    (
        0xC000_0193,
        "STATUS_ACCOUNT_EXPIRED",
        "the account has expired",
    ),
    (
        0xC000_0224,
        "STATUS_PASSWORD_MUST_CHANGE",
        "the password must be changed before the first logon",
    ),
    (
        0xC000_0234,
        "STATUS_ACCOUNT_LOCKED_OUT",
        "the account is locked out after too many bad password attempts",
    ),
    (
        0xC000_0413,
        "STATUS_AUTHENTICATION_FIREWALL_FAILED",
        "a selective-authentication trust does not allow this account to \
         authenticate to the server",
    ),
];

impl NtStatus {
    fn entry(self) -> Option<&'static (u32, &'static str, &'static str)> {
        NTSTATUS_TABLE.iter().find(|(v, _, _)| *v == self.0)
    }

    /// The symbolic name (`STATUS_LOGON_FAILURE`), if the table has it.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// What the code means for a logon, if the table has it.
    pub fn meaning(self) -> Option<&'static str> {
        self.entry().map(|e| e.2)
    }

    /// The severity bits say error (0b11, [MS-ERREF] 2.3).
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 0b11
    }
}

impl std::fmt::Display for NtStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (0x{:08x})", self.0),
            None => write!(f, "unknown NTSTATUS (0x{:08x})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(NTSTATUS_TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn names_and_unknowns() {
        // [MS-ERREF] 2.3.1: 0xC000006D STATUS_LOGON_FAILURE, 0xC0000234
        // STATUS_ACCOUNT_LOCKED_OUT.
        assert_eq!(
            NtStatus(0xC000_006D).to_string(),
            "STATUS_LOGON_FAILURE (0xc000006d)"
        );
        assert_eq!(
            NtStatus(0xC000_0234).name(),
            Some("STATUS_ACCOUNT_LOCKED_OUT")
        );
        assert!(NtStatus(0xC000_0234).is_error());
        assert!(!NtStatus(0).is_error());
        assert_eq!(
            NtStatus(0xC0FF_FFFF).to_string(),
            "unknown NTSTATUS (0xc0ffffff)"
        );
        assert_eq!(NtStatus(0xC0FF_FFFF).meaning(), None);
    }
}
