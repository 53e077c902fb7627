//! The TLS handshake: server refusals, alerts, certificates judged, MTU black holes (`tls.rs`, `cert.rs`, `path.rs`).

use super::*;

#[test]
fn server_cert_unusable_rst_right_after_client_hello() {
    let d = diagnose(
        &negotiated(SSL | HYBRID, HYBRID)
            .client_hello(6, 0.010)
            .rst_s(7, 0.0104)
            .build(),
    );
    assert_failed(&d, CauseId::ServerCertUnusable, Confidence::High);
    assert_eq!(d.last_step, Some(Step::ClientHello));
    assert_eq!(d.failed_step, Some(Step::ServerHello));
    assert_eq!(d.phase, Phase::Tls);
    assert_ev!(
        d,
        7,
        Clue::End {
            term: Term {
                dir: ToClient,
                kind: TermKind::Rst { ttl: 64, .. },
                ..
            },
            since: Some(Since {
                step: Step::ClientHello,
                frame: 6,
                elapsed,
            }),
            note: EndNote::NoServerHello,
        } if about(elapsed, 0.4)
    );
    assert!(d.cause.unwrap().remediation.contains("MachineKeys"));
}

#[test]
fn disconnect_pdu_before_the_reset_is_shown() {
    // xrdp with a key that does not match its certificate: after the
    // ClientHello it sends a Disconnect Provider Ultimatum in the clear and
    // resets.
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .mcs(
                7,
                0.048,
                ToClient,
                McsEvent::DisconnectProviderUltimatum { reason: 3 },
            )
            .rst_s(8, 0.0488)
            .build(),
    );
    assert_failed(&d, CauseId::ServerCertUnusable, Confidence::High);
    assert_ev!(
        d,
        7,
        Clue::Rdp(RdpClue::DisconnectUltimatum {
            dir: ToClient,
            reason: 3
        })
    );
}

#[test]
fn server_closing_after_an_old_client_hello_is_a_version_mismatch() {
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello_with(6, 0.010, old_hello())
            .fin_s(7, 0.0105)
            .build(),
    );
    assert_failed(&d, CauseId::TlsVersionMismatch, Confidence::Medium);
    assert_ev!(
        d,
        6,
        Clue::Tls(TlsClue::ClientHello(Some(h)))
            if h.min_version().0 == 0x0301 && h.max_version().0 == 0x0301
    );
}

#[test]
fn server_closing_after_weak_ciphers_is_a_cipher_mismatch() {
    let mut h = modern_hello(None);
    h.cipher_suites = vec![0x002f, 0x0035, 0x000a];
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello_with(6, 0.010, h)
            .fin_s(7, 0.0105)
            .build(),
    );
    assert_failed(&d, CauseId::TlsCipherMismatch, Confidence::Medium);
}

#[test]
fn server_alerts_name_the_tls_failure() {
    for (desc, cause) in [
        (70, CauseId::TlsVersionMismatch),
        (40, CauseId::TlsCipherMismatch),
        (71, CauseId::TlsCipherMismatch),
        (80, CauseId::TlsServerInternalError),
    ] {
        let d = diagnose(
            &negotiated(SSL, SSL)
                .client_hello(6, 0.010)
                .alert(7, 0.011, ToClient, desc)
                .fin_s(8, 0.0111)
                .build(),
        );
        assert_failed(&d, cause, Confidence::High);
        assert_eq!(
            d.ending,
            Ending::TlsAlert {
                from: Party::Server,
                description: Some(desc)
            }
        );
        assert_eq!(d.ending_frame, Some(7));
        assert_eq!(d.ending.id(), "tls_alert");
    }
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .alert(7, 0.011, ToClient, 70)
            .build(),
    );
    assert_ev!(
        d,
        7,
        Clue::End {
            term: Term {
                dir: ToClient,
                kind: TermKind::Alert {
                    level: 2,
                    description: 70
                },
                ..
            },
            since: Some(Since {
                step: Step::ClientHello,
                frame: 6,
                elapsed,
            }),
            ..
        } if about(elapsed, 1.0)
    );
}

#[test]
fn handshake_failure_with_an_old_client_is_a_version_problem() {
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello_with(6, 0.010, old_hello())
            .alert(7, 0.011, ToClient, 40)
            .build(),
    );
    assert_failed(&d, CauseId::TlsVersionMismatch, Confidence::Medium);
}

