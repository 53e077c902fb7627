//! Thin command-line front end: parse arguments, call the library, exit
//! with its code.
/// Each connection's report is built from a few dozen short strings and
/// vectors, freed on another thread than the one that made them: the
/// system allocator spent a third of the run's time on them. mimalloc's
/// v2 line: it gives freed pages back after 10 ms where v3 waits a
/// second, and a run finishing 10,000 connections a second then held
/// about 60 MiB more at its peak for the same CPU time. Built without
/// transparent huge pages (`no_thp`): with them a freed and taken again
/// region is faulted in 2 MiB at a time, and the peak of a million
/// connections reaching the Confirm in the JSON document was 242 to 280
/// MiB instead of 227 to 236, for 5 to 7% less user CPU (BENCHMARKS.md,
/// "Many connections").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rdptriage::cli::main_from_env());
}
