//! X.509 certificate summaries (x509-parser): what an administrator needs
//! to recognise the certificate and judge it. Validity is judged later,
//! against the capture's own clock, not here.

/// A certificate as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names (DNS names, IP addresses), as text.
    pub sans: Vec<String>,
    /// Serial number, hex.
    pub serial: String,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// Subject equals issuer and the signature verifies with its own key
    /// (or, if that cannot be checked, subject equals issuer).
    pub self_signed: bool,
    /// e.g. `RSA`, `EC (P-256)`.
    pub key_algorithm: String,
    pub key_bits: Option<u32>,
    /// e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// Extended key usages by name (e.g. `serverAuth`), or OID.
    pub extended_key_usage: Vec<String>,
    /// SHA-1 over the DER, upper-case hex without separators (as Windows
    /// shows the thumbprint).
    pub sha1: String,
    /// SHA-256 over the DER, lower-case hex.
    pub sha256: String,
    /// Oddities of the certificate itself (duplicate extension, parse
    /// problems in one field).
    pub anomalies: Vec<String>,
}

/// Summarise a DER certificate. `Err` only when the bytes are not a
/// certificate at all.
pub fn summarize(der: &[u8]) -> Result<CertInfo, String> {
    let _ = der;
    Err("certificate summary not implemented yet".into())
}
