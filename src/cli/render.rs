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

/// A connection whose verdict is final (boxed when it was made), with
/// the correction its attempt makes (if any) and the attempt's number.
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
/// between the two threads of a file; on the way back to be freed, at
/// most [`BACK`] vectors of rendered ones wait. What the length buys on two CPUs
/// (4, 32 and 64 batches) is measured in BENCHMARKS.md.
const QUEUE: usize = 64;

/// Vectors of rendered connections that may wait to be freed on the
/// reading thread ([`run`]), each about a batch's. The reading thread
/// takes them each time it hands on a batch, so while it is the slower
/// one, one or two wait; while it waits for the rendering thread (the
/// JSON document, HTML), they would pile up to the queue's length and
/// hold as many connections again: with 64, the JSON document of
/// confirm-1m.pcap peaked at 261 MiB instead of 209. Past these few, the
/// rendering thread frees them itself.
const BACK: usize = 4;

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
    /// The buffers of the last report written, to build the next in.
    spare: model::Spare,
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
            spare: model::Spare::default(),
        }
    }

    /// Take the next connection in stream order; once rendered, it goes
    /// to `spent` (see [`run`]). (Its box goes there as it is: a
    /// vector of the results themselves would copy each again.)
    #[allow(clippy::vec_box)]
    pub fn take(&mut self, (mut c, rl, attempt): Final, spent: &mut Vec<Box<ConnectionResult>>) {
        if let Some(rl) = rl {
            // Applied once, even if the analysis already applied it.
            if !c.diagnosis.caveats.contains(&rl.note) {
                c.diagnosis = rl.apply(&c.diagnosis);
            }
        }
        let mut cr = model::connection_report_in(&c, &mut self.spare);
        spent.push(c);
        if !self.filter.is_empty() {
            if !self.filter.shows(&cr) {
                self.hidden += 1;
                self.spare.keep(cr);
                return;
            }
            self.shown.push(cr.stream);
        }
        // A report written (records, HTML) is done with: its buffers
        // make the next one.
        let kept = match (self.records.as_mut(), &mut self.html) {
            (Some(r), _) => r.add_to(&mut cr, attempt, self.outlet.map(|o| o as _)),
            (None, Some(h)) => h.push(&cr),
            (None, None) => {
                self.reports.push(cr);
                return;
            }
        };
        self.spare.keep(cr);
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
///
/// `take` puts what it is done with in the vector it is given, to be
/// dropped on the thread that runs `produce`: a connection's result is
/// a few dozen short vectors and strings made there, which the allocator
/// frees at once on the thread that made them, while a free from another
/// thread is queued for that thread to collect (on refused-1m.pcap, a
/// tenth of each thread's time went to freeing and collecting them).
/// The vectors go back and forth with the batches: at most [`BACK`]
/// wait on the way back, and past that the rendering thread drops what
/// it is done with itself.
pub fn run<T: Send, R>(
    take: &mut (dyn FnMut(T, &mut Vec<T>) + Send),
    beside: bool,
    produce: impl FnOnce(&mut dyn FnMut(T)) -> R,
) -> R {
    if !beside {
        let mut spent = Vec::new();
        return produce(&mut |t| {
            take(t, &mut spent);
            spent.clear();
        });
    }
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Vec<T>>(QUEUE);
        let (back, spent_rx) = mpsc::sync_channel::<Vec<T>>(BACK);
        let worker = s.spawn(move || {
            let mut spare = Vec::new();
            for mut batch in rx {
                let mut spent = std::mem::take(&mut spare);
                batch.drain(..).for_each(|t| take(t, &mut spent));
                spare = batch;
                // Full: the reading thread is behind; drop them here.
                let _ = back.try_send(spent);
            }
        });
        // The vector of the next batch: one that came back, emptied of
        // what `take` was done with (dropped here), or a new one.
        let next = || {
            let mut v: Option<Vec<T>> = None;
            for mut spent in spent_rx.try_iter() {
                spent.clear();
                if v.as_ref().map_or(true, |v| v.capacity() < spent.capacity()) {
                    v = Some(spent);
                }
            }
            v.unwrap_or_else(|| Vec::with_capacity(BATCH))
        };
        let mut batch = Vec::with_capacity(BATCH);
        // A closed channel means `take` panicked: the rest is dropped,
        // and the panic raised below.
        let send = |batch: Vec<T>| {
            let _ = tx.send(batch);
        };
        let out = produce(&mut |f| {
            batch.push(f);
            if batch.len() >= BATCH {
                send(std::mem::replace(&mut batch, next()));
            }
        });
        if !batch.is_empty() {
            send(batch);
        }
        drop(tx);
        let joined = worker.join();
        spent_rx.try_iter().for_each(drop);
        if let Err(p) = joined {
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
        let sum = run(&mut |x, _| got.push(x), beside, |give| {
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

    /// Counts where it is dropped: on the producing thread or elsewhere.
    struct Made {
        on: std::thread::ThreadId,
        here: std::sync::Arc<std::sync::atomic::AtomicU64>,
        elsewhere: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }

    impl Drop for Made {
        fn drop(&mut self) {
            let count = if std::thread::current().id() == self.on {
                &self.here
            } else {
                &self.elsewhere
            };
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn what_is_taken_is_dropped_where_it_was_made() {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        use std::sync::Arc;
        let (here, elsewhere) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let n = 40 * BATCH as u64 + 5;
        let seen = AtomicU64::new(0);
        // The taker hands back every item, some at once, some a while
        // later (as the grouper holds connections), the last ones never.
        let mut held = Vec::new();
        let mut take = |m: Made, spent: &mut Vec<Made>| {
            seen.fetch_add(1, Relaxed);
            held.push(m);
            if held.len() > 3 {
                spent.append(&mut held);
            }
        };
        for beside in [false, true] {
            let before = seen.load(Relaxed);
            run(&mut take, beside, |give| {
                for i in 1..=n {
                    give(Made {
                        on: std::thread::current().id(),
                        here: Arc::clone(&here),
                        elsewhere: Arc::clone(&elsewhere),
                    });
                    // As when the reading thread is the slower: each batch
                    // taken before the next is made, so what comes back
                    // never fills the way back.
                    if i % BATCH as u64 == 0 {
                        while seen.load(Relaxed) < before + i {
                            std::thread::yield_now();
                        }
                    }
                }
            });
        }
        assert_eq!(seen.load(Relaxed), 2 * n);
        drop(held);
        assert_eq!(elsewhere.load(Relaxed), 0, "all dropped where made");
        assert_eq!(here.load(Relaxed), 2 * n, "each dropped once");
    }

    #[test]
    fn a_panic_while_taking_is_raised_after_producing() {
        let produced = std::sync::atomic::AtomicU64::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(&mut |x: u64, _| assert!(x < 5, "taken {x}"), true, |give| {
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
