//! Path-level signatures, whatever the step: a reset forged by a
//! middlebox (TTL), an idle timeout, a zero-window stall, a path-MTU black
//! hole, retransmissions nobody answers.

use super::facts::*;
use super::ladder::*;
use super::rules::*;
use super::*;
use crate::common::{Dir, Timestamp};
use crate::timeline::Timeline;

/// Repeated retransmissions in one direction at the end of the capture
/// with nothing from the other side after them.
pub(super) fn path_lost(tl: &Timeline, f: &Facts, since: Option<&Mark>) -> Option<Verdict> {
    let from = since.map(|m| m.frame).unwrap_or(0);
    for dir in [Dir::ToServer, Dir::ToClient] {
        let r: Vec<&Rtx> = f
            .rtx
            .iter()
            .filter(|r| r.dir == dir && r.frame >= from)
            .collect();
        if r.len() < 2 {
            continue;
        }
        let first = r[0];
        let last = r[r.len() - 1];
        let answered = tl
            .events
            .iter()
            .any(|e| e.dir == dir.reverse() && e.frame > first.frame);
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
        v.evidence.push(ev(
            first.frame,
            format!(
                "first retransmission from {} ({} bytes at offset {})",
                dir.sender(),
                first.len,
                first.offset
            ),
        ));
        v.evidence.push(ev(
            last.frame,
            format!(
                "retransmission {} of {}, {} after the first; nothing from the {} since",
                r.len(),
                r.len(),
                last.ts.since(first.ts),
                other
            ),
        ));
        return Some(v);
    }
    None
}

pub(super) fn middlebox_reset(tl: &Timeline, lad: &Ladder, t: &Term, usual: u8, n: u64) -> Verdict {
    let TermKind::Rst { ttl, ip_id } = t.kind else {
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
    let ipid = match (ip_id, tl.dir(t.dir).last_ip_id) {
        (Some(a), Some(b)) => format!(", IP ID 0x{a:04x} vs the {sender}'s last 0x{b:04x}"),
        _ => String::new(),
    };
    v.evidence.push(ev(
        t.frame,
        format!(
            "RST as if from {sender} with TTL {ttl}, while the {sender}'s other {n} packets have \
             TTL {usual}{ipid}{}",
            lad.last
                .map(|m| format!("; {}", after(t.ts, &m)))
                .unwrap_or_default()
        ),
    ));
    if let Some(m) = lad.last {
        v.evidence.push(mark_ev(&m, "last step completed"));
    }
    v
}

pub(super) fn idle_timeout(tl: &Timeline, f: &Facts, term: Option<&Term>) -> Option<Verdict> {
    let (idle, idle_frame) = tl.max_idle?;
    if idle < IDLE {
        return None;
    }
    let resumed = tl.events.iter().find(|e| e.frame >= idle_frame)?;
    let start = Timestamp(resumed.ts.0.saturating_sub(idle.0));
    let ka: Vec<_> = f
        .keepalives
        .iter()
        .filter(|(fr, _, _)| *fr >= idle_frame)
        .collect();
    let rtx_after: Vec<&Rtx> = f.rtx.iter().filter(|r| r.frame >= idle_frame).collect();
    // What ended the silence: a reset (within a few seconds), or
    // retransmissions nobody answered.
    let rst =
        term.filter(|t| t.is_rst() && t.frame >= idle_frame && t.ts.since(resumed.ts) <= STALL);
    let mut v = if let Some(t) = rst {
        let forged_by = forged(tl, t);
        let (conf, who) = match forged_by {
            Some(_) => (Confidence::High, "a stateful firewall or load balancer on the path (the RST's TTL is not the sender's)"),
            None => (Confidence::Medium, "a stateful device on the path, or the peer, after"),
        };
        let mut v = Verdict::failed(
            ending_of(tl, t),
            Some(t.frame),
            CauseId::IdleTimeout,
            conf,
            format!(
                "The connection was silent for {idle}, then reset: {who} timed the idle \
                 connection out."
            ),
        );
        let extra = forged_by
            .map(|(u, _)| format!(" (usual TTL {u})"))
            .unwrap_or_default();
        v.evidence.push(ev(
            t.frame,
            format!("{}{} after {} of silence", t.describe(), extra, idle),
        ));
        v
    } else if rtx_after.len() >= 2 {
        let last = rtx_after[rtx_after.len() - 1];
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: last.ts.since(resumed.ts),
                retransmissions: rtx_after.len() as u32,
            },
            Some(last.frame),
            CauseId::IdleTimeout,
            Confidence::Medium,
            format!(
                "The connection was silent for {idle}; the next data was retransmitted {} times \
                 without answer: a stateful device dropped the idle connection (or the path \
                 broke).",
                rtx_after.len()
            ),
        );
        v.evidence.push(ev(
            last.frame,
            format!(
                "{} retransmissions from {} after the silence, none answered",
                rtx_after.len(),
                last.dir.sender()
            ),
        ));
        v
    } else {
        return None;
    };
    v.evidence.push(ev(
        idle_frame,
        format!(
            "first packet after {} of silence (since {})",
            idle,
            date(start)
        ),
    ));
    if !ka.is_empty() {
        v.evidence.push(ev(
            ka[0].0,
            format!("{} TCP keep-alive(s) after the silence", ka.len()),
        ));
    }
    Some(v)
}

