//! The Markdown report, to paste into a ticket: per capture its name,
//! SHA-256 and time range, the verdict first (one line per failed
//! connection), then per failed connection the evidence and the facts
//! (negotiation, TLS, certificate).

use super::model::*;
use super::text::*;
use std::fmt::Write;

/// Escape text for Markdown (CommonMark, GitHub flavour) so it renders
/// as the text it is and still reads as that text where a ticket system
/// shows the source: only what would start emphasis, code, a link or HTML
/// is escaped; a backslash only where it would escape the next character
/// (`HKLM\SYSTEM` stays as it is: `\S` is no escape, CommonMark 2.4);
/// `_` only at a word's edge (intraword `_` is no emphasis, 6.2), so
/// protocol names stay readable; what would start a block (`#`, `>`, a
/// list marker) only at the start. `|` is left: see [`escape_cell`].
pub fn escape(s: &str) -> String {
    let mut out = escape_inline(s);
    let starts_block = match out.as_bytes() {
        [b'#' | b'>', ..] => true,
        [c @ (b'-' | b'+' | b'='), rest @ ..] => {
            rest.first().map_or(true, |n| n == &b' ' || n == c)
        }
        _ => false,
    };
    if starts_block {
        out.insert(0, '\\');
    }
    // "1. " or "1) " at the start would open an ordered list.
    if let Some(p) = out.find(['.', ')']) {
        if p > 0 && out[..p].bytes().all(|b| b.is_ascii_digit()) && out[p + 1..].starts_with(' ') {
            out.insert(p, '\\');
        }
    }
    out
}

/// [`escape`] without the rules for the start of a block: for text inside
/// a line (after other text, in a table cell).
fn escape_inline(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(s.len() + 8);
    let word = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|c| c.is_alphanumeric())
    };
    for (i, &ch) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let escape = match ch {
            '`' | '*' | '<' | '[' | ']' => true,
            '\\' => next.map_or(true, |n| n.is_ascii_punctuation()),
            '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
            // `&amp;` would be an entity (CommonMark 2.5).
            '&' => next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#'),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// [`escape`] for a table cell: `|` too (GFM tables); no block starts
/// in a cell.
pub fn escape_cell(s: &str) -> String {
    escape_inline(s).replace('|', "\\|")
}

/// Our own prose (remedies, client messages): text between backticks is a
/// command or a value to copy and becomes a code span; the rest is
/// escaped. Unpaired backticks: all escaped.
pub fn prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len() % 2 == 0 {
        return escape(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            out.push_str(&code(part));
        } else if i == 0 {
            out.push_str(&escape(part));
        } else {
            // Not at the start of the text: no block can open here.
            out.push_str(&escape_inline(part));
        }
    }
    out
}

/// A code span holding `s` verbatim.
pub fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let mut ticks = 1;
    while s.contains(&"`".repeat(ticks)) {
        ticks += 1;
    }
    let fence = "`".repeat(ticks);
    if ticks > 1 || s.starts_with('`') || s.ends_with('`') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// A code span usable inside a table cell (`|` escaped).
fn cell_code(s: &str) -> String {
    code(s).replace('|', "\\|")
}

pub fn render(doc: &Document) -> String {
    let mut out = title(doc);
    for f in &doc.files {
        out.push('\n');
        file_section(&mut out, f);
    }
    if doc.files.len() > 1 {
        totals_section(&mut out, &doc.totals);
    }
    out
}

/// The report's first line.
pub fn title(doc: &Document) -> String {
    format!(
        "# RDP connection report ({} {})\n",
        doc.tool.name, doc.tool.version
    )
}

/// The closing section of a report of several files.
pub fn totals_section(out: &mut String, totals: &Totals) {
    let _ = writeln!(out, "\n## Totals\n");
    for l in totals_lines(totals) {
        let _ = writeln!(out, "- {}", escape(&l));
    }
}

