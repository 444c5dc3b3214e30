//! The kernel's checks on a `clone3(2)` request, written down once, as data, in the order the
//! kernel makes them: `copy_clone_args_from_user()` → `clone3_args_valid()` → `kernel_clone()`
//! → the flag checks of `copy_process()` → its resource phase (credentials, limits,
//! namespaces, `alloc_pid()` with `set_tid`, the pidfd) → `cgroup_can_fork()`.
//!
//! Each [`Rule`] states the errno, the kernel function, the flags and fields involved, the
//! releases between which it applies, and a cause and a fix in plain words (templates whose
//! `{name}` placeholders the validator fills in). The validator ([`crate::validate`]), the
//! library's error messages, `xclone explain` and the docs all read this table; the order of
//! the table is the kernel's order. Row numbers in the comments refer to the project's
//! `docs/clone3.md`, section 3.

pub mod ns;

use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::sys::flags::CloneFlags;

/// Which part of the kernel makes a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Area {
    /// Is clone3 there at all (or filtered)?
    Syscall,
    /// `copy_clone_args_from_user()`: size, `set_tid` array, `exit_signal`, `cgroup` range.
    Copy,
    /// `clone3_args_valid()`: flag bits, stack.
    Args,
    /// `kernel_clone()` before the copy.
    KernelClone,
    /// The flag combinations `copy_process()` refuses before allocating anything.
    Flags,
    /// User namespace creation in `copy_creds()`.
    Credentials,
    /// Process limits in `copy_process()`.
    Limits,
    /// `copy_namespaces()` and the creation of each namespace.
    Namespaces,
    /// `copy_thread()`: architecture checks.
    Thread,
    /// `alloc_pid()`: chosen PIDs, level by level, innermost first.
    SetTid,
    /// The pidfd for `CLONE_PIDFD`.
    Pidfd,
    /// `cgroup_can_fork()`: `CLONE_INTO_CGROUP` and the cgroup controllers.
    Cgroup,
    /// Failures after the cgroup step.
    Late,
    /// `unshare(2)`, see [`ns`].
    Unshare,
    /// `setns(2)`, see [`ns`].
    Setns,
}

