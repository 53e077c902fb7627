//! One test per rule: each cause, ending, benign kind and caveat, on a
//! hand-built timeline shaped like real traffic.

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
fn has_ev(d: &Diagnosis, frame: u64, needle: &str) -> bool {
    d.evidence
        .iter()
        .any(|e| e.frame == frame && e.text.contains(needle))
}
#[track_caller]
fn assert_ev(d: &Diagnosis, frame: u64, needle: &str) {
    assert!(
        has_ev(d, frame, needle),
        "no evidence at frame {frame} containing {needle:?}: {:#?}",
        d.evidence
    );
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
    assert_eq!(r, remediation(cause));
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

// ------------------------------------------------------------- tcp ----

#[test]
fn port_closed_rst_answers_the_syn() {
    let d = diagnose(&TlBuilder::new().syn(1, 0.0).rst_s(2, 0.0003).build());
    assert_failed(&d, CauseId::PortClosed, Confidence::High);
    assert_eq!(d.ending, Ending::Refused);
    assert_eq!(d.ending_frame, Some(2));
    assert_eq!(d.last_step, Some(Step::Syn));
    assert_eq!(d.failed_step, Some(Step::SynAck));
    assert_eq!(d.phase, Phase::Tcp);
    assert_ev(
        &d,
        2,
        "RST from server (TTL 64) 0.30 ms after TCP SYN (frame 1)",
    );
}

#[test]
fn filtered_linux_syn_retries_are_a_timeout() {
    // Recent Linux: retries about 1, 2, 3, 4, 5, 7, 11 s apart.
    let times = [0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 22.0, 33.0];
    let d = diagnose(&TlBuilder::new().syns(1, &times).end(40.0).build());
    // A silence: at most Medium.
    assert_failed(&d, CauseId::Filtered, Confidence::Medium);
    match d.ending {
        Ending::Timeout {
            waited,
            retransmissions,
        } => {
            assert_eq!(retransmissions, 7);
            assert_eq!(waited, Duration::from_secs(33));
        }
        ref e => panic!("{e:?}"),
    }
    assert_eq!(d.ending.id(), "timeout");
    assert_ev(&d, 8, "SYN sent 8 times");
}

#[test]
fn filtered_confidence_drops_with_fewer_syns() {
    let two = diagnose(&TlBuilder::new().syns(1, &[0.0, 1.0]).end(10.0).build());
    assert_failed(&two, CauseId::Filtered, Confidence::Medium);
    let one = diagnose(&TlBuilder::new().syn(1, 0.0).end(10.0).build());
    assert_failed(&one, CauseId::Filtered, Confidence::Low);
}

#[test]
fn a_lone_syn_at_the_end_of_the_capture_is_incomplete() {
    let d = diagnose(&TlBuilder::new().syn(1, 0.0).end(0.5).build());
    assert_eq!(d.outcome, Outcome::Incomplete);
    assert_eq!(d.ending, Ending::CaptureEnded);
    assert!(d.cause.is_none());
}

#[test]
fn icmp_error_quoting_the_syn_names_the_reason() {
    let d = diagnose(
        &TlBuilder::new()
            .syn(1, 0.0)
            .icmp(2, 0.002, 3, 13, None)
            .build(),
    );
    assert_failed(&d, CauseId::IcmpUnreachable, Confidence::High);
    assert_eq!(
        d.ending,
        Ending::IcmpError {
            icmp_type: 3,
            code: 13
        }
    );
    assert_ev(&d, 2, "ICMP destination unreachable: administratively prohibited (3/13) quoting the client's packet 2.0 ms after TCP SYN (frame 1)");
}

#[test]
fn scanner_syn_synack_rst_from_client_is_benign() {
    // nmap's raw SYN has its own TTL; the kernel's RST another: not a
    // middlebox.
    let d = diagnose(
        &TlBuilder::new()
            .syn(1, 0.0)
            .syn_ack(2, 0.0004)
            .rst(3, 0.0006, ToServer, 58)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Benign);
    assert_eq!(d.benign, Some(Benign::Scanner));
    assert!(d.cause.is_none());
    assert_eq!(d.ending, Ending::ResetBy(Party::Client));
    assert_ev(&d, 3, "half-open");
}

#[test]
fn synack_never_acknowledged_is_a_one_way_drop() {
    let d = diagnose(
        &TlBuilder::new()
            .syn(1, 0.0)
            .syn_ack(2, 0.001)
            .syn_ack(3, 1.001)
            .syn_ack(4, 3.001)
            .end(10.0)
            .build(),
    );
    assert_failed(&d, CauseId::Filtered, Confidence::Medium);
    assert!(matches!(
        d.ending,
        Ending::Timeout {
            retransmissions: 2,
            ..
        }
    ));
}

#[test]
fn health_check_fin_right_after_the_synack_is_benign() {
    // A load balancer's check: SYN, SYN/ACK, FIN/ACK from the checker,
    // RST from the server.
    let d = diagnose(
        &TlBuilder::new()
            .syn(1, 0.0)
            .syn_ack(2, 0.0003)
            .fin_c(3, 0.0005)
            .rst_s(4, 0.0007)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Benign, "{d:#?}");
    assert_eq!(d.benign, Some(Benign::HealthCheck));
    assert_eq!(d.failed_step, None);
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
}

#[test]
fn health_check_connect_and_close_without_data_is_benign() {
    let d = diagnose(&TlBuilder::new().handshake().fin_c(4, 0.002).build());
    assert_eq!(d.outcome, Outcome::Benign);
    assert_eq!(d.benign, Some(Benign::HealthCheck));
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
}

// ------------------------------------------------------------ x224 ----

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
    assert_ev(&d, 6, "3 TCP keep-alive(s)");
    assert_ev(
        &d,
        12,
        "RST from client (TTL 128) 20 s after X.224 Connection Request (frame 4)",
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
    assert_ev(&d, 4, "mstshash=alice");
    assert_ev(&d, 5, "no Connection Confirm");
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
        assert_ev(&d, 5, "RDP_NEG_FAILURE");
        assert_ev(&d, 6, "FIN from server");
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
    assert_ev(&d, 5, "RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER (1), 1.1 ms after X.224 Connection Request (frame 4)");
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

// ------------------------------------------------------------- tls ----

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
    assert_ev(
        &d,
        7,
        "RST from server (TTL 64) 0.40 ms after TLS ClientHello (frame 6), no ServerHello",
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
    assert_ev(
        &d,
        7,
        "MCS Disconnect Provider Ultimatum from server (reason rn-user-requested, 3)",
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
    assert_ev(&d, 6, "versions TLS 1.0 to TLS 1.0");
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
    assert_ev(
        &d,
        7,
        "fatal TLS alert protocol_version (70) from server 1.0 ms after TLS ClientHello (frame 6)",
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
    assert_ev(&d, 7, "valid 2023-01-26 12:00:00 UTC to 2024-02-20 12:00:00 UTC (capture time 2024-03-01 12:00:00 UTC)");
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
    assert_ev(&d, 8, "bad_certificate (42) from client");
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
    assert_ev(&d, 10, "encrypted TLS alert from client 17.0 ms after TLS server ChangeCipherSpec/Finished (frame 9)");
    assert_ev(&d, 11, "FIN from client after its alert");
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
    assert_ev(&d, 4, "offering SSL");
    assert_ev(&d, 5, "selecting RDP");
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
    assert_ev(&d, 8, "retransmission from server of 1460 bytes");
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
    assert_ev(&d, 9, "small packets pass");
    assert_ev(&d, 20, "retransmission 7 of the same segment");
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
    assert_ev(
        &d,
        9,
        "1206 bytes from the server at offset 19 never arrived",
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

// --------------------------------------------------------- credssp ----

fn nla(ex: bool) -> TlBuilder {
    let sel = if ex { HYBRID_EX } else { HYBRID };
    tls_done(SSL | HYBRID | HYBRID_EX, sel)
        .leg(10, 0.02, Negotiate)
        .leg(11, 0.021, Challenge)
        .leg(12, 0.03, Authenticate)
}

#[test]
fn credentials_rejected_server_closes_after_authenticate() {
    let d = diagnose(&nla(false).fin_s(13, 0.12).build());
    // The records are encrypted: the close is seen, the reason inferred.
    assert_failed(&d, CauseId::CredentialsRejected, Confidence::Medium);
    assert_eq!(d.failed_step, Some(Step::CredsspServerPubKeyAuth));
    assert_eq!(d.phase, Phase::Credssp);
    assert_ev(
        &d,
        13,
        "FIN from server 90.0 ms after CredSSP authenticate (frame 12), no pubKeyAuth back",
    );
    assert_ev(&d, 12, "CredSSP authenticate (with pubKeyAuth) from client");
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
    assert_ev(&d, 15, "Early User Authorization Result from server");
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

// ------------------------------------------------- rdp and session ----

/// Standard RDP Security up to the Client Info (clear-text MCS).
fn standard() -> TlBuilder {
    negotiated(RDP, RDP)
        .mcs(6, 0.01, ToServer, McsEvent::ConnectInitial(Box::default()))
        .mcs(7, 0.02, ToClient, McsEvent::ConnectResponse(Box::default()))
        .mcs(8, 0.03, ToServer, McsEvent::ErectDomainRequest)
        .mcs(9, 0.03, ToServer, McsEvent::AttachUserRequest)
        .mcs(
            10,
            0.04,
            ToClient,
            McsEvent::AttachUserConfirm {
                result: 0,
                user_id: Some(1007),
            },
        )
        .mcs(
            11,
            0.05,
            ToClient,
            McsEvent::ChannelJoinConfirm {
                result: 0,
                channel: 1003,
            },
        )
        .mcs(12, 0.06, ToServer, McsEvent::SecurityExchange { len: 72 })
        .mcs(13, 0.07, ToServer, McsEvent::ClientInfo(Default::default()))
}

#[test]
fn licensing_error_in_the_clear() {
    let d = diagnose(
        &standard()
            .licensing_error(14, 0.2, 0x06)
            .fin_s(15, 0.21)
            .build(),
    );
    assert_failed(&d, CauseId::LicensingError, Confidence::High);
    assert_eq!(d.failed_step, Some(Step::Licensing));
    assert_eq!(d.last_step, Some(Step::ClientInfo));
    assert_eq!(d.phase, Phase::Rdp);
    assert_ev(&d, 14, "ERR_NO_LICENSE_SERVER (0x06)");
    // STATUS_VALID_CLIENT is the success answer, not an error.
    let ok = diagnose(&standard().licensing_error(14, 0.2, 0x07).end(1.0).build());
    assert_ne!(id(&ok), Some(CauseId::LicensingError));
    assert_eq!(ok.last_step, Some(Step::Licensing));
}

#[test]
fn set_error_info_codes() {
    let info = |code| {
        diagnose(
            &standard()
                .mcs(14, 0.2, ToClient, McsEvent::SetErrorInfo { code })
                .fin_s(15, 0.21)
                .build(),
        )
    };
    assert_eq!(id(&info(0x101)), Some(CauseId::LicensingError));
    let d = info(0x7);
    assert_failed(&d, CauseId::ServerDeniedSession, Confidence::High);
    assert_ev(&d, 14, "ERRINFO_SERVER_DENIED_CONNECTION");
    let d = info(0xC);
    assert_eq!(d.outcome, Outcome::Benign);
    assert_eq!(d.benign, Some(Benign::SessionEnd));
}

#[test]
fn server_closing_during_encrypted_rdp_setup() {
    let d = diagnose(
        &tls_done(SSL, SSL)
            .app(10, 0.02, ToServer, 400)
            .app(11, 0.03, ToClient, 300)
            .fin_s(12, 0.05)
            .build(),
    );
    assert_failed(&d, CauseId::ServerDeniedSession, Confidence::Low);
    assert_eq!(d.last_step, Some(Step::McsConnectResponse));
}

#[test]
fn tls_session_volume_threshold() {
    // A Windows 7 TLS session by its first bitmaps: 24 records, 11 kB.
    let d = diagnose(
        &tls_done(SSL, SSL)
            .app(10, 0.02, ToServer, 400)
            .app(11, 0.03, ToClient, 300)
            .app_summary(68, 1.7, ToClient, 24, 11_232)
            .end(1.8)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(d.last_step, Some(Step::SessionData));
    // Set-up only (licensing, Demand Active), then the server closes.
    let d = diagnose(
        &tls_done(SSL, SSL)
            .app(10, 0.02, ToServer, 400)
            .app(11, 0.03, ToClient, 300)
            .app_summary(30, 0.5, ToClient, 12, 3_000)
            .fin_s(31, 0.6)
            .build(),
    );
    assert_failed(&d, CauseId::ServerDeniedSession, Confidence::Low);
    assert_eq!(d.last_step, Some(Step::McsConnectResponse));
}

fn session() -> TlBuilder {
    tls_done(SSL, SSL)
        .app(10, 0.02, ToServer, 400)
        .app(11, 0.03, ToClient, 300)
        .app_summary(90, 120.0, ToClient, 5000, 9_000_000)
}

#[test]
fn session_end_is_named_and_an_open_session_is_established() {
    // The session ran: established, and the client's close is named so it
    // is not taken for a failure.
    let d = diagnose(&session().fin_c(100, 130.0).build());
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(d.benign, Some(Benign::SessionEnd));
    assert_eq!(d.phase, Phase::Session);
    assert_eq!(d.failed_step, None);
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
    let d = diagnose(&session().rst_c(100, 130.0).build());
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(d.benign, Some(Benign::SessionEnd));
    assert_eq!(d.ending.id(), "reset_by_client");
    let d = diagnose(&session().end(200.0).build());
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(d.failed_step, None);
    assert!(d.cause.is_none());
}

#[test]
fn server_reset_during_the_session() {
    let d = diagnose(&session().rst_s(100, 130.0).build());
    assert_broke(&d, CauseId::ServerReset, Confidence::Medium);
    assert_eq!(d.ending, Ending::ResetBy(Party::Server));
}

#[test]
fn middlebox_reset_has_the_wrong_ttl() {
    // The server's packets arrive with TTL 64; the RST with 61 (forged by
    // a firewall three hops nearer with initial TTL 64).
    let d = diagnose(&session().rst(100, 130.0, ToClient, 61).build());
    assert_eq!(id(&d), Some(CauseId::MiddleboxReset), "{d:#?}");
    assert_eq!(d.ending, Ending::ResetBy(Party::Middlebox));
    assert_eq!(d.ending.id(), "reset_by_middlebox");
    assert_ev(&d, 100, "TTL 61, while the server's other");
    assert!(d.cause.unwrap().summary.contains("not the server"));
}

#[test]
fn a_capture_on_two_interfaces_is_no_middlebox() {
    // Every server packet seen twice (once per router interface), TTL 64
    // and 63: the RST too.
    let mut tl = session().rst(200, 130.0, ToClient, 63).build();
    tl.dirs[1].ttls = vec![(63, 60), (64, 60)];
    let d = diagnose(&tl);
    assert_ne!(id(&d), Some(CauseId::MiddleboxReset), "{d:#?}");
    // One odd TTL among many is a forger.
    tl.dirs[1].ttls = vec![(63, 1), (64, 119)];
    assert_eq!(id(&diagnose(&tl)), Some(CauseId::MiddleboxReset));
}

#[test]
fn middlebox_reset_after_client_hello() {
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.01)
            .rst(7, 0.0102, ToClient, 250)
            .build(),
    );
    assert_eq!(id(&d), Some(CauseId::MiddleboxReset));
    assert!(d.cause.unwrap().summary.contains("TLS"));
}

#[test]
fn idle_timeout_long_silence_then_reset() {
    let d = diagnose(&session().max_idle(900.0, 100).rst_s(100, 1020.0).build());
    assert_broke(&d, CauseId::IdleTimeout, Confidence::Medium);
    assert_ev(&d, 100, "after 900 s of silence");
    // With a forged TTL the device is named with more confidence.
    let d = diagnose(
        &session()
            .max_idle(900.0, 100)
            .rst(100, 1020.0, ToClient, 60)
            .build(),
    );
    assert_broke(&d, CauseId::IdleTimeout, Confidence::High);
    assert_eq!(d.ending, Ending::ResetBy(Party::Middlebox));
}

#[test]
fn idle_timeout_silence_then_unanswered_retransmissions() {
    let d = diagnose(
        &session()
            .max_idle(600.0, 100)
            .rtx(100, 720.0, ToServer, 5000, 120)
            .rtx(101, 720.3, ToServer, 5000, 120)
            .rtx(102, 720.9, ToServer, 5000, 120)
            .end(760.0)
            .build(),
    );
    assert_broke(&d, CauseId::IdleTimeout, Confidence::Medium);
    assert!(matches!(
        d.ending,
        Ending::Timeout {
            retransmissions: 3,
            ..
        }
    ));
}

#[test]
fn idle_timeout_of_a_short_conntrack_entry() {
    // Lab capture 38: a router's conntrack entry expires after 20 s; the
    // session is silent for 33 s, then the client's input is retransmitted
    // and never answered.
    let d = diagnose(
        &session()
            .max_idle(33.35, 171)
            .rtx(173, 153.6, ToServer, 5000, 120)
            .rtx(175, 154.0, ToServer, 5000, 120)
            .rtx(179, 161.5, ToServer, 5000, 120)
            .end(176.5)
            .build(),
    );
    // 33 s is far below the default idle timeouts of common devices (4
    // minutes and more): the state was lost during the silence, but only a
    // device configured that short explains it: Low.
    assert_broke(&d, CauseId::IdleTimeout, Confidence::Low);
    assert_ev(&d, 171, "after 33 s of silence");
}

#[test]
fn a_long_pause_followed_by_answered_data_is_not_what_timed_out() {
    // 25 s of silence, but the server sent data after it: the state
    // survived the pause; retransmissions unanswered later are a broken
    // path, not an idle timeout.
    let d = diagnose(
        &session()
            .max_idle(25.0, 100)
            .app(101, 146.0, ToClient, 300)
            .rtx(110, 150.0, ToServer, 5000, 120)
            .rtx(111, 150.4, ToServer, 5000, 120)
            .rtx(112, 151.2, ToServer, 5000, 120)
            .end(170.0)
            .build(),
    );
    assert_ne!(
        d.cause.as_ref().map(|c| c.id),
        Some(CauseId::IdleTimeout),
        "{d:#?}"
    );
    assert_eq!(
        d.cause.as_ref().map(|c| c.id),
        Some(CauseId::PathLost),
        "{d:#?}"
    );
}

#[test]
fn zero_window_stall_from_the_server() {
    let d = diagnose(
        &session()
            .tcp(100, 125.0, ToClient, TcpEventKind::ZeroWindow)
            .tcp(101, 125.5, ToServer, TcpEventKind::ZeroWindowProbe)
            .end(140.0)
            .build(),
    );
    // A zero window held is a silence of the reader: at most Medium.
    assert_broke(&d, CauseId::ZeroWindowStall, Confidence::Medium);
    assert_ev(
        &d,
        100,
        "zero window from server, held for 15 s until the end",
    );
    // A client that stops reading as it closes: no stall.
    let d = diagnose(
        &session()
            .tcp(100, 125.0, ToServer, TcpEventKind::ZeroWindow)
            .fin_c(101, 125.2)
            .end(140.0)
            .build(),
    );
    assert_eq!(d.benign, Some(Benign::SessionEnd), "{d:#?}");
    // A zero window that opens again within a second is flow control.
    let d = diagnose(
        &session()
            .tcp(100, 125.0, ToClient, TcpEventKind::ZeroWindow)
            .tcp(
                101,
                125.3,
                ToClient,
                TcpEventKind::WindowUpdate { window: 65535 },
            )
            .end(140.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established);
}

#[test]
fn path_lost_in_session_retransmissions_never_answered() {
    let d = diagnose(
        &session()
            .rtx(100, 125.0, ToServer, 9000, 200)
            .rtx(101, 125.4, ToServer, 9000, 200)
            .rtx(102, 126.2, ToServer, 9000, 200)
            .end(160.0)
            .build(),
    );
    assert_broke(&d, CauseId::PathLost, Confidence::Medium);
}

#[test]
fn path_lost_in_session_keep_alives_never_answered() {
    // Lab capture 34: the path drops mid-session; the client's keep-alives
    // at 6.5 s and 8.5 s get nothing back and its kernel resets at 10.5 s.
    let d = diagnose(
        &session()
            .tcp(190, 126.5, ToServer, TcpEventKind::KeepAlive)
            .tcp(191, 128.5, ToServer, TcpEventKind::KeepAlive)
            .rst_c(192, 130.5)
            .build(),
    );
    assert_broke(&d, CauseId::PathLost, Confidence::Medium);
    assert_eq!(d.ending.id(), "reset_by_client");
    let frames: Vec<u64> = d.evidence.iter().map(|e| e.frame).collect();
    assert!(frames.contains(&190) && frames.contains(&191) && frames.contains(&192));

    // Answered keep-alives are a healthy idle session: the client's reset
    // later is its own doing.
    let d = diagnose(
        &session()
            .tcp(190, 126.5, ToServer, TcpEventKind::KeepAlive)
            .tcp(191, 126.6, ToClient, TcpEventKind::KeepAliveAck)
            .tcp(192, 128.5, ToServer, TcpEventKind::KeepAlive)
            .tcp(193, 128.6, ToClient, TcpEventKind::KeepAliveAck)
            .rst_c(194, 130.5)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(d.benign, Some(Benign::SessionEnd));

    // One unanswered keep-alive is not enough.
    let d = diagnose(
        &session()
            .tcp(190, 126.5, ToServer, TcpEventKind::KeepAlive)
            .rst_c(192, 130.5)
            .build(),
    );
    assert_eq!(d.benign, Some(Benign::SessionEnd));
}

#[test]
fn not_rdp_on_the_port() {
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .proto(
                4,
                0.002,
                ToServer,
                ProtoEvent::NotRdp {
                    why: "HTTP request".into(),
                },
            )
            .fin_s(5, 0.01)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::NotRdp);
    assert_eq!(d.outcome.name(), "not_rdp");
    assert_ev(&d, 4, "HTTP request");
}

#[test]
fn something_else_answering_an_rdp_request() {
    // An RDP probe to a Modbus device: 9 bytes back, the client idles 30 s
    // and closes.
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .cr(4, 0.002, SSL)
            .proto(
                5,
                0.004,
                ToClient,
                ProtoEvent::NotRdp {
                    why: "not TPKT".into(),
                },
            )
            .fin_c(6, 30.0)
            .build(),
    );
    assert_failed(&d, CauseId::NotRdpServer, Confidence::High);
    assert_eq!(d.last_step, Some(Step::ConnectionRequest));
    assert_eq!(d.failed_step, Some(Step::ConnectionConfirm));
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
    assert_ev(&d, 5, "not RDP");
}

// --------------------------------------------------------- caveats ----

#[test]
fn capture_loss_in_the_failing_step_lowers_confidence() {
    let base = || negotiated(SSL | HYBRID, HYBRID).client_hello(6, 0.010);
    let clean = diagnose(&base().rst_s(8, 0.0104).build());
    assert_eq!(conf(&clean), Some(Confidence::High));
    let lossy = diagnose(
        &base()
            .gap(7, 0.0102, ToClient, GapKind::CaptureLoss, 19, 1200)
            .rst_s(8, 0.0104)
            .build(),
    );
    assert_eq!(id(&lossy), Some(CauseId::ServerCertUnusable));
    assert_eq!(conf(&lossy), Some(Confidence::Medium));
    assert!(lossy
        .caveats
        .iter()
        .any(|c| c.contains("capture loss in the failing step")));
    assert_ev(&lossy, 7, "capture loss: 1200 bytes from the server");
}

#[test]
fn capture_loss_with_no_other_explanation_is_the_cause() {
    let d = diagnose(
        &TlBuilder::new()
            .syn(1, 0.0)
            .syn_ack(2, 0.001)
            .gap(3, 0.002, ToServer, GapKind::CaptureLoss, 0, 1)
            .fin_s(4, 0.003)
            .build(),
    );
    assert_eq!(id(&d), Some(CauseId::CaptureLossInFailingStep), "{d:#?}");
    assert_eq!(conf(&d), Some(Confidence::Low));
}

#[test]
fn mid_stream_capture_is_said() {
    let d = diagnose(
        &TlBuilder::new()
            .roles(RoleSource::Port)
            .tcp(1, 0.0, ToClient, TcpEventKind::MidStream)
            .app(1, 0.0, ToClient, 1400)
            .app(2, 0.01, ToServer, 100)
            .fin_c(3, 5.0)
            .build(),
    );
    assert!(
        d.caveats.iter().any(|c| c.contains("mid-connection")),
        "{d:#?}"
    );
    // The set-up was not seen, but the session ran and the client closed.
    assert_eq!(d.outcome, Outcome::Established);
    assert_eq!(d.benign, Some(Benign::SessionEnd));
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
}

#[test]
fn mid_session_fast_path_places_the_session() {
    // A capture that starts inside a Standard Security session: the decoder
    // finds fast-path PDUs from the server.
    let d = diagnose(
        &TlBuilder::new()
            .roles(RoleSource::Port)
            .tcp(2, 0.0, ToClient, TcpEventKind::MidStream)
            .proto(
                2,
                0.0,
                ToClient,
                ProtoEvent::FastPath {
                    len: 19,
                    encrypted: true,
                },
            )
            .end(60.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Incomplete);
    assert_eq!(d.last_step, Some(Step::SessionData));
    assert_eq!(d.failed_step, None);
    assert_eq!(d.ending, Ending::CaptureEnded);
    assert!(d.caveats[0].contains("first frame 2"));
}

#[test]
fn mid_stream_without_signature_is_incomplete() {
    let d = diagnose(
        &TlBuilder::new()
            .roles(RoleSource::Port)
            .tcp(1, 0.0, ToClient, TcpEventKind::MidStream)
            .rst_s(2, 0.5)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Incomplete);
    assert!(d.caveats.iter().any(|c| c.contains("mid-connection")));
}

#[test]
fn one_direction_only_is_not_a_failure() {
    // Client packets only: the client's ACK and Connection Request prove a
    // SYN/ACK existed.
    let d = diagnose(
        &TlBuilder::new()
            .syn(1, 0.0)
            .ack(2, 0.001)
            .cr(3, 0.002, SSL)
            .client_hello(5, 0.01)
            .fin_c(6, 20.0)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Incomplete, "{d:#?}");
    assert!(d.caveats.iter().any(|c| c.contains("only one direction")));
}

#[test]
fn undecodable_session_is_placed_by_volume() {
    // Snap length 96: nothing decodes, but 60 kB flowed from the server
    // and the client closed after 5 s.
    let d = diagnose(
        &TlBuilder::new()
            .handshake()
            .gap(4, 0.002, ToServer, GapKind::Snaplen, 30, 12)
            .gap(10, 0.02, ToClient, GapKind::Snaplen, 49, 1176)
            .payload(9_000, 60_000)
            .last_payload(ToClient, 170, 5.3)
            .fin_c(172, 5.34)
            .build(),
    );
    assert_eq!(d.outcome, Outcome::Established, "{d:#?}");
    assert_eq!(d.last_step, Some(Step::SessionData));
    assert_eq!(d.ending, Ending::ClosedBy(Party::Client));
    assert!(d.caveats.iter().any(|c| c.contains("snap length")));
}

#[test]
fn decoding_stopped_before_the_failure_is_a_caveat_after_it_is_not() {
    let stopped = |f| ProtoEvent::Stopped {
        why: format!("hole at frame {f}"),
    };
    let d = diagnose(
        &negotiated(SSL, SSL)
            .proto(6, 0.01, ToServer, stopped(6))
            .fin_c(8, 20.0)
            .build(),
    );
    assert!(d.caveats.iter().any(|c| c.contains("stopped at frame 6")));
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .alert(7, 0.011, ToClient, 70)
            .proto(9, 0.02, ToClient, stopped(9))
            .build(),
    );
    assert!(d.caveats.is_empty(), "{:?}", d.caveats);
}

#[test]
fn dropped_events_are_a_caveat() {
    let mut tl = negotiated(SSL, SSL).end(1.0).build();
    tl.events_dropped = 12;
    let d = diagnose(&tl);
    assert!(d.caveats.iter().any(|c| c.contains("12 TCP events")));
}

#[test]
fn bytes_lost_to_a_bound_are_a_caveat() {
    let mut tl = negotiated(SSL, SSL).end(1.0).build();
    // The depth cap alone is the normal end of a long connection.
    tl.dirs[0].limit = Some(KeepLimit::DepthCap { bytes: 1 << 20 });
    assert!(diagnose(&tl).caveats.is_empty());
    tl.dirs[1].limit = Some(KeepLimit::HoleBytes { max: 256 << 10 });
    let d = diagnose(&tl);
    assert_eq!(
        d.caveats,
        [
            "not every byte from the server was kept for decoding: hole limit reached (at most \
          256 KiB missing in holes); what was not kept is unknown"
        ]
    );
}

#[test]
fn server_direction_only_is_not_a_failure() {
    // Only the server's packets: its Connection Confirm proves a request.
    let d = diagnose(
        &TlBuilder::new()
            .syn_ack(2, 0.0005)
            .cc(5, 0.004, SSL)
            .server_hello(7, 0.011, 0x0303)
            .fin_s(9, 30.0)
            .roles(RoleSource::SynAck)
            .build(),
    );
    assert_ne!(d.outcome, Outcome::Failed, "{d:#?}");
    assert!(d.caveats.iter().any(|c| c.contains("only one direction")));
}

#[test]
fn snap_length_is_a_caveat() {
    let d = diagnose(
        &negotiated(SSL, SSL)
            .client_hello(6, 0.010)
            .gap(7, 0.011, ToClient, GapKind::Snaplen, 96, 1300)
            .end(1.0)
            .build(),
    );
    assert!(d
        .caveats
        .iter()
        .any(|c| c.contains("snap length") && c.contains("frame 7")));
}

// -------------------------------------------------------- properties ----

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

// -------------------------------------------------------- attempts ----

fn conn(stream: u64, port: u16, t0: f64, b: impl FnOnce(f64) -> TlBuilder) -> Timeline {
    let _ = port;
    b(t0).stream(stream).build()
}

#[test]
fn retries_to_a_closed_port_are_one_attempt() {
    // FreeRDP retries a refused connection: two SYNs from two ports.
    let mk = |stream: u64, port: u16, t: f64| {
        conn(stream, port, t, |t| {
            TlBuilder::between(&format!("10.0.0.5:{port}"), "10.0.0.9:3389")
                .syn(stream * 10 + 1, t)
                .rst_s(stream * 10 + 2, t + 0.0003)
        })
    };
    let a = mk(0, 50100, 0.0);
    let b = mk(1, 50101, 0.5);
    // Another server: another attempt.
    let c = TlBuilder::between("10.0.0.5:50102", "10.0.0.10:3389")
        .syn(31, 0.6)
        .rst_s(32, 0.6003)
        .stream(2)
        .build();
    // The same pair a minute later: a new attempt.
    let e = mk(3, 50103, 90.0);
    let tls = [a, b, c, e];
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    let items: Vec<(&Timeline, &Diagnosis)> = tls.iter().zip(ds.iter()).collect();
    let at = group_attempts(&items);
    assert_eq!(at.len(), 3);
    let first = at
        .iter()
        .find(|x| x.streams == vec![0, 1])
        .expect("grouped");
    assert!(first.all_failed_same_step);
    assert_eq!(first.failed_step, Some(Step::SynAck));
    assert_eq!(first.failed, 2);
    assert_eq!(
        first.summary,
        "2 attempts from 10.0.0.5 to 10.0.0.9:3389 within 500 ms, all failed at TCP SYN/ACK (port_closed)"
    );
    assert!(at.iter().any(|x| x.streams == vec![3]));
    assert!(at.iter().any(|x| x.streams == vec![2]));
    // Input order does not matter.
    let mut rev = items.clone();
    rev.reverse();
    assert_eq!(group_attempts(&rev), at);
}

fn precheck(stream: u64, t: f64) -> Timeline {
    let s = |x: f64| t + x;
    TlBuilder::between(&format!("10.0.0.5:{}", 50000 + stream), "10.0.0.9:3389")
        .syn(1, s(0.0))
        .syn_ack(2, s(0.0005))
        .ack(3, s(0.001))
        .cr(4, s(0.002), SSL | HYBRID)
        .cc(5, s(0.004), HYBRID)
        .tls12(6, s(0.01), good_cert("rdp01"))
        .leg(10, s(0.02), Negotiate)
        .leg(11, s(0.021), Challenge)
        .leg(12, s(0.03), Authenticate)
        .leg(13, s(0.1), ServerPubKeyAuth)
        .fin_c(14, s(0.102))
        .stream(stream)
        .build()
}

fn full(stream: u64, t: f64) -> Timeline {
    let s = |x: f64| t + x;
    TlBuilder::between(&format!("10.0.0.5:{}", 50000 + stream), "10.0.0.9:3389")
        .syn(1, s(0.0))
        .syn_ack(2, s(0.0005))
        .ack(3, s(0.001))
        .cr(4, s(0.002), SSL | HYBRID)
        .cc(5, s(0.004), HYBRID)
        .tls12(6, s(0.01), good_cert("rdp01"))
        .leg(10, s(0.02), Negotiate)
        .leg(11, s(0.021), Challenge)
        .leg(12, s(0.03), Authenticate)
        .leg(13, s(0.1), ServerPubKeyAuth)
        .leg(14, s(0.11), Credentials)
        .app(15, s(0.2), ToServer, 400)
        .app(16, s(0.21), ToClient, 300)
        .app_summary(90, s(100.0), ToClient, 4000, 8_000_000)
        .fin_c(100, s(110.0))
        .stream(stream)
        .build()
}

#[test]
fn precheck_followed_by_the_real_connection() {
    let tls = [precheck(0, 0.0), full(1, 0.4)];
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    assert_eq!(ds[0].benign, Some(Benign::CredentialPrecheck));
    assert_eq!(ds[1].benign, Some(Benign::SessionEnd), "{:#?}", ds[1]);
    let items: Vec<_> = tls.iter().zip(ds.iter()).collect();
    let at = group_attempts(&items);
    assert_eq!(at.len(), 1);
    assert!(at[0].relabels.is_empty());
    assert_eq!(at[0].failed, 0);
    assert!(at[0].established);
    assert!(
        at[0]
            .summary
            .contains("credential pre-check, then session (ended normally)"),
        "{}",
        at[0].summary
    );
}

#[test]
fn precheck_and_the_real_connection_34_s_later_are_one_attempt() {
    // Win7 mstsc in the corpus: the real connection comes 34 s after the
    // pre-check (the user answered a prompt).
    let mut late = full(1, 37.7);
    late.capture_end = at(200.0);
    let mut pre = precheck(0, 0.0);
    pre.capture_end = at(200.0);
    let tls = [pre, late];
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    let items: Vec<_> = tls.iter().zip(ds.iter()).collect();
    let at = group_attempts(&items);
    assert_eq!(at.len(), 1, "{at:#?}");
    assert!(at[0].relabels.is_empty());
    assert_eq!(at[0].failed, 0);
    assert_eq!(at[0].benign, 1);
}

#[test]
fn pubkeyauth_rejection_followed_by_success_is_relabelled_precheck() {
    let mut tls = [precheck(0, 0.0), full(1, 0.4)];
    // The first connection ended with a RST: diagnosed as a rejection.
    tls[0].events.pop();
    tls[0].push(
        14,
        at(0.102),
        ToServer,
        crate::timeline::EventKind::Tcp(TcpEventKind::Rst {
            ttl: 128,
            ip_id: None,
            window: 0,
            seq_in_window: true,
        }),
    );
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    assert_eq!(id(&ds[0]), Some(CauseId::PubKeyAuthRejected));
    let items: Vec<_> = tls.iter().zip(ds.iter()).collect();
    let at = group_attempts(&items);
    assert_eq!(at[0].relabels.len(), 1);
    let r = &at[0].relabels[0];
    assert_eq!(r.stream, 0);
    assert_eq!(r.benign, Some(Benign::CredentialPrecheck));
    let fixed = r.apply(&ds[0]);
    assert_eq!(fixed.outcome, Outcome::Benign);
    assert!(fixed.cause.is_none());
    assert_eq!(at[0].failed, 0);
}

#[test]
fn lone_precheck_with_nothing_after_is_relabelled_failure() {
    let mut tl = precheck(0, 0.0);
    tl.capture_end = at(200.0);
    let d = diagnose(&tl);
    assert_eq!(d.benign, Some(Benign::CredentialPrecheck));
    let at_ = group_attempts(&[(&tl, &d)]);
    assert_eq!(at_[0].relabels.len(), 1);
    assert_eq!(at_[0].relabels[0].outcome, Outcome::Failed);
    assert_eq!(at_[0].failed, 1);
    let fixed = at_[0].relabels[0].apply(&d);
    assert_eq!(fixed.failed_step, Some(Step::CredsspCredentials));
    assert_eq!(fixed.cause.unwrap().id, CauseId::PubKeyAuthRejected);
    assert!(at_[0]
        .summary
        .contains("failed at CredSSP credentials (pubkeyauth_rejected)"));
    // If the capture ended right after, nothing can be said: no relabel.
    let tl2 = precheck(0, 0.0);
    let d2 = diagnose(&tl2);
    assert!(group_attempts(&[(&tl2, &d2)])[0].relabels.is_empty());
}

#[test]
fn mixed_attempt_summary() {
    let a = TlBuilder::between("10.0.0.5:50001", "10.0.0.9:3389")
        .handshake()
        .cr(4, 0.002, SSL)
        .neg_failure(5, 0.003, 5)
        .stream(0)
        .build();
    let b = full(1, 0.5);
    let tls = [a, b];
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    let items: Vec<_> = tls.iter().zip(ds.iter()).collect();
    let at = group_attempts(&items);
    assert_eq!(at.len(), 1);
    assert!(!at[0].all_failed_same_step);
    assert_eq!(at[0].failed, 1);
    assert!(at[0]
        .summary
        .starts_with("2 connections from 10.0.0.5 to 10.0.0.9:3389 within"));
    assert!(at[0].summary.contains(
        "failed at X.224 Connection Confirm (nla_required), then session (ended normally)"
    ));
}

// ------------------------------------------------------ properties ----

mod props {
    use super::*;
    use crate::flow::Gap;
    use crate::proto::credssp::{CredsspEvent, CredsspLeg};
    use crate::proto::mcs::Licensing;
    use crate::proto::x224::{ConnectionConfirm, NegFailureCode, Protocols, X224Event};
    use crate::proto::Certainty;
    use crate::timeline::EventKind;
    use proptest::prelude::*;

    /// Any event the earlier stages can emit, from a small index and a
    /// parameter.
    fn kind(i: u8, p: u16) -> EventKind {
        let legs = [
            CredsspLeg::Negotiate,
            CredsspLeg::Challenge,
            CredsspLeg::Authenticate,
            CredsspLeg::ServerPubKeyAuth,
            CredsspLeg::Credentials,
            CredsspLeg::EarlyUserAuthResult,
            CredsspLeg::ServerError,
        ];
        let tcp = |k| EventKind::Tcp(k);
        let pr = |e| EventKind::Proto(e);
        match i % 30 {
            0 => tcp(TcpEventKind::Syn {
                retransmission: p % 2 == 0,
            }),
            1 => tcp(TcpEventKind::SynAck {
                retransmission: p % 2 == 0,
            }),
            2 => tcp(TcpEventKind::HandshakeAck),
            3 => tcp(TcpEventKind::Fin),
            4 => tcp(TcpEventKind::Rst {
                ttl: (p % 256) as u8,
                ip_id: Some(p),
                window: 0,
                seq_in_window: true,
            }),
            5 => tcp(TcpEventKind::Retransmission {
                offset: u64::from(p % 4) * 1000,
                len: u32::from(p),
            }),
            6 => tcp(TcpEventKind::KeepAlive),
            7 => tcp(TcpEventKind::ZeroWindow),
            8 => tcp(TcpEventKind::WindowUpdate { window: 100 }),
            9 => tcp(TcpEventKind::Gap(Gap {
                offset: u64::from(p),
                len: u64::from(p % 3000),
                kind: [
                    GapKind::CaptureLoss,
                    GapKind::NetworkLoss,
                    GapKind::Snaplen,
                    GapKind::Unknown,
                ][usize::from(p % 4)],
                frame: 1,
                ts: at(0.0),
            })),
            10 => tcp(TcpEventKind::MidStream),
            11 => tcp(TcpEventKind::DupAck { count: 3 }),
            12 => tcp(TcpEventKind::OutOfOrder {
                offset: 0,
                len: u32::from(p),
            }),
            13 => pr(ProtoEvent::X224(X224Event::ConnectionRequest(
                crate::proto::x224::ConnectionRequest {
                    cookie: None,
                    routing_token: None,
                    neg_req: Some(crate::proto::x224::NegReq {
                        flags: 0,
                        requested: Protocols(u32::from(p % 16)),
                    }),
                    correlation_id: None,
                },
            ))),
            14 => pr(ProtoEvent::X224(X224Event::ConnectionConfirm(
                ConnectionConfirm::Selected {
                    flags: 0,
                    selected: Protocols([0, 1, 2, 8][usize::from(p % 4)]),
                },
            ))),
            15 => pr(ProtoEvent::X224(X224Event::ConnectionConfirm(
                ConnectionConfirm::Failure {
                    code: NegFailureCode(u32::from(p % 8)),
                },
            ))),
            16 => pr(ProtoEvent::Tls(TlsEvent::ClientHello(modern_hello(None)))),
            17 => pr(ProtoEvent::Tls(TlsEvent::ServerHello(
                crate::proto::tls::ServerHello {
                    legacy_version: crate::proto::tls::TlsVersion(0x0303),
                    version: crate::proto::tls::TlsVersion(0x0303 + p % 2),
                    cipher_suite: 0xc030,
                },
            ))),
            18 => pr(ProtoEvent::Tls(TlsEvent::Certificate(vec![cert(
                "x",
                i64::from(p % 50) - 25,
                i64::from(p % 70) - 10,
                p % 2 == 0,
            )]))),
            19 => pr(ProtoEvent::Tls(TlsEvent::ServerHelloDone)),
            20 => pr(ProtoEvent::Tls(TlsEvent::ChangeCipherSpec)),
            21 => pr(ProtoEvent::Tls(TlsEvent::EncryptedAlert { len: 26 })),
            22 => pr(ProtoEvent::Tls(TlsEvent::Alert {
                level: 2,
                description: (p % 120) as u8,
            })),
            23 => pr(ProtoEvent::Credssp(CredsspEvent::Leg {
                leg: legs[usize::from(p % 7)],
                record_len: 100,
                certainty: Certainty::Medium,
            })),
            24 => pr(ProtoEvent::Tls(TlsEvent::ApplicationData {
                len: u32::from(p),
            })),
            25 => pr(ProtoEvent::Tls(TlsEvent::ApplicationDataSummary {
                records: u64::from(p % 64),
                bytes: u64::from(p) * 10,
            })),
            26 => pr(ProtoEvent::FastPath {
                len: 10,
                encrypted: true,
            }),
            27 => pr(ProtoEvent::NotRdp { why: "x".into() }),
            28 => pr(ProtoEvent::Mcs(McsEvent::SetErrorInfo {
                code: u32::from(p % 300),
            })),
            _ => pr(ProtoEvent::Mcs(McsEvent::Licensing(Licensing {
                msg_type: 0xff,
                error_code: Some(u32::from(p % 12)),
                state_transition: None,
            }))),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn any_event_sequence_gets_a_consistent_verdict(
            evs in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<bool>(), 0u32..5000), 0..40),
            idle in proptest::option::of((0u32..1000, 1u64..40)),
            end in 0u32..100_000,
        ) {
            let mut b = TlBuilder::new();
            let mut t = 0.0;
            for (frame, (i, p, dir, dt)) in evs.iter().enumerate() {
                t += f64::from(*dt) / 1000.0;
                let d = if *dir { ToServer } else { ToClient };
                b = b.push(frame as u64 + 1, t, d, kind(*i, *p));
            }
            if let Some((secs, frame)) = idle {
                b = b.max_idle(f64::from(secs), frame);
            }
            let tl = b.end(t + f64::from(end) / 1000.0).build();
            let d = diagnose(&tl);
            prop_assert_eq!(&d, &diagnose(&tl));
            prop_assert!(d.evidence.windows(2).all(|w| w[0].frame <= w[1].frame));
            // Every failure has a cause with its remediation; only a
            // failure has a failed step.
            if d.outcome == Outcome::Failed {
                let c = d.cause.as_ref();
                prop_assert!(c.is_some(), "{:#?}", d);
                prop_assert!(c.is_some_and(|c| c.remediation == remediation(c.id)));
            } else {
                prop_assert!(d.failed_step.is_none(), "{:#?}", d);
            }
            if d.outcome == Outcome::Benign {
                prop_assert!(d.benign.is_some());
            }
            let items = [(&tl, &d), (&tl, &d)];
            let at = group_attempts(&items);
            prop_assert!(!at.is_empty());
        }
    }
}
