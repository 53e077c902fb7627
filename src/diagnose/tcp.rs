//! TCP handshake rules: a SYN refused, unanswered or answered by ICMP;
//! a handshake left half-open (a scanner, or one direction dropped).

use super::evidence::{EndNote, StepNote, TcpClue};
use super::facts::{dur, ev, Facts, TermKind};
use super::ladder::{Ladder, Mark};
use super::rules::{end_ev, ending_of, mark_ev, term_ev, Verdict, STALL, SYN_QUIET};
use super::{Benign, CauseId, Certainty, Confidence, Ending, Grounds, Party, Step};
use crate::common::Dir;

/// What a refused connection's cause says: "The server refused the
/// connection: nothing listens on port N or a host firewall rejects it."
/// Written piece by piece, one allocation (a scan refused on every port
/// makes one per connection).
fn refused_summary(port: u16) -> String {
    const HEAD: &str = "The server refused the connection: nothing listens on port ";
    const TAIL: &str = " or a host firewall rejects it.";
    // A port has at most five digits (65535).
    let mut s = String::with_capacity(HEAD.len() + 5 + TAIL.len());
    s.push_str(HEAD);
    // The digits as `Display` writes them, without the formatting machinery.
    s.push_str(itoa::Buffer::new().format(port));
    s.push_str(TAIL);
    s
}

pub(super) fn syn_unanswered(f: &Facts, lad: &Ladder) -> Verdict {
    let Some(&(first_frame, first_ts)) = f.syns.first() else {
        return Verdict::incomplete(Ending::CaptureEnded, None);
    };
    let answer = f
        .terms
        .iter()
        .find(|t| t.dir == Dir::ToClient || matches!(t.kind, TermKind::Icmp(_)));
    let n = f.syns.len();
    // Made only where a clue lists them (most connections send one SYN).
    let syn_frames = || -> Vec<u64> { f.syns.iter().map(|(fr, _)| *fr).collect() };
    if let Some(t) = answer {
        // The SYN that the answer follows.
        let last_syn = f
            .syns
            .iter()
            .rev()
            .find(|(fr, _)| *fr <= t.frame)
            .copied()
            .unwrap_or((first_frame, first_ts));
        let m = Mark::new(Step::Syn, last_syn.0, last_syn.1, Certainty::Seen);
        let mut v = match &t.kind {
            TermKind::Icmp(i) => Verdict::failed(
                ending_of(t),
                Some(t.frame),
                CauseId::IcmpUnreachable,
                Confidence::High,
                format!(
                    "The SYN was answered by ICMP {}: a router or firewall on the path names \
                     the reason.",
                    i.describe()
                ),
            ),
            _ => Verdict::failed(
                Ending::Refused,
                Some(t.frame),
                CauseId::PortClosed,
                Confidence::High,
                refused_summary(f.conn.endpoints.server.port()),
            ),
        };
        v.evidence.push(ev(
            m.frame,
            TcpClue::Syn {
                server: f.conn.endpoints.server,
            },
        ));
        v.evidence.push(term_ev(t, Some(&m)));
        if let (true, Some(last)) = (n > 1, f.syns.last()) {
            v.evidence.push(ev(
                last.0,
                TcpClue::SynRepeated {
                    frames: syn_frames(),
                },
            ));
        }
        return v;
    }
    let (last_frame, last_ts) = f.syns.last().copied().unwrap_or((first_frame, first_ts));
    let quiet = f.conn.capture_end.since(last_ts);
    let rtx = (n - 1) as u32;
    if n == 1 && quiet < SYN_QUIET {
        return Verdict::incomplete(Ending::CaptureEnded, Some(last_frame)).with(ev(
            first_frame,
            TcpClue::SynCaptureEnds {
                after: dur(f.conn.capture_end, first_ts),
            },
        ));
    }
    let waited = if n > 1 {
        last_ts.since(first_ts)
    } else {
        f.conn.capture_end.since(first_ts)
    };
    let conf = match n {
        1 => Confidence::Low,
        2 => Confidence::Medium,
        _ => Confidence::High,
    };
    let intervals: Vec<_> = f.syns.windows(2).map(|w| w[1].1.since(w[0].1)).collect();
    let mut v = Verdict::failed(
        Ending::Timeout {
            waited,
            retransmissions: rtx,
        },
        Some(last_frame),
        CauseId::Filtered,
        conf,
        format!(
            "The SYN to {} was never answered ({} retransmission{} over {}): a firewall or \
             security group drops it, the host is down, or the address or route is wrong.",
            f.conn.endpoints.server,
            rtx,
            if rtx == 1 { "" } else { "s" },
            waited
        ),
    )
    .with(ev(
        first_frame,
        TcpClue::Syn {
            server: f.conn.endpoints.server,
        },
    ));
    v.grounds = Grounds::Silence;
    if n > 1 {
        v.evidence.push(ev(
            last_frame,
            TcpClue::SynUnanswered {
                frames: syn_frames(),
                intervals,
            },
        ));
    } else {
        v.evidence
            .push(ev(first_frame, TcpClue::SingleSynUnanswered { quiet }));
    }
    let _ = lad;
    v
}

