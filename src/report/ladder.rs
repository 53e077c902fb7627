//! The connection ladder as a picture: the steps a connection completed
//! and its key TCP events, laid out as rows of a sequence diagram (client
//! and server lifelines, a middlebox between them when a forged reset or
//! an ICMP error is part of the story). The HTML report draws the rows as
//! SVG ([`super::html`]); `--ladder` prints them as plain text
//! ([`text`]).
//!
//! The report model carries what the drawing needs
//! ([`ConnectionReport::steps`], [`ConnectionReport::events`]); the
//! layout reads the model only, so redaction holds for the drawing too.

use super::model::{ConnectionReport, LadderEvent, StepReached, Text};
use crate::diagnose::{Diagnosis, Ending, Party, Step};
use crate::flow::TcpEventKind;
use crate::proto::tls::{alert_name, TlsEvent};
use crate::proto::x224::{ConnectionConfirm, X224Event};
use crate::proto::ProtoEvent;
use crate::timeline::{EventKind, Timeline};

// ---------------------------------------------------------------- the model

/// The steps completed, in ladder order, up to the diagnosis' last step
/// (told from the marks of the diagnosis' ladder: [`Diagnosis::ladder`]).
pub fn steps_reached(tl: &Timeline, d: &Diagnosis) -> Vec<StepReached> {
    steps_reached_in(tl, d, Vec::new())
}

/// [`steps_reached`] written into `steps` (its contents dropped, its room
/// reused: see `model::Spare`).
pub fn steps_reached_in(
    tl: &Timeline,
    d: &Diagnosis,
    mut steps: Vec<StepReached>,
) -> Vec<StepReached> {
    let reached = d.ladder.reached(d.last_step);
    steps.clear();
    // Room for them all at once (at most the path up to the last step).
    steps.reserve(reached.size_hint().1.unwrap_or(0));
    steps.extend(reached.map(|r| StepReached {
        step: r.step.id().into(),
        from: r.step.sender().name().into(),
        certainty: r.certainty.name().into(),
        frame: r.at.map(|(frame, _)| frame),
        time_s: r.at.map(|(_, ts)| ts.since(tl.first_ts).as_secs_f64()),
    }));
    steps
}

/// The key events, runs of retransmissions and zero windows collapsed.
pub fn events(tl: &Timeline, d: &Diagnosis) -> Vec<LadderEvent> {
    events_in(tl, d, Vec::new())
}

