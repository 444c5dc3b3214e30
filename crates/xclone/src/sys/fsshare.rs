//! The probe of how setns(2) with a pidfd treats a mount namespace joined together with
//! other namespaces by a caller that shares its filesystem information (`CLONE_FS`).
//!
//! `mntns_install()` (fs/namespace.c) refuses a caller whose `fs_struct` has other users
//! (`EINVAL`), since joining a mount namespace replaces its root and working directory. With
//! a pidfd and more flags than `CLONE_NEWNS`, mainline's `prepare_nsset()` (kernel/nsproxy.c)
//! works on a private copy of the `fs_struct`, so the call succeeds there (5.10, 6.1, 6.18);
//! Debian's 6.12.117 refuses it like `CLONE_NEWNS` alone. The change behind that was not
//! found in the sources, so the answer is asked of the running kernel, never derived from
//! its release.

use super::flags::CloneFlags;
use super::fork::{exit_code_of, fork_then, ForkSpec};
use super::nscalls::setns_raw;
use super::syscall::{nr, result, syscall6};
use crate::errno::Errno;
use linux_raw_sys::general as k;

const CAP_SYS_ADMIN: u32 = 21;

/// Whether `setns(pidfd, CLONE_NEWNS | other namespace flags)` is refused with `EINVAL`
/// when the caller shares its `fs_struct` (with another thread, or a process created with
/// `CLONE_FS`): `Some(true)` on kernels that refuse it (Debian's 6.12.117), `Some(false)`
/// where only `CLONE_NEWNS` alone is refused (mainline 5.10 to 6.18). `None` when this
/// caller cannot tell: without `CAP_SYS_ADMIN` in its effective set (then nothing is
/// created, and a setns of a mount namespace fails for the missing capability first
/// anyway), without pidfd setns (before 5.8), when the caller's children would be born in
/// another pid or time namespace (after `unshare(CLONE_NEWPID)` or `unshare(CLONE_NEWTIME)`:
/// the helper would become that pid namespace's init, or freeze the time namespace's offsets),
/// or when process creation failed.
///
/// Asked, not looked up: a fork-like helper creates a sibling sharing its `fs_struct`
/// (`clone(CLONE_FS)`, the sibling waits in `ppoll`), joins its own namespaces with
/// `setns(pidfd_open(itself), CLONE_NEWNS | CLONE_NEWUTS)` (which changes nothing, and only
/// in the helper), then kills and reaps the sibling and asks again: an answer counts only
/// when the second call succeeds (the first call's `EINVAL`, if any, came from the shared
/// `fs_struct`) and, when the first succeeded, `CLONE_NEWNS` alone was refused while it was
/// shared (the sharing was in effect). The helper and the sibling are reaped before this
/// returns. A known answer is kept for the life of the process.
pub fn setns_mnt_with_others_refused_when_fs_shared() -> Option<bool> {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if let Some(&known) = ANSWER.get() {
        return Some(known);
    }
    let caps = super::sandbox::capget().ok()?;
    if caps.effective & (1u64 << CAP_SYS_ADMIN) == 0 {
        return None;
    }
    // The helper must be born where nothing depends on who is born first: after
    // unshare(CLONE_NEWPID) it would be the new pid namespace's init, and the namespace would
    // die with it (every later fork there: ENOMEM); after unshare(CLONE_NEWTIME) it would be
    // the first task in the new time namespace and freeze its offsets before the caller
    // writes them. Then: cannot tell, nothing created.
    let ns = |f: &str| std::fs::read_link(format!("/proc/thread-self/ns/{f}")).ok();
    if ns("pid")? != ns("pid_for_children")? {
        return None;
    }
    if let (Some(now), Some(children)) = (ns("time"), ns("time_for_children")) {
        if now != children {
            return None;
        }
    }
    let answer = ask()?;
    Some(*ANSWER.get_or_init(|| answer))
}

const REFUSED: i32 = 10;
const ACCEPTED: i32 = 11;
const UNKNOWN: i32 = 12;

fn raw(nr: usize, a: usize, b: usize, c: usize, d: usize) -> Result<usize, Errno> {
    // SAFETY: only called below with calls that take integer arguments or NULL pointers
    // (getpid, pidfd_open, kill, wait4 with no status/rusage, ppoll with no
    // descriptors): the kernel follows no pointer of ours.
    result(unsafe { syscall6(nr, a, b, c, d, 0, 0) }).map_err(Errno)
}

/// The helper's part: raw calls only, nothing allocated (the caller may be multithreaded).
fn in_helper() -> i32 {
    let pid = match raw(k::__NR_getpid as usize, 0, 0, 0, 0) {
        Ok(p) => p,
        Err(_) => return UNKNOWN,
    };
    let pidfd = match raw(k::__NR_pidfd_open as usize, pid, 0, 0, 0) {
        Ok(fd) => fd,
        Err(_) => return UNKNOWN,
    };
    let spec = ForkSpec {
        flags: CloneFlags::FS,
        ..ForkSpec::default()
    };
    let sibling = match fork_then(&spec, || loop {
        // Waits until the helper kills it.
        let _ = raw(nr::PPOLL, 0, 0, 0, 0);
    }) {
        Ok(f) => f.pid as usize,
        Err(_) => return UNKNOWN,
    };
    let both = (k::CLONE_NEWNS | k::CLONE_NEWUTS) as u64;
    let shared_both = setns_raw(pidfd as i32, both);
    let shared_alone = setns_raw(pidfd as i32, k::CLONE_NEWNS as u64);
    let _ = raw(k::__NR_kill as usize, sibling, k::SIGKILL as usize, 0, 0);
    loop {
        match raw(k::__NR_wait4 as usize, sibling, 0, k::__WALL as usize, 0) {
            Err(Errno::EINTR) => continue,
            Err(_) => return UNKNOWN,
            Ok(_) => break,
        }
    }
    // With the sibling gone the fs_struct is the helper's own: the call must succeed now.
    if setns_raw(pidfd as i32, both).is_err() {
        return UNKNOWN;
    }
    let _ = super::isolate::close(pidfd as i32);
    match (shared_both, shared_alone) {
        (Err(Errno::EINVAL), _) => REFUSED,
        (Ok(_), Err(Errno::EINVAL)) => ACCEPTED,
        _ => UNKNOWN,
    }
}

fn ask() -> Option<bool> {
    match exit_code_of(in_helper)? {
        REFUSED => Some(true),
        ACCEPTED => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_answers_for_root() {
        let answer = setns_mnt_with_others_refused_when_fs_shared();
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root (CAP_SYS_ADMIN) to join namespaces");
            return;
        }
        // Root gets an answer on every kernel with pidfd setns; which one is checked
        // against the kernel's behaviour by tests/ns_validator_vs_kernel.rs.
        eprintln!("refused with a shared fs_struct: {answer:?}");
        assert!(answer.is_some(), "no answer as root");
        // Cached: the same answer again.
        assert_eq!(setns_mnt_with_others_refused_when_fs_shared(), answer);
    }
}
