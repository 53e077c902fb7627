//! The HTML report: one self-contained page (inline CSS and SVG, no
//! network, no external fonts) that reads fine with scripts off. A little
//! inline JavaScript adds copy buttons for the Wireshark filters, the
//! filter box of the table of contents and opens every section to print.
//!
//! Rendered from the [`Document`] only (so `--redact` holds): a header
//! with the files and the totals as small bar charts, a table of contents
//! for more than one connection, then one collapsible section per
//! connection (failed first, then incomplete, then the others) with the
//! verdict, the cause, what to do, caveats, the evidence with its filters
//! and the ladder drawn as a sequence diagram ([`super::ladder`]).

use super::ladder::{self, Diagram, Lane, Row, RowKind};
use super::model::{ConnectionReport, Count, Document};
use super::text;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Sections are open when the report is this small (in connections).
const OPEN_ALL: usize = 10;
/// Failed sections are open up to this many connections.
const OPEN_FAILED: usize = 50;
/// Beyond this many connections, a closed section carries its body (text
/// and ladder) inside `<noscript>`: with scripts on, the browser reads it
/// as one run of raw text, which costs a fraction of parsing the markup
/// into elements, and the script puts it in place when the section is
/// opened (or printed); with scripts off, the browser parses it as usual,
/// so nothing is lost but speed. Parsing thousands of sections' markup
/// (each ladder an SVG of a few hundred elements) is what makes a large
/// page slow to open (BENCHMARKS.md, "HTML report of a 2,000-file
/// batch"); up to this many, the page opens in well under a second.
const LAZY_FROM: usize = 200;

/// Rows of the table of contents laid out together: past the first part,
/// each part is a table of its own inside a `content-visibility: auto`
/// block, so a list of thousands of connections costs the layout of the
/// parts on screen (about 2.5 s of a 13,000-row page's load went to laying
/// out one table). The same size as the lazy threshold of sections.
const TOC_PART: usize = LAZY_FROM;

/// The height a part of the contents is assumed to take before it is laid
/// out (one line of 13 px text with its padding); `auto` keeps the real
/// height once the part has been drawn.
const TOC_ROW_PX: usize = 23;
/// The files table is collapsed beyond this many files.
const FILES_OPEN: usize = 20;

/// Outcome ranks of the sections, in page order: failed, incomplete,
/// established, benign, then the others.
pub const RANKS: usize = 5;

/// Outcome order of the sections: failed, incomplete, then the others
/// (below [`RANKS`]).
pub fn rank(outcome: &str) -> u8 {
    match outcome {
        "failed" => 0,
        "incomplete" => 1,
        "established" => 2,
        "benign" => 3,
        _ => 4,
    }
}

/// The connections of a page in page order (by [`rank`], then file, then
/// stream), given as often as asked: the contents read them twice (the
/// causes and servers of the filter box, then the rows), the sections
/// once.
pub trait PageConnections {
    /// Call `f` with each connection and the index of its file.
    fn each(
        &mut self,
        f: &mut dyn FnMut(usize, &ConnectionReport) -> io::Result<()>,
    ) -> io::Result<()>;
}

/// The connections of a whole document, in page order.
struct Held<'a>(Vec<(usize, &'a ConnectionReport)>);

impl PageConnections for Held<'_> {
    fn each(
        &mut self,
        f: &mut dyn FnMut(usize, &ConnectionReport) -> io::Result<()>,
    ) -> io::Result<()> {
        self.0.iter().try_for_each(|(i, c)| f(*i, c))
    }
}

/// The page for a document.
pub fn render(doc: &Document) -> String {
    let mut conns: Vec<(usize, &ConnectionReport)> = doc
        .files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.connections.iter().map(move |c| (i, c)))
        .collect();
    conns.sort_by_key(|(i, c)| (rank(&c.outcome), *i, c.stream));
    let counts: Vec<usize> = doc.files.iter().map(|f| f.connections.len()).collect();
    let mut out = Vec::with_capacity(4096 + conns.len() * 6000);
    // Neither writing to memory nor reading connections held can fail.
    let _ = write_page(&mut out, doc, &counts, &mut Held(conns), &|| false);
    String::from_utf8(out).unwrap_or_default()
}

/// Write the page of `doc` whose files' connections (`counts[i]` of file
/// `i`) are given by `conns`, not by the files: the page is written as it
/// goes, a part of the contents or a section at a time, and holds no
/// connection but the one being written. Once `stop` answers true
/// (Ctrl-C), the page ends after the section or the part of the
/// contents just written, with an `Interrupted` error.
pub fn write_page(
    out: &mut dyn Write,
    doc: &Document,
    counts: &[usize],
    conns: &mut dyn PageConnections,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let t = &doc.totals;
    let n: usize = counts.iter().sum();
    let mut buf = String::with_capacity(1 << 16);
    let title = format!(
        "RDP connections: {} analysed, {} failed",
        t.connections, t.outcomes.failed
    );
    let _ = write!(
        buf,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&doc.tool.name),
        esc(&doc.tool.version),
        esc(&title)
    );
    header(&mut buf, doc, counts);
    if n > 1 {
        toc(out, &mut buf, doc, n, conns, stop)?;
    }
    if n > LAZY_FROM {
        // Below a long table of contents, the sections are off screen
        // when the page opens: `content-visibility: auto` lets the browser
        // skip laying them out, which it would otherwise redo again and
        // again as the parser adds sections (three to four times slower
        // for 13,000 connections, BENCHMARKS.md). The size stands in for
        // theirs until they are drawn: closed sections, about 45 px each.
        let _ = writeln!(
            buf,
            "<main class=\"deferred\" style=\"contain-intrinsic-size:auto {}px\">",
            n * 45
        );
    } else {
        buf.push_str("<main>\n");
    }
    neighbour_attempts(&mut buf, doc);
    if n == 0 {
        buf.push_str("<p class=\"none\">No RDP connection was found in the capture.</p>\n");
    }
    conns.each(&mut |i, c| {
        let open = n <= OPEN_ALL || (n <= OPEN_FAILED && c.outcome == "failed");
        section(
            &mut buf,
            i,
            path_of(doc, i),
            c,
            open,
            !open && n > LAZY_FROM,
        );
        out.write_all(buf.as_bytes())?;
        buf.clear();
        if stop() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        Ok(())
    })?;
    let _ = write!(
        buf,
        "</main>\n<footer>Made by {} {} from the capture{} listed above. Frame numbers are Wireshark's <code>frame.number</code>; streams are <code>tcp.stream</code>.</footer>\n<script>{JS}</script>\n</body>\n</html>\n",
        esc(&doc.tool.name),
        esc(&doc.tool.version),
        if doc.files.len() == 1 { "" } else { "s" }
    );
    out.write_all(buf.as_bytes())
}