/// Identifies a rule. The kebab-case name ([`Rule::name`]) is stable and appears in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum RuleId {
    /// `ENOSYS` (`clone3-missing`) from `sys_clone3()`: this kernel has no clone3 system call (it
    /// came with Linux 5.3).
    Clone3Missing,
    /// `ENOSYS` (`clone3-filtered`) from `seccomp`: a seccomp filter or similar policy answers
    /// clone3 with *errno* although this kernel has it.
    Clone3Filtered,
    /// `E2BIG` (`size-too-big`) from `copy_clone_args_from_user()`: the size argument is *size*
    /// bytes, more than a page (*page* bytes).
    SizeTooBig,
    /// `EINVAL` (`size-too-small`) from `copy_clone_args_from_user()`: the size argument is *size*
    /// bytes, less than the first clone_args layout (64 bytes, CLONE_ARGS_SIZE_VER0).
    SizeTooSmall,
    /// `E2BIG` (`unknown-struct-tail`) from `copy_struct_from_user()`: clone_args carries non-zero
    /// *what* beyond the *known* bytes this kernel understands.
    UnknownStructTail,
    /// `EINVAL` (`set-tid-size-over-max`) from `copy_clone_args_from_user()`: set_tid has *count*
    /// entries, more than MAX_PID_NS_LEVEL (32).
    SetTidSizeOverMax,
    /// `EINVAL` (`set-tid-size-without-array`) from `copy_clone_args_from_user()`: set_tid_size is
    /// *count* but set_tid is NULL.
    SetTidSizeWithoutArray,
    /// `EINVAL` (`set-tid-array-without-size`) from `copy_clone_args_from_user()`: set_tid points
    /// at an array but set_tid_size is 0.
    SetTidArrayWithoutSize,
    /// `EINVAL` (`exit-signal-invalid`) from `copy_clone_args_from_user()`: exit_signal is
    /// *signal*, which is not a signal number: clone3 takes 0 to 64 and nothing in the upper bits.
    ExitSignalInvalid,
    /// `EINVAL` (`cgroup-fd-out-of-range`) from `copy_clone_args_from_user()`: cgroup is *fd*,
    /// larger than INT_MAX, so it cannot be a file descriptor.
    CgroupFdOutOfRange,
    /// `EINVAL` (`cgroup-needs-ver2-size`) from `copy_clone_args_from_user()`: CLONE_INTO_CGROUP is
    /// set but the size argument (*size* bytes) leaves out the cgroup field.
    CgroupNeedsVer2Size,
    /// `EFAULT` (`set-tid-unreadable`) from `copy_clone_args_from_user()`: set_tid (*ptr*) does not
    /// point at *count* readable PIDs.
    SetTidUnreadable,
    /// `EINVAL` (`unknown-flags`) from `clone3_args_valid()`: this kernel's clone3 does not know
    /// *flags*.
    UnknownFlags,
    /// `EINVAL` (`exit-signal-in-flags`) from `clone3_args_valid()`: flags has *bits* in its low
    /// byte, where clone(2) keeps the exit signal; clone3 refuses that.
    ExitSignalInFlags,
    /// `EINVAL` (`detached`) from `clone3_args_valid()`: CLONE_DETACHED is obsolete and clone3
    /// refuses it.
    Detached,
    /// `EINVAL` (`newtime-before-6.3`) from `clone3_args_valid()`: CLONE_NEWTIME shares its bit
    /// with the old exit-signal byte, and clone3 only takes it from Linux 6.3.
    NewtimeBefore63,
    /// `EINVAL` (`sighand-with-clear-sighand`) from `clone3_args_valid()`: CLONE_SIGHAND shares the
    /// caller's signal handlers, which CLONE_CLEAR_SIGHAND would reset.
    SighandWithClearSighand,
    /// `EINVAL` (`exit-signal-with-thread-or-parent`) from `clone3_args_valid()`: *flag* is set and
    /// exit_signal is *signal*, but clone3 needs exit_signal 0 with CLONE_THREAD or CLONE_PARENT.
    ExitSignalWithThreadOrParent,
    /// `EINVAL` (`stack-incomplete`) from `clone3_stack_valid()`: stack is *stack* and stack_size
    /// is *stack_size*: clone3 needs both or neither.
    StackIncomplete,
    /// `EINVAL` (`stack-out-of-range`) from `clone3_stack_valid()`: the stack *stack*..*end* does
    /// not lie in user address space.
    StackOutOfRange,
    /// `EINVAL` (`pidfd-is-parent-tid`) from `kernel_clone()`: pidfd and parent_tid point at the
    /// same address, so the pidfd and the child's TID would overwrite each other.
    PidfdIsParentTid,
    /// `EINVAL` (`newns-with-fs`) from `copy_process()`: *newns* gives the child its own mount
    /// namespace, but CLONE_FS would share root and working directory with the caller across
    /// namespaces.
    NewnsWithFs,
    /// `EINVAL` (`newuser-with-fs`) from `copy_process()`: CLONE_NEWUSER puts the child in another
    /// user namespace, but CLONE_FS would share root and working directory with it.
    NewuserWithFs,
    /// `EPERM` (`userns-clone-disabled`) from `copy_process()` (Debian):
    /// kernel.unprivileged_userns_clone is 0, so only a caller with CAP_SYS_ADMIN may create user
    /// namespaces, and the caller lacks it.
    UsernsCloneDisabled,
    /// `EINVAL` (`thread-needs-sighand`) from `copy_process()`: CLONE_THREAD without CLONE_SIGHAND:
    /// the threads of a process must share signal handlers.
    ThreadNeedsSighand,
    /// `EINVAL` (`sighand-needs-vm`) from `copy_process()`: `CLONE_SIGHAND` without
    /// `CLONE_VM`: shared signal handlers need a shared address space.
    SighandNeedsVm,
    /// `EINVAL` (`parent-from-init`) from `copy_process()`: the caller is the init (PID 1) of its
    /// pid namespace, and init may not create siblings with CLONE_PARENT.
    ParentFromInit,
    /// `EINVAL` (`thread-into-other-pidns`) from `copy_process()`: `CLONE_THREAD` with a new
    /// pid or user namespace, or after the caller changed the pid namespace of its future
    /// children (`unshare(CLONE_NEWPID)`, `setns`): a thread cannot live in another namespace
    /// than its process.
    ThreadIntoOtherPidns,
    /// `EINVAL` (`vm-across-time-ns`) from `copy_process()`: the caller's time namespace for
    /// children differs from its own (after unshare(CLONE_NEWTIME)), and a child sharing its memory
    /// cannot change time namespace on this kernel.
    VmAcrossTimeNs,
    /// `EINVAL` (`pidfd-with-thread`) from `copy_process()`: CLONE_PIDFD with CLONE_THREAD: pidfds
    /// for threads came with Linux 6.9.
    PidfdWithThread,
    /// `EINVAL` (`autoreap-conflict`) from `copy_process()`: `CLONE_AUTOREAP` with a non-zero
    /// `exit_signal` (an auto-reaped child signals nobody) or with a flag it excludes.
    AutoreapConflict,
    /// `EINVAL` (`parent-from-autoreap`) from `copy_process()`: the caller was itself created with
    /// CLONE_AUTOREAP, and such a process may not use CLONE_PARENT.
    ParentFromAutoreap,
    /// `EINVAL` (`nnp-with-thread`) from `copy_process()`: CLONE_NNP with CLONE_THREAD:
    /// no_new_privs belongs to the whole process, which a thread shares.
    NnpWithThread,
    /// `EINVAL` (`autokill-conflict`) from `copy_process()`: `CLONE_PIDFD_AUTOKILL` without
    /// `CLONE_PIDFD` or `CLONE_AUTOREAP`, or with `CLONE_THREAD` (the child dies when its pidfd
    /// is closed).
    AutokillConflict,
    /// `EPERM` (`autokill-needs-nnp-or-admin`) from `copy_process()`: CLONE_PIDFD_AUTOKILL without
    /// CLONE_NNP needs CAP_SYS_ADMIN in the caller's user namespace, which the caller lacks.
    AutokillNeedsNnpOrAdmin,
    /// `ENOSPC` (`userns-too-deep`) from `create_user_ns()`: the caller's user namespace is at
    /// level *level*, and user namespaces nest at most 33 deep below the initial one.
    UsernsTooDeep,
    /// `ENOSPC` (`userns-limit`) from `create_user_ns()`: user.max_user_namespaces is 0, so no user
    /// namespace can be created.
    UsernsLimit,
    /// `EPERM` (`userns-chrooted`) from `create_user_ns()`: the caller is chrooted, and a chrooted
    /// process may not create a user namespace.
    UsernsChrooted,
    /// `EPERM` (`userns-unmapped-ids`) from `create_user_ns()`: the caller's effective uid *euid*
    /// or gid *egid* has no mapping in its own user namespace, so the new namespace's owner could
    /// not be named.
    UsernsUnmappedIds,
    /// `EAGAIN` (`nproc-limit`) from `copy_process()`: RLIMIT_NPROC is *limit* and uid *uid*
    /// already runs *count* tasks.
    NprocLimit,
    /// `EAGAIN` (`threads-max`) from `copy_process()`: the system runs *threads* tasks and
    /// kernel.threads-max is *max*.
    ThreadsMax,
    /// `EPERM` (`namespaces-need-cap`) from `copy_namespaces()`: creating *flags* needs
    /// CAP_SYS_ADMIN in the caller's user namespace, which the caller lacks.
    NamespacesNeedCap,
    /// `EINVAL` (`newipc-with-sysvsem`) from `copy_namespaces()`: CLONE_SYSVSEM shares System V
    /// semaphore undo state that CLONE_NEWIPC makes unreachable.
    NewipcWithSysvsem,
    /// `ENOSPC` (`namespace-limit`) from `create_new_namespaces()`: user.max_*kind*_namespaces is
    /// 0, so no *kind* namespace can be created.
    NamespaceLimit,
    /// `EINVAL` (`newpid-after-unshare`) from `copy_pid_ns()`: CLONE_NEWPID after the caller
    /// changed its pid namespace for children (unshare or setns): a new pid namespace can only be
    /// made below the caller's own.
    NewpidAfterUnshare,
    /// `EINVAL` (`pidns-owner-not-ancestor`) from `create_pid_namespace()`: the caller's pid
    /// namespace belongs to a user namespace below the caller's own, and a new pid namespace must
    /// belong to that user namespace or one below it.
    PidnsOwnerNotAncestor,
    /// `ENOSPC` (`pidns-too-deep`) from `create_pid_namespace()`: the new pid namespace would be at
    /// level *level*, and pid namespaces nest at most 32 deep.
    PidnsTooDeep,
    /// `EPERM` (`settls-out-of-range`) from `copy_thread()`: tls is *tls*, which is not a user
    /// address and cannot be the thread pointer (x86_64).
    SettlsOutOfRange,
    /// `EINVAL` (`set-tid-too-long`) from `alloc_pid()`: set_tid has *count* entries, but the
    /// child's pid namespace is at level *level*, so only *max* levels exist.
    SetTidTooLong,
    /// `EINVAL` (`set-tid-out-of-range`) from `alloc_pid()`: set_tid\[*index*\] = *tid* is not a
    /// PID *where*: it must be at least 1 and below pid_max (*pid_max*).
    SetTidOutOfRange,
    /// `EINVAL` (`set-tid-needs-init`) from `alloc_pid()`: set_tid\[*index*\] = *tid*, but *where*
    /// has no init yet, so its first PID must be 1.
    SetTidNeedsInit,
    /// `EPERM` (`set-tid-needs-cap`) from `alloc_pid()`: choosing PID *tid* (set_tid\[*index*\])
    /// *where* needs *caps* over the user namespace owning it, and the caller has *lacks* there.
    SetTidNeedsCap,
    /// `EEXIST` (`set-tid-in-use`) from `alloc_pid()`: PID *tid* (set_tid\[*index*\]) is already in
    /// use *where*.
    SetTidInUse,
    /// `EMFILE` (`pidfd-no-fd`) from `pidfd_prepare()`: every file descriptor number below
    /// RLIMIT_NOFILE (*limit*) is taken, so there is none for the pidfd.
    PidfdNoFd,
    /// `EFAULT` (`pidfd-fault`) from `copy_process()`: pidfd is *ptr*, which is not writable memory
    /// for the new descriptor.
    PidfdFault,
    /// `EBADF` (`cgroup-fd-not-open`) from `cgroup_css_set_fork()`: cgroup is *fd**meant*, which is
    /// not an open file descriptor.
    CgroupFdNotOpen,
    /// `EBADF` (`cgroup-not-cgroup2-dir`) from `cgroup_get_from_file()`: cgroup descriptor *fd*
    /// (*path*) is *what*, not a cgroup2 directory.
    CgroupNotCgroup2Dir,
    /// `ENOENT` (`cgroup-removed`) from `css_tryget_online_from_dir()`: the cgroup *path* behind
    /// descriptor *fd* has been removed.
    CgroupRemoved,
    /// `ENODEV` (`cgroup-dying`) from `cgroup_css_set_fork()`: the target cgroup was being removed
    /// during the call.
    CgroupDying,
    /// `EACCES` (`cgroup-not-writable`) from `cgroup_may_write()`: the caller (euid *euid*) may not
    /// write *path*/cgroup.procs, so it may not put processes into that cgroup.
    CgroupNotWritable,
    /// `EACCES` (`cgroup-ancestor-not-writable`) from `cgroup_procs_write_permission()`: moving
    /// from the caller's cgroup *own* to *target* passes through their common ancestor *ancestor*,
    /// whose cgroup.procs the caller (euid *euid*) may not write.
    CgroupAncestorNotWritable,
    /// `ENOENT` (`cgroup-outside-ns`) from `cgroup_procs_write_permission()`: the hierarchy is
    /// mounted with nsdelegate and the caller's or the target cgroup lies outside the caller's
    /// cgroup namespace.
    CgroupOutsideNs,
    /// `EOPNOTSUPP` (`cgroup-domain-invalid`) from `cgroup_migrate_vet_dst()`: *path* is a "domain
    /// invalid" cgroup (a non-threaded cgroup inside a threaded subtree) and cannot hold processes.
    CgroupDomainInvalid,
    /// `EBUSY` (`cgroup-internal-process`) from `cgroup_migrate_vet_dst()`: *path* distributes
    /// controllers to its children (*why*), and such a cgroup may not hold processes itself (the
    /// "no internal processes" rule).
    CgroupInternalProcess,
    /// `EOPNOTSUPP` (`cgroup-thread-other-domain`) from `cgroup_attach_permissions()`: CLONE_THREAD
    /// would put a thread into *path*, which belongs to another threaded domain (*dst_dom*) than
    /// the caller's cgroup (*src_dom*).
    CgroupThreadOtherDomain,
    /// `EAGAIN` (`cgroup-pids-max`) from `pids_can_fork()`: *path* allows *max* tasks (pids.max)
    /// and already has *current*.
    CgroupPidsMax,
    /// `ENOMEM` (`pidns-no-init`) from `copy_process()`: the pid namespace the child would join no
    /// longer accepts processes: its init has exited.
    PidnsNoInit,
    /// `ENOMEM` (`out-of-memory`) from `copy_process()`: the kernel could not allocate memory for
    /// the new process (or a memory cgroup limit was hit).
    OutOfMemory,
    /// `EINTR` (`fatal-signal`) from `copy_process()`: a fatal signal arrived for the caller during
    /// the call.
    FatalSignal,
}

