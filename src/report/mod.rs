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

/// The lab's captures (`testdata/captures` and `testdata/decrypt`, their
/// directories walked), in a stable order.
#[cfg(test)]
fn lab_capture_paths() -> Vec<std::path::PathBuf> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
    let mut dirs = vec![format!("{root}captures"), format!("{root}decrypt")];
    let mut files = Vec::new();
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
                files.push(path);
            }
        }
    }
    files
}

/// Every connection report of the lab captures (without the decryption
/// captures' keys), the oracle's inputs of the renderers' tests.
#[cfg(test)]
pub(crate) fn lab_reports() -> Vec<model::ConnectionReport> {
    let mut reports = Vec::new();
    for path in lab_capture_paths() {
        let name = path.to_string_lossy();
        let bytes = std::fs::read(&path).unwrap();
        let r = crate::analyze::analyze_reader(&name, &bytes[..], &Default::default());
        reports.extend(model::file_report(&Input::new(&r)).connections);
    }
    reports
}

/// Every connection of the lab captures (the decryption captures also
/// with their key logs) and of the public corpus (when it is there), as
/// the analysis diagnosed it.
#[cfg(test)]
pub(crate) fn analysed_results() -> Vec<crate::analyze::ConnectionResult> {
    let mut files = lab_capture_paths();
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
    let manifest = std::fs::read_to_string(format!("{corpus}/MANIFEST.tsv"));
    for line in manifest.iter().flat_map(|m| m.lines().skip(1)) {
        if let Some(file) = line.split('\t').next() {
            files.push(std::path::Path::new(corpus).join(file));
        }
    }
    let mut all = Vec::new();
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path.to_string_lossy();
        let mut opts = crate::analyze::Options::default();
        let r = crate::analyze::analyze_reader(&name, &bytes[..], &opts);
        all.extend(r.connections);
        if let Ok(log) = std::fs::read_to_string(path.with_extension("keys")) {
            use crate::proto::decrypt::keys::{Keys, Origin};
            let mut keys = Keys::default();
            keys.add_key_log(&log, Origin::File(name.to_string()));
            opts.keys = Some(std::sync::Arc::new(keys));
            let r = crate::analyze::analyze_reader(&name, &bytes[..], &opts);
            all.extend(r.connections);
        }
    }
    all
}

/// [`analysed_results`], then each of [`built_timelines`] with its
/// diagnosis.
#[cfg(test)]
pub(crate) fn analysed_and_built_results() -> Vec<crate::analyze::ConnectionResult> {
    let mut results = analysed_results();
    results.extend(built_timelines().into_iter().map(|tl| {
        let diagnosis = crate::diagnose::diagnose(&tl);
        crate::analyze::ConnectionResult {
            timeline: tl,
            diagnosis,
            decryption: None,
        }
    }));
    results
}

/// Connections built by hand: one for each way up the ladder (and
/// off it), several stopping half-way.
#[cfg(test)]
pub(crate) fn built_timelines() -> Vec<crate::timeline::Timeline> {
    use crate::diagnose::testkit::{good_cert, TlBuilder};
    use crate::proto::credssp::CredsspLeg::*;
    use crate::proto::x224::Protocols;
    let to_c = crate::common::Dir::ToClient;
    let to_s = crate::common::Dir::ToServer;
    let tls = |b: TlBuilder, selected| {
        b.handshake()
            .cr(4, 0.002, Protocols::SSL | Protocols::HYBRID)
            .cc(5, 0.003, selected)
            .tls12(6, 0.004, good_cert("srv"))
    };
    vec![
        TlBuilder::new().syn(1, 0.0).rst_s(2, 0.0001).build(),
        TlBuilder::new().syns(1, &[0.0, 1.0, 3.0]).build(),
        TlBuilder::new().handshake().rst_c(4, 0.01).build(),
        TlBuilder::new().handshake().cr(4, 0.002, 3).build(),
        TlBuilder::new()
            .handshake()
            .cr(4, 0.002, 1)
            .neg_failure(5, 0.003, 5)
            .fin_s(6, 0.004)
            .build(),
        TlBuilder::new()
            .handshake()
            .cr(4, 0.002, 1)
            .neg_failure(5, 0.003, 5)
            .client_hello(6, 0.004)
            .server_hello(7, 0.005, 0x0303)
            .build(),
        TlBuilder::new()
            .handshake()
            .cr(4, 0.002, 0)
            .cc(5, 0.003, Protocols::RDP)
            .build(),
        tls(TlBuilder::new(), Protocols::SSL)
            .app(20, 0.01, to_s, 400)
            .app(21, 0.02, to_c, 900)
            .app_summary(22, 0.5, to_c, 40, 50_000)
            .build(),
        tls(TlBuilder::new(), Protocols::SSL)
            .alert(20, 0.01, to_c, 48)
            .build(),
        tls(TlBuilder::new(), Protocols::HYBRID)
            .leg(20, 0.01, Negotiate)
            .leg(21, 0.02, Challenge)
            .leg(22, 0.03, Authenticate)
            .rst_s(23, 0.04)
            .build(),
        tls(TlBuilder::new(), Protocols::HYBRID_EX)
            .leg(20, 0.01, Challenge)
            .leg(21, 0.02, Negotiate)
            .leg(22, 0.03, Authenticate)
            .leg(23, 0.04, ServerPubKeyAuth)
            .leg(24, 0.05, Credentials)
            .leg(25, 0.06, EarlyUserAuthResult)
            .app(26, 0.07, to_s, 400)
            .build(),
        TlBuilder::new()
            .handshake()
            .client_hello(4, 0.002)
            .server_hello(5, 0.003, 0x0304)
            .app(6, 0.004, to_s, 80)
            .app(7, 0.005, to_c, 200)
            .app(8, 0.006, to_s, 300)
            .build(),
        TlBuilder::new()
            .app(1, 0.0, to_s, 300)
            .app(2, 0.1, to_c, 3000)
            .build(),
        TlBuilder::new()
            .payload(4_000, 90_000)
            .last_payload(to_c, 40, 9.0)
            .build(),
    ]
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
