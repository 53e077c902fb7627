//! TLS handshake rules: alerts, a server that closes after the
//! ClientHello (certificate key unusable, no version or cipher in common),
//! a client that leaves after the server's certificate.

use super::cert::judge_cert;
use super::evidence::{EndNote, TlsClue};
use super::facts::{ev, Facts, Term};
use super::ladder::{Ladder, Mark};
use super::rules::{end_ev, ending_of, lower, term_ev, Verdict, PROMPT};
use super::{CauseId, Confidence};
use crate::common::Dir;
use crate::proto::tls::{alert_name, ClientHello, TlsVersion};

/// A clear-text TLS alert ends the connection.
pub(super) fn alert_rule(f: &Facts, lad: &Ladder, t: &Term, desc: u8) -> Verdict {
    let stop = lad.last;
    let name = alert_name(desc);
    let ending = ending_of(t);
    let mut evidence = vec![term_ev(t, stop.as_ref())];
    if let Some(h) = &f.proto.client_hello {
        evidence.push(ev(
            h.frame,
            TlsClue::ClientHello(Some(Box::new(h.what.clone()))),
        ));
    }
    let (id, conf, summary) = if t.dir == Dir::ToClient {
        let old_only = f
            .proto
            .client_hello
            .as_ref()
            .is_some_and(|h| offers_only_old(h.what));
        match desc {
            70 => (
                CauseId::TlsVersionMismatch,
                Confidence::High,
                format!(
                    "The server refused the client's TLS versions (alert protocol_version): no \
                     version in common{}.",
                    version_hint(f)
                ),
            ),
            40 | 71 if old_only => (
                CauseId::TlsVersionMismatch,
                Confidence::Medium,
                format!(
                    "The server ended the TLS handshake with alert {name} and the client offers \
                     only old TLS versions{}.",
                    version_hint(f)
                ),
            ),
            40 | 71 => (
                CauseId::TlsCipherMismatch,
                Confidence::High,
                format!(
                    "The server ended the TLS handshake with alert {name}: no cipher suite (or \
                     parameters) in common with the client."
                ),
            ),
            80 => (
                CauseId::TlsServerInternalError,
                Confidence::High,
                "The server's TLS stack failed (alert internal_error): it cannot use its \
                 certificate or key, or its TLS protocol or cipher settings leave nothing usable."
                    .into(),
            ),
            _ => (
                CauseId::Unknown,
                Confidence::Medium,
                format!("The server ended the TLS handshake with alert {name} ({desc})."),
            ),
        }
    } else {
        let judged = judge_cert(f, t.ts);
        match desc {
            45 => (
                CauseId::CertRejectedExpired,
                Confidence::High,
                format!(
                    "The client rejected the server's certificate as expired (alert \
                     certificate_expired){}.",
                    judged
                        .as_ref()
                        .filter(|j| j.id == CauseId::CertRejectedExpired)
                        .map(|j| format!(": {}", j.why))
                        .unwrap_or_default()
                ),
            ),
            44 => (
                CauseId::CertRejected,
                Confidence::High,
                "The client rejected the server's certificate as revoked (alert \
                 certificate_revoked)."
                    .into(),
            ),
            42 | 43 | 46 | 48 => match judged {
                // The alert says the certificate was refused; the
                // certificate says why (a guess about the address is only
                // a guess).
                // unknown_ca names exactly what a self-signed certificate is.
                Some(j)
                    if j.confidence > Confidence::Low
                        || (desc == 48 && j.id == CauseId::CertRejectedSelfSigned) =>
                {
                    (
                        j.id,
                        Confidence::High,
                        format!(
                            "The client rejected the server's certificate (alert {name}): {}.",
                            j.why
                        ),
                    )
                }
                Some(j) => (
                    CauseId::CertRejected,
                    Confidence::Medium,
                    format!(
                        "The client rejected the server's certificate (alert {name}); perhaps \
                         because {}.",
                        j.why
                    ),
                ),
                None => (
                    CauseId::CertRejected,
                    Confidence::Medium,
                    format!("The client rejected the server's certificate (alert {name})."),
                ),
            },
            70 => (
                CauseId::TlsVersionMismatch,
                Confidence::High,
                "The client refused the TLS version the server chose (alert protocol_version)."
                    .into(),
            ),
            40 | 71 => (
                CauseId::TlsCipherMismatch,
                Confidence::Medium,
                format!("The client refused the server's TLS parameters (alert {name})."),
            ),
            _ => (
                CauseId::ClientAborted,
                Confidence::Medium,
                format!("The client ended the TLS handshake with alert {name} ({desc})."),
            ),
        }
    };
    if t.dir == Dir::ToServer {
        if let Some((frame, leaf)) = f.proto.leaf_cert() {
            evidence.push(ev(
                frame,
                TlsClue::Certificate {
                    cert: Box::new(leaf.clone()),
                    at: t.ts,
                },
            ));
        }
    }
    Verdict::failed(ending, Some(t.frame), id, conf, summary).with_all(evidence)
}

