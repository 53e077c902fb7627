//! Path-level signatures, whatever the step: a reset forged by a
//! middlebox (TTL), an idle timeout, a zero-window stall, a path-MTU black
//! hole, retransmissions nobody answers.

use super::evidence::{EndNote, SilenceClue, Since, StepNote, TcpClue};
use super::facts::{dur, ev, party, Facts, Rtx, Term, TermKind};
use super::ladder::{Ladder, Mark};
use super::rules::{
    end_ev, ending_of, forged, mark_ev, term_ev, Verdict, IDLE, IDLE_DEFAULT_MIN, STALL,
    ZERO_WINDOW,
};
use super::{CauseId, Confidence, Ending, Grounds, Party, Step};
use crate::common::{Dir, Timestamp};
use crate::flow::GapKind;

/// Repeated retransmissions in one direction at the end of the capture
/// with nothing from the other side after them.
pub(super) fn path_lost(f: &Facts, since: Option<&Mark>) -> Option<Verdict> {
    let from = since.map(|m| m.frame).unwrap_or(0);
    for dir in [Dir::ToServer, Dir::ToClient] {
        let r: Vec<&Rtx> = f
            .rtx
            .iter()
            .filter(|r| r.dir == dir && r.frame >= from)
            .collect();
        let (Some(&first), Some(&last)) = (r.first(), r.last()) else {
            continue;
        };
        if r.len() < 2 {
            continue;
        }
        let answered = f.last_event[dir.reverse().index()].is_some_and(|fr| fr > first.frame);
        if answered {
            continue;
        }
        let other = party(dir.reverse()).name();
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: last.ts.since(first.ts),
                retransmissions: r.len() as u32,
            },
            Some(last.frame),
            CauseId::PathLost,
            if r.len() >= 3 {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            format!(
                "The {} stopped acknowledging: {} retransmissions from the {} over {} got no \
                 answer (host down or path broken).",
                other,
                r.len(),
                dir.sender(),
                last.ts.since(first.ts)
            ),
        );
        v.grounds = Grounds::Silence;
        v.evidence.push(ev(
            first.frame,
            TcpClue::FirstRetransmission {
                dir,
                len: first.len,
                offset: first.offset,
            },
        ));
        v.evidence.push(ev(
            last.frame,
            TcpClue::LastRetransmission {
                count: r.len(),
                after_first: last.ts.since(first.ts),
                silent: party(dir.reverse()),
            },
        ));
        return Some(v);
    }
    None
}

/// Keep-alives from one side that the other never answered, right before
/// that side gave up: the peer or the path went away (a firewall dropping
/// the flow, a link down). Two or more in a row are needed: one lost
/// keep-alive is retried by the kernel.
pub(super) fn unanswered_keepalives(f: &Facts, term: Option<&Term>) -> Option<Verdict> {
    let until = term.map_or(u64::MAX, |t| t.frame);
    for dir in [Dir::ToServer, Dir::ToClient] {
        // Any sign of life from the peer answers the keep-alives before it.
        let answered_until = f
            .signs_of_life
            .iter()
            .filter(|(fr, d)| *d == dir.reverse() && *fr <= until)
            .map(|(fr, _)| *fr)
            .max();
        let run: Vec<(u64, Timestamp)> = f
            .keepalives
            .iter()
            .filter(|(fr, _, d)| {
                *d == dir && *fr <= until && answered_until.map_or(true, |a| *fr > a)
            })
            .map(|(fr, ts, _)| (*fr, *ts))
            .collect();
        if run.len() < 2 {
            continue;
        }
        // The side that sent them also ended the connection (or nothing did).
        if term.is_some_and(|t| t.dir != dir) {
            continue;
        }
        let (first, last) = (run[0], run[run.len() - 1]);
        let peer = party(dir.reverse()).name();
        let (ending, ef) = match term {
            Some(t) => (ending_of(t), Some(t.frame)),
            None => (
                Ending::Timeout {
                    waited: last.1.since(first.1),
                    retransmissions: run.len() as u32,
                },
                Some(last.0),
            ),
        };
        let mut v = Verdict::failed(
            ending,
            ef,
            CauseId::PathLost,
            if run.len() >= 3 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            format!(
                "The {peer} stopped answering: {} TCP keep-alives from the {} over {} got no \
                 reply (the path broke, or a firewall or NAT on it dropped the connection's state).",
                run.len(),
                dir.sender(),
                last.1.since(first.1)
            ),
        );
        v.grounds = Grounds::Silence;
        v.evidence
            .push(ev(first.0, TcpClue::KeepAliveUnanswered { dir }));
        v.evidence.push(ev(
            last.0,
            TcpClue::LastKeepAlive {
                count: run.len(),
                dir,
                after_first: last.1.since(first.1),
                silent: party(dir.reverse()),
            },
        ));
        if let Some(t) = term {
            v.evidence.push(term_ev(t, None));
        }
        return Some(v);
    }
    None
}

