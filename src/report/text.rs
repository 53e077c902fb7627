//! Phrases shared by the human formats (terminal and Markdown), built from
//! the document only (so redaction holds).

use super::model::*;
use crate::common::Duration;
use std::collections::HashMap;

/// Short form of the ending for a table cell.
pub fn ending_short(e: &EndedBy) -> String {
    match e.id.as_ref() {
        "refused" => "refused (RST to SYN)".to_string(),
        "timeout" => {
            let waited = e
                .waited_s
                .map(|s| Duration((s * 1e9) as i64).to_string())
                .unwrap_or_default();
            match e.retransmissions {
                Some(n) => format!("timeout ({waited}, {n} retx)"),
                None => format!("timeout ({waited})"),
            }
        }
        "negotiation_failure" => match (&e.code_name, e.code) {
            (Some(n), _) => format!("NEG_FAILURE {n}"),
            (None, Some(c)) => format!("NEG_FAILURE {c}"),
            _ => "NEG_FAILURE".to_string(),
        },
        "tls_alert" => {
            let from = e.party.as_deref().unwrap_or("?");
            match &e.alert_name {
                Some(n) => format!("alert {n} from {from}"),
                None => format!("encrypted alert from {from}"),
            }
        }
        "icmp_error" => match (e.icmp_type, e.icmp_code) {
            (Some(t), Some(c)) => format!("ICMP {t}/{c}"),
            _ => "ICMP".to_string(),
        },
        "capture_ended" => "capture ended".to_string(),
        other => other.replace('_', " "),
    }
}

/// `tls / TLS ServerHello` (phase, and the step that did not complete).
pub fn phase_cell(c: &ConnectionReport) -> String {
    let mut out = String::new();
    push_phase_cell(&mut out, c);
    out
}

/// [`phase_cell`] written at the end of `out`.
pub fn push_phase_cell(out: &mut String, c: &ConnectionReport) {
    out.push_str(&c.phase);
    if let Some(step) = c.labels.failed_step {
        out.push_str(" / ");
        out.push_str(step);
    }
}

/// `server_cert_unusable (high)`, `benign: scanner` or `-`.
pub fn cause_cell(c: &ConnectionReport) -> String {
    let mut out = String::new();
    push_cause_cell(&mut out, c);
    out
}

/// [`cause_cell`] written at the end of `out`.
pub fn push_cause_cell(out: &mut String, c: &ConnectionReport) {
    if let Some(cause) = &c.cause {
        out.push_str(&cause.id);
        out.push_str(" (");
        out.push_str(&cause.confidence);
        out.push(')');
    } else if let Some(b) = &c.benign {
        out.push_str("benign: ");
        out.push_str(b);
    } else {
        out.push('-');
    }
}

/// `pcapng, 1234 packets, 56789 bytes (gzip)`.
pub fn file_line(f: &FileReport) -> Option<String> {
    let format = f.format.as_ref()?;
    let mut s = format.clone();
    if let Some(c) = &f.compression {
        if c != "none" {
            s.push_str(&format!(", {c}-compressed"));
        }
    }
    if let Some(p) = f.packets {
        s.push_str(&format!(", {p} packet{}", plural(p)));
    }
    if let Some(b) = f.bytes {
        s.push_str(&format!(", {b} bytes"));
    }
    Some(s)
}

/// `2014-05-08T15:47:34.000000Z to ... (26.9 s)`.
pub fn time_range(f: &FileReport) -> Option<String> {
    let (a, b) = (f.first_ts.as_ref()?, f.last_ts.as_ref()?);
    let dur = f
        .duration_s
        .map(|s| format!(" ({})", Duration((s * 1e9) as i64)))
        .unwrap_or_default();
    Some(format!("{a} to {b}{dur}"))
}

