//! The kernel's checks on `unshare(2)` and `setns(2)`, as data, in the kernel's order — the
//! companion of [`super::RULES`] for the two calls that change the *calling thread* instead of
//! creating a process.
//!
//! unshare: `ksys_unshare()` (kernel/fork.c) adds the implied flags, then
//! `check_unshare_flags()` → `unshare_fs()`/`unshare_fd()` → `unshare_userns()`
//! (`create_user_ns()`, kernel/user_namespace.c) → `unshare_nsproxy_namespaces()`
//! (kernel/nsproxy.c) → `create_new_namespaces()`, one namespace type after the other.
//!
//! setns: `SYSCALL_DEFINE2(setns)` (kernel/nsproxy.c) tells a namespace file from a pidfd
//! (`check_setns_flags()`), `prepare_nsset()`, then for a pidfd `validate_nsset()` (the target
//! task, ptrace access) and each namespace's `install` in the order user, mnt, uts, ipc, pid,
//! cgroup, net, time: `userns_install()` (kernel/user_namespace.c), `mntns_install()`
//! (fs/namespace.c), `utsns_install()` (kernel/utsname.c), `ipcns_install()` (ipc/namespace.c),
//! `pidns_install()` (kernel/pid_namespace.c), `cgroupns_install()`
//! (kernel/cgroup/namespace.c), `netns_install()` (net/core/net_namespace.c),
//! `timens_install()` (kernel/time/namespace.c).
//!
//! The validator ([`crate::unshare::validate`], [`crate::setns::validate`]), the library's
//! errors, `xclone explain --unshare/--setns` and `docs/validation-rules.md` read this table.

use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::sys::flags::CloneFlags;

/// Which system call a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Call {
    /// `unshare(2)`: the calling thread leaves namespaces for new ones.
    Unshare,
    /// `setns(2)`: the calling thread joins an existing namespace.
    Setns,
}

impl Call {
    /// `"unshare"` or `"setns"`.
    pub fn name(self) -> &'static str {
        match self {
            Call::Unshare => "unshare",
            Call::Setns => "setns",
        }
    }
}