/// [`events`] written into `out` (its contents dropped, its room reused:
/// see `model::Spare`).
pub fn events_in(tl: &Timeline, d: &Diagnosis, mut out: Vec<LadderEvent>) -> Vec<LadderEvent> {
    let forged = matches!(d.ending, Ending::ResetBy(Party::Middlebox));
    out.clear();
    for e in &tl.events {
        let sender = e.dir.sender();
        let receiver = e.dir.reverse().sender();
        let k = match &e.kind {
            EventKind::Tcp(k) => k,
            EventKind::Proto(p) => {
                let text = match p {
                    ProtoEvent::Tls(TlsEvent::Alert { description, .. }) => {
                        Text::from(format!("TLS alert {}", alert_name(*description)))
                    }
                    ProtoEvent::Tls(TlsEvent::EncryptedAlert { .. })
                        if tl.events.iter().any(|x| {
                            x.frame == e.frame
                                && x.dir == e.dir
                                && matches!(
                                    x.kind,
                                    EventKind::Proto(ProtoEvent::Tls(
                                        TlsEvent::DecryptedAlert { .. }
                                    ))
                                )
                        }) =>
                    {
                        continue; // drawn as the decrypted alert below
                    }
                    ProtoEvent::Tls(TlsEvent::EncryptedAlert { .. }) => {
                        "encrypted TLS alert".into()
                    }
                    ProtoEvent::Tls(TlsEvent::DecryptedAlert { description, .. }) => {
                        format!("TLS alert {} (decrypted)", alert_name(*description)).into()
                    }
                    ProtoEvent::X224(X224Event::ConnectionConfirm(
                        ConnectionConfirm::Failure { code },
                    )) => format!("RDP_NEG_FAILURE {}", code.name()).into(),
                    _ => continue,
                };
                let kind = match p {
                    ProtoEvent::X224(_) => "negotiation_failure",
                    _ => "tls_alert",
                };
                out.push(LadderEvent {
                    kind: kind.into(),
                    from: sender.into(),
                    to: receiver.into(),
                    frame: e.frame,
                    last_frame: e.frame,
                    count: 1,
                    time_s: e.ts.since(tl.first_ts).as_secs_f64(),
                    last_time_s: None,
                    text,
                });
                continue;
            }
        };
        let (kind, from, to, text) = match k {
            TcpEventKind::Syn { retransmission } => (
                if *retransmission {
                    "syn_retransmission"
                } else {
                    "syn"
                },
                sender,
                receiver,
                None,
            ),
            TcpEventKind::SynAck { retransmission } => (
                if *retransmission {
                    "syn_ack_retransmission"
                } else {
                    "syn_ack"
                },
                sender,
                receiver,
                None,
            ),
            TcpEventKind::Rst { ttl, .. } => {
                let by_middlebox = forged && d.ending_frame == Some(e.frame);
                (
                    "rst",
                    if by_middlebox { "middlebox" } else { sender },
                    receiver,
                    Some(if by_middlebox {
                        Text::from(format!("RST (TTL {ttl}) forged as if from the {sender}"))
                    } else {
                        Text::fixed(rst_text(*ttl))
                    }),
                )
            }
            TcpEventKind::Fin => ("fin", sender, receiver, Some(Text::from("FIN"))),
            TcpEventKind::Retransmission { .. } => ("retransmission", sender, receiver, None),
            TcpEventKind::ZeroWindow => ("zero_window", sender, receiver, None),
            // The ICMP error goes back to the sender of the packet it quotes.
            TcpEventKind::Icmp(i) => (
                "icmp_error",
                "middlebox",
                sender,
                Some(format!("ICMP {}", i.describe()).into()),
            ),
            _ => continue,
        };
        let collapsible = matches!(
            kind,
            "syn_retransmission" | "syn_ack_retransmission" | "retransmission" | "zero_window"
        );
        if let Some(prev) = out.last_mut() {
            if collapsible && prev.kind == kind && prev.from == from {
                prev.last_frame = e.frame;
                prev.last_time_s = Some(e.ts.since(tl.first_ts).as_secs_f64());
                prev.count += 1;
                prev.text = run_text(kind, prev.count);
                continue;
            }
        }
        out.push(LadderEvent {
            kind: kind.into(),
            from: from.into(),
            to: to.into(),
            frame: e.frame,
            last_frame: e.frame,
            count: 1,
            time_s: e.ts.since(tl.first_ts).as_secs_f64(),
            last_time_s: None,
            text: text.unwrap_or_else(|| run_text(kind, 1)),
        });
    }
    out
}

/// `RST (TTL n)`: the 256 texts made once per process, not once per
/// connection (most connections of a capture end with a RST).
fn rst_text(ttl: u8) -> &'static str {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TEXTS
        .get_or_init(|| (0..=u8::MAX).map(|t| format!("RST (TTL {t})")).collect())
        .get(usize::from(ttl))
        .map_or("", String::as_str)
}

/// The text of `n` events of `kind` (static for one event: the usual
/// case, made for every connection).
fn run_text(kind: &'static str, n: u64) -> Text {
    match (kind, n) {
        ("syn", _) => "SYN".into(),
        ("syn_ack", _) => "SYN/ACK".into(),
        ("syn_retransmission", 1) => "SYN retransmitted".into(),
        ("syn_retransmission", n) => format!("SYN retransmitted \u{d7}{n}").into(),
        ("syn_ack_retransmission", 1) => "SYN/ACK retransmitted".into(),
        ("syn_ack_retransmission", n) => format!("SYN/ACK retransmitted \u{d7}{n}").into(),
        ("retransmission", 1) => "retransmission".into(),
        ("retransmission", n) => format!("{n} retransmissions").into(),
        ("zero_window", 1) => "zero window".into(),
        ("zero_window", n) => format!("zero window \u{d7}{n}").into(),
        (other, _) => other.into(),
    }
}

