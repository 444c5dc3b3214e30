//! Isolation costs: namespaces, cgroup placement, set_tid, time namespaces (root only).
//!
//! Each group has glibc `posix_spawn` as its reference row and the kernel's own price of the
//! feature — a fork-like raw clone3 with the flag, then exec — so that xclone's rows can be
//! read against both.

use crate::cgroup::{Keeper, TestCgroup};
use crate::mech::{self, Clone3Extras, Exe};
use crate::report::{Table, Unit};
use crate::stats::{alternate, Contender, Rounds};
use crate::xrows;
use linux_raw_sys::general as k;
use std::path::Path;

pub const CONTAINER_SET: u64 = (k::CLONE_NEWUSER
    | k::CLONE_NEWPID
    | k::CLONE_NEWNS
    | k::CLONE_NEWUTS
    | k::CLONE_NEWIPC
    | k::CLONE_NEWNET) as u64;

/// Every namespace alone, then the container set.
pub fn namespace_sets() -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = [
        ("user", k::CLONE_NEWUSER),
        ("pid", k::CLONE_NEWPID),
        ("mnt", k::CLONE_NEWNS),
        ("uts", k::CLONE_NEWUTS),
        ("ipc", k::CLONE_NEWIPC),
        ("net", k::CLONE_NEWNET),
        ("cgroup", k::CLONE_NEWCGROUP),
        ("time", k::CLONE_NEWTIME),
    ]
    .iter()
    .map(|&(n, f)| (n.to_string(), f as u64))
    .collect();
    v.push((
        "container set (user+pid+mnt+uts+ipc+net)".into(),
        CONTAINER_SET,
    ));
    v
}

pub fn namespaces(target: &Path, cfg: Rounds) -> Table {
    let exe = Exe::new(target);
    let sets = namespace_sets();
    let mut cs = vec![Contender::new("posix_spawn", || mech::posix_spawn(&exe))];
    for (name, flags) in &sets {
        let x = Clone3Extras {
            flags: *flags,
            ..Default::default()
        };
        let e = &exe;
        cs.push(Contender::new(
            format!("raw clone3 fork-like: {name}"),
            move || mech::clone3_fork_exec(e, &x),
        ));
    }
    let mut table = Table::new(
        "isolation/namespaces",
        "Each namespace alone, and the container set",
        Unit::Us,
    );
    match xrows::namespaces(target, &sets) {
        Ok(rows) => cs.extend(rows),
        Err(m) => table.add_missing(m),
    }
    for (n, _) in &sets {
        table
            .pairs
            .push((format!("raw clone3 fork-like: {n}"), xrows::ns_label(n)));
    }
    table.series = alternate(&mut cs, cfg);
    table
}

/// The pause before each operation of the "after idle" rows.
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(100);
pub const IDLE_NOTE: &str = "(after 100 ms idle)";

