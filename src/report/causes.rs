//! The cause table as text: the line for each message the Windows client
//! most likely showed, `docs/causes.md` (generated from the remediation
//! and client-message tables, `rdptriage --print-causes-md`), and the
//! reverse look-up of a client's error code
//! (`rdptriage --explain-client-error 0x904`).

use super::model::ClientMessageReport;
use crate::diagnose::client_message::{
    self, client_messages, disconnect_reason, extended_reason, producers_of_disconnect_reason,
    producers_of_extended_reason, Code, Extended, ExtendedProducer, Resolved, DISCONNECT_REASONS,
    EXTENDED_REASONS, SOURCE_DISCONNECT, SOURCE_EXTENDED,
};
use crate::diagnose::error_info::error_info_codes;
use crate::diagnose::remedy::remedy;
use crate::diagnose::CauseId;
use crate::proto::mcs::error_info_name;
use std::fmt::Write;

/// `error code 0x904 (disconnectReasonAtClientWinsockFDCLOSE: Socket closed.)`
fn disconnect_phrase(code: u32) -> String {
    match disconnect_reason(code) {
        Some(c) => format!("error code 0x{code:X} ({}: {})", c.name, c.meaning),
        None => format!("error code 0x{code:X}"),
    }
}

/// `extended error code 0x7 (exDiscReasonServerDeniedConnection: ...)`;
/// for a code the public table lacks, the server's Set Error Info name.
fn extended_phrase(code: u32) -> String {
    match extended_reason(code) {
        Some(c) if c.code == code => {
            format!("extended error code 0x{code:X} ({}: {})", c.name, c.meaning)
        }
        Some(c) => format!(
            "extended error code 0x{code:X} ({}; the server's {})",
            c.name,
            error_info_name(code)
        ),
        None => format!(
            "extended error code 0x{code:X} (not in Microsoft's public table; the server's {})",
            error_info_name(code)
        ),
    }
}

/// One line for a resolved message: the codes with their meaning and the
/// dialog's text, or `none known`.
pub fn client_message_line(r: &Resolved) -> String {
    let mut parts = Vec::new();
    if let Some(d) = r.disconnect_reason {
        parts.push(disconnect_phrase(d));
    }
    if let Some(x) = r.extended_reason {
        parts.push(extended_phrase(x));
    }
    if let Some(t) = r.text {
        parts.push(format!("\"{t}\""));
    }
    if parts.is_empty() {
        "none known".to_string()
    } else {
        parts.join(", ")
    }
}

