//! Stage 7: printing results. The only stage that knows serde and output
//! formats. The JSON document is a documented contract (docs/json-schema.md)
//! carrying a `schema_version`.
//!
//! Every format renders one [`model::Document`] built from the analysis
//! results ([`model::build_document`]); `--redact` rewrites that document
//! ([`redact::redact`]) before any format sees it, so redaction holds for
//! all of them.

pub mod markdown;
pub mod model;
pub mod redact;
pub mod terminal;
pub mod text;

#[cfg(test)]
mod tests;

pub use model::{build_document, Document, Input, SCHEMA_VERSION};
pub use terminal::TermStyle;

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Header, table and paragraphs for a terminal.
    #[default]
    Table,
    /// One JSON document per run (docs/json-schema.md).
    Json,
    /// A report to paste into a ticket.
    Markdown,
}

/// How to print a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportOptions {
    pub format: Format,
    /// Terminal drawing (table format only).
    pub style: TermStyle,
    /// Replace addresses and names with pseudonyms.
    pub redact: bool,
}

/// Build, redact if asked, and render the report of a run.
pub fn render(inputs: &[Input<'_>], opts: &ReportOptions) -> String {
    let mut doc = build_document(inputs);
    if opts.redact {
        redact::redact(&mut doc);
    }
    render_document(&doc, opts)
}

/// Render a document in the chosen format.
pub fn render_document(doc: &Document, opts: &ReportOptions) -> String {
    match opts.format {
        Format::Json => to_json(doc),
        Format::Table | Format::Markdown => {
            let mut doc = doc.clone();
            text::clean_for_display(&mut doc);
            if opts.format == Format::Table {
                terminal::render(&doc, opts.style)
            } else {
                markdown::render(&doc)
            }
        }
    }
}

/// The JSON document, pretty-printed, with a final newline.
pub fn to_json(doc: &Document) -> String {
    match serde_json::to_string_pretty(doc) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Serialising plain structs of strings and numbers cannot fail; if
        // it ever did, say so in JSON rather than print half a document.
        Err(e) => format!(
            "{{\"schema_version\": {SCHEMA_VERSION}, \"error\": {:?}}}\n",
            e.to_string()
        ),
    }
}
