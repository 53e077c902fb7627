//! The one-line account of the X.224 security negotiation: what the client
//! offered, what the server chose or why it refused, and what that says
//! about the server's configuration.

use crate::proto::x224::{ConnectionConfirm, ConnectionRequest, NegFailureCode, Protocols};
use crate::timeline::Timeline;

use super::x224::offered;

/// e.g. "client offered SSL|HYBRID, server chose SSL: NLA is off on the
/// server". None when neither a Connection Request nor a Confirm was seen.
pub fn negotiation(tl: &Timeline) -> Option<String> {
    negotiation_of(
        tl.connection_request().map(|(_, r)| r),
        tl.connection_confirm().map(|(_, c)| c),
    )
}

/// [`negotiation`] of the first Connection Request and Confirm.
pub(super) fn negotiation_of(
    cr: Option<&ConnectionRequest>,
    cc: Option<&ConnectionConfirm>,
) -> Option<String> {
    if cr.is_none() && cc.is_none() {
        return None;
    }
    let requested = cr.and_then(|r| r.neg_req.as_ref().map(|n| n.requested));
    let offered = offered(cr);
    let s = match cc {
        None => format!("client offered {offered}; the server sent no Connection Confirm"),
        Some(ConnectionConfirm::NoNegotiation) => format!(
            "client offered {offered}, server sent no negotiation response: Standard RDP \
             Security (an old server, or one set to SecurityLayer 0)"
        ),
        Some(ConnectionConfirm::Selected { selected, .. }) => {
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
            // Room for the line at once (`format!` starts at half of it),
            // written piece by piece: every connection that reached the
            // Connection Confirm has this sentence.
            let mut line = String::with_capacity(128);
            line.push_str("client offered ");
            offered.push_to(&mut line);
            line.push_str(", server chose ");
            selected.push_selected(&mut line);
            line.push_str(": ");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::testkit::TlBuilder;

    /// Requested sets and selected values: every bit MS-RDPBCGR defines
    /// (2.2.1.1.1 requestedProtocols, 2.2.1.2.1 selectedProtocol:
    /// PROTOCOL_SSL 0x1, PROTOCOL_HYBRID 0x2, PROTOCOL_RDSTLS 0x4,
    /// PROTOCOL_HYBRID_EX 0x8, PROTOCOL_RDSAAD 0x10) alone and together,
    /// bits it does not define, and the extremes of the 32-bit field.
    const PROTOCOL_VALUES: &[u32] = &[
        0,
        1,
        2,
        3,
        4,
        8,
        9,
        0xb,
        0x10,
        0x1f,
        0x20,
        0x21,
        0x3f,
        0x80,
        0x100,
        0x8000_0000,
        0x8000_0003,
        0xffff_ffff,
    ];

    #[test]
    fn the_sentence_on_the_chosen_protocol_reads_as_format_wrote_it() {
        for &requested in PROTOCOL_VALUES {
            for &selected in PROTOCOL_VALUES {
                let tl = TlBuilder::new()
                    .cr(4, 0.1, requested)
                    .cc(5, 0.2, selected)
                    .build();
                let line = negotiation(&tl).expect("a request and a confirm");
                let offered = offered(tl.connection_request().map(|(_, r)| r));
                let sel = Protocols(selected).selected_display();
                let head = format!("client offered {offered}, server chose {sel}: ");
                assert!(line.starts_with(&head), "{line:?} after {head:?}");
            }
        }
    }
}
