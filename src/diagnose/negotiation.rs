//! The one-line account of the X.224 security negotiation: what the client
//! offered, what the server chose or why it refused, and what that says
//! about the server's configuration.

use crate::proto::x224::{ConnectionConfirm, NegFailureCode, Protocols};
use crate::timeline::Timeline;
use std::fmt::Write;

use super::x224::offered;

/// e.g. "client offered SSL|HYBRID, server chose SSL: NLA is off on the
/// server". None when neither a Connection Request nor a Confirm was seen.
pub fn negotiation(tl: &Timeline) -> Option<String> {
    let cr = tl.connection_request();
    let cc = tl.connection_confirm();
    if cr.is_none() && cc.is_none() {
        return None;
    }
    let requested = cr.and_then(|(_, r)| r.neg_req.as_ref().map(|n| n.requested));
    let offered = offered(cr.map(|(_, r)| r));
    let s = match cc.map(|(_, c)| c) {
        None => format!("client offered {offered}; the server sent no Connection Confirm"),
        Some(ConnectionConfirm::NoNegotiation) => format!(
            "client offered {offered}, server sent no negotiation response: Standard RDP \
             Security (an old server, or one set to SecurityLayer 0)"
        ),
        Some(ConnectionConfirm::Selected { selected, .. }) => {
            let sel = selected.selected_display();
            let nla_offered = requested.is_some_and(|r| r.offers_nla());
            let tls_offered = requested.is_some_and(|r| r.offers_tls());
            let why = match selected.0 {
                Protocols::SSL if nla_offered => "NLA is off on the server",
                Protocols::SSL => "TLS without NLA",
                Protocols::HYBRID | Protocols::HYBRID_EX => {
                    "Network Level Authentication (CredSSP over TLS)"
                }
                Protocols::RDP if tls_offered => {
                    "the server allows only Standard RDP Security (SecurityLayer 0) or has no \
                     usable TLS certificate"
                }
                Protocols::RDP => "Standard RDP Security",
                Protocols::RDSTLS => "RDSTLS (redirection with a server-issued password)",
                Protocols::RDSAAD => "Azure AD authentication (RDSAAD)",
                _ => "an unknown protocol",
            };
            // Room for the line at once (`format!` starts at half of it).
            let mut line = String::with_capacity(128);
            let _ = write!(line, "client offered {offered}, server chose {sel}: ");
            line.push_str(why);
            line
        }
        Some(ConnectionConfirm::Failure { code }) => {
            let what = match code.0 {
                NegFailureCode::SSL_REQUIRED_BY_SERVER => "server requires TLS",
                NegFailureCode::SSL_NOT_ALLOWED_BY_SERVER => {
                    "server allows Standard RDP Security only"
                }
                NegFailureCode::SSL_CERT_NOT_ON_SERVER => "server has no usable TLS certificate",
                NegFailureCode::INCONSISTENT_FLAGS => "the flags contradict each other",
                NegFailureCode::HYBRID_REQUIRED_BY_SERVER => "server requires NLA (CredSSP)",
                NegFailureCode::SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER => {
                    "server requires TLS with user authentication"
                }
                _ => "server refused",
            };
            format!("client offered {offered}, {what} ({})", code.name())
        }
    };
    Some(s)
}