// ---------------------------------------------------------------- the layout

/// A lifeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Client,
    Middlebox,
    Server,
}

impl Lane {
    fn of(name: &str) -> Lane {
        match name {
            "client" => Lane::Client,
            "server" => Lane::Server,
            _ => Lane::Middlebox,
        }
    }
    fn other(self) -> Lane {
        match self {
            Lane::Client => Lane::Server,
            _ => Lane::Client,
        }
    }
}

/// What a row draws.
#[derive(Clone, Debug, PartialEq)]
pub enum RowKind {
    /// A message from one lifeline to another.
    Arrow { from: Lane, to: Lane },
    /// A step that never completed: an arrow from its sender that stops
    /// half-way.
    Broken { from: Lane, to: Lane },
    /// A frame of the evidence that is no message drawn otherwise.
    Note,
    /// A long silence between two rows, drawn as a break.
    Silence { secs: f64 },
    /// Rows left out of a long connection.
    Omitted { count: usize },
}

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub kind: RowKind,
    pub frame: Option<u64>,
    /// The last frame of a collapsed run (equals `frame` otherwise).
    pub last_frame: Option<u64>,
    pub time_s: Option<f64>,
    /// The time of `last_frame` (equals `time_s` but for a collapsed run):
    /// a pause after the row is measured from it.
    pub last_time_s: Option<f64>,
    pub label: String,
    /// `seen`, `implied` or `inferred` (TCP events are seen).
    pub certainty: &'static str,
    /// The ladder step this row shows, if any.
    pub step: Option<String>,
    /// The TCP event kind this row shows, if any.
    pub tcp: Option<String>,
    /// The failing step.
    pub failed: bool,
    /// The frame that shows how the connection ended.
    pub ending: bool,
    /// Evidence frames this row shows.
    pub evidence: Vec<u64>,
    /// Seconds since the previous row with a time, when shorter than
    /// [`SILENCE_S`] (a longer pause is a `Silence` row of its own): the
    /// drawing spaces the rows by it, to scale ([`gap_px`]).
    pub gap_s: f64,
}

impl Row {
    fn new(kind: RowKind, label: String) -> Row {
        Row {
            kind,
            frame: None,
            last_frame: None,
            time_s: None,
            last_time_s: None,
            label,
            certainty: "seen",
            step: None,
            tcp: None,
            failed: false,
            ending: false,
            evidence: Vec::new(),
            gap_s: 0.0,
        }
    }

    fn covers(&self, frame: u64) -> bool {
        match (self.frame, self.last_frame) {
            (Some(a), Some(b)) => (a..=b).contains(&frame),
            (Some(a), None) => a == frame,
            _ => false,
        }
    }

    fn sender_lane(&self) -> Option<Lane> {
        match self.kind {
            RowKind::Arrow { from, .. } | RowKind::Broken { from, .. } => Some(from),
            _ => None,
        }
    }

    /// Must stay when a long diagram is shortened.
    fn important(&self) -> bool {
        self.failed || self.ending || !self.evidence.is_empty()
    }
}

/// The rows of one connection's diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagram {
    pub rows: Vec<Row>,
    /// A middlebox lifeline is drawn.
    pub middlebox: bool,
}

/// Rows drawn at most; beyond, the middle is left out (evidence, the
/// failing step and the ending always stay).
pub const MAX_ROWS: usize = 60;
/// A pause at least this long between two rows is drawn as a break
/// labelled with its exact duration; shorter ones are drawn to scale
/// ([`gap_px`]). One second is TCP's initial retransmission timeout (RFC
/// 6298, 2.1): a pause the stacks themselves count as a loss, and one a
/// person notices; the pauses that tell a story (a retransmission
/// backoff, a server thinking, an idle timeout) are seconds to hours,
/// which no scale shows on one page, so from here on the picture breaks
/// and says how long.
pub const SILENCE_S: f64 = 1.0;