fn file_section(out: &mut String, f: &FileReport) {
    let counts = outcome_counts(&f.connections);
    let counts = super::filter::counts_line(counts, f.connections.len() as u64, f.filtered_out);
    if !file_head(out, f, &counts) {
        return;
    }
    let failed = f.connections.iter().filter(|c| c.outcome == "failed");
    verdict_heading(out, failed.clone().next().is_none());
    for c in failed {
        verdict_line(out, c);
    }
    if !f.connections.is_empty() {
        connections_heading(out);
        for c in &f.connections {
            connection_row(out, c);
        }
    }
    attempts_list(out, f);
    let decryption = super::text::decryption_lines(f);
    if !decryption.is_empty() {
        decryption_heading(out);
        for (stream, line) in decryption {
            decryption_line(out, stream, &line);
        }
    }
    let repeats = Repeats::of(f);
    for c in &f.connections {
        connection_part(out, c, repeats.of_connection(c));
    }
}

/// A file's section up to its connections: its name, hash, format, time
/// range, problems and counts (`counts`: the line of outcome counts), and
/// the attempts across protocols. False when the file could not be read
/// (nothing follows).
pub fn file_head(out: &mut String, f: &FileReport, counts: &str) -> bool {
    let _ = writeln!(out, "## Capture {}\n", code(&f.path));
    let sha = match &f.sha256 {
        Some(h) => code(h),
        None => "not computed".to_string(),
    };
    let _ = writeln!(out, "- SHA-256: {sha}");
    if let Some(l) = file_line(f) {
        let _ = writeln!(out, "- Format: {}", escape(&l));
    }
    if let Some(t) = time_range(f) {
        let _ = writeln!(out, "- Time range: {}", escape(&t));
    }
    if let Some(e) = &f.error {
        let head = if f.format.is_none() {
            "Could not be read"
        } else {
            "Read incompletely"
        };
        let _ = writeln!(out, "- **{head}:** {}", escape(&error_line(e)));
    }
    if let Some(i) = &f.ignored {
        let _ = writeln!(out, "- {}", escape(&ignored_line(i)));
    }
    for w in listed_warnings(f) {
        let _ = writeln!(
            out,
            "- Warning: {}",
            escape(&with_place(&w.message, Some(w.offset), w.frame))
        );
    }
    let kept = f.warnings.len() as u64;
    if f.warnings_total > kept {
        let _ = writeln!(
            out,
            "- {} more warnings not listed",
            f.warnings_total - kept
        );
    }
    if f.format.is_none() {
        return false;
    }
    let _ = writeln!(out, "- {}", flow_line(&f.flow));
    if let Some(s) = skipped_line(&f.skipped) {
        let _ = writeln!(out, "- Frames skipped: {s}");
    }
    let _ = writeln!(out, "- {counts}");
    if !f.neighbour_attempts.is_empty() {
        let _ = writeln!(out, "\n### Attempts across protocols\n");
        for a in &f.neighbour_attempts {
            let lines = super::neighbours::lines(a);
            if let Some((head, rest)) = lines.split_first() {
                let _ = writeln!(out, "- {}", escape(head));
                for l in rest {
                    let _ = writeln!(
                        out,
                        "  - {}",
                        escape(l.trim_start().trim_start_matches("- "))
                    );
                }
            }
        }
    }
    true
}

/// The verdict's heading; `none_failed`: with the line that says so.
pub fn verdict_heading(out: &mut String, none_failed: bool) {
    let _ = writeln!(out, "\n### Verdict\n");
    if none_failed {
        let _ = writeln!(out, "No failed connection in this capture.");
    }
}

/// A failed connection's line in the verdict.
pub fn verdict_line(out: &mut String, c: &ConnectionReport) {
    let cause = match &c.cause {
        Some(k) => format!(
            "{} ({} confidence): {}",
            code(&k.id),
            k.confidence,
            escape(&k.summary)
        ),
        None => "cause not determined".to_string(),
    };
    let _ = writeln!(
        out,
        "- **Stream {}** {} → {}: **failed** at {}{}, {}. {}",
        c.stream,
        code(&c.client),
        code(&c.server),
        code(&c.phase),
        c.labels
            .failed_step
            .map(|s| format!(" ({s})"))
            .unwrap_or_default(),
        escape(&ending_short(&c.ended_by)),
        cause
    );
}

