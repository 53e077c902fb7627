//! The X.224 negotiation: unanswered requests, refusals, RDP_NEG_FAILURE codes (`x224.rs`, `steps.rs`).

use super::*;

#[test]
fn service_unresponsive_tcp_up_no_connection_confirm() {
    // A hung TermService: the kernel completes the handshake and answers
    // keep-alives; the client gives up after 20 s.
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL | HYBRID)
            .keepalive(6, 5.0)
            .keepalive(8, 10.0)
            .keepalive(10, 15.0)
            .rst_c(12, 20.0)
            .packets(6, 5)
            .build(),
    );
    // A silence: at most Medium.
    assert_failed(&d, CauseId::ServiceUnresponsive, Confidence::Medium);
    assert_eq!(d.ending, Ending::ResetBy(Party::Client));
    assert_eq!(d.failed_step, Some(Step::ConnectionConfirm));
    assert_ev!(
        d,
        6,
        Clue::Tcp(TcpClue::KeepAlivesWhileWaiting { frames, .. }) if frames.len() == 3
    );
    assert_ev!(
        d,
        12,
        Clue::End {
            term: Term {
                dir: ToServer,
                kind: TermKind::Rst { ttl: 128, .. },
                ..
            },
            since: Some(Since {
                step: Step::ConnectionRequest,
                frame: 4,
                ..
            }),
            ..
        }
    );
    assert_eq!(
        d.negotiation.as_deref(),
        Some("client offered SSL|HYBRID; the server sent no Connection Confirm")
    );
}

#[test]
fn service_unresponsive_until_the_capture_ends_is_a_timeout() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .end(30.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Failed);
    assert_eq!(id(&d), Some(CauseId::ServiceUnresponsive));
    assert!(matches!(
        d.ending,
        Ending::Timeout {
            retransmissions: 0,
            ..
        }
    ));
    // Without keep-alives or extra server packets the host is not proven
    // alive: medium.
    assert_eq!(conf(&d), Some(Confidence::Medium));
}

#[test]
fn request_at_the_very_end_of_the_capture_is_incomplete() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .end(1.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Incomplete);
    assert_eq!(d.ending, Ending::CaptureEnded);
    assert_eq!(d.ending.id(), "capture_ended");
    assert_eq!(d.last_step, Some(Step::ConnectionRequest));
    assert_eq!(d.failed_step, None);
}

#[test]
fn client_retransmitting_the_request_unanswered_is_path_lost() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .rtx(5, 0.3, ToServer, 0, 19)
            .rtx(6, 0.9, ToServer, 0, 19)
            .rtx(7, 2.1, ToServer, 0, 19)
            .end(30.0)
            .build(),
    );
    assert_failed(&d, CauseId::PathLost, Confidence::Medium);
    assert!(matches!(
        d.ending,
        Ending::Timeout {
            retransmissions: 3,
            ..
        }
    ));
}

#[test]
fn listener_refused_server_rst_right_after_the_request() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL | HYBRID)
            .rst_s(5, 0.0024)
            .build(),
    );
    assert_failed(&d, CauseId::ListenerRefused, Confidence::High);
    assert_eq!(d.ending, Ending::ResetBy(Party::Server));
    assert_ev!(
        d,
        4,
        Clue::Negotiation(NegotiationClue::Request {
            named: Some(Named::Cookie(k)),
            ..
        }) if k == "alice"
    );
    assert_ev!(
        d,
        5,
        Clue::End {
            note: EndNote::NoConnectionConfirm,
            ..
        }
    );
}

#[test]
fn listener_closing_slowly_is_less_certain() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .fin_s(5, 3.0)
            .build(),
    );
    assert_failed(&d, CauseId::ListenerRefused, Confidence::Medium);
    assert_eq!(d.ending, Ending::ClosedBy(Party::Server));
    assert_eq!(d.ending.id(), "closed_by_server");
}

#[test]
fn every_negotiation_failure_code_has_its_cause() {
    let cases = [
        (1, RDP, CauseId::SslRequiredByServer),
        (2, SSL | HYBRID, CauseId::SslNotAllowedByServer),
        (3, SSL, CauseId::CertNotOnServer),
        (4, SSL | HYBRID, CauseId::InconsistentFlags),
        (5, SSL, CauseId::NlaRequired),
        (6, SSL, CauseId::SslWithUserAuthRequired),
        (0x77, SSL, CauseId::NegotiationFailureOther),
    ];
    for (code, req, cause) in cases {
        let d = diagnose(
            &TlBuilder::new()
                .handshake()
                .cr(4, 0.002, req)
                .neg_failure(5, 0.0031, code)
                .fin_s(6, 0.0032)
                .build(),
        );
        assert_eq!(d.outcome, Outcome::Failed);
        assert_eq!(id(&d), Some(cause), "code {code}");
        assert_eq!(d.ending, Ending::NegotiationFailure { code });
        assert_eq!(d.ending_frame, Some(5));
        assert_eq!(d.failed_step, Some(Step::ConnectionConfirm));
        assert_eq!(d.phase, Phase::X224);
        assert_ev!(d, 5, Clue::Negotiation(NegotiationClue::Failure { .. }));
        assert_ev!(
            d,
            6,
            Clue::End {
                term: Term {
                    dir: ToClient,
                    kind: TermKind::Fin,
                    ..
                },
                ..
            }
        );
    }
}

#[test]
fn ssl_required_sentence_and_confidence() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, RDP)
            .neg_failure(5, 0.0031, 1)
            .build(),
    );
    assert_failed(&d, CauseId::SslRequiredByServer, Confidence::High);
    assert_eq!(
        d.negotiation.as_deref(),
        Some("client offered RDP only, server requires TLS (SSL_REQUIRED_BY_SERVER)")
    );
    assert_ev!(
        d,
        5,
        Clue::Negotiation(NegotiationClue::Failure {
            code,
            since: Some(Since {
                step: Step::ConnectionRequest,
                frame: 4,
                elapsed,
            }),
        }) if code.0 == 1 && about(elapsed, 1.1)
    );
    // A client that did offer TLS and still got code 1 is odd: less sure.
    let odd = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .neg_failure(5, 0.0031, 1)
            .build(),
    );
    assert_eq!(conf(&odd), Some(Confidence::Medium));
}

#[test]
fn nla_required_sentence() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .neg_failure(5, 0.003, 5)
            .build(),
    );
    assert_failed(&d, CauseId::NlaRequired, Confidence::High);
    assert_eq!(
        d.negotiation.as_deref(),
        Some("client offered SSL, server requires NLA (CredSSP) (HYBRID_REQUIRED_BY_SERVER)")
    );
}

#[test]
fn negotiation_sentences_for_selected_protocols() {
    let s = |req, sel| diagnose(&negotiated(req, sel).end(1.0).build()).negotiation;
    assert_eq!(
        s(SSL | HYBRID, SSL).as_deref(),
        Some("client offered SSL|HYBRID, server chose SSL: NLA is off on the server")
    );
    assert!(s(SSL | HYBRID | HYBRID_EX, HYBRID_EX)
        .unwrap()
        .contains("server chose HYBRID_EX: Network Level Authentication"));
    assert!(s(SSL | HYBRID, RDP)
        .unwrap()
        .contains("server chose RDP: the server allows only Standard RDP Security"));
}