/// The space added between two rows for a pause shorter than
/// [`SILENCE_S`]: to scale, one row height (`row_px`) per second, so the
/// longest pause drawn to scale takes about the room of the break that
/// replaces it from [`SILENCE_S`] on. At the HTML page's 30 px rows, a
/// pause of 100 ms adds 3 px, about the least difference the eye sees
/// between evenly spaced lines; shorter ones (round trips of a LAN or a
/// nearby server) stay back to back, as they should to a reader.
pub fn gap_px(gap_s: f64, row_px: f64) -> f64 {
    (gap_s.clamp(0.0, SILENCE_S) / SILENCE_S * row_px).round()
}

fn certainty_of(name: &str) -> &'static str {
    match name {
        "implied" => "implied",
        "inferred" => "inferred",
        _ => "seen",
    }
}

/// The human label of a step id.
pub fn step_label(id: &str) -> String {
    Step::from_id(id)
        .map(|s| s.label().to_string())
        .unwrap_or_else(|| id.to_string())
}

fn step_row(s: &StepReached) -> Row {
    let from = Lane::of(&s.from);
    let mut label = step_label(&s.step);
    if s.certainty != "seen" {
        label.push_str(&format!(" ({})", s.certainty));
    }
    Row {
        frame: s.frame,
        last_frame: s.frame,
        time_s: s.time_s,
        last_time_s: s.time_s,
        certainty: certainty_of(&s.certainty),
        step: Some(s.step.to_string()),
        ..Row::new(
            RowKind::Arrow {
                from,
                to: from.other(),
            },
            label,
        )
    }
}

fn event_row(e: &LadderEvent) -> Row {
    Row {
        frame: Some(e.frame),
        last_frame: Some(e.last_frame),
        time_s: Some(e.time_s),
        last_time_s: Some(e.last_time_s.unwrap_or(e.time_s)),
        tcp: Some(e.kind.to_string()),
        ..Row::new(
            RowKind::Arrow {
                from: Lane::of(&e.from),
                to: Lane::of(&e.to),
            },
            e.text.to_string(),
        )
    }
}

