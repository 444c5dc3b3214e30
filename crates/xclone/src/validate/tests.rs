//! One test (at least) per rule of the table: the errno the validator predicts and the words
//! it uses, on synthetic callers and kernels.

use super::*;
use crate::caller::{PidLookup, CAP_CHECKPOINT_RESTORE};
use crate::rules::RULES;
use std::collections::HashSet;

const SIGCHLD: u64 = 17;

fn k(major: u16, minor: u16) -> Features {
    Features::as_of(KernelVersion::new(major, minor))
}

fn f618() -> Features {
    k(6, 18)
}

fn root() -> Caller {
    Caller::root()
}

fn nobody() -> Caller {
    Caller::unprivileged(65534)
}

/// An unprivileged caller holding only CAP_CHECKPOINT_RESTORE.
fn cr_only() -> Caller {
    Caller {
        cap_effective: 1 << CAP_CHECKPOINT_RESTORE,
        ..nobody()
    }
}

fn raw_args(flags: CloneFlags) -> clone_args {
    clone_args {
        flags: flags.bits(),
        exit_signal: SIGCHLD,
        ..Default::default()
    }
}

fn raw(args: clone_args, size: usize) -> RawRequest<'static> {
    RawRequest {
        args,
        size,
        tail_nonzero: false,
        set_tid: None,
        pidfd_writable: args.pidfd != 0,
        cgroup: None,
    }
}

fn v(args: &CloneArgs, f: &Features, c: &Caller) -> Verdict {
    validate(args, f, c)
}

/// The rule, errno and cause of the first problem; the cause must contain `words`.
#[track_caller]
fn first(verdict: &Verdict, rule: &str, errno: Errno, words: &str) {
    let p = verdict
        .first()
        .unwrap_or_else(|| panic!("expected {rule}, got ok ({:?})", verdict.notes));
    assert_eq!(p.rule, rule, "{verdict:#?}");
    assert_eq!(p.errno, errno, "{p:?}");
    assert!(
        p.cause.contains(words),
        "cause {:?} lacks {words:?}",
        p.cause
    );
    assert!(
        !p.cause.contains('{'),
        "unfilled placeholder in {:?}",
        p.cause
    );
    assert!(!p.fix.contains('{'), "unfilled placeholder in {:?}", p.fix);
}

