//! RDP set-up and the session: licensing, Set Error Info, session ends, middlebox resets, idle timeouts, zero windows, lost paths (`rdp.rs`, `path.rs`).

use super::*;

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
    assert_ev!(d, 14, Clue::Rdp(RdpClue::LicenseError { code: 0x06, .. }));
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
    assert_ev!(d, 14, Clue::Rdp(RdpClue::SetErrorInfo { code: 0x7 }));
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
    assert_ev!(
        d,
        100,
        Clue::Tcp(TcpClue::ForgedRst {
            dir: ToClient,
            ttl: 61,
            ..
        })
    );
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
    assert_ev!(
        d,
        100,
        Clue::End {
            note: EndNote::AfterSilence { idle, .. },
            ..
        } if about(idle, 900_000.0)
    );
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
    assert_ev!(
        d,
        171,
        Clue::Silence(SilenceClue::FirstPacketAfter { idle, .. }) if about(idle, 33_350.0)
    );
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
    assert_ev!(
        d,
        100,
        Clue::Tcp(TcpClue::ZeroWindow {
            dir: ToClient,
            held,
            until_end: true,
        }) if about(held, 15_000.0)
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
fn unanswered_keep_alives_count_from_the_peers_last_sign_of_life() {
    // A keep-alive the server acknowledged, then two it did not: the run of
    // unanswered ones starts after the server's last sign of life (RFC 9293
    // 3.8.4: a keep-alive is answered by an ACK), and the answered one is not
    // part of it.
    let d = diagnose(
        &session()
            .tcp(190, 126.5, ToServer, TcpEventKind::KeepAlive)
            .tcp(191, 126.6, ToClient, TcpEventKind::KeepAliveAck)
            .tcp(192, 128.5, ToServer, TcpEventKind::KeepAlive)
            .tcp(193, 130.5, ToServer, TcpEventKind::KeepAlive)
            .rst_c(194, 132.5)
            .build(),
    );
    assert_broke(&d, CauseId::PathLost, Confidence::Medium);
    assert_ev!(
        d,
        192,
        Clue::Tcp(TcpClue::KeepAliveUnanswered { dir: ToServer })
    );
    assert_ev!(
        d,
        193,
        Clue::Tcp(TcpClue::LastKeepAlive {
            count: 2,
            dir: ToServer,
            after_first,
            silent: Party::Server,
        }) if about(after_first, 2000.0)
    );
    assert!(!d.evidence.iter().any(|e| e.frame == 190));
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
    assert_ev!(d, 4, Clue::NotRdp(NotRdpClue::Data { why, .. }) if why.contains("HTTP request"));
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
    assert_ev!(
        d,
        5,
        Clue::NotRdp(NotRdpClue::Answer {
            request_frame: 4,
            ..
        })
    );
}
