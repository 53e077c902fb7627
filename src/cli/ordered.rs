//! Running files in parallel and handing their results over in input
//! order, as soon as each and all before it are done.
//!
//! Files are taken in input order by a few dispatcher threads (one per
//! pool thread), each of which runs its file on the rayon pool
//! (`install`), so the work of a file (its connections, diagnosed in
//! parallel) and the files themselves share the one pool. The dispatchers
//! are plain threads, not pool workers: they may wait without holding a
//! pool thread, which is what bounds memory. A file is started only when
//! fewer than `window` files separate it from the next one to hand over,
//! so at most `window` finished results wait for a slow file before them,
//! whatever the number of files.
//!
//! The file whose turn has come (every file before it handed over) may
//! also hand over parts of its output while it runs ([`Parts`]), through
//! a channel of at most [`IN_FLIGHT`] messages: a worker that produces
//! faster than the output is written waits (backpressure), and a file
//! whose turn has not come keeps its output itself until it has.

use rayon::ThreadPool;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};

/// Messages on their way to the consumer at once: results and the parts
/// of the file whose turn it is. With parts of 256 KiB, 8 keep the writer
/// busy while the worker renders the next ones, and bound what waits to
/// 2 MiB.
pub const IN_FLIGHT: usize = 8;

struct Gate {
    /// Results handed over so far (the next index to hand over).
    handed: usize,
    /// The consumer wants no more.
    stop: bool,
}

fn lock(m: &Mutex<Gate>) -> MutexGuard<'_, Gate> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the consumer is handed for a file: parts of its output while it
/// runs (only once its turn has come), then its result.
#[derive(Debug, PartialEq, Eq)]
pub enum Handed<P, T> {
    Part(P),
    Done(T),
}

/// Given to the work of file `index`: hands parts of its output to the
/// consumer once the file's turn has come.
pub struct Parts<'a, P, T> {
    index: usize,
    /// The file whose turn it is (the next to hand over).
    turn: &'a AtomicUsize,
    tx: &'a mpsc::SyncSender<(usize, Handed<P, T>)>,
}

impl<P, T> Parts<'_, P, T> {
    /// Whether the file's turn has come: every file before it was handed
    /// over. Once true, it stays true while the file's work runs.
    pub fn live(&self) -> bool {
        self.turn.load(Ordering::Acquire) == self.index
    }

    /// Hand `part` over, after the parts handed before it (waiting while
    /// [`IN_FLIGHT`] messages wait). Only once [`Parts::live`] is true;
    /// false when the consumer wants no more.
    pub fn send(&self, part: P) -> bool {
        debug_assert!(self.live(), "a part handed over before its file's turn");
        self.tx.send((self.index, Handed::Part(part))).is_ok()
    }
}

/// Run `work(i)` for every `i` in `0..n` on `pool` and call `emit(i, r)`
/// on the calling thread in order of `i`. When `emit` returns false, no
/// further work starts (work under way finishes and is dropped) and
/// `emit` is not called again. `window` (at least the pool's size) bounds
/// the results waiting to be handed over.
pub fn run_ordered<T, W, E>(pool: &ThreadPool, n: usize, window: usize, work: W, mut emit: E)
where
    T: Send,
    W: Fn(usize) -> T + Sync,
    E: FnMut(usize, T) -> bool,
{
    run_ordered_parts::<(), T, _, _>(
        pool,
        n,
        window,
        |i, _| work(i),
        |i, h| match h {
            Handed::Part(()) => true,
            Handed::Done(r) => emit(i, r),
        },
    );
}

