//! Asking the kernel itself: system calls whose error answers tell what exists, made so that
//! none of them can create a process, allocate a PID or leave anything changed.
//!
//! The kernel checks a clone3 request in a fixed order (kernel/fork.c,
//! `copy_clone_args_from_user()` → `clone3_args_valid()` → `copy_process()`), and every check
//! before PID allocation that matters here fails with its own errno. The probes put the
//! question into one check and make sure a *later* check, still before any allocation that
//! outlives the call, fails with a different errno.

use super::{Availability, Evidence};
use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::sys::abi::{CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER2};
use crate::sys::flags::{CloneFlags, CSIGNAL};
use crate::sys::probe_calls::{self, CloneOutcome};
use rustix::thread::{CapabilitySet, CapabilitySets};

/// The largest struct the kernel could accept: `copy_clone_args_from_user()` refuses
/// `size > PAGE_SIZE` with E2BIG before anything else (4 KiB on x86_64, never less elsewhere, so
/// the search below needs no larger bound).
const MAX_STRUCT: usize = 4096;

/// Bits every clone3 accepts (`CLONE_LEGACY_FLAGS` minus the `CLONE_DETACHED` bit and the
/// exit-signal byte, which `clone3_args_valid()` has refused since Linux 5.3). `NEWTIME`
/// lives in that byte and is probed like the 64-bit-only flags.
pub(super) const LEGACY_ACCEPTED: CloneFlags = CloneFlags::LEGACY
    .difference(CloneFlags::DETACHED)
    .difference(CloneFlags::from_bits_retain(CSIGNAL));

/// What the clone3 probes found.
#[derive(Debug)]
pub(super) struct Clone3Found {
    pub availability: Availability,
    pub max_size: usize,
    pub flags: CloneFlags,
    pub flags_probed: bool,
    pub flags_inferred: CloneFlags,
}

/// Classifies an answer: `expected` means the call exists and is not filtered; anything else
/// on a kernel at least `since` means a filter (seccomp, an LSM or an emulator) answers for it.
pub(super) fn classify(
    answer: Errno,
    expected: Errno,
    since: KernelVersion,
    running: Option<KernelVersion>,
) -> Availability {
    if answer == expected {
        Availability::Yes
    } else if running.is_some_and(|v| v < since) || (running.is_none() && answer == Errno::ENOSYS) {
        Availability::Missing
    } else {
        Availability::Filtered(answer)
    }
}

fn failed(outcome: CloneOutcome, evidence: &mut Evidence) -> Option<Errno> {
    match outcome {
        CloneOutcome::Failed(e) => Some(e),
        CloneOutcome::Created(pid) => {
            evidence.unexpected_children.push(pid);
            None
        }
        CloneOutcome::Refused => None,
    }
}

/// Does clone3 exist and answer for itself? A struct smaller than the first published one
/// gets EINVAL and one larger than a page gets E2BIG, both before the kernel reads it; a
/// filter that answers every clone3 with one errno cannot produce both.
pub(super) fn clone3_availability(
    running: Option<KernelVersion>,
    evidence: &mut Evidence,
) -> Availability {
    let small = failed(probe_calls::clone3(&[0], 8), evidence);
    let huge = failed(probe_calls::clone3(&[], 1 << 20), evidence);
    evidence.clone3_small = small;
    evidence.clone3_huge = huge;
    let clone3 = KernelVersion::new(5, 3);
    match (small, huge) {
        (Some(Errno::EINVAL), Some(Errno::E2BIG)) => Availability::Yes,
        (Some(e), _) => classify(e, Errno(0), clone3, running),
        // Only an impossible success gets here: distrust clone3 entirely.
        (None, _) => Availability::Filtered(Errno::EINVAL),
    }
}