pub fn cgroup_placement(target: &Path, cg: &TestCgroup, cfg: Rounds) -> Table {
    // A second cgroup that is never empty, for the row that isolates the kernel's price of a
    // cgroup's first task (declared first: the rows borrow it).
    let populated = TestCgroup::create_named("xclone-bench-populated")
        .and_then(|c| Keeper::start(&c).map(|k| (c, k)));
    let exe = Exe::new(target);
    let fd = cg.raw_fd();
    let mut cs = vec![
        Contender::new("posix_spawn", || mech::posix_spawn(&exe)),
        Contender::new("raw clone3 fork-like", || {
            mech::clone3_fork_exec(&exe, &Clone3Extras::default())
        }),
        Contender::new("raw clone3 fork-like + CLONE_INTO_CGROUP", || {
            mech::clone3_fork_exec(
                &exe,
                &Clone3Extras {
                    cgroup_fd: Some(fd),
                    ..Default::default()
                },
            )
        }),
        Contender::new("fork, child writes cgroup.procs, exec", || {
            mech::fork_self_to_cgroup(&exe, &cg.procs)
        }),
        Contender::new("fork, parent writes cgroup.procs, child execs", || {
            mech::fork_parent_moves_to_cgroup(&exe, &cg.procs)
        }),
        // The same after an idle pause: a cgroup.procs write waits for an RCU grace period
        // unless another write happened just before, so back-to-back rows understate what
        // a lone spawn on a quiet machine pays.
        Contender::new(format!("posix_spawn {IDLE_NOTE}"), || {
            mech::posix_spawn(&exe)
        })
        .after_idle(IDLE),
        Contender::new(format!("raw clone3 fork-like {IDLE_NOTE}"), || {
            mech::clone3_fork_exec(&exe, &Clone3Extras::default())
        })
        .after_idle(IDLE),
        Contender::new(
            format!("raw clone3 fork-like + CLONE_INTO_CGROUP {IDLE_NOTE}"),
            || {
                mech::clone3_fork_exec(
                    &exe,
                    &Clone3Extras {
                        cgroup_fd: Some(fd),
                        ..Default::default()
                    },
                )
            },
        )
        .after_idle(IDLE),
        Contender::new(
            format!("fork, child writes cgroup.procs, exec {IDLE_NOTE}"),
            || mech::fork_self_to_cgroup(&exe, &cg.procs),
        )
        .after_idle(IDLE),
    ];
    let mut table = Table::new(
        "isolation/cgroup",
        "Placement in a cgroup: CLONE_INTO_CGROUP against writing cgroup.procs",
        Unit::Us,
    );
    table.intro = format!(
        "Test cgroup `{}` (created for the run, removed after).",
        cg.path().display()
    );
    match xrows::cgroup(target, cg) {
        Ok(rows) => cs.extend(rows),
        Err(m) => table.add_missing(m),
    }
    // xclone's plain and into_cgroup rows again, after idle.
    if let Ok(rows) = xrows::cgroup(target, cg) {
        for mut c in rows
            .into_iter()
            .filter(|c| c.label == xrows::SPAWN || c.label == xrows::CG_INTO)
        {
            c.label = format!("{} {IDLE_NOTE}", c.label);
            cs.push(c.after_idle(IDLE));
        }
    }
    // And into a cgroup that is never empty (a `sleep` lives in it): an empty cgroup has no
    // css_set, and the kernel builds one for the first task that arrives, which is what
    // makes a lone spawn into an idle, empty cgroup dearer (see FINDINGS).
    match &populated {
        Ok((pc, _)) => {
            if let Ok(rows) = xrows::cgroup(target, pc) {
                for mut c in rows.into_iter().filter(|c| c.label == xrows::CG_INTO) {
                    c.label = format!("{CG_INTO_POPULATED} {IDLE_NOTE}");
                    cs.push(c.after_idle(IDLE));
                }
            }
        }
        Err(e) => table
            .intro
            .push_str(&format!(" The populated-cgroup row is not measured: {e}.")),
    }
    let idle = |l: &str| format!("{l} {IDLE_NOTE}");
    table.pairs = vec![
        (
            "raw clone3 fork-like".into(),
            "raw clone3 fork-like + CLONE_INTO_CGROUP".into(),
        ),
        (
            "raw clone3 fork-like".into(),
            "fork, child writes cgroup.procs, exec".into(),
        ),
        (
            idle("raw clone3 fork-like"),
            idle("raw clone3 fork-like + CLONE_INTO_CGROUP"),
        ),
        (
            idle("raw clone3 fork-like"),
            idle("fork, child writes cgroup.procs, exec"),
        ),
        (xrows::SPAWN.into(), xrows::CG_INTO.into()),
        (xrows::SPAWN.into(), xrows::CG_HOOK.into()),
        (idle(xrows::SPAWN), idle(xrows::CG_INTO)),
        (idle(xrows::SPAWN), idle(CG_INTO_POPULATED)),
    ];
    table.series = alternate(&mut cs, cfg);
    drop(cs);
    // The keeper goes before its cgroup (a cgroup with a task cannot be removed).
    if let Ok((c, k)) = populated {
        drop(k);
        drop(c);
    }
    table
}

/// The label of the into_cgroup row whose cgroup always holds a task.
pub const CG_INTO_POPULATED: &str = "xclone: into_cgroup, cgroup never empty";

/// A PID number nobody uses, high in the range so that nothing takes it during the run.
pub fn free_pid() -> Option<i32> {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (1..2000)
        .map(|d| max - 100 - d)
        .find(|p| *p > 300 && !Path::new(&format!("/proc/{p}")).exists())
}

pub fn set_tid_and_time(target: &Path, cfg: Rounds) -> Table {
    let exe = Exe::new(target);
    let mut table = Table::new(
        "isolation/set_tid+time",
        "set_tid and time namespaces",
        Unit::Us,
    );
    let Some(pid) = free_pid() else {
        table.intro = "no free PID found for set_tid".into();
        return table;
    };
    table.intro = format!(
        "set_tid rows ask for PID {pid} (reused: it is free again once the child is reaped)."
    );
    let mut cs = vec![
        Contender::new("posix_spawn", || mech::posix_spawn(&exe)),
        Contender::new("raw clone3 fork-like", || {
            mech::clone3_fork_exec(&exe, &Clone3Extras::default())
        }),
        Contender::new("raw clone3 fork-like + set_tid", || {
            mech::clone3_fork_exec(
                &exe,
                &Clone3Extras {
                    set_tid: Some(pid),
                    ..Default::default()
                },
            )
        }),
        Contender::new("raw clone3 fork-like + CLONE_NEWTIME", || {
            mech::clone3_fork_exec(
                &exe,
                &Clone3Extras {
                    flags: k::CLONE_NEWTIME as u64,
                    ..Default::default()
                },
            )
        }),
    ];
    match xrows::set_tid_and_time(target, pid) {
        Ok(rows) => cs.extend(rows),
        Err(m) => table.add_missing(m),
    }
    table.series = alternate(&mut cs, cfg);
    table
}
