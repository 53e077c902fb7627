//! What the administrator should do about each cause: one table keyed by
//! [`CauseId`], in the words of the domain guide
//! (docs/rdp-failure-guide.md, section 2).

use super::CauseId;

/// The remediation table. Every [`CauseId`] has exactly one row (checked
/// by a test).
pub const REMEDIES: &[(CauseId, &str)] = &[
    (
        CauseId::PortClosed,
        "Nothing accepts connections on the port, or a host firewall rejects them. On the server: \
         enable Remote Desktop (System Properties > Remote); check that the Remote Desktop Services \
         service runs (`Restart-Service TermService -Force`); check the listening port \
         (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\PortNumber, \
         `netstat -ano | findstr :3389`); in Windows Defender Firewall > Allowed apps, allow \
         \"Remote Desktop\" and \"Remote Desktop (WebSocket)\" for the network profile in use \
         (Domain, Private and Public).",
    ),
    (
        CauseId::Filtered,
        "The SYN was dropped on the way: check the firewalls and cloud security groups / network \
         ACLs between client and server for TCP to the RDP port, that the host is up and the \
         address is right (if the client used a name, try the IP address; a stale DNS record is \
         common), the routing, and that the VPN is connected.",
    ),
    (
        CauseId::IcmpUnreachable,
        "A router or firewall answered with an ICMP error (named in the evidence): \
         'administratively prohibited' is a firewall rule to change; 'host unreachable' means the \
         host is down or not on that network (check ARP/the host's power and address); 'network \
         unreachable' is a routing problem; 'port unreachable' means nothing listens.",
    ),
    (
        CauseId::ServiceUnresponsive,
        "The server's TCP stack answers but the RDP service does not: restart it \
         (`Restart-Service TermService -Force`, or reboot from the console); look in the server's \
         event log (System, and Applications and Services Logs > Microsoft > Windows > \
         TerminalServices-RemoteConnectionManager and RemoteDesktopServices-RdpCoreTS) for a \
         hung or overloaded listener; if a proxy or load balancer accepts TCP in front of the \
         server, check that it can reach the back end.",
    ),
    (
        CauseId::ListenerRefused,
        "The listener took the TCP connection and dropped it as soon as it saw the request: check \
         that the port really serves RDP (something else may be listening: `netstat -ano`), the \
         connection limit (Group Policy 'Limit number of connections', RD Session Host licensing \
         mode), and, behind a load balancer or RD Connection Broker, that the routing token / \
         cookie can be routed to a host in the collection.",
    ),
    (
        CauseId::SslRequiredByServer,
        "The server requires TLS or NLA (SecurityLayer = 2) but the client offered Standard RDP \
         Security only: allow TLS/NLA on the client (for FreeRDP drop `/sec:rdp`; for mstsc \
         remove 'authentication level' overrides), or, less safe, set SecurityLayer to 0 or 1 \
         under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp.",
    ),
    (
        CauseId::SslNotAllowedByServer,
        "The server is set to Standard RDP Security only (SecurityLayer = 0) and the client \
         insisted on TLS/NLA: set SecurityLayer to 1 (negotiate) or 2 (TLS) under \
         HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp (or the \
         Group Policy 'Require use of specific security layer for remote (RDP) connections'), \
         then restart TermService.",
    ),
    (
        CauseId::CertNotOnServer,
        "The server has no usable certificate for TLS: the self-signed Remote Desktop certificate \
         is missing or corrupt, or its private key cannot be read. From a console: rename \
         C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys to MachineKeys_old, recreate \
         MachineKeys with Full Control for Administrators and SYSTEM, delete the certificate under \
         Certificates (Computer account) > Remote Desktop > Certificates, then \
         `Restart-Service TermService -Force` to regenerate it.",
    ),
    (
        CauseId::InconsistentFlags,
        "The client's requested-protocol flags contradict each other (INCONSISTENT_FLAGS): update \
         or reconfigure the client (security options such as `/sec:` for FreeRDP, or the \
         .rdp file's 'authentication level' and 'enablecredsspsupport').",
    ),
    (
        CauseId::NlaRequired,
        "The server requires Network Level Authentication (UserAuthentication = 1) and the client \
         did not offer CredSSP: enable CredSSP/NLA on the client (mstsc: 'enablecredsspsupport:i:1' \
         in the .rdp file; FreeRDP: allow `/sec:nla`), or, less safe, untick 'Allow connections \
         only from computers running Remote Desktop with Network Level Authentication' on the \
         server (UserAuthentication = 0 under ...\\WinStations\\RDP-Tcp).",
    ),
    (
        CauseId::SslWithUserAuthRequired,
        "The server requires TLS with user authentication \
         (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER): offer TLS and CredSSP from the client, or relax \
         SecurityLayer / UserAuthentication on the server.",
    ),
    (
        CauseId::NegotiationFailureOther,
        "The server answered the negotiation with a failure code this tool does not know: compare \
         the client's security options with the server's SecurityLayer and UserAuthentication \
         values and check the server's RemoteDesktopServices-RdpCoreTS event log.",
    ),
    (
        CauseId::ServerCertUnusable,
        "The server could not start TLS, most often because the Remote Desktop certificate's \
         private key is unusable. From a console (physical, hypervisor, IPMI, Azure Serial Console \
         or Run Command): rename C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys to \
         MachineKeys_old, recreate MachineKeys with Full Control for Administrators and SYSTEM, \
         delete the certificate under Certificates (Computer account) > Remote Desktop > \
         Certificates, and `Restart-Service TermService -Force`. Also check that the certificate \
         configured for RDP (SSLCertificateSHA1Hash) exists and has not expired.",
    ),
    (
        CauseId::TlsVersionMismatch,
        "Client and server have no TLS version in common: enable TLS 1.2 on both sides \
         (SCHANNEL\\Protocols registry keys or IIS Crypto on Windows; `+enforce-tlsv1_2` or \
         `/tls-seclevel` for FreeRDP; update old clients), rather than re-enabling TLS 1.0/1.1.",
    ),
    (
        CauseId::TlsCipherMismatch,
        "Client and server have no cipher suite in common: compare the server's cipher suite \
         policy (Group Policy 'SSL Cipher Suite Order', SCHANNEL registry, IIS Crypto) with the \
         suites in the ClientHello; enable a modern ECDHE-AES-GCM suite on both sides.",
    ),
    (
        CauseId::TlsServerInternalError,
        "The server's TLS stack failed (internal_error), usually because it cannot use the \
         certificate's private key: check the Remote Desktop certificate and the MachineKeys \
         folder permissions (see server_cert_unusable), then restart TermService.",
    ),
    (
        CauseId::CertRejectedExpired,
        "The server's certificate had expired at the time of the capture: renew it, or delete the \
         self-signed Remote Desktop certificate and restart TermService to regenerate it; check \
         the server's clock too.",
    ),
    (
        CauseId::CertRejectedNotYetValid,
        "The server's certificate was not yet valid at the time of the capture: a clock is wrong \
         (check the time on the server and on the client, and NTP), or the certificate was issued \
         with a future start date.",
    ),
    (
        CauseId::CertRejectedSelfSigned,
        "The client does not trust the server's self-signed certificate: deploy a certificate \
         from a CA the clients trust (Group Policy 'Server authentication certificate template' \
         or SSLCertificateSHA1Hash), or distribute the self-signed certificate to the clients' \
         trusted store.",
    ),
    (
        CauseId::CertRejectedNameMismatch,
        "The certificate does not name the host the client dialled: connect with the name in the \
         certificate, or issue a certificate whose subject or SAN contains the name (and the IP \
         address if clients use it).",
    ),
    (
        CauseId::CertRejected,
        "The client rejected the server's certificate: check its validity dates, issuer (trusted \
         by the client?), name and key strength (RSA 2048 bits or more, SHA-256 signature); renew \
         or replace it.",
    ),
    (
        CauseId::CredentialsRejected,
        "The server rejected the NLA credentials: check the user name and password, whether the \
         password expired or must be changed, the account is locked or disabled, and membership \
         of 'Remote Desktop Users' / 'Allow log on through Remote Desktop Services'; the \
         Security event log on the server (4625) names the reason. If all are right, check the \
         CredSSP 'Encryption Oracle Remediation' policy and updates on both sides.",
    ),
    (
        CauseId::AccessDenied,
        "Authentication succeeded but the user may not log on to this host: add the user to \
         'Remote Desktop Users' or to 'Allow log on through Remote Desktop Services' (and remove \
         them from 'Deny log on through Remote Desktop Services'), check the collection's user \
         groups on an RD Session Host.",
    ),
    (
        CauseId::PubKeyAuthRejected,
        "The client could not verify the server's public-key binding: something between client \
         and server intercepts TLS (an inspecting proxy or firewall), or the certificate changed \
         during the connection. Exempt RDP from TLS inspection.",
    ),
    (
        CauseId::LicensingError,
        "The server could not license the session: check that the RD Session Host has a \
         licensing mode and a reachable RD License Server with available CALs (Server Manager > \
         RD Licensing Diagnoser), or that the grace period has not ended; on a client with a \
         corrupt license, delete HKLM\\SOFTWARE\\Microsoft\\MSLicensing.",
    ),
    (
        CauseId::ServerDeniedSession,
        "The server ended the connection after set-up began and before the session: look in the \
         server's event log (TerminalServices-LocalSessionManager, RemoteConnectionManager, \
         licensing) for session limits, licensing, or a policy that denies the user.",
    ),
    (
        CauseId::MiddleboxReset,
        "A device on the path (firewall, IPS, load balancer) forged the reset, not the server: \
         check its logs and rules for this connection (TLS or RDP inspection, idle timeouts, \
         session limits) and exempt or raise the timeout for RDP.",
    ),
    (
        CauseId::MtuBlackHole,
        "Full-size packets are lost on the path while small ones pass (a path-MTU black hole, \
         typical of VPNs and tunnels): let ICMP 'fragmentation needed' / 'packet too big' through \
         the firewalls, or clamp the TCP MSS on the tunnel or router (e.g. \
         `iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS \
         --clamp-mss-to-pmtu`), or lower the interface MTU.",
    ),
    (
        CauseId::IdleTimeout,
        "A stateful device dropped the connection after a silence: raise its idle timeout for \
         RDP, or enable RDP keep-alives on the server (Group Policy 'Configure keep-alive \
         connection interval') so the connection is never idle that long.",
    ),
    (
        CauseId::ZeroWindowStall,
        "One side stopped reading (its receive window stayed at zero): when it is the server, the \
         session host is hung or overloaded; check its CPU, memory and the Remote Desktop \
         Services processes, and restart TermService if needed.",
    ),
    (
        CauseId::ServerReset,
        "The server reset the connection: look in the server's event log \
         (RemoteDesktopServices-RdpCoreTS, TerminalServices-RemoteConnectionManager) at that \
         time for the reason.",
    ),
    (
        CauseId::ServerClosed,
        "The server closed the connection: look in the server's event log \
         (RemoteDesktopServices-RdpCoreTS, TerminalServices-RemoteConnectionManager) at that \
         time for the reason.",
    ),
    (
        CauseId::ClientAborted,
        "The client gave up on its own: check the client's error message or log (FreeRDP \
         `/log-level:DEBUG`, the mstsc disconnect code) and its security settings against what \
         the server offered.",
    ),
    (
        CauseId::CaptureLossInFailingStep,
        "The capture lost packets exactly where the connection stopped: capture again with a \
         larger buffer (`tcpdump -B 8192`), on a less loaded interface, or on both ends.",
    ),
    (
        CauseId::PathLost,
        "The connection was up, then the other side stopped acknowledging: the host stopped \
         (crash, reboot, sleep) or the path broke (VPN drop, routing change, a firewall that lost \
         the connection's state). Check the server's uptime and event log and the devices on the \
         path at that time.",
    ),
    (
        CauseId::NotRdpServer,
        "Something other than an RDP server answered on this port: check the port the client \
         connects to, the port-forwarding / NAT rules in front of the server, and what listens on \
         the server (`netstat -ano`, the RDP-Tcp PortNumber registry value).",
    ),
    (
        CauseId::Unknown,
        "The capture does not show enough to name a cause: capture on both ends from before the \
         connection starts, and check the server's event log at that time.",
    ),
];

/// The remediation for a cause.
pub fn remediation(id: CauseId) -> &'static str {
    REMEDIES
        .iter()
        .find(|(c, _)| *c == id)
        .map(|(_, r)| *r)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_exactly_one_remedy() {
        for id in CauseId::ALL {
            let n = REMEDIES.iter().filter(|(c, _)| c == id).count();
            assert_eq!(n, 1, "{id:?}");
            assert!(remediation(*id).len() > 40, "{id:?}");
        }
        assert_eq!(REMEDIES.len(), CauseId::ALL.len());
    }

    #[test]
    fn remedies_use_the_guides_procedures() {
        assert!(remediation(CauseId::ServerCertUnusable).contains("MachineKeys_old"));
        assert!(remediation(CauseId::PortClosed).contains("Restart-Service TermService"));
        assert!(remediation(CauseId::PortClosed).contains("Allowed apps"));
        assert!(remediation(CauseId::NlaRequired).contains("UserAuthentication"));
        assert!(remediation(CauseId::SslNotAllowedByServer).contains("SecurityLayer"));
        assert!(remediation(CauseId::MtuBlackHole).contains("clamp"));
    }
}
