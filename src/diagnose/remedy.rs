//! What the administrator should do about each cause: one table keyed by
//! [`CauseId`], each row with what the capture shows, the remedy and the
//! source the remedy follows (a specification section or a Microsoft Learn
//! article). `docs/causes.md` is generated from this table and the
//! client-message table ([`super::client_message`]); see
//! `rdptriage --print-causes-md`.

use super::CauseId;

/// One row of the remediation table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remedy {
    pub cause: CauseId,
    /// What the capture shows when this cause is named.
    pub wire: &'static str,
    /// What to check and change, in the administrator's words.
    pub remedy: &'static str,
    /// Where the remedy comes from: specification sections, Microsoft
    /// Learn articles (title and address), RFCs, FreeRDP source files.
    pub source: &'static str,
}

macro_rules! learn_rdp_general {
    () => {
        "Microsoft Learn, RDP general troubleshooting (rdp-error-general-troubleshooting)"
    };
}
macro_rules! learn_firewall {
    () => {
        "Microsoft Learn, \"Enable or disable a firewall rule on a guest OS\" \
     (enable-disable-firewall-rule-guest-os)"
    };
}
macro_rules! learn_event_id {
    () => {
        "Microsoft Learn, \"Troubleshoot RDP connection issues with Event ID\" \
     (event-id-troubleshoot-vm-rdp-connecton)"
    };
}
macro_rules! learn_internal_error {
    () => {
        "Microsoft Learn, \"An internal error has occurred\" \
     (internal-error-has-occurred-connecting-remote-machine)"
    };
}
macro_rules! learn_disconnected {
    () => {
        "Microsoft Learn, \"Troubleshoot Remote Desktop disconnected errors\" \
     (troubleshoot-remote-desktop-disconnected-errors, KB 2477176)"
    };
}
macro_rules! learn_auth_azure {
    () => {
        "Microsoft Learn, \"Troubleshoot authentication errors when you use RDP to connect to Azure VM\" \
     (https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/windows/cannot-connect-rdp-azure-vm)"
    };
}
macro_rules! learn_credssp {
    () => {
        "Microsoft Learn, \"CredSSP encryption oracle remediation\" \
     (credssp-encryption-oracle-remediation; CVE-2018-0886)"
    };
}
macro_rules! rdpbcgr_neg_failure {
    () => {
        "MS-RDPBCGR 2.2.1.2.2 (RDP Negotiation Failure, failureCode)"
    };
}
macro_rules! rdpbcgr_errinfo {
    () => {
        "MS-RDPBCGR 2.2.5.1.1 (Set Error Info PDU, errorInfo) \
     (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/a21a1bd9-2303-49c1-90ec-3932435c248c); \
     FreeRDP libfreerdp/core/errinfo.c"
    };
}

macro_rules! nla_error_code {
    () => {
        "MS-CSSP 2.2.1 (TSRequest errorCode, an NTSTATUS); MS-ERREF 2.3.1 (NTSTATUS values); \
     Microsoft Learn, \"4625(F): An account failed to log on\" (event-4625, Status and Sub Status \
     codes)"
    };
}

