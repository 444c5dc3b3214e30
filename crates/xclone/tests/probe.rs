//! The probe against the running kernel: it tells the truth, it creates nothing, it caches,
//! and it recognises a seccomp filter on clone3.
//!
//! Tests that need a changed process (a seccomp filter, a fresh pid namespace) re-run this
//! test binary with `XCLONE_PROBE_CHILD` set, which makes `child_entry` do the work there.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use xclone::isolate::CGROUP2_SUPER_MAGIC;
use xclone::probe::{Availability, Features};
use xclone::raw::probe_calls::{self, CloneOutcome};
use xclone::{CloneFlags, Errno, KernelVersion};
use xclone_testsupport::is_root;

const CHILD_ENV: &str = "XCLONE_PROBE_CHILD";

fn running() -> KernelVersion {
    KernelVersion::running().expect("uname -r parses")
}

/// What clone3 accepts on 6.3 ≤ Linux < 7.1: CLONE_LEGACY_FLAGS | CLEAR_SIGHAND |
/// INTO_CGROUP, minus the exit-signal byte (but NEWTIME, accepted since 6.3) and DETACHED.
fn expected_flags_6_3_to_7_0() -> CloneFlags {
    CloneFlags::CLONE3_BASE
        .difference(CloneFlags::from_bits_retain(0x7f))
        .difference(CloneFlags::DETACHED)
}

#[test]
fn truth_on_this_machine() {
    let f = Features::probe();
    let v = running();
    assert_eq!(f.kernel_version, Some(v));
    assert_eq!(
        f.clone3,
        Availability::Yes,
        "this machine has an unfiltered clone3"
    );
    assert!(f.clone3_flags_probed, "notes: {:?}", f.evidence.notes);
    assert!(f.evidence.unexpected_children.is_empty());
    if v >= KernelVersion::new(6, 3) && v < KernelVersion::new(7, 1) {
        assert_eq!(
            f.clone3_flags,
            expected_flags_6_3_to_7_0(),
            "probed {} ",
            f.clone3_flags.to_names_string()
        );
        assert_eq!(f.clone_args_max_size, 88);
        // Bits 34..=63 are unknown here, and were really asked (EINVAL).
        for bit in 34..64 {
            assert_eq!(
                f.evidence.flag_answers[bit],
                Some(Errno::EINVAL),
                "bit {bit}"
            );
        }
    }
    // Only CLONE_NEWUSER is decided by rule; every other legacy bit was answered.
    assert_eq!(f.clone3_flags_inferred, CloneFlags::NEWUSER);
    for bit in 0..7 {
        assert_eq!(
            f.evidence.flag_answers[bit],
            Some(Errno::EINVAL),
            "bit {bit}"
        );
    }
    assert!(f.set_tid && f.into_cgroup);
    assert!(f.clone_pidfd);
    assert_eq!(f.pidfd_open, Availability::Yes);
    assert_eq!(f.pidfd_send_signal, Availability::Yes);
    assert_eq!(f.pidfd_getfd, Availability::Yes);
    assert!(f.waitid_pidfd && f.setns_pidfd && f.time_namespaces);
    assert_eq!(f.pid_max, Some(read_u64("/proc/sys/kernel/pid_max") as u32));

    let mount = f.cgroup2_mount.as_deref().expect("a cgroup2 mount");
    let st = rustix::fs::statfs(mount).expect("statfs of the cgroup2 mount");
    assert_eq!(st.f_type as i64, CGROUP2_SUPER_MAGIC, "{}", mount.display());
    assert!(mount.join("cgroup.controllers").exists());
}

#[test]
fn cache_returns_the_same_features() {
    let a = Features::probe();
    let b = Features::probe();
    assert!(std::ptr::eq(a, b));
    let fresh = Features::probe_uncached();
    assert_eq!(fresh.clone3_flags, a.clone3_flags);
    assert_eq!(fresh.clone3, a.clone3);
}

#[test]
fn probing_restores_the_threads_capabilities() {
    let before = rustix::thread::capabilities(None).unwrap();
    let f = Features::probe_uncached();
    let after = rustix::thread::capabilities(None).unwrap();
    assert_eq!(before.effective, after.effective);
    assert_eq!(before.permitted, after.permitted);
    assert_eq!(f.cap_effective, before.effective.bits());
    assert!(f.evidence.notes.is_empty(), "{:?}", f.evidence.notes);
}

/// The fail-safe behind the flag probe: with CAP_SYS_ADMIN, the probe's flag word is refused
/// in copy_namespaces() before any namespace is made, so even a failed capability drop
/// creates nothing (and the probe's baseline check notices the EINVAL).
#[test]
fn guard_refuses_even_with_privileges() {
    let caps = rustix::thread::capabilities(None).unwrap();
    if !caps
        .effective
        .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
    {
        eprintln!("skipped: needs CAP_SYS_ADMIN in the effective set");
        return;
    }
    let base = CloneFlags::VM
        | CloneFlags::VFORK
        | CloneFlags::FILES
        | CloneFlags::SIGHAND
        | CloneFlags::SYSVSEM
        | CloneFlags::NEWIPC;
    for extra in [
        CloneFlags::empty(),
        CloneFlags::NEWNET | CloneFlags::NEWPID,
        CloneFlags::NEWTIME | CloneFlags::NEWNS,
    ] {
        let mut args = [0u64; 11];
        args[0] = (base | extra).bits();
        assert_eq!(
            probe_calls::clone3(&args, 88),
            CloneOutcome::Failed(Errno::EINVAL)
        );
    }
}