/// Lay out one connection.
pub fn diagram(c: &ConnectionReport) -> Diagram {
    // (sort key, row): frames order the rows; an implied step sits just
    // before the next step that was seen.
    let mut keyed: Vec<(f64, Row)> = Vec::new();
    let n = c.steps.len();
    for (i, s) in c.steps.iter().enumerate() {
        let key = match s.frame {
            Some(f) => f as f64,
            None => {
                let next = c.steps[i + 1..].iter().find_map(|t| t.frame);
                let prev = c.steps[..i].iter().rev().find_map(|t| t.frame);
                match (next, prev) {
                    (Some(f), _) => f as f64 - 0.5 + i as f64 / (4.0 * n as f64),
                    (None, Some(f)) => f as f64 + 0.25 + i as f64 / (4.0 * n as f64),
                    (None, None) => i as f64 / n as f64,
                }
            }
        };
        keyed.push((key, step_row(s)));
    }
    for e in &c.events {
        let same_step = match e.kind.as_ref() {
            "syn" => Some("tcp_syn"),
            "syn_ack" => Some("tcp_syn_ack"),
            _ => None,
        };
        if let Some(id) = same_step {
            if c.steps
                .iter()
                .any(|s| s.step == id && s.frame == Some(e.frame))
            {
                continue;
            }
        }
        keyed.push((e.frame as f64, event_row(e)));
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rows: Vec<Row> = keyed.into_iter().map(|(_, r)| r).collect();

    // The ending, and the failing step.
    let ending_at = c
        .ending_frame
        .and_then(|f| rows.iter().rposition(|r| r.covers(f)));
    if let Some(i) = ending_at {
        rows[i].ending = true;
    }
    if let Some(id) = &c.failed_step {
        let sender = Step::from_id(id)
            .map(|s| Lane::of(s.sender().name()))
            .unwrap_or(Lane::Server);
        let label = step_label(id);
        // The message that ended the connection, sent by the side whose
        // step failed (RDP_NEG_FAILURE, an alert, a RST answering a SYN),
        // is the failed step itself.
        match ending_at.filter(|&i| rows[i].step.is_none() && rows[i].sender_lane() == Some(sender))
        {
            Some(i) => {
                let r = &mut rows[i];
                r.failed = true;
                r.step = Some(id.to_string());
                if !r.label.starts_with(&label) {
                    r.label = format!("{label} failed: {}", r.label);
                }
            }
            None => {
                let at = ending_at.map(|i| i + 1).unwrap_or(rows.len());
                let to = if sender == Lane::Client {
                    Lane::Server
                } else {
                    Lane::Client
                };
                let mut r = Row::new(
                    RowKind::Broken { from: sender, to },
                    format!("{label}: never completed"),
                );
                r.failed = true;
                r.step = Some(id.to_string());
                r.certainty = "inferred";
                rows.insert(at, r);
            }
        }
    }

    // Evidence: rows showing an evidence frame, notes for the others.
    for ev in &c.evidence {
        // Of the rows a frame carries, the one the evidence names.
        let named = rows.iter().position(|r| {
            r.covers(ev.frame) && ev.text.contains(r.label.trim_start_matches("TLS "))
        });
        match named.or_else(|| rows.iter().position(|r| r.covers(ev.frame))) {
            Some(i) => rows[i].evidence.push(ev.frame),
            None => {
                let at = rows
                    .iter()
                    .position(|r| r.frame.is_some_and(|f| f > ev.frame))
                    .unwrap_or(rows.len());
                let mut r = Row::new(RowKind::Note, ev.text.clone());
                r.frame = Some(ev.frame);
                r.last_frame = Some(ev.frame);
                r.time_s = ev.time_s;
                r.last_time_s = ev.time_s;
                r.evidence.push(ev.frame);
                rows.insert(at, r);
            }
        }
    }

    // Long silences.
    let mut with_breaks: Vec<Row> = Vec::with_capacity(rows.len());
    let mut last_t: Option<f64> = None;
    for mut r in rows {
        if let (Some(a), Some(b)) = (last_t, r.time_s) {
            if b - a >= SILENCE_S {
                with_breaks.push(Row::new(
                    RowKind::Silence { secs: b - a },
                    format!("{} of silence", duration_text(b - a)),
                ));
            } else {
                r.gap_s = (b - a).max(0.0);
            }
        }
        if r.last_time_s.is_some() {
            last_t = r.last_time_s;
        }
        with_breaks.push(r);
    }
    let rows = shorten(with_breaks);
    let middlebox = rows.iter().any(|r| {
        matches!(
            r.kind,
            RowKind::Arrow {
                from: Lane::Middlebox,
                ..
            } | RowKind::Arrow {
                to: Lane::Middlebox,
                ..
            }
        )
    });
    Diagram { rows, middlebox }
}

/// Keep at most [`MAX_ROWS`]: the first and last rows and every important
/// one; each run left out becomes one `Omitted` row.
fn shorten(rows: Vec<Row>) -> Vec<Row> {
    if rows.len() <= MAX_ROWS {
        return rows;
    }
    let head = MAX_ROWS / 2;
    let tail = MAX_ROWS / 3;
    let len = rows.len();
    let mut out = Vec::new();
    let mut dropped = 0usize;
    for (i, r) in rows.into_iter().enumerate() {
        if i < head || i >= len - tail || r.important() {
            if dropped > 0 {
                out.push(Row::new(
                    RowKind::Omitted { count: dropped },
                    format!("{dropped} more rows not drawn (see the JSON report or Wireshark)"),
                ));
                dropped = 0;
            }
            out.push(r);
        } else {
            dropped += 1;
        }
    }
    out
}

/// `+0.118 s`, `+12.4 s`: time since the connection's first packet.
pub fn time_text(t: f64) -> String {
    if t < 10.0 {
        format!("+{t:.3} s")
    } else if t < 1000.0 {
        format!("+{t:.1} s")
    } else {
        format!("+{t:.0} s")
    }
}

/// The exact duration, to the millisecond as the times beside the rows:
/// `1.204 s`, `3 min 20.512 s`, `2 h 5 min 0.031 s`.
pub fn duration_text(s: f64) -> String {
    let ms = (s.max(0.0) * 1000.0).round() as u64;
    let (h, m, rest) = (ms / 3_600_000, ms / 60_000 % 60, ms % 60_000);
    let secs = format!("{}.{:03} s", rest / 1000, rest % 1000);
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m} min {secs}"),
        (h, m) => format!("{h} h {m} min {secs}"),
    }
}

