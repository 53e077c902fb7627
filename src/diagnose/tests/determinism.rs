//! Diagnosis is deterministic and total.

use super::*;

#[test]
fn diagnosis_is_deterministic_and_evidence_sorted() {
    let tl = nla(false).fin_s(13, 0.12).build();
    let a = diagnose(&tl);
    let b = diagnose(&tl);
    assert_eq!(a, b);
    assert!(a.evidence.windows(2).all(|w| w[0].frame <= w[1].frame));
}

#[test]
fn empty_timeline_does_not_panic() {
    let tl = TlBuilder::new().build();
    let d = diagnose(&tl);
    assert_ne!(d.outcome, Outcome::Failed);
}