#[track_caller]
fn has<'v>(verdict: &'v Verdict, rule: &str) -> &'v Problem {
    verdict
        .problems
        .iter()
        .find(|p| p.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {verdict:#?}"))
}

#[track_caller]
fn ok(verdict: &Verdict) {
    assert!(verdict.is_ok(), "{verdict:#?}");
}

#[test]
fn plain_fork_is_accepted() {
    ok(&v(&CloneArgs::new(), &f618(), &root()));
    ok(&v(&CloneArgs::new(), &f618(), &nobody()));
    ok(&v(&CloneArgs::new().exit_signal(0), &f618(), &nobody()));
    ok(&v(&CloneArgs::new().exit_signal(64), &f618(), &nobody()));
}

#[test]
fn clone3_missing_or_filtered() {
    first(
        &v(&CloneArgs::new(), &k(5, 2), &root()),
        "clone3-missing",
        Errno::ENOSYS,
        "no clone3 system call",
    );
    let mut f = f618();
    f.clone3 = Availability::Filtered(Errno::EPERM);
    let verdict = v(&CloneArgs::new(), &f, &root());
    first(
        &verdict,
        "clone3-filtered",
        Errno::EPERM,
        "answers clone3 with EPERM",
    );
}

#[test]
fn size_rules() {
    first(
        &validate_raw(&raw(raw_args(CloneFlags::empty()), 8192), &f618(), &root()),
        "size-too-big",
        Errno::E2BIG,
        "8192 bytes, more than a page",
    );
    for size in [0, 8, 56, 63] {
        first(
            &validate_raw(&raw(raw_args(CloneFlags::empty()), size), &f618(), &root()),
            "size-too-small",
            Errno::EINVAL,
            "less than the first clone_args layout",
        );
    }
    // The selftests' sizeof+8 with a zero tail is fine, a non-zero tail is E2BIG.
    ok(&validate_raw(
        &raw(raw_args(CloneFlags::empty()), 96),
        &f618(),
        &root(),
    ));
    let mut r = raw(raw_args(CloneFlags::empty()), 96);
    r.tail_nonzero = true;
    first(
        &validate_raw(&r, &f618(), &root()),
        "unknown-struct-tail",
        Errno::E2BIG,
        "bytes past the 88 of struct clone_args beyond the 88 bytes",
    );
}

#[test]
fn struct_tail_unknown_to_old_kernels() {
    // set_tid needs the 80-byte layout, which Linux 5.4 does not know.
    let args = CloneArgs::new().set_tid(vec![1]);
    let verdict = v(&args, &k(5, 4), &root());
    first(
        &verdict,
        "unknown-struct-tail",
        Errno::E2BIG,
        "non-zero set_tid, set_tid_size beyond the 64 bytes",
    );
    assert!(verdict.problems[0].fix.contains("Linux 5.5+"));
}

#[test]
fn sizes_between_layouts_copy_partial_fields() {
    // Size 72 copies set_tid but not set_tid_size: a pointer without a count.
    let mut a = raw_args(CloneFlags::empty());
    a.set_tid = 0x1000;
    a.set_tid_size = 1;
    first(
        &validate_raw(&raw(a, 72), &f618(), &root()),
        "set-tid-array-without-size",
        Errno::EINVAL,
        "set_tid_size is 0",
    );
    // Size 68 keeps only the low half of the pointer (still non-zero).
    a.set_tid = 0x1_0000_1000;
    let v68 = validate_raw(&raw(a, 68), &f618(), &root());
    first(
        &v68,
        "set-tid-array-without-size",
        Errno::EINVAL,
        "set_tid_size is 0",
    );
    // At 64 bytes set_tid is not read at all.
    ok(&validate_raw(&raw(a, 64), &f618(), &root()));
}

#[test]
fn set_tid_array_shape() {
    let mut a = raw_args(CloneFlags::empty());
    a.set_tid = 0x1000;
    a.set_tid_size = 33;
    let tids = [1i32; 64];
    let mut r = raw(a, 80);
    r.set_tid = Some(&tids);
    first(
        &validate_raw(&r, &f618(), &root()),
        "set-tid-size-over-max",
        Errno::EINVAL,
        "33 entries, more than MAX_PID_NS_LEVEL (32)",
    );
    let mut a = raw_args(CloneFlags::empty());
    a.set_tid_size = 1;
    first(
        &validate_raw(&raw(a, 80), &f618(), &root()),
        "set-tid-size-without-array",
        Errno::EINVAL,
        "set_tid_size is 1 but set_tid is NULL",
    );
    let mut a = raw_args(CloneFlags::empty());
    a.set_tid = 0x1000;
    first(
        &validate_raw(&raw(a, 80), &f618(), &root()),
        "set-tid-array-without-size",
        Errno::EINVAL,
        "set_tid_size is 0",
    );
    // An unreadable array beats an unknown flag ([6.18 obs]: flags 1<<40 → EFAULT).
    let mut a = raw_args(CloneFlags::from_bits_retain(1 << 40));
    a.set_tid = 8;
    a.set_tid_size = 1;
    let verdict = validate_raw(&raw(a, 80), &f618(), &root());
    first(
        &verdict,
        "set-tid-unreadable",
        Errno::EFAULT,
        "does not point at 1 readable PIDs",
    );
    assert_eq!(verdict.problems[1].rule, "unknown-flags");
}

#[test]
fn exit_signal_range() {
    // The clone3 selftest values, and 65.
    for (sig, words) in [
        (65u64, "exit_signal is 65"),
        (0x80000000, "exit_signal is 0x80000000"),
        (0xbadc0ded00000000, "exit_signal is 0xbadc0ded00000000"),
        (0x100, "exit_signal is 256"),
        (0xf0, "exit_signal is 240"),
        ((1 << 32) | 17, "exit_signal is 0x100000011"),
    ] {
        first(
            &v(&CloneArgs::new().exit_signal(sig), &f618(), &root()),
            "exit-signal-invalid",
            Errno::EINVAL,
            words,
        );
    }
}

#[test]
fn cgroup_field_in_copy() {
    let mut a = raw_args(CloneFlags::INTO_CGROUP);
    a.cgroup = 1 << 31;
    first(
        &validate_raw(&raw(a, 88), &f618(), &root()),
        "cgroup-fd-out-of-range",
        Errno::EINVAL,
        "cgroup is 2147483648, larger than INT_MAX",
    );
    let a = raw_args(CloneFlags::INTO_CGROUP);
    first(
        &validate_raw(&raw(a, 80), &f618(), &root()),
        "cgroup-needs-ver2-size",
        Errno::EINVAL,
        "size argument (80 bytes) leaves out the cgroup field",
    );
}

#[test]
fn unknown_flags() {
    let verdict = v(
        &CloneArgs::new().flags(CloneFlags::AUTOREAP).exit_signal(0),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "unknown-flags",
        Errno::EINVAL,
        "does not know CLONE_AUTOREAP (CLONE_AUTOREAP came with Linux 7.1)",
    );
    assert_eq!(verdict.problems[0].flags, CloneFlags::AUTOREAP);
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::from_bits_retain(1 << 50)),
            &f618(),
            &root(),
        ),
        "unknown-flags",
        Errno::EINVAL,
        "0x4000000000000 is no flag at all",
    );
    // CLEAR_SIGHAND is unknown to 5.4.
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::CLEAR_SIGHAND),
            &k(5, 4),
            &root(),
        ),
        "unknown-flags",
        Errno::EINVAL,
        "CLONE_CLEAR_SIGHAND came with Linux 5.5",
    );
    ok(&v(
        &CloneArgs::new().flags(CloneFlags::CLEAR_SIGHAND),
        &f618(),
        &root(),
    ));
}

#[test]
fn low_byte_of_flags() {
    // The selftest's flags = SIGCHLD.
    let verdict = v(
        &CloneArgs::new().flags(CloneFlags::from_bits_retain(17)),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "exit-signal-in-flags",
        Errno::EINVAL,
        "flags has 0x11 in its low byte",
    );
    assert!(verdict.problems[0].fix.contains("exit_signal = 17"));
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::DETACHED),
            &f618(),
            &root(),
        ),
        "detached",
        Errno::EINVAL,
        "CLONE_DETACHED is obsolete",
    );
    let verdict = v(
        &CloneArgs::new().flags(CloneFlags::NEWTIME),
        &k(6, 2),
        &root(),
    );
    first(
        &verdict,
        "newtime-before-6.3",
        Errno::EINVAL,
        "only takes it from Linux 6.3",
    );
    assert_eq!(verdict.problems[0].until, Some(KernelVersion::new(6, 3)));
    ok(&v(
        &CloneArgs::new().flags(CloneFlags::NEWTIME),
        &f618(),
        &root(),
    ));
}

