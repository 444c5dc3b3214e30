//! The `clone(2)` fallback: when a spawn may use it instead of clone3, and how a clone3
//! request is expressed as a legacy flag word — or why it cannot be.
//!
//! clone3 can be unusable in two ways: the kernel predates it (`ENOSYS` before Linux 5.3),
//! or a seccomp filter answers for it. Container runtimes' older default profiles return
//! `ENOSYS` (so that glibc falls back); some return `EPERM`, which glibc does not treat as a
//! reason to fall back. Under [`FallbackPolicy::Auto`] a spawn falls back on `ENOSYS`, and on
//! `EPERM` only when clone3 is shown to be filtered (it refuses even a call the kernel must
//! answer with `EINVAL`) — an `EPERM` that the kernel gives for the request itself (say, a
//! namespace without privilege) is reported as it is.
//!
//! What clone(2) can express: the 32-bit flag word with the exit signal in its low byte
//! (`CSIGNAL`), and `CLONE_PIDFD` (Linux 5.2; the pidfd comes back through the `parent_tid`
//! argument). Not `set_tid`, `CLONE_INTO_CGROUP`, `CLONE_CLEAR_SIGHAND`, `CLONE_NEWTIME`
//! (its bit is part of `CSIGNAL` there), flags above bit 31, an exit signal outside the low
//! byte, or `CLONE_PIDFD` together with `CLONE_PARENT_SETTID`: such requests fail with
//! [`Error::NeedsClone3`], naming the feature and what was found about clone3.
//!
//! On a kernel without `CLONE_PIDFD` for clone(2) (before 5.2, where the flag is ignored),
//! the spawn opens the pidfd after the fact with `pidfd_open(2)` (5.3). That is racy only if
//! the child can be reaped by someone else in between — when `SIGCHLD` is ignored (the
//! kernel then reaps children itself) or another thread waits for any child — in which case
//! the PID could name another process.

use crate::errno::Errno;
use crate::error::Error;
use crate::kver::KernelVersion;
use crate::probe::{Availability, Features};
use crate::sys::flags::{CloneFlags, CSIGNAL};
use crate::CloneArgs;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

/// When a spawn may use `clone(2)` instead of clone3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackPolicy {
    /// Fall back when clone3 answers `ENOSYS`, or `EPERM` while clone3 is shown to be
    /// filtered (see the module docs). The default.
    #[default]
    Auto,
    /// Fall back on `ENOSYS` only (what glibc does).
    EnosysOnly,
    /// Never: report clone3's error.
    Never,
}

/// Which system call to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// `clone3(2)`.
    Clone3,
    /// `clone(2)` with this flag word (exit signal in the low byte).
    Clone {
        /// The flag word, exit signal in the low byte.
        flags: u64,
    },
}

/// The release that introduced clone3.
const CLONE3_SINCE: KernelVersion = KernelVersion::new(5, 3);

/// What is known about clone3 in this process: the one place the spawner asks. It makes a
/// single call that the kernel refuses before looking at anything (no process is created)
/// and caches the answer.
///
/// (Where `Features::probe()` is available, its `clone3` field answers the same question.)
pub fn clone3_availability() -> Availability {
    static CACHE: OnceLock<Availability> = OnceLock::new();
    *CACHE.get_or_init(|| {
        classify(
            crate::sys::vfork::clone3_answer_to_invalid_call(),
            KernelVersion::running(),
        )
    })
}

/// Interprets clone3's answer to an invalid call.
fn classify(errno: i32, running: Option<KernelVersion>) -> Availability {
    match errno {
        libc::EINVAL => Availability::Yes,
        libc::ENOSYS => match running {
            Some(v) if v < CLONE3_SINCE => Availability::Missing,
            _ => Availability::Filtered(Errno::ENOSYS),
        },
        e => Availability::Filtered(Errno(e)),
    }
}

/// The errno with which clone3 failed in a spawn that then fell back (0: none yet).
static CLONE3_UNUSABLE: AtomicI32 = AtomicI32::new(0);

/// The errno of an earlier spawn that found clone3 unusable, so later spawns whose policy
/// allows the fallback for it go straight to clone(2).
pub(crate) fn clone3_known_unusable() -> Option<i32> {
    match CLONE3_UNUSABLE.load(Ordering::Relaxed) {
        0 => None,
        e => Some(e),
    }
}

pub(crate) fn mark_clone3_unusable(errno: i32) {
    CLONE3_UNUSABLE.store(errno, Ordering::Relaxed);
}