pub(super) fn middlebox_reset(f: &Facts, lad: &Ladder, t: &Term, usual: u8, n: u64) -> Verdict {
    let TermKind::Rst { ttl, ip_id, .. } = t.kind else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let at = match lad.next {
        Some(s) if s.phase() == super::Phase::Tls => {
            "during the TLS handshake: an IPS or TLS-inspecting firewall"
        }
        Some(Step::ConnectionConfirm) => {
            "right after the RDP request: a firewall or IPS inspecting RDP"
        }
        None => "during the session: a firewall, IPS or load balancer",
        _ => "a firewall, IPS or load balancer",
    };
    let sender = t.dir.sender();
    let mut v = Verdict::failed(
        Ending::ResetBy(Party::Middlebox),
        Some(t.frame),
        CauseId::MiddleboxReset,
        if n >= 5 {
            Confidence::High
        } else {
            Confidence::Medium
        },
        format!(
            "A device on the path forged the reset, not the {sender}: its TTL {ttl} differs from \
             the {sender}'s usual {usual}; {at}."
        ),
    );
    let ip_ids = match (ip_id, f.conn.dir(t.dir).last_ip_id) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    v.evidence.push(ev(
        t.frame,
        TcpClue::ForgedRst {
            dir: t.dir,
            ttl,
            usual,
            others: n,
            ip_ids,
            since: lad.last.map(|m| Since::mark(t.ts, &m)),
        },
    ));
    if let Some(m) = lad.last {
        v.evidence.push(mark_ev(&m, StepNote::LastCompleted));
    }
    v
}

/// How sure a silence of `idle` makes an idle timeout (see
/// [`IDLE_DEFAULT_MIN`]).
fn usual_idle(idle: crate::common::Duration) -> Confidence {
    if idle >= IDLE_DEFAULT_MIN {
        Confidence::Medium
    } else {
        Confidence::Low
    }
}