#[test]
fn sighand_and_clear_sighand() {
    let args =
        CloneArgs::new().flags(CloneFlags::SIGHAND | CloneFlags::VM | CloneFlags::CLEAR_SIGHAND);
    first(
        &v(&args, &f618(), &root()),
        "sighand-with-clear-sighand",
        Errno::EINVAL,
        "CLONE_CLEAR_SIGHAND would reset",
    );
}

#[test]
fn exit_signal_with_thread_or_parent() {
    let args = CloneArgs::new().flags(CloneFlags::PARENT);
    let verdict = v(&args, &f618(), &root());
    first(
        &verdict,
        "exit-signal-with-thread-or-parent",
        Errno::EINVAL,
        "CLONE_PARENT is set and exit_signal is 17",
    );
    ok(&v(&args.exit_signal(0), &f618(), &root()));
}

#[test]
fn stack_rules() {
    let mut a = raw_args(CloneFlags::empty());
    a.stack_size = 4096;
    first(
        &validate_raw(&raw(a, 64), &f618(), &root()),
        "stack-incomplete",
        Errno::EINVAL,
        "stack is 0x0 and stack_size is 4096",
    );
    a.stack = 0x7fff_ffff_f000;
    first(
        &validate_raw(&raw(a, 64), &f618(), &root()),
        "stack-out-of-range",
        Errno::EINVAL,
        "0x7ffffffff000..0x800000000000 does not lie in user address space",
    );
    a.stack = u64::MAX - 10;
    first(
        &validate_raw(&raw(a, 64), &f618(), &root()),
        "stack-out-of-range",
        Errno::EINVAL,
        "beyond 2^64",
    );
    a.stack = 0x7fff_ffff_e000;
    ok(&validate_raw(&raw(a, 64), &f618(), &root()));
}

/// With 5-level page tables (LA57) user space reaches 2^56: what the kernel accepts there
/// the validator accepts, judged by the probed end of user space, not a 47-bit constant.
#[test]
fn stack_and_tls_ranges_follow_the_address_space() {
    let five = Features {
        user_space_end: crate::sys::addr::USER_SPACE_END_5LEVEL,
        ..f618()
    };
    let mut a = raw_args(CloneFlags::SETTLS);
    a.stack = 1 << 50;
    a.stack_size = 1 << 20;
    a.tls = 1 << 52;
    ok(&validate_raw(&raw(a, 64), &five, &root()));
    first(
        &validate_raw(&raw(a, 64), &f618(), &root()),
        "stack-out-of-range",
        Errno::EINVAL,
        "does not lie in user address space",
    );
    a.stack = (1 << 56) - 8192;
    a.stack_size = 4096;
    ok(&validate_raw(&raw(a, 64), &five, &root()));
    a.stack_size = 8192;
    first(
        &validate_raw(&raw(a, 64), &five, &root()),
        "stack-out-of-range",
        Errno::EINVAL,
        "does not lie in user address space",
    );
    a.stack_size = 4096;
    a.tls = (1 << 56) - 4096;
    // Only x86_64's copy_thread() checks the thread pointer (ARCH_SET_FS); arm64 and riscv64
    // store any value.
    if cfg!(target_arch = "x86_64") {
        first(
            &validate_raw(&raw(a, 64), &five, &root()),
            "settls-out-of-range",
            Errno::EPERM,
            "tls is 0xfffffffffff000",
        );
    } else {
        ok(&validate_raw(&raw(a, 64), &five, &root()));
    }
}

#[test]
fn pidfd_and_parent_tid_alias() {
    let mut a = raw_args(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID);
    a.pidfd = 0x5000;
    a.parent_tid = 0x5000;
    first(
        &validate_raw(&raw(a, 64), &f618(), &root()),
        "pidfd-is-parent-tid",
        Errno::EINVAL,
        "point at the same address",
    );
    a.parent_tid = 0x6000;
    ok(&validate_raw(&raw(a, 64), &f618(), &root()));
}

#[test]
fn fs_sharing_across_namespaces() {
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::NEWNS | CloneFlags::FS),
            &f618(),
            &root(),
        ),
        "newns-with-fs",
        Errno::EINVAL,
        "CLONE_NEWNS gives the child its own mount namespace",
    );
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::EMPTY_MNTNS | CloneFlags::FS),
            &Features::everything(),
            &root(),
        ),
        "newns-with-fs",
        Errno::EINVAL,
        "CLONE_EMPTY_MNTNS (which implies CLONE_NEWNS)",
    );
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::NEWUSER | CloneFlags::FS),
            &f618(),
            &nobody(),
        ),
        "newuser-with-fs",
        Errno::EINVAL,
        "CLONE_NEWUSER puts the child in another user namespace",
    );
}

#[test]
fn debian_userns_knob() {
    let mut f = f618();
    f.userns.unprivileged_userns_clone = Some(false);
    let args = CloneArgs::new().flags(CloneFlags::NEWUSER);
    first(
        &v(&args, &f, &nobody()),
        "userns-clone-disabled",
        Errno::EPERM,
        "kernel.unprivileged_userns_clone is 0",
    );
    ok(&v(&args, &f, &root()));
}

#[test]
fn thread_needs_sighand_and_vm() {
    let verdict = v(
        &CloneArgs::new().flags(CloneFlags::THREAD).exit_signal(0),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "thread-needs-sighand",
        Errno::EINVAL,
        "CLONE_THREAD without CLONE_SIGHAND",
    );
    let vm = has(&verdict, "sighand-needs-vm");
    assert!(vm
        .cause
        .contains("CLONE_THREAD (which needs CLONE_SIGHAND) without CLONE_VM"));
    assert!(verdict.problems[0]
        .fix
        .contains("CLONE_THREAD|CLONE_SIGHAND|CLONE_VM"));
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::SIGHAND),
            &f618(),
            &root(),
        ),
        "sighand-needs-vm",
        Errno::EINVAL,
        "CLONE_SIGHAND without CLONE_VM",
    );
    ok(&v(
        &CloneArgs::new()
            .flags(CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM)
            .exit_signal(0),
        &f618(),
        &nobody(),
    ));
}