/// The path of file `i` of the document.
fn path_of(doc: &Document, i: usize) -> &str {
    doc.files.get(i).map_or("", |f| f.path.as_str())
}

/// The attempts across protocols of every file, one list each.
fn neighbour_attempts(out: &mut String, doc: &Document) {
    for f in doc
        .files
        .iter()
        .filter(|f| !f.neighbour_attempts.is_empty())
    {
        let _ = writeln!(
            out,
            "<section class=\"attempts\">\n<h2>Attempts across protocols: {}</h2>",
            esc(&f.path)
        );
        for a in &f.neighbour_attempts {
            let lines = super::neighbours::lines(a);
            if let Some((head, rest)) = lines.split_first() {
                let _ = writeln!(out, "<h3>{}</h3>\n<ul>", esc(head));
                for l in rest {
                    let _ = writeln!(
                        out,
                        "<li>{}</li>",
                        esc(l.trim_start().trim_start_matches("- "))
                    );
                }
                out.push_str("</ul>\n");
            }
        }
        out.push_str("</section>\n");
    }
}

fn header(out: &mut String, doc: &Document, per_file: &[usize]) {
    let t = &doc.totals;
    out.push_str("<header>\n<h1>RDP connection report</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"sub\">{} file{}, {} connection{}: {}</p>",
        t.files,
        text::plural(t.files),
        t.connections,
        text::plural(t.connections),
        esc(&outcome_line(doc))
    );
    out.push_str("<div class=\"charts\">\n");
    let o = &t.outcomes;
    bars(
        out,
        "Connections by outcome",
        &[
            ("failed", o.failed, "failed"),
            ("incomplete", o.incomplete, "incomplete"),
            ("established", o.established, "established"),
            ("benign", o.benign, "benign"),
            ("not RDP", o.not_rdp, "not_rdp"),
        ]
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(l, n, c)| (l.to_string(), *n, *c))
        .collect::<Vec<_>>(),
    );
    let counts = |v: &[Count]| -> Vec<(String, u64, &'static str)> {
        top(v
            .iter()
            .map(|c| (c.id.clone(), c.count, "failed"))
            .collect())
    };
    if !t.failures_by_phase.is_empty() {
        bars(out, "Failures by phase", &counts(&t.failures_by_phase));
        bars(out, "Failures by cause", &counts(&t.failures_by_cause));
    }
    if !t.failures_by_server.is_empty() {
        let v = t
            .failures_by_server
            .iter()
            .map(|s| (s.server.clone(), s.failed, "failed"))
            .collect();
        bars(out, "Failures by server", &top(v));
    }
    out.push_str("</div>\n");
    files_table(out, doc, per_file);
    let mut problems: Vec<String> = Vec::new();
    for p in &t.problems {
        problems.push(format!("{} ({}): {}", p.path, p.kind, p.message));
    }
    for f in &doc.files {
        for w in text::listed_warnings(f) {
            problems.push(format!(
                "{}: {}",
                f.path,
                text::with_place(&w.message, Some(w.offset), w.frame)
            ));
        }
    }
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"warnings\"{}><summary>{} warning{} about the captures</summary><ul>",
            if problems.len() <= 10 { " open" } else { "" },
            problems.len(),
            text::plural(problems.len() as u64)
        );
        for p in &problems {
            let _ = writeln!(out, "<li>{}</li>", esc(p));
        }
        out.push_str("</ul></details>\n");
    }
    if !t.ignored.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} file{} found in directories {} not a capture and {} skipped.</p>",
            t.ignored.len(),
            text::plural(t.ignored.len() as u64),
            if t.ignored.len() == 1 { "is" } else { "are" },
            if t.ignored.len() == 1 { "was" } else { "were" },
        );
    }
    out.push_str("</header>\n");
}