/// The CSV cell: each message with its confidence, `; `-separated.
pub fn client_messages_cell(msgs: &[ClientMessageReport]) -> String {
    msgs.iter()
        .map(|m| format!("{} [{}]", m.message, m.confidence))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The lines shown under a failed connection in the human formats. A
/// message that no source supports says why in a few words, not as a
/// confidence and a source it does not have.
pub fn client_message_lines(msgs: &[ClientMessageReport]) -> Vec<String> {
    msgs.iter()
        .map(|m| {
            let unknown = m.disconnect_reason.is_none() && m.extended_reason.is_none();
            match m.source.strip_prefix("No source: ") {
                Some(why) if unknown => format!("{} ({why})", m.message),
                _ => format!(
                    "{} ({} confidence; source: {})",
                    m.message, m.confidence, m.source
                ),
            }
        })
        .collect()
}

fn ranges(id: CauseId) -> String {
    error_info_codes(id)
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                format!("0x{lo:X}")
            } else {
                format!("0x{lo:X}-0x{hi:X}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cause's client messages as documented (before a capture fills in
/// the server's code).
fn static_message_line(id: CauseId, m: &client_message::ClientMessage) -> String {
    let mut parts = Vec::new();
    if let Some(d) = m.disconnect_reason {
        parts.push(disconnect_phrase(d));
    }
    if m.extended == Extended::ServerErrorInfo {
        let r = ranges(id);
        parts.push(if r.is_empty() {
            "extended error code = the Set Error Info code the server sent".to_string()
        } else {
            format!("extended error code = the Set Error Info code the server sent ({r})")
        });
    }
    if let Some(t) = m.text {
        parts.push(format!("\"{t}\""));
    }
    if parts.is_empty() {
        "none known".to_string()
    } else {
        parts.join(", ")
    }
}

/// Text for docs/causes.md: HTML-like characters escaped, code spans kept.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' => out.push_str("\\*"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

const SOURCE_DISCONNECT_URL: &str =
    "https://learn.microsoft.com/en-us/windows/win32/termserv/imstscaxevents-ondisconnected";
const SOURCE_EXTENDED_URL: &str =
    "https://learn.microsoft.com/en-us/windows/win32/termserv/extendeddisconnectreasoncode";

/// The command that regenerates docs/causes.md.
pub const CAUSES_MD_COMMAND: &str = "cargo run -- --print-causes-md > docs/causes.md";

/// docs/causes.md: every cause, what the wire shows, what the user saw,
/// what to do and the source, generated from the remediation table and
/// the client-message table.
pub fn causes_markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Causes, what the user saw, and what to do\n");
    let _ = writeln!(
        out,
        "<!-- Generated from src/diagnose/remedy.rs and src/diagnose/client_message.rs; do not \
         edit. Regenerate with `{CAUSES_MD_COMMAND}` (a test checks it is current). -->\n"
    );
    let _ = writeln!(
        out,
        "Every cause rdptriage names (the `cause.id` of the JSON report), what the capture \
         shows, the message the Windows client (mstsc) most likely showed, what to do, and the \
         source the remedy follows. This file supersedes the remedies of the earlier domain \
         guide (`rdp-failure-guide.md`).\n"
    );
    let _ = writeln!(
        out,
        "\"What the user saw\" uses Microsoft's two tables: the disconnect reason (the dialog's \
         \"Error code\", [IMsTscAxEvents::OnDisconnected]({SOURCE_DISCONNECT_URL})) and the extended reason (\"Extended \
         error code\", [ExtendedDisconnectReasonCode]({SOURCE_EXTENDED_URL})), whose values 1 to 12, 256 to 267 and \
         the protocol range repeat the server's Set Error Info code (MS-RDPBCGR 2.2.5.1.1). Each \
         entry carries a confidence and what supports it; \"none known\" means no source ties \
         the cause to a client message, and rdptriage does not guess one. `rdptriage \
         --explain-client-error 0x904` goes the other way, from a code in a ticket to the \
         verdicts that produce it.\n",
    );
    let _ = writeln!(out, "| cause | what the wire shows |\n|---|---|");
    for id in CauseId::ALL {
        let wire = remedy(*id).map(|r| r.wire).unwrap_or("");
        let _ = writeln!(out, "| [`{0}`](#{0}) | {1} |", id.id(), md(wire));
    }
    for id in CauseId::ALL {
        let Some(r) = remedy(*id) else { continue };
        let _ = writeln!(out, "\n## {}\n", id.id());
        let _ = writeln!(out, "**What the wire shows:** {}\n", md(r.wire));
        let _ = writeln!(out, "**What the user saw:**\n");
        for m in client_messages(*id) {
            let _ = writeln!(
                out,
                "- {} ({} confidence; {})",
                md(&static_message_line(*id, m)),
                m.confidence.name(),
                md(m.source)
            );
        }
        let _ = writeln!(out, "\n**What to do:** {}\n", md(r.remedy));
        let _ = writeln!(out, "**Source:** {}", md(r.source));
    }
    out
}

/// Parse `0x904`, `904h`, `2308`, `0x904/0x7` or `ext:0x7` into the
/// disconnect reason and the extended reason asked about.
pub fn parse_client_error(arg: &str) -> Result<(Option<u32>, Option<u32>), String> {
    fn num(s: &str) -> Result<u32, String> {
        let t = s.trim();
        let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or(t.strip_prefix("0X")) {
            (h, 16)
        } else if let Some(h) = t.strip_suffix('h').or(t.strip_suffix('H')) {
            (h, 16)
        } else {
            (t, 10)
        };
        u32::from_str_radix(digits, radix)
            .map_err(|_| format!("`{s}` is not a code (use 0x904, 2308 or 0x904/0x7)"))
    }
    let a = arg.trim();
    let lower = a.to_ascii_lowercase();
    if let Some(x) = lower
        .strip_prefix("ext:")
        .or(lower.strip_prefix("extended:"))
    {
        return Ok((None, Some(num(x)?)));
    }
    match a.split_once(['/', ',', ' ']) {
        Some((d, x)) => Ok((Some(num(d)?), Some(num(x)?))),
        None => Ok((Some(num(a)?), None)),
    }
}

fn code_line(c: &Code) -> String {
    format!("0x{:X} ({}) {}: {}", c.code, c.code, c.name, c.meaning)
}

/// What a client error code means and which verdicts produce it.
pub fn explain_client_error(arg: &str) -> Result<String, String> {
    let (disc, ext) = parse_client_error(arg)?;
    let mut out = String::new();
    if let Some(d) = disc {
        explain_disconnect(&mut out, d);
    }
    if let Some(x) = ext {
        if disc.is_some() {
            out.push('\n');
        }
        explain_extended(&mut out, x);
    }
    Ok(out)
}

fn explain_disconnect(out: &mut String, d: u32) {
    let _ = writeln!(out, "Disconnect reason (\"Error code\") 0x{d:X} ({d}):");
    match disconnect_reason(d) {
        Some(c) => {
            let _ = writeln!(out, "  {}", code_line(c));
            let _ = writeln!(out, "  Source: {SOURCE_DISCONNECT}");
        }
        None => {
            let _ = writeln!(
                out,
                "  Not in Microsoft's published table (IMsTscAxEvents::OnDisconnected): no source \
                 says what it means, and rdptriage does not guess. Codes the table lists: {}.",
                DISCONNECT_REASONS
                    .iter()
                    .map(|c| format!("0x{:X}", c.code))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return;
        }
    }
    let producers = producers_of_disconnect_reason(d);
    if producers.is_empty() {
        let _ = writeln!(
            out,
            "  Verdicts that produce it: none known (no source ties a verdict to this code)."
        );
    } else {
        let _ = writeln!(out, "  Verdicts that produce it:");
        for p in producers {
            let _ = writeln!(
                out,
                "    - {} ({} confidence): {}",
                p.cause.id(),
                p.confidence.name(),
                p.source
            );
        }
    }
    let _ = writeln!(out, "  To tell them apart, capture: {}", capture_advice(d));
}

fn capture_advice(d: u32) -> &'static str {
    match d {
        0x204 | 0x108 | 0x104 | 0x208 | 0x508 | 0x604 => {
            "on the client, from before the connection starts (DNS, the SYN and what answers it)"
        }
        _ => {
            "on both ends if possible (at least on the client), from before the connection \
             starts to after the error, and keep the server's event logs (System, \
             TerminalServices-*, RemoteDesktopServices-RdpCoreTS) for that time"
        }
    }
}

fn explain_extended(out: &mut String, x: u32) {
    let _ = writeln!(
        out,
        "Extended reason (\"Extended error code\") 0x{x:X} ({x}):"
    );
    match extended_reason(x) {
        Some(c) if c.code == x => {
            let _ = writeln!(out, "  {}", code_line(c));
        }
        Some(c) => {
            let _ = writeln!(
                out,
                "  Inside Microsoft's protocol range ({} to exDiscReasonProtocolRangeEnd): an \
                 internal protocol error; the server's Set Error Info name for it: {}.",
                c.name,
                error_info_name(x)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  Not in Microsoft's published ExtendedDisconnectReasonCode table; MS-RDPBCGR \
                 2.2.5.1.1 names the server's code {}.",
                error_info_name(x)
            );
        }
    }
    let _ = writeln!(
        out,
        "  Source: {SOURCE_EXTENDED}; MS-RDPBCGR 2.2.5.1.1 (Set Error Info)"
    );
    match producers_of_extended_reason(x) {
        ExtendedProducer::Nothing => {
            let _ = writeln!(out, "  Verdicts that produce it: none (no information).");
        }
        ExtendedProducer::SessionEnd => {
            let _ = writeln!(
                out,
                "  Verdict: not a failure: the server sends this code for a logoff or disconnect \
                 asked for by a user or an administrator (benign session_end)."
            );
        }
        ExtendedProducer::Cause { id, specific, .. } if !specific => {
            let _ = writeln!(
                out,
                "  Verdict: {} (the catch-all for a Set Error Info code without an entry of its \
                 own; rdptriage names it with medium confidence, and the code's meaning is not \
                 known to it).",
                id.id()
            );
        }
        ExtendedProducer::Cause { id, .. } => {
            let confidence =
                if EXTENDED_REASONS.iter().any(|c| c.code == x) || (4096..=32767).contains(&x) {
                    "medium"
                } else {
                    "low"
                };
            let _ = writeln!(
                out,
                "  Verdict: {} ({confidence} confidence: the client repeats the server's Set \
                 Error Info code, read from the two tables' numbering).",
                id.id()
            );
        }
    }
    let _ = writeln!(
        out,
        "  To confirm: a capture shows the server's Set Error Info PDU only with Standard RDP \
         Security (in the clear); inside TLS rdptriage sees the server end the connection, so \
         read the server's TerminalServices event logs at that time too."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_both_tables_is_explained() {
        for c in DISCONNECT_REASONS {
            let t = explain_client_error(&format!("0x{:x}", c.code)).unwrap();
            assert!(t.contains(c.name), "{t}");
            assert!(t.contains("Verdict"), "{t}");
        }
        for c in EXTENDED_REASONS {
            let t = explain_client_error(&format!("ext:{}", c.code)).unwrap();
            assert!(t.contains(c.name), "{t}");
            assert!(t.contains("Verdict"), "{t}");
        }
    }

    #[test]
    fn explains_a_ticket() {
        let t = explain_client_error("0x904/0x7").unwrap();
        assert!(t.contains("Socket closed."), "{t}");
        assert!(t.contains("server_closed"), "{t}");
        assert!(t.contains("exDiscReasonServerDeniedConnection"), "{t}");
        assert!(t.contains("server_denied_session"), "{t}");
        let t = explain_client_error("2308").unwrap();
        assert!(t.contains("0x904"), "{t}");
        // Codes outside the tables are said to be unknown, not guessed.
        let t = explain_client_error("0xB09").unwrap();
        assert!(t.contains("Not in Microsoft's published table"), "{t}");
        assert!(explain_client_error("zz").is_err());
        let t = explain_client_error("ext:0x3").unwrap();
        assert!(t.contains("session_time_limit"), "{t}");
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_client_error("0x904"), Ok((Some(0x904), None)));
        assert_eq!(parse_client_error("904h"), Ok((Some(0x904), None)));
        assert_eq!(parse_client_error("2308"), Ok((Some(2308), None)));
        assert_eq!(parse_client_error("0x904/0x7"), Ok((Some(0x904), Some(7))));
        assert_eq!(parse_client_error("ext:7"), Ok((None, Some(7))));
    }

    #[test]
    fn the_causes_document_covers_every_cause() {
        let md = causes_markdown();
        for id in CauseId::ALL {
            assert!(md.contains(&format!("\n## {}\n", id.id())), "{}", id.id());
        }
        assert!(md.contains("none known"));
        assert!(md.contains(CAUSES_MD_COMMAND));
    }
}