#[test]
fn parent_from_init() {
    let init = Caller {
        pid: 1,
        is_pid_ns_init: true,
        ..root()
    };
    let args = CloneArgs::new().flags(CloneFlags::PARENT).exit_signal(0);
    first(
        &v(&args, &f618(), &init),
        "parent-from-init",
        Errno::EINVAL,
        "the caller is the init (PID 1)",
    );
    ok(&v(&args, &f618(), &root()));
}

#[test]
fn thread_into_other_pid_namespace() {
    let thread = CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM;
    let verdict = v(
        &CloneArgs::new()
            .flags(thread | CloneFlags::NEWPID)
            .exit_signal(0),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "thread-into-other-pidns",
        Errno::EINVAL,
        "CLONE_THREAD with CLONE_NEWPID: a thread cannot live in another namespace",
    );
    let unshared = Caller {
        pid_ns_for_children_differs: true,
        children_pid_ns_level: 1,
        children_pid_ns_has_init: false,
        pid_ns_owners: vec![NsOwner::Mine, NsOwner::Mine],
        ..root()
    };
    first(
        &v(
            &CloneArgs::new().flags(thread).exit_signal(0),
            &f618(),
            &unshared,
        ),
        "thread-into-other-pidns",
        Errno::EINVAL,
        "after the caller changed its pid namespace for children",
    );
}

#[test]
fn vm_across_time_namespaces_on_old_kernels() {
    let caller = Caller {
        time_ns_for_children_differs: true,
        ..root()
    };
    let args = CloneArgs::new().flags(CloneFlags::VM | CloneFlags::VFORK);
    first(
        &v(&args, &k(5, 10), &caller),
        "vm-across-time-ns",
        Errno::EINVAL,
        "time namespace for children differs",
    );
    ok(&v(&args, &f618(), &caller));
    // Debian's 6.1 still refuses (measured on 6.1.176): the check went with 6.2.
    let verdict = v(&args, &k(6, 1), &caller);
    first(
        &verdict,
        "vm-across-time-ns",
        Errno::EINVAL,
        "time namespace for children differs",
    );
    assert_eq!(verdict.problems[0].until, Some(KernelVersion::new(6, 2)));
    ok(&v(&args, &k(6, 2), &caller));
}

#[test]
fn pidfd_for_threads_came_with_6_9() {
    let args = CloneArgs::new()
        .flags(CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM | CloneFlags::PIDFD)
        .exit_signal(0);
    let verdict = v(&args, &k(6, 8), &root());
    first(
        &verdict,
        "pidfd-with-thread",
        Errno::EINVAL,
        "pidfds for threads came with Linux 6.9",
    );
    assert_eq!(verdict.problems[0].until, Some(KernelVersion::new(6, 9)));
    ok(&v(&args, &f618(), &root()));
}

#[test]
fn linux_7_1_flag_rules() {
    let f = Features::everything();
    let ar = CloneFlags::AUTOREAP;
    let verdict = v(&CloneArgs::new().flags(ar), &f, &root());
    first(
        &verdict,
        "autoreap-conflict",
        Errno::EINVAL,
        "CLONE_AUTOREAP with a non-zero exit_signal",
    );
    ok(&v(
        &CloneArgs::new().flags(ar).exit_signal(0),
        &f,
        &nobody(),
    ));
    first(
        &v(
            &CloneArgs::new()
                .flags(ar | CloneFlags::PARENT)
                .exit_signal(0),
            &f,
            &root(),
        ),
        "autoreap-conflict",
        Errno::EINVAL,
        "CLONE_AUTOREAP with CLONE_PARENT",
    );
    let reaped = Caller {
        is_autoreap: Some(true),
        ..root()
    };
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::PARENT).exit_signal(0),
            &f,
            &reaped,
        ),
        "parent-from-autoreap",
        Errno::EINVAL,
        "created with CLONE_AUTOREAP",
    );
    let thread = CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM;
    first(
        &v(
            &CloneArgs::new()
                .flags(thread | CloneFlags::NNP)
                .exit_signal(0),
            &f,
            &root(),
        ),
        "nnp-with-thread",
        Errno::EINVAL,
        "no_new_privs belongs to the whole process",
    );
    let ak = CloneFlags::PIDFD_AUTOKILL;
    first(
        &v(&CloneArgs::new().flags(ak | ar).exit_signal(0), &f, &root()),
        "autokill-conflict",
        Errno::EINVAL,
        "CLONE_PIDFD_AUTOKILL needs CLONE_PIDFD",
    );
    first(
        &v(
            &CloneArgs::new()
                .flags(ak | CloneFlags::PIDFD)
                .exit_signal(0),
            &f,
            &root(),
        ),
        "autokill-conflict",
        Errno::EINVAL,
        "needs CLONE_AUTOREAP",
    );
    let full = ak | ar | CloneFlags::PIDFD;
    first(
        &v(&CloneArgs::new().flags(full).exit_signal(0), &f, &nobody()),
        "autokill-needs-nnp-or-admin",
        Errno::EPERM,
        "without CLONE_NNP needs CAP_SYS_ADMIN",
    );
    ok(&v(
        &CloneArgs::new()
            .flags(full | CloneFlags::NNP)
            .exit_signal(0),
        &f,
        &nobody(),
    ));
    ok(&v(
        &CloneArgs::new().flags(full).exit_signal(0),
        &f,
        &root(),
    ));
}

