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

use rayon::ThreadPool;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};

struct Gate {
    /// Results handed over so far (the next index to hand over).
    handed: usize,
    /// The consumer wants no more.
    stop: bool,
}

fn lock(m: &Mutex<Gate>) -> MutexGuard<'_, Gate> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
    if n == 0 {
        return;
    }
    let lanes = pool.current_num_threads().clamp(1, n);
    let window = window.max(lanes);
    let next = AtomicUsize::new(0);
    let gate = (
        Mutex::new(Gate {
            handed: 0,
            stop: false,
        }),
        Condvar::new(),
    );
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 0..lanes {
            let tx = tx.clone();
            let (next, gate, work) = (&next, &gate, &work);
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
                let r = pool.install(|| work(i));
                if tx.send((i, r)).is_err() {
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
            'recv: for (i, r) in rx.iter() {
                waiting.insert(i, r);
                while let Some(r) = waiting.remove(&want) {
                    let go = emit(want, r);
                    want += 1;
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
