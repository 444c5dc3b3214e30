//! What the calling task shares with other tasks: its thread group, its filesystem information
//! (`CLONE_FS`: root, working directory, umask), its signal handlers and its address space.
//! unshare(2) and setns(2) refuse some requests when these are shared (`fs->users != 1`,
//! `sighand->count > 1`, `current_is_single_threaded()`); procfs does not show them, so they
//! are found with `kcmp(2)` against the tasks that can share them with the caller: its own
//! threads, its parent and its children. A process sharing them in any other way (a
//! sibling created with `CLONE_PARENT|CLONE_FS`, or a task the caller may not inspect) is
//! not seen.

use crate::sys::nscalls::{kcmp_same, KcmpType};

/// The sharing facts of the calling thread; each `None` where it cannot be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Sharing {
    /// Tasks in the caller's thread group, the caller included (`Threads:`).
    pub thread_count: u32,
    /// Another task uses the caller's filesystem information. Every thread made by
    /// `pthread_create` (and `std::thread`) does.
    pub fs_shared: Option<bool>,
    /// Another task uses the caller's signal handlers (every thread does).
    pub sighand_shared: Option<bool>,
    /// Another task uses the caller's address space (every thread does; so does a
    /// `CLONE_VM` child, and the parent of a `vfork` child while it waits).
    pub mm_shared: Option<bool>,
}

impl Sharing {
    /// A single-threaded caller that shares nothing.
    pub const ALONE: Sharing = Sharing {
        thread_count: 1,
        fs_shared: Some(false),
        sighand_shared: Some(false),
        mm_shared: Some(false),
    };

    /// A caller in a process of `threads` threads made the usual way (pthreads share the
    /// filesystem information, signal handlers and memory).
    pub fn threads(threads: u32) -> Sharing {
        let shared = Some(threads > 1);
        Sharing {
            thread_count: threads.max(1),
            fs_shared: shared,
            sighand_shared: shared,
            mm_shared: shared,
        }
    }

    /// The calling thread's sharing, read from `/proc/thread-self` and `kcmp`.
    pub fn current() -> Sharing {
        // Tasks are found through procfs, whose PIDs belong to the pid namespace it was
        // mounted for; kcmp takes PIDs of the caller's own pid namespace. `NSpid:` gives both:
        // a task's PID in the caller's namespace is at the caller's own position in it.
        let nspid = |path: &str| -> Option<Vec<i32>> {
            let status = std::fs::read_to_string(path).ok()?;
            let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
            Some(
                line.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect(),
            )
        };
        let me = rustix::thread::gettid().as_raw_nonzero().get();
        let level = nspid("/proc/thread-self/status").map_or(0, |v| v.len().max(1) - 1);
        let local = |path: String| nspid(&path).and_then(|v| v.get(level).copied());
        let procfs_self = std::fs::read_link("/proc/self")
            .ok()
            .and_then(|l| l.to_str()?.parse::<i32>().ok());
        let procfs_me = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|l| l.to_str()?.rsplit('/').next()?.parse::<i32>().ok());
        let tasks: Vec<i32> = std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let thread_count = (tasks.len() as u32).max(1);
        let mut peers: Vec<Option<i32>> = tasks
            .into_iter()
            .filter(|t| Some(*t) != procfs_me)
            .map(|t| local(format!("/proc/self/task/{t}/status")))
            .collect();
        let threads_only = peers.len();
        let ppid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PPid:"))
                    .and_then(|v| v.trim().parse::<i32>().ok())
            });
        if let Some(pp) = ppid.filter(|p| *p > 0) {
            peers.push(local(format!("/proc/{pp}/status")));
        }
        if let Some(me_procfs) = procfs_self {
            for c in children_of(me_procfs) {
                peers.push(local(format!("/proc/{c}/status")));
            }
        }
        let probe = |what: KcmpType| -> Option<bool> {
            let mut unknown = false;
            for (i, p) in peers.iter().enumerate() {
                let Some(p) = p else {
                    // A thread we cannot name is a thread all the same; a parent or child
                    // outside our pid namespace is not counted (see the module doc).
                    unknown |= i < threads_only;
                    continue;
                };
                match kcmp_same(me, *p, what) {
                    Ok(true) => return Some(true),
                    Ok(false) => {}
                    Err(e) if e == crate::Errno::ENOSYS => {
                        unknown = true;
                        break;
                    }
                    // Our own threads can always be compared; a process that has gone or
                    // that we may not inspect is not counted (see the module doc).
                    Err(_) if i < threads_only => unknown = true,
                    Err(_) => {}
                }
            }
            if unknown {
                // Without kcmp: threads share all three (pthreads), a lone task most likely
                // nothing, but that cannot be told.
                (threads_only > 0).then_some(true)
            } else {
                Some(false)
            }
        };
        Sharing {
            thread_count,
            fs_shared: probe(KcmpType::Fs),
            sighand_shared: probe(KcmpType::Sighand),
            mm_shared: probe(KcmpType::Vm),
        }
    }

    /// Whether some other task shares the calling thread's memory (not
    /// `current_is_single_threaded()`).
    pub fn not_alone_in_mm(&self) -> Option<bool> {
        if self.thread_count > 1 {
            return Some(true);
        }
        self.mm_shared
    }
}

/// The processes whose parent is `tgid` (procfs numbering), from `/proc/*/stat` (`/proc/PID/task/*/children`
/// needs `CONFIG_PROC_CHILDREN`, which many kernels lack).
fn children_of(tgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold anything: read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok());
        if ppid == Some(tgid) {
            out.push(pid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_shares_everything_with_us() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            ready_tx.send(()).unwrap();
            let _ = rx.recv();
        });
        ready_rx.recv().unwrap();
        let s = Sharing::current();
        assert!(s.thread_count >= 2);
        assert_eq!(s.fs_shared, Some(true));
        assert_eq!(s.sighand_shared, Some(true));
        assert_eq!(s.mm_shared, Some(true));
        assert_eq!(s.not_alone_in_mm(), Some(true));
        tx.send(()).unwrap();
        t.join().unwrap();
        assert_eq!(Sharing::threads(1), Sharing::ALONE);
    }
}