pub(super) fn idle_timeout(f: &Facts, term: Option<&Term>) -> Option<Verdict> {
    let (idle, idle_frame) = f.conn.max_idle?;
    if idle < IDLE {
        return None;
    }
    let resumed = f.conn.idle_resumed?;
    let start = Timestamp(resumed.0.saturating_sub(idle.0));
    let ka: Vec<_> = f
        .keepalives
        .iter()
        .filter(|(fr, _, _)| *fr >= idle_frame)
        .collect();
    let rtx_after: Vec<&Rtx> = f.rtx.iter().filter(|r| r.frame >= idle_frame).collect();
    // What ended the silence: a reset (within a few seconds), or
    // retransmissions nobody answered.
    let rst = term.filter(|t| t.is_rst() && t.frame >= idle_frame && t.ts.since(resumed) <= STALL);
    let mut v = if let Some(t) = rst {
        let forged_by = forged(t);
        let (conf, who) = match forged_by {
            Some(_) => (Confidence::High, "a stateful firewall or load balancer on the path (the RST's TTL is not the sender's)"),
            None => (usual_idle(idle), "a stateful device on the path, or the peer, after"),
        };
        let mut v = Verdict::failed(
            ending_of(t),
            Some(t.frame),
            CauseId::IdleTimeout,
            conf,
            format!(
                "The connection was silent for {idle}, then reset: {who} timed the idle \
                 connection out."
            ),
        );
        v.evidence.push(end_ev(
            t,
            None,
            EndNote::AfterSilence {
                idle,
                usual_ttl: forged_by.map(|(u, _)| u),
            },
        ));
        // A forged reset names the device; a plain one leaves the silence.
        if forged_by.is_none() {
            v.grounds = Grounds::Silence;
        }
        v
    } else if rtx_after.len() >= 2
        && f.conn
            .dir(rtx_after[0].dir.reverse())
            .last_payload
            .map_or(true, |(_, t)| t < resumed)
    {
        // Nothing came back with data once the silence ended: the state
        // was lost during it (a later break would follow answered traffic).
        let last = rtx_after[rtx_after.len() - 1];
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: last.ts.since(resumed),
                retransmissions: rtx_after.len() as u32,
            },
            Some(last.frame),
            CauseId::IdleTimeout,
            usual_idle(idle),
            format!(
                "The connection was silent for {idle}; the next data was retransmitted {} times \
                 without answer: a stateful device dropped the idle connection (or the path \
                 broke).",
                rtx_after.len()
            ),
        );
        v.evidence.push(ev(
            last.frame,
            SilenceClue::RetransmissionsAfter {
                count: rtx_after.len(),
                dir: last.dir,
            },
        ));
        v.grounds = Grounds::Silence;
        v
    } else {
        return None;
    };
    v.evidence.push(ev(
        idle_frame,
        SilenceClue::FirstPacketAfter { idle, start },
    ));
    if let Some(k) = ka.first() {
        v.evidence
            .push(ev(k.0, SilenceClue::KeepAlivesAfter { count: ka.len() }));
    }
    Some(v)
}

pub(super) fn zero_window(f: &Facts, stop: Option<&Mark>, term: Option<&Term>) -> Option<Verdict> {
    let from = stop.map(|m| m.frame).unwrap_or(0);
    // How long the window stayed shut: until it opened, the connection
    // ended, or the capture did. A window that shuts as the connection
    // closes is no stall.
    let until = |s: Timestamp, e: Option<Timestamp>| {
        let mut u = e.unwrap_or(f.conn.capture_end);
        if let Some(t) = term.filter(|t| t.ts >= s) {
            u = u.min(t.ts);
        }
        u.since(s)
    };
    let (dir, frame, start, end) = f
        .zero_windows
        .iter()
        .find(|(_, fr, s, e)| until(*s, *e) >= ZERO_WINDOW && (e.is_none() || *fr >= from))?;
    let held = until(*start, *end);
    let who = dir.sender();
    let (ending, ef) = match term {
        Some(t) => (ending_of(t), Some(t.frame)),
        None => (
            Ending::Timeout {
                waited: held,
                retransmissions: 0,
            },
            None,
        ),
    };
    let mut v = Verdict::failed(
        ending,
        ef,
        CauseId::ZeroWindowStall,
        if end.is_none() {
            Confidence::High
        } else {
            Confidence::Medium
        },
        format!(
            "The {who} stopped reading: its receive window stayed at zero for {held}{}.",
            if *dir == Dir::ToClient {
                " (the session host is hung or overloaded)"
            } else {
                ""
            }
        ),
    );
    v.grounds = Grounds::Silence;
    v.evidence.push(ev(
        *frame,
        TcpClue::ZeroWindow {
            dir: *dir,
            held,
            until_end: end.is_none(),
        },
    ));
    let probes = f
        .zero_window_probes
        .iter()
        .filter(|(fr, d)| *fr >= *frame && *d == dir.reverse())
        .count();
    if probes > 0 {
        v.evidence.push(ev(
            *frame,
            TcpClue::ZeroWindowProbes {
                count: probes,
                dir: dir.reverse(),
            },
        ));
    }
    if let Some(t) = term {
        v.evidence.push(term_ev(t, None));
    }
    Some(v)
}