/// The largest `clone_args` the kernel understands. `copy_struct_from_user()` accepts a
/// struct longer than the kernel's only if the excess bytes are zero, and answers E2BIG
/// otherwise, before any field is looked at. So with a non-zero last byte at `size - 1`:
/// E2BIG means the kernel's struct is shorter than `size`; otherwise the bytes were taken as
/// fields, and `exit_signal = 65` (invalid, checked before anything else can happen) makes
/// the call fail with EINVAL. Monotone in `size`, hence a binary search over multiples of 8.
pub(super) fn clone_args_max_size(evidence: &mut Evidence) -> usize {
    let mut buf = [0u64; MAX_STRUCT / 8];
    let mut understands = |size: usize, buf: &mut [u64; MAX_STRUCT / 8]| -> Option<bool> {
        buf.fill(0);
        buf[4] = 65; // exit_signal: > _NSIG, EINVAL in copy_clone_args_from_user()
        buf[size / 8 - 1] |= 0xff << 56; // the last byte of the struct (little-endian)
        match failed(probe_calls::clone3(&buf[..], size), evidence)? {
            Errno::E2BIG => Some(false),
            Errno::EINVAL => Some(true),
            _ => None,
        }
    };
    // Invariant: the kernel understands `lo` bytes and not `hi`.
    let (mut lo, mut hi) = (CLONE_ARGS_SIZE_VER0 / 8, MAX_STRUCT / 8 + 1);
    if understands(CLONE_ARGS_SIZE_VER0, &mut buf) != Some(true) {
        return 0;
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        match understands(mid * 8, &mut buf) {
            Some(true) => lo = mid,
            Some(false) => hi = mid,
            None => return CLONE_ARGS_SIZE_VER0,
        }
    }
    lo * 8
}

/// Runs `f` while the calling thread's effective set lacks `CAP_SYS_ADMIN`, restoring the
/// set afterwards. `f` gets `false` when the capability could not be dropped (then the
/// probes that rely on its absence must not be made).
///
/// capset(2) on the calling thread changes only that thread's credentials, and lowering the
/// effective set below the permitted one is always allowed and reversible. Nothing but the
/// probe runs on this thread in between; a signal handler that runs on it meanwhile would see
/// the smaller set.
pub(super) fn without_sys_admin<T>(
    evidence: &mut Evidence,
    f: impl FnOnce(bool, &mut Evidence) -> T,
) -> T {
    let original = match rustix::thread::capabilities(None) {
        Ok(c) => c,
        Err(e) => {
            evidence
                .notes
                .push(format!("capget failed: {}", Errno::from(e)));
            return f(false, evidence);
        }
    };
    if !original.effective.contains(CapabilitySet::SYS_ADMIN) {
        return f(true, evidence);
    }
    let lowered = CapabilitySets {
        effective: original.effective.difference(CapabilitySet::SYS_ADMIN),
        ..original
    };
    if let Err(e) = rustix::thread::set_capabilities(None, lowered) {
        evidence.notes.push(format!(
            "could not drop CAP_SYS_ADMIN from the effective set for the flag probe: {}",
            Errno::from(e)
        ));
        return f(false, evidence);
    }
    let dropped = rustix::thread::capabilities(None)
        .is_ok_and(|c| !c.effective.contains(CapabilitySet::SYS_ADMIN));
    let result = f(dropped, evidence);
    if let Err(e) = rustix::thread::set_capabilities(None, original) {
        evidence.notes.push(format!(
            "could not restore the effective capability set: {}",
            Errno::from(e)
        ));
    }
    result
}

/// Flags added to every flag probe. `CLONE_VM|CLONE_VFORK|CLONE_FILES|CLONE_SIGHAND` spare
/// the kernel copying the address space, fd table and handlers before it fails (and make
/// an impossible success harmless, see `probe_calls`). `CLONE_NEWIPC|CLONE_SYSVSEM` is the
/// guard: `copy_namespaces()` answers EPERM for any new namespace without `CAP_SYS_ADMIN`,
/// and with it refuses exactly this pair with EINVAL *before* creating any namespace, so the
/// probe fails there whatever the privileges. (With CLONE_SYSVSEM the caller's System V
/// semaphore undo list is allocated if it has none yet, as every pthread_create does.)
const PROBE_BASE: CloneFlags = CloneFlags::VM
    .union(CloneFlags::VFORK)
    .union(CloneFlags::FILES)
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::SYSVSEM)
    .union(CloneFlags::NEWIPC);

