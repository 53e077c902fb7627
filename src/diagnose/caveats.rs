//! Why a verdict may not be trusted: the capture started mid-connection,
//! lost packets where the connection failed, saw one direction only, or cut
//! payloads at the snap length. Caveats lower the confidence of the cause
//! (or withdraw it) and say so.

use super::evidence::CaptureClue;
use super::facts::{Facts, TermKind};
use super::ladder::Ladder;
use super::rules::{cause, lower_confidence};
use super::{CauseId, Confidence, Diagnosis, Grounds, Outcome};
use crate::common::Dir;
use crate::flow::GapKind;

pub fn apply(lad: &Ladder, f: &Facts, d: &mut Diagnosis) {
    // Capture started mid-connection.
    if let Some(frame) = f.mid_stream {
        d.caveats.push(format!(
            "the capture started mid-connection (first frame {frame}): {} not captured; only \
             what follows is judged",
            if lad.mark(super::Step::ConnectionRequest).is_none() {
                "the TCP handshake and the RDP negotiation were"
            } else {
                "the TCP handshake was"
            }
        ));
        if let Some(c) = &mut d.cause {
            lower_confidence(c);
        }
    }

    // Capture loss in the failing step.
    if matches!(d.outcome, Outcome::Failed | Outcome::Incomplete) {
        let from = lad.last.map(|m| m.frame).unwrap_or(0);
        let loss = f.capture_loss_from(from);
        if !loss.is_empty() {
            let bytes: u64 = loss.iter().map(|(_, g)| g.len).sum();
            let frames: Vec<String> = loss.iter().map(|(_, g)| g.frame.to_string()).collect();
            let dirs: Vec<&str> = {
                let mut v: Vec<&str> = loss.iter().map(|(d, _)| d.sender()).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            d.caveats.push(format!(
                "capture loss in the failing step: {bytes} bytes from the {} were acknowledged \
                 but never captured (frames {}); the missing packets may hold the answer",
                dirs.join(" and "),
                frames.join(", ")
            ));
            for (dir, g) in &loss {
                d.evidence.push(super::Evidence {
                    frame: g.frame,
                    clue: CaptureClue::Loss {
                        dir: *dir,
                        len: g.len,
                        offset: g.offset,
                    }
                    .into(),
                });
            }
            match &mut d.cause {
                Some(c) if c.id == CauseId::Unknown => {
                    *c = cause(
                        CauseId::CaptureLossInFailingStep,
                        Confidence::Low,
                        "The capture lost packets exactly where the connection stopped; the \
                         cause cannot be read from what remains."
                            .into(),
                    )
                }
                // What the ladder position or a silence says cannot stand
                // when the packets after the last step were lost: the
                // next step, or the answer, may be in them.
                Some(c) if c.grounds != Grounds::Explicit && d.outcome == Outcome::Failed => {
                    withdraw(
                        d,
                        "the capture lost packets after the last step it shows: no failure is \
                         claimed from where the connection seemed to stop"
                            .into(),
                    );
                }
                Some(c) => lower_confidence(c),
                None if d.outcome == Outcome::Failed => {
                    d.cause = Some(cause(
                        CauseId::CaptureLossInFailingStep,
                        Confidence::Low,
                        "The capture lost packets where the connection stopped.".into(),
                    ))
                }
                None => {}
            }
        }
    }

    // Only one direction captured.
    let cs = f.conn.dir(Dir::ToServer);
    let sc = f.conn.dir(Dir::ToClient);
    let client_needed_server = cs.sent_packets() >= 3
        && (cs.payload_bytes > 0
            || lad.mark(super::Step::HandshakeAck).is_some()
            || f.proto.request.is_some());
    let server_needed_client = sc.sent_packets() >= 3
        && (sc.payload_bytes > 0 || f.proto.decoded_from[Dir::ToClient.index()]);
    let one_way = if sc.packets == 0 && client_needed_server {
        Some("client to server")
    } else if cs.packets == 0 && server_needed_client {
        Some("server to client")
    } else {
        None
    };
    if let Some(only) = one_way {
        d.caveats.push(format!(
            "only one direction was captured ({only}): the other side's packets must exist \
             (the handshake went on) but are missing, so silence from it proves nothing \
             (asymmetric routing, a one-way SPAN port or capture filter)"
        ));
        if d.outcome == Outcome::Failed {
            d.outcome = Outcome::Incomplete;
            d.failed_step = None;
            if let Some(c) = &mut d.cause {
                c.confidence = Confidence::Low;
            }
        }
    }

    // Snap length.
    let snap: Vec<_> = f
        .gaps
        .iter()
        .filter(|(_, g)| g.kind == GapKind::Snaplen)
        .collect();
    // Where the snap length hid the payload after the last step placed, the
    // next step may be in what was cut: a reading of the ladder position
    // cannot stand (explicit evidence and silences still do).
    let from = lad.last.map_or(0, |m| m.frame);
    let hid_next = snap.iter().any(|(_, g)| g.frame >= from);
    if hid_next && rests_on_position(d) {
        withdraw(
            d,
            format!(
                "the snap length hid the payload after {}: the next step may be in the bytes the \
             capture did not keep, so no failure is claimed",
                lad.last.map_or("the start", |m| m.step.label())
            ),
        );
    }
    if let Some((dir, g)) = snap.first() {
        let bytes: u64 = snap.iter().map(|(_, g)| g.len).sum();
        d.caveats.push(format!(
            "the snap length cut packet payloads (first at frame {}, from the {}; {} bytes cut \
             in {} packet(s)): what was cut could not be decoded",
            g.frame,
            dir.sender(),
            bytes,
            snap.len()
        ));
    }

    // Decoding stopped before the failure (after it, nothing is lost).
    if d.outcome != Outcome::Established {
        let before_end = |frame: u64| d.ending_frame.map_or(true, |end| frame < end);
        if let Some(e) = f.proto.decode_stops.iter().find(|e| before_end(e.frame)) {
            let why = &e.what;
            d.caveats.push(format!(
                "decoding of the {} stream stopped at frame {}: {why}",
                e.dir.sender(),
                e.frame
            ));
            // What that side sent next was not read: where the connection
            // stopped on the ladder is not known, so a failure read from
            // the position cannot stand.
            let after_last = lad.last.map_or(0, |m| m.frame);
            let unread_after_last = f
                .conn
                .dir(e.dir)
                .last_payload
                .is_some_and(|(f, _)| f >= e.frame && f > after_last);
            if unread_after_last && rests_on_position(d) {
                withdraw(
                    d,
                    format!(
                    "the {} sent data the decoder could not read after frame {}: no failure is \
                     claimed from where the connection seemed to stop",
                    e.dir.sender(),
                    e.frame
                ),
                );
            }
        }
    }

    if f.conn.events_dropped > 0 {
        d.caveats.push(format!(
            "{} TCP events of this connection were not kept (event limit); late events may be \
             missing",
            f.conn.events_dropped
        ));
    }

    // A bound on memory dropped bytes below the depth cap (the depth cap
    // itself only ends a long connection's kept prefix: decoding says so
    // above when it matters).
    for dir in [Dir::ToServer, Dir::ToClient] {
        if let Some(limit) = f.conn.dir(dir).limit.filter(|l| l.lost_in_depth()) {
            d.caveats.push(format!(
                "not every byte from the {} was kept for decoding: {limit}; what was not kept \
                 is unknown",
                dir.sender()
            ));
        }
    }

    // ICMP errors that quote the connection but did not end it.
    if let Some(t) = f.terms.iter().find(|t| matches!(t.kind, TermKind::Icmp(_))) {
        if d.ending_frame != Some(t.frame) && !d.evidence.iter().any(|e| e.frame == t.frame) {
            d.evidence.push(super::rules::term_ev(t, None));
        }
    }
}

/// A failure whose cause rests on where the connection seemed to stop.
fn rests_on_position(d: &Diagnosis) -> bool {
    d.outcome == Outcome::Failed
        && d.cause
            .as_ref()
            .is_some_and(|c| c.grounds == Grounds::Position)
}

/// The capture did not keep what came after the last step: no failure is
/// claimed from the position; the caveat says why.
fn withdraw(d: &mut Diagnosis, why: String) {
    d.outcome = Outcome::Incomplete;
    d.failed_step = None;
    d.cause = None;
    d.caveats.push(why);
}
