//! `unshare(2)` for the calling thread, validated and explained.
//!
//! # What changes, for whom
//!
//! Linux keeps namespaces, credentials, the descriptor table and the filesystem information
//! (root, working directory, umask) **per task**, that is per thread. unshare(2) changes the
//! calling thread only:
//!
//! | flag | effect |
//! |---|---|
//! | `NEWNS`, `NEWUTS`, `NEWIPC`, `NEWNET`, `NEWCGROUP` | the calling thread moves into a new namespace; other threads stay |
//! | `NEWUSER` | the calling thread's credentials move; refused (`EINVAL`) unless it is the only thread |
//! | `NEWPID`, `NEWTIME` | nobody moves: the caller's *future children* are created in the new namespace (`pid_for_children`, `time_for_children`) |
//! | `FS` (implied by `NEWNS`, `NEWUSER`), `FILES`, `SYSVSEM` | the calling thread gets a private copy; other threads keep the shared one |
//! | `THREAD`, `SIGHAND`, `VM` | nothing: only accepted when there is nothing to unshare |
//!
//! So in a multi-threaded program `unshare(NEWNET)` moves one thread, and sockets made by the
//! others stay in the old network namespace. [`unshare`] returns a [`Changed`] that says which
//! ([`Scope::ThisThread`]), and [`unshare_whole_process`] refuses instead when the process has
//! other threads.
//!
//! ```no_run
//! use xclone::unshare::{unshare, Scope, UnshareFlags};
//! let changed = unshare(UnshareFlags::NEWUSER | UnshareFlags::NEWNET)?;
//! assert_eq!(changed.scope, Scope::WholeProcess);
//! # Ok::<(), xclone::Error>(())
//! ```

use crate::caller::{Caller, NewPidNsBlock, CAP_SYS_ADMIN};
use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::nscheck::{finding, plural, verdict, Finding};
use crate::probe::Features;
use crate::rules::ns::{Call, NsRuleId};
use crate::sys::flags::CloneFlags;
use crate::validate::{Problem, Verdict, NAMESPACE_ORDER};

bitflags::bitflags! {
    /// The flags unshare(2) takes (the `CLONE_*` values of `<linux/sched.h>`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct UnshareFlags: u64 {
        /// `CLONE_FILES`: a private copy of the descriptor table.
        const FILES = CloneFlags::FILES.bits();
        /// `CLONE_FS`: a private copy of the root, working directory and umask.
        const FS = CloneFlags::FS.bits();
        /// `CLONE_NEWCGROUP`: a new cgroup namespace (cgroup_namespaces(7)), rooted at the
        /// caller's cgroup.
        const NEWCGROUP = CloneFlags::NEWCGROUP.bits();
        /// `CLONE_NEWIPC`: a new IPC namespace (ipc_namespaces(7)); implies `SYSVSEM`.
        const NEWIPC = CloneFlags::NEWIPC.bits();
        /// `CLONE_NEWNET`: a new network namespace (network_namespaces(7)), with only a
        /// loopback device, down.
        const NEWNET = CloneFlags::NEWNET.bits();
        /// `CLONE_NEWNS`: a new mount namespace (mount_namespaces(7)), a copy of the caller's;
        /// implies `FS`.
        const NEWNS = CloneFlags::NEWNS.bits();
        /// `CLONE_NEWPID`: a new pid namespace (pid_namespaces(7)) for the caller's *children*;
        /// the first child created afterwards is its PID 1.
        const NEWPID = CloneFlags::NEWPID.bits();
        /// `CLONE_NEWTIME`: a new time namespace (time_namespaces(7), Linux 5.6) for the
        /// caller's children.
        const NEWTIME = CloneFlags::NEWTIME.bits();
        /// `CLONE_NEWUSER`: a new user namespace (user_namespaces(7)), owned by the caller's
        /// euid; implies `THREAD` and `FS`.
        const NEWUSER = CloneFlags::NEWUSER.bits();
        /// `CLONE_NEWUTS`: a new UTS namespace (uts_namespaces(7)), a copy of the host and
        /// domain names.
        const NEWUTS = CloneFlags::NEWUTS.bits();
        /// `CLONE_SYSVSEM`: leave the System V semaphore undo list the caller shares.
        const SYSVSEM = CloneFlags::SYSVSEM.bits();
        /// Accepted only in a single-threaded process, where it changes nothing.
        const THREAD = CloneFlags::THREAD.bits();
        /// Accepted only where the handlers are not shared, changing nothing.
        const SIGHAND = CloneFlags::SIGHAND.bits();
        /// Accepted only where the memory is not shared, changing nothing.
        const VM = CloneFlags::VM.bits();
    }
}