/// `byte offset N, frame M` (either part may be missing).
pub fn place(offset: Option<u64>, frame: Option<u64>) -> String {
    match (offset, frame) {
        (Some(o), Some(f)) => format!("byte offset {o}, frame {f}"),
        (Some(o), None) => format!("byte offset {o}"),
        (None, Some(f)) => format!("frame {f}"),
        (None, None) => String::new(),
    }
}

/// The error of a file as one line (without the path).
pub fn error_line(e: &FileError) -> String {
    with_place(&e.message, e.offset, e.frame)
}

/// `message (byte offset N, frame M)`, unless the message already says
/// where (the capture reader's messages often do).
pub fn with_place(message: &str, offset: Option<u64>, frame: Option<u64>) -> String {
    let p = place(offset, frame);
    let said = offset.is_some_and(|o| message.contains(&format!("byte offset {o}")));
    if p.is_empty() || said {
        message.to_string()
    } else {
        format!("{message} ({p})")
    }
}

/// What the flow stage saw: `6 TCP streams, 2 analysed; 1 ICMP error;
/// 3 connections evicted (table full)`.
pub fn flow_line(f: &FlowCounts) -> String {
    let mut s = format!(
        "{} TCP stream{}, {} analysed",
        f.tcp_streams,
        plural(f.tcp_streams),
        f.analysed_streams
    );
    // (count, noun, what happened), told only when the count is not 0.
    let told = [
        (f.icmp_errors, "ICMP error", ""),
        (f.evicted, "connection", " evicted (connection table full)"),
        (
            f.after_close,
            "packet",
            " after its connection was closed and handed on (counted, not analysed)",
        ),
        (
            f.over_budget,
            "connection",
            " not reassembled past the memory budget",
        ),
        (
            f.hole_limited,
            "direction",
            " with bytes lost to the hole limit",
        ),
        (
            f.depth_capped,
            "direction",
            " past the depth cap (first bytes kept)",
        ),
    ];
    for (n, noun, what) in told.into_iter().filter(|(n, _, _)| *n > 0) {
        s.push_str(&format!("; {n} {noun}{}{what}", plural(n)));
    }
    if f.udp_on_ports > 0 {
        let n = f.udp_on_ports;
        s.push_str(&format!(
            "; RDP over UDP: {n} datagram{} on the RDP port",
            plural(n)
        ));
    }
    if f.vantage_copies > 0 {
        let n = f.vantage_copies;
        let at = match f.vantage_interfaces.as_slice() {
            [] => String::new(),
            [one] => format!(" (interface {one})"),
            [rest @ .., last] => format!(" (interfaces {} and {last})", rest.join(", ")),
        };
        s.push_str(&format!(
            "; {n} frame{} seen again at another capture point{at}: copies ignored",
            plural(n)
        ));
    }
    s
}