/// The flag word that asks about `bit`: the base plus what the bit's own rules demand, minus
/// what they forbid. A bit whose companion rules we do not know (a future flag) may be
/// reported unknown.
fn probe_word(bit: CloneFlags) -> CloneFlags {
    let mut f = PROBE_BASE | bit;
    if bit == CloneFlags::CLEAR_SIGHAND {
        f.remove(CloneFlags::SIGHAND); // the two are exclusive (clone3_args_valid)
    }
    if bit == CloneFlags::PIDFD_AUTOKILL {
        f |= CloneFlags::PIDFD | CloneFlags::AUTOREAP; // copy_process(), Linux 7.1
    }
    f
}

fn ask(flags: CloneFlags, evidence: &mut Evidence) -> Option<Errno> {
    let mut buf = [0u64; CLONE_ARGS_SIZE_VER2 / 8];
    buf[0] = flags.bits();
    // exit_signal 0: required with CLONE_THREAD, CLONE_PARENT and CLONE_AUTOREAP. The
    // cgroup field stays 0, a valid value for CLONE_INTO_CGROUP's early check; a kernel with
    // a shorter struct accepts the all-zero tail.
    failed(probe_calls::clone3(&buf, CLONE_ARGS_SIZE_VER2), evidence)
}

/// Which flag bits clone3 accepts. Every flag rule in `clone3_args_valid()` and
/// `copy_process()` answers EINVAL, so an unknown bit gives EINVAL; a known one passes them
/// and reaches `copy_namespaces()`, which answers EPERM because the caller lacks
/// `CAP_SYS_ADMIN` (dropped for the duration when it has it), or an earlier resource check
/// answers EAGAIN (`RLIMIT_NPROC`) — anything but EINVAL means "known". The fail-safe guard
/// (see [`PROBE_BASE`]) turns a missed drop into EINVAL everywhere, which the baseline catches.
pub(super) fn clone3_flags(
    sys_admin_dropped: bool,
    running: Option<KernelVersion>,
    evidence: &mut Evidence,
) -> (CloneFlags, bool, CloneFlags) {
    let from_table = |evidence: &mut Evidence, why: String| {
        evidence.notes.push(why);
        let flags = running
            .map(|v| super::Features::as_of(v).clone3_flags)
            .unwrap_or(LEGACY_ACCEPTED);
        (flags, false, CloneFlags::empty())
    };
    if !sys_admin_dropped {
        return from_table(
            evidence,
            "flag bits taken from the release table: CAP_SYS_ADMIN could not be dropped".into(),
        );
    }
    let baseline = ask(PROBE_BASE, evidence);
    evidence.flag_probe_baseline = baseline;
    match baseline {
        Some(e) if e != Errno::EINVAL => {}
        other => {
            return from_table(
                evidence,
                format!(
                    "flag bits taken from the release table: the probe's baseline answered {} instead of EPERM",
                    other.map_or("success".to_string(), |e| e.name())
                ),
            )
        }
    }
    let mut known = CloneFlags::empty();
    let mut inferred = CloneFlags::empty();
    for bit in 0..64 {
        let flag = CloneFlags::from_bits_retain(1 << bit);
        // CLONE_NEWUSER makes copy_creds() create a user namespace before copy_namespaces(),
        // and the new namespace gives the caller CAP_SYS_ADMIN: not asked.
        let answer = if flag == CloneFlags::NEWUSER {
            None
        } else {
            ask(probe_word(flag), evidence)
        };
        evidence.flag_answers[bit] = answer;
        match answer {
            Some(e) if e != Errno::EINVAL => known |= flag,
            _ if LEGACY_ACCEPTED.contains(flag) => {
                // Accepted by every clone3; EINVAL here comes from a rule about the caller
                // (CLONE_PARENT from a pid-namespace init, CLONE_THREAD after
                // unshare(CLONE_NEWPID)), not from clone3_args_valid().
                known |= flag;
                inferred |= flag;
            }
            _ => {}
        }
    }
    if !evidence.unexpected_children.is_empty() {
        return from_table(
            evidence,
            "flag bits taken from the release table: a probe unexpectedly created a process".into(),
        );
    }
    (known, true, inferred)
}