impl UnshareFlags {
    /// The same bits as [`CloneFlags`].
    pub fn clone_flags(self) -> CloneFlags {
        CloneFlags::from_bits_retain(self.bits())
    }
}

/// Whose state a successful unshare or setns changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Scope {
    /// The calling thread was the process's only thread: the process changed.
    WholeProcess,
    /// Only the calling thread changed; `other_threads` threads of the process kept their
    /// namespaces, descriptor table and filesystem information.
    ThisThread {
        /// How many other threads the process has.
        other_threads: u32,
    },
}

/// What a successful [`unshare`] or [`crate::setns::setns`] changed.
#[must_use = "in a multi-threaded process only the calling thread changed: check `scope`"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changed {
    /// Whether the process or only the calling thread changed (counted just before the call).
    pub scope: Scope,
    /// What the call changed for the calling thread itself.
    pub this_thread: CloneFlags,
    /// What changed only for the children the caller creates from now on (`CLONE_NEWPID`,
    /// and `CLONE_NEWTIME` for unshare): the caller itself stays where it was.
    pub children_only: CloneFlags,
}

impl Changed {
    pub(crate) fn new(threads: u32, this_thread: CloneFlags, children_only: CloneFlags) -> Self {
        Changed {
            scope: if threads <= 1 {
                Scope::WholeProcess
            } else {
                Scope::ThisThread {
                    other_threads: threads - 1,
                }
            },
            this_thread,
            children_only,
        }
    }

    /// Whether the whole process changed.
    pub fn is_whole_process(&self) -> bool {
        self.scope == Scope::WholeProcess
    }
}

/// Threads of the calling process now.
pub(crate) fn thread_count() -> u32 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count() as u32)
        .unwrap_or(1)
        .max(1)
}

/// `unshare(flags)` for the calling thread. On failure the error carries the kernel's errno
/// and the validator's account of it (rule, cause, fix). See the [module docs](self) for what
/// changes for whom.
pub fn unshare(flags: UnshareFlags) -> crate::Result<Changed> {
    let threads = thread_count();
    match crate::sys::nscalls::unshare(flags.bits()) {
        Ok(()) => {
            let f = flags.clone_flags();
            let children = f & (CloneFlags::NEWPID | CloneFlags::NEWTIME);
            let own = (f | implied(f))
                - children
                - CloneFlags::THREAD
                - CloneFlags::SIGHAND
                - CloneFlags::VM;
            Ok(Changed::new(threads, own, children))
        }
        Err(errno) => Err(error(flags.bits(), errno)),
    }
}

/// [`unshare`], refused (`EINVAL`-free, before any call) when the process has other threads,
/// for a program that means to change the whole process.
pub fn unshare_whole_process(flags: UnshareFlags) -> crate::Result<Changed> {
    let threads = thread_count();
    if threads > 1 {
        return Err(crate::Error::Invalid(format!(
            "unshare({}) would change only the calling thread: the process has {} other thread{}; call it before starting threads",
            flags.clone_flags().to_names_string(),
            threads - 1,
            plural(threads - 1)
        )));
    }
    unshare(flags)
}

/// The library's error for an unshare of `flags` that failed with `errno`, explained against
/// this kernel and the calling thread.
pub fn error(flags: u64, errno: Errno) -> crate::Error {
    let explanation = Caller::current()
        .ok()
        .and_then(|c| explain_errno(flags, &crate::validate::current_features(), &c, errno))
        .map(Box::new);
    crate::Error::Os {
        op: format!(
            "unshare({})",
            CloneFlags::from_bits_retain(flags).to_names_string()
        ),
        errno,
        explanation,
    }
}

/// The explanation for `errno` returned by `unshare(flags)`.
pub fn explain_errno(flags: u64, f: &Features, c: &Caller, errno: Errno) -> Option<Problem> {
    crate::nscheck::explain(Call::Unshare, &validate(flags, f, c), errno)
}

/// The flags `ksys_unshare()` adds to a request before checking it.
pub fn implied(flags: CloneFlags) -> CloneFlags {
    let mut f = flags;
    if f.contains(CloneFlags::NEWUSER) {
        f |= CloneFlags::THREAD | CloneFlags::FS;
    }
    if f.contains(CloneFlags::VM) {
        f |= CloneFlags::SIGHAND;
    }
    if f.contains(CloneFlags::SIGHAND) {
        f |= CloneFlags::THREAD;
    }
    if f.contains(CloneFlags::NEWNS) {
        f |= CloneFlags::FS;
    }
    f - flags
}

/// What `check_unshare_flags()` lets through on kernel `v`.
fn accepted(v: Option<KernelVersion>) -> CloneFlags {
    let at = |major, minor| v.is_none_or(|v| v >= KernelVersion::new(major, minor));
    let mut ok = UnshareFlags::all().clone_flags();
    if !at(5, 6) {
        ok -= CloneFlags::NEWTIME;
    }
    if !at(4, 6) {
        ok -= CloneFlags::NEWCGROUP;
    }
    ok
}