fn outcome_line(doc: &Document) -> String {
    let o = &doc.totals.outcomes;
    let parts: Vec<String> = [
        (o.failed, "failed"),
        (o.incomplete, "incomplete"),
        (o.established, "established"),
        (o.benign, "benign"),
        (o.not_rdp, "not RDP"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, l)| format!("{n} {l}"))
    .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// Bars a chart shows at most: a chart is read at a glance.
const BARS: usize = 10;

/// The first [`BARS`] - 1 items, the rest summed in one last bar, so
/// every connection is still counted (causes and servers come largest
/// first; the phases, fewer than [`BARS`], in ladder order).
fn top(mut items: Vec<(String, u64, &'static str)>) -> Vec<(String, u64, &'static str)> {
    if items.len() > BARS {
        let rest = items.split_off(BARS - 1);
        let sum = rest.iter().map(|(_, n, _)| n).sum();
        items.push((format!("{} others", rest.len()), sum, "other"));
    }
    items
}

/// A small horizontal bar chart.
fn bars(out: &mut String, title: &str, items: &[(String, u64, &str)]) {
    if items.is_empty() {
        return;
    }
    const W: u32 = 380;
    const LABEL: u32 = 170;
    const BAR: u32 = 160;
    const H: u32 = 20;
    let max = items.iter().map(|(_, n, _)| *n).max().unwrap_or(1).max(1);
    let height = 24 + H * items.len() as u32;
    let _ = write!(
        out,
        "<figure class=\"chart\"><svg role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\"><title>{t}</title><text class=\"ct\" x=\"0\" y=\"14\">{t}</text>",
        t = esc(title)
    );
    for (i, (label, n, class)) in items.iter().enumerate() {
        let y = 24 + H * i as u32;
        let w = ((*n as f64 / max as f64) * BAR as f64).round().max(2.0) as u32;
        let shown = if label.chars().count() > 26 {
            format!("{}\u{2026}", label.chars().take(25).collect::<String>())
        } else {
            label.clone()
        };
        let _ = write!(
            out,
            "<g class=\"bar {class}\"><title>{l}: {n}</title><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{s}</text><rect x=\"{LABEL}\" y=\"{ry}\" width=\"{w}\" height=\"14\" rx=\"2\"/><text class=\"n\" x=\"{nx}\" y=\"{ty}\">{n}</text></g>",
            l = esc(label),
            s = esc(&shown),
            lx = LABEL - 6,
            ty = y + 12,
            ry = y + 1,
            nx = LABEL + w + 5,
        );
    }
    out.push_str("</svg></figure>\n");
}

fn files_table(out: &mut String, doc: &Document, counts: &[usize]) {
    let n = doc.files.len();
    let _ = writeln!(
        out,
        "<details class=\"files\"{}><summary>{n} file{} analysed</summary>\n<table>\n<thead><tr><th>file</th><th>format</th><th>packets</th><th>time span</th><th>connections</th><th>SHA-256</th></tr></thead>\n<tbody>",
        if n <= FILES_OPEN { " open" } else { "" },
        text::plural(n as u64)
    );
    for (i, f) in doc.files.iter().enumerate() {
        let format = match (&f.format, &f.ignored, &f.error) {
            (_, Some(i), _) => format!("skipped: {}", text::ignored_line(i)),
            (None, _, Some(e)) => format!("unreadable: {}", text::error_line(e)),
            (Some(fm), _, e) => {
                let mut s = fm.clone();
                if f.compression.as_deref().is_some_and(|c| c != "none") {
                    s.push_str(&format!(", {}", f.compression.as_deref().unwrap_or("")));
                }
                if let Some(e) = e {
                    s.push_str(&format!(" (read part-way: {})", text::error_line(e)));
                }
                s
            }
            (None, _, None) => String::new(),
        };
        let span = text::time_range(f).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td class=\"path\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"sha\">{}</td></tr>",
            esc(&f.path),
            esc(&format),
            f.packets.map(|p| p.to_string()).unwrap_or_default(),
            esc(&span),
            counts.get(i).copied().unwrap_or(0),
            esc(f.sha256.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody>\n</table>\n</details>\n");
}

fn conn_id(file: usize, c: &ConnectionReport) -> String {
    format!("c{file}-{}", c.stream)
}

/// The table of contents of the `n` connections: the filter box (with
/// every cause and server named, one pass over the connections), then a
/// row per connection (a second pass), written to `out` part by part;
/// `stop`: see [`write_page`] (here, after a part).
fn toc(
    out: &mut dyn Write,
    buf: &mut String,
    doc: &Document,
    n: usize,
    conns: &mut dyn PageConnections,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let mut causes: BTreeSet<String> = BTreeSet::new();
    let mut servers: BTreeSet<String> = BTreeSet::new();
    conns.each(&mut |_, c| {
        if let Some(x) = &c.cause {
            if !causes.contains(x.id.as_ref()) {
                causes.insert(x.id.to_string());
            }
        }
        if !servers.contains(&c.server) {
            servers.insert(c.server.clone());
        }
        if stop() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        Ok(())
    })?;
    let many_files = doc.files.len() > 1;
    buf.push_str("<nav id=\"toc\">\n<h2>Connections</h2>\n");
    buf.push_str("<form id=\"filters\" class=\"filters\" hidden>\n<label>Search <input id=\"q\" type=\"search\" placeholder=\"file, address, step, cause\"></label>\n<label>Outcome <select id=\"fo\"><option value=\"\">all</option>");
    for o in ["failed", "incomplete", "established", "benign", "not_rdp"] {
        let _ = write!(buf, "<option>{o}</option>");
    }
    buf.push_str(
        "</select></label>\n<label>Cause <select id=\"fc\"><option value=\"\">all</option>",
    );
    for c in &causes {
        let _ = write!(buf, "<option>{}</option>", esc(c));
    }
    buf.push_str(
        "</select></label>\n<label>Server <select id=\"fs\"><option value=\"\">all</option>",
    );
    for s in &servers {
        let _ = write!(buf, "<option>{}</option>", esc(s));
    }
    let _ = writeln!(
        buf,
        "</select></label>\n<output id=\"shown\">{n} shown</output>\n</form>"
    );
    let cols = format!(
        "<colgroup><col class=\"o\">{}<col class=\"s\"><col class=\"a\"><col class=\"a\"><col><col class=\"c\"></colgroup>",
        if many_files { "<col>" } else { "" }
    );
    let _ = writeln!(
        buf,
        "<table class=\"toc\">\n{cols}\n<thead><tr><th>outcome</th>{}<th>stream</th><th>client</th><th>server</th><th>where</th><th>cause</th></tr></thead>\n<tbody>",
        if many_files { "<th>file</th>" } else { "" }
    );
    let mut k = 0;
    conns.each(&mut |i, c| {
        if k > 0 && k % TOC_PART == 0 {
            // A part of a long list: a table of its own (same fixed
            // columns) that the browser lays out only near the viewport.
            let rows = TOC_PART.min(n.saturating_sub(k));
            let close = if k > TOC_PART { "</div>\n" } else { "" };
            let _ = writeln!(
                buf,
                "</tbody>\n</table>\n{close}<div class=\"tocpart\" style=\"contain-intrinsic-size:auto {}px\"><table class=\"toc\">\n{cols}\n<tbody>",
                rows * TOC_ROW_PX
            );
            out.write_all(buf.as_bytes())?;
            buf.clear();
            if stop() {
                return Err(io::ErrorKind::Interrupted.into());
            }
        }
        k += 1;
        toc_row(buf, i, path_of(doc, i), c, many_files);
        Ok(())
    })?;
    buf.push_str("</tbody>\n</table>\n");
    if n > TOC_PART {
        buf.push_str("</div>\n");
    }
    buf.push_str("</nav>\n");
    Ok(())
}

/// A row of the table of contents.
fn toc_row(out: &mut String, file: usize, path: &str, c: &ConnectionReport, many_files: bool) {
    let id = conn_id(file, c);
    let cause = c.cause.as_ref().map(|x| x.id.as_ref()).unwrap_or("");
    let file_cell = if many_files {
        format!("<td class=\"path\">{}</td>", esc(path))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<tr data-target=\"{id}\" data-outcome=\"{o}\" data-cause=\"{ca}\" data-server=\"{sv}\"><td><span class=\"badge {o}\">{o}</span></td>{file_cell}<td class=\"num\"><a href=\"#{id}\">{st}</a></td><td>{cl}</td><td>{sv}</td><td>{wh}</td><td>{ca}</td></tr>",
        o = esc(&c.outcome),
        ca = esc(cause),
        sv = esc(&c.server),
        cl = esc(&c.client),
        st = c.stream,
        wh = esc(&where_short(c)),
    );
}

/// `TLS ServerHello` (failing step), else the last step.
fn where_short(c: &ConnectionReport) -> String {
    match (&c.failed_step, &c.last_step) {
        (Some(f), _) => format!("at {}", ladder::step_label(f)),
        (None, Some(l)) => format!("after {}", ladder::step_label(l)),
        _ => c.phase.to_string(),
    }
}

/// A Wireshark filter; the script adds its copy button (a button does
/// nothing with scripts off, so it is not in the markup).
fn copy_button(filter: &str) -> String {
    format!("<code class=\"flt\">{}</code>", esc(filter))
}

fn section(
    out: &mut String,
    file: usize,
    path: &str,
    c: &ConnectionReport,
    open: bool,
    lazy: bool,
) {
    let id = conn_id(file, c);
    let cause = c.cause.as_ref().map(|x| x.id.as_ref()).unwrap_or("");
    let _ = writeln!(
        out,
        "<details class=\"conn {o}\" id=\"{id}\" data-outcome=\"{o}\" data-cause=\"{ca}\" data-server=\"{sv}\" data-stream=\"{st}\"{op}>\n<summary><span class=\"badge {o}\">{o}</span> <b>stream {st}</b> <span class=\"ep\">{cl} \u{2192} {sv}</span> <span class=\"wh\">{wh}{cs}</span> <span class=\"path\">{p}</span></summary>",
        o = esc(&c.outcome),
        ca = esc(cause),
        sv = esc(&c.server),
        cl = esc(&c.client),
        st = c.stream,
        op = if open { " open" } else { "" },
        wh = esc(&where_short(c)),
        cs = if cause.is_empty() {
            String::new()
        } else {
            format!(" \u{b7} {}", esc(cause))
        },
        p = esc(path),
    );
    if lazy {
        // No `<` of the body's own text reaches the markup unescaped, so
        // nothing in it can close the `<noscript>` early.
        out.push_str("<noscript class=\"lazy\">");
    }
    out.push_str("<div class=\"body\">\n<div class=\"text\">\n");
    let _ = writeln!(out, "<p class=\"verdict\">{}</p>", esc(&c.what_happened));
    if let Some(cause) = &c.cause {
        let _ = writeln!(
            out,
            "<h3>Probable cause</h3>\n<p><code class=\"cause\">{}</code> <span class=\"conf {}\">{}</span></p>\n<p>{}</p>\n<h3>What to do</h3>\n<p class=\"todo\">{}</p>",
            esc(&cause.id),
            esc(&cause.confidence),
            esc(&cause.strength()),
            esc(&cause.summary),
            esc(&cause.remediation)
        );
        let lines = super::causes::client_message_lines(&cause.client_messages);
        if !lines.is_empty() {
            out.push_str("<h3>What the user likely saw</h3>\n<ul class=\"client-msg\">\n");
            for l in lines {
                let _ = writeln!(out, "<li>{}</li>", esc(&l));
            }
            out.push_str("</ul>\n");
        }
    }
    if let Some(b) = &c.benign {
        let _ = writeln!(
            out,
            "<p class=\"benign-note\">Normal traffic: <code>{}</code>.</p>",
            esc(b)
        );
    }
    if !c.caveats.is_empty() {
        out.push_str("<h3>Caveats</h3>\n<ul class=\"caveats\">");
        for cv in &c.caveats {
            let _ = write!(out, "<li>{}</li>", esc(cv));
        }
        out.push_str("</ul>\n");
    }
    if !c.evidence.is_empty() {
        out.push_str("<h3>Evidence</h3>\n<ol class=\"evidence\">");
        for e in &c.evidence {
            let _ = write!(
                out,
                "<li data-frame=\"{fr}\"><span class=\"fr\">frame {fr}</span> {t}<br>{b}</li>",
                fr = e.frame,
                t = esc(&e.text),
                b = copy_button(&format!("frame.number == {}", e.frame))
            );
        }
        out.push_str("</ol>\n");
    }
    out.push_str("<h3>Wireshark</h3>\n<p class=\"filters-list\">connection: ");
    out.push_str(&copy_button(&c.display_filter));
    if let Some(ef) = &c.evidence_filter {
        out.push_str("<br>evidence: ");
        out.push_str(&copy_button(ef));
    }
    out.push_str("</p>\n");
    let facts = text::facts(c);
    if !facts.is_empty() {
        out.push_str("<details class=\"facts\"><summary>Facts</summary><dl>");
        for (k, v) in facts {
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
        }
        out.push_str("</dl></details>\n");
    }
    out.push_str("</div>\n<figure class=\"ladder\">\n");
    svg(out, c, &ladder::diagram(c));
    out.push_str("<figcaption class=\"legend\"><span class=\"k seen\"></span>seen <span class=\"k implied\"></span>implied <span class=\"k inferred\"></span>inferred <span class=\"k failedk\"></span>failing step <span class=\"k evk\"></span>evidence</figcaption>\n</figure>\n</div>\n");
    if lazy {
        out.push_str("</noscript>\n");
    }
    out.push_str("</details>\n");
}

// ---------------------------------------------------------------- the SVG

const SVG_W: f64 = 720.0;
const ROW_H: f64 = 30.0;
const TOP: f64 = 52.0;

fn lane_x(lane: Lane) -> f64 {
    match lane {
        Lane::Client => 150.0,
        Lane::Middlebox => 425.0,
        Lane::Server => 700.0,
    }
}

/// A row's height: a break is a little shorter than a message, which is
/// spaced from the one before it by its pause, to scale.
fn row_height(r: &Row) -> f64 {
    match r.kind {
        RowKind::Silence { .. } | RowKind::Omitted { .. } => 26.0,
        _ => ROW_H + ladder::gap_px(r.gap_s, ROW_H),
    }
}

/// A label cut to `n` characters, escaped; cut, it carries the whole
/// label as its tooltip (uncut, a tooltip would only repeat it).
fn shortened(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let cut: String = s.chars().take(n - 1).collect();
        format!("<title>{}</title>{}\u{2026}", esc(s), esc(&cut))
    } else {
        esc(s)
    }
}

/// The ladder diagram of one connection.
fn svg(out: &mut String, c: &ConnectionReport, d: &Diagram) {
    let height = TOP + d.rows.iter().map(row_height).sum::<f64>() + 12.0;
    let _ = write!(
        out,
        "<svg class=\"lad\" role=\"img\" aria-label=\"ladder diagram of stream {st}\" viewBox=\"0 0 {SVG_W} {height}\" width=\"{SVG_W}\" height=\"{height}\">",
        st = c.stream
    );
    // Lifeline heads.
    let mut lanes = vec![
        (Lane::Client, "client", c.client.as_str()),
        (Lane::Server, "server", c.server.as_str()),
    ];
    if d.middlebox {
        lanes.push((Lane::Middlebox, "middlebox", "on the path"));
    }
    let _ = write!(
        out,
        "<text class=\"hd\" x=\"8\" y=\"18\">frame</text><text class=\"hd\" x=\"58\" y=\"18\">time</text>"
    );
    for (lane, name, addr) in &lanes {
        let x = lane_x(*lane);
        let anchor = if *lane == Lane::Server {
            "end"
        } else {
            "middle"
        };
        let tx = if *lane == Lane::Server { x + 4.0 } else { x };
        let _ = write!(
            out,
            "<text class=\"hd {name}\" x=\"{tx}\" y=\"18\" text-anchor=\"{anchor}\">{name}</text><text class=\"addr\" x=\"{tx}\" y=\"33\" text-anchor=\"{anchor}\">{a}</text><line class=\"life {name}\" x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\"/>",
            a = esc(addr),
            y1 = TOP - 12.0,
            y2 = height - 4.0
        );
    }
    let mut y = TOP;
    for r in &d.rows {
        row_svg(out, r, y, d.middlebox);
        y += row_height(r);
    }
    out.push_str("</svg>\n");
}

fn row_svg(out: &mut String, r: &Row, y: f64, middlebox: bool) {
    // A message's pause before it is blank space above it.
    let h = row_height(r);
    let (y, h) = match r.kind {
        RowKind::Silence { .. } | RowKind::Omitted { .. } => (y, h),
        _ => (y + h - ROW_H, ROW_H),
    };
    let mut class = vec!["row"];
    match r.kind {
        RowKind::Arrow { .. } => class.push("arrow"),
        RowKind::Broken { .. } => class.push("arrow broken"),
        RowKind::Note => class.push("note"),
        RowKind::Silence { .. } => class.push("silence"),
        RowKind::Omitted { .. } => class.push("omitted"),
    }
    if matches!(r.kind, RowKind::Arrow { .. } | RowKind::Broken { .. }) {
        class.push(r.certainty);
    }
    if r.failed {
        class.push("failed");
    }
    if !r.evidence.is_empty() {
        class.push("evidence");
    }
    if r.ending {
        class.push("ending");
    }
    if matches!(
        r.kind,
        RowKind::Arrow {
            from: Lane::Middlebox,
            ..
        }
    ) {
        class.push("mb");
    }
    let _ = write!(out, "<g class=\"{}\"", class.join(" "));
    if let Some(f) = r.frame {
        let _ = write!(out, " data-frame=\"{f}\"");
    }
    if let Some(s) = &r.step {
        let _ = write!(out, " data-step=\"{}\"", esc(s));
    }
    if let Some(t) = &r.tcp {
        let _ = write!(out, " data-tcp=\"{}\"", esc(t));
    }
    if !r.evidence.is_empty() {
        let ev: Vec<String> = r.evidence.iter().map(u64::to_string).collect();
        let _ = write!(out, " data-evidence=\"{}\"", ev.join(" "));
    }
    out.push('>');
    if r.failed || !r.evidence.is_empty() {
        let _ = write!(
            out,
            "<rect class=\"hl\" x=\"0\" y=\"{y}\" width=\"{SVG_W}\" height=\"{h}\"/>"
        );
    }
    let base = y + 21.0;
    if r.frame.is_some() {
        // Its Wireshark filter (`frame.number == N`, or the range of a
        // collapsed run) is the script's tooltip and copy on click: one
        // per row in the markup would weigh a tenth of a large page.
        let _ = write!(
            out,
            "<text class=\"fr\" x=\"8\" y=\"{base}\">{}</text>",
            ladder::frames_text(r)
        );
    }
    if let Some(t) = r.time_s {
        let _ = write!(
            out,
            "<text class=\"tm\" x=\"58\" y=\"{base}\">{}</text>",
            ladder::time_text(t)
        );
    }
    let ay = y + 22.0;
    match r.kind {
        RowKind::Arrow { from, to } | RowKind::Broken { from, to } => {
            let x1 = lane_x(from);
            let x2 = lane_x(to);
            let broken = matches!(r.kind, RowKind::Broken { .. });
            let end = if broken { (x1 + x2) / 2.0 } else { x2 };
            let dir = if end > x1 { 1.0 } else { -1.0 };
            let tip = end - dir * 1.0;
            let _ = write!(
                out,
                "<line class=\"ln\" x1=\"{x1}\" y1=\"{ay}\" x2=\"{lx}\" y2=\"{ay}\"/>",
                lx = tip - dir * 8.0
            );
            if broken {
                let _ = write!(
                    out,
                    "<path class=\"x\" d=\"M{a} {b} l10 10 m0 -10 l-10 10\"/>",
                    a = end - 5.0,
                    b = ay - 5.0
                );
            } else {
                let _ = write!(
                    out,
                    "<path class=\"hd\" d=\"M{tip} {ay} l{dx} -5 v10 z\"/>",
                    dx = -dir * 10.0
                );
            }
            let (lo, hi) = (x1.min(end), x1.max(end));
            let width_chars = ((hi - lo) / 6.6) as usize;
            let _ = write!(
                out,
                "<text class=\"lb\" x=\"{mx}\" y=\"{ty}\">{}</text>",
                shortened(&r.label, width_chars.max(24)),
                mx = (lo + hi) / 2.0,
                ty = ay - 5.0,
            );
        }
        RowKind::Note => {
            let x = lane_x(if middlebox {
                Lane::Middlebox
            } else {
                Lane::Client
            });
            let _ = write!(
                out,
                "<circle class=\"dot\" cx=\"{cx}\" cy=\"{ay}\" r=\"4\"/><text class=\"lb note\" x=\"{tx}\" y=\"{ty}\">{}</text>",
                shortened(&r.label, 80),
                cx = lane_x(Lane::Client) + 14.0,
                tx = lane_x(Lane::Client) + 24.0,
                ty = ay + 4.0,
            );
            let _ = x;
        }
        RowKind::Silence { .. } | RowKind::Omitted { .. } => {
            let (x1, x2) = (lane_x(Lane::Client) - 20.0, lane_x(Lane::Server) + 15.0);
            let my = y + h / 2.0;
            let _ = write!(
                out,
                "<rect class=\"gap\" x=\"{x1}\" y=\"{gy}\" width=\"{gw}\" height=\"{gh}\"/>",
                gy = y + 5.0,
                gw = x2 - x1,
                gh = h - 10.0
            );
            for x in [lane_x(Lane::Client), lane_x(Lane::Server)] {
                let _ = write!(
                    out,
                    "<path class=\"zz\" d=\"M{a} {b} l6 -4 l-12 -4 l6 -4 M{a} {c} l6 4 l-12 4 l6 4\"/>",
                    a = x,
                    b = y + 13.0,
                    c = y + 13.0,
                );
            }
            let _ = write!(
                out,
                "<text class=\"lb gapt\" x=\"{mx}\" y=\"{ty}\">{l}</text>",
                mx = (lane_x(Lane::Client) + lane_x(Lane::Server)) / 2.0,
                ty = my + 4.0,
                l = esc(&r.label)
            );
        }
    }
    out.push_str("</g>");
}

const CSS: &str = r#"
:root{--fail:#c62828;--inc:#b26a00;--ok:#2e7d32;--ben:#546e7a;--ev:#fff2b3;--ink:#1d232a;--mute:#5c6670;--line:#d5dbe1;--mb:#d35400}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);margin:0 auto;padding:16px 24px;max-width:1320px;background:#fff}
h1{font-size:22px;margin:0 0 2px}h2{font-size:18px;margin:18px 0 8px}h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute);margin:14px 0 4px}
.sub{color:var(--mute);margin:0 0 10px}
code{font:12.5px ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;background:#f1f3f5;padding:1px 4px;border-radius:3px}
.charts{display:flex;flex-wrap:wrap;gap:8px 28px;margin:6px 0 10px}.chart{margin:0}
.chart text{font-size:12px;fill:var(--ink)}.chart .ct{font-weight:600}.chart .n{fill:var(--mute)}
.bar rect{fill:var(--fail)}.bar.established rect{fill:var(--ok)}.bar.incomplete rect{fill:var(--inc)}.bar.benign rect,.bar.not_rdp rect,.bar.other rect{fill:var(--ben)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{background:#f6f8fa;font-weight:600}
td.num{text-align:right}td.sha{font:11px ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all;max-width:280px}.path{word-break:break-all}
details.files,details.warnings{margin:8px 0}details>summary{cursor:pointer}
.warnings li{color:var(--inc)}
.badge{display:inline-block;min-width:84px;text-align:center;font-size:12px;font-weight:600;color:#fff;border-radius:3px;padding:0 6px;background:var(--ben)}
.badge.failed{background:var(--fail)}.badge.incomplete{background:var(--inc)}.badge.established{background:var(--ok)}
.filters{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center;margin:0 0 8px;padding:8px;background:#f6f8fa;border-radius:4px}
.filters input{width:260px}
#toc{margin-bottom:12px}.toc tr[hidden]{display:none}.tocpart{content-visibility:auto}
table.toc{table-layout:fixed}.toc col.o{width:108px}.toc col.s{width:64px}.toc col.a{width:170px}.toc col.c{width:200px}.toc td{overflow-wrap:anywhere}
details.conn{border:1px solid var(--line);border-left:5px solid var(--ben);border-radius:4px;margin:10px 0}
details.conn.failed{border-left-color:var(--fail)}details.conn.incomplete{border-left-color:var(--inc)}details.conn.established{border-left-color:var(--ok)}
details.conn:not([open]){content-visibility:auto;contain-intrinsic-size:auto 40px}
main.deferred{content-visibility:auto}
details.conn>summary{padding:8px 10px;font-size:14px;background:#fafbfc}
details.conn[open]>summary{border-bottom:1px solid var(--line)}
.ep{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}.wh{color:var(--ink)}summary .path{color:var(--mute);font-size:12px;margin-left:6px}
.body{display:flex;flex-wrap:wrap;gap:10px 24px;padding:10px 12px}
.text{flex:1 1 380px;min-width:320px}.ladder{flex:0 1 720px;margin:0;min-width:0}
.verdict{font-size:15px;font-weight:600;margin:4px 0}
.conf{font-size:12px;padding:1px 6px;border-radius:3px;background:#eceff1}.conf.high{background:#ffcdd2}.conf.medium{background:#ffe0b2}
.todo{background:#eef6ee;border-left:3px solid var(--ok);padding:4px 8px}
.caveats li{color:var(--inc)}
ol.evidence{padding-left:18px;margin:4px 0}ol.evidence li{margin:3px 0}.fr{font-weight:600}
.copy{font-size:11px;margin-left:4px;padding:0 6px;cursor:pointer;border:1px solid #b0bec5;background:#fff;border-radius:3px}
.facts dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;font-size:13px;margin:4px 0}.facts dt{font-weight:600}.facts dd{margin:0;word-break:break-word}
svg.lad{width:100%;height:auto;max-width:720px;font-family:system-ui,"DejaVu Sans",sans-serif}
.lad text{font-size:12px;fill:var(--ink)}.lad .hd{font-weight:700;font-size:13px}.lad .addr{font-size:11px;fill:var(--mute);font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.lad .life{stroke:#90a4ae;stroke-width:2}.lad .life.middlebox{stroke:var(--mb);stroke-dasharray:3 3}.lad .hd.middlebox{fill:var(--mb)}
.lad .fr{font-weight:700;font-family:ui-monospace,"DejaVu Sans Mono",monospace}.lad .tm{fill:var(--mute);font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11px}
.lad .ln{stroke:#37474f;stroke-width:1.6}.lad path.hd{fill:#37474f}
.lad .implied .ln{stroke-dasharray:7 5}.lad .inferred .ln{stroke-dasharray:2 4;stroke-width:2}
.lad .mb .ln{stroke:var(--mb)}.lad .mb path.hd{fill:var(--mb)}
.lad .failed .ln{stroke:var(--fail);stroke-width:2.4}.lad .failed path.hd{fill:var(--fail)}.lad .failed .lb{fill:var(--fail);font-weight:700}
.lad .x{stroke:var(--fail);stroke-width:3}
.lad .hl{fill:var(--ev)}.lad .failed .hl{fill:#fde0e0}
.lad .lb{text-anchor:middle}.lad .lb.note{text-anchor:start}.js .lad .fr{cursor:copy}
.lad .lb{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}.lad .evidence .lb{font-weight:600;stroke:var(--ev)}.lad .failed .lb{stroke:#fde0e0}
.lad .gap{fill:#fff}.lad .zz{stroke:#90a4ae;stroke-width:2;fill:none}.lad .gapt{fill:var(--mute);font-style:italic}
.lad .dot{fill:var(--inc)}
.legend{font-size:12px;color:var(--mute);margin-top:2px}.k{display:inline-block;width:28px;height:0;border-top:2px solid #37474f;vertical-align:middle;margin:0 4px 0 10px}
.k.implied{border-top-style:dashed}.k.inferred{border-top-style:dotted}.k.failedk{border-top:3px solid var(--fail)}.k.evk{height:10px;border:0;background:var(--ev)}
footer{color:var(--mute);font-size:12px;margin:24px 0 8px}
@media print{
 @page{size:A4;margin:12mm}
 body{padding:0;max-width:none;font-size:11px}
 .filters,.copy,#toc .filters{display:none!important}
 details.conn,main.deferred,.tocpart{content-visibility:visible!important}details.conn{border-left-width:4px}
 .ladder,.verdict,ol.evidence li{break-inside:avoid}
 .chart svg{width:215px;height:auto}
 details::details-content{content-visibility:visible;display:block}
 details>summary{list-style:none}
 .body{display:block}.ladder{margin-top:6px}svg.lad{max-width:100%}
 .charts{gap:4px 14px}
 a{color:inherit;text-decoration:none}
 [hidden]{display:none!important}
}
"#;

const JS: &str = r#"
(function(){
var d=document;d.documentElement.classList.add('js');
function copy(t,b){function done(){if(!b)return;b.textContent='copied';setTimeout(function(){b.textContent='copy'},1200)}
 function old(){var a=d.createElement('textarea');a.value=t;d.body.appendChild(a);a.select();try{d.execCommand('copy')}catch(e){}a.remove();done()}
 if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t).then(done,old)}else{old()}}
d.addEventListener('click',function(e){var b=e.target.closest&&e.target.closest('button.copy');if(b){e.preventDefault();copy(b.previousSibling.textContent,b)}});
function buttons(r){Array.prototype.forEach.call(r.querySelectorAll('code.flt'),function(c){if(c.nextSibling&&c.nextSibling.className==='copy')return;var b=d.createElement('button');b.type='button';b.className='copy';b.title='copy the Wireshark filter';b.textContent='copy';c.after(b)})}
buttons(d);
function frameFilter(t){var m=t.textContent.split('-');return m.length>1?'frame.number >= '+m[0]+' && frame.number <= '+m[1]:'frame.number == '+m[0]}
d.addEventListener('mouseover',function(e){var t=e.target;if(t.classList&&t.classList.contains('fr')&&t.closest('svg')&&!t.querySelector('title')){var x=d.createElementNS('http://www.w3.org/2000/svg','title');x.textContent=frameFilter(t)+' (click to copy)';t.appendChild(x)}});
d.addEventListener('click',function(e){var t=e.target.closest&&e.target.closest('svg.lad .fr');if(t){var f=frameFilter(t.firstChild.nodeType===3?t.firstChild:t);copy(f,null)}});
var f=d.getElementById('filters');
if(f){f.hidden=false;
 var q=d.getElementById('q'),fo=d.getElementById('fo'),fc=d.getElementById('fc'),fs=d.getElementById('fs'),shown=d.getElementById('shown');
 var rows=Array.prototype.slice.call(d.querySelectorAll('table.toc tbody tr'));
 var p=new URLSearchParams(location.search);
 if(p.get('outcome'))fo.value=p.get('outcome');if(p.get('cause'))fc.value=p.get('cause');if(p.get('server'))fs.value=p.get('server');if(p.get('q'))q.value=p.get('q');
 function apply(){var t=q.value.trim().toLowerCase(),n=0;
  rows.forEach(function(r){var ok=(!fo.value||r.getAttribute('data-outcome')===fo.value)&&(!fc.value||r.getAttribute('data-cause')===fc.value)&&(!fs.value||r.getAttribute('data-server')===fs.value)&&(!t||r.textContent.toLowerCase().indexOf(t)>=0);
   r.hidden=!ok;var s=d.getElementById(r.getAttribute('data-target'));if(s)s.hidden=!ok;if(ok)n++});
  shown.textContent=n+' shown'}
 f.addEventListener('input',apply);f.addEventListener('change',apply);f.addEventListener('submit',function(e){e.preventDefault()});if(location.search)apply()}
function draw(s){var n=s.querySelector('noscript.lazy');if(n){n.insertAdjacentHTML('beforebegin',n.textContent);n.remove();buttons(s)}}
d.addEventListener('toggle',function(e){if(e.target.open&&e.target.classList.contains('conn'))draw(e.target)},true);
d.addEventListener('click',function(e){var a=e.target.closest&&e.target.closest('table.toc a');if(a){var s=d.getElementById(a.getAttribute('href').slice(1));if(s){s.open=true;draw(s)}}});
function target(){var s=location.hash&&d.getElementById(decodeURIComponent(location.hash.slice(1)));if(s&&s.classList.contains('conn')){s.open=true;draw(s);s.scrollIntoView()}}
target();window.addEventListener('hashchange',target);
if(new URLSearchParams(location.search).get('open')==='all'){Array.prototype.forEach.call(d.querySelectorAll('details.conn'),function(s){if(!s.hidden){s.open=true;draw(s)}})}
var closed=[];
window.addEventListener('beforeprint',function(){closed=Array.prototype.filter.call(d.querySelectorAll('details:not([open])'),function(x){return !x.hidden});closed.forEach(function(x){x.open=true;if(x.classList.contains('conn'))draw(x)})});
window.addEventListener('afterprint',function(){closed.forEach(function(x){x.open=false});closed=[]});
})();
"#;