/// [`run_ordered`], where `work(i, parts)` may also hand over parts of
/// its output while it runs, once its turn has come: `emit` gets, for
/// each `i` in order, the parts of `i` in the order sent, then `i`'s
/// result.
pub fn run_ordered_parts<P, T, W, E>(
    pool: &ThreadPool,
    n: usize,
    window: usize,
    work: W,
    mut emit: E,
) where
    P: Send,
    T: Send,
    W: Fn(usize, &Parts<'_, P, T>) -> T + Sync,
    E: FnMut(usize, Handed<P, T>) -> bool,
{
    if n == 0 {
        return;
    }
    let lanes = pool.current_num_threads().clamp(1, n);
    let window = window.max(lanes);
    let next = AtomicUsize::new(0);
    let turn = AtomicUsize::new(0);
    let gate = (
        Mutex::new(Gate {
            handed: 0,
            stop: false,
        }),
        Condvar::new(),
    );
    let (tx, rx) = mpsc::sync_channel::<(usize, Handed<P, T>)>(IN_FLIGHT);
    std::thread::scope(|s| {
        for _ in 0..lanes {
            let tx = tx.clone();
            let (next, gate, work, turn) = (&next, &gate, &work, &turn);
            s.spawn(move || loop {
                // A panicking `work` releases the others, so the run ends
                // (and the panic reaches the caller) instead of hanging.
                let _release = Release {
                    gate,
                    only_on_panic: true,
                };
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                {
                    let (m, cv) = gate;
                    let mut g = lock(m);
                    while !g.stop && i >= g.handed + window {
                        g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                    if g.stop {
                        break;
                    }
                }
                let parts = Parts {
                    index: i,
                    turn,
                    tx: &tx,
                };
                let r = pool.install(|| work(i, &parts));
                if tx.send((i, Handed::Done(r))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Receive on this thread; dropping `rx` at the end of the block
        // tells dispatchers still sending that nobody listens, and the
        // guard releases those waiting at the gate, however the block ends
        // (an `emit` that panics included).
        {
            let rx = rx;
            let _release = Release {
                gate: &gate,
                only_on_panic: false,
            };
            let mut waiting: BTreeMap<usize, T> = BTreeMap::new();
            let mut want = 0usize;
            'recv: for (i, h) in rx.iter() {
                match h {
                    // Only the file whose turn it is sends parts.
                    Handed::Part(p) => {
                        if !emit(i, Handed::Part(p)) {
                            lock(&gate.0).stop = true;
                            break 'recv;
                        }
                        continue;
                    }
                    Handed::Done(r) => waiting.insert(i, r),
                };
                while let Some(r) = waiting.remove(&want) {
                    let go = emit(want, Handed::Done(r));
                    want += 1;
                    turn.store(want, Ordering::Release);
                    let (m, cv) = &gate;
                    let mut g = lock(m);
                    g.handed = want;
                    // Never clear a stop: a dispatcher whose work panicked
                    // may have asked for it while this result was on its
                    // way, and the others must not wait at the gate for a
                    // result that will never come.
                    g.stop |= !go;
                    cv.notify_all();
                    drop(g);
                    if !go {
                        break 'recv;
                    }
                }
            }
        }
    });
}

/// Stops the dispatchers when dropped (if `only_on_panic`, only when
/// dropped by a panic).
struct Release<'a> {
    gate: &'a (Mutex<Gate>, Condvar),
    only_on_panic: bool,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if self.only_on_panic && !std::thread::panicking() {
            return;
        }
        let (m, cv) = self.gate;
        lock(m).stop = true;
        cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn pool(n: usize) -> ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    #[test]
    fn hands_over_in_order_whatever_finishes_first() {
        for threads in [1, 2, 4] {
            let mut got = Vec::new();
            run_ordered(
                &pool(threads),
                40,
                4,
                |i| {
                    // Early files are the slow ones.
                    std::thread::sleep(std::time::Duration::from_millis(((40 - i) % 7) as u64));
                    i * 10
                },
                |i, r| {
                    got.push((i, r));
                    true
                },
            );
            let want: Vec<(usize, usize)> = (0..40).map(|i| (i, i * 10)).collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn never_runs_more_than_the_window_ahead() {
        let handed = AtomicUsize::new(0);
        let max_ahead = AtomicUsize::new(0);
        run_ordered(
            &pool(4),
            60,
            5,
            |i| {
                let ahead = i - handed.load(Ordering::SeqCst).min(i);
                max_ahead.fetch_max(ahead, Ordering::SeqCst);
                if i % 10 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                i
            },
            |i, _| {
                handed.store(i + 1, Ordering::SeqCst);
                true
            },
        );
        assert!(max_ahead.load(Ordering::SeqCst) < 5);
    }

    #[test]
    fn stops_when_asked() {
        let started = AtomicUsize::new(0);
        let mut got = 0;
        run_ordered(
            &pool(2),
            1000,
            4,
            |_| {
                started.fetch_add(1, Ordering::SeqCst);
            },
            |_, _| {
                got += 1;
                got < 3
            },
        );
        assert_eq!(got, 3);
        // Only the window's worth beyond what was handed over ever started.
        assert!(started.load(Ordering::SeqCst) <= 3 + 4 + 2);
    }

    #[test]
    fn nested_parallel_work_shares_the_pool() {
        use rayon::prelude::*;
        let mut got = Vec::new();
        run_ordered(
            &pool(2),
            8,
            2,
            |i| {
                (0..1000u64)
                    .into_par_iter()
                    .map(|x| x * i as u64)
                    .sum::<u64>()
            },
            |_, r| {
                got.push(r);
                true
            },
        );
        let want: Vec<u64> = (0..8).map(|i| 499_500 * i).collect();
        assert_eq!(got, want);
        assert_eq!(run_nothing(), 0);
    }

    #[test]
    fn a_panicking_consumer_does_not_hang_the_dispatchers() {
        let r = std::panic::catch_unwind(|| {
            run_ordered(
                &pool(2),
                100,
                2,
                |i| i,
                |i, _| {
                    assert!(i < 3, "consumer gives up");
                    true
                },
            );
        });
        assert!(r.is_err());
    }

    #[test]
    fn a_panicking_worker_does_not_hang_the_run() {
        let r = std::panic::catch_unwind(|| {
            run_ordered(
                &pool(2),
                100,
                2,
                |i| {
                    assert!(i != 5, "work fails");
                    i
                },
                |_, _| true,
            );
        });
        assert!(r.is_err());
    }

    /// A worker that panics while an earlier file is still running: the
    /// earlier file's hand-over must not undo the stop the panic asked
    /// for (it did, and the remaining dispatcher waited at the gate for a
    /// result that never came). Run on a thread so that a hang fails.
    #[test]
    fn a_panic_is_not_undone_by_an_earlier_hand_over() {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| {
                // Three lanes: file 1 fails at once; file 0 is handed over
                // after the failure (which undid the stop); the lane of
                // file 2, slower still, then went on to 3 and waited at 4.
                run_ordered(
                    &pool(3),
                    100,
                    3,
                    |i| {
                        let ms = |n| std::thread::sleep(std::time::Duration::from_millis(n));
                        match i {
                            0 => ms(300),
                            1 => panic!("work fails"),
                            2 => ms(600),
                            _ => {}
                        }
                        i
                    },
                    |_, _| true,
                );
            });
            let _ = tx.send(r.is_err());
        });
        let ended = rx.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(ended, Ok(true), "the run hung or did not fail");
    }

    /// Parts come straight from the file whose turn it is, in order;
    /// a file whose turn has not come keeps its output (here in its
    /// result) and hands the rest over straight once its turn comes.
    /// The consumer sees, whatever the threads, what one thread gives.
    #[test]
    fn parts_come_in_order_and_only_from_the_file_whose_turn_it_is() {
        const EACH: usize = 50;
        for threads in [1, 2, 4] {
            let mut got = Vec::new();
            let mut kept_by_later_files = 0;
            let mut turn = 0;
            run_ordered_parts(
                &pool(threads),
                12,
                4,
                |i, parts: &Parts<'_, usize, Vec<usize>>| {
                    let mut kept = Vec::new();
                    for k in 0..EACH {
                        if i % 3 == 0 {
                            // Some files are slow: those after them run ahead.
                            std::thread::sleep(std::time::Duration::from_micros(300));
                        }
                        let x = i * EACH + k;
                        if parts.live() {
                            // What was kept goes first, as a spill's copy.
                            for y in kept.drain(..) {
                                assert!(parts.send(y));
                            }
                            assert!(parts.send(x));
                        } else {
                            kept.push(x);
                        }
                    }
                    kept
                },
                |i, h| {
                    assert_eq!(i, turn, "a part or result out of turn");
                    match h {
                        Handed::Part(x) => got.push(x),
                        Handed::Done(kept) => {
                            kept_by_later_files += usize::from(i > 0 && !kept.is_empty());
                            got.extend(kept);
                            turn += 1;
                        }
                    }
                    true
                },
            );
            let want: Vec<usize> = (0..12 * EACH).collect();
            assert_eq!(got, want, "{threads} threads");
            if threads > 1 {
                assert!(kept_by_later_files > 0, "no file ran ahead of its turn");
            }
        }
    }

    /// A consumer that stops while a file hands over parts ends the run
    /// (the worker's sends fail instead of waiting forever).
    #[test]
    fn a_consumer_that_stops_mid_file_ends_the_run() {
        let mut parts_seen = 0;
        run_ordered_parts(
            &pool(2),
            3,
            2,
            |_, parts: &Parts<'_, usize, ()>| {
                for k in 0..10_000 {
                    if parts.live() && !parts.send(k) {
                        break;
                    }
                }
            },
            |_, h| {
                parts_seen += usize::from(matches!(h, Handed::Part(_)));
                parts_seen < 5
            },
        );
        assert_eq!(parts_seen, 5);
    }

    fn run_nothing() -> usize {
        let mut calls = 0;
        run_ordered(
            &pool(2),
            0,
            2,
            |i| i,
            |_, _| {
                calls += 1;
                true
            },
        );
        calls
    }
}
