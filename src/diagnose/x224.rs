//! X.224 negotiation failures (RDP_NEG_FAILURE), one cause per code.

use super::evidence::{Clue, EndNote, NegotiationClue, Offered, Since};
use super::facts::{ev, Facts};
use super::ladder::Mark;
use super::rules::Verdict;
use super::{CauseId, Certainty, Confidence, Ending, Step};
use crate::proto::x224::{ConnectionRequest, NegFailureCode};

pub(super) fn negotiation_failure(f: &Facts) -> Option<Verdict> {
    let e = f.proto.neg_failure.as_ref()?;
    let code = e.what;
    // A server that sent a failure code and then completed a TLS handshake
    // anyway did not end the connection with it (seen with probes that
    // ignore the answer): the ladder tells the rest.
    if f.proto
        .server_hello
        .as_ref()
        .is_some_and(|s| s.frame > e.frame)
    {
        return None;
    }
    let requested = f
        .proto
        .request
        .as_ref()
        .and_then(|r| r.what.neg_req.as_ref().map(|n| n.requested));
    let offers_tls = requested.is_some_and(|r| r.offers_tls());
    let offers_nla = requested.is_some_and(|r| r.offers_nla());
    let offered = offered(f.proto.request.as_ref().map(|r| r.what));
    use NegFailureCode as N;
    let (id, conf, summary) = match code.0 {
        N::SSL_REQUIRED_BY_SERVER => (
            CauseId::SslRequiredByServer,
            if offers_tls { Confidence::Medium } else { Confidence::High },
            format!(
                "The server requires TLS (SSL_REQUIRED_BY_SERVER) and the client offered {offered}."
            ),
        ),
        N::SSL_NOT_ALLOWED_BY_SERVER => (
            CauseId::SslNotAllowedByServer,
            Confidence::High,
            format!(
                "The server allows Standard RDP Security only (SSL_NOT_ALLOWED_BY_SERVER) and the \
                 client offered {offered} without accepting it."
            ),
        ),
        N::SSL_CERT_NOT_ON_SERVER => (
            CauseId::CertNotOnServer,
            Confidence::High,
            "The server has no usable TLS certificate (SSL_CERT_NOT_ON_SERVER): the Remote \
             Desktop certificate is missing or its private key cannot be read."
                .into(),
        ),
        N::INCONSISTENT_FLAGS => (
            CauseId::InconsistentFlags,
            Confidence::High,
            format!("The client's requested protocols ({offered}) contradict each other (INCONSISTENT_FLAGS)."),
        ),
        N::HYBRID_REQUIRED_BY_SERVER => (
            CauseId::NlaRequired,
            if offers_nla { Confidence::Medium } else { Confidence::High },
            format!(
                "The server requires Network Level Authentication (HYBRID_REQUIRED_BY_SERVER) \
                 and the client offered {offered}, without CredSSP."
            ),
        ),
        N::SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER => (
            CauseId::SslWithUserAuthRequired,
            Confidence::High,
            format!(
                "The server requires TLS with user authentication \
                 (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER); the client offered {offered}."
            ),
        ),
        _ => (
            CauseId::NegotiationFailureOther,
            Confidence::Medium,
            format!("The server refused the negotiation with failure code {}.", code.name()),
        ),
    };
    let mut v = Verdict::failed(
        Ending::NegotiationFailure { code: code.0 },
        Some(e.frame),
        id,
        conf,
        summary,
    );
    v.failed_step = Some(Step::ConnectionConfirm);
    let cr = f
        .proto
        .request
        .as_ref()
        .map(|r| Mark::new(Step::ConnectionRequest, r.frame, r.ts, Certainty::Seen));
    if let Some(m) = &cr {
        v.evidence.push(ev(
            m.frame,
            NegotiationClue::Request {
                offered: offered.clone(),
                named: None,
            },
        ));
    }
    v.evidence.push(ev(
        e.frame,
        NegotiationClue::Failure {
            code,
            since: cr.map(|m| Since::mark(e.ts, &m)),
        },
    ));
    if let Some(t) = f.terms.iter().find(|t| t.frame >= e.frame && t.is_close()) {
        v.evidence.push(ev(
            t.frame,
            Clue::End {
                term: t.clone(),
                since: None,
                note: EndNote::ConnectionEnds,
            },
        ));
    }
    Some(v)
}

/// What the client offered: shown as `SSL|HYBRID`, or `RDP only` / `no
/// RDP_NEG_REQ (Standard RDP Security only)`.
pub fn offered(request: Option<&ConnectionRequest>) -> Offered {
    match request {
        Some(r) => match &r.neg_req {
            Some(n) => Offered::Requested(n.requested),
            None => Offered::NoNegReq,
        },
        None => Offered::NotCaptured,
    }
}
