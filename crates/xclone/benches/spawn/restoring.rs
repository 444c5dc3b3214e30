//! Restoring whole trees (issue 18): `xclone::restore::restore` of a flat, a deep and a bushy
//! tree of N processes, against std's `Command` starting the same N programs from one parent,
//! in the same rounds. What is timed is creating the N processes, until all run their program
//! (`restore` returning; std's `spawn` returning for the last child); choosing PIDs, choosing
//! them again when one was taken meanwhile (EEXIST, a busy machine hands out PIDs fast), and
//! killing and waiting for the processes afterwards are not. Shown per process.
//!
//! Two programs: `pause-nolibc` (no C library; judged, so that what is measured is the
//! restorer's work, as the spawn rows use `exit0-nolibc`) and `/bin/sleep` (not judged: each of
//! the N programs then runs glibc's start-up, 0.7 ms of CPU on the reference machine, and
//! those start-ups share the CPUs with the execs still to come).

use crate::stats::Contender;
use crate::xrows::Missing;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Instant;
use xclone::restore::{restore, Manifest};

/// The program every process runs, with its arguments: it blocks until killed.
#[derive(Clone, Debug)]
pub struct Program {
    pub path: String,
    pub args: Vec<String>,
}

impl Program {
    /// `/bin/sleep 1000`.
    pub fn sleep() -> Program {
        Program {
            path: "/bin/sleep".into(),
            args: vec!["1000".into()],
        }
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Flat,
    Deep,
    Bushy,
}

impl Shape {
    fn parent(self, i: usize) -> usize {
        match self {
            Shape::Flat => 0,
            Shape::Deep => i - 1,
            Shape::Bushy => (i - 1) / 4,
        }
    }
}

fn read_number(path: &str) -> Result<i32, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{path}: {e}"))?
        .trim()
        .parse()
        .map_err(|_| format!("{path} unreadable"))
}

/// `n` PIDs that are free now, half the PID space away from where the kernel hands out the
/// next ones (`ns_last_pid`), so that other processes starting meanwhile rarely take one.
fn free_pids(n: usize) -> Result<Vec<i32>, String> {
    let pid_max = read_number("/proc/sys/kernel/pid_max")?;
    let last = read_number("/proc/sys/kernel/ns_last_pid")?;
    let span = pid_max - 300;
    let start = (last - 300 + span / 2).rem_euclid(span);
    // A process group or session whose leader has exited keeps its PID taken, invisible in
    // /proc: the ids of every visible process's group and session are avoided too.
    let mut held = std::collections::HashSet::new();
    for e in std::fs::read_dir("/proc")
        .map_err(|e| format!("/proc: {e}"))?
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(") ").map(|k| &stat[k + 2..]) else {
            continue;
        };
        for v in rest.split_whitespace().skip(2).take(2) {
            if let Ok(id) = v.parse::<i32>() {
                held.insert(id);
            }
        }
    }
    let free: Vec<i32> = (0..span)
        .map(|k| 300 + (start + k) % span)
        .filter(|p| !held.contains(p))
        .filter(|p| std::fs::symlink_metadata(format!("/proc/{p}")).is_err())
        .take(n)
        .collect();
    if free.len() < n {
        return Err(format!("only {} free PIDs below pid_max", free.len()));
    }
    Ok(free)
}

fn json_string(s: &str) -> String {
    format!("{s:?}")
}

fn manifest(shape: Shape, pids: &[i32], prog: &Program) -> Manifest {
    let mut argv = vec![json_string(&prog.path)];
    argv.extend(prog.args.iter().map(|a| json_string(a)));
    let argv = argv.join(", ");
    let path = json_string(&prog.path);
    let procs: Vec<String> = pids
        .iter()
        .enumerate()
        .map(|(i, pid)| {
            let parent = if i == 0 {
                String::new()
            } else {
                format!(r#""parent": "{}","#, shape.parent(i))
            };
            format!(
                r#"{{"id": "{i}", {parent} "pids": [{pid}], "program": {path},
                   "argv": [{argv}]}}"#
            )
        })
        .collect();
    Manifest::parse(&format!(
        r#"{{"version": 1, "processes": [{}]}}"#,
        procs.join(",")
    ))
    .expect("a well-formed manifest")
}