pub(super) fn version_hint(f: &Facts) -> String {
    match f.proto.client_hello.as_ref().map(|h| &h.what) {
        Some(h) => format!(
            " (the client offers {} to {})",
            h.min_version().name(),
            h.max_version().name()
        ),
        None => String::new(),
    }
}

/// The ClientHello offers nothing newer than TLS 1.1.
pub fn offers_only_old(h: &ClientHello) -> bool {
    h.max_version() < TlsVersion(0x0303)
}

/// The ClientHello offers no AEAD (GCM, ChaCha20, CCM) or TLS 1.3 suite:
/// only CBC, RC4, 3DES and the like, which hardened servers refuse.
pub fn offers_only_weak_ciphers(h: &ClientHello) -> bool {
    !h.cipher_suites.is_empty()
        && !h.cipher_suites.iter().any(|&id| {
            let n = crate::proto::tls::cipher_suite_name(id);
            n.contains("GCM")
                || n.contains("CHACHA20")
                || n.contains("CCM")
                || (0x1301..=0x1305).contains(&id)
        })
}

/// The server closed right after the ClientHello without a ServerHello.
pub(super) fn server_closed_after_hello(f: &Facts, stop: &Mark, t: &Term) -> Verdict {
    let waited = t.ts.since(stop.ts);
    let hello = f
        .proto
        .client_hello
        .as_ref()
        .map(|h| Box::new(h.what.clone()));
    let (id, conf, summary) = match &hello {
        Some(h) if offers_only_old(h) => (
            CauseId::TlsVersionMismatch,
            Confidence::Medium,
            format!(
                "The server closed without a ServerHello and the client offers only {} to {}: \
                 the server has old TLS versions disabled.",
                h.min_version().name(),
                h.max_version().name()
            ),
        ),
        Some(h) if offers_only_weak_ciphers(h) => (
            CauseId::TlsCipherMismatch,
            Confidence::Medium,
            "The server closed without a ServerHello and the client offers only old cipher \
             suites (no AES-GCM or ChaCha20): no cipher suite in common."
                .into(),
        ),
        _ => (
            CauseId::ServerCertUnusable,
            if waited <= PROMPT {
                Confidence::High
            } else {
                Confidence::Medium
            },
            "The server could not build its side of TLS: its Remote Desktop certificate or key \
             is unusable (the key file's permissions, a certificate deleted or expired and not \
             regenerated) or its TLS protocols are disabled."
                .into(),
        ),
    };
    let mut v = Verdict::failed(ending_of(t), Some(t.frame), id, conf, summary);
    v.evidence.push(ev(stop.frame, TlsClue::ClientHello(hello)));
    v.evidence
        .push(end_ev(t, Some(stop), EndNote::NoServerHello));
    v
}

/// The client ended the connection after seeing the server's certificate
/// (FIN or RST, no alert).
pub(super) fn client_left_after_cert(
    f: &Facts,
    stop: &Mark,
    t: &Term,
    in_credssp: bool,
) -> Verdict {
    let judged = judge_cert(f, t.ts);
    let (id, conf, summary) = match judged {
        Some(j) => (
            j.id,
            // The client's reason is not on the wire (no alert, or an
            // encrypted one): the certificate's defect is seen, that it
            // made the client leave is inferred: at most Medium. After a
            // completed handshake the client may also have left for another
            // reason: one step less sure, except for dates.
            if in_credssp && j.confidence != Confidence::High {
                lower(j.confidence)
            } else {
                j.confidence.min(Confidence::Medium)
            },
            format!("The client rejected the server's certificate: {}.", j.why),
        ),
        None if f.proto.leaf_cert().is_none() => (
            CauseId::CertRejected,
            Confidence::Low,
            "The client ended the connection after the server's TLS flight; the certificate is \
             not visible (TLS 1.3 or not captured), so the reason cannot be checked."
                .into(),
        ),
        // Right after the certificate arrives, the certificate is the one
        // new thing the client had to judge; the reason stays unknown.
        None => (
            CauseId::CertRejected,
            Confidence::Low,
            "The client ended the connection right after the server's certificate, which shows \
             no defect the capture can judge: the client does not trust its issuer, or the user \
             declined it at the prompt."
                .into(),
        ),
    };
    let mut v = Verdict::failed(ending_of(t), Some(t.frame), id, conf, summary);
    if let Some((frame, leaf)) = f.proto.leaf_cert() {
        v.evidence.push(ev(
            frame,
            TlsClue::Certificate {
                cert: Box::new(leaf.clone()),
                at: t.ts,
            },
        ));
    }
    v.evidence.push(term_ev(t, Some(stop)));
    // The close that follows an encrypted alert.
    if !t.is_close() {
        if let Some(c) = f
            .terms
            .iter()
            .find(|c| c.frame >= t.frame && c.dir == t.dir && c.is_close())
        {
            v.evidence.push(ev(
                c.frame,
                TlsClue::CloseAfterAlert {
                    dir: t.dir,
                    rst: c.is_rst(),
                },
            ));
        }
    }
    v
}
