//! Vectors a diagnosis fills and drops for every connection (the facts'
//! lists, the ladder's marks), kept empty per thread between connections
//! instead of being allocated again: a block the allocator hands out
//! is seldom the one just freed, so each new list touched memory that
//! was no longer in the cache. A vector comes back only when it is
//! small ([`KEEP`]): a thread keeps a few kilobytes at most.

use std::cell::Cell;
use std::thread::LocalKey;

/// The most elements a spare vector may have room for. Not a
/// threshold of any verdict: it decides only which vectors are reused.
/// A connection's lists are short (one SYN, one answer, an ending or two,
/// a few protocol messages, a mark per step of the ladder), so 64 holds
/// nearly every connection's; with the five kinds kept it bounds a
/// thread's spare vectors to under 10 KB (`spare_vectors_stay_small`).
pub const KEEP: usize = 64;

/// Where a thread keeps its spare vector of one kind.
pub type Slot<T> = LocalKey<Cell<Vec<T>>>;

/// An empty vector: the thread's spare one, or a new one.
pub fn take<T: 'static>(slot: &'static Slot<T>) -> Vec<T> {
    slot.try_with(Cell::take).unwrap_or_default()
}

/// Keep `v`, emptied, for the next [`take`] on this thread (unless it
/// has room for more than [`KEEP`]).
pub fn give<T: 'static>(slot: &'static Slot<T>, mut v: Vec<T>) {
    if v.capacity() == 0 || v.capacity() > KEEP {
        return;
    }
    v.clear();
    // During the thread's exit the slot is gone: the vector is dropped.
    let _ = slot.try_with(|s| s.set(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static NUMBERS: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    }

    #[test]
    fn a_vector_given_back_is_taken_again_empty() {
        let mut v = take(&NUMBERS);
        assert!(v.is_empty());
        v.extend([1, 2, 3]);
        let at = v.as_ptr();
        give(&NUMBERS, v);
        let again = take(&NUMBERS);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        assert!(again.capacity() >= 3);
        // Taken: the slot is empty until it is given back.
        assert_eq!(take(&NUMBERS).capacity(), 0);
    }

    #[test]
    fn a_large_vector_is_not_kept() {
        let mut v = take(&NUMBERS);
        v.resize(KEEP + 1, 0);
        give(&NUMBERS, v);
        assert_eq!(take(&NUMBERS).capacity(), 0);
    }

    /// The five kinds a diagnosis keeps (facts.rs, ladder.rs), each with
    /// room for [`KEEP`] at most: a few kilobytes a thread.
    #[test]
    fn spare_vectors_stay_small() {
        use crate::common::{Dir, Timestamp};
        use std::mem::size_of;
        let per_element = size_of::<(u64, Timestamp)>() * 2
            + size_of::<crate::diagnose::facts::Term>()
            + size_of::<(u64, Dir)>()
            + size_of::<crate::diagnose::ladder::Mark>();
        assert!(
            KEEP * per_element <= 10 * 1024,
            "{} bytes",
            KEEP * per_element
        );
    }

    #[test]
    fn each_thread_keeps_its_own() {
        let mut v = take(&NUMBERS);
        v.push(7);
        give(&NUMBERS, v);
        let other = std::thread::spawn(|| take(&NUMBERS).capacity())
            .join()
            .expect("thread");
        assert_eq!(other, 0);
        assert!(take(&NUMBERS).capacity() > 0);
    }
}