/// Whether a spawn whose clone3 failed with `errno` should retry with clone(2).
/// `availability` is consulted only for `EPERM`.
pub fn should_fall_back(
    errno: i32,
    policy: FallbackPolicy,
    availability: impl FnOnce() -> Availability,
) -> bool {
    match (policy, errno) {
        (FallbackPolicy::Never, _) => false,
        (_, libc::ENOSYS) => true,
        (FallbackPolicy::Auto, libc::EPERM) => {
            availability() == Availability::Filtered(Errno::EPERM)
        }
        _ => false,
    }
}

/// One line on what was found about clone3, for error messages.
pub fn describe(avail: Availability) -> String {
    let kernel = KernelVersion::running()
        .map(|v| format!("Linux {v}"))
        .unwrap_or_else(|| "this kernel".into());
    match avail {
        Availability::Yes => format!("clone3 is available on {kernel}"),
        Availability::Missing => {
            format!("clone3 is missing: {kernel} predates it (Linux {CLONE3_SINCE})")
        }
        Availability::Filtered(e) => format!(
            "clone3 is filtered here: it answers {} although {kernel} has it (a seccomp \
             filter, as in older container profiles)",
            e.name()
        ),
    }
}

/// The clone(2) flag word for a request, or the feature that needs clone3. `probe` is what
/// the error message says was found about clone3.
pub fn legacy_flags(
    flags: CloneFlags,
    exit_signal: u64,
    set_tid: &[i32],
    probe: Availability,
) -> Result<u64, Error> {
    let needs = |feature: String| Error::NeedsClone3 {
        feature,
        probe: describe(probe),
    };
    if !set_tid.is_empty() {
        return Err(needs("set_tid (choosing the child's PIDs)".into()));
    }
    if flags.contains(CloneFlags::INTO_CGROUP) {
        return Err(needs("CLONE_INTO_CGROUP".into()));
    }
    if flags.contains(CloneFlags::CLEAR_SIGHAND) {
        return Err(needs("CLONE_CLEAR_SIGHAND".into()));
    }
    if flags.contains(CloneFlags::NEWTIME) {
        return Err(needs(
            "CLONE_NEWTIME (its bit holds the exit signal in clone(2))".into(),
        ));
    }
    let high = flags & CloneFlags::CLONE3_ONLY;
    if !high.is_empty() {
        return Err(needs(format!(
            "{} (flags above bit 31)",
            high.to_names_string()
        )));
    }
    if exit_signal & !CSIGNAL != 0 {
        return Err(needs(format!(
            "exit signal {exit_signal:#x} (outside the low byte clone(2) has for it)"
        )));
    }
    if flags.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID) {
        return Err(needs(
            "CLONE_PIDFD together with CLONE_PARENT_SETTID (clone(2) returns the pidfd \
             through parent_tid)"
                .into(),
        ));
    }
    if exit_signal > 64 {
        return Err(Error::Invalid(format!(
            "exit signal {exit_signal} is not a signal (1-64); clone3 refuses it with EINVAL"
        )));
    }
    if flags.bits() & CSIGNAL != 0 {
        return Err(Error::Invalid(format!(
            "flags {:#x} use the CSIGNAL byte; the exit signal belongs in exit_signal",
            flags.bits() & CSIGNAL
        )));
    }
    Ok(flags.bits() | exit_signal)
}

/// The route for `args` when `features` is already known (from `Features::probe()`): clone3
/// where usable, else clone(2) if the policy allows it and clone(2) can express the request.
pub fn decide(
    args: &CloneArgs<'_>,
    features: &Features,
    policy: FallbackPolicy,
) -> Result<Route, Error> {
    if features.clone3.usable() {
        return Ok(Route::Clone3);
    }
    let allowed = match features.clone3 {
        Availability::Yes => true,
        Availability::Missing | Availability::Filtered(Errno::ENOSYS) => {
            policy != FallbackPolicy::Never
        }
        Availability::Filtered(Errno::EPERM) => policy == FallbackPolicy::Auto,
        Availability::Filtered(_) => false,
    };
    if !allowed {
        return Err(Error::NeedsClone3 {
            feature: format!("this request (the clone(2) fallback is off: {policy:?})"),
            probe: describe(features.clone3),
        });
    }
    let flags = legacy_flags(
        args.get_flags(),
        args.get_exit_signal(),
        args.get_set_tid(),
        features.clone3,
    )?;
    Ok(Route::Clone { flags })
}