/// ServerHello + Certificate + ServerHelloDone in frame 7, then the client
/// ends it with `end`.
fn cert_then(c: crate::proto::cert::CertInfo, sni: Option<&str>) -> TlBuilder {
    negotiated(SSL | HYBRID, HYBRID)
        .client_hello_with(6, 0.010, modern_hello(sni))
        .server_hello(7, 0.011, 0x0303)
        .certificate(7, 0.011, c)
        .tls(7, 0.011, ToClient, TlsEvent::ServerHelloDone)
}

#[test]
fn client_fin_after_an_expired_certificate() {
    let d = diagnose(
        &cert_then(cert("rdp01", -400, -10, true), None)
            .fin_c(8, 0.0125)
            .build(),
    );
    // No alert: the defect is seen, that it made the client leave is inferred.
    assert_failed(&d, CauseId::CertRejectedExpired, Confidence::Medium);
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
    assert_eq!(d.failed_step, Some(Step::ClientKeyExchange));
    assert!(d.cause.as_ref().unwrap().summary.contains("2024-02-20"));
    // 2023-01-26 12:00:00 UTC to 2024-02-20 12:00:00 UTC, judged at
    // the capture's 2024-03-01 12:00:00 UTC.
    assert_ev!(
        d,
        7,
        Clue::Tls(TlsClue::Certificate { cert, at })
            if cert.not_before == 1_674_734_400
                && cert.not_after == 1_708_430_400
                && at.0 / 1_000_000_000 == 1_709_294_400
    );
}

#[test]
fn client_rst_after_a_not_yet_valid_certificate() {
    let d = diagnose(
        &cert_then(cert("rdp01", 5, 365, false), None)
            .rst_c(8, 0.0125)
            .build(),
    );
    // No alert: the defect is seen, that it made the client leave is inferred.
    assert_failed(&d, CauseId::CertRejectedNotYetValid, Confidence::Medium);
    assert_eq!(d.ending, Ending::ResetBy(Party::Client));
}

#[test]
fn client_rst_after_a_self_signed_certificate() {
    let d = diagnose(
        &cert_then(cert("rdp01", -30, 150, true), None)
            .rst_c(8, 2.5)
            .build(),
    );
    // Windows' own Remote Desktop certificate is self-signed and clients
    // accept it every day: self-signed alone does not say why this client
    // left.
    assert_failed(&d, CauseId::CertRejectedSelfSigned, Confidence::Low);
}

#[test]
fn client_fin_after_a_certificate_for_another_name() {
    let d = diagnose(
        &cert_then(good_cert("other.corp.example"), Some("rdp.corp.example"))
            .fin_c(8, 0.0125)
            .build(),
    );
    assert_failed(&d, CauseId::CertRejectedNameMismatch, Confidence::Medium);
    assert!(d.cause.unwrap().summary.contains("rdp.corp.example"));
    // A wildcard that covers the name is no mismatch.
    let d = diagnose(
        &cert_then(good_cert("*.corp.example"), Some("rdp.corp.example"))
            .fin_c(8, 0.0125)
            .build(),
    );
    assert_ne!(id(&d), Some(CauseId::CertRejectedNameMismatch));
}

#[test]
fn client_alerts_name_the_certificate_problem() {
    let d = diagnose(
        &cert_then(good_cert("rdp01"), None)
            .alert(8, 0.0125, ToServer, 45)
            .build(),
    );
    assert_failed(&d, CauseId::CertRejectedExpired, Confidence::High);
    assert_eq!(
        d.ending,
        Ending::TlsAlert {
            from: Party::Client,
            description: Some(45)
        }
    );
    let d = diagnose(
        &cert_then(cert("rdp01", -30, 150, true), None)
            .alert(8, 0.0125, ToServer, 48)
            .build(),
    );
    assert_failed(&d, CauseId::CertRejectedSelfSigned, Confidence::High);
    let d = diagnose(
        &cert_then(good_cert("rdp01"), None)
            .alert(8, 0.0125, ToServer, 42)
            .build(),
    );
    assert_failed(&d, CauseId::CertRejected, Confidence::Medium);
    assert_ev!(
        d,
        8,
        Clue::End {
            term: Term {
                dir: ToServer,
                kind: TermKind::Alert {
                    description: 42,
                    ..
                },
                ..
            },
            ..
        }
    );
}