/// All clone3 facts, in the order that keeps each probe meaningful.
pub(super) fn probe_clone3(
    running: Option<KernelVersion>,
    sys_admin_dropped: bool,
    evidence: &mut Evidence,
) -> Clone3Found {
    let availability = clone3_availability(running, evidence);
    if !availability.usable() {
        return Clone3Found {
            availability,
            max_size: 0,
            flags: CloneFlags::empty(),
            flags_probed: false,
            flags_inferred: CloneFlags::empty(),
        };
    }
    let max_size = clone_args_max_size(evidence);
    let (flags, flags_probed, flags_inferred) = clone3_flags(sys_admin_dropped, running, evidence);
    Clone3Found {
        availability,
        max_size,
        flags,
        flags_probed,
        flags_inferred,
    }
}

/// `CLONE_PIDFD` through clone(2) (Linux 5.2): since then `copy_process()` refuses
/// `CLONE_PIDFD|CLONE_DETACHED` with EINVAL among its flag checks; an older kernel ignores
/// both bits and reaches `copy_namespaces()`, which answers EPERM (no `CAP_SYS_ADMIN`) for the
/// guard's `CLONE_NEWIPC`. Only meaningful without `CAP_SYS_ADMIN`: with it the guard itself
/// answers EINVAL.
pub(super) fn clone_pidfd(
    sys_admin_dropped: bool,
    clone3: Availability,
    running: Option<KernelVersion>,
    evidence: &mut Evidence,
) -> bool {
    if !sys_admin_dropped {
        return clone3.usable() || running.is_some_and(|v| v >= KernelVersion::new(5, 2));
    }
    let word = PROBE_BASE | CloneFlags::PIDFD | CloneFlags::DETACHED;
    let answer = failed(probe_calls::clone(word.bits()), evidence);
    evidence.clone_pidfd = answer;
    answer == Some(Errno::EINVAL)
}

/// `setns(pidfd, CLONE_NEWUTS)` on a pidfd of ourselves (Linux 5.8). Since 5.8 a pidfd is
/// accepted and `utsns_install()` answers EPERM without `CAP_SYS_ADMIN` (before anything is
/// committed); older kernels take only nsfs files and answer EINVAL. Must run without
/// `CAP_SYS_ADMIN`: with it the call would succeed (re-entering our own UTS namespace).
pub(super) fn setns_pidfd(
    sys_admin_dropped: bool,
    pidfd_open: Availability,
    running: Option<KernelVersion>,
    evidence: &mut Evidence,
) -> bool {
    let by_release = || running.is_some_and(|v| v >= KernelVersion::new(5, 8));
    if !sys_admin_dropped || !pidfd_open.usable() {
        return by_release();
    }
    let me = match rustix::process::pidfd_open(
        rustix::process::getpid(),
        rustix::process::PidfdFlags::empty(),
    ) {
        Ok(fd) => fd,
        Err(_) => return by_release(),
    };
    use std::os::fd::AsFd;
    let answer = rustix::thread::move_into_thread_name_spaces(
        me.as_fd(),
        rustix::thread::ThreadNameSpaceType::HOST_NAME_AND_NIS_DOMAIN_NAME,
    )
    .err()
    .map(Errno::from);
    evidence.setns_pidfd = answer;
    // Success (impossible without CAP_SYS_ADMIN) also proves the call exists.
    matches!(answer, None | Some(Errno::EPERM))
}

