//! One test per rule: each cause, ending, benign kind and caveat, on a
//! hand-built timeline shaped like real traffic.

use super::evidence::*;
use super::testkit::*;
use super::*;
use crate::common::Dir::{ToClient, ToServer};
use crate::common::KeepLimit;
use crate::flow::{GapKind, RoleSource, TcpEventKind};
use crate::proto::credssp::CredsspLeg::*;
use crate::proto::mcs::McsEvent;
use crate::proto::tls::TlsEvent;
use crate::proto::ProtoEvent;

fn id(d: &Diagnosis) -> Option<CauseId> {
    d.cause.as_ref().map(|c| c.id)
}
fn conf(d: &Diagnosis) -> Option<Confidence> {
    d.cause.as_ref().map(|c| c.confidence)
}
/// Some evidence at `frame` shows a clue matching the pattern.
macro_rules! assert_ev {
    ($d:expr, $frame:expr, $($pat:tt)+) => {{
        let d: &Diagnosis = &$d;
        for e in &d.evidence {
            assert!(Clue::KINDS.contains(&e.clue.kind()), "{:?} not in Clue::KINDS", e.clue);
        }
        assert!(
            d.evidence
                .iter()
                .any(|e| e.frame == $frame && matches!(&e.clue, $($pat)+)),
            "no evidence at frame {} matching {}: {:#?}",
            $frame,
            stringify!($($pat)+),
            d.evidence
        );
    }};
}
/// A duration within 0.01 ms of `ms` (timelines are built from float
/// seconds).
fn about(d: &crate::common::Duration, ms: f64) -> bool {
    (d.as_millis_f64() - ms).abs() < 0.01
}
/// A session that ran, then broke: established, with the cause of its end.
#[track_caller]
fn assert_broke(d: &Diagnosis, cause: CauseId, c: Confidence) {
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert_eq!(d.last_step, Some(Step::SessionData));
    assert_eq!(d.failed_step, None);
    assert_eq!(id(d), Some(cause), "{d:#?}");
    assert_eq!(conf(d), Some(c), "{d:#?}");
}
#[track_caller]
fn assert_failed(d: &Diagnosis, cause: CauseId, c: Confidence) {
    assert_eq!(d.outcome, Outcome::Failed, "{d:#?}");
    assert_eq!(id(d), Some(cause), "{d:#?}");
    assert_eq!(conf(d), Some(c), "{d:#?}");
    let r = &d.cause.as_ref().unwrap().remediation;
    assert_eq!(*r, remediation(cause));
    assert!(d.evidence.windows(2).all(|w| w[0].frame <= w[1].frame));
}

/// TCP + X.224 up to the Connection Confirm selecting `sel`.
fn negotiated(req: u32, sel: u32) -> TlBuilder {
    TlBuilder::new()
        .handshake()
        .cr(4, 0.002, req)
        .cc(5, 0.004, sel)
}

/// ... + TLS 1.2 with a good certificate (frames 6-9).
fn tls_done(req: u32, sel: u32) -> TlBuilder {
    negotiated(req, sel).tls12(6, 0.010, good_cert("rdp.corp.example"))
}

fn nla(ex: bool) -> TlBuilder {
    let sel = if ex { HYBRID_EX } else { HYBRID };
    tls_done(SSL | HYBRID | HYBRID_EX, sel)
        .leg(10, 0.02, Negotiate)
        .leg(11, 0.021, Challenge)
        .leg(12, 0.03, Authenticate)
}

/// A TLS session that ran: records both ways and session volume.
fn session() -> TlBuilder {
    tls_done(SSL, SSL)
        .app(10, 0.02, ToServer, 400)
        .app(11, 0.03, ToClient, 300)
        .app_summary(90, 120.0, ToClient, 5000, 9_000_000)
}

mod attempts;
mod caveats;
mod credssp;
mod decrypted;
mod determinism;
mod evidence_model;
pub(super) mod props;
mod session;
mod tcp;
mod tls;
mod x224;