pub(super) fn handshake_unfinished(f: &Facts, lad: &Ladder) -> Verdict {
    let synack = lad.mark(Step::SynAck);
    let from = synack.map(|m| m.frame).unwrap_or(0);
    if let Some(t) = f.terms.iter().find(|t| t.frame >= from && t.is_close()) {
        // SYN, SYN/ACK, then the client's FIN (its ACK completes the
        // handshake): connect and close with no data.
        if t.dir == Dir::ToServer && !t.is_rst() {
            let mut v = Verdict::benign(Benign::HealthCheck, ending_of(t), Some(t.frame));
            if let Some(m) = synack {
                v.evidence.push(mark_ev(&m, StepNote::None));
            }
            v.evidence
                .push(end_ev(t, synack.as_ref(), EndNote::HandshakeHealthCheck));
            return v;
        }
        if t.dir == Dir::ToServer && t.is_rst() {
            let mut v = Verdict::benign(
                Benign::Scanner,
                Ending::ResetBy(Party::Client),
                Some(t.frame),
            );
            if let Some(m) = synack {
                v.evidence.push(mark_ev(&m, StepNote::None));
            }
            v.evidence
                .push(end_ev(t, synack.as_ref(), EndNote::HalfOpenScan));
            return v;
        }
        return Verdict::failed(
            ending_of(t),
            Some(t.frame),
            CauseId::Unknown,
            Confidence::Low,
            "The TCP handshake did not complete.".into(),
        )
        .with(term_ev(t, synack.as_ref()));
    }
    let retries = f.synacks.len().saturating_sub(1) + f.syns.len().saturating_sub(1);
    let last = synack.map(|m| m.ts).unwrap_or(f.conn.first_ts);
    if retries >= 2 || f.conn.capture_end.since(last) >= STALL {
        let mut v = Verdict::failed(
            Ending::Timeout {
                waited: f.conn.last_ts.since(f.conn.first_ts),
                retransmissions: retries as u32,
            },
            Some(f.conn.last_frame),
            CauseId::Filtered,
            if retries >= 2 {
                Confidence::Medium
            } else {
                Confidence::Low
            },
            "The server answered the SYN but the handshake never completed: the SYN/ACK did \
             not reach the client, or the client's ACK did not reach the server (a firewall \
             dropping one direction, asymmetric routing)."
                .into(),
        );
        v.grounds = Grounds::Silence;
        if let Some(m) = synack {
            v.evidence.push(mark_ev(&m, StepNote::None));
        }
        v.evidence.push(ev(
            f.conn.last_frame,
            TcpClue::NoHandshakeAck {
                syn_rtx: f.syns.len().saturating_sub(1),
                synack_rtx: f.synacks.len().saturating_sub(1),
            },
        ));
        return v;
    }
    Verdict::incomplete(Ending::CaptureEnded, None)
}

#[cfg(test)]
mod refused_tests {
    use super::refused_summary;

    #[test]
    fn the_refused_summary_is_the_formatted_one() {
        // Every port: the digits are written by itoa, not by `format!`.
        for port in 0..=u16::MAX {
            assert_eq!(
                refused_summary(port),
                format!(
                    "The server refused the connection: nothing listens on port {port} or a host \
                     firewall rejects it."
                )
            );
        }
    }
}
