//! Property tests over arbitrary timelines.

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
pub(in crate::diagnose) fn kind(i: u8, p: u16) -> EventKind {
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
        16 => pr(ProtoEvent::Tls(TlsEvent::ClientHello(Box::new(
            modern_hello(None),
        )))),
        17 => pr(ProtoEvent::Tls(TlsEvent::ServerHello(
            crate::proto::tls::ServerHello {
                legacy_version: crate::proto::tls::TlsVersion(0x0303),
                version: crate::proto::tls::TlsVersion(0x0303 + p % 2),
                cipher_suite: 0xc030,
                alpn: None,
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

/// A timeline builder holding `evs` (an event of [`kind`], its direction
/// and the milliseconds since the one before), and the last event's time.
fn timed(evs: &[(u8, u16, bool, u32)]) -> (TlBuilder, f64) {
    let mut b = TlBuilder::new();
    let mut t = 0.0;
    for (frame, (i, p, dir, dt)) in evs.iter().enumerate() {
        t += f64::from(*dt) / 1000.0;
        let d = if *dir { ToServer } else { ToClient };
        b = b.push(frame as u64 + 1, t, d, kind(*i, *p));
    }
    (b, t)
}

/// The timeline of `evs` (an event of `kind_of`, its direction), one
/// every 10 ms.
pub(in crate::diagnose) fn timeline_of(
    evs: &[(u8, u16, bool)],
    kind_of: fn(u8, u16) -> EventKind,
) -> crate::timeline::Timeline {
    let mut b = TlBuilder::new();
    for (frame, (i, p, dir)) in evs.iter().enumerate() {
        let d = if *dir { ToServer } else { ToClient };
        b = b.push(frame as u64 + 1, frame as f64 * 0.01, d, kind_of(*i, *p));
    }
    b.build()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn any_event_sequence_gets_a_consistent_verdict(
        evs in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<bool>(), 0u32..5000), 0..40),
        idle in proptest::option::of((0u32..1000, 1u64..40)),
        end in 0u32..100_000,
    ) {
        let (mut b, t) = timed(&evs);
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// The marks a diagnosis keeps (in place up to `INLINE_MARKS`) are
    /// the ladder's own, and tell the steps reached as the ladder's
    /// vector, kept whole, tells them.
    #[test]
    fn kept_marks_are_the_ladders(
        evs in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<bool>(), 0u32..5000), 0..40),
        end in 0u32..100_000,
    ) {
        use crate::diagnose::ladder::{Ladder, LadderMarks, Marks};
        let (b, t) = timed(&evs);
        let tl = b.end(t + f64::from(end) / 1000.0).build();
        let lad = Ladder::build(&tl);
        let (path, seen) = (lad.path.clone(), lad.seen.clone());
        let kept = lad.into_marks();
        prop_assert_eq!(kept.seen.as_slice(), seen.as_slice());
        prop_assert_eq!(&kept.path, &path);
        let whole = LadderMarks { path, seen: Marks::Heap(seen) };
        prop_assert_eq!(&kept, &whole);
        let mut lasts: Vec<Option<Step>> = vec![None];
        lasts.extend(crate::diagnose::STEPS.iter().map(|s| Some(s.step)));
        for last in lasts {
            prop_assert_eq!(
                kept.reached(last).collect::<Vec<_>>(),
                whole.reached(last).collect::<Vec<_>>()
            );
        }
    }
}