/// The connections table's heading and head (a file with connections).
pub fn connections_heading(out: &mut String) {
    let _ = writeln!(out, "\n### Connections\n");
    let _ = writeln!(
        out,
        "| stream | client | server | outcome | phase / failing step | ended by | cause |"
    );
    let _ = writeln!(out, "|---:|---|---|---|---|---|---|");
}

/// A connection's row in the connections table.
pub fn connection_row(out: &mut String, c: &ConnectionReport) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |",
        c.stream,
        cell_code(&c.client),
        cell_code(&c.server),
        escape_cell(&c.outcome),
        escape_cell(&phase_cell(c)),
        escape_cell(&ending_short(&c.ended_by)),
        escape_cell(&cause_cell(c))
    );
}

/// The attempts worth a line (retries, corrected verdicts), if any.
pub fn attempts_list(out: &mut String, f: &FileReport) {
    let mut first = true;
    for a in notable_attempts(f) {
        if first {
            let _ = writeln!(out, "\n### Attempts\n");
            first = false;
        }
        let _ = writeln!(out, "- {} ({})", escape(&a.summary), streams_list(a));
    }
}

/// The heading of the TLS decryption lines (when there are any).
pub fn decryption_heading(out: &mut String) {
    let _ = writeln!(out, "\n### TLS decryption\n");
}

/// A connection's line of what TLS decryption did.
pub fn decryption_line(out: &mut String, stream: u64, line: &str) {
    let _ = writeln!(out, "- stream {stream}: {}", escape(line));
}

/// A connection's own section, if it gets one: in full, as a repeat of
/// the earlier stream `repeats` of its attempt, or brief.
pub fn connection_part(out: &mut String, c: &ConnectionReport, repeats: Option<u64>) {
    match paragraph_kind(c) {
        Some(false) => match repeats {
            Some(first) => repeat_section(out, c, first),
            None => connection_section(out, c),
        },
        Some(true) => brief_section(out, c),
        None => {}
    }
}

fn connection_section(out: &mut String, c: &ConnectionReport) {
    let _ = writeln!(
        out,
        "\n### Stream {}: {} → {}, failed at {}\n",
        c.stream,
        code(&c.client),
        code(&c.server),
        code(&c.phase)
    );
    let _ = writeln!(out, "{}", escape(&c.what_happened));
    if let Some(k) = &c.cause {
        let _ = writeln!(
            out,
            "\n**Probable cause** ({}, {}): {}",
            code(&k.id),
            k.strength(),
            escape(&k.summary)
        );
    }
    if !c.evidence.is_empty() {
        let _ = writeln!(out, "\n**Evidence**\n");
        for e in &c.evidence {
            let _ = writeln!(out, "- frame {}: {}", e.frame, escape(&e.text));
        }
    }
    if let Some(k) = &c.cause {
        let _ = writeln!(out, "\n**What to do:** {}", prose(&k.remediation));
        let _ = writeln!(out, "\n**What the user likely saw**\n");
        for l in super::causes::client_message_lines(&k.client_messages) {
            let _ = writeln!(out, "- {}", escape(&l));
        }
    }
    if !c.caveats.is_empty() {
        let _ = writeln!(out, "\n**Caveats**\n");
        for cv in &c.caveats {
            let _ = writeln!(out, "- {}", escape(cv));
        }
    }
    let facts = facts(c);
    if !facts.is_empty() {
        let _ = writeln!(out, "\n**Facts**\n");
        for (k, v) in facts {
            let _ = writeln!(out, "- {k}: {}", escape(&v));
        }
    }
    let _ = write!(out, "\n**Wireshark:** {}", code(&c.display_filter));
    if let Some(ef) = &c.evidence_filter {
        let _ = write!(out, ", evidence frames {}", code(ef));
    }
    out.push('\n');
}