/// Identifies a rule of [`NS_RULES`]; [`NsRule::name`] is its stable kebab-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NsRuleId {
    /// `EINVAL` (`unshare-unknown-flags`) from `check_unshare_flags()`: unshare(2) does not take
    /// *flags*.
    UnshareUnknownFlags,
    /// `EPERM` (`unshare-userns-clone-disabled`) from `ksys_unshare()` (Debian):
    /// kernel.unprivileged_userns_clone is 0 (a Debian kernel setting), so only a caller with
    /// CAP_SYS_ADMIN may create user namespaces.
    UnshareUsernsCloneDisabled,
    /// `EINVAL` (`unshare-newuser-threaded`) from `check_unshare_flags()`: CLONE_NEWUSER implies
    /// CLONE_THREAD, and the calling process has *others* other threads: all threads of a process
    /// must share one user namespace.
    UnshareNewuserThreaded,
    /// `EINVAL` (`unshare-thread-threaded`) from `check_unshare_flags()`: *flag* asks to leave the
    /// thread group, and the calling process has *others* other threads; unshare cannot split a
    /// process.
    UnshareThreadThreaded,
    /// `EINVAL` (`unshare-sighand-shared`) from `check_unshare_flags()`: *flag* asks for signal
    /// handlers of its own, but the caller shares them with another process (created with
    /// CLONE_SIGHAND), and unshare cannot copy them.
    UnshareSighandShared,
    /// `EINVAL` (`unshare-vm-shared`) from `check_unshare_flags()`: CLONE_VM asks for an address
    /// space of its own, but another process shares the caller's memory (CLONE_VM), and unshare
    /// cannot copy it.
    UnshareVmShared,
    /// `ENOMEM` (`unshare-copy-failed`) from `unshare_fs/unshare_fd`: the kernel could not allocate
    /// the private copy of the filesystem information or the descriptor table.
    UnshareCopyFailed,
    /// `ENOSPC` (`unshare-userns-too-deep`) from `create_user_ns()`: the caller's user namespace is
    /// at level *level*, and a new one may be at most at level 33.
    UnshareUsernsTooDeep,
    /// `ENOSPC` (`unshare-userns-limit`) from `inc_user_namespaces()`: user.max_user_namespaces is
    /// 0 here, so no user namespace can be created.
    UnshareUsernsLimit,
    /// `EPERM` (`unshare-userns-chrooted`) from `create_user_ns()`: the caller is chrooted, and a
    /// chrooted process may not create a user namespace (it would gain the power to escape the
    /// chroot).
    UnshareUsernsChrooted,
    /// `EPERM` (`unshare-userns-unmapped-ids`) from `create_user_ns()`: the caller's euid *euid* or
    /// egid *egid* has no mapping in its own user namespace, so the new namespace's owner could not
    /// be named.
    UnshareUsernsUnmappedIds,
    /// `EPERM` (`unshare-userns-lsm`) from `security_create_user_ns()`: a security module
    /// (AppArmor, SELinux or a BPF LSM) refused the new user namespace.
    UnshareUsernsLsm,
    /// `EPERM` (`unshare-needs-cap`) from `unshare_nsproxy_namespaces()`: *flags* needs
    /// CAP_SYS_ADMIN in the caller's user namespace, which the caller lacks.
    UnshareNeedsCap,
    /// `EINVAL` (`unshare-newpid-twice`) from `copy_pid_ns()`: the caller's pid namespace for
    /// children is no longer its own (an earlier unshare(CLONE_NEWPID) or setns), and a new pid
    /// namespace can only be made below the caller's own.
    UnshareNewpidTwice,
    /// `EINVAL` (`unshare-pidns-owner-not-ancestor`) from `create_pid_namespace()`: the caller's
    /// pid namespace belongs to a user namespace below the caller's own, and a new pid namespace
    /// must belong to that user namespace or one below it.
    UnsharePidnsOwnerNotAncestor,
    /// `ENOSPC` (`unshare-pidns-too-deep`) from `create_pid_namespace()`: the new pid namespace
    /// would be at level *level*, and pid namespaces nest at most 32 deep.
    UnsharePidnsTooDeep,
    /// `ENOSPC` (`unshare-namespace-limit`) from `create_new_namespaces()`:
    /// user.max_*kind*_namespaces is 0 here, so no *kind* namespace can be created.
    UnshareNamespaceLimit,
    /// `EINVAL` (`unshare-no-timens`) from `copy_time_ns()`: this kernel is built without time
    /// namespaces (CONFIG_TIME_NS).
    UnshareNoTimens,
    /// `EBADF` (`setns-bad-fd`) from `setns()`: descriptor *fd* is not open.
    SetnsBadFd,
    /// `EINVAL` (`setns-type-mismatch`) from `setns()`: descriptor *fd* is a *kind* namespace, but
    /// nstype asks for *flags*.
    SetnsTypeMismatch,
    /// `EINVAL` (`setns-pidfd-before-5.8`) from `setns()`: descriptor *fd* is a pidfd, and this
    /// kernel's setns only takes namespace files (pidfds from Linux 5.8).
    SetnsPidfdBefore58,
    /// `EINVAL` (`setns-pidfd-no-flags`) from `check_setns_flags()`: with a pidfd, nstype must name
    /// the namespaces to join, and it is 0.
    SetnsPidfdNoFlags,
    /// `EINVAL` (`setns-pidfd-unknown-flags`) from `check_setns_flags()`: with a pidfd, nstype may
    /// only hold namespace flags, and it has *flags*.
    SetnsPidfdUnknownFlags,
    /// `EINVAL` (`setns-not-namespace`) from `setns()`: descriptor *fd* (*what*) is neither a
    /// namespace file nor a pidfd.
    SetnsNotNamespace,
    /// `ENOMEM` (`setns-out-of-memory`) from `prepare_nsset()`: the kernel could not allocate the
    /// new set of namespaces or credentials.
    SetnsOutOfMemory,
    /// `ESRCH` (`setns-target-gone`) from `validate_nsset()`: the process behind pidfd *fd*
    /// *state*, so it has no namespaces left to join.
    SetnsTargetGone,
    /// `EPERM` (`setns-target-ptrace`) from `validate_nsset()`: the caller may not inspect process
    /// *pid* (ptrace read access: *why*).
    SetnsTargetPtrace,
    /// `EINVAL` (`setns-user-same`) from `userns_install()`: the target user namespace is the
    /// caller's own; re-entering it would hand out its capabilities again, so the kernel refuses.
    SetnsUserSame,
    /// `EINVAL` (`setns-user-threaded`) from `userns_install()`: the calling process has *others*
    /// other threads, and all threads of a process must share one user namespace.
    SetnsUserThreaded,
    /// `EINVAL` (`setns-user-fs-shared`) from `userns_install()`: the caller shares its root and
    /// working directory with *with* (CLONE_FS), which would then straddle two user namespaces.
    SetnsUserFsShared,
    /// `EPERM` (`setns-user-needs-cap`) from `userns_install()`: joining user namespace *ns* needs
    /// CAP_SYS_ADMIN in it, and the caller has none there (*why*).
    SetnsUserNeedsCap,
    /// `EPERM` (`setns-mnt-needs-cap`) from `mntns_install()`: joining mount namespace *ns* needs
    /// CAP_SYS_ADMIN over its owner and CAP_SYS_ADMIN and CAP_SYS_CHROOT in *userns*; the caller
    /// lacks *lacks*.
    SetnsMntNeedsCap,
    /// `EINVAL` (`setns-mnt-anon`) from `mntns_install()`: the mount namespace is an anonymous one
    /// (of a detached mount tree from open_tree/fsmount), which cannot be joined.
    SetnsMntAnon,
    /// `EINVAL` (`setns-mnt-fs-shared`) from `mntns_install()`: the caller shares its root and
    /// working directory with *with* (CLONE_FS), and joining a mount namespace replaces them.
    SetnsMntFsShared,
    /// `EINVAL` (`setns-mnt-fs-shared-multi`) from `mntns_install (Debian 6.12)`: the caller shares its root
    /// and working directory with *with* (CLONE_FS), and this kernel refuses that even when the
    /// mount namespace is joined with others through a pidfd (asked of the kernel: Debian's
    /// 6.12.117 does, mainline 5.10 to 6.18 copy the fs_struct and accept).
    SetnsMntFsSharedMulti,
    /// `EPERM` (`setns-needs-cap`) from `{kind}ns_install`: joining *kind* namespace *ns* needs
    /// CAP_SYS_ADMIN over its owner and in *userns*; the caller lacks *lacks*.
    SetnsNeedsCap,
    /// `EINVAL` (`setns-pid-not-descendant`) from `pidns_install()`: pid namespace *ns* is *rel*; a
    /// process may only move its children into its own pid namespace or one below it.
    SetnsPidNotDescendant,
    /// `EUSERS` (`setns-time-shared`) from `timens_install()`: the caller's memory is shared with
    /// *with*, and a time namespace changes the clocks the whole address space reads (vDSO).
    SetnsTimeShared,
}