#[test]
fn user_namespace_creation() {
    let args = CloneArgs::new().flags(CloneFlags::NEWUSER);
    ok(&v(&args, &f618(), &nobody()));
    let deep = Caller {
        user_ns_level: Some(33),
        in_initial_user_ns: false,
        ..nobody()
    };
    first(
        &v(&args, &f618(), &deep),
        "userns-too-deep",
        Errno::ENOSPC,
        "at level 33",
    );
    let mut f = f618();
    f.userns.max_user_namespaces = Some(0);
    first(
        &v(&args, &f, &root()),
        "userns-limit",
        Errno::ENOSPC,
        "user.max_user_namespaces is 0",
    );
    let chrooted = Caller {
        chrooted: Some(true),
        ..root()
    };
    first(
        &v(&args, &f618(), &chrooted),
        "userns-chrooted",
        Errno::EPERM,
        "the caller is chrooted",
    );
    let unmapped = Caller {
        ids_mapped: false,
        ..nobody()
    };
    first(
        &v(&args, &f618(), &unmapped),
        "userns-unmapped-ids",
        Errno::EPERM,
        "effective uid 65534 or gid 65534 has no mapping",
    );
}

#[test]
fn process_limits() {
    let limited = Caller {
        rlimit_nproc: Some(1),
        nproc_count: Some(2),
        ..nobody()
    };
    first(
        &v(&CloneArgs::new(), &f618(), &limited),
        "nproc-limit",
        Errno::EAGAIN,
        "RLIMIT_NPROC is 1 and uid 65534 already runs 2 tasks",
    );
    // Root (the initial root user) is exempt, and so is CAP_SYS_RESOURCE.
    ok(&v(
        &CloneArgs::new(),
        &f618(),
        &Caller {
            rlimit_nproc: Some(1),
            nproc_count: Some(2),
            ..root()
        },
    ));
    ok(&v(
        &CloneArgs::new(),
        &f618(),
        &Caller {
            cap_effective: 1 << CAP_SYS_RESOURCE,
            ..limited.clone()
        },
    ));
    let full = Caller {
        threads: Some(500),
        threads_max: Some(500),
        ..root()
    };
    first(
        &v(&CloneArgs::new(), &f618(), &full),
        "threads-max",
        Errno::EAGAIN,
        "runs 500 tasks and kernel.threads-max is 500",
    );
}

#[test]
fn namespaces_need_cap_sys_admin() {
    let ns = CloneFlags::NEWUTS | CloneFlags::NEWNET;
    let verdict = v(&CloneArgs::new().flags(ns), &f618(), &nobody());
    first(
        &verdict,
        "namespaces-need-cap",
        Errno::EPERM,
        "creating CLONE_NEWUTS|CLONE_NEWNET needs CAP_SYS_ADMIN",
    );
    assert_eq!(verdict.problems[0].flags, ns);
    // With a new user namespace the others belong to it.
    ok(&v(
        &CloneArgs::new().flags(ns | CloneFlags::NEWUSER),
        &f618(),
        &nobody(),
    ));
    ok(&v(&CloneArgs::new().flags(ns), &f618(), &root()));
    // Root without CAP_SYS_ADMIN is refused too: capabilities, not uid 0, decide.
    let weak_root = Caller {
        cap_effective: root().cap_effective & !(1 << CAP_SYS_ADMIN),
        ..root()
    };
    first(
        &v(&CloneArgs::new().flags(ns), &f618(), &weak_root),
        "namespaces-need-cap",
        Errno::EPERM,
        "CAP_SYS_ADMIN",
    );
}

#[test]
fn newipc_with_sysvsem_comes_after_eperm() {
    let args = CloneArgs::new().flags(CloneFlags::NEWIPC | CloneFlags::SYSVSEM);
    first(
        &v(&args, &f618(), &root()),
        "newipc-with-sysvsem",
        Errno::EINVAL,
        "CLONE_SYSVSEM shares",
    );
    let verdict = v(&args, &f618(), &nobody());
    first(
        &verdict,
        "namespaces-need-cap",
        Errno::EPERM,
        "CLONE_NEWIPC",
    );
    assert_eq!(verdict.problems[1].rule, "newipc-with-sysvsem");
}

#[test]
fn namespace_limits_and_pid_namespace_creation() {
    let limited = Caller {
        ns_limits: crate::caller::NsLimits {
            net: Some(0),
            ..Default::default()
        },
        ..root()
    };
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::NEWNET),
            &f618(),
            &limited,
        ),
        "namespace-limit",
        Errno::ENOSPC,
        "user.max_net_namespaces is 0",
    );
    let unshared = Caller {
        pid_ns_for_children_differs: true,
        children_pid_ns_level: 1,
        children_pid_ns_has_init: false,
        pid_ns_owners: vec![NsOwner::Mine, NsOwner::Mine],
        ..root()
    };
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::NEWPID),
            &f618(),
            &unshared,
        ),
        "newpid-after-unshare",
        Errno::EINVAL,
        "CLONE_NEWPID after the caller changed its pid namespace for children",
    );
    let foreign = Caller {
        pid_ns_owners: vec![NsOwner::Below { owned_by_me: false }],
        owns_pid_ns: false,
        ..root()
    };
    first(
        &v(
            &CloneArgs::new().flags(CloneFlags::NEWPID),
            &f618(),
            &foreign,
        ),
        "pidns-owner-not-ancestor",
        Errno::EINVAL,
        "belongs to a user namespace below the caller's own",
    );
    let deep = Caller {
        pid_ns_level: 32,
        children_pid_ns_level: 32,
        pid_ns_owners: vec![NsOwner::Mine; 33],
        ..root()
    };
    first(
        &v(&CloneArgs::new().flags(CloneFlags::NEWPID), &f618(), &deep),
        "pidns-too-deep",
        Errno::ENOSPC,
        "at level 33",
    );
}