fn read_u64(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Re-runs this binary's `child_entry` with `what` in the environment, optionally behind a
/// wrapper command (`unshare …`).
fn run_child(wrapper: &[&str], what: &str) -> std::io::Result<Output> {
    let exe = std::env::current_exe()?;
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    cmd.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, what)
        .output()
}

fn assert_child_ok(out: &Output, marker: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(marker),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
}

/// Probes inside a fresh pid namespace where this process is PID 1 and nothing else runs:
/// `ns_last_pid` there moves with every PID allocated, even by a clone that fails later,
/// so an unchanged value proves the probe allocated none. A control spawn shows that the
/// counter does move.
#[test]
fn probing_creates_no_process() {
    let unshare = ["/usr/bin/unshare", "/bin/unshare"].into_iter().find(|p| {
        Path::new(p)
            .metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    });
    let Some(unshare) = unshare else {
        eprintln!("skipped: util-linux unshare(1) not found");
        return;
    };
    let wrapper: Vec<&str> = if is_root() {
        vec![unshare, "--pid", "--fork", "--kill-child"]
    } else {
        vec![
            unshare,
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--kill-child",
        ]
    };
    let out = run_child(&wrapper, "no-process").expect("run unshare");
    if !out.status.success() && !is_root() && out.stdout.is_empty() {
        eprintln!(
            "skipped: cannot make a pid namespace unprivileged: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return;
    }
    assert_child_ok(&out, "no-process: ok");
}

#[test]
fn seccomp_enosys_is_reported_as_filtered() {
    let out = run_child(&[], "seccomp-enosys").expect("run child");
    assert_child_ok(&out, "seccomp-enosys: ok");
}

#[test]
fn seccomp_eperm_is_reported_as_filtered() {
    let out = run_child(&[], "seccomp-eperm").expect("run child");
    assert_child_ok(&out, "seccomp-eperm: ok");
}

/// Not a test of its own: the body of the tests above that need a separate process. Does
/// nothing unless `XCLONE_PROBE_CHILD` is set.
#[test]
fn child_entry() {
    let Ok(what) = std::env::var(CHILD_ENV) else {
        return;
    };
    match what.as_str() {
        "no-process" => child_no_process(),
        "seccomp-enosys" => child_seccomp(Errno::ENOSYS),
        "seccomp-eperm" => child_seccomp(Errno::EPERM),
        other => panic!("unknown child job {other}"),
    }
    println!("{what}: ok");
}

fn child_no_process() {
    assert_eq!(
        rustix::process::getpid().as_raw_nonzero().get(),
        1,
        "not PID 1 of a new pid namespace"
    );
    let last = || read_u64("/proc/sys/kernel/ns_last_pid");
    let before = last();
    for _ in 0..3 {
        let f = Features::probe_uncached();
        assert_eq!(f.clone3, Availability::Yes);
        assert!(f.clone3_flags_probed, "{:?}", f.evidence.notes);
        // As the init of a pid namespace CLONE_PARENT is refused for us: decided by rule.
        assert!(f.clone3_flags_inferred.contains(CloneFlags::PARENT));
        assert!(f.clone3_flags.contains(CloneFlags::PARENT));
    }
    let after = last();
    assert_eq!(before, after, "the probe allocated PIDs");
    // Control: a real process does move the counter.
    let status = Command::new("/bin/true").status().expect("spawn /bin/true");
    assert!(status.success());
    assert!(
        last() > after,
        "ns_last_pid did not move for a real process"
    );
    println!("ns_last_pid before {before} after {after}");
}

fn child_seccomp(errno: Errno) {
    xclone::raw::seccomp::deny_clone3(errno.raw()).expect("install the seccomp filter");
    let f = Features::probe_uncached();
    let v = running();
    let expected = if v >= KernelVersion::new(5, 3) {
        Availability::Filtered(errno)
    } else {
        Availability::Missing
    };
    assert_eq!(f.clone3, expected);
    assert_eq!(f.evidence.clone3_small, Some(errno));
    assert_eq!(f.evidence.clone3_huge, Some(errno));
    assert!(f.clone3_flags.is_empty());
    assert!(!f.clone3_flags_probed);
    assert_eq!(f.clone_args_max_size, 0);
    assert!(!f.set_tid && !f.into_cgroup);
    assert!(!f.clone3_accepts(CloneFlags::empty()));
    // The rest is unaffected by a filter on clone3 alone.
    assert!(f.clone_pidfd);
    assert_eq!(f.pidfd_open, Availability::Yes);
    assert!(f.waitid_pidfd && f.setns_pidfd);
    let r = f.report();
    let line = &r.features[0];
    assert_eq!((line.key, line.state), ("clone3", "filtered"));
    assert!(line.why.contains(&errno.name()), "{}", line.why);
    println!("{}", line.why);
}