/// The remediation table. Every [`CauseId`] has exactly one row (checked
/// by a test).
pub const REMEDIES: &[Remedy] = &[
    Remedy {
        cause: CauseId::PortClosed,
        wire: "The server's address answers the SYN with a RST.",
        remedy: "Nothing accepts connections on the port, or a host firewall rejects them with a \
                 reset. On the server: enable Remote Desktop (System Properties > Remote) and check \
                 that it is not turned off by fDenyTSConnections = 1 (under \
                 HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server, or the Group Policy value \
                 under HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services set by \
                 'Allow users to connect remotely by using Remote Desktop Services'); check that the \
                 Remote Desktop Services service runs (`Restart-Service TermService -Force`); check \
                 the listening port (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal \
                 Server\\WinStations\\RDP-Tcp\\PortNumber, `netstat -ano | findstr :3389`); enable \
                 the Windows Defender Firewall rules 'Remote Desktop - User Mode (TCP-In)' and \
                 'Remote Desktop - User Mode (UDP-In)' for the network profile in use (`netsh \
                 advfirewall firewall set rule name=\"Remote Desktop - User Mode (TCP-In)\" new \
                 enable=yes`).",
        source: concat!(
            learn_firewall!(),
            "; ",
            learn_rdp_general!(),
            "; RFC 9293 3.10.7.1 (a closed port answers a SYN with RST)"
        ),
    },
    Remedy {
        cause: CauseId::Filtered,
        wire: "The client's SYN is retransmitted and never answered.",
        remedy: "The SYN was dropped on the way: check the firewalls and cloud security groups / \
                 network ACLs between client and server for TCP to the RDP port, that the host is up \
                 and the address is right (if the client used a name, try the IP address; a stale \
                 DNS record is common), the routing, and that the VPN is connected.",
        source: concat!(
            learn_rdp_general!(),
            "; RFC 9293 3.8.1 (retransmission of an unanswered SYN)"
        ),
    },
    Remedy {
        cause: CauseId::IcmpUnreachable,
        wire: "An ICMP destination-unreachable quoting the connection's SYN.",
        remedy: "A router or firewall answered with an ICMP error (named in the evidence): \
                 'administratively prohibited' is a firewall rule to change; 'host unreachable' \
                 means the host is down or not on that network (check ARP, the host's power and \
                 address); 'network unreachable' is a routing problem; 'port unreachable' for TCP \
                 is not what a host with nothing listening sends (that is a RST): it points to a \
                 firewall REJECT rule (Linux iptables/nftables `REJECT` answers with port \
                 unreachable by default) on the host or on the path; change that rule.",
        source: "RFC 793 3.9 \"Segment Arrives\" (CLOSED state: a RST answers a SYN); RFC 1122 \
                 3.2.2.1; iptables-extensions(8) REJECT (default icmp-port-unreachable)",
    },
    Remedy {
        cause: CauseId::ServiceUnresponsive,
        wire: "TCP completes, the X.224 Connection Request is never answered, the client gives up.",
        remedy: "The server's TCP stack answers but the RDP service does not: restart it \
                 (`Restart-Service TermService -Force`, or reboot from the console); look in the \
                 server's event log (System, and Applications and Services Logs > Microsoft > \
                 Windows > TerminalServices-RemoteConnectionManager and \
                 RemoteDesktopServices-RdpCoreTS) for a hung or overloaded listener; if a proxy or \
                 load balancer accepts TCP in front of the server, check that it can reach the back \
                 end.",
        source: learn_rdp_general!(),
    },
    Remedy {
        cause: CauseId::ListenerRefused,
        wire: "The server resets or closes the connection right after the X.224 Connection Request.",
        remedy: "The listener took the TCP connection and dropped it as soon as it saw the request: \
                 check that the port really serves RDP (something else may be listening: `netstat \
                 -ano`); check the connection limit: the Group Policy 'Limit number of connections' \
                 (Remote Desktop Session Host > Connections) or the RDP-Tcp listener's maximum \
                 connections, and the server's event log (TerminalServices-RemoteConnectionManager) \
                 at that time. A Windows server ignores the routing token / cookie; a load balancer \
                 or RD Connection Broker in front reads it: check that it can route it to a host.",
        source: concat!(learn_disconnected!(), "; MS-RDPBCGR 2.2.1.1 (routingToken, cookie)"),
    },
    Remedy {
        cause: CauseId::SslRequiredByServer,
        wire: "RDP_NEG_FAILURE code 1 (SSL_REQUIRED_BY_SERVER) in the X.224 Connection Confirm.",
        remedy: "The server refused the security protocols the client offered: usually it requires \
                 TLS (SecurityLayer = 2) and the client offered Standard RDP Security only; the same \
                 code also answers a client that offered only CredSSP to a server that supports only \
                 TLS (the negotiation line says which). On the client, offer TLS and CredSSP (for \
                 FreeRDP drop `/sec:rdp`; mstsc's 'authentication level' controls server \
                 authentication, not which protocols are offered). On the server, compare \
                 SecurityLayer and UserAuthentication: the Group Policy values under \
                 HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services ('Require use of \
                 specific security layer for remote (RDP) connections') override those under \
                 HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp.",
        source: concat!(rdpbcgr_neg_failure!(), "; ", learn_internal_error!(), "; ", learn_auth_azure!()),
    },
    Remedy {
        cause: CauseId::SslNotAllowedByServer,
        wire: "RDP_NEG_FAILURE code 2 (SSL_NOT_ALLOWED_BY_SERVER).",
        remedy: "The server is set to Standard RDP Security only (SecurityLayer = 0) and the client \
                 insisted on TLS/NLA: set SecurityLayer to 1 (negotiate) or 2 (TLS) with the Group \
                 Policy 'Require use of specific security layer for remote (RDP) connections' \
                 (HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services, which overrides \
                 the listener) or under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal \
                 Server\\WinStations\\RDP-Tcp, then restart TermService.",
        source: concat!(rdpbcgr_neg_failure!(), "; ", learn_internal_error!()),
    },
    Remedy {
        cause: CauseId::CertNotOnServer,
        wire: "RDP_NEG_FAILURE code 3 (SSL_CERT_NOT_ON_SERVER).",
        remedy: "The server has no usable certificate for TLS: the Remote Desktop certificate is \
                 missing or its private key cannot be read. From a console, as Microsoft documents \
                 it: reset the permissions of the RDP key file in \
                 C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys with icacls (SYSTEM Full \
                 control, NETWORK SERVICE Read, Administrators Full control; the MachineKeys folder \
                 itself: Administrators Full control, Everyone Read/Write as the article lists), \
                 delete the certificate under Certificates (Local Computer) > Remote Desktop > \
                 Certificates, and restart the Remote Desktop Configuration service \
                 (`Restart-Service SessionEnv`, or TermService) so that it is regenerated; check that \
                 a certificate configured for RDP (SSLCertificateSHA1Hash) exists; look in the \
                 System log for Schannel events 36870 (the private key could not be accessed) and \
                 36871 (TLS protocol versions or ciphers disabled, which also break RDP).",
        source: concat!(rdpbcgr_neg_failure!(), "; ", learn_event_id!(), "; ", learn_internal_error!()),
    },
    Remedy {
        cause: CauseId::InconsistentFlags,
        wire: "RDP_NEG_FAILURE code 4 (INCONSISTENT_FLAGS).",
        remedy: "INCONSISTENT_FLAGS is only sent with the Direct Approach (the client started \
                 CredSSP without an X.224 negotiation first): the protocols the client then requested \
                 do not include PROTOCOL_HYBRID, which contradicts the CredSSP already in use. It is \
                 a client (or RDP proxy) fault, not the server's security settings and not the .rdp \
                 'authentication level': update the client or proxy, or have it negotiate first \
                 (X.224 Connection Request with RDP_NEG_REQ).",
        source: concat!(rdpbcgr_neg_failure!(), "; MS-RDPBCGR 5.4.2.2 (Direct Approach)"),
    },
    Remedy {
        cause: CauseId::NlaRequired,
        wire: "RDP_NEG_FAILURE code 5 (HYBRID_REQUIRED_BY_SERVER).",
        remedy: "The server requires Network Level Authentication (UserAuthentication = 1, or the \
                 Group Policy 'Require user authentication for remote connections by using Network \
                 Level Authentication' under HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal \
                 Services, which overrides the RDP-Tcp value) and the client did not offer CredSSP: \
                 let the client offer it (mstsc: 'enablecredsspsupport:i:1' in the .rdp file; \
                 FreeRDP: do not restrict `/sec:` to `rdp` or `tls`), or, less safe, turn the \
                 requirement off on the server (untick 'Allow connections only from computers \
                 running Remote Desktop with Network Level Authentication', UserAuthentication = 0 \
                 under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal \
                 Server\\WinStations\\RDP-Tcp, and the policy if it is set).",
        source: concat!(rdpbcgr_neg_failure!(), "; ", learn_auth_azure!()),
    },
    Remedy {
        cause: CauseId::SslWithUserAuthRequired,
        wire: "RDP_NEG_FAILURE code 6 (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER).",
        remedy: "The server demands TLS with client-certificate authentication, which is usually an \
                 RDP proxy or gateway in front of the host, not Windows' SecurityLayer, \
                 UserAuthentication or CredSSP settings: find the device that answered (its address \
                 and certificate), and give the client the certificate it expects or connect by a \
                 path that does not require one.",
        source: rdpbcgr_neg_failure!(),
    },
    Remedy {
        cause: CauseId::NegotiationFailureOther,
        wire: "RDP_NEG_FAILURE with a code MS-RDPBCGR does not define.",
        remedy: "The server answered the negotiation with a failure code this tool does not know: \
                 compare the client's security options with the server's SecurityLayer and \
                 UserAuthentication values and check the server's RemoteDesktopServices-RdpCoreTS \
                 event log; a non-Windows server or proxy may use codes of its own.",
        source: rdpbcgr_neg_failure!(),
    },
    Remedy {
        cause: CauseId::ServerCertUnusable,
        wire: "The server resets or closes right after the ClientHello, with no ServerHello.",
        remedy: "The server could not start TLS: the Remote Desktop certificate or its private key \
                 is unusable, or the TLS versions or cipher suites the client offers are disabled on \
                 the server. From a console (physical, hypervisor, Azure Serial Console or Run \
                 Command): look in the System log for Schannel events 36870 (private key) and 36871 \
                 (protocol versions or ciphers); reset the permissions of the RDP key file in \
                 C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys with icacls (SYSTEM Full \
                 control, NETWORK SERVICE Read, Administrators Full control), delete the certificate \
                 under Certificates (Local Computer) > Remote Desktop > Certificates and restart the \
                 Remote Desktop Configuration service (`Restart-Service SessionEnv`, or TermService) \
                 to regenerate it; check that the certificate configured for RDP \
                 (SSLCertificateSHA1Hash) exists and has not expired; check that TLS 1.2 is enabled \
                 under HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols.",
        source: concat!(learn_event_id!(), "; ", learn_internal_error!(), "; ", learn_rdp_general!()),
    },
    Remedy {
        cause: CauseId::TlsVersionMismatch,
        wire: "A TLS protocol_version alert, or a server close, after a ClientHello whose versions \
               the server does not accept.",
        remedy: "Client and server have no TLS version in common: enable TLS 1.2 on both sides \
                 (SCHANNEL\\Protocols registry keys on Windows; Windows 7 / Server 2008 R2 need \
                 KB3080079 for TLS 1.1/1.2 in RDP) rather than re-enabling TLS 1.0/1.1. FreeRDP 3: \
                 `/tls:enforce:1.2` pins the version and `/tls:seclevel:N` lowers OpenSSL's security \
                 level for an old server (FreeRDP 2: `/tls-seclevel:N`; `+enforce-tlsv1_2` is \
                 deprecated); FreeRDP 3.27 and later refuse below TLS 1.2 by default.",
        source: "RFC 5246 7.2.2 / RFC 8446 6.2 (protocol_version); FreeRDP client/common/cmdline.c \
                 (`/tls:` options); Microsoft KB3080079 (TLS 1.1/1.2 for RDS on Windows 7 and Server \
                 2008 R2); Microsoft Learn, \"Troubleshoot authentication errors when you use RDP to \
                 connect to Azure VM\" (TLS versions disabled)",
    },
    Remedy {
        cause: CauseId::TlsCipherMismatch,
        wire: "A TLS handshake_failure alert (or a close) after the ClientHello: no cipher suite \
               in common.",
        remedy: "Client and server have no cipher suite in common: compare the server's cipher \
                 suite policy (Group Policy 'SSL Cipher Suite Order', SCHANNEL registry) with the \
                 suites in the ClientHello, and enable a modern ECDHE-RSA-AES-GCM suite on both \
                 sides; the server's System log names the failure (Schannel 36871, 36874).",
        source: "RFC 5246 7.4.1.3 / RFC 8446 4.1.1 (handshake_failure when no suite is shared); \
                 Microsoft Learn, \"TLS Cipher Suites in Windows\"",
    },
    Remedy {
        cause: CauseId::TlsServerInternalError,
        wire: "A clear-text TLS internal_error alert from the server.",
        remedy: "The server's TLS stack failed. No source ties this to the private key alone: a \
                 protocol or cipher configuration does it too. Look in the server's System log for \
                 Schannel events 36870 (the certificate's private key could not be accessed) and \
                 36871 (protocol versions or ciphers), then apply the matching fix: reset the \
                 MachineKeys permissions and regenerate the certificate (see server_cert_unusable), \
                 or enable TLS 1.2 and a suite the client offers.",
        source: concat!(learn_event_id!(), "; ", learn_internal_error!(), "; RFC 5246 7.2.2"),
    },
    Remedy {
        cause: CauseId::CertRejectedExpired,
        wire: "The client aborts after the server's Certificate, which had expired by the \
               capture's clock.",
        remedy: "The server's certificate had expired at the time of the capture: renew it, or for \
                 the self-signed Remote Desktop certificate delete it under Certificates (Local \
                 Computer) > Remote Desktop and restart the Remote Desktop Configuration service \
                 (SessionEnv) to regenerate it; check the server's clock too.",
        source: concat!("RFC 5280 4.1.2.5 (validity); ", learn_event_id!()),
    },
    Remedy {
        cause: CauseId::CertRejectedNotYetValid,
        wire: "The client aborts after the server's Certificate, not yet valid by the capture's \
               clock.",
        remedy: "The server's certificate was not yet valid at the time of the capture: a clock is \
                 wrong (check the time on the server and on the client, and NTP), or the \
                 certificate was issued with a future start date.",
        source: "RFC 5280 4.1.2.5 (validity)",
    },
    Remedy {
        cause: CauseId::CertRejectedSelfSigned,
        wire: "The client aborts after a self-signed server Certificate.",
        remedy: "The client does not trust the server's self-signed certificate: deploy a \
                 certificate from a CA the clients trust (Group Policy 'Server authentication \
                 certificate template', or SSLCertificateSHA1Hash on the RDP-Tcp listener), or \
                 distribute the self-signed certificate to the clients' trusted store.",
        source: "RFC 5280 6.1 (path validation to a trust anchor); Microsoft Learn, Remote Desktop \
                 listener certificate configuration",
    },
    Remedy {
        cause: CauseId::CertRejectedNameMismatch,
        wire: "The client aborts after a Certificate that does not name the host it dialled.",
        remedy: "The certificate does not name the host the client dialled: connect with the name \
                 in the certificate, or issue a certificate whose subject or SAN contains the name \
                 (and the IP address if clients use it).",
        source: "RFC 6125 6 (service identity); RFC 5280 4.2.1.6 (subjectAltName)",
    },
    Remedy {
        cause: CauseId::CertRejected,
        wire: "The client aborts after the server's Certificate, for no reason the capture shows.",
        remedy: "The client rejected the server's certificate: check its validity dates, issuer \
                 (trusted by the client?), name and key strength (RSA 2048 bits or more, SHA-256 \
                 signature); renew or replace it.",
        source: "RFC 5280 6.1 (certificate path validation)",
    },
    Remedy {
        cause: CauseId::CredentialsRejected,
        wire: "Inside TLS, the server closes the connection after the client's CredSSP \
               authenticate message.",
        remedy: "The server rejected the NLA credentials: check the user name and password, \
                 whether the password expired or must be changed, whether the account is locked or \
                 disabled, and membership of 'Remote Desktop Users' / 'Allow log on through Remote \
                 Desktop Services'; the server's Security event log (4625) names the reason. NLA \
                 fails the same way when the server cannot reach a domain controller (broken secure \
                 channel, DNS, DC down): check `Test-ComputerSecureChannel` and DC connectivity from \
                 the server; a local account still works then. Check the CredSSP 'Encryption Oracle \
                 Remediation' policy (AllowEncryptionOracle 0 Force Updated Clients, 1 Mitigated, 2 \
                 Vulnerable under \
                 HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters) \
                 and the CredSSP updates on both sides; when it is the client that enforces it, the \
                 client closes instead (client_aborted).",
        source: concat!(
            "MS-CSSP 3.1.5 (errorCode); Microsoft Learn, \"4625(F): An account failed to log on\"; ",
            learn_auth_azure!(),
            "; ",
            learn_credssp!()
        ),
    },
    Remedy {
        cause: CauseId::AccessDenied,
        wire: "An Early User Authorization Result of ACCESS_DENIED (HYBRID_EX), or Set Error Info \
               0x9 (ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES), then the server closes.",
        remedy: "Authentication succeeded but the user may not log on to this host: add the user to \
                 'Remote Desktop Users' or to 'Allow log on through Remote Desktop Services' (and \
                 remove them from 'Deny log on through Remote Desktop Services'); on an RD Session \
                 Host, check the collection's user groups.",
        source: concat!("MS-RDPBCGR 2.2.10.2 (Early User Authorization Result); ", rdpbcgr_errinfo!()),
    },
    Remedy {
        cause: CauseId::PubKeyAuthRejected,
        wire: "Inside TLS, the client closes after the server's CredSSP pubKeyAuth.",
        remedy: "The client could not verify the server's public-key binding: something between \
                 client and server intercepts TLS (an inspecting proxy or firewall), or the \
                 certificate changed during the connection. Exempt RDP from TLS inspection.",
        source: "MS-CSSP 3.1.5 (pubKeyAuth binds the server's TLS public key)",
    },
    Remedy {
        cause: CauseId::LicensingError,
        wire: "A Licensing ERROR_ALERT from the server, or Set Error Info 0x100 to 0x10A.",
        remedy: "The server could not license the session: check that the RD Session Host has a \
                 licensing mode and a reachable RD License Server with available CALs (RD Licensing \
                 Diagnoser), and that the grace period has not ended; on a client with a corrupt \
                 license, delete HKLM\\SOFTWARE\\Microsoft\\MSLicensing.",
        source: concat!("MS-RDPELE 2.2.2.7.1 (licensing error codes); ", rdpbcgr_errinfo!(), "; ", learn_disconnected!()),
    },
    Remedy {
        cause: CauseId::ServerDeniedSession,
        wire: "Set Error Info 0x7 (ERRINFO_SERVER_DENIED_CONNECTION) or a code without an entry of \
               its own, or an MCS Connect Response refusal.",
        remedy: "The server denied the connection after set-up began: look in the server's event \
                 log at that time (TerminalServices-LocalSessionManager, \
                 TerminalServices-RemoteConnectionManager) for the policy or limit that refused it; \
                 the Set Error Info code in the evidence names the reason.",
        source: concat!(rdpbcgr_errinfo!(), "; MS-RDPBCGR 2.2.1.4 (MCS Connect Response result)"),
    },
    Remedy {
        cause: CauseId::MiddleboxReset,
        wire: "A RST whose IP TTL (or IP ID) does not match the server's other packets.",
        remedy: "A device on the path (firewall, IPS, load balancer) forged the reset, not the \
                 server: check its logs and rules for this connection (TLS or RDP inspection, idle \
                 timeouts, session limits) and exempt or raise the timeout for RDP.",
        source: "No vendor source: the verdict is this tool's reading of the IP TTL (RFC 791 3.1, \
                 time to live decremented per hop)",
    },
    Remedy {
        cause: CauseId::MtuBlackHole,
        wire: "Full-size segments retransmitted and never acknowledged while small ones pass.",
        remedy: "Full-size packets are lost on the path while small ones pass (a path-MTU black \
                 hole, typical of VPNs and tunnels): let ICMP 'fragmentation needed' / 'packet too \
                 big' through the firewalls, or clamp the TCP MSS on the tunnel or router (e.g. \
                 `iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS \
                 --clamp-mss-to-pmtu`), or lower the interface MTU.",
        source: "RFC 2923 2.1 (PMTUD black hole); RFC 1191; iptables-extensions(8) TCPMSS",
    },
    Remedy {
        cause: CauseId::IdleTimeout,
        wire: "A long silence on a working connection, then a RST or retransmissions nobody \
               answers.",
        remedy: "A stateful device on the path dropped the connection after a silence: raise its \
                 idle timeout for RDP, or enable RDP keep-alives on the server (Group Policy \
                 'Configure keep-alive connection interval') so the connection is never idle that \
                 long.",
        source: "Microsoft Group Policy 'Configure keep-alive connection interval' (Remote Desktop \
                 Session Host > Connections); RFC 1122 4.2.3.6 (keep-alives)",
    },
    Remedy {
        cause: CauseId::ZeroWindowStall,
        wire: "One side advertises a zero receive window for seconds.",
        remedy: "One side stopped reading (its receive window stayed at zero): when it is the \
                 server, the session host is hung or overloaded; check its CPU, memory and the \
                 Remote Desktop Services processes, and restart TermService if needed.",
        source: concat!("RFC 9293 3.8.6.1 (zero window probing); ", learn_rdp_general!()),
    },
    Remedy {
        cause: CauseId::ServerReset,
        wire: "A RST from the server (its own TTL) with no explanation in the clear.",
        remedy: "The server reset the connection: look in the server's event log \
                 (RemoteDesktopServices-RdpCoreTS, TerminalServices-RemoteConnectionManager) at that \
                 time for the reason.",
        source: learn_rdp_general!(),
    },
    Remedy {
        cause: CauseId::ServerClosed,
        wire: "A FIN from the server with no explanation in the clear.",
        remedy: "The server closed the connection: look in the server's event log \
                 (RemoteDesktopServices-RdpCoreTS, TerminalServices-RemoteConnectionManager) at that \
                 time for the reason.",
        source: learn_rdp_general!(),
    },
    Remedy {
        cause: CauseId::ClientAborted,
        wire: "The client closes or resets the connection on its own, at a step where the capture \
               shows no reason.",
        remedy: "The client gave up on its own: check the client's error message or log (FreeRDP \
                 `/log-level:DEBUG`, the mstsc disconnect code) and its security settings against \
                 what the server offered; a client that enforces the CredSSP encryption oracle \
                 remediation closes right after the server's first CredSSP answer when the server \
                 lacks the 2018 CredSSP update: update the server.",
        source: concat!(learn_credssp!(), "; FreeRDP wLog (`/log-level`)"),
    },
    Remedy {
        cause: CauseId::CaptureLossInFailingStep,
        wire: "Data acknowledged by the receiver that the capture never saw, where the connection \
               stopped.",
        remedy: "The capture lost packets exactly where the connection stopped: capture again with \
                 a larger buffer (`tcpdump -B 8192`), on a less loaded interface, or on both ends.",
        source: "tcpdump(1) (-B buffer size)",
    },
    Remedy {
        cause: CauseId::PathLost,
        wire: "A working connection whose last segments are retransmitted and never acknowledged.",
        remedy: "The connection was up, then the other side stopped acknowledging: the host stopped \
                 (crash, reboot, sleep) or the path broke (VPN drop, routing change, a firewall that \
                 lost the connection's state). Check the server's uptime and event log and the \
                 devices on the path at that time.",
        source: "RFC 9293 3.8.1 (retransmission until the user timeout)",
    },
    Remedy {
        cause: CauseId::NotRdpServer,
        wire: "Something other than an X.224 Connection Confirm answers the Connection Request.",
        remedy: "Something other than an RDP server answered on this port: check the port the \
                 client connects to, the port-forwarding / NAT rules in front of the server, and \
                 what listens on the server (`netstat -ano`, the RDP-Tcp PortNumber registry value).",
        source: "MS-RDPBCGR 2.2.1.2 (X.224 Connection Confirm)",
    },
    Remedy {
        cause: CauseId::Unknown,
        wire: "Nothing that names a cause.",
        remedy: "The capture does not show enough to name a cause: capture on both ends from \
                 before the connection starts, and check the server's event log at that time.",
        source: "No source: no cause is named.",
    },
    Remedy {
        cause: CauseId::SessionTimeLimit,
        wire: "Set Error Info 0x3 (ERRINFO_IDLE_TIMEOUT) or 0x4 (ERRINFO_LOGON_TIMEOUT) from the \
               server.",
        remedy: "The server ended the session on its own Session Time Limits, not a device on the \
                 path: 0x3 is the idle-session limit, 0x4 the active-session limit. Raise or clear \
                 them in Group Policy (Computer or User Configuration > Administrative Templates > \
                 Windows Components > Remote Desktop Services > Remote Desktop Session Host > \
                 Session Time Limits: 'Set time limit for active but idle Remote Desktop Services \
                 sessions', 'Set time limit for active Remote Desktop Services sessions'), on the \
                 RDP-Tcp listener's Sessions settings, or on the user account's Sessions tab.",
        source: concat!(rdpbcgr_errinfo!(), "; Microsoft Group Policy 'Session Time Limits' (Remote Desktop Session Host)"),
    },
    Remedy {
        cause: CauseId::ReplacedByOtherConnection,
        wire: "Set Error Info 0x5 (ERRINFO_DISCONNECTED_BY_OTHERCONNECTION).",
        remedy: "Another connection took over this user's session: the same user connected from \
                 somewhere else (or a second client uses the same account). Expected when the user \
                 moves; otherwise find the other client in the server's \
                 TerminalServices-LocalSessionManager log, or allow several sessions per user \
                 (Group Policy 'Restrict Remote Desktop Services users to a single Remote Desktop \
                 Services session' set to Disabled).",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::ServerOutOfMemory,
        wire: "Set Error Info 0x6 (ERRINFO_OUT_OF_MEMORY).",
        remedy: "The server ran out of memory: check its memory use and paging file at that time, \
                 the number of sessions, and processes that leak; add memory or move users.",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::FreshCredentialsRequired,
        wire: "Set Error Info 0xA (ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED).",
        remedy: "The server wants the user to enter credentials again rather than use saved or \
                 single-sign-on ones; one setting that does this is the Group Policy 'Always prompt \
                 for password upon connection' (fPromptForPassword). Connect with a client that \
                 prompts for the password, or clear the policy if it is not wanted.",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::ServerComponentFailure,
        wire: "Set Error Info 0xF, 0x11 or 0x12 (display driver not ready or failed), 0x10 (DWM \
               crash), 0x17 (Winlogon crash) or 0x18 (CSRSS crash).",
        remedy: "A component of the remote session failed on the server: look in its System and \
                 Application logs at that time for the crash or driver error, install updates \
                 (display and remote display drivers, the OS), and restart the server if it \
                 persists.",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::ServerShutdown,
        wire: "Set Error Info 0x19 (ERRINFO_SERVER_SHUTDOWN) or 0x1A (ERRINFO_SERVER_REBOOT).",
        remedy: "The server was shutting down or restarting: find who or what restarted it (System \
                 log event 1074) and connect again once it is up.",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::ConnectionBrokerError,
        wire: "Set Error Info 0x400 and up (ERRINFO_CB_...).",
        remedy: "An RD Connection Broker could not place the connection (destination not found, \
                 virtual machine not started or not resolvable, pool not free, redirection failed, \
                 invalid settings; the code in the evidence says which): check the broker's \
                 TerminalServices-SessionBroker event log, the collection's hosts or virtual \
                 machines, and the collection named in the .rdp file (loadbalanceinfo).",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::RdpProtocolError,
        wire: "Set Error Info in the protocol range (0x10C9 and up).",
        remedy: "The server found an error in the RDP data the client sent (the code names the PDU \
                 it rejected): update the client, or the proxy or gateway in the path that rewrites \
                 RDP, and report the code to its vendor.",
        source: rdpbcgr_errinfo!(),
    },
    Remedy {
        cause: CauseId::AccountLockedOut,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC0000234 \
               (STATUS_ACCOUNT_LOCKED_OUT) after the client's NTLM AUTHENTICATE.",
        remedy: "The account is locked out after too many bad passwords: unlock it (Active \
                 Directory Users and Computers, or `Unlock-ADAccount`), then find what keeps \
                 sending the old password (saved .rdp credentials, mapped drives, services, phones): \
                 the domain controller's events 4740 and 4625 name the source workstation.",
        source: concat!(nla_error_code!(), "; Microsoft Learn, \"4740(S): A user account was locked out\""),
    },
    Remedy {
        cause: CauseId::PasswordExpired,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC0000071 \
               (STATUS_PASSWORD_EXPIRED).",
        remedy: "The account's password has expired and NLA cannot prompt for a new one: change it \
                 elsewhere (Ctrl+Alt+Del on a domain machine, RD Web Access password change, or an \
                 administrator's reset), or connect once without NLA where policy allows, then \
                 connect again.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::PasswordMustChange,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC0000224 \
               (STATUS_PASSWORD_MUST_CHANGE).",
        remedy: "The account is marked 'User must change password at next logon' and NLA cannot \
                 prompt for the change: set the new password elsewhere (Ctrl+Alt+Del on a domain \
                 machine, RD Web Access, an administrator's reset without the flag), then connect \
                 again.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::AccountDisabled,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC0000072 \
               (STATUS_ACCOUNT_DISABLED).",
        remedy: "The account is disabled: enable it (Active Directory Users and Computers or \
                 `Enable-ADAccount`; `net user NAME /active:yes` for a local account) if it should \
                 log on, or use another account.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::AccountExpired,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC0000193 \
               (STATUS_ACCOUNT_EXPIRED).",
        remedy: "The account's expiry date has passed: extend it (account properties, 'Account \
                 expires') if it should still log on.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::LogonTypeNotGranted,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC000015B \
               (STATUS_LOGON_TYPE_NOT_GRANTED).",
        remedy: "The credentials are valid but the account lacks the remote interactive logon \
                 right on this server: add the user (or a group of theirs) to 'Remote Desktop \
                 Users' or to the policy 'Allow log on through Remote Desktop Services', and remove \
                 it from 'Deny log on through Remote Desktop Services'; `gpresult /h` on the server \
                 shows which policy sets the right.",
        source: concat!(
            nla_error_code!(),
            "; Microsoft Learn, \"Allow log on through Remote Desktop Services\" (security policy \
             setting)"
        ),
    },
    Remedy {
        cause: CauseId::AccountRestriction,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC000006E \
               (STATUS_ACCOUNT_RESTRICTION), 0xC0000070 (STATUS_INVALID_WORKSTATION) or \
               0xC0000413 (STATUS_AUTHENTICATION_FIREWALL_FAILED).",
        remedy: "The credentials are valid but an account policy refuses this logon: a blank \
                 password with 'Accounts: Limit local account use of blank passwords to console \
                 logon only', the account's 'Log On To' workstation list, a Protected Users or \
                 authentication policy silo rule, or a selective-authentication trust without \
                 'Allowed to authenticate'. Check the account's properties and the domain \
                 controller's events 4625 and 4820.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::LogonHoursRestriction,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC000006F \
               (STATUS_INVALID_LOGON_HOURS).",
        remedy: "The account may not log on at this time: check its 'Logon Hours' (account \
                 properties) and the time zone of the domain controller that checks them.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::DomainUnreachable,
        wire: "Decrypted: the server's CredSSP TSRequest carries errorCode 0xC000005E \
               (STATUS_NO_LOGON_SERVERS), 0xC000018D (STATUS_TRUSTED_RELATIONSHIP_FAILURE) or \
               0xC0000133 (STATUS_TIME_DIFFERENCE_AT_DC).",
        remedy: "The server could not check the logon with a domain controller: from the server, \
                 check DNS and connectivity to a DC (`nltest /sc_query:DOMAIN`), the machine's \
                 secure channel (`Test-ComputerSecureChannel -Repair`, or rejoin the domain), and \
                 time synchronisation with the DC (`w32tm /query /status`). A local account still \
                 logs on meanwhile.",
        source: nla_error_code!(),
    },
    Remedy {
        cause: CauseId::DnsNameNotFound,
        wire: "The client's DNS query for the server's name is answered NXDOMAIN (RCODE 3), and no \
               other look-up of the name gives an address.",
        remedy: "The name does not exist in the DNS the client asks. Check the spelling and the DNS \
                 suffix the client appends (`ipconfig /all`, 'DNS Suffix Search List'); register the \
                 server's A/AAAA record (dynamic registration: `ipconfig /registerdns` on the server) \
                 or connect by its full name; check which DNS server answered (the capture shows its \
                 address).",
        source: "RFC 1035 4.1.1 (RCODE 3, Name Error); Microsoft Learn, \"DNS client resolution \
                 timeouts\" (dns-client-resolution-timeouts, KB 2834226: a Name Error stops the \
                 resolver)",
    },
    Remedy {
        cause: CauseId::DnsNoAnswer,
        wire: "The look-up of the server's name gives no address: SERVFAIL (2) or REFUSED (5), a \
               NOERROR answer without an A/AAAA record, or queries repeated with no answer.",
        remedy: "The DNS server could not or would not answer. SERVFAIL: the server's forwarder or \
                 the zone's authoritative servers fail (check the DNS server's event log and its \
                 forwarders); REFUSED: the client is not allowed to query that server (recursion \
                 or ACL); an empty answer: the name exists without an address of the type asked \
                 (add the A or AAAA record); no answer: UDP/TCP 53 to the DNS server is blocked or \
                 the server is down (`Resolve-DnsName <name> -Server <dns>`).",
        source: "RFC 1035 4.1.1 (RCODE 2 Server failure, 5 Refused); RFC 2308 2.2 (NODATA); \
                 Microsoft Learn, \"DNS client resolution timeouts\" (KB 2834226)",
    },
    Remedy {
        cause: CauseId::DnsAddressMismatch,
        wire: "The name the client looked up resolved to addresses other than the one it then \
               connected to (both are in the capture).",
        remedy: "The client did not use what DNS answered: a hosts file entry, a stale resolver \
                 cache, or an address typed by hand points elsewhere. Compare `ipconfig \
                 /displaydns` and the hosts file (%SystemRoot%\\System32\\drivers\\etc\\hosts) on \
                 the client with the DNS record; flush the cache (`ipconfig /flushdns`) and correct \
                 whichever of the record and the entry is stale.",
        source: "RFC 1035 2.2 and 7.4 (resolvers cache answers for their TTL); Microsoft Learn, \
                 \"Troubleshoot DNS clients\" (troubleshoot-dns-client)",
    },
    Remedy {
        cause: CauseId::KerberosSpnUnknown,
        wire: "The KDC answered the ticket request for TERMSRV/<name> (or HOST/<name>) with \
               KDC_ERR_S_PRINCIPAL_UNKNOWN (7).",
        remedy: "No account holds that service principal name: the client used an IP address, an \
                 alias (CNAME) or a name the server is not registered under. Connect by the \
                 server's registered full name, or register the name (`setspn -S \
                 TERMSRV/<name> <server>` and `HOST/<name>`); without Kerberos the client falls \
                 back to NTLM, which 'Restrict NTLM' policies or Protected Users forbid.",
        source: "RFC 4120 7.5.9 (KDC_ERR_S_PRINCIPAL_UNKNOWN); Microsoft Learn, \"Service \
                 Principal Names\" (setspn) and \"Kerberos authentication troubleshooting \
                 guidance\" (kerberos-authentication-troubleshooting-guidance)",
    },
    Remedy {
        cause: CauseId::KerberosClockSkew,
        wire: "The KDC answered KRB_AP_ERR_SKEW (37); its stime against the client's clock gives \
               the difference.",
        remedy: "The client's and the KDC's clocks differ by more than the Kerberos tolerance \
                 (5 minutes by default: 'Maximum tolerance for computer clock synchronization'). \
                 Fix time synchronisation: `w32tm /query /status` on the client, `w32tm /resync`, \
                 and check that the domain hierarchy's time source (the PDC emulator) is right.",
        source: "RFC 4120 7.5.9 (KRB_AP_ERR_SKEW) and 1.6 (clocks loosely synchronised); \
                 Microsoft Learn, \"Maximum tolerance for computer clock synchronization\"",
    },
    Remedy {
        cause: CauseId::KerberosPasswordWrong,
        wire: "The KDC answered the AS-REQ with KDC_ERR_PREAUTH_FAILED (24).",
        remedy: "The password typed (or saved in the client's credentials) is wrong for that \
                 account. Type it again; remove stale saved credentials (Credential Manager, the \
                 .rdp file); repeated failures lock the account out.",
        source: "RFC 4120 7.5.9 (KDC_ERR_PREAUTH_FAILED); Microsoft Learn, \"4771(F): Kerberos \
                 pre-authentication failed\" (failure code 0x18)",
    },
    Remedy {
        cause: CauseId::KerberosAccountRevoked,
        wire: "The KDC answered KDC_ERR_CLIENT_REVOKED (18).",
        remedy: "The account is disabled, locked out or expired. Check it in Active Directory \
                 (`Get-ADUser <name> -Properties Enabled,LockedOut,AccountExpirationDate`), \
                 unlock or enable it, and find what locked it (event 4740 on the PDC emulator).",
        source: "RFC 4120 7.5.9 (KDC_ERR_CLIENT_REVOKED); Microsoft Learn, \"4771(F): Kerberos \
                 pre-authentication failed\" (failure code 0x12)",
    },
    Remedy {
        cause: CauseId::KerberosPasswordExpired,
        wire: "The KDC answered KDC_ERR_KEY_EXPIRED (23).",
        remedy: "The account's password has expired. With NLA the client cannot change it during \
                 the connection: change it first (Ctrl+Alt+Del on a domain machine, `Set-ADAccountPassword`, \
                 or RD Web Access password change), or let an administrator reset it.",
        source: "RFC 4120 7.5.9 (KDC_ERR_KEY_EXPIRED); Microsoft Learn, \"4771(F): Kerberos \
                 pre-authentication failed\" (failure code 0x17)",
    },
    Remedy {
        cause: CauseId::KerberosKdcUnreachable,
        wire: "The client sent Kerberos requests to port 88, repeated them, and no KDC answered.",
        remedy: "No domain controller is reachable for Kerberos: check that the client reaches a DC \
                 on TCP and UDP 88 (`Test-NetConnection <dc> -Port 88`), that the DC locator finds one \
                 (`nltest /dsgetdc:<domain>`), and the firewalls between them. Without a KDC, NLA \
                 falls back to NTLM or fails.",
        source: "RFC 4120 7.2.1-2 (KDC on UDP and TCP 88; a client retries on timeout); \
                 Microsoft Learn, \"Kerberos authentication troubleshooting guidance\"",
    },
    Remedy {
        cause: CauseId::KerberosEtypeUnsupported,
        wire: "The KDC answered KDC_ERR_ETYPE_NOSUPP (14): none of the encryption types the \
               request offered is allowed for the account or the service.",
        remedy: "Client, KDC and account disagree on encryption types (for example RC4 disabled on \
                 the KDC while the account or the client offers only RC4, or AES disabled by \
                 'Network security: Configure encryption types allowed for Kerberos'). Align the \
                 policy and the account's msDS-SupportedEncryptionTypes; reset the account's \
                 password so AES keys exist.",
        source: "RFC 4120 7.5.9 (KDC_ERR_ETYPE_NOSUPP); RFC 3961; Microsoft Learn, \"Network \
                 security: Configure encryption types allowed for Kerberos\"",
    },
    Remedy {
        cause: CauseId::UdpTransportBlocked,
        wire: "The client's RDP-UDP SYN datagrams to the server's UDP port went unanswered; the \
               session ran on TCP (informational, not a failure).",
        remedy: "RDP works over TCP alone, slower on lossy or long paths. To allow UDP: enable \
                 'Remote Desktop - User Mode (UDP-In)' on the server, open UDP 3389 in the \
                 firewalls between, and check 'Turn off UDP on client' and 'Select RDP transport \
                 protocols' policies.",
        source: "MS-RDPEUDP 3.1.5.1.1 (the client's SYN, repeated on its retransmit timer); \
                 MS-RDPBCGR 2.2.15.1 (Initiate Multitransport Request); Microsoft Learn, \
                 \"Enable or disable a firewall rule on a guest OS\"",
    },
    Remedy {
        cause: CauseId::RedirectFailed,
        wire: "After a connection to one server (the broker), the client's next connection, to \
               another server, carried a routing token in its X.224 Connection Request (the \
               load-balance information of a Server Redirection PDU), and that connection failed.",
        remedy: "The Connection Broker sent the client to a session host it could not use: check \
                 that the target (the address in the evidence, or the host the routing token \
                 names) is up, listens on its RDP port and is reachable from the client (firewall \
                 between client and session hosts, not only the broker), that its security layer \
                 and certificate suit the client, and the broker's \
                 TerminalServices-SessionBroker event log for the host it chose.",
        source: "MS-RDPBCGR 2.2.1.1 (routingToken), 2.2.13.1 (Server Redirection Packet, \
                 LoadBalanceInfo), 3.1.5.2.1 (the client disconnects and connects to the \
                 target); MSFT-SDLBTS (routing token format, Cookie: msts=)",
    },
    Remedy {
        cause: CauseId::GatewayFailed,
        wire: "The client's connection to the RD Gateway (named with --gateway, or recognised by \
               its decrypted RDG_/RPC_ request) failed before the tunnel opened: a RST answered \
               its SYN, no answer came, the gateway's name was answered NXDOMAIN, the TLS \
               handshake completed and the client closed without sending a request, or the \
               gateway answered the request with an HTTP error status.",
        remedy: "By what the evidence shows. Refused or unanswered: the RD Gateway service \
                 (TSGateway) is not running or TCP 443 to it is blocked (`Test-NetConnection <gw> \
                 -Port 443`, the firewall between client and gateway). Name not found: the \
                 gateway's public DNS record is missing or the client uses another DNS. Closed \
                 after the TLS handshake: most often the client does not trust the gateway's \
                 certificate (name not the one the client uses, issuer not trusted by the client, \
                 expired, revocation list unreachable): install a certificate from a trusted CA \
                 whose subject is the gateway's external name (RD Gateway Manager > Properties > \
                 SSL Certificate); a client-side policy or a cancelled prompt gives the same \
                 packets. HTTP 401: authentication to the gateway failed (the user's credentials, \
                 or NTLM/Kerberos not accepted by the gateway's IIS site). HTTP 403: the user or \
                 the target computer is not allowed by the gateway's Connection Authorization \
                 Policy (RD CAP: user groups, device redirection, authentication method) or \
                 Resource Authorization Policy (RD RAP: the target's name must be in the allowed \
                 computer group, with the name the client uses); the gateway's event log \
                 (Microsoft-Windows-TerminalServices-Gateway/Operational) names which; a gateway \
                 without the HTTP transport (Windows Server 2008 R2 offers only RPC over HTTP) \
                 also answers RDG_ requests 403 or 404, and clients then retry with RPC_IN_DATA: \
                 a capture without that retry shows a client that did not fall back. HTTP 404: the path is not a gateway's (/remoteDesktopGateway/, /rpc/rpcproxy.dll): \
                 the host named is not an RD Gateway, or its IIS site is broken. HTTP 5xx: the \
                 gateway failed (its NPS, IIS or the TSGateway service; check its event log).",
        source: "MS-TSGU 2.2.3.3 (RDG_OUT_DATA, RDG_IN_DATA), 3.3.5.1 (HTTP authentication); \
                 MS-RPCH 2.1.2.1 (RPC_IN_DATA, RPC_OUT_DATA); RFC 9110 15.5.2 (401), 15.5.4 (403), \
                 15.5.5 (404), 15.6 (5xx); Microsoft Learn (Windows Server 2008 R2 and 2008), \
                 \"Creating an RD CAP\" (gg675306: users connect only if they meet one RD CAP \
                 and one RD RAP) and \"Create an RD RAP\"; FreeRDP libfreerdp/core/gateway/rdg.c \
                 (403, 404 and 410 to RDG_OUT_DATA: no HTTP transport, fall back to RPC over \
                 HTTP)",
    },
];

