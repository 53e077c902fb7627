//! Thin command-line front end: parse arguments, call the library, exit
//! with its code.
/// Each connection's report is built from a few dozen short strings and
/// vectors, freed on another thread than the one that made them: the
/// system allocator spent a third of the run's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(rdptriage::cli::main_from_env());
}
