//! Time namespaces below the safe layer: a new time namespace for the caller's children,
//! and the probe of when a `CLONE_VM` child enters one.
//!
//! Until Linux 6.2 `copy_namespaces()` (kernel/nsproxy.c) moved every child created with a
//! new time namespace into it at once (`timens_on_fork()`), `CLONE_VM` children included,
//! and `copy_process()` (kernel/fork.c) refused `CLONE_VM`/`CLONE_THREAD` from a caller whose
//! `time_for_children` differed from its own. Commit 2b5f9dad32ed ("fs/exec: switch timens
//! when a task gets a new mm", merged for 6.2) removed that check, skips `timens_on_fork()`
//! for `CLONE_VM` and switches at execve (`exec_task_namespaces()`). Both behaviours changed
//! together, so one question tells them apart.

use super::fork::exit_code_of;
use super::probe_calls::{clone3, CloneOutcome};
use super::syscall::{result, syscall6, RawErrno};
use crate::errno::Errno;

const NR_UNSHARE: usize = linux_raw_sys::general::__NR_unshare as usize;

/// `unshare(CLONE_NEWTIME)`: the caller's children (and, from 6.2, the caller after its
/// next execve) get a new time namespace; the caller itself stays where it is.
pub(crate) fn unshare_time() -> Result<(), RawErrno> {
    // SAFETY: an integer argument; CLONE_NEWTIME changes only the namespace for children.
    result(unsafe {
        syscall6(
            NR_UNSHARE,
            linux_raw_sys::general::CLONE_NEWTIME as usize,
            0,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// Whether a `CLONE_VM` child created with `CLONE_NEWTIME` stays in its creator's time
/// namespace until execve, so that it can still write its offsets (Linux 6.2 and later,
/// including stable kernels that took the change): `Some(true)`; `Some(false)` when it is
/// in the new namespace from its first instruction, its offsets frozen (5.6 to 6.1).
/// `None` when this caller cannot tell (no `CAP_SYS_ADMIN` for a time namespace, no time
/// namespaces, or process creation failed).
///
/// Asked, not looked up: a fork-like helper makes a time namespace for its children
/// (`unshare(CLONE_NEWTIME)`), then asks for a `CLONE_VM | CLONE_VFORK` child. Before 6.2
/// `copy_process()` refuses that with `EINVAL` and creates nothing; from 6.2 the child is
/// created and exits at once. The helper is reaped before this returns. A known answer is
/// kept for the life of the process (the kernel does not change under it).
pub fn vm_child_enters_time_ns_at_exec() -> Option<bool> {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if let Some(&known) = ANSWER.get() {
        return Some(known);
    }
    let answer = ask()?;
    Some(*ANSWER.get_or_init(|| answer))
}

fn ask() -> Option<bool> {
    const OLD: i32 = 10;
    const NEW: i32 = 11;
    const UNKNOWN: i32 = 12;
    // Raw calls only (the caller may be multithreaded, see `fork_then`).
    let code = exit_code_of(|| match unshare_time() {
        Err(_) => UNKNOWN,
        Ok(()) => {
            let mut words = [0u64; 8];
            words[0] =
                (linux_raw_sys::general::CLONE_VM | linux_raw_sys::general::CLONE_VFORK) as u64;
            words[4] = libc::SIGCHLD as u64;
            match clone3(&words, 64) {
                CloneOutcome::Failed(Errno::EINVAL) => OLD,
                CloneOutcome::Created(_) => NEW,
                _ => UNKNOWN,
            }
        }
    })?;
    match code {
        OLD => Some(false),
        NEW => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_answers_for_root() {
        let answer = vm_child_enters_time_ns_at_exec();
        if !rustix::process::geteuid().is_root()
            || !std::path::Path::new("/proc/self/ns/time").exists()
        {
            return;
        }
        // Whatever the kernel, root gets an answer; which one is checked against the
        // kernel's behaviour by the integration tests (tests/isolate_time.rs).
        assert!(answer.is_some());
    }
}