/// One check the kernel makes on an unshare or setns request.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NsRule {
    /// Which rule this is (the enum form of [`name`](Self::name)).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub id: NsRuleId,
    /// Stable kebab-case identifier (`"setns-user-threaded"`).
    pub name: &'static str,
    /// The system call that makes the check.
    pub call: Call,
    /// What the kernel returns when the check fails.
    pub errno: Errno,
    /// Position in the kernel's sequence. Checks made once per namespace type share a value;
    /// the type's place in the kernel's loop orders them.
    pub order: u16,
    /// The kernel function that makes the check (`check_unshare_flags`, `userns_install`, ...).
    pub function: &'static str,
    /// The namespace flags (`CLONE_NEW*`, `CLONE_FS`, ...) the rule is about.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::validate::ser_flags")
    )]
    pub flags: CloneFlags,
    /// The first release that makes this check (`None`: every release the validator knows).
    pub since: Option<KernelVersion>,
    /// The first release that no longer makes it (`None`: still made).
    pub until: Option<KernelVersion>,
    /// Whether the validator predicts it; the others only explain a real failure.
    pub predicted: bool,
    /// One line, plain words; `{placeholders}` are filled in per request.
    pub cause: &'static str,
    /// How to fix it; may use the same placeholders.
    pub fix: &'static str,
}

