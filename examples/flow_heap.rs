//! Heap held by the flow stage alone: reads a capture through the slicer
//! and the connection table, drops each finished connection at once, and
//! counts live heap bytes with a counting allocator. Prints the peak,
//! the most connection states held at once, and the heap bytes per held
//! state at the peak (the table's own map, entries and tombstones
//! included).
//!
//! ```text
//! cargo run --release --example flow_heap -- bench-data/refused-1m.pcap
//! ```

use rdptriage::flow::{FlowConfig, FlowTable};
use rdptriage::packet::{Sliced, Slicer, SlicerConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes live and their peak (the
/// binary's mimalloc would round each allocation up to its size class:
/// these are the bytes asked for).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new >= l.size() {
            let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
        }
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let path = std::env::args().nth(1).expect("a capture");
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("open"));
    let mut slicer = Slicer::new(SlicerConfig::default());
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut out = Vec::new();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut handed = 0u64;
    rdptriage::capture::read_capture(file, |frame| {
        if let Sliced::Packet(p) = slicer.slice(frame) {
            flows.on_packet(frame.number, frame.ts, frame.orig_len, &p);
        }
        flows.drain_finished(&mut out);
        handed += out.len() as u64;
        out.clear();
    })
    .expect("read");
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let live = flows.live();
    let (rest, stats) = flows.finish();
    println!(
        "peak heap {:.1} MB, states peak {}, live entries at end {}, {} bytes per state at the peak; handed on {} + {}",
        peak as f64 / 1e6,
        stats.states_peak,
        live,
        peak / stats.states_peak.max(1),
        handed,
        rest.len()
    );
}