/// Large segments that never get through while small packets pass, during
/// set-up: a path-MTU black hole. Three shapes: the sender's capture shows
/// the same large segment retransmitted (a single tail-loss probe is not
/// loss); the receiver's capture shows a hole the size of a large segment
/// in the sender's stream (its later small segments, or its sequence
/// numbers, went past bytes that never arrived); an ICMP "fragmentation
/// needed" / "packet too big" names the MTU.
pub(super) fn mtu_black_hole(lad: &Ladder, f: &Facts, term: Option<&Term>) -> Option<Verdict> {
    // A loss is a retransmission or a hole: a connection with neither
    // (nearly every one) is not looked at from both sides.
    if f.rtx.is_empty() && f.gaps.is_empty() {
        return None;
    }
    let frag_needed = frag_needed(f);
    [Dir::ToClient, Dir::ToServer]
        .into_iter()
        .find_map(|dir| large_segment_loss(lad, f, dir, frag_needed))
        .map(|loss| black_hole_verdict(lad, f, term, &loss))
}

/// An ICMP "fragmentation needed" (IPv4 3/4) or "packet too big" (ICMPv6
/// 2) quoting the connection.
fn frag_needed(f: &Facts) -> Option<(u64, crate::packet::IcmpError)> {
    f.terms.iter().find_map(|t| match &t.kind {
        TermKind::Icmp(i)
            if (!i.v6 && i.icmp_type == 3 && i.code == 4) || (i.v6 && i.icmp_type == 2) =>
        {
            Some((t.frame, *i))
        }
        _ => None,
    })
}

/// Large segments from one side that never got through.
struct Loss<'a> {
    dir: Dir,
    /// The receiver's last step before the lost data.
    from: u64,
    first_loss: u64,
    /// When the first lost segment was seen.
    first_loss_ts: Timestamp,
    /// Retransmissions of large segments.
    rtx: Vec<&'a Rtx>,
    /// The most retransmissions of one segment.
    same_offset: usize,
    /// Holes of a large segment's size in the receiver's capture.
    holes: Vec<&'a crate::flow::Gap>,
    frag_needed: Option<(u64, crate::packet::IcmpError)>,
}