/// `frame 8`, `frames 3-7`.
pub fn frames_text(r: &Row) -> String {
    match (r.frame, r.last_frame) {
        (Some(a), Some(b)) if b > a => format!("{a}-{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------- plain text

/// The ladder of one connection in plain text, for a terminal.
pub fn text(c: &ConnectionReport, file: &str) -> String {
    const W: usize = 34; // columns between the client and server lifelines
    let d = diagram(c);
    let mut out = String::new();
    out.push_str(&format!(
        "{file}, stream {}: {}\n",
        c.stream, c.what_happened
    ));
    if let Some(cause) = &c.cause {
        out.push_str(&format!(
            "  cause: {} ({}): {}\n",
            cause.id,
            cause.strength(),
            cause.summary
        ));
    }
    out.push_str(&format!("  client {}, server {}\n\n", c.client, c.server));
    let col = |lane: Lane| match lane {
        Lane::Client => 0,
        Lane::Middlebox => W / 2,
        Lane::Server => W,
    };
    let mut head = [' '; W + 1];
    for (i, ch) in "client".chars().enumerate() {
        head[i] = ch;
    }
    for (i, ch) in "server".chars().enumerate() {
        head[W - 5 + i] = ch;
    }
    if d.middlebox {
        for (i, ch) in "middlebox".chars().enumerate() {
            head[W / 2 - 4 + i] = ch;
        }
    }
    out.push_str(&format!(
        "{:>9} {:>9}  {}\n",
        "frame",
        "time",
        head.iter().collect::<String>()
    ));
    let lifelines = |line: &mut Vec<char>| {
        line[0] = '|';
        line[W] = '|';
        if d.middlebox && line[W / 2] == ' ' {
            line[W / 2] = ':';
        }
    };
    for r in &d.rows {
        let frame = frames_text(r);
        let time = r.time_s.map(time_text).unwrap_or_default();
        let mut line = vec![' '; W + 1];
        lifelines(&mut line);
        let mut mark = "";
        match &r.kind {
            RowKind::Arrow { from, to } | RowKind::Broken { from, to } => {
                let (a, b) = (col(*from), col(*to));
                let broken = matches!(r.kind, RowKind::Broken { .. });
                // A broken arrow stops half-way, at an X.
                let end = if broken { (a + b) / 2 } else { b };
                let (lo, hi) = (a.min(end), a.max(end));
                for (i, ch) in line.iter_mut().enumerate().take(hi).skip(lo + 1) {
                    *ch = match r.certainty {
                        "inferred" => '.',
                        "implied" if i % 2 == 0 => ' ',
                        _ => '-',
                    };
                }
                if broken {
                    line[end] = 'X';
                } else if b > a {
                    line[b - 1] = '>';
                } else {
                    line[b + 1] = '<';
                }
                if *from == Lane::Middlebox {
                    line[a] = 'M';
                }
                mark = if r.failed {
                    "!! "
                } else if !r.evidence.is_empty() {
                    "*  "
                } else {
                    "   "
                };
            }
            RowKind::Note => {
                mark = "*  ";
            }
            RowKind::Silence { .. } => {
                line = vec!['~'; W + 1];
                line[0] = '|';
                line[W] = '|';
            }
            RowKind::Omitted { .. } => {
                line = vec!['.'; W + 1];
                line[0] = ':';
                line[W] = ':';
            }
        }
        out.push_str(&format!(
            "{frame:>9} {time:>9}  {}  {mark}{}\n",
            line.iter().collect::<String>(),
            r.label
        ));
    }
    out.push_str("\n  !! the failing step   * evidence   -- seen   - - implied   .. inferred   M middlebox\n");
    out.push_str(&format!("  Wireshark: {}", c.display_filter));
    if let Some(f) = &c.evidence_filter {
        out.push_str(&format!("   evidence: {f}"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::ladder::Ladder;

    /// The steps completed, as they were made before the diagnosis
    /// carried them: from a ladder built again from the timeline.
    fn rebuilt_steps_reached(tl: &Timeline, d: &Diagnosis) -> Vec<StepReached> {
        let Some(last) = d.last_step else {
            return Vec::new();
        };
        let lad = Ladder::build(tl);
        let upto = match lad.path.iter().position(|s| *s == last) {
            Some(i) => i,
            // A step off the chosen path (a rule placed the connection
            // elsewhere): what the capture shows, up to it.
            None => {
                return lad
                    .seen
                    .iter()
                    .filter(|m| m.step <= last)
                    .map(|m| StepReached {
                        step: m.step.id().into(),
                        from: m.step.sender().name().into(),
                        certainty: m.certainty.name().into(),
                        frame: Some(m.frame),
                        time_s: Some(m.ts.since(tl.first_ts).as_secs_f64()),
                    })
                    .collect()
            }
        };
        lad.path
            .iter()
            .take(upto + 1)
            .filter_map(|&step| {
                let certainty = lad.certainty(step)?;
                let mark = lad.mark(step);
                Some(StepReached {
                    step: step.id().into(),
                    from: step.sender().name().into(),
                    certainty: certainty.name().into(),
                    frame: mark.map(|m| m.frame),
                    time_s: mark.map(|m| m.ts.since(tl.first_ts).as_secs_f64()),
                })
            })
            .collect()
    }

    /// The steps the diagnosis carries are those a ladder built again
    /// from the timeline gives, on every connection analysed or built.
    #[test]
    fn carried_steps_are_those_of_a_ladder_built_again() {
        let results = crate::report::analysed_and_built_results();
        // More than 100 analysed, besides the 14 built.
        assert!(results.len() > 114, "{}", results.len());
        let mut steps = 0;
        for c in &results {
            let (tl, d) = (&c.timeline, &c.diagnosis);
            let carried = steps_reached(tl, d);
            assert_eq!(
                carried,
                rebuilt_steps_reached(tl, d),
                "stream {}",
                tl.stream
            );
            steps += carried.len();
        }
        assert!(steps > 5 * results.len(), "{steps}");
    }

    /// Whatever the last step (a rule may place a connection off its
    /// ladder's path, or nowhere), the steps a ladder gives up to it are
    /// those made before they were carried.
    #[test]
    fn steps_up_to_any_last_step_are_those_made_before() {
        let mut timelines: Vec<Timeline> = crate::report::analysed_results()
            .into_iter()
            .map(|c| c.timeline)
            .collect();
        timelines.extend(crate::report::built_timelines());
        let lasts: Vec<Option<Step>> = std::iter::once(None).chain(Step::all().map(Some)).collect();
        let mut off_path = 0;
        for tl in &timelines {
            let mut d = crate::diagnose::diagnose(tl);
            d.ladder = Ladder::build(tl).into_marks();
            for &last in &lasts {
                d.last_step = last;
                assert_eq!(
                    steps_reached(tl, &d),
                    rebuilt_steps_reached(tl, &d),
                    "stream {} up to {last:?}",
                    tl.stream
                );
                off_path += usize::from(last.is_some_and(|s| !d.ladder.path.contains(&s)));
            }
        }
        assert!(off_path > 0);
    }

    /// The scale of short pauses: one row height per second, whole
    /// pixels, never more than a row; a second or more is a break.
    #[test]
    fn gaps_to_scale_then_broken() {
        assert_eq!(gap_px(0.0, 30.0), 0.0);
        assert_eq!(gap_px(0.010, 30.0), 0.0);
        assert_eq!(gap_px(0.100, 30.0), 3.0);
        assert_eq!(gap_px(0.5, 30.0), 15.0);
        assert_eq!(gap_px(0.999, 30.0), 30.0);
        assert_eq!(gap_px(3600.0, 30.0), 30.0);
        assert_eq!(gap_px(-1.0, 30.0), 0.0);
    }

    /// Durations to the millisecond, in the units a person reads.
    #[test]
    fn exact_durations() {
        assert_eq!(duration_text(1.02205), "1.022 s");
        assert_eq!(duration_text(59.9996), "1 min 0.000 s");
        assert_eq!(duration_text(200.512), "3 min 20.512 s");
        assert_eq!(duration_text(7500.031), "2 h 5 min 0.031 s");
        assert_eq!(duration_text(0.0), "0.000 s");
    }
}
