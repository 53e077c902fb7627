//! The HTML page of a run written without holding its connections: each
//! file's records are kept in [`RecordSpill`]s as they come (one per
//! outcome rank, so that read rank by rank and file by file they come in
//! the page's order), and the page is written at the end of the run from
//! the files' reports without their connections, the totals gathered on
//! the way and the records read back one at a time, three times (the
//! causes and servers of the contents' filter box, the contents' rows,
//! then the sections). The page is byte for byte [`html::render`]'s for the
//! whole document, `--redact` included: the first pass of redaction reads
//! every file's records in the file's order before anything is rewritten.

use super::html::{self, PageConnections, RANKS};
use super::model::{self, ConnectionReport, FileReport, Totals, TotalsAcc};
use super::redact::Redactor;
use super::stream::RecordSpill;
use super::text;
use std::io::{self, BufWriter, Write};

/// A file's connections for the page, one spill per outcome rank, and
/// their totals. A file's connections come in stream order, so each spill
/// is in the page's order.
#[derive(Debug, Default)]
pub struct HtmlRecords {
    ranks: [RecordSpill; RANKS],
    totals: TotalsAcc,
}

impl HtmlRecords {
    /// Keep one more connection (the next in stream order).
    pub fn push(&mut self, c: &ConnectionReport) -> io::Result<()> {
        self.totals.connection(c);
        match self.ranks.get_mut(usize::from(html::rank(&c.outcome))) {
            Some(spill) => spill.push(c),
            None => Ok(()),
        }
    }

    /// Connections kept.
    pub fn len(&self) -> usize {
        self.ranks.iter().map(RecordSpill::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Failed connections kept.
    pub fn failed(&self) -> usize {
        self.ranks.first().map_or(0, RecordSpill::len)
    }

    /// Whether any of the records went to a temporary file.
    pub fn spilled(&self) -> bool {
        self.ranks.iter().any(RecordSpill::spilled)
    }

    /// Bytes of records held in memory: at most [`RANKS`] times
    /// [`super::stream::SPILL_IN_MEMORY`], however many records.
    pub fn in_memory(&self) -> usize {
        self.ranks.iter().map(RecordSpill::in_memory).sum()
    }

    /// Call `f` with every connection in the file's (stream) order: the
    /// ranks' spills read side by side, the lowest stream first.
    fn in_file_order(
        &mut self,
        f: &mut dyn FnMut(ConnectionReport) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut readers = Vec::with_capacity(RANKS);
        for spill in &mut self.ranks {
            readers.push(spill.records()?);
        }
        let mut next = Vec::with_capacity(RANKS);
        for r in &mut readers {
            next.push(r.next().transpose()?);
        }
        loop {
            let lowest = next
                .iter()
                .enumerate()
                .filter_map(|(k, c)| c.as_ref().map(|c| (c.stream, k)))
                .min();
            let Some((_, k)) = lowest else {
                return Ok(());
            };
            let (Some(slot), Some(reader)) = (next.get_mut(k), readers.get_mut(k)) else {
                return Ok(());
            };
            let refill = reader.next().transpose()?;
            if let Some(c) = std::mem::replace(slot, refill) {
                f(c)?;
            }
        }
    }
}

/// The page of a run: each file's report without its connections, its
/// records, and the run's totals.
#[derive(Debug, Default)]
pub struct HtmlPage {
    heads: Vec<FileReport>,
    files: Vec<HtmlRecords>,
    totals: TotalsAcc,
}

impl HtmlPage {
    /// Add the next file (in input order): its report, and the records
    /// kept while it was analysed (connections still in the report, as
    /// read back from JSON Lines, are kept too).
    pub fn add(&mut self, mut head: FileReport, recs: Option<HtmlRecords>) -> io::Result<()> {
        let mut recs = recs.unwrap_or_default();
        let mut held = std::mem::take(&mut head.connections);
        held.sort_by_key(|c| c.stream);
        for c in &held {
            recs.push(c)?;
        }
        self.totals.file(&head);
        self.totals
            .merge_connections(std::mem::take(&mut recs.totals));
        self.heads.push(head);
        self.files.push(recs);
        Ok(())
    }

    /// Write the page, redacted if asked: what [`html::render`] gives for
    /// the whole document (cleaned for display, redacted first if asked).
    /// Once `stop` answers true (Ctrl-C), the page ends after the section
    /// or the part of the contents being written, with an `Interrupted`
    /// error.
    pub fn write_to(
        mut self,
        redact: bool,
        out: &mut dyn Write,
        stop: &dyn Fn() -> bool,
    ) -> io::Result<()> {
        let mut totals = std::mem::take(&mut self.totals).finish();
        let redactor = if redact {
            Some(self.redact(&mut totals)?)
        } else {
            None
        };
        let mut doc = model::document(Vec::new());
        doc.files = self.heads;
        doc.totals = totals;
        text::clean_for_display(&mut doc);
        let counts: Vec<usize> = self.files.iter().map(HtmlRecords::len).collect();
        let mut conns = Spilled {
            files: &mut self.files,
            redactor: redactor.as_ref(),
        };
        let mut w = BufWriter::with_capacity(1 << 16, out);
        html::write_page(&mut w, &doc, &counts, &mut conns, stop)?;
        w.flush()
    }

    /// `--redact`'s first pass over the run in output order (each file's
    /// head, connections and tail, then the totals); the heads and the
    /// totals rewritten. The connections are rewritten as they are read.
    fn redact(&mut self, totals: &mut Totals) -> io::Result<Redactor> {
        let mut r = Redactor::new();
        for (head, recs) in self.heads.iter_mut().zip(&mut self.files) {
            r.register_head(head);
            recs.in_file_order(&mut |mut c| {
                r.register_connection(&mut c);
                Ok(())
            })?;
            r.register_tail(head);
        }
        r.register_totals(totals);
        for head in &mut self.heads {
            r.rewrite_head(head);
            r.rewrite_tail(head);
        }
        r.rewrite_totals(totals);
        Ok(r)
    }
}

/// The records of a page read back in its order: rank by rank, file by
/// file; each redacted if asked and cleaned for display as it is read.
struct Spilled<'a> {
    files: &'a mut [HtmlRecords],
    redactor: Option<&'a Redactor>,
}

impl PageConnections for Spilled<'_> {
    fn each(
        &mut self,
        f: &mut dyn FnMut(usize, &ConnectionReport) -> io::Result<()>,
    ) -> io::Result<()> {
        let redactor = self.redactor;
        for rank in 0..RANKS {
            for (i, recs) in self.files.iter_mut().enumerate() {
                let Some(spill) = recs.ranks.get_mut(rank) else {
                    continue;
                };
                spill.for_each(&mut |mut c| {
                    if let Some(r) = redactor {
                        r.rewrite_connection(&mut c);
                    }
                    text::clean_connection(&mut c);
                    f(i, &c)
                })?;
            }
        }
        Ok(())
    }
}
