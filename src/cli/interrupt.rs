//! Ctrl-C (SIGINT): the run stops at a record boundary instead of dying in
//! the middle of one. The first SIGINT only sets a flag: reading stops (the
//! reader of every file under way answers an error), no further file is
//! written, and a watcher thread ends the process with exit code 130 as
//! soon as no write is under way, so what was written ends on a whole
//! record (JSON Lines, CSV) even when a thread is blocked reading a pipe.
//! A second SIGINT kills the process as usual.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Held while a piece of the report is written (whole records), so the
/// watcher never ends the process in the middle of one.
static WRITING: Mutex<()> = Mutex::new(());

/// Hold this while writing whole records.
pub fn writing() -> MutexGuard<'static, ()> {
    WRITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether SIGINT was received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// The exit code of an interrupted run (128 + SIGINT, as a shell reports it).
pub const EXIT_INTERRUPTED: i32 = 130;

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Install the handler and its watcher (once, for the process; the
/// command line's `run`).
pub fn install() {
    install_handler();
    let _ = std::thread::Builder::new()
        .name("sigint-watch".into())
        .spawn(|| loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
            if interrupted() {
                let _held = writing();
                eprintln!("rdptriage: interrupted");
                std::process::exit(EXIT_INTERRUPTED);
            }
        });
}

fn install_handler() {
    #[cfg(unix)]
    // SAFETY: a plain sigaction with a handler that only stores an atomic;
    // SA_RESETHAND restores the default for a second Ctrl-C. Without
    // SA_RESTART a read blocked on a pipe returns, and the reader then
    // sees the flag; a write interrupted part-way is finished by
    // `write_all`, so a record is never cut.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}