/// Counts of what the flow stage skipped, as `4 not IP, 2 malformed`.
pub fn skipped_line(s: &Skipped) -> Option<String> {
    let parts: Vec<String> = [
        (s.not_ip, "not IP"),
        (s.unsupported_link, "unsupported link type"),
        (s.fragments_held, "IP fragments held"),
        (s.fragments_dropped, "IP fragments dropped"),
        (s.malformed, "malformed"),
        (
            s.fragment_datagrams_discarded,
            "fragmented IP datagrams given up (too old or conflicting)",
        ),
        (
            s.fragment_datagrams_incomplete,
            "fragmented IP datagrams incomplete at the end",
        ),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Outcome counts of a file's connections, e.g. `3 connections: 1
/// established, 2 failed`.
pub fn outcome_counts(conns: &[ConnectionReport]) -> String {
    let mut counts: Vec<(&str, u64)> = Vec::new();
    for c in conns {
        match counts.iter_mut().find(|(o, _)| *o == c.outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((c.outcome.as_ref(), 1)),
        }
    }
    let order = ["failed", "established", "incomplete", "benign", "not_rdp"];
    counts.sort_by_key(|(o, _)| order.iter().position(|x| x == o).unwrap_or(order.len()));
    let n = conns.len() as u64;
    let list: Vec<String> = counts.iter().map(|(o, k)| format!("{k} {o}")).collect();
    if list.is_empty() {
        "no RDP connection found".to_string()
    } else {
        format!("{n} connection{}: {}", plural(n), list.join(", "))
    }
}

/// [`outcome_counts`] from the counts alone.
pub fn outcome_counts_of(o: &OutcomeCounts) -> String {
    let list: Vec<String> = [
        ("failed", o.failed),
        ("established", o.established),
        ("incomplete", o.incomplete),
        ("benign", o.benign),
        ("not_rdp", o.not_rdp),
    ]
    .iter()
    .filter(|(_, k)| *k > 0)
    .map(|(name, k)| format!("{k} {name}"))
    .collect();
    let n = o.established + o.failed + o.incomplete + o.benign + o.not_rdp;
    if list.is_empty() {
        "no RDP connection found".to_string()
    } else {
        format!("{n} connection{}: {}", plural(n), list.join(", "))
    }
}

/// Facts of a connection, one line each, without a trailing period.
/// Per connection of a file, what TLS decryption did (empty when no
/// secrets were given): `(stream, sentence)`. The table and Markdown
/// reports list these for every connection, healthy ones included.
pub fn decryption_lines(f: &super::model::FileReport) -> Vec<(u64, String)> {
    f.connections
        .iter()
        .filter_map(|c| Some((c.stream, connection_decryption(c)?)))
        .collect()
}

/// A connection's line of [`decryption_lines`].
pub fn connection_decryption(c: &ConnectionReport) -> Option<String> {
    Some(decryption_fact(c.decryption.as_ref()?))
}

/// Which secret decrypted the connection or why none did, and the
/// records opened.
fn decryption_fact(d: &super::model::Decryption) -> String {
    let (c, s) = (&d.to_server, &d.to_client);
    if c.decrypted + c.failed + s.decrypted + s.failed == 0 {
        return d.text.clone();
    }
    format!(
        "{}; records decrypted {} to server, {} to client ({} and {} plaintext bytes), {} failed to verify",
        d.text,
        c.decrypted,
        s.decrypted,
        c.plaintext_bytes,
        s.plaintext_bytes,
        c.failed + s.failed
    )
}

pub fn facts(c: &ConnectionReport) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(n) = &c.negotiation {
        out.push(("Negotiation", negotiation_fact(n)));
    }
    if let Some(t) = &c.tls {
        out.push(("TLS", tls_fact(t)));
    }
    if let Some(d) = &c.decryption {
        out.push(("TLS decryption", decryption_fact(d)));
    }
    for (i, cert) in c.certificates.iter().enumerate() {
        let label = if i == 0 {
            "Certificate"
        } else {
            "Chain certificate"
        };
        out.push((label, cert_fact(cert)));
    }
    for cert in &c.client_certificates {
        out.push(("Client certificate", cert_fact(cert)));
    }
    if let Some(d) = &c.client_data {
        out.push(("Client", client_fact(d)));
    }
    if let Some(d) = &c.server_data {
        out.push(("Server data", server_fact(d, c.client_data.as_ref())));
    }
    if !c.credssp.is_empty() {
        let legs: Vec<String> = c
            .credssp
            .iter()
            .map(|l| {
                format!(
                    "{} from {} (frame {}, {} bytes, {} certainty)",
                    l.leg, l.from, l.frame, l.record_len, l.certainty
                )
            })
            .collect();
        out.push(("CredSSP", legs.join("; ")));
    }
    if c.events_dropped > 0 {
        out.push((
            "Events",
            format!(
                "{} TCP events past the per-connection bound were counted, not kept",
                c.events_dropped
            ),
        ));
    }
    let dirs = format!(
        "{} packet{} / {} bytes client to server, {} packet{} / {} bytes server to client, {} s",
        c.to_server.packets,
        plural(c.to_server.packets),
        c.to_server.bytes,
        c.to_client.packets,
        plural(c.to_client.packets),
        c.to_client.bytes,
        trim_float(c.duration_s)
    );
    out.push(("Traffic", dirs));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn negotiation_fact(n: &Negotiation) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &n.cookie {
        parts.push(format!("cookie mstshash={c}"));
    }
    if n.routing_token.is_some() {
        parts.push("routing token present".to_string());
    }
    match (&n.requested, n.request_frame) {
        (Some(r), Some(f)) => parts.push(format!("client requested {} (frame {f})", r.join(", "))),
        (None, Some(f)) => parts.push(format!(
            "client sent no RDP_NEG_REQ (Standard RDP Security only, frame {f})"
        )),
        _ => {}
    }
    let at = n
        .confirm_frame
        .map(|f| format!(" (frame {f})"))
        .unwrap_or_default();
    if let Some(fl) = &n.failure {
        parts.push(format!(
            "server answered RDP_NEG_FAILURE {} ({}){at}",
            fl.name, fl.code
        ));
    } else if let Some(s) = &n.selected {
        if n.legacy {
            parts.push(format!(
                "server confirmed without negotiation data (Standard RDP Security){at}"
            ));
        } else {
            parts.push(format!("server selected {s}{at}"));
        }
    } else if n.request_frame.is_some() {
        parts.push("no Connection Confirm".to_string());
    }
    let mut s = parts.join("; ");
    if let Some(sentence) = &n.sentence {
        if s.is_empty() {
            s = sentence.clone();
        } else {
            s.push_str(&format!(" — {sentence}"));
        }
    }
    s
}

fn tls_fact(t: &Tls) -> String {
    let mut parts = Vec::new();
    if t.client_hello_frame.is_some() {
        let mut p = format!("client offers {}", t.client_versions.join(", "));
        if let Some(n) = t.client_cipher_suites {
            p.push_str(&format!(" with {n} cipher suite{}", plural(n as u64)));
        }
        if let Some(sni) = &t.sni {
            p.push_str(&format!(", SNI {sni}"));
        }
        parts.push(p);
    }
    match (&t.server_version, &t.cipher) {
        (Some(v), Some(c)) => parts.push(match &t.next_protocol {
            Some(p) => format!("server chose {v}, {c}, ALPN {p}"),
            None => format!("server chose {v}, {c}"),
        }),
        (Some(v), None) => parts.push(format!("server chose {v}")),
        _ => {
            if t.client_hello_frame.is_some() {
                parts.push("no ServerHello".to_string());
            }
        }
    }
    for a in &t.alerts {
        match &a.name {
            Some(n) => parts.push(format!(
                "alert {n} ({}) from {} (frame {})",
                a.description.unwrap_or(0),
                a.from,
                a.frame
            )),
            None => parts.push(format!(
                "encrypted alert from {} (frame {})",
                a.from, a.frame
            )),
        }
    }
    parts.join("; ")
}

fn cert_fact(c: &Certificate) -> String {
    let mut s = format!("{} (frame {})", c.subject, c.frame);
    if c.self_signed {
        s.push_str(", self-signed");
    } else {
        s.push_str(&format!(", issued by {}", c.issuer));
    }
    if !c.sans.is_empty() {
        s.push_str(&format!(", SAN {}", c.sans.join(" ")));
    }
    s.push_str(&format!(", valid {} to {}", c.not_before, c.not_after));
    if c.expired_at_capture_time {
        s.push_str(" (EXPIRED at capture time)");
    }
    if c.not_yet_valid_at_capture_time {
        s.push_str(" (NOT YET VALID at capture time)");
    }
    s.push_str(&format!(
        ", {}, {}, SHA-1 {}",
        c.key, c.signature_algorithm, c.sha1
    ));
    s
}

fn client_fact(d: &ClientData) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &d.client_name {
        parts.push(format!("name {n}"));
    }
    if let Some(b) = d.client_build {
        parts.push(format!("build {b}"));
    }
    match (&d.keyboard_layout, &d.keyboard_layout_name) {
        (Some(k), Some(n)) if !n.starts_with("unknown") => {
            parts.push(format!("keyboard {n} ({k})"))
        }
        (Some(k), _) => parts.push(format!("keyboard {k}")),
        _ => {}
    }
    if let Some(dk) = &d.desktop {
        match d.requested_color_depth {
            Some(bpp) => parts.push(format!("desktop {dk} at {bpp} bpp")),
            None => parts.push(format!("desktop {dk}")),
        }
    }
    if let Some(p) = d.client_dig_product_id.as_deref().filter(|p| !p.is_empty()) {
        parts.push(format!("product id {p}"));
    }
    if let Some(cl) = &d.cluster {
        parts.push(format!(
            "redirection {}{}",
            if cl.redirection_supported {
                format!("supported (version {})", cl.redirection_version)
            } else {
                "not supported".to_string()
            },
            match cl.redirected_session_id {
                Some(id) => format!(", reconnecting to session {id}"),
                None => String::new(),
            }
        ));
    }
    match (&d.domain, &d.user) {
        (Some(dom), Some(u)) => parts.push(format!("user {dom}\\{u}")),
        (None, Some(u)) => parts.push(format!("user {u}")),
        _ => {}
    }
    format!("{} (frame {})", parts.join(", "), d.frame)
}

