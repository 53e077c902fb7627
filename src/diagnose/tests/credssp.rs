//! NLA: credentials rejected, pre-checks, authorization (`steps.rs`).

use super::*;

#[test]
fn credentials_rejected_server_closes_after_authenticate() {
    let d = diagnose(&nla(false).fin_s(13, 0.12).build());
    // The records are encrypted: the close is seen, the reason inferred.
    assert_failed(&d, CauseId::CredentialsRejected, Confidence::Medium);
    assert_eq!(d.failed_step, Some(Step::CredsspServerPubKeyAuth));
    assert_eq!(d.phase, Phase::Credssp);
    assert_ev!(
        d,
        13,
        Clue::End {
            term: Term {
                dir: ToClient,
                kind: TermKind::Fin,
                ..
            },
            since: Some(Since {
                step: Step::CredsspAuthenticate,
                frame: 12,
                elapsed,
            }),
            note: EndNote::NoPubKeyAuth,
        } if about(elapsed, 90.0)
    );
    assert_ev!(
        d,
        12,
        Clue::Rdp(RdpClue::CredsspLeg {
            leg: Authenticate,
            dir: ToServer
        })
    );
}

#[test]
fn credential_precheck_is_benign() {
    let d = diagnose(
        &nla(false)
            .leg(13, 0.1, ServerPubKeyAuth)
            .tls(14, 0.102, ToServer, TlsEvent::EncryptedAlert { len: 26 })
            .fin_c(14, 0.102)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Benign, "{d:#?}");
    assert_eq!(d.benign, Some(Benign::CredentialPrecheck));
    assert!(d.cause.is_none());
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
}

#[test]
fn pubkeyauth_rejected_client_resets_after_server_pubkeyauth() {
    let d = diagnose(
        &nla(false)
            .leg(13, 0.1, ServerPubKeyAuth)
            .rst_c(14, 0.102)
            .build(),
    );
    assert_failed(&d, CauseId::PubKeyAuthRejected, Confidence::Medium);
}

#[test]
fn access_denied_after_early_user_authorization_result() {
    let d = diagnose(
        &nla(true)
            .leg(13, 0.1, ServerPubKeyAuth)
            .leg(14, 0.11, Credentials)
            .leg(15, 0.3, EarlyUserAuthResult)
            .fin_s(16, 0.301)
            .build(),
    );
    assert_failed(&d, CauseId::AccessDenied, Confidence::High);
    assert_eq!(d.last_step, Some(Step::EarlyUserAuthResult));
    assert_ev!(
        d,
        15,
        Clue::Rdp(RdpClue::CredsspLeg {
            leg: EarlyUserAuthResult,
            dir: ToClient
        })
    );
}

#[test]
fn server_closing_before_the_authorization_result_is_access_denied_medium() {
    let d = diagnose(
        &nla(true)
            .leg(13, 0.1, ServerPubKeyAuth)
            .leg(14, 0.11, Credentials)
            .fin_s(16, 0.4)
            .build(),
    );
    assert_failed(&d, CauseId::AccessDenied, Confidence::Medium);
    assert_eq!(d.failed_step, Some(Step::EarlyUserAuthResult));
}

#[test]
fn server_closing_at_the_credssp_negotiate() {
    let d = diagnose(
        &tls_done(SSL | HYBRID, HYBRID)
            .leg(10, 0.02, Negotiate)
            .fin_s(11, 0.021)
            .build(),
    );
    assert_failed(&d, CauseId::ServerClosed, Confidence::Medium);
}