fn kill_all(fds: &[OwnedFd]) {
    for fd in fds {
        let _ = rustix::process::pidfd_send_signal(fd, rustix::process::Signal::KILL);
    }
    for fd in fds {
        let mut p = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        while matches!(
            rustix::event::poll(&mut p, None),
            Err(rustix::io::Errno::INTR)
        ) {}
    }
}

/// Attempts at a restore before giving up when PIDs keep being taken.
const ATTEMPTS: usize = 20;

/// One restore of `n` processes: the time of the `restore` call that succeeded, in µs.
fn restore_once(shape: Shape, n: usize, prog: &Program) -> Result<f64, String> {
    // A PID taken meanwhile by another process (EEXIST, found by the pre-check or by clone3)
    // is not the restorer's cost: again, with PIDs chosen anew; only the call that succeeds
    // is timed.
    let mut attempt = 0;
    let (pids, tree, us) = loop {
        let pids = free_pids(n)?;
        let m = manifest(shape, &pids, prog);
        let t = Instant::now();
        match restore(&m) {
            Ok(tree) => break (pids, tree, t.elapsed().as_secs_f64() * 1e6),
            Err(e) if e.errno() == Some(xclone::Errno::EEXIST) && attempt + 1 < ATTEMPTS => {
                attempt += 1
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let fds: Vec<OwnedFd> = pids
        .iter()
        .filter_map(|&p| {
            rustix::process::pidfd_open(
                rustix::process::Pid::from_raw(p)?,
                rustix::process::PidfdFlags::empty(),
            )
            .ok()
        })
        .collect();
    kill_all(&fds);
    let _ = rustix::process::waitid(
        rustix::process::WaitId::PidFd(tree.root_pidfd.as_fd()),
        rustix::process::WaitIdOptions::EXITED,
    );
    Ok(us)
}

/// `n` children of one parent: the time until the last `spawn` returned, in µs.
fn std_once(n: usize, prog: &Program) -> Result<f64, String> {
    let mut children = Vec::with_capacity(n);
    let mut err = None;
    let t = Instant::now();
    for _ in 0..n {
        match Command::new(&prog.path)
            .args(&prog.args)
            .stdin(Stdio::null())
            .spawn()
        {
            Ok(c) => children.push(c),
            Err(e) => {
                err = Some(e.to_string());
                break;
            }
        }
    }
    let us = t.elapsed().as_secs_f64() * 1e6;
    for c in &mut children {
        let _ = c.kill();
    }
    for c in &mut children {
        let _ = c.wait();
    }
    err.map_or(Ok(us), Err)
}

pub const STD_ROW: &str = "std Command, one parent";

/// The restore rows, one per shape (issue 18's target is judged on each).
pub const SHAPE_ROWS: [&str; 3] = [
    "restore: flat",
    "restore: deep",
    "restore: bushy (4 children each)",
];

/// The rows for trees of `n` processes, or why they cannot be measured here.
pub fn contenders(n: usize, prog: Program) -> Result<Vec<Contender<'static>>, Missing> {
    let labels = SHAPE_ROWS;
    if !rustix::process::geteuid().is_root() {
        return Err(Missing {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            why: "choosing PIDs needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (run as root)".into(),
        });
    }
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    if nofile < n as u64 + 64 {
        return Err(Missing {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            why: format!(
                "RLIMIT_NOFILE {nofile} is below the {} the restorer needs",
                n + 64
            ),
        });
    }
    let shapes = [Shape::Flat, Shape::Deep, Shape::Bushy];
    let p = prog.clone();
    let mut cs = vec![Contender::self_timed(STD_ROW, move || std_once(n, &p))];
    for (label, shape) in labels.into_iter().zip(shapes) {
        let p = prog.clone();
        cs.push(Contender::self_timed(label, move || {
            restore_once(shape, n, &p)
        }));
    }
    Ok(cs)
}