/// The pidfd system calls, each asked about a descriptor or PID that cannot exist.
pub(super) fn pidfd_calls(
    running: Option<KernelVersion>,
    evidence: &mut Evidence,
) -> (Availability, Availability, Availability, bool) {
    // pid i32::MAX is above PID_MAX_LIMIT (4 Mi), so no such process: ESRCH (Linux 5.3).
    let open = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(i32::MAX).expect("positive"),
        rustix::process::PidfdFlags::empty(),
    )
    .err()
    .map_or(Errno(0), Errno::from);
    // Descriptor -1 is never open: EBADF (Linux 5.1, 5.6).
    let send = probe_calls::pidfd_send_signal(-1, 0, 0)
        .err()
        .unwrap_or(Errno(0));
    let getfd = probe_calls::pidfd_getfd(-1, 0, 0).err().unwrap_or(Errno(0));
    // waitid(P_PIDFD) with a descriptor number above any possible RLIMIT_NOFILE: EBADF since
    // Linux 5.4; older kernels reject the id type with EINVAL. (A negative number would be
    // EINVAL on every kernel.)
    let wait = probe_calls::waitid(probe_calls::P_PIDFD, 0x7fff_fff0, libc::WEXITED)
        .err()
        .unwrap_or(Errno(0));
    evidence.pidfd_open = Some(open);
    evidence.pidfd_send_signal = Some(send);
    evidence.pidfd_getfd = Some(getfd);
    evidence.waitid_pidfd = Some(wait);
    (
        classify(open, Errno::ESRCH, KernelVersion::new(5, 3), running),
        classify(send, Errno::EBADF, KernelVersion::new(5, 1), running),
        classify(getfd, Errno::EBADF, KernelVersion::new(5, 6), running),
        wait == Errno::EBADF,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let v = |a, b| Some(KernelVersion::new(a, b));
        let since = KernelVersion::new(5, 3);
        assert_eq!(
            classify(Errno::EINVAL, Errno::EINVAL, since, v(6, 1)),
            Availability::Yes
        );
        assert_eq!(
            classify(Errno::ENOSYS, Errno::EINVAL, since, v(5, 2)),
            Availability::Missing
        );
        assert_eq!(
            classify(Errno::EPERM, Errno::EINVAL, since, v(5, 2)),
            Availability::Missing
        );
        assert_eq!(
            classify(Errno::ENOSYS, Errno::EINVAL, since, v(6, 18)),
            Availability::Filtered(Errno::ENOSYS)
        );
        assert_eq!(
            classify(Errno::ENOSYS, Errno::EINVAL, since, None),
            Availability::Missing
        );
        assert_eq!(
            classify(Errno::EPERM, Errno::EINVAL, since, None),
            Availability::Filtered(Errno::EPERM)
        );
    }

    #[test]
    fn probe_words_respect_each_flags_rules() {
        assert!(!probe_word(CloneFlags::CLEAR_SIGHAND).contains(CloneFlags::SIGHAND));
        assert!(probe_word(CloneFlags::PIDFD_AUTOKILL)
            .contains(CloneFlags::PIDFD | CloneFlags::AUTOREAP));
        for bit in 0..64 {
            let w = probe_word(CloneFlags::from_bits_retain(1 << bit));
            // Never a namespace flag that would be created with privileges, never CLONE_FS
            // (refused with NEWNS), always the guard pair.
            assert!(!w.contains(CloneFlags::FS) || bit == 9);
            assert!(w.contains(CloneFlags::NEWIPC | CloneFlags::SYSVSEM));
            assert!(w.contains(CloneFlags::VM | CloneFlags::VFORK));
        }
    }

    #[test]
    fn legacy_accepted_set() {
        assert!(LEGACY_ACCEPTED.contains(CloneFlags::VM | CloneFlags::NEWUSER | CloneFlags::IO));
        assert!(!LEGACY_ACCEPTED.intersects(CloneFlags::DETACHED | CloneFlags::NEWTIME));
        assert_eq!(LEGACY_ACCEPTED.bits() & 0xff, 0);
    }
}