impl NsRule {
    /// Whether the rule applies on kernel `v` (`None`: unknown kernel, assume the newest).
    pub fn applies_on(&self, v: Option<KernelVersion>) -> bool {
        super::in_window(self.since, self.until, v)
    }

    /// The rule with this id.
    pub fn get(id: NsRuleId) -> &'static NsRule {
        NS_RULES
            .iter()
            .find(|r| r.id == id)
            .expect("every NsRuleId has a row in NS_RULES")
    }

    /// Position of the rule in [`NS_RULES`].
    pub fn index(id: NsRuleId) -> usize {
        NS_RULES
            .iter()
            .position(|r| r.id == id)
            .expect("every NsRuleId has a row in NS_RULES")
    }

    /// Looks a rule up by its name.
    pub fn by_name(name: &str) -> Option<&'static NsRule> {
        NS_RULES.iter().find(|r| r.name == name)
    }
}

use super::{v, NONE};

macro_rules! rule {
    ($id:ident, $name:literal, $call:ident, $errno:ident, $order:literal, $func:literal,
     flags: $flags:expr, since: $since:expr, until: $until:expr, predicted: $pred:literal,
     cause: $cause:literal, fix: $fix:literal $(,)?) => {
        NsRule {
            id: NsRuleId::$id,
            name: $name,
            call: Call::$call,
            errno: Errno::$errno,
            order: $order,
            function: $func,
            flags: $flags,
            since: $since,
            until: $until,
            predicted: $pred,
            cause: $cause,
            fix: $fix,
        }
    };
}

use CloneFlags as F;