#[test]
fn encrypted_alert_after_the_handshake_refuses_the_certificate() {
    // FreeRDP /cert:deny: the TLS handshake completes, then the client
    // sends an encrypted alert and FIN.
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello_with(6, 0.010, modern_hello(Some("10.0.0.9")))
            .server_hello(7, 0.011, 0x0303)
            .certificate(7, 0.011, cert("10.0.0.9", -2500, -2000, false))
            .tls(7, 0.011, ToClient, TlsEvent::ServerHelloDone)
            .tls(8, 0.012, ToServer, TlsEvent::ChangeCipherSpec)
            .tls(9, 0.013, ToClient, TlsEvent::ChangeCipherSpec)
            .tls(10, 0.03, ToServer, TlsEvent::EncryptedAlert { len: 26 })
            .fin_c(11, 0.031)
            .build(),
    );
    // An encrypted alert says nothing of its reason.
    assert_failed(&d, CauseId::CertRejectedExpired, Confidence::Medium);
    assert_eq!(
        d.ending,
        Ending::TlsAlert {
            from: Party::Client,
            description: None
        }
    );
    assert_eq!(d.ending_frame, Some(10));
    assert_eq!(d.last_step, Some(Step::ServerFinished));
    // Refusing the certificate is a failure of the TLS phase.
    assert_eq!(d.failed_step, Some(Step::CertificateAccepted));
    assert_eq!(d.phase, Phase::Tls);
    assert_ev!(
        d,
        10,
        Clue::End {
            term: Term {
                dir: ToServer,
                kind: TermKind::EncryptedAlert,
                ..
            },
            since: Some(Since {
                step: Step::ServerFinished,
                frame: 9,
                elapsed,
            }),
            ..
        } if about(elapsed, 17.0)
    );
    assert_ev!(
        d,
        11,
        Clue::Tls(TlsClue::CloseAfterAlert {
            dir: ToServer,
            rst: false
        })
    );
}

#[test]
fn standard_security_chosen_for_a_tls_only_client() {
    // xrdp with security_layer=rdp (or a key it cannot read) selects
    // PROTOCOL_RDP for a client that asked for SSL only; FreeRDP closes.
    let d = diagnose(&negotiated(SSL, RDP).fin_c(6, 0.0042).build());
    assert_failed(&d, CauseId::SslNotAllowedByServer, Confidence::High);
    assert_eq!(d.last_step, Some(Step::ConnectionConfirm));
    assert_eq!(d.failed_step, Some(Step::McsConnectInitial));
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
    assert_ev!(
        d,
        4,
        Clue::Negotiation(NegotiationClue::Request {
            offered: Offered::Requested(p),
            ..
        }) if p.0 == SSL
    );
    assert_ev!(
        d,
        5,
        Clue::Negotiation(NegotiationClue::StandardChosen { .. })
    );
}

#[test]
fn tls_stall_no_server_hello_while_tcp_answers() {
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .keepalive(8, 7.0)
            .keepalive(10, 14.0)
            .fin_c(12, 20.0)
            .packets(7, 6)
            .build(),
    );
    // A silence: at most Medium.
    assert_failed(&d, CauseId::ServiceUnresponsive, Confidence::Medium);
    assert!(d.cause.unwrap().summary.contains("no TLS ServerHello"));
}

#[test]
fn mtu_black_hole_full_size_segments_retransmitted() {
    // Server-side capture: the certificate flight leaves at full MSS and is
    // retransmitted, never acknowledged; the client gives up.
    let d = diagnose(
        &cert_then(good_cert("rdp01"), None)
            .mss(1460, 1460)
            .rtx(8, 0.25, ToClient, 0, 1460)
            .rtx(9, 0.75, ToClient, 0, 1460)
            .rtx(10, 1.75, ToClient, 0, 1460)
            .rst_c(11, 21.0)
            .build(),
    );
    // No ICMP names the MTU: read from unanswered segments, a silence.
    assert_failed(&d, CauseId::MtuBlackHole, Confidence::Medium);
    assert_ev!(
        d,
        8,
        Clue::Tcp(TcpClue::LargeRetransmission {
            dir: ToClient,
            len: 1460,
            ..
        })
    );
    // The ServerHello left the server but never reached the client.
    assert_eq!(d.last_step, Some(Step::ClientHello));
    assert_eq!(d.failed_step, Some(Step::ServerHello));
    assert_eq!(d.ending, Ending::ResetBy(Party::Client));
    // Two only: medium.
    let d = diagnose(
        &cert_then(good_cert("rdp01"), None)
            .mss(1460, 1460)
            .rtx(8, 0.25, ToClient, 0, 1460)
            .rtx(9, 0.75, ToClient, 0, 1460)
            .rst_c(11, 21.0)
            .build(),
    );
    assert_failed(&d, CauseId::MtuBlackHole, Confidence::Medium);
}

