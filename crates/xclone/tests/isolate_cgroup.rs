//! Birth in a cgroup (`CLONE_INTO_CGROUP`): the program's first look at /proc/self/cgroup
//! shows the target; refusals are explained.

use std::sync::atomic::{AtomicU32, Ordering};
use xclone::isolate::{open_cgroup2_dir, Cgroup};
use xclone::{CloneFlags, Command};
use xclone_testsupport::{need_probe, need_root, stdout_of};

fn test_cgroup(tag: &str) -> Option<Cgroup> {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "xclone-test-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    match Cgroup::create_at_root(&name) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("skipped: cannot create a test cgroup: {e}");
            None
        }
    }
}

/// The cgroup2 path of `cg` as /proc/PID/cgroup shows it (`0::/name`).
fn v2_line(cg: &Cgroup) -> String {
    let root = xclone::isolate::cgroup2_mount().unwrap();
    format!("0::/{}", cg.path().strip_prefix(root).unwrap().display())
}

#[test]
fn born_in_the_cgroup() {
    need_root!();
    let probe = need_probe!();
    let Some(cg) = test_cgroup("born") else {
        return;
    };
    let out = stdout_of(
        Command::new(probe)
            .arg("cgroup")
            .into_cgroup(cg.open().unwrap()),
    );
    assert!(
        out.lines().any(|l| l == v2_line(&cg)),
        "expected {} in\n{out}",
        v2_line(&cg)
    );
    // And without CLONE_INTO_CGROUP the child is where the parent is.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let out = stdout_of(Command::new(probe).arg("cgroup"));
    assert_eq!(out, own);
    cg.remove().unwrap();
}

#[test]
fn born_in_the_cgroup_with_namespaces_and_a_map() {
    need_root!();
    let probe = need_probe!();
    let Some(cg) = test_cgroup("ns") else { return };
    // A new cgroup namespace made at the same time is rooted at the target: the child
    // sees itself at "/".
    let out = stdout_of(
        Command::new(probe)
            .arg("cgroup")
            .flags(CloneFlags::NEWUSER | CloneFlags::NEWCGROUP | CloneFlags::NEWPID)
            .id_maps(xclone::isolate::IdMaps::root(0, 0))
            .into_cgroup(cg.open().unwrap()),
    );
    assert!(out.lines().any(|l| l == "0::/"), "{out}");
    cg.remove().unwrap();
}

#[test]
fn not_a_cgroup2_directory() {
    let e = open_cgroup2_dir(std::path::Path::new("/tmp")).unwrap_err();
    assert!(e.cause.contains("not a cgroup2 directory"), "{e}");
    // A cgroup v1 directory, where the system has one.
    let v1 = std::path::Path::new("/sys/fs/cgroup/pids");
    if std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" /sys/fs/cgroup/pids ")
    {
        let e = open_cgroup2_dir(v1).unwrap_err();
        assert!(e.cause.contains("cgroup v1 hierarchy"), "{e}");
    }
}

#[test]
fn domain_invalid_target_is_explained() {
    need_root!();
    let Some(parent) = test_cgroup("threaded") else {
        return;
    };
    let threaded = Cgroup::create(parent.path(), "t").unwrap();
    threaded.write("cgroup.type", "threaded").unwrap();
    // The parent is now "domain threaded", a new non-threaded sibling "domain invalid".
    let invalid = Cgroup::create(parent.path(), "d").unwrap();
    assert_eq!(
        std::fs::read_to_string(invalid.path().join("cgroup.type"))
            .unwrap()
            .trim(),
        "domain invalid"
    );
    let e = Command::new("true")
        .into_cgroup(invalid.open().unwrap())
        .spawn()
        .unwrap_err();
    let s = e.to_string();
    assert!(s.contains("EOPNOTSUPP"), "{s}");
    assert!(s.contains("fix:"), "{s}");
    // A new process may be born in the threaded cgroup itself.
    Command::new("true")
        .into_cgroup(threaded.open().unwrap())
        .status()
        .unwrap();
    invalid.remove().unwrap();
    threaded.remove().unwrap();
    parent.remove().unwrap();
}

#[test]
fn internal_process_rule_is_explained() {
    need_root!();
    let root = xclone::isolate::cgroup2_mount();
    let controllers = root
        .and_then(|r| std::fs::read_to_string(r.join("cgroup.subtree_control")).ok())
        .unwrap_or_default();
    // A domain controller: with only threaded ones (cpuset, cpu, pids, perf_event) the
    // cgroup could become a thread root and keeps accepting processes
    // (cgroup_migrate_vet_dst(), kernel/cgroup/cgroup.c).
    let Some(ctl) = controllers
        .split_whitespace()
        .find(|c| ["memory", "io", "hugetlb", "rdma", "misc"].contains(c))
        .map(str::to_string)
    else {
        eprintln!(
            "skipped: no domain controller (memory, io, …) enabled at the cgroup2 root to \
             delegate (enabled: {:?})",
            controllers.trim()
        );
        return;
    };
    let Some(parent) = test_cgroup("busy") else {
        return;
    };
    let leaf = Cgroup::create(parent.path(), "leaf").unwrap();
    parent
        .write("cgroup.subtree_control", &format!("+{ctl}"))
        .unwrap();
    let e = Command::new("true")
        .into_cgroup(parent.open().unwrap())
        .spawn()
        .unwrap_err();
    let s = e.to_string();
    assert!(s.contains("EBUSY"), "{s}");
    // Its leaf child accepts the process.
    Command::new("true")
        .into_cgroup(leaf.open().unwrap())
        .status()
        .unwrap();
    leaf.remove().unwrap();
    parent
        .write("cgroup.subtree_control", &format!("-{ctl}"))
        .unwrap();
    parent.remove().unwrap();
}