/// Whether a fork-like child (`enter`'s processes, a spawn with `pre_exec` hooks) is created
/// with `clone(2)`: clone3 is missing or filtered here and `policy` allows the fallback for
/// its answer (as a spawn decides, see this module). What needs clone3 — for `enter`,
/// creating the program in the target's cgroup — is then refused with the reason.
pub(crate) fn clone3_unusable(policy: crate::FallbackPolicy) -> bool {
    use crate::probe::Availability;
    let avail = crate::fallback::clone3_availability();
    let errno = match avail {
        Availability::Yes => return false,
        Availability::Missing => libc::ENOSYS,
        Availability::Filtered(e) => e.0,
    };
    crate::fallback::should_fall_back(errno, policy, || avail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILTERED_ENOSYS: Availability = Availability::Filtered(Errno::ENOSYS);

    #[test]
    fn classify_answers() {
        let new = Some(KernelVersion::new(6, 18));
        assert_eq!(classify(libc::EINVAL, new), Availability::Yes);
        assert_eq!(classify(libc::ENOSYS, new), FILTERED_ENOSYS);
        assert_eq!(
            classify(libc::ENOSYS, Some(KernelVersion::new(5, 2))),
            Availability::Missing
        );
        assert_eq!(
            classify(libc::EPERM, new),
            Availability::Filtered(Errno::EPERM)
        );
    }

    #[test]
    fn this_kernel_has_clone3() {
        // The test machine runs 6.18 without a filter; the fallback tests install one in a
        // child process.
        assert_eq!(clone3_availability(), Availability::Yes);
    }

    #[test]
    fn when_to_fall_back() {
        let eperm = || Availability::Filtered(Errno::EPERM);
        let fine = || Availability::Yes;
        assert!(should_fall_back(libc::ENOSYS, FallbackPolicy::Auto, fine));
        assert!(should_fall_back(
            libc::ENOSYS,
            FallbackPolicy::EnosysOnly,
            fine
        ));
        assert!(!should_fall_back(libc::ENOSYS, FallbackPolicy::Never, fine));
        assert!(should_fall_back(libc::EPERM, FallbackPolicy::Auto, eperm));
        // EPERM given by the kernel for the request itself: no fallback.
        assert!(!should_fall_back(libc::EPERM, FallbackPolicy::Auto, fine));
        assert!(!should_fall_back(
            libc::EPERM,
            FallbackPolicy::EnosysOnly,
            eperm
        ));
        assert!(!should_fall_back(libc::EINVAL, FallbackPolicy::Auto, eperm));
    }

    #[test]
    fn legacy_words() {
        let p = FILTERED_ENOSYS;
        let f = CloneFlags::PIDFD | CloneFlags::NEWUTS;
        assert_eq!(legacy_flags(f, 17, &[], p).unwrap(), f.bits() | 17);
        assert_eq!(legacy_flags(CloneFlags::empty(), 0, &[], p).unwrap(), 0);
        let needs = |r: Result<u64, Error>| match r {
            Err(Error::NeedsClone3 { feature, probe }) => {
                assert!(probe.contains("ENOSYS"), "{probe}");
                feature
            }
            other => panic!("{other:?}"),
        };
        assert!(needs(legacy_flags(CloneFlags::empty(), 17, &[5], p)).contains("set_tid"));
        assert!(needs(legacy_flags(CloneFlags::INTO_CGROUP, 17, &[], p)).contains("INTO_CGROUP"));
        assert!(
            needs(legacy_flags(CloneFlags::CLEAR_SIGHAND, 17, &[], p)).contains("CLEAR_SIGHAND")
        );
        assert!(needs(legacy_flags(CloneFlags::NEWTIME, 17, &[], p)).contains("NEWTIME"));
        assert!(needs(legacy_flags(CloneFlags::NNP, 17, &[], p)).contains("CLONE_NNP"));
        assert!(needs(legacy_flags(CloneFlags::empty(), 0x100, &[], p)).contains("0x100"));
        assert!(needs(legacy_flags(
            CloneFlags::PIDFD | CloneFlags::PARENT_SETTID,
            17,
            &[],
            p
        ))
        .contains("PARENT_SETTID"));
        assert!(matches!(
            legacy_flags(CloneFlags::empty(), 65, &[], p),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            legacy_flags(CloneFlags::from_bits_retain(0x11), 0, &[], p),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn decide_routes() {
        let args = CloneArgs::new().pidfd(true);
        let mut f = Features::everything();
        assert_eq!(
            decide(&args, &f, FallbackPolicy::Auto).unwrap(),
            Route::Clone3
        );
        f.clone3 = FILTERED_ENOSYS;
        assert_eq!(
            decide(&args, &f, FallbackPolicy::Auto).unwrap(),
            Route::Clone {
                flags: CloneFlags::PIDFD.bits() | 17
            }
        );
        assert!(decide(&args, &f, FallbackPolicy::Never).is_err());
        f.clone3 = Availability::Filtered(Errno::EPERM);
        assert!(decide(&args, &f, FallbackPolicy::Auto).is_ok());
        assert!(decide(&args, &f, FallbackPolicy::EnosysOnly).is_err());
        let tid = CloneArgs::new().set_tid(vec![1]);
        assert!(matches!(
            decide(&tid, &f, FallbackPolicy::Auto),
            Err(Error::NeedsClone3 { .. })
        ));
    }
}