#[test]
fn settls_range() {
    let mut a = raw_args(CloneFlags::SETTLS);
    a.tls = 0x7fff_ffff_f000;
    if !cfg!(target_arch = "x86_64") {
        // Only x86_64's copy_thread() checks the thread pointer.
        ok(&validate_raw(&raw(a, 64), &f618(), &root()));
        return;
    }
    first(
        &validate_raw(&raw(a, 64), &f618(), &root()),
        "settls-out-of-range",
        Errno::EPERM,
        "tls is 0x7ffffffff000",
    );
    a.tls = 0x7fff_ffff_e000;
    ok(&validate_raw(&raw(a, 64), &f618(), &root()));
}

#[test]
fn set_tid_levels() {
    // Selftest: two entries at level 0 without CLONE_NEWPID.
    let verdict = v(&CloneArgs::new().set_tid(vec![-1, 5]), &f618(), &root());
    first(
        &verdict,
        "set-tid-too-long",
        Errno::EINVAL,
        "set_tid has 2 entries, but the child's pid namespace is at level 0, so only 1 level exist",
    );
    assert!(verdict.problems[0].fix.contains("add CLONE_NEWPID"));
    let verdict = v(
        &CloneArgs::new()
            .flags(CloneFlags::NEWPID)
            .set_tid(vec![1, 2, 3]),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "set-tid-too-long",
        Errno::EINVAL,
        "3 entries, but the child's pid namespace is at level 1, so only 2 levels exist",
    );
    for (tid, words) in [
        (
            0,
            "set_tid[0] = 0 is not a PID in the caller's pid namespace (level 0)",
        ),
        (-1, "set_tid[0] = -1 is not a PID"),
        (4_194_304, "below pid_max (4194304)"),
    ] {
        first(
            &v(&CloneArgs::new().set_tid(vec![tid]), &f618(), &root()),
            "set-tid-out-of-range",
            Errno::EINVAL,
            words,
        );
    }
}

#[test]
fn first_pid_in_a_new_pid_namespace_must_be_1() {
    let verdict = v(
        &CloneArgs::new().flags(CloneFlags::NEWPID).set_tid(vec![5]),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "set-tid-needs-init",
        Errno::EINVAL,
        "set_tid[0] = 5, but the new pid namespace has no init yet, so its first PID must be 1",
    );
    assert!(verdict.problems[0].fix.contains("pass 1 as set_tid[0]"));
    assert_eq!(verdict.problems[0].flags, CloneFlags::NEWPID);
    ok(&v(
        &CloneArgs::new().flags(CloneFlags::NEWPID).set_tid(vec![1]),
        &f618(),
        &root(),
    ));
    // After unshare(CLONE_NEWPID) the namespace for children has no init either.
    let unshared = Caller {
        pid_ns_for_children_differs: true,
        children_pid_ns_level: 1,
        children_pid_ns_has_init: false,
        pid_ns_owners: vec![NsOwner::Mine, NsOwner::Mine],
        ..root()
    };
    first(
        &v(&CloneArgs::new().set_tid(vec![5]), &f618(), &unshared),
        "set-tid-needs-init",
        Errno::EINVAL,
        "the caller's pid namespace for children (level 1) has no init yet",
    );
}

#[test]
fn inner_level_error_wins() {
    // {5, own pid} under NEWPID: EINVAL for the inner level, then EEXIST for the outer.
    let verdict = v(
        &CloneArgs::new()
            .flags(CloneFlags::NEWPID)
            .set_tid(vec![5, 1000]),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "set-tid-needs-init",
        Errno::EINVAL,
        "set_tid[0] = 5",
    );
    assert_eq!(verdict.problems[1].rule, "set-tid-in-use");
    assert_eq!(verdict.problems[1].errno, Errno::EEXIST);
}

#[test]
fn set_tid_privileges() {
    let args = CloneArgs::new().set_tid(vec![30010]);
    let verdict = v(&args, &f618(), &nobody());
    first(
        &verdict,
        "set-tid-needs-cap",
        Errno::EPERM,
        "choosing PID 30010 (set_tid[0]) in the caller's pid namespace (level 0) needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE",
    );
    assert!(verdict.problems[0]
        .fix
        .contains("CLONE_NEWUSER|CLONE_NEWPID"));
    // CAP_CHECKPOINT_RESTORE alone suffices from Linux 5.9 on (clone3_cap_checkpoint_restore.c).
    ok(&v(&args, &f618(), &cr_only()));
    first(
        &v(&args, &k(5, 8), &cr_only()),
        "set-tid-needs-cap",
        Errno::EPERM,
        "needs CAP_SYS_ADMIN over",
    );
    // In an own user and pid namespace only the inner level is free to choose.
    let own = CloneArgs::new().flags(CloneFlags::NEWUSER | CloneFlags::NEWPID);
    ok(&v(&own.clone().set_tid(vec![1]), &f618(), &nobody()));
    let verdict = v(&own.set_tid(vec![1, 30011]), &f618(), &nobody());
    first(
        &verdict,
        "set-tid-needs-cap",
        Errno::EPERM,
        "choosing PID 30011 (set_tid[1])",
    );
    // Root without either capability is refused: uid 0 alone counts for nothing.
    let weak_root = Caller {
        cap_effective: 0,
        ..root()
    };
    first(
        &v(&args, &f618(), &weak_root),
        "set-tid-needs-cap",
        Errno::EPERM,
        "has neither there",
    );
}