/// The server's MCS Connect Response: result, Standard RDP Security
/// encryption (with what the client offered) and certificate.
fn server_fact(d: &ServerData, client: Option<&ClientData>) -> String {
    let mut parts = vec![format!("MCS result {}", d.result_name)];
    if let (Some(level), Some(method)) = (&d.encryption_level_name, &d.encryption_method_name) {
        parts.push(format!("encryption level {level}, method {method}"));
    }
    if let Some(m) = client.and_then(|c| c.encryption_methods.as_ref()) {
        parts.push(if m.is_empty() {
            "client offered no encryption method".to_string()
        } else {
            format!("client offered {}", m.join("|"))
        });
    }
    if let Some(c) = &d.certificate {
        let lifetime = match c.permanent {
            Some(true) => "permanent ",
            Some(false) => "temporary ",
            None => "",
        };
        parts.push(match c.cert_type.as_str() {
            "proprietary" => format!(
                "{lifetime}proprietary certificate, RSA {} bits, exponent {}, signature {}",
                c.key_bits.unwrap_or(0),
                c.public_exponent.unwrap_or(0),
                match c.signature.as_deref() {
                    Some("valid") => "valid (Terminal Services signing key)",
                    Some("invalid") => "INVALID (clients reject it)",
                    _ => "not checked",
                }
            ),
            "x509_chain" => format!("{lifetime}X.509 chain of {} certificates", c.count),
            _ => format!("{lifetime}certificate not decoded"),
        });
    }
    format!("{} (frame {})", parts.join(", "), d.frame)
}