/// Every problem the kernel would find with `unshare(flags)` (any bits) from `c` on the
/// kernel `f` describes, in the kernel's order: the first is what unshare returns.
pub fn validate(flags: u64, f: &Features, c: &Caller) -> Verdict {
    let mut found: Vec<Finding> = Vec::new();
    let mut notes = Vec::new();
    let asked = CloneFlags::from_bits_retain(flags);
    let ver = f.kernel_version;
    let all = asked | implied(asked);
    let s = &c.sharing;

    if asked.contains(CloneFlags::NEWUSER)
        && f.userns.unprivileged_userns_clone == Some(false)
        && !c.has_global_cap(CAP_SYS_ADMIN)
    {
        found.push(finding(NsRuleId::UnshareUsernsCloneDisabled));
    }
    // check_unshare_flags(): unknown bits end the call before anything else.
    let unknown = asked - accepted(ver);
    if !unknown.is_empty() {
        let detail = if unknown.intersects(CloneFlags::NEWTIME | CloneFlags::NEWCGROUP)
            && (unknown - CloneFlags::NEWTIME - CloneFlags::NEWCGROUP).is_empty()
        {
            " on this kernel (CLONE_NEWCGROUP came with Linux 4.6, CLONE_NEWTIME with 5.6)"
        } else {
            ""
        };
        found.push(
            finding(NsRuleId::UnshareUnknownFlags)
                .flags(unknown)
                .var("flags", unknown.to_names_string())
                .var("detail", detail),
        );
        return verdict(found, notes);
    }
    let others = s.thread_count.saturating_sub(1);
    if all.intersects(CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM) && others > 0 {
        let f = if asked.contains(CloneFlags::NEWUSER) {
            finding(NsRuleId::UnshareNewuserThreaded)
        } else {
            let which = asked & (CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM);
            finding(NsRuleId::UnshareThreadThreaded)
                .flags(which)
                .var("flag", which.to_names_string())
        };
        found.push(f.var("others", others).var("s", plural(others)));
    } else if all.intersects(CloneFlags::SIGHAND | CloneFlags::VM) {
        let which = asked & (CloneFlags::SIGHAND | CloneFlags::VM);
        match s.sighand_shared {
            Some(true) => found.push(
                finding(NsRuleId::UnshareSighandShared).var("flag", which.to_names_string()),
            ),
            Some(false) => {}
            None => notes.push("cannot tell whether the caller shares its signal handlers with another process (no kcmp)".into()),
        }
        if asked.contains(CloneFlags::VM) {
            match s.not_alone_in_mm() {
                Some(true) => found.push(finding(NsRuleId::UnshareVmShared)),
                Some(false) => {}
                None => notes.push(
                    "cannot tell whether another process shares the caller's memory (no kcmp)"
                        .into(),
                ),
            }
        }
    }
    if asked.contains(CloneFlags::NEWUSER) {
        match c.user_ns_level {
            Some(l) if l > 32 => found.push(
                finding(NsRuleId::UnshareUsernsTooDeep).var("level", l),
            ),
            Some(_) => {}
            None => notes.push("cannot tell how deep the caller's user namespace is nested (a new one may be at most at level 33)".into()),
        }
        if c.ns_limits.user == Some(0) {
            found.push(finding(NsRuleId::UnshareUsernsLimit));
        }
        match c.chrooted {
            Some(true) => found.push(finding(NsRuleId::UnshareUsernsChrooted)),
            Some(false) => {}
            None => notes.push("cannot tell whether the caller is chrooted".into()),
        }
        if !c.ids_mapped {
            found.push(
                finding(NsRuleId::UnshareUsernsUnmappedIds)
                    .var("euid", c.euid)
                    .var("egid", c.egid),
            );
        }
    }
    let ns = asked & (CloneFlags::NAMESPACES - CloneFlags::NEWUSER);
    if ns.is_empty() {
        return verdict(found, notes);
    }
    // unshare_nsproxy_namespaces(): CAP_SYS_ADMIN in the (new) user namespace; the creator of
    // a new one holds every capability there.
    if !asked.contains(CloneFlags::NEWUSER) && !c.has_cap(CAP_SYS_ADMIN) {
        found.push(
            finding(NsRuleId::UnshareNeedsCap)
                .flags(ns)
                .var("flags", ns.to_names_string())
                .var("s", if ns.bits().count_ones() == 1 { "s" } else { "" }),
        );
    }
    for (i, (flag, kind)) in NAMESPACE_ORDER.iter().enumerate() {
        if !asked.contains(*flag) {
            continue;
        }
        let sub = i as u32 * 10;
        if *flag == CloneFlags::NEWPID {
            for (j, block) in c.new_pid_ns_blocks().into_iter().enumerate() {
                let sub = sub + j as u32;
                found.push(match block {
                    NewPidNsBlock::ForChildrenDiffers => {
                        finding(NsRuleId::UnshareNewpidTwice).sub(sub)
                    }
                    NewPidNsBlock::OwnerBelow => {
                        finding(NsRuleId::UnsharePidnsOwnerNotAncestor).sub(sub)
                    }
                    NewPidNsBlock::TooDeep(level) => finding(NsRuleId::UnsharePidnsTooDeep)
                        .sub(sub)
                        .var("level", level),
                });
            }
        }
        if *flag == CloneFlags::NEWTIME && !f.time_namespaces {
            found.push(finding(NsRuleId::UnshareNoTimens).sub(sub + 3));
            continue;
        }
        let limit = c.ns_limits.get(kind);
        if limit == Some(0) {
            found.push(
                finding(NsRuleId::UnshareNamespaceLimit)
                    .sub(sub + 4)
                    .flags(*flag)
                    .var("kind", kind),
            );
        }
    }
    verdict(found, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Sharing;

    fn first(flags: CloneFlags, c: &Caller) -> Option<&'static str> {
        validate(flags.bits(), &Features::everything(), c)
            .problems
            .first()
            .map(|p| p.rule)
    }

    #[test]
    fn rules_in_kernel_order() {
        let root = Caller::root();
        assert_eq!(first(CloneFlags::NEWUSER | CloneFlags::NEWNET, &root), None);
        assert_eq!(
            first(CloneFlags::PIDFD, &root),
            Some("unshare-unknown-flags")
        );
        let threaded = Caller {
            sharing: Sharing::threads(3),
            ..Caller::root()
        };
        assert_eq!(
            first(CloneFlags::NEWUSER, &threaded),
            Some("unshare-newuser-threaded")
        );
        // A new mount namespace is fine in a threaded process: CLONE_FS is copied.
        assert_eq!(first(CloneFlags::NEWNS, &threaded), None);
        assert_eq!(
            first(CloneFlags::VM, &threaded),
            Some("unshare-thread-threaded")
        );
        let nobody = Caller::unprivileged(65534);
        assert_eq!(
            first(CloneFlags::NEWNET, &nobody),
            Some("unshare-needs-cap")
        );
        assert_eq!(
            first(CloneFlags::NEWNET | CloneFlags::NEWUSER, &nobody),
            None
        );
        let chrooted = Caller {
            chrooted: Some(true),
            ..Caller::unprivileged(65534)
        };
        let v = validate(
            (CloneFlags::NEWUSER | CloneFlags::NEWNET).bits(),
            &Features::everything(),
            &chrooted,
        );
        assert_eq!(v.errno(), Some(Errno::EPERM));
        assert_eq!(v.problems[0].rule, "unshare-userns-chrooted");
        let unshared = Caller {
            pid_ns_for_children_differs: true,
            ..Caller::root()
        };
        assert_eq!(
            first(CloneFlags::NEWPID, &unshared),
            Some("unshare-newpid-twice")
        );
        // Before 5.6 the time flag is unknown.
        let v = validate(
            CloneFlags::NEWTIME.bits(),
            &Features::as_of(KernelVersion::new(5, 4)),
            &root,
        );
        assert_eq!(v.problems[0].rule, "unshare-unknown-flags");
        assert!(
            v.problems[0].cause.contains("5.6"),
            "{}",
            v.problems[0].cause
        );
    }

    #[test]
    fn implied_flags() {
        assert_eq!(
            implied(CloneFlags::NEWUSER),
            CloneFlags::THREAD | CloneFlags::FS
        );
        assert_eq!(
            implied(CloneFlags::VM),
            CloneFlags::SIGHAND | CloneFlags::THREAD
        );
        assert_eq!(implied(CloneFlags::NEWNS), CloneFlags::FS);
    }

    #[test]
    fn scope() {
        let c = Changed::new(1, CloneFlags::NEWNET, CloneFlags::empty());
        assert!(c.is_whole_process());
        let c = Changed::new(4, CloneFlags::NEWNET, CloneFlags::empty());
        assert_eq!(c.scope, Scope::ThisThread { other_threads: 3 });
    }

    #[test]
    fn explains_a_real_failure() {
        // The test harness runs threads: CLONE_NEWUSER is refused, and explained.
        if thread_count() < 2 {
            return;
        }
        let e = unshare(UnshareFlags::NEWUSER).unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        let s = e.to_string();
        assert!(s.contains("other thread"), "{s}");
        assert!(unshare_whole_process(UnshareFlags::NEWUSER).is_err());
    }
}
