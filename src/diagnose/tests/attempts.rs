//! Retries grouped into attempts, pre-checks and probes (`attempts.rs`).

use super::*;

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

#[test]
fn security_enumeration_is_one_probe_and_a_fallback_is_not() {
    // Back-to-back connections from one client, each offering other
    // protocols and refused: the timings and offers of no lab capture.
    let probe = |stream: u64, t: f64, requested: u32| {
        let port = 40000 + stream as u16;
        TlBuilder::between(&format!("10.0.0.5:{port}"), "10.0.0.9:3389")
            .syn(1, t)
            .syn_ack(2, t + 0.01)
            .ack(3, t + 0.011)
            .cr(4, t + 0.02, requested)
            .neg_failure(5, t + 0.03, 5)
            .fin_c(6, t + 0.04)
            .stream(stream)
            .build()
    };
    let tls = [
        probe(0, 0.0, RDP),
        probe(1, 1.5, SSL),
        probe(2, 3.0, HYBRID_EX),
    ];
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    let items: Vec<(&Timeline, &Diagnosis)> = tls.iter().zip(&ds).collect();
    let at = group_attempts(&items);
    assert_eq!(at.len(), 1);
    assert_eq!(at[0].relabels.len(), 3, "{:#?}", at[0]);
    assert!(at[0]
        .relabels
        .iter()
        .all(|r| r.benign == Some(Benign::Probe) && r.outcome == Outcome::Benign));
    // FreeRDP's one fallback (two offers) is the user's failure, twice.
    let two = [probe(0, 0.0, SSL | HYBRID), probe(1, 0.5, SSL)];
    let ds: Vec<Diagnosis> = two.iter().map(diagnose).collect();
    let items: Vec<(&Timeline, &Diagnosis)> = two.iter().zip(&ds).collect();
    let at = group_attempts(&items);
    assert!(at[0].relabels.is_empty(), "{:#?}", at[0]);
    // Three offers, but minutes apart: a person trying settings, not a probe.
    let slow = [
        probe(0, 0.0, RDP),
        probe(1, 20.0, SSL),
        probe(2, 40.0, HYBRID_EX),
    ];
    let ds: Vec<Diagnosis> = slow.iter().map(diagnose).collect();
    let items: Vec<(&Timeline, &Diagnosis)> = slow.iter().zip(&ds).collect();
    let at = group_attempts(&items);
    assert!(at.iter().all(|a| a.relabels.is_empty()), "{at:#?}");
}

/// A client retrying without end (a monitor, a loop: 100 refused
/// connections 0.5 s apart, closer than any retry window) is told as
/// consecutive attempts of at most `MAX_ATTEMPT` connections, above the
/// 20 retries mstsc and FreeRDP make at most; nothing is lost.
#[test]
fn an_endless_retry_loop_is_split_at_the_bound() {
    let tls: Vec<Timeline> = (0..100u64)
        .map(|i| {
            let t = i as f64 * 0.5;
            TlBuilder::between(&format!("10.0.0.5:{}", 40000 + i), "10.0.0.9:3389")
                .syn(i * 10 + 1, t)
                .rst_s(i * 10 + 2, t + 0.0003)
                .stream(i)
                .build()
        })
        .collect();
    let ds: Vec<Diagnosis> = tls.iter().map(diagnose).collect();
    let items: Vec<(&Timeline, &Diagnosis)> = tls.iter().zip(ds.iter()).collect();
    let at = group_attempts(&items);
    let sizes: Vec<usize> = at.iter().map(|a| a.streams.len()).collect();
    assert_eq!(
        sizes,
        [
            crate::diagnose::attempts::MAX_ATTEMPT,
            100 - crate::diagnose::attempts::MAX_ATTEMPT
        ]
    );
    const { assert!(crate::diagnose::attempts::MAX_ATTEMPT > 20) };
    let all: Vec<u64> = at.iter().flat_map(|a| a.streams.clone()).collect();
    assert_eq!(all, (0..100).collect::<Vec<u64>>());
}

/// A client retrying 1,000 times a second for 10 s (closer than every
/// window): the grouper schedules about one check per open attempt, not
/// two per connection, and hands every connection back once, in order.
#[test]
fn checks_scheduled_follow_the_open_attempts_not_the_connections() {
    use crate::common::Timestamp;
    use crate::diagnose::attempts::{Grouper, Member, MAX_ATTEMPT};
    let n = 10_000u64;
    let mut g: Grouper<u64> = Grouper::new();
    let mut out = Vec::new();
    let mut emit = |s: u64, _: Option<Relabel>, _: u64| out.push(s);
    for i in 0..n {
        let t = Timestamp::from_nanos(i as i64 * 1_000_000);
        let m = Member {
            stream: i,
            client: "10.0.0.5".parse().unwrap(),
            server: "10.0.0.9:3389".parse().unwrap(),
            first_ts: t,
            last_ts: t,
            capture_end: t,
            outcome: Outcome::Failed,
            benign: None,
            cause: Some(CauseId::PortClosed),
            failed_step: Some(Step::SynAck),
            last_step: None,
            offer: None,
        };
        g.push(m, i, &mut emit);
    }
    let peak = g.scheduled_peak();
    let at = g.finish(&mut emit);
    assert_eq!(at.len() as u64, n.div_ceil(MAX_ATTEMPT as u64));
    assert_eq!(out, (0..n).collect::<Vec<u64>>());
    // 157 attempts over 10 s, each open 64 ms, its check at most 2 s
    // ahead: a few dozen checks at once (two per connection, 20,000,
    // before).
    assert!(peak <= 64, "{peak} checks scheduled at once");
}
