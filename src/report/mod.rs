//! Stage 7: printing results. The only stage that knows serde and output
//! formats. The JSON document is a documented contract (docs/json-schema.md)
//! carrying a `schema_version`.
//!
//! Every format renders one [`model::Document`] built from the analysis
//! results ([`model::build_document`]); `--redact` rewrites that document
//! ([`redact::redact`]) before any format sees it, so redaction holds for
//! all of them.

pub mod causes;
pub mod filter;
pub mod html;
pub mod html_stream;
pub mod ladder;
pub mod markdown;
pub mod model;
pub mod neighbours;
pub mod records;
pub mod redact;
pub mod stream;
pub mod terminal;
pub mod text;

#[cfg(test)]
mod leak_tests;
#[cfg(test)]
mod tests;

pub use model::{build_document, Document, Input, SCHEMA_VERSION};
pub use terminal::TermStyle;

/// Every connection report of the lab captures (`testdata/captures` and
/// `testdata/decrypt`, without their keys), the oracle's inputs of the
/// renderers' tests.
#[cfg(test)]
pub(crate) fn lab_reports() -> Vec<model::ConnectionReport> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
    let mut dirs = vec![format!("{root}captures"), format!("{root}decrypt")];
    let mut reports = Vec::new();
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(name);
            } else if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                let bytes = std::fs::read(&path).unwrap();
                let r = crate::analyze::analyze_reader(&name, &bytes[..], &Default::default());
                reports.extend(model::file_report(&Input::new(&r)).connections);
            }
        }
    }
    reports
}

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
    /// One JSON object per line: connections, unreadable and skipped files
    /// (docs/json-schema.md, "JSON Lines"); printed file by file.
    Jsonl,
    /// One CSV row per connection (docs/csv-columns.md); printed file by file.
    Csv,
    /// One self-contained HTML page with the ladders drawn.
    Html,
    /// One line per file (`key=value`), printed file by file.
    Summary,
}

impl Format {
    /// Whether the format is printed file by file, as each is done (the
    /// command line then streams it instead of building one document).
    pub fn streams(self) -> bool {
        matches!(self, Format::Jsonl | Format::Csv | Format::Summary)
    }
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
        Format::Jsonl | Format::Csv | Format::Summary => {
            let mut out = header(opts.format);
            for f in &doc.files {
                out.push_str(&render_file(f, opts.format));
            }
            out
        }
        Format::Table | Format::Markdown | Format::Html => {
            let mut doc = doc.clone();
            text::clean_for_display(&mut doc);
            match opts.format {
                Format::Table => terminal::render(&doc, opts.style),
                Format::Html => html::render(&doc),
                _ => markdown::render(&doc),
            }
        }
    }
}

/// The plain-text ladder of every connection numbered `stream` (one per
/// file that has it), or None when no file has such a connection.
pub fn ladder_text(doc: &Document, stream: u64) -> Option<String> {
    let mut doc = doc.clone();
    text::clean_for_display(&mut doc);
    let parts: Vec<String> = doc
        .files
        .iter()
        .flat_map(|f| {
            f.connections
                .iter()
                .filter(|c| c.stream == stream)
                .map(|c| ladder::text(c, &f.path))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// What a streamed format prints before the first file (the CSV header).
pub fn header(format: Format) -> String {
    match format {
        Format::Csv => records::csv_header(),
        _ => String::new(),
    }
}

/// The records of one file in a streamed format (empty for the others,
/// which print whole documents).
pub fn render_file(f: &model::FileReport, format: Format) -> String {
    match format {
        Format::Jsonl => records::jsonl_file(f),
        Format::Csv => records::csv_file(f),
        Format::Summary => records::summary_file(f),
        _ => String::new(),
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
