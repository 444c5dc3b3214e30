//! Removing a tree whose programs already run (an `execve` failed after others succeeded):
//! the tree's processes, and every process their programs started.
//!
//! Killing only the tree's own PIDs would leave what the programs started (a shell's `sleep`)
//! to the system's reaper. So the tree is first frozen — `SIGSTOP` to every known process,
//! waiting until each is stopped — then its descendants are found through
//! `/proc/PID/task/TID/children` (Linux 3.5, `CONFIG_PROC_CHILDREN`), frozen too, and so on
//! until no new one appears; a stopped process creates nothing, so the set is then closed.
//! Only then is every process killed with `SIGKILL` through its pidfd, and waited for.
//!
//! A descendant is only taken once its pidfd is open and its parent is still the stopped
//! process it was listed under: a PID that ended and was reused by a stranger meanwhile is
//! never signalled. What the sweep cannot reach is a process whose parent ended *before* the
//! freeze (re-parented to a reaper outside the tree); a tree whose root starts a pid
//! namespace loses none, as the kernel kills the whole namespace with its init.
//!
//! The freeze is a job-control stop, with job control's rule: while it lasts, the process
//! groups of the frozen processes (the restorer's own, unless the manifest gave the tree
//! groups of its own) have stopped members. When such a group is *orphaned* — no member has
//! a parent in another group of the same session, the global init not counting — and a
//! member whose parent is elsewhere in the session ends meanwhile, the kernel sends the whole
//! group `SIGHUP` and `SIGCONT` (`kill_orphaned_pgrp()` in `kernel/exit.c`), the restorer
//! included. A restorer whose parent is PID 1 and which runs in a group of its own (under
//! `timeout`, say) is in such a group; one started from a shell, or by any process other
//! than PID 1 that keeps its group, is not.

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long the sweep waits for a process to stop, then for all to end. A process in an
/// uninterruptible sleep can take that long; the sweep then goes on (and reports nothing:
/// the restore has failed already).
const PATIENCE: Duration = Duration::from_secs(10);

/// The scheduler state letter of `/proc/PID/stat` (`T` stopped, `Z` zombie, …), or `None`
/// once the process is gone.
fn state(pid: i32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The children of every thread of `pid`.
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|x| x.parse::<i32>().ok()));
        }
    }
    out
}

/// Waits until `pid` is stopped or has ended (bounded by [`PATIENCE`]).
fn wait_stopped(pid: i32, deadline: Instant) {
    while let Some(s) = state(pid) {
        if matches!(s, b'T' | b't' | b'Z' | b'X' | b'x') || Instant::now() > deadline {
            return;
        }
        std::thread::yield_now();
    }
}

/// Freezes, collects, kills and waits for a started tree and everything it started.
/// `procs` are the tree's own processes `(pid, pidfd)`; `root` (the caller's child) is
/// reaped.
pub(super) fn kill_tree(procs: Vec<(i32, OwnedFd)>, root: i32) {
    let deadline = Instant::now() + PATIENCE;
    let mut seen: HashSet<i32> = procs.iter().map(|(p, _)| *p).collect();
    let mut all = procs;
    for (_, fd) in &all {
        let _ = pidfd_send_signal(fd, Signal::STOP);
    }
    let mut frontier: Vec<i32> = all.iter().map(|(p, _)| *p).collect();
    while !frontier.is_empty() {
        for &p in &frontier {
            wait_stopped(p, deadline);
        }
        let mut next = Vec::new();
        for parent in frontier {
            for c in children(parent) {
                if seen.contains(&c) {
                    continue;
                }
                let Some(fd) =
                    Pid::from_raw(c).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok())
                else {
                    continue;
                };
                // The pidfd pins the process; its parent, stopped, cannot have reaped it, so
                // a matching parent proves it is the child listed (not a reused PID).
                if parent_of(c) != Some(parent) {
                    continue;
                }
                let _ = pidfd_send_signal(&fd, Signal::STOP);
                seen.insert(c);
                next.push(c);
                all.push((c, fd));
            }
        }
        frontier = next;
    }
    for (_, fd) in &all {
        let _ = pidfd_send_signal(fd, Signal::KILL);
    }
    for (pid, fd) in &all {
        if *pid == root {
            let _ = rustix::process::waitid(
                rustix::process::WaitId::PidFd(fd.as_fd()),
                rustix::process::WaitIdOptions::EXITED,
            );
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: left.subsec_nanos() as i64,
        };
        let mut p = [PollFd::new(fd, PollFlags::IN)];
        while matches!(poll(&mut p, Some(&ts)), Err(rustix::io::Errno::INTR)) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn reads_state_parent_and_children_of_this_process() {
        let me = std::process::id() as i32;
        assert!(matches!(state(me), Some(b'R' | b'S')));
        assert_eq!(
            parent_of(me),
            Some(rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get()))
        );
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        assert!(children(me).contains(&(child.id() as i32)));
        assert_eq!(parent_of(child.id() as i32), Some(me));
        drop(child.stdin.take());
        child.wait().unwrap();
        assert_eq!(state(i32::MAX), None);
    }

    /// The processes whose command line is exactly `argv`.
    fn with_cmdline(argv: &[&str]) -> Vec<i32> {
        let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == want))
            .collect()
    }

    #[test]
    fn kills_a_process_and_everything_it_started() {
        // A shell that starts a grandchild (`sleep` in the background of a subshell) and a
        // child; arguments of this test's own tell them apart from anybody else's.
        let a = format!("1000.1{}", std::process::id());
        let b = format!("1000.2{}", std::process::id());
        let mut sh = std::process::Command::new("/bin/sh")
            .args(["-c", &format!("(sleep {a} & wait) & sleep {b}; :")])
            .spawn()
            .unwrap();
        let pid = sh.id() as i32;
        let deadline = Instant::now() + PATIENCE;
        while with_cmdline(&["sleep", &a]).is_empty() || with_cmdline(&["sleep", &b]).is_empty() {
            assert!(
                Instant::now() < deadline,
                "the shell did not start its sleeps"
            );
            std::thread::yield_now();
        }
        let fd = pidfd_open(Pid::from_raw(pid).unwrap(), PidfdFlags::empty()).unwrap();
        // The shell is std's child: the sweep must not reap it (it is not the root here).
        kill_tree(vec![(pid, fd)], 0);
        assert!(with_cmdline(&["sleep", &a]).is_empty());
        assert!(with_cmdline(&["sleep", &b]).is_empty());
        assert_eq!(sh.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}
