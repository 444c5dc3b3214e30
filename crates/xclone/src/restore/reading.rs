//! Reading a running process tree into a manifest, from `/proc` (proc(5)).

use super::check::{check, Limits};
use super::manifest::{Manifest, ProcessSpec, MANIFEST_VERSION};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;

/// What [`read_tree`] includes besides the defaults.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Include each process's environment (`/proc/PID/environ`). Off by default: environments
    /// often hold credentials. Without it, restored processes get the restorer's environment.
    pub env: bool,
}

/// A manifest read from `/proc`, and what the reader noticed on the way.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReadTree {
    /// The tree as a manifest that [`restore()`](super::restore()) takes.
    pub manifest: Manifest,
    /// Things the manifest does not capture exactly (a deleted executable, a group outside the
    /// tree, a zombie left out, a rule `restore` would refuse), one sentence each.
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    state: char,
    ppid: i32,
    pgrp: i32,
    session: i32,
}

/// Fields 3–6 of `/proc/PID/stat`; the command name (field 2) may contain anything, so
/// parsing starts after its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgrp = f.next()?.parse().ok()?;
    let session = f.next()?.parse().ok()?;
    Some(Stat {
        state,
        ppid,
        pgrp,
        session,
    })
}

/// `None` when the process does not exist (any more); an error opening or reading the file
/// (`EMFILE`, `EACCES`, …) is that error, never "no such process".
fn read_stat(pid: i32) -> Result<Option<Stat>> {
    let path = format!("/proc/{pid}/stat");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_stat(&text)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => Ok(None),
        Err(e) => Err(io_error(&path, e)),
    }
}

fn nspid(pid: i32) -> Result<Vec<i32>> {
    let path = format!("/proc/{pid}/status");
    let status = String::from_utf8_lossy(&read_proc(path)?).into_owned();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .ok_or_else(|| Error::Invalid(format!("/proc/{pid}/status has no NSpid: line")))?;
    line.split_whitespace()
        .map(|s| {
            s.parse()
                .map_err(|_| Error::Invalid(format!("/proc/{pid}/status: bad NSpid {line:?}")))
        })
        .collect()
}

fn split_nul(bytes: &[u8], what: &str, pid: i32) -> Result<Vec<String>> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    bytes
        .split(|&b| b == 0)
        .map(|s| {
            String::from_utf8(s.to_vec()).map_err(|_| {
                Error::Invalid(format!(
                    "process {pid}: its {what} is not UTF-8, which a JSON manifest cannot hold"
                ))
            })
        })
        .collect()
}

/// Reads a file of /proc, naming it in the error.
fn read_proc(path: String) -> Result<Vec<u8>> {
    std::fs::read(&path).map_err(|e| io_error(&path, e))
}

fn io_error(path: &str, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(errno) => Error::os(format!("reading {path}"), crate::errno::Errno(errno)),
        None => Error::Io(e),
    }
}

/// A link target, or `None` (with a warning) when it names a deleted file or cannot be read
/// (other users' processes need ptrace access).
fn link(pid: i32, name: &str, warnings: &mut Vec<String>) -> Option<String> {
    let target = match std::fs::read_link(format!("/proc/{pid}/{name}")) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!(
                "process {pid}: its {name} cannot be read ({e}); the manifest leaves it out"
            ));
            return None;
        }
    };
    let Some(s) = target.to_str().map(str::to_string) else {
        warnings.push(format!(
            "process {pid}: its {name} is not UTF-8; the manifest leaves it out"
        ));
        return None;
    };
    if let Some(gone) = s.strip_suffix(" (deleted)") {
        warnings.push(format!(
            "process {pid}: its {name} {gone:?} has been deleted; the manifest leaves it out"
        ));
        return None;
    }
    Some(s)
}