/// One check the kernel makes on a clone3 request.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Rule {
    /// Which rule this is (the enum form of [`name`](Self::name)).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub id: RuleId,
    /// Stable kebab-case identifier (`"thread-needs-sighand"`).
    pub name: &'static str,
    /// What the kernel returns when the check fails.
    pub errno: Errno,
    /// The part of the kernel that makes the check.
    pub area: Area,
    /// Position in the kernel's sequence (row of docs/clone3.md × 10). Rules evaluated inside
    /// one loop (per `set_tid` level, per namespace type) share a value; the loop position
    /// orders them.
    pub order: u16,
    /// The kernel function that makes the check.
    pub function: &'static str,
    /// The flags the rule is about.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::validate::ser_flags")
    )]
    pub flags: CloneFlags,
    /// Other `clone_args` fields the rule is about.
    pub fields: &'static [&'static str],
    /// The first release that makes this check (or the one whose feature it concerns).
    pub since: Option<KernelVersion>,
    /// The first release that no longer makes it.
    pub until: Option<KernelVersion>,
    /// Whether the validator predicts it before the call. Rules that cannot be predicted
    /// (races, memory) only explain real failures.
    pub predicted: bool,
    /// One line, plain words; `{placeholders}` are filled in per request.
    pub cause: &'static str,
    /// How to fix it; may use the same placeholders.
    pub fix: &'static str,
}

impl Rule {
    /// Whether the rule applies on kernel `v` (`None`: unknown kernel, assume the newest).
    pub fn applies_on(&self, v: Option<KernelVersion>) -> bool {
        in_window(self.since, self.until, v)
    }

    /// The rule with this id.
    pub fn get(id: RuleId) -> &'static Rule {
        RULES
            .iter()
            .find(|r| r.id == id)
            .expect("every RuleId has a row in RULES")
    }

    /// Position of the rule in [`RULES`].
    pub fn index(id: RuleId) -> usize {
        RULES
            .iter()
            .position(|r| r.id == id)
            .expect("every RuleId has a row in RULES")
    }

    /// Looks a rule up by its name.
    pub fn by_name(name: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.name == name)
    }
}

/// Replaces `{name}` in `template` with the matching value; unknown placeholders stay.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether kernel `v` lies in `[since, until)` (`None`: unknown kernel, assume the newest),
/// as every rules table (clone3's here, unshare/setns's in [`ns`]) dates its rows.
fn in_window(
    since: Option<KernelVersion>,
    until: Option<KernelVersion>,
    v: Option<KernelVersion>,
) -> bool {
    let Some(v) = v else {
        return until.is_none();
    };
    since.is_none_or(|s| v >= s) && until.is_none_or(|u| v < u)
}