#[test]
fn mtu_black_hole_below_full_size_with_keepalives_passing() {
    // Server side of a tunnel with MTU 576: the 1206-byte ServerHello
    // flight is retransmitted 7 times; the client's keep-alives arrive.
    let mut b = cert_then(good_cert("rdp01"), None).mss(1460, 1460);
    for (k, t) in [0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4].iter().enumerate() {
        b = b.rtx(8 + 2 * k as u64, *t, ToClient, 19, 1206);
        b = b.keepalive(9 + 2 * k as u64, *t + 0.1);
    }
    let d = diagnose(&b.fin_c(30, 26.0).build());
    // No ICMP names the MTU: read from unanswered segments, a silence.
    assert_failed(&d, CauseId::MtuBlackHole, Confidence::Medium);
    assert_eq!(d.failed_step, Some(Step::ServerHello));
    assert_ev!(d, 9, Clue::Tcp(TcpClue::SmallPacketsPass { .. }));
    assert_ev!(d, 20, Clue::Tcp(TcpClue::SameSegment { count: 7 }));
    // The same retransmissions with nothing from the client after them:
    // not an MTU problem (the path or the client is gone).
    let mut b = cert_then(good_cert("rdp01"), None).mss(1460, 1460);
    for (k, t) in [0.2, 0.6, 1.4].iter().enumerate() {
        b = b.rtx(8 + k as u64, *t, ToClient, 19, 1206);
    }
    let d = diagnose(&b.end(30.0).build());
    assert_ne!(id(&d), Some(CauseId::MtuBlackHole));
}

#[test]
fn mtu_black_hole_seen_from_the_client() {
    // Client side: the server's large segment never arrives; its next
    // packets are past a 1206-byte hole.
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .mss(1460, 1460)
            .gap(9, 0.3, ToClient, GapKind::Unknown, 19, 1206)
            .keepalive(10, 7.0)
            .fin_c(12, 25.0)
            .build(),
    );
    assert_failed(&d, CauseId::MtuBlackHole, Confidence::Medium);
    assert_eq!(d.failed_step, Some(Step::ServerHello));
    assert_ev!(
        d,
        9,
        Clue::Tcp(TcpClue::Hole {
            dir: ToClient,
            len: 1206,
            offset: 19
        })
    );
}

#[test]
fn icmp_fragmentation_needed_confirms_the_black_hole() {
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .mss(1460, 1460)
            .rtx(7, 0.25, ToClient, 0, 1460)
            .icmp(8, 0.251, 3, 4, Some(1400))
            .end(30.0)
            .build(),
    );
    assert_failed(&d, CauseId::MtuBlackHole, Confidence::High);
    assert!(d.cause.unwrap().summary.contains("1400"));
}

#[test]
fn a_single_tail_loss_probe_is_not_loss() {
    let d = diagnose(
        &tls_done(SSL, SSL)
            .mss(1460, 1460)
            .rtx(10, 0.2, ToClient, 0, 1460)
            .app(11, 0.3, ToServer, 400)
            .app(12, 0.31, ToClient, 800)
            .app_summary(40, 60.0, ToClient, 3000, 4_000_000)
            .end(60.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert!(d.cause.is_none());
    assert_eq!(d.last_step, Some(Step::SessionData));
    assert_eq!(d.ending, Ending::CaptureEnded);
}

#[test]
fn client_closing_instead_of_starting_tls() {
    let d = diagnose(&negotiated(SSL | HYBRID, SSL).fin_c(6, 0.005).build());
    assert_failed(&d, CauseId::ClientAborted, Confidence::Medium);
    assert_eq!(d.failed_step, Some(Step::ClientHello));
    assert!(d.cause.unwrap().summary.contains("NLA is off"));
}