#[test]
fn set_tid_in_use() {
    let verdict = v(&CloneArgs::new().set_tid(vec![1]), &f618(), &root());
    first(
        &verdict,
        "set-tid-in-use",
        Errno::EEXIST,
        "PID 1 (set_tid[0]) is already in use in the caller's pid namespace",
    );
    ok(&v(&CloneArgs::new().set_tid(vec![4242]), &f618(), &root()));
    let blind = Caller {
        pids_in_use: PidLookup::Unknown,
        ..root()
    };
    let verdict = v(&CloneArgs::new().set_tid(vec![4242]), &f618(), &blind);
    ok(&verdict);
    assert!(verdict.notes[0].contains("cannot tell whether PID 4242"));
}

#[test]
fn pidfd_rules() {
    let no_fds = Caller {
        fd_available: false,
        ..root()
    };
    first(
        &v(&CloneArgs::new().pidfd(true), &f618(), &no_fds),
        "pidfd-no-fd",
        Errno::EMFILE,
        "below RLIMIT_NOFILE (1024) is taken",
    );
    // A raw CLONE_PIDFD with a NULL pidfd pointer: EFAULT after the PID is allocated.
    first(
        &validate_raw(&raw(raw_args(CloneFlags::PIDFD), 64), &f618(), &root()),
        "pidfd-fault",
        Errno::EFAULT,
        "pidfd is 0x0",
    );
    ok(&v(&CloneArgs::new().pidfd(true), &f618(), &nobody()));
}

fn cgroup_req(facts: CgroupFacts, flags: CloneFlags) -> RawRequest<'static> {
    let mut a = raw_args(CloneFlags::INTO_CGROUP | flags);
    a.cgroup = facts.fd;
    let mut r = raw(a, 88);
    r.cgroup = Some(facts);
    r
}

#[test]
fn cgroup_descriptor_rules() {
    let verdict = validate_raw(
        &cgroup_req(
            CgroupFacts {
                target: Target::NotOpen,
                ..CgroupFacts::writable_leaf(77, "/x")
            },
            CloneFlags::empty(),
        ),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "cgroup-fd-not-open",
        Errno::EBADF,
        "cgroup is 77 (standing for /sys/fs/cgroup/x), which is not an open file descriptor",
    );
    let verdict = validate_raw(
        &cgroup_req(
            CgroupFacts {
                target: Target::Cgroup1,
                path: Some("/sys/fs/cgroup/memory".into()),
                ..CgroupFacts::writable_leaf(5, "/x")
            },
            CloneFlags::empty(),
        ),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "cgroup-not-cgroup2-dir",
        Errno::EBADF,
        "(/sys/fs/cgroup/memory) is a cgroup v1 directory",
    );
    let verdict = validate_raw(
        &cgroup_req(
            CgroupFacts {
                removed: true,
                ..CgroupFacts::writable_leaf(5, "/gone")
            },
            CloneFlags::empty(),
        ),
        &f618(),
        &root(),
    );
    first(
        &verdict,
        "cgroup-removed",
        Errno::ENOENT,
        "/sys/fs/cgroup/gone behind descriptor 5 has been removed",
    );
}

#[test]
fn cgroup_permission_rules() {
    let facts = CgroupFacts {
        writable: Some(false),
        ..CgroupFacts::writable_leaf(5, "/svc")
    };
    first(
        &validate_raw(&cgroup_req(facts, CloneFlags::empty()), &f618(), &nobody()),
        "cgroup-not-writable",
        Errno::EACCES,
        "(euid 65534) may not write /sys/fs/cgroup/svc/cgroup.procs",
    );
    let facts = CgroupFacts {
        ancestor: Some("/".into()),
        ancestor_writable: Some(false),
        ..CgroupFacts::writable_leaf(5, "/user/app")
    };
    let caller = Caller {
        cgroup2_path: Some("/other".into()),
        ..nobody()
    };
    let verdict = validate_raw(&cgroup_req(facts, CloneFlags::empty()), &f618(), &caller);
    first(
        &verdict,
        "cgroup-ancestor-not-writable",
        Errno::EACCES,
        "from the caller's cgroup /other to /user/app passes through their common ancestor /",
    );
    assert!(verdict.problems[0].fix.contains("below /user first"));
}

#[test]
fn cgroup_state_rules() {
    let facts = CgroupFacts {
        cgroup_type: Some("domain invalid".into()),
        ..CgroupFacts::writable_leaf(5, "/t/b")
    };
    first(
        &validate_raw(&cgroup_req(facts, CloneFlags::empty()), &f618(), &root()),
        "cgroup-domain-invalid",
        Errno::EOPNOTSUPP,
        "/t/b is a \"domain invalid\" cgroup",
    );
    let facts = CgroupFacts {
        subtree_control: vec!["hugetlb".into()],
        ..CgroupFacts::writable_leaf(5, "/busy")
    };
    first(
        &validate_raw(&cgroup_req(facts, CloneFlags::empty()), &f618(), &root()),
        "cgroup-internal-process",
        Errno::EBUSY,
        "/busy distributes controllers to its children (cgroup.subtree_control enables hugetlb)",
    );
    let facts = CgroupFacts {
        cgroup_type: Some("threaded".into()),
        domain: Some("/t".into()),
        caller_domain: Some("/".into()),
        ..CgroupFacts::writable_leaf(5, "/t/a")
    };
    let thread = CloneFlags::THREAD | CloneFlags::SIGHAND | CloneFlags::VM;
    let mut req = cgroup_req(facts.clone(), thread);
    req.args.exit_signal = 0;
    first(
        &validate_raw(&req, &f618(), &root()),
        "cgroup-thread-other-domain",
        Errno::EOPNOTSUPP,
        "belongs to another threaded domain (/t) than the caller's cgroup (/)",
    );
    // A new process may go into a threaded cgroup.
    ok(&validate_raw(
        &cgroup_req(facts, CloneFlags::empty()),
        &f618(),
        &root(),
    ));
    let facts = CgroupFacts {
        pids: Some(("/lim".into(), 3, 3)),
        ..CgroupFacts::writable_leaf(5, "/lim")
    };
    first(
        &validate_raw(&cgroup_req(facts, CloneFlags::empty()), &f618(), &root()),
        "cgroup-pids-max",
        Errno::EAGAIN,
        "/lim allows 3 tasks (pids.max) and already has 3",
    );
}

