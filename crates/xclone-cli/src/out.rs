//! Standard output, the way command-line tools treat it: every subcommand writes what it
//! prints through [`print`], which never panics (`println!` does on a write error).
//!
//! A write error ends xclone like coreutils' `seq` or `cat`:
//!
//! - `EPIPE` (the reader went away, `xclone probe | head -1`) when xclone started with
//!   `SIGPIPE` at its default action: xclone dies of `SIGPIPE`, silently, as a C program does
//!   at its first write (a shell reports 141). Rust's runtime ignores `SIGPIPE` before `main`,
//!   so the disposition xclone was *given* is recorded before that, from `.init_array`.
//! - `EPIPE` when xclone started with `SIGPIPE` ignored (`trap '' PIPE`, some supervisors),
//!   and every other error (`ENOSPC` from `/dev/full`, `EIO`, `EBADF` for a closed stdout):
//!   one line on stderr and exit status 125, where coreutils print one line and exit 1.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use xclone::raw::signal::{self, Disposition};

const UNKNOWN: u8 = 0;
const DEFAULT: u8 = 1;
const NOT_DEFAULT: u8 = 2;

/// `SIGPIPE`'s disposition when the process started, before Rust's runtime ignored it.
static SIGPIPE_AT_START: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Runs before `main` (glibc calls `.init_array` entries, static executables included, before
/// Rust's `lang_start`, which is where `SIGPIPE` becomes ignored).
#[used]
#[link_section = ".init_array"]
static RECORD_SIGPIPE: extern "C" fn() = record_sigpipe;

extern "C" fn record_sigpipe() {
    let v = match signal::disposition(libc::SIGPIPE) {
        Ok(Disposition::Default) => DEFAULT,
        Ok(_) => NOT_DEFAULT,
        Err(_) => UNKNOWN,
    };
    SIGPIPE_AT_START.store(v, Ordering::Relaxed);
}

/// Whether xclone was started with `SIGPIPE` at its default action (also when that could not
/// be read: the default is what nearly every caller gives).
pub fn sigpipe_was_default() -> bool {
    SIGPIPE_AT_START.load(Ordering::Relaxed) != NOT_DEFAULT
}

/// Writes `text` on stdout and flushes it. On failure, returns the exit status to end with
/// after reporting it (or does not return: death by `SIGPIPE`, see the module).
pub fn print(text: &str) -> Result<(), i32> {
    write_all(&mut io::stdout().lock(), text).map_err(|e| write_failed(&e))
}

/// [`print`] for a subcommand that has nothing else to do: its exit status.
pub fn print_status(text: &str, ok: i32) -> i32 {
    match print(text) {
        Ok(()) => ok,
        Err(code) => code,
    }
}

fn write_all(w: &mut impl Write, text: &str) -> io::Result<()> {
    w.write_all(text.as_bytes())?;
    w.flush()
}

/// Ends a failed write on stdout: death by `SIGPIPE` for a broken pipe when that is how
/// xclone was started, else one line and [`crate::exit::FAILURE`].
pub fn write_failed(e: &io::Error) -> i32 {
    if e.raw_os_error() == Some(libc::EPIPE) && sigpipe_was_default() {
        // What the kernel would have done at the write, had the runtime not ignored it.
        let _ = signal::raise_default(libc::SIGPIPE);
    }
    crate::exit::fail(format!(
        "write error on standard output: {}",
        crate::cmd::run::errno_text(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing(i32);
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_and_reports_errors() {
        let mut v = Vec::new();
        write_all(&mut v, "a\nb\n").unwrap();
        assert_eq!(v, b"a\nb\n");
        let e = write_all(&mut Failing(libc::ENOSPC), "x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    }

    #[test]
    fn the_start_disposition_was_recorded() {
        // The test harness is started with SIGPIPE at its default action by cargo, or ignored
        // by some other runner: either way `.init_array` ran and recorded something.
        assert_ne!(SIGPIPE_AT_START.load(Ordering::Relaxed), UNKNOWN);
    }
}