pub(super) fn zero_window(
    tl: &Timeline,
    f: &Facts,
    stop: Option<&Mark>,
    term: Option<&Term>,
) -> Option<Verdict> {
    let from = stop.map(|m| m.frame).unwrap_or(0);
    let (dir, frame, start, end) = f.zero_windows.iter().find(|(_, fr, s, e)| {
        let held = e.unwrap_or(tl.capture_end).since(*s);
        held >= ZERO_WINDOW && (e.is_none() || *fr >= from)
    })?;
    let held = end.unwrap_or(tl.capture_end).since(*start);
    let who = dir.sender();
    let (ending, ef) = match term {
        Some(t) => (ending_of(tl, t), Some(t.frame)),
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
    v.evidence.push(ev(
        *frame,
        format!(
            "zero window from {who}, held for {held}{}",
            if end.is_none() { " until the end" } else { "" }
        ),
    ));
    let probes = tl
        .tcp_events()
        .filter(|(e, k)| {
            e.frame >= *frame
                && matches!(k, crate::flow::TcpEventKind::ZeroWindowProbe)
                && e.dir == dir.reverse()
        })
        .count();
    if probes > 0 {
        v.evidence.push(ev(
            *frame,
            format!(
                "{probes} zero-window probe(s) from the {}",
                dir.reverse().sender()
            ),
        ));
    }
    if let Some(t) = term {
        v.evidence.push(term_ev(t, None));
    }
    Some(v)
}

/// Full-size segments retransmitted and never acknowledged while small
/// ones pass, during the handshake: a path-MTU black hole.
pub(super) fn mtu_black_hole(
    tl: &Timeline,
    lad: &Ladder,
    f: &Facts,
    term: Option<&Term>,
) -> Option<Verdict> {
    let from = lad.last.map(|m| m.frame).unwrap_or(0);
    let frag_needed = f.terms.iter().find_map(|t| match &t.kind {
        TermKind::Icmp(i)
            if (!i.v6 && i.icmp_type == 3 && i.code == 4) || (i.v6 && i.icmp_type == 2) =>
        {
            Some((t.frame, *i))
        }
        _ => None,
    });
    for dir in [Dir::ToClient, Dir::ToServer] {
        let rx = tl.dir(dir.reverse());
        let tx = tl.dir(dir);
        let cap = rx
            .mss
            .map(u32::from)
            .filter(|m| *m > 0)
            .unwrap_or(tx.max_segment);
        let big = if cap >= 536 { cap * 9 / 10 } else { 1200 };
        let r: Vec<&Rtx> = f
            .rtx
            .iter()
            .filter(|r| r.dir == dir && r.frame >= from && r.len >= big)
            .collect();
        // A receiver-side capture shows the small segments after the lost
        // big one arriving out of order, and duplicate ACKs.
        let ooo = f
            .out_of_order
            .iter()
            .filter(|(fr, _, d, _)| *d == dir && *fr >= from)
            .count();
        let dup = f
            .dupacks
            .iter()
            .filter(|(fr, _, d)| *d == dir.reverse() && *fr >= from)
            .count();
        let shape = r.len() >= 2 || (ooo >= 1 && dup >= 2 && !r.is_empty());
        if !shape && !(frag_needed.is_some() && (!r.is_empty() || ooo >= 1)) {
            continue;
        }
        let conf = if frag_needed.is_some() || r.len() >= 3 {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let (ending, ef) = match term {
            Some(t) if !matches!(t.kind, TermKind::Icmp(_)) => (ending_of(tl, t), Some(t.frame)),
            _ => {
                let last = r.last().map(|x| (x.ts, x.frame));
                (
                    Ending::Timeout {
                        waited: last
                            .map(|(ts, _)| ts.since(lad.last.map(|m| m.ts).unwrap_or(tl.first_ts)))
                            .unwrap_or_default(),
                        retransmissions: r.len() as u32,
                    },
                    last.map(|(_, fr)| fr),
                )
            }
        };
        let who = dir.sender();
        let mut v = Verdict::failed(
            ending,
            ef,
            CauseId::MtuBlackHole,
            conf,
            format!(
                "Full-size segments from the {who} ({} bytes and more) were retransmitted and never \
                 acknowledged while small packets passed: a path-MTU black hole{}.",
                big,
                frag_needed
                    .and_then(|(_, i)| i.mtu)
                    .map(|m| format!(" (a router reports a next-hop MTU of {m})"))
                    .unwrap_or_default()
            ),
        );
        for x in r.iter().take(4) {
            v.evidence.push(ev(
                x.frame,
                format!(
                    "retransmission from {who} of {} bytes at offset {} (MSS {})",
                    x.len,
                    x.offset,
                    rx.mss.map(|m| m.to_string()).unwrap_or("unknown".into())
                ),
            ));
        }
        if ooo > 0 {
            if let Some((fr, _, _, len)) = f
                .out_of_order
                .iter()
                .find(|(fr, _, d, _)| *d == dir && *fr >= from)
            {
                v.evidence.push(ev(
                    *fr,
                    format!("small segment ({len} bytes) from {who} arrived past the hole"),
                ));
            }
        }
        if let Some((fr, i)) = frag_needed {
            v.evidence.push(ev(
                fr,
                format!(
                    "ICMP {}{}",
                    i.describe(),
                    i.mtu
                        .map(|m| format!(", next-hop MTU {m}"))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(m) = lad.last {
            v.evidence.push(mark_ev(&m, "last step completed"));
        }
        return Some(v);
    }
    None
}