/// Large segments from `dir` lost while small packets pass, with no step
/// completed after the loss. Three shapes: the sender's capture shows the
/// same large segment retransmitted (a single tail-loss probe is not
/// loss); the receiver's capture shows a hole the size of a large segment;
/// a router's ICMP names the MTU.
fn large_segment_loss<'a>(
    lad: &Ladder,
    f: &'a Facts,
    dir: Dir,
    frag_needed: Option<(u64, crate::packet::IcmpError)>,
) -> Option<Loss<'a>> {
    let rx = f.conn.dir(dir.reverse());
    let tx = f.conn.dir(dir);
    let cap = rx
        .mss
        .map(u32::from)
        .filter(|m| *m > 0)
        .unwrap_or(tx.max_segment);
    // Larger than what every path carries (576-byte IPv4 minimum MTU, RFC
    // 791; 536-byte default MSS, RFC 9293 3.7.1) by a margin; a full-size
    // segment always counts.
    let big = if cap >= 536 {
        (cap * 9 / 10).min(1000)
    } else {
        1000
    };
    // The receiver's last step before the lost data: the data sent after
    // it never arrived.
    let from = lad
        .seen
        .iter()
        .filter(|m| m.step.sender() == party(dir.reverse()))
        .map(|m| m.frame)
        .max()
        .unwrap_or(0);
    let rtx: Vec<&Rtx> = f
        .rtx
        .iter()
        .filter(|r| r.dir == dir && r.frame >= from && r.len >= big)
        .collect();
    let same_offset = rtx
        .iter()
        .map(|x| rtx.iter().filter(|y| y.offset == x.offset).count())
        .max()
        .unwrap_or(0);
    let holes: Vec<&crate::flow::Gap> = f
        .gaps
        .iter()
        .filter(|(d, g)| {
            *d == dir
                && g.frame >= from
                && g.len >= u64::from(big)
                && matches!(g.kind, GapKind::Unknown | GapKind::NetworkLoss)
        })
        .map(|(_, g)| g)
        .collect();
    let (first_loss, first_loss_ts) = rtx
        .first()
        .map(|x| (x.frame, x.ts))
        .into_iter()
        .chain(holes.first().map(|g| (g.frame, g.ts)))
        .min_by_key(|(fr, _)| *fr)?;
    // Small packets still pass: the other side is heard after the loss
    // (keep-alives, ACKs carrying events), or a router says why.
    let small_pass = f.last_event[dir.reverse().index()].is_some_and(|fr| fr > first_loss);
    let shaped =
        same_offset >= 2 || !holes.is_empty() || (frag_needed.is_some() && !rtx.is_empty());
    let steps_after = lad.seen.iter().any(|m| m.frame > first_loss);
    (shaped && (small_pass || frag_needed.is_some()) && !steps_after).then_some(Loss {
        dir,
        from,
        first_loss,
        first_loss_ts,
        rtx,
        same_offset,
        holes,
        frag_needed,
    })
}

/// The verdict on a black hole, its evidence, and the steps it stopped.
fn black_hole_verdict(lad: &Ladder, f: &Facts, term: Option<&Term>, loss: &Loss) -> Verdict {
    let (dir, from, first_loss) = (loss.dir, loss.from, loss.first_loss);
    let (r, holes, frag_needed) = (&loss.rtx, &loss.holes, loss.frag_needed);
    let rx = f.conn.dir(dir.reverse());
    let conf = if frag_needed.is_some() || loss.same_offset >= 3 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    // Without a router's ICMP naming the MTU, the black hole is read
    // from segments nobody acknowledged: a silence.
    let grounds = if frag_needed.is_some() {
        Grounds::Explicit
    } else {
        Grounds::Silence
    };
    let (ending, ef) = match term {
        Some(t) if !matches!(t.kind, TermKind::Icmp(_)) => (ending_of(t), Some(t.frame)),
        _ => {
            let last = r.last().map(|x| (x.ts, x.frame));
            (
                Ending::Timeout {
                    waited: f.conn.capture_end.since(
                        lad.seen
                            .iter()
                            .find(|m| m.frame == from)
                            .map(|m| m.ts)
                            .unwrap_or(f.conn.first_ts),
                    ),
                    retransmissions: r.len() as u32,
                },
                last.map(|(_, fr)| fr),
            )
        }
    };
    let who = dir.sender();
    let lost_bytes = r
        .first()
        .map(|x| u64::from(x.len))
        .or(holes.first().map(|g| g.len))
        .unwrap_or(0);
    let mut v = Verdict::failed(
        ending,
        ef,
        CauseId::MtuBlackHole,
        conf,
        format!(
            "A {lost_bytes}-byte segment from the {who} never got through while small \
             packets passed: a path-MTU black hole (a link with a smaller MTU and its ICMP \
             \"fragmentation needed\" lost){}.",
            frag_needed
                .and_then(|(_, i)| i.mtu)
                .map(|m| format!("; a router reports a next-hop MTU of {m}"))
                .unwrap_or_default()
        ),
    );
    for x in r.iter().take(4) {
        v.evidence.push(ev(
            x.frame,
            TcpClue::LargeRetransmission {
                dir,
                len: x.len,
                offset: x.offset,
                mss: rx.mss,
                after_loss: dur(x.ts, loss.first_loss_ts),
            },
        ));
    }
    if r.len() > 4 {
        if let Some(x) = r.last() {
            v.evidence
                .push(ev(x.frame, TcpClue::SameSegment { count: r.len() }));
        }
    }
    for g in holes.iter().take(2) {
        v.evidence.push(ev(
            g.frame,
            TcpClue::Hole {
                dir,
                len: g.len,
                offset: g.offset,
            },
        ));
    }
    if let Some((fr, i)) = frag_needed {
        v.evidence.push(ev(fr, TcpClue::FragmentationNeeded(i)));
    }
    if let Some(k) = f
        .keepalives
        .iter()
        .find(|(fr, _, d)| *fr > first_loss && *d == dir.reverse())
    {
        v.evidence
            .push(ev(k.0, TcpClue::SmallPacketsPass { dir: dir.reverse() }));
    }
    v.grounds = grounds;
    // The steps carried by the lost data did not complete.
    let back = lad.seen.iter().find(|m| m.frame == from).copied();
    if let Some(m) = back {
        v.evidence.push(mark_ev(&m, StepNote::LastThrough));
        v.last_step = Some(Some(m.step));
        v.failed_step = lad
            .path
            .iter()
            .position(|s| *s == m.step)
            .and_then(|i| lad.path.get(i + 1))
            .copied();
    }
    v
}

