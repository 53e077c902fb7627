//! The ladder drawn, in a terminal (`--ladder STREAM`) and in the HTML
//! page, against what tshark 4.0 shows of the lab captures
//! (`tshark -r CAPTURE -T fields -e frame.number -e frame.time_relative
//! -e tcp.analysis.retransmission`): silences broken with their exact
//! duration, shorter pauses to scale, retransmission bursts collapsed
//! with their count, a forged reset on the middlebox lifeline.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rdptriage");
const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/captures");

fn run(args: &[&str]) -> String {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(o.status.code().unwrap_or(9) <= 1, "{args:?}: {o:?}");
    String::from_utf8(o.stdout).unwrap()
}

fn capture(name: &str) -> String {
    format!("{CAPTURES}/{name}")
}

/// The text row of frame (or frame range) `frames`.
fn row<'a>(text: &'a str, frames: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(frames))
        .unwrap_or_else(|| panic!("no row for frame {frames} in\n{text}"))
}

/// 07-firewall-drop: tshark shows the SYN at 0 s and its 7 retransmissions
/// (frames 2 to 8, `tcp.analysis.retransmission`), the first at
/// 1.022050000 s: a pause of a second or more, broken with its duration.
#[test]
fn unanswered_syn_in_a_terminal() {
    let t = run(&["--ladder", "0", &capture("07-firewall-drop.pcap")]);
    let lines: Vec<&str> = t.lines().collect();
    let syn = lines.iter().position(|l| *l == row(&t, "1")).unwrap();
    assert!(lines[syn].ends_with("TCP SYN"), "{t}");
    assert!(
        lines[syn + 1].contains("~~~") && lines[syn + 1].ends_with("1.022 s of silence"),
        "{t}"
    );
    let burst = row(&t, "2-8");
    assert!(burst.contains("+1.022 s"), "{burst}");
    assert!(burst.ends_with("SYN retransmitted \u{d7}7"), "{burst}");
    // The SYN/ACK never came: a broken arrow, the failing step.
    assert!(
        t.lines()
            .any(|l| l.contains('X') && l.contains("!! TCP SYN/ACK: never completed")),
        "{t}"
    );
}

/// 18-middlebox-reset-tls: the RST of frame 9 is forged (the diagnosis'
/// `reset by the middlebox`): it starts on the middlebox lifeline.
#[test]
fn forged_reset_from_the_middlebox_lifeline() {
    let t = run(&["--ladder", "0", &capture("18-middlebox-reset-tls.pcap")]);
    let head = t.lines().find(|l| l.contains("frame")).unwrap();
    assert!(head.contains("middlebox"), "{t}");
    let rst = row(&t, "9");
    assert!(rst.contains("<---------------M"), "{rst}");
    assert!(
        rst.contains("RST (TTL 64) forged as if from the server"),
        "{rst}"
    );
}

/// The y of the frame-number label of `frame` in the page's ladder.
fn frame_y(html: &str, frame: u64) -> f64 {
    let pat = format!("\">{frame}</text>");
    let at = html
        .match_indices("<text class=\"fr\"")
        .map(|(i, _)| &html[i..i + html[i..].find("</text>").unwrap() + 7])
        .find(|t| t.ends_with(&pat))
        .unwrap_or_else(|| panic!("frame {frame} not drawn"));
    let y = &at[at.find(" y=\"").unwrap() + 4..];
    y[..y.find('"').unwrap()].parse().unwrap()
}

/// 13-cert-expired: tshark times frame 4 (X.224 Connection Request) at
/// 0.000219 s and frame 6 (Connection Confirm) at 0.344591 s. Rows are 30
/// px apart; a pause under a second adds 30 px per second, so 0.344 s
/// adds 10 px. Frames 1 to 4, within a millisecond, stay 30 px apart.
#[test]
fn short_pauses_drawn_to_scale_in_the_page() {
    let html = run(&["--format", "html", &capture("13-cert-expired.pcap")]);
    assert_eq!(frame_y(&html, 4) - frame_y(&html, 3), 30.0);
    assert_eq!(frame_y(&html, 6) - frame_y(&html, 4), 40.0);
    // Broken, not to scale: the firewall drop's pause of 1.022 s.
    let html = run(&["--format", "html", &capture("07-firewall-drop.pcap")]);
    assert!(
        html.contains(">1.022 s of silence</text>"),
        "no break drawn"
    );
}

/// 20-mtu-black-hole-server: the server's 7 retransmissions are frames 11
/// to 21, the last at 13.700663 s (tshark), the client's FIN is frame 26
/// at 24.546369 s: the break after the collapsed run is measured from its
/// last frame (10.846 s), not from its first.
#[test]
fn pause_after_a_burst_measured_from_its_last_frame() {
    let t = run(&["--ladder", "0", &capture("20-mtu-black-hole-server.pcap")]);
    let lines: Vec<&str> = t.lines().collect();
    let burst = lines.iter().position(|l| *l == row(&t, "11-21")).unwrap();
    assert!(lines[burst].ends_with("7 retransmissions"), "{t}");
    assert!(
        lines[burst + 1].ends_with("10.846 s of silence"),
        "{}",
        lines[burst + 1]
    );
    assert!(row(&t, "26").ends_with("FIN"), "{t}");
}
