//! When a verdict cannot be trusted: capture loss, mid-stream starts, one direction, snap length, stopped decoding (`caveats.rs`).

use super::*;

#[test]
fn capture_loss_in_the_failing_step_withdraws_a_position_and_lowers_the_rest() {
    let base = || negotiated(SSL | HYBRID, HYBRID).client_hello(6, 0.010);
    let clean = diagnose(&base().rst_s(8, 0.0104).build());
    assert_eq!(conf(&clean), Some(Confidence::High));
    let lossy = diagnose(
        &base()
            .gap(7, 0.0102, ToClient, GapKind::CaptureLoss, 19, 1200)
            .rst_s(8, 0.0104)
            .build(),
    );
    // The lost 1,200 bytes from the server may be its ServerHello: where
    // the connection stopped is not known, so nothing is claimed from it.
    assert_eq!(lossy.outcome, Outcome::Incomplete, "{lossy:#?}");
    assert_eq!(id(&lossy), None);
    assert!(lossy
        .caveats
        .iter()
        .any(|c| c.contains("capture loss in the failing step")));
    assert_ev!(
        lossy,
        7,
        Clue::Capture(CaptureClue::Loss {
            dir: ToClient,
            len: 1200,
            ..
        })
    );
    // An explicit refusal still stands, one step less sure.
    let alert = diagnose(
        &base()
            .gap(7, 0.0102, ToClient, GapKind::CaptureLoss, 19, 1200)
            .alert(8, 0.0104, ToClient, 40)
            .build(),
    );
    assert_eq!(alert.outcome, Outcome::Failed);
    assert_eq!(conf(&alert), Some(Confidence::Medium));
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
    let stopped = |f: u64| ProtoEvent::Stopped {
        why: crate::proto::StopReason::BytesMissing { at: f * 100 },
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