#[cfg(test)]
mod black_hole_tests {
    use super::*;
    use crate::diagnose::testkit::TlBuilder;
    use Dir::{ToClient, ToServer};

    /// [`mtu_black_hole`] without its shortcut: both sides read.
    fn read_from_both_sides(lad: &Ladder, f: &Facts, term: Option<&Term>) -> Option<Verdict> {
        let frag_needed = frag_needed(f);
        [Dir::ToClient, Dir::ToServer]
            .into_iter()
            .find_map(|dir| large_segment_loss(lad, f, dir, frag_needed))
            .map(|loss| black_hole_verdict(lad, f, term, &loss))
    }

    #[test]
    fn the_shortcut_gives_what_both_sides_give() {
        let mut checked = [0usize; 2];
        for n in 0..64u64 {
            let mut b = TlBuilder::new()
                .mss(1460, 1460)
                .syn(1, 0.0)
                .syn_ack(2, 0.001)
                .ack(3, 0.002)
                .client_hello(4, 0.01);
            let mut frame = 5;
            for i in 0..n % 4 {
                let dir = if (n >> 2) % 2 == 0 {
                    ToClient
                } else {
                    ToServer
                };
                let len = [1460, 400, 1300, 1000][((n >> 3) as usize + i as usize) % 4];
                b = b.rtx(frame, 0.1 * frame as f64, dir, 100 * (i % 2), len);
                frame += 1;
            }
            if (n >> 4) % 2 == 1 {
                b = b.gap(
                    frame,
                    0.1 * frame as f64,
                    ToClient,
                    GapKind::NetworkLoss,
                    0,
                    1460,
                );
                frame += 1;
            }
            if (n >> 5) % 2 == 1 {
                b = b.keepalive(frame, 0.1 * frame as f64);
                frame += 1;
                b = b.icmp(frame, 0.1 * frame as f64, 3, 4, Some(1400));
                frame += 1;
            }
            let tl = b.rst_c(frame, 0.1 * frame as f64).end(60.0).build();
            let lad = Ladder::build(&tl);
            let f = Facts::build(&tl);
            let term = f.first_term_from(0);
            let (fast, slow) = (
                mtu_black_hole(&lad, &f, term),
                read_from_both_sides(&lad, &f, term),
            );
            checked[usize::from(fast.is_some())] += 1;
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{n}");
        }
        // Both answers were met.
        assert!(checked.iter().all(|c| *c > 0), "{checked:?}");
    }
}
