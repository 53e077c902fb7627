//! Judging the server's certificate against the capture's own clock and
//! the name the client dialled.

use super::facts::Facts;
use super::facts::{date, date_secs};
use super::{CauseId, Confidence};
use crate::common::Timestamp;
use crate::proto::cert::CertInfo;

/// What is wrong with a certificate, and how sure the capture makes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: CauseId,
    pub why: String,
    pub confidence: Confidence,
}

fn finding(id: CauseId, confidence: Confidence, why: String) -> Option<Finding> {
    Some(Finding {
        id,
        why,
        confidence,
    })
}

/// Judge the leaf certificate against the capture's clock and the name the
/// client dialled. The first defect found, by weight: dates (certain), the
/// name in the SNI, self-signed, the server address when the client sent
/// no SNI (FreeRDP sends the dialled name or address; a missing SNI
/// suggests an address), weak key or signature.
pub fn judge_cert(f: &Facts, now: Timestamp) -> Option<Finding> {
    let certs: &[CertInfo] = f.proto.certificates.as_ref().map_or(&[], |c| c.what);
    let leaf = certs.first()?;
    let secs = now.secs();
    if leaf.not_after < secs {
        return finding(
            CauseId::CertRejectedExpired,
            Confidence::High,
            format!(
                "it expired on {}, before the capture time {}",
                date_secs(leaf.not_after),
                date(now)
            ),
        );
    }
    if leaf.not_before > secs {
        return finding(
            CauseId::CertRejectedNotYetValid,
            Confidence::High,
            format!(
                "it is valid only from {}, after the capture time {}",
                date_secs(leaf.not_before),
                date(now)
            ),
        );
    }
    let names = cert_names(leaf);
    if let Some(name) = dialled_name(f) {
        if !names.iter().any(|n| name_matches(n, &name)) {
            return finding(
                CauseId::CertRejectedNameMismatch,
                Confidence::Medium,
                format!(
                    "the client asked for {name} (SNI) but the certificate names {}",
                    names.join(", ")
                ),
            );
        }
    }
    // Windows' own Remote Desktop certificate is self-signed and clients
    // commonly accept it: self-signed alone says little about why a
    // client left.
    if leaf.self_signed && certs.len() == 1 {
        return finding(
            CauseId::CertRejectedSelfSigned,
            Confidence::Low,
            format!(
                "it is self-signed ({}), so the client cannot trust it",
                leaf.subject
            ),
        );
    }
    if dialled_name(f).is_none() && f.proto.client_hello.is_some() {
        let ip = f.conn.endpoints.server.ip().to_string();
        if !names.is_empty() && !names.iter().any(|n| name_matches(n, &ip)) {
            return finding(
                CauseId::CertRejectedNameMismatch,
                Confidence::Low,
                format!(
                    "the client sent no SNI, so it probably dialled the address {ip}, which the \
                     certificate does not name (it names {})",
                    names.join(", ")
                ),
            );
        }
    }
    if leaf.key_algorithm.starts_with("RSA") && leaf.key_bits.is_some_and(|b| b < 2048) {
        return finding(
            CauseId::CertRejected,
            Confidence::Low,
            format!("its RSA key has only {} bits", leaf.key_bits.unwrap_or(0)),
        );
    }
    let sig = leaf.signature_algorithm.to_ascii_lowercase();
    if sig.contains("sha1") || sig.contains("md5") {
        return finding(
            CauseId::CertRejected,
            Confidence::Low,
            format!("it is signed with {}", leaf.signature_algorithm),
        );
    }
    None
}

/// The host name the client dialled, when the capture shows it (TLS SNI).
pub(super) fn dialled_name(f: &Facts) -> Option<String> {
    f.proto
        .client_hello
        .as_ref()
        .and_then(|h| h.what.sni.clone())
        .filter(|s| !s.is_empty())
}

/// The names a certificate is valid for: SANs, else the subject CN.
pub(super) fn cert_names(c: &CertInfo) -> Vec<String> {
    let sans: Vec<String> = c
        .sans
        .iter()
        .map(|s| {
            s.trim_start_matches("DNS:")
                .trim_start_matches("IP:")
                .trim()
                .to_string()
        })
        .collect();
    if !sans.is_empty() {
        return sans;
    }
    c.subject
        .split(',')
        .filter_map(|p| p.trim().strip_prefix("CN=").map(|s| s.trim().to_string()))
        .collect()
}

pub(super) fn name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let n = name.to_ascii_lowercase();
    if p == n {
        return true;
    }
    // A single left-most wildcard label (RFC 6125 6.4.3).
    match (p.strip_prefix("*."), n.split_once('.')) {
        (Some(rest), Some((_, nrest))) => rest == nrest,
        _ => false,
    }
}