/// The row of a cause.
pub fn remedy(id: CauseId) -> Option<&'static Remedy> {
    REMEDIES.iter().find(|r| r.cause == id)
}

/// The remediation for a cause.
pub fn remediation(id: CauseId) -> &'static str {
    remedy(id).map(|r| r.remedy).unwrap_or("")
}

/// The source of a cause's remediation.
pub fn remedy_source(id: CauseId) -> &'static str {
    remedy(id).map(|r| r.source).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_exactly_one_remedy_with_a_source() {
        for id in CauseId::ALL {
            let n = REMEDIES.iter().filter(|r| r.cause == *id).count();
            assert_eq!(n, 1, "{id:?}");
            assert!(remediation(*id).len() > 40, "{id:?}");
            assert!(remedy_source(*id).len() > 10, "{id:?} has no source");
            assert!(remedy(*id).is_some_and(|r| r.wire.len() > 10), "{id:?}");
        }
        assert_eq!(REMEDIES.len(), CauseId::ALL.len());
    }

    #[test]
    fn remedies_follow_microsofts_procedures() {
        for id in [
            CauseId::CertNotOnServer,
            CauseId::ServerCertUnusable,
            CauseId::TlsServerInternalError,
        ] {
            let r = remediation(id);
            // No Microsoft source renames MachineKeys.
            assert!(!r.contains("MachineKeys_old"), "{id:?}");
            assert!(!r.contains("rename"), "{id:?}");
            assert!(r.contains("36870") && r.contains("36871"), "{id:?}");
        }
        assert!(remediation(CauseId::ServerCertUnusable).contains("SessionEnv"));
        assert!(remediation(CauseId::ServerCertUnusable).contains("NETWORK SERVICE Read"));
        assert!(remediation(CauseId::PortClosed).contains("Remote Desktop - User Mode (TCP-In)"));
        assert!(remediation(CauseId::PortClosed).contains("fDenyTSConnections"));
        assert!(!remediation(CauseId::PortClosed).contains("WebSocket"));
        assert!(remediation(CauseId::NlaRequired).contains("UserAuthentication"));
        assert!(remediation(CauseId::NlaRequired).contains("Policies\\Microsoft\\Windows NT"));
        assert!(
            remediation(CauseId::SslRequiredByServer).contains("Policies\\Microsoft\\Windows NT")
        );
        assert!(remediation(CauseId::SslRequiredByServer).contains("only CredSSP"));
        assert!(remediation(CauseId::SslNotAllowedByServer).contains("SecurityLayer"));
        assert!(remediation(CauseId::InconsistentFlags).contains("Direct Approach"));
        assert!(!remediation(CauseId::InconsistentFlags).contains("contradict each other"));
        assert!(remediation(CauseId::SslWithUserAuthRequired).contains("client-certificate"));
        assert!(!remediation(CauseId::ListenerRefused).contains("licensing"));
        assert!(remediation(CauseId::CredentialsRejected).contains("domain controller"));
        assert!(remediation(CauseId::CredentialsRejected).contains("AllowEncryptionOracle"));
        assert!(remediation(CauseId::IcmpUnreachable).contains("REJECT"));
        assert!(remediation(CauseId::TlsVersionMismatch).contains("/tls:enforce:1.2"));
        assert!(remediation(CauseId::TlsVersionMismatch).contains("/tls:seclevel:"));
        assert!(remediation(CauseId::SessionTimeLimit).contains("Session Time Limits"));
        assert!(remediation(CauseId::MtuBlackHole).contains("clamp"));
    }
}