/// Every check of unshare(2), then every check of setns(2), each in the kernel's order.
pub static NS_RULES: &[NsRule] = &[
    // -- ksys_unshare(): implied flags, check_unshare_flags() ------------------------------
    rule!(UnshareUsernsCloneDisabled, "unshare-userns-clone-disabled", Unshare, EPERM, 5, "ksys_unshare (Debian)",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "kernel.unprivileged_userns_clone is 0 (a Debian kernel setting), so only a caller with CAP_SYS_ADMIN may create user namespaces",
        fix: "set kernel.unprivileged_userns_clone=1, or run with CAP_SYS_ADMIN"),
    rule!(UnshareUnknownFlags, "unshare-unknown-flags", Unshare, EINVAL, 10, "check_unshare_flags",
        flags: NONE, since: None, until: None, predicted: true,
        cause: "unshare(2) does not take {flags}{detail}",
        fix: "remove {flags}: unshare takes CLONE_FILES, CLONE_FS, CLONE_SYSVSEM and the CLONE_NEW* flags (CLONE_THREAD, CLONE_SIGHAND and CLONE_VM only as no-ops in a single-threaded process)"),
    rule!(UnshareNewuserThreaded, "unshare-newuser-threaded", Unshare, EINVAL, 20, "check_unshare_flags",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "CLONE_NEWUSER implies CLONE_THREAD, and the calling process has {others} other thread{s}: all threads of a process must share one user namespace",
        fix: "call unshare(CLONE_NEWUSER) before starting threads (first thing in main), or in a child process"),
    rule!(UnshareThreadThreaded, "unshare-thread-threaded", Unshare, EINVAL, 20, "check_unshare_flags",
        flags: F::THREAD.union(F::SIGHAND).union(F::VM), since: None, until: None, predicted: true,
        cause: "{flag} asks to leave the thread group, and the calling process has {others} other thread{s}; unshare cannot split a process",
        fix: "drop {flag} (it is only accepted where there is nothing to unshare), or create a process with clone3"),
    rule!(UnshareSighandShared, "unshare-sighand-shared", Unshare, EINVAL, 21, "check_unshare_flags",
        flags: F::SIGHAND.union(F::VM), since: None, until: None, predicted: true,
        cause: "{flag} asks for signal handlers of its own, but the caller shares them with another process (created with CLONE_SIGHAND), and unshare cannot copy them",
        fix: "drop {flag}"),
    rule!(UnshareVmShared, "unshare-vm-shared", Unshare, EINVAL, 22, "check_unshare_flags",
        flags: F::VM, since: None, until: None, predicted: true,
        cause: "CLONE_VM asks for an address space of its own, but another process shares the caller's memory (CLONE_VM), and unshare cannot copy it",
        fix: "drop CLONE_VM"),
    // -- unshare_fs(), unshare_fd() --------------------------------------------------------
    rule!(UnshareCopyFailed, "unshare-copy-failed", Unshare, ENOMEM, 30, "unshare_fs/unshare_fd",
        flags: F::FS.union(F::FILES), since: None, until: None, predicted: false,
        cause: "the kernel could not allocate the private copy of the filesystem information or the descriptor table",
        fix: "free memory (or raise the memory cgroup limit) and retry"),
    // -- unshare_userns() → create_user_ns() ------------------------------------------------
    rule!(UnshareUsernsTooDeep, "unshare-userns-too-deep", Unshare, ENOSPC, 40, "create_user_ns",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "the caller's user namespace is at level {level}, and a new one may be at most at level 33",
        fix: "create the user namespace from a shallower one"),
    rule!(UnshareUsernsLimit, "unshare-userns-limit", Unshare, ENOSPC, 41, "inc_user_namespaces",
        flags: F::NEWUSER, since: v(4, 9), until: None, predicted: true,
        cause: "user.max_user_namespaces is 0 here, so no user namespace can be created",
        fix: "raise /proc/sys/user/max_user_namespaces"),
    rule!(UnshareUsernsChrooted, "unshare-userns-chrooted", Unshare, EPERM, 42, "create_user_ns",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "the caller is chrooted, and a chrooted process may not create a user namespace (it would gain the power to escape the chroot)",
        fix: "create the user namespace before chroot(2), or use pivot_root in a mount namespace instead of chroot"),
    rule!(UnshareUsernsUnmappedIds, "unshare-userns-unmapped-ids", Unshare, EPERM, 43, "create_user_ns",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "the caller's euid {euid} or egid {egid} has no mapping in its own user namespace, so the new namespace's owner could not be named",
        fix: "switch to a mapped uid and gid first"),
    rule!(UnshareUsernsLsm, "unshare-userns-lsm", Unshare, EPERM, 44, "security_create_user_ns",
        flags: F::NEWUSER, since: v(6, 1), until: None, predicted: false,
        cause: "a security module (AppArmor, SELinux or a BPF LSM) refused the new user namespace",
        fix: "ask for a policy that allows this program to create user namespaces (on Ubuntu: kernel.apparmor_restrict_unprivileged_userns or an AppArmor profile)"),
    // -- unshare_nsproxy_namespaces() -------------------------------------------------------
    rule!(UnshareNeedsCap, "unshare-needs-cap", Unshare, EPERM, 50, "unshare_nsproxy_namespaces",
        flags: F::NEWNS.union(F::NEWUTS).union(F::NEWIPC).union(F::NEWNET).union(F::NEWPID).union(F::NEWCGROUP).union(F::NEWTIME),
        since: None, until: None, predicted: true,
        cause: "{flags} need{s} CAP_SYS_ADMIN in the caller's user namespace, which the caller lacks",
        fix: "add CLONE_NEWUSER to the same call (the new namespaces then belong to the new user namespace, where the caller holds every capability), or run with CAP_SYS_ADMIN"),
    // -- create_new_namespaces(): mnt, uts, ipc, pid, cgroup, net, time ----------------------
    rule!(UnshareNewpidTwice, "unshare-newpid-twice", Unshare, EINVAL, 60, "copy_pid_ns",
        flags: F::NEWPID, since: None, until: None, predicted: true,
        cause: "the caller's pid namespace for children is no longer its own (an earlier unshare(CLONE_NEWPID) or setns), and a new pid namespace can only be made below the caller's own",
        fix: "create the pid namespace once, from a process whose pid_for_children is its own pid namespace"),
    rule!(UnsharePidnsOwnerNotAncestor, "unshare-pidns-owner-not-ancestor", Unshare, EINVAL, 60, "create_pid_namespace",
        flags: F::NEWPID, since: None, until: None, predicted: true,
        cause: "the caller's pid namespace belongs to a user namespace below the caller's own, and a new pid namespace must belong to that user namespace or one below it",
        fix: "setns into the user namespace that owns your pid namespace first"),
    rule!(UnsharePidnsTooDeep, "unshare-pidns-too-deep", Unshare, ENOSPC, 60, "create_pid_namespace",
        flags: F::NEWPID, since: None, until: None, predicted: true,
        cause: "the new pid namespace would be at level {level}, and pid namespaces nest at most 32 deep",
        fix: "create it from a shallower pid namespace"),
    rule!(UnshareNamespaceLimit, "unshare-namespace-limit", Unshare, ENOSPC, 60, "create_new_namespaces",
        flags: NONE, since: v(4, 9), until: None, predicted: true,
        cause: "user.max_{kind}_namespaces is 0 here, so no {kind} namespace can be created",
        fix: "raise /proc/sys/user/max_{kind}_namespaces (it is per user namespace: the owner of a user namespace may set it inside)"),
    rule!(UnshareNoTimens, "unshare-no-timens", Unshare, EINVAL, 60, "copy_time_ns",
        flags: F::NEWTIME, since: v(5, 6), until: None, predicted: true,
        cause: "this kernel is built without time namespaces (CONFIG_TIME_NS)",
        fix: "drop CLONE_NEWTIME, or run a kernel with CONFIG_TIME_NS"),
    // -- SYSCALL_DEFINE2(setns): what the descriptor is ---------------------------------------
    rule!(SetnsBadFd, "setns-bad-fd", Setns, EBADF, 100, "setns",
        flags: NONE, since: None, until: None, predicted: true,
        cause: "descriptor {fd} is not open",
        fix: "pass an open namespace file (/proc/PID/ns/*) or a pidfd"),
    rule!(SetnsTypeMismatch, "setns-type-mismatch", Setns, EINVAL, 110, "setns",
        flags: NONE, since: None, until: None, predicted: true,
        cause: "descriptor {fd} is a {kind} namespace, but nstype asks for {flags}",
        fix: "pass 0 (any type) or {want} with this file, or open the namespace file of the type you want"),
    rule!(SetnsPidfdBefore58, "setns-pidfd-before-5.8", Setns, EINVAL, 110, "setns",
        flags: NONE, since: None, until: v(5, 8), predicted: true,
        cause: "descriptor {fd} is a pidfd, and this kernel's setns only takes namespace files (pidfds from Linux 5.8)",
        fix: "open /proc/{pid}/ns/<type> and call setns once per namespace, or run Linux 5.8+"),
    rule!(SetnsPidfdNoFlags, "setns-pidfd-no-flags", Setns, EINVAL, 110, "check_setns_flags",
        flags: NONE, since: v(5, 8), until: None, predicted: true,
        cause: "with a pidfd, nstype must name the namespaces to join, and it is 0",
        fix: "pass the CLONE_NEW* flags of the namespaces to join (e.g. CLONE_NEWNET|CLONE_NEWNS)"),
    rule!(SetnsPidfdUnknownFlags, "setns-pidfd-unknown-flags", Setns, EINVAL, 110, "check_setns_flags",
        flags: NONE, since: v(5, 8), until: None, predicted: true,
        cause: "with a pidfd, nstype may only hold namespace flags{detail}, and it has {flags}",
        fix: "remove {flags}"),
    rule!(SetnsNotNamespace, "setns-not-namespace", Setns, EINVAL, 110, "setns",
        flags: NONE, since: None, until: None, predicted: true,
        cause: "descriptor {fd} ({what}) is neither a namespace file nor a pidfd",
        fix: "open /proc/PID/ns/<type>, or pidfd_open(PID) (a /proc/PID directory is not a pidfd)"),
    rule!(SetnsOutOfMemory, "setns-out-of-memory", Setns, ENOMEM, 120, "prepare_nsset",
        flags: NONE, since: None, until: None, predicted: false,
        cause: "the kernel could not allocate the new set of namespaces or credentials",
        fix: "free memory (or raise the memory cgroup limit) and retry"),
    // -- validate_nsset(): the pidfd's task -------------------------------------------------
    rule!(SetnsTargetGone, "setns-target-gone", Setns, ESRCH, 130, "validate_nsset",
        flags: NONE, since: v(5, 8), until: None, predicted: true,
        cause: "the process behind pidfd {fd} {state}, so it has no namespaces left to join",
        fix: "keep the target alive while joining it, or open its /proc/PID/ns/* files while it runs (they keep the namespaces)"),
    rule!(SetnsTargetPtrace, "setns-target-ptrace", Setns, EPERM, 131, "validate_nsset",
        flags: NONE, since: v(5, 8), until: None, predicted: true,
        cause: "the caller may not inspect process {pid} (ptrace read access: {why})",
        fix: "run as the target's owner or with CAP_SYS_PTRACE, or make the target dumpable"),
    // -- each namespace's install(), in the order user, mnt, uts, ipc, pid, cgroup, net, time
    rule!(SetnsUserSame, "setns-user-same", Setns, EINVAL, 140, "userns_install",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "the target user namespace is the caller's own; re-entering it would hand out its capabilities again, so the kernel refuses",
        fix: "leave CLONE_NEWUSER out when the target shares your user namespace"),
    rule!(SetnsUserThreaded, "setns-user-threaded", Setns, EINVAL, 140, "userns_install",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "the calling process has {others} other thread{s}, and all threads of a process must share one user namespace",
        fix: "join the user namespace before starting threads, or from a child process (xclone enter does)"),
    rule!(SetnsUserFsShared, "setns-user-fs-shared", Setns, EINVAL, 140, "userns_install",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "the caller shares its root and working directory with {with} (CLONE_FS), which would then straddle two user namespaces",
        fix: "unshare(CLONE_FS) first{thread_hint}"),
    rule!(SetnsUserNeedsCap, "setns-user-needs-cap", Setns, EPERM, 140, "userns_install",
        flags: F::NEWUSER, since: None, until: None, predicted: true,
        cause: "joining user namespace {ns} needs CAP_SYS_ADMIN in it, and the caller has none there ({why})",
        fix: "join a user namespace you created (or one below it), or hold CAP_SYS_ADMIN in its parent"),
    rule!(SetnsMntNeedsCap, "setns-mnt-needs-cap", Setns, EPERM, 140, "mntns_install",
        flags: F::NEWNS, since: None, until: None, predicted: true,
        cause: "joining mount namespace {ns} needs CAP_SYS_ADMIN over its owner and CAP_SYS_ADMIN and CAP_SYS_CHROOT in {userns}; the caller lacks {lacks}",
        fix: "run with CAP_SYS_ADMIN and CAP_SYS_CHROOT over the namespace's owner, or join its user namespace first or in the same call (a pidfd with CLONE_NEWUSER added) when you created it{hint}"),
    rule!(SetnsMntAnon, "setns-mnt-anon", Setns, EINVAL, 140, "mntns_install",
        flags: F::NEWNS, since: v(5, 2), until: None, predicted: false,
        cause: "the mount namespace is an anonymous one (of a detached mount tree from open_tree/fsmount), which cannot be joined",
        fix: "attach the tree with move_mount and join a real mount namespace"),
    rule!(SetnsMntFsShared, "setns-mnt-fs-shared", Setns, EINVAL, 140, "mntns_install",
        flags: F::NEWNS, since: None, until: None, predicted: true,
        cause: "the caller shares its root and working directory with {with} (CLONE_FS), and joining a mount namespace replaces them",
        fix: "unshare(CLONE_FS) first (it makes them the calling thread's own){pidfd_hint}"),
    rule!(SetnsMntFsSharedMulti, "setns-mnt-fs-shared-multi", Setns, EINVAL, 140, "mntns_install (Debian 6.12)",
        flags: F::NEWNS, since: None, until: None, predicted: true,
        cause: "the caller shares its root and working directory with {with} (CLONE_FS), and this kernel refuses that even when the mount namespace is joined with others through a pidfd (asked of the kernel: Debian's 6.12.117 does, mainline 5.10 to 6.18 copy the fs_struct and accept)",
        fix: "unshare(CLONE_FS) first (it makes them the calling thread's own){pidfd_hint}"),
    rule!(SetnsNeedsCap, "setns-needs-cap", Setns, EPERM, 140, "{kind}ns_install",
        flags: NONE, since: None, until: None, predicted: true,
        cause: "joining {kind} namespace {ns} needs CAP_SYS_ADMIN over its owner and in {userns}; the caller lacks {lacks}",
        fix: "run with CAP_SYS_ADMIN over the namespace's owner, or join its user namespace first or in the same call (a pidfd with CLONE_NEWUSER added) when you created it{hint}"),
    rule!(SetnsPidNotDescendant, "setns-pid-not-descendant", Setns, EINVAL, 140, "pidns_install",
        flags: F::NEWPID, since: None, until: None, predicted: true,
        cause: "pid namespace {ns} is {rel}; a process may only move its children into its own pid namespace or one below it",
        fix: "join a pid namespace below your own (the target's pid namespace must be a descendant of the caller's)"),
    rule!(SetnsTimeShared, "setns-time-shared", Setns, EUSERS, 140, "timens_install",
        flags: F::NEWTIME, since: v(5, 6), until: None, predicted: true,
        cause: "the caller's memory is shared with {with}, and a time namespace changes the clocks the whole address space reads (vDSO)",
        fix: "join the time namespace from a single-threaded process that shares no memory (a fork()ed child; xclone enter does this)"),
];

