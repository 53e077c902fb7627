//! What becomes of a connection once its verdict is final: corrected by
//! its attempt, filtered, and turned into its record, its row of the HTML
//! page or its report. This is about half of the work per connection of a
//! capture of many short connections (the record's JSON above all), so
//! while a file is read and diagnosed on one thread, its connections are
//! grouped into attempts and rendered on another ([`run`]). One thread
//! renders a file's connections, in the order they come: the output is
//! the same with one thread or many.

use crate::analyze::ConnectionResult;
use crate::diagnose::Relabel;
use crate::report::filter::Filter;
use crate::report::html_stream::HtmlRecords;
use crate::report::model::{self, ConnectionReport};
use crate::report::stream::{self, FileRecords};
use std::io;
use std::sync::mpsc;

/// A connection whose verdict is final (boxed as it entered the
/// grouper), with the correction its attempt makes (if any) and the
/// attempt's number.
pub type Final = (Box<ConnectionResult>, Option<Relabel>, u64);

/// Connections handed to the rendering thread at a time: one wake-up of
/// that thread per batch, not per connection.
const BATCH: usize = 128;

/// Batches that may wait for the rendering thread before the analysis
/// waits in turn. The flow table hands on its finished connections when
/// it sweeps, at most once per second of capture time, so they come in
/// bursts of a second's connections. A queue that holds such a burst
/// lets the rendering go on while the next second is read, instead of
/// each thread waiting for the other in turn. 64 batches hold a second
/// of a capture of up to 8,192 connections a second; a busier capture
/// fills the queue and the analysis waits, as with a short one. The
/// bound is memory: at most `(QUEUE + 2) * BATCH` connections (8,448;
/// one to three kilobytes each for a short one, up to about 25 MB) are
/// between the two threads of a file. What the length buys on two CPUs
/// (4, 32 and 64 batches) is measured in BENCHMARKS.md.
const QUEUE: usize = 64;

/// Where a file's final connections go, and what is counted of them.
pub struct Render<'a> {
    filter: &'a Filter,
    /// Where JSON Lines go straight once the file's turn has come.
    outlet: Option<&'a (dyn stream::Outlet + Sync)>,
    /// The records of a streamed format (outside the analysis, so that
    /// after a panic the records already written are still counted).
    records: &'a mut Option<FileRecords>,
    /// Kept for the HTML page.
    pub html: Option<HtmlRecords>,
    /// Kept whole, for the formats that print a file at once.
    pub reports: Vec<ConnectionReport>,
    /// The streams the filters show (for the attempts to list).
    pub shown: Vec<u64>,
    /// How many connections the filters hide.
    pub hidden: u64,
    /// The first failure to write the records to a temporary file.
    pub spill_error: Option<io::Error>,
}

impl<'a> Render<'a> {
    pub fn new(
        filter: &'a Filter,
        outlet: Option<&'a (dyn stream::Outlet + Sync)>,
        records: &'a mut Option<FileRecords>,
        html: bool,
    ) -> Self {
        Render {
            filter,
            outlet,
            records,
            html: html.then(HtmlRecords::default),
            reports: Vec::new(),
            shown: Vec::new(),
            hidden: 0,
            spill_error: None,
        }
    }

    /// Take the next connection in stream order.
    pub fn take(&mut self, (mut c, rl, attempt): Final) {
        if let Some(rl) = rl {
            // Applied once, even if the analysis already applied it.
            if !c.diagnosis.caveats.contains(&rl.note) {
                c.diagnosis = rl.apply(&c.diagnosis);
            }
        }
        let mut cr = model::connection_report(&c);
        drop(c);
        if !self.filter.is_empty() {
            if !self.filter.shows(&cr) {
                self.hidden += 1;
                return;
            }
            self.shown.push(cr.stream);
        }
        let kept = match (self.records.as_mut(), &mut self.html) {
            (Some(r), _) => r.add_to(&mut cr, attempt, self.outlet.map(|o| o as _)),
            (None, Some(h)) => h.push(&cr),
            (None, None) => {
                self.reports.push(cr);
                Ok(())
            }
        };
        if let Err(e) = kept {
            self.spill_error.get_or_insert(e);
        }
    }

    /// The records handed on to the outlet that is live now, if any.
    pub fn pass_on(&mut self) {
        if let Some(Err(e)) = self
            .records
            .as_mut()
            .map(|r| r.pass_on(self.outlet.map(|o| o as _)))
        {
            self.spill_error.get_or_insert(e);
        }
    }
}

/// Run `produce`, which hands each final connection (or any `T`) to the
/// function it is given, and pass each to `take` in the same order: on a
/// thread of its own when `beside` (the two halves of the work then
/// overlap), else right away. A panic in `take` is raised again here,
/// after `produce` ends.
pub fn run<T: Send, R>(
    take: &mut (dyn FnMut(T) + Send),
    beside: bool,
    produce: impl FnOnce(&mut dyn FnMut(T)) -> R,
) -> R {
    if !beside {
        return produce(take);
    }
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Vec<T>>(QUEUE);
        let worker = s.spawn(move || {
            for batch in rx {
                batch.into_iter().for_each(&mut *take);
            }
        });
        let mut batch = Vec::with_capacity(BATCH);
        // A closed channel means `take` panicked: the rest is dropped,
        // and the panic raised below.
        let send = |batch: Vec<T>| {
            let _ = tx.send(batch);
        };
        let out = produce(&mut |f| {
            batch.push(f);
            if batch.len() == BATCH {
                send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
        });
        if !batch.is_empty() {
            send(batch);
        }
        drop(tx);
        if let Err(p) = worker.join() {
            std::panic::resume_unwind(p);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `produce` hands on, in its order, whatever the threads.
    fn taken(beside: bool, n: u64) -> (Vec<u64>, u64) {
        let mut got = Vec::new();
        let sum = run(&mut |x| got.push(x), beside, |give| {
            (0..n).inspect(|&x| give(x * 7 % n)).sum::<u64>()
        });
        (got, sum)
    }

    #[test]
    fn beside_or_not_everything_comes_in_order() {
        for n in [0, 1, BATCH as u64 - 1, BATCH as u64, 10 * BATCH as u64 + 3] {
            let want: Vec<u64> = (0..n).map(|x| x * 7 % n.max(1)).collect();
            for beside in [false, true] {
                let (got, sum) = taken(beside, n);
                assert_eq!(got, want, "beside {beside}, {n} items");
                assert_eq!(sum, n * n.saturating_sub(1) / 2);
            }
        }
    }

    #[test]
    fn a_panic_while_taking_is_raised_after_producing() {
        let produced = std::sync::atomic::AtomicU64::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(&mut |x: u64| assert!(x < 5, "taken {x}"), true, |give| {
                // Far more than the queue holds: the producer must not
                // wait for ever on a thread that is gone.
                for x in 0..(QUEUE as u64 + 8) * BATCH as u64 {
                    give(x);
                    produced.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        }));
        let p = r.expect_err("the panic is raised again");
        let what = p.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(what, "taken 5");
        assert_eq!(
            produced.load(std::sync::atomic::Ordering::Relaxed),
            (QUEUE as u64 + 8) * BATCH as u64
        );
    }
}