#[test]
fn problems_come_in_kernel_order() {
    // Unknown flag (clone3_args_valid) before NEWNS|FS (copy_process) before the namespace
    // EPERM (copy_namespaces) before set_tid (alloc_pid).
    let args = CloneArgs::new()
        .flags(CloneFlags::NEWNS | CloneFlags::FS | CloneFlags::from_bits_retain(1 << 45))
        .set_tid(vec![0]);
    let verdict = v(&args, &f618(), &nobody());
    let rules: Vec<_> = verdict.problems.iter().map(|p| p.rule).collect();
    assert_eq!(
        rules,
        [
            "unknown-flags",
            "newns-with-fs",
            "namespaces-need-cap",
            "set-tid-out-of-range"
        ]
    );
    assert_eq!(verdict.errno(), Some(Errno::EINVAL));
    assert!(matches!(
        verdict.clone().into_result(),
        Err(crate::Error::Refused { problems }) if problems.len() == 4
    ));
}

#[test]
fn explains_real_failures() {
    let args = CloneArgs::new().flags(CloneFlags::NEWPID).set_tid(vec![5]);
    let p = explain_errno(&args, &f618(), &root(), Errno::EINVAL).unwrap();
    assert_eq!(p.rule, "set-tid-needs-init");
    // An errno the validator did not predict falls back to the likeliest rule.
    let p = explain_errno(&CloneArgs::new(), &f618(), &root(), Errno::ENOMEM).unwrap();
    assert_eq!(p.rule, "pidns-no-init");
    assert!(p.cause.starts_with("likely: "));
    let p = explain_errno(&CloneArgs::new(), &f618(), &root(), Errno::EINTR).unwrap();
    assert_eq!(p.rule, "fatal-signal");
    let mut f = f618();
    f.clone3 = Availability::Filtered(Errno::EPERM);
    let p = explain_errno(&CloneArgs::new(), &f, &root(), Errno::EPERM).unwrap();
    assert_eq!(p.rule, "clone3-filtered");
    let d = std::fs::File::open("/").unwrap();
    let args = CloneArgs::new().cgroup(std::os::fd::AsFd::as_fd(&d));
    let p = explain_errno(&args, &f618(), &root(), Errno::ENODEV).unwrap();
    assert_eq!(p.rule, "cgroup-dying");
    assert!(!p.cause.contains('{'));
    assert_eq!(
        explain_errno(&CloneArgs::new(), &f618(), &root(), Errno::EXDEV),
        None
    );
}

#[test]
fn real_failures_carry_the_explanation() {
    let args = CloneArgs::new().flags(CloneFlags::THREAD).exit_signal(0);
    let e = clone3_error(&args, Errno::EINVAL);
    assert_eq!(e.errno(), Some(Errno::EINVAL));
    let text = e.to_string();
    assert!(
        text.starts_with("clone3: EINVAL (Invalid argument): CLONE_THREAD without CLONE_SIGHAND"),
        "{text}"
    );
    assert!(
        text.contains("fix: add CLONE_SIGHAND and CLONE_VM"),
        "{text}"
    );
    let crate::Error::Os {
        explanation: Some(p),
        ..
    } = e
    else {
        panic!("no explanation");
    };
    assert_eq!(p.rule, "thread-needs-sighand");
}

#[test]
fn every_predicted_rule_is_exercised_here() {
    // Keep this file honest: each predicted rule of the table is named in a test above.
    let src = include_str!("tests.rs");
    let unpredicted: HashSet<_> = RULES
        .iter()
        .filter(|r| !r.predicted)
        .map(|r| r.name)
        .collect();
    for r in RULES {
        if unpredicted.contains(r.name) {
            continue;
        }
        assert!(
            src.contains(&format!("\"{}\"", r.name)),
            "no test names {}",
            r.name
        );
    }
}

#[test]
fn an_uninspectable_cgroup_is_no_conclusion() {
    // EMFILE while inspecting the descriptor: nothing is concluded, a note says why.
    let verdict = validate_raw(
        &cgroup_req(
            CgroupFacts {
                target: Target::Unknown("open /proc/self/fd/77: EMFILE".into()),
                ..CgroupFacts::writable_leaf(77, "/x")
            },
            CloneFlags::empty(),
        ),
        &f618(),
        &root(),
    );
    assert!(verdict.is_ok(), "{verdict:?}");
    assert!(
        verdict.notes.iter().any(|n| n.contains("EMFILE")),
        "{:?}",
        verdict.notes
    );
}

/// Judging clone3 needs no helper process: the setns-only answer is left unasked (a helper
/// born here could have become the init of a pid namespace the caller just unshared).
#[test]
fn clone3_features_leave_the_setns_helper_unasked() {
    let f = current_features();
    assert_eq!(f.setns_mnt_with_others_fs_shared, None);
    assert_eq!(f, *Features::probe());
}