/// Reads the tree rooted at `root` (a PID in the reader's pid namespace) into a manifest, from
/// `/proc` (proc(5)). Reading needs no privileges beyond access to the processes' `/proc`
/// files (those of the caller's own uid, or all of them with `CAP_SYS_PTRACE`).
///
/// For a process and all its descendants: PIDs at every level from `NSpid:` of
/// `/proc/PID/status`, the parent from `PPid`, process group and session from
/// `/proc/PID/stat`, `argv` from `cmdline`, the program from the `exe` link, the working
/// directory from the `cwd` link, the environment from `environ` only when asked (it often holds
/// secrets), and where pid namespaces begin by comparing `/proc/PID/ns/pid` with the parent's.
///
/// PIDs are those of `/proc`'s pid namespace, which must be the reader's: `pids[0]` is the PID
/// in the reader's namespace, and a manifest restored elsewhere is read relative to the
/// restorer's namespace. The reading is a snapshot, not atomic: a tree that forks or exits
/// meanwhile may be read half old, half new. Zombies are left out (they cannot run again),
/// threads are not processes (the program creates them again).
///
/// ```
/// use std::io::BufRead;
/// use xclone::restore::{read_tree, ReadOptions};
/// use xclone::{Command, Stdio};
///
/// // A shell that says when it runs (right after the spawn returns, the child may still be
/// // inside execve, with no command line to read), then waits for its stdin to close.
/// let mut child = Command::new("sh")
///     .args(["-c", "echo ready; read x"])
///     .stdin(Stdio::piped())
///     .stdout(Stdio::piped())
///     .spawn()?;
/// let mut line = String::new();
/// std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
/// let read = read_tree(child.id() as i32, &ReadOptions::default()).unwrap();
/// let root = &read.manifest.processes[0];
/// assert_eq!(root.argv, ["sh", "-c", "echo ready; read x"]);
/// assert_eq!(root.pids.first(), Some(&(child.id() as i32)));
/// drop(child.stdin.take());
/// child.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_tree(root: i32, opts: &ReadOptions) -> Result<ReadTree> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    if std::fs::read_link("/proc/self").ok().as_deref() != Some(Path::new(&me.to_string())) {
        return Err(Error::Invalid(
            "/proc is not the procfs of this process's pid namespace, so its PIDs are not ours"
                .into(),
        ));
    }
    let root_stat = read_stat(root)?
        .ok_or_else(|| Error::Invalid(format!("no process {root} (in this pid namespace)")))?;
    if matches!(root_stat.state, 'Z' | 'X') {
        return Err(Error::Invalid(format!("process {root} is a zombie")));
    }

    // Children of every process, from one pass over /proc.
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut stats: HashMap<i32, Stat> = HashMap::new();
    for entry in std::fs::read_dir("/proc").map_err(|e| io_error("/proc", e))? {
        let Some(pid) = entry
            .map_err(|e| io_error("/proc", e))?
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(st) = read_stat(pid)? {
            children.entry(st.ppid).or_default().push(pid);
            stats.insert(pid, st);
        }
    }
    stats.insert(root, root_stat);

    let mut warnings = Vec::new();
    let mut order = Vec::new();
    let mut queue = VecDeque::from([root]);
    while let Some(pid) = queue.pop_front() {
        order.push(pid);
        let mut kids = children.get(&pid).cloned().unwrap_or_default();
        kids.sort_unstable();
        for k in kids {
            if matches!(stats[&k].state, 'Z' | 'X') {
                warnings.push(format!(
                    "process {k} (child of {pid}) is a zombie; the manifest leaves it out"
                ));
            } else {
                queue.push_back(k);
            }
        }
    }
    let in_tree: HashSet<i32> = order.iter().copied().collect();

    let mut processes: Vec<ProcessSpec> = Vec::with_capacity(order.len());
    // NSpid lengths tell where namespaces begin; the ns links (readable only with ptrace
    // access) also catch a child in a different namespace of the same depth.
    let mut info: HashMap<i32, (Vec<i32>, Option<std::path::PathBuf>)> = HashMap::new();
    // Every process a manifest cannot describe is reported, not only the first.
    let mut problems: Vec<String> = Vec::new();
    // A problem of this process: note it, keep what its children need, go on.
    macro_rules! invalid {
        ($pid:expr, $pids:expr, $ns:expr, $msg:expr) => {{
            problems.push($msg);
            info.insert($pid, ($pids, $ns));
            continue;
        }};
    }
    for &pid in &order {
        let st = stats[&pid];
        let pids = nspid(pid)?;
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
        let parent = (pid != root).then_some(st.ppid);
        let new_pid_ns = match parent {
            None if pids.len() == 1 => false,
            None if pids.len() == 2 && pids[1] == 1 => true,
            None => {
                let msg = format!(
                    "process {pid} lives {} pid namespace(s) below this one (NSpid {pids:?}) \
                     without being the first process of a namespace one level down; read its \
                     tree from inside its namespace, with that namespace's /proc",
                    pids.len() - 1
                );
                invalid!(pid, pids, ns, msg)
            }
            Some(pp) => {
                let (ppids, pns) = &info[&pp];
                let same_ns = match (pns, &ns) {
                    (Some(a), Some(b)) => a == b,
                    _ => pids.len() == ppids.len(),
                };
                if same_ns {
                    false
                } else if pids.len() == ppids.len() + 1 && pids.last() == Some(&1) {
                    true
                } else {
                    let msg = format!(
                        "process {pid} is in a pid namespace that its parent {pp} neither \
                         shares nor created with it as PID 1 (after unshare(CLONE_NEWPID) or \
                         setns); a manifest cannot express that"
                    );
                    invalid!(pid, pids, ns, msg)
                }
            }
        };
        let argv = match split_nul(
            &read_proc(format!("/proc/{pid}/cmdline"))?,
            "command line",
            pid,
        ) {
            Ok(a) if a.is_empty() => invalid!(
                pid,
                pids,
                ns,
                format!("process {pid} has no command line (a kernel thread, or exiting)")
            ),
            Ok(a) => a,
            Err(Error::Invalid(msg)) => invalid!(pid, pids, ns, msg),
            Err(e) => return Err(e),
        };
        let env = if opts.env {
            match split_nul(
                &read_proc(format!("/proc/{pid}/environ"))?,
                "environment",
                pid,
            ) {
                Ok(e) => Some(e),
                Err(Error::Invalid(msg)) => invalid!(pid, pids, ns, msg),
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let program = link(pid, "exe", &mut warnings);
        let cwd = link(pid, "cwd", &mut warnings);
        let mut ids = |value: i32, what: &str, parent_value: Option<i32>| {
            if in_tree.contains(&value) {
                return Some(value);
            }
            if let Some(pv) = parent_value.filter(|&pv| pv != value) {
                warnings.push(format!(
                    "process {pid}: its {what} {value} lies outside the tree and differs from \
                     its parent's ({pv}); restore will put it in its parent's {what} instead"
                ));
            }
            None
        };
        let parent_stat = parent.map(|pp| stats[&pp]);
        let sid = ids(st.session, "session", parent_stat.map(|s| s.session));
        let pgid = ids(st.pgrp, "process group", parent_stat.map(|s| s.pgrp));
        info.insert(pid, (pids.clone(), ns));
        processes.push(ProcessSpec {
            id: pid.to_string(),
            parent: parent.map(|p| p.to_string()),
            pids,
            new_pid_ns,
            sid,
            pgid,
            program,
            argv,
            env,
            cwd,
        });
    }
    match problems.len() {
        0 => {}
        1 => return Err(Error::Invalid(problems.remove(0))),
        n => {
            return Err(Error::Invalid(format!(
                "{n} processes cannot be described: {}",
                problems.join("; ")
            )))
        }
    }
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        processes,
    };
    if let Ok(limits) = Limits::current() {
        if let Err(problems) = check(&manifest, &limits) {
            for p in problems {
                warnings.push(format!("restore would refuse this manifest: {p}"));
            }
        }
    }
    Ok(ReadTree { manifest, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_hostile_command_name() {
        let s = parse_stat("42 (a) b) (c) S 1 40 39 0 -1").unwrap();
        assert_eq!(
            s,
            Stat {
                state: 'S',
                ppid: 1,
                pgrp: 40,
                session: 39
            }
        );
        assert!(parse_stat("42 (x").is_none());
    }

    #[test]
    fn nul_separated_lists() {
        assert_eq!(
            split_nul(b"sh\0-c\0echo hi\0", "x", 1).unwrap(),
            vec!["sh", "-c", "echo hi"]
        );
        assert!(split_nul(b"", "x", 1).unwrap().is_empty());
        assert!(split_nul(b"\xff\0", "x", 1).is_err());
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        let t = read_tree(me, &ReadOptions::default()).unwrap();
        let root = &t.manifest.processes[0];
        assert_eq!(root.id, me.to_string());
        assert_eq!(root.pids[0], me);
        assert!(root.parent.is_none());
        assert!(root.env.is_none());
        assert!(root.program.as_deref().unwrap().starts_with('/'));
        assert!(!root.argv.is_empty());
        let with_env = read_tree(me, &ReadOptions { env: true }).unwrap();
        assert!(with_env.manifest.processes[0].env.is_some());
    }

    #[test]
    fn refuses_what_is_not_there() {
        assert!(read_tree(i32::MAX, &ReadOptions::default()).is_err());
    }
}
