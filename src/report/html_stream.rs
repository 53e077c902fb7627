//! The HTML page of a run written without holding its connections: each
//! file's records are kept in [`RecordSpill`]s as they come (one per
//! outcome rank), then moved, file after file in input order, to the
//! run's spill of their rank, so that read rank by rank they come in the
//! page's order (rank, file, stream) and the run holds one temporary
//! file per rank, however many files. The page is written at the end of
//! the run from the files' reports without their connections, the totals
//! gathered on the way and the records read back one at a time, three
//! times (the causes and servers of the contents' filter box, the
//! contents' rows, then the sections). The page is byte for byte
//! [`html::render`]'s for the whole document, `--redact` included: the
//! first pass of redaction reads every file's records in the file's
//! order before anything is rewritten.

use super::html::{self, PageConnections, RANKS};
use super::model::{self, ConnectionReport, FileReport, Totals, TotalsAcc};
use super::redact::Redactor;
use super::stream::{RecordSpill, Records};
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
}

/// The page of a run: each file's report without its connections and
/// its number of records of each rank, the records of each rank, and the
/// run's totals.
#[derive(Debug, Default)]
pub struct HtmlPage {
    heads: Vec<FileReport>,
    counts: Vec<[usize; RANKS]>,
    ranks: [RecordSpill; RANKS],
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
        self.totals.merge_connections(recs.totals);
        let mut counts = [0; RANKS];
        for ((run, file), n) in self.ranks.iter_mut().zip(&mut recs.ranks).zip(&mut counts) {
            *n = file.len();
            run.append(file)?;
        }
        self.heads.push(head);
        self.counts.push(counts);
        Ok(())
    }

    /// Bytes of records held in memory: at most [`RANKS`] times
    /// [`super::stream::SPILL_IN_MEMORY`], however many files.
    pub fn in_memory(&self) -> usize {
        self.ranks.iter().map(RecordSpill::in_memory).sum()
    }

    /// Temporary files the records went to: at most one per rank.
    pub fn temporary_files(&self) -> usize {
        self.ranks.iter().filter(|r| r.spilled()).count()
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
        let per_file: Vec<usize> = self.counts.iter().map(|c| c.iter().sum()).collect();
        let mut conns = Spilled {
            ranks: &mut self.ranks,
            counts: &self.counts,
            redactor: redactor.as_ref(),
        };
        let mut w = BufWriter::with_capacity(1 << 16, out);
        html::write_page(&mut w, &doc, &per_file, &mut conns, stop)?;
        w.flush()
    }

    /// `--redact`'s first pass over the run in output order (each file's
    /// head, its connections in stream order and its tail, then the
    /// totals); the heads and the totals rewritten. The connections are
    /// rewritten as they are read.
    fn redact(&mut self, totals: &mut Totals) -> io::Result<Redactor> {
        let mut r = Redactor::new();
        let mut readers = Vec::with_capacity(RANKS);
        for spill in &mut self.ranks {
            readers.push(spill.records()?);
        }
        for (head, counts) in self.heads.iter_mut().zip(&self.counts) {
            r.register_head(head);
            in_stream_order(&mut readers, *counts, &mut |mut c| {
                r.register_connection(&mut c)
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

/// Call `f` with the next file's records (`counts` of each rank) in its
/// order: the ranks' readers side by side, the lowest stream first.
fn in_stream_order(
    readers: &mut [Records<'_>],
    mut counts: [usize; RANKS],
    f: &mut dyn FnMut(ConnectionReport),
) -> io::Result<()> {
    // The next record of rank `k`, if the file has one more.
    let mut take =
        |k: usize, counts: &mut [usize; RANKS]| -> io::Result<Option<ConnectionReport>> {
            match (counts.get_mut(k), readers.get_mut(k)) {
                (Some(n), Some(reader)) if *n > 0 => {
                    *n -= 1;
                    reader.next().transpose()
                }
                _ => Ok(None),
            }
        };
    let mut next = Vec::with_capacity(RANKS);
    for k in 0..RANKS {
        next.push(take(k, &mut counts)?);
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
        let refill = take(k, &mut counts)?;
        if let Some(c) = next
            .get_mut(k)
            .and_then(|slot| std::mem::replace(slot, refill))
        {
            f(c);
        }
    }
}

/// The records of a page read back in its order: rank by rank, and in a
/// rank file by file (`counts`: each file's records of each rank); each
/// redacted if asked and cleaned for display as it is read.
struct Spilled<'a> {
    ranks: &'a mut [RecordSpill; RANKS],
    counts: &'a [[usize; RANKS]],
    redactor: Option<&'a Redactor>,
}

impl PageConnections for Spilled<'_> {
    fn each(
        &mut self,
        f: &mut dyn FnMut(usize, &ConnectionReport) -> io::Result<()>,
    ) -> io::Result<()> {
        for (rank, spill) in self.ranks.iter_mut().enumerate() {
            let mut records = spill.records()?;
            for (i, counts) in self.counts.iter().enumerate() {
                for _ in 0..counts.get(rank).copied().unwrap_or(0) {
                    let Some(mut c) = records.next().transpose()? else {
                        return Ok(());
                    };
                    if let Some(r) = self.redactor {
                        r.rewrite_connection(&mut c);
                    }
                    text::clean_connection(&mut c);
                    f(i, &c)?;
                }
            }
        }
        Ok(())
    }
}