const fn v(major: u16, minor: u16) -> Option<KernelVersion> {
    Some(KernelVersion::new(major, minor))
}

const NONE: CloneFlags = CloneFlags::empty();

macro_rules! rule {
    ($id:ident, $name:literal, $errno:ident, $area:ident, $order:literal, $func:literal,
     flags: $flags:expr, fields: $fields:expr, since: $since:expr, until: $until:expr,
     predicted: $pred:literal,
     cause: $cause:literal, fix: $fix:literal $(,)?) => {
        Rule {
            id: RuleId::$id,
            name: $name,
            errno: Errno::$errno,
            area: Area::$area,
            order: $order,
            function: $func,
            flags: $flags,
            fields: $fields,
            since: $since,
            until: $until,
            predicted: $pred,
            cause: $cause,
            fix: $fix,
        }
    };
}

use CloneFlags as F;

/// Every check, in the kernel's order.
pub static RULES: &[Rule] = &[
    // -- Is clone3 usable at all? --------------------------------------------------------------
    rule!(Clone3Missing, "clone3-missing", ENOSYS, Syscall, 0, "sys_clone3",
        flags: NONE, fields: &[], since: v(5, 3), until: None, predicted: true,
        cause: "this kernel has no clone3 system call (it came with Linux 5.3)",
        fix: "run on Linux 5.3 or later, or use clone(2) for a request it can carry (no set_tid, cgroup, CLEAR_SIGHAND or NEWTIME)"),
    rule!(Clone3Filtered, "clone3-filtered", ENOSYS, Syscall, 0, "seccomp",
        flags: NONE, fields: &[], since: None, until: None, predicted: true,
        cause: "a seccomp filter or similar policy answers clone3 with {errno} although this kernel has it",
        fix: "ask the container runtime or sandbox to allow clone3, or fall back to clone(2) for a request it can carry"),
    // -- copy_clone_args_from_user(), rows 1-9 ---------------------------------------------
    rule!(SizeTooBig, "size-too-big", E2BIG, Copy, 10, "copy_clone_args_from_user",
        flags: NONE, fields: &["size"], since: None, until: None, predicted: true,
        cause: "the size argument is {size} bytes, more than a page ({page} bytes)",
        fix: "pass the size of the clone_args you fill in: 64, 80 or 88 bytes"),
    rule!(SizeTooSmall, "size-too-small", EINVAL, Copy, 20, "copy_clone_args_from_user",
        flags: NONE, fields: &["size"], since: None, until: None, predicted: true,
        cause: "the size argument is {size} bytes, less than the first clone_args layout (64 bytes, CLONE_ARGS_SIZE_VER0)",
        fix: "pass the size of the clone_args you fill in: 64, 80 or 88 bytes"),
    rule!(UnknownStructTail, "unknown-struct-tail", E2BIG, Copy, 30, "copy_struct_from_user",
        flags: NONE, fields: &["size"], since: None, until: None, predicted: true,
        cause: "clone_args carries non-zero {what} beyond the {known} bytes this kernel understands",
        fix: "leave {what} zero (or pass a smaller size) on this kernel{upgrade}"),
    rule!(SetTidSizeOverMax, "set-tid-size-over-max", EINVAL, Copy, 40, "copy_clone_args_from_user",
        flags: NONE, fields: &["set_tid_size"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid has {count} entries, more than MAX_PID_NS_LEVEL (32)",
        fix: "give at most one PID per pid namespace level, innermost first: at most 32"),
    rule!(SetTidSizeWithoutArray, "set-tid-size-without-array", EINVAL, Copy, 50, "copy_clone_args_from_user",
        flags: NONE, fields: &["set_tid", "set_tid_size"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid_size is {count} but set_tid is NULL",
        fix: "point set_tid at an array of set_tid_size PIDs, or set set_tid_size to 0"),
    rule!(SetTidArrayWithoutSize, "set-tid-array-without-size", EINVAL, Copy, 60, "copy_clone_args_from_user",
        flags: NONE, fields: &["set_tid", "set_tid_size"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid points at an array but set_tid_size is 0",
        fix: "set set_tid_size to the number of entries, or set set_tid to NULL"),
    rule!(ExitSignalInvalid, "exit-signal-invalid", EINVAL, Copy, 70, "copy_clone_args_from_user",
        flags: NONE, fields: &["exit_signal"], since: None, until: None, predicted: true,
        cause: "exit_signal is {signal}, which is not a signal number: clone3 takes 0 to 64 and nothing in the upper bits",
        fix: "use 0 for no signal or a signal number such as 17 (SIGCHLD)"),
    rule!(CgroupFdOutOfRange, "cgroup-fd-out-of-range", EINVAL, Copy, 80, "copy_clone_args_from_user",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "cgroup is {fd}, larger than INT_MAX, so it cannot be a file descriptor",
        fix: "pass the descriptor of an open cgroup2 directory"),
    rule!(CgroupNeedsVer2Size, "cgroup-needs-ver2-size", EINVAL, Copy, 81, "copy_clone_args_from_user",
        flags: F::INTO_CGROUP, fields: &["size", "cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "CLONE_INTO_CGROUP is set but the size argument ({size} bytes) leaves out the cgroup field",
        fix: "pass size 88 (CLONE_ARGS_SIZE_VER2) with CLONE_INTO_CGROUP"),
    rule!(SetTidUnreadable, "set-tid-unreadable", EFAULT, Copy, 90, "copy_clone_args_from_user",
        flags: NONE, fields: &["set_tid"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid ({ptr}) does not point at {count} readable PIDs",
        fix: "point set_tid at memory holding set_tid_size pid_t values"),
    // -- clone3_args_valid(), rows 10-14 --------------------------------------------------
    rule!(UnknownFlags, "unknown-flags", EINVAL, Args, 100, "clone3_args_valid",
        flags: NONE, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "this kernel's clone3 does not know {flags}{detail}",
        fix: "remove {them}, or run a kernel that has {them} (`xclone probe` lists what this one takes)"),
    rule!(ExitSignalInFlags, "exit-signal-in-flags", EINVAL, Args, 110, "clone3_args_valid",
        flags: NONE, fields: &["flags", "exit_signal"], since: None, until: None, predicted: true,
        cause: "flags has {bits} in its low byte, where clone(2) keeps the exit signal; clone3 refuses that",
        fix: "move the signal to exit_signal (e.g. exit_signal = {bits_dec}) and clear the low byte of flags"),
    rule!(Detached, "detached", EINVAL, Args, 110, "clone3_args_valid",
        flags: F::DETACHED, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "CLONE_DETACHED is obsolete and clone3 refuses it",
        fix: "remove CLONE_DETACHED (clone(2) ignores it anyway)"),
    rule!(NewtimeBefore63, "newtime-before-6.3", EINVAL, Args, 110, "clone3_args_valid",
        flags: F::NEWTIME, fields: &["flags"], since: None, until: v(6, 3), predicted: true,
        cause: "CLONE_NEWTIME shares its bit with the old exit-signal byte, and clone3 only takes it from Linux 6.3",
        fix: "create the time namespace with unshare(CLONE_NEWTIME) before the call (children then enter it), or run Linux 6.3+"),
    rule!(SighandWithClearSighand, "sighand-with-clear-sighand", EINVAL, Args, 120, "clone3_args_valid",
        flags: F::SIGHAND.union(F::CLEAR_SIGHAND), fields: &["flags"], since: v(5, 5), until: None, predicted: true,
        cause: "CLONE_SIGHAND shares the caller's signal handlers, which CLONE_CLEAR_SIGHAND would reset",
        fix: "drop one of them: CLONE_CLEAR_SIGHAND is for a child with handlers of its own"),
    rule!(ExitSignalWithThreadOrParent, "exit-signal-with-thread-or-parent", EINVAL, Args, 130, "clone3_args_valid",
        flags: F::THREAD.union(F::PARENT), fields: &["exit_signal"], since: None, until: None, predicted: true,
        cause: "{flag} is set and exit_signal is {signal}, but clone3 needs exit_signal 0 with CLONE_THREAD or CLONE_PARENT",
        fix: "set exit_signal to 0 (a thread signals nobody; a CLONE_PARENT child uses the caller's own exit signal)"),
    rule!(StackIncomplete, "stack-incomplete", EINVAL, Args, 140, "clone3_stack_valid",
        flags: NONE, fields: &["stack", "stack_size"], since: None, until: None, predicted: true,
        cause: "stack is {stack} and stack_size is {stack_size}: clone3 needs both or neither",
        fix: "set both stack (the lowest address) and stack_size, or leave both 0 for a fork-like child"),
    rule!(StackOutOfRange, "stack-out-of-range", EINVAL, Args, 141, "clone3_stack_valid",
        flags: NONE, fields: &["stack", "stack_size"], since: None, until: None, predicted: true,
        cause: "the stack {stack}..{end} does not lie in user address space",
        fix: "use memory of your own process for the stack (e.g. from mmap) and give its lowest address"),
    // -- kernel_clone(), row 16 -----------------------------------------------------------
    rule!(PidfdIsParentTid, "pidfd-is-parent-tid", EINVAL, KernelClone, 160, "kernel_clone",
        flags: F::PIDFD.union(F::PARENT_SETTID), fields: &["pidfd", "parent_tid"], since: v(5, 3), until: None, predicted: true,
        cause: "pidfd and parent_tid point at the same address, so the pidfd and the child's TID would overwrite each other",
        fix: "give CLONE_PIDFD and CLONE_PARENT_SETTID different memory"),
    // -- copy_process() flag checks, rows 17-28 --------------------------------------------
    rule!(NewnsWithFs, "newns-with-fs", EINVAL, Flags, 170, "copy_process",
        flags: F::NEWNS.union(F::FS), fields: &["flags"], since: None, until: None, predicted: true,
        cause: "{newns} gives the child its own mount namespace, but CLONE_FS would share root and working directory with the caller across namespaces",
        fix: "drop CLONE_FS (the child then starts with a copy of root, cwd and umask)"),
    rule!(NewuserWithFs, "newuser-with-fs", EINVAL, Flags, 180, "copy_process",
        flags: F::NEWUSER.union(F::FS), fields: &["flags"], since: v(3, 9), until: None, predicted: true,
        cause: "CLONE_NEWUSER puts the child in another user namespace, but CLONE_FS would share root and working directory with it",
        fix: "drop CLONE_FS"),
    rule!(UsernsCloneDisabled, "userns-clone-disabled", EPERM, Flags, 185, "copy_process (Debian)",
        flags: F::NEWUSER, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "kernel.unprivileged_userns_clone is 0, so only a caller with CAP_SYS_ADMIN may create user namespaces, and the caller lacks it",
        fix: "set the sysctl kernel.unprivileged_userns_clone=1, or run with CAP_SYS_ADMIN"),
    rule!(ThreadNeedsSighand, "thread-needs-sighand", EINVAL, Flags, 190, "copy_process",
        flags: F::THREAD.union(F::SIGHAND), fields: &["flags"], since: v(2, 6), until: None, predicted: true,
        cause: "CLONE_THREAD without CLONE_SIGHAND: the threads of a process must share signal handlers",
        fix: "add CLONE_SIGHAND and CLONE_VM (a thread needs CLONE_THREAD|CLONE_SIGHAND|CLONE_VM)"),
    rule!(SighandNeedsVm, "sighand-needs-vm", EINVAL, Flags, 200, "copy_process",
        flags: F::SIGHAND.union(F::VM), fields: &["flags"], since: v(2, 6), until: None, predicted: true,
        cause: "{what} without CLONE_VM: shared signal handlers need a shared address space",
        fix: "add CLONE_VM (and give the child its own stack)"),
    rule!(ParentFromInit, "parent-from-init", EINVAL, Flags, 210, "copy_process",
        flags: F::PARENT, fields: &["flags"], since: v(2, 6), until: None, predicted: true,
        cause: "the caller is the init (PID 1) of its pid namespace, and init may not create siblings with CLONE_PARENT",
        fix: "drop CLONE_PARENT: init's children are its own"),
    rule!(ThreadIntoOtherPidns, "thread-into-other-pidns", EINVAL, Flags, 220, "copy_process",
        flags: F::THREAD, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "CLONE_THREAD {why}",
        fix: "{fix}"),
    // Removed by 2b5f9dad32ed "fs/exec: switch timens when a task gets a new mm" (merged
    // for 6.2-rc1 through Kees Cook's execve tree): from then on `copy_namespaces()` skips
    // `timens_on_fork()` for CLONE_VM and `exec_task_namespaces()` switches at execve.
    rule!(VmAcrossTimeNs, "vm-across-time-ns", EINVAL, Flags, 225, "copy_process",
        flags: F::VM.union(F::THREAD), fields: &["flags"], since: v(5, 6), until: v(6, 2), predicted: true,
        cause: "the caller's time namespace for children differs from its own (after unshare(CLONE_NEWTIME)), and a child sharing its memory cannot change time namespace on this kernel",
        fix: "create the child without CLONE_VM and CLONE_THREAD, or run Linux 6.2+ where it switches at execve"),
    rule!(PidfdWithThread, "pidfd-with-thread", EINVAL, Flags, 230, "copy_process",
        flags: F::PIDFD.union(F::THREAD), fields: &["flags"], since: v(5, 2), until: v(6, 9), predicted: true,
        cause: "CLONE_PIDFD with CLONE_THREAD: pidfds for threads came with Linux 6.9",
        fix: "drop one of them, or run Linux 6.9+"),
    rule!(AutoreapConflict, "autoreap-conflict", EINVAL, Flags, 240, "copy_process",
        flags: F::AUTOREAP, fields: &["flags"], since: v(7, 1), until: None, predicted: true,
        cause: "CLONE_AUTOREAP {why}",
        fix: "{fix}"),
    rule!(ParentFromAutoreap, "parent-from-autoreap", EINVAL, Flags, 250, "copy_process",
        flags: F::PARENT.union(F::AUTOREAP), fields: &["flags"], since: v(7, 1), until: None, predicted: true,
        cause: "the caller was itself created with CLONE_AUTOREAP, and such a process may not use CLONE_PARENT",
        fix: "drop CLONE_PARENT"),
    rule!(NnpWithThread, "nnp-with-thread", EINVAL, Flags, 260, "copy_process",
        flags: F::NNP.union(F::THREAD), fields: &["flags"], since: v(7, 1), until: None, predicted: true,
        cause: "CLONE_NNP with CLONE_THREAD: no_new_privs belongs to the whole process, which a thread shares",
        fix: "drop CLONE_NNP (use prctl(PR_SET_NO_NEW_PRIVS)), or create a process"),
    rule!(AutokillConflict, "autokill-conflict", EINVAL, Flags, 270, "copy_process",
        flags: F::PIDFD_AUTOKILL, fields: &["flags"], since: v(7, 1), until: None, predicted: true,
        cause: "CLONE_PIDFD_AUTOKILL {why}",
        fix: "use CLONE_PIDFD|CLONE_AUTOREAP|CLONE_PIDFD_AUTOKILL together, without CLONE_THREAD"),
    rule!(AutokillNeedsNnpOrAdmin, "autokill-needs-nnp-or-admin", EPERM, Flags, 280, "copy_process",
        flags: F::PIDFD_AUTOKILL.union(F::NNP), fields: &["flags"], since: v(7, 1), until: None, predicted: true,
        cause: "CLONE_PIDFD_AUTOKILL without CLONE_NNP needs CAP_SYS_ADMIN in the caller's user namespace, which the caller lacks",
        fix: "add CLONE_NNP (the child then cannot gain privileges), or run with CAP_SYS_ADMIN"),
    // -- copy_creds() → create_user_ns(), row 31 -------------------------------------------
    rule!(UsernsTooDeep, "userns-too-deep", ENOSPC, Credentials, 310, "create_user_ns",
        flags: F::NEWUSER, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "the caller's user namespace is at level {level}, and user namespaces nest at most 33 deep below the initial one",
        fix: "create the user namespace from a shallower one"),
    rule!(UsernsLimit, "userns-limit", ENOSPC, Credentials, 311, "create_user_ns",
        flags: F::NEWUSER, fields: &["flags"], since: v(4, 9), until: None, predicted: true,
        cause: "user.max_user_namespaces is 0, so no user namespace can be created",
        fix: "raise /proc/sys/user/max_user_namespaces"),
    rule!(UsernsChrooted, "userns-chrooted", EPERM, Credentials, 312, "create_user_ns",
        flags: F::NEWUSER, fields: &["flags"], since: v(3, 9), until: None, predicted: true,
        cause: "the caller is chrooted, and a chrooted process may not create a user namespace",
        fix: "create the user namespace before chroot, or use pivot_root inside a mount namespace instead of chroot"),
    rule!(UsernsUnmappedIds, "userns-unmapped-ids", EPERM, Credentials, 313, "create_user_ns",
        flags: F::NEWUSER, fields: &["flags"], since: v(3, 8), until: None, predicted: true,
        cause: "the caller's effective uid {euid} or gid {egid} has no mapping in its own user namespace, so the new namespace's owner could not be named",
        fix: "switch to a uid and gid that are mapped in your user namespace first"),
    // -- copy_process() limits, rows 32-33 -------------------------------------------------
    rule!(NprocLimit, "nproc-limit", EAGAIN, Limits, 320, "copy_process",
        flags: NONE, fields: &[], since: None, until: None, predicted: true,
        cause: "RLIMIT_NPROC is {limit} and uid {uid} already runs {count} tasks",
        fix: "raise the limit (ulimit -u, setrlimit(RLIMIT_NPROC)), end some processes of uid {uid}, or hold CAP_SYS_RESOURCE"),
    rule!(ThreadsMax, "threads-max", EAGAIN, Limits, 330, "copy_process",
        flags: NONE, fields: &[], since: None, until: None, predicted: true,
        cause: "the system runs {threads} tasks and kernel.threads-max is {max}",
        fix: "raise the sysctl kernel.threads-max or end some tasks"),
    // -- copy_namespaces(), rows 36-38 ----------------------------------------------------
    rule!(NamespacesNeedCap, "namespaces-need-cap", EPERM, Namespaces, 360, "copy_namespaces",
        flags: F::NEWNS.union(F::NEWUTS).union(F::NEWIPC).union(F::NEWPID).union(F::NEWNET).union(F::NEWCGROUP).union(F::NEWTIME),
        fields: &["flags"], since: None, until: None, predicted: true,
        cause: "creating {flags} needs CAP_SYS_ADMIN in the caller's user namespace, which the caller lacks",
        fix: "add CLONE_NEWUSER (the new namespaces then belong to the new user namespace, where the child holds every capability), or run with CAP_SYS_ADMIN"),
    rule!(NewipcWithSysvsem, "newipc-with-sysvsem", EINVAL, Namespaces, 370, "copy_namespaces",
        flags: F::NEWIPC.union(F::SYSVSEM), fields: &["flags"], since: None, until: None, predicted: true,
        cause: "CLONE_SYSVSEM shares System V semaphore undo state that CLONE_NEWIPC makes unreachable",
        fix: "drop CLONE_SYSVSEM"),
    rule!(NamespaceLimit, "namespace-limit", ENOSPC, Namespaces, 380, "create_new_namespaces",
        flags: NONE, fields: &["flags"], since: v(4, 9), until: None, predicted: true,
        cause: "user.max_{kind}_namespaces is 0, so no {kind} namespace can be created",
        fix: "raise /proc/sys/user/max_{kind}_namespaces"),
    rule!(NewpidAfterUnshare, "newpid-after-unshare", EINVAL, Namespaces, 380, "copy_pid_ns",
        flags: F::NEWPID, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "CLONE_NEWPID after the caller changed its pid namespace for children (unshare or setns): a new pid namespace can only be made below the caller's own",
        fix: "create the pid namespace from a process whose pid_for_children is its own pid namespace"),
    rule!(PidnsOwnerNotAncestor, "pidns-owner-not-ancestor", EINVAL, Namespaces, 380, "create_pid_namespace",
        flags: F::NEWPID, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "the caller's pid namespace belongs to a user namespace below the caller's own, and a new pid namespace must belong to that user namespace or one below it",
        fix: "setns into the user namespace that owns your pid namespace first"),
    rule!(PidnsTooDeep, "pidns-too-deep", ENOSPC, Namespaces, 380, "create_pid_namespace",
        flags: F::NEWPID, fields: &["flags"], since: None, until: None, predicted: true,
        cause: "the new pid namespace would be at level {level}, and pid namespaces nest at most 32 deep",
        fix: "create it from a shallower pid namespace"),
    // -- copy_thread(), row 39 -------------------------------------------------------------
    rule!(SettlsOutOfRange, "settls-out-of-range", EPERM, Thread, 390, "copy_thread",
        flags: F::SETTLS, fields: &["tls"], since: None, until: None, predicted: true,
        cause: "tls is {tls}, which is not a user address and cannot be the thread pointer (x86_64)",
        fix: "pass the address of the child's TLS block"),
    // -- alloc_pid() with set_tid, row 40 and section 3.5 ----------------------------------
    rule!(SetTidTooLong, "set-tid-too-long", EINVAL, SetTid, 400, "alloc_pid",
        flags: NONE, fields: &["set_tid"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid has {count} entries, but the child's pid namespace is at level {level}, so only {max} level{s} exist{hint}",
        fix: "give one PID per level from the child's namespace outwards: at most {max}{fixhint}"),
    rule!(SetTidOutOfRange, "set-tid-out-of-range", EINVAL, SetTid, 401, "alloc_pid",
        flags: NONE, fields: &["set_tid"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid[{index}] = {tid} is not a PID {where}: it must be at least 1 and below pid_max ({pid_max})",
        fix: "choose a PID from 1 to {pid_max_1} for set_tid[{index}]"),
    rule!(SetTidNeedsInit, "set-tid-needs-init", EINVAL, SetTid, 401, "alloc_pid",
        flags: NONE, fields: &["set_tid"], since: v(5, 5), until: None, predicted: true,
        cause: "set_tid[{index}] = {tid}, but {where} has no init yet, so its first PID must be 1",
        fix: "pass 1 as set_tid[{index}]: the child becomes the init of that namespace"),
    rule!(SetTidNeedsCap, "set-tid-needs-cap", EPERM, SetTid, 401, "alloc_pid",
        flags: NONE, fields: &["set_tid"], since: v(5, 5), until: None, predicted: true,
        cause: "choosing PID {tid} (set_tid[{index}]) {where} needs {caps} over the user namespace owning it, and the caller has {lacks} there",
        fix: "{fix}"),
    rule!(SetTidInUse, "set-tid-in-use", EEXIST, SetTid, 401, "alloc_pid",
        flags: NONE, fields: &["set_tid"], since: v(5, 5), until: None, predicted: true,
        cause: "PID {tid} (set_tid[{index}]) is already in use {where}",
        fix: "choose a free PID, or leave set_tid[{index}] to the kernel by giving fewer entries"),
    // -- the pidfd, row 41 ----------------------------------------------------------------
    rule!(PidfdNoFd, "pidfd-no-fd", EMFILE, Pidfd, 410, "pidfd_prepare",
        flags: F::PIDFD, fields: &["pidfd"], since: v(5, 2), until: None, predicted: true,
        cause: "every file descriptor number below RLIMIT_NOFILE ({limit}) is taken, so there is none for the pidfd",
        fix: "close descriptors or raise RLIMIT_NOFILE"),
    rule!(PidfdFault, "pidfd-fault", EFAULT, Pidfd, 411, "copy_process",
        flags: F::PIDFD, fields: &["pidfd"], since: v(5, 2), until: None, predicted: true,
        cause: "pidfd is {ptr}, which is not writable memory for the new descriptor",
        fix: "point pidfd at an int the kernel can write"),
    // -- cgroup_can_fork() → cgroup_css_set_fork(), row 42 and section 9 -------------------
    rule!(CgroupFdNotOpen, "cgroup-fd-not-open", EBADF, Cgroup, 420, "cgroup_css_set_fork",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "cgroup is {fd}{meant}, which is not an open file descriptor",
        fix: "open the cgroup2 directory (O_PATH|O_DIRECTORY is enough) and pass that descriptor"),
    rule!(CgroupNotCgroup2Dir, "cgroup-not-cgroup2-dir", EBADF, Cgroup, 421, "cgroup_get_from_file",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "cgroup descriptor {fd} ({path}) is {what}, not a cgroup2 directory",
        fix: "pass a directory of the cgroup2 hierarchy (its mount has type cgroup2 in /proc/self/mountinfo{mount})"),
    rule!(CgroupRemoved, "cgroup-removed", ENOENT, Cgroup, 422, "css_tryget_online_from_dir",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "the cgroup {path} behind descriptor {fd} has been removed",
        fix: "create the cgroup again (mkdir) and open the new directory"),
    rule!(CgroupDying, "cgroup-dying", ENODEV, Cgroup, 423, "cgroup_css_set_fork",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: false,
        cause: "the target cgroup was being removed during the call",
        fix: "create the cgroup again and retry"),
    rule!(CgroupNotWritable, "cgroup-not-writable", EACCES, Cgroup, 424, "cgroup_may_write",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "the caller (euid {euid}) may not write {path}/cgroup.procs, so it may not put processes into that cgroup",
        fix: "delegate the cgroup to this user (chown its directory, cgroup.procs and cgroup.threads) or run as its owner"),
    rule!(CgroupAncestorNotWritable, "cgroup-ancestor-not-writable", EACCES, Cgroup, 425, "cgroup_procs_write_permission",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "moving from the caller's cgroup {own} to {target} passes through their common ancestor {ancestor}, whose cgroup.procs the caller (euid {euid}) may not write",
        fix: "spawn from a process inside the delegated subtree (move yourself below {target_parent} first), or get write access to {ancestor}/cgroup.procs"),
    rule!(CgroupOutsideNs, "cgroup-outside-ns", ENOENT, Cgroup, 426, "cgroup_procs_write_permission",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: false,
        cause: "the hierarchy is mounted with nsdelegate and the caller's or the target cgroup lies outside the caller's cgroup namespace",
        fix: "use a target cgroup inside your cgroup namespace"),
    rule!(CgroupDomainInvalid, "cgroup-domain-invalid", EOPNOTSUPP, Cgroup, 427, "cgroup_migrate_vet_dst",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "{path} is a \"domain invalid\" cgroup (a non-threaded cgroup inside a threaded subtree) and cannot hold processes",
        fix: "make it threaded (write \"threaded\" to its cgroup.type) or choose a cgroup outside the threaded subtree"),
    rule!(CgroupInternalProcess, "cgroup-internal-process", EBUSY, Cgroup, 428, "cgroup_migrate_vet_dst",
        flags: F::INTO_CGROUP, fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "{path} distributes controllers to its children ({why}), and such a cgroup may not hold processes itself (the \"no internal processes\" rule)",
        fix: "create the child in a leaf cgroup below {path}, or clear its cgroup.subtree_control"),
    rule!(CgroupThreadOtherDomain, "cgroup-thread-other-domain", EOPNOTSUPP, Cgroup, 429, "cgroup_attach_permissions",
        flags: F::INTO_CGROUP.union(F::THREAD), fields: &["cgroup"], since: v(5, 7), until: None, predicted: true,
        cause: "CLONE_THREAD would put a thread into {path}, which belongs to another threaded domain ({dst_dom}) than the caller's cgroup ({src_dom})",
        fix: "put threads only into threaded cgroups of your own domain, or create a process instead"),
    rule!(CgroupPidsMax, "cgroup-pids-max", EAGAIN, Cgroup, 430, "pids_can_fork",
        flags: NONE, fields: &["cgroup"], since: v(4, 3), until: None, predicted: true,
        cause: "{path} allows {max} tasks (pids.max) and already has {current}",
        fix: "raise {path}/pids.max or end tasks in that cgroup"),
    // -- after the cgroup step, rows 43-45 --------------------------------------------------
    rule!(PidnsNoInit, "pidns-no-init", ENOMEM, Late, 440, "copy_process",
        flags: NONE, fields: &[], since: None, until: None, predicted: false,
        cause: "the pid namespace the child would join no longer accepts processes: its init has exited",
        fix: "create a new pid namespace (its first process becomes init), or setns into a live one"),
    rule!(OutOfMemory, "out-of-memory", ENOMEM, Late, 441, "copy_process",
        flags: NONE, fields: &[], since: None, until: None, predicted: false,
        cause: "the kernel could not allocate memory for the new process (or a memory cgroup limit was hit)",
        fix: "free memory or raise the memory limit, then retry"),
    rule!(FatalSignal, "fatal-signal", EINTR, Late, 450, "copy_process",
        flags: NONE, fields: &[], since: None, until: None, predicted: false,
        cause: "a fatal signal arrived for the caller during the call",
        fix: "nothing to fix in the request: the caller is being killed"),
];

/// The table as Markdown, for the project's docs (`docs/validation-rules.md` is this output;
/// a test keeps it current).
pub fn to_markdown() -> String {
    let mut out = String::from(
        "# What the kernel checks in a clone3 request\n\n\
         Generated from `crates/xclone/src/rules.rs` (`xclone::rules::to_markdown()`); do not edit.\n\
         Rows are in the kernel's order: the first failing check is the errno clone3 returns.\n\
         `{name}` stands for a value filled in per request. Rules marked \"explains only\" cannot be\n\
         predicted and are used to explain a real failure.\n\n\
         | order | rule | errno | kernel function | flags | Linux | cause | fix |\n\
         |---:|---|---|---|---|---|---|---|\n",
    );
    for r in RULES {
        let errno = if r.id == RuleId::Clone3Filtered {
            "the policy's".to_string()
        } else {
            r.errno.name()
        };
        out.push_str(&markdown_row(
            r.order,
            r.name,
            r.predicted,
            &errno,
            r.function,
            r.flags,
            (r.since, r.until),
            r.cause,
            r.fix,
        ));
    }
    out.push_str(&ns::to_markdown());
    out
}

/// One row of a rules table in the docs (the clone3 table and those of [`ns`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn markdown_row(
    order: u16,
    name: &str,
    predicted: bool,
    errno: &str,
    function: &str,
    flags: CloneFlags,
    (since, until): (Option<KernelVersion>, Option<KernelVersion>),
    cause: &str,
    fix: &str,
) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let flags = if flags.is_empty() {
        String::new()
    } else {
        flags.to_names_string()
    };
    let linux = match (since, until) {
        (_, Some(u)) => format!("before {u}"),
        (Some(s), None) => format!("{s}+"),
        (None, None) => String::new(),
    };
    let note = if predicted { "" } else { " (explains only)" };
    format!(
        "| {order} | `{name}`{note} | {errno} | `{function}` | {} | {linux} | {} | {} |\n",
        esc(&flags),
        esc(cause),
        esc(fix)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_are_generated_from_the_table() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/validation-rules.md"
        );
        let want = to_markdown();
        if std::env::var_os("XCLONE_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/validation-rules.md is stale: regenerate it with XCLONE_BLESS=1 cargo test -p xclone --lib rules"
        );
    }

    #[test]
    fn table_is_in_kernel_order_and_complete() {
        for w in RULES.windows(2) {
            assert!(
                w[0].order <= w[1].order,
                "{} comes before {} in the kernel",
                w[1].name,
                w[0].name
            );
        }
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len(), "duplicate rule names");
        for r in RULES {
            assert_eq!(Rule::get(r.id).name, r.name);
            assert!(!r.cause.is_empty() && !r.fix.is_empty(), "{}", r.name);
            assert!(
                !r.cause.ends_with('.'),
                "{}: one line, no final period",
                r.name
            );
            assert_eq!(Rule::by_name(r.name).map(|x| x.id), Some(r.id));
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serialized_name_matches() {
        for r in RULES {
            let j = serde_json::to_value(r.id).unwrap();
            // RuleId's serde name and the table's name differ only where the name carries a
            // version ("newtime-before-6.3").
            let s = j.as_str().unwrap().replace("before63", "before-6.3");
            assert_eq!(s, r.name);
        }
    }

    #[test]
    fn versions() {
        let r = Rule::get(RuleId::PidfdWithThread);
        assert!(r.applies_on(Some(KernelVersion::new(6, 8))));
        assert!(!r.applies_on(Some(KernelVersion::new(6, 9))));
        assert!(!r.applies_on(None));
        let n = Rule::get(RuleId::AutoreapConflict);
        assert!(!n.applies_on(Some(KernelVersion::new(6, 18))));
        assert!(n.applies_on(Some(KernelVersion::new(7, 1))));
        assert!(n.applies_on(None));
    }

    #[test]
    fn fill_placeholders() {
        assert_eq!(
            fill("a {x} b {y} {z", &[("x", "1".into()), ("y", "2".into())]),
            "a 1 b 2 {z"
        );
        assert_eq!(fill("{q}", &[]), "{q}");
    }
}