fn repeat_section(out: &mut String, c: &ConnectionReport, first: u64) {
    let _ = writeln!(
        out,
        "\n### Stream {}: {} → {}, failed at {}\n",
        c.stream,
        code(&c.client),
        code(&c.server),
        code(&c.phase)
    );
    let at = c
        .ending_frame
        .map(|f| format!(" (frame {f})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "A retry: failed like stream {first}, {}{at}.",
        escape(&c.ended_by.text)
    );
    let _ = writeln!(out, "\n**Wireshark:** {}", code(&c.display_filter));
}

fn brief_section(out: &mut String, c: &ConnectionReport) {
    let label = match &c.benign {
        Some(b) => format!("{} ({})", c.outcome, b),
        None => c.outcome.to_string(),
    };
    let _ = writeln!(
        out,
        "\n### Stream {}: {} → {}, {}\n",
        c.stream,
        code(&c.client),
        code(&c.server),
        escape(&label)
    );
    let _ = writeln!(out, "{}", escape(&c.what_happened));
    for cv in &c.caveats {
        let _ = writeln!(out, "\n- {}", escape(cv));
    }
    let _ = writeln!(out, "\n**Wireshark:** {}", code(&c.display_filter));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a CommonMark renderer makes of `md` as one paragraph: its
    /// text, with each code span as `<code>...</code>`. Any other element
    /// (emphasis, link, HTML, list, heading) is named in the result.
    fn rendered(md: &str) -> String {
        use pulldown_cmark::{Event, Parser, Tag, TagEnd};
        let mut out = String::new();
        for ev in Parser::new(md) {
            match ev {
                Event::Text(t) => out.push_str(&t),
                Event::Code(c) => {
                    out.push_str("<code>");
                    out.push_str(&c);
                    out.push_str("</code>");
                }
                Event::SoftBreak | Event::HardBreak => out.push(' '),
                Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {}
                other => out.push_str(&format!("{{{other:?}}}")),
            }
        }
        out
    }

    #[test]
    fn prose_renders_as_meant() {
        // Every remedy of the table: its code spans render as code, the
        // rest as the very text (backslashes of Windows paths included).
        for r in crate::diagnose::remedy::REMEDIES {
            let want: String = r
                .remedy
                .split('`')
                .enumerate()
                .map(|(i, p)| {
                    if i % 2 == 1 {
                        format!("<code>{p}</code>")
                    } else {
                        p.to_string()
                    }
                })
                .collect();
            assert_eq!(rendered(&prose(r.remedy)), want, "{:?}", r.cause);
        }
        // Plain text stays readable: a registry path keeps single backslashes.
        let p = prose("under HKLM\\SYSTEM\\CurrentControlSet (`Restart-Service TermService`)");
        assert_eq!(
            p,
            "under HKLM\\SYSTEM\\CurrentControlSet (`Restart-Service TermService`)"
        );
    }

    #[test]
    fn escaped_text_renders_as_the_text() {
        for s in [
            "a|b *c* <d> [e](f)",
            "SSL_REQUIRED_BY_SERVER and _x_ and __init__",
            "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys",
            "ends with \\",
            "a \\* b \\` c",
            "# not a heading",
            "> not a quote",
            "- not a list",
            "+ not a list",
            "1. not a list",
            "2) not a list",
            "=== not a heading underline",
            "<script>alert(1)</script>",
            "`tick` and ``double``",
            "x &amp; y",
        ] {
            assert_eq!(rendered(&escape(s)), s, "{s:?} as {:?}", escape(s));
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a|b *c* <d> [e]"), "a|b \\*c\\* \\<d> \\[e\\]");
        assert_eq!(escape_cell("a|b"), "a\\|b");
        assert_eq!(escape("SSL_REQUIRED_BY_SERVER"), "SSL_REQUIRED_BY_SERVER");
        assert_eq!(code("x"), "`x`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(cell_code("a|b"), "`a\\|b`");
    }
}