/// The unshare and setns tables as Markdown sections (the tail of
/// `docs/validation-rules.md`, after the clone3 table).
pub fn to_markdown() -> String {
    let mut out = String::new();
    for (call, title, intro) in [
        (
            Call::Unshare,
            "unshare(2)",
            "`ksys_unshare()` first adds the implied flags (CLONE_NEWUSER adds CLONE_THREAD and \
             CLONE_FS, CLONE_VM adds CLONE_SIGHAND, CLONE_SIGHAND adds CLONE_THREAD, CLONE_NEWNS \
             adds CLONE_FS), then checks in this order.",
        ),
        (
            Call::Setns,
            "setns(2)",
            "With a namespace file only that namespace's install runs; with a pidfd (Linux 5.8) \
             every requested namespace's, all or nothing, in the order user, mnt, uts, ipc, pid, \
             cgroup, net, time (rows of order 140).",
        ),
    ] {
        out.push_str(&format!(
            "\n# What the kernel checks in {title}\n\n{intro}\n\n\
             | order | rule | errno | kernel function | flags | Linux | cause | fix |\n\
             |---:|---|---|---|---|---|---|---|\n"
        ));
        for r in NS_RULES.iter().filter(|r| r.call == call) {
            out.push_str(&super::markdown_row(
                r.order,
                r.name,
                r.predicted,
                &r.errno.name(),
                r.function,
                r.flags,
                (r.since, r.until),
                r.cause,
                r.fix,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_kernel_order_and_complete() {
        for call in [Call::Unshare, Call::Setns] {
            let rows: Vec<_> = NS_RULES.iter().filter(|r| r.call == call).collect();
            for w in rows.windows(2) {
                assert!(
                    w[0].order <= w[1].order,
                    "{} before {}",
                    w[1].name,
                    w[0].name
                );
            }
        }
        let mut names: Vec<_> = NS_RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), NS_RULES.len(), "duplicate rule names");
        for r in NS_RULES {
            assert_eq!(NsRule::get(r.id).name, r.name);
            assert_eq!(NsRule::by_name(r.name).map(|x| x.id), Some(r.id));
            assert!(r.name.starts_with(r.call.name()), "{}", r.name);
            assert!(!r.cause.ends_with('.'), "{}", r.name);
            // No name is shared with the clone3 table: a Problem's rule names one row.
            assert!(super::super::Rule::by_name(r.name).is_none(), "{}", r.name);
        }
    }

    #[test]
    fn versions() {
        let r = NsRule::get(NsRuleId::SetnsPidfdBefore58);
        assert!(r.applies_on(Some(KernelVersion::new(5, 7))));
        assert!(!r.applies_on(Some(KernelVersion::new(5, 8))));
        assert!(!r.applies_on(None));
        assert!(NsRule::get(NsRuleId::SetnsPidfdNoFlags).applies_on(None));
    }
}