/// Whether a connection gets a paragraph, and whether a brief one.
pub fn paragraph_kind(c: &ConnectionReport) -> Option<bool> {
    match (c.outcome.as_ref(), c.benign.as_deref()) {
        ("failed", _) => Some(false),
        // A session that ran and ended normally needs no words.
        ("benign", Some("session_end")) => None,
        ("benign" | "incomplete", _) => Some(true),
        _ => None,
    }
}

/// `skipped, not an error (found, not named): empty file`.
pub fn ignored_line(i: &FileError) -> String {
    format!(
        "skipped, not an error (found, not named): {}",
        error_line(i)
    )
}

/// Ignored files listed by name in the totals; past that, a count.
const IGNORED_LISTED: usize = 10;

/// Lines of the totals of a run.
pub fn totals_lines(t: &Totals) -> Vec<String> {
    let mut out = Vec::new();
    let mut head = format!("{} file{}", t.files, plural(t.files));
    if t.files_unreadable > 0 {
        head.push_str(&format!(", {} unreadable", t.files_unreadable));
    }
    if t.files_incomplete > 0 {
        head.push_str(&format!(", {} read incompletely", t.files_incomplete));
    }
    if t.files_ignored > 0 {
        head.push_str(&format!(", {} skipped (not captures)", t.files_ignored));
    }
    let o = &t.outcomes;
    let mut counts = Vec::new();
    for (n, name) in [
        (o.failed, "failed"),
        (o.established, "established"),
        (o.incomplete, "incomplete"),
        (o.benign, "benign"),
        (o.not_rdp, "not RDP"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {name}"));
        }
    }
    head.push_str(&format!(
        "; {} connection{} analysed",
        t.connections,
        plural(t.connections)
    ));
    if !counts.is_empty() {
        head.push_str(&format!(": {}", counts.join(", ")));
    }
    out.push(head);
    let list = |v: &[Count]| {
        v.iter()
            .map(|c| format!("{} {}", c.id, c.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !t.failures_by_phase.is_empty() {
        out.push(format!("Failures by phase: {}", list(&t.failures_by_phase)));
    }
    if !t.failures_by_cause.is_empty() {
        out.push(format!("Failures by cause: {}", list(&t.failures_by_cause)));
    }
    if !t.failures_by_server.is_empty() {
        let servers: Vec<String> = t
            .failures_by_server
            .iter()
            .map(|s| {
                format!(
                    "{}: {} of {} failed ({})",
                    s.server,
                    s.failed,
                    s.connections,
                    list(&s.causes)
                )
            })
            .collect();
        out.push(format!(
            "Servers with the most failures: {}",
            servers.join("; ")
        ));
    }
    for p in &t.problems {
        let what = if p.kind == "unreadable" {
            "Unreadable"
        } else {
            "Read incompletely"
        };
        out.push(format!("{what}: {}: {}", p.path, p.message));
    }
    if !t.ignored.is_empty() {
        let mut names: Vec<&str> = t
            .ignored
            .iter()
            .take(IGNORED_LISTED)
            .map(|p| p.path.as_str())
            .collect();
        let more = t.ignored.len().saturating_sub(IGNORED_LISTED);
        let tail = format!("{more} more");
        if more > 0 {
            names.push(&tail);
        }
        out.push(format!(
            "Skipped, not captures (found, not named): {}",
            names.join(", ")
        ));
    }
    out
}

/// Warnings worth listing: the one that stopped reading is already told
/// as the file's error.
pub fn listed_warnings(f: &FileReport) -> impl Iterator<Item = &Warning> {
    f.warnings.iter().filter(move |w| {
        !f.error.as_ref().is_some_and(|e| {
            e.offset == Some(w.offset) && e.frame == w.frame && e.message == w.message
        })
    })
}

/// Whether a character must not reach a terminal or a Markdown page as
/// is: control characters (line breaks, escape sequences) and the Unicode
/// marks that reorder text (bidirectional overrides).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with unsafe characters written as escapes (`\r`, `\n`, `\t`,
/// `\u{1b}`), so data from a capture can neither break the layout nor
/// drive the terminal.
pub fn escape_unsafe(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// [`clean_for_display`] for one connection.
pub fn clean_connection(c: &mut ConnectionReport) {
    super::redact::walk_connection(c, &mut clean);
}

/// [`clean_for_display`] for one file's report (and its connections).
pub fn clean_file(f: &mut FileReport) {
    super::redact::walk_file(f, &mut clean);
}

/// Escape unsafe characters in every data string of the document (for
/// the human formats; JSON escapes them itself).
pub fn clean_for_display(doc: &mut Document) {
    super::redact::walk(doc, &mut clean);
}

/// `s` with its unsafe characters escaped ([`escape_unsafe`]).
fn clean(_: super::redact::Field, s: &mut String) {
    if has_unsafe(s) {
        *s = escape_unsafe(s);
    }
}

/// Whether `s` holds an unsafe character. Printable ASCII, what nearly
/// every string of a record holds, is told eight bytes at a time.
fn has_unsafe(s: &str) -> bool {
    !is_printable_ascii(s) && s.chars().any(is_unsafe)
}

/// Whether `s` is printable ASCII alone (bytes 0x20 to 0x7e), told eight
/// bytes at a time.
pub fn is_printable_ascii(s: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut words = s.as_bytes().chunks_exact(8);
    let printable = words.by_ref().all(|word| {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        // A byte below 0x20 borrows into its clear high bit; one of 0x7f
        // carries into it, one above has it set (a carry out of a byte of
        // 0xff only reaches bytes after one already marked).
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        let high = (w | w.wrapping_add(ONES)) & HIGHS;
        control | high == 0
    });
    printable && words.remainder().iter().all(|b| (0x20..0x7f).contains(b))
}

/// Attempts worth a line: retries (more than one connection) and
/// corrected verdicts.
pub fn notable_attempts(f: &FileReport) -> impl Iterator<Item = &Attempt> {
    f.attempts
        .iter()
        .flatten()
        .filter(|a| a.streams.len() > 1 || !a.relabelled.is_empty())
}

/// `streams 0, 1, 2`.
pub fn streams_list(a: &Attempt) -> String {
    let v: Vec<String> = a.streams.iter().map(u64::to_string).collect();
    format!("stream{} {}", plural(v.len() as u64), v.join(", "))
}

/// For each failed connection that repeats an earlier one of the same
/// attempt (same failed step, ending and cause), that earlier stream: its
/// paragraph says it all, the repeat is told briefly. Built once per file,
/// in time linear in its connections and attempts (one pass over each,
/// with hash maps), however long the attempts.
#[derive(Debug, Default)]
pub struct Repeats(HashMap<u64, u64>);

impl Repeats {
    pub fn of(f: &FileReport) -> Self {
        let by_stream: HashMap<u64, &ConnectionReport> =
            f.connections.iter().map(|c| (c.stream, c)).collect();
        let mut out = HashMap::new();
        for a in f.attempts.iter().flatten() {
            // The first failed stream of this attempt with each key.
            let mut first: HashMap<(Option<&str>, &str, Option<&str>), u64> = HashMap::new();
            for s in &a.streams {
                let Some(c) = by_stream.get(s) else { continue };
                if c.outcome != "failed" {
                    continue;
                }
                let key = (
                    c.failed_step.as_deref(),
                    c.ended_by.id.as_ref(),
                    c.cause.as_ref().map(|k| k.id.as_ref()),
                );
                match first.get(&key) {
                    Some(&earlier) => {
                        out.entry(*s).or_insert(earlier);
                    }
                    None => {
                        first.insert(key, *s);
                    }
                }
            }
        }
        Repeats(out)
    }

    /// The earlier stream `c` repeats, if any.
    pub fn of_connection(&self, c: &ConnectionReport) -> Option<u64> {
        self.0.get(&c.stream).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unsafe_characters_are_found_in_every_position() {
        let unsafe_ones = [
            '\0', '\t', '\n', '\r', '\x1b', '\x1f', '\x7f', '\u{85}', '\u{202e}',
        ];
        for c in unsafe_ones {
            for at in 0..20 {
                let mut s = "a".repeat(20);
                s.insert(at, c);
                assert!(has_unsafe(&s), "{s:?}");
            }
        }
        for s in [
            "",
            " ",
            "~ printable ASCII only, of any length ~",
            "é ü 漢字 \u{a0}",
        ] {
            assert!(!has_unsafe(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn has_unsafe_is_any_unsafe_character(s in any::<String>()) {
            prop_assert_eq!(has_unsafe(&s), s.chars().any(is_unsafe));
        }

        #[test]
        fn has_unsafe_is_any_unsafe_byte_of_ascii(s in "[\\x00-\\x7f]{0,40}") {
            prop_assert_eq!(has_unsafe(&s), s.chars().any(is_unsafe));
        }
    }
}
