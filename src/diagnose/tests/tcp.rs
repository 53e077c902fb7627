//! The TCP handshake: refused, filtered, ICMP, scanners, health checks (`tcp.rs`).

use super::*;

#[test]
fn port_closed_rst_answers_the_syn() {
    let d = diagnose(&TlBuilder::new().syn(1, 0.0).rst_s(2, 0.0003).build());
    assert_failed(&d, CauseId::PortClosed, Confidence::High);
    assert_eq!(d.ending, Ending::Refused);
    assert_eq!(d.ending_frame, Some(2));
    assert_eq!(d.last_step, Some(Step::Syn));
    assert_eq!(d.failed_step, Some(Step::SynAck));
    assert_eq!(d.phase, Phase::Tcp);
    assert_ev!(
        d,
        2,
        Clue::End {
            term: Term {
                dir: ToClient,
                kind: TermKind::Rst { ttl: 64, .. },
                ..
            },
            since: Some(Since {
                step: Step::Syn,
                frame: 1,
                elapsed,
            }),
            note: EndNote::None,
        } if about(elapsed, 0.3)
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
    assert_ev!(d, 8, Clue::Tcp(TcpClue::SynUnanswered { frames, .. }) if frames.len() == 8);
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
    assert_ev!(
        d,
        2,
        Clue::End {
            term: Term {
                dir: ToServer,
                kind: TermKind::Icmp(i),
                ..
            },
            since: Some(Since {
                step: Step::Syn,
                frame: 1,
                elapsed,
            }),
            ..
        } if i.icmp_type == 3 && i.code == 13 && about(elapsed, 2.0)
    );
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
    assert_ev!(
        d,
        3,
        Clue::End {
            note: EndNote::HalfOpenScan,
            ..
        }
    );
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
